//! The record of who looked: sign-ins, failed sign-ins, downloads of bulletins, exports
//! and templates, reviews and releases ([`crate::store::AccessEvent`]), and the admin's
//! view of it, `GET /v1/access-log` (JSON or CSV, filtered by action, person and time).
//!
//! An event names who (`user:张三`, `token:kgj`, or nobody), from where (the client's
//! address, through `--trust-proxy`), when (the one clock) and what. A download is
//! recorded before its bytes are sent; if the record cannot be written, the download
//! is refused (500) rather than served unrecorded.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use warp::{Filter, Rejection, Reply};

use super::auth::require_admin;
use super::filters::{params, read, Req, Resp};
use super::input::{date, text, Query};
use super::reply::{csv_wanted, list_reply};
use super::{ApiError, Ctx};
use crate::store::{AccessAction, AccessEvent, Token};

/// Who is asking, as the access log records them.
#[derive(Debug, Clone)]
pub(crate) struct Who {
    who: String,
    address: Option<String>,
}

impl Who {
    /// Someone holding `token` (or nobody), from the request's client address.
    pub(crate) fn of(ctx: &Ctx, req: &Req, token: Option<&Token>) -> Who {
        Who {
            who: token.map_or_else(String::new, label),
            address: req.client(&ctx.trusted_proxies).map(|a| a.to_string()),
        }
    }

    /// A named person or token, from an address.
    pub(crate) fn named(who: String, address: Option<std::net::IpAddr>) -> Who {
        Who {
            who,
            address: address.map(|a| a.to_string()),
        }
    }

    /// Appends an event to the log, now.
    pub(crate) fn record(
        &self,
        ctx: &Ctx,
        action: AccessAction,
        what: impl Into<String>,
    ) -> Result<(), ApiError> {
        ctx.store.log_access(&AccessEvent {
            at: ctx.clock.now(),
            who: self.who.clone(),
            address: self.address.clone(),
            action,
            what: what.into(),
        })?;
        Ok(())
    }
}

/// How the log names a token, or a person signed in with a password (whose session
/// carries a token made for it, with no secret behind it).
pub(super) fn label(t: &Token) -> String {
    if t.hash.is_empty() {
        format!("user:{}", t.name)
    } else {
        format!("token:{}", t.name)
    }
}

/// `?action=sign_in,download`: one or more actions, by key or Chinese name.
fn actions(q: &Query, name: &str) -> Result<Option<Vec<AccessAction>>, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    v.split([',', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            AccessAction::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    name,
                    format!(
                        "'{s}' is not an action; one of: {}",
                        AccessAction::ALL.map(AccessAction::key).join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `?limit=`: 1 to [`MAX_LIMIT`].
fn limit(q: &Query, name: &str) -> Result<Option<usize>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        name,
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}, not '{v}'"),
                    )
                })
        })
        .transpose()
}

/// The most entries one answer lists.
const MAX_LIMIT: usize = 10_000;
/// How many entries an answer lists when `limit` is not given.
const DEFAULT_LIMIT: usize = 1_000;

super::params! {
    /// `GET /v1/access-log`
    struct LogParams {
        action: Option<Vec<AccessAction>> = actions,
        who: Option<String> = text,
        since: Option<NaiveDate> = date,
        until: Option<NaiveDate> = date,
        limit: Option<usize> = limit,
        format: Option<String> = text,
    }
}

/// One entry, as listed.
impl super::csv::CsvRow for EntryView {
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "at",
        "local_time",
        "who",
        "address",
        "action",
        "action_label",
        "what",
    ];
}

#[derive(Debug, Serialize)]
struct EntryView {
    seq: u64,
    at: DateTime<Utc>,
    /// The local date and time, in the one clock's zone.
    local_time: String,
    who: String,
    address: Option<String>,
    action: &'static str,
    action_label: &'static str,
    what: String,
}

#[derive(Debug, Serialize)]
struct LogList<'a> {
    count: usize,
    entries: &'a [EntryView],
}

/// GET /v1/access-log?action=&who=&since=&until=&limit=&format= (admin)
///
/// The access log, newest first: `action` keeps some actions (comma list), `who` one
/// person or token (`user:张三`, `token:kgj`, or the bare name), `since` and `until`
/// local dates (inclusive).
pub fn list(ctx: Ctx) -> impl Filter<Extract = (Resp,), Error = Rejection> + Clone {
    warp::path!("v1" / "access-log")
        .and(read(ctx))
        .and(params::<LogParams>())
        .then(list_handler)
        .map(Reply::into_response)
}

async fn list_handler(
    ctx: Ctx,
    req: Req,
    p: Result<LogParams, ApiError>,
) -> Result<Resp, ApiError> {
    require_admin(&ctx, &req).await?;
    let p = p?;
    let csv = csv_wanted(p.format.as_deref(), &req)?;
    let tz = ctx.clock.tz();
    ctx.blocking(move |qs| {
        let day = |e: &AccessEvent| e.at.with_timezone(&tz).date_naive();
        let who = p.who.as_deref().map(str::trim);
        let keep = |e: &AccessEvent| {
            p.action.as_ref().is_none_or(|a| a.contains(&e.action))
                && who.is_none_or(|w| {
                    e.who == w || e.who.split_once(':').is_some_and(|(_, n)| n == w)
                })
                && p.since.is_none_or(|d| day(e) >= d)
                && p.until.is_none_or(|d| day(e) <= d)
        };
        let rows = qs
            .store()
            .access_log(keep, p.limit.unwrap_or(DEFAULT_LIMIT))?;
        let views: Vec<EntryView> = rows
            .into_iter()
            .map(|(seq, e)| EntryView {
                seq,
                at: e.at,
                local_time: e
                    .at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                who: e.who,
                address: e.address,
                action: e.action.key(),
                action_label: e.action.zh(),
                what: e.what,
            })
            .collect();
        list_reply(
            csv,
            &LogList {
                count: views.len(),
                entries: &views,
            },
            &views,
        )
    })
    .await
}
