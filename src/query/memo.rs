//! Answers already worked out for the store as it stands, typed, with what each one
//! depends on.
//!
//! Dashboards poll the same `as_of` every few seconds, and the board behind them costs
//! one evaluation of every indicator. So boards, alert lists and one-indicator
//! evaluations are kept until the store changes: every entry carries the change
//! sequence it was computed at, and a lookup at another sequence misses. The sequence
//! is read *before* computing, so a write that lands meanwhile leaves the entry tagged
//! with the older sequence and the next lookup recomputes it.
//!
//! Each one-indicator entry also records what it was computed from ([`Deps`]: the
//! indicator's readings and target of the year, its peers' readings, the day when due
//! rules apply). When the store moves on, [`Memo::advance`] keeps the evaluations that
//! none of the changes since could alter (the query layer reads them from the audit
//! rows), and drops the whole-store answers; the last board of each `as_of` is kept
//! apart ([`LastBoard`]) to be brought up to date rather than built again.
//!
//! The index of indicator names ([`super::names`]) is kept here too, with the
//! sequence it was built at: one per store, rebuilt by the first batch that names an
//! indicator by name after a change.
//!
//! The memo is bounded: at most [`MAX_ENTRIES`] boards or lists and [`MAX_BYTES`]
//! (approximate) bytes; when full it starts afresh. A single value larger than the
//! budget is computed for its caller and not kept.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use crate::domain::{IndicatorId, Period};
use crate::engine::alerts::Alert;
use crate::engine::calendar::OverdueItem;
use crate::engine::Attainment;
use crate::report::Board;

use super::names::NameIndex;

/// How many boards and lists are kept for one change sequence.
pub const MAX_ENTRIES: usize = 64;

/// How many one-indicator evaluations are kept for one change sequence.
pub const MAX_EVALUATIONS: usize = 100_000;

/// The approximate byte budget of the memo: a province's board runs to tens of
/// megabytes, a county's to a few hundred kilobytes.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;

/// What a one-indicator answer was computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deps {
    /// The indicators whose readings (of `year`) were read: the indicator itself and
    /// the peers sharing its code.
    pub readings: BTreeSet<IndicatorId>,
    /// The indicators whose target (of `year`) was read.
    pub targets: BTreeSet<IndicatorId>,
    /// The indicator whose readings of the year before weigh the catch-up.
    pub base: Option<IndicatorId>,
    /// The plan year.
    pub year: u16,
    /// The day the answer was computed for, where due rules apply (overdue marks).
    pub day: Option<NaiveDate>,
}

impl Deps {
    /// Whether a write of `id`'s readings or target in `year` could change the answer:
    /// a reading or target of the answer's year it read, or a reading of the year
    /// before of its base (the shares of the catch-up).
    pub fn touched_by(&self, id: &IndicatorId, year: u16) -> bool {
        (year == self.year && (self.readings.contains(id) || self.targets.contains(id)))
            || (year.checked_add(1) == Some(self.year) && self.base.as_ref() == Some(id))
    }
}

/// One indicator evaluated at an `as_of`, with what it depends on.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub attainment: Attainment,
    pub deps: Deps,
}

/// A key of a whole-store answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Board(Period),
    HomeBoard(Period),
    Alerts(Period),
}

#[derive(Debug, Clone)]
enum Value {
    Board(Arc<Board>),
    Alerts(Arc<Vec<Alert>>),
}

/// The last board built for an `as_of`, kept past the change sequence it was built
/// at, so that the next one can be brought up to date from it rather than built.
#[derive(Debug, Clone)]
pub struct LastBoard {
    /// The change sequence read before it was built.
    pub seq: u64,
    /// The due rules' version it was built with: reporting states depend on them.
    pub due: u64,
    pub board: Arc<Board>,
}

/// The pace alert of each row of a board (by position), kept with the board they came
/// from: a row shared by the next board has the same alert.
#[derive(Debug, Clone)]
pub struct RowAlerts {
    pub board: Arc<Board>,
    pub alerts: Arc<Vec<Option<Alert>>>,
}

/// How many `as_of`s keep their last board.
const MAX_LAST_BOARDS: usize = 4;

