//! The reporting calendar (报送时间表) and the overdue list (催报), over HTTP.
//!
//! The rules are in `engine::calendar` and the store is read through
//! `query::schedule`; this module picks the window and, when a request names no date,
//! today's date in the configured zone (China Standard Time by default, where the
//! county is).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::filters::{params, read, Req, Resp};
use super::input::{date, many, text};
use super::reply::{csv_wanted, json, list_reply};
use super::{ApiError, Ctx};
use crate::query::schedule::{DueItem, OverdueItem};
use crate::query::Asked;

/// The longest calendar window, in days.
pub const MAX_WINDOW_DAYS: u64 = 366;

#[derive(Debug, Serialize)]
struct Calendar<'a> {
    from: NaiveDate,
    to: NaiveDate,
    count: usize,
    due: &'a [DueItem],
}

/// The filters the calendar and the overdue list take: the plan's groups (`battle`;
/// `group` is the overdue list's grouping switch), units and regions.
fn owed_filters(battle: Vec<String>, lead_unit: Vec<String>, region: Vec<String>) -> Asked {
    Asked {
        battle,
        lead_unit,
        region,
        ..Asked::default()
    }
}

super::params! {
    /// `GET /v1/calendar`
    struct CalendarParams {
        from: Option<NaiveDate> = date,
        to: Option<NaiveDate> = date,
        region: Vec<String> = many,
        lead_unit: Vec<String> = many,
        battle: Vec<String> = many,
        format: Option<String> = text,
    }
}

/// GET /v1/calendar?from=&to=&region=&lead_unit=&battle=&format=
///
/// What falls due between `from` and `to` (inclusive; default: today and the 30 days
/// after), for the indicators with a target in the period's year.
pub fn calendar(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "calendar")
        .and(read(ctx))
        .and(params::<CalendarParams>())
        .then(calendar_handler)
        .map(Reply::into_response)
}

async fn calendar_handler(
    ctx: Ctx,
    req: Req,
    p: Result<CalendarParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let from = p.from.unwrap_or_else(|| ctx.clock.today());
    let to = match p.to {
        Some(t) => t,
        None => from.checked_add_days(Days::new(30)).unwrap_or(from),
    };
    if to < from {
        return Err(ApiError::invalid(
            "to",
            format!("to {to} is before from {from}"),
        ));
    }
    if (to - from).num_days() as u64 > MAX_WINDOW_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("a calendar window is at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    let home = super::sight::caller_region(&ctx, &req).await?;
    ctx.blocking(move |qs| {
        let asked = owed_filters(p.battle, p.lead_unit, p.region);
        let sel = qs.selection(&asked, home.as_deref())?;
        let out = qs.due_list(&sel, from, to)?;
        let body = Calendar {
            from,
            to,
            count: out.len(),
            due: &out,
        };
        list_reply(csv, &body, &out)
    })
    .await
}

#[derive(Debug, Serialize)]
struct OverdueList<'a> {
    on: NaiveDate,
    count: usize,
    overdue: &'a [OverdueItem],
}

#[derive(Debug, Serialize)]
struct UnitGroup<'a> {
    lead_unit: &'a str,
    count: usize,
    overdue: Vec<&'a OverdueItem>,
}

#[derive(Debug, Serialize)]
struct OverdueByUnit<'a> {
    on: NaiveDate,
    count: usize,
    groups: Vec<UnitGroup<'a>>,
}

super::params! {
    /// `GET /v1/overdue`
    struct OverdueParams {
        on: Option<NaiveDate> = date,
        group: Option<String> = text,
        region: Vec<String> = many,
        lead_unit: Vec<String> = many,
        battle: Vec<String> = many,
        format: Option<String> = text,
    }
}

/// GET /v1/overdue?on=&group=lead_unit&region=&lead_unit=&battle=&format=
///
/// `group` here groups the answer (`group=lead_unit`); the plan's groups are filtered
/// with `battle`. Without `region`, the caller's region (the home region by default).
///
/// Every expected figure whose due date has passed on `on` (default: today) with no
/// reading stored: the periods of this year and last, of the years the indicator has a
/// target for. `group=lead_unit` gives the shape of a 催报 notice, one group per lead
/// unit (an indicator led by two units is in both).
pub fn overdue_list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "overdue")
        .and(read(ctx))
        .and(params::<OverdueParams>())
        .then(overdue_handler)
        .map(Reply::into_response)
}

async fn overdue_handler(
    ctx: Ctx,
    req: Req,
    p: Result<OverdueParams, ApiError>,
) -> Result<Resp, ApiError> {
    let p = p?;
    let on = p.on.unwrap_or_else(|| ctx.clock.today());
    let by_unit = match p.group.as_deref() {
        None => false,
        Some("lead_unit") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "group",
                format!("group '{other}' is not one of: lead_unit"),
            ))
        }
    };
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    if by_unit && csv {
        return Err(ApiError::invalid(
            "format",
            "grouped answers are JSON; CSV lists one line per overdue figure without group",
        ));
    }
    let home = super::sight::caller_region(&ctx, &req).await?;
    ctx.blocking(move |qs| {
        let asked = owed_filters(p.battle, p.lead_unit, p.region);
        let sel = qs.selection(&asked, home.as_deref())?;
        let out = qs.overdue_list(&sel, on)?;
        if by_unit {
            Ok(json(StatusCode::OK, &by_lead_unit(on, &out)))
        } else {
            let body = OverdueList {
                on,
                count: out.len(),
                overdue: &out,
            };
            list_reply(csv, &body, &out)
        }
    })
    .await
}

/// The overdue list in the shape of a 催报 notice: one group per lead unit.
fn by_lead_unit(on: NaiveDate, out: &[OverdueItem]) -> OverdueByUnit<'_> {
    let mut groups: BTreeMap<&str, Vec<&OverdueItem>> = BTreeMap::new();
    for o in out {
        for u in &o.lead_units {
            groups.entry(u.as_str()).or_default().push(o);
        }
    }
    OverdueByUnit {
        on,
        count: out.len(),
        groups: groups
            .into_iter()
            .map(|(lead_unit, overdue)| UnitGroup {
                lead_unit,
                count: overdue.len(),
                overdue,
            })
            .collect(),
    }
}
