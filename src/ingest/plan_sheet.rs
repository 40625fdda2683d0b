//! Reading a plan's indicator list (指标库) from the spreadsheet an office keeps it in.
//!
//! A county's yearly plan lists its indicators in an Excel workbook that a clerk
//! writes by hand: one row an indicator (name, unit, the year's target, the lead
//! units), and, on a sheet named 方案, what the plan is (its region, year, title and
//! document number, the groups its indicators fall into). This module turns such a
//! workbook, or a CSV export of its indicator sheet, into [`PlanRow`]s and
//! [`PlanFacts`], as written: ids are not checked and nothing is looked up. The
//! importer that writes a plan to the store validates them with the domain types.
//!
//! Clerks write the same thing many ways: "≥150", "150以上" and a 目标类型 column
//! saying 以上 all mean `at_least 150`; "2–3" is a band. The words accepted are the
//! plan documents' own (see [`crate::domain::Comparator`] for what each means), and a
//! cell whose words contradict each other or its 目标类型 is an error rather than a
//! guess. Every bad cell of every row is reported, in Chinese, with its row and the
//! column header as the sheet writes it, so that one round of corrections fixes all.
//!
//! The body comes from the network, so reading is bounded as a batch's is: the
//! workbook passes the same scan and caps ([`super::xlsx`]), a sheet stops at
//! [`Limits::batch_rows`] indicator rows, and a raised [`Cancel`] stops it.

use std::collections::HashMap;

use super::xlsx::{self, Cell};
use super::{to_text, Cancel, Charset, DecodeError, Limits, Lines, RowError, CHECK_EVERY};
use crate::domain::text::half_width;
use crate::domain::{Comparator, Direction, Frequency, Kind, MAX_YEAR, MIN_YEAR};
use crate::limits::{Cap, OverCap};

/// How a plan spreadsheet is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// A workbook: the indicators on the sheet 指标 (or 指标库, else the first sheet),
    /// the plan's facts on the sheet 方案.
    Xlsx,
    /// The indicator sheet alone, in the charset given; no facts.
    Csv(Charset),
}

/// What the 方案 sheet says about the plan. `None`: not written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanFacts {
    pub plan_id: Option<String>,
    pub region: Option<String>,
    pub parent: Option<String>,
    pub year: Option<u16>,
    pub title: Option<String>,
    pub doc_number: Option<String>,
    pub issuer: Option<String>,
    /// The plan's groups (板块), in the order written.
    pub groups: Vec<String>,
}

/// One indicator row, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// The spreadsheet row number (the header is its own row, usually 1).
    pub row: usize,
    /// 序号
    pub seq: Option<u32>,
    /// 指标代码 / 指标编号, as written; validated by the importer.
    pub id: Option<String>,
    pub name: String,
    pub unit: String,
    /// The year's target; `None` only when its cell is empty.
    pub value: Option<f64>,
    /// The upper bound of a 区间 (between) target.
    pub upper: Option<f64>,
    /// 容差: the half-width of a 左右 (about) target.
    pub tolerance: Option<f64>,
    pub comparator: Comparator,
    pub kind: Kind,
    pub direction: Direction,
    pub frequency: Frequency,
    pub lead_units: Vec<String>,
    pub co_units: Vec<String>,
    /// 所属板块
    pub group: Option<String>,
    /// 出处章节
    pub section: Option<String>,
    /// 出处原文
    pub quote: Option<String>,
    /// 统计代码: what is measured, shared across regions.
    pub code: Option<String>,
    pub name_en: Option<String>,
    /// 每期要求: a duty each month or quarter (每季度1—2次), judged period by period.
    pub duty: Option<crate::domain::Duty>,
    /// 分项: the parts a list breaks into (“产业类项目38个、政府类项目28个”).
    pub parts: Vec<crate::domain::TargetPart>,
    /// 进度安排: the plan's schedule, twelve cumulative shares of the year (or four, at
    /// the quarters' ends), as fractions.
    pub profile: Option<Vec<f64>>,
    /// 基数指标: the indicator (id or name) whose last-year readings weight a growth
    /// rate's catch-up; resolved by the importer.
    pub base: Option<String>,
    /// 上年累计占比: last year's cumulative monthly shares, when no base is tracked.
    pub base_shares: Option<Vec<f64>>,
}

/// A plan spreadsheet as read: its facts, its good rows, and every bad cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanSheet {
    pub facts: PlanFacts,
    /// The rows without an error, in sheet order.
    pub rows: Vec<PlanRow>,
    /// Every bad cell of every row (a row with one is not in `rows`), and every bad
    /// line of the 方案 sheet.
    pub errors: Vec<RowError>,
    /// Header cells of columns zhibiao does not read, as written.
    pub ignored_columns: Vec<String>,
}

/// The sheet names the indicators are looked for under, in order.
pub const INDICATOR_SHEETS: [&str; 2] = ["指标", "指标库"];
/// The sheet of the plan's facts.
pub const FACTS_SHEET: &str = "方案";
/// The sheet of instructions that [`super::plan_template`] writes.
pub const NOTES_SHEET: &str = "填表说明";

/// Reads a plan spreadsheet. A body-level problem (not a workbook, no header, a
/// required column missing) is a [`DecodeError::Malformed`]; a bad cell is an entry
/// of [`PlanSheet::errors`].
pub fn read_plan(
    format: SheetFormat,
    body: &[u8],
    limits: &Limits,
    cancel: &Cancel,
) -> Result<PlanSheet, DecodeError> {
    cancel.check()?;
    match format {
        SheetFormat::Xlsx => read_xlsx(body, limits, cancel),
        SheetFormat::Csv(charset) => read_csv(&to_text(body, charset)?, limits, cancel),
    }
}

