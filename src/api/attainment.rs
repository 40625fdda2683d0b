//! Attainment, alerts (with ETag polling and a Server-Sent Events stream) and the
//! monthly-bulletin summary.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;
use warp::http::StatusCode;
use warp::Filter;

use super::get_or_head;
use super::input::Query;
use super::views::{AttainmentList, AttainmentView};
use super::{
    error, json, parse_id, parse_known_at, parse_status, req, wants_csv, with_ctx, ApiError, Ctx,
    Req, Resp,
};
use crate::domain::{Battle, Period};
use crate::engine::alerts::{Alert, Severity};
use crate::query::alerts::AlertQuery;
use crate::query::{Queries, Selection};

/// GET /v1/indicators/:id/attainment?as_of=&as_known_at=
pub fn one(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "attainment")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|id: String, req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let id = parse_id(&id)?;
                    let q = Query::parse(&req.query, &["as_of", "as_known_at"])?;
                    let as_of = q.value::<Period>("as_of")?;
                    let known_at = parse_known_at(&q)?;
                    // One indicator: a few point reads and one year's range scan.
                    ctx.inline(move |qs| {
                        let _s = qs.store();
                        let ind = qs.indicator(&id)?;
                        let as_of = qs.resolve_as_of(as_of)?;
                        let a = qs.attainment(&ind, as_of, known_at)?;
                        Ok(json(StatusCode::OK, &AttainmentView::new(&ind, &a)))
                    })
                }
                .await,
            )
        })
}

/// Filters shared by the catalogue-wide routes.
struct Filters {
    as_of: Option<Period>,
    known_at: Option<DateTime<Utc>>,
    battle: Option<Battle>,
    lead_unit: Option<String>,
    region: Option<String>,
}

impl Filters {
    fn parse(q: &Query) -> Result<Filters, ApiError> {
        Ok(Filters {
            as_of: q.value::<Period>("as_of")?,
            known_at: parse_known_at(q)?,
            battle: q.value::<Battle>("battle")?,
            lead_unit: q.get("lead_unit").map(str::to_string),
            region: q.get("region").map(str::to_string),
        })
    }

    /// The indicators kept, with the unit and region resolved against the store.
    fn resolve(&self, qs: &Queries) -> Result<Selection, ApiError> {
        Ok(qs.selection(
            self.battle,
            self.lead_unit.as_deref(),
            self.region.as_deref(),
        )?)
    }
}

use super::cache::{catalogue_answer, Rendered};

/// GET /v1/attainment?as_of=&as_known_at=&battle=&lead_unit=&status=&format=
pub fn all(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "attainment")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(
                        &req.query,
                        &[
                            "as_of",
                            "as_known_at",
                            "battle",
                            "lead_unit",
                            "region",
                            "status",
                            "format",
                        ],
                    )?;
                    let f = Filters::parse(&q)?;
                    let status = q.get("status").map(parse_status).transpose()?;
                    let csv = wants_csv(&q, &req)?;
                    catalogue_answer(&ctx, &req, "attainment", csv, move |qs| {
                        let sel = f.resolve(qs)?;
                        let (as_of, rows) =
                            qs.attainment_list(f.as_of, f.known_at, &sel, status)?;
                        let views: Vec<_> = rows
                            .iter()
                            .map(|(i, a)| AttainmentView::new(i, a))
                            .collect();
                        let body = AttainmentList {
                            as_of,
                            year: as_of.year(),
                            count: views.len(),
                            attainment: &views,
                        };
                        Rendered::list(csv, &body, &views)
                    })
                    .await
                }
                .await,
            )
        })
}

/// The answer of `GET /v1/alerts`.
#[derive(Debug, Serialize)]
pub struct AlertList {
    pub as_of: Period,
    pub count: usize,
    pub alerts: Vec<Alert>,
}

/// GET /v1/alerts?as_of=&as_known_at=&on=&kind=&severity=&battle=&lead_unit=&region=&format=
///
/// The pace alerts at `as_of`, and the overdue alerts (催报) on the day `on` (default:
/// today in China): one per indicator with a figure past its due date and no reading.
/// `kind=pace` or `kind=overdue` keeps one kind. Worst first.
///
/// Answers carry an `ETag`; `If-None-Match` gets a 304 with no body until any write
/// is accepted (or the day changes), so dashboards can poll every few seconds for
/// almost nothing.
pub fn alerts(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "alerts")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(
                        &req.query,
                        &[
                            "as_of",
                            "as_known_at",
                            "on",
                            "kind",
                            "severity",
                            "battle",
                            "lead_unit",
                            "region",
                            "format",
                        ],
                    )?;
                    let f = Filters::parse(&q)?;
                    let severity = q.value::<Severity>("severity")?;
                    let on = super::calendar::date(&q, "on")?.unwrap_or_else(|| ctx.clock.today());
                    let (pace, overdue) = match q.get("kind") {
                        None => (true, true),
                        Some("pace") => (true, false),
                        Some("overdue") => (false, true),
                        Some(other) => {
                            return Err(ApiError::invalid(
                                "kind",
                                format!("kind '{other}' is not one of: pace, overdue"),
                            ))
                        }
                    };
                    let csv = wants_csv(&q, &req)?;
                    // The day is part of the answer: the ETag and the memo change with it.
                    // So are the due rules, which the change sequence does not count.
                    let route = format!("alerts@{on}@{}", ctx.store.due_version()?);
                    catalogue_answer(&ctx, &req, &route, csv, move |qs| {
                        let (as_of, alerts) = qs.alert_list(&AlertQuery {
                            as_of: f.as_of,
                            known_at: f.known_at,
                            pace,
                            overdue,
                            on: Some(on),
                            severity,
                            selection: f.resolve(qs)?,
                        })?;
                        let body = AlertList {
                            as_of,
                            count: alerts.len(),
                            alerts,
                        };
                        Rendered::list(csv, &body, &body.alerts)
                    })
                    .await
                }
                .await,
            )
        })
}