#[derive(Debug, Default)]
struct Inner {
    /// Not dropped when the sequence moves (see [`LastBoard`]).
    last_boards: HashMap<Period, LastBoard>,
    /// Nor are these (see [`RowAlerts`]).
    row_alerts: HashMap<Period, RowAlerts>,
    seq: u64,
    bytes: usize,
    whole: HashMap<Key, (Value, usize)>,
    evaluations: HashMap<(IndicatorId, Period), Arc<Evaluation>>,
    /// One indicator's overdue figures on a day, with the due rules' version they were
    /// judged under (due rules write no audit row).
    overdue: HashMap<IndicatorId, (NaiveDate, Arc<Vec<OverdueItem>>)>,
    overdue_due: u64,
    /// The default `as_of` and the sequence it was worked out at.
    default_as_of: Option<(u64, Option<Period>)>,
    /// The latest year with a target (a walk over every target's key), as of `seq`:
    /// kept across changes that are not targets.
    target_year: Option<Option<u16>>,
    /// Every indicator, by id, as of `seq`: kept across changes of readings, notes and
    /// targets, which leave indicators as they are.
    indicators: Option<Arc<std::collections::BTreeMap<IndicatorId, crate::domain::Indicator>>>,
    /// The name index and the change sequence it was built at. Kept apart from the
    /// answers above: they are dropped when full, and it is needed by every batch that
    /// names an indicator by name.
    names: Option<(u64, Arc<NameIndex>)>,
}

impl Inner {
    /// Drops everything unless the entries are of `seq`.
    fn at(&mut self, seq: u64) {
        if self.seq != seq {
            self.whole.clear();
            self.evaluations.clear();
            self.overdue.clear();
            self.indicators = None;
            self.target_year = None;
            self.bytes = 0;
            self.seq = seq;
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Memo {
    inner: Mutex<Inner>,
}

/// The approximate heap size of a board: about a kilobyte per row, plus the series.
pub fn board_weight(b: &Board) -> usize {
    b.rows
        .iter()
        .map(|r| 1024 + r.series.len() * 16 + r.indicator.name.len())
        .sum()
}

fn alerts_weight(a: &[Alert]) -> usize {
    a.len() * 512
}

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The memo, if its entries are of `seq`: for a lookup.
    fn of(&self, seq: u64) -> Option<std::sync::MutexGuard<'_, Inner>> {
        let m = self.lock();
        (m.seq == seq).then_some(m)
    }

    /// The memo moved to `seq` (dropping older entries), unless it already holds
    /// newer ones: for an insertion computed from the store at `seq`.
    fn for_put(&self, seq: u64) -> Option<std::sync::MutexGuard<'_, Inner>> {
        let mut m = self.lock();
        if seq < m.seq {
            return None;
        }
        m.at(seq);
        Some(m)
    }

    fn get(&self, seq: u64, key: &Key) -> Option<Value> {
        self.of(seq)?.whole.get(key).map(|(v, _)| v.clone())
    }

    fn put(&self, seq: u64, key: Key, value: Value, weight: usize) {
        if weight > MAX_BYTES {
            return;
        }
        // Not kept when computed from an older store than the memo already holds.
        let Some(mut m) = self.for_put(seq) else {
            return;
        };
        if m.whole.len() >= MAX_ENTRIES || m.bytes + weight > MAX_BYTES {
            m.whole.clear();
            m.evaluations.clear();
            m.bytes = 0;
        }
        if let Some((_, old)) = m.whole.insert(key, (value, weight)) {
            m.bytes -= old;
        }
        m.bytes += weight;
    }

    /// The board of every indicator at `as_of`, computed at change sequence `seq`.
    pub fn board(&self, seq: u64, as_of: Period) -> Option<Arc<Board>> {
        match self.get(seq, &Key::Board(as_of))? {
            Value::Board(b) => Some(b),
            Value::Alerts(_) => None,
        }
    }

    pub fn put_board(&self, seq: u64, board: Arc<Board>) {
        let w = board_weight(&board);
        self.put(seq, Key::Board(board.as_of), Value::Board(board), w);
    }

