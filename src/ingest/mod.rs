//! Decoding batch submissions: JSON arrays, NDJSON, CSV (UTF-8 or GBK/GB18030) and XLSX.
//!
//! The statistics bureau submits a month's readings for dozens of indicators at once,
//! usually from a spreadsheet. This module turns each format into the same
//! [`RawRow`]s, numbered the way the submitter sees them, so that every error can point
//! at a row and a field. It does no validation beyond the shape: ids, periods and values
//! are checked by the domain constructors afterwards.
//!
//! Row numbers: for a JSON array, the element's 1-based position; for NDJSON, the line
//! number; for CSV and XLSX, the spreadsheet row (the header is row 1, so the first data
//! row is row 2).
//!
//! Bodies come from anyone who can reach the server, so decoding is bounded: the work
//! is linear in the body, a batch stops at [`Limits::batch_rows`] rows as it is read,
//! and an XLSX workbook (a zip, which inflates) is scanned part by part behind byte and
//! record caps before anything holds it (`xlsx_scan.rs`), then read a cell at a time
//! (`xlsx.rs`). A refusal is [`DecodeError::OverCap`], naming its [`Cap`]. A long
//! decode looks at a [`Cancel`] flag as it goes, so that a shutdown can stop it.

pub mod layout;
pub mod plan_sheet;
pub mod plan_template;
pub mod template;
mod xlsx;
mod xlsx_scan;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::limits::{Cap, OverCap};

/// One submitted row, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub row: usize,
    pub indicator: String,
    pub period: String,
    pub value: RawValue,
    pub status: Option<String>,
    pub note: Option<String>,
    /// 强制上报说明: why a figure that fails a quality check is right.
    pub explanation: Option<String>,
    /// The region (地区) whose indicators a name in `indicator` is looked up among,
    /// when the row names one; otherwise the submitter's own region.
    pub region: Option<String>,
    /// From JSON or NDJSON, where a missing value is an error rather than an unfilled
    /// spreadsheet row.
    pub json: bool,
}

/// A cell or JSON value where a number is expected.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Number(f64),
    Text(String),
    Missing,
}

/// A problem with one row (row 0: the body as a whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
    /// The quality check that refused the row, when that is why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<crate::domain::Check>,
    /// The message in English, where it is written in both languages; the answer
    /// picks one ([`RowError::in_lang`]).
    #[serde(skip)]
    pub english: Option<String>,
}

/// The longest row message, in characters. Messages quote what was sent (a header, a
/// cell); an 8 MiB cell must not come back as an 8 MiB answer, once per row.
pub const MAX_MESSAGE_CHARS: usize = 300;

impl RowError {
    pub fn new(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            row,
            field: field.into(),
            message: crate::domain::text::shorten(&message.into(), MAX_MESSAGE_CHARS),
            check: None,
            english: None,
        }
    }

    /// A row error written in both languages.
    pub fn said(row: usize, field: impl Into<String>, msg: crate::domain::messages::Msg) -> Self {
        let mut e = RowError::new(row, field, msg.zh);
        e.english = Some(crate::domain::text::shorten(&msg.en, MAX_MESSAGE_CHARS));
        e
    }

    /// A row error from a domain error, in both languages where it is written so.
    pub fn of_domain(row: usize, e: &crate::domain::DomainError) -> Self {
        Self::said(
            row,
            e.field(),
            crate::domain::messages::Msg::new(e.message(), e.message_en()),
        )
    }

    /// The same error under another field name.
    pub fn named(mut self, field: &str) -> Self {
        self.field = field.to_string();
        self
    }

    /// The same error with its message in English when `en`.
    pub fn in_lang(&self, en: bool) -> RowError {
        let mut e = self.clone();
        if en {
            if let Some(m) = e.english.take() {
                e.message = m;
            }
        }
        e
    }
}

/// The batch formats zhibiao reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Ndjson,
    Csv,
    Xlsx,
}

/// The character set a CSV body declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// No `charset=`: UTF-8 (with or without BOM), else GB18030 when the bytes are not UTF-8.
    Detect,
    Utf8,
    /// GBK, GB2312 and GB18030: GB18030 is a superset of the other two.
    Gb18030,
}

