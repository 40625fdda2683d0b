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
use super::input::{date, known_at, many, parse_id, statuses, text, value, Query};
use super::reply::csv_wanted;
use super::sight::Noted;
use super::{ApiError, Ctx};
use crate::domain::Period;
use crate::engine::alerts::{Alert, Severity};
use crate::engine::Status;
use crate::query::alerts::AlertQuery;
use crate::query::views::{AlertView, AttainmentList, AttainmentView, RowText};
use crate::query::{Asked, Queries, Selection};

super::params! {
    /// `GET /v1/indicators/{id}/attainment`
    struct OneParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        on: Option<NaiveDate> = date,
        include: Include = include,
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
    let lang = super::lang::current();
    // One indicator: a few point reads and one year's range scan, or the memo.
    let render = Render::Inline(Box::new(move |qs: &Queries| {
        let text = row_text(qs, lang, p.include)?;
        let ind = qs.indicator(&id)?;
        let as_of = qs.resolve_as_of(as_of)?;
        let a = qs.attainment(&ind, as_of, p.as_known_at)?;
        let on =
            p.on.unwrap_or_else(|| crate::engine::calendar::default_reporting_date(as_of));
        let mut rows = [(ind, a)];
        qs.mark_reporting(&mut rows, on)?;
        let [(ind, a)] = rows;
        Rendered::json(&AttainmentView::new(&ind, &a, &text))
    }));
    cached_answer(&ctx, &ctx.one_bodies, &req, &route, false, render).await
}

/// What `?include=` asked rows to carry beyond their own fields.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Include {
    /// The plan's quote (`include=source`).
    pub source: bool,
}

