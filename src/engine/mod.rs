//! The methodology engine: attainment (完成率), scheduled pace (序时进度), gaps and status.
//!
//! Pure functions only. Nothing here reads the clock, the store or the network: every
//! call receives the indicator, its target and its readings, and an `as_of` period.
//! That keeps each figure reproducible ("what did the June bulletin say?") and lets the
//! property tests drive the engine directly. The formulas, with worked examples, are in
//! `docs/methodology.md`; the two must stay in step.

pub mod alerts;
pub mod calendar;
pub mod compare;
pub mod quality;

use serde::Serialize;

use crate::domain::{Comparator, Direction, Indicator, IndicatorId, Kind, Period, Target};

/// Default half-width of an `about` (左右) rate target, in points.
pub const DEFAULT_RATE_TOLERANCE: f64 = 0.5;
/// Default half-width of an `about` cumulative or level target, as a fraction of the target.
pub const DEFAULT_RELATIVE_TOLERANCE: f64 = 0.02;
/// Default distance from the target, in points, beyond which a rate is severely behind.
pub const DEFAULT_RATE_SEVERE: f64 = 1.0;
/// Default shortfall, as a fraction of the target, beyond which a cumulative or level
/// indicator is severely behind.
pub const DEFAULT_RELATIVE_SEVERE: f64 = 0.10;

/// Where an indicator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 严重滞后: further behind than the severe threshold.
    SeverelyBehind,
    /// 未完成: not satisfied at year end, or a cumulative cap already breached.
    Missed,
    /// 未达序时进度: behind the scheduled pace, within the severe threshold.
    Behind,
    /// 符合序时进度: at or ahead of the scheduled pace.
    OnTrack,
    /// 已完成: a cumulative target already met, or any target met at year end.
    Achieved,
    /// 暂无数据: no reading for the year at or before `as_of`.
    NoData,
    /// 未设目标: no target for the year, or a relative target still awaiting its figure.
    NoTarget,
}

impl Status {
    /// Every status, worst first (declaration order): the order of counts, filters,
    /// legends and metric labels.
    pub const ALL: [Status; 7] = [
        Status::SeverelyBehind,
        Status::Missed,
        Status::Behind,
        Status::OnTrack,
        Status::Achieved,
        Status::NoData,
        Status::NoTarget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::SeverelyBehind => "severely_behind",
            Status::Missed => "missed",
            Status::Behind => "behind",
            Status::OnTrack => "on_track",
            Status::Achieved => "achieved",
            Status::NoData => "no_data",
            Status::NoTarget => "no_target",
        }
    }

    /// The label a county bulletin uses.
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::SeverelyBehind => "严重滞后",
            Status::Missed => "未完成",
            Status::Behind => "未达序时进度",
            Status::OnTrack => "符合序时进度",
            Status::Achieved => "已完成",
            Status::NoData => "暂无数据",
            Status::NoTarget => "未设目标",
        }
    }

    /// Whether the status calls for attention (an alert).
    pub fn is_lagging(self) -> bool {
        matches!(
            self,
            Status::Behind | Status::SeverelyBehind | Status::Missed
        )
    }
}

/// Everything the engine says about one indicator at one `as_of`.
///
/// Ratios (`scheduled_pace`, `attainment`, `pace_gap`) are fractions; every other figure
/// is in the target's unit (points for rates). Undefined figures are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attainment {
    pub indicator: IndicatorId,
    pub year: u16,
    pub as_of: Period,
    pub actual: Option<f64>,
    pub actual_period: Option<Period>,
    /// Months between `actual_period` and `as_of`.
    pub data_lag_months: Option<i32>,
    pub target: Option<Target>,
    pub scheduled_pace: Option<f64>,
    pub expected: Option<f64>,
    pub attainment: Option<f64>,
    pub deviation: Option<f64>,
    pub pace_gap: Option<f64>,
    pub year_end_gap: Option<f64>,
    pub required_rest_of_year: Option<f64>,
    pub projection: Option<f64>,
    pub status: Status,
    /// Under `status_rule: plan_and_benchmark`, the status by the plan alone when the
    /// benchmark changed it.
    pub plan_status: Option<Status>,
    /// The benchmark regions' figures beside this one (see [`compare`]).
    pub benchmarks: Vec<compare::BenchmarkGap>,
    /// Under `plan_and_benchmark`: whether the first benchmark is met or beaten.
    pub benchmark_met: Option<bool>,
    /// The place among the regions under the same parent that share the code.
    pub rank: Option<compare::Rank>,
}

