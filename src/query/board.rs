//! The board: every indicator at one `as_of`, with its year's series, its benchmarks
//! and its rank. Attainment lists, alerts, the dashboard, the bulletins, rankings and
//! `/metrics` all read it, so it is computed once per store change and shared through
//! the memo.
//!
//! A province's board is tens of thousands of rows, and a reading changes few of them.
//! So after a write the board is not built again: the last one is brought up to date
//! ([`Queries::update_board`]) by evaluating again only the rows the new readings feed,
//! and sharing the rest (rows are `Arc`s). Any other change (an indicator, a target, a
//! plan, a region, a due rule) builds it afresh, as does a burst of writes touching
//! more than an eighth of the rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::attainment::year_series;
use super::memo::LastBoard;
use super::{Queries, Result};
use crate::domain::{Indicator, IndicatorId, Period, Plan};
use crate::engine::compare::Peer;
use crate::engine::{self, Attainment};
use crate::report::{Board, BoardRow};
use crate::store::Change;

impl Queries {
    /// The board of every indicator at `as_of`: from the memo; else the last board of
    /// that `as_of` brought up to date, when only readings changed since; else built
    /// afresh.
    pub fn board(&self, as_of: Period) -> Result<Arc<Board>> {
        let seq = self.memo_at()?;
        if let Some(b) = self.memo.board(seq, as_of) {
            return Ok(b);
        }
        let due = self.store.due_version()?;
        let b = match self.memo.last_board(as_of) {
            Some(last) if last.due == due => match self.update_board(&last, as_of)? {
                Some(b) => Arc::new(b),
                None => Arc::new(self.build_board(as_of)?),
            },
            _ => Arc::new(self.build_board(as_of)?),
        };
        self.memo.put_board(seq, b.clone());
        self.memo.put_last_board(
            as_of,
            LastBoard {
                seq,
                due,
                board: b.clone(),
            },
        );
        Ok(b)
    }

    /// The home region's board of `as_of` (the catalogue's region): what the
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

    /// One indicator's row at `as_of`, before benchmarks and ranks; `None` when the
    /// year's plans leave it off the board.
    fn row_of(&self, ind: Indicator, as_of: Period, order: &PlanOrder) -> Result<Option<BoardRow>> {
        let s = &self.store;
        let (target, values) = year_series(s, &ind.id, as_of.year(), None)?;
        // A region's board for a year with a plan is that plan: an indicator the
        // plan does not name (one a later plan added, or an earlier one dropped)
        // is not on it.
        if target.is_none() && order.plan_of(&ind.region).is_some() {
            return Ok(None);
        }
        // The indicator as the year's plan has it: group, units, source.
        let ind = ind.in_plan(target.as_ref().and_then(|t| t.plan.as_ref()));
        let inputs = super::attainment::inputs_for(s, &ind, as_of.year(), None)?;
        let mut attainment = engine::evaluate_with(&ind, target.as_ref(), &values, as_of, inputs);
        // Absent figures: overdue or not yet due on the first day the month's figures
        // are overdue (2023-07-11 for 2023-06), the date a bulletin is written for.
        attainment.reporting = Some(reporting(
            s,
            &ind,
            &attainment,
            engine::calendar::default_reporting_date(as_of),
        )?);
        let series = values.into_iter().filter(|(p, _)| *p <= as_of).collect();
        Ok(Some(BoardRow {
            indicator: ind,
            attainment,
            series,
        }))
    }