fn read_xlsx(body: &[u8], limits: &Limits, cancel: &Cancel) -> Result<PlanSheet, DecodeError> {
    let mut book = xlsx::open(body, limits, cancel)?;
    let names = book.sheet_names();
    let named = |n: &str| names.iter().find(|s| s.trim() == n).cloned();
    let sheet = INDICATOR_SHEETS
        .iter()
        .find_map(|n| named(n))
        .or_else(|| {
            names
                .iter()
                .find(|s| s.trim() != FACTS_SHEET && s.trim() != NOTES_SHEET)
                .cloned()
        })
        .or_else(|| names.first().cloned())
        .ok_or_else(|| RowError::new(0, "body", "工作簿里没有工作表"))?;
    let mut facts = Facts::default();
    if let Some(f) = named(FACTS_SHEET) {
        book.rows(&f, |row, cells| {
            facts.line(row, &cells);
            Ok(())
        })?;
    }
    let mut reader = Plan::new(limits, cancel, format!("工作表“{sheet}”"));
    book.rows(&sheet, |row, cells| reader.line(row, &cells))?;
    let mut out = reader.finish()?;
    out.facts = facts.facts;
    let mut errors = facts.errors;
    errors.append(&mut out.errors);
    out.errors = errors;
    Ok(out)
}

fn read_csv(text: &str, limits: &Limits, cancel: &Cancel) -> Result<PlanSheet, DecodeError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = Lines::new(text);
    let mut reader = Plan::new(limits, cancel, "CSV".into());
    for i in 0.. {
        let row = match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record
                .position()
                .map_or(i + 1, |p| lines.of_record(p.byte() as usize)),
            Err(e) => return Err(RowError::new(i + 1, "body", format!("CSV 格式有误：{e}")).into()),
        };
        let cells: Vec<Cell> = record
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.trim().is_empty())
            .map(|(c, t)| Cell {
                col: c as u32,
                text: t.to_string(),
                number: None,
            })
            .collect();
        if !cells.is_empty() {
            reader.line(row, &cells)?;
        }
    }
    reader.finish()
}

// ── Column headers ───────────────────────────────────────────────────────

/// A column the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Seq,
    Id,
    Name,
    Unit,
    Value,
    Upper,
    Tolerance,
    Comparator,
    Kind,
    Direction,
    Frequency,
    Lead,
    Co,
    Group,
    Section,
    Quote,
    Code,
    NameEn,
    /// 每期要求: a duty per period, 每季度1—2次.
    Duty,
    /// 分项: a list's parts.
    Parts,
    /// 进度安排: the plan's schedule.
    Profile,
    /// 基数指标: a growth rate's base.
    Base,
    /// 上年累计占比: a growth rate's base shares.
    BaseShares,
    /// Known and not read: what the draft writes for the clerk (上年目标, 上年实际), 备注.
    Ignored,
}

/// The header names of each column, Chinese and English. A Chinese name of three
/// characters or more also names a header that starts with it ("年度目标2024").
const FIELDS: &[(Field, &[&str])] = &[
    (Field::Seq, &["序号", "seq", "no", "no.", "#"]),
    (
        Field::Id,
        &[
            "指标代码",
            "指标编号",
            "指标id",
            "id",
            "indicator",
            "indicator_id",
        ],
    ),
    (
        Field::Name,
        &["指标名称", "指标", "名称", "name", "indicator_name"],
    ),
    (Field::Unit, &["单位", "计量单位", "unit"]),
    (
        Field::Value,
        &[
            "年度目标",
            "目标值",
            "年度目标值",
            "预期目标",
            "目标",
            "target",
            "value",
        ],
    ),
    (Field::Upper, &["上限", "区间上限", "目标上限", "upper"]),
    (Field::Tolerance, &["容差", "允许偏差", "tolerance"]),
    (
        Field::Comparator,
        &["目标类型", "比较", "比较方式", "comparator"],
    ),
    (Field::Kind, &["指标类型", "kind"]),
    (Field::Direction, &["方向", "指标方向", "direction"]),
    (
        Field::Frequency,
        &["报送频率", "频率", "报送周期", "frequency"],
    ),
    (
        Field::Lead,
        &["牵头单位", "牵头部门", "lead_units", "lead_unit", "lead"],
    ),
    (
        Field::Co,
        &[
            "责任单位",
            "配合单位",
            "参与单位",
            "责任部门",
            "配合部门",
            "co_units",
        ],
    ),
    (
        Field::Group,
        &["所属板块", "板块", "分类", "group", "category"],
    ),
    (Field::Section, &["出处章节", "章节", "section"]),
    (
        Field::Quote,
        &["出处原文", "出处", "依据", "原文", "quote", "source"],
    ),
    (Field::Code, &["统计代码", "code"]),
    (Field::NameEn, &["英文名称", "name_en", "english_name"]),
    (Field::Duty, &["每期要求", "分期要求", "duty"]),
    (Field::Parts, &["分项", "其中", "分项目标", "parts"]),
    (
        Field::Profile,
        &[
            "进度安排",
            "分月进度",
            "序时进度安排",
            "profile",
            "schedule",
        ],
    ),
    (Field::Base, &["基数指标", "基数", "base_indicator", "base"]),
    (
        Field::BaseShares,
        &["上年累计占比", "基数占比", "上年同期占比", "base_shares"],
    ),
    (
        Field::Ignored,
        &[
            "上年目标",
            "上年实际",
            "备注",
            "last_target",
            "last_actual",
            "note",
            "remark",
        ],
    ),
];

