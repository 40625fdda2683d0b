//! Attainment, alerts (with ETag polling and a Server-Sent Events stream) and the
//! monthly-bulletin summary. Each route is a filter (path, the shared `read` filter,
//! its typed parameters) and a named handler; the answers come from the query layer.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;

use warp::{Filter, Rejection, Reply};

use super::cache::{cached_answer, catalogue_answer, Render, Rendered};
use super::filters::{params, read, Req, Resp};
use super::input::{date, known_at, parse_id, status, text, value};
use super::reply::csv_wanted;
use super::sight::Noted;
use super::{ApiError, Ctx};
use crate::domain::Period;
use crate::engine::alerts::{Alert, Severity};
use crate::engine::Status;
use crate::query::alerts::AlertQuery;
use crate::query::views::{AttainmentList, AttainmentView};
use crate::query::{Queries, Selection};

super::params! {
    /// `GET /v1/indicators/{id}/attainment`
    struct OneParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        on: Option<NaiveDate> = date,
    }
}

/// GET /v1/indicators/:id/attainment?as_of=&as_known_at=&on=
pub fn one(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "indicators" / String / "attainment")
        .and(read(ctx))
        .and(params::<OneParams>())
        .then(one_handler)
        .map(Reply::into_response)
}

async fn one_handler(
    id: String,
    ctx: Ctx,
    req: Req,
    p: Result<OneParams, ApiError>,
) -> Result<Resp, ApiError> {
    let id = parse_id(&id)?;
    let p = p?;
    let sight = super::sight::indicator_sight(&ctx, &req, &id).await?;
    let as_of = sight.as_of(p.as_of)?;
    // Like the catalogue-wide answers: an ETag from the change counter (and the due
    // rules, which move the reporting state), and the body kept until the next write.
    let route = format!("one.{id}@{}@{}", ctx.store.due_version()?, sight.key());
    // One indicator: a few point reads and one year's range scan, or the memo.
    let render = Render::Inline(Box::new(move |qs: &Queries| {
        let ind = qs.indicator(&id)?;
        let as_of = qs.resolve_as_of(as_of)?;
        let a = qs.attainment(&ind, as_of, p.as_known_at)?;
        let on =
            p.on.unwrap_or_else(|| crate::engine::calendar::default_reporting_date(as_of));
        let mut rows = [(ind, a)];
        qs.mark_reporting(&mut rows, on)?;
        let [(ind, a)] = rows;
        Rendered::json(&AttainmentView::new(&ind, &a))
    }));
    cached_answer(&ctx, &ctx.one_bodies, &req, &route, false, render).await
}

/// The indicators a catalogue-wide list keeps, resolved against the store.
fn selection(
    qs: &Queries,
    group: Option<&str>,
    battle: Option<&str>,
    lead_unit: &Option<String>,
    region: &Option<String>,
) -> Result<Selection, ApiError> {
    Ok(qs.selection(group, battle, lead_unit.as_deref(), region.as_deref())?)
}

super::params! {
    /// `GET /v1/attainment`
    struct AllParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        group: Option<String> = text,
        battle: Option<String> = text,
        lead_unit: Option<String> = text,
        region: Option<String> = text,
        status: Option<Status> = status,
        on: Option<NaiveDate> = date,
        format: Option<String> = text,
    }
}

/// GET /v1/attainment?as_of=&as_known_at=&on=&battle=&lead_unit=&region=&status=&format=
///
/// Each row's `reporting` says whether an absent figure is overdue (逾期未报) or not yet
/// due (未到报送期) on the reporting date `on`: by default the first day the month's figures
/// are overdue after `as_of` (2023-07-11 for 2023-06). The date is part of the ETag.
pub fn all(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "attainment")
        .and(read(ctx))
        .and(params::<AllParams>())
        .then(all_handler)
        .map(Reply::into_response)
}

