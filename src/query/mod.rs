//! The questions zhibiao answers, asked of the store: one indicator's attainment, the
//! board of every indicator at an `as_of`, alerts, the overdue list, rankings, the
//! bulletin. The API, the CLI, the notifier and the reports all ask here, so that
//! `zhibiao attainment` and `GET /v1/attainment` evaluate by the same path, and no
//! layer above reads the store to evaluate on its own.
//!
//! A [`Queries`] holds the store and the [`memo`] of answers already worked out for
//! the store as it stands. The memo is this layer's, not the store's: the store
//! stores, and what is derived from it (and when that goes stale) is decided here.
//!
//! - [`attainment`]: one indicator's year, evaluated with its peers' series.
//! - [`board`]: every indicator at one `as_of`, shared by attainment lists, alerts,
//!   the dashboard, the bulletins and `/metrics`.
//! - [`alerts`]: pace alerts from the board, overdue alerts from the calendar.
//! - [`schedule`]: the reporting calendar read from the store (what is due, what is
//!   overdue).
//! - [`rankings`]: the regions that share a code, dense-ranked.
//! - [`views`]: the JSON shapes answers are given in, shared by the API and the CLI.
//! - [`tokens`]: token names, roles and units, checked the same way for the API and
//!   the CLI.
//! - [`names`]: indicators named by 指标名称 within a region, for batches from
//!   offices' spreadsheets.
//! - [`quality`]: the quality checks a new figure passes before it is written, against
//!   the store and the earlier rows of its batch.
//!
//! Errors are [`QueryError`]; the API maps them once into problem+json, the CLI prints
//! them.

pub mod alerts;
pub mod attainment;
pub mod board;
pub mod bulletin;
pub mod memo;
pub mod names;
pub mod plans;
pub mod quality;
pub mod rankings;
pub mod schedule;
pub mod tokens;
pub mod views;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::{DomainError, Indicator, IndicatorId, Period, Region};
use crate::store::{Store, StoreError};

pub use bulletin::BulletinFile;
pub use memo::Memo;