/// The columns a sheet must have, with the name a message gives each.
const REQUIRED: [(Field, &str); 4] = [
    (Field::Name, "指标名称"),
    (Field::Unit, "单位"),
    (Field::Value, "年度目标"),
    (Field::Lead, "牵头单位"),
];

/// A header or key as compared: without what is in brackets, spaces, `_`, `-`,
/// `*` and colons, in lower case. "年度目标（2024）" is "年度目标", "Lead units" is
/// "leadunits".
fn normalized(h: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in h.trim().trim_start_matches('\u{feff}').chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_whitespace() => {}
            '_' | '-' | '*' | '＊' | ':' | '：' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The column a header names: an exact name, else the longest Chinese name it starts
/// with (the names are distinct, so the longest is one name). `None`: unknown.
fn field_of(header: &str) -> Option<Field> {
    let h = normalized(header);
    if h.is_empty() {
        return None;
    }
    let mut best: Option<(usize, Field)> = None;
    for &(field, names) in FIELDS {
        for name in names {
            let n = normalized(name);
            if n == h {
                return Some(field);
            }
            let longer = best.is_none_or(|(len, _)| n.len() > len);
            if n.chars().count() >= 3 && !n.is_ascii() && h.starts_with(&n) && longer {
                best = Some((n.len(), field));
            }
        }
    }
    best.map(|(_, f)| f)
}

/// The longest header or key kept to name a cell's column: a row error names its
/// column, and a megabyte header must not come back once per row.
const MAX_FIELD_CHARS: usize = 40;

fn as_field(written: &str) -> String {
    crate::domain::text::shorten(written, MAX_FIELD_CHARS)
}

/// Where each known column is, and its header as written.
#[derive(Debug)]
struct Header {
    cols: HashMap<Field, (u32, String)>,
}

fn read_header(
    row: usize,
    cells: &[Cell],
    ignored: &mut Vec<String>,
) -> Result<Header, DecodeError> {
    let mut cols: HashMap<Field, (u32, String)> = HashMap::new();
    for c in cells {
        let written = c.text.trim();
        if written.is_empty() {
            continue;
        }
        match field_of(written) {
            Some(Field::Ignored) => {}
            Some(f) => {
                if let Some((_, first)) = cols.get(&f) {
                    return Err(RowError::new(
                        row,
                        "表头",
                        format!("“{first}”和“{written}”是同一列，请只留一列"),
                    )
                    .into());
                }
                cols.insert(f, (c.col, as_field(written)));
            }
            None => ignored.push(as_field(written)),
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|(f, _)| !cols.contains_key(f))
        .map(|&(_, n)| n)
        .collect();
    if !missing.is_empty() {
        return Err(RowError::new(
            row,
            "表头",
            format!(
                "缺少必填列：{}（第{row}行是表头，应有 指标名称、单位、年度目标、牵头单位 等列）",
                missing.join("、")
            ),
        )
        .into());
    }
    Ok(Header { cols })
}

// ── Indicator rows ───────────────────────────────────────────────────────

/// The indicator sheet as it is read, row by row.
struct Plan<'l> {
    limits: &'l Limits,
    cancel: &'l Cancel,
    /// "工作表“指标”" or "CSV", for messages about the sheet as a whole.
    what: String,
    header: Option<Header>,
    lines: usize,
    /// Rows with an error, which count against the row cap too.
    bad_rows: usize,
    out: PlanSheet,
    /// The row each name was first written on.
    names: HashMap<String, usize>,
}

impl<'l> Plan<'l> {
    fn new(limits: &'l Limits, cancel: &'l Cancel, what: String) -> Plan<'l> {
        Plan {
            limits,
            cancel,
            what,
            header: None,
            lines: 0,
            bad_rows: 0,
            out: PlanSheet::default(),
            names: HashMap::new(),
        }
    }

    fn line(&mut self, row: usize, cells: &[Cell]) -> Result<(), DecodeError> {
        self.lines += 1;
        if self.lines % CHECK_EVERY == 0 {
            self.cancel.check()?;
        }
        let Some(header) = &self.header else {
            if cells.iter().any(|c| !c.text.trim().is_empty()) {
                self.header = Some(read_header(row, cells, &mut self.out.ignored_columns)?);
            }
            return Ok(());
        };
        let line = Line {
            row,
            header,
            cells,
            errors: Vec::new(),
        };
        if line.is_blank() {
            return Ok(());
        }
        if self.out.rows.len() + self.bad_rows >= self.limits.batch_rows {
            return Err(OverCap::new(
                Cap::BatchRows,
                self.limits.batch_rows as u64,
                format!(
                    "{}的指标超过 {} 行（上限 {}）",
                    self.what,
                    self.limits.batch_rows,
                    Cap::BatchRows.name()
                ),
            )
            .into());
        }
        let (parsed, mut errors) = line.parse();
        if let Some(name) = parsed.as_ref().map(|r| r.name.clone()).or_else(|| {
            let n = text_of(cells, header.cols.get(&Field::Name).map(|c| c.0));
            (!n.is_empty()).then(|| n.to_string())
        }) {
            if let Some(&first) = self.names.get(&name) {
                let col = &header.cols[&Field::Name].1;
                errors.push(RowError::new(
                    row,
                    col.clone(),
                    format!("第{row}行“{col}”“{name}”与第{first}行重复"),
                ));
            } else {
                self.names.insert(name, row);
            }
        }
        match parsed {
            Some(r) if errors.is_empty() => self.out.rows.push(r),
            _ => {
                self.out.errors.append(&mut errors);
                self.bad_rows += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<PlanSheet, DecodeError> {
        if self.header.is_none() {
            return Err(RowError::new(
                0,
                "表头",
                format!(
                    "{}是空的：第一行应是表头（序号、指标代码、指标名称、单位、年度目标……）",
                    self.what
                ),
            )
            .into());
        }
        Ok(self.out)
    }
}

/// The text of the cell at `col`, trimmed ("" when there is none).
fn text_of(cells: &[Cell], col: Option<u32>) -> &str {
    col.and_then(|col| {
        cells
            .binary_search_by_key(&col, |c| c.col)
            .ok()
            .map(|i| cells[i].text.trim())
    })
    .unwrap_or("")
}

/// One data row being read.
struct Line<'a> {
    row: usize,
    header: &'a Header,
    cells: &'a [Cell],
    errors: Vec<RowError>,
}

impl<'a> Line<'a> {
    fn cell(&self, f: Field) -> Option<&'a Cell> {
        let col = self.header.cols.get(&f)?.0;
        let i = self.cells.binary_search_by_key(&col, |c| c.col).ok()?;
        let c = &self.cells[i];
        (!c.text.trim().is_empty()).then_some(c)
    }

    fn text(&self, f: Field) -> Option<&'a str> {
        self.cell(f).map(|c| c.text.trim())
    }

    fn owned(&self, f: Field) -> Option<String> {
        self.text(f).map(str::to_string)
    }

    /// A row with nothing in the columns read but, perhaps, its 序号.
    fn is_blank(&self) -> bool {
        self.header
            .cols
            .keys()
            .filter(|&&f| f != Field::Seq)
            .all(|&f| self.cell(f).is_none())
    }

    /// The column header as the sheet writes it.
    fn col(&self, f: Field) -> String {
        self.header
            .cols
            .get(&f)
            .map(|c| c.1.clone())
            .unwrap_or_default()
    }

    fn error(&mut self, f: Field, what: impl std::fmt::Display) {
        let col = self.col(f);
        let message = format!("第{}行“{col}”{what}", self.row);
        self.errors.push(RowError::new(self.row, col, message));
    }

    /// A 进度安排 or 上年累计占比 cell: cumulative shares of the year.
    fn shares(&mut self, f: Field) -> Option<Vec<f64>> {
        let t = self.text(f)?;
        match shares_words(t) {
            Ok(v) => Some(v),
            Err(why) => {
                self.error(f, format!("{why}（写的是“{t}”）"));
                None
            }
        }
    }

    fn required(&mut self, f: Field) -> String {
        match self.text(f) {
            Some(t) => t.to_string(),
            None => {
                self.error(f, "未填写");
                String::new()
            }
        }
    }

    /// A number column other than the target: a number cell, or text that is one.
    fn number(&mut self, f: Field) -> Option<f64> {
        let c = self.cell(f)?;
        if let Some(n) = c.number {
            return Some(n);
        }
        match plain_number(&c.text) {
            Some(n) => Some(n),
            None => {
                self.error(f, format!("不是数字：“{}”", c.text.trim()));
                None
            }
        }
    }

    /// One of a column's words, or an error listing them. `None` when empty.
    fn word<T: Copy>(
        &mut self,
        f: Field,
        parse: fn(&str) -> Option<T>,
        accepted: &str,
    ) -> Option<T> {
        let t = self.text(f)?;
        let v = parse(t);
        if v.is_none() {
            self.error(f, format!("应为 {accepted} 之一（写的是“{t}”）"));
        }
        v
    }

    fn parse(mut self) -> (Option<PlanRow>, Vec<RowError>) {
        let seq = self.cell(Field::Seq).and_then(|c| {
            let n = c.number.or_else(|| plain_number(&c.text));
            match n {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                    Some(n as u32)
                }
                _ => {
                    let t = c.text.trim().to_string();
                    self.error(Field::Seq, format!("应为整数（写的是“{t}”）"));
                    None
                }
            }
        });
        let name = self.required(Field::Name);
        let unit = self.required(Field::Unit);
        let lead_units = split_units(self.text(Field::Lead).unwrap_or(""));
        if lead_units.is_empty() {
            self.error(Field::Lead, "未填写");
        }
        let co_units = split_units(self.text(Field::Co).unwrap_or(""));
        let column = self.word(
            Field::Comparator,
            comparator_word,
            "≥、>、≤、<、左右、区间（或 以上、超过、以内、低于）",
        );
        let (written, mut value, mut upper) = match self.cell(Field::Value) {
            None => (None, None, None),
            Some(Cell {
                number: Some(n), ..
            }) => (None, Some(*n), None),
            Some(c) => match parse_target(&c.text, &unit) {
                Ok(t) => (t.comparator, Some(t.value), t.upper),
                Err(why) => {
                    self.error(Field::Value, why);
                    (None, None, None)
                }
            },
        };
        let comparator = match (column, written) {
            (Some(c), Some(w)) if c != w => {
                let (cc, vc) = (self.col(Field::Comparator), self.text(Field::Value));
                self.error(
                    Field::Value,
                    format!(
                        "写的是“{}”，与“{cc}”的“{}”矛盾",
                        vc.unwrap_or(""),
                        self.text(Field::Comparator).unwrap_or("")
                    ),
                );
                c
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => Comparator::AtLeast,
        };
        if let Some(u) = self.number(Field::Upper) {
            match upper {
                Some(w) if w != u => self.error(
                    Field::Upper,
                    format!("是 {u}，与“{}”写的上限 {w} 不同", self.col(Field::Value)),
                ),
                _ => upper = Some(u),
            }
        }
        if comparator == Comparator::Between {
            match (value, upper) {
                (Some(_), None) => {
                    self.error(Field::Value, "是区间目标，应写出上下限，如“2–3”");
                    value = None;
                }
                (Some(v), Some(u)) if u <= v => {
                    self.error(Field::Value, format!("的区间上限 {u} 应大于下限 {v}"))
                }
                _ => {}
            }
        } else if upper.is_some() {
            let f = if self.cell(Field::Upper).is_some() {
                Field::Upper
            } else {
                Field::Value
            };
            self.error(f, "只有区间目标才有上限");
        }
        let tolerance = self.number(Field::Tolerance);
        if let Some(t) = tolerance {
            if t < 0.0 {
                self.error(Field::Tolerance, format!("不能为负数（写的是 {t}）"));
            } else if comparator != Comparator::About {
                self.error(Field::Tolerance, "只有“左右”目标才有容差");
            }
        }
        let kind = self
            .word(Field::Kind, kind_word, "累计、增速、比率、存量、清单、等级")
            .unwrap_or_else(|| default_kind(&name, &unit));
        let frequency = self
            .word(Field::Frequency, frequency_word, "月、季、年")
            .unwrap_or(Frequency::Monthly);
        let direction = self
            .word(Field::Direction, direction_word, "越大越好、越小越好")
            .unwrap_or(match comparator {
                Comparator::AtMost | Comparator::LessThan => Direction::Down,
                _ => Direction::Up,
            });
        let row = PlanRow {
            row: self.row,
            seq,
            id: self.owned(Field::Id),
            name,
            unit,
            value,
            upper,
            tolerance,
            comparator,
            kind,
            direction,
            frequency,
            lead_units,
            co_units,
            group: self.owned(Field::Group),
            section: self.owned(Field::Section),
            quote: self.owned(Field::Quote),
            code: self.owned(Field::Code),
            name_en: self.owned(Field::NameEn),
            duty: self
                .text(Field::Duty)
                .map(str::to_string)
                .and_then(|t| match duty_words(&t) {
                    Some(d) => Some(d),
                    None => {
                        self.error(
                            Field::Duty,
                            format!("应写成“每季度1次”“每月至少2次”“每季度1—2次”（写的是“{t}”）"),
                        );
                        None
                    }
                }),
            parts: match self.text(Field::Parts) {
                None => Vec::new(),
                Some(t) => parts_words(t).unwrap_or_else(|| {
                    self.error(
                        Field::Parts,
                        format!("应写成“产业类项目38个、政府类项目28个”：每项一个名称和一个数（写的是“{t}”）"),
                    );
                    Vec::new()
                }),
            },
            profile: self.shares(Field::Profile),
            base: self.owned(Field::Base),
            base_shares: self.shares(Field::BaseShares),
        };
        let ok = self.errors.is_empty();
        (ok.then_some(row), self.errors)
    }
}

