//! Backup, restore and check.
//!
//! A backup is JSON Lines, one record per line, in a fixed order (documented in
//! `docs/reliability.md`):
//!
//! 1. a header `{"zhibiao_backup": 1, "format": <store format version>}`;
//! 2. `meta` (the catalogue's region, document and year), then every `unit`,
//!    `region`, `indicator`, `target`, `reading`, `withdrawn`, `audit` row, `token`,
//!    `idempotency` answer, `due` rule and `webhook` receiver, each tree in key order
//!    (the outbox and the delivery log are not backed up);
//! 3. an `end` record with the counts, so that a backup cut short (even at a line
//!    boundary) is refused on restore instead of restoring part of the store.
//!
//! Only primary data is written; the indexes (`revisions`, `target_history`,
//! `by_period`, `token_hashes`, `codes`, `flagged`) are rebuilt on restore. A backup
//! written before regions existed restores with every indicator in the catalogue's
//! region, as the format-2 migration does. Nothing in a backup depends on
//! when it was taken, so backup → restore → backup gives the same bytes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::{codec, keys, AuditRecord, CatalogueTitle, Change, Store, StoreError, Token};
use crate::domain::{
    DueRule, Indicator, IndicatorId, Period, Reading, Region, RegionLevel, Target, UnitEntry,
    Webhook,
};

/// The backup format's version (the header's `zhibiao_backup`).
pub const BACKUP_VERSION: u32 = 1;

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record {
    Meta {
        catalogue: Option<CatalogueTitle>,
    },
    Unit(UnitEntry),
    Region(Region),
    Indicator(Indicator),
    Target {
        indicator: IndicatorId,
        #[serde(flatten)]
        target: Target,
    },
    Reading {
        indicator: IndicatorId,
        period: Period,
        #[serde(flatten)]
        reading: Reading,
    },
    Withdrawn {
        indicator: IndicatorId,
        period: Period,
        last_revision: u32,
    },
    Audit {
        seq: u64,
        #[serde(flatten)]
        record: AuditRecord,
    },
    Token(Token),
    Idempotency {
        key: String,
        answer: String,
    },
    /// An indicator's due rule, where the catalogue sets one.
    Due {
        indicator: IndicatorId,
        rule: DueRule,
    },
    /// A webhook receiver (its URL and signing secret included, like a token's hash:
    /// keep backups as private as the store).
    Webhook(Webhook),
    End {
        #[serde(flatten)]
        counts: BackupCounts,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    zhibiao_backup: u32,
    format: u8,
}

/// What a backup or restore moved.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCounts {
    pub indicators: usize,
    pub targets: usize,
    pub readings: usize,
    pub audit: usize,
    pub tokens: usize,
}

/// Splits a series key (`id 0x00 rest`) into the id and the rest.
fn split_series(key: &[u8]) -> Result<(IndicatorId, &[u8]), StoreError> {
    let pos = key
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| StoreError::Codec("a series key without its separator".into()))?;
    let id = std::str::from_utf8(&key[..pos])
        .ok()
        .and_then(|s| IndicatorId::parse(s).ok())
        .ok_or_else(|| StoreError::Codec("a series key with a bad id".into()))?;
    Ok((id, &key[pos + 1..]))
}

fn period_of(rest: &[u8]) -> Result<Period, StoreError> {
    if rest.len() < 3 {
        return Err(StoreError::Codec("a reading key without its period".into()));
    }
    Period::new(u16::from_be_bytes([rest[0], rest[1]]), rest[2])
        .map_err(|e| StoreError::Codec(format!("a reading key with a bad period: {e}")))
}

fn line<W: Write>(out: &mut W, r: &impl Serialize) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, r).map_err(|e| StoreError::Codec(e.to_string()))?;
    out.write_all(b"\n")
        .map_err(|e| StoreError::Sled(sled::Error::Io(e)))
}

