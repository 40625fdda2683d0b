//! The notifier: what runs beside the server to tell receivers what happened.
//!
//! - After each durable write (the same in-process signal the alert stream listens
//!   to), it reads the audit rows it has not seen (the readings submitted) and
//!   compares the alerts with those it saw last (raised, changed, resolved). A burst of
//!   writes is one step. Its cursor and the alerts it saw are kept in the store, so a
//!   restart neither repeats nor loses what happened while it was stopped.
//! - Once a day, at the configured local time, it sends each lead unit's 催报 notice
//!   (figures that became overdue since the last run) and digest. A server started
//!   after that time sends the day's run at once; so does the registration of the
//!   first receiver after that time, when the day's run found nobody to send to.
//! - Deliveries go through the outbox (`notify::deliver`); this module only enqueues.
//!
//! With no receiver registered, a step only moves the cursor: writes cost nothing more.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use std::sync::Arc;

use tokio::sync::broadcast;

use super::deliver::Hub;
use super::webhook::EventKind;
use super::{message, NotifyError};
use crate::clock::Clock;
use crate::domain::{Indicator, IndicatorId, Period};
use crate::engine::alerts::{Alert, Severity};
use crate::query::Queries;
use crate::store::{Change, Store};

/// What the notifier works with: the questions (alerts), the one clock, the delivery
/// hub, and the channel on which the server announces durable writes.
#[derive(Clone, Debug)]
pub struct Notifier {
    pub queries: Queries,
    pub clock: Clock,
    pub hub: Arc<Hub>,
    pub changes: broadcast::Sender<u64>,
    /// Steps take turns: a step asked for on demand and the background one must not
    /// both read the same cursor and queue the same messages twice.
    steps: Arc<std::sync::Mutex<()>>,
    /// With `serve --publish reviewed`: receivers hear only of released months, so
    /// alerts are taken at the home region's latest released month, and submissions
    /// of months not yet released are not announced.
    pub reviewed: bool,
    /// The home region's released month at the last step: a release that takes
    /// effect at its set time changes what receivers hear without a write.
    released_at_last_step: Arc<std::sync::Mutex<Option<Option<Period>>>>,
}

impl Notifier {
    pub fn new(
        queries: Queries,
        clock: Clock,
        hub: Arc<Hub>,
        changes: broadcast::Sender<u64>,
    ) -> Notifier {
        Notifier {
            queries,
            clock,
            hub,
            changes,
            steps: Default::default(),
            reviewed: false,
            released_at_last_step: Default::default(),
        }
    }

    /// The notifier of a server that publishes only reviewed, released months.
    pub fn reviewed(mut self, reviewed: bool) -> Notifier {
        self.reviewed = reviewed;
        self
    }

    /// The home region's latest released month now; `None` when everything is public.
    fn released(&self) -> Result<Option<Option<Period>>, NotifyError> {
        if !self.reviewed {
            return Ok(None);
        }
        let s = self.queries.store();
        Ok(Some(
            s.released_through(&s.home_region()?, self.clock.now())?,
        ))
    }

    /// Starts the notifier's tasks on the current runtime: the outbox runner, the
    /// step after each burst of writes, and the daily run. They run until the
    /// returned handle is stopped (or the runtime ends); each holds the store open.
    pub fn start(&self) -> Tasks {
        Tasks(vec![
            tokio::spawn(
                self.hub
                    .clone()
                    .run_outbox(self.queries.store().clone(), self.clock.clone()),
            ),
            tokio::spawn(on_changes(self.clone())),
            tokio::spawn(daily(self.clone())),
            tokio::spawn(watch_releases(self.clone())),
        ])
    }

    /// One step now, on the calling thread: the submissions and alert changes since
    /// the last step, enqueued. What the background task runs after each burst of
    /// writes; tests call it to see what a write leads to without waiting.
    pub fn step(&self) -> Result<(), NotifyError> {
        let _turn = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        step(self)
    }

    /// The daily run of `today` now, on the calling thread (once per day: 0 when the
    /// day's run already happened). Returns how many messages were queued.
    pub fn run_day(&self, today: NaiveDate) -> Result<usize, NotifyError> {
        run_day(self, today, self.clock.now())
    }
}