/// What a question can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value the caller gave is wrong; `field` names it.
    #[error("{detail}")]
    Invalid {
        field: String,
        detail: crate::domain::messages::Msg,
    },
    /// What was asked about does not exist.
    #[error("{0}")]
    NotFound(crate::domain::messages::Msg),
    /// The question cannot be answered from what the store holds.
    #[error("{0}")]
    Unanswerable(crate::domain::messages::Msg),
    /// Rendering an answer failed (a bug or an I/O failure, never the caller's fault).
    #[error("{0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl QueryError {
    pub fn invalid(
        field: impl Into<String>,
        detail: impl Into<crate::domain::messages::Msg>,
    ) -> QueryError {
        QueryError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<DomainError> for QueryError {
    fn from(e: DomainError) -> Self {
        QueryError::Invalid {
            field: e.field().to_string(),
            detail: e.detail(),
        }
    }
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;

/// How many audit rows the memo reads to learn what changed since it was filled; past
/// that it starts afresh.
pub const MEMO_CATCH_UP: usize = 4096;

/// The store and the answers derived from it. Cheap to clone: both are shared.
#[derive(Clone, Debug)]
pub struct Queries {
    store: Store,
    memo: Arc<Memo>,
}

impl Queries {
    pub fn new(store: Store) -> Queries {
        Queries {
            store,
            memo: Arc::new(Memo::default()),
        }
    }

    /// The store, for writes and for plain listings that evaluate nothing.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The memo of derived answers.
    pub fn memo(&self) -> &Memo {
        &self.memo
    }

    /// The store's change sequence, with the memo brought up to it: the audit rows
    /// written since the memo's sequence name what changed, and only the one-indicator
    /// evaluations that read it are dropped (a reading or a target of a year; anything
    /// else, or more than [`MEMO_CATCH_UP`] rows, drops them all). Whole-store answers
    /// are dropped either way; the board is brought up to date on its own
    /// ([`Queries::board`]).
    pub fn memo_at(&self) -> Result<u64> {
        let seq = self.store.change_seq()?;
        let from = self.memo.seq();
        if from >= seq {
            return Ok(seq);
        }
        let mut targets = false;
        let touched = if from == 0 {
            // A fresh memo holds nothing to keep.
            None
        } else {
            self.store
                .audit_after_at_most(from, MEMO_CATCH_UP)?
                .and_then(|rows| {
                    rows.into_iter()
                        .map(|(_, r)| match r.change {
                            crate::store::Change::Reading {
                                indicator, period, ..
                            }
                            | crate::store::Change::Note {
                                indicator, period, ..
                            } => Some((indicator, period.year())),
                            crate::store::Change::Target {
                                indicator, year, ..
                            } => {
                                targets = true;
                                Some((indicator, year))
                            }
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                })
        };
        self.memo.advance(from, seq, touched.as_deref(), targets);
        Ok(seq)
    }

    /// The `as_of` used when a request gives none: the latest period holding a reading
    /// within the latest year that has targets (December of that year when it has no
    /// reading yet), so a stray reading for a year without a plan cannot move the
    /// whole board; without any target, the latest period holding a reading. Never the
    /// wall clock, so the same store always answers the same way.
    pub fn default_as_of(&self) -> Result<Option<Period>> {
        // Kept per change: working it out reads every target's key.
        let seq = self.memo_at()?;
        if let Some(p) = self.memo.default_as_of(seq) {
            return Ok(p);
        }
        let target_year = match self.memo.target_year(seq) {
            Some(y) => y,
            None => {
                let y = self.store.latest_target_year()?;
                self.memo.put_target_year(seq, y);
                y
            }
        };
        let p = default_as_of_with(&self.store, target_year)?;
        self.memo.put_default_as_of(seq, p);
        Ok(p)
    }

    /// `given`, or the default `as_of`; an error when the store holds nothing to
    /// default to.
    pub fn resolve_as_of(&self, given: Option<Period>) -> Result<Period> {
        match given {
            Some(p) => Ok(p),
            None => self.default_as_of()?.ok_or_else(|| {
                QueryError::Unanswerable(
                    "the store holds no readings and no targets; give as_of".into(),
                )
            }),
        }
    }

    /// One indicator, or a not-found error that says where the list is.
    pub fn indicator(&self, id: &IndicatorId) -> Result<Indicator> {
        self.store.indicator(id)?.ok_or_else(|| {
            QueryError::NotFound(crate::domain::messages::Msg::new(
                format!("没有编号为“{id}”的指标（GET /v1/indicators 列出全部指标）"),
                format!("no indicator '{id}'; see GET /v1/indicators"),
            ))
        })
    }

    /// Every indicator, by id.
    pub fn indicator_map(&self) -> Result<BTreeMap<IndicatorId, Indicator>> {
        Ok(self
            .store
            .indicators()?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect())
    }

    /// Every indicator, by id, shared from the memo: decoded again only after a change
    /// of indicators (a province's 30,000 take tens of milliseconds to decode).
    pub fn indicators_shared(&self) -> Result<Arc<BTreeMap<IndicatorId, Indicator>>> {
        let seq = self.memo_at()?;
        if let Some(m) = self.memo.indicators(seq) {
            return Ok(m);
        }
        let m = Arc::new(self.indicator_map()?);
        self.memo.put_indicators(seq, m.clone());
        Ok(m)
    }

    /// Checks that `name` is a registered region, naming `field` when it is not.
    pub fn known_region(&self, field: &str, name: &str) -> Result<Region> {
        self.store.region(name)?.ok_or_else(|| {
            QueryError::invalid(
                field,
                format!("'{name}' is not a known region; see GET /v1/regions, or register it with PUT /v1/regions/{{name}}"),
            )
        })
    }

    /// The canonical `?region=` of a list request, checked against the registered
    /// regions.
    pub fn region_filter(&self, q: Option<&str>) -> Result<Option<String>> {
        q.map(|r| self.known_region("region", r).map(|r| r.name))
            .transpose()
    }

    /// Every region, by name.
    pub fn region_map(&self) -> Result<BTreeMap<String, Region>> {
        region_map(&self.store)
    }
}

/// See [`Queries::default_as_of`].
pub fn default_as_of(s: &Store) -> Result<Option<Period>> {
    default_as_of_with(s, s.latest_target_year()?)
}

/// [`default_as_of`], given the latest year with a target.
fn default_as_of_with(s: &Store, latest_target_year: Option<u16>) -> Result<Option<Period>> {
    // The home region's latest plan year, so that another region's newer plan (a
    // neighbouring county's 2024, imported for comparison) does not move the board.
    let home = s.home_region()?;
    let plans = s.plans()?;
    let home_year = plans
        .iter()
        .filter(|p| p.region == home)
        .map(|p| p.year)
        .max();
    match home_year.or(latest_target_year) {
        Some(year) => {
            let others = plans.iter().any(|p| p.year == year && p.region != home);
            let latest = if others {
                s.latest_period_of(&home, year)?
            } else {
                s.latest_period_in(year)?
            };
            Ok(latest.or_else(|| Period::new(year, 12).ok()))
        }
        None => Ok(s.latest_period()?),
    }
}

fn region_map(s: &Store) -> Result<BTreeMap<String, Region>> {
    Ok(s.regions()?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect())
}

/// Which indicators a list keeps: by group of the plan, lead unit, region and kind.
/// Each is a set of alternatives (empty: any); the sets narrow together. The units and
/// regions are canonical names: build it from a request with [`Queries::selection`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Group keys (`growth`).
    pub groups: Vec<String>,
    pub lead_units: Vec<String>,
    /// The regions kept; `None` keeps every region.
    pub regions: Option<Vec<String>>,
    pub kinds: Vec<crate::domain::Kind>,
}

impl Selection {
    /// Whether `ind` is kept.
    pub fn keeps(&self, ind: &Indicator) -> bool {
        (self.groups.is_empty() || self.groups.contains(&ind.group))
            && (self.lead_units.is_empty()
                || self.lead_units.iter().any(|u| ind.lead_units.contains(u)))
            && self
                .regions
                .as_ref()
                .is_none_or(|r| r.contains(&ind.region))
            && (self.kinds.is_empty() || self.kinds.contains(&ind.kind))
    }

    /// The one region kept, when exactly one is.
    pub fn one_region(&self) -> Option<&str> {
        match self.regions.as_deref() {
            Some([r]) => Some(r),
            _ => None,
        }
    }
}

/// A list request's filters as spelled (`?group=民生,growth&lead_unit=县交通局`), before
/// they are checked against the store. `battle` is the older name of `group`: the two
/// are read together.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub group: Vec<String>,
    pub battle: Vec<String>,
    pub lead_unit: Vec<String>,
    /// Region names, or `*` for every region; empty: the default region.
    pub region: Vec<String>,
    pub kind: Vec<String>,
}

/// The `?region=` value that asks for every region.
pub const ALL_REGIONS: &str = "*";

impl Asked {
    /// The filters of a list route that takes all five.
    pub fn new(
        group: Vec<String>,
        battle: Vec<String>,
        lead_unit: Vec<String>,
        region: Vec<String>,
        kind: Vec<String>,
    ) -> Asked {
        Asked {
            group,
            battle,
            lead_unit,
            region,
            kind,
        }
    }

    /// Whether the request asked for every region (`?region=*`).
    pub fn all_regions(&self) -> bool {
        self.region.iter().any(|r| r == ALL_REGIONS)
    }

    /// The region whose release the answer follows: the one region asked for, or
    /// `default` (the caller's region, or the home region when `None`).
    pub fn sight_region<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        match self.region.as_slice() {
            [r] if r != ALL_REGIONS => Some(r),
            [] => default,
            _ => None,
        }
    }
}

impl Queries {
    /// A group named by `?group=` (or its synonym `?battle=`), answered as its key: a
    /// group key, a group's name in any plan (重点民生保障仗), or a part of one name that
    /// no other group's name shares (民生). Errors name `field` (`battle` when the
    /// request used that name).
    pub fn group_filter_as(&self, field: &str, q: Option<&str>) -> Result<Option<String>> {
        let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
            return Ok(None);
        };
        let plans = self.store.plans()?;
        if let Some(g) = plans.iter().find_map(|p| p.find_group(q)) {
            return Ok(Some(g.key.clone()));
        }
        let mut known: Vec<(String, String)> = Vec::new();
        for p in &plans {
            for g in &p.groups {
                if !known.iter().any(|(k, _)| *k == g.key) {
                    known.push((g.key.clone(), g.name.clone()));
                }
            }
        }
        // A part of a name (民生 of 重点民生保障仗), when it names one group only.
        let partial: Vec<&(String, String)> = known
            .iter()
            .filter(|(_, name)| q.chars().count() >= 2 && name.contains(q))
            .collect();
        if let [(key, _)] = partial.as_slice() {
            return Ok(Some(key.clone()));
        }
        let list = |v: &[&(String, String)]| {
            v.iter()
                .map(|(k, n)| format!("{k}（{n}）"))
                .collect::<Vec<_>>()
                .join("、")
        };
        let all: Vec<&(String, String)> = known.iter().collect();
        Err(if partial.len() > 1 {
            QueryError::invalid(
                field,
                crate::domain::messages::Msg::new(
                    format!("“{q}”可指多个板块：{}；请写全称或代码", list(&partial)),
                    format!(
                        "'{q}' names more than one group: {}; give the full name or the key",
                        list(&partial)
                    ),
                ),
            )
        } else {
            QueryError::invalid(
                field,
                crate::domain::messages::Msg::new(
                    format!("“{q}”不是任何方案的板块；板块有：{}", list(&all)),
                    format!(
                        "'{q}' is not a group of any plan; the groups are: {}",
                        list(&all)
                    ),
                ),
            )
        })
    }

    /// A lead unit as asked, by its canonical name: a registered unit or one of its
    /// aliases (县交通局 filters like 县交通运输局), or a unit another region's
    /// indicators name as written (益阳市统计局). Anything else is an error naming it.
    pub fn lead_unit_filter(&self, q: &str) -> Result<String> {
        let q = q.trim();
        let units = self.store.units()?;
        if let Some(c) = units.canonical(q) {
            return Ok(c.to_string());
        }
        let inds = self.indicators_shared()?;
        if inds
            .values()
            .any(|i| i.lead_units.iter().any(|u| u == q) || i.co_units.iter().any(|u| u == q))
        {
            return Ok(q.to_string());
        }
        Err(QueryError::invalid(
            "lead_unit",
            crate::domain::messages::Msg::new(
                format!("“{q}”不是登记的单位或其别名，也不是任何指标的牵头单位；各指标的牵头单位见 GET /v1/indicators 的 lead_units"),
                format!("'{q}' is neither a registered unit or alias nor any indicator's lead unit; the units leading each indicator are the lead_units of GET /v1/indicators"),
            ),
        ))
    }

    /// A [`Selection`] from a request's spellings: groups by key, name or a part of a
    /// name; units resolved to their canonical names; regions checked against the
    /// registered ones, `*` keeping every region, and none asked meaning
    /// `default_region` (the caller's region), else the home region; kinds checked.
    /// Errors name the parameter and the value.
    pub fn selection(&self, asked: &Asked, default_region: Option<&str>) -> Result<Selection> {
        let mut groups: Vec<String> = Vec::new();
        for (field, values) in [("group", &asked.group), ("battle", &asked.battle)] {
            for v in values {
                if let Some(k) = self.group_filter_as(field, Some(v))? {
                    if !groups.contains(&k) {
                        groups.push(k);
                    }
                }
            }
        }
        let mut lead_units: Vec<String> = Vec::new();
        for u in &asked.lead_unit {
            let c = self.lead_unit_filter(u)?;
            if !lead_units.contains(&c) {
                lead_units.push(c);
            }
        }
        let regions = if asked.all_regions() {
            None
        } else if asked.region.is_empty() {
            Some(vec![match default_region.filter(|r| !r.is_empty()) {
                Some(r) => self.known_region("region", r)?.name,
                None => self.store.home_region()?,
            }])
        } else {
            let mut out: Vec<String> = Vec::new();
            for r in &asked.region {
                let name = self.known_region("region", r)?.name;
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            Some(out)
        };
        let mut kinds = Vec::new();
        for k in &asked.kind {
            let kind: crate::domain::Kind = k.parse()?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(Selection {
            groups,
            lead_units,
            regions,
            kinds,
        })
    }
}
