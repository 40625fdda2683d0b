//! The HTTP API (v1), on warp.
//!
//! One filter function per route, each documented with its method and path, grouped by
//! resource: [`indicators`], [`readings`], [`attainment`] (with alerts and the
//! summary) and [`tokens`]. Every filter ends in [`error::reply`], so a handler's
//! `Err(ApiError)` and warp's own rejections both come out as `application/problem+json`.
//!
//! Handlers validate everything (ids, periods, bodies, query parameters) before they
//! touch the store, so a rejected request writes nothing. Store calls block, so they run
//! on `spawn_blocking`; writes then await group commit before the 2xx, and only then
//! notify alert streams.

pub mod admin;
pub mod attainment;
pub mod calendar;
pub mod compare;
mod csv;
pub mod error;
pub mod indicators;
mod input;
pub mod metrics;
pub mod notifier;
pub mod openapi;
pub mod pages;
pub mod readings;
pub mod tokens;
pub mod views;
pub mod webhooks;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use tokio::sync::broadcast;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use crate::domain::{Indicator, IndicatorId, Period, Region, STATS_BUREAU};
use crate::engine::compare::Peer;
use crate::engine::{self, Attainment, Status};
use crate::store::{hash_secret, Role, Store, StoreError, Token};
pub use error::ApiError;
use input::{decode_segment, Query};

/// Largest accepted body of a single-reading or definition request.
pub const MAX_BODY: u64 = 1024 * 1024;
/// Largest accepted batch body (a spreadsheet of a month's readings).
pub const MAX_BATCH_BODY: u64 = 8 * 1024 * 1024;

/// Reads the wall clock. Injected so tests can pin "now"; only the API edge uses it
/// (to refuse periods in the future, to stamp audit rows), never the engine.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler can reach: a handle on one shared [`Context`]. Every matched
/// route clones it, so it is a single reference count, not a copy of each field
/// (cloning the store, the channel and the settings one by one cost several
/// contended atomic operations per request).
#[derive(Clone)]
pub struct Ctx(Arc<Context>);

impl std::ops::Deref for Ctx {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

impl From<Context> for Ctx {
    fn from(c: Context) -> Ctx {
        Ctx(Arc::new(c))
    }
}

/// The store and the server's settings, shared by every request.
pub struct Context {
    pub store: Store,
    pub clock: Clock,
    /// When set, reads need a token too (any role).
    pub private: bool,
    /// Fed after each durable write, with the store's change sequence; alert streams
    /// listen to it. An in-process channel, not sled's `watch_prefix`, which fires before
    /// the write is durable.
    pub changes: broadcast::Sender<u64>,
    /// How long a client may take to send a body (slow senders get 408).
    pub body_timeout: std::time::Duration,
    /// Origins allowed to call the API from a browser (CORS). Empty: CORS is off.
    pub cors_origins: Vec<String>,
    /// Failed authentications per client address.
    pub throttle: Arc<Throttle>,
    /// Webhook deliveries and their settings (see [`notifier`]).
    pub notify: Arc<crate::notify::deliver::Hub>,
}

/// Slows down token guessing: after `limit` failed authentications from one address
/// within `window`, that address gets 429 on every authenticated request until the
/// window ends.
#[derive(Debug)]
pub struct Throttle {
    limit: u32,
    window: std::time::Duration,
    failures:
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl Throttle {
    pub fn new(limit: u32, window: std::time::Duration) -> Throttle {
        Throttle {
            limit,
            window,
            failures: Default::default(),
        }
    }

    /// Seconds until `ip` may try again, if it is blocked now.
    fn blocked(&self, ip: std::net::IpAddr) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (start, n) = map.get(&ip)?;
        let left = self.window.checked_sub(start.elapsed())?;
        // Rounded up: a client that waits exactly this long must not be refused again.
        (*n >= self.limit).then(|| left.as_millis().div_ceil(1000).max(1) as u64)
    }

