//! Submission quality checks (数据质量审核), as a statistics bureau runs them before it
//! accepts a figure: a cumulative figure must not fall within a year, a value must be
//! plausible, a month-to-month jump (环比异常) or a figure frozen for months (僵值) needs
//! a word of explanation.
//!
//! Pure: the caller passes the indicator's other readings. A check that trips does not
//! make a figure wrong, only unexplained; the API refuses it unless the submission
//! carries an explanation (强制上报说明), and then stores it flagged.

use crate::domain::messages::Msg;
use crate::domain::{Check, Direction, Finding, Indicator, Kind, Period};
use crate::text::{diff_unit, year_month, Lang};

use super::alerts::fmt_num;

const EPS: f64 = 1e-9;

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= EPS * a.abs().max(b.abs()).max(1.0)
}

/// Checks `value` for `period` against the indicator's other readings (`others`:
/// any periods, in any order; a reading of `period` itself is ignored). Returns every
/// check that failed, in a fixed order; empty when the figure passes.
pub fn check(
    ind: &Indicator,
    period: Period,
    value: f64,
    others: &[(Period, f64)],
) -> Vec<Finding> {
    let rules = &ind.quality;
    let mut out = Vec::new();
    let mut series: Vec<(Period, f64)> = others
        .iter()
        .copied()
        .filter(|(p, _)| *p != period)
        .collect();
    series.sort_by_key(|(p, _)| *p);
    let year = period.year();
    let prev = series
        .iter()
        .rev()
        .find(|(p, _)| *p < period && p.year() == year)
        .copied();
    let next = series
        .iter()
        .find(|(p, _)| *p > period && p.year() == year)
        .copied();

    if ind.kind == Kind::Cumulative && rules.allow_fall != Some(true) {
        if let Some((p, v)) = prev.filter(|(_, v)| value < *v && !same(value, *v)) {
            out.push(Finding::said(
                Check::CumulativeFall,
                Msg::new(
                    format!(
                        "本年累计{}低于{}已报的{}：累计数在年内不应回落",
                        fmt_num(value),
                        year_month(Lang::Zh, p),
                        fmt_num(v)
                    ),
                    format!(
                        "the year-to-date value {} is below {} reported for {p}; a cumulative figure cannot fall within a year",
                        fmt_num(value),
                        fmt_num(v)
                    ),
                ),
            ));
        } else if let Some((p, v)) = next.filter(|(_, v)| value > *v && !same(value, *v)) {
            out.push(Finding::said(
                Check::CumulativeFall,
                Msg::new(
                    format!(
                        "本年累计{}高于其后{}已报的{}：累计数在年内不应回落",
                        fmt_num(value),
                        year_month(Lang::Zh, p),
                        fmt_num(v)
                    ),
                    format!(
                        "the year-to-date value {} is above {} already reported for the later {p}; a cumulative figure cannot fall within a year",
                        fmt_num(value),
                        fmt_num(v)
                    ),
                ),
            ));
        }
    }

    let (lo, hi) = rules.range_for(ind.kind);
    if value < lo || value > hi {
        out.push(Finding::said(
            Check::OutOfRange,
            Msg::new(
                format!(
                    "{}{}超出合理范围{}…{}",
                    fmt_num(value),
                    ind.unit,
                    bound(lo),
                    bound(hi)
                ),
                format!(
                    "{} {} is outside the plausible range {}…{}",
                    fmt_num(value),
                    ind.unit,
                    bound(lo),
                    bound(hi)
                ),
            ),
        ));
    }

    if let (Some(limit), Some((p, v))) = (rules.max_change_for(ind.kind), prev) {
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => {
                // The months since the previous reading added (value − v); compare their
                // monthly average with the average month of the year so far.
                let months = f64::from(period.month() - p.month());
                let average = v / f64::from(p.month());
                let added = (value - v) / months;
                if average > 0.0 && added > limit * average {
                    out.push(Finding::said(
                        Check::MonthOnMonth,
                        Msg::new(
                            format!(
                                "{}以来月均新增{}{}，是今年此前月均（{}{}）的{}倍以上",
                                year_month(Lang::Zh, p),
                                fmt_num(added),
                                ind.unit,
                                fmt_num(average),
                                ind.unit,
                                fmt_num(limit)
                            ),
                            format!(
                                "{} {} added per month since {p} is more than {} times the average month so far ({} {})",
                                fmt_num(added),
                                ind.unit,
                                fmt_num(limit),
                                fmt_num(average),
                                ind.unit
                            ),
                        ),
                    ));
                }
            }
            Kind::Rate | Kind::Growth | Kind::Level | Kind::Ordinal => {
                let change = value - v;
                if change.abs() > limit && !same(change.abs(), limit) {
                    let points = diff_unit(Lang::Zh, &ind.unit);
                    out.push(Finding::said(
                        Check::MonthOnMonth,
                        Msg::new(
                            format!(
                                "{}{}比{}已报的{}{}{}{}，变动超过{}{}，属异常波动",
                                fmt_num(value),
                                ind.unit,
                                year_month(Lang::Zh, p),
                                fmt_num(v),
                                if change > 0.0 { "上升" } else { "下降" },
                                fmt_num(change.abs()),
                                points,
                                fmt_num(limit),
                                points
                            ),
                            format!(
                                "{} {} is {} {} {} from {} reported for {p}; a change of more than {} {} is an outlier",
                                fmt_num(value),
                                ind.unit,
                                if change > 0.0 { "up" } else { "down" },
                                fmt_num(change.abs()),
                                ind.unit,
                                fmt_num(v),
                                fmt_num(limit),
                                ind.unit
                            ),
                        ),
                    ));
                }
            }
        }
    }

    // Zero is a real figure (no accidents), and so is a share held at a bound (100%
    // coverage); a cap that does not move means nothing new happened. None of these is
    // a frozen report.
    let frozen_cap = ind.kind == Kind::Cumulative && ind.direction == Direction::Down;
    let at_bound = value == 0.0 || value == lo || value == hi;
    if let Some(n) = rules
        .stale_for(ind.kind)
        .filter(|_| !frozen_cap && !at_bound)
    {
        let before: Vec<&(Period, f64)> = series.iter().filter(|(p, _)| *p < period).collect();
        if before.len() >= n - 1
            && before[before.len() - (n - 1)..]
                .iter()
                .all(|(_, v)| same(*v, value))
        {
            let since = before[before.len() - (n - 1)].0;
            out.push(Finding::said(
                Check::Stale,
                Msg::new(
                    format!(
                        "{}{}与{}以来各期数字相同：连续{n}期未变",
                        fmt_num(value),
                        ind.unit,
                        year_month(Lang::Zh, since)
                    ),
                    format!(
                        "{} {} is the same figure as each reading since {since}: {n} periods unchanged",
                        fmt_num(value),
                        ind.unit
                    ),
                ),
            ));
        }
    }
    out
}

