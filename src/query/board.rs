//! The board: every indicator at one `as_of`, with its year's series, its benchmarks
//! and its rank. Attainment lists, alerts, the dashboard, the bulletins, rankings and
//! `/metrics` all read it, so it is computed once per store change and shared through
//! the memo.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::attainment::year_series;
use super::{Queries, Result};
use crate::domain::{Indicator, Period, Plan};
use crate::engine::compare::Peer;
use crate::engine::{self, Attainment};
use crate::report::{Board, BoardRow};

impl Queries {
    /// The board of every indicator at `as_of`.
    pub fn board(&self, as_of: Period) -> Result<Arc<Board>> {
        let seq = self.store.change_seq()?;
        if let Some(b) = self.memo.board(seq, as_of) {
            return Ok(b);
        }
        let b = Arc::new(self.build_board(as_of)?);
        self.memo.put_board(seq, b.clone());
        Ok(b)
    }

    /// The board of the home region's plan only (the catalogue's region): what the
    /// dashboard and the bulletins show. Indicators of peer counties, the city and the
    /// province are there to compare with, not to report on. The same board as
    /// [`Queries::board`] when the store holds no other region's indicators.
    pub fn home_board(&self, as_of: Period) -> Result<Arc<Board>> {
        let seq = self.store.change_seq()?;
        let all = self.board(as_of)?;
        if all.region.is_empty() || all.rows.iter().all(|r| r.indicator.region == all.region) {
            return Ok(all);
        }
        if let Some(b) = self.memo.home_board(seq, as_of) {
            return Ok(b);
        }
        let b = Arc::new(Board {
            as_of: all.as_of,
            region: all.region.clone(),
            document: all.document.clone(),
            plan: all.plan.clone(),
            groups: all.groups.clone(),
            rows: all
                .rows
                .iter()
                .filter(|r| r.indicator.region == all.region)
                .cloned()
                .collect(),
        });
        self.memo.put_home_board(seq, b.clone());
        Ok(b)
    }

    fn build_board(&self, as_of: Period) -> Result<Board> {
        let s = &self.store;
        let title = s.catalogue_title()?;
        let order = self.plan_order(as_of.year())?;
        let mut rows = Vec::new();
        for ind in s.indicators()? {
            let (target, values) = year_series(s, &ind.id, as_of.year(), None)?;
            // A region's board for a year with a plan is that plan: an indicator the
            // plan does not name (one a later plan added, or an earlier one dropped)
            // is not on it.
            if target.is_none() && order.plan_of(&ind.region).is_some() {
                continue;
            }
            // The indicator as the year's plan has it: group, units, source.
            let ind = ind.in_plan(target.as_ref().and_then(|t| t.plan.as_ref()));
            let inputs = super::attainment::inputs_for(s, &ind, as_of.year(), None)?;
            let mut attainment =
                engine::evaluate_with(&ind, target.as_ref(), &values, as_of, inputs);
            // Absent figures: overdue or not yet due on the first day the month's figures
            // are overdue (2023-07-11 for 2023-06), the date a bulletin is written for.
            attainment.reporting = Some(reporting(
                s,
                &ind,
                &attainment,
                engine::calendar::default_reporting_date(as_of),
            )?);
            let series = values.into_iter().filter(|(p, _)| *p <= as_of).collect();
            rows.push(BoardRow {
                indicator: ind,
                attainment,
                series,
            });
        }
        // Benchmarks and ranks, among the rows that share a code.
        let mut by_code: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            by_code
                .entry(r.indicator.code.as_str())
                .or_default()
                .push(i);
        }
        let shared: Vec<Vec<usize>> = by_code
            .into_values()
            .filter(|v| v.len() > 1 || v.iter().any(|&i| !rows[i].indicator.benchmarks.is_empty()))
            .collect();
        if !shared.is_empty() {
            let regions = self.region_map()?;
            for group in shared {
                let compared: Vec<(usize, Attainment)> = group
                    .iter()
                    .map(|&i| {
                        let peers: Vec<Peer<'_>> = group
                            .iter()
                            .map(|&j| Peer {
                                indicator: &rows[j].indicator,
                                series: &rows[j].series,
                            })
                            .collect();
                        let mut a = rows[i].attainment.clone();
                        engine::compare::compare(&rows[i].indicator, &mut a, &peers, &regions);
                        (i, a)
                    })
                    .collect();
                for (i, a) in compared {
                    rows[i].attainment = a;
                }
            }
        }
        rows.sort_by_cached_key(|r| order.key(&r.indicator, &r.attainment));
        let region = title.as_ref().map(|t| t.region.clone()).unwrap_or_default();
        let plan = order.plan_of(&region).cloned();
        let groups = match &plan {
            Some(p) => p.groups.clone(),
            None => {
                let home: Vec<BoardRow> = rows
                    .iter()
                    .filter(|r| r.indicator.region == region)
                    .cloned()
                    .collect();
                crate::report::groups_of(&home)
            }
        };
        Ok(Board {
            as_of,
            document: match &plan {
                Some(p) => p.document(),
                None => title.map(|t| t.document).unwrap_or_default(),
            },
            region,
            plan,
            groups,
            rows,
        })
    }
}

