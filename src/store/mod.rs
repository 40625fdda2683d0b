//! The sled store: indicators, targets, readings, and the audit trail of every change.
//!
//! # Durability
//!
//! sled guarantees only what has been flushed. Every write method here applies its
//! change in one serializable transaction (the value and its audit row together) and
//! returns; the caller then awaits [`Store::durable`] before acknowledging, which hands
//! the write to the group-commit thread ([`commit`]). Concurrent writers share flushes.
//!
//! # Threads
//!
//! sled calls block. Async callers run them on `spawn_blocking`; awaiting
//! `flush_async` on the runtime's workers has been seen to hang under load.
//!
//! The key layout is in [`keys`] and `docs/architecture.md`.

mod backup;
pub mod codec;
mod commit;
pub mod keys;
pub mod migrate;
mod notify;
mod tokens;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use sled::Tree;

use crate::catalogue::Catalogue;
use crate::domain::{
    Indicator, IndicatorId, Period, QualityNote, Reading, ReadingInput, Region, Target, UnitEntry,
    UnitRegistry,
};

pub use backup::{BackupCounts, CheckReport, BACKUP_VERSION};
pub use commit::GroupCommit;
pub use notify::{Delivery, DeliveryOutcome, Job, NotifierState, DELIVERY_LOG_LIMIT};
pub use tokens::{hash_secret, new_secret, Role, Token};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("the store at {path} is in use by another process (is `zhibiao serve` running?)")]
    Locked { path: String },
    #[error("stored value could not be read: {0}")]
    Codec(String),
    #[error("stored value has format version {found}; this build reads version {supported}")]
    UnsupportedFormat { found: u8, supported: u8 },
    #[error("unknown indicator '{0}'")]
    UnknownIndicator(IndicatorId),
    #[error("no reading of '{0}' for {1}")]
    UnknownReading(IndicatorId, Period),
    #[error("a token named '{0}' already exists")]
    TokenExists(String),
    #[error("the durability thread has stopped; the write was not acknowledged")]
    CommitStopped,
    #[error("catalogue: {0}")]
    Catalogue(String),
    #[error("backup: {0}")]
    Backup(String),
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Replaced,
    Unchanged,
}

impl Outcome {
    /// What a write that changed something did: replaced when there was a value before.
    fn of_write(existed: bool) -> Outcome {
        if existed {
            Outcome::Replaced
        } else {
            Outcome::Created
        }
    }
}

/// One change, as kept in the audit tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// The name of the token that made the change.
    pub actor: String,
    pub change: Change,
    pub reason: Option<String>,
    /// For a reading accepted despite failing quality checks: what they found and
    /// the submitter's explanation (强制上报说明).
    #[serde(default)]
    pub quality: Option<QualityNote>,
}

/// The old and new value of whatever changed. `None` on one side means created or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Reading {
        indicator: IndicatorId,
        period: Period,
        old: Option<Reading>,
        new: Option<Reading>,
    },
    Target {
        indicator: IndicatorId,
        year: u16,
        old: Option<Target>,
        new: Option<Target>,
    },
    Indicator {
        id: IndicatorId,
        old: Option<Box<Indicator>>,
        new: Option<Box<Indicator>>,
    },
    /// A region registered or changed. Audited like the rest, so that it moves the
    /// change counter: ranks and benchmark labels depend on regions.
    Region {
        name: String,
        old: Option<Region>,
        new: Option<Region>,
    },
}

/// A cheap handle to the store; clones share the same database.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    indicators: Tree,
    targets: Tree,
    readings: Tree,
    revisions: Tree,
    withdrawn: Tree,
    target_history: Tree,
    idempotency: Tree,
    by_period: Tree,
    audit: Tree,
    tokens: Tree,
    token_hashes: Tree,
    units: Tree,
    meta: Tree,
    /// Region name → [`Region`].
    regions: Tree,
    /// `code/id` → nothing: the indicators that measure one code, across regions.
    codes: Tree,
    /// Reading key → audit sequence (8 bytes) of the flagged revision: the current
    /// readings accepted with an explanation despite failing quality checks.
    flagged: Tree,
    webhooks: Tree,
    outbox: Tree,
    deliveries: Tree,
    schedules: Tree,
    commit: GroupCommit,
    /// Writers share it; a backup takes it alone, so the snapshot is one point in time.
    snapshot_lock: std::sync::RwLock<()>,
    /// Reading writes take turns (see [`Store::put_readings`]).
    reading_writer: std::sync::Mutex<()>,
    /// Values derived from the whole store (boards, alert lists), valid while the
    /// change sequence they were computed at is current. See [`Store::memo`].
    memo: std::sync::Mutex<Memo>,
}

