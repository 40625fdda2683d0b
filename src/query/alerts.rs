//! Alerts: the pace alerts of every lagging indicator at an `as_of` (from the board,
//! once per store change), and the overdue alerts (催报) of the indicators with figures
//! past their due date on a day. `/v1/alerts`, its stream, the notifier and the
//! dashboard ask here, so they agree on what is lagging.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::attainment::year_series;
use super::{Queries, Result, Selection};
use crate::domain::{Indicator, Period};
use crate::engine::alerts::{self, Alert, Severity};
use crate::engine::calendar::Overdue;

/// Which alerts a list asks for.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub as_of: Option<Period>,
    pub known_at: Option<DateTime<Utc>>,
    /// The pace alerts (序时进度).
    pub pace: bool,
    /// The overdue alerts (催报) on `on`.
    pub overdue: bool,
    pub on: Option<NaiveDate>,
    /// The severities kept; empty keeps every one.
    pub severity: Vec<Severity>,
    pub selection: Selection,
}

impl Queries {
    /// Every pace alert at `as_of` (or the default), worst first: from the shared board
    /// for the store as it stands, evaluated afresh as it stood at `known_at`.
    pub fn alerts(
        &self,
        as_of: Option<Period>,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<(Period, Arc<Vec<Alert>>)> {
        let as_of = self.resolve_as_of(as_of)?;
        if known_at.is_none() {
            let seq = self.store.change_seq()?;
            if let Some(list) = self.memo.alerts(seq, as_of) {
                return Ok((as_of, list));
            }
            let b = self.board(as_of)?;
            // A row the board shares with the one the last alerts came from has the
            // same alert: working one out evaluates each earlier month of a lagging
            // row again, so after a write only the rows evaluated again are judged.
            let last = self
                .memo
                .row_alerts(as_of)
                .filter(|l| l.board.rows.len() == b.rows.len());
            let per_row: Vec<Option<Alert>> = b
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| match &last {
                    Some(l) if Arc::ptr_eq(&l.board.rows[i], r) => l.alerts[i].clone(),
                    _ => alerts::alert_from(
                        &r.indicator,
                        r.attainment.target.as_ref(),
                        &r.series,
                        &r.attainment,
                    ),
                })
                .collect();
            let mut out: Vec<Alert> = per_row.iter().flatten().cloned().collect();
            self.memo.put_row_alerts(
                as_of,
                super::memo::RowAlerts {
                    board: b.clone(),
                    alerts: Arc::new(per_row),
                },
            );
            alerts::sort_worst_first(&mut out);
            let out = Arc::new(out);
            self.memo.put_alerts(seq, as_of, out.clone());
            return Ok((as_of, out));
        }
        // A past vintage: evaluated afresh (benchmarks and ranks included), as it stood.
        let year = as_of.year();
        let mut out = Vec::new();
        for (ind, a) in self.attainment_all(as_of, known_at)? {
            let (_, values) = year_series(&self.store, &ind.id, year, known_at)?;
            if let Some(alert) = alerts::alert_from(&ind, a.target.as_ref(), &values, &a) {
                out.push(alert);
            }
        }
        alerts::sort_worst_first(&mut out);
        Ok((as_of, Arc::new(out)))
    }

    /// The home region's pace alerts at the default `as_of`: what the county is told
    /// about, as its dashboard shows (peer counties' and the city's series are there
    /// to compare). An empty store has no default `as_of`, and so no alerts.
    pub fn home_alerts(&self) -> Result<Vec<Alert>> {
        let home = self.store.home_region()?;
        if self.default_as_of()?.is_none() {
            return Ok(Vec::new());
        }
        let (_, list) = self.alerts(None, None)?;
        Ok(list.iter().filter(|a| a.region == home).cloned().collect())
    }

    /// The home region's alerts at `as_of` (the latest released month, for a server
    /// that publishes reviewed months only).
    pub fn home_alerts_at(&self, as_of: Period) -> Result<Vec<Alert>> {
        let home = self.store.home_region()?;
        let (_, list) = self.alerts(Some(as_of), None)?;
        Ok(list.iter().filter(|a| a.region == home).cloned().collect())
    }

