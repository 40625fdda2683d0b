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
pub mod headline;
pub mod quality;

use serde::Serialize;

use crate::domain::{
    Comparator, Direction, Duty, Frequency, Indicator, IndicatorId, Kind, Period, Target,
};

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

/// What an answer leads with, one per kind and direction (docs/methodology.md §
/// "Headlines"). The API, the dashboard, the bulletins, alerts, notices and `/metrics`
/// all lead with the same figure, so a ceiling is never drawn or worded as progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Headline {
    /// 完成率 against 序时进度: a cumulative count or amount, or a list, with a floor.
    Completion,
    /// 已用 and the allowance left under a cumulative ceiling (控制在X以内，尚余Y).
    Allowance,
    /// The value against the target: in 个百分点 for growth rates and rates, in the
    /// unit for levels and bands.
    Deviation,
    /// Attained or not: an ordinal level (water class, rank).
    Attained,
    /// Each period's duty met or missed (每季度至少1次).
    Duty,
}

impl Headline {
    /// The headline of an indicator's target.
    pub fn of(indicator: &Indicator, target: &Target) -> Headline {
        if indicator.kind == Kind::Ordinal {
            return Headline::Attained;
        }
        if target.duty.is_some() {
            return Headline::Duty;
        }
        match indicator.kind {
            Kind::Cumulative | Kind::Milestone => {
                if target.comparator == Comparator::Between {
                    Headline::Deviation
                } else {
                    match indicator.direction {
                        Direction::Up if target.value != Some(0.0) => Headline::Completion,
                        Direction::Up => Headline::Deviation,
                        Direction::Down => Headline::Allowance,
                    }
                }
            }
            Kind::Growth | Kind::Rate | Kind::Level | Kind::Ordinal => Headline::Deviation,
        }
    }
}

/// How `required_rest_of_year` of a growth rate or rate weights the months left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// By the months: g₂ = (T − m/12·g₁)/(1 − m/12).
    TimeWeighted,
    /// By last year's base: g₂ = (T − s₁·g₁)/(1 − s₁), s₁ last year's January-to-m share
    /// of the annual total (from `base_indicator` or `base_shares`).
    BaseWeighted,
    /// By the indicator's own profile, standing in for last year's shares.
    ProfileWeighted,
}

/// One period of a per-period duty (每季度至少1次): the count within the period (the
/// difference of consecutive year-to-date readings) and whether it met the duty.
/// `count` is `None` when a reading at either end of the period is missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DutyPeriod {
    /// The period's last month (2023-06 for the second quarter).
    pub period: Period,
    pub count: Option<f64>,
    pub met: Option<bool>,
}

/// What the engine may be told beyond the indicator, its target and readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Inputs {
    /// Last year's cumulative monthly shares of the annual total (January to December),
    /// from the indicator's `base_indicator` readings or its `base_shares`.
    pub base_shares: Option<[f64; 12]>,
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
    /// What the answer leads with; `None` without a target.
    pub headline: Option<Headline>,
    pub scheduled_pace: Option<f64>,
    pub expected: Option<f64>,
    /// 完成率: only where it is one (a cumulative count, amount or list with a floor).
    pub attainment: Option<f64>,
    pub deviation: Option<f64>,
    pub pace_gap: Option<f64>,
    pub year_end_gap: Option<f64>,
    /// Under a cumulative ceiling, what is left of the year's allowance (尚余).
    pub allowance: Option<f64>,
    /// For an ordinal level: whether the class or rank is attained.
    pub attained: Option<bool>,
    pub required_rest_of_year: Option<f64>,
    /// How the rest of the year was weighted: for a growth rate or rate, in
    /// `required_rest_of_year`; for a count, amount or list, in `required_next_period`.
    pub catch_up_method: Option<CatchUp>,
    /// For a count, amount or list: the next reporting period (its last month) …
    pub next_period: Option<Period>,
    /// … and what it needs (or, under a ceiling, may use): the year's remainder split
    /// over the months left by the profile's remaining shares, evenly without one.
    pub required_next_period: Option<f64>,
    /// `false` when what the rest of the year needs is beyond the plausibility bound
    /// (docs/methodology.md § "Reachability"): 按目前进度全年目标已难以完成.
    pub reachable: Option<bool>,
    pub projection: Option<f64>,
    /// For a per-period duty: each period so far, met or missed.
    pub duty: Vec<DutyPeriod>,
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
    /// Whether an absent figure is overdue or not yet due on the reporting date. Set
    /// by the query layer, which knows the date; the engine leaves it `None`.
    pub reporting: Option<calendar::Reporting>,
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