/// Derived values, keyed by name, for one change sequence, with their approximate
/// sizes in bytes.
#[derive(Default)]
struct Memo {
    seq: u64,
    bytes: usize,
    entries: std::collections::HashMap<String, (Arc<dyn std::any::Any + Send + Sync>, usize)>,
}

/// The approximate heap size of a memoised value, so that the memo stays within
/// [`MEMO_MAX_BYTES`] whatever the catalogue's size: a province's board or rendered
/// catalogue runs to tens of megabytes, a county's to a few hundred kilobytes.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("seq", &self.seq)
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// How many derived values are kept for one change sequence.
const MEMO_CAPACITY: usize = 64;

/// How many bytes of derived values are kept; a value larger than this is computed
/// for its request and not kept.
pub const MEMO_MAX_BYTES: usize = 256 * 1024 * 1024;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

fn enc<T: Serialize>(v: &T) -> TxResult<Vec<u8>> {
    codec::encode(v).map_err(ConflictableTransactionError::Abort)
}

fn dec<T: serde::de::DeserializeOwned>(b: &[u8]) -> TxResult<T> {
    codec::decode(b).map_err(ConflictableTransactionError::Abort)
}

impl Store {
    /// Opens (or creates) the store at `path`. `cache_bytes` bounds sled's page cache.
    ///
    /// Before sled sees the directory, any `snap.*.generating` file is removed. sled
    /// writes its snapshot under that name and renames it when complete, so such a file
    /// is always an interrupted write; but sled 0.34.7 still reads it on open and then
    /// refuses to start ("Read corrupted data"), as when a process is killed while
    /// opening a store (upstream #1527, #1533; reproduced by `tests/crash.rs`). The
    /// snapshot only speeds up recovery: without it, sled rebuilds from its log.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        remove_torn_snapshots(path)?;
        // sled releases its file lock when the last of its threads lets go of the
        // database, which can be a moment after the previous handle in this process
        // was dropped. Retry briefly before calling the store busy; another process
        // holding it still gets the error, a second later.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let opened = sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .open();
            match opened {
                Ok(db) => return Store::from_db(db, Some(path)),
                Err(sled::Error::Io(ref io)) if io.to_string().contains("lock") => {
                    if std::time::Instant::now() >= deadline {
                        return Err(StoreError::Locked {
                            path: path.display().to_string(),
                        });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(other) => return Err(StoreError::Sled(other)),
            }
        }
    }

    /// A throwaway in-memory store, for tests and examples.
    pub fn temporary() -> Result<Store, StoreError> {
        Store::from_db(sled::Config::new().temporary(true).open()?, None)
    }

    /// Wraps an open database and brings its format up to date ([`migrate::on_open`]:
    /// an older store at `path` is backed up beside it, then upgraded).
    fn from_db(db: sled::Db, path: Option<&Path>) -> Result<Store, StoreError> {
        let t = |name: &str| db.open_tree(name);
        let inner = Inner {
            indicators: t("indicators")?,
            targets: t("targets")?,
            readings: t("readings")?,
            revisions: t("revisions")?,
            withdrawn: t("withdrawn")?,
            target_history: t("target_history")?,
            idempotency: t("idempotency")?,
            by_period: t("by_period")?,
            audit: t("audit")?,
            tokens: t("tokens")?,
            token_hashes: t("token_hashes")?,
            units: t("units")?,
            meta: t("meta")?,
            regions: t("regions")?,
            codes: t("codes")?,
            flagged: t("flagged")?,
            webhooks: t("webhooks")?,
            outbox: t("outbox")?,
            deliveries: t("deliveries")?,
            schedules: t("schedules")?,
            commit: GroupCommit::start(db.clone()),
            snapshot_lock: std::sync::RwLock::new(()),
            reading_writer: std::sync::Mutex::new(()),
            memo: std::sync::Mutex::new(Memo::default()),
            db,
        };
        let store = Store {
            inner: Arc::new(inner),
        };
        migrate::on_open(&store, path)?;
        Ok(store)
    }