    /// One overdue alert per indicator of `inds` with figures past their due date on
    /// `on`.
    pub fn overdue_alerts(&self, inds: &[&Indicator], on: NaiveDate) -> Result<Vec<Alert>> {
        let mut per: BTreeMap<&str, Vec<Overdue>> = BTreeMap::new();
        // Each indicator's overdue figures are kept in the memo until a change of its
        // own (or of the due rules): after one write, one indicator is judged again.
        let seq = self.memo_at()?;
        let due = self.store.due_version()?;
        let mut items = Vec::new();
        let known = self
            .memo
            .overdue_of_each(seq, due, inds.iter().map(|i| &i.id), on);
        // Which regions owe figures: read once, and only when something is to judge.
        let mut owing = None;
        for (&ind, known) in inds.iter().zip(known) {
            let kept = match known {
                Some(v) => v,
                None => {
                    if owing.is_none() {
                        owing = Some(super::schedule::owing_regions(&self.store)?);
                    }
                    let v = Arc::new(super::schedule::overdue_owed(
                        &self.store,
                        owing.as_ref().expect("read above"),
                        std::iter::once(ind),
                        on,
                    )?);
                    self.memo
                        .put_overdue(seq, due, ind.id.clone(), on, v.clone());
                    v
                }
            };
            items.extend(kept.iter().cloned());
        }
        for o in &items {
            per.entry(o.indicator.as_str()).or_default().push(Overdue {
                period: o.period,
                due: o.due,
                days_overdue: o.days_overdue,
            });
        }
        Ok(inds
            .iter()
            .filter_map(|i| {
                let mut list = per.get(i.id.as_str())?.clone();
                list.sort_by_key(|o| o.period);
                alerts::overdue_alert(i, &list)
            })
            .collect())
    }

    /// The list `/v1/alerts` answers: pace and overdue alerts of the selected
    /// indicators, of one severity if asked, worst first, with the `as_of` used.
    pub fn alert_list(&self, q: &AlertQuery) -> Result<(Period, Vec<Alert>)> {
        let inds = self.indicators_shared()?;
        let keep = |a: &Alert| {
            (q.severity.is_empty() || q.severity.contains(&a.severity))
                && inds.get(&a.indicator).is_some_and(|i| q.selection.keeps(i))
        };
        let (as_of, pace) = if q.pace {
            let (p, list) = self.alerts(q.as_of, q.known_at)?;
            (p, list.iter().filter(|a| keep(a)).cloned().collect())
        } else {
            (self.resolve_as_of(q.as_of)?, Vec::new())
        };
        let mut out: Vec<Alert> = pace;
        if q.overdue {
            let on = q.on.ok_or_else(|| {
                super::QueryError::invalid(
                    "on",
                    "overdue alerts need the day they are computed for",
                )
            })?;
            let kept: Vec<&Indicator> = inds.values().filter(|i| q.selection.keeps(i)).collect();
            out.extend(
                self.overdue_alerts(&kept, on)?
                    .into_iter()
                    .filter(|a| keep(a)),
            );
            alerts::sort_worst_first(&mut out);
        }
        Ok((as_of, out))
    }

    /// Per battle and per lead unit: counts by status and the lagging indicators (the
    /// shape of the monthly bulletin), of the selected indicators at `as_of` (or the
    /// default), as the store stands or as it stood at `known_at`.
    pub fn summary(
        &self,
        as_of: Option<Period>,
        known_at: Option<DateTime<Utc>>,
        sel: &Selection,
    ) -> Result<alerts::Summary> {
        let as_of = self.resolve_as_of(as_of)?;
        Ok(match known_at {
            None if self
                .board(as_of)?
                .rows
                .iter()
                .all(|r| sel.keeps(&r.indicator)) =>
            {
                self.board(as_of)?.summary()
            }
            None => {
                let rows: Vec<_> = self
                    .board(as_of)?
                    .rows
                    .iter()
                    .filter(|r| sel.keeps(&r.indicator))
                    .map(|r| (r.indicator.clone(), r.attainment.clone()))
                    .collect();
                alerts::summary(as_of, &rows, &self.board(as_of)?.groups)
            }
            Some(at) => {
                let mut rows = self.attainment_all(as_of, Some(at))?;
                rows.retain(|(i, _)| sel.keeps(i));
                alerts::summary(as_of, &rows, &self.board(as_of)?.groups)
            }
        })
    }
}
