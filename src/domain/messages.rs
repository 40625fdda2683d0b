//! The messages a clerk reads about what was sent, in Chinese and in English.
//!
//! A submission is refused or a row skipped with a sentence the person at the
//! spreadsheet can act on. zhibiao speaks Chinese by default and English when the
//! request prefers it (`Accept-Language: en`, `--lang en`), so each such sentence is
//! written here once in both languages, as a [`Msg`], and the edge picks one. The
//! machine keys beside a message (`field`, `check`, `type`) never change with it.

/// One message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub zh: String,
    pub en: String,
}

impl Msg {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The message in English when `english`, else in Chinese.
    pub fn get(&self, english: bool) -> &str {
        if english {
            &self.en
        } else {
            &self.zh
        }
    }
}

impl From<String> for Msg {
    /// A message written in one language only: shown as it is in both.
    fn from(s: String) -> Msg {
        Msg {
            en: s.clone(),
            zh: s,
        }
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Msg {
        Msg::from(s.to_string())
    }
}

impl std::fmt::Display for Msg {
    /// The Chinese text: logs and `to_string()` read as a clerk would.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.zh)
    }
}

/// What a cell quoted in a message shows: at most 30 characters.
fn quoted(text: &str) -> String {
    text.trim().chars().take(30).collect()
}

/// A value cell that is not a number.
pub fn not_a_number(text: &str) -> Msg {
    let t = quoted(text);
    Msg::new(
        format!("“{t}”不是数字：请填写数字，如 12.5、1,234 或 8%；没有数据的行请留空"),
        format!("'{t}' is not a number: write a number such as 12.5, 1,234 or 8%; leave the cell empty for a row without a figure"),
    )
}

/// A value cell that says there is no figure (—, /, 无): the row is skipped.
pub fn blank_marker(text: &str) -> Msg {
    let t = quoted(text);
    Msg::new(
        format!("本期数写的是“{t}”，按空白处理，本行未报送"),
        format!("the value '{t}' means no figure: the row is skipped"),
    )
}

/// A value cell left empty: the row is skipped.
pub fn value_empty() -> Msg {
    Msg::new(
        "本期数为空，本行未报送",
        "the value is empty: the row is skipped",
    )
}

/// No indicator has this id.
pub fn no_indicator(id: &impl std::fmt::Display) -> Msg {
    Msg::new(
        format!("没有编号为“{id}”的指标"),
        format!("no indicator '{id}'"),
    )
}

/// A row of a JSON batch without a value.
pub fn value_required() -> Msg {
    Msg::new("缺少本期数（value）", "value is required")
}

/// Something written in a row whose value is empty: it would be lost, so the row is
/// refused rather than skipped.
pub fn written_without_value(field: &str, text: &str) -> Msg {
    let t = quoted(text);
    let (zh, en) = match field {
        "status" => ("数据状态", "a status"),
        _ => ("强制上报说明", "an explanation"),
    };
    Msg::new(
        format!("本行填了{zh}“{t}”，但本期数为空：{zh}不能脱离数字单独保存。请填写本期数后再提交；本期确无数据的，请在备注栏写明原因（如“数据待核实后补报”），备注将作为本期的说明保存"),
        format!("the row has {en} ('{t}') but no value: it cannot be stored without a figure. Fill in the value; if there is no figure this period, write why in the note column, and the note is kept as the period's note"),
    )
}

/// A period that cannot be read, with why.
pub fn not_a_period(text: &str, why: &Msg) -> Msg {
    let t = quoted(text);
    Msg::new(
        format!("报送期“{t}”无法识别：{}。可写 2023-06、2023年6月、2023/6、2023年1-6月、2023年二季度、2023年上半年 或 2023年", why.zh),
        format!("'{t}' is not a period: {} (use 2023-06, 2023年6月, 2023/6, 2023-Q2, 2023-S1, 2023 or 2023年1-6月)", why.en),
    )
}

/// Why a period could not be read.
pub mod period {
    use super::Msg;

    pub fn empty() -> Msg {
        Msg::new("未填写", "it is empty")
    }
    pub fn year() -> Msg {
        Msg::new("年份应为四位数字", "the year must be four digits")
    }
    pub fn suffix() -> Msg {
        Msg::new("年份后应为月份、季度或半年", "bad month, quarter or half")
    }
    pub fn month(m: u32) -> Msg {
        Msg::new(
            format!("{m}月不是1—12月"),
            format!("month {m} is not between 1 and 12"),
        )
    }
    pub fn day(y: i32, m: u32, d: u32) -> Msg {
        Msg::new(
            format!("{y}年{m}月{d}日既不是月初也不是月末，看不出是哪个月的数据"),
            format!("{y}-{m:02}-{d:02} is neither the first nor the last day of a month, so it names no month"),
        )
    }
    pub fn serial(n: f64) -> Msg {
        Msg::new(
            format!("{n}不是1990—2099年间的Excel日期"),
            format!("{n} is not an Excel date between 1990 and 2099"),
        )
    }
    pub fn other(zh: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg::new(zh, en)
    }
}
