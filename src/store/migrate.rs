//! Store format upgrades: a chain of steps, each converting a store of format `n` to
//! format `n + 1`, run in order from the stored `meta/format` to [`STORE_FORMAT`].
//!
//! [`Store::open`](super::Store::open) runs the chain when it finds an older format,
//! after writing a backup of the store as it stands beside the store's directory
//! ([`backup_path`]), so that the data can be taken back to the previous release;
//! `zhibiao migrate` does the same on demand, and with `--dry-run` only says what it
//! would do ([`survey`]). See `docs/reliability.md`.
//!
//! # The two version numbers
//!
//! `meta/format` ([`STORE_FORMAT`]) describes the store as a whole: which trees and
//! keys exist and what they hold. The byte in front of every value
//! ([`codec::FORMAT_VERSION`]) describes the layout of that value. A step that changes a
//! value's layout bumps both; a step that only moves or adds keys (2 → 3) bumps the
//! store format alone, and rewrites nothing else.
//!
//! # Crash safety
//!
//! Every step can be cut short by a crash and run again: it converts only what is
//! still in the old form. The driver flushes, then writes the step's new format, then
//! flushes again, so a store is never marked with a format its data has not reached.
//!
//! # Adding a step
//!
//! Write `vN_to_vN1(&Inner)` and its survey, document them here, append them to
//! [`STEPS`], bump [`STORE_FORMAT`], add a fixture store written by the last release
//! (`tests/fixtures/README.md`), and raise [`BACKUP_READS_FROM`] if the backup code can
//! no longer read the older values as they stand.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::notify::{NotifierState, NOTIFIER_STATE_KEY};
use super::{
    codec, keys, AuditRecord, BackupCounts, CatalogueTitle, Change, Inner, Store, StoreError,
};
use crate::domain::{
    Baseline, Comparator, Direction, EventKind, Frequency, Group, Indicator, IndicatorId, Kind,
    Period, Plan, PlanEntry, PlanId, Profile, QualityNote, QualityRules, Reading, Region,
    RegionLevel, Severity, Source, SourceRef, StatusRule, Target, Thresholds, Webhook,
    WebhookFilter, DEFAULT_ESCALATE_AFTER,
};

/// The store format this build reads and writes (`meta/format`).
pub const STORE_FORMAT: u8 = 5;

/// The oldest store format whose values the backup code reads as they stand. A store of
/// an older format is backed up through a scratch copy upgraded first (see
/// [`write_backup`]).
const BACKUP_READS_FROM: u8 = 4;

/// One link of the chain: converts a store of format `from` to `from + 1`.
struct Step {
    from: u8,
    /// What it converts, in one line.
    what: &'static str,
    /// What it would do to this store, found without writing.
    survey: fn(&sled::Db) -> Result<Vec<String>, StoreError>,
    run: fn(&Inner) -> Result<(), StoreError>,
}

/// Every step, oldest first: `STEPS[n].from == n + 1`.
const STEPS: [Step; 4] = [
    Step {
        from: 1,
        what: "regions: every indicator gets the catalogue's region and its id as its code \
               (in the audit trail too), and every value the new version byte",
        survey: survey_v1_to_v2,
        run: v1_to_v2,
    },
    Step {
        from: 2,
        what: "the notifier's state (meta/notify/alerts, notify/cursor, notify/remind_day) \
               becomes one record, meta/notifier",
        survey: survey_v2_to_v3,
        run: v2_to_v3,
    },
    Step {
        from: 3,
        what: "plans: each region's targets of one year become a plan with its groups \
               (the six battles for Taojiang 2023, in the document's order), each target \
               carries its plan entry (group, 序号, lead units, source), and every value the \
               new version byte",
        survey: survey_v3_to_v4,
        run: v3_to_v4,
    },
    Step {
        from: 4,
        what: "fewer keys per reading: the audit numbers of each reading's changes move from \
               the revisions index into the reading (or its tombstone), the index keeping \
               only notes; the period index (one key per reading) becomes each region's \
               count of readings per period",
        survey: survey_v4_to_v5,
        run: v4_to_v5,
    },
];

/// How many converted values go into one sled batch.
const CHUNK: usize = 10_000;

/// [`Indicator`] as format 1 stored it.
#[derive(Deserialize)]
struct IndicatorV1 {
    id: IndicatorId,
    name: String,
    name_en: String,
    battle: Battle,
    kind: Kind,
    unit: String,
    direction: Direction,
    frequency: Frequency,
    lead_units: Vec<String>,
    co_units: Vec<String>,
    source: Source,
    also_in: Vec<SourceRef>,
    profile: Option<Profile>,
    thresholds: Thresholds,
}

impl IndicatorV1 {
    fn upgrade(self, home: &str) -> IndicatorV2 {
        IndicatorV2 {
            code: self.id.as_str().to_string(),
            id: self.id,
            name: self.name,
            name_en: self.name_en,
            battle: self.battle,
            kind: self.kind,
            unit: self.unit,
            direction: self.direction,
            frequency: self.frequency,
            lead_units: self.lead_units,
            co_units: self.co_units,
            source: self.source,
            also_in: self.also_in,
            profile: self.profile,
            thresholds: self.thresholds,
            region: home.to_string(),
            benchmarks: Vec::new(),
            status_rule: StatusRule::Plan,
            escalate_after: DEFAULT_ESCALATE_AFTER,
            quality: QualityRules::default(),
        }
    }
}

/// [`Change`] as format 1 stored it.
#[derive(Deserialize)]
enum ChangeV1 {
    Reading {
        indicator: IndicatorId,
        period: Period,
        old: Option<Reading>,
        new: Option<Reading>,
    },
    Target {
        indicator: IndicatorId,
        year: u16,
        old: Option<TargetV2>,
        new: Option<TargetV2>,
    },
    Indicator {
        id: IndicatorId,
        old: Option<Box<IndicatorV1>>,
        new: Option<Box<IndicatorV1>>,
    },
}

/// [`AuditRecord`] as format 1 stored it.
#[derive(Deserialize)]
struct AuditRecordV1 {
    at: DateTime<Utc>,
    actor: String,
    change: ChangeV1,
    reason: Option<String>,
}

impl AuditRecordV1 {
    fn upgrade(self, home: &str) -> AuditRecordV2 {
        let up = |i: Option<Box<IndicatorV1>>| i.map(|i| Box::new(i.upgrade(home)));
        let change = match self.change {
            ChangeV1::Reading {
                indicator,
                period,
                old,
                new,
            } => ChangeV2::Reading {
                indicator,
                period,
                old,
                new,
            },
            ChangeV1::Target {
                indicator,
                year,
                old,
                new,
            } => ChangeV2::Target {
                indicator,
                year,
                old,
                new,
            },
            ChangeV1::Indicator { id, old, new } => ChangeV2::Indicator {
                id,
                old: up(old),
                new: up(new),
            },
        };
        AuditRecordV2 {
            at: self.at,
            actor: self.actor,
            change,
            reason: self.reason,
            quality: None,
        }
    }
}