    /// The home region's board at `as_of`.
    pub fn home_board(&self, seq: u64, as_of: Period) -> Option<Arc<Board>> {
        match self.get(seq, &Key::HomeBoard(as_of))? {
            Value::Board(b) => Some(b),
            Value::Alerts(_) => None,
        }
    }

    pub fn put_home_board(&self, seq: u64, board: Arc<Board>) {
        let w = board_weight(&board);
        self.put(seq, Key::HomeBoard(board.as_of), Value::Board(board), w);
    }

    /// Every pace alert at `as_of`, worst first.
    pub fn alerts(&self, seq: u64, as_of: Period) -> Option<Arc<Vec<Alert>>> {
        match self.get(seq, &Key::Alerts(as_of))? {
            Value::Alerts(a) => Some(a),
            Value::Board(_) => None,
        }
    }

    pub fn put_alerts(&self, seq: u64, as_of: Period, alerts: Arc<Vec<Alert>>) {
        let w = alerts_weight(&alerts);
        self.put(seq, Key::Alerts(as_of), Value::Alerts(alerts), w);
    }

    /// One indicator's evaluation at `as_of`.
    pub fn evaluation(&self, seq: u64, id: &IndicatorId, as_of: Period) -> Option<Arc<Evaluation>> {
        self.of(seq)?.evaluations.get(&(id.clone(), as_of)).cloned()
    }

    pub fn put_evaluation(&self, seq: u64, id: IndicatorId, as_of: Period, e: Arc<Evaluation>) {
        let Some(mut m) = self.for_put(seq) else {
            return;
        };
        if m.evaluations.len() >= MAX_EVALUATIONS {
            m.evaluations.clear();
        }
        m.evaluations.insert((id, as_of), e);
    }

    /// The change sequence the memo's entries are of.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Moves the memo from sequence `from` to `to`: keeps the one-indicator
    /// evaluations that none of `touched` (indicator, year) could change, or none when
    /// `touched` is `None`, and drops every whole-store answer. Does nothing if the
    /// memo is no longer at `from` (another caller moved it first).
    /// `targets` says whether a target was among the changes.
    pub fn advance(
        &self,
        from: u64,
        to: u64,
        touched: Option<&[(IndicatorId, u16)]>,
        targets: bool,
    ) {
        let mut m = self.lock();
        if m.seq != from || to <= from {
            return;
        }
        if targets || touched.is_none() {
            m.target_year = None;
        }
        match touched {
            Some(t) => {
                m.evaluations
                    .retain(|_, e| !t.iter().any(|(id, year)| e.deps.touched_by(id, *year)));
                // An indicator's overdue figures read its own readings, notes and
                // targets of every year.
                m.overdue.retain(|id, _| !t.iter().any(|(t, _)| t == id));
            }
            None => {
                m.evaluations.clear();
                m.overdue.clear();
                m.indicators = None;
            }
        }
        m.whole.clear();
        m.bytes = 0;
        m.seq = to;
    }