    /// Held by every write, so that a backup (which takes the lock alone) never sees
    /// half of one.
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.inner
            .snapshot_lock
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until every write applied before this call is on disk.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.inner.commit.wait().await
    }

    /// Flushes synchronously, for the CLI and shutdown.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Whether the catalogue has been loaded into this store once.
    pub fn is_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.inner.meta.contains_key(b"seeded")?)
    }

    /// A value derived from the whole store, computed once per change sequence: any
    /// accepted write invalidates every entry. Dashboards polling the same `as_of`
    /// therefore cost one evaluation per write, not one per request.
    ///
    /// The sequence is read before computing, so a write that lands meanwhile leaves
    /// the entry tagged with the older sequence, and the next call recomputes it.
    /// The memo holds at most [`MEMO_CAPACITY`] entries and [`MEMO_MAX_BYTES`] bytes
    /// (by [`Weigh`]); when full it starts afresh.
    pub fn memo<T, E, F>(&self, key: &str, compute: F) -> Result<Arc<T>, E>
    where
        T: std::any::Any + Send + Sync + Weigh,
        E: From<StoreError>,
        F: FnOnce() -> Result<T, E>,
    {
        let seq = self.change_seq()?;
        if let Some(v) = self.memo_at(seq, key) {
            return Ok(v);
        }
        let value = Arc::new(compute()?);
        let weight = value.weight();
        if weight > MEMO_MAX_BYTES {
            return Ok(value);
        }
        let mut m = self.inner.memo.lock().unwrap_or_else(|e| e.into_inner());
        if m.seq != seq || m.entries.len() >= MEMO_CAPACITY || m.bytes + weight > MEMO_MAX_BYTES {
            m.entries.clear();
            m.bytes = 0;
            m.seq = seq;
        }
        if let Some((_, old)) = m.entries.insert(key.to_string(), (value.clone(), weight)) {
            m.bytes -= old;
        }
        m.bytes += weight;
        Ok(value)
    }

    /// The value memoised under `key` at change sequence `seq`, if that is the
    /// memo's sequence. Never computes: cheap enough for a request's async path, which
    /// has already read the sequence for its ETag.
    pub fn memo_at<T: std::any::Any + Send + Sync>(&self, seq: u64, key: &str) -> Option<Arc<T>> {
        let m = self.inner.memo.lock().unwrap_or_else(|e| e.into_inner());
        if m.seq != seq {
            return None;
        }
        m.entries
            .get(key)
            .and_then(|(v, _)| v.clone().downcast::<T>().ok())
    }

    /// The region and document of the last catalogue loaded, if any.
    pub fn catalogue_title(&self) -> Result<Option<CatalogueTitle>, StoreError> {
        self.inner
            .meta
            .get(b"catalogue")?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// A number that changes with every accepted write: the sequence of the latest
    /// audit row. Used for ETags.
    pub fn change_seq(&self) -> Result<u64, StoreError> {
        Ok(match self.inner.audit.last()? {
            Some((k, _)) => u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8])),
            None => 0,
        })
    }

    // ── indicators and targets ─────────────────────────────────────────────

    pub fn indicator(&self, id: &IndicatorId) -> Result<Option<Indicator>, StoreError> {
        self.inner
            .indicators
            .get(keys::indicator(id))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every indicator, in battle order then id order.
    pub fn indicators(&self) -> Result<Vec<Indicator>, StoreError> {
        let mut out = self
            .inner
            .indicators
            .iter()
            .map(|kv| codec::decode::<Indicator>(&kv?.1))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.battle, &a.id).cmp(&(b.battle, &b.id)));
        Ok(out)
    }

    pub fn target(&self, id: &IndicatorId, year: u16) -> Result<Option<Target>, StoreError> {
        self.inner
            .targets
            .get(keys::target(id, year))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every target of one indicator, by year.
    pub fn targets(&self, id: &IndicatorId) -> Result<Vec<Target>, StoreError> {
        self.inner
            .targets
            .scan_prefix(keys::series_prefix(id))
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// The latest year that holds any target, for the default `as_of` of an empty store.
    pub fn latest_target_year(&self) -> Result<Option<u16>, StoreError> {
        let mut best = None;
        for kv in self.inner.targets.iter() {
            let (k, _) = kv?;
            let n = k.len();
            if n >= 3 {
                let y = u16::from_be_bytes([k[n - 2], k[n - 1]]);
                best = best.max(Some(y));
            }
        }
        Ok(best)
    }

    /// The unit registry.
    pub fn units(&self) -> Result<UnitRegistry, StoreError> {
        let entries = self
            .inner
            .units
            .iter()
            .map(|kv| codec::decode::<UnitEntry>(&kv?.1))
            .collect::<Result<Vec<_>, _>>()?;
        UnitRegistry::new(entries).map_err(|e| StoreError::Catalogue(e.to_string()))
    }

    /// Creates or replaces an indicator definition, audited.
    pub fn put_indicator(
        &self,
        ind: &Indicator,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.indicators, &i.audit, &i.codes)
            .transaction(|(indicators, audit, codes)| {
                let r = put_indicator_tx(indicators, audit, codes, ind, actor, now)?;
                Ok(r)
            })
            .map_err(tx_err)
    }

    /// Sets one year's target of an existing indicator, audited.
    pub fn put_target(
        &self,
        id: &IndicatorId,
        target: &Target,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.indicators, &i.targets, &i.target_history, &i.audit)
            .transaction(|(indicators, targets, history, audit)| {
                if indicators.get(keys::indicator(id))?.is_none() {
                    return abort(StoreError::UnknownIndicator(id.clone()));
                }
                put_target_tx(targets, history, audit, id, target, actor, now)
            })
            .map_err(tx_err)
    }

    /// Loads a catalogue: its units, indicators and targets. Entries equal to what is
    /// stored are left alone; others are created or replaced, each with an audit row.
    /// All of it lands in one transaction.
    pub fn import_catalogue(
        &self,
        cat: &Catalogue,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        let title = CatalogueTitle {
            region: cat.region.clone(),
            document: cat.document.clone(),
            year: cat.year,
        };
        let unit_rows = cat
            .units
            .entries()
            .iter()
            .map(|u| Ok((u.name.clone(), codec::encode(u)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        (
            &i.indicators,
            &i.targets,
            &i.target_history,
            &i.audit,
            &i.units,
            &i.meta,
            &i.regions,
            &i.codes,
        )
            .transaction(
                |(indicators, targets, history, audit, units, meta, regions, codes)| {
                    let mut report = ImportReport::default();
                    for (name, bytes) in &unit_rows {
                        units.insert(name.as_bytes(), bytes.clone())?;
                    }
                    for r in &cat.regions {
                        put_region_tx(regions, audit, r, actor, now)?;
                    }
                    for (ind, target) in &cat.entries {
                        match put_indicator_tx(indicators, audit, codes, ind, actor, now)? {
                            Outcome::Created => report.indicators_created += 1,
                            Outcome::Replaced => report.indicators_replaced += 1,
                            Outcome::Unchanged => report.indicators_unchanged += 1,
                        }
                        if let Some(t) = target {
                            match put_target_tx(targets, history, audit, &ind.id, t, actor, now)? {
                                Outcome::Unchanged => {}
                                _ => report.targets_written += 1,
                            }
                        }
                    }
                    meta.insert(b"seeded", &[1u8])?;
                    meta.insert(b"catalogue", enc(&title)?)?;
                    Ok(report)
                },
            )
            .map_err(tx_err)
            .and_then(|report| {
                // Due rules are settings beside the indicators, not audited history: the
                // catalogue's word replaces what was set for its indicators.
                for (ind, _) in &cat.entries {
                    let rule = cat.due_rules.get(&ind.id).copied();
                    if self.due_rule(&ind.id)? != rule {
                        self.set_due_rule_unlocked(&ind.id, rule)?;
                    }
                }
                Ok(report)
            })
    }

    // ── regions ────────────────────────────────────────────────────────────

    /// The region of the catalogue loaded into this store (the home region), or an
    /// empty string before any catalogue.
    pub fn home_region(&self) -> Result<String, StoreError> {
        Ok(self
            .catalogue_title()?
            .map(|t| t.region)
            .unwrap_or_default())
    }

    pub fn region(&self, name: &str) -> Result<Option<Region>, StoreError> {
        self.inner
            .regions
            .get(name.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every region, by name.
    pub fn regions(&self) -> Result<Vec<Region>, StoreError> {
        self.inner
            .regions
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Creates or replaces a region, audited. Returns what the write did.
    pub fn put_region(
        &self,
        region: &Region,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.regions, &i.audit)
            .transaction(|(regions, audit)| put_region_tx(regions, audit, region, actor, now))
            .map_err(tx_err)
    }

    /// The ids of the indicators that measure `code`, in every region, in id order:
    /// one key scan, no indicator decoded.
    pub fn ids_with_code(&self, code: &str) -> Result<Vec<IndicatorId>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.codes.scan_prefix(keys::code_prefix(code)) {
            let (k, _) = kv?;
            out.extend(keys::id_of_code_key(&k));
        }
        Ok(out)
    }

    /// The indicators that measure `code`, in every region, by id.
    pub fn indicators_with_code(&self, code: &str) -> Result<Vec<Indicator>, StoreError> {
        let mut out = Vec::new();
        for id in self.ids_with_code(code)? {
            out.extend(self.indicator(&id)?);
        }
        Ok(out)
    }

    /// The flagged readings (accepted despite failing quality checks, with an
    /// explanation): each with the audit row of its flagged revision.
    pub fn flagged(&self) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.inner.flagged.iter() {
            let (_, v) = kv?;
            let seq = u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Codec("a flag is not 8 bytes".into()))?,
            );
            if let Some(rec) = self.inner.audit.get(keys::audit(seq))? {
                out.push((seq, codec::decode(&rec)?));
            }
        }
        Ok(out)
    }

    // ── readings ───────────────────────────────────────────────────────────

    /// Records a reading. Unchanged values write nothing; anything else writes the
    /// reading, its revision index entry and its audit row in one transaction.
    pub fn put_reading(
        &self,
        id: &IndicatorId,
        period: Period,
        input: &ReadingInput,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Reading), StoreError> {
        let rows = [BatchRow {
            indicator: id.clone(),
            period,
            input: input.clone(),
            quality: None,
        }];
        let (mut out, _) = self.put_readings(&rows, actor, now, None)?;
        Ok(out.remove(0))
    }

    /// Records many readings in ONE transaction: all of them land, or none do.
    ///
    /// With `idempotency = Some((key, answer))`, the answer is stored under the key in
    /// the same transaction, so a retry can be answered without writing twice. If the
    /// key is already taken, nothing is written and the stored answer is returned.
    pub fn put_readings(
        &self,
        rows: &[BatchRow],
        actor: &str,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<BatchResult, StoreError> {
        let _writing = self.writing();
        // One reading transaction at a time. Concurrent sled transactions over the
        // same trees contend on sled's concurrency control and retry each other;
        // queueing them here measured faster under 64 concurrent writers
        // (docs/performance.md). Durability is still shared: writers wait for the
        // group commit after this lock is released.
        let _turn = self
            .inner
            .reading_writer
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let i = &self.inner;
        (
            &i.indicators,
            &i.readings,
            &i.revisions,
            &i.by_period,
            &i.audit,
            &i.withdrawn,
            &i.idempotency,
            &i.flagged,
        )
            .transaction(
                |(indicators, readings, revisions, by_period, audit, withdrawn, idem, flagged)| {
                    if let Some((key, _)) = idempotency {
                        if let Some(stored) = idem.get(key)? {
                            return Ok((Vec::new(), Some(stored.to_vec())));
                        }
                    }
                    let trees = ReadingTrees {
                        indicators,
                        readings,
                        revisions,
                        by_period,
                        audit,
                        withdrawn,
                        flagged,
                    };
                    let mut out = Vec::with_capacity(rows.len());
                    // Each indicator is checked once per batch, not once per row.
                    let mut known = std::collections::HashSet::new();
                    for r in rows {
                        if known.insert(&r.indicator)
                            && trees
                                .indicators
                                .get(keys::indicator(&r.indicator))?
                                .is_none()
                        {
                            return abort(StoreError::UnknownIndicator(r.indicator.clone()));
                        }
                        out.push(put_reading_tx(&trees, r, actor, now)?);
                    }
                    if let Some((key, answer)) = idempotency {
                        idem.insert(key, answer(&out))?;
                    }
                    Ok((out, None))
                },
            )
            .map_err(tx_err)
    }

    /// The answer stored under an idempotency key, if any.
    pub fn idempotent_answer(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.idempotency.get(key)?.map(|v| v.to_vec()))
    }

    /// Withdraws a reading (sent to the wrong period or indicator). The history keeps
    /// it: a tombstone revision records who, when and why.
    pub fn withdraw_reading(
        &self,
        id: &IndicatorId,
        period: Period,
        actor: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Reading, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        let rkey = keys::reading(id, period);
        (
            &i.readings,
            &i.revisions,
            &i.by_period,
            &i.audit,
            &i.withdrawn,
            &i.flagged,
        )
            .transaction(
                |(readings, revisions, by_period, audit, withdrawn, flagged)| {
                    let Some(old) = readings.get(&rkey)? else {
                        return abort(StoreError::UnknownReading(id.clone(), period));
                    };
                    let old: Reading = dec(&old)?;
                    readings.remove(rkey.as_slice())?;
                    flagged.remove(rkey.as_slice())?;
                    withdrawn.insert(rkey.as_slice(), enc(&old.revision)?)?;
                    by_period.remove(keys::by_period(period, id))?;
                    let seq = audit_tx(
                        audit,
                        actor,
                        now,
                        (reason.clone(), None),
                        Change::Reading {
                            indicator: id.clone(),
                            period,
                            old: Some(old.clone()),
                            new: None,
                        },
                    )?;
                    revisions.insert(keys::revision(id, period, seq), &[])?;
                    Ok(old)
                },
            )
            .map_err(tx_err)
    }

    pub fn reading(&self, id: &IndicatorId, period: Period) -> Result<Option<Reading>, StoreError> {
        self.inner
            .readings
            .get(keys::reading(id, period))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// One indicator's current readings from `from` to `to` (inclusive), in period order.
    pub fn readings(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        let prefix = keys::series_prefix(id);
        let start = from.map_or_else(|| prefix.clone(), |p| keys::reading(id, p));
        let mut end = to.map_or_else(
            || {
                let mut e = prefix.clone();
                e.push(0xff);
                e
            },
            |p| keys::reading(id, p),
        );
        end.push(0xff);
        let mut out = Vec::new();
        for kv in self.inner.readings.range(start..end) {
            let (k, v) = kv?;
            if let Some(p) = keys::period_of_reading_key(&k) {
                out.push((p, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// The values of one indicator's readings in one year, for the engine.
    pub fn year_values(
        &self,
        id: &IndicatorId,
        year: u16,
    ) -> Result<Vec<(Period, f64)>, StoreError> {
        let from = Period::new(year, 1).ok();
        let to = Period::new(year, 12).ok();
        Ok(self
            .readings(id, from, to)?
            .into_iter()
            .map(|(p, r)| (p, r.value))
            .collect())
    }

    /// The latest period that holds any reading: the default `as_of`.
    pub fn latest_period(&self) -> Result<Option<Period>, StoreError> {
        Ok(match self.inner.by_period.last()? {
            Some((k, _)) => keys::period_of_by_period_key(&k),
            None => None,
        })
    }

    /// The audit rows of one reading, oldest first, with their sequence numbers.
    pub fn revisions(
        &self,
        id: &IndicatorId,
        period: Period,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        self.indexed_audit(&self.inner.revisions, keys::reading(id, period))
    }

    /// The audit rows that an index (`revisions` or `target_history`, whose keys end in
    /// an audit sequence number) points at under `prefix`, in key order.
    fn indexed_audit(
        &self,
        index: &Tree,
        prefix: Vec<u8>,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let mut out = Vec::new();
        for kv in index.scan_prefix(prefix) {
            let (k, _) = kv?;
            let Some(seq) = keys::seq_of_revision_key(&k) else {
                continue;
            };
            if let Some(v) = self.inner.audit.get(keys::audit(seq))? {
                out.push((seq, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// The whole audit trail, oldest first.
    pub fn audit_log(&self) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        self.inner
            .audit
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
                Ok((seq, codec::decode(&v)?))
            })
            .collect()
    }

    // ── vintages ───────────────────────────────────────────────────────────

    /// One indicator's readings as the store stood at `at`, from `from` to `to`: for
    /// each period, the value of its last change made at or before `at` (withdrawn
    /// readings are absent). Built from the audit trail, the way ALFRED serves vintages.
    pub fn readings_as_known_at(
        &self,
        id: &IndicatorId,
        from: Option<Period>,
        to: Option<Period>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(Period, Reading)>, StoreError> {
        let mut latest: std::collections::BTreeMap<Period, Option<Reading>> = Default::default();
        for (_, rec) in self.indexed_audit(&self.inner.revisions, keys::series_prefix(id))? {
            if rec.at > at {
                continue;
            }
            if let Change::Reading { period, new, .. } = rec.change {
                if from.is_none_or(|f| period >= f) && to.is_none_or(|t| period <= t) {
                    // Keys are in period then sequence order: the last one seen wins.
                    latest.insert(period, new);
                }
            }
        }
        Ok(latest
            .into_iter()
            .filter_map(|(p, r)| r.map(|r| (p, r)))
            .collect())
    }

    /// One year's target as it stood at `at`.
    pub fn target_as_known_at(
        &self,
        id: &IndicatorId,
        year: u16,
        at: DateTime<Utc>,
    ) -> Result<Option<Target>, StoreError> {
        let mut out = None;
        for (_, rec) in self.indexed_audit(&self.inner.target_history, keys::target(id, year))? {
            if rec.at <= at {
                if let Change::Target { new, .. } = rec.change {
                    out = new;
                }
            }
        }
        Ok(out)
    }

    // ── tokens ─────────────────────────────────────────────────────────────

    /// The token whose secret hashes to `hash`, if any.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
        let Some(name) = self.inner.token_hashes.get(hash)? else {
            return Ok(None);
        };
        let Some(tok) = self.inner.tokens.get(&name)? else {
            return Ok(None);
        };
        let tok: Token = codec::decode(&tok)?;
        // The hash index is only a lookup: confirm against the token itself.
        Ok(tok.matches_hash(hash).then_some(tok))
    }

    pub fn token(&self, name: &str) -> Result<Option<Token>, StoreError> {
        self.inner
            .tokens
            .get(name.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every token, by name (hashes included; callers must not show them).
    pub fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.inner
            .tokens
            .iter()
            .map(|kv| codec::decode(&kv?.1))
            .collect()
    }

    /// Revokes a token. Returns it, or `None` when no token has that name.
    pub fn revoke_token(&self, name: &str) -> Result<Option<Token>, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.tokens, &i.token_hashes)
            .transaction(|(tokens, hashes)| {
                let Some(old) = tokens.remove(name.as_bytes())? else {
                    return Ok(None);
                };
                let old: Token = dec(&old)?;
                hashes.remove(old.hash_bytes().as_slice())?;
                Ok(Some(old))
            })
            .map_err(tx_err)
    }

    /// Stores a token, replacing one of the same name when `replace` is set.
    pub fn put_token(&self, token: &Token, replace: bool) -> Result<(), StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.tokens, &i.token_hashes)
            .transaction(|(tokens, hashes)| {
                if let Some(old) = tokens.get(token.name.as_bytes())? {
                    if !replace {
                        return abort(StoreError::TokenExists(token.name.clone()));
                    }
                    let old: Token = dec(&old)?;
                    hashes.remove(old.hash_bytes().as_slice())?;
                }
                tokens.insert(token.name.as_bytes(), enc(token)?)?;
                hashes.insert(token.hash_bytes().as_slice(), token.name.as_bytes())?;
                Ok(())
            })
            .map_err(tx_err)
    }
}

/// Which plan the store tracks: the region and document of the last catalogue loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueTitle {
    pub region: String,
    pub document: String,
    pub year: u16,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub indicators_created: usize,
    pub indicators_replaced: usize,
    pub indicators_unchanged: usize,
    pub targets_written: usize,
}

/// Removes interrupted sled snapshot files (`snap.*.generating`); see [`Store::open`].
fn remove_torn_snapshots(path: &Path) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::Sled(sled::Error::Io(e))),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(
                file = %entry.path().display(),
                "removing an interrupted snapshot file left by a crash; sled recovers from its log"
            );
            std::fs::remove_file(entry.path()).map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        }
    }
    Ok(())
}