/// Rewrites every value of `tree` that still carries version `from` with `convert`, in
/// batches.
fn rewrite(
    tree: &sled::Tree,
    from: u8,
    convert: impl Fn(&[u8]) -> Result<Vec<u8>, StoreError>,
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    let mut total = 0;
    for kv in tree.iter() {
        let (k, v) = kv?;
        if v.first() != Some(&from) {
            continue;
        }
        batch.insert(k, convert(&v)?);
        pending += 1;
        total += 1;
        if pending == CHUNK {
            tree.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    if pending > 0 {
        tree.apply_batch(batch)?;
    }
    Ok(total)
}

/// The same body under the version byte of format 2.
fn restamp(v: &[u8]) -> Result<Vec<u8>, StoreError> {
    restamp_to(v, 2)
}

/// The same body under another version byte, for values whose layout did not change.
fn restamp_to(v: &[u8], version: u8) -> Result<Vec<u8>, StoreError> {
    let mut out = v.to_vec();
    out[0] = version;
    Ok(out)
}

fn convert_v1<Old: serde::de::DeserializeOwned, New: Serialize>(
    v: &[u8],
    f: impl Fn(Old) -> New,
) -> Result<Vec<u8>, StoreError> {
    codec::encode_version(&f(codec::decode_version::<Old>(v, 1)?), 2)
}

// ── the driver ──────────────────────────────────────────────────────────────

/// One step as `zhibiao migrate` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepSurvey {
    pub from: u8,
    pub to: u8,
    /// What the step converts.
    pub what: String,
    /// What it finds to convert in this store (counts, values).
    pub details: Vec<String>,
}

/// What an upgrade of one store would do, found without writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Survey {
    /// The store's format (`meta/format`).
    pub stored: u8,
    /// The format this build writes ([`STORE_FORMAT`]).
    pub current: u8,
    /// The steps to run, in order; empty when the store is current.
    pub steps: Vec<StepSurvey>,
    /// Where an upgrade started now would write its backup.
    pub backup: Option<PathBuf>,
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgraded {
    pub from: u8,
    pub to: u8,
    /// The backup of the store as it was, written before anything changed (or, see
    /// `copied_instead`, a copy of its directory).
    pub backup: PathBuf,
    pub backup_counts: BackupCounts,
    /// Set when the store held a value that cannot be read, so that no backup could be
    /// written whole and its directory was copied instead: why.
    pub copied_instead: Option<String>,
    pub steps: Vec<StepSurvey>,
    pub elapsed_ms: u64,
}

/// The store's format, `None` for a new store. An unknown one is an error.
/// Whether the store is of this build's format (not one left as it was for
/// `zhibiao migrate` to upgrade).
pub(super) fn is_current(meta: &sled::Tree) -> Result<bool, StoreError> {
    Ok(stored_format(meta)? == Some(STORE_FORMAT))
}

fn stored_format(meta: &sled::Tree) -> Result<Option<u8>, StoreError> {
    match meta.get(b"format")? {
        None => Ok(None),
        Some(v) if v.len() == 1 && (1..=STORE_FORMAT).contains(&v[0]) => Ok(Some(v[0])),
        Some(v) => Err(StoreError::UnsupportedFormat {
            found: v.first().copied().unwrap_or(0),
            supported: STORE_FORMAT,
        }),
    }
}

/// Called by [`Store::open`](super::Store::open) on every store it opens. A new store is
/// marked with [`STORE_FORMAT`]. An older one is upgraded, after a backup of it is
/// written beside `path` ([`backup_path`]); with no `path` (a scratch store, or
/// `zhibiao migrate` opening it to upgrade itself), it is left as it is.
pub(super) fn on_open(store: &Store, path: Option<&Path>) -> Result<(), StoreError> {
    let i = &store.inner;
    match stored_format(&i.meta)? {
        None => {
            i.meta.insert(b"format", &[STORE_FORMAT])?;
        }
        Some(STORE_FORMAT) => {}
        Some(_) => {
            if let Some(path) = path {
                if let Some(up) = upgrade_store(store, path)? {
                    tracing::warn!(
                        from = up.from,
                        to = up.to,
                        backup = %up.backup.display(),
                        "upgraded the store to this release's format; the backup holds it as \
                         it was (restore it with the previous release to go back)"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Backs up and upgrades an open store of an older format; `None` when it is current.
fn upgrade_store(store: &Store, path: &Path) -> Result<Option<Upgraded>, StoreError> {
    let started = std::time::Instant::now();
    let Some(from) = stored_format(&store.inner.meta)?.filter(|f| *f < STORE_FORMAT) else {
        return Ok(None);
    };
    let steps = survey_steps(&store.inner.db, from)?;
    let (backup, backup_counts, copied_instead) = write_backup(store, path, from)?;
    run_chain(&store.inner, from)?;
    Ok(Some(Upgraded {
        from,
        to: STORE_FORMAT,
        backup,
        backup_counts,
        copied_instead,
        steps,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }))
}

/// Runs every step from format `from` to [`STORE_FORMAT`], each followed by its new
/// format, written once its data is on disk.
fn run_chain(i: &Inner, from: u8) -> Result<(), StoreError> {
    for step in STEPS.iter().filter(|s| s.from >= from) {
        let started = std::time::Instant::now();
        (step.run)(i)?;
        i.sync()?;
        i.meta.insert(b"format", &[step.from + 1])?;
        i.sync()?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "migrated the store from format {} to {}: {}",
            step.from,
            step.from + 1,
            step.what
        );
    }
    Ok(())
}

fn survey_steps(db: &sled::Db, from: u8) -> Result<Vec<StepSurvey>, StoreError> {
    STEPS
        .iter()
        .filter(|s| s.from >= from)
        .map(|s| {
            Ok(StepSurvey {
                from: s.from,
                to: s.from + 1,
                what: s.what.to_string(),
                details: (s.survey)(db)?,
            })
        })
        .collect()
}

/// Opens the sled store at `path` for `zhibiao migrate`, without upgrading it.
fn open_db(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    match sled::Config::new()
        .path(path)
        .cache_capacity(cache_bytes)
        .open()
    {
        Ok(db) => Ok(db),
        Err(sled::Error::Io(ref io)) if io.to_string().contains("lock") => {
            Err(StoreError::Locked {
                path: path.display().to_string(),
            })
        }
        Err(e) => Err(StoreError::Sled(e)),
    }
}

/// Whether `path` holds a store (the check `zhibiao migrate` makes before opening it,
/// since opening a directory without one would create one).
pub fn store_exists(path: &Path) -> bool {
    path.join("conf").exists() || path.join("db").exists()
}

/// What upgrading the store at `path` would do, found without changing it (`zhibiao
/// migrate --dry-run`). The store must exist and not be open elsewhere.
pub fn survey(path: &Path) -> Result<Survey, StoreError> {
    let db = open_db(path, 64 * 1024 * 1024)?;
    let meta = existing_tree(&db, "meta")?
        .ok_or_else(|| StoreError::Backup(format!("{} holds no zhibiao store", path.display())))?;
    let stored = stored_format(&meta)?.unwrap_or(STORE_FORMAT);
    let steps = survey_steps(&db, stored)?;
    let backup = if steps.is_empty() {
        None
    } else {
        Some(backup_path(path, stored, backup_time())?)
    };
    Ok(Survey {
        stored,
        current: STORE_FORMAT,
        steps,
        backup,
    })
}

/// Upgrades the store at `path` to [`STORE_FORMAT`] (`zhibiao migrate`): writes the
/// backup, then runs the steps. `None` when the store is current (nothing written).
pub fn upgrade(path: &Path, cache_bytes: u64) -> Result<Option<Upgraded>, StoreError> {
    super::remove_torn_snapshots(path)?;
    let store = Store::from_db(open_db(path, cache_bytes)?, None)?;
    let up = upgrade_store(&store, path)?;
    store.flush()?;
    Ok(up)
}

/// A tree of `db` if the store has one (opening a missing tree would create it).
fn existing_tree(db: &sled::Db, name: &str) -> Result<Option<sled::Tree>, StoreError> {
    if db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == name.as_bytes())
    {
        Ok(Some(db.open_tree(name)?))
    } else {
        Ok(None)
    }
}

// ── the backup written before an upgrade ────────────────────────────────────

/// The instant that stamps an upgrade's backup file. The one read of the wall clock in
/// the store, and deliberately not through `clock::Clock`: it names a file in UTC, not
/// a day in the plan's zone, and it is taken when a store is opened, below the layer
/// (and before the moment) where a server builds its clock; `store` imports only
/// `domain`. The dry run and the upgrade both read it here.
fn backup_time() -> DateTime<Utc> {
    Utc::now()
}

/// Where the backup of the store at `db` (of format `from`) taken at `now` goes: beside
/// the store's directory, as `<directory name>-format<from>-<UTC time>.backup`
/// (`-2`, `-3`… added if that name is taken). Not inside it: a store directory is
/// what one deletes to restore.
///
/// Its callers read the wall clock here, not through [`crate::clock::Clock`]: the store
/// sits below the clock, the instant only names a file (in UTC, the same in any zone),
/// and no answer, period or test depends on it.
pub fn backup_path(db: &Path, from: u8, now: DateTime<Utc>) -> Result<PathBuf, StoreError> {
    let io = |e: std::io::Error| StoreError::Sled(sled::Error::Io(e));
    let db = std::fs::canonicalize(db).map_err(io)?;
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "zhibiao-data".into());
    let dir = db.parent().unwrap_or(Path::new("/"));
    let stem = format!("{name}-format{from}-{}", now.format("%Y%m%dT%H%M%SZ"));
    let mut file = dir.join(format!("{stem}.backup"));
    let mut n = 1;
    while file.exists() || file.with_extension("partial").exists() {
        n += 1;
        file = dir.join(format!("{stem}-{n}.backup"));
    }
    Ok(file)
}

/// Writes the backup of `store` (of format `from`) beside `db`: under a temporary name,
/// synced, then renamed, so that a backup under its final name is always whole.
///
/// A store holding a value that cannot be read (`zhibiao check` names it) cannot be
/// backed up whole; it still opens, as it did before the upgrade, so it is copied
/// instead: its directory, flushed and not written meanwhile, goes beside it under the
/// backup's name with `.copy` for `.backup` (the third element says why).
fn write_backup(
    store: &Store,
    db: &Path,
    from: u8,
) -> Result<(PathBuf, BackupCounts, Option<String>), StoreError> {
    let file = backup_path(db, from, backup_time())?;
    let failed = |e: String| {
        StoreError::Backup(format!(
            "could not write the backup {} that comes before upgrading the store from format \
             {from} to {STORE_FORMAT}, so the store was left as it was: {e}",
            file.display()
        ))
    };
    /// Why a backup was not written.
    enum Failure {
        /// A stored value could not be read.
        Content(StoreError),
        Io(String),
    }
    let io = |e: std::io::Error| Failure::Io(e.to_string());
    let tmp = file.with_extension("partial");
    let written = (|| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        let mut w = std::io::BufWriter::new(f);
        let counts = if from >= BACKUP_READS_FROM {
            store.backup(&mut w)
        } else {
            backup_through_scratch(store, from, &mut w)
        }
        .map_err(|e| match e {
            StoreError::Codec(_) | StoreError::UnsupportedFormat { .. } => Failure::Content(e),
            other => Failure::Io(other.to_string()),
        })?;
        w.flush().map_err(io)?;
        w.into_inner()
            .map_err(|e| Failure::Io(e.to_string()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, &file).map_err(io)?;
        sync_dir_of(&file).map_err(io)?;
        Ok(counts)
    })();
    match written {
        Ok(counts) => Ok((file, counts, None)),
        Err(Failure::Io(e)) => {
            let _ = std::fs::remove_file(&tmp);
            Err(failed(e))
        }
        Err(Failure::Content(e)) => {
            let _ = std::fs::remove_file(&tmp);
            let copy = file.with_extension("copy");
            store.inner.sync()?;
            copy_dir(db, &copy)
                .and_then(|()| sync_dir_of(&copy))
                .map_err(|io| failed(format!("{e}; and a copy of the store failed too: {io}")))?;
            let why = format!(
                "the store holds a value that cannot be read ({e}; `zhibiao check` lists them), \
                 so instead of a backup the store's directory was copied"
            );
            tracing::warn!(copy = %copy.display(), "{why}");
            Ok((copy, BackupCounts::default(), Some(why)))
        }
    }
}

/// Syncs the directory holding `path`, so that a new name in it survives a crash.
fn sync_dir_of(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Copies a store's directory, files synced.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
            std::fs::File::open(&dest)?.sync_all()?;
        }
    }
    std::fs::File::open(to)?.sync_all()
}

/// A backup of a store whose values the backup code cannot read as they stand: its
/// trees are copied into a temporary store, that copy is upgraded, and the copy is
/// backed up. The store itself is not touched.
fn backup_through_scratch<W: Write>(
    store: &Store,
    from: u8,
    out: &mut W,
) -> Result<BackupCounts, StoreError> {
    let scratch = sled::Config::new().temporary(true).open()?;
    for name in store.inner.db.tree_names() {
        let src = store.inner.db.open_tree(&name)?;
        let dst = scratch.open_tree(&name)?;
        for kv in src.iter() {
            let (k, v) = kv?;
            dst.insert(k, v)?;
        }
    }
    let copy = Store::from_db(scratch, None)?;
    run_chain(&copy.inner, from)?;
    copy.backup(out)
}

// ── format 2 → 3 ────────────────────────────────────────────────────────────

/// Where format 2 kept the notifier's state, as raw `meta` values: `notify/alerts`
/// (JSON map indicator → [severity, status]; empty = not tracking), `notify/cursor`
/// (u64 big-endian) and `notify/remind_day` (`YYYY-MM-DD`).
const V2_NOTIFY_KEYS: [&str; 3] = ["notify/alerts", "notify/cursor", "notify/remind_day"];

/// The notifier's state as format 2 kept it, read the way the format-2 notifier read
/// it (a value it could not read counted as absent). `None` when none of the keys
/// exists.
fn notifier_state_v2(meta: &sled::Tree) -> Result<Option<NotifierState>, StoreError> {
    let [alerts, cursor, day] = V2_NOTIFY_KEYS;
    let (alerts, cursor, day) = (meta.get(alerts)?, meta.get(cursor)?, meta.get(day)?);
    if alerts.is_none() && cursor.is_none() && day.is_none() {
        return Ok(None);
    }
    let seen = match alerts {
        Some(b) if !b.is_empty() => match serde_json::from_slice(&b) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(
                    "the notifier's stored alerts could not be read ({e}); as before, it takes \
                     the current alerts anew"
                );
                None
            }
        },
        _ => None,
    };
    Ok(Some(NotifierState {
        cursor: cursor
            .and_then(|b| b.as_ref().try_into().ok())
            .map(u64::from_be_bytes),
        seen,
        remind_day: day
            .and_then(|b| std::str::from_utf8(&b).ok().map(str::to_owned))
            .and_then(|d| d.parse::<NaiveDate>().ok()),
    }))
}

