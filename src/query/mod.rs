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

    /// The canonical name of a lead unit as asked (an alias such as 县交通局 filters
    /// like 县交通运输局).
    pub fn lead_unit(&self, q: Option<&str>) -> Result<Option<String>> {
        let Some(u) = q else { return Ok(None) };
        let units = self.store.units()?;
        Ok(Some(units.resolve(u).to_string()))
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

/// Which indicators a list keeps: by group of the plan, lead unit and region (all
/// optional).
/// The unit and region are canonical names: build it with [`Queries::selection`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// A group key (`growth`).
    pub group: Option<String>,
    pub lead_unit: Option<String>,
    pub region: Option<String>,
}

impl Selection {
    /// Whether `ind` is kept.
    pub fn keeps(&self, ind: &Indicator) -> bool {
        self.group.as_ref().is_none_or(|g| ind.group == *g)
            && self
                .lead_unit
                .as_ref()
                .is_none_or(|u| ind.lead_units.contains(u))
            && self.region.as_ref().is_none_or(|r| ind.region == *r)
    }
}

impl Queries {
    /// A group named by `?group=` (or its synonym `?battle=`): a group key or a group's
    /// name in any plan, answered as the key.
    pub fn group_filter(&self, q: Option<&str>) -> Result<Option<String>> {
        self.group_filter_as("group", q)
    }

    /// [`Queries::group_filter`], with errors naming `field` (`battle` when the
    /// request used that name).
    pub fn group_filter_as(&self, field: &str, q: Option<&str>) -> Result<Option<String>> {
        let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
            return Ok(None);
        };
        let plans = self.store.plans()?;
        if let Some(g) = plans.iter().find_map(|p| p.find_group(q)) {
            return Ok(Some(g.key.clone()));
        }
        let mut known: Vec<String> = Vec::new();
        for p in &plans {
            for g in &p.groups {
                let k = format!("{}（{}）", g.key, g.name);
                if !known.contains(&k) {
                    known.push(k);
                }
            }
        }
        Err(QueryError::invalid(
            field,
            format!(
                "'{q}' is not a group of any plan; the groups are: {}",
                known.join("、")
            ),
        ))
    }

    /// A [`Selection`] from a request's spellings: the unit resolved to its canonical
    /// name, the region checked against the registered regions.
    /// `battle` is read as `group` (the name the six battles' filter had), and its
    /// errors are named by it.
    pub fn selection(
        &self,
        group: Option<&str>,
        battle: Option<&str>,
        lead_unit: Option<&str>,
        region: Option<&str>,
    ) -> Result<Selection> {
        let group = match (group, battle) {
            (Some(g), _) => self.group_filter_as("group", Some(g))?,
            (None, b) => self.group_filter_as("battle", b)?,
        };
        Ok(Selection {
            group,
            lead_unit: self.lead_unit(lead_unit)?,
            region: self.region_filter(region)?,
        })
    }
}
