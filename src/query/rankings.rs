//! Rankings: the regions whose indicators share a code, best first by the indicator's
//! direction and dense-ranked (ties share a place), the way a city's bulletin ranks its
//! counties (居全市第3位). With a parent, only the regions directly under it.

use serde::Serialize;

use super::views::{tidy, TargetView};
use super::{Queries, QueryError, Result};
use crate::domain::{Direction, Period};
use crate::engine::compare::dense_rank;
use crate::engine::Status;

/// One region's place in a ranking.
#[derive(Debug, Clone, Serialize)]
pub struct RankingEntry {
    pub rank: Option<usize>,
    pub region: String,
    pub parent: Option<String>,
    pub indicator: String,
    pub name: String,
    pub value: Option<f64>,
    pub actual_period: Option<Period>,
    pub unit: String,
    pub target: Option<TargetView>,
    /// From the region's own target, in its unit (points for rates).
    pub deviation: Option<f64>,
    pub attainment: Option<f64>,
    pub status: Status,
    pub status_label: &'static str,
}

/// The answer of `GET /v1/rankings`.
#[derive(Debug, Serialize)]
pub struct Ranking {
    pub code: String,
    pub as_of: Period,
    pub parent: Option<String>,
    pub direction: Option<Direction>,
    /// How many regions have a figure, and so a rank.
    pub ranked: usize,
    pub count: usize,
    pub rankings: Vec<RankingEntry>,
}

impl Queries {
    /// The ranking of the regions measuring `code` at `as_of` (or the default), among
    /// the regions under `parent` when given.
    pub fn ranking(
        &self,
        code: &str,
        as_of: Option<Period>,
        parent: Option<&str>,
    ) -> Result<Ranking> {
        if let Some(p) = parent {
            self.known_region("parent", p)?;
        }
        let as_of = self.resolve_as_of(as_of)?;
        let regions = self.region_map()?;
        let b = self.board(as_of)?;
        let parent_of = |region: &str| regions.get(region).and_then(|reg| reg.parent.clone());
        let rows: Vec<_> = b
            .rows
            .iter()
            .filter(|r| r.indicator.code == code)
            .filter(|r| parent.is_none_or(|p| parent_of(&r.indicator.region).as_deref() == Some(p)))
            .collect();
        if rows.is_empty() {
            return Err(QueryError::NotFound(match parent {
                Some(p) => crate::domain::messages::Msg::new(
                    format!("“{p}”下没有哪个地区有代码为“{code}”的指标"),
                    format!("no region under '{p}' has an indicator with code '{code}'"),
                ),
                None => crate::domain::messages::Msg::new(
                    format!("没有代码为“{code}”的指标"),
                    format!("no indicator has code '{code}'"),
                ),
            }));
        }
        // Ranked by the direction of the first; a code should mean one measure everywhere.
        let direction = rows[0].indicator.direction;
        let values: Vec<Option<f64>> = rows.iter().map(|r| r.attainment.actual).collect();
        let ranks = dense_rank(&values, direction);
        let mut entries: Vec<RankingEntry> = rows
            .iter()
            .zip(ranks)
            .map(|(r, rank)| {
                let a = &r.attainment;
                let ind = &r.indicator;
                RankingEntry {
                    rank,
                    region: ind.region.clone(),
                    parent: parent_of(&ind.region),
                    indicator: ind.id.to_string(),
                    name: ind.name.clone(),
                    value: a.actual,
                    actual_period: a.actual_period,
                    unit: ind.unit.clone(),
                    target: a.target.as_ref().map(|t| TargetView::new(ind, t)),
                    deviation: tidy(a.deviation),
                    attainment: tidy(a.attainment),
                    status: a.status,
                    status_label: a.status.label_zh(),
                }
            })
            .collect();
        entries.sort_by(|x, y| {
            x.rank
                .unwrap_or(usize::MAX)
                .cmp(&y.rank.unwrap_or(usize::MAX))
                .then_with(|| x.region.cmp(&y.region))
        });
        Ok(Ranking {
            code: code.to_string(),
            as_of,
            parent: parent.map(str::to_string),
            direction: Some(direction),
            ranked: entries.iter().filter(|e| e.rank.is_some()).count(),
            count: entries.len(),
            rankings: entries,
        })
    }
}