    fn build_board(&self, as_of: Period) -> Result<Board> {
        let s = &self.store;
        let title = s.catalogue_title()?;
        let order = self.plan_order(as_of.year())?;
        let mut rows = Vec::new();
        for ind in s.indicators()? {
            if let Some(row) = self.row_of(ind, as_of, &order)? {
                rows.push(row);
            }
        }
        // Benchmarks and ranks, among the rows that share a code.
        let by_code = code_groups(&rows);
        let shared: Vec<Vec<usize>> = by_code
            .into_values()
            .filter(|v| v.len() > 1 || v.iter().any(|&i| !rows[i].indicator.benchmarks.is_empty()))
            .collect();
        if !shared.is_empty() {
            let regions = self.region_map()?;
            compare_within(&mut rows, &shared, &regions);
        }
        rows.sort_by_cached_key(|r| order.key(&r.indicator, &r.attainment));
        let region = title.as_ref().map(|t| t.region.clone()).unwrap_or_default();
        let plan = order.plan_of(&region).cloned();
        let groups = match &plan {
            Some(p) => p.groups.clone(),
            None => {
                let home: Vec<&BoardRow> = rows
                    .iter()
                    .filter(|r| r.indicator.region == region)
                    .collect();
                crate::report::groups_of(home)
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
            rows: rows.into_iter().map(Arc::new).collect(),
        })
    }

    /// `last` brought up to the store as it stands, when what changed since it was
    /// built is readings and notes only (the audit rows after its sequence say so):
    /// the rows those readings feed are evaluated again, the others are shared with
    /// `last`. `None` when anything else changed (an indicator, a target, a plan, a
    /// region), or so much that building afresh costs less; then the caller builds.
    ///
    /// A reading of year Y feeds: its own indicator's row when Y is the board's year;
    /// the rows that take it as their `base_indicator` when Y is the year before (the
    /// catch-up shares); and through those, every row sharing a code with a row fed
    /// (benchmarks and ranks), which are compared again as a group. The order of the
    /// rows depends on indicators, targets and plans only, so it stands.
    fn update_board(&self, last: &LastBoard, as_of: Period) -> Result<Option<Board>> {
        let s = &self.store;
        let year = as_of.year();
        let mut fed: Vec<IndicatorId> = Vec::new();
        let mut bases: Vec<IndicatorId> = Vec::new();
        let limit = (last.board.rows.len() / 8).max(64);
        let Some(changes) = s.audit_after_at_most(last.seq, limit)? else {
            return Ok(None);
        };
        for (_, rec) in changes {
            let (id, period) = match rec.change {
                Change::Reading {
                    indicator, period, ..
                }
                | Change::Note {
                    indicator, period, ..
                } => (indicator, period),
                _ => return Ok(None),
            };
            if period.year() == year {
                fed.push(id);
            } else if year.checked_sub(1) == Some(period.year()) {
                bases.push(id);
            }
        }
        let old = &last.board;
        let mut index: HashMap<&IndicatorId, usize> = HashMap::with_capacity(old.rows.len());
        for (i, r) in old.rows.iter().enumerate() {
            index.insert(&r.indicator.id, i);
        }
        let mut dirty: BTreeSet<usize> =
            fed.iter().filter_map(|id| index.get(id).copied()).collect();
        if !bases.is_empty() {
            for (i, r) in old.rows.iter().enumerate() {
                if r.indicator
                    .base_indicator
                    .as_ref()
                    .is_some_and(|b| bases.contains(b))
                {
                    dirty.insert(i);
                }
            }
        }
        // Every row sharing a code with a dirty row is compared again, so all of
        // them are evaluated again (the comparison starts from each row's own answer).
        let codes: BTreeSet<&str> = dirty
            .iter()
            .map(|&i| old.rows[i].indicator.code.as_str())
            .collect();
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        if !codes.is_empty() {
            for (i, r) in old.rows.iter().enumerate() {
                if codes.contains(r.indicator.code.as_str()) {
                    groups.entry(r.indicator.code.as_str()).or_default().push(i);
                    dirty.insert(i);
                }
            }
        }
        let order = self.plan_order(year)?;
        let mut fresh: Vec<(usize, BoardRow)> = Vec::with_capacity(dirty.len());
        for &i in &dirty {
            let Some(ind) = s.indicator(&old.rows[i].indicator.id)? else {
                return Ok(None);
            };
            match self.row_of(ind, as_of, &order)? {
                Some(row) => fresh.push((i, row)),
                // A row that left the board: not a reading's doing; build afresh.
                None => return Ok(None),
            }
        }
        let mut rows: Vec<Arc<BoardRow>> = old.rows.clone();
        let shared: Vec<Vec<usize>> = groups
            .into_values()
            .filter(|v| {
                v.len() > 1
                    || v.iter()
                        .any(|&i| !old.rows[i].indicator.benchmarks.is_empty())
            })
            .collect();
        if shared.is_empty() {
            for (i, row) in fresh {
                rows[i] = Arc::new(row);
            }
        } else {
            // Compared in a scratch board of the fresh rows, by their old positions.
            let at: HashMap<usize, usize> = fresh
                .iter()
                .enumerate()
                .map(|(k, (i, _))| (*i, k))
                .collect();
            let mut scratch: Vec<BoardRow> = Vec::with_capacity(fresh.len());
            let mut positions = Vec::with_capacity(fresh.len());
            for (i, row) in fresh {
                positions.push(i);
                scratch.push(row);
            }
            let local: Vec<Vec<usize>> = shared
                .iter()
                .map(|g| g.iter().map(|i| at[i]).collect())
                .collect();
            compare_within(&mut scratch, &local, &self.region_map()?);
            for (i, row) in positions.into_iter().zip(scratch) {
                rows[i] = Arc::new(row);
            }
        }
        Ok(Some(Board {
            as_of: old.as_of,
            region: old.region.clone(),
            document: old.document.clone(),
            plan: old.plan.clone(),
            groups: old.groups.clone(),
            rows,
        }))
    }
}