/// Units named in one cell: "县发改局、县统计局" or "县发改局,县统计局".
pub fn split_units(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '/', '／', '\n'])
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

/// A plain number ("150", "1,200", "-1.5", "７.２"), refusing what is not finite or
/// underflows.
fn plain_number(text: &str) -> Option<f64> {
    let t: String = half_width(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    let v: f64 = t.parse().ok()?;
    crate::domain::number::checked("value", &t, v).ok()
}

/// A target written as text: the number, and the comparator its words say.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    comparator: Option<Comparator>,
    value: f64,
    upper: Option<f64>,
}

/// Words before a target's number, longest first so that 不超过 is not 超过.
const PREFIX_WORDS: &[(&str, Comparator)] = &[
    ("不低于", Comparator::AtLeast),
    ("不少于", Comparator::AtLeast),
    ("不超过", Comparator::AtMost),
    ("不高于", Comparator::AtMost),
    ("控制在", Comparator::AtMost),
    ("达到", Comparator::AtLeast),
    ("至少", Comparator::AtLeast),
    ("超过", Comparator::MoreThan),
    ("高于", Comparator::MoreThan),
    ("大于", Comparator::MoreThan),
    ("低于", Comparator::LessThan),
    ("不满", Comparator::LessThan),
    ("少于", Comparator::LessThan),
    ("小于", Comparator::LessThan),
    (">=", Comparator::AtLeast),
    ("<=", Comparator::AtMost),
    ("≥", Comparator::AtLeast),
    ("≧", Comparator::AtLeast),
    ("≤", Comparator::AtMost),
    ("≦", Comparator::AtMost),
    (">", Comparator::MoreThan),
    ("<", Comparator::LessThan),
    ("约", Comparator::About),
    ("达", Comparator::AtLeast),
];