    /// Each of `ids`' overdue figures on `on`, judged at sequence `seq` under the
    /// due rules' version `due`, under one lock.
    pub fn overdue_of_each<'a>(
        &self,
        seq: u64,
        due: u64,
        ids: impl IntoIterator<Item = &'a IndicatorId>,
        on: NaiveDate,
    ) -> Vec<Option<Arc<Vec<OverdueItem>>>> {
        let m = self.lock();
        let fresh = m.seq == seq && m.overdue_due == due;
        ids.into_iter()
            .map(|id| {
                fresh
                    .then(|| m.overdue.get(id))
                    .flatten()
                    .filter(|(day, _)| *day == on)
                    .map(|(_, items)| items.clone())
            })
            .collect()
    }

    pub fn put_overdue(
        &self,
        seq: u64,
        due: u64,
        id: IndicatorId,
        on: NaiveDate,
        items: Arc<Vec<OverdueItem>>,
    ) {
        let Some(mut m) = self.for_put(seq) else {
            return;
        };
        if m.overdue_due != due || m.overdue.len() >= MAX_EVALUATIONS {
            m.overdue.clear();
            m.overdue_due = due;
        }
        m.overdue.insert(id, (on, items));
    }

    /// Every indicator, by id, at sequence `seq`.
    pub fn indicators(
        &self,
        seq: u64,
    ) -> Option<Arc<std::collections::BTreeMap<IndicatorId, crate::domain::Indicator>>> {
        self.of(seq)?.indicators.clone()
    }

    pub fn put_indicators(
        &self,
        seq: u64,
        map: Arc<std::collections::BTreeMap<IndicatorId, crate::domain::Indicator>>,
    ) {
        if let Some(mut m) = self.for_put(seq) {
            m.indicators = Some(map);
        }
    }

    /// The latest year with a target, at sequence `seq`.
    pub fn target_year(&self, seq: u64) -> Option<Option<u16>> {
        self.of(seq)?.target_year
    }

    pub fn put_target_year(&self, seq: u64, year: Option<u16>) {
        if let Some(mut m) = self.for_put(seq) {
            m.target_year = Some(year);
        }
    }

    /// The default `as_of` worked out at sequence `seq`.
    pub fn default_as_of(&self, seq: u64) -> Option<Option<Period>> {
        match self.lock().default_as_of {
            Some((at, p)) if at == seq => Some(p),
            _ => None,
        }
    }

    pub fn put_default_as_of(&self, seq: u64, p: Option<Period>) {
        let mut m = self.lock();
        if m.default_as_of.is_none_or(|(at, _)| at <= seq) {
            m.default_as_of = Some((seq, p));
        }
    }

    /// The per-row alerts of the last board of `as_of` they were worked out for.
    pub fn row_alerts(&self, as_of: Period) -> Option<RowAlerts> {
        self.lock().row_alerts.get(&as_of).cloned()
    }

    pub fn put_row_alerts(&self, as_of: Period, r: RowAlerts) {
        let mut m = self.lock();
        if !m.row_alerts.contains_key(&as_of) && m.row_alerts.len() >= MAX_LAST_BOARDS {
            m.row_alerts.clear();
        }
        m.row_alerts.insert(as_of, r);
    }

    /// The last board built for `as_of`, at whatever sequence.
    pub fn last_board(&self, as_of: Period) -> Option<LastBoard> {
        self.lock().last_boards.get(&as_of).cloned()
    }

    /// Keeps `last` as the board of `as_of` to bring up to date, unless a newer one
    /// is kept already.
    pub fn put_last_board(&self, as_of: Period, last: LastBoard) {
        // The same board the memo holds while it is current, so no more memory than
        // that; after a write, the old and the new share every row not evaluated again.
        if board_weight(&last.board) > MAX_BYTES {
            return;
        }
        let mut m = self.lock();
        if m.last_boards.get(&as_of).is_some_and(|b| b.seq > last.seq) {
            return;
        }
        if !m.last_boards.contains_key(&as_of) && m.last_boards.len() >= MAX_LAST_BOARDS {
            // The oldest goes.
            if let Some(oldest) = m
                .last_boards
                .iter()
                .min_by_key(|(_, b)| b.seq)
                .map(|(p, _)| *p)
            {
                m.last_boards.remove(&oldest);
            }
        }
        m.last_boards.insert(as_of, last);
    }

    /// The indicators by region and name, built at change sequence `seq`.
    pub fn names(&self, seq: u64) -> Option<Arc<NameIndex>> {
        match &self.lock().names {
            Some((at, ix)) if *at == seq => Some(ix.clone()),
            _ => None,
        }
    }

    pub fn put_names(&self, seq: u64, index: Arc<NameIndex>) {
        let mut m = self.lock();
        if m.names.as_ref().is_some_and(|(at, _)| *at > seq) {
            // Built from an older store than the index already kept.
            return;
        }
        m.names = Some((seq, index));
    }

    /// How many entries are kept, for tests and `/metrics`.
    pub fn len(&self) -> usize {
        let m = self.lock();
        m.whole.len() + m.evaluations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn board(as_of: &str) -> Arc<Board> {
        Arc::new(Board {
            as_of: as_of.parse().unwrap(),
            region: "桃江县".into(),
            document: String::new(),
            plan: None,
            groups: Vec::new(),
            rows: Vec::new(),
        })
    }

    fn evaluation(id: &str, peers: &[&str]) -> Arc<Evaluation> {
        let cat = Catalogue::builtin().unwrap();
        let (ind, target) = cat.find(id).unwrap();
        let june: Period = "2023-06".parse().unwrap();
        let mut readings: BTreeSet<IndicatorId> = peers
            .iter()
            .map(|p| IndicatorId::parse(p).unwrap())
            .collect();
        readings.insert(ind.id.clone());
        Arc::new(Evaluation {
            attainment: crate::engine::evaluate(ind, target, &[], june),
            deps: Deps {
                targets: [ind.id.clone()].into_iter().collect(),
                readings,
                base: (ind.id.as_str() == "tech-sme-registered")
                    .then(|| IndicatorId::parse("sme-base").unwrap()),
                year: 2023,
                day: None,
            },
        })
    }

    #[test]
    fn an_entry_is_found_only_at_the_sequence_it_was_computed_at() {
        let m = Memo::default();
        let june: Period = "2023-06".parse().unwrap();
        m.put_board(7, board("2023-06"));
        assert!(m.board(7, june).is_some());
        assert!(m.board(8, june).is_none(), "a later write makes it stale");
        assert!(
            m.home_board(7, june).is_none(),
            "a board is not a home board"
        );
        // A value computed from an older store never replaces newer entries.
        m.put_board(8, board("2023-06"));
        m.put_board(7, board("2023-05"));
        assert!(m.board(7, "2023-05".parse().unwrap()).is_none());
        assert!(m.board(8, june).is_some());
    }

    #[test]
    fn the_name_index_is_kept_for_the_change_it_was_built_at() {
        let m = Memo::default();
        assert!(m.names(4).is_none());
        m.put_names(4, Arc::new(NameIndex::default()));
        assert!(m.names(4).is_some());
        assert!(m.names(5).is_none(), "a later write makes it stale");
        m.put_names(6, Arc::new(NameIndex::default()));
        m.put_names(5, Arc::new(NameIndex::default()));
        assert!(
            m.names(6).is_some(),
            "an older index never replaces a newer one"
        );
        assert!(m.names(5).is_none());
    }

    #[test]
    fn advancing_keeps_the_evaluations_the_changes_could_not_alter() {
        let m = Memo::default();
        let june: Period = "2023-06".parse().unwrap();
        let gdp = IndicatorId::parse("gdp-growth").unwrap();
        let sme = IndicatorId::parse("tech-sme-registered").unwrap();
        m.put_evaluation(
            3,
            gdp.clone(),
            june,
            evaluation("gdp-growth", &["peer-gdp"]),
        );
        m.put_evaluation(3, sme.clone(), june, evaluation("tech-sme-registered", &[]));
        m.put_board(3, board("2023-06"));
        // A peer's 2022 figure touches nothing of 2023; its 2023 figure may move GDP's
        // rank, not the SME count.
        let peer = IndicatorId::parse("peer-gdp").unwrap();
        m.advance(3, 4, Some(&[(peer.clone(), 2022)]), false);
        assert!(m.evaluation(4, &gdp, june).is_some());
        m.put_board(4, board("2023-06"));
        m.advance(4, 5, Some(&[(peer.clone(), 2023)]), false);
        assert!(m.evaluation(5, &gdp, june).is_none());
        assert!(m.evaluation(5, &sme, june).is_some());
        assert!(m.board(5, june).is_none(), "whole-store answers go");
        // Last year's figure of its base touches it too; its own last year does not.
        m.advance(5, 6, Some(&[(sme.clone(), 2022)]), false);
        assert!(m.evaluation(6, &sme, june).is_some());
        let base = IndicatorId::parse("sme-base").unwrap();
        m.put_evaluation(6, sme.clone(), june, evaluation("tech-sme-registered", &[]));
        m.advance(6, 8, Some(&[(base, 2022)]), false);
        assert!(m.evaluation(8, &sme, june).is_none());
        m.put_evaluation(8, sme.clone(), june, evaluation("tech-sme-registered", &[]));
        assert!(m.evaluation(6, &sme, june).is_none());
        // A memo moved on by another caller is left alone; `None` drops everything.
        m.advance(5, 9, None, false);
        assert!(m.evaluation(8, &sme, june).is_some());
        m.advance(8, 10, None, false);
        assert!(m.evaluation(10, &sme, june).is_none());
    }
}