/// Rounds a derived figure to 10 decimal places, so that 7.2 − 8 answers −0.8 rather
/// than −0.7999999999999998. Statuses are decided on the unrounded figures; only
/// answers are rounded.
pub fn tidy(x: Option<f64>) -> Option<f64> {
    x.map(|v| {
        let r = (v * 1e10).round() / 1e10;
        if !r.is_finite() {
            // Too large to carry ten decimals anyway: leave it as computed.
            v
        } else if r == 0.0 {
            0.0
        } else {
            r
        }
    })
}

/// The latest reading of `year` at or before `as_of`. Readings after `as_of` are
/// ignored: an answer "as of June" never peeks at July.
pub fn latest_reading(readings: &[(Period, f64)], as_of: Period) -> Option<(Period, f64)> {
    readings
        .iter()
        .filter(|(p, _)| p.year() == as_of.year() && *p <= as_of)
        .max_by_key(|(p, _)| *p)
        .copied()
}

/// Share of the year elapsed by the end of month `m`: m / 12, the linear convention
/// ("时间过半、任务过半").
pub fn time_fraction(m: u8) -> f64 {
    f64::from(m) / 12.0
}

/// The scheduled pace of a cumulative indicator at month `m`: its custom profile if it
/// has one, else m / 12. Rates and levels always use m / 12.
pub fn scheduled_pace(indicator: &Indicator, m: u8) -> f64 {
    match (&indicator.profile, indicator.kind) {
        (Some(p), Kind::Cumulative) => p.at(m),
        _ => time_fraction(m),
    }
}

/// The half-width of an `about` target.
pub fn tolerance(indicator: &Indicator, target: &Target, value: f64) -> f64 {
    target.tolerance.unwrap_or(match indicator.kind {
        Kind::Rate | Kind::Growth => DEFAULT_RATE_TOLERANCE,
        Kind::Cumulative | Kind::Level | Kind::Milestone | Kind::Ordinal => {
            DEFAULT_RELATIVE_TOLERANCE * value.abs()
        }
    })
}

/// Where `behind` turns into `severely_behind`, in the target's unit.
pub fn severe_threshold(indicator: &Indicator, value: f64) -> f64 {
    match indicator.kind {
        Kind::Rate | Kind::Growth => indicator.thresholds.severe.unwrap_or(DEFAULT_RATE_SEVERE),
        Kind::Cumulative | Kind::Level | Kind::Milestone | Kind::Ordinal => {
            indicator
                .thresholds
                .severe
                .unwrap_or(DEFAULT_RELATIVE_SEVERE)
                * value.abs()
        }
    }
}

/// Whether `actual` satisfies the target's comparator.
pub fn satisfied(indicator: &Indicator, target: &Target, value: f64, actual: f64) -> bool {
    match target.comparator {
        Comparator::AtLeast => actual >= value,
        Comparator::MoreThan => actual > value,
        Comparator::AtMost => actual <= value,
        Comparator::LessThan => actual < value,
        Comparator::About => {
            let better = match indicator.direction {
                Direction::Up => actual >= value,
                Direction::Down => actual <= value,
            };
            better || (actual - value).abs() <= tolerance(indicator, target, value)
        }
        Comparator::Between => {
            let upper = target.upper.unwrap_or(value);
            actual >= value && actual <= upper
        }
    }
}

/// Signed distance from `x` to the band `lo..=hi`: negative below, positive above, 0 inside.
fn band_distance(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        x - lo
    } else if x > hi {
        x - hi
    } else {
        0.0
    }
}

