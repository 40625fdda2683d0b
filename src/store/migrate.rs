//! Store format migrations, run once by [`Store::open`](super::Store::open) when it
//! finds an older `meta/format`.
//!
//! # Format 1 → 2 (regions)
//!
//! Format 2 added `region`, `code`, `benchmarks`, `status_rule`, `escalate_after` and
//! `quality` to [`Indicator`], and `quality` to [`AuditRecord`]. bincode does not
//! describe what it stores, so the old layouts are kept here, decoded and converted:
//! every indicator gets the catalogue's region and its id as its code, in the
//! `indicators` tree and inside the audit rows that record indicator changes. Values
//! whose layout did not change (targets, readings, tokens, units, the catalogue title,
//! withdrawn revision numbers, stored idempotent answers) only get their version byte
//! rewritten. The `regions`
//! tree gains the home region, and `codes` is built.
//!
//! Each value is converted only while it still carries version 1, and `meta/format`
//! is written last, so a migration cut short by a crash resumes where it stopped on the
//! next open.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, keys, AuditRecord, CatalogueTitle, Change, Inner, StoreError};
use crate::domain::{
    Battle, Direction, Frequency, Indicator, IndicatorId, Kind, Period, Profile, QualityRules,
    Reading, Region, RegionLevel, Source, SourceRef, StatusRule, Target, Thresholds,
    DEFAULT_ESCALATE_AFTER,
};

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
    fn upgrade(self, home: &str) -> Indicator {
        Indicator {
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
        old: Option<Target>,
        new: Option<Target>,
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
    fn upgrade(self, home: &str) -> AuditRecord {
        let up = |i: Option<Box<IndicatorV1>>| i.map(|i| Box::new(i.upgrade(home)));
        let change = match self.change {
            ChangeV1::Reading {
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
            ChangeV1::Target {
                indicator,
                year,
                old,
                new,
            } => Change::Target {
                indicator,
                year,
                old,
                new,
            },
            ChangeV1::Indicator { id, old, new } => Change::Indicator {
                id,
                old: up(old),
                new: up(new),
            },
        };
        AuditRecord {
            at: self.at,
            actor: self.actor,
            change,
            reason: self.reason,
            quality: None,
        }
    }
}

/// Rewrites every version-1 value of `tree` with `convert`, in batches.
fn rewrite(
    tree: &sled::Tree,
    convert: impl Fn(&[u8]) -> Result<Vec<u8>, StoreError>,
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    let mut total = 0;
    for kv in tree.iter() {
        let (k, v) = kv?;
        if v.first() != Some(&1) {
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

/// The same body under the new version byte.
fn restamp(v: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = v.to_vec();
    out[0] = codec::FORMAT_VERSION;
    Ok(out)
}

fn upgrade<Old: serde::de::DeserializeOwned, New: Serialize>(
    v: &[u8],
    f: impl Fn(Old) -> New,
) -> Result<Vec<u8>, StoreError> {
    codec::encode(&f(codec::decode_version::<Old>(v, 1)?))
}

/// Migrates a format-1 store to format 2.
pub(super) fn v1_to_v2(i: &Inner) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    // The catalogue title's layout is unchanged; read it under either version byte.
    let home = match i.meta.get(b"catalogue")? {
        Some(v) if v.first() == Some(&1) => codec::decode_version::<CatalogueTitle>(&v, 1)?.region,
        Some(v) => codec::decode::<CatalogueTitle>(&v)?.region,
        None => String::new(),
    };
    let mut converted = 0;
    for tree in [
        &i.units,
        &i.targets,
        &i.readings,
        &i.withdrawn,
        &i.tokens,
        &i.idempotency,
    ] {
        converted += rewrite(tree, restamp)?;
    }
    converted += rewrite(&i.indicators, |v| {
        upgrade(v, |old: IndicatorV1| old.upgrade(&home))
    })?;
    converted += rewrite(&i.audit, |v| {
        upgrade(v, |old: AuditRecordV1| old.upgrade(&home))
    })?;
    for kv in i.indicators.iter() {
        let ind: Indicator = codec::decode(&kv?.1)?;
        i.codes.insert(keys::code(&ind.code, &ind.id), &[])?;
    }
    if !home.is_empty() && !i.regions.contains_key(home.as_bytes())? {
        let region = Region {
            name: home.clone(),
            level: RegionLevel::County,
            parent: None,
        };
        i.regions.insert(home.as_bytes(), codec::encode(&region)?)?;
    }
    if let Some(v) = i.meta.get(b"catalogue")? {
        if v.first() == Some(&1) {
            i.meta.insert(b"catalogue", restamp(&v)?)?;
        }
    }
    i.db.flush()?;
    i.meta.insert(b"format", &[codec::FORMAT_VERSION])?;
    i.db.flush()?;
    tracing::info!(
        values = converted,
        region = %home,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "migrated the store from format 1 to 2 (regions)"
    );
    Ok(())
}
