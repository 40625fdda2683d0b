//! `zhibiao check`: the store verified against itself.
//!
//! Every value must decode, every index entry must point at real data and every row
//! must have its index entries, and the audit trail must agree with the current
//! readings. A restore runs it before it reports success; the crash test runs it after
//! every tenth crash.

use std::collections::BTreeMap;

use serde::Serialize;

use super::backup::{period_of, split_series};
use super::readings::{decode_reading, decode_withdrawn};
use super::{codec, keys, AuditRecord, Change, Store, StoreError, Token};
use crate::domain::{DueRule, Indicator, IndicatorId, Reading, Region, Target, UnitEntry, Webhook};

impl Store {
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
        // The last audit row of each reading must describe its current value, and the
        // numbers of its audit rows are its history.
        let mut last_audit: BTreeMap<Vec<u8>, (Option<Reading>, Vec<u64>)> = BTreeMap::new();
        for kv in i.audit.iter() {
            let (k, v) = kv?;
            r.audit += 1;
            let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8]));
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
                        let entry = last_audit
                            .entry(keys::reading(&indicator, period))
                            .or_default();
                        entry.0 = new;
                        entry.1.push(seq);
                    } else if let Change::Note {
                        indicator, period, ..
                    } = rec.change
                    {
                        if !i
                            .revisions
                            .contains_key(keys::revision(&indicator, period, seq))?
                        {
                            problem(format!(
                                "note {seq} ({indicator} {period}) is missing from the notes index"
                            ));
                        }
                    }
                }
            }
        }
        let regions: BTreeMap<IndicatorId, String> = i
            .indicators
            .iter()
            .filter_map(|kv| kv.ok())
            .filter_map(|(_, v)| codec::decode::<Indicator>(&v).ok())
            .map(|ind| (ind.id, ind.region))
            .collect();
        let mut counts: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
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
            match decode_reading(&v) {
                Err(e) => problem(format!("reading {}: {e}", label())),
                Ok((reading, history)) => match last_audit.remove(k.as_ref()) {
                    Some((Some(audited), seqs)) if audited == reading => {
                        if seqs != history {
                            problem(format!(
                                "reading {} keeps the history {history:?}, but its audit rows are {seqs:?}",
                                label()
                            ));
                        }
                    }
                    Some((Some(_), _)) => problem(format!(
                        "reading {} differs from its last audit row",
                        label()
                    )),
                    Some((None, _)) => problem(format!(
                        "reading {} exists but its last audit row withdrew it",
                        label()
                    )),
                    None => problem(format!("reading {} has no audit row", label())),
                },
            }
            if let Ok((id, rest)) = split_series(&k) {
                if let Ok(p) = period_of(rest) {
                    match regions.get(&id) {
                        Some(region) => {
                            *counts
                                .entry(keys::period_count(region, p.year(), p.month()))
                                .or_default() += 1
                        }
                        None => problem(format!("reading {id} {p} is of no indicator")),
                    }
                }
            }
        }
        // A withdrawn reading is a tombstone: it and a stored reading exclude each
        // other, and it keeps the history of its period.
        for kv in i.withdrawn.iter() {
            let (k, v) = kv?;
            let label = reading_label(&k);
            match decode_withdrawn(&v) {
                Err(e) => problem(format!("withdrawn reading {label}: {e}")),
                Ok((_, history)) => match last_audit.remove(k.as_ref()) {
                    Some((None, seqs)) if seqs == history => {}
                    Some((None, seqs)) => problem(format!(
                        "withdrawn reading {label} keeps the history {history:?}, but its audit rows are {seqs:?}"
                    )),
                    Some((Some(_), _)) => problem(format!(
                        "withdrawn reading {label}: its last audit row gives it a value"
                    )),
                    None => problem(format!("withdrawn reading {label} has no audit row")),
                },
            }
            if i.readings.contains_key(&k)? {
                problem(format!("reading {label} is both stored and withdrawn"));
            }
        }
        // Each region's count of readings per period is what the readings give.
        for kv in i.periods.iter() {
            let (k, v) = kv?;
            let stored = super::readings::count_of(&v);
            let counted = counts.remove(k.as_ref()).unwrap_or(0);
            if stored != counted {
                problem(format!(
                    "the count of {} is {stored}, but {counted} readings are stored",
                    count_label(&k)
                ));
            }
        }
        for (k, n) in counts {
            problem(format!(
                "{n} readings are stored, but the count of {} is missing",
                count_label(&k)
            ));
        }
        for (k, (last, _)) in last_audit {
            if last.is_some() {
                problem(format!(
                    "the audit trail says {} holds a value, but no reading is stored",
                    reading_label(&k)
                ));
            }
        }
        for kv in i.revisions.iter() {
            let (k, _) = kv?;
            if let Some(seq) = keys::seq_of_revision_key(&k) {
                if !i.audit.contains_key(keys::audit(seq))? {
                    problem(format!("notes index entry {seq} points at no audit row"));
                }
            }
        }
        let mut others = 0usize;
        decode_all!(i.regions, Region, "region", others);
        decode_all!(i.webhooks, Webhook, "webhook", others);
        decode_all!(i.schedules, DueRule, "due rule", others);
        decode_all!(i.plans, crate::domain::Plan, "plan", others);
        // A region's bulletin settings decode, pass their own checks, and belong to a
        // registered region: the store writes them only so.
        for kv in i.region_settings.iter() {
            let (k, v) = kv?;
            others += 1;
            let name = String::from_utf8_lossy(&k);
            match codec::decode::<crate::domain::RegionSettings>(&v) {
                Err(e) => problem(format!("region settings {name}: {e}")),
                Ok(s) => {
                    if let Err(e) = s.validate() {
                        problem(format!("region settings {name}: {}", e.message()));
                    }
                }
            }
            if !i.regions.contains_key(&k)? {
                problem(format!(
                    "region settings of '{name}' name no registered region"
                ));
            }
        }
        let _ = others;
        for kv in i.target_history.iter() {
            let (k, _) = kv?;
            match keys::seq_of_revision_key(&k) {
                Some(seq) if i.audit.contains_key(keys::audit(seq))? => {}
                _ => problem(format!(
                    "target history entry {} points at no audit row",
                    hex::encode(&k)
                )),
            }
        }
        for kv in i.flagged.iter() {
            let (k, v) = kv?;
            let label = reading_label(&k);
            if !i.readings.contains_key(&k)? {
                problem(format!("flag on {label} points at no reading"));
            }
            if v.len() != 8 || !i.audit.contains_key(&v)? {
                problem(format!("flag on {label} points at no audit row"));
            }
        }
        // Indicators and the code index agree both ways.
        for kv in i.indicators.iter() {
            let (_, v) = kv?;
            if let Ok(ind) = codec::decode::<Indicator>(&v) {
                if !i.codes.contains_key(keys::code(&ind.code, &ind.id))? {
                    problem(format!(
                        "indicator {} is missing from the code index ({})",
                        ind.id, ind.code
                    ));
                }
            }
        }
        for kv in i.codes.iter() {
            let (k, _) = kv?;
            let code = k.split(|b| *b == b'/').next().unwrap_or_default();
            let ind = match keys::id_of_code_key(&k) {
                Some(id) => i.indicators.get(keys::indicator(&id))?,
                None => None,
            };
            let agrees = ind
                .and_then(|v| codec::decode::<Indicator>(&v).ok())
                .is_some_and(|ind| ind.code.as_bytes() == code);
            if !agrees {
                problem(format!(
                    "code index entry {} points at no indicator with that code",
                    String::from_utf8_lossy(&k)
                ));
            }
        }
        // Tokens and the hash index agree both ways: authentication goes through the
        // index, so a token missing from it cannot sign in, and an entry left over
        // would name a token by a secret it no longer has.
        for kv in i.tokens.iter() {
            let (_, v) = kv?;
            if let Ok(t) = codec::decode::<Token>(&v) {
                let hash = t.hash_bytes();
                if hash.len() != 32 {
                    problem(format!("token '{}': its hash is not 64 hex digits", t.name));
                } else if i.token_hashes.get(&hash)?.as_deref() != Some(t.name.as_bytes()) {
                    problem(format!("token '{}' is missing from the hash index", t.name));
                }
            }
        }
        for kv in i.token_hashes.iter() {
            let (k, name) = kv?;
            let agrees = i
                .tokens
                .get(&name)?
                .and_then(|v| codec::decode::<Token>(&v).ok())
                .is_some_and(|t| t.hash_bytes() == k.as_ref());
            if !agrees {
                problem(format!(
                    "hash index entry for '{}' points at no token with that hash",
                    String::from_utf8_lossy(&name)
                ));
            }
        }
        Ok(r)
    }
}

/// `id period` of a readings-shaped key, or its hex when it is malformed.
/// "桃江县's readings in 2023-09", for a `periods` key.
fn count_label(k: &[u8]) -> String {
    let region = k.split(|b| *b == 0).next().unwrap_or_default();
    match keys::period_of_count_key(k) {
        Some(p) => format!("{}'s readings in {p}", String::from_utf8_lossy(region)),
        None => hex::encode(k),
    }
}

fn reading_label(k: &[u8]) -> String {
    split_series(k)
        .ok()
        .and_then(|(id, rest)| Some(format!("{id} {}", period_of(rest).ok()?)))
        .unwrap_or_else(|| hex::encode(k))
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