/// Words after a target's number.
const SUFFIX_WORDS: &[(&str, Comparator)] = &[
    ("及以上", Comparator::AtLeast),
    ("以上", Comparator::AtLeast),
    ("及以下", Comparator::AtMost),
    ("以下", Comparator::AtMost),
    ("以内", Comparator::AtMost),
    ("左右", Comparator::About),
];

/// What separates the two bounds of a band: "2–3", "2-3", "2~3", "2—3", "2至3".
const BAND: &[char] = &['–', '—', '―', '-', '~', '～', '〜', '至', '到'];

/// Reads a target cell written as text. `Err`: why it is not a target, to follow the
/// column's name in a message.
fn parse_target(text: &str, unit: &str) -> Result<Written, String> {
    let quoted = || format!("不是数字：“{}”", text.trim());
    let s: String = half_width(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    let unit = half_width(unit.trim());
    let mut words: Vec<(&str, Comparator)> = Vec::new();
    let mut rest = s.as_str();
    let mut band_word = false;
    if let Some(r) = rest.strip_prefix("区间") {
        band_word = true;
        rest = r.trim_start_matches([':', '：']);
    }
    'prefix: loop {
        for &(w, c) in PREFIX_WORDS {
            if let Some(r) = rest.strip_prefix(w) {
                words.push((w, c));
                rest = r;
                continue 'prefix;
            }
        }
        break;
    }
    'suffix: loop {
        for &(w, c) in SUFFIX_WORDS {
            if let Some(r) = rest.strip_suffix(w) {
                words.push((w, c));
                rest = r;
                continue 'suffix;
            }
        }
        break;
    }
    let bare = |t: &str| -> Option<f64> {
        let t = t.strip_suffix('%').unwrap_or(t);
        let t = if unit.is_empty() {
            t
        } else {
            t.strip_suffix(unit.as_str()).unwrap_or(t)
        };
        let t = t.strip_suffix('%').unwrap_or(t);
        plain_number(t)
    };
    // A band: a separator after the first character (so "-2" stays a number).
    let band = rest
        .char_indices()
        .skip(1)
        .find(|&(_, c)| BAND.contains(&c))
        .and_then(|(i, c)| {
            let (a, b) = (&rest[..i], &rest[i + c.len_utf8()..]);
            Some((bare(a)?, bare(b)?))
        });
    let (value, upper) = match (band, bare(rest)) {
        (_, Some(v)) => (v, None),
        (Some((a, b)), None) => (a, Some(b)),
        (None, None) => return Err(quoted()),
    };
    let mut comparator: Option<(&str, Comparator)> = None;
    for (w, c) in words {
        match comparator {
            Some((first, fc)) if fc != c => {
                return Err(format!(
                    "同时写了互相矛盾的“{first}”和“{w}”：“{}”",
                    text.trim()
                ))
            }
            _ => comparator = Some((w, c)),
        }
    }
    if upper.is_some() {
        if let Some((w, _)) = comparator {
            return Err(format!("写的是区间，又写了“{w}”：“{}”", text.trim()));
        }
        return Ok(Written {
            comparator: Some(Comparator::Between),
            value,
            upper,
        });
    }
    if band_word {
        return Err(format!(
            "写了“区间”，应写出上下限，如“区间 2–3”：“{}”",
            text.trim()
        ));
    }
    Ok(Written {
        comparator: comparator.map(|(_, c)| c),
        value,
        upper: None,
    })
}