    fn fail(&self, ip: std::net::IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget expired windows so the map cannot grow without bound.
        if map.len() > 10_000 {
            let window = self.window;
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = map.entry(ip).or_insert((std::time::Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (std::time::Instant::now(), 0);
        }
        e.1 += 1;
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("store", &self.store)
            .field("private", &self.private)
            .finish()
    }
}

impl Context {
    /// Default settings: public reads, 30 s body timeout, CORS off.
    pub fn new(store: Store) -> Context {
        Context {
            store,
            clock: Arc::new(Utc::now),
            private: false,
            changes: broadcast::channel(64).0,
            body_timeout: std::time::Duration::from_secs(30),
            cors_origins: Vec::new(),
            throttle: Arc::new(Throttle::new(20, std::time::Duration::from_secs(60))),
            notify: Arc::new(crate::notify::deliver::Hub::new(Default::default())),
        }
    }
}

impl Ctx {
    /// A context with default settings (see [`Context::new`]).
    pub fn new(store: Store) -> Ctx {
        Context::new(store).into()
    }

    /// Runs store work that is bounded and small (a handful of point reads and one
    /// short range scan, as for one indicator) directly on the async worker. Handing
    /// such work to the blocking pool costs two thread switches, more than the work
    /// itself; sled serves these reads from its page cache. Anything that walks the
    /// catalogue, or writes, goes through [`Ctx::blocking`].
    fn inline<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Store) -> Result<T, ApiError>,
    {
        f(&self.store)
    }

    /// Runs blocking store work off the async workers.
    async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(ApiError::internal)?
    }

    /// Waits for the flush that makes a write durable, then tells alert streams.
    async fn commit(&self) -> Result<(), ApiError> {
        self.store.durable().await?;
        let seq = self.store.change_seq().unwrap_or(0);
        // No receivers is fine: nobody is streaming.
        let _ = self.changes.send(seq);
        Ok(())
    }
}

type Resp = warp::reply::Response;

/// The parts of a request most handlers look at.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub query: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub content_type: Option<String>,
    pub idempotency_key: Option<String>,
    pub remote: Option<std::net::IpAddr>,
}

fn opt_header(
    name: &'static str,
) -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>(name)
        .or(warp::any().map(|| None))
        .unify()
}

/// Extracts a [`Req`].
fn req() -> impl Filter<Extract = (Req,), Error = Infallible> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .and(opt_header("authorization"))
        .and(opt_header("accept"))
        .and(opt_header("if-none-match"))
        .and(opt_header("content-type"))
        .and(opt_header("idempotency-key"))
        .and(warp::addr::remote())
        .map(
            |query,
             authorization,
             accept,
             if_none_match,
             content_type,
             idempotency_key,
             remote: Option<std::net::SocketAddr>| Req {
                query,
                authorization,
                accept,
                if_none_match,
                content_type,
                idempotency_key,
                remote: remote.map(|a| a.ip()),
            },
        )
}

/// GET, or HEAD (answered like GET; hyper leaves the body out).
fn get_or_head() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

fn with_ctx(ctx: Ctx) -> impl Filter<Extract = (Ctx,), Error = Infallible> + Clone {
    warp::any().map(move || ctx.clone())
}

/// Every route's path pattern (`{}` for a parameter) and the methods it answers. The
/// fallback uses it to answer 405 with an `Allow` header, and a test checks that the
/// OpenAPI document describes exactly these.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/healthz", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/v1/indicators", &["GET"]),
    ("/v1/indicators/{}", &["GET", "PUT"]),
    ("/v1/indicators/{}/targets/{}", &["PUT"]),
    ("/v1/indicators/{}/readings", &["GET"]),
    ("/v1/indicators/{}/readings/{}", &["GET", "PUT", "DELETE"]),
    ("/v1/indicators/{}/readings/{}/revisions", &["GET"]),
    ("/v1/indicators/{}/attainment", &["GET"]),
    ("/v1/readings", &["POST"]),
    ("/v1/templates/readings.xlsx", &["GET"]),
    ("/v1/attainment", &["GET"]),
    ("/v1/alerts", &["GET"]),
    ("/v1/alerts/stream", &["GET"]),
    ("/v1/summary", &["GET"]),
    ("/v1/tokens", &["GET", "POST"]),
    ("/v1/tokens/{}", &["DELETE"]),
    ("/v1/indicators/{}/chart.svg", &["GET"]),
    ("/v1/reports/{}", &["GET"]),
    ("/metrics", &["GET"]),
    ("/v1/admin/backup", &["GET"]),
    ("/v1/regions", &["GET"]),
    ("/v1/regions/{}", &["PUT"]),
    ("/v1/rankings", &["GET"]),
    ("/v1/quality", &["GET"]),
    ("/v1/calendar", &["GET"]),
    ("/v1/overdue", &["GET"]),
    ("/v1/reminders", &["GET"]),
    ("/v1/webhooks", &["GET", "POST"]),
    ("/v1/webhooks/{}", &["GET", "DELETE"]),
    ("/v1/webhooks/{}/deliveries", &["GET"]),
    ("/v1/webhooks/{}/test", &["POST"]),
];

