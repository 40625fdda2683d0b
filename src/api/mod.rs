//! The HTTP API (v1), on warp.
//!
//! One filter function per route, each documented with its method and path. Every
//! filter ends in [`error::reply`], so a handler's `Err(ApiError)` and warp's own
//! rejections both come out as `application/problem+json`.
//!
//! Handlers validate everything (ids, periods, bodies, query parameters) before they
//! touch the store, so a rejected request writes nothing. Store calls block, so they run
//! on `spawn_blocking`; writes then await group commit before the 2xx.

pub mod error;
mod input;
pub mod views;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use crate::domain::{Battle, Indicator, IndicatorId, Period, ReadingInput, Target};
use crate::engine::{self, Attainment, Status};
use crate::store::{hash_secret, Outcome, Role, Store, StoreError, Token};
pub use error::ApiError;
use input::{body_bytes, decode_segment, Query};
use views::{AttainmentList, AttainmentView, IndicatorView, ReadingView, RevisionView, TargetView};

/// Largest accepted request body.
pub const MAX_BODY: u64 = 1024 * 1024;

/// Reads the wall clock. Injected so tests can pin "now"; only the API edge uses it
/// (to refuse periods in the future), never the engine.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub clock: Clock,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("store", &self.store).finish()
    }
}

impl Ctx {
    pub fn new(store: Store) -> Ctx {
        Ctx {
            store,
            clock: Arc::new(Utc::now),
        }
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
}

type Resp = warp::reply::Response;

/// Every route, with rejections recovered into problem+json.
pub fn routes(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Infallible> + Clone {
    healthz(ctx.clone())
        .or(list_indicators(ctx.clone()))
        .unify()
        .or(get_indicator(ctx.clone()))
        .unify()
        .or(put_reading(ctx.clone()))
        .unify()
        .or(delete_reading(ctx.clone()))
        .unify()
        .or(get_reading(ctx.clone()))
        .unify()
        .or(list_readings(ctx.clone()))
        .unify()
        .or(list_revisions(ctx.clone()))
        .unify()
        .or(indicator_attainment(ctx.clone()))
        .unify()
        .or(all_attainment(ctx))
        .unify()
        .or(method_not_allowed())
        .unify()
        .recover(error::recover)
        .unify()
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

/// Every route's path pattern (`{}` for a parameter) and the methods it answers. The
/// fallback uses it to answer 405 with an `Allow` header.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/healthz", &["GET"]),
    ("/v1/indicators", &["GET"]),
    ("/v1/indicators/{}", &["GET"]),
    ("/v1/indicators/{}/readings", &["GET"]),
    ("/v1/indicators/{}/readings/{}", &["GET", "PUT", "DELETE"]),
    ("/v1/indicators/{}/readings/{}/revisions", &["GET"]),
    ("/v1/indicators/{}/attainment", &["GET"]),
    ("/v1/attainment", &["GET"]),
];

/// The methods a path answers, if it is one of [`ROUTES`].
pub fn allowed_methods(path: &str) -> Option<&'static [&'static str]> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().find_map(|(pattern, methods)| {
        let pat: Vec<&str> = pattern.split('/').collect();
        let same = pat.len() == segs.len()
            && pat
                .iter()
                .zip(&segs)
                .all(|(p, s)| *p == "{}" && !s.is_empty() || p == s);
        same.then_some(*methods)
    })
}

/// Answers 405 with `Allow` for a known path asked with a method it does not take.
/// Runs after every route has declined the request.
fn method_not_allowed() -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path::full().and(warp::method()).and_then(
        |path: warp::path::FullPath, method: warp::http::Method| async move {
            match allowed_methods(path.as_str()) {
                Some(methods) if !methods.contains(&method.as_str()) => {
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
                    if let Ok(v) = methods.join(", ").parse() {
                        res.headers_mut().insert(warp::http::header::ALLOW, v);
                    }
                    Ok(res)
                }
                _ => Err(warp::reject::not_found()),
            }
        },
    )
}

fn with_ctx(ctx: Ctx) -> impl Filter<Extract = (Ctx,), Error = Infallible> + Clone {
    warp::any().map(move || ctx.clone())
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

fn auth_header() -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>("authorization")
        .or(warp::any().map(|| None))
        .unify()
}

fn content_type() -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>("content-type")
        .or(warp::any().map(|| None))
        .unify()
}

fn json<T: Serialize>(status: StatusCode, v: &T) -> Resp {
    warp::reply::with_status(warp::reply::json(v), status).into_response()
}

// ── routes ────────────────────────────────────────────────────────────────

