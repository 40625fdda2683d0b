//! One indicator's attainment: its year's target and readings from the store, the
//! engine's evaluation, then its benchmarks and rank among the regions that share its
//! code. The API's `/v1/indicators/{id}/attainment`, `/v1/attainment?as_known_at=`
//! and the CLI's `attainment` all come through here.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::memo::{Deps, Evaluation};
use super::{Queries, Result};
use crate::domain::{Indicator, IndicatorId, Period, Target};
use crate::engine::compare::Peer;
use crate::engine::{self, Attainment};
use crate::store::Store;

/// A year's target (if any) and reading values, as the engine takes them.
pub type YearSeries = (Option<Target>, Vec<(Period, f64)>);

/// One indicator's target and reading values for `year`, from the store as it stands,
/// or as it stood at `known_at`.
pub fn year_series(
    s: &Store,
    id: &IndicatorId,
    year: u16,
    known_at: Option<DateTime<Utc>>,
) -> Result<YearSeries> {
    match known_at {
        None => Ok((s.target(id, year)?, s.year_values(id, year)?)),
        Some(at) => {
            let values = s
                .readings_as_known_at(
                    id,
                    Period::new(year, 1).ok(),
                    Period::new(year, 12).ok(),
                    at,
                )?
                .into_iter()
                .map(|(p, r)| (p, r.value))
                .collect();
            Ok((s.target_as_known_at(id, year, at)?, values))
        }
    }
}

/// Last year's cumulative monthly shares from a base's year-to-date readings:
/// s₁(m) = YTD(m) / YTD(12). Months without a reading (or a year without a December
/// figure, or with a total of 0) give NaN, and the engine falls back to the months.
pub fn shares_of(last_year: &[(Period, f64)]) -> Option<[f64; 12]> {
    let total = last_year.iter().find(|(p, _)| p.month() == 12)?.1;
    if total == 0.0 || !total.is_finite() {
        return None;
    }
    let mut out = [f64::NAN; 12];
    for (p, v) in last_year {
        out[usize::from(p.month()) - 1] = v / total;
    }
    Some(out)
}

/// What the engine needs beyond the indicator's own year: last year's shares for a
/// base-weighted catch-up, from its `base_indicator`'s readings of the year before
/// (as the store stands, or stood at `known_at`), else its `base_shares`.
pub fn inputs_for(
    s: &Store,
    ind: &Indicator,
    year: u16,
    known_at: Option<DateTime<Utc>>,
) -> Result<engine::Inputs> {
    let mut base_shares = None;
    if let (Some(base), Some(last)) = (&ind.base_indicator, year.checked_sub(1)) {
        base_shares = shares_of(&year_series(s, base, last, known_at)?.1);
    }
    if base_shares.is_none() {
        base_shares = ind
            .base_shares
            .as_ref()
            .map(|p| std::array::from_fn(|i| p.at(i as u8 + 1)));
    }
    Ok(engine::Inputs { base_shares })
}

/// Marks each absent or late figure as overdue (逾期未报) or not yet due (未到报送期)
/// on the reporting date `on`, under each indicator's due rule.
pub fn mark_reporting(
    s: &Store,
    rows: &mut [(Indicator, Attainment)],
    on: chrono::NaiveDate,
) -> Result<()> {
    for (ind, a) in rows.iter_mut() {
        let rule = super::schedule::rule_for(s, ind)?;
        a.reporting = Some(engine::calendar::reporting(
            ind.frequency,
            rule,
            a.as_of,
            on,
            a.actual_period,
        ));
    }
    Ok(())
}

impl Queries {
    /// [`mark_reporting`] against this store's due rules.
    pub fn mark_reporting(
        &self,
        rows: &mut [(Indicator, Attainment)],
        on: chrono::NaiveDate,
    ) -> Result<()> {
        mark_reporting(&self.store, rows, on)
    }

