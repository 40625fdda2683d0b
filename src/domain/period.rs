//! Reporting periods.
//!
//! Chinese statistics publish **year-to-date** figures (累计值 / 累计增速): the June
//! release covers January to June. A [`Period`] is therefore "year Y, through month m".
//! Quarterly, half-year and annual releases are the same thing seen at a quarter's,
//! half's or year's last month, so `2023-Q2`, `2023-S1`, `2023-06` and `2023年1-6月`
//! all name the same period and the same stored reading. The form the submitter used
//! is kept separately ([`PeriodForm`]) so answers can echo it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::messages::{self, Msg};
use super::DomainError;

/// The earliest year zhibiao accepts. Earlier figures are outside any plan it tracks.
pub const MIN_YEAR: u16 = 1990;
/// The latest year the parser accepts; the API edge also refuses periods after the current month.
pub const MAX_YEAR: u16 = 9999;

/// Year `year`, year-to-date through `month` (1..=12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    month: u8,
}

/// How a period was written by whoever submitted it. Only used for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PeriodForm {
    #[default]
    Month,
    Quarter,
    Half,
    Annual,
}

impl Period {
    /// Builds a period, checking the year range and the month.
    pub fn new(year: u16, month: u8) -> Result<Self, DomainError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(DomainError::invalid(
                "period",
                format!("year {year} is outside {MIN_YEAR}..={MAX_YEAR}"),
            ));
        }
        if !(1..=12).contains(&month) {
            return Err(DomainError::invalid(
                "period",
                format!("month {month} is not between 1 and 12"),
            ));
        }
        Ok(Period { year, month })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    /// The last month the year-to-date figure covers (1..=12).
    pub fn month(self) -> u8 {
        self.month
    }

    /// Months from `self` to `later` (negative if `later` is earlier).
    pub fn months_until(self, later: Period) -> i32 {
        (i32::from(later.year) - i32::from(self.year)) * 12 + i32::from(later.month)
            - i32::from(self.month)
    }

    /// The same year through December: the period that settles an annual target.
    pub fn year_end(self) -> Period {
        Period {
            year: self.year,
            month: 12,
        }
    }

    /// Parses any accepted spelling, returning the period and the form used.
    ///
    /// Accepted: `2023-06`, `2023-6`, SDMX `2023-M06`, `2023-Q2`, `2023-S1`, `2023`,
    /// and Chinese as offices write it: `2023年6月`, `2023年1-6月` (also `1—6月`, `1～6月`,
    /// `1至6月`, `1月-6月`), `2023年二季度`/`2023年第二季度`/`2023年第2季度` (= `2023-Q2`),
    /// `2023年上半年`, `2023年前三季度`, `2023年`, `2023年全年`, `2023年度`. The form is
    /// the one the submitter used: a month range is a month, 二季度 a quarter, 上半年 a
    /// half, 全年 the year.
    ///
    /// And as Excel writes a month: `2023/6`, `2023.06`, a date that is the first or
    /// the last day of a month (`2023/6/30`, `2023-06-01`, `2023.6.30`), or the serial
    /// number of such a date (45107 is 2023-06-30), which is what a date-typed cell
    /// holds. Full-width digits (`２０２３年６月`) read as their ASCII forms. A day in the
    /// middle of a month names no month and is refused.
    pub fn parse_with_form(input: &str) -> Result<(Period, PeriodForm), DomainError> {
        let normal = super::text::half_width(input);
        let s = normal.trim();
        let err = |why: Msg| DomainError::said("period", messages::not_a_period(input, &why));
        if s.is_empty() {
            return Err(err(messages::period::empty()));
        }
        // A date-typed cell's serial number.
        if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            let n: f64 = s.parse().map_err(|_| err(messages::period::year()))?;
            return excel_serial(n).map_err(err);
        }
        // 2023/6, 2023.06, 2023/6/30, 2023-06-30.
        if let Some(parts) = ymd_parts(s) {
            return from_ymd(parts).map_err(err);
        }
        let (year_part, rest) = if let Some(pos) = s.find('年') {
            (&s[..pos], Some(("年", &s[pos + '年'.len_utf8()..])))
        } else if let Some(pos) = s.find('-') {
            (&s[..pos], Some(("-", &s[pos + 1..])))
        } else {
            (s, None)
        };
        if year_part.len() != 4 || !year_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(messages::period::year()));
        }
        let year: u16 = year_part
            .parse()
            .map_err(|_| err(messages::period::year()))?;
        let (month, form) = match rest {
            None => (12, PeriodForm::Annual),
            Some(("-", r)) => {
                parse_ascii_suffix(r).ok_or_else(|| err(messages::period::suffix()))?
            }
            Some((_, r)) => parse_chinese_suffix(r).map_err(err)?,
        };
        Period::new(year, month)
            .map(|p| (p, form))
            .map_err(|e| err(range_msg(year, month, &e)))
    }

    /// Display in the given form (`2023-Q2` for a quarter-end month shown as a quarter).
    pub fn display_as(self, form: PeriodForm) -> String {
        match form {
            PeriodForm::Quarter if self.month % 3 == 0 => {
                format!("{}-Q{}", self.year, self.month / 3)
            }
            PeriodForm::Half if self.month % 6 == 0 => format!("{}-S{}", self.year, self.month / 6),
            PeriodForm::Annual if self.month == 12 => format!("{}", self.year),
            _ => self.to_string(),
        }
    }
}