/// GET /healthz
pub fn healthz(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("healthz")
        .and(warp::get())
        .and(with_ctx(ctx))
        .then(|ctx: Ctx| async move {
            error::reply(
                ctx.blocking(|s| {
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({
                            "status": "ok",
                            "indicators": s.indicators()?.len(),
                            "latest_period": s.latest_period()?,
                        }),
                    ))
                })
                .await,
            )
        })
}

/// GET /v1/indicators?battle=&lead_unit=
pub fn list_indicators(
    ctx: Ctx,
) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators")
        .and(warp::get())
        .and(raw_query())
        .and(with_ctx(ctx))
        .then(|q: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&q, &["battle", "lead_unit"])?;
                    let battle = q.value::<Battle>("battle")?;
                    let lead_unit = q.get("lead_unit").map(str::to_string);
                    ctx.blocking(move |s| {
                        let units = s.units()?;
                        let lead = lead_unit.as_deref().map(|u| units.resolve(u).to_string());
                        let year = default_as_of(s)?.map(|p| p.year());
                        let list = s.indicators()?;
                        let mut out = Vec::new();
                        for ind in list.iter().filter(|i| {
                            battle.is_none_or(|b| i.battle == b)
                                && lead.as_ref().is_none_or(|u| i.lead_units.contains(u))
                        }) {
                            out.push(indicator_view(s, ind, year)?);
                        }
                        Ok(json(StatusCode::OK, &out))
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/indicators/:id
pub fn get_indicator(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String)
        .and(warp::get())
        .and(with_ctx(ctx))
        .then(|id: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    ctx.blocking(move |s| {
                        let ind = load_indicator(s, &id)?;
                        let year = default_as_of(s)?.map(|p| p.year());
                        Ok(json(StatusCode::OK, &indicator_view(s, &ind, year)?))
                    })
                    .await
                }
                .await,
            )
        })
}

/// PUT /v1/indicators/:id/readings/:period
///
/// Body `{"value": 63, "status": "provisional", "note": "…"}`; `Authorization: Bearer`.
/// 201 when created, 200 when replaced or unchanged. Acknowledged only once flushed.
pub fn put_reading(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::put())
        .and(auth_header())
        .and(content_type())
        .and(body_bytes(MAX_BODY))
        .and(with_ctx(ctx))
        .then(
            |id: String,
             period: String,
             auth: Option<String>,
             ct: Option<String>,
             body: Result<bytes::Bytes, ApiError>,
             ctx: Ctx| async move {
                error::reply(put_reading_handler(ctx, id, period, auth, ct, body).await)
            },
        )
}

async fn put_reading_handler(
    ctx: Ctx,
    id: String,
    period: String,
    auth: Option<String>,
    ct: Option<String>,
    body: Result<bytes::Bytes, ApiError>,
) -> Result<Resp, ApiError> {
    let token = authenticate(&ctx, auth).await?;
    let id = parse_id(&id)?;
    let (period, form) = parse_period_segment(&ctx, &period)?;
    input::require_json(ct.as_deref())?;
    let body = input::ReadingBody::parse(&body?)?;
    let ind = {
        let id = id.clone();
        ctx.blocking(move |s| load_indicator(s, &id)).await?
    };
    authorize_write(&token, &ind)?;
    let input = ReadingInput::new(&ind, body.value, body.status, body.note, form)?;
    let now = (ctx.clock)();
    let actor = token.name.clone();
    let (outcome, reading) = {
        let id = id.clone();
        ctx.blocking(move |s| Ok(s.put_reading(&id, period, &input, &actor, now)?))
            .await?
    };
    // Even an unchanged answer waits for the flush: the identical value may belong to a
    // concurrent write that is not yet on disk, and must not be acknowledged before it is.
    ctx.store.durable().await?;
    let status = if outcome == Outcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    #[derive(Serialize)]
    struct Answer<'a> {
        outcome: Outcome,
        #[serde(flatten)]
        reading: ReadingView<'a>,
    }
    let mut res = json(
        status,
        &Answer {
            outcome,
            reading: ReadingView::new(&id, period, &reading),
        },
    );
    if let Ok(loc) = format!("/v1/indicators/{id}/readings/{period}").parse() {
        res.headers_mut().insert(warp::http::header::LOCATION, loc);
    }
    Ok(res)
}