/// The HTML pages and their assets: not part of the API (nor of its OpenAPI
/// document), but answered with the same 405s and request metrics.
pub const PAGES: &[&str] = &[
    "/",
    "/indicators/{}",
    "/assets/dashboard.css",
    "/assets/dashboard.js",
];

/// Every route, with rejections recovered into problem+json.
pub fn routes(ctx: Ctx) -> warp::filters::BoxedFilter<(Resp,)> {
    // Boxed in groups: one long chain of `or`s makes a type too deep for the compiler.
    let base = healthz(ctx.clone())
        .or(openapi::route())
        .unify()
        .or(indicators::list(ctx.clone()))
        .unify()
        .or(indicators::get(ctx.clone()))
        .unify()
        .or(indicators::put(ctx.clone()))
        .unify()
        .or(indicators::put_target(ctx.clone()))
        .unify()
        .boxed();
    let readings = readings::put(ctx.clone())
        .or(readings::get(ctx.clone()))
        .unify()
        .or(readings::delete(ctx.clone()))
        .unify()
        .or(readings::list(ctx.clone()))
        .unify()
        .or(readings::revisions(ctx.clone()))
        .unify()
        .or(readings::batch(ctx.clone()))
        .unify()
        .or(readings::template(ctx.clone()))
        .unify()
        .boxed();
    let views = attainment::one(ctx.clone())
        .or(attainment::all(ctx.clone()))
        .unify()
        .or(attainment::alerts(ctx.clone()))
        .unify()
        .or(attainment::stream(ctx.clone()))
        .unify()
        .or(attainment::summary(ctx.clone()))
        .unify()
        .or(compare::rankings(ctx.clone()))
        .unify()
        .or(compare::quality(ctx.clone()))
        .unify()
        .or(compare::list(ctx.clone()))
        .unify()
        .or(compare::put(ctx.clone()))
        .unify()
        .or(calendar::calendar(ctx.clone()))
        .unify()
        .or(calendar::overdue_list(ctx.clone()))
        .unify()
        .boxed();
    let pages = pages::dashboard(ctx.clone())
        .or(pages::indicator(ctx.clone()))
        .unify()
        .or(pages::assets())
        .unify()
        .or(pages::chart_svg(ctx.clone()))
        .unify()
        .or(pages::report(ctx.clone()))
        .unify()
        .or(pages::metrics_route(ctx.clone()))
        .unify()
        .boxed();
    let admin = tokens::create(ctx.clone())
        .or(tokens::list(ctx.clone()))
        .unify()
        .or(tokens::revoke(ctx.clone()))
        .unify()
        .or(admin::backup(ctx.clone()))
        .unify()
        .or(webhooks::create(ctx.clone()))
        .unify()
        .or(webhooks::list(ctx.clone()))
        .unify()
        .or(webhooks::get(ctx.clone()))
        .unify()
        .or(webhooks::delete(ctx.clone()))
        .unify()
        .or(webhooks::deliveries(ctx.clone()))
        .unify()
        .or(webhooks::test(ctx.clone()))
        .unify()
        .or(webhooks::reminders(ctx.clone()))
        .unify()
        .or(method_not_allowed())
        .unify()
        .boxed();
    // The routes dashboards and scripts poll come first: each request tries the
    // routes in order until one matches.
    let api = views
        .or(base)
        .unify()
        .or(readings)
        .unify()
        .or(pages)
        .unify()
        .or(admin)
        .unify()
        .boxed();
    let cors_origins = ctx.cors_origins.clone();
    // Without --private there is nothing to check: no guard, not even its extraction.
    let guarded = if ctx.private {
        private_guard(ctx).and(api).boxed()
    } else {
        api
    };
    // CORS sits inside `recover`, so that its refusals are problem+json like the rest.
    // Off by default: browsers on other origins cannot call the API.
    let with_cors = if cors_origins.is_empty() {
        guarded
    } else {
        let cors = warp::cors()
            .allow_origins(cors_origins.iter().map(String::as_str))
            .allow_methods(["GET", "HEAD", "PUT", "POST", "DELETE"])
            .allow_headers([
                "authorization",
                "content-type",
                "if-none-match",
                "idempotency-key",
            ])
            .expose_headers(["etag", "location"]);
        guarded.with(cors).map(Reply::into_response).boxed()
    };
    with_cors
        .recover(error::recover)
        .unify()
        .with(warp::log::custom(|info| {
            metrics::observe(
                info.path(),
                info.method().as_str(),
                info.status(),
                info.elapsed(),
            )
        }))
        .map(Reply::into_response)
        .boxed()
}

