//! The route table: every route of the API and the pages, the 405 fallback with its
//! `Allow` header, private mode, and serving on a bound listener.

use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::auth::authenticate;
use super::filters::{params, read, req, with_ctx, NoParams, Req, Resp};
use super::state::Ctx;
use super::ApiError;
use super::{
    access, admin, attainment, calendar, compare, error, indicators, metrics, openapi, pages,
    periods, plans, readings, review_page, session, submit, tokens, users, webhooks,
};
use crate::domain::Period;

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
    ("/v1/regions/{}/settings", &["GET", "PUT"]),
    ("/v1/rankings", &["GET"]),
    ("/v1/quality", &["GET"]),
    ("/v1/calendar", &["GET"]),
    ("/v1/overdue", &["GET"]),
    ("/v1/reminders", &["GET"]),
    ("/v1/webhooks", &["GET", "POST"]),
    ("/v1/webhooks/{}", &["GET", "DELETE"]),
    ("/v1/webhooks/{}/deliveries", &["GET"]),
    ("/v1/webhooks/{}/test", &["POST"]),
    ("/v1/plans", &["GET"]),
    ("/v1/plans/import", &["POST"]),
    ("/v1/plans/{}", &["GET", "PUT"]),
    ("/v1/plans/{}/draft.xlsx", &["GET"]),
    ("/v1/templates/plan.xlsx", &["GET"]),
    ("/v1/periods", &["GET"]),
    ("/v1/periods/{}", &["GET"]),
    ("/v1/periods/{}/review", &["POST"]),
    ("/v1/periods/{}/release", &["POST", "DELETE"]),
    ("/v1/users", &["GET", "POST"]),
    ("/v1/users/{}", &["DELETE"]),
    ("/v1/users/{}/password", &["PUT"]),
    ("/v1/access-log", &["GET"]),
];

/// The routes of people's sign-in: pages and their form posts, outside the API (and
/// its OpenAPI document) like [`PAGES`], but taking POST.
pub const SESSION_ROUTES: &[(&str, &[&str])] =
    &[("/login", &["GET", "POST"]), ("/logout", &["POST"])];

/// The HTML pages and their assets: not part of the API (nor of its OpenAPI
/// document), but answered with the same 405s and request metrics.
pub const PAGES: &[&str] = &[
    "/",
    "/indicators/{}",
    "/assets/dashboard.css",
    "/assets/dashboard.js",
    "/assets/session.js",
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
        .or(plans::list(ctx.clone()))
        .unify()
        .or(plans::import(ctx.clone()))
        .unify()
        .or(plans::draft(ctx.clone()))
        .unify()
        .or(plans::get(ctx.clone()))
        .unify()
        .or(plans::put(ctx.clone()))
        .unify()
        .or(plans::template(ctx.clone()))
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
        .or(readings::batch::route(ctx.clone()))
        .unify()
        .or(readings::template::route(ctx.clone()))
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
        .or(compare::settings_get(ctx.clone()))
        .unify()
        .or(compare::settings_put(ctx.clone()))
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
        .or(session::login_page(ctx.clone()))
        .unify()
        .or(session::login(ctx.clone()))
        .unify()
        .or(session::logout(ctx.clone()))
        .unify()
        .or(submit::page_route(ctx.clone()))
        .unify()
        .or(submit::template(ctx.clone()))
        .unify()
        .or(submit::preview(ctx.clone()))
        .unify()
        .or(submit::confirm(ctx.clone()))
        .unify()
        .or(submit::figure(ctx.clone()))
        .unify()
        .or(review_page::page(ctx.clone()))
        .unify()
        .or(review_page::verdicts(ctx.clone()))
        .unify()
        .or(review_page::release(ctx.clone()))
        .unify()
        .or(review_page::account(ctx.clone()))
        .unify()
        .or(review_page::password(ctx.clone()))
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
        .boxed();
    let people = periods::list(ctx.clone())
        .or(periods::get(ctx.clone()))
        .unify()
        .or(periods::review(ctx.clone()))
        .unify()
        .or(periods::release(ctx.clone()))
        .unify()
        .or(periods::cancel(ctx.clone()))
        .unify()
        .or(users::create(ctx.clone()))
        .unify()
        .or(users::list(ctx.clone()))
        .unify()
        .or(users::remove(ctx.clone()))
        .unify()
        .or(users::reset(ctx.clone()))
        .unify()
        .or(access::list(ctx.clone()))
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
        .or(people)
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

/// With `serve --private`, every read except `/healthz`, the 登录 page and the
/// compiled-in assets needs a token of any role. Writes check their own, stricter,
/// rights. The pages (not `/v1/*`) also take a signed-in session; a browser that sends
/// neither a token nor a session is sent to the 登录 page.
pub(super) fn private_guard(
    ctx: Ctx,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::method())
        .and(req())
        .and(session::browser())
        .and(with_ctx(ctx))
        .and_then(
            |path: warp::path::FullPath,
             method: warp::http::Method,
             req: Req,
             browser: session::Browser,
             ctx: Ctx| async move {
                let path = path.as_str();
                let open = path == "/healthz"
                    || path == "/login"
                    || path.starts_with("/assets/")
                    || !(method == warp::http::Method::GET || method == warp::http::Method::HEAD);
                if open {
                    return Ok(());
                }
                let page = path == "/"
                    || PAGES
                        .iter()
                        .chain(submit::ROUTES.iter().map(|(p, _)| p))
                        .chain(review_page::ROUTES.iter().map(|(p, _)| p))
                        .any(|p| pattern_matches(p, path.trim_end_matches('/')));
                if page && req.authorization.is_none() {
                    return match session::lookup(&ctx, &browser) {
                        Ok(Some(_)) => Ok(()),
                        Ok(None) => Err(warp::reject::custom(session::SignInFirst::new(
                            path, &req.query,
                        ))),
                        Err(e) => Err(warp::reject::custom(e)),
                    };
                }
                authenticate(&ctx, &req)
                    .await
                    .map(|_| ())
                    .map_err(warp::reject::custom)
            },
        )
        .untuple_one()
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
    // The paths without a `{}` segment (the ones dashboards poll among them) are one
    // hash lookup; the others are matched segment by segment.
    if let Some(found) = exact_routes().get(path) {
        return Some(*found);
    }
    templated_routes()
        .iter()
        .copied()
        .find(|(pattern, _)| pattern_matches(pattern, path))
}

