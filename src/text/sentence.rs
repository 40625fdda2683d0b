//! The clauses of what a lagging indicator's figures say, shared by the engine's alert
//! messages (“科技型中小企业入库：完成42.0%，低于序时进度8.0个百分点，全年还需87家”) and
//! the bulletin's lists (“完成42.0%，低于序时进度8.0个百分点；全年还需87家，其余月份需月均
//! 14.5家”), and the overdue alert.
//!
//! Each function writes one clause from plain figures; which clauses a status calls for,
//! and how they are joined, stays with the caller.

use chrono::NaiveDate;

use super::indicator::diff_unit;
use super::lang::Lang;
use super::number::{fmt_num, with_unit};
use super::period;
use crate::domain::Period;

/// A figure with its unit in English: “8.6%”, “87 家”.
fn en(v: f64, unit: &str) -> String {
    if unit.is_empty() || unit == "%" {
        with_unit(v, unit)
    } else {
        format!("{} {unit}", fmt_num(v))
    }
}

/// The separator between clauses of one sentence: “，”.
pub fn comma(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "，",
        Lang::En => ", ",
    }
}

/// The separator before what the rest of the year needs: “；”.
pub fn semicolon(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "；",
        Lang::En => "; ",
    }
}

/// A sentence about something: “科技型中小企业入库：…”.
pub fn about(lang: Lang, subject: &str, rest: &str) -> String {
    match lang {
        Lang::Zh => format!("{subject}：{rest}"),
        Lang::En => format!("{subject}: {rest}"),
    }
}

/// On pace by the plan, lagging only because a benchmark is missed:
/// “7.9%，完成序时进度但未达到对标要求”.
pub fn pace_met_benchmark_missed(lang: Lang, actual: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("{}，完成序时进度但未达到对标要求", with_unit(actual, unit)),
        Lang::En => format!(
            "{}, on the scheduled pace but short of the benchmark",
            en(actual, unit)
        ),
    }
}

/// The year ended short of the target, as an alert says it: “全年140家，未完成目标150家”.
pub fn year_missed(lang: Lang, actual: f64, target: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "全年{}，未完成目标{}",
            with_unit(actual, unit),
            with_unit(target, unit)
        ),
        Lang::En => format!(
            "{} for the year, short of the target of {}",
            en(actual, unit),
            en(target, unit)
        ),
    }
}

/// The year ended short of the target, as a bulletin says it, with the target as its
/// table states it: “全年140家，未完成目标（≥150家）”.
pub fn year_missed_stated(lang: Lang, actual: f64, unit: &str, stated: &str) -> String {
    match lang {
        Lang::Zh => format!("全年{}，未完成目标（{stated}）", with_unit(actual, unit)),
        Lang::En => format!(
            "{} for the year, short of the target ({stated})",
            en(actual, unit)
        ),
    }
}

/// A ceiling broken during the year: “累计1起，已突破全年控制目标0起”.
pub fn cap_breached(lang: Lang, actual: f64, cap: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "累计{}，已突破全年控制目标{}",
            with_unit(actual, unit),
            with_unit(cap, unit)
        ),
        Lang::En => format!(
            "{} so far, over the year's ceiling of {}",
            en(actual, unit),
            en(cap, unit)
        ),
    }
}

/// A band's upper end passed during the year: “累计9次，已超出全年目标区间（4–8次）”.
pub fn band_exceeded(lang: Lang, actual: f64, unit: &str, stated: &str) -> String {
    match lang {
        Lang::Zh => {
            format!(
                "累计{}，已超出全年目标区间（{stated}）",
                with_unit(actual, unit)
            )
        }
        Lang::En => format!(
            "{} so far, above the year's target range ({stated})",
            en(actual, unit)
        ),
    }
}

/// Behind the scheduled pace, in percent and percentage points already written with one
/// decimal: “完成42.0%，低于序时进度8.0个百分点”.
pub fn behind_pace(lang: Lang, done: &str, gap: &str) -> String {
    match lang {
        Lang::Zh => format!("完成{done}%，低于序时进度{gap}个百分点"),
        Lang::En => format!("{done}% done, {gap} points behind the scheduled pace"),
    }
}

/// What the year still lacks: “全年还需87家”.
pub fn year_still_needs(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("全年还需{}", with_unit(need, unit)),
        Lang::En => format!("{} still needed this year", en(need, unit)),
    }
}

/// The level the rest of the year must reach: “下半年需达8.8%”. `rest` names the rest
/// of the year as [`super::period::rest_of_year`] writes it.
pub fn rest_must_reach(lang: Lang, rest: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("{rest}需达{}", with_unit(need, unit)),
        Lang::En => format!("{rest} must reach {}", en(need, unit)),
    }
}

/// The level the rest of the year must stay within: “下半年需控制在2.4%以内”.
pub fn rest_must_stay_within(lang: Lang, rest: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("{rest}需控制在{}以内", with_unit(need, unit)),
        Lang::En => format!("{rest} must stay within {}", en(need, unit)),
    }
}