/// With `serve --private`, every read except `/healthz` needs a token of any role.
/// Writes check their own, stricter, rights.
fn private_guard(ctx: Ctx) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::method())
        .and(req())
        .and(with_ctx(ctx))
        .and_then(
            |path: warp::path::FullPath, method: warp::http::Method, req: Req, ctx: Ctx| async move {
                let open = path.as_str() == "/healthz"
                    || !(method == warp::http::Method::GET || method == warp::http::Method::HEAD);
                if open {
                    return Ok(());
                }
                authenticate(&ctx, &req)
                    .await
                    .map(|_| ())
                    .map_err(warp::reject::custom)
            },
        )
        .untuple_one()
}

/// Serves `routes` on an already bound listener until `shutdown` resolves.
pub async fn serve(
    ctx: Ctx,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(ctx))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// The pattern of [`ROUTES`] or [`PAGES`] that a path matches, with the methods it
/// answers. Runs for every request (metrics label it by pattern), so it compares
/// segments in place rather than splitting into vectors.
pub fn route_pattern(path: &str) -> Option<(&'static str, &'static [&'static str])> {
    const GET: &[&str] = &["GET"];
    if path == "/" {
        return Some(("/", GET));
    }
    let path = path.trim_end_matches('/');
    ROUTES
        .iter()
        .copied()
        .chain(PAGES.iter().map(|p| (*p, GET)))
        .find(|(pattern, _)| pattern_matches(pattern, path))
}

/// Whether `path` fits `pattern`, segment by segment; `{}` takes any non-empty segment.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let mut pat = pattern.split('/');
    let mut segs = path.split('/');
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if (p == "{}" && !s.is_empty()) || p == s => {}
            _ => return false,
        }
    }
}

/// The methods a path answers, if it is one of [`ROUTES`] or [`PAGES`].
pub fn allowed_methods(path: &str) -> Option<&'static [&'static str]> {
    route_pattern(path).map(|(_, methods)| methods)
}

/// Answers 405 with `Allow` for a known path asked with a method it does not take.
/// Runs after every route has declined the request.
fn method_not_allowed() -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path::full().and(warp::method()).and_then(
        |path: warp::path::FullPath, method: warp::http::Method| async move {
            let allowed = |methods: &[&str]| {
                methods.contains(&method.as_str())
                    || (method == warp::http::Method::HEAD && methods.contains(&"GET"))
            };
            match allowed_methods(path.as_str()) {
                Some(methods) if !allowed(methods) => {
                    let mut res = error::problem(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method-not-allowed",
                        "Method not allowed",
                        format!(
                            "{} does not accept {method}; it accepts {}",
                            path.as_str(),
                            methods.join(", ")
                        ),
                        None,
                    );
                    // Every GET route answers HEAD too.
                    let mut allow: Vec<&str> = methods.to_vec();
                    if let Some(i) = allow.iter().position(|m| *m == "GET") {
                        allow.insert(i + 1, "HEAD");
                    }
                    if let Ok(v) = allow.join(", ").parse() {
                        res.headers_mut().insert(warp::http::header::ALLOW, v);
                    }
                    Ok(res)
                }
                _ => Err(warp::reject::not_found()),
            }
        },
    )
}

