//! Attainment, alerts (with ETag polling and a Server-Sent Events stream) and the
//! monthly-bulletin summary.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
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
    board, error, etag, evaluate_all, evaluate_one, json, load_indicator, not_modified,
    not_modified_response, parse_id, parse_known_at, parse_status, req, resolve_as_of, wants_csv,
    with_ctx, with_etag, ApiError, Ctx, Req, Resp,
};
use crate::api::year_series;
use crate::domain::Indicator;
use crate::domain::{Battle, Period};
use crate::engine::alerts::{self, Alert, Severity};
use crate::store::{Store, Weigh};

/// An alert list kept in the store's memo.
impl Weigh for Vec<Alert> {
    fn weight(&self) -> usize {
        self.len() * 512
    }
}

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
                    ctx.inline(move |s| {
                        let ind = load_indicator(s, &id)?;
                        let as_of = resolve_as_of(s, as_of)?;
                        let a = evaluate_one(s, &ind, as_of, known_at)?;
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

    /// The canonical lead unit and region asked for, checked against the store.
    fn resolve(&self, s: &Store) -> Result<Selection, ApiError> {
        Ok(Selection {
            lead: self.lead(s)?,
            region: super::compare::region_filter(s, self.region.as_deref())?,
        })
    }

    /// The canonical lead unit asked for.
    fn lead(&self, s: &Store) -> Result<Option<String>, ApiError> {
        let units = s.units()?;
        Ok(self
            .lead_unit
            .as_deref()
            .map(|u| units.resolve(u).to_string()))
    }

    fn keeps(&self, ind: &crate::domain::Indicator, sel: &Selection) -> bool {
        self.battle.is_none_or(|b| ind.battle == b)
            && sel.lead.as_ref().is_none_or(|u| ind.lead_units.contains(u))
            && sel.region.as_ref().is_none_or(|r| ind.region == *r)
    }
}

/// The lead unit and region of [`Filters`], resolved.
struct Selection {
    lead: Option<String>,
    region: Option<String>,
}

/// A catalogue-wide answer rendered once, kept in the store's memo until the next
/// write: the bytes and their content type.
#[derive(Debug)]
struct Rendered {
    content_type: &'static str,
    body: bytes::Bytes,
}

impl Weigh for Rendered {
    fn weight(&self) -> usize {
        self.body.len() + 64
    }
}

impl Rendered {
    /// A list endpoint's body: the JSON document, or its rows as CSV.
    fn list<B: Serialize, R: Serialize>(csv: bool, body: &B, rows: &[R]) -> Result<Self, ApiError> {
        Ok(if csv {
            Rendered {
                content_type: "text/csv; charset=utf-8",
                body: super::csv::render(rows)?.into(),
            }
        } else {
            Rendered::json(body)?
        })
    }

    fn json<B: Serialize>(body: &B) -> Result<Self, ApiError> {
        Ok(Rendered {
            content_type: "application/json",
            body: serde_json::to_vec(body).map_err(ApiError::internal)?.into(),
        })
    }

    fn response(&self) -> Resp {
        let mut res = warp::reply::Response::new(self.body.clone().into());
        res.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static(self.content_type),
        );
        res
    }
}