/// Evaluates one indicator for the year of `as_of`.
///
/// `target` must be the target of `as_of.year()` (any other year is treated as no
/// target). `readings` may hold any periods; only those of that year at or before
/// `as_of` count.
pub fn evaluate(
    indicator: &Indicator,
    target: Option<&Target>,
    readings: &[(Period, f64)],
    as_of: Period,
) -> Attainment {
    let year = as_of.year();
    let target = target.filter(|t| t.year == year);
    let latest = latest_reading(readings, as_of);
    let mut out = Attainment {
        indicator: indicator.id.clone(),
        year,
        as_of,
        actual: latest.map(|(_, v)| v),
        actual_period: latest.map(|(p, _)| p),
        data_lag_months: latest.map(|(p, _)| p.months_until(as_of)),
        target: target.cloned(),
        scheduled_pace: None,
        expected: None,
        attainment: None,
        deviation: None,
        pace_gap: None,
        year_end_gap: None,
        required_rest_of_year: None,
        projection: None,
        status: Status::NoTarget,
        plan_status: None,
        benchmarks: Vec::new(),
        benchmark_met: None,
        rank: None,
    };
    let Some((target, value)) = target.and_then(|t| t.value.map(|v| (t, v))) else {
        return out;
    };
    let Some((period, actual)) = latest else {
        out.status = Status::NoData;
        return out;
    };
    let m = period.month();
    let f = scheduled_pace(indicator, m);
    let ft = time_fraction(m);
    let year_end = m == 12;
    out.scheduled_pace = Some(f);
    // Rates about a band aim at its middle when a single figure is needed.
    let (lo, hi) = match target.comparator {
        Comparator::Between => (value, target.upper.unwrap_or(value)),
        _ => (value, value),
    };
    let aim = (lo + hi) / 2.0;
    let between = target.comparator == Comparator::Between;

    match indicator.kind {
        Kind::Cumulative | Kind::Milestone => {
            let (elo, ehi) = (lo * f, hi * f);
            out.expected = (!between).then_some(value * f);
            out.deviation = Some(if between {
                band_distance(actual, elo, ehi)
            } else {
                actual - value * f
            });
            out.projection = (f > 0.0).then(|| actual / f);
        }
        Kind::Rate | Kind::Growth | Kind::Level | Kind::Ordinal => {
            out.expected = (!between).then_some(value);
            out.deviation = Some(if between {
                band_distance(actual, lo, hi)
            } else {
                actual - value
            });
            out.projection = Some(actual);
        }
    }
    if !between && value != 0.0 {
        out.attainment = Some(actual / value);
        if indicator.kind == Kind::Cumulative {
            out.pace_gap = out.attainment.map(|a| a - f);
        }
    }
    out.year_end_gap = Some(if between {
        band_distance(actual, lo, hi).abs()
    } else {
        match indicator.direction {
            Direction::Up => (value - actual).max(0.0),
            Direction::Down => (actual - value).max(0.0),
        }
    });
    if !year_end {
        let months_left = f64::from(12 - m);
        out.required_rest_of_year = match indicator.kind {
            Kind::Cumulative | Kind::Milestone => Some(match (between, indicator.direction) {
                (true, _) => (lo - actual).max(0.0) / months_left,
                (false, Direction::Up) => (value - actual).max(0.0) / months_left,
                // For a cap, what is still allowed per month.
                (false, Direction::Down) => (value - actual).max(0.0) / months_left,
            }),
            // The figure the rest of the year must average for the year to land on target.
            Kind::Rate | Kind::Growth => Some((aim - ft * actual) / (1.0 - ft)),
            Kind::Level | Kind::Ordinal => None,
        };
    }

    let sat = satisfied(indicator, target, value, actual);
    let deviation = out.deviation.unwrap_or(0.0);
    let severe = severe_threshold(indicator, if between { lo } else { value });
    out.status = if year_end {
        if sat {
            Status::Achieved
        } else {
            Status::Missed
        }
    } else {
        match indicator.kind {
            Kind::Cumulative | Kind::Milestone => {
                cumulative_status(indicator, between, sat, actual, hi, deviation, severe)
            }
            Kind::Rate | Kind::Growth | Kind::Level | Kind::Ordinal => {
                if sat {
                    Status::OnTrack
                } else if deviation_from_target(between, actual, value, deviation) <= severe {
                    Status::Behind
                } else {
                    Status::SeverelyBehind
                }
            }
        }
    };
    out
}

/// How far a failing rate or level is from the target value itself (not from the edge
/// of an `about` tolerance), or from the band of a `between` target.
fn deviation_from_target(between: bool, actual: f64, value: f64, deviation: f64) -> f64 {
    if between {
        deviation.abs()
    } else {
        (actual - value).abs()
    }
}

fn cumulative_status(
    indicator: &Indicator,
    between: bool,
    sat: bool,
    actual: f64,
    upper: f64,
    deviation: f64,
    severe: f64,
) -> Status {
    if between {
        // A count within a band: exceeding the upper bound cannot be undone.
        return if actual > upper {
            Status::Missed
        } else if deviation >= 0.0 {
            Status::OnTrack
        } else if -deviation <= severe {
            Status::Behind
        } else {
            Status::SeverelyBehind
        };
    }
    match indicator.direction {
        Direction::Up => {
            if sat {
                Status::Achieved
            } else if deviation >= 0.0 {
                Status::OnTrack
            } else if -deviation <= severe {
                Status::Behind
            } else {
                Status::SeverelyBehind
            }
        }
        Direction::Down => {
            if !sat {
                // A cap already breached stays breached: the figure only grows.
                Status::Missed
            } else if deviation <= 0.0 {
                Status::OnTrack
            } else if deviation <= severe {
                Status::Behind
            } else {
                Status::SeverelyBehind
            }
        }
    }
}

#[cfg(test)]
mod tests;