fn two_digit_month(r: &str) -> Option<u8> {
    if r.is_empty() || r.len() > 2 || !r.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    r.parse().ok()
}

fn parse_ascii_suffix(r: &str) -> Option<(u8, PeriodForm)> {
    let upper = r.to_ascii_uppercase();
    if let Some(q) = upper.strip_prefix('Q') {
        let q: u8 = two_digit_month(q)?;
        // `then`, not `then_some`: q * 3 must not be computed for q = 99 (u8 overflow).
        return (1..=4).contains(&q).then(|| (q * 3, PeriodForm::Quarter));
    }
    if let Some(h) = upper.strip_prefix('S') {
        let h: u8 = two_digit_month(h)?;
        return (1..=2).contains(&h).then(|| (h * 6, PeriodForm::Half));
    }
    if upper == "A" || upper == "A1" {
        return Some((12, PeriodForm::Annual));
    }
    let m = upper.strip_prefix('M').unwrap_or(&upper);
    // Out-of-range months (2023-13) fall through to Period::new, which names the problem.
    Some((two_digit_month(m)?, PeriodForm::Month))
}

fn chinese_numeral(s: &str) -> Option<u8> {
    match s {
        "一" => Some(1),
        "二" => Some(2),
        "三" => Some(3),
        "四" => Some(4),
        _ => None,
    }
}

