//! The reporting calendar (报送时间表) and the overdue list (催报), over HTTP.
//!
//! The rules are in `engine::calendar`; this module reads the store and, when a request
//! names no date, today's date in China Standard Time (UTC+8, where the county is).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use warp::Filter;

use super::input::Query;
use super::{error, get_or_head, list_reply, req, wants_csv, with_ctx, ApiError, Ctx, Req, Resp};
use crate::domain::Indicator;
use crate::query::schedule::{due_in, overdue_on, DueItem, OverdueItem};
use crate::query::Queries;

/// The longest calendar window, in days.
pub const MAX_WINDOW_DAYS: u64 = 366;

/// The indicators a calendar or overdue request keeps.
fn selected(qs: &Queries, q: &Query) -> Result<Vec<Indicator>, ApiError> {
    let sel = qs.selection(None, q.get("lead_unit"), q.get("region"))?;
    Ok(qs
        .store()
        .indicators()?
        .into_iter()
        .filter(|i| sel.keeps(i))
        .collect())
}

#[derive(Debug, Serialize)]
struct Calendar<'a> {
    from: NaiveDate,
    to: NaiveDate,
    count: usize,
    due: &'a [DueItem],
}

/// GET /v1/calendar?from=&to=&region=&lead_unit=&format=
///
/// What falls due between `from` and `to` (inclusive; default: today and the 30 days
/// after), for the indicators with a target in the period's year.
pub fn calendar(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "calendar")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q =
                        Query::parse(&req.query, &["from", "to", "region", "lead_unit", "format"])?;
                    let from = super::input::date(&q, "from")?.unwrap_or_else(|| ctx.clock.today());
                    let to = match super::input::date(&q, "to")? {
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
                    let csv = wants_csv(&q, &req)?;
                    ctx.blocking(move |qs| {
                        let s = qs.store();
                        let out = due_in(s, &selected(qs, &q)?, from, to)?;
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
                .await,
            )
        })
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

/// GET /v1/overdue?on=&group=lead_unit&region=&lead_unit=&format=
///
/// Every expected figure whose due date has passed on `on` (default: today) with no
/// reading stored: the periods of this year and last, of the years the indicator has a
/// target for. `group=lead_unit` gives the shape of a 催报 notice, one group per lead
/// unit (an indicator led by two units is in both).
pub fn overdue_list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone {
    warp::path!("v1" / "overdue")
        .and(get_or_head())
        .and(req())
        .and(with_ctx(ctx))
        .then(|req: Req, ctx: Ctx| async move {
            error::reply(
                async {
                    let q = Query::parse(&req.query, &["on", "group", "region", "lead_unit", "format"])?;
                    let on = super::input::date(&q, "on")?.unwrap_or_else(|| ctx.clock.today());
                    let by_unit = match q.get("group") {
                        None => false,
                        Some("lead_unit") => true,
                        Some(other) => {
                            return Err(ApiError::invalid(
                                "group",
                                format!("group '{other}' is not one of: lead_unit"),
                            ))
                        }
                    };
                    let csv = wants_csv(&q, &req)?;
                    if by_unit && csv {
                        return Err(ApiError::invalid(
                            "format",
                            "grouped answers are JSON; CSV lists one line per overdue figure without group",
                        ));
                    }
                    ctx.blocking(move |qs| {
 let s = qs.store();
                        let out = overdue_on(s, &selected(qs, &q)?, on)?;
                        if !by_unit {
                            let body = OverdueList { on, count: out.len(), overdue: &out };
                            return list_reply(csv, &body, &out);
                        }
                        let mut groups: BTreeMap<&str, Vec<&OverdueItem>> = BTreeMap::new();
                        for o in &out {
                            for u in &o.lead_units {
                                groups.entry(u.as_str()).or_default().push(o);
                            }
                        }
                        let body = OverdueByUnit {
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
                        };
                        Ok(super::json(warp::http::StatusCode::OK, &body))
                    })
                    .await
                }
                .await,
            )
        })
}
