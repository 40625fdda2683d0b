//! One sentence per kind and direction: what an answer leads with, in the words a
//! bureau uses, and what the rest of the year needs.
//!
//! The alert messages, the bulletin's lists, the dashboard and the indicator page all
//! take their sentence from here, so that a growth rate reads “增长4.7%，低于目标3.3个
//! 百分点” everywhere and a ceiling is never worded as progress. Which headline an
//! indicator has is [`Headline::of`]; the formulas are in `docs/methodology.md`.

use super::{tidy, Attainment, Headline, Status};
use crate::domain::{Comparator, Direction, Frequency, Indicator, Kind};
use crate::text::{self, sentence, Lang};

/// Whether a growth rate is a price index's (CPI): bureaus write 上涨 for prices.
fn prices(ind: &Indicator) -> bool {
    ind.name.contains("价格")
}

/// The figure as the headline states it: “增长4.7%”, “Ⅲ类”, “85%”.
pub fn figure(ind: &Indicator, actual: f64) -> String {
    figure_in(Lang::default(), ind, actual)
}

/// [`figure`] in `lang`.
pub fn figure_in(lang: Lang, ind: &Indicator, actual: f64) -> String {
    match ind.kind {
        Kind::Growth => sentence::growth(lang, actual, &ind.unit, prices(ind)),
        Kind::Ordinal => text::ordinal(actual, &ind.unit),
        _ => text::with_unit(actual, &ind.unit),
    }
}

/// The headline sentence of an evaluated indicator, whatever its status: “完成42.0%，
/// 低于序时进度8.0个百分点”, “增长4.7%，低于目标3.3个百分点”, “累计2起，控制在5起以内，
/// 尚余3起”, “Ⅲ类，未达到目标（Ⅱ类）”. `None` without a target or a reading.
pub fn sentence(lang: Lang, ind: &Indicator, a: &Attainment) -> Option<String> {
    let headline = a.headline?;
    let actual = a.actual?;
    let target = a.target.as_ref()?;
    let value = target.value?;
    let unit = ind.unit.as_str();
    let between = target.comparator == Comparator::Between;
    let at_year_end = a.actual_period.is_some_and(|p| p.month() == 12);
    Some(match headline {
        Headline::Completion => {
            let (att, gap) = (tidy(a.attainment)?, tidy(a.pace_gap)?);
            if a.status == Status::Missed && at_year_end {
                sentence::year_missed(lang, actual, value, unit)
            } else if att >= 1.0 {
                match lang {
                    Lang::Zh => format!("累计{}，已完成全年目标", text::with_unit(actual, unit)),
                    Lang::En => format!(
                        "{} so far, the year's target met",
                        text::with_unit(actual, unit)
                    ),
                }
            } else if gap < 0.0 {
                sentence::behind_pace(
                    lang,
                    &text::fixed1(att * 100.0),
                    &text::fixed1(-gap * 100.0),
                )
            } else if lang == Lang::En {
                format!(
                    "{}% done, {} points {} the scheduled pace",
                    text::fixed1(att * 100.0),
                    text::fixed1(gap * 100.0),
                    if gap > 0.0 { "ahead of" } else { "at" }
                )
                .replace(
                    ", 0.0 points at the scheduled pace",
                    ", at the scheduled pace",
                )
            } else {
                format!(
                    "完成{}%，{}序时进度{}个百分点",
                    text::fixed1(att * 100.0),
                    if gap > 0.0 { "高于" } else { "达到" },
                    text::fixed1(gap * 100.0)
                )
                .replace("达到序时进度0.0个百分点", "达到序时进度")
            }
        }
        Headline::Allowance => {
            if a.status == Status::Missed {
                sentence::cap_breached(lang, actual, value, unit)
            } else if value == 0.0 {
                // 杜绝, 不发生: nothing is allowed, so nothing is "left".
                sentence::within_ceiling(lang, &so_far(lang, actual, unit))
            } else {
                sentence::allowance_left(lang, actual, value, a.allowance.unwrap_or(0.0), unit)
            }
        }
        Headline::Attained => sentence::attained(
            lang,
            &figure_in(lang, ind, actual),
            a.attained.unwrap_or(false),
            &ordinal_target(ind, target),
        ),
        Headline::Duty => {
            let duty = target.duty.as_ref()?;
            let per = match (lang, duty.per) {
                (Lang::Zh, Frequency::Monthly) => "月",
                (Lang::Zh, Frequency::Quarterly) => "季度",
                (Lang::Zh, Frequency::Annual) => "年",
                (Lang::En, Frequency::Monthly) => "month",
                (Lang::En, Frequency::Quarterly) => "quarter",
                (Lang::En, Frequency::Annual) => "year",
            };
            let missed = a.duty.iter().find(|p| p.met == Some(false));
            let name = missed.map(|p| match duty.per {
                Frequency::Monthly => text::month(lang, p.period.month()),
                Frequency::Quarterly => text::quarter(lang, p.period),
                Frequency::Annual if lang == Lang::En => p.period.year().to_string(),
                Frequency::Annual => format!("{}年", p.period.year()),
            });
            sentence::duty(
                lang,
                name.as_deref().zip(missed.and_then(|p| p.count)),
                a.duty.len(),
                per,
                duty.min,
                unit,
            )
        }
        Headline::Deviation => {
            let fig = match ind.kind {
                Kind::Cumulative | Kind::Milestone => so_far(lang, actual, unit),
                _ => figure_in(lang, ind, actual),
            };
            let dev = tidy(a.deviation).unwrap_or(0.0);
            let ceiling = !between && ind.direction == Direction::Down;
            if ceiling {
                if dev > 0.0 {
                    sentence::over_ceiling(lang, &fig, dev, unit)
                } else {
                    sentence::within_ceiling(lang, &fig)
                }
            } else {
                sentence::against_target(lang, &fig, dev < 0.0, between, dev.abs(), unit)
            }
        }
    })
}