impl Store {
    /// Writes a consistent snapshot as JSON Lines. The trees are read while writers
    /// are held off by a store-wide read lock, so the snapshot is one point in time.
    pub fn backup<W: Write>(&self, out: &mut W) -> Result<BackupCounts, StoreError> {
        let _guard = self
            .inner
            .snapshot_lock
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let i = &self.inner;
        let mut n = BackupCounts::default();
        line(
            out,
            &Header {
                zhibiao_backup: BACKUP_VERSION,
                format: codec::FORMAT_VERSION,
            },
        )?;
        line(
            out,
            &Record::Meta {
                catalogue: self.catalogue_title()?,
            },
        )?;
        for kv in i.units.iter() {
            line(out, &Record::Unit(codec::decode(&kv?.1)?))?;
        }
        for kv in i.regions.iter() {
            line(out, &Record::Region(codec::decode(&kv?.1)?))?;
        }
        for kv in i.indicators.iter() {
            line(out, &Record::Indicator(codec::decode(&kv?.1)?))?;
            n.indicators += 1;
        }
        for kv in i.targets.iter() {
            let (k, v) = kv?;
            let (indicator, _) = split_series(&k)?;
            line(
                out,
                &Record::Target {
                    indicator,
                    target: codec::decode(&v)?,
                },
            )?;
            n.targets += 1;
        }
        for kv in i.readings.iter() {
            let (k, v) = kv?;
            let (indicator, rest) = split_series(&k)?;
            line(
                out,
                &Record::Reading {
                    indicator,
                    period: period_of(rest)?,
                    reading: codec::decode(&v)?,
                },
            )?;
            n.readings += 1;
        }
        for kv in i.withdrawn.iter() {
            let (k, v) = kv?;
            let (indicator, rest) = split_series(&k)?;
            line(
                out,
                &Record::Withdrawn {
                    indicator,
                    period: period_of(rest)?,
                    last_revision: codec::decode(&v)?,
                },
            )?;
        }
        for kv in i.audit.iter() {
            let (k, v) = kv?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Codec("an audit key is not 8 bytes".into()))?,
            );
            line(
                out,
                &Record::Audit {
                    seq,
                    record: codec::decode(&v)?,
                },
            )?;
            n.audit += 1;
        }
        for kv in i.tokens.iter() {
            line(out, &Record::Token(codec::decode(&kv?.1)?))?;
            n.tokens += 1;
        }
        for kv in i.idempotency.iter() {
            let (k, v) = kv?;
            line(
                out,
                &Record::Idempotency {
                    key: hex::encode(&k),
                    answer: hex::encode(&v),
                },
            )?;
        }
        for (indicator, rule) in self.due_rules()? {
            line(out, &Record::Due { indicator, rule })?;
        }
        for kv in i.webhooks.iter() {
            line(out, &Record::Webhook(codec::decode(&kv?.1)?))?;
        }
        line(out, &Record::End { counts: n.clone() })?;
        out.flush()
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(n)
    }

    /// Loads a backup into this store, which must be empty. Indexes are rebuilt and
    /// the audit sequence continues after the restored rows. No audit rows are added:
    /// the backup carries the history itself.
    pub fn restore<R: BufRead>(&self, input: R) -> Result<BackupCounts, StoreError> {
        let i = &self.inner;
        if !i.indicators.is_empty() || !i.readings.is_empty() || !i.audit.is_empty() {
            return Err(StoreError::Backup(
                "restore needs an empty store; this one already holds data".into(),
            ));
        }
        let mut n = BackupCounts::default();
        let mut lines = input.lines().enumerate();
        let bad = |no: usize, e: String| StoreError::Backup(format!("line {}: {e}", no + 1));
        let (no, first) = lines
            .next()
            .ok_or_else(|| StoreError::Backup("the file is empty".into()))?;
        let first = first.map_err(|e| bad(no, e.to_string()))?;
        let header: Header = serde_json::from_str(&first)
            .map_err(|e| bad(no, format!("not a zhibiao backup header ({e})")))?;
        if header.zhibiao_backup != BACKUP_VERSION {
            return Err(bad(
                no,
                format!(
                    "backup version {} is not supported (this build reads {BACKUP_VERSION})",
                    header.zhibiao_backup
                ),
            ));
        }
        let mut max_seq = None::<u64>;
        let mut ended = false;
        let mut home = String::new();
        // Reading key → the audit row of its latest revision, when that one was flagged.
        let mut flags: BTreeMap<Vec<u8>, Option<u64>> = BTreeMap::new();
        for (no, l) in lines {
            let l = l.map_err(|e| bad(no, e.to_string()))?;
            if l.trim().is_empty() {
                continue;
            }
            if ended {
                return Err(bad(no, "data after the end record".into()));
            }
            let rec: Record = serde_json::from_str(&l).map_err(|e| bad(no, e.to_string()))?;
            match rec {
                Record::End { counts } => {
                    if counts != n {
                        return Err(bad(
                            no,
                            format!("the end record counts {counts:?} but the backup held {n:?}"),
                        ));
                    }
                    ended = true;
                }
                Record::Meta { catalogue } => {
                    if let Some(c) = catalogue {
                        home = c.region.clone();
                        i.meta.insert(b"catalogue", codec::encode(&c)?)?;
                    }
                    i.meta.insert(b"seeded", &[1u8])?;
                }
                Record::Unit(u) => {
                    i.units.insert(u.name.as_bytes(), codec::encode(&u)?)?;
                }
                Record::Region(r) => {
                    r.validate().map_err(|e| bad(no, e.to_string()))?;
                    i.regions.insert(r.name.as_bytes(), codec::encode(&r)?)?;
                }
                Record::Indicator(mut ind) => {
                    ind.fill_region(&home);
                    i.codes.insert(keys::code(&ind.code, &ind.id), &[])?;
                    i.indicators
                        .insert(keys::indicator(&ind.id), codec::encode(&ind)?)?;
                    n.indicators += 1;
                }
                Record::Target { indicator, target } => {
                    i.targets.insert(
                        keys::target(&indicator, target.year),
                        codec::encode(&target)?,
                    )?;
                    n.targets += 1;
                }
                Record::Reading {
                    indicator,
                    period,
                    reading,
                } => {
                    i.readings
                        .insert(keys::reading(&indicator, period), codec::encode(&reading)?)?;
                    i.by_period
                        .insert(keys::by_period(period, &indicator), &[])?;
                    n.readings += 1;
                }
                Record::Withdrawn {
                    indicator,
                    period,
                    last_revision,
                } => {
                    i.withdrawn.insert(
                        keys::reading(&indicator, period),
                        codec::encode(&last_revision)?,
                    )?;
                }
                Record::Audit { seq, mut record } => {
                    match &mut record.change {
                        Change::Reading {
                            indicator,
                            period,
                            new,
                            ..
                        } => {
                            i.revisions
                                .insert(keys::revision(indicator, *period, seq), &[])?;
                            let flagged = new.is_some() && record.quality.is_some();
                            flags.insert(keys::reading(indicator, *period), flagged.then_some(seq));
                        }
                        Change::Target {
                            indicator, year, ..
                        } => {
                            i.target_history
                                .insert(keys::target_history(indicator, *year, seq), &[])?;
                        }
                        Change::Indicator { old, new, .. } => {
                            for ind in old.iter_mut().chain(new.iter_mut()) {
                                ind.fill_region(&home);
                            }
                        }
                        Change::Region { .. } => {}
                    }
                    i.audit.insert(keys::audit(seq), codec::encode(&record)?)?;
                    max_seq = max_seq.max(Some(seq));
                    n.audit += 1;
                }
                Record::Token(t) => {
                    i.token_hashes.insert(t.hash_bytes(), t.name.as_bytes())?;
                    i.tokens.insert(t.name.as_bytes(), codec::encode(&t)?)?;
                    n.tokens += 1;
                }
                Record::Idempotency { key, answer } => {
                    let k = hex::decode(&key).map_err(|e| bad(no, e.to_string()))?;
                    let v = hex::decode(&answer).map_err(|e| bad(no, e.to_string()))?;
                    i.idempotency.insert(k, v)?;
                }
                Record::Due { indicator, rule } => {
                    i.schedules
                        .insert(indicator.as_str().as_bytes(), codec::encode(&rule)?)?;
                }
                Record::Webhook(w) => {
                    i.webhooks.insert(w.name.as_bytes(), codec::encode(&w)?)?;
                }
            }
        }
        if !ended {
            return Err(StoreError::Backup(
                "no end record: the file was cut short, so nothing is restored".into(),
            ));
        }
        for (key, seq) in flags {
            if let Some(seq) = seq {
                i.flagged.insert(key, &keys::audit(seq))?;
            }
        }
        if !home.is_empty() && !i.regions.contains_key(home.as_bytes())? {
            let region = Region {
                name: home.clone(),
                level: RegionLevel::County,
                parent: None,
            };
            i.regions.insert(home.as_bytes(), codec::encode(&region)?)?;
        }
        // New audit rows must sort after the restored ones: move sled's id generator
        // past the largest restored sequence.
        if let Some(max) = max_seq {
            while i.db.generate_id()? <= max {}
        }
        i.db.flush()?;
        Ok(n)
    }

    /// Verifies the store: every value decodes, every index entry points at real data,
    /// and the audit trail agrees with the current readings. Returns the problems found.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let i = &self.inner;
        let mut r = CheckReport::default();
        let mut problem = |s: String| {
            if r.problems.len() < 1000 {
                r.problems.push(s);
            }
            r.problem_count += 1;
        };
        macro_rules! decode_all {
            ($tree:expr, $ty:ty, $name:literal, $count:expr) => {
                for kv in $tree.iter() {
                    let (k, v) = kv?;
                    $count += 1;
                    if let Err(e) = codec::decode::<$ty>(&v) {
                        problem(format!("{} {}: {e}", $name, String::from_utf8_lossy(&k)));
                    }
                }
            };
        }
        decode_all!(i.indicators, Indicator, "indicator", r.indicators);
        decode_all!(i.targets, Target, "target", r.targets);
        decode_all!(i.units, UnitEntry, "unit", r.units);
        decode_all!(i.tokens, Token, "token", r.tokens);
        // The last audit row of each reading must describe its current value.
        let mut last_audit: BTreeMap<Vec<u8>, Option<Reading>> = BTreeMap::new();
        for kv in i.audit.iter() {
            let (k, v) = kv?;
            r.audit += 1;
            match codec::decode::<AuditRecord>(&v) {
                Err(e) => problem(format!("audit {}: {e}", hex::encode(&k))),
                Ok(rec) => {
                    if let Change::Reading {
                        indicator,
                        period,
                        new,
                        ..
                    } = rec.change
                    {
                        let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
                        if !i
                            .revisions
                            .contains_key(keys::revision(&indicator, period, seq))?
                        {
                            problem(format!(
                                "audit row {seq} ({indicator} {period}) is missing from the revisions index"
                            ));
                        }
                        last_audit.insert(keys::reading(&indicator, period), new);
                    }
                }
            }
        }
        for kv in i.readings.iter() {
            let (k, v) = kv?;
            r.readings += 1;
            let label = || {
                split_series(&k)
                    .ok()
                    .map(|(id, rest)| {
                        format!(
                            "{id} {}",
                            period_of(rest).map(|p| p.to_string()).unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| hex::encode(&k))
            };
            match codec::decode::<Reading>(&v) {
                Err(e) => problem(format!("reading {}: {e}", label())),
                Ok(reading) => match last_audit.remove(k.as_ref()) {
                    Some(Some(audited)) if audited == reading => {}
                    Some(Some(_)) => problem(format!(
                        "reading {} differs from its last audit row",
                        label()
                    )),
                    Some(None) => problem(format!(
                        "reading {} exists but its last audit row withdrew it",
                        label()
                    )),
                    None => problem(format!("reading {} has no audit row", label())),
                },
            }
            if let Ok((id, rest)) = split_series(&k) {
                if let Ok(p) = period_of(rest) {
                    if !i.by_period.contains_key(keys::by_period(p, &id))? {
                        problem(format!("reading {id} {p} is missing from the period index"));
                    }
                }
            }
        }
        for (k, last) in last_audit {
            if last.is_some() {
                problem(format!(
                    "the audit trail says {} holds a value, but no reading is stored",
                    split_series(&k)
                        .map(|(id, rest)| format!(
                            "{id} {}",
                            period_of(rest).map(|p| p.to_string()).unwrap_or_default()
                        ))
                        .unwrap_or_default()
                ));
            }
        }
        for kv in i.revisions.iter() {
            let (k, _) = kv?;
            if let Some(seq) = keys::seq_of_revision_key(&k) {
                if !i.audit.contains_key(keys::audit(seq))? {
                    problem(format!("revision index entry {seq} points at no audit row"));
                }
            }
        }
        Ok(r)
    }
}

/// What `zhibiao check` found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CheckReport {
    pub indicators: usize,
    pub targets: usize,
    pub readings: usize,
    pub audit: usize,
    pub units: usize,
    pub tokens: usize,
    pub problem_count: usize,
    /// The first problems found (at most 1,000).
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }
}