/// Format 2 → 3: the notifier's state becomes one record.
///
/// Format 2 kept the notifier's cursor, the alerts it had seen and the day of its last
/// daily run under three `meta` keys ([`V2_NOTIFY_KEYS`]), written one after the other:
/// a crash between two writes could leave a cursor that did not match the alerts.
/// Format 3 keeps one [`NotifierState`] under `meta/notifier`, encoded like every other
/// value. The step reads the old keys, and in one atomic batch writes the record and
/// removes them. Run again (after a crash before the new format was written), it finds
/// no old keys and leaves the record alone. Nothing else changes.
fn v2_to_v3(i: &Inner) -> Result<(), StoreError> {
    let Some(st) = notifier_state_v2(&i.meta)? else {
        return Ok(());
    };
    let mut batch = sled::Batch::default();
    batch.insert(NOTIFIER_STATE_KEY, codec::encode_version(&st, 2)?);
    for k in V2_NOTIFY_KEYS {
        batch.remove(k);
    }
    i.meta.apply_batch(batch)?;
    Ok(())
}

fn survey_v2_to_v3(db: &sled::Db) -> Result<Vec<String>, StoreError> {
    let Some(meta) = existing_tree(db, "meta")? else {
        return Ok(vec!["no notifier state: nothing to convert".into()]);
    };
    let Some(st) = notifier_state_v2(&meta)? else {
        return Ok(vec!["no notifier state: nothing to convert".into()]);
    };
    Ok(vec![
        match st.cursor {
            Some(c) => format!("cursor: audit row {c}"),
            None => "cursor: none".into(),
        },
        match &st.seen {
            Some(m) => format!("alerts seen: {}", m.len()),
            None => "alerts seen: not tracking".into(),
        },
        match st.remind_day {
            Some(d) => format!("last daily run: {d}"),
            None => "last daily run: none".into(),
        },
    ])
}