/// A 目标类型 cell.
fn comparator_word(s: &str) -> Option<Comparator> {
    let w = normalized(&half_width(s));
    Some(match w.as_str() {
        "≥" | ">=" | "≧" | "以上" | "及以上" | "不低于" | "不少于" | "达到" | "达" | "至少"
        | "atleast" => Comparator::AtLeast,
        ">" | "超过" | "高于" | "大于" | "morethan" => Comparator::MoreThan,
        "≤" | "<=" | "≦" | "以下" | "及以下" | "以内" | "不超过" | "不高于" | "控制在"
        | "atmost" => Comparator::AtMost,
        "<" | "低于" | "不满" | "少于" | "小于" | "lessthan" => Comparator::LessThan,
        "左右" | "约" | "about" => Comparator::About,
        "区间" | "范围" | "between" => Comparator::Between,
        _ => return None,
    })
}

/// A 指标类型 cell.
fn kind_word(s: &str) -> Option<Kind> {
    Some(match normalized(s).as_str() {
        "累计" | "累计值" | "cumulative" => Kind::Cumulative,
        "增速" | "增长率" | "增幅" | "growth" => Kind::Growth,
        "比率" | "比例" | "占比" | "率" | "rate" => Kind::Rate,
        "存量" | "水平" | "level" => Kind::Level,
        "清单" | "项目清单" | "里程碑" | "milestone" => Kind::Milestone,
        "等级" | "类别" | "排名" | "位次" | "ordinal" => Kind::Ordinal,
        _ => return None,
    })
}

/// A 进度安排 or 上年累计占比 cell: the cumulative share of the year done by the end of
/// each month, twelve of them, or four at the quarters' ends (the months between are
/// interpolated), as fractions (“0.2,0.5,0.8,1”) or percentages (“20%、50%、80%、100%”,
/// or plain numbers ending at 100). The last is the whole year, and none is below the
/// one before. The error says, in Chinese, what is wrong.
pub fn shares_words(s: &str) -> Result<Vec<f64>, String> {
    let s = half_width(s);
    let items: Vec<&str> = s
        .split([',', '，', '、', ';', '；', '/', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let mut values = Vec::with_capacity(items.len());
    let mut percent = false;
    for item in &items {
        let (n, pct) = match item.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (*item, false),
        };
        percent |= pct;
        let v: f64 = n
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("“{item}”不是数字"))?;
        values.push(v);
    }
    if values.len() != 12 && values.len() != 4 {
        return Err(format!(
            "应写12个月（或4个季度末）的累计占比，写了{}个",
            values.len()
        ));
    }
    let last = values[values.len() - 1];
    if percent || (last - 100.0).abs() < 1e-9 {
        values.iter_mut().for_each(|v| *v /= 100.0);
    }
    if values.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err("每个占比应在0到1之间（或0%到100%）".into());
    }
    if values.windows(2).any(|w| w[1] < w[0]) {
        return Err("累计占比不能比前一期小".into());
    }
    if (values[values.len() - 1] - 1.0).abs() > 1e-9 {
        return Err("最后一期应为全年，即1（100%）".into());
    }
    if values.len() == 4 {
        // Quarter ends; the months between on a straight line from the quarter before.
        let mut months = Vec::with_capacity(12);
        let mut before = 0.0;
        for q in values {
            for k in 1..=3 {
                months.push(before + (q - before) * f64::from(k) / 3.0);
            }
            before = q;
        }
        values = months;
    }
    Ok(values)
}

