//! The sled store: indicators, targets, readings, and the audit trail of every change.
//!
//! This module holds the [`Store`] handle, opening it, its error type and the plumbing
//! its transactions share. The rest is split by what it keeps:
//!
//! - `indicators.rs`: indicators and targets, units, regions and their bulletin
//!   settings, the code index, catalogue import;
//! - `readings.rs`: readings, their withdrawals, vintages, the period index, flags;
//! - `audit.rs`: the audit trail ([`AuditRecord`], [`Change`]) and its reads;
//! - `tokens.rs`: API tokens;
//! - `sessions.rs`: browser sessions of the 登录 page (not backed up);
//! - `notify.rs`: webhook receivers, the outbox, the delivery log, due rules and the
//!   notifier's cursors;
//! - `backup.rs`, `migrate.rs`: backups and format migrations; `codec.rs`, `keys.rs`,
//!   `commit.rs`: how values and keys are written and flushed.
//!
//! # Durability
//!
//! sled guarantees only what has been flushed. Every write method here applies its
//! change in one serializable transaction (the value and its audit row together) and
//! returns; the caller then awaits [`Store::durable`] before acknowledging, which waits
//! for the writer thread's next sync ([`writer`]). Writes of readings go to that thread
//! itself ([`Store::write`]): it applies every write queued in one transaction and one
//! sync, and answers each once it is on disk.
//!
//! # Threads
//!
//! sled calls block. Async callers run them on `spawn_blocking`; awaiting
//! `flush_async` on the runtime's workers has been seen to hang under load.
//!
//! The key layout is in [`keys`] and `docs/architecture.md`.

mod audit;
mod backup;
mod check;
pub mod codec;
mod commit;
mod indicators;
pub mod keys;
pub mod migrate;
mod notify;
mod people;
mod readings;
mod release;
mod sessions;
mod tokens;
mod writer;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Tree;

use crate::domain::{IndicatorId, Period};

pub use audit::{AuditRecord, Change};
pub use backup::{
    BackupCounts, BackupKey, Restored, Verified, BACKUP_VERSION, MIN_BACKUP_KEY_BYTES,
};
pub use check::CheckReport;
pub use indicators::{CatalogueTitle, ImportReport};
pub use notify::{Delivery, DeliveryOutcome, Job, NotifierState, DELIVERY_LOG_LIMIT};
pub use people::{AccessAction, AccessEvent, User};
pub use readings::{BatchResult, BatchRow, Idempotency, NoteRow, RowOutcomes};
pub use release::{PeriodRelease, Review, Verdict};
pub use sessions::SessionRecord;
pub use tokens::{hash_secret, new_secret, Role, Token};
pub use writer::{AnswerFn, Applied, Basis, ReadingWrite, Recheck, Revet, SeriesRead};

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
    #[error("unknown region '{0}'")]
    UnknownRegion(String),
    #[error("no reading of '{0}' for {1}")]
    UnknownReading(IndicatorId, Period),
    /// A write that expected a reading at a revision found another: what it was
    /// confirmed against has changed.
    #[error("the reading of '{0}' for {1} changed since it was previewed")]
    Stale(IndicatorId, Period),
    #[error("a token named '{0}' already exists")]
    TokenExists(String),
    #[error("a user named '{0}' already exists")]
    UserExists(String),
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

/// A cheap handle to the store; clones share the same database.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    /// What [`Store::flush`] and the group commit sync after sled's flush.
    disk: std::sync::Arc<commit::Disk>,
    indicators: Tree,
    targets: Tree,
    readings: Tree,
    revisions: Tree,
    withdrawn: Tree,
    target_history: Tree,
    idempotency: Tree,
    /// `region 0 year month` → raw `u32`: how many current readings the region's
    /// indicators have in that period (the latest period of a region and year).
    periods: Tree,
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
    plans: Tree,
    /// Region name → [`crate::domain::RegionSettings`]: how its bulletins are issued.
    region_settings: Tree,
    /// SHA-256 of a session id → [`SessionRecord`]: signed-in browsers. Ephemeral,
    /// so never backed up, restored, migrated or checked.
    sessions: Tree,
    /// `region 0 year month` → [`PeriodRelease`]: each month's 审核 and 发布.
    releases: Tree,
    /// `name` → [`User`]: people who sign in with a password.
    users: Tree,
    /// `seq:u64` → [`AccessEvent`]: who signed in, downloaded, reviewed, released.
    access_log: Tree,
    /// Counts writes to `releases` in this process: what the public may see is kept
    /// per change sequence and this count.
    release_version: std::sync::atomic::AtomicU64,
    /// The one writer of readings, and the group commit of every write
    /// ([`writer`]).
    writer: writer::Writer,
    /// The generation of reading changes, per indicator ([`writer`]).
    generations: Arc<writer::Generations>,
    /// What every write passes through: the backup's lock, the order of commits, and
    /// the change counter ([`Gate`]).
    gate: Arc<Gate>,
}