/// The scheduled pace of a cumulative indicator or a list at month `m`: its profile
/// (the plan's schedule) if it has one, else m / 12. Rates and levels always use m / 12.
pub fn scheduled_pace(indicator: &Indicator, m: u8) -> f64 {
    match (&indicator.profile, indicator.kind) {
        (Some(p), Kind::Cumulative | Kind::Milestone) => p.at(m),
        _ => time_fraction(m),
    }
}

/// The half-width of an `about` target.
pub fn tolerance(indicator: &Indicator, target: &Target, value: f64) -> f64 {
    target.tolerance.unwrap_or(match indicator.kind {
        Kind::Rate | Kind::Growth => DEFAULT_RATE_TOLERANCE,
        Kind::Cumulative | Kind::Level | Kind::Milestone => {
            DEFAULT_RELATIVE_TOLERANCE * value.abs()
        }
        // A class or a rank is attained or not.
        Kind::Ordinal => 0.0,
    })
}

/// Where `behind` turns into `severely_behind`, in the target's unit. An ordinal level
/// has no band: not attained is `behind` until the year ends.
pub fn severe_threshold(indicator: &Indicator, value: f64) -> f64 {
    match indicator.kind {
        Kind::Rate | Kind::Growth => indicator.thresholds.severe.unwrap_or(DEFAULT_RATE_SEVERE),
        Kind::Cumulative | Kind::Level | Kind::Milestone => {
            indicator
                .thresholds
                .severe
                .unwrap_or(DEFAULT_RELATIVE_SEVERE)
                * value.abs()
        }
        Kind::Ordinal => f64::INFINITY,
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

/// Evaluates one indicator for the year of `as_of`, without a catch-up base: the
/// catch-up of a growth rate is time-weighted (or weighted by its profile).
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
    evaluate_with(indicator, target, readings, as_of, Inputs::default())
}

/// [`evaluate`] with what the engine cannot find in the indicator itself: last year's
/// shares for a base-weighted catch-up.
pub fn evaluate_with(
    indicator: &Indicator,
    target: Option<&Target>,
    readings: &[(Period, f64)],
    as_of: Period,
    inputs: Inputs,
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
        headline: target.map(|t| Headline::of(indicator, t)),
        scheduled_pace: None,
        expected: None,
        attainment: None,
        deviation: None,
        pace_gap: None,
        year_end_gap: None,
        allowance: None,
        attained: None,
        required_rest_of_year: None,
        catch_up_method: None,
        next_period: None,
        required_next_period: None,
        reachable: None,
        projection: None,
        duty: Vec::new(),
        status: Status::NoTarget,
        plan_status: None,
        benchmarks: Vec::new(),
        benchmark_met: None,
        rank: None,
        reporting: None,
    };
    let Some((target, value)) = target.and_then(|t| t.value.map(|v| (t, v))) else {
        return out;
    };
    let headline = Headline::of(indicator, target);
    let Some((period, actual)) = latest else {
        out.status = Status::NoData;
        return out;
    };
    let m = period.month();
    let f = scheduled_pace(indicator, m);
    let year_end = m == 12;
    out.scheduled_pace = Some(f);
    let between = target.comparator == Comparator::Between;
    let (lo, hi) = if between {
        (value, target.upper.unwrap_or(value))
    } else {
        (value, value)
    };
    let cumulative = matches!(indicator.kind, Kind::Cumulative | Kind::Milestone);

    if cumulative {
        out.expected = (!between).then_some(value * f);
        out.deviation = Some(if between {
            band_distance(actual, lo * f, hi * f)
        } else {
            actual - value * f
        });
        out.projection = (f > 0.0).then(|| actual / f);
    } else {
        out.expected = (!between).then_some(value);
        out.deviation = Some(if between {
            band_distance(actual, lo, hi)
        } else {
            actual - value
        });
        out.projection = Some(actual);
    }
    if headline == Headline::Completion {
        out.attainment = Some(actual / value);
        out.pace_gap = Some(actual / value - f);
    }
    if headline == Headline::Allowance {
        out.allowance = Some((value - actual).max(0.0));
    }
    out.year_end_gap = Some(if between {
        band_distance(actual, lo, hi).abs()
    } else {
        match indicator.direction {
            Direction::Up => (value - actual).max(0.0),
            Direction::Down => (actual - value).max(0.0),
        }
    });
    let sat = satisfied(indicator, target, value, actual);
    if indicator.kind == Kind::Ordinal {
        out.attained = Some(sat);
    }
    if !year_end && headline != Headline::Duty {
        catch_up(
            indicator,
            target,
            readings,
            as_of,
            inputs,
            (m, actual),
            &mut out,
        );
    }

    let deviation = out.deviation.unwrap_or(0.0);
    let severe = severe_threshold(indicator, if between { lo } else { value });
    out.status = if headline == Headline::Duty {
        let duty = target.duty.as_ref().expect("a duty headline has a duty");
        out.duty = duty_periods(duty, readings, period);
        duty_status(&out.duty, year_end)
    } else if year_end {
        if sat {
            Status::Achieved
        } else {
            Status::Missed
        }
    } else if cumulative {
        cumulative_status(indicator, between, sat, actual, hi, deviation, severe)
    } else if sat {
        Status::OnTrack
    } else if deviation_from_target(between, actual, value, deviation) <= severe {
        Status::Behind
    } else {
        Status::SeverelyBehind
    };
    out
}

