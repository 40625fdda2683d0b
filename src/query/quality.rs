//! The quality checks (数据质量审核) a new figure passes before it is written: the
//! indicator's stored readings of the period's year and the year before are read, and
//! `engine::quality::check` runs on the figure, unless it is an unchanged
//! resubmission. A batch is vetted in order with one [`Vetter`], so that each row is
//! checked against the store and against the rows before it in the same batch.
//!
//! The answer is a [`Verdict`]; what a refusal looks like on the wire is the caller's.

use std::collections::HashMap;

use crate::domain::{Finding, Indicator, IndicatorId, Period, QualityNote, Reading};
use crate::engine::quality;
use crate::store::{BatchRow, Store};

use super::{Queries, Result};

/// What the checks made of one figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// It passes, or changes nothing: store it as it is.
    Passed,
    /// It fails, but comes with an explanation: store it flagged with this note.
    Flagged(QualityNote),
    /// It fails and is not explained: refuse it, for these findings.
    Failed(Vec<Finding>),
}

impl Verdict {
    /// The note to store the figure with, or the findings it is refused for.
    pub fn into_result(self) -> std::result::Result<Option<QualityNote>, Vec<Finding>> {
        match self {
            Verdict::Passed => Ok(None),
            Verdict::Flagged(note) => Ok(Some(note)),
            Verdict::Failed(findings) => Err(findings),
        }
    }
}

impl Queries {
    /// Vets one figure against the store (see [`Vetter::vet`]).
    pub fn vet(
        &self,
        ind: &Indicator,
        row: &BatchRow,
        explanation: Option<&str>,
    ) -> Result<Verdict> {
        self.vetter().vet(ind, row, explanation)
    }

    /// A [`Vetter`] for the rows of one batch, in order.
    pub fn vetter(&self) -> Vetter<'_> {
        Vetter::new(self.store())
    }
}

/// Vets the rows of one batch in order: each row against the store and the rows vetted
/// before it (which take the place of stored figures of the same period). Reads each
/// indicator's stored years once.
#[derive(Debug)]
pub struct Vetter<'s> {
    store: &'s Store,
    /// Stored readings by indicator and year of the period (see [`stored_around`]).
    stored: HashMap<(IndicatorId, u16), Vec<(Period, Reading)>>,
    /// Figures of rows already vetted and accepted, by indicator.
    earlier: HashMap<IndicatorId, Vec<(Period, f64)>>,
}

impl<'s> Vetter<'s> {
    pub fn new(store: &'s Store) -> Vetter<'s> {
        Vetter {
            store,
            stored: HashMap::new(),
            earlier: HashMap::new(),
        }
    }

    /// Vets `row` of indicator `ind`, given the row's explanation if it has one. A
    /// row that is not refused counts as an earlier row for the ones after it.
    pub fn vet(
        &mut self,
        ind: &Indicator,
        row: &BatchRow,
        explanation: Option<&str>,
    ) -> Result<Verdict> {
        let key = (row.indicator.clone(), row.period.year());
        if !self.stored.contains_key(&key) {
            let v = stored_around(self.store, &row.indicator, row.period)?;
            self.stored.insert(key.clone(), v);
        }
        let before = self.earlier.entry(row.indicator.clone()).or_default();
        let verdict = verdict(ind, row, explanation, &self.stored[&key], before);
        if !matches!(verdict, Verdict::Failed(_)) {
            before.push((row.period, row.input.value));
        }
        Ok(verdict)
    }
}

/// One indicator's stored readings of the year of `period` and the year before: what
/// the quality checks compare a new figure with.
pub fn stored_around(
    s: &Store,
    id: &IndicatorId,
    period: Period,
) -> Result<Vec<(Period, Reading)>> {
    let from = Period::new(period.year().saturating_sub(1), 1).ok();
    let to = Period::new(period.year(), 12).ok();
    Ok(s.readings(id, from, to)?)
}

/// Runs the quality checks on one row: [`Verdict::Passed`] when it passes (or changes
/// nothing), [`Verdict::Flagged`] when it fails but is explained,
/// [`Verdict::Failed`] otherwise. `earlier` holds figures from earlier rows of the
/// same batch, which take the place of stored ones.
pub fn verdict(
    ind: &Indicator,
    row: &BatchRow,
    explanation: Option<&str>,
    stored: &[(Period, Reading)],
    earlier: &[(Period, f64)],
) -> Verdict {
    let unchanged = !earlier.iter().any(|(p, _)| *p == row.period)
        && stored
            .iter()
            .any(|(p, r)| *p == row.period && r.same_as(&row.input));
    if unchanged {
        return Verdict::Passed;
    }
    let mut others: Vec<(Period, f64)> = stored
        .iter()
        .filter(|(p, _)| !earlier.iter().any(|(q, _)| q == p))
        .map(|(p, r)| (*p, r.value))
        .collect();
    others.extend_from_slice(earlier);
    let findings = quality::check(ind, row.period, row.input.value, &others);
    if findings.is_empty() {
        return Verdict::Passed;
    }
    match explanation {
        Some(e) => Verdict::Flagged(QualityNote {
            findings,
            explanation: e.to_string(),
        }),
        None => Verdict::Failed(findings),
    }
}