/// DELETE /v1/indicators/:id/readings/:period?reason=
///
/// Withdraws a reading sent to the wrong period or indicator. Its history is kept.
pub fn delete_reading(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::delete())
        .and(auth_header())
        .and(raw_query())
        .and(with_ctx(ctx))
        .then(
            |id: String, period: String, auth: Option<String>, q: String, ctx: Ctx| async move {
                error::reply(
                    async {
                        let token = authenticate(&ctx, auth).await?;
                        let id = parse_id(&id)?;
                        let (period, _) = parse_period_segment(&ctx, &period)?;
                        let q = Query::parse(&q, &["reason"])?;
                        let reason = q.get("reason").map(str::to_string);
                        let ind = {
                            let id = id.clone();
                            ctx.blocking(move |s| load_indicator(s, &id)).await?
                        };
                        authorize_write(&token, &ind)?;
                        let now = (ctx.clock)();
                        let old = {
                            let id = id.clone();
                            ctx.blocking(move |s| {
                                Ok(s.withdraw_reading(&id, period, &token.name, reason, now)?)
                            })
                            .await?
                        };
                        ctx.store.durable().await?;
                        #[derive(Serialize)]
                        struct Answer<'a> {
                            outcome: &'static str,
                            withdrawn: ReadingView<'a>,
                        }
                        Ok(json(
                            StatusCode::OK,
                            &Answer {
                                outcome: "withdrawn",
                                withdrawn: ReadingView::new(&id, period, &old),
                            },
                        ))
                    }
                    .await,
                )
            },
        )
}

/// GET /v1/indicators/:id/readings?from=&to=
pub fn list_readings(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings")
        .and(warp::get())
        .and(raw_query())
        .and(with_ctx(ctx))
        .then(|id: String, q: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let q = Query::parse(&q, &["from", "to"])?;
                    let from = q.value::<Period>("from")?;
                    let to = q.value::<Period>("to")?;
                    if let (Some(f), Some(t)) = (from, to) {
                        if f > t {
                            return Err(ApiError::invalid(
                                "from",
                                format!("from {f} is after to {t}"),
                            ));
                        }
                    }
                    ctx.blocking(move |s| {
                        load_indicator(s, &id)?;
                        let rows = s.readings(&id, from, to)?;
                        let out: Vec<_> = rows
                            .iter()
                            .map(|(p, r)| ReadingView::new(&id, *p, r))
                            .collect();
                        Ok(json(StatusCode::OK, &out))
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/indicators/:id/readings/:period
pub fn get_reading(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String)
        .and(warp::get())
        .and(with_ctx(ctx))
        .then(|id: String, period: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let (period, _) = Period::parse_with_form(&decode_segment("period", &period)?)?;
                    ctx.blocking(move |s| {
                        load_indicator(s, &id)?;
                        let r = s.reading(&id, period)?.ok_or_else(|| {
                            ApiError::NotFound(format!("no reading of '{id}' for {period}"))
                        })?;
                        Ok(json(StatusCode::OK, &ReadingView::new(&id, period, &r)))
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/indicators/:id/readings/:period/revisions
pub fn list_revisions(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "readings" / String / "revisions")
        .and(warp::get())
        .and(with_ctx(ctx))
        .then(|id: String, period: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let (period, _) = Period::parse_with_form(&decode_segment("period", &period)?)?;
                    ctx.blocking(move |s| {
                        load_indicator(s, &id)?;
                        let rows = s.revisions(&id, period)?;
                        let out: Vec<_> = rows
                            .iter()
                            .filter_map(|(seq, r)| RevisionView::new(*seq, r))
                            .collect();
                        Ok(json(StatusCode::OK, &out))
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/indicators/:id/attainment?as_of=
pub fn indicator_attainment(
    ctx: Ctx,
) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "attainment")
        .and(warp::get())
        .and(raw_query())
        .and(with_ctx(ctx))
        .then(|id: String, q: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let q = Query::parse(&q, &["as_of"])?;
                    let as_of = q.value::<Period>("as_of")?;
                    ctx.blocking(move |s| {
                        let ind = load_indicator(s, &id)?;
                        let as_of = resolve_as_of(s, as_of)?;
                        let a = evaluate_one(s, &ind, as_of)?;
                        Ok(json(StatusCode::OK, &AttainmentView::new(&ind, &a)))
                    })
                    .await
                }
                .await,
            )
        })
}

/// GET /v1/attainment?as_of=&battle=&lead_unit=&status=
pub fn all_attainment(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "attainment")
        .and(warp::get())
        .and(raw_query())
        .and(with_ctx(ctx))
        .then(|q: String, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&q, &["as_of", "battle", "lead_unit", "status"])?;
                    let as_of = q.value::<Period>("as_of")?;
                    let battle = q.value::<Battle>("battle")?;
                    let status = q.get("status").map(parse_status).transpose()?;
                    let lead_unit = q.get("lead_unit").map(str::to_string);
                    ctx.blocking(move |s| {
                        let as_of = resolve_as_of(s, as_of)?;
                        let units = s.units()?;
                        let lead = lead_unit.as_deref().map(|u| units.resolve(u).to_string());
                        let rows = evaluate_all(s, as_of)?;
                        let views: Vec<_> = rows
                            .iter()
                            .filter(|(i, a)| {
                                battle.is_none_or(|b| i.battle == b)
                                    && lead.as_ref().is_none_or(|u| i.lead_units.contains(u))
                                    && status.is_none_or(|st| a.status == st)
                            })
                            .map(|(i, a)| AttainmentView::new(i, a))
                            .collect();
                        Ok(json(
                            StatusCode::OK,
                            &AttainmentList {
                                as_of,
                                year: as_of.year(),
                                count: views.len(),
                                attainment: views,
                            },
                        ))
                    })
                    .await
                }
                .await,
            )
        })
}