async fn all_handler(ctx: Ctx, req: Req, p: Result<AllParams, ApiError>) -> Result<Resp, ApiError> {
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    // The reporting date moves the rows' reporting state, so it is part of the ETag
    // (the default date follows `as_of`, which the change sequence and query cover);
    // so are the due rules, which the change sequence does not count.
    let sight = super::sight::sight(&ctx, &req, p.region.as_deref()).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!(
        "attainment@{}@{}@{}",
        p.on.map_or_else(|| "due-after-as-of".to_string(), |d| d.to_string()),
        ctx.store.due_version()?,
        sight.key()
    );
    catalogue_answer(&ctx, &req, &route, csv, move |qs| {
        let sel = selection(
            qs,
            p.group.as_deref(),
            p.battle.as_deref(),
            &p.lead_unit,
            &p.region,
        )?;
        let (as_of, rows) = qs.attainment_list(as_of, p.as_known_at, &sel, p.status, p.on)?;
        let views: Vec<_> = rows
            .iter()
            .map(|(i, a)| AttainmentView::new(i, a))
            .collect();
        let body = Noted {
            body: AttainmentList {
                as_of,
                year: as_of.year(),
                count: views.len(),
                attainment: &views,
            },
            release: sight.note(),
        };
        Rendered::list(csv, &body, &views)
    })
    .await
}

/// The answer of `GET /v1/alerts`.
#[derive(Debug, Serialize)]
pub struct AlertList {
    pub as_of: Period,
    pub count: usize,
    pub alerts: Vec<Alert>,
}

super::params! {
    /// `GET /v1/alerts`
    struct AlertParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        on: Option<NaiveDate> = date,
        kind: Option<String> = text,
        severity: Option<Severity> = value::<Severity>,
        group: Option<String> = text,
        battle: Option<String> = text,
        lead_unit: Option<String> = text,
        region: Option<String> = text,
        format: Option<String> = text,
    }
}

/// GET /v1/alerts?as_of=&as_known_at=&on=&kind=&severity=&battle=&lead_unit=&region=&format=
///
/// The pace alerts at `as_of`, and the overdue alerts (催报) on the day `on` (default:
/// today in the configured zone): one per indicator with a figure past its due date
/// and no reading. `kind=pace` or `kind=overdue` keeps one kind. Worst first.
///
/// Answers carry an `ETag`; `If-None-Match` gets a 304 with no body until any write
/// is accepted (or the day changes), so dashboards can poll every few seconds for
/// almost nothing.
pub fn alerts(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "alerts")
        .and(read(ctx))
        .and(params::<AlertParams>())
        .then(alerts_handler)
        .map(Reply::into_response)
}