/// The media types accepted by `POST /v1/readings`.
pub const ACCEPTED_TYPES: &str = "application/json, application/x-ndjson, text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Works out the format and charset from a `Content-Type` header.
pub fn format_of(content_type: Option<&str>) -> Result<(Format, Charset), String> {
    let ct = content_type.unwrap_or("application/json");
    let mut parts = ct.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("").to_ascii_lowercase();
    let mut charset = Charset::Detect;
    for p in parts {
        if let Some(cs) = p.to_ascii_lowercase().strip_prefix("charset=") {
            charset = match cs.trim_matches('"') {
                "utf-8" | "utf8" => Charset::Utf8,
                "gbk" | "gb2312" | "gb18030" | "cp936" => Charset::Gb18030,
                other => {
                    return Err(format!(
                        "charset '{other}' is not supported; use utf-8, gbk or gb18030"
                    ))
                }
            };
        }
    }
    let format = match mime.as_str() {
        "application/json" => Format::Json,
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonlines"
        | "application/jsonl" => Format::Ndjson,
        "text/csv" | "application/csv" => Format::Csv,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Format::Xlsx,
        other => {
            return Err(format!(
                "content type '{other}' is not a batch format; send one of: {ACCEPTED_TYPES}"
            ))
        }
    };
    if charset == Charset::Gb18030 && format != Format::Csv {
        return Err("only CSV may be sent in GBK/GB18030; JSON must be UTF-8".into());
    }
    Ok((format, charset))
}

/// Every row of a batch: read, or the reason it could not be read.
pub type Rows = Vec<Result<RawRow, RowError>>;

/// Why a body gave no rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not what it claims to be (not JSON, no header, an unreadable
    /// workbook): the sender must fix it. Row 0 means the body as a whole.
    #[error("row {}: {}", .0.row, .0.message)]
    Malformed(RowError),
    /// The body is over one of the caps of [`Limits`]: the sender must split it.
    #[error(transparent)]
    OverCap(#[from] OverCap),
    /// Stopped by its [`Cancel`] before the end: the server is shutting down.
    #[error("decoding the batch was stopped because the server is shutting down")]
    Cancelled,
}

impl From<RowError> for DecodeError {
    fn from(e: RowError) -> Self {
        DecodeError::Malformed(e)
    }
}

