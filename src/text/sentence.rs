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

/// The separator between clauses of one sentence: “，”.
pub fn comma(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "，",
    }
}

/// The separator before what the rest of the year needs: “；”.
pub fn semicolon(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh | Lang::En => "；",
    }
}

/// A sentence about something: “科技型中小企业入库：…”.
pub fn about(lang: Lang, subject: &str, rest: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{subject}：{rest}"),
    }
}

/// On pace by the plan, lagging only because a benchmark is missed:
/// “7.9%，完成序时进度但未达到对标要求”.
pub fn pace_met_benchmark_missed(lang: Lang, actual: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{}，完成序时进度但未达到对标要求", with_unit(actual, unit)),
    }
}

/// The year ended short of the target, as an alert says it: “全年140家，未完成目标150家”.
pub fn year_missed(lang: Lang, actual: f64, target: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "全年{}，未完成目标{}",
            with_unit(actual, unit),
            with_unit(target, unit)
        ),
    }
}

/// The year ended short of the target, as a bulletin says it, with the target as its
/// table states it: “全年140家，未完成目标（≥150家）”.
pub fn year_missed_stated(lang: Lang, actual: f64, unit: &str, stated: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("全年{}，未完成目标（{stated}）", with_unit(actual, unit)),
    }
}

/// A ceiling broken during the year: “累计1起，已突破全年控制目标0起”.
pub fn cap_breached(lang: Lang, actual: f64, cap: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "累计{}，已突破全年控制目标{}",
            with_unit(actual, unit),
            with_unit(cap, unit)
        ),
    }
}

/// A band's upper end passed during the year: “累计9次，已超出全年目标区间（4–8次）”.
pub fn band_exceeded(lang: Lang, actual: f64, unit: &str, stated: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => {
            format!(
                "累计{}，已超出全年目标区间（{stated}）",
                with_unit(actual, unit)
            )
        }
    }
}

/// Behind the scheduled pace, in percent and percentage points already written with one
/// decimal: “完成42.0%，低于序时进度8.0个百分点”.
pub fn behind_pace(lang: Lang, done: &str, gap: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("完成{done}%，低于序时进度{gap}个百分点"),
    }
}

/// A cumulative figure off the scheduled pace by `by` (over it for a ceiling, under it
/// otherwise): “累计3亿元，低于序时进度4.4亿元”.
pub fn off_pace(lang: Lang, actual: f64, over: bool, by: f64, unit: &str) -> String {
    let word = match (lang, over) {
        (Lang::Zh | Lang::En, true) => "超出",
        (Lang::Zh | Lang::En, false) => "低于",
    };
    format!(
        "累计{}，{word}序时进度{}",
        with_unit(actual, unit),
        with_unit(by, unit)
    )
}

/// A rate or level off its target (or its band) by `by`, in points for rates in %:
/// “7.2%，低于目标0.8个百分点”, “3%，高于目标区间1个百分点”.
pub fn off_target(lang: Lang, actual: f64, below: bool, band: bool, by: f64, unit: &str) -> String {
    let word = match (lang, below, band) {
        (Lang::Zh | Lang::En, true, false) => "低于目标",
        (Lang::Zh | Lang::En, false, false) => "高于目标",
        (Lang::Zh | Lang::En, true, true) => "低于目标区间",
        (Lang::Zh | Lang::En, false, true) => "高于目标区间",
    };
    format!(
        "{}，{word}{}{}",
        with_unit(actual, unit),
        fmt_num(by),
        diff_unit(lang, unit)
    )
}

/// What the year still lacks: “全年还需87家”.
pub fn year_still_needs(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("全年还需{}", with_unit(need, unit)),
    }
}

/// The level the rest of the year must reach: “其余月份需达8.8%”.
pub fn rest_must_reach(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("其余月份需达{}", with_unit(need, unit)),
    }
}

/// The level the rest of the year must stay within: “其余月份需控制在0.6%以内”.
pub fn rest_must_stay_within(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("其余月份需控制在{}以内", with_unit(need, unit)),
    }
}

/// The monthly average the rest of the year needs: “其余月份需月均14.5家”.
pub fn rest_monthly_needs(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("其余月份需月均{}", with_unit(need, unit)),
    }
}

/// The monthly average the rest of the year may not exceed: “其余月份月均不超过0.2起”.
pub fn rest_monthly_at_most(lang: Lang, need: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("其余月份月均不超过{}", with_unit(need, unit)),
    }
}

/// A figure past its due date: “2023年6月数据应于2023年7月10日前报送，已逾期10天”.
pub fn overdue(lang: Lang, p: Period, due: NaiveDate, days: i64) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{}数据应于{}前报送，已逾期{days}天",
            period::year_month(lang, p),
            period::date(lang, due, None)
        ),
    }
}

/// How many periods are missing: “共3期未报”.
pub fn periods_unreported(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("共{n}期未报"),
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
            (
                off_pace(z, 3.0, false, 4.4, "亿元"),
                "累计3亿元，低于序时进度4.4亿元",
            ),
            (
                off_pace(z, 2.0, true, 0.5, "起"),
                "累计2起，超出序时进度0.5起",
            ),
            (
                off_target(z, 7.2, true, false, 0.8, "%"),
                "7.2%，低于目标0.8个百分点",
            ),
            (
                off_target(z, 4.2, false, false, 1.2, "%"),
                "4.2%，高于目标1.2个百分点",
            ),
            (
                off_target(z, 3.0, true, true, 1.0, "个"),
                "3个，低于目标区间1个",
            ),
            (
                off_target(z, 21.0, false, true, 1.0, "%"),
                "21%，高于目标区间1个百分点",
            ),
            (year_still_needs(z, 87.0, "家"), "全年还需87家"),
            (rest_must_reach(z, 8.8, "%"), "其余月份需达8.8%"),
            (
                rest_must_stay_within(z, 0.6, "%"),
                "其余月份需控制在0.6%以内",
            ),
            (rest_monthly_needs(z, 14.5, "家"), "其余月份需月均14.5家"),
            (
                rest_monthly_at_most(z, 0.2, "起"),
                "其余月份月均不超过0.2起",
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