/// A running total: “累计2起”, “2 起 so far”.
fn so_far(lang: Lang, actual: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("累计{}", text::with_unit(actual, unit)),
        Lang::En => format!("{} so far", text::with_unit(actual, unit)),
    }
}

/// A figure rounded to one decimal (四舍五入), as bulletins print rates.
fn one_decimal(v: f64) -> f64 {
    text::number::round_half_up(v, 1).parse().unwrap_or(v)
}

/// The target of an ordinal level in its own numerals: “Ⅱ类”, “前5位”.
pub fn ordinal_target(ind: &Indicator, target: &crate::domain::Target) -> String {
    let v = target.value.unwrap_or(0.0);
    match (ind.unit.as_str(), target.comparator) {
        ("位" | "名", Comparator::AtMost | Comparator::LessThan) => {
            format!("前{}{}", text::fmt_num(v), ind.unit)
        }
        _ => text::ordinal(v, &ind.unit),
    }
}

/// What the rest of the year needs, in the words of its period (“下半年需达11.3%”,
/// “四季度需控制在2.4%以内”, “全年还需87家，后5个月需月均14.5家”), and “按目前进度全年
/// 目标已难以完成” when it is beyond reach. Empty at year end, once met, or when a
/// ceiling is breached.
pub fn needs(lang: Lang, ind: &Indicator, a: &Attainment) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(headline), Some(period), Some(target)) =
        (a.headline, a.actual_period, a.target.as_ref())
    else {
        return out;
    };
    let m = period.month();
    if m == 12 || a.status == Status::Missed || a.status == Status::Achieved {
        return out;
    }
    let rest = text::rest_of_year(lang, m);
    let unit = ind.unit.as_str();
    let need = tidy(a.required_rest_of_year);
    let between = target.comparator == Comparator::Between;
    match (headline, ind.kind) {
        (Headline::Completion, _) | (Headline::Deviation, Kind::Cumulative | Kind::Milestone) => {
            if let Some(g) = tidy(a.year_end_gap).filter(|g| *g > 0.0) {
                out.push(sentence::year_still_needs(lang, g, unit));
            }
            match scheduled(lang, ind, a) {
                // With the plan's schedule, the next period's share of what is left.
                Some((next, n)) if n > 0.0 => out.push(sentence::next_needs(lang, &next, n, unit)),
                Some(_) => {}
                None => {
                    if let Some(n) = need.filter(|n| *n > 0.0) {
                        out.push(sentence::rest_monthly_needs(lang, &rest, n, unit));
                    }
                }
            }
        }
        (Headline::Allowance, _) if target.value != Some(0.0) => match scheduled(lang, ind, a) {
            Some((next, n)) => out.push(sentence::next_at_most(lang, &next, n, unit)),
            None => {
                if let Some(n) = need {
                    out.push(sentence::rest_monthly_at_most(lang, &rest, n, unit));
                }
            }
        },
        (Headline::Deviation, Kind::Growth | Kind::Rate) => {
            // Bulletins print rates to one decimal: 需达14.5%.
            if let Some(n) = need.map(one_decimal) {
                let actual = a.actual.unwrap_or(0.0);
                let ceiling = if between {
                    actual > target.upper.unwrap_or(f64::INFINITY)
                } else {
                    ind.direction == Direction::Down
                };
                out.push(if ceiling {
                    sentence::rest_must_stay_within(lang, &rest, n, unit)
                } else {
                    sentence::rest_must_reach(lang, &rest, n, unit)
                });
            }
        }
        _ => {}
    }
    if a.reachable == Some(false) {
        out.push(sentence::unreachable(lang).to_string());
    }
    out
}

/// Under a profile (the plan's schedule), the next period's name and what it needs.
fn scheduled(lang: Lang, ind: &Indicator, a: &Attainment) -> Option<(String, f64)> {
    ind.profile.as_ref()?;
    let (Some(p), Some(n)) = (a.next_period, tidy(a.required_next_period)) else {
        return None;
    };
    Some((text::next_period(lang, ind.frequency, p.month()), n))
}

/// The headline and what the rest of the year needs, as one clause list: “增长4.7%，低于
/// 目标3.3个百分点；下半年需达11.3%”.
pub fn situation(lang: Lang, ind: &Indicator, a: &Attainment) -> Option<String> {
    let mut s = sentence(lang, ind, a)?;
    let needs = needs(lang, ind, a);
    if !needs.is_empty() {
        s.push_str(sentence::semicolon(lang));
        s.push_str(&needs.join(sentence::comma(lang)));
    }
    Some(s)
}
