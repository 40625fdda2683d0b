//! Telling people: the events zhibiao sends (alerts, 催报 notices, submissions, daily
//! digests), the four message formats, delivery to webhook receivers with retries and
//! a log, and the notifier that turns durable writes and the daily clock into events.
//!
//! - [`webhook`]: receivers and their validation; URLs are shown only redacted.
//! - [`message`]: events and their bodies, pure (no I/O, no clock).
//! - [`deliver`]: the outbox, HTTP attempts, backoff and the delivery log.
//! - [`address`]: where a receiver may be (not loopback, link-local or zhibiao's own
//!   address, unless `--allow-internal-webhooks`), checked at registration and on
//!   every connection.
//! - [`reply`]: what is read of a receiver's reply (at most 4 KiB) and what the log
//!   keeps of it (a short, redacted excerpt).
//! - [`notifier`]: the step after each burst of writes and the daily run. It asks the
//!   query layer for alerts and the calendar, so what it sends agrees with
//!   `/v1/alerts` and `/v1/overdue`.
//!
//! What falls due and what is overdue is read through `query::schedule`.

pub mod address;
pub mod deliver;
pub mod message;
pub mod notifier;
pub mod reply;
pub mod webhook;

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::domain::Indicator;
use crate::query::schedule::{self, DueItem, OverdueItem};
use crate::store::{Store, StoreError};
use message::Event;

/// The longest look-ahead of a digest, in days.
pub const MAX_REMIND_DAYS: u32 = 31;

/// What telling people can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// The notifier's stored state could not be written.
    #[error("notifier state: {0}")]
    State(String),
}

/// The home region's indicators: digests and notices go to the county's own units.
fn home_indicators(s: &Store) -> Result<Vec<Indicator>, StoreError> {
    let home = s.home_region()?;
    Ok(s.indicators()?
        .into_iter()
        .filter(|i| i.region == home)
        .collect())
}

type PerUnit = BTreeMap<String, (Vec<(OverdueItem, String)>, Vec<(DueItem, String)>)>;

fn battle_of(inds: &[Indicator], id: &str) -> String {
    inds.iter()
        .find(|i| i.id.as_str() == id)
        .map_or_else(String::new, |i| i.group.clone())
}

/// The daily digest of each lead unit on `on`: its overdue figures and those falling
/// due within `days` days (not yet received). Only units with something to say, in
/// name order; `unit` keeps one.
pub fn digests(
    s: &Store,
    on: NaiveDate,
    days: u32,
    unit: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    let inds = home_indicators(s)?;
    let to = on
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(on);
    let mut per: PerUnit = BTreeMap::new();
    for o in schedule::overdue_on(s, &inds, on)? {
        let b = battle_of(&inds, &o.indicator);
        for u in &o.lead_units {
            per.entry(u.clone())
                .or_default()
                .0
                .push((o.clone(), b.clone()));
        }
    }
    for d in schedule::due_in(s, &inds, on, to)? {
        if d.received {
            continue;
        }
        let b = battle_of(&inds, &d.indicator);
        for u in &d.lead_units {
            per.entry(u.clone())
                .or_default()
                .1
                .push((d.clone(), b.clone()));
        }
    }
    Ok(per
        .iter()
        .filter(|(u, _)| unit.is_none_or(|w| w == u.as_str()))
        .filter_map(|(u, (o, d))| message::digest(u, on, days, o, d, at))
        .collect())
}

/// The 催报 notices of `on`, one per lead unit: the figures that became overdue since
/// `since` (their due date is on or after it), or, without `since`, those that became
/// overdue today (due yesterday).
pub fn overdue_notices(
    s: &Store,
    on: NaiveDate,
    since: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    let inds = home_indicators(s)?;
    let yesterday = on.pred_opt().unwrap_or(on);
    let from = since.unwrap_or(yesterday).min(yesterday);
    let mut per: BTreeMap<String, Vec<(OverdueItem, String)>> = BTreeMap::new();
    for o in schedule::overdue_on(s, &inds, on)? {
        if o.due < from {
            continue;
        }
        let b = battle_of(&inds, &o.indicator);
        for u in &o.lead_units {
            per.entry(u.clone())
                .or_default()
                .push((o.clone(), b.clone()));
        }
    }
    Ok(per
        .iter()
        .filter_map(|(u, items)| message::overdue_notice(u, items, at))
        .collect())
}