/// The plausibility bound of a growth rate or rate's catch-up: the rest of the year
/// may need at most the target's distance from zero again (at least 1 point) beyond
/// the target, and a share in % never more than 100 nor less than 0.
fn rate_bound(aim: f64, floor: bool, share: bool) -> f64 {
    let room = aim.abs().max(1.0);
    if floor {
        let b = aim + room;
        if share {
            b.min(100.0)
        } else {
            b
        }
    } else {
        let b = aim - room;
        if share {
            b.max(0.0)
        } else {
            b
        }
    }
}

/// The best month on record this year up to `as_of`: the largest monthly average added
/// between consecutive year-to-date readings (from 0 before the first).
fn best_month(readings: &[(Period, f64)], as_of: Period) -> Option<f64> {
    let mut year: Vec<(Period, f64)> = readings
        .iter()
        .filter(|(p, _)| p.year() == as_of.year() && *p <= as_of)
        .copied()
        .collect();
    year.sort_by_key(|(p, _)| *p);
    let mut prev = (0u8, 0.0);
    let mut best: Option<f64> = None;
    for (p, v) in year {
        let months = f64::from(p.month() - prev.0);
        if months > 0.0 {
            let per = (v - prev.1) / months;
            best = Some(best.map_or(per, |b: f64| b.max(per)));
        }
        prev = (p.month(), v);
    }
    best
}