/// A flag that stops a long decode. The decoders look at it every
/// [`CHECK_EVERY`] rows (and every part of a workbook), so raising it stops a decode
/// within a few milliseconds and [`decode`] answers [`DecodeError::Cancelled`].
///
/// Clones share the flag: the server keeps one and raises it at shutdown, and each
/// decode gets a clone. [`Cancel::never`] is a flag no one can raise.
#[derive(Debug, Clone)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A flag, not raised, that [`Cancel::cancel`] on any clone raises.
    pub fn new() -> Cancel {
        Cancel(Some(Arc::new(AtomicBool::new(false))))
    }

    /// A flag that is never raised: for a decode that must run to its end.
    pub const fn never() -> Cancel {
        Cancel(None)
    }

    /// Raises the flag: every decode that holds a clone stops at its next check.
    pub fn cancel(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the flag has been raised.
    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    fn check(&self) -> Result<(), DecodeError> {
        if self.is_cancelled() {
            Err(DecodeError::Cancelled)
        } else {
            Ok(())
        }
    }
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

/// How many rows (or cells of a workbook) a decoder reads between two looks at its
/// [`Cancel`]: an atomic load is cheap, but not free on every row.
pub const CHECK_EVERY: usize = 4096;

/// Rows in one batch: a province's month (about 100,000 indicators at the largest
/// catalogue zhibiao is sized for) twice over.
pub const MAX_BATCH_ROWS: usize = 200_000;
/// Parts (files) in an XLSX zip. A workbook of one sheet has about ten.
pub const MAX_XLSX_PARTS: usize = 1_000;
/// Inflated bytes of one part of an XLSX workbook. A filled-in template of 100,000
/// indicators has a 35 MB sheet (5 MB zipped); the batch body cap (8 MiB) holds at most
/// about 160,000 such rows.
pub const MAX_XLSX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Inflated bytes of all the parts of an XLSX workbook together.
pub const MAX_XLSX_INFLATED_BYTES: u64 = 128 * 1024 * 1024;
/// Rows of the first sheet that hold a value: the header and [`MAX_BATCH_ROWS`].
pub const MAX_XLSX_ROWS: usize = MAX_BATCH_ROWS + 1;
/// Cells of the first sheet that hold a value: fifteen columns of [`MAX_BATCH_ROWS`]
/// (the template has twelve).
pub const MAX_XLSX_CELLS: usize = 3_000_000;
/// Entries of the shared-string table, which the reader holds in memory whole.
pub const MAX_XLSX_SHARED_STRINGS: usize = 1_000_000;
/// Records the reader holds in memory besides the shared strings: relationships,
/// sheets, defined names, number formats, fonts, fills, borders and cell formats.
/// Excel itself stops at 64,000 cell formats.
pub const MAX_XLSX_RECORDS: usize = 65_536;
/// Bytes of text kept from the cells of the first sheet, once shared strings are
/// expanded: one shared string may be named by every cell of a sheet.
pub const MAX_XLSX_CELL_TEXT_BYTES: u64 = 64 * 1024 * 1024;

/// The caps on decoding one batch. [`Limits::DEFAULT`] is what the server applies;
/// `docs/reliability.md` lists them with what a sender sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`Cap::BatchRows`]
    pub batch_rows: usize,
    /// [`Cap::XlsxParts`]
    pub xlsx_parts: usize,
    /// [`Cap::XlsxPartBytes`]
    pub xlsx_part_bytes: u64,
    /// [`Cap::XlsxInflatedBytes`]
    pub xlsx_inflated_bytes: u64,
    /// [`Cap::XlsxRows`]
    pub xlsx_rows: usize,
    /// [`Cap::XlsxCells`]
    pub xlsx_cells: usize,
    /// [`Cap::XlsxSharedStrings`]
    pub xlsx_shared_strings: usize,
    /// [`Cap::XlsxRecords`]
    pub xlsx_records: usize,
    /// [`Cap::XlsxCellText`]
    pub xlsx_cell_text_bytes: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        batch_rows: MAX_BATCH_ROWS,
        xlsx_parts: MAX_XLSX_PARTS,
        xlsx_part_bytes: MAX_XLSX_PART_BYTES,
        xlsx_inflated_bytes: MAX_XLSX_INFLATED_BYTES,
        xlsx_rows: MAX_XLSX_ROWS,
        xlsx_cells: MAX_XLSX_CELLS,
        xlsx_shared_strings: MAX_XLSX_SHARED_STRINGS,
        xlsx_records: MAX_XLSX_RECORDS,
        xlsx_cell_text_bytes: MAX_XLSX_CELL_TEXT_BYTES,
    };

    /// Refuses a batch that already holds `batch_rows` rows and has one more.
    fn admit(&self, rows: &Rows) -> Result<(), DecodeError> {
        if rows.len() < self.batch_rows {
            return Ok(());
        }
        Err(OverCap::new(
            Cap::BatchRows,
            self.batch_rows as u64,
            format!(
                "the batch has more than {} rows (cap {}); send it in several batches",
                self.batch_rows,
                Cap::BatchRows.name()
            ),
        )
        .into())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Decodes a body into rows under [`Limits::DEFAULT`]. A body-level problem (not JSON
/// at all, no header, an unreadable workbook) is a single error; a row that cannot be
/// read is an `Err` in its place, so that every bad row can be listed.
///
/// The work is linear in the body (for XLSX, in the inflated bytes the caps allow) and
/// stops at the first cap passed or when `cancel` is raised.
pub fn decode(
    format: Format,
    charset: Charset,
    body: &[u8],
    cancel: &Cancel,
) -> Result<Rows, DecodeError> {
    decode_with(format, charset, body, &Limits::DEFAULT, cancel)
}

/// [`decode`] under other caps.
pub fn decode_with(
    format: Format,
    charset: Charset,
    body: &[u8],
    limits: &Limits,
    cancel: &Cancel,
) -> Result<Rows, DecodeError> {
    cancel.check()?;
    match format {
        Format::Json => decode_json(body, limits, cancel),
        Format::Ndjson => decode_ndjson(body, limits, cancel),
        Format::Csv => decode_csv(&to_text(body, charset)?, limits, cancel),
        Format::Xlsx => xlsx::decode(body, limits, cancel),
    }
}

/// Decodes CSV bytes to text: UTF-8 (BOM stripped) or GB18030.
pub fn to_text(body: &[u8], charset: Charset) -> Result<String, RowError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let gb = |b: &[u8]| {
        let (text, _, had_errors) = encoding_rs::GB18030.decode(b);
        if had_errors {
            Err(RowError::said(
                0,
                "body",
                crate::domain::messages::Msg::new(
                    "CSV 文件既不是 UTF-8 也不是 GBK/GB18030 编码：请在 Excel 中另存为“CSV UTF-8”或直接上传 .xlsx",
                    "the CSV is neither valid UTF-8 nor valid GBK/GB18030",
                ),
            ))
        } else {
            Ok(text.into_owned())
        }
    };
    match charset {
        Charset::Gb18030 => gb(body),
        Charset::Utf8 => std::str::from_utf8(body).map(str::to_string).map_err(|e| {
            RowError::new(0, "body", format!("the CSV is declared UTF-8 but is not valid UTF-8 ({e}); send charset=gbk for a GBK export"))
        }),
        Charset::Detect => match std::str::from_utf8(body) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => gb(body),
        },
    }
}