/// 201 for a write that created something, 200 for a replacement or no change.
fn created_or_ok(outcome: crate::store::Outcome) -> StatusCode {
    if outcome == crate::store::Outcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

fn json<T: Serialize>(status: StatusCode, v: &T) -> Resp {
    warp::reply::with_status(warp::reply::json(v), status).into_response()
}

/// A weak ETag from the store-wide change counter and the request's query. Any
/// accepted write changes it; until then a dashboard's poll costs a 304.
fn etag(seq: u64, route: &str, query: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{route}?{query}").as_bytes());
    format!("W/\"{seq:x}-{}\"", hex::encode(&h[..6]))
}

/// Whether `If-None-Match` names `tag` (or is `*`).
fn not_modified(req: &Req, tag: &str) -> bool {
    req.if_none_match.as_deref().is_some_and(|inm| {
        inm.split(',').map(str::trim).any(|t| {
            t == "*" || t == tag || t.trim_start_matches("W/") == tag.trim_start_matches("W/")
        })
    })
}

/// 304 with the ETag and no body.
fn not_modified_response(tag: &str) -> Resp {
    let mut res = warp::reply::Response::new(Vec::new().into());
    *res.status_mut() = StatusCode::NOT_MODIFIED;
    with_etag(res, tag)
}

fn with_etag(mut res: Resp, tag: &str) -> Resp {
    if let Ok(v) = tag.parse() {
        res.headers_mut().insert(warp::http::header::ETAG, v);
    }
    // The same URL answers JSON or CSV by Accept: caches must key on it.
    res.headers_mut().insert(
        warp::http::header::VARY,
        warp::http::HeaderValue::from_static("Accept"),
    );
    res
}

/// Whether the client asked for CSV: `?format=csv`, or `Accept: text/csv` without
/// `?format=json`.
fn wants_csv(q: &Query, req: &Req) -> Result<bool, ApiError> {
    match q.get("format") {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("format '{other}' is not one of: json, csv"),
        )),
        None => Ok(req.accept.as_deref().is_some_and(prefers_csv)),
    }
}

/// Whether an `Accept` header prefers CSV to JSON, honouring `q` weights (`q=0`
/// refuses a type).
fn prefers_csv(accept: &str) -> bool {
    let weight = |wanted: &[&str]| -> f64 {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let mime = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .find_map(|p| {
                        p.strip_prefix("q=")
                            .and_then(|q| q.trim().parse::<f64>().ok())
                    })
                    .unwrap_or(1.0);
                wanted.contains(&mime.as_str()).then_some(q)
            })
            .fold(0.0, f64::max)
    };
    let csv = weight(&["text/csv"]);
    csv > 0.0 && csv >= weight(&["application/json", "*/*", "application/*"])
}

/// Answers a list as JSON (`body`) or CSV (`rows`, one object per line).
fn list_reply<B: Serialize, R: Serialize>(
    csv: bool,
    body: &B,
    rows: &[R],
) -> Result<Resp, ApiError> {
    if csv {
        csv::reply(rows)
    } else {
        Ok(json(StatusCode::OK, body))
    }
}

// ── shared pieces ─────────────────────────────────────────────────────────

/// GET /healthz
pub fn healthz(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("healthz")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            if let Err(e) = Query::parse(&req.query, &[]) {
                return e.to_response();
            }
            error::reply(
                ctx.blocking(|s| {
                    #[derive(Serialize)]
                    struct Health {
                        status: &'static str,
                        indicators: usize,
                        latest_period: Option<Period>,
                    }
                    Ok(json(
                        StatusCode::OK,
                        &Health {
                            status: "ok",
                            indicators: s.indicators()?.len(),
                            latest_period: s.latest_period()?,
                        },
                    ))
                })
                .await,
            )
        })
}