/// What the rest of the year needs, how it was weighted, and whether it is plausible.
fn catch_up(
    indicator: &Indicator,
    target: &Target,
    readings: &[(Period, f64)],
    as_of: Period,
    inputs: Inputs,
    (m, actual): (u8, f64),
    out: &mut Attainment,
) {
    let Some(value) = target.value else { return };
    let between = target.comparator == Comparator::Between;
    let (lo, hi) = (value, target.upper.unwrap_or(value));
    let months_left = f64::from(12 - m);
    match indicator.kind {
        Kind::Cumulative | Kind::Milestone => {
            let floor = between || indicator.direction == Direction::Up;
            // A band aims at its lower bound from below; a cap gives what is still
            // allowed per month.
            let aim = if between { lo } else { value };
            let left = (aim - actual).max(0.0);
            let need = left / months_left;
            out.required_rest_of_year = Some(need);
            // The next period's part of what is left, by the schedule's remaining
            // shares (the profile's, or the months').
            let next = next_period_end(indicator.frequency, m);
            let (wm, wn) = (
                scheduled_pace(indicator, m),
                scheduled_pace(indicator, next),
            );
            let part = if wm < 1.0 {
                ((wn - wm) / (1.0 - wm)).clamp(0.0, 1.0)
            } else {
                f64::from(next - m) / months_left
            };
            out.next_period = Period::new(as_of.year(), next).ok();
            out.required_next_period = Some(left * part);
            out.catch_up_method = Some(match indicator.profile {
                Some(_) => CatchUp::ProfileWeighted,
                None => CatchUp::TimeWeighted,
            });
            if floor && need > 0.0 {
                out.reachable = best_month(readings, as_of)
                    .filter(|b| *b > 0.0)
                    .map(|b| need <= 2.0 * b);
            } else if floor {
                out.reachable = Some(true);
            }
        }
        Kind::Growth | Kind::Rate => {
            // The bound the year must land on: the target, or the nearest bound of a
            // band (the lower from below, the upper from above; inside, where it is).
            let (aim, floor) = if between {
                if actual < lo {
                    (lo, true)
                } else if actual > hi {
                    (hi, false)
                } else {
                    (actual, true)
                }
            } else {
                (value, indicator.direction == Direction::Up)
            };
            // A base share that is missing (NaN) or already the whole year (a base whose
            // year-to-date total stopped growing) cannot weight the rest of the year.
            let base = inputs
                .base_shares
                .map(|b| b[usize::from(m) - 1])
                .filter(|s| s.is_finite() && *s < 1.0);
            let (s1, method) = match (indicator.kind, base, &indicator.profile) {
                (Kind::Growth, Some(b), _) => (b, CatchUp::BaseWeighted),
                (Kind::Growth, None, Some(p)) => (p.at(m), CatchUp::ProfileWeighted),
                _ => (time_fraction(m), CatchUp::TimeWeighted),
            };
            if s1 >= 1.0 || !s1.is_finite() {
                return;
            }
            let need = (aim - s1 * actual) / (1.0 - s1);
            out.required_rest_of_year = Some(need);
            out.catch_up_method = Some(method);
            let share =
                indicator.kind == Kind::Rate && matches!(indicator.unit.as_str(), "%" | "％");
            let bound = rate_bound(aim, floor, share);
            out.reachable = Some(if floor { need <= bound } else { need >= bound });
        }
        Kind::Level | Kind::Ordinal => {}
    }
}

/// The last month of the reporting period after month `m` (< 12): the next month, the
/// end of the next quarter, or December.
pub fn next_period_end(frequency: Frequency, m: u8) -> u8 {
    match frequency {
        Frequency::Monthly => m + 1,
        Frequency::Quarterly => (m / 3 + 1) * 3,
        Frequency::Annual => 12,
    }
    .min(12)
}

/// The periods of a duty up to the latest reading's month: each period's count is the
/// difference of the year-to-date readings at its last month and at the last month of
/// the period before (0 before the first).
pub fn duty_periods(duty: &Duty, readings: &[(Period, f64)], latest: Period) -> Vec<DutyPeriod> {
    let step: u8 = match duty.per {
        Frequency::Monthly => 1,
        Frequency::Quarterly => 3,
        Frequency::Annual => 12,
    };
    let at = |month: u8| -> Option<f64> {
        if month == 0 {
            return Some(0.0);
        }
        readings
            .iter()
            .find(|(p, _)| p.year() == latest.year() && p.month() == month)
            .map(|(_, v)| *v)
    };
    let mut out = Vec::new();
    let mut end = step;
    while end <= latest.month() {
        let count = match (at(end), at(end - step)) {
            (Some(now), Some(before)) => Some(now - before),
            _ => None,
        };
        out.push(DutyPeriod {
            period: Period::new(latest.year(), end).expect("a month of a valid year"),
            count,
            met: count.map(|c| c >= duty.min),
        });
        end += step;
    }
    out
}

/// A duty is missed for the year once any period was missed; achieved at year end
/// when every period was met.
fn duty_status(periods: &[DutyPeriod], year_end: bool) -> Status {
    if periods.iter().any(|p| p.met == Some(false)) {
        Status::Missed
    } else if year_end && !periods.is_empty() && periods.iter().all(|p| p.met == Some(true)) {
        Status::Achieved
    } else {
        Status::OnTrack
    }
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
