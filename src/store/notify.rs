//! What notifications keep in the store: receivers, the outbox of deliveries still to
//! make, the delivery log, the catalogue's due rules, and the notifier's state
//! ([`NotifierState`]).
//!
//! The outbox is what makes a retry survive a restart: a delivery is written here
//! before its first attempt and removed when it succeeds or gives up. Neither the
//! outbox nor the log is part of the audit trail; they change no ETag.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Store, StoreError};
use crate::domain::{DueRule, EventKind, IndicatorId, Webhook};

/// Deliveries kept in the log per receiver; older ones are dropped.
pub const DELIVERY_LOG_LIMIT: usize = 500;

/// A delivery still to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub webhook: String,
    pub event: EventKind,
    /// The message's first line, for the log.
    pub title: String,
    /// The rendered body (JSON), sent as is on every attempt.
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver took it.
    Delivered,
    /// It failed; another attempt is scheduled.
    Retrying,
    /// It failed and will not be tried again.
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "retrying",
            DeliveryOutcome::Failed => "failed",
        }
    }
}

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The job's id: every attempt of one message shares it.
    pub id: u64,
    pub event: EventKind,
    pub title: String,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What went wrong (URLs redacted).
    pub error: Option<String>,
    pub duration_ms: u64,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The `meta` key of [`NotifierState`].
pub(super) const NOTIFIER_STATE_KEY: &[u8] = b"notifier";

/// What the notifier keeps between runs, so that a restart neither repeats nor loses
/// what happened while it was stopped. One value under `meta/notifier`: the cursor and
/// the alerts seen are always written together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierState {
    /// The audit sequence receivers have been told up to.
    pub cursor: Option<u64>,
    /// The alerts receivers were last told about: indicator → (severity, status).
    /// `None` while no receiver wants alert events (not tracking).
    pub seen: Option<BTreeMap<String, (String, String)>>,
    /// The local day of the last daily run (催报 notices and digests).
    pub remind_day: Option<NaiveDate>,
}

fn log_prefix(name: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.push(0);
    k
}

impl Store {
    // ── receivers ──────────────────────────────────────────────────────────