fn parse_id(raw: &str) -> Result<IndicatorId, ApiError> {
    let s = decode_segment("id", raw)?;
    IndicatorId::parse(&s).map_err(ApiError::from)
}

fn parse_status(s: &str) -> Result<Status, ApiError> {
    Status::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
    .ok_or_else(|| {
        ApiError::invalid(
            "status",
            format!("'{s}' is not one of: severely_behind, missed, behind, on_track, achieved, no_data, no_target"),
        )
    })
}

/// Parses an RFC 3339 `as_known_at`.
fn parse_known_at(q: &Query) -> Result<Option<DateTime<Utc>>, ApiError> {
    q.get("as_known_at")
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::invalid(
                        "as_known_at",
                        format!("as_known_at '{s}' is not an RFC 3339 time such as 2023-07-15T09:00:00+08:00 ({e})"),
                    )
                })
        })
        .transpose()
}

/// Refuses periods after the current month: a figure cannot be reported before its
/// period ends.
fn not_in_future(ctx: &Ctx, p: Period) -> Result<(), crate::domain::DomainError> {
    let now = (ctx.clock)();
    let current = Period::new(now.year().clamp(1990, 9999) as u16, now.month() as u8)?;
    if p > current {
        return Err(crate::domain::DomainError::invalid(
            "period",
            format!("{p} is in the future (the current month is {current}); readings are submitted after the period ends"),
        ));
    }
    Ok(())
}

/// Parses a period path segment for a write, refusing periods after the current month.
fn parse_period_segment(
    ctx: &Ctx,
    raw: &str,
) -> Result<(Period, crate::domain::PeriodForm), ApiError> {
    let (p, form) = Period::parse_with_form(&decode_segment("period", raw)?)?;
    not_in_future(ctx, p)?;
    Ok((p, form))
}

fn load_indicator(s: &Store, id: &IndicatorId) -> Result<Indicator, ApiError> {
    s.indicator(id)?
        .ok_or_else(|| ApiError::NotFound(format!("no indicator '{id}'; see GET /v1/indicators")))
}

