//! Periods and dates as the county's texts write them: “2023年6月”, the year-to-date
//! span “2023年1-6月” (January alone is “2023年1月”), “1-6月” in a table, “第2季度”, and
//! due dates “7月10日” or “2024年1月10日”.

use chrono::{Datelike, NaiveDate};

use super::lang::Lang;
use crate::domain::{Kind, Period};

/// A month of a year: 2023-06 → “2023年6月”.
pub fn year_month(lang: Lang, p: Period) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", p.year(), p.month()),
        Lang::En => format!("{}-{:02}", p.year(), p.month()),
    }
}

/// A month alone, as the axis of a chart and a sparkline's label write it: “6月”.
pub fn month(lang: Lang, m: u8) -> String {
    match lang {
        Lang::Zh => format!("{m}月"),
        Lang::En => format!("month {m}"),
    }
}

/// The year-to-date span a reading covers, with its year: “2023年1-6月”; January
/// alone is “2023年1月”.
pub fn year_to_date(lang: Lang, p: Period) -> String {
    match lang {
        Lang::Zh | Lang::En => {
            if p.month() == 1 {
                format!("{}年1月", p.year())
            } else {
                format!("{}年1-{}月", p.year(), p.month())
            }
        }
    }
}

/// The span a reading covers, as a bulletin's table writes it: year-to-date figures
/// are “1-6月” (January alone is “1月”); a level is the standing at the end of the
/// month, “6月”.
pub fn span(lang: Lang, p: Period, kind: Kind) -> String {
    match (kind, p.month()) {
        (Kind::Level | Kind::Ordinal, m) | (_, m @ 1) => month(lang, m),
        (_, m) => match lang {
            Lang::Zh | Lang::En => format!("1-{m}月"),
        },
    }
}

/// The rest of the year after month `m`, as a bureau names it: after March “后三季度”,
/// after June “下半年”, after September “四季度”, after November “12月”, else
/// “后N个月”.
pub fn rest_of_year(lang: Lang, m: u8) -> String {
    if lang == Lang::En {
        return match m {
            6 => "the second half".into(),
            9 => "the fourth quarter".into(),
            11 => "December".into(),
            m => format!("the last {} months", 12u8.saturating_sub(m)),
        };
    }
    match (lang, m) {
        (Lang::Zh | Lang::En, 3) => "后三季度".into(),
        (Lang::Zh | Lang::En, 6) => "下半年".into(),
        (Lang::Zh | Lang::En, 9) => "四季度".into(),
        (Lang::Zh | Lang::En, 11) => "12月".into(),
        (Lang::Zh | Lang::En, m) => format!("后{}个月", 12u8.saturating_sub(m)),
    }
}

/// The reporting period ending in month `end`, as a bureau names the next one to come:
/// a month “7月”, a quarter “三季度”, the year “全年”.
pub fn next_period(lang: Lang, frequency: crate::domain::Frequency, end: u8) -> String {
    use crate::domain::Frequency;
    if lang == Lang::En {
        return match frequency {
            Frequency::Monthly => format!("month {end}"),
            Frequency::Quarterly => format!("Q{}", end.div_ceil(3)),
            Frequency::Annual => "the year".into(),
        };
    }
    match (lang, frequency) {
        (Lang::Zh | Lang::En, Frequency::Monthly) => month(lang, end),
        (Lang::Zh | Lang::En, Frequency::Quarterly) => {
            format!("{}季度", super::numeral(lang, usize::from(end.div_ceil(3))))
        }
        (Lang::Zh | Lang::En, Frequency::Annual) => "全年".into(),
    }
}

/// The quarter a month falls in: 2023-06 → “第2季度”.
pub fn quarter(lang: Lang, p: Period) -> String {
    match lang {
        Lang::Zh => format!("第{}季度", p.month().div_ceil(3)),
        Lang::En => format!("Q{}", p.month().div_ceil(3)),
    }
}

/// A day: “7月10日” when it falls in `year`, else with its year, “2024年1月10日”.
/// `None` always writes the year.
pub fn date(lang: Lang, d: NaiveDate, year: Option<i32>) -> String {
    match lang {
        Lang::En => d.format("%Y-%m-%d").to_string(),
        Lang::Zh => {
            if Some(d.year()) == year {
                format!("{}月{}日", d.month(), d.day())
            } else {
                format!("{}年{}月{}日", d.year(), d.month(), d.day())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(y: u16, m: u8) -> Period {
        Period::new(y, m).unwrap()
    }

    #[test]
    fn periods_read_as_a_bulletin_writes_them() {
        let z = Lang::Zh;
        // (period, year_month, year_to_date, span of a cumulative, span of a level, quarter)
        let cases = [
            (
                p(2023, 1),
                "2023年1月",
                "2023年1月",
                "1月",
                "1月",
                "第1季度",
            ),
            (
                p(2023, 3),
                "2023年3月",
                "2023年1-3月",
                "1-3月",
                "3月",
                "第1季度",
            ),
            (
                p(2023, 6),
                "2023年6月",
                "2023年1-6月",
                "1-6月",
                "6月",
                "第2季度",
            ),
            (
                p(2023, 9),
                "2023年9月",
                "2023年1-9月",
                "1-9月",
                "9月",
                "第3季度",
            ),
            (
                p(2024, 12),
                "2024年12月",
                "2024年1-12月",
                "1-12月",
                "12月",
                "第4季度",
            ),
        ];
        for (period, ym, ytd, cum, level, q) in cases {
            assert_eq!(year_month(z, period), ym);
            assert_eq!(year_to_date(z, period), ytd);
            assert_eq!(span(z, period, Kind::Cumulative), cum);
            assert_eq!(span(z, period, Kind::Rate), cum);
            assert_eq!(span(z, period, Kind::Level), level);
            assert_eq!(quarter(z, period), q);
        }
        assert_eq!(month(z, 11), "11月");
    }

    #[test]
    fn dates_name_their_year_only_when_it_differs() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let cases = [
            (d(2023, 7, 10), Some(2023), "7月10日"),
            (d(2024, 1, 10), Some(2023), "2024年1月10日"),
            (d(2023, 7, 20), Some(2024), "2023年7月20日"),
            (d(2023, 7, 10), None, "2023年7月10日"),
        ];
        for (day, year, want) in cases {
            assert_eq!(date(Lang::Zh, day, year), want, "{day} in {year:?}");
        }
    }
}
