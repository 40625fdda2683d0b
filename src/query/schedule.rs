//! The reporting calendar read from the store: what falls due in a window, and what is
//! overdue on a day, for the indicators a caller keeps. The rules themselves, and the
//! items answered ([`DueItem`], [`OverdueItem`]), are in `engine::calendar`; the API's
//! `/v1/calendar` and `/v1/overdue` ([`Queries::due_list`], [`Queries::overdue_list`]),
//! the dashboard's marks ([`Queries::overdue_of`]), the overdue alerts, the 催报 notices
//! and the daily digests all read through here, so they agree.
//!
//! Only the years an indicator has a target for are tracked: a figure nobody set a
//! target for is nobody's to chase. Nor is a reference series: an indicator of
//! another region that runs no plan in this store (the city's or a peer county's
//! figure, entered by the bureau to compare against) is never owed by anyone here.

use chrono::{Datelike, NaiveDate};

use super::{Queries, Selection};
use crate::domain::{Indicator, Period, MIN_YEAR};
use crate::engine::calendar::{due_between, overdue, DueRule};
pub use crate::engine::calendar::{DueItem, OverdueItem};
use crate::store::{Store, StoreError};

/// The due rule of an indicator: the catalogue's, or the default for its frequency.
pub fn rule_for(s: &Store, ind: &Indicator) -> Result<DueRule, StoreError> {
    Ok(s.due_rule(&ind.id)?
        .unwrap_or_else(|| DueRule::default_for(ind.frequency)))
}

fn target_years(s: &Store, ind: &Indicator) -> Result<Vec<u16>, StoreError> {
    Ok(s.targets(&ind.id)?.iter().map(|t| t.year).collect())
}

/// The regions whose figures are owed: the home region and every region with a plan
/// of its own in the store.
pub fn owing_regions(s: &Store) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let mut out: std::collections::BTreeSet<String> =
        s.plans()?.into_iter().map(|p| p.region).collect();
    out.insert(s.home_region()?);
    Ok(out)
}

/// Whether `ind` is a reference series: another region's figure, kept to compare
/// against, that nobody in this store owes.
pub fn is_reference(owing: &std::collections::BTreeSet<String>, ind: &Indicator) -> bool {
    !ind.region.is_empty() && !owing.contains(&ind.region)
}

/// What falls due between `from` and `to` (inclusive), in due-date then id order.
pub fn due_in<'a>(
    s: &Store,
    indicators: impl IntoIterator<Item = &'a Indicator>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DueItem>, StoreError> {
    let owing = owing_regions(s)?;
    let mut out = Vec::new();
    for ind in indicators {
        if is_reference(&owing, ind) {
            continue;
        }
        let years = target_years(s, ind)?;
        for d in due_between(ind.frequency, rule_for(s, ind)?, from, to) {
            if !years.contains(&d.period.year()) {
                continue;
            }
            out.push(DueItem {
                indicator: ind.id.to_string(),
                name: ind.name.clone(),
                region: ind.region.clone(),
                frequency: ind.frequency,
                period: d.period,
                due: d.due,
                lead_units: ind.lead_units.clone(),
                received: s.reading(&ind.id, d.period)?.is_some(),
            });
        }
    }
    out.sort_by(|a, b| (a.due, &a.indicator).cmp(&(b.due, &b.indicator)));
    Ok(out)
}

/// Every expected figure of this year and last (relative to `on`) whose due date has
/// passed on `on` with no reading stored: most overdue first.
pub fn overdue_on<'a>(
    s: &Store,
    indicators: impl IntoIterator<Item = &'a Indicator>,
    on: NaiveDate,
) -> Result<Vec<OverdueItem>, StoreError> {
    overdue_owed(s, &owing_regions(s)?, indicators, on)
}

/// [`overdue_on`], with the regions that owe figures ([`owing_regions`]) read once by
/// a caller that asks indicator by indicator.
pub fn overdue_owed<'a>(
    s: &Store,
    owing: &std::collections::BTreeSet<String>,
    indicators: impl IntoIterator<Item = &'a Indicator>,
    on: NaiveDate,
) -> Result<Vec<OverdueItem>, StoreError> {
    let since_year = u16::try_from(on.year() - 1)
        .unwrap_or(MIN_YEAR)
        .max(MIN_YEAR);
    let since = Period::new(since_year, 1).map_err(|e| StoreError::Catalogue(e.to_string()))?;
    let mut out = Vec::new();
    for ind in indicators {
        if is_reference(owing, ind) {
            continue;
        }
        let years = target_years(s, ind)?;
        if !years.iter().any(|y| *y >= since_year) {
            continue;
        }
        let reported: Vec<Period> = s
            .readings(&ind.id, Some(since), None)?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let notes = s.notes(&ind.id, Some(since), None)?;
        for o in overdue(ind.frequency, rule_for(s, ind)?, since, on, &reported) {
            if !years.contains(&o.period.year()) {
                continue;
            }
            out.push(OverdueItem {
                indicator: ind.id.to_string(),
                name: ind.name.clone(),
                region: ind.region.clone(),
                period: o.period,
                due: o.due,
                days_overdue: o.days_overdue,
                lead_units: ind.lead_units.clone(),
                // Oldest first: the last note of the period is the one that stands.
                note: notes
                    .iter()
                    .rev()
                    .find(|n| n.period == o.period)
                    .map(|n| n.note.clone()),
            });
        }
    }
    out.sort_by(|a, b| {
        (b.days_overdue, &a.indicator, a.period).cmp(&(a.days_overdue, &b.indicator, b.period))
    });
    Ok(out)
}

impl Queries {
    /// The indicators `sel` keeps, in the store's order.
    fn selected(&self, sel: &Selection) -> super::Result<Vec<Indicator>> {
        Ok(self
            .store
            .indicators()?
            .into_iter()
            .filter(|i| sel.keeps(i))
            .collect())
    }

    /// What falls due between `from` and `to` (inclusive) for the selected indicators:
    /// the reporting calendar (报送时间表) of `GET /v1/calendar`.
    pub fn due_list(
        &self,
        sel: &Selection,
        from: NaiveDate,
        to: NaiveDate,
    ) -> super::Result<Vec<DueItem>> {
        Ok(due_in(&self.store, &self.selected(sel)?, from, to)?)
    }

    /// The selected indicators' figures overdue on `on`, most overdue first: the
    /// overdue list (催报) of `GET /v1/overdue`.
    pub fn overdue_list(&self, sel: &Selection, on: NaiveDate) -> super::Result<Vec<OverdueItem>> {
        self.overdue_of(&self.selected(sel)?, on)
    }

    /// The figures of `inds` overdue on `on`, most overdue first (the dashboard marks
    /// the rows of its board with them).
    pub fn overdue_of(&self, inds: &[Indicator], on: NaiveDate) -> super::Result<Vec<OverdueItem>> {
        Ok(overdue_on(&self.store, inds, on)?)
    }
}
