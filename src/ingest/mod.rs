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

pub mod template;
mod xlsx_styles;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

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
}

impl RowError {
    pub fn new(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            row,
            field: field.into(),
            message: message.into(),
            check: None,
        }
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

/// Decodes a body into rows. A body-level problem (not JSON at all, no header, an
/// unreadable workbook) is a single error; a row that cannot be read is an `Err` in
/// its place, so that every bad row can be listed.
pub fn decode(format: Format, charset: Charset, body: &[u8]) -> Result<Rows, RowError> {
    match format {
        Format::Json => decode_json(body),
        Format::Ndjson => decode_ndjson(body),
        Format::Csv => decode_csv(&to_text(body, charset)?),
        Format::Xlsx => decode_xlsx(body),
    }
}

/// Decodes CSV bytes to text: UTF-8 (BOM stripped) or GB18030.
pub fn to_text(body: &[u8], charset: Charset) -> Result<String, RowError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let gb = |b: &[u8]| {
        let (text, _, had_errors) = encoding_rs::GB18030.decode(b);
        if had_errors {
            Err(RowError::new(
                0,
                "body",
                "the CSV is neither valid UTF-8 nor valid GBK/GB18030",
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
        ]
        .contains(&k.as_str())
        {
            return Err(RowError::new(
                row,
                k.clone(),
                format!("unknown field '{k}' (expected indicator, period, value, status, note, explanation)"),
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

fn decode_json(body: &[u8]) -> Result<Rows, RowError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| json_syntax(0, e))?;
    let arr = v.as_array().ok_or_else(|| {
        RowError::new(
            0,
            "body",
            "the body must be a JSON array of {indicator, period, value} objects",
        )
    })?;
    Ok(arr
        .iter()
        .enumerate()
        .map(|(i, item)| json_row(i + 1, item))
        .collect())
}

fn decode_ndjson(body: &[u8]) -> Result<Rows, RowError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| RowError::new(0, "body", format!("NDJSON must be UTF-8 ({e})")))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str::<serde_json::Value>(line)
                .map_err(|e| json_syntax(i + 1, e))
                .and_then(|v| json_row(i + 1, &v))
        })
        .collect())
}

/// Header names accepted for each column, English and Chinese. Other columns (the
/// template's name, unit, target, last value) are ignored.
fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}').to_lowercase();
    Some(match h.as_str() {
        "indicator" | "id" | "indicator_id" | "指标" | "指标代码" | "指标id" => "indicator",
        "period" | "time_period" | "期别" | "时期" | "报告期" => "period",
        "value" | "obs_value" | "数值" | "本期累计" | "累计值" | "填报值" => "value",
        "status" | "obs_status" | "状态" | "数据状态" => "status",
        "note" | "备注" | "说明" => "note",
        "explanation" | "上报说明" | "强制上报说明" | "异常说明" => "explanation",
        _ => return None,
    })
}

struct Columns {
    indicator: usize,
    period: usize,
    value: usize,
    status: Option<usize>,
    note: Option<usize>,
    explanation: Option<usize>,
}

fn columns(header: &[String]) -> Result<Columns, RowError> {
    let find = |name: &str| header.iter().position(|h| column_of(h) == Some(name));
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            RowError::new(
                1,
                name,
                format!(
                    "the header has no '{name}' column (expected indicator,period,value[,status,note,explanation]; found {})",
                    header.join(",")
                ),
            )
        })
    };
    Ok(Columns {
        indicator: need("indicator")?,
        period: need("period")?,
        value: need("value")?,
        status: find("status"),
        note: find("note"),
        explanation: find("explanation"),
    })
}

fn cell_row(row: usize, cols: &Columns, cells: &[String]) -> Option<RawRow> {
    let get = |i: usize| {
        cells
            .get(i)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let opt = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty());
    let indicator = get(cols.indicator);
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
        json: false,
    })
}

/// The 1-based line a record starts on. The csv reader's position points before any
/// empty lines it skipped, so those are stepped over first.
fn line_of_record(text: &str, byte: usize) -> usize {
    let bytes = text.as_bytes();
    let mut start = byte.min(bytes.len());
    while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
        start += 1;
    }
    // Line breaks as the csv reader sees them: "\r\n", "\n" or a lone "\r".
    let breaks = bytes[..start]
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    1 + breaks
}