// ── format 1 → 2 ────────────────────────────────────────────────────────────

fn survey_v1_to_v2(db: &sled::Db) -> Result<Vec<String>, StoreError> {
    let version_1 = |name: &str| -> Result<usize, StoreError> {
        let Some(t) = existing_tree(db, name)? else {
            return Ok(0);
        };
        let mut n = 0;
        for kv in t.iter() {
            if kv?.1.first() == Some(&1) {
                n += 1;
            }
        }
        Ok(n)
    };
    let home = match existing_tree(db, "meta")? {
        Some(meta) => home_region(&meta)?,
        None => String::new(),
    };
    let mut restamped = 0;
    for tree in [
        "units",
        "targets",
        "readings",
        "withdrawn",
        "tokens",
        "idempotency",
    ] {
        restamped += version_1(tree)?;
    }
    Ok(vec![
        format!(
            "indicators converted: {} (region {home:?}, code = id)",
            version_1("indicators")?
        ),
        format!("audit rows converted: {}", version_1("audit")?),
        format!("other values given the new version byte: {restamped}"),
    ])
}

/// The catalogue's title, from a store of any format (its layout is the same under
/// every version byte).
fn catalogue_title(meta: &sled::Tree) -> Result<Option<CatalogueTitle>, StoreError> {
    match meta.get(b"catalogue")? {
        Some(v) => match v.first() {
            Some(&n) => Ok(Some(codec::decode_version::<CatalogueTitle>(&v, n)?)),
            None => Err(StoreError::Codec("empty catalogue title".into())),
        },
        None => Ok(None),
    }
}

/// The catalogue's region, from a store of any format.
fn home_region(meta: &sled::Tree) -> Result<String, StoreError> {
    Ok(catalogue_title(meta)?.map(|t| t.region).unwrap_or_default())
}

/// Format 1 → 2: regions.
///
/// Format 2 added `region`, `code`, `benchmarks`, `status_rule`, `escalate_after` and
/// `quality` to [`Indicator`], and `quality` to [`AuditRecord`]. bincode does not
/// describe what it stores, so the old layouts are kept here, decoded and converted:
/// every indicator gets the catalogue's region and its id as its code, in the
/// `indicators` tree and inside the audit rows that record indicator changes. Values
/// whose layout did not change (targets, readings, tokens, units, the catalogue title,
/// withdrawn revision numbers, stored idempotent answers) only get their version byte
/// rewritten. The `regions` tree gains the home region, and `codes` is built.
///
/// Each value is converted only while it still carries version 1, so a step cut short
/// by a crash resumes where it stopped.
fn v1_to_v2(i: &Inner) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let home = home_region(&i.meta)?;
    let mut converted = 0;
    for tree in [
        &i.units,
        &i.targets,
        &i.readings,
        &i.withdrawn,
        &i.tokens,
        &i.idempotency,
    ] {
        converted += rewrite(tree, 1, restamp)?;
    }
    converted += rewrite(&i.indicators, 1, |v| {
        convert_v1(v, |old: IndicatorV1| old.upgrade(&home))
    })?;
    converted += rewrite(&i.audit, 1, |v| {
        convert_v1(v, |old: AuditRecordV1| old.upgrade(&home))
    })?;
    for kv in i.indicators.iter() {
        let ind: IndicatorV2 = codec::decode_version(&kv?.1, 2)?;
        i.codes.insert(keys::code(&ind.code, &ind.id), &[])?;
    }
    if !home.is_empty() && !i.regions.contains_key(home.as_bytes())? {
        let region = Region {
            name: home.clone(),
            level: RegionLevel::County,
            parent: None,
        };
        i.regions
            .insert(home.as_bytes(), codec::encode_version(&region, 2)?)?;
    }
    if let Some(v) = i.meta.get(b"catalogue")? {
        if v.first() == Some(&1) {
            i.meta.insert(b"catalogue", restamp(&v)?)?;
        }
    }
    tracing::info!(
        values = converted,
        region = %home,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "converted the values of format 1"
    );
    Ok(())
}