/// The notifier's running tasks.
#[derive(Debug)]
pub struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Tasks {
    /// Stops the tasks and waits until they have let go of the store. A delivery in
    /// flight is abandoned; its job stays in the outbox and is sent on the next start.
    pub async fn stop(self) {
        for t in &self.0 {
            t.abort();
        }
        for t in self.0 {
            let _ = t.await;
        }
    }
}

/// The shortest time between two steps while receivers are registered.
pub const STEP_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

async fn on_changes(ctx: Notifier) {
    let mut rx = ctx.changes.subscribe();
    loop {
        let c = ctx.clone();
        match tokio::task::spawn_blocking(move || c.step()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("notifier: {e}"),
            Err(e) => tracing::error!("notifier: {e}"),
        }
        if let Err(RecvError::Closed) = rx.recv().await {
            return;
        }
        // With receivers, a step evaluates the catalogue's alerts. Under a stream of
        // writes, steps are at least STEP_INTERVAL apart, so that the notifier takes a
        // bounded share of the CPU from the requests; everything that arrives meanwhile
        // is covered by the next step.
        if ctx.queries.store().has_webhooks() {
            tokio::time::sleep(STEP_INTERVAL).await;
        }
        while let Ok(_) | Err(TryRecvError::Lagged(_)) = rx.try_recv() {}
    }
}

/// How often the server looks for a release whose set time has come.
pub const RELEASE_WATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// Wakes the alert streams and the notifier when what the public sees changes without
/// a write: a release set for a time that has now come (in the one clock).
async fn watch_releases(ctx: Notifier) {
    let mut last: Option<Vec<(String, Option<Period>)>> = None;
    loop {
        let c = ctx.clone();
        let now = tokio::task::spawn_blocking(move || -> Result<_, NotifyError> {
            let s = c.queries.store();
            let t = c.clock.now();
            let mut regions: Vec<String> = s
                .all_period_releases()?
                .into_iter()
                .map(|r| r.region)
                .collect();
            regions.dedup();
            regions
                .into_iter()
                .map(|r| Ok((r.clone(), s.released_through(&r, t)?)))
                .collect()
        })
        .await;
        if let Ok(Ok(now)) = now {
            if last.as_ref().is_some_and(|l| *l != now) {
                let seq = ctx.queries.store().change_seq().unwrap_or(0);
                let _ = ctx.changes.send(seq);
            }
            last = Some(now);
        }
        tokio::time::sleep(RELEASE_WATCH).await;
    }
}

/// The alerts a receiver was last told about: indicator → (severity, status).
type Seen = BTreeMap<String, (String, String)>;

fn seen_of(alerts: &[Alert]) -> Seen {
    alerts
        .iter()
        .map(|a| {
            (
                a.indicator.to_string(),
                (
                    a.severity.as_str().to_string(),
                    a.status.as_str().to_string(),
                ),
            )
        })
        .collect()
}

/// The home region's alerts at the default `as_of`: what the county is told about, as
/// its dashboard shows (peer counties' and the city's series are there to compare).
fn current_alerts(
    q: &Queries,
    released: Option<Option<Period>>,
) -> Result<Vec<Alert>, NotifyError> {
    match released {
        None => Ok(q.home_alerts()?),
        Some(None) => Ok(Vec::new()),
        Some(Some(p)) => Ok(q.home_alerts_at(p)?),
    }
}

fn load_seen(s: &Store) -> Result<Option<Seen>, NotifyError> {
    Ok(s.notifier_state()?.seen)
}

/// Writes the cursor and the alerts seen together, leaving the reminder day alone.
fn save(s: &Store, cursor: u64, seen: Option<&Seen>) -> Result<(), NotifyError> {
    s.update_notifier_state(|st| {
        st.cursor = Some(cursor);
        st.seen = seen.cloned();
    })?;
    Ok(())
}

