//! Indicators and their targets, with what describes them: the unit registry, the
//! regions, the index of indicators by code, and the catalogue that loads them all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{Transactional, TransactionalTree};

use super::audit::{audit_tx, Change};
use super::{abort, codec, dec, enc, keys, tx_err, Outcome, Store, StoreError, TxResult};
use crate::domain::{
    Catalogue, Indicator, IndicatorId, Plan, PlanId, Region, RegionSettings, Target, UnitEntry,
    UnitRegistry,
};

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
    /// The plan written: created, replaced or unchanged.
    pub plan: Option<String>,
}

impl Store {
    /// Whether the catalogue has been loaded into this store once.
    pub fn is_seeded(&self) -> Result<bool, StoreError> {
        Ok(self.inner.meta.contains_key(b"seeded")?)
    }

    /// The region and document of the last catalogue loaded, if any.
    pub fn catalogue_title(&self) -> Result<Option<CatalogueTitle>, StoreError> {
        self.inner
            .meta
            .get(b"catalogue")?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// The region of the catalogue loaded into this store (the home region), or an
    /// empty string before any catalogue.
    pub fn home_region(&self) -> Result<String, StoreError> {
        Ok(self
            .catalogue_title()?
            .map(|t| t.region)
            .unwrap_or_default())
    }

    pub fn indicator(&self, id: &IndicatorId) -> Result<Option<Indicator>, StoreError> {
        self.inner
            .indicators
            .get(keys::indicator(id))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every indicator, in id order. Plan order is the query layer's (it needs the
    /// targets of the year shown).
    pub fn indicators(&self) -> Result<Vec<Indicator>, StoreError> {
        self.inner
            .indicators
            .iter()
            .map(|kv| codec::decode::<Indicator>(&kv?.1))
            .collect()
    }

    pub fn plan(&self, id: &PlanId) -> Result<Option<Plan>, StoreError> {
        self.inner
            .plans
            .get(id.as_str().as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every plan, by region then year.
    pub fn plans(&self) -> Result<Vec<Plan>, StoreError> {
        let mut out = self
            .inner
            .plans
            .iter()
            .map(|kv| codec::decode::<Plan>(&kv?.1))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (&a.region, a.year, &a.id).cmp(&(&b.region, b.year, &b.id)));
        Ok(out)
    }

    /// The plan of `region` for `year`, if one was imported.
    pub fn plan_for(&self, region: &str, year: u16) -> Result<Option<Plan>, StoreError> {
        Ok(self
            .plans()?
            .into_iter()
            .find(|p| p.region == region && p.year == year))
    }

    /// Creates or replaces a plan's own record (title, 文号, groups), audited.
    pub fn put_plan(
        &self,
        plan: &Plan,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.plans, &i.audit)
            .transaction(|(plans, audit)| put_plan_tx(plans, audit, plan, actor, now))
            .map_err(tx_err)
    }

    /// How many indicators the store holds: a walk over the tree's keys, with no value
    /// decoded (unlike `indicators().len()`), for `/healthz`.
    pub fn indicator_count(&self) -> usize {
        self.inner.indicators.len()
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
        if let Some(other) = self.plan_for(&cat.plan.region, cat.plan.year)? {
            if other.id != cat.plan.id {
                return Err(StoreError::Catalogue(format!(
                    "{}已有{}年的方案“{}”（{}）：同一地区同一年度只能有一个方案，请用同一方案代码重新导入",
                    cat.plan.region, cat.plan.year, other.title, other.id
                )));
            }
        }
        // The latest year each indicator has a target for, before this import: a plan
        // for an earlier year than that leaves the indicator's definition alone.
        let mut latest_year = std::collections::HashMap::new();
        for (ind, _) in &cat.entries {
            if let Some(t) = self.targets(&ind.id)?.last() {
                latest_year.insert(ind.id.clone(), t.year);
            }
        }
        let home = self.catalogue_title()?;
        let set_title = home
            .as_ref()
            .is_none_or(|h| h.region == title.region && h.year <= title.year);
        (
            &i.indicators,
            &i.targets,
            &i.target_history,
            &i.audit,
            &i.units,
            &i.meta,
            &i.regions,
            &i.codes,
            &i.plans,
        )
            .transaction(
                |(indicators, targets, history, audit, units, meta, regions, codes, plans)| {
                    let mut report = ImportReport::default();
                    for (name, bytes) in &unit_rows {
                        units.insert(name.as_bytes(), bytes.clone())?;
                    }
                    for r in &cat.regions {
                        put_region_tx(regions, audit, r, actor, now)?;
                    }
                    report.plan = Some(
                        match put_plan_tx(plans, audit, &cat.plan, actor, now)? {
                            Outcome::Created => "created",
                            Outcome::Replaced => "replaced",
                            Outcome::Unchanged => "unchanged",
                        }
                        .to_string(),
                    );
                    for (ind, target) in &cat.entries {
                        let old: Option<Indicator> = indicators
                            .get(keys::indicator(&ind.id))?
                            .map(|v| dec(&v))
                            .transpose()?;
                        let year = target.as_ref().map_or(cat.year, |t| t.year);
                        let merged = match old {
                            Some(o) if latest_year.get(&ind.id).is_some_and(|&y| y > year) => o,
                            Some(o) => merge_definition(o, ind),
                            None => ind.clone(),
                        };
                        match put_indicator_tx(indicators, audit, codes, &merged, actor, now)? {
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
                    if set_title {
                        meta.insert(b"catalogue", enc(&title)?)?;
                    }
                    Ok(report)
                },
            )
            .map_err(tx_err)
            .and_then(|report| {
                // Due rules are settings beside the indicators, not audited history: the
                // catalogue's word replaces what was set for its indicators.
                for (ind, _) in cat.entries.iter().filter(|_| cat.sets_due_rules) {
                    let rule = cat.due_rules.get(&ind.id).copied();
                    if self.due_rule(&ind.id)? != rule {
                        self.set_due_rule_unlocked(&ind.id, rule)?;
                    }
                }
                Ok(report)
            })
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

    /// How `region`'s bulletins are issued, when that was set.
    pub fn region_settings(&self, region: &str) -> Result<Option<RegionSettings>, StoreError> {
        self.inner
            .region_settings
            .get(region.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Every region's bulletin settings, by region name.
    pub fn all_region_settings(&self) -> Result<Vec<(String, RegionSettings)>, StoreError> {
        self.inner
            .region_settings
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k).into_owned(), codec::decode(&v)?))
            })
            .collect()
    }

    /// Sets `region`'s bulletin settings, audited (`Change::RegionSettings`). The
    /// region must be registered.
    pub fn put_region_settings(
        &self,
        region: &str,
        settings: &RegionSettings,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let _writing = self.writing();
        let i = &self.inner;
        (&i.regions, &i.region_settings, &i.audit)
            .transaction(|(regions, tree, audit)| {
                if regions.get(region.as_bytes())?.is_none() {
                    return abort(StoreError::UnknownRegion(region.to_string()));
                }
                let old: Option<RegionSettings> =
                    tree.get(region.as_bytes())?.map(|v| dec(&v)).transpose()?;
                if old.as_ref() == Some(settings) {
                    return Ok(Outcome::Unchanged);
                }
                tree.insert(region.as_bytes(), enc(settings)?)?;
                let outcome = Outcome::of_write(old.is_some());
                audit_tx(
                    audit,
                    actor,
                    now,
                    (None, None),
                    Change::RegionSettings {
                        region: region.to_string(),
                        old,
                        new: Some(settings.clone()),
                    },
                )?;
                Ok(outcome)
            })
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

/// An indicator already stored, updated from a newer (or the same) plan: the plan's
/// word replaces the definition, but what the plan leaves blank (an English name,
/// benchmarks, quality rules) is kept rather than emptied.
fn merge_definition(old: Indicator, new: &Indicator) -> Indicator {
    let mut m = new.clone();
    if m.name_en.is_empty() {
        m.name_en = old.name_en;
    }
    if m.benchmarks.is_empty() {
        m.benchmarks = old.benchmarks;
        m.status_rule = old.status_rule;
    }
    if m.also_in.is_empty() && m.source.quote == old.source.quote {
        m.also_in = old.also_in;
    }
    if m.profile.is_none() {
        m.profile = old.profile;
    }
    if m.quality == crate::domain::QualityRules::default() {
        m.quality = old.quality;
    }
    if m.base_indicator.is_none() {
        m.base_indicator = old.base_indicator;
    }
    if m.base_shares.is_none() {
        m.base_shares = old.base_shares;
    }
    m
}

fn put_plan_tx(
    plans: &TransactionalTree,
    audit: &TransactionalTree,
    plan: &Plan,
    actor: &str,
    now: DateTime<Utc>,
) -> TxResult<Outcome> {
    let key = plan.id.as_str().as_bytes();
    let old: Option<Plan> = plans.get(key)?.map(|v| dec(&v)).transpose()?;
    if old.as_ref() == Some(plan) {
        return Ok(Outcome::Unchanged);
    }
    plans.insert(key, enc(plan)?)?;
    let outcome = Outcome::of_write(old.is_some());
    audit_tx(
        audit,
        actor,
        now,
        (None, None),
        Change::Plan {
            id: plan.id.clone(),
            old,
            new: Some(plan.clone()),
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
