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
use crate::store::{BatchRow, SeriesRead};

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

/// Vets one figure against `readings` (the store, or the store's writer vetting a
/// write again): see [`Vetter::vet`].
pub fn vet_against(
    readings: &dyn SeriesRead,
    ind: &Indicator,
    row: &BatchRow,
    explanation: Option<&str>,
) -> Result<Verdict> {
    Vetter::new(readings).vet(ind, row, explanation)
}

/// Vets the rows of one batch in order: each row against the store and the rows vetted
/// before it (which take the place of stored figures of the same period). Reads each
/// indicator's stored years once.
pub struct Vetter<'s> {
    /// The readings checked against: the store, or the store's writer's view of them.
    store: &'s dyn SeriesRead,
    /// Stored readings by indicator and year of the period (see [`stored_around`]).
    stored: HashMap<(IndicatorId, u16), Vec<(Period, Reading)>>,
    /// Figures of rows already vetted and accepted, by indicator.
    earlier: HashMap<IndicatorId, Vec<(Period, f64)>>,
}

impl std::fmt::Debug for Vetter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vetter")
            .field("stored", &self.stored)
            .field("earlier", &self.earlier)
            .finish_non_exhaustive()
    }
}

impl<'s> Vetter<'s> {
    pub fn new(store: &'s dyn SeriesRead) -> Vetter<'s> {
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
fn stored_around(
    s: &dyn SeriesRead,
    id: &IndicatorId,
    period: Period,
) -> Result<Vec<(Period, Reading)>> {
    let from = Period::new(period.year().saturating_sub(1), 1).ok();
    let to = Period::new(period.year(), 12).ok();
    Ok(s.series(id, from, to)?)
}

/// Runs the quality checks on one row: [`Verdict::Passed`] when it passes (or changes
/// nothing), [`Verdict::Flagged`] when it fails but is explained,
/// [`Verdict::Failed`] otherwise. `earlier` holds figures from earlier rows of the
/// same batch, which take the place of stored ones.
fn verdict(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::domain::{Check, ObsStatus, PeriodForm, ReadingInput};

    fn ind(id: &str) -> Indicator {
        Catalogue::builtin().unwrap().find(id).unwrap().0.clone()
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    fn row(ind: &Indicator, period: &str, value: f64) -> BatchRow {
        BatchRow {
            indicator: ind.id.clone(),
            period: p(period),
            input: ReadingInput::new(
                ind,
                value,
                ObsStatus::default(),
                None,
                PeriodForm::default(),
            )
            .unwrap(),
            quality: None,
        }
    }

    fn stored(period: &str, value: f64) -> (Period, Reading) {
        let reading = Reading {
            value,
            status: ObsStatus::default(),
            note: None,
            form: PeriodForm::default(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            recorded_by: "县统计局".into(),
            revision: 1,
        };
        (p(period), reading)
    }

    fn checks(v: &Verdict) -> Vec<Check> {
        match v {
            Verdict::Failed(f) => f.iter().map(|f| f.check).collect(),
            Verdict::Flagged(n) => n.findings.iter().map(|f| f.check).collect(),
            Verdict::Passed => Vec::new(),
        }
    }

    #[test]
    fn a_failed_check_refuses_unless_explained() {
        let i = ind("tech-sme-registered");
        let before = [stored("2023-04", 60.0)];
        let r = row(&i, "2023-05", 55.0);
        let v = verdict(&i, &r, None, &before, &[]);
        assert_eq!(checks(&v), [Check::CumulativeFall]);
        assert!(matches!(v, Verdict::Failed(_)));
        let v = verdict(&i, &r, Some("统计口径调整"), &before, &[]);
        assert!(matches!(&v, Verdict::Flagged(n) if n.explanation == "统计口径调整"));
        assert_eq!(checks(&v), [Check::CumulativeFall]);
        assert_eq!(
            verdict(&i, &row(&i, "2023-05", 70.0), None, &before, &[]),
            Verdict::Passed
        );
    }

    #[test]
    fn earlier_rows_of_the_batch_take_the_place_of_stored_figures() {
        let i = ind("tech-sme-registered");
        let before = [stored("2023-04", 60.0)];
        let r = row(&i, "2023-05", 55.0);
        // The batch corrects April to 50 first: May's 55 no longer falls.
        assert_eq!(
            verdict(&i, &r, None, &before, &[(p("2023-04"), 50.0)]),
            Verdict::Passed
        );
    }

    #[test]
    fn an_unchanged_resubmission_is_not_checked_again() {
        let i = ind("tech-sme-registered");
        let before = [stored("2023-04", 60.0), stored("2023-05", 55.0)];
        let r = row(&i, "2023-05", 55.0);
        assert_eq!(verdict(&i, &r, None, &before, &[]), Verdict::Passed);
        // Unless an earlier row of the batch wrote the same period.
        let earlier = [(p("2023-05"), 58.0)];
        assert_eq!(
            checks(&verdict(&i, &r, None, &before, &earlier)),
            [Check::CumulativeFall]
        );
    }
}