/// The order of a year's rows: the home region's first, then the other regions by
/// name; each region's rows in its own plan's order (its groups, then 序号), regions by name; rows without a plan
/// entry after those with one, by group key then id.
#[derive(Debug)]
pub struct PlanOrder {
    plans: Vec<Plan>,
    home: String,
}

impl PlanOrder {
    /// The plan of `region` in this year.
    pub fn plan_of(&self, region: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.region == region)
    }

    /// The sort key of one row.
    pub fn key(
        &self,
        ind: &Indicator,
        a: &Attainment,
    ) -> (bool, String, usize, u32, String, String) {
        self.key_of(ind, a.target.as_ref())
    }

    /// The sort key of an indicator (as its year's plan has it) with its year's target.
    pub fn key_of(
        &self,
        ind: &Indicator,
        target: Option<&crate::domain::Target>,
    ) -> (bool, String, usize, u32, String, String) {
        let plan = self.plan_of(&ind.region);
        let rank = plan.map_or(usize::MAX, |p| p.group_rank(&ind.group));
        let position = target
            .and_then(|t| t.plan.as_ref())
            .map_or(u32::MAX, |e| e.position);
        (
            ind.region != self.home,
            ind.region.clone(),
            rank,
            position,
            ind.group.clone(),
            ind.id.as_str().to_string(),
        )
    }
}

/// Where `ind`'s figure stands in the reporting calendar on `on` (逾期未报, 未到报送期 or
/// received), for the answer `a` about its `as_of`.
fn reporting(
    s: &crate::store::Store,
    ind: &Indicator,
    a: &Attainment,
    on: chrono::NaiveDate,
) -> Result<engine::calendar::Reporting> {
    Ok(engine::calendar::reporting(
        ind.frequency,
        super::schedule::rule_for(s, ind)?,
        a.as_of,
        on,
        a.actual_period,
    ))
}

impl Queries {
    /// `board` with every row's reporting state judged on `on` instead of the board's
    /// default reporting date (the day after the month's figures fall due): the
    /// dashboard counts 逾期未报 and 未到报送期 on the same day as its 催报 list.
    pub fn board_reported_on(
        &self,
        board: Arc<Board>,
        on: chrono::NaiveDate,
    ) -> Result<Arc<Board>> {
        if board
            .rows
            .iter()
            .all(|r| r.attainment.reporting.is_some_and(|x| x.on == on))
        {
            return Ok(board);
        }
        let mut b = (*board).clone();
        for r in &mut b.rows {
            r.attainment.reporting = Some(reporting(&self.store, &r.indicator, &r.attainment, on)?);
        }
        Ok(Arc::new(b))
    }

    /// The months of `year` that hold a reading of one of `ids`, in order: the periods
    /// the dashboard offers to look at (2023年1月 … 2023年9月), so that its month
    /// choice lists what there is to see and never depends on the browser.
    pub fn reading_periods<'a>(
        &self,
        year: u16,
        ids: impl IntoIterator<Item = &'a crate::domain::IndicatorId>,
    ) -> Result<Vec<Period>> {
        let (from, to) = (Period::new(year, 1).ok(), Period::new(year, 12).ok());
        let mut out = std::collections::BTreeSet::new();
        for id in ids {
            for (p, _) in self.store.readings(id, from, to)? {
                out.insert(p);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// How the rows of `year` are ordered: by the plans of that year.
    pub fn plan_order(&self, year: u16) -> Result<PlanOrder> {
        Ok(PlanOrder {
            plans: self
                .store
                .plans()?
                .into_iter()
                .filter(|p| p.year == year)
                .collect(),
            home: self.store.home_region()?,
        })
    }
}