fn parse_chinese_suffix(r: &str) -> Result<(u8, PeriodForm), Msg> {
    let r = r.trim();
    let bad_quarter = || Msg::new("季度应写成一季度、二季度、三季度或四季度", "bad quarter");
    match r {
        // "2023年度" arrives here as "度": the year was split at its 年.
        "" | "全年" | "度" => return Ok((12, PeriodForm::Annual)),
        "上半年" => return Ok((6, PeriodForm::Half)),
        "前三季度" => return Ok((9, PeriodForm::Quarter)),
        _ => {}
    }
    if let Some(q) = r.strip_prefix('前').and_then(|x| x.strip_suffix("季度")) {
        let n = chinese_numeral(q).ok_or_else(bad_quarter)?;
        return Ok((n * 3, PeriodForm::Quarter));
    }
    if let Some(q) = r.strip_suffix("季度") {
        // 2023年二季度 and 2023年第二季度 are how offices label the quarter's report,
        // whose figures are year-to-date like every other: the same period as 2023-Q2.
        let q = q.strip_prefix('第').unwrap_or(q);
        let n = chinese_numeral(q)
            .or_else(|| two_digit_month(q))
            .ok_or_else(bad_quarter)?;
        if !(1..=4).contains(&n) {
            return Err(Msg::new(
                format!("没有第{n}季度"),
                format!("quarter {n} is not between 1 and 4"),
            ));
        }
        return Ok((n * 3, PeriodForm::Quarter));
    }
    let body = r.strip_suffix('份').unwrap_or(r);
    let body = body.strip_suffix('月').ok_or_else(|| {
        Msg::new(
            "中文写法应以“月”“季度”或“年”结尾",
            "a Chinese period ends in 月, 季度 or 年",
        )
    })?;
    let bad_range = || Msg::new("月份区间应写成1-6月", "bad month range");
    for sep in ['-', '—', '–', '～', '~', '至'] {
        if let Some((from, to)) = body.split_once(sep) {
            // 1-6月 and 1月-6月 alike.
            let from = from.trim();
            let from = from.strip_suffix('月').unwrap_or(from);
            let from = two_digit_month(from.trim()).ok_or_else(bad_range)?;
            let to = two_digit_month(to.trim()).ok_or_else(bad_range)?;
            if from != 1 {
                return Err(Msg::new(
                    format!("数据为年内累计，区间应从1月开始（写的是{from}-{to}月）"),
                    format!(
                        "readings are year-to-date, so a range must start in January (got {from}-{to}月)"
                    ),
                ));
            }
            return Ok((to, PeriodForm::Month));
        }
    }
    let m = two_digit_month(body).ok_or_else(|| Msg::new("月份应为1—12", "bad month"))?;
    Ok((m, PeriodForm::Month))
}

/// Why [`Period::new`] refused a year and month, in both languages.
fn range_msg(year: u16, month: u8, e: &DomainError) -> Msg {
    if (1..=12).contains(&month) {
        Msg::new(
            format!("年份{year}不在{MIN_YEAR}—{MAX_YEAR}之间"),
            e.message().to_string(),
        )
    } else {
        let mut m = messages::period::month(u32::from(month));
        m.en = e.message().to_string();
        m
    }
}

/// A year, month and perhaps day separated by `/`, `.` or `-` (`2023/6`, `2023.06`,
/// `2023/6/30`, `2023-06-30`), as numbers; `None` for any other shape. `2023-06`
/// alone is left to the ISO reader, which keeps its form.
fn ymd_parts(s: &str) -> Option<(i32, u32, Option<u32>)> {
    let sep = ['/', '.', '-'].into_iter().find(|c| s.contains(*c))?;
    let parts: Vec<&str> = s.split(sep).collect();
    if sep == '-' && parts.len() != 3 {
        return None;
    }
    let num = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m] if y.len() == 4 => Some((num(y)? as i32, num(m)?, None)),
        [y, m, d] if y.len() == 4 => Some((num(y)? as i32, num(m)?, Some(num(d)?))),
        _ => None,
    }
}

/// The month a year, month and optional day name: a day must be the first or the last
/// of its month.
fn from_ymd((y, m, d): (i32, u32, Option<u32>)) -> Result<(Period, PeriodForm), Msg> {
    if !(1..=12).contains(&m) {
        return Err(messages::period::month(m));
    }
    if let Some(d) = d {
        let next = if m == 12 {
            chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
        }
        .ok_or_else(messages::period::year)?;
        let last = next.pred_opt().map_or(31, |l| chrono::Datelike::day(&l));
        if d != 1 && d != last {
            return Err(messages::period::day(y, m, d));
        }
    }
    let year = u16::try_from(y).map_err(|_| messages::period::year())?;
    let month = m as u8;
    Period::new(year, month)
        .map(|p| (p, PeriodForm::Month))
        .map_err(|e| range_msg(year, month, &e))
}