    /// One indicator's year at `as_of`, from the store as it stands or as it stood at
    /// `known_at`. As it stands, the answer is kept in the memo until the next write.
    pub fn attainment(
        &self,
        ind: &Indicator,
        as_of: Period,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<Attainment> {
        if known_at.is_some() {
            return Ok(self.evaluate(ind, as_of, known_at)?.attainment);
        }
        let seq = self.memo_at()?;
        if let Some(e) = self.memo.evaluation(seq, &ind.id, as_of) {
            return Ok(e.attainment.clone());
        }
        let e = Arc::new(self.evaluate(ind, as_of, None)?);
        self.memo
            .put_evaluation(seq, ind.id.clone(), as_of, e.clone());
        Ok(e.attainment.clone())
    }

    /// Every indicator at `as_of`, each evaluated as [`Queries::attainment`] does.
    pub fn attainment_all(
        &self,
        as_of: Period,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<(Indicator, Attainment)>> {
        let order = self.plan_order(as_of.year())?;
        let mut rows = Vec::new();
        for ind in self.store.indicators()? {
            let a = self.attainment(&ind, as_of, known_at)?;
            // As on the board: a year with a plan shows that plan's indicators.
            if a.target.is_none() && order.plan_of(&ind.region).is_some() {
                continue;
            }
            let ind = ind.in_plan(a.target.as_ref().and_then(|t| t.plan.as_ref()));
            rows.push((ind, a));
        }
        rows.sort_by_cached_key(|(i, a)| order.key(i, a));
        mark_reporting(
            &self.store,
            &mut rows,
            engine::calendar::default_reporting_date(as_of),
        )?;
        Ok(rows)
    }

    /// Evaluates one indicator, noting what the answer was read from.
    fn evaluate(
        &self,
        ind: &Indicator,
        as_of: Period,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<Evaluation> {
        let s = &self.store;
        let year = as_of.year();
        let (target, values) = year_series(s, &ind.id, year, known_at)?;
        // The year's plan decides the group, the units and the source.
        let in_plan = ind.in_plan(target.as_ref().and_then(|t| t.plan.as_ref()));
        let ind = &in_plan;
        let inputs = inputs_for(s, ind, year, known_at)?;
        let mut a = engine::evaluate_with(ind, target.as_ref(), &values, as_of, inputs);
        let mut readings: BTreeSet<IndicatorId> = [ind.id.clone()].into_iter().collect();
        // Benchmarks and rank: the indicators of other regions that share the code, read
        // through the code index (a key scan, and point reads only when there are others).
        let ids = s.ids_with_code(&ind.code)?;
        if ids.len() > 1 || !ind.benchmarks.is_empty() {
            let mut same_code = Vec::with_capacity(ids.len());
            for id in &ids {
                if *id == ind.id {
                    same_code.push(ind.clone());
                } else {
                    same_code.extend(s.indicator(id)?);
                }
            }
            let mut series = Vec::with_capacity(same_code.len());
            for other in &same_code {
                readings.insert(other.id.clone());
                // The indicator's own year is read already.
                let v = if other.id == ind.id {
                    values.clone()
                } else {
                    year_series(s, &other.id, year, known_at)?.1
                };
                series.push(
                    v.into_iter()
                        .filter(|(p, _)| *p <= as_of)
                        .collect::<Vec<_>>(),
                );
            }
            let peers: Vec<Peer<'_>> = same_code
                .iter()
                .zip(&series)
                .map(|(indicator, series)| Peer { indicator, series })
                .collect();
            engine::compare::compare(ind, &mut a, &peers, &self.region_map()?);
        }
        Ok(Evaluation {
            attainment: a,
            deps: Deps {
                readings,
                targets: [ind.id.clone()].into_iter().collect(),
                base: ind.base_indicator.clone(),
                year,
                day: None,
            },
        })
    }
}

impl Queries {
    /// The attainment list of `GET /v1/attainment` and `zhibiao attainment`: the
    /// selected indicators at `as_of` (or the default), of the statuses asked (any when
    /// none is), from
    /// the shared board as the store stands, or evaluated afresh as it stood at
    /// `known_at`. Both callers come here, so they agree on every row.
    pub fn attainment_list(
        &self,
        as_of: Option<Period>,
        known_at: Option<DateTime<Utc>>,
        sel: &super::Selection,
        status: &[engine::Status],
        on: Option<chrono::NaiveDate>,
    ) -> Result<(Period, Vec<(Indicator, Attainment)>)> {
        let as_of = self.resolve_as_of(as_of)?;
        let mut rows: Vec<(Indicator, Attainment)> = match known_at {
            None => self
                .board(as_of)?
                .rows
                .iter()
                .filter(|r| sel.keeps(&r.indicator))
                .filter(|r| status.is_empty() || status.contains(&r.attainment.status))
                .map(|r| (r.indicator.clone(), r.attainment.clone()))
                .collect(),
            Some(at) => self
                .attainment_all(as_of, Some(at))?
                .into_iter()
                .filter(|(i, a)| sel.keeps(i) && (status.is_empty() || status.contains(&a.status)))
                .collect(),
        };
        // The board's rows are marked for the default reporting date; another date,
        // or an answer as known at some time, is marked here.
        if on.is_some() || known_at.is_some() {
            let on = on.unwrap_or_else(|| engine::calendar::default_reporting_date(as_of));
            mark_reporting(&self.store, &mut rows, on)?;
        }
        Ok((as_of, rows))
    }
}
