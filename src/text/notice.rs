//! The lines and headlines of the notifier's messages (alerts raised, changed and
//! resolved, 催报 notices, daily digests, submissions, test sends), as a county notice
//! writes them: “县人社局：2项指标数据逾期未报，请尽快报送”.
//!
//! The notifier decides which line an event gets; the words are here.

use chrono::NaiveDate;

use super::indicator::in_parens;
use super::lang::Lang;
use super::number::with_unit;
use super::period;
use crate::domain::Period;

/// How loud an alert is, in words: “严重” or “一般”.
pub fn severity(lang: Lang, critical: bool) -> &'static str {
    match (lang, critical) {
        (Lang::Zh | Lang::En, true) => "严重",
        (Lang::Zh | Lang::En, false) => "一般",
    }
}

/// What follows a line whose alert changed severity: “（预警由一般升为严重）”,
/// “（预警由严重降为一般）”.
pub fn severity_changed(lang: Lang, was_critical: bool, now_critical: bool) -> String {
    let verb = match (lang, was_critical && !now_critical) {
        (Lang::Zh | Lang::En, true) => "降为",
        (Lang::Zh | Lang::En, false) => "升为",
    };
    format!(
        "（预警由{}{verb}{}）",
        severity(lang, was_critical),
        severity(lang, now_critical)
    )
}

/// A remark in full-width parentheses after a line: “（严重滞后）”.
pub fn remark(lang: Lang, s: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("（{s}）"),
    }
}

/// The headline of several lagging indicators: “3项指标未达序时进度”.
pub fn many_lagging(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{n}项指标未达序时进度"),
    }
}

/// The headline of several changed alerts: “3项指标预警变化”.
pub fn many_changed(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{n}项指标预警变化"),
    }
}

/// The headline of several resolved alerts: “3项指标预警解除”.
pub fn many_resolved(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{n}项指标预警解除"),
    }
}

/// The line of an indicator back on pace: “科技型中小企业入库（县科工局）：已达到序时进度，预警解除”.
pub fn resolved(lang: Lang, name: &str, lead_units: &[String]) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{name}{}：已达到序时进度，预警解除",
            in_parens(lang, lead_units)
        ),
    }
}

/// The missing periods of one indicator: “2023年6月”, “2023年5月至6月共2期”,
/// “2022年12月至2023年1月共2期”.
pub fn missing_periods(lang: Lang, first: Period, last: Period, n: usize) -> String {
    let ym = |p| period::year_month(lang, p);
    match lang {
        Lang::Zh | Lang::En => {
            if n == 1 {
                ym(first)
            } else if first.year() == last.year() {
                format!("{}至{}月共{n}期", ym(first), last.month())
            } else {
                format!("{}至{}共{n}期", ym(first), ym(last))
            }
        }
    }
}

/// A 催报 line: “指标b：2023年5月至6月共2期数据未报，最早应于6月10日前报送，已逾期40天”.
/// `several` says “最早” before the due date of the oldest of several missing periods.
pub fn overdue_line(
    lang: Lang,
    name: &str,
    periods: &str,
    several: bool,
    due: NaiveDate,
    year: u16,
    days: i64,
) -> String {
    let earliest = match (lang, several) {
        (Lang::Zh | Lang::En, true) => "最早",
        (_, false) => "",
    };
    format!(
        "{name}：{periods}数据未报，{earliest}应于{}前报送，已逾期{days}天",
        period::date(lang, due, Some(i32::from(year)))
    )
}

/// What a submitter said of a figure it could not send yet, after the 催报 line:
/// “（报送单位说明：数据待财政局核实后补报）”.
pub fn kept_note(lang: Lang, note: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("（报送单位说明：{note}）"),
    }
}

/// A reminder line: “指标a：2023年7月数据应于8月10日前报送”.
pub fn due_line(lang: Lang, name: &str, p: Period, due: NaiveDate) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{name}：{}数据应于{}前报送",
            period::year_month(lang, p),
            period::date(lang, due, Some(i32::from(p.year())))
        ),
    }
}

/// The headline of a 催报 notice: “县人社局：2项指标数据逾期未报，请尽快报送”.
pub fn overdue_headline(lang: Lang, unit: &str, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{unit}：{n}项指标数据逾期未报，请尽快报送"),
    }
}