/// Parses the body of `PUT /v1/indicators/{id}/readings/{period}` as the handler does,
/// without a store: `Err` carries the reason it is refused. The entry point of the
/// `reading_body` fuzz target (`fuzz/`); the parser itself is private to the API.
pub fn parse_reading_body(body: &[u8]) -> Result<(), String> {
    input::ReadingBody::parse(body)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The `as_of` used when a request gives none: the latest period holding any reading,
/// else December of the latest year with a target. Never the wall clock, so the same
/// store always answers the same way.
pub fn default_as_of(s: &Store) -> Result<Option<Period>, StoreError> {
    if let Some(p) = s.latest_period()? {
        return Ok(Some(p));
    }
    Ok(s.latest_target_year()?
        .and_then(|y| Period::new(y, 12).ok()))
}

fn resolve_as_of(s: &Store, given: Option<Period>) -> Result<Period, ApiError> {
    match given {
        Some(p) => Ok(p),
        None => default_as_of(s)?.ok_or_else(|| {
            ApiError::Unprocessable("the store holds no readings and no targets; give as_of".into())
        }),
    }
}

/// A year's target (if any) and reading values, as the engine takes them.
pub type YearSeries = (Option<crate::domain::Target>, Vec<(Period, f64)>);

/// One indicator's target and reading values for `year`, from the store as it stands,
/// or as it stood at `known_at`.
pub fn year_series(
    s: &Store,
    id: &IndicatorId,
    year: u16,
    known_at: Option<DateTime<Utc>>,
) -> Result<YearSeries, StoreError> {
    match known_at {
        None => Ok((s.target(id, year)?, s.year_values(id, year)?)),
        Some(at) => {
            let values = s
                .readings_as_known_at(
                    id,
                    Period::new(year, 1).ok(),
                    Period::new(year, 12).ok(),
                    at,
                )?
                .into_iter()
                .map(|(p, r)| (p, r.value))
                .collect();
            Ok((s.target_as_known_at(id, year, at)?, values))
        }
    }
}

/// Evaluates one indicator at `as_of`, from the store as it stands or as it stood at
/// `known_at`.
pub fn evaluate_one(
    s: &Store,
    ind: &Indicator,
    as_of: Period,
    known_at: Option<DateTime<Utc>>,
) -> Result<Attainment, StoreError> {
    let (target, values) = year_series(s, &ind.id, as_of.year(), known_at)?;
    let mut a = engine::evaluate(ind, target.as_ref(), &values, as_of);
    // Benchmarks and rank: the indicators of other regions that share the code, read
    // through the code index (a key scan, and point reads only when there are others).
    let ids = s.ids_with_code(&ind.code)?;
    if ids.len() > 1 || !ind.benchmarks.is_empty() {
        let mut same_code = Vec::with_capacity(ids.len());
        for id in &ids {
            if *id == ind.id {
                same_code.push(ind.clone());
            } else {
                same_code.extend(s.indicator(id)?);
            }
        }
        let mut series = Vec::with_capacity(same_code.len());
        for other in &same_code {
            // The indicator's own year is read already.
            let v = if other.id == ind.id {
                values.clone()
            } else {
                year_series(s, &other.id, as_of.year(), known_at)?.1
            };
            series.push(
                v.into_iter()
                    .filter(|(p, _)| *p <= as_of)
                    .collect::<Vec<_>>(),
            );
        }
        let peers: Vec<Peer<'_>> = same_code
            .iter()
            .zip(&series)
            .map(|(indicator, series)| Peer { indicator, series })
            .collect();
        engine::compare::compare(ind, &mut a, &peers, &region_map(s)?);
    }
    Ok(a)
}

/// Every region, by name.
pub fn region_map(s: &Store) -> Result<BTreeMap<String, Region>, StoreError> {
    Ok(s.regions()?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect())
}

/// The board of every indicator at `as_of`, for bulletins, the dashboard, attainment,
/// alerts and metrics; computed once per store change and shared.
pub fn board(s: &Store, as_of: Period) -> Result<Arc<crate::report::Board>, StoreError> {
    build_board(s, as_of).map(Arc::new)
}

/// The board of the home region's plan only (the catalogue's region): what the
/// dashboard and the bulletins show. Indicators of peer counties, the city and the
/// province are there to compare with, not to report on. The same board as [`board`]
/// when the store holds no other region's indicators.
pub fn home_board(s: &Store, as_of: Period) -> Result<Arc<crate::report::Board>, StoreError> {
    let all = board(s, as_of)?;
    if all.region.is_empty() || all.rows.iter().all(|r| r.indicator.region == all.region) {
        return Ok(all);
    }
    Ok(Arc::new(crate::report::Board {
        as_of: all.as_of,
        region: all.region.clone(),
        document: all.document.clone(),
        rows: all
            .rows
            .iter()
            .filter(|r| r.indicator.region == all.region)
            .cloned()
            .collect(),
    }))
}

fn build_board(s: &Store, as_of: Period) -> Result<crate::report::Board, StoreError> {
    let title = s.catalogue_title()?;
    let mut rows = Vec::new();
    for ind in s.indicators()? {
        let (target, values) = year_series(s, &ind.id, as_of.year(), None)?;
        let attainment = engine::evaluate(&ind, target.as_ref(), &values, as_of);
        let series = values.into_iter().filter(|(p, _)| *p <= as_of).collect();
        rows.push(crate::report::BoardRow {
            indicator: ind,
            attainment,
            series,
        });
    }
    // Benchmarks and ranks, among the rows that share a code.
    let mut by_code: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_code
            .entry(r.indicator.code.as_str())
            .or_default()
            .push(i);
    }
    let shared: Vec<Vec<usize>> = by_code
        .into_values()
        .filter(|v| v.len() > 1 || v.iter().any(|&i| !rows[i].indicator.benchmarks.is_empty()))
        .collect();
    if !shared.is_empty() {
        let regions = region_map(s)?;
        for group in shared {
            let compared: Vec<(usize, Attainment)> = group
                .iter()
                .map(|&i| {
                    let peers: Vec<Peer<'_>> = group
                        .iter()
                        .map(|&j| Peer {
                            indicator: &rows[j].indicator,
                            series: &rows[j].series,
                        })
                        .collect();
                    let mut a = rows[i].attainment.clone();
                    engine::compare::compare(&rows[i].indicator, &mut a, &peers, &regions);
                    (i, a)
                })
                .collect();
            for (i, a) in compared {
                rows[i].attainment = a;
            }
        }
    }
    Ok(crate::report::Board {
        as_of,
        region: title.as_ref().map(|t| t.region.clone()).unwrap_or_default(),
        document: title.map(|t| t.document).unwrap_or_default(),
        rows,
    })
}