// ── shared pieces ─────────────────────────────────────────────────────────

fn parse_id(raw: &str) -> Result<IndicatorId, ApiError> {
    let s = decode_segment("id", raw)?;
    IndicatorId::parse(&s).map_err(ApiError::from)
}

fn parse_status(s: &str) -> Result<Status, ApiError> {
    [
        Status::SeverelyBehind,
        Status::Missed,
        Status::Behind,
        Status::OnTrack,
        Status::Achieved,
        Status::NoData,
        Status::NoTarget,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
    .ok_or_else(|| {
        ApiError::invalid(
            "status",
            format!("'{s}' is not one of: severely_behind, missed, behind, on_track, achieved, no_data, no_target"),
        )
    })
}

/// Parses a period path segment for a write, refusing periods after the current month.
fn parse_period_segment(
    ctx: &Ctx,
    raw: &str,
) -> Result<(Period, crate::domain::PeriodForm), ApiError> {
    let (p, form) = Period::parse_with_form(&decode_segment("period", raw)?)?;
    let now = (ctx.clock)();
    let current = Period::new(now.year().clamp(1990, 9999) as u16, now.month() as u8)?;
    if p > current {
        return Err(ApiError::invalid(
            "period",
            format!("{p} is in the future (the current month is {current}); readings are submitted after the period ends"),
        ));
    }
    Ok((p, form))
}

fn load_indicator(s: &Store, id: &IndicatorId) -> Result<Indicator, ApiError> {
    s.indicator(id)?
        .ok_or_else(|| ApiError::NotFound(format!("no indicator '{id}'; see GET /v1/indicators")))
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

fn indicator_view<'a>(
    s: &Store,
    ind: &'a Indicator,
    year: Option<u16>,
) -> Result<IndicatorView<'a>, ApiError> {
    let targets = s.targets(&ind.id)?;
    let current: Option<&Target> = year
        .and_then(|y| targets.iter().find(|t| t.year == y))
        .or_else(|| targets.last());
    Ok(IndicatorView {
        indicator: ind,
        battle_name: ind.battle.name_zh(),
        target: current.map(|t| TargetView::new(ind, t)),
        target_years: targets.iter().map(|t| t.year).collect(),
    })
}

/// Evaluates one indicator at `as_of` from the store.
pub fn evaluate_one(s: &Store, ind: &Indicator, as_of: Period) -> Result<Attainment, StoreError> {
    let target = s.target(&ind.id, as_of.year())?;
    let values = s.year_values(&ind.id, as_of.year())?;
    Ok(engine::evaluate(ind, target.as_ref(), &values, as_of))
}

/// Evaluates every indicator at `as_of`.
pub fn evaluate_all(s: &Store, as_of: Period) -> Result<Vec<(Indicator, Attainment)>, StoreError> {
    s.indicators()?
        .into_iter()
        .map(|ind| {
            let a = evaluate_one(s, &ind, as_of)?;
            Ok((ind, a))
        })
        .collect()
}

/// Resolves a bearer token to its stored identity, or 401.
async fn authenticate(ctx: &Ctx, header: Option<String>) -> Result<Token, ApiError> {
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
    ctx.blocking(move |s| {
        s.token_by_hash(&hash)?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))
    })
    .await
}

/// Whether a token may write readings of this indicator.
fn authorize_write(token: &Token, ind: &Indicator) -> Result<(), ApiError> {
    match token.role {
        Role::Admin => Ok(()),
        Role::Submitter
            if token.units.iter().any(|u| u == crate::domain::STATS_BUREAU)
                || token.units.iter().any(|u| ind.lead_units.contains(u)) =>
        {
            Ok(())
        }
        Role::Submitter => Err(ApiError::Forbidden(format!(
            "token '{}' writes for {} but '{}' is led by {}",
            token.name,
            token.units.join("、"),
            ind.id,
            ind.lead_units.join("、")
        ))),
        Role::Reader => Err(ApiError::Forbidden(format!(
            "token '{}' is a reader and cannot write",
            token.name
        ))),
    }
}