/// A 分项 cell: “产业类项目38个、政府类项目28个”, “其中：产业类38，政府类28”. Each part
/// is a name followed by its number (and perhaps a unit).
pub fn parts_words(s: &str) -> Option<Vec<crate::domain::TargetPart>> {
    let s = half_width(s);
    let s = s.trim();
    let s = s
        .strip_prefix("其中")
        .map(|r| r.trim_start_matches([':', '：', ',', '，']))
        .unwrap_or(s);
    let mut out = Vec::new();
    for item in s
        .split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let start = item.find(|c: char| c.is_ascii_digit())?;
        let name = item[..start].trim();
        let rest = &item[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..end].parse().ok()?;
        // What follows is the unit (个, 项): no more figures.
        if name.is_empty() || rest[end..].chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        out.push(crate::domain::TargetPart {
            name: name.to_string(),
            value,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// A 每期要求 cell: “每季度1次”, “每月至少2次”, “每季度1—2次”, “每季1-2场”.
pub fn duty_words(s: &str) -> Option<crate::domain::Duty> {
    let s = s.trim();
    let (per, rest) = [
        ("每季度", Frequency::Quarterly),
        ("每季", Frequency::Quarterly),
        ("每月", Frequency::Monthly),
        ("每年", Frequency::Annual),
    ]
    .iter()
    .find_map(|(w, f)| s.strip_prefix(w).map(|r| (*f, r)))?;
    let rest = rest
        .trim_start_matches("至少")
        .trim_start_matches("不少于")
        .trim();
    let number = |t: &str| -> Option<(f64, usize)> {
        let end = t
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(t.len(), |(i, _)| i);
        t[..end].parse::<f64>().ok().map(|v| (v, end))
    };
    let (min, used) = number(rest)?;
    let mut tail = rest[used..].trim_start();
    let mut max = None;
    for sep in ["—", "–", "-", "~", "～", "至", "到"] {
        if let Some(t) = tail.strip_prefix(sep) {
            let (m, used) = number(t.trim_start())?;
            max = Some(m);
            tail = t.trim_start()[used..].trim_start();
            break;
        }
    }
    // What follows is the unit (次, 场) and perhaps 以上: no more figures.
    if tail.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let duty = crate::domain::Duty { per, min, max };
    (min > 0.0 && max.is_none_or(|m| m >= min)).then_some(duty)
}

/// A 报送频率 cell.
fn frequency_word(s: &str) -> Option<Frequency> {
    Some(match normalized(s).as_str() {
        "月" | "月度" | "每月" | "按月" | "monthly" | "month" => Frequency::Monthly,
        "季" | "季度" | "每季" | "每季度" | "按季" | "quarterly" | "quarter" => {
            Frequency::Quarterly
        }
        "年" | "年度" | "每年" | "按年" | "annual" | "annually" | "yearly" => {
            Frequency::Annual
        }
        _ => return None,
    })
}

/// A 方向 cell.
fn direction_word(s: &str) -> Option<Direction> {
    Some(match normalized(s).as_str() {
        "越大越好" | "越高越好" | "越多越好" | "正向" | "up" => Direction::Up,
        "越小越好" | "越低越好" | "越少越好" | "逆向" | "负向" | "down" => {
            Direction::Down
        }
        _ => return None,
    })
}

/// The kind an unsaid 指标类型 is taken to be: a growth rate when the name says so,
/// a rate when the unit is %, else a count that builds up over the year.
fn default_kind(name: &str, unit: &str) -> Kind {
    let name = name.trim();
    if name.ends_with("增长") || name.ends_with("增速") || name.contains("增长率") {
        Kind::Growth
    } else if matches!(unit.trim(), "%" | "％") {
        Kind::Rate
    } else {
        Kind::Cumulative
    }
}

// ── The 方案 sheet ───────────────────────────────────────────────────────

/// A key of the 方案 sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fact {
    PlanId,
    Region,
    Parent,
    Year,
    Title,
    DocNumber,
    Issuer,
    Groups,
}

/// The keys, in the order the template writes them, with the names accepted.
pub const FACT_KEYS: [&str; 8] = [
    "方案代码",
    "地区",
    "上级地区",
    "年度",
    "方案名称",
    "文号",
    "发文单位",
    "板块",
];

fn fact_of(key: &str) -> Option<Fact> {
    Some(match normalized(key).as_str() {
        "方案代码" | "planid" => Fact::PlanId,
        "地区" | "region" => Fact::Region,
        "上级地区" | "parent" => Fact::Parent,
        "年度" | "year" => Fact::Year,
        "方案名称" | "文件名称" | "title" => Fact::Title,
        "文号" | "documentnumber" | "docnumber" => Fact::DocNumber,
        "发文单位" | "issuer" => Fact::Issuer,
        "板块" | "groups" | "group" => Fact::Groups,
        _ => return None,
    })
}

/// The 方案 sheet as it is read: one 项目 | 内容 pair a row.
#[derive(Debug, Default)]
struct Facts {
    facts: PlanFacts,
    errors: Vec<RowError>,
    /// The column of the keys: that of the sheet's first cell.
    key_col: Option<u32>,
    /// The row each key was written on.
    seen: HashMap<Fact, usize>,
}

impl Facts {
    fn line(&mut self, row: usize, cells: &[Cell]) {
        let Some(first) = cells.first() else {
            return;
        };
        let key_col = match self.key_col {
            Some(c) => c,
            None => {
                self.key_col = Some(first.col);
                if matches!(normalized(&first.text).as_str(), "项目" | "key" | "item") {
                    return; // the header 项目 | 内容
                }
                first.col
            }
        };
        let key = as_field(text_of(cells, Some(key_col)));
        let value = text_of(cells, key_col.checked_add(1));
        let say = |m: String| format!("“{FACTS_SHEET}”表第{row}行{m}");
        if key.is_empty() {
            if !value.is_empty() {
                self.errors.push(RowError::new(
                    row,
                    "项目",
                    say(format!("写了内容“{value}”，但没有写项目")),
                ));
            }
            return;
        }
        let Some(fact) = fact_of(&key) else {
            self.errors.push(RowError::new(
                row,
                key.clone(),
                say(format!(
                    "的“{key}”不是方案的项目；应为 {} 之一",
                    FACT_KEYS.join("、")
                )),
            ));
            return;
        };
        if value.is_empty() {
            return;
        }
        if fact == Fact::Groups {
            // Several groups in one cell are separated by commas or semicolons, or by
            // 、 — but 、 also follows a group's own numbering (一、经济发展), so it
            // separates only when no piece is a bare numeral.
            let numeral = |p: &str| {
                !p.is_empty()
                    && p.trim()
                        .chars()
                        .all(|c| "一二三四五六七八九十0123456789".contains(c))
            };
            let by_comma: Vec<&str> = value.split([',', '，', ';', '；']).collect();
            let pieces: Vec<&str> = by_comma
                .iter()
                .flat_map(|p| {
                    let parts: Vec<&str> = p.split('、').collect();
                    if parts.len() > 1 && !parts.iter().any(|x| numeral(x)) {
                        parts
                    } else {
                        vec![*p]
                    }
                })
                .collect();
            for g in pieces {
                let g = g.trim();
                if !g.is_empty() && !self.facts.groups.iter().any(|h| h == g) {
                    self.facts.groups.push(g.to_string());
                }
            }
            return;
        }
        if let Some(&earlier) = self.seen.get(&fact) {
            self.errors.push(RowError::new(
                row,
                key.clone(),
                say(format!("的“{key}”与第{earlier}行重复")),
            ));
            return;
        }
        self.seen.insert(fact, row);
        let text = Some(value.to_string());
        let f = &mut self.facts;
        match fact {
            Fact::PlanId => f.plan_id = text,
            Fact::Region => f.region = text,
            Fact::Parent => f.parent = text,
            Fact::Title => f.title = text,
            Fact::DocNumber => f.doc_number = text,
            Fact::Issuer => f.issuer = text,
            Fact::Year => {
                let y = value.strip_suffix('年').unwrap_or(value).trim();
                match y.parse::<u16>() {
                    Ok(y) if (MIN_YEAR..=MAX_YEAR).contains(&y) => f.year = Some(y),
                    _ => self.errors.push(RowError::new(
                        row,
                        key.clone(),
                        say(format!(
                            "的“{key}”应为 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份，如“2024”或“2024年”（写的是“{value}”）"
                        )),
                    )),
                }
            }
            Fact::Groups => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_by_name_or_by_a_long_chinese_prefix() {
        let cases = [
            ("年度目标（2024年）", Some(Field::Value)),
            ("年度目标(2024)", Some(Field::Value)),
            ("年度目标2024", Some(Field::Value)),
            ("*指标名称", Some(Field::Name)),
            ("牵头单位及责任人", Some(Field::Lead)),
            ("出处章节", Some(Field::Section)),
            ("出处", Some(Field::Quote)),
            ("上年目标（≥）", Some(Field::Ignored)),
            ("Lead units", Some(Field::Lead)),
            ("name-en", Some(Field::NameEn)),
            // Two-character names and English names match whole only.
            ("单位名称", None),
            ("identifier", None),
            ("目标类型说明", Some(Field::Comparator)),
            ("", None),
            ("（空）", None),
        ];
        for (h, want) in cases {
            assert_eq!(field_of(h), want, "{h}");
        }
    }

    #[test]
    fn every_name_is_one_columns() {
        let mut seen = HashMap::new();
        for &(field, names) in FIELDS {
            for n in names {
                if let Some(other) = seen.insert(normalized(n), field) {
                    panic!("{n} names both {other:?} and {field:?}");
                }
            }
        }
    }

    #[test]
    fn units_are_split_on_any_list_mark() {
        assert_eq!(
            split_units(" 县发改局、县统计局，县财政局;县商务局/ 各乡镇 ；"),
            ["县发改局", "县统计局", "县财政局", "县商务局", "各乡镇"]
        );
    }
}