/// The day an Excel date serial number names (days since 1899-12-30 in the 1900 date
/// system, so that 1900-03-01 onwards come out right), with its time of day dropped.
pub fn excel_date(serial: f64) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(chrono::Duration::days(serial.floor() as i64))
}

/// The month of an Excel date serial number (days since 1899-12-30 in the 1900 date
/// system), which must be the first or the last day of a month between 1990 and 2099.
fn excel_serial(n: f64) -> Result<(Period, PeriodForm), Msg> {
    // 1990-01-01 is 32874, 2099-12-31 is 73050.
    if n.fract() != 0.0 || !(32874.0..=73050.0).contains(&n) {
        return Err(messages::period::serial(n));
    }
    let date = excel_date(n).ok_or_else(|| messages::period::serial(n))?;
    use chrono::Datelike;
    from_ymd((date.year(), date.month(), Some(date.day())))
}

impl FromStr for Period {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse_with_form(s).map(|(p, _)| p)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            (self.year, self.month).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            let (y, m) = <(u16, u8)>::deserialize(d)?;
            Period::new(y, m).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_spelling_names_the_right_period() {
        // (input, year, month, form): each row is a form a bureau actually uses.
        let cases = [
            ("2023-06", 2023, 6, PeriodForm::Month),
            ("2023-6", 2023, 6, PeriodForm::Month),
            ("2023-M06", 2023, 6, PeriodForm::Month),
            ("2023-m02", 2023, 2, PeriodForm::Month), // the combined 1-2月 release
            ("2023-Q2", 2023, 6, PeriodForm::Quarter),
            ("2023-q4", 2023, 12, PeriodForm::Quarter),
            ("2023-S1", 2023, 6, PeriodForm::Half),
            ("2023", 2023, 12, PeriodForm::Annual),
            ("2023年6月", 2023, 6, PeriodForm::Month),
            ("2023年6月份", 2023, 6, PeriodForm::Month),
            ("2023年1-6月", 2023, 6, PeriodForm::Month),
            ("2023年1—6月", 2023, 6, PeriodForm::Month),
            ("2023年1至9月", 2023, 9, PeriodForm::Month),
            ("2023年1-2月", 2023, 2, PeriodForm::Month),
            ("2023年一季度", 2023, 3, PeriodForm::Quarter),
            ("2023年前三季度", 2023, 9, PeriodForm::Quarter),
            ("2023年前二季度", 2023, 6, PeriodForm::Quarter),
            ("2023年上半年", 2023, 6, PeriodForm::Half),
            ("2023年全年", 2023, 12, PeriodForm::Annual),
            ("2023年度", 2023, 12, PeriodForm::Annual),
            ("2023年", 2023, 12, PeriodForm::Annual),
            ("2023年二季度", 2023, 6, PeriodForm::Quarter),
            ("2023年第二季度", 2023, 6, PeriodForm::Quarter),
            ("2023年第2季度", 2023, 6, PeriodForm::Quarter),
            ("2023年四季度", 2023, 12, PeriodForm::Quarter),
            ("2023年1月-6月", 2023, 6, PeriodForm::Month),
            ("2023年1～6月", 2023, 6, PeriodForm::Month),
            ("2023年 1-6月 ", 2023, 6, PeriodForm::Month),
            (" 2023-06 ", 2023, 6, PeriodForm::Month),
        ];
        for (input, y, m, form) in cases {
            let (p, f) = Period::parse_with_form(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((p.year(), p.month(), f), (y, m, form), "{input}");
        }
    }

    #[test]
    fn malformed_periods_are_refused_with_a_reason() {
        let cases = [
            "2023-13",
            "2023-00",
            "2023-Q5",
            "2023-S3",
            "23-06",
            "2023/13",
            "2023/6/15",
            "45092", // 2023-06-15: a serial, but not a month's first or last day
            "12345", // a serial before 1990
            "",
            "1989-06",
            "2023年3-6月",
            "2023年五季度",
            "2023年第0季度",
            "2023年下半年",
            "2023年2月-6月",
            "2023-Q",
            "2023-S66", // found by fuzzing: 66 × 6 overflowed before the range check
            "2023-Q99",
            "abcd",
        ];
        for input in cases {
            let e = Period::parse_with_form(input).expect_err(input);
            assert!(e.message().contains("报送期"), "{input}: {e}");
            assert!(e.message_en().contains("is not a period"), "{input}: {e}");
            assert_eq!(e.field(), "period");
        }
    }

    #[test]
    fn periods_as_excel_writes_them() {
        let june = Period::new(2023, 6).unwrap();
        for input in [
            "2023/6",
            "2023/06",
            "2023.06",
            "2023.6",
            "2023/6/30",
            "2023/6/1",
            "2023-06-30",
            "2023-06-01",
            "２０２３-06",
            "２０２３年６月",
            "2023年6月",
            "2023年1-6月",
            "2023年二季度",
            "2023年上半年",
            "45107", // the serial of 2023-06-30
            "45078", // the serial of 2023-06-01
            " 2023/6 ",
        ] {
            let (p, _) = Period::parse_with_form(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p, june, "{input}");
        }
        let (dec, _) = Period::parse_with_form("2023/12/31").unwrap();
        assert_eq!(dec, Period::new(2023, 12).unwrap());
        let (feb, _) = Period::parse_with_form("2024/2/29").unwrap();
        assert_eq!(feb, Period::new(2024, 2).unwrap());
    }

    #[test]
    fn a_period_that_cannot_be_read_says_what_was_read_and_what_is_expected() {
        let e = Period::parse_with_form("2023/6/15").unwrap_err();
        assert!(e.message().contains("“2023/6/15”"), "{e}");
        assert!(e.message().contains("既不是月初也不是月末"), "{e}");
        assert!(e.message().contains("可写 2023-06、2023年6月"), "{e}");
        let e = Period::parse_with_form("23-06").unwrap_err();
        assert!(e.message().contains("年份应为四位数字"), "{e}");
        assert!(
            e.message_en().contains("the year must be four digits"),
            "{e}"
        );
        let e = Period::parse_with_form("2023年五季度").unwrap_err();
        assert!(e.message().contains("季度应写成"), "{e}");
    }

    #[test]
    fn quarter_and_month_share_one_key_but_keep_their_display() {
        let (q, qf) = Period::parse_with_form("2023-Q2").unwrap();
        let (m, _) = Period::parse_with_form("2023-06").unwrap();
        assert_eq!(q, m);
        assert_eq!(q.display_as(qf), "2023-Q2");
        assert_eq!(m.to_string(), "2023-06");
        assert_eq!(
            Period::new(2023, 12)
                .unwrap()
                .display_as(PeriodForm::Annual),
            "2023"
        );
    }

    #[test]
    fn office_wordings_keep_the_form_they_were_written_in() {
        // What the answer echoes: the quarter, half or year the office wrote.
        let shown = |input: &str| {
            let (p, f) = Period::parse_with_form(input).unwrap();
            p.display_as(f)
        };
        assert_eq!(shown("2023年第二季度"), "2023-Q2");
        assert_eq!(shown("2023年二季度"), "2023-Q2");
        assert_eq!(shown("2023年上半年"), "2023-S1");
        assert_eq!(shown("2023年1-6月"), "2023-06");
        assert_eq!(shown("2023年1—6月"), "2023-06");
        assert_eq!(shown("2023年全年"), "2023");
        assert_eq!(shown("2023年"), "2023");
    }

    #[test]
    fn months_until_spans_years() {
        let a = Period::new(2022, 11).unwrap();
        let b = Period::new(2023, 2).unwrap();
        assert_eq!(a.months_until(b), 3);
        assert_eq!(b.months_until(a), -3);
    }
}