/// Takes the store as it stands as what receivers already know. Called when a receiver
/// is registered, so that it is told about what changes from then on.
///
/// The alerts seen are kept up to date only while some receiver wants alert events;
/// `fresh_alerts` (the first such receiver) takes them anew, keeping the cursor.
pub fn establish_baseline(
    q: &Queries,
    fresh_alerts: bool,
    released: Option<Option<Period>>,
) -> Result<(), NotifyError> {
    let s = q.store();
    let seen = load_seen(s)?;
    if seen.is_some() && !fresh_alerts {
        return Ok(());
    }
    let seq = s.change_seq()?;
    let cursor = match seen {
        Some(_) => stored_cursor(s)?.unwrap_or(seq),
        None => seq,
    };
    save(s, cursor, Some(&seen_of(&current_alerts(q, released)?)))
}

fn stored_cursor(s: &Store) -> Result<Option<u64>, NotifyError> {
    Ok(s.notifier_state()?.cursor)
}

/// Whether a receiver takes any alert event.
pub fn wants_alerts(h: &crate::notify::webhook::Webhook) -> bool {
    h.events.iter().any(|k| {
        matches!(
            k,
            EventKind::AlertRaised | EventKind::AlertChanged | EventKind::AlertResolved
        )
    })
}

/// One step: the submissions and alert changes since the last step, enqueued.
fn step(ctx: &Notifier) -> Result<(), NotifyError> {
    let s = ctx.queries.store();
    let seq = s.change_seq()?;
    if !s.has_webhooks() {
        // Nobody to tell: forget what was seen (once), so that the next receiver
        // starts from the store as it will stand then.
        if s.notifier_state()?.seen.is_some() {
            save(s, seq, None)?;
        }
        return Ok(());
    }
    let released = ctx.released()?;
    let (Some(cursor), Some(seen)) = (stored_cursor(s)?, load_seen(s)?) else {
        *ctx.released_at_last_step
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = released;
        return establish_baseline(&ctx.queries, false, released);
    };
    let moved = {
        let mut last = ctx
            .released_at_last_step
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let moved = *last != released;
        *last = released;
        moved
    };
    if cursor >= seq && !moved {
        return Ok(());
    }
    let now = ctx.clock.now();
    let hooks = s.webhooks()?;
    let inds: BTreeMap<IndicatorId, Indicator> = s
        .indicators()?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let wants = |k: EventKind| hooks.iter().any(|h| h.events.contains(&k));
    // Readings submitted, one event per submitter (the audit rows are read only when a
    // receiver wants them).
    let mut by_actor: BTreeMap<String, Vec<(IndicatorId, Period, f64)>> = BTreeMap::new();
    let submitted = if wants(EventKind::ReadingSubmitted) {
        s.audit_after(cursor)?
    } else {
        Vec::new()
    };
    for (_, rec) in submitted {
        if let Change::Reading {
            indicator,
            period,
            new: Some(r),
            ..
        } = rec.change
        {
            // A month not yet released is not announced (its region's release decides).
            if released.is_some() {
                let region = inds
                    .get(&indicator)
                    .map(|i| i.region.clone())
                    .unwrap_or_default();
                if s.released_through(&region, now)? < Some(period) {
                    continue;
                }
            }
            by_actor
                .entry(rec.actor)
                .or_default()
                .push((indicator, period, r.value));
        }
    }
    for (actor, rows) in &by_actor {
        let refs: Vec<(&Indicator, Period, f64)> = rows
            .iter()
            .filter_map(|(id, p, v)| inds.get(id).map(|i| (i, *p, *v)))
            .collect();
        if let Some(e) = message::submitted(actor, &refs, now) {
            ctx.hub.enqueue(s, &hooks, &e, now)?;
        }
    }
    // Alerts raised, changed and resolved (evaluated only when a receiver wants them;
    // otherwise the set seen is kept as it stands).
    if !hooks.iter().any(wants_alerts) {
        return save(s, seq, Some(&seen));
    }
    let alerts = current_alerts(&ctx.queries, released)?;
    let mut raised = Vec::new();
    let mut changed = Vec::new();
    for a in &alerts {
        match seen.get(a.indicator.as_str()) {
            None => raised.push(a.clone()),
            Some((sev, status)) if sev != a.severity.as_str() || status != a.status.as_str() => {
                let old = sev.parse::<Severity>().unwrap_or(a.severity);
                changed.push((old, a.clone()));
            }
            Some(_) => {}
        }
    }
    let now_ids: std::collections::HashSet<&str> =
        alerts.iter().map(|a| a.indicator.as_str()).collect();
    let resolved: Vec<Indicator> = seen
        .keys()
        .filter(|id| !now_ids.contains(id.as_str()))
        .filter_map(|id| {
            IndicatorId::parse(id)
                .ok()
                .and_then(|id| inds.get(&id).cloned())
        })
        .collect();
    for e in [
        message::raised(&raised, now),
        message::changed(&changed, now),
        message::resolved(&resolved, now),
    ]
    .into_iter()
    .flatten()
    {
        ctx.hub.enqueue(s, &hooks, &e, now)?;
    }
    save(s, seq, Some(&seen_of(&alerts)))
}