/// One event of the alert stream.
#[derive(Debug, Serialize)]
struct AlertEvent<'a> {
    /// `raised`, `changed` or `cleared`.
    change: &'static str,
    as_of: Period,
    indicator: &'a str,
    alert: Option<&'a Alert>,
}

/// The difference between two alert sets, as stream events.
fn diff(
    as_of: Period,
    old: &BTreeMap<String, Alert>,
    new: &BTreeMap<String, Alert>,
) -> Vec<warp::sse::Event> {
    let mut out = Vec::new();
    let mut push = |change: &'static str, id: &str, alert: Option<&Alert>| {
        let ev = AlertEvent {
            change,
            as_of,
            indicator: id,
            alert,
        };
        if let Ok(e) = warp::sse::Event::default().event(change).json_data(&ev) {
            out.push(e);
        }
    };
    for (id, a) in new {
        match old.get(id) {
            None => push("raised", id, Some(a)),
            Some(o) if o != a => push("changed", id, Some(a)),
            Some(_) => {}
        }
    }
    for id in old.keys().filter(|id| !new.contains_key(*id)) {
        push("cleared", id, None);
    }
    out
}

fn alert_map(
    qs: &Queries,
    as_of: Option<Period>,
    region: &Option<String>,
) -> (Option<Period>, BTreeMap<String, Alert>) {
    match qs.alerts(as_of, None) {
        Ok((p, list)) => {
            let mut list = list.as_ref().clone();
            in_region(&mut list, region);
            (Some(p), by_indicator(list))
        }
        Err(_) => (None, BTreeMap::new()),
    }
}

/// Keeps the alerts of one region's indicators, when a region is asked for.
fn in_region(list: &mut Vec<Alert>, region: &Option<String>) {
    if let Some(r) = region {
        list.retain(|a| a.region == *r);
    }
}

fn by_indicator(list: Vec<Alert>) -> BTreeMap<String, Alert> {
    list.into_iter()
        .map(|a| (a.indicator.to_string(), a))
        .collect()
}

/// GET /v1/alerts/stream?as_of=&region=
///
/// Server-Sent Events: first a `snapshot` event with the current alerts, then one
/// `raised`, `changed` or `cleared` event each time a durable write changes an alert.
/// Without `as_of`, each evaluation uses the default `as_of` at that moment. With
/// `region`, only the alerts of that region's indicators.
pub fn stream(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "alerts" / "stream")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["as_of", "region"])?;
                    let as_of = q.value::<Period>("as_of")?;
                    let region = q.get("region").map(str::to_string);
                    let rx = ctx.changes.subscribe();
                    let (region, first_as_of, first_list) = ctx
                        .blocking(move |qs| {
                            let _s = qs.store();
                            let region = qs.region_filter(region.as_deref())?;
                            let (p, list) = qs.alerts(as_of, None)?;
                            let mut list = list.as_ref().clone();
                            in_region(&mut list, &region);
                            Ok((region, p, list))
                        })
                        .await?;
                    // The snapshot is worst first, like GET /v1/alerts.
                    let snapshot =
                        warp::sse::Event::default()
                            .event("snapshot")
                            .json_data(&AlertList {
                                as_of: first_as_of,
                                count: first_list.len(),
                                alerts: first_list.clone(),
                            });
                    let first = by_indicator(first_list);
                    let store = ctx.queries.clone();
                    let state = std::sync::Arc::new(tokio::sync::Mutex::new(first));
                    let updates = BroadcastStream::new(rx).then(move |_| {
                        let store = store.clone();
                        let state = state.clone();
                        let region = region.clone();
                        async move {
                            let (p, now) = tokio::task::spawn_blocking(move || {
                                alert_map(&store, as_of, &region)
                            })
                            .await
                            .unwrap_or((None, BTreeMap::new()));
                            let mut prev = state.lock().await;
                            let events = match p {
                                Some(p) => diff(p, &prev, &now),
                                None => Vec::new(),
                            };
                            *prev = now;
                            futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>))
                        }
                    });
                    let events =
                        futures_util::stream::iter(snapshot.into_iter().map(Ok::<_, Infallible>))
                            .chain(updates.flatten());
                    let reply = warp::sse::reply(
                        warp::sse::keep_alive()
                            .interval(Duration::from_secs(15))
                            .stream(events),
                    );
                    Ok(warp::Reply::into_response(reply))
                }
                .await,
            )
        })
}

/// GET /v1/summary?as_of=&as_known_at=
///
/// Per battle and per lead unit: counts by status and the lagging indicators, the
/// shape of the monthly bulletin (月通报).
pub fn summary(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "summary")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["as_of", "as_known_at", "region"])?;
                    let f = Filters::parse(&q)?;
                    catalogue_answer(&ctx, &req, "summary", false, move |qs| {
                        let sel = f.resolve(qs)?;
                        let summary = qs.summary(f.as_of, f.known_at, &sel)?;
                        Rendered::json(&summary)
                    })
                    .await
                }
                .await,
            )
        })
}