/// What each row of a batch did, in order.
pub type RowOutcomes = Vec<(Outcome, Reading)>;

/// The rows' outcomes, or, when the idempotency key was already taken, the answer
/// stored under it (and nothing written).
pub type BatchResult = (RowOutcomes, Option<Vec<u8>>);

/// An idempotency key and the function that renders the answer to store under it.
pub type Idempotency<'a> = (&'a [u8], &'a dyn Fn(&[(Outcome, Reading)]) -> Vec<u8>);

/// One row of a batch, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub indicator: IndicatorId,
    pub period: Period,
    pub input: ReadingInput,
    /// Set when the row failed quality checks and was submitted with an explanation:
    /// the reading is stored and flagged.
    pub quality: Option<QualityNote>,
}

struct ReadingTrees<'a> {
    indicators: &'a TransactionalTree,
    readings: &'a TransactionalTree,
    revisions: &'a TransactionalTree,
    by_period: &'a TransactionalTree,
    audit: &'a TransactionalTree,
    withdrawn: &'a TransactionalTree,
    flagged: &'a TransactionalTree,
}

fn put_reading_tx(
    t: &ReadingTrees<'_>,
    row: &BatchRow,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<(Outcome, Reading)> {
    let (id, period, input) = (&row.indicator, row.period, &row.input);
    let rkey = keys::reading(id, period);
    let old: Option<Reading> = t.readings.get(&rkey)?.map(|v| dec(&v)).transpose()?;
    if let Some(old) = &old {
        if old.same_as(input) {
            return Ok((Outcome::Unchanged, old.clone()));
        }
    }
    // After a withdrawal, numbering goes on from the withdrawn revision.
    // A reading that exists was not withdrawn since; only a new one needs the look
    // (a read is cheaper than a remove, which writes even when there is nothing).
    let last_withdrawn: u32 = match &old {
        Some(_) => 0,
        None => match t.withdrawn.get(&rkey)? {
            Some(v) => {
                t.withdrawn.remove(rkey.as_slice())?;
                dec(&v)?
            }
            None => 0,
        },
    };
    let new = Reading {
        value: input.value,
        status: input.status,
        note: input.note.clone(),
        form: input.form,
        recorded_at: now,
        recorded_by: actor.to_string(),
        revision: old.as_ref().map_or(last_withdrawn, |o| o.revision) + 1,
    };
    t.readings.insert(rkey.as_slice(), enc(&new)?)?;
    if old.is_none() {
        // A reading that exists is already indexed.
        t.by_period.insert(keys::by_period(period, id), &[])?;
    }
    let seq = audit_tx(
        t.audit,
        actor,
        now,
        (None, row.quality.clone()),
        Change::Reading {
            indicator: id.clone(),
            period,
            old: old.clone(),
            new: Some(new.clone()),
        },
    )?;
    t.revisions.insert(keys::revision(id, period, seq), &[])?;
    // A revision that passes the checks clears the flag of the one before.
    if row.quality.is_some() {
        t.flagged.insert(rkey.as_slice(), &keys::audit(seq))?;
    } else if old.is_some() {
        t.flagged.remove(rkey.as_slice())?;
    }
    let outcome = Outcome::of_write(old.is_some());
    Ok((outcome, new))
}

/// Writes one audit row; `notes` are its reason and quality note.
fn audit_tx(
    audit: &TransactionalTree,
    actor: &str,
    now: DateTime<Utc>,
    notes: (Option<String>, Option<QualityNote>),
    change: Change,
) -> TxResult<u64> {
    let (reason, quality) = notes;
    // generate_id is monotonic across restarts, so audit keys sort in commit order.
    // It must be the transactional one: Db::generate_id inside a transaction deadlocks.
    let seq = audit.generate_id()?;
    let rec = AuditRecord {
        at: now,
        actor: actor.to_string(),
        change,
        reason,
        quality,
    };
    audit.insert(&keys::audit(seq), enc(&rec)?)?;
    Ok(seq)
}

fn put_indicator_tx(
    indicators: &TransactionalTree,
    audit: &TransactionalTree,
    codes: &TransactionalTree,
    ind: &Indicator,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<Outcome> {
    let key = keys::indicator(&ind.id);
    let old: Option<Indicator> = indicators.get(&key)?.map(|v| dec(&v)).transpose()?;
    if old.as_ref() == Some(ind) {
        return Ok(Outcome::Unchanged);
    }
    indicators.insert(key, enc(ind)?)?;
    if let Some(o) = &old {
        codes.remove(keys::code(&o.code, &o.id))?;
    }
    codes.insert(keys::code(&ind.code, &ind.id), &[])?;
    let outcome = Outcome::of_write(old.is_some());
    audit_tx(
        audit,
        actor,
        now,
        (None, None),
        Change::Indicator {
            id: ind.id.clone(),
            old: old.map(Box::new),
            new: Some(Box::new(ind.clone())),
        },
    )?;
    Ok(outcome)
}

fn put_region_tx(
    regions: &TransactionalTree,
    audit: &TransactionalTree,
    region: &Region,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<Outcome> {
    let old: Option<Region> = regions
        .get(region.name.as_bytes())?
        .map(|v| dec(&v))
        .transpose()?;
    if old.as_ref() == Some(region) {
        return Ok(Outcome::Unchanged);
    }
    regions.insert(region.name.as_bytes(), enc(region)?)?;
    let outcome = Outcome::of_write(old.is_some());
    audit_tx(
        audit,
        actor,
        now,
        (None, None),
        Change::Region {
            name: region.name.clone(),
            old,
            new: Some(region.clone()),
        },
    )?;
    Ok(outcome)
}

fn put_target_tx(
    targets: &TransactionalTree,
    history: &TransactionalTree,
    audit: &TransactionalTree,
    id: &IndicatorId,
    target: &Target,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<Outcome> {
    let key = keys::target(id, target.year);
    let old: Option<Target> = targets.get(&key)?.map(|v| dec(&v)).transpose()?;
    if old.as_ref() == Some(target) {
        return Ok(Outcome::Unchanged);
    }
    targets.insert(key, enc(target)?)?;
    let outcome = Outcome::of_write(old.is_some());
    let seq = audit_tx(
        audit,
        actor,
        now,
        (None, None),
        Change::Target {
            indicator: id.clone(),
            year: target.year,
            old,
            new: Some(target.clone()),
        },
    )?;
    history.insert(keys::target_history(id, target.year, seq), &[])?;
    Ok(outcome)
}