/// The monthly average the rest of the year needs: “后5个月需月均14.5家”.
pub fn rest_monthly_needs(lang: Lang, rest: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("{rest}需月均{}", with_unit(need, unit)),
        Lang::En => format!("{} a month on average needed over {rest}", en(need, unit)),
    }
}

/// The monthly average the rest of the year may not exceed: “下半年月均不超过0.2起”.
pub fn rest_monthly_at_most(lang: Lang, rest: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("{rest}月均不超过{}", with_unit(need, unit)),
        Lang::En => format!("{rest} may average at most {} a month", en(need, unit)),
    }
}

/// What the next period needs by the plan's schedule: “按进度安排，三季度需完成20个”.
pub fn next_needs(lang: Lang, next: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("按进度安排，{next}需完成{}", with_unit(need, unit)),
        Lang::En => format!("on the plan's schedule, {next} needs {}", en(need, unit)),
    }
}

/// What the next period may use of a ceiling by the plan's schedule:
/// “按进度安排，三季度需控制在1起以内”.
pub fn next_at_most(lang: Lang, next: &str, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("按进度安排，{next}需控制在{}以内", with_unit(need, unit)),
        Lang::En => format!(
            "on the plan's schedule, {next} must stay within {}",
            en(need, unit)
        ),
    }
}

/// What a bureau adds when the rest of the year needs more than is plausible.
pub fn unreachable(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "按目前进度全年目标已难以完成",
        Lang::En => "at the current pace the year's target is out of reach",
    }
}

/// A growth rate as bulletins write it: “增长4.7%”, “下降1%”, and for prices “上涨3.6%”.
pub fn growth(lang: Lang, actual: f64, unit: &str, prices: bool) -> String {
    let word = match (lang, actual < 0.0, prices) {
        (Lang::Zh, false, false) => "增长",
        (Lang::Zh, false, true) => "上涨",
        (Lang::Zh, true, _) => "下降",
        (Lang::En, false, false) => "up ",
        (Lang::En, false, true) => "prices up ",
        (Lang::En, true, _) => "down ",
    };
    format!("{word}{}", with_unit(actual.abs(), unit))
}

/// A figure against a ceiling it keeps: “上涨1.2%，控制在目标以内”.
pub fn within_ceiling(lang: Lang, figure: &str) -> String {
    match lang {
        Lang::Zh => format!("{figure}，控制在目标以内"),
        Lang::En => format!("{figure}, within the target"),
    }
}

/// A figure over its ceiling by `by`: “上涨3.6%，高于控制目标0.6个百分点”.
pub fn over_ceiling(lang: Lang, figure: &str, by: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "{figure}，高于控制目标{}{}",
            fmt_num(by),
            diff_unit(lang, unit)
        ),
        Lang::En => format!(
            "{figure}, {} {} over the ceiling",
            fmt_num(by),
            diff_unit(lang, unit)
        ),
    }
}

/// A figure against a floor (or a band) it is off by `by`: “增长4.7%，低于目标3.3个百分点”,
/// “3个，低于目标区间1个”; on target: “增长8%，达到目标”.
pub fn against_target(
    lang: Lang,
    figure: &str,
    below: bool,
    band: bool,
    by: f64,
    unit: &str,
) -> String {
    if by == 0.0 {
        return match lang {
            Lang::Zh => format!("{figure}，达到目标"),
            Lang::En => format!("{figure}, on target"),
        };
    }
    if lang == Lang::En {
        let word = match (below, band) {
            (true, false) => "below the target",
            (false, false) => "above the target",
            (true, true) => "below the target range",
            (false, true) => "above the target range",
        };
        return format!("{figure}, {} {} {word}", fmt_num(by), diff_unit(lang, unit));
    }
    let word = match (below, band) {
        (true, false) => "低于目标",
        (false, false) => "高于目标",
        (true, true) => "低于目标区间",
        (false, true) => "高于目标区间",
    };
    format!("{figure}，{word}{}{}", fmt_num(by), diff_unit(lang, unit))
}

/// A cumulative ceiling and what is left of it: “累计2起，控制在5起以内，尚余3起”.
pub fn allowance_left(lang: Lang, actual: f64, cap: f64, left: f64, unit: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "累计{}，控制在{}以内，尚余{}",
            with_unit(actual, unit),
            with_unit(cap, unit),
            with_unit(left, unit)
        ),
        Lang::En => format!(
            "{} so far, within {}, {} left",
            en(actual, unit),
            en(cap, unit),
            en(left, unit)
        ),
    }
}

/// An ordinal level, attained or not: “Ⅲ类，未达到目标（Ⅱ类）”.
pub fn attained(lang: Lang, figure: &str, yes: bool, target: &str) -> String {
    match (lang, yes) {
        (Lang::Zh, true) => format!("{figure}，达到目标（{target}）"),
        (Lang::Zh, false) => format!("{figure}，未达到目标（{target}）"),
        (Lang::En, true) => format!("{figure}, target ({target}) attained"),
        (Lang::En, false) => format!("{figure}, target ({target}) not attained"),
    }
}