// ── format 3 → 4 ────────────────────────────────────────────────────────────

/// The six battles as formats 1 to 3 stored them: an enum, whose variant number is
/// what bincode wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Battle {
    Growth,
    Innovation,
    Environment,
    Risk,
    Safety,
    Livelihood,
}

impl Battle {
    fn key(self) -> &'static str {
        match self {
            Battle::Growth => "growth",
            Battle::Innovation => "innovation",
            Battle::Environment => "environment",
            Battle::Risk => "risk",
            Battle::Safety => "safety",
            Battle::Livelihood => "livelihood",
        }
    }
}

/// [`Indicator`] as formats 2 and 3 stored it.
#[derive(Serialize, Deserialize)]
struct IndicatorV2 {
    id: IndicatorId,
    name: String,
    name_en: String,
    battle: Battle,
    kind: Kind,
    unit: String,
    direction: Direction,
    frequency: Frequency,
    lead_units: Vec<String>,
    co_units: Vec<String>,
    source: Source,
    also_in: Vec<SourceRef>,
    profile: Option<Profile>,
    thresholds: Thresholds,
    region: String,
    code: String,
    benchmarks: Vec<String>,
    status_rule: StatusRule,
    escalate_after: u8,
    quality: QualityRules,
}

impl IndicatorV2 {
    fn upgrade(self) -> Indicator {
        Indicator {
            id: self.id,
            name: self.name,
            name_en: self.name_en,
            group: self.battle.key().to_string(),
            kind: self.kind,
            unit: self.unit,
            direction: self.direction,
            frequency: self.frequency,
            lead_units: self.lead_units,
            co_units: self.co_units,
            source: self.source,
            also_in: self.also_in,
            profile: self.profile,
            thresholds: self.thresholds,
            region: self.region,
            code: self.code,
            benchmarks: self.benchmarks,
            status_rule: self.status_rule,
            escalate_after: self.escalate_after,
            quality: self.quality,
            base_indicator: None,
            base_shares: None,
        }
    }
}

/// [`Target`] as formats 1 to 3 stored it.
#[derive(Serialize, Deserialize)]
struct TargetV2 {
    year: u16,
    value: Option<f64>,
    comparator: Comparator,
    tolerance: Option<f64>,
    upper: Option<f64>,
    baseline: Option<Baseline>,
}

impl TargetV2 {
    fn upgrade(self, plan: Option<PlanEntry>) -> Target {
        Target {
            year: self.year,
            value: self.value,
            comparator: self.comparator,
            tolerance: self.tolerance,
            upper: self.upper,
            baseline: self.baseline,
            plan,
            parts: Vec::new(),
            duty: None,
        }
    }
}

/// [`Change`] as formats 2 and 3 stored it.
#[derive(Serialize, Deserialize)]
enum ChangeV2 {
    Reading {
        indicator: IndicatorId,
        period: Period,
        old: Option<Reading>,
        new: Option<Reading>,
    },
    Target {
        indicator: IndicatorId,
        year: u16,
        old: Option<TargetV2>,
        new: Option<TargetV2>,
    },
    Indicator {
        id: IndicatorId,
        old: Option<Box<IndicatorV2>>,
        new: Option<Box<IndicatorV2>>,
    },
    Region {
        name: String,
        old: Option<Region>,
        new: Option<Region>,
    },
}

/// [`AuditRecord`] as formats 2 and 3 stored it.
#[derive(Serialize, Deserialize)]
struct AuditRecordV2 {
    at: DateTime<Utc>,
    actor: String,
    change: ChangeV2,
    reason: Option<String>,
    quality: Option<QualityNote>,
}

/// What formats 2 and 3 kept of a receiver's filter.
#[derive(Serialize, Deserialize)]
struct WebhookFilterV2 {
    battles: Vec<Battle>,
    lead_units: Vec<String>,
    severities: Vec<Severity>,
}

/// [`Webhook`] as formats 2 and 3 stored it.
#[derive(Serialize, Deserialize)]
struct WebhookV2 {
    name: String,
    url: String,
    format: crate::domain::webhook::Format,
    events: Vec<EventKind>,
    filter: WebhookFilterV2,
    secret: Option<String>,
    created_at: DateTime<Utc>,
    created_by: String,
}

impl WebhookV2 {
    fn upgrade(self) -> Webhook {
        Webhook {
            name: self.name,
            url: self.url,
            format: self.format,
            events: self.events,
            filter: WebhookFilter {
                groups: self
                    .filter
                    .battles
                    .iter()
                    .map(|b| b.key().to_string())
                    .collect(),
                lead_units: self.filter.lead_units,
                severities: self.filter.severities,
            },
            secret: self.secret,
            created_at: self.created_at,
            created_by: self.created_by,
        }
    }
}

/// [`Token`](super::Token) as formats 1 to 3 stored it: no region.
#[derive(Serialize, Deserialize)]
struct TokenV2 {
    name: String,
    role: super::Role,
    units: Vec<String>,
    hash: String,
    created_at: DateTime<Utc>,
}

impl TokenV2 {
    fn upgrade(self) -> super::Token {
        super::Token {
            name: self.name,
            role: self.role,
            units: self.units,
            hash: self.hash,
            created_at: self.created_at,
            region: String::new(),
        }
    }
}