    /// Stores a new receiver. `false` when one of that name exists (nothing written).
    pub fn add_webhook(&self, w: &Webhook) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let v = codec::encode(w)?;
        Ok(self
            .inner
            .webhooks
            .compare_and_swap(w.name.as_bytes(), None as Option<&[u8]>, Some(v))?
            .is_ok())
    }

    pub fn webhook(&self, name: &str) -> Result<Option<Webhook>, StoreError> {
        self.inner
            .webhooks
            .get(name.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    pub fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.inner
            .webhooks
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Whether any receiver is registered (cheap: the notifier asks after every write).
    pub fn has_webhooks(&self) -> bool {
        !self.inner.webhooks.is_empty()
    }

    /// Removes a receiver, its pending deliveries and its log. `false` if unknown.
    pub fn remove_webhook(&self, name: &str) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        if i.webhooks.remove(name.as_bytes())?.is_none() {
            return Ok(false);
        }
        for job in self.outbox()? {
            if job.webhook == name {
                i.outbox.remove(job.id.to_be_bytes())?;
            }
        }
        for kv in i.deliveries.scan_prefix(log_prefix(name)) {
            i.deliveries.remove(kv?.0)?;
        }
        Ok(true)
    }

    // ── outbox and log ─────────────────────────────────────────────────────

    /// A new id for a job or a log entry, unique and increasing across restarts (its
    /// own counter: the database's would leave gaps in the audit sequence).
    pub fn next_job_id(&self) -> Result<u64, StoreError> {
        let v = self.inner.meta.update_and_fetch(b"notify_job_seq", |old| {
            let n = old
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        Ok(v.and_then(|b| b.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(1))
    }

    /// Writes (or rewrites) a job.
    pub fn put_job(&self, job: &Job) -> Result<(), StoreError> {
        self.inner
            .outbox
            .insert(job.id.to_be_bytes(), codec::encode(job)?)?;
        Ok(())
    }

    /// One job, if it is still pending.
    pub fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        self.inner
            .outbox
            .get(id.to_be_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    pub fn remove_job(&self, id: u64) -> Result<(), StoreError> {
        self.inner.outbox.remove(id.to_be_bytes())?;
        Ok(())
    }

    /// Every pending job, oldest first.
    pub fn outbox(&self) -> Result<Vec<Job>, StoreError> {
        self.inner
            .outbox
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Appends an attempt to a receiver's log, dropping the oldest beyond
    /// [`DELIVERY_LOG_LIMIT`].
    pub fn log_delivery(&self, webhook: &str, d: &Delivery) -> Result<(), StoreError> {
        let i = &self.inner;
        let seq = self.next_job_id()?;
        let mut k = log_prefix(webhook);
        k.extend_from_slice(&seq.to_be_bytes());
        i.deliveries.insert(k, codec::encode(d)?)?;
        let n = i.deliveries.scan_prefix(log_prefix(webhook)).count();
        if n > DELIVERY_LOG_LIMIT {
            let old: Vec<_> = i
                .deliveries
                .scan_prefix(log_prefix(webhook))
                .keys()
                .take(n - DELIVERY_LOG_LIMIT)
                .collect::<Result<_, _>>()?;
            for k in old {
                i.deliveries.remove(k)?;
            }
        }
        Ok(())
    }

    /// A receiver's latest attempts, newest first.
    pub fn deliveries(&self, webhook: &str, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.inner
            .deliveries
            .scan_prefix(log_prefix(webhook))
            .rev()
            .take(limit)
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    // ── due rules ──────────────────────────────────────────────────────────

    /// The catalogue's due rule for an indicator, when it overrides the default.
    pub fn due_rule(&self, id: &IndicatorId) -> Result<Option<DueRule>, StoreError> {
        self.inner
            .schedules
            .get(id.as_str().as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Sets (or, with `None`, clears) an indicator's due rule.
    pub fn set_due_rule(&self, id: &IndicatorId, rule: Option<DueRule>) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.set_due_rule_unlocked(id, rule)
    }

    /// [`Store::set_due_rule`] for a caller that already holds the write lock.
    pub(super) fn set_due_rule_unlocked(
        &self,
        id: &IndicatorId,
        rule: Option<DueRule>,
    ) -> Result<(), StoreError> {
        if self.due_rule(id)? == rule {
            return Ok(());
        }
        // Due rules are not audited, so the change sequence does not see them: answers
        // memoised by it (the overdue alerts) also key on this counter.
        self.inner.meta.update_and_fetch(b"due_version", |old| {
            let n = old
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        match rule {
            Some(r) => {
                self.inner
                    .schedules
                    .insert(id.as_str().as_bytes(), codec::encode(&r)?)?;
            }
            None => {
                self.inner.schedules.remove(id.as_str().as_bytes())?;
            }
        }
        Ok(())
    }

    /// A counter that moves with every change of a due rule.
    pub fn due_version(&self) -> Result<u64, StoreError> {
        Ok(self
            .inner
            .meta
            .get(b"due_version")?
            .and_then(|b| b.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// Every due rule the catalogue sets.
    pub fn due_rules(&self) -> Result<Vec<(IndicatorId, DueRule)>, StoreError> {
        self.inner
            .schedules
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let id = IndicatorId::parse(&String::from_utf8_lossy(&k))
                    .map_err(|e| StoreError::Codec(e.to_string()))?;
                Ok((id, codec::decode(&v)?))
            })
            .collect()
    }

    // ── the notifier's own state ───────────────────────────────────────────

    /// The notifier's state: [`NotifierState::default`] until it first writes one. A
    /// value that does not decode is an error, never taken for "nothing seen yet" (that
    /// would repeat or lose what receivers were told).
    pub fn notifier_state(&self) -> Result<NotifierState, StoreError> {
        self.inner
            .meta
            .get(NOTIFIER_STATE_KEY)?
            .map(|v| codec::decode(&v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Replaces the notifier's state: one value, so its parts change together.
    pub fn set_notifier_state(&self, st: &NotifierState) -> Result<(), StoreError> {
        self.inner
            .meta
            .insert(NOTIFIER_STATE_KEY, codec::encode(st)?)?;
        Ok(())
    }

    /// Changes part of the notifier's state atomically and returns the new state: `f`
    /// runs on the current state (again, if another writer changed it meanwhile, so
    /// keep it free of side effects). The notifier's change step and its daily run
    /// write different parts from different threads; a plain read then
    /// [`Store::set_notifier_state`] could undo the other's write.
    pub fn update_notifier_state(
        &self,
        mut f: impl FnMut(&mut NotifierState),
    ) -> Result<NotifierState, StoreError> {
        let meta = &self.inner.meta;
        loop {
            let old = meta.get(NOTIFIER_STATE_KEY)?;
            let mut st: NotifierState = match &old {
                Some(v) => codec::decode(v)?,
                None => NotifierState::default(),
            };
            f(&mut st);
            let new = codec::encode(&st)?;
            if meta
                .compare_and_swap(NOTIFIER_STATE_KEY, old, Some(new))?
                .is_ok()
            {
                return Ok(st);
            }
        }
    }
}