/// The routes with a `{}` segment, in the order they are matched.
fn templated_routes() -> &'static [Route] {
    static TEMPLATED: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    TEMPLATED.get_or_init(|| {
        all_routes()
            .filter(|(pattern, _)| pattern.contains("{}"))
            .collect()
    })
}

type Route = (&'static str, &'static [&'static str]);

/// Every route, page and session path, in the order they are matched.
fn all_routes() -> impl Iterator<Item = Route> {
    const GET: &[&str] = &["GET"];
    ROUTES
        .iter()
        .copied()
        .chain(SESSION_ROUTES.iter().copied())
        .chain(submit::ROUTES.iter().copied())
        .chain(review_page::ROUTES.iter().copied())
        .chain(PAGES.iter().map(|p| (*p, GET)))
}

/// The routes without a `{}` segment, by path (the first of each, as matched).
fn exact_routes() -> &'static std::collections::HashMap<&'static str, Route> {
    static EXACT: std::sync::OnceLock<std::collections::HashMap<&'static str, Route>> =
        std::sync::OnceLock::new();
    EXACT.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for r in all_routes().filter(|(pattern, _)| !pattern.contains("{}")) {
            m.entry(r.0).or_insert(r);
        }
        m
    })
}

/// Whether `path` fits `pattern`, segment by segment; `{}` takes any non-empty segment.
pub(super) fn pattern_matches(pattern: &str, path: &str) -> bool {
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

/// The methods a path answers, if it is one of [`ROUTES`], [`SESSION_ROUTES`] or
/// [`PAGES`].
pub fn allowed_methods(path: &str) -> Option<&'static [&'static str]> {
    route_pattern(path).map(|(_, methods)| methods)
}

/// Answers 405 with `Allow` for a known path asked with a method it does not take.
/// Runs after every route has declined the request.
pub(super) fn method_not_allowed() -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone
{
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

/// What `/healthz` answers.
#[derive(Serialize)]
struct Health {
    status: &'static str,
    indicators: usize,
    latest_period: Option<Period>,
}

/// GET /healthz
///
/// Load balancers poll it, so it answers from memory: the body is counted once per
/// store change (the indicators' keys, none decoded, and the last key of the period
/// index) and kept with the change sequence; a poll between writes reads the sequence
/// and sends the kept bytes.
pub fn healthz(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("healthz")
        .and(read(ctx))
        .and(params::<NoParams>())
        .then(healthz_handler)
        .map(Reply::into_response)
}

async fn healthz_handler(
    ctx: Ctx,
    _req: Req,
    p: Result<NoParams, ApiError>,
) -> Result<Resp, ApiError> {
    p?;
    let seq = ctx.store.change_seq()?;
    let kept = match &*ctx.health.lock().unwrap_or_else(|e| e.into_inner()) {
        Some((at, body)) if *at == seq => Some(body.clone()),
        _ => None,
    };
    let body = match kept {
        Some(b) => b,
        None => {
            let b: bytes::Bytes = ctx
                .inline(|qs| {
                    let s = qs.store();
                    serde_json::to_vec(&Health {
                        status: "ok",
                        indicators: s.indicator_count(),
                        latest_period: s.latest_period()?,
                    })
                    .map_err(ApiError::internal)
                })?
                .into();
            let mut kept = ctx.health.lock().unwrap_or_else(|e| e.into_inner());
            if kept.as_ref().is_none_or(|(at, _)| *at <= seq) {
                *kept = Some((seq, b.clone()));
            }
            b
        }
    };
    let mut res = Resp::new(body.into());
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    Ok(res)
}