fn json_row(row: usize, v: &serde_json::Value) -> Result<RawRow, RowError> {
    let obj = v
        .as_object()
        .ok_or_else(|| RowError::new(row, "row", "each row must be a JSON object"))?;
    for k in obj.keys() {
        if ![
            "indicator",
            "period",
            "value",
            "status",
            "note",
            "explanation",
            "region",
        ]
        .contains(&k.as_str())
        {
            return Err(RowError::new(
                row,
                k.clone(),
                format!("unknown field '{k}' (expected indicator, period, value, status, note, explanation, region)"),
            ));
        }
    }
    let text = |field: &str, required: bool| -> Result<Option<String>, RowError> {
        match obj.get(field) {
            None | Some(serde_json::Value::Null) if required => {
                Err(RowError::new(row, field, format!("{field} is required")))
            }
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(RowError::new(
                row,
                field,
                format!("{field} must be a string, not {other}"),
            )),
        }
    };
    let value = match obj.get("value") {
        None | Some(serde_json::Value::Null) => RawValue::Missing,
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) => RawValue::Number(f),
            None => RawValue::Text(n.to_string()),
        },
        Some(serde_json::Value::String(s)) => RawValue::Text(s.clone()),
        Some(other) => RawValue::Text(other.to_string()),
    };
    Ok(RawRow {
        row,
        indicator: text("indicator", true)?.unwrap_or_default(),
        period: text("period", true)?.unwrap_or_default(),
        value,
        status: text("status", false)?,
        note: text("note", false)?,
        explanation: text("explanation", false)?,
        region: text("region", false)?,
        json: true,
    })
}

fn json_syntax(row: usize, e: serde_json::Error) -> RowError {
    let msg = e.to_string();
    if msg.contains("number out of range") {
        RowError::new(
            row,
            "value",
            format!("value is not a finite number ({msg})"),
        )
    } else {
        RowError::new(row, "body", format!("malformed JSON: {msg}"))
    }
}

/// Reads a JSON array element by element, so that the row cap and the cancel flag
/// are looked at as it goes rather than after the whole body is a tree in memory.
struct JsonRows<'a> {
    limits: &'a Limits,
    cancel: &'a Cancel,
    /// Why the visitor stopped, when it was a cap or the cancel flag.
    stopped: &'a mut Option<DecodeError>,
}

impl<'de> Visitor<'de> for JsonRows<'_> {
    /// `None`: valid JSON, but not an array.
    type Value = Option<Rows>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::new();
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            let gate = if rows.len() % CHECK_EVERY == 0 {
                self.cancel.check()
            } else {
                Ok(())
            };
            if let Err(e) = gate.and_then(|()| self.limits.admit(&rows)) {
                *self.stopped = Some(e);
                return Err(de::Error::custom("stopped"));
            }
            rows.push(json_row(rows.len() + 1, &item));
        }
        Ok(Some(rows))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn decode_json(body: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Rows, DecodeError> {
    use serde::Deserializer as _;
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let read = (&mut de)
        .deserialize_any(JsonRows {
            limits,
            cancel,
            stopped: &mut stopped,
        })
        .and_then(|rows| de.end().map(|()| rows));
    if let Some(e) = stopped {
        return Err(e);
    }
    match read {
        Ok(Some(rows)) => Ok(rows),
        Ok(None) => Err(RowError::new(
            0,
            "body",
            "the body must be a JSON array of {indicator, period, value} objects",
        )
        .into()),
        Err(e) => Err(json_syntax(0, e).into()),
    }
}

fn decode_ndjson(body: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Rows, DecodeError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| RowError::new(0, "body", format!("NDJSON must be UTF-8 ({e})")))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        if line.trim().is_empty() {
            continue;
        }
        limits.admit(&rows)?;
        rows.push(
            serde_json::from_str::<serde_json::Value>(line)
                .map_err(|e| json_syntax(i + 1, e))
                .and_then(|v| json_row(i + 1, &v)),
        );
    }
    Ok(rows)
}