/// The rows of each code, by position.
fn code_groups(rows: &[BoardRow]) -> BTreeMap<&str, Vec<usize>> {
    let mut by_code: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_code
            .entry(r.indicator.code.as_str())
            .or_default()
            .push(i);
    }
    by_code
}

/// Benchmarks and ranks: each row of each group compared with the group's rows, from
/// the rows' own answers.
fn compare_within(
    rows: &mut [BoardRow],
    groups: &[Vec<usize>],
    regions: &BTreeMap<String, crate::domain::Region>,
) {
    for group in groups {
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
                engine::compare::compare(&rows[i].indicator, &mut a, &peers, regions);
                (i, a)
            })
            .collect();
        for (i, a) in compared {
            rows[i].attainment = a;
        }
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
            let r = Arc::make_mut(r);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::domain::{ObsStatus, PeriodForm, ReadingInput, Region, RegionLevel};
    use crate::store::Store;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc.with_ymd_and_hms(2023, 7, 20, 8, 0, 0).unwrap()
    }

    /// The county's catalogue, a peer county's GDP sharing its code, and an indicator
    /// whose catch-up is weighted by another's last year.
    fn store() -> (Store, Vec<IndicatorId>) {
        let s = Store::temporary().unwrap();
        let cat = Catalogue::builtin().unwrap();
        s.import_catalogue(&cat, "test", at()).unwrap();
        let (gdp, gdp_target) = cat.find("gdp-growth").unwrap();
        s.put_region(
            &Region {
                name: "赫山区".into(),
                level: RegionLevel::County,
                parent: Some("益阳市".into()),
            },
            "test",
            at(),
        )
        .unwrap();
        let mut peer = gdp.clone();
        peer.id = IndicatorId::parse("heshan-gdp-growth").unwrap();
        peer.region = "赫山区".into();
        s.put_indicator(&peer, "test", at()).unwrap();
        if let Some(t) = gdp_target {
            s.put_target(&peer.id, t, "test", at()).unwrap();
        }
        let (base, follower) = cat
            .entries
            .iter()
            .filter(|(i, t)| i.kind == crate::domain::Kind::Cumulative && t.is_some())
            .map(|(i, t)| (i.clone(), t.clone().unwrap()))
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .fold((None, None), |(b, f), x| match b {
                None => (Some(x), f),
                Some(b) => (Some(b), Some(x)),
            });
        let (base, _) = base.unwrap();
        let (mut follower, _) = follower.unwrap();
        follower.base_indicator = Some(base.id.clone());
        s.put_indicator(&follower, "test", at()).unwrap();
        let ids = vec![
            gdp.id.clone(),
            peer.id.clone(),
            base.id.clone(),
            follower.id.clone(),
            IndicatorId::parse("tech-sme-registered").unwrap(),
        ];
        (s, ids)
    }

    fn write(s: &Store, id: &IndicatorId, year: u16, month: u8, value: f64) {
        let ind = s.indicator(id).unwrap().unwrap();
        let Ok(period) = Period::new(year, month) else {
            return;
        };
        if let Ok(input) =
            ReadingInput::new(&ind, value, ObsStatus::Normal, None, PeriodForm::Month)
        {
            // A period the indicator's frequency refuses is refused before anything
            // is written; the board must agree either way.
            let _ = s.put_reading(id, period, &input, "test", at());
        }
    }

    /// The board as brought up to date, and as built afresh, in a comparable form.
    fn both(s: &Store, q: &Queries, as_of: Period) -> (String, String) {
        let kept = q.board(as_of).unwrap();
        let fresh = Queries::new(s.clone()).board(as_of).unwrap();
        (format!("{:?}", kept.rows), format!("{:?}", fresh.rows))
    }

    #[test]
    fn a_write_re_evaluates_its_row_and_shares_the_others() {
        let (s, ids) = store();
        let q = Queries::new(s.clone());
        let june: Period = "2023-06".parse().unwrap();
        let before = q.board(june).unwrap();
        write(&s, &ids[4], 2023, 6, 80.0);
        let after = q.board(june).unwrap();
        let sme = after
            .rows
            .iter()
            .position(|r| r.indicator.id == ids[4])
            .unwrap();
        assert!(
            !Arc::ptr_eq(&before.rows[sme], &after.rows[sme]),
            "evaluated again"
        );
        assert_eq!(after.rows[sme].series.last(), Some(&(june, 80.0)));
        let shared = before
            .rows
            .iter()
            .zip(&after.rows)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, before.rows.len() - 1, "every other row is shared");
        let (kept, fresh) = both(&s, &q, june);
        assert_eq!(kept, fresh);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever readings are written (the year's, last year's for a base, a peer's
        /// sharing a code) or withdrawn, and whatever else changes between them, the
        /// board brought up to date is the board built afresh.
        #[test]
        fn the_board_brought_up_to_date_is_the_board_built_afresh(
            steps in proptest::collection::vec(
                (0usize..5, prop_oneof![Just(2022u16), Just(2023u16)], 1u8..=12, 0.0f64..200.0, 0u8..10),
                1..12,
            ),
        ) {
            let (s, ids) = store();
            let q = Queries::new(s.clone());
            let june: Period = "2023-06".parse().unwrap();
            q.board(june).unwrap();
            for (who, year, month, value, what) in steps {
                let id = &ids[who];
                match what {
                    // Now and then a withdrawal, and a target changed (built afresh).
                    0 => {
                        if let Ok(p) = Period::new(year, month) {
                            let _ = s.withdraw_reading(id, p, "test", None, at());
                        }
                    }
                    1 => {
                        if let Some(mut t) = s.target(id, 2023).unwrap() {
                            t.value = t.value.map(|v| v + 1.0);
                            s.put_target(id, &t, "test", at()).unwrap();
                        }
                    }
                    _ => write(&s, id, year, month, value),
                }
                let (kept, fresh) = both(&s, &q, june);
                prop_assert_eq!(kept, fresh);
            }
        }
    }
}
