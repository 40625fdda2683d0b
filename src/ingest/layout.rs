//! Why a spreadsheet gave no figure: where its numbers are, when not in the value
//! column of the first sheet.
//!
//! A batch that stores nothing is refused (422) rather than answered 200 with
//! `created: 0`, and the refusal says why. The usual causes are seen in the workbook
//! itself: the month's figures typed into the 上期数 column beside 本期数, or onto a
//! second sheet while zhibiao reads the first. [`layout`] reads the body again, only
//! on that refusal's path and under the same caps, and reports both.

use super::{column_of, to_text, xlsx, Cancel, Charset, Format, Limits};
use crate::domain::messages::Msg;
use crate::domain::number::{parse_cell, Cell};

/// Where a spreadsheet's numbers are, apart from its value column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// The sheet read (the first), for XLSX.
    pub first_sheet: Option<String>,
    /// Headers of the columns of the sheet read, other than the value column and the
    /// ones naming the row, that hold a number below the header.
    pub number_columns: Vec<String>,
    /// Other sheets that hold numbers below their first row.
    pub other_sheets: Vec<String>,
}

fn is_number(text: &str) -> bool {
    matches!(parse_cell(text, "%"), Ok(Cell::Number(_)))
}

/// Whether a header names a column a batch does not read: the value and the columns
/// naming the row (whose numbers, such as a period typed as 202306, are not figures
/// out of place) are read.
fn unread(header: &str) -> bool {
    !header.trim().is_empty() && column_of(header).is_none()
}

/// Reads where the numbers of a CSV or XLSX body are; `None` for JSON or a body that
/// cannot be read (its own error has been reported already).
pub fn layout(format: Format, charset: Charset, body: &[u8], cancel: &Cancel) -> Option<Layout> {
    match format {
        Format::Csv => csv_layout(&to_text(body, charset).ok()?),
        Format::Xlsx => xlsx_layout(body, cancel),
        Format::Json | Format::Ndjson => None,
    }
}

fn csv_layout(text: &str) -> Option<Layout> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = records.next()?.ok()?.iter().map(str::to_string).collect();
    let mut found = vec![false; header.len()];
    for rec in records.flatten() {
        for (i, cell) in rec.iter().enumerate() {
            if i < found.len() && !found[i] && is_number(cell) {
                found[i] = true;
            }
        }
    }
    Some(Layout {
        first_sheet: None,
        number_columns: columns_with_numbers(&header, &found),
        other_sheets: Vec::new(),
    })
}

fn columns_with_numbers(header: &[String], found: &[bool]) -> Vec<String> {
    header
        .iter()
        .zip(found)
        .filter(|(h, f)| **f && unread(h))
        .map(|(h, _)| h.trim().to_string())
        .collect()
}

fn xlsx_layout(body: &[u8], cancel: &Cancel) -> Option<Layout> {
    let limits = Limits::DEFAULT;
    let mut book = xlsx::open(body, &limits, cancel).ok()?;
    let names = book.sheet_names();
    let (first, rest) = names.split_first()?;
    let mut header: Option<Vec<(u32, String)>> = None;
    let mut found: Vec<u32> = Vec::new();
    book.rows(first, |_, cells| {
        match &header {
            None => header = Some(cells.into_iter().map(|c| (c.col, c.text)).collect()),
            Some(_) => found.extend(
                cells
                    .iter()
                    .filter(|c| c.number.is_some() || is_number(&c.text))
                    .map(|c| c.col),
            ),
        }
        Ok(())
    })
    .ok()?;
    let header = header.unwrap_or_default();
    let number_columns = header
        .iter()
        .filter(|(col, h)| found.contains(col) && unread(h))
        .map(|(_, h)| h.trim().to_string())
        .collect();
    let mut other_sheets = Vec::new();
    for name in rest {
        let mut first_row = true;
        let mut numbers = false;
        let read = book.rows(name, |_, cells| {
            if !first_row {
                numbers |= cells
                    .iter()
                    .any(|c| c.number.is_some() || is_number(&c.text));
            }
            first_row = false;
            Ok(())
        });
        if read.is_ok() && numbers {
            other_sheets.push(name.clone());
        }
    }
    Some(Layout {
        first_sheet: Some(first.clone()),
        number_columns,
        other_sheets,
    })
}

/// Why a batch whose `rows` rows were all left out stored nothing, in both languages.
pub fn nothing_stored(rows: usize, layout: Option<&Layout>) -> Msg {
    let mut zh = format!(
        "本批数据没有写入任何内容：全部{rows}行的本期数都是空的（或写的是“—”“无”等空白标记）"
    );
    let mut en = format!(
        "nothing was stored: the value of every one of the {rows} rows is empty (or a blank mark such as — or 无)"
    );
    if let Some(l) = layout {
        if !l.number_columns.is_empty() {
            let cols = l.number_columns.join("、");
            zh.push_str(&format!(
                "。“{cols}”列里有数字：如果本期的数字填在了那里，请移到本期数（value）列"
            ));
            en.push_str(&format!(
                ". The column(s) {} hold numbers: if this period's figures were typed there, move them to the value (本期数) column",
                l.number_columns.join(", ")
            ));
        }
        if !l.other_sheets.is_empty() {
            let first = l.first_sheet.as_deref().unwrap_or("");
            let others = l.other_sheets.join("、");
            zh.push_str(&format!(
                "。只读取第一个工作表“{first}”，而工作表“{others}”里有数字：请把数据填在第一个工作表，或删去其余工作表后再上传"
            ));
            en.push_str(&format!(
                ". Only the first sheet ('{first}') is read, and the sheet(s) '{}' hold numbers: put the figures on the first sheet, or delete the other sheets and upload again",
                l.other_sheets.join("', '")
            ));
        }
    }
    Msg::new(zh, en)
}