/// A column a batch reads, as [`column_of`] recognises its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The indicator's id (指标代码), or its name when the sheet has one column for both.
    Indicator,
    /// The indicator's Chinese name (指标名称): used where the id column is absent or
    /// empty.
    Name,
    Period,
    Value,
    Status,
    Note,
    Explanation,
    /// 地区: the region whose indicators the names are looked up among.
    Region,
}

/// A header as a sheet writes it, reduced to the name [`column_of`] compares: without
/// a BOM, surrounding spaces (full-width ones too) or a trailing unit in brackets
/// ("数值（亿元）", "本年累计(万元)"), lower-cased.
fn header_key(header: &str) -> String {
    let mut h = header
        .trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c.is_whitespace())
        .to_string();
    for (open, close) in [('（', '）'), ('(', ')')] {
        if h.ends_with(close) {
            if let Some(at) = h.rfind(open) {
                if at > 0 {
                    h.truncate(at);
                    h = h.trim_matches(|c: char| c.is_whitespace()).to_string();
                }
            }
        }
    }
    h.to_lowercase()
}

/// Which column a header names, in English or as a statistics office writes it.
/// Other columns (the template's name, unit, target, last value) are ignored.
pub fn column_of(header: &str) -> Option<Column> {
    Some(match header_key(header).as_str() {
        "indicator" | "id" | "indicator_id" | "指标" | "指标代码" | "指标编码" | "指标id" => {
            Column::Indicator
        }
        "指标名称" => Column::Name,
        "period" | "time_period" | "时期" | "期别" | "月份" | "报告期" | "统计期" => {
            Column::Period
        }
        "value" | "obs_value" | "数值" | "本期数" | "本期值" | "本期累计" | "本年累计"
        | "累计值" | "本月止累计" | "填报值" => Column::Value,
        "status" | "obs_status" | "状态" | "数据状态" => Column::Status,
        "note" | "备注" => Column::Note,
        "explanation" | "说明" | "情况说明" | "上报说明" | "强制上报说明" | "异常说明" => {
            Column::Explanation
        }
        "region" | "地区" => Column::Region,
        _ => return None,
    })
}

/// Where each field sits in a sheet's rows. A sheet needs an indicator column, a name
/// column or both.
struct Columns {
    indicator: Option<usize>,
    name: Option<usize>,
    period: usize,
    value: usize,
    status: Option<usize>,
    note: Option<usize>,
    explanation: Option<usize>,
    region: Option<usize>,
}

fn columns(header: &[String]) -> Result<Columns, RowError> {
    let find = |c: Column| header.iter().position(|h| column_of(h) == Some(c));
    let missing = |name: &str| {
        let zh = match name {
            "indicator" => "指标编码或指标名称",
            "period" => "报告期",
            _ => "本期数",
        };
        RowError::said(
            1,
            name,
            crate::domain::messages::Msg::new(
                format!(
                    "表头中没有“{zh}”列：第一行应有 指标编码（或指标名称）、报告期、本期数 三列，可另加 数据状态、备注、强制上报说明、地区；读到的表头是：{}",
                    header.join("，")
                ),
                format!(
                    "the header has no '{name}' column (expected indicator or 指标名称, period, value[, status, note, explanation, region]; found {})",
                    header.join(",")
                ),
            ),
        )
    };
    let (indicator, name) = (find(Column::Indicator), find(Column::Name));
    if indicator.is_none() && name.is_none() {
        return Err(missing("indicator"));
    }
    Ok(Columns {
        indicator,
        name,
        period: find(Column::Period).ok_or_else(|| missing("period"))?,
        value: find(Column::Value).ok_or_else(|| missing("value"))?,
        status: find(Column::Status),
        note: find(Column::Note),
        explanation: find(Column::Explanation),
        region: find(Column::Region),
    })
}