fn decode_csv(text: &str) -> Result<Rows, RowError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(str::to_string).collect(),
        Some(Err(e)) => return Err(RowError::new(1, "body", format!("bad CSV header: {e}"))),
        None => {
            return Err(RowError::new(
                0,
                "body",
                "the CSV is empty; it needs a header indicator,period,value",
            ))
        }
    };
    let cols = columns(&header)?;
    let mut rows = Vec::new();
    for (i, rec) in records.enumerate() {
        // The record's own line, so that rows after an empty line keep the number the
        // spreadsheet shows.
        let row = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i + 2, |p| line_of_record(text, p.byte() as usize));
        match rec {
            Err(e) => rows.push(Err(RowError::new(row, "row", format!("bad CSV: {e}")))),
            Ok(rec) => {
                let cells: Vec<String> = rec.iter().map(str::to_string).collect();
                if let Some(r) = cell_row(row, &cols, &cells) {
                    rows.push(Ok(r));
                }
            }
        }
    }
    Ok(rows)
}

fn decode_xlsx(body: &[u8]) -> Result<Rows, RowError> {
    use calamine::{Data, Reader, Xlsx};
    xlsx_styles::check_references(body)
        .map_err(|e| RowError::new(0, "body", format!("not a readable XLSX workbook: {e}")))?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(body))
        .map_err(|e| RowError::new(0, "body", format!("not a readable XLSX workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| RowError::new(0, "body", "the workbook has no sheet"))?
        .map_err(|e| RowError::new(0, "body", format!("cannot read the first sheet: {e}")))?;
    let (start_row, start_col) = range
        .start()
        .map_or((0, 0), |(r, c)| (r as usize, c as usize));
    let percent = xlsx_styles::percent_cells(body);
    let mut iter = range.rows();
    let cell_text = |c: &Data| -> String {
        match c {
            Data::Empty => String::new(),
            Data::Float(f) => format_number(*f),
            Data::Int(i) => i.to_string(),
            Data::String(s) => s.clone(),
            Data::Bool(b) => b.to_string(),
            other => other.to_string(),
        }
    };
    let header: Vec<String> = match iter.next() {
        Some(h) => h.iter().map(cell_text).collect(),
        None => return Err(RowError::new(0, "body", "the first sheet is empty")),
    };
    let cols = columns(&header)?;
    let mut rows = Vec::new();
    for (i, cells) in iter.enumerate() {
        let row = start_row + i + 2;
        let numeric = cells.get(cols.value).and_then(|c| match c {
            Data::Float(f) => Some(*f),
            Data::Int(n) => Some(*n as f64),
            _ => None,
        });
        // A cell formatted as a percentage shows 7.2% but holds 0.072: take what it shows.
        let cell = ((start_row + i + 1) as u32, (start_col + cols.value) as u32);
        let numeric = numeric.map(|v| {
            if percent.contains(&cell) {
                // 0.072 × 100 is 7.199999999999999 in binary; the cell showed 7.2.
                (v * 100.0 * 1e9).round() / 1e9
            } else {
                v
            }
        });
        let texts: Vec<String> = cells.iter().map(cell_text).collect();
        if let Some(mut r) = cell_row(row, &cols, &texts) {
            if let Some(f) = numeric {
                r.value = RawValue::Number(f);
            }
            rows.push(Ok(r));
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
mod fuzz_regressions {
    use super::*;

    /// Found by fuzzing: lines ended by a lone carriage return were not counted, so
    /// rows after them repeated an earlier row number.
    #[test]
    fn rows_after_lone_carriage_returns_keep_their_own_numbers() {
        let data = b"indicator,period,value\rgdp-growth,2023-01,1\rgdp-growth,2023-02,2\r\ncpi,2023-03,3\n";
        let rows = decode(Format::Csv, Charset::Detect, data).unwrap();
        let numbers: Vec<usize> = rows.iter().map(|r| r.as_ref().unwrap().row).collect();
        assert_eq!(numbers, [2, 3, 4]);
    }
}