/// The headline of a daily digest: “县人社局（2023年7月20日）：1项指标逾期未报，7日内到期2项”.
pub fn digest_headline(
    lang: Lang,
    unit: &str,
    on: NaiveDate,
    days: u32,
    late: usize,
    due: usize,
) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{unit}（{}）：{late}项指标逾期未报，{days}日内到期{due}项",
            period::date(lang, on, None)
        ),
    }
}

/// The line of a submitted reading: “科技型中小企业入库（2023年6月）：63家”.
pub fn submitted_line(lang: Lang, name: &str, p: Period, value: f64, unit: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!(
            "{name}（{}）：{}",
            period::year_month(lang, p),
            with_unit(value, unit)
        ),
    }
}

/// The headline of submitted readings: “县统计局报送3项数据”.
pub fn submitted_headline(lang: Lang, actor: &str, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("{actor}报送{n}项数据"),
    }
}

/// The headline of a test send: “zhibiao 测试消息：接收端“w”已接通”.
pub fn test_headline(lang: Lang, receiver: &str) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("zhibiao 测试消息：接收端“{receiver}”已接通"),
    }
}

/// The line that ends a message cut to a robot's size: “……另有12项，详见 zhibiao”.
pub fn more_items(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh | Lang::En => format!("……另有{n}项，详见 zhibiao"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(y: u16, m: u8) -> Period {
        Period::new(y, m).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn notice_lines_and_headlines() {
        let z = Lang::Zh;
        let units = vec!["县科工局".to_string()];
        let cases: Vec<(String, &str)> = vec![
            (severity_changed(z, false, true), "（预警由一般升为严重）"),
            (severity_changed(z, true, false), "（预警由严重降为一般）"),
            (remark(z, "严重滞后"), "（严重滞后）"),
            (many_lagging(z, 3), "3项指标未达序时进度"),
            (many_changed(z, 2), "2项指标预警变化"),
            (many_resolved(z, 4), "4项指标预警解除"),
            (
                resolved(z, "指标a", &units),
                "指标a（县科工局）：已达到序时进度，预警解除",
            ),
            (resolved(z, "指标a", &[]), "指标a：已达到序时进度，预警解除"),
            (missing_periods(z, p(2023, 6), p(2023, 6), 1), "2023年6月"),
            (
                missing_periods(z, p(2023, 5), p(2023, 6), 2),
                "2023年5月至6月共2期",
            ),
            (
                missing_periods(z, p(2022, 12), p(2023, 1), 2),
                "2022年12月至2023年1月共2期",
            ),
            (
                overdue_line(
                    z,
                    "指标b",
                    "2023年5月至6月共2期",
                    true,
                    d(2023, 6, 10),
                    2023,
                    40,
                ),
                "指标b：2023年5月至6月共2期数据未报，最早应于6月10日前报送，已逾期40天",
            ),
            (
                overdue_line(z, "指标c", "2023年12月", false, d(2024, 1, 10), 2023, 5),
                "指标c：2023年12月数据未报，应于2024年1月10日前报送，已逾期5天",
            ),
            (
                kept_note(z, "数据待财政局核实后补报"),
                "（报送单位说明：数据待财政局核实后补报）",
            ),
            (
                due_line(z, "指标a", p(2023, 7), d(2023, 8, 10)),
                "指标a：2023年7月数据应于8月10日前报送",
            ),
            (
                overdue_headline(z, "县人社局", 2),
                "县人社局：2项指标数据逾期未报，请尽快报送",
            ),
            (
                digest_headline(z, "县人社局", d(2023, 7, 20), 7, 1, 2),
                "县人社局（2023年7月20日）：1项指标逾期未报，7日内到期2项",
            ),
            (
                submitted_line(z, "指标a", p(2023, 6), 63.0, "家"),
                "指标a（2023年6月）：63家",
            ),
            (submitted_headline(z, "县统计局", 3), "县统计局报送3项数据"),
            (test_headline(z, "w"), "zhibiao 测试消息：接收端“w”已接通"),
            (more_items(z, 12), "……另有12项，详见 zhibiao"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        assert_eq!(severity(z, true), "严重");
    }
}