/// The row of a spreadsheet line whose cell `i` is `cell(i)` ("" when absent), or
/// `None` for a blank line.
fn cell_row<'a>(row: usize, cols: &Columns, cell: impl Fn(usize) -> &'a str) -> Option<RawRow> {
    let get = |i: usize| cell(i).trim().to_string();
    let opt = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty());
    // The id where the sheet gives one, else the name.
    let indicator = opt(cols.indicator)
        .or_else(|| opt(cols.name))
        .unwrap_or_default();
    let period = get(cols.period);
    let value = get(cols.value);
    if indicator.is_empty() && period.is_empty() && value.is_empty() {
        return None; // a blank line
    }
    Some(RawRow {
        row,
        indicator,
        period,
        value: if value.is_empty() {
            RawValue::Missing
        } else {
            RawValue::Text(value)
        },
        status: opt(cols.status),
        note: opt(cols.note),
        explanation: opt(cols.explanation),
        region: opt(cols.region),
        json: false,
    })
}

/// The 1-based line each CSV record starts on, counted as the records come: the
/// reader's positions only grow, so every byte of the text is looked at once.
///
/// Line breaks are those the csv reader sees: "\r\n", "\n" or a lone "\r", inside
/// quoted fields too (the line a text editor shows, which is the spreadsheet row
/// unless a cell holds a line break).
struct Lines<'a> {
    text: &'a [u8],
    /// Bytes before this have been counted...
    counted: usize,
    /// ...and hold this many line breaks.
    breaks: usize,
    /// How many times a byte was looked at, for the test that this stays linear.
    looked_at: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text: text.as_bytes(),
            counted: 0,
            breaks: 0,
            looked_at: 0,
        }
    }

    fn is_break(&self, i: usize) -> bool {
        match self.text[i] {
            b'\n' => true,
            b'\r' => self.text.get(i + 1) != Some(&b'\n'),
            _ => false,
        }
    }

    /// The line of the record the reader placed at `byte`. That position points
    /// before any empty lines the reader skipped, so those are stepped over first.
    fn of_record(&mut self, byte: usize) -> usize {
        let bytes = self.text;
        let mut start = byte.min(bytes.len());
        while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
            start += 1;
        }
        self.looked_at += start.saturating_sub(byte) + start.saturating_sub(self.counted);
        if start < self.counted {
            // Positions never go back; if one did, count again from the start.
            self.counted = 0;
            self.breaks = 0;
        }
        self.breaks += (self.counted..start).filter(|&i| self.is_break(i)).count();
        self.counted = start;
        1 + self.breaks
    }
}

fn decode_csv(text: &str, limits: &Limits, cancel: &Cancel) -> Result<Rows, DecodeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let header: Vec<String> = match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_string).collect(),
        Err(e) => {
            return Err(RowError::said(
                1,
                "body",
                crate::domain::messages::Msg::new(
                    format!("CSV 表头无法读取：{e}"),
                    format!("bad CSV header: {e}"),
                ),
            )
            .into())
        }
        Ok(false) => {
            return Err(RowError::said(
                0,
                "body",
                crate::domain::messages::Msg::new(
                    "CSV 文件是空的：第一行应是表头 指标编码,报告期,本期数",
                    "the CSV is empty; it needs a header indicator,period,value",
                ),
            )
            .into())
        }
    };
    let cols = columns(&header)?;
    let mut lines = Lines::new(text);
    let mut rows = Vec::new();
    for i in 0.. {
        if i % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let row = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                // The record's own line, so that rows after an empty line keep the
                // number the spreadsheet shows.
                let row = record
                    .position()
                    .map_or(i + 2, |p| lines.of_record(p.byte() as usize));
                cell_row(row, &cols, |c| record.get(c).unwrap_or("")).map(Ok)
            }
            Err(e) => Some(Err(RowError::new(i + 2, "row", format!("bad CSV: {e}")))),
        };
        if let Some(row) = row {
            limits.admit(&rows)?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Formats a number without a trailing `.0` for whole values.
pub fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod plan_tests;

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Found by fuzzing: lines ended by a lone carriage return were not counted, so
    /// rows after them repeated an earlier row number.
    #[test]
    fn rows_after_lone_carriage_returns_keep_their_own_numbers() {
        let data = b"indicator,period,value\rgdp-growth,2023-01,1\rgdp-growth,2023-02,2\r\ncpi,2023-03,3\n";
        let rows = decode(Format::Csv, Charset::Detect, data, &Cancel::never()).unwrap();
        let numbers: Vec<usize> = rows.iter().map(|r| r.as_ref().unwrap().row).collect();
        assert_eq!(numbers, [2, 3, 4]);
    }
}