fn bound(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "∞" } else { "−∞" }.to_string()
    } else {
        fmt_num(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn ind(id: &str) -> Indicator {
        Catalogue::builtin().unwrap().find(id).unwrap().0.clone()
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    fn checks(f: &[Finding]) -> Vec<Check> {
        f.iter().map(|f| f.check).collect()
    }

    #[test]
    fn a_cumulative_figure_may_not_fall_within_a_year_but_may_restart_in_january() {
        let i = ind("tech-sme-registered");
        let prior = [(p("2023-04"), 60.0), (p("2023-06"), 80.0)];
        assert_eq!(
            checks(&check(&i, p("2023-05"), 55.0, &prior)),
            [Check::CumulativeFall]
        );
        assert_eq!(
            checks(&check(&i, p("2023-05"), 90.0, &prior)),
            [Check::CumulativeFall],
            "above the later June figure"
        );
        assert!(check(&i, p("2023-05"), 70.0, &prior).is_empty());
        assert!(check(&i, p("2024-01"), 5.0, &prior).is_empty());
    }

    #[test]
    fn rates_have_a_plausible_range_and_a_month_on_month_limit() {
        let i = ind("gdp-growth");
        assert_eq!(
            checks(&check(&i, p("2023-03"), 1200.0, &[])),
            [Check::OutOfRange]
        );
        let prior = [(p("2023-03"), 7.5)];
        assert_eq!(
            checks(&check(&i, p("2023-06"), 13.0, &prior)),
            [Check::MonthOnMonth]
        );
        assert!(
            check(&i, p("2023-06"), 12.5, &prior).is_empty(),
            "5.0 points is the limit itself"
        );
        assert!(
            check(&i, p("2024-01"), 13.0, &prior).is_empty(),
            "a new year starts afresh"
        );
    }

    #[test]
    fn a_cumulative_jump_is_judged_against_the_average_month() {
        let i = ind("tech-sme-registered");
        // 10 a month for four months, then 55 in May: more than 5 × 10.
        let prior = [(p("2023-04"), 40.0)];
        assert_eq!(
            checks(&check(&i, p("2023-05"), 95.0, &prior)),
            [Check::MonthOnMonth]
        );
        assert!(
            check(&i, p("2023-05"), 90.0, &prior).is_empty(),
            "5 × is the limit itself"
        );
    }

    #[test]
    fn a_figure_frozen_for_n_periods_is_stale_but_zero_is_not() {
        let i = ind("tech-sme-registered");
        let prior = [(p("2023-03"), 30.0), (p("2023-04"), 30.0)];
        assert_eq!(
            checks(&check(&i, p("2023-05"), 30.0, &prior)),
            [Check::Stale]
        );
        let zeros = [(p("2023-03"), 0.0), (p("2023-04"), 0.0)];
        assert!(check(&i, p("2023-05"), 0.0, &zeros).is_empty());
        let mut off = i.clone();
        off.quality.stale_periods = Some(0);
        assert!(check(&off, p("2023-05"), 30.0, &prior).is_empty());
    }

    #[test]
    fn a_reading_is_not_compared_with_its_own_earlier_value() {
        let i = ind("tech-sme-registered");
        let prior = [(p("2023-05"), 90.0)];
        assert!(check(&i, p("2023-05"), 50.0, &prior).is_empty());
    }
}
