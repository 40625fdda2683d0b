//! Comparison with other regions: benchmarks (高于全市平均X个百分点), the
//! plan-and-benchmark status rule, and rankings among peers (居全市第3位（共7个）).
//!
//! Indicators of different regions that share a `code` measure the same thing. Pure,
//! like the rest of the engine: the caller passes the indicators that share the code,
//! with their readings up to `as_of`, and the regions they belong to.

use std::collections::BTreeMap;

use serde::Serialize;

use super::alerts::fmt_num;
use super::{Attainment, Status};
use crate::domain::{Direction, Indicator, Period, Region, RegionLevel, StatusRule};

/// A benchmark region's figure beside an indicator's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkGap {
    pub region: String,
    /// How a notice names it: 全市平均, 全省平均, or a county's name.
    pub label: String,
    /// The benchmark's figure for the indicator's own `actual_period`, if reported.
    pub value: Option<f64>,
    /// actual − value, in the target's unit (points for rates).
    pub difference: Option<f64>,
    /// e.g. 高于全市平均1.2个百分点.
    pub message: Option<String>,
}

/// An indicator's place among the regions that share its parent and its code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rank {
    /// Dense rank: equal figures share a place, and the next figure takes the next.
    pub rank: usize,
    /// How many regions were ranked (those with a figure).
    pub of: usize,
    /// The parent region the ranking is within.
    pub within: String,
    /// e.g. 居全市第3位（共7个）.
    pub label: String,
}

/// One indicator sharing a code, with its year's readings at or before `as_of`.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    pub indicator: &'a Indicator,
    pub series: &'a [(Period, f64)],
}

impl Peer<'_> {
    fn latest(&self) -> Option<(Period, f64)> {
        self.series.iter().max_by_key(|(p, _)| *p).copied()
    }

    fn at(&self, period: Period) -> Option<f64> {
        self.series
            .iter()
            .find(|(p, _)| *p == period)
            .map(|(_, v)| *v)
    }
}

/// Whether `a` is at least as good as `b` for an indicator of `direction`.
pub fn at_least_as_good(direction: Direction, a: f64, b: f64) -> bool {
    match direction {
        Direction::Up => a >= b - 1e-9,
        Direction::Down => a <= b + 1e-9,
    }
}

/// The label a notice uses for a region compared against: 全市平均, 全省平均, or the
/// county's own name.
pub fn benchmark_label(region: &Region) -> String {
    match region.level {
        RegionLevel::County => region.name.clone(),
        _ => format!("{}平均", region.label_zh()),
    }
}

fn diff_words(ind: &Indicator, label: &str, d: f64) -> String {
    // As alert messages say it: a difference of percentages is in points.
    let unit = crate::text::diff_unit(crate::text::Lang::default(), &ind.unit);
    if d.abs() < 1e-9 {
        format!("与{label}持平")
    } else {
        let word = if d > 0.0 { "高于" } else { "低于" };
        format!("{word}{label}{}{unit}", fmt_num(d.abs()))
    }
}

/// Adds benchmarks, the plan-and-benchmark rule and the rank to `a`, the attainment of
/// `ind`. `peers` are the indicators sharing its code (it may be among them), and
/// `regions` every known region by name.
pub fn compare(
    ind: &Indicator,
    a: &mut Attainment,
    peers: &[Peer<'_>],
    regions: &BTreeMap<String, Region>,
) {
    // Benchmarks: the figure of the same period, so that June is set against June.
    for name in &ind.benchmarks {
        let label = regions
            .get(name)
            .map(benchmark_label)
            .unwrap_or_else(|| name.clone());
        let value = peers
            .iter()
            .find(|p| &p.indicator.region == name)
            .and_then(|p| a.actual_period.and_then(|period| p.at(period)));
        let difference = match (a.actual, value) {
            (Some(x), Some(b)) => super::tidy(Some(x - b)),
            _ => None,
        };
        a.benchmarks.push(BenchmarkGap {
            region: name.clone(),
            message: difference.map(|d| diff_words(ind, &label, d)),
            label,
            value,
            difference,
        });
    }
    if ind.status_rule == StatusRule::PlanAndBenchmark {
        if let (Some(actual), Some(bench)) = (a.actual, a.benchmarks.first().and_then(|b| b.value))
        {
            let met = at_least_as_good(ind.direction, actual, bench);
            a.benchmark_met = Some(met);
            if !met && a.status == Status::OnTrack {
                a.plan_status = Some(a.status);
                a.status = Status::Behind;
            }
        }
    }
    // Rank among the regions under the same parent.
    let Some(parent) = regions.get(&ind.region).and_then(|r| r.parent.clone()) else {
        return;
    };
    let figures: Vec<(&str, Option<f64>)> = peers
        .iter()
        .filter(|p| {
            regions
                .get(&p.indicator.region)
                .is_some_and(|r| r.parent.as_deref() == Some(parent.as_str()))
        })
        .map(|p| (p.indicator.id.as_str(), p.latest().map(|(_, v)| v)))
        .collect();
    let values: Vec<Option<f64>> = figures.iter().map(|(_, v)| *v).collect();
    let ranks = dense_rank(&values, ind.direction);
    let of = values.iter().flatten().count();
    let mine = figures
        .iter()
        .position(|(id, _)| *id == ind.id.as_str())
        .and_then(|i| ranks[i]);
    if let (Some(rank), true) = (mine, of >= 2) {
        let whole = regions
            .get(&parent)
            .map(|r| r.level.whole_zh().to_string())
            .unwrap_or_else(|| parent.clone());
        a.rank = Some(Rank {
            rank,
            of,
            label: format!("居{whole}第{rank}位（共{of}个）"),
            within: parent,
        });
    }
}

/// Dense ranks of `values` (1 = best, by `direction`); `None` values are unranked.
/// Equal figures share a rank and the next figure takes the next rank: 9, 8, 8, 7
/// rank 1, 2, 2, 3.
pub fn dense_rank(values: &[Option<f64>], direction: Direction) -> Vec<Option<usize>> {
    let mut distinct: Vec<f64> = values.iter().flatten().copied().collect();
    distinct.sort_by(|a, b| match direction {
        Direction::Up => b.total_cmp(a),
        Direction::Down => a.total_cmp(b),
    });
    distinct.dedup_by(|a, b| (*a - *b).abs() <= 1e-9);
    values
        .iter()
        .map(|v| {
            v.map(|v| {
                distinct
                    .iter()
                    .position(|d| (d - v).abs() <= 1e-9)
                    .map_or(distinct.len(), |i| i + 1)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_ranks_share_places_and_follow_direction() {
        let v = [Some(9.0), Some(8.0), None, Some(8.0), Some(7.0)];
        assert_eq!(
            dense_rank(&v, Direction::Up),
            [Some(1), Some(2), None, Some(2), Some(3)]
        );
        assert_eq!(
            dense_rank(&v, Direction::Down),
            [Some(3), Some(2), None, Some(2), Some(1)]
        );
        assert!(dense_rank(&[], Direction::Up).is_empty());
    }
}