/// A duty's periods: “第2季度0次，未达到每季度至少1次” for the first missed one, else
/// “已过的2个季度均达到每季度至少1次”.
pub fn duty(
    lang: Lang,
    missed: Option<(&str, f64)>,
    periods: usize,
    per: &str,
    min: f64,
    unit: &str,
) -> String {
    match (lang, missed) {
        (Lang::Zh, Some((period, count))) => format!(
            "{period}{}，未达到每{per}至少{}",
            with_unit(count, unit),
            with_unit(min, unit)
        ),
        (Lang::Zh, None) => format!(
            "已过的{periods}个{per}均达到每{per}至少{}",
            with_unit(min, unit)
        ),
        (Lang::En, Some((period, count))) => format!(
            "{period}: {}, short of at least {} each {per}",
            en(count, unit),
            en(min, unit)
        ),
        (Lang::En, None) => format!(
            "each of the {periods} {per} periods so far met at least {}",
            en(min, unit)
        ),
    }
}

/// A figure past its due date: “2023年6月数据应于2023年7月10日前报送，已逾期10天”.
pub fn overdue(lang: Lang, p: Period, due: NaiveDate, days: i64) -> String {
    match lang {
        Lang::Zh => format!(
            "{}数据应于{}前报送，已逾期{days}天",
            period::year_month(lang, p),
            period::date(lang, due, None)
        ),
        Lang::En => format!(
            "the figure for {} was due by {}, {days} days overdue",
            period::year_month(lang, p),
            period::date(lang, due, None)
        ),
    }
}

/// How many periods are missing: “共3期未报”.
pub fn periods_unreported(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh => format!("共{n}期未报"),
        Lang::En => format!("{n} periods missing"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_read_as_county_notices_write_them() {
        let z = Lang::Zh;
        let cases: Vec<(String, &str)> = vec![
            (about(z, "科技型中小企业入库", "x"), "科技型中小企业入库：x"),
            (
                pace_met_benchmark_missed(z, 7.9, "%"),
                "7.9%，完成序时进度但未达到对标要求",
            ),
            (
                year_missed(z, 140.0, 150.0, "家"),
                "全年140家，未完成目标150家",
            ),
            (
                year_missed_stated(z, 140.0, "家", "≥150家"),
                "全年140家，未完成目标（≥150家）",
            ),
            (
                cap_breached(z, 1.0, 0.0, "起"),
                "累计1起，已突破全年控制目标0起",
            ),
            (
                band_exceeded(z, 9.0, "次", "4–8次"),
                "累计9次，已超出全年目标区间（4–8次）",
            ),
            (
                behind_pace(z, "42.0", "8.0"),
                "完成42.0%，低于序时进度8.0个百分点",
            ),
            (year_still_needs(z, 87.0, "家"), "全年还需87家"),
            (rest_must_reach(z, "下半年", 8.8, "%"), "下半年需达8.8%"),
            (
                rest_must_stay_within(z, "下半年", 2.4, "%"),
                "下半年需控制在2.4%以内",
            ),
            (
                rest_monthly_needs(z, "后5个月", 14.5, "家"),
                "后5个月需月均14.5家",
            ),
            (
                rest_monthly_at_most(z, "四季度", 0.2, "起"),
                "四季度月均不超过0.2起",
            ),
            (growth(z, 4.7, "%", false), "增长4.7%"),
            (growth(z, -1.0, "%", false), "下降1%"),
            (growth(z, 3.6, "%", true), "上涨3.6%"),
            (
                against_target(z, "增长4.7%", true, false, 3.3, "%"),
                "增长4.7%，低于目标3.3个百分点",
            ),
            (
                over_ceiling(z, "上涨3.6%", 0.6, "%"),
                "上涨3.6%，高于控制目标0.6个百分点",
            ),
            (within_ceiling(z, "上涨1.2%"), "上涨1.2%，控制在目标以内"),
            (
                allowance_left(z, 2.0, 5.0, 3.0, "起"),
                "累计2起，控制在5起以内，尚余3起",
            ),
            (attained(z, "Ⅲ类", false, "Ⅱ类"), "Ⅲ类，未达到目标（Ⅱ类）"),
            (
                duty(z, Some(("第2季度", 0.0)), 2, "季度", 1.0, "次"),
                "第2季度0次，未达到每季度至少1次",
            ),
            (periods_unreported(z, 3), "共3期未报"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        assert_eq!(comma(z), "，");
        assert_eq!(semicolon(z), "；");
    }

    #[test]
    fn an_overdue_figure_names_its_period_and_due_date() {
        let p = Period::new(2023, 6).unwrap();
        let due = NaiveDate::from_ymd_opt(2023, 7, 10).unwrap();
        assert_eq!(
            overdue(Lang::Zh, p, due, 10),
            "2023年6月数据应于2023年7月10日前报送，已逾期10天"
        );
    }
}