/// Evaluates every indicator at `as_of`.
pub fn evaluate_all(
    s: &Store,
    as_of: Period,
    known_at: Option<DateTime<Utc>>,
) -> Result<Vec<(Indicator, Attainment)>, StoreError> {
    s.indicators()?
        .into_iter()
        .map(|ind| {
            let a = evaluate_one(s, &ind, as_of, known_at)?;
            Ok((ind, a))
        })
        .collect()
}

/// Resolves a bearer token to its stored identity, or 401. Addresses that keep
/// failing are throttled (429).
async fn authenticate(ctx: &Ctx, req: &Req) -> Result<Token, ApiError> {
    if let Some(retry) = req.remote.and_then(|ip| ctx.throttle.blocked(ip)) {
        return Err(ApiError::TooManyRequests {
            retry_after: retry,
            detail: "too many failed authentications from this address; try again later".into(),
        });
    }
    let result = check_token(ctx, req.authorization.clone()).await;
    if let (Err(ApiError::Unauthorized(_)), Some(ip)) = (&result, req.remote) {
        ctx.throttle.fail(ip);
    }
    result
}

async fn check_token(ctx: &Ctx, header: Option<String>) -> Result<Token, ApiError> {
    let Some(h) = header else {
        return Err(ApiError::Unauthorized(
            "this request needs 'Authorization: Bearer <token>'".into(),
        ));
    };
    let secret = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
        })?;
    let hash = hash_secret(secret);
    // One point read by hash.
    ctx.inline(move |s| {
        s.token_by_hash(&hash)?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))
    })
}

/// Authenticates and requires the admin role.
async fn require_admin(ctx: &Ctx, req: &Req) -> Result<Token, ApiError> {
    let t = authenticate(ctx, req).await?;
    if t.role != Role::Admin {
        return Err(ApiError::Forbidden(format!(
            "token '{}' is a {}; this needs an admin token",
            t.name,
            t.role.as_str()
        )));
    }
    Ok(t)
}

/// Whether a token may write readings of this indicator: admins always; submitters
/// when one of their units leads it, or when they write for the statistics bureau.
fn may_write(token: &Token, ind: &Indicator) -> bool {
    match token.role {
        Role::Admin => true,
        Role::Submitter => token
            .units
            .iter()
            .any(|u| u == STATS_BUREAU || ind.lead_units.contains(u)),
        Role::Reader => false,
    }
}

/// [`may_write`], as a 403 naming the token, its units and the indicator's lead units.
fn authorize_write(token: &Token, ind: &Indicator) -> Result<(), ApiError> {
    if may_write(token, ind) {
        return Ok(());
    }
    Err(ApiError::Forbidden(forbidden_message(token, ind)))
}

fn forbidden_message(token: &Token, ind: &Indicator) -> String {
    match token.role {
        Role::Reader => format!("token '{}' is a reader and cannot write", token.name),
        _ => format!(
            "token '{}' writes for {} but '{}' is led by {}",
            token.name,
            token.units.join("、"),
            ind.id,
            ind.lead_units.join("、")
        ),
    }
}