async fn daily(ctx: Notifier) {
    loop {
        let now = ctx.clock.now();
        let cfg = &ctx.hub.config;
        let tz = ctx.clock.tz();
        let local = now.with_timezone(&tz);
        if local.time() >= cfg.remind_at {
            let c = ctx.clone();
            let today = local.date_naive();
            match tokio::task::spawn_blocking(move || run_day(&c, today, now)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(messages = n, "daily reminders queued"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("daily reminders: {e}"),
                Err(e) => tracing::error!("daily reminders: {e}"),
            }
        }
        // Until the next run, but waking at least hourly, in case the clock moved.
        let next = next_run(now, tz, cfg.remind_at);
        let wait = (next - now)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60))
            .clamp(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(3600),
            );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.hub.daily.notified() => {}
        }
    }
}

/// The next moment after `now` when the local clock in `tz` shows `at`.
fn next_run(now: DateTime<Utc>, tz: chrono_tz::Tz, at: chrono::NaiveTime) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    for d in [local, local.succ_opt().unwrap_or(local)] {
        if let Some(t) = tz.from_local_datetime(&d.and_time(at)).earliest() {
            let t = t.with_timezone(&Utc);
            if t > now {
                return t;
            }
        }
    }
    now + chrono::Duration::hours(24)
}

/// The day's 催报 notices and digests, once per day: returns how many messages were
/// queued (0 when today's run already happened).
fn run_day(ctx: &Notifier, today: NaiveDate, now: DateTime<Utc>) -> Result<usize, NotifyError> {
    let s = ctx.queries.store();
    let last = s.notifier_state()?.remind_day;
    // Until a receiver exists, the day stays open: the first one registered after the
    // time still gets the day's run.
    if last.is_some_and(|l| l >= today) || !s.has_webhooks() {
        return Ok(0);
    }
    let mut n = 0;
    let hooks = s.webhooks()?;
    let events = super::overdue_notices(s, today, last, now)?
        .into_iter()
        .chain(super::digests(
            s,
            today,
            ctx.hub.config.remind_days,
            None,
            now,
        )?);
    for e in events {
        n += ctx.hub.enqueue(s, &hooks, &e, now)?;
    }
    s.update_notifier_state(|st| st.remind_day = Some(today))?;
    s.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_next_run_is_the_next_local_time_in_the_zone() {
        let at = chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        // 00:10 UTC is 08:10 in Shanghai: today's run at 08:30 local, 00:30 UTC.
        assert_eq!(
            next_run(utc("2023-07-20T00:10:00Z"), tz, at),
            utc("2023-07-20T00:30:00Z")
        );
        // Just after it: tomorrow's.
        assert_eq!(
            next_run(utc("2023-07-20T00:30:01Z"), tz, at),
            utc("2023-07-21T00:30:00Z")
        );
        // 23:00 UTC on the 19th is already the 20th in Shanghai (07:00 local).
        assert_eq!(
            next_run(utc("2023-07-19T23:00:00Z"), tz, at),
            utc("2023-07-20T00:30:00Z")
        );
        // A zone with daylight saving: 08:30 in Berlin is 06:30 UTC in summer and
        // 07:30 UTC in winter.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            next_run(utc("2023-07-20T12:00:00Z"), berlin, at),
            utc("2023-07-21T06:30:00Z")
        );
        assert_eq!(
            next_run(utc("2023-12-20T12:00:00Z"), berlin, at),
            utc("2023-12-21T07:30:00Z")
        );
    }
}