/// What every write holds while it commits, and what it leaves behind.
///
/// - A backup takes the snapshot lock alone, so the snapshot is one point in time;
///   writes share it.
/// - Writes commit one at a time (`order`), so audit sequence numbers are committed in
///   the order they are taken. The change counter is the last of them, and a write
///   committed under a lower number after a higher one would otherwise never move it.
/// - The change counter ([`Store::change_seq`]) is kept in memory: every ETag, 304 and
///   memo lookup reads it, and reading the audit tree's last key each time cost a 304
///   as much as the rest of its work. Each write refreshes it before it lets go of the
///   order lock, so a reader that saw the write acknowledged sees the new counter.
#[derive(Debug)]
pub(super) struct Gate {
    snapshot: std::sync::RwLock<()>,
    order: std::sync::Mutex<()>,
    last_change: std::sync::atomic::AtomicU64,
    audit: Tree,
}

impl Gate {
    fn new(audit: Tree) -> Gate {
        Gate {
            snapshot: std::sync::RwLock::new(()),
            order: std::sync::Mutex::new(()),
            last_change: std::sync::atomic::AtomicU64::new(0),
            audit,
        }
    }

    /// Held by every write while it commits.
    pub(super) fn enter(&self) -> Writing<'_> {
        let snapshot = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        let order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        Writing {
            gate: self,
            _order: order,
            _snapshot: snapshot,
        }
    }

    /// Held by a backup: no write commits meanwhile.
    pub(super) fn alone(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.snapshot.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the last audit sequence into the change counter.
    pub(super) fn refresh(&self) {
        let last = match self.audit.last() {
            Ok(Some((k, _))) => u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8])),
            Ok(None) => 0,
            // Left as it was; the next write reads it again.
            Err(_) => return,
        };
        self.last_change
            .fetch_max(last, std::sync::atomic::Ordering::AcqRel);
    }

    fn change(&self) -> u64 {
        self.last_change.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// A write in progress (see [`Gate`]); when it ends, the change counter is refreshed
/// before the order lock is let go.
pub(super) struct Writing<'a> {
    gate: &'a Gate,
    _order: std::sync::MutexGuard<'a, ()>,
    _snapshot: std::sync::RwLockReadGuard<'a, ()>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.gate.refresh();
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(aborting(e))
}

/// A store error raised inside a transaction, as its abort (for `map_err`).
fn aborting(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
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
        let disk = std::sync::Arc::new(
            commit::Disk::open(path).map_err(|e| StoreError::Sled(sled::Error::Io(e)))?,
        );
        let t = |name: &str| db.open_tree(name);
        let gate = Arc::new(Gate::new(t("audit")?));
        let generations = Arc::new(writer::Generations::default());
        let writer = writer::Writer::start(
            db.clone(),
            disk.clone(),
            writer::WriterTrees {
                indicators: t("indicators")?,
                readings: t("readings")?,
                revisions: t("revisions")?,
                periods: t("periods")?,
                audit: t("audit")?,
                withdrawn: t("withdrawn")?,
                idempotency: t("idempotency")?,
                flagged: t("flagged")?,
            },
            generations.clone(),
            gate.clone(),
        );
        let inner = Inner {
            indicators: t("indicators")?,
            targets: t("targets")?,
            readings: t("readings")?,
            revisions: t("revisions")?,
            withdrawn: t("withdrawn")?,
            target_history: t("target_history")?,
            idempotency: t("idempotency")?,
            periods: t("periods")?,
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
            plans: t("plans")?,
            region_settings: t("region_settings")?,
            sessions: t("sessions")?,
            releases: t("releases")?,
            users: t("users")?,
            access_log: t("access_log")?,
            release_version: Default::default(),
            writer,
            generations,
            disk,
            gate,
            db,
        };
        let store = Store {
            inner: Arc::new(inner),
        };
        migrate::on_open(&store, path)?;
        release::begin(&store)?;
        store.inner.gate.refresh();
        Ok(store)
    }

    /// Held by every write while it commits (see [`Gate`]).
    fn writing(&self) -> Writing<'_> {
        self.inner.gate.enter()
    }

    /// Waits until every write applied before this call is on disk.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.inner.writer.durable().await
    }

    /// Flushes synchronously and makes it durable, for the CLI and shutdown.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }
}

impl StoreError {
    /// Whether the store failed for want of disk space (ENOSPC).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Sled(sled::Error::Io(e)) if e.kind() == std::io::ErrorKind::StorageFull)
    }
}

impl Inner {
    /// sled's flush, made durable ([`commit::Disk::sync`]).
    fn sync(&self) -> Result<(), StoreError> {
        self.disk
            .sync(&self.db)
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))
    }
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