/// The built-in plan's indicator ids in the document's order as they were while stores
/// of formats 1 to 3 were written, so that a migrated Taojiang plan keeps the order of
/// its document. A frozen list rather than the seed file: the seed has changed since
/// (ids retired and renamed), and an id it no longer holds would fall to the end.
fn seed_order() -> Vec<&'static str> {
    include_str!("taojiang-2023-format3-order.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// The indicator of a `targets` key (`id 0x00 year`), read as backups read it.
fn target_id(key: &[u8]) -> Option<IndicatorId> {
    super::backup::split_series(key).ok().map(|(id, _)| id)
}

/// An indicator as the step reads it: converted already (a step cut short), or not.
fn read_indicator(v: &[u8]) -> Result<Indicator, StoreError> {
    match v.first() {
        Some(2) => Ok(codec::decode_version::<IndicatorV2>(v, 2)?.upgrade()),
        _ => codec::decode(v),
    }
}

/// A target as the step reads it, without its plan entry.
fn read_target(v: &[u8]) -> Result<Target, StoreError> {
    match v.first() {
        Some(2) => Ok(codec::decode_version::<TargetV2>(v, 2)?.upgrade(None)),
        _ => codec::decode(v),
    }
}

/// The plans format 4 finds in a store of format 3: one per region and year with
/// targets, and the entry of every target in them.
struct Plans {
    plans: Vec<Plan>,
    entries: std::collections::HashMap<(IndicatorId, u16), PlanEntry>,
}

fn plans_of(i: &Inner) -> Result<Plans, StoreError> {
    use std::collections::{BTreeMap, HashMap};
    let title = catalogue_title(&i.meta)?;
    let home = title.as_ref().map(|t| t.region.clone()).unwrap_or_default();
    let mut inds: HashMap<IndicatorId, Indicator> = HashMap::new();
    for kv in i.indicators.iter() {
        let ind = read_indicator(&kv?.1)?;
        inds.insert(ind.id.clone(), ind);
    }
    // (region, year) → the ids with a target then.
    let mut per: BTreeMap<(String, u16), Vec<IndicatorId>> = BTreeMap::new();
    for kv in i.targets.iter() {
        let (k, v) = kv?;
        let t = read_target(&v)?;
        let Some(id) = target_id(&k) else {
            continue;
        };
        if let Some(ind) = inds.get(&id) {
            per.entry((ind.region.clone(), t.year))
                .or_default()
                .push(id);
        }
    }
    let seed = seed_order();
    let others: Vec<String> = {
        let mut r: Vec<String> = per
            .keys()
            .map(|(r, _)| r.clone())
            .filter(|r| *r != home)
            .collect();
        r.dedup();
        r
    };
    let mut out = Plans {
        plans: Vec::new(),
        entries: HashMap::new(),
    };
    for ((region, year), mut ids) in per {
        let slug = if region == "桃江县" {
            format!("taojiang-{year}")
        } else if region == home {
            format!("plan-{year}")
        } else {
            let n = others.iter().position(|r| *r == region).unwrap_or(0) + 1;
            format!("plan-{year}-r{n}")
        };
        let (plan_title, doc_number) = match &title {
            Some(t) if t.region == region && t.year == year => split_document(&t.document),
            _ => (format!("{region}{year}年目标"), String::new()),
        };
        let keys: Vec<&str> = ids.iter().map(|id| inds[id].group.as_str()).collect();
        let groups: Vec<Group> = if keys
            .iter()
            .all(|k| crate::domain::SIX_BATTLES.iter().any(|(b, _)| b == k))
        {
            crate::domain::six_battles()
        } else {
            let mut g: Vec<String> = keys.iter().map(|k| (*k).to_string()).collect();
            g.sort();
            g.dedup();
            g.into_iter()
                .map(|k| Group {
                    name: k.clone(),
                    key: k,
                })
                .collect()
        };
        let rank = |id: &IndicatorId| {
            let ind = &inds[id];
            (
                seed.iter()
                    .position(|s| region == "桃江县" && *s == id.as_str())
                    .unwrap_or(usize::MAX),
                groups
                    .iter()
                    .position(|g| g.key == ind.group)
                    .unwrap_or(usize::MAX),
                id.clone(),
            )
        };
        ids.sort_by_cached_key(rank);
        let plan = Plan {
            id: PlanId::parse(&slug).map_err(|e| StoreError::Codec(e.to_string()))?,
            region: region.clone(),
            year,
            issuer: if doc_number.starts_with("桃政办") {
                "桃江县人民政府办公室".into()
            } else {
                String::new()
            },
            title: plan_title,
            doc_number,
            groups,
        };
        for (n, id) in ids.iter().enumerate() {
            let ind = &inds[id];
            out.entries.insert(
                (id.clone(), year),
                PlanEntry {
                    plan: plan.id.clone(),
                    group: ind.group.clone(),
                    position: u32::try_from(n + 1).unwrap_or(u32::MAX),
                    lead_units: ind.lead_units.clone(),
                    co_units: ind.co_units.clone(),
                    source: ind.source.clone(),
                    also_in: ind.also_in.clone(),
                },
            );
        }
        out.plans.push(plan);
    }
    Ok(out)
}

/// Splits `桃江县…实施方案（桃政办发〔2023〕4号）` into the title and the 文号.
fn split_document(doc: &str) -> (String, String) {
    if let Some(body) = doc.strip_suffix('）') {
        if let Some(at) = body.rfind('（') {
            let number = &body[at + '（'.len_utf8()..];
            if number.ends_with('号') {
                return (body[..at].to_string(), number.to_string());
            }
        }
    }
    (doc.to_string(), String::new())
}

/// Format 3 → 4: plans.
///
/// Format 4 makes plans data: a `plans` tree of [`Plan`]s (a region's plan of one year,
/// with its ordered groups), indicators with a group key instead of the `Battle` enum
/// (and room for a catch-up base), targets carrying their [`PlanEntry`] (group, 序号,
/// lead units and source of that year), receivers filtering by group keys, and tokens
/// a region. So the step converts indicators, targets, the audit rows that hold either,
/// receivers and tokens (for the home region); makes one plan per region and year with targets (Taojiang's with its six battles, in
/// the order of the document); and gives every other value the new version byte.
///
/// Values are converted only while they carry version 2, and plans written only when
/// absent, so a step cut short resumes where it stopped and computes the same plans.
fn v3_to_v4(i: &Inner) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let found = plans_of(i)?;
    let mut converted = rewrite(&i.indicators, 2, |v| {
        codec::encode(&codec::decode_version::<IndicatorV2>(v, 2)?.upgrade())
    })?;
    let entry = |id: &IndicatorId, year: u16| found.entries.get(&(id.clone(), year)).cloned();
    for kv in i.targets.iter() {
        let (k, v) = kv?;
        if v.first() != Some(&2) {
            continue;
        }
        let old = codec::decode_version::<TargetV2>(&v, 2)?;
        let id = target_id(&k);
        let e = id.and_then(|id| entry(&id, old.year));
        i.targets.insert(k, codec::encode(&old.upgrade(e))?)?;
        converted += 1;
    }
    converted += rewrite(&i.audit, 2, |v| {
        let old = codec::decode_version::<AuditRecordV2>(v, 2)?;
        let change = match old.change {
            ChangeV2::Reading {
                indicator,
                period,
                old,
                new,
            } => Change::Reading {
                indicator,
                period,
                old,
                new,
            },
            ChangeV2::Target {
                indicator,
                year,
                old,
                new,
            } => Change::Target {
                old: old.map(|t| t.upgrade(entry(&indicator, year))),
                new: new.map(|t| t.upgrade(entry(&indicator, year))),
                indicator,
                year,
            },
            ChangeV2::Indicator { id, old, new } => Change::Indicator {
                id,
                old: old.map(|i| Box::new(i.upgrade())),
                new: new.map(|i| Box::new(i.upgrade())),
            },
            ChangeV2::Region { name, old, new } => Change::Region { name, old, new },
        };
        codec::encode(&AuditRecord {
            at: old.at,
            actor: old.actor,
            change,
            reason: old.reason,
            quality: old.quality,
        })
    })?;
    converted += rewrite(&i.webhooks, 2, |v| {
        codec::encode(&codec::decode_version::<WebhookV2>(v, 2)?.upgrade())
    })?;
    converted += rewrite(&i.tokens, 2, |v| {
        codec::encode(&codec::decode_version::<TokenV2>(v, 2)?.upgrade())
    })?;
    for tree in [
        &i.readings,
        &i.withdrawn,
        &i.idempotency,
        &i.units,
        &i.regions,
        &i.outbox,
        &i.deliveries,
        &i.schedules,
    ] {
        converted += rewrite(tree, 2, |v| restamp_to(v, codec::FORMAT_VERSION))?;
    }
    for key in [&b"catalogue"[..], NOTIFIER_STATE_KEY] {
        if let Some(v) = i.meta.get(key)? {
            if v.first() == Some(&2) {
                i.meta.insert(key, restamp_to(&v, codec::FORMAT_VERSION)?)?;
            }
        }
    }
    for p in &found.plans {
        if !i.plans.contains_key(p.id.as_str().as_bytes())? {
            i.plans
                .insert(p.id.as_str().as_bytes(), codec::encode(p)?)?;
        }
    }
    tracing::info!(
        values = converted,
        plans = found.plans.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "converted the values of format 3"
    );
    Ok(())
}