/// Every catalogue-wide GET (attainment, alerts, summary) takes the cheapest of three
/// paths:
/// 1. `If-None-Match` names the current ETag: 304, decided on the async worker from
///    the store's change counter (one sled read), with no evaluation at all;
/// 2. the body already rendered for this URL and representation since the last
///    write: served from the store's memo, also without leaving the async worker;
/// 3. otherwise `render` runs on the blocking pool, and its answer is memoised.
///
/// The ETag covers the representation (JSON or CSV), since both share a URL.
async fn catalogue_answer<F>(
    ctx: &Ctx,
    req: &Req,
    route: &str,
    csv: bool,
    render: F,
) -> Result<Resp, ApiError>
where
    F: FnOnce(&Store) -> Result<Rendered, ApiError> + Send + 'static,
{
    let repr = if csv { "csv" } else { "json" };
    let seq = ctx.store.change_seq()?;
    let tag = etag(seq, &format!("{route}.{repr}"), &req.query);
    if not_modified(req, &tag) {
        return Ok(not_modified_response(&tag));
    }
    let rendered = ctx.blocking(move |s| render(s).map(Arc::new)).await?;
    Ok(with_etag(rendered.response(), &tag))
}

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
                    catalogue_answer(&ctx, &req, "attainment", csv, move |s| {
                        let as_of = resolve_as_of(s, f.as_of)?;
                        let lead = f.resolve(s)?;
                        // The store as it stands comes from the shared board; a past
                        // vintage is evaluated afresh.
                        let current;
                        let past;
                        let rows: Vec<(&Indicator, &crate::engine::Attainment)> = match f.known_at {
                            None => {
                                current = board(s, as_of)?;
                                current
                                    .rows
                                    .iter()
                                    .map(|r| (&r.indicator, &r.attainment))
                                    .collect()
                            }
                            Some(at) => {
                                past = evaluate_all(s, as_of, Some(at))?;
                                past.iter().map(|(i, a)| (i, a)).collect()
                            }
                        };
                        let views: Vec<_> = rows
                            .into_iter()
                            .filter(|(i, a)| {
                                f.keeps(i, &lead) && status.is_none_or(|st| a.status == st)
                            })
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

/// Every alert at `as_of` (or the default), worst first.
pub fn compute_alerts(
    s: &Store,
    as_of: Option<Period>,
    known_at: Option<DateTime<Utc>>,
) -> Result<(Period, Vec<Alert>), ApiError> {
    let as_of = resolve_as_of(s, as_of)?;
    if known_at.is_none() {
        // The store as it stands: derived from the shared board, once per change.
        let list = {
            let b = board(s, as_of)?;
            let mut out: Vec<Alert> = b
                .rows
                .iter()
                .filter_map(|r| {
                    alerts::alert_from(
                        &r.indicator,
                        r.attainment.target.as_ref(),
                        &r.series,
                        &r.attainment,
                    )
                })
                .collect();
            alerts::sort_worst_first(&mut out);
            out
        };
        return Ok((as_of, list));
    }
    // A past vintage: evaluated afresh (benchmarks and ranks included), as it stood.
    let year = as_of.year();
    let mut out = Vec::new();
    for (ind, a) in evaluate_all(s, as_of, known_at)? {
        let (_, values) = year_series(s, &ind.id, year, known_at)?;
        if let Some(alert) = alerts::alert_from(&ind, a.target.as_ref(), &values, &a) {
            out.push(alert);
        }
    }
    alerts::sort_worst_first(&mut out);
    Ok((as_of, out))
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
                    let on = super::calendar::date(&q, "on")?
                        .unwrap_or_else(|| super::calendar::today(&ctx));
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
                    catalogue_answer(&ctx, &req, &route, csv, move |s| {
                        let lead = f.resolve(s)?;
                        let inds: BTreeMap<_, _> = s
                            .indicators()?
                            .into_iter()
                            .map(|i| (i.id.clone(), i))
                            .collect();
                        let keep = |a: &Alert| {
                            severity.is_none_or(|sv| a.severity == sv)
                                && inds.get(&a.indicator).is_some_and(|i| f.keeps(i, &lead))
                        };
                        let (as_of, all) = if pace {
                            compute_alerts(s, f.as_of, f.known_at)?
                        } else {
                            (super::resolve_as_of(s, f.as_of)?, Vec::new())
                        };
                        let mut alerts: Vec<Alert> = all.into_iter().filter(|a| keep(a)).collect();
                        if overdue {
                            let kept: Vec<Indicator> = inds
                                .values()
                                .filter(|i| f.keeps(i, &lead))
                                .cloned()
                                .collect();
                            alerts.extend(
                                overdue_alerts(s, &kept, on)?
                                    .into_iter()
                                    .filter(|a| keep(a)),
                            );
                            alerts::sort_worst_first(&mut alerts);
                        }
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

/// One overdue alert per indicator with figures past their due date on `on`.
fn overdue_alerts(
    s: &Store,
    inds: &[Indicator],
    on: chrono::NaiveDate,
) -> Result<Vec<Alert>, ApiError> {
    let mut per: BTreeMap<&str, Vec<crate::engine::calendar::Overdue>> = BTreeMap::new();
    let items = crate::notify::schedule::overdue_on(s, inds, on)?;
    for o in &items {
        per.entry(o.indicator.as_str())
            .or_default()
            .push(crate::engine::calendar::Overdue {
                period: o.period,
                due: o.due,
                days_overdue: o.days_overdue,
            });
    }
    Ok(inds
        .iter()
        .filter_map(|i| {
            let mut list = per.get(i.id.as_str())?.clone();
            list.sort_by_key(|o| o.period);
            alerts::overdue_alert(i, &list)
        })
        .collect())
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
    s: &Store,
    as_of: Option<Period>,
    region: &Option<String>,
) -> (Option<Period>, BTreeMap<String, Alert>) {
    match compute_alerts(s, as_of, None) {
        Ok((p, mut list)) => {
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
                        .blocking(move |s| {
                            let region = super::compare::region_filter(s, region.as_deref())?;
                            let (p, mut list) = compute_alerts(s, as_of, None)?;
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
                    let store = ctx.store.clone();
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
                    catalogue_answer(&ctx, &req, "summary", false, move |s| {
                        let as_of = resolve_as_of(s, f.as_of)?;
                        let sel = f.resolve(s)?;
                        let summary = match (f.known_at, &sel.region) {
                            (None, None) => board(s, as_of)?.summary(),
                            (None, Some(_)) => {
                                let rows: Vec<_> = board(s, as_of)?
                                    .rows
                                    .iter()
                                    .filter(|r| f.keeps(&r.indicator, &sel))
                                    .map(|r| (r.indicator.clone(), r.attainment.clone()))
                                    .collect();
                                alerts::summary(as_of, &rows)
                            }
                            (Some(at), _) => {
                                let mut rows = evaluate_all(s, as_of, Some(at))?;
                                rows.retain(|(i, _)| f.keeps(i, &sel));
                                alerts::summary(as_of, &rows)
                            }
                        };
                        Rendered::json(&summary)
                    })
                    .await
                }
                .await,
            )
        })
}