/// `?include=source`; anything else is refused, naming it.
pub(super) fn include(q: &Query, name: &str) -> Result<Include, ApiError> {
    let mut out = Include::default();
    for v in q.values(name) {
        match v.as_str() {
            "source" => out.source = true,
            other => {
                return Err(ApiError::invalid(
                    name,
                    crate::domain::messages::Msg::new(
                        format!("include 不接受“{other}”，可选：source（方案原文）"),
                        format!("include '{other}' is not one of: source"),
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// The words of an answer's rows: the request's language, the plans' group names and
/// the quote when asked for.
pub(super) fn row_text(
    qs: &Queries,
    lang: crate::text::Lang,
    include: Include,
) -> Result<RowText, ApiError> {
    Ok(RowText {
        lang,
        plans: qs.store().plans()?,
        source: include.source,
    })
}

/// The CSV columns `include` adds.
fn extra_columns(include: Include) -> &'static [&'static str] {
    if include.source {
        super::csv::SOURCE_COLUMNS
    } else {
        &[]
    }
}

super::params! {
    /// `GET /v1/attainment`
    struct AllParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        group: Vec<String> = many,
        battle: Vec<String> = many,
        lead_unit: Vec<String> = many,
        region: Vec<String> = many,
        kind: Vec<String> = many,
        status: Vec<Status> = statuses,
        on: Option<NaiveDate> = date,
        include: Include = include,
        format: Option<String> = text,
    }
}

impl AllParams {
    fn asked(&self) -> Asked {
        Asked::new(
            self.group.clone(),
            self.battle.clone(),
            self.lead_unit.clone(),
            self.region.clone(),
            self.kind.clone(),
        )
    }
}

/// GET /v1/attainment?as_of=&as_known_at=&on=&group=&lead_unit=&region=&kind=&status=&include=&format=
///
/// The filters take comma lists and repeats (OR within a name, AND across names);
/// `status=lagging` is behind or severely behind. Without `region`, the rows of the
/// caller's region (the token's, else the home region); `region=*` for every region.
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
    let asked = p.asked();
    let (sight, home) = super::sight::list_sight(&ctx, &req, &asked).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!(
        "attainment@{}@{}@{}@{}",
        p.on.map_or_else(|| "due-after-as-of".to_string(), |d| d.to_string()),
        ctx.store.due_version()?,
        sight.key(),
        home.as_deref().unwrap_or("")
    );
    let lang = super::lang::current();
    catalogue_answer(&ctx, &req, &route, csv, move |qs| {
        let sel = qs.selection(&asked, home.as_deref())?;
        let text = row_text(qs, lang, p.include)?;
        let (as_of, rows) = qs.attainment_list(as_of, p.as_known_at, &sel, &p.status, p.on)?;
        let views: Vec<_> = rows
            .iter()
            .map(|(i, a)| AttainmentView::new(i, a, &text))
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
        Rendered::list_with(csv, &body, &views, extra_columns(p.include))
    })
    .await
}

/// The answer of `GET /v1/alerts` and the stream's snapshot.
#[derive(Debug, Serialize)]
pub struct AlertList<'a> {
    pub as_of: Period,
    pub count: usize,
    pub alerts: &'a [AlertView<'a>],
}

super::params! {
    /// `GET /v1/alerts`
    struct AlertParams {
        as_of: Option<Period> = value::<Period>,
        as_known_at: Option<DateTime<Utc>> = known_at,
        on: Option<NaiveDate> = date,
        kind: Vec<String> = many,
        severity: Vec<String> = many,
        group: Vec<String> = many,
        battle: Vec<String> = many,
        lead_unit: Vec<String> = many,
        region: Vec<String> = many,
        status: Vec<Status> = statuses,
        include: Include = include,
        format: Option<String> = text,
    }
}

/// GET /v1/alerts?as_of=&as_known_at=&on=&kind=&severity=&status=&group=&lead_unit=&region=&include=&format=
///
/// The pace alerts at `as_of`, and the overdue alerts (催报) on the day `on` (default:
/// today in the configured zone): one per indicator with a figure past its due date
/// and no reading. `kind=pace` or `kind=overdue` keeps one kind. Worst first. The
/// filters take lists as on `/v1/attainment`, and the caller's region by default.
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
    let (mut pace, mut overdue) = (p.kind.is_empty(), p.kind.is_empty());
    for k in &p.kind {
        match k.as_str() {
            "pace" => pace = true,
            "overdue" => overdue = true,
            other => {
                return Err(ApiError::invalid(
                    "kind",
                    crate::domain::messages::Msg::new(
                        format!(
                            "预警类型“{other}”不存在，可选：pace（序时进度）、overdue（逾期未报）"
                        ),
                        format!("kind '{other}' is not one of: pace, overdue"),
                    ),
                ))
            }
        }
    }
    let severity = p
        .severity
        .iter()
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|e| ApiError::invalid("severity", format!("severity: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    // `kind` here is the alert's kind, not the indicator's: the indicator filters are
    // the others.
    let asked = Asked::new(
        p.group.clone(),
        p.battle.clone(),
        p.lead_unit.clone(),
        p.region.clone(),
        Vec::new(),
    );
    // The day is part of the answer: the ETag and the cached body change with it. So
    // are the due rules, which the change sequence does not count.
    let (sight, home) = super::sight::list_sight(&ctx, &req, &asked).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!(
        "alerts@{on}@{}@{}@{}",
        ctx.store.due_version()?,
        sight.key(),
        home.as_deref().unwrap_or("")
    );
    let lang = super::lang::current();
    catalogue_answer(&ctx, &req, &route, csv, move |qs| {
        let (as_of, mut alerts) = qs.alert_list(&AlertQuery {
            as_of,
            known_at: p.as_known_at,
            pace,
            overdue,
            on: Some(on),
            severity,
            selection: qs.selection(&asked, home.as_deref())?,
        })?;
        if !p.status.is_empty() {
            alerts.retain(|a| p.status.contains(&a.status));
        }
        let text = row_text(qs, lang, p.include)?;
        let inds = qs.indicators_shared()?;
        let views: Vec<AlertView> = alerts
            .iter()
            .map(|a| AlertView::new(a, inds.get(&a.indicator), as_of.year(), &text))
            .collect();
        let body = Noted {
            body: AlertList {
                as_of,
                count: views.len(),
                alerts: &views,
            },
            release: sight.note(),
        };
        Rendered::list_with(csv, &body, &views, extra_columns(p.include))
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
    alert: Option<AlertView<'a>>,
}

/// The difference between two alert sets, as stream events, each alert as
/// `GET /v1/alerts` answers it.
fn diff(
    as_of: Period,
    old: &BTreeMap<String, Alert>,
    new: &BTreeMap<String, Alert>,
    text: &RowText,
) -> Vec<warp::sse::Event> {
    let mut out = Vec::new();
    let mut push = |change: &'static str, id: &str, alert: Option<&Alert>| {
        let ev = AlertEvent {
            change,
            as_of,
            indicator: id,
            alert: alert.map(|a| AlertView::new(a, None, as_of.year(), text)),
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
    sel: &Selection,
) -> (Option<Period>, BTreeMap<String, Alert>) {
    match qs.alerts(as_of, None) {
        Ok((p, list)) => {
            let mut list = list.as_ref().clone();
            in_selection(&mut list, sel);
            (Some(p), by_indicator(list))
        }
        Err(_) => (None, BTreeMap::new()),
    }
}

/// Keeps the alerts of the regions a stream asked for (the home region by default).
fn in_selection(list: &mut Vec<Alert>, sel: &Selection) {
    if let Some(r) = &sel.regions {
        list.retain(|a| r.contains(&a.region));
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
        region: Vec<String> = many,
    }
}

/// GET /v1/alerts/stream?as_of=&region=
///
/// Server-Sent Events: first a `snapshot` event with the current alerts, then one
/// `raised`, `changed` or `cleared` event each time a durable write changes an alert.
/// Without `as_of`, each evaluation uses the default `as_of` at that moment. The alerts
/// of the caller's region (the home region by default), of `region` when given
/// (`region=*` for every region).
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
    let asked = Asked {
        region,
        ..Asked::default()
    };
    // Whoever opened the stream sees what they may at each event: for the public, a
    // month appears when it is released (a release at its set time wakes the stream).
    let token = super::sight::bearer(&ctx, &req).await?;
    let home = token
        .as_ref()
        .map(|t| t.region.clone())
        .filter(|r| !r.is_empty());
    let sight_region = asked.sight_region(home.as_deref()).map(str::to_string);
    let see = {
        let ctx = ctx.clone();
        move || -> Result<Option<Period>, ApiError> {
            super::sight::sight_of(&ctx, token.as_ref(), sight_region.as_deref())?.as_of(as_of)
        }
    };
    let first_sight = see()?;
    let rx = ctx.changes.subscribe();
    let lang = super::lang::current();
    let (sel, first_list, snapshot) = ctx
        .blocking(move |qs| {
            let sel = qs.selection(&asked, home.as_deref())?;
            let (p, list) = qs.alerts(first_sight, None)?;
            let mut list = list.as_ref().clone();
            in_selection(&mut list, &sel);
            // The snapshot is worst first, like GET /v1/alerts, and its rows are the same.
            let text = row_text(qs, lang, Include::default())?;
            let views: Vec<AlertView> = list
                .iter()
                .map(|a| AlertView::new(a, None, p.year(), &text))
                .collect();
            let snapshot = warp::sse::Event::default()
                .event("snapshot")
                .json_data(&AlertList {
                    as_of: p,
                    count: views.len(),
                    alerts: &views,
                });
            Ok((sel, list, snapshot))
        })
        .await?;
    let first = by_indicator(first_list);
    let queries = ctx.queries.clone();
    let state = std::sync::Arc::new(tokio::sync::Mutex::new(first));
    let updates = BroadcastStream::new(rx).then(move |_| {
        let queries = queries.clone();
        let state = state.clone();
        let sel = sel.clone();
        let see = see.clone();
        async move {
            let (p, now, text) = tokio::task::spawn_blocking(move || {
                let text = row_text(&queries, lang, Include::default()).ok();
                match see() {
                    Ok(as_of) => {
                        let (p, now) = alert_map(&queries, as_of, &sel);
                        (p, now, text)
                    }
                    // Nothing released (or the stream's month no longer may be seen).
                    Err(_) => (None, BTreeMap::new(), text),
                }
            })
            .await
            .unwrap_or((None, BTreeMap::new(), None));
            let mut prev = state.lock().await;
            let events = match (p, text) {
                (Some(p), Some(text)) => diff(p, &prev, &now, &text),
                _ => Vec::new(),
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
        group: Vec<String> = many,
        battle: Vec<String> = many,
        lead_unit: Vec<String> = many,
        region: Vec<String> = many,
        kind: Vec<String> = many,
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
    let asked = Asked::new(p.group, p.battle, p.lead_unit, p.region, p.kind);
    let (sight, home) = super::sight::list_sight(&ctx, &req, &asked).await?;
    let as_of = sight.as_of(p.as_of)?;
    let route = format!("summary@{}@{}", sight.key(), home.as_deref().unwrap_or(""));
    catalogue_answer(&ctx, &req, &route, false, move |qs| {
        let sel = qs.selection(&asked, home.as_deref())?;
        let summary = qs.summary(as_of, p.as_known_at, &sel)?;
        Rendered::json(&Noted {
            body: summary,
            release: sight.note(),
        })
    })
    .await
}