/// Makes the plans of a store restored from a backup written before plans: as the
/// format-4 step does, one per region and year with targets, and each target without a
/// plan entry gets its entry.
pub(super) fn attach_plans(i: &Inner) -> Result<(), StoreError> {
    let found = plans_of(i)?;
    for kv in i.targets.iter() {
        let (k, v) = kv?;
        let mut t: Target = codec::decode(&v)?;
        if t.plan.is_some() {
            continue;
        }
        let id = target_id(&k);
        if let Some(e) = id.and_then(|id| found.entries.get(&(id, t.year)).cloned()) {
            t.plan = Some(e);
            i.targets.insert(k, codec::encode(&t)?)?;
        }
    }
    for p in &found.plans {
        i.plans
            .insert(p.id.as_str().as_bytes(), codec::encode(p)?)?;
    }
    Ok(())
}

fn survey_v3_to_v4(db: &sled::Db) -> Result<Vec<String>, StoreError> {
    let mut counts = Vec::new();
    for name in ["indicators", "targets", "audit", "webhooks"] {
        let n = match existing_tree(db, name)? {
            Some(t) => {
                let mut n = 0;
                for kv in t.iter() {
                    if kv?.1.first() == Some(&2) {
                        n += 1;
                    }
                }
                n
            }
            None => 0,
        };
        counts.push(format!("{name} converted: {n}"));
    }
    let mut years: Vec<u16> = Vec::new();
    if let Some(t) = existing_tree(db, "targets")? {
        for kv in t.iter() {
            let (k, _) = kv?;
            let n = k.len();
            if n >= 3 {
                years.push(u16::from_be_bytes([k[n - 2], k[n - 1]]));
            }
        }
    }
    years.sort_unstable();
    years.dedup();
    counts.push(format!(
        "plans made from the targets of: {}",
        if years.is_empty() {
            "no year".to_string()
        } else {
            years
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    Ok(counts)
}

/// How many readings one transaction of the format-5 step moves its history into.
const HISTORY_CHUNK: usize = 1_000;

/// Format 4 → 5, layout only: no value changes its encoding.
///
/// - Each reading's history (the audit numbers of its changes), kept by format 4 as one
///   `revisions` key per change, is appended to the reading's value, or its tombstone's
///   once withdrawn ([`keys`]); `revisions` keeps only the notes sent without a figure.
///   Moved a chunk of readings per transaction, each reading's keys removed in the
///   transaction that appends them, so a step cut short resumes with what is left.
/// - The `by_period` index (one key per reading) becomes `periods`, each region's count
///   of readings per period, computed from the readings (so a rerun computes the same
///   counts), then the old tree is dropped.
fn v4_to_v5(i: &Inner) -> Result<(), StoreError> {
    use super::readings::{decode_reading, decode_withdrawn, encode_reading, encode_withdrawn};
    use sled::transaction::Transactional;
    let started = std::time::Instant::now();
    // Reading key → (index keys to remove, the audit numbers of its changes).
    let mut chunk: Vec<(Vec<u8>, Vec<sled::IVec>, Vec<u64>)> = Vec::new();
    let mut moved = 0usize;
    let flush = |chunk: &mut Vec<(Vec<u8>, Vec<sled::IVec>, Vec<u64>)>| -> Result<(), StoreError> {
        (&i.readings, &i.withdrawn, &i.revisions)
            .transaction(|(readings, withdrawn, revisions)| {
                for (key, index, seqs) in chunk.iter() {
                    let merge = |mut h: Vec<u64>| {
                        h.extend(seqs.iter().copied());
                        h.sort_unstable();
                        h.dedup();
                        h
                    };
                    // A value that cannot be read, or neither a reading nor a
                    // tombstone, is left as it was, for `zhibiao check` to report.
                    if let Some(v) = readings.get(key)? {
                        let Ok((r, h)) = decode_reading(&v) else {
                            continue;
                        };
                        let v = encode_reading(&r, &merge(h)).map_err(super::aborting)?;
                        readings.insert(key.as_slice(), v)?;
                    } else if let Some(v) = withdrawn.get(key)? {
                        let Ok((r, h)) = decode_withdrawn(&v) else {
                            continue;
                        };
                        let v = encode_withdrawn(r, &merge(h)).map_err(super::aborting)?;
                        withdrawn.insert(key.as_slice(), v)?;
                    } else {
                        continue;
                    }
                    for k in index {
                        revisions.remove(k)?;
                    }
                }
                Ok(())
            })
            .map_err(super::tx_err)?;
        chunk.clear();
        Ok(())
    };
    for kv in i.revisions.iter() {
        let (k, _) = kv?;
        let Some(seq) = keys::seq_of_revision_key(&k) else {
            continue;
        };
        let Some(row) = i.audit.get(keys::audit(seq))? else {
            continue;
        };
        if !matches!(
            codec::decode::<AuditRecord>(&row)?.change,
            Change::Reading { .. }
        ) {
            continue; // a note: it stays in the index
        }
        let reading = k[..k.len() - 8].to_vec();
        match chunk.last_mut() {
            Some((last, index, seqs)) if *last == reading => {
                index.push(k);
                seqs.push(seq);
            }
            _ => {
                if chunk.len() >= HISTORY_CHUNK {
                    flush(&mut chunk)?;
                }
                chunk.push((reading, vec![k], vec![seq]));
            }
        }
        moved += 1;
    }
    flush(&mut chunk)?;
    let counts = period_counts(i)?;
    for (k, n) in &counts {
        i.periods.insert(k.as_slice(), &n.to_be_bytes())?;
    }
    i.db.drop_tree("by_period")?;
    tracing::info!(
        revisions_moved = moved,
        period_counts = counts.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "moved each reading's history into it and counted the periods"
    );
    Ok(())
}

/// Each region's count of current readings per period, from the readings themselves.
fn period_counts(i: &Inner) -> Result<std::collections::BTreeMap<Vec<u8>, u32>, StoreError> {
    let mut regions: std::collections::HashMap<Vec<u8>, String> = Default::default();
    for kv in i.indicators.iter() {
        let (k, v) = kv?;
        regions.insert(k.to_vec(), read_indicator(&v)?.region);
    }
    let mut counts = std::collections::BTreeMap::new();
    for kv in i.readings.iter() {
        let (k, _) = kv?;
        let Some(sep) = k.iter().position(|b| *b == 0) else {
            continue;
        };
        let (Some(region), Some(p)) = (regions.get(&k[..sep]), keys::period_of_reading_key(&k))
        else {
            continue;
        };
        *counts
            .entry(keys::period_count(region, p.year(), p.month()))
            .or_insert(0u32) += 1;
    }
    Ok(counts)
}

fn survey_v4_to_v5(db: &sled::Db) -> Result<Vec<String>, StoreError> {
    let count = |name: &str| -> Result<usize, StoreError> {
        Ok(match existing_tree(db, name)? {
            Some(t) => t.len(),
            None => 0,
        })
    };
    Ok(vec![
        format!(
            "revisions index entries moved into their readings (notes stay): up to {}",
            count("revisions")?
        ),
        format!(
            "period index keys replaced by per-region counts: {}",
            count("by_period")?
        ),
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A store holding format 2's notifier keys, marked as format 2.
    fn v2_store(alerts: &[u8], cursor: Option<u64>, day: Option<&str>) -> Store {
        let s = Store::temporary().unwrap();
        let meta = &s.inner.meta;
        meta.insert(b"format", &[2]).unwrap();
        meta.insert("notify/alerts", alerts).unwrap();
        if let Some(c) = cursor {
            meta.insert("notify/cursor", &c.to_be_bytes()).unwrap();
        }
        if let Some(d) = day {
            meta.insert("notify/remind_day", d.as_bytes()).unwrap();
        }
        s
    }

    fn old_keys(s: &Store) -> usize {
        s.inner.meta.scan_prefix("notify/").count()
    }

    #[test]
    fn format_2_notifier_keys_become_one_record_and_a_second_run_changes_nothing() {
        let s = v2_store(
            br#"{"gdp-growth":["warning","behind"]}"#,
            Some(42),
            Some("2026-12-05"),
        );
        let want = NotifierState {
            cursor: Some(42),
            seen: Some(
                [(
                    "gdp-growth".to_string(),
                    ("warning".to_string(), "behind".to_string()),
                )]
                .into(),
            ),
            remind_day: Some(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()),
        };
        run_chain(&s.inner, 2).unwrap();
        assert_eq!(s.notifier_state().unwrap(), want);
        assert_eq!(old_keys(&s), 0);
        // As after a crash before the new format was written: the step runs again, and
        // leaves the record (changed since by the notifier) alone.
        let mut moved = want.clone();
        moved.cursor = Some(50);
        s.set_notifier_state(&moved).unwrap();
        run_chain(&s.inner, 2).unwrap();
        assert_eq!(s.notifier_state().unwrap(), moved);
        assert_eq!(
            s.inner.meta.get(b"format").unwrap().unwrap().as_ref(),
            [STORE_FORMAT]
        );
    }

    #[test]
    fn format_2_notifier_values_read_as_format_2_read_them() {
        // Empty alerts: not tracking. A bad cursor or day: none, as before.
        let s = v2_store(b"", Some(7), None);
        s.inner
            .meta
            .insert("notify/remind_day", b"yesterday")
            .unwrap();
        s.inner.meta.insert("notify/cursor", &[1, 2, 3]).unwrap();
        run_chain(&s.inner, 2).unwrap();
        assert_eq!(s.notifier_state().unwrap(), NotifierState::default());
        // Alerts the old notifier could not parse: it took them as absent and took the
        // current alerts anew; so does the converted state.
        let s = v2_store(b"{not json", Some(9), Some("2026-01-02"));
        run_chain(&s.inner, 2).unwrap();
        let st = s.notifier_state().unwrap();
        assert_eq!((st.cursor, st.seen), (Some(9), None));
        // No keys at all: nothing written.
        let s = Store::temporary().unwrap();
        run_chain(&s.inner, 2).unwrap();
        assert!(s.inner.meta.get(NOTIFIER_STATE_KEY).unwrap().is_none());
    }

    #[test]
    fn a_notifier_state_that_does_not_decode_is_an_error_not_a_reset() {
        let s = Store::temporary().unwrap();
        assert_eq!(s.notifier_state().unwrap(), NotifierState::default());
        s.inner
            .meta
            .insert(NOTIFIER_STATE_KEY, &[codec::FORMAT_VERSION, 0xff, 0xff])
            .unwrap();
        assert!(s.notifier_state().is_err());
        assert!(s.update_notifier_state(|st| st.cursor = Some(1)).is_err());
    }

    #[test]
    fn updating_one_part_of_the_notifier_state_keeps_the_others() {
        let s = Store::temporary().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        s.update_notifier_state(|st| st.remind_day = Some(day))
            .unwrap();
        let st = s
            .update_notifier_state(|st| {
                st.cursor = Some(3);
                st.seen = Some(BTreeMap::new());
            })
            .unwrap();
        assert_eq!(st.remind_day, Some(day));
        assert_eq!(s.notifier_state().unwrap(), st);
    }

    #[test]
    fn the_chain_has_one_step_per_format() {
        for (n, step) in STEPS.iter().enumerate() {
            assert_eq!(step.from as usize, n + 1);
        }
        assert_eq!(STEPS.len() as u8 + 1, STORE_FORMAT);
    }
}