async fn alerts_handler(
    ctx: Ctx,
    req: Req,
    p: Result<AlertParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let on = p.on.unwrap_or_else(|| ctx.clock.today());
    let (pace, overdue) = match p.kind.as_deref() {
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
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    // The day is part of the answer: the ETag and the cached body change with it. So
    // are the due rules, which the change sequence does not count.
    let sight = super::sight::sight(&ctx, &req, p.region.as_deref()).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!("alerts@{on}@{}@{}", ctx.store.due_version()?, sight.key());
    catalogue_answer(&ctx, &req, &route, csv, move |qs| {
        let (as_of, alerts) = qs.alert_list(&AlertQuery {
            as_of,
            known_at: p.as_known_at,
            pace,
            overdue,
            on: Some(on),
            severity: p.severity,
            selection: selection(
                qs,
                p.group.as_deref(),
                p.battle.as_deref(),
                &p.lead_unit,
                &p.region,
            )?,
        })?;
        let body = Noted {
            body: AlertList {
                as_of,
                count: alerts.len(),
                alerts,
            },
            release: sight.note(),
        };
        Rendered::list(csv, &body, &body.body.alerts)
    })
    .await
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

super::params! {
    /// `GET /v1/alerts/stream`
    struct StreamParams {
        as_of: Option<Period> = value::<Period>,
        region: Option<String> = text,
    }
}

/// GET /v1/alerts/stream?as_of=&region=
///
/// Server-Sent Events: first a `snapshot` event with the current alerts, then one
/// `raised`, `changed` or `cleared` event each time a durable write changes an alert.
/// Without `as_of`, each evaluation uses the default `as_of` at that moment. With
/// `region`, only the alerts of that region's indicators.
pub fn stream(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "alerts" / "stream")
        .and(read(ctx))
        .and(params::<StreamParams>())
        .then(stream_handler)
        .map(Reply::into_response)
}

async fn stream_handler(
    ctx: Ctx,
    req: Req,
    p: Result<StreamParams, ApiError>,
) -> Result<Resp, ApiError> {
    let StreamParams { as_of, region } = p?;
    // Whoever opened the stream sees what they may at each event: for the public, a
    // month appears when it is released (a release at its set time wakes the stream).
    let token = super::sight::bearer(&ctx, &req).await?;
    let sight_region = region.clone();
    let see = {
        let ctx = ctx.clone();
        move || -> Result<Option<Period>, ApiError> {
            super::sight::sight_of(&ctx, token.as_ref(), sight_region.as_deref())?.as_of(as_of)
        }
    };
    let first_sight = see()?;
    let rx = ctx.changes.subscribe();
    let (region, first_as_of, first_list) = ctx
        .blocking(move |qs| {
            let region = qs.region_filter(region.as_deref())?;
            let (p, list) = qs.alerts(first_sight, None)?;
            let mut list = list.as_ref().clone();
            in_region(&mut list, &region);
            Ok((region, p, list))
        })
        .await?;
    // The snapshot is worst first, like GET /v1/alerts.
    let snapshot = warp::sse::Event::default()
        .event("snapshot")
        .json_data(&AlertList {
            as_of: first_as_of,
            count: first_list.len(),
            alerts: first_list.clone(),
        });
    let first = by_indicator(first_list);
    let queries = ctx.queries.clone();
    let state = std::sync::Arc::new(tokio::sync::Mutex::new(first));
    let updates = BroadcastStream::new(rx).then(move |_| {
        let queries = queries.clone();
        let state = state.clone();
        let region = region.clone();
        let see = see.clone();
        async move {
            let (p, now) = tokio::task::spawn_blocking(move || match see() {
                Ok(as_of) => alert_map(&queries, as_of, &region),
                // Nothing released (or the stream's month no longer may be seen).
                Err(_) => (None, BTreeMap::new()),
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
    let events = futures_util::stream::iter(snapshot.into_iter().map(Ok::<_, Infallible>))
        .chain(updates.flatten());
    let reply = warp::sse::reply(
        warp::sse::keep_alive()
            .interval(Duration::from_secs(15))
            .stream(events),
    );
    Ok(reply.into_response())
}

super::params! {
    /// `GET /v1/summary`
    struct SummaryParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        region: Option<String> = text,
    }
}

/// GET /v1/summary?as_of=&as_known_at=&region=
///
/// Per battle and per lead unit: counts by status and the lagging indicators, the
/// shape of the monthly bulletin (月通报).
pub fn summary(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "summary")
        .and(read(ctx))
        .and(params::<SummaryParams>())
        .then(summary_handler)
        .map(Reply::into_response)
}

async fn summary_handler(
    ctx: Ctx,
    req: Req,
    p: Result<SummaryParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let sight = super::sight::sight(&ctx, &req, p.region.as_deref()).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!("summary@{}", sight.key());
    catalogue_answer(&ctx, &req, &route, false, move |qs| {
        let sel = selection(qs, None, None, &None, &p.region)?;
        let summary = qs.summary(as_of, p.as_known_at, &sel)?;
        Rendered::json(&Noted {
            body: summary,
            release: sight.note(),
        })
    })
    .await
}
