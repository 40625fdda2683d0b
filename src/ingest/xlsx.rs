//! Reading a batch from the first sheet of an XLSX workbook, one cell at a time.
//!
//! calamine's `worksheet_range` builds a dense grid spanning every cell it reads: one
//! cell at A1 and one at XFD1048576 make seventeen billion. So the sheet is read here
//! through calamine's streaming cell reader instead, in sheet order, and of each row
//! only the cells of the columns a batch reads are kept. Before calamine opens the
//! workbook at all, [`super::xlsx_scan`] has bounded what it will hold (the parts'
//! inflated bytes, the shared strings, the styles and relationships); the rows, cells
//! and kept text are bounded here as they stream.
//!
//! Row numbers are the spreadsheet's: the header is the first row that holds a value,
//! and every later row keeps its own number, blank rows between included.
//!
//! A person who types `7.2%` into Excel gets a cell that *holds* 0.072 and *shows*
//! 7.2%. calamine returns the held number, so a value cell whose number format is a
//! percentage is multiplied by 100 here: otherwise a rate would be stored a hundred
//! times too small.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError};

use super::{
    cell_row, columns, format_number, xlsx_scan, Cancel, Columns, DecodeError, Limits, RawValue,
    RowError, Rows, CHECK_EVERY,
};
use crate::limits::{Cap, OverCap};

/// Excel's grid: 1,048,576 rows and 16,384 columns (A to XFD).
pub(super) const MAX_ROWS: u32 = 1_048_576;
pub(super) const MAX_COLS: u32 = 16_384;

pub(super) fn decode(body: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Rows, DecodeError> {
    xlsx_scan::scan(body, limits, cancel, &mut xlsx_scan::Meter::default())?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(body)).map_err(|e| {
        said(
            format!("不是可读的 Excel 工作簿（.xlsx）：{e}"),
            format!("not a readable XLSX workbook: {e}"),
        )
    })?;
    let Some(name) = wb.sheet_names().first().cloned() else {
        return Err(said(
            "工作簿里没有工作表".into(),
            "the workbook has no sheet".into(),
        ));
    };
    let cannot = |e: XlsxError| {
        said(
            format!("无法读取第一个工作表：{e}"),
            format!("cannot read the first sheet: {e}"),
        )
    };
    let empty = || {
        said(
            "第一个工作表是空的：数据应填在工作簿的第一个工作表".into(),
            "the first sheet is empty".into(),
        )
    };
    let mut reader = match wb.worksheet_cells_reader(&name) {
        Ok(r) => r,
        Err(XlsxError::NotAWorksheet(_)) => return Err(empty()),
        Err(e) => return Err(cannot(e)),
    };
    // Which cell formats show a percentage, by style index.
    let percent: Vec<bool> = reader
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .is_some_and(|f| is_percent_code(&f.format_code))
        })
        .collect();
    let mut sheet = Sheet::new(limits);
    let mut cells = 0usize;
    while let Some((cell, style)) = reader.next_cell_with_style_id().map_err(cannot)? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        cells += 1;
        if cells > limits.xlsx_cells {
            return Err(over(
                Cap::XlsxCells,
                limits.xlsx_cells as u64,
                format!(
                    "the first sheet has more than {} cells with a value (cap {})",
                    limits.xlsx_cells,
                    Cap::XlsxCells.name()
                ),
            ));
        }
        if cells % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        let percent = percent.get(style).copied().unwrap_or(false);
        sheet.cell(cell.get_position(), cell.get_value(), percent)?;
    }
    sheet.finish()
}

fn body_error(message: impl Into<String>) -> DecodeError {
    RowError::new(0, "body", message).into()
}

/// A body-level error of the batch's workbook, in both languages.
fn said(zh: String, en: String) -> DecodeError {
    RowError::said(0, "body", crate::domain::messages::Msg::new(zh, en)).into()
}

fn over(cap: Cap, limit: u64, detail: String) -> DecodeError {
    OverCap::new(cap, limit, detail).into()
}

/// Whether an Excel number format shows a percentage (a `%` outside quotes).
pub(super) fn is_percent_code(code: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in code.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// What a cell shows, and its number when it holds one.
fn shown(value: &DataRef<'_>) -> (String, Option<f64>) {
    let data = Data::from(value.clone());
    let number = match data {
        Data::Float(f) => Some(f),
        Data::Int(n) => Some(n as f64),
        _ => None,
    };
    let text = match data {
        Data::Empty => String::new(),
        Data::Float(f) => format_number(f),
        Data::Int(i) => i.to_string(),
        Data::String(s) => s,
        Data::Bool(b) => b.to_string(),
        // A date-typed cell (a period typed as 2023/6/30) reads as the date it shows,
        // not as the serial number Excel keeps.
        Data::DateTime(d) if d.is_datetime() => date_text(d.as_f64()),
        other => other.to_string(),
    };
    (text, number)
}

/// What a date-typed cell shows: `2023-06-30`, with the time where it has one.
fn date_text(serial: f64) -> String {
    match crate::domain::excel_date(serial) {
        Some(day) if serial.fract() == 0.0 => day.format("%Y-%m-%d").to_string(),
        Some(day) => {
            let secs = (serial.fract() * 86_400.0).round() as u32;
            format!(
                "{} {:02}:{:02}",
                day.format("%Y-%m-%d"),
                secs / 3600,
                secs % 3600 / 60
            )
        }
        None => format_number(serial),
    }
}

/// A held number scaled to what a percent-formatted cell shows: 0.072 is 7.2.
fn as_shown_percent(v: f64) -> f64 {
    // 0.072 × 100 is 7.199999999999999 in binary; the cell showed 7.2.
    (v * 100.0 * 1e9).round() / 1e9
}

/// The fields a batch reads, in the order of the slots a data row keeps.
const FIELDS: usize = 8;

/// Where each field sits among a kept row's slots.
const SLOTS: Columns = Columns {
    indicator: Some(0),
    name: Some(1),
    period: 2,
    value: 3,
    status: Some(4),
    note: Some(5),
    explanation: Some(6),
    region: Some(7),
};

/// A kept cell: what it shows, and its number when it holds one.
#[derive(Debug, Default)]
struct Kept {
    text: String,
    number: Option<f64>,
}

/// The sheet as it streams: the header row, then one data row at a time.
struct Sheet<'l> {
    limits: &'l Limits,
    /// The header row's cells by column, until the row ends.
    header: BTreeMap<u32, String>,
    /// The sheet column of each field (`None`: not in the header), once the header
    /// row has ended.
    fields: Option<[Option<u32>; FIELDS]>,
    /// The zero-based row being read, and how many rows with a value came before.
    row: Option<u32>,
    rows_read: usize,
    /// The current data row's cells of the fields' columns.
    kept: [Kept; FIELDS],
    /// Bytes of text kept so far.
    text: u64,
    rows: Rows,
}

impl<'l> Sheet<'l> {
    fn new(limits: &'l Limits) -> Sheet<'l> {
        Sheet {
            limits,
            header: BTreeMap::new(),
            fields: None,
            row: None,
            rows_read: 0,
            kept: Default::default(),
            text: 0,
            rows: Vec::new(),
        }
    }

    fn cell(
        &mut self,
        (row, col): (u32, u32),
        value: &DataRef<'_>,
        percent: bool,
    ) -> Result<(), DecodeError> {
        if row >= MAX_ROWS || col >= MAX_COLS {
            return Err(body_error(format!(
                "the first sheet has a cell at row {}, column {}, outside a worksheet",
                u64::from(row) + 1,
                u64::from(col) + 1
            )));
        }
        match self.row {
            Some(current) if row < current => {
                return Err(body_error(format!(
                    "the first sheet's rows are out of order: row {} comes after row {}",
                    u64::from(row) + 1,
                    u64::from(current) + 1
                )))
            }
            Some(current) if row == current => {}
            _ => {
                self.end_row()?;
                self.row = Some(row);
                self.rows_read += 1;
                if self.rows_read > self.limits.xlsx_rows {
                    return Err(over(
                        Cap::XlsxRows,
                        self.limits.xlsx_rows as u64,
                        format!(
                            "the first sheet has more than {} rows with a value (cap {}); send it in several batches",
                            self.limits.xlsx_rows,
                            Cap::XlsxRows.name()
                        ),
                    ));
                }
            }
        }
        match &self.fields {
            None => {
                let text = self.keep(value)?.text;
                self.header.insert(col, text);
            }
            Some(fields) => {
                if let Some(slot) = fields.iter().position(|&c| c == Some(col)) {
                    let mut kept = self.keep(value)?;
                    if percent {
                        kept.number = kept.number.map(as_shown_percent);
                    }
                    self.kept[slot] = kept;
                }
            }
        }
        Ok(())
    }

    /// What a cell shows, counted against the cap on kept text.
    fn keep(&mut self, value: &DataRef<'_>) -> Result<Kept, DecodeError> {
        let (text, number) = shown(value);
        self.text += text.len() as u64;
        if self.text > self.limits.xlsx_cell_text_bytes {
            return Err(over(
                Cap::XlsxCellText,
                self.limits.xlsx_cell_text_bytes,
                format!(
                    "the cells of the first sheet hold more than {} bytes of text (cap {})",
                    self.limits.xlsx_cell_text_bytes,
                    Cap::XlsxCellText.name()
                ),
            ));
        }
        Ok(Kept { text, number })
    }

    /// Ends the row being read: the header's columns are found, or a data row is
    /// added to the batch.
    fn end_row(&mut self) -> Result<(), DecodeError> {
        let Some(row) = self.row else {
            return Ok(());
        };
        if self.fields.is_none() {
            // The header: its cells from its first column on, as the sheet shows them.
            let first = self.header.keys().next().copied().unwrap_or(0);
            let last = self.header.keys().next_back().copied().unwrap_or(0);
            let mut names = vec![String::new(); (last - first) as usize + 1];
            for (col, name) in std::mem::take(&mut self.header) {
                names[(col - first) as usize] = name;
            }
            let cols = columns(&names)?;
            let at = |i: usize| Some(first + i as u32);
            self.fields = Some([
                cols.indicator.and_then(at),
                cols.name.and_then(at),
                at(cols.period),
                at(cols.value),
                cols.status.and_then(at),
                cols.note.and_then(at),
                cols.explanation.and_then(at),
                cols.region.and_then(at),
            ]);
            return Ok(());
        }
        let kept = std::mem::take(&mut self.kept);
        if let Some(mut raw) = cell_row(row as usize + 1, &SLOTS, |i| kept[i].text.as_str()) {
            if let Some(f) = kept[SLOTS.value].number {
                raw.value = RawValue::Number(f);
            }
            self.limits.admit(&self.rows)?;
            self.rows.push(Ok(raw));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Rows, DecodeError> {
        if self.row.is_none() {
            return Err(said(
                "第一个工作表是空的：数据应填在工作簿的第一个工作表".into(),
                "the first sheet is empty".into(),
            ));
        }
        self.end_row()?;
        Ok(self.rows)
    }
}

// ── Whole workbooks: a named sheet, row by row ───────────────────────────

/// A cell of a row read by [`Book::rows`]: its zero-based column, what it shows and,
/// when it holds one, its number. A percent-formatted cell's number (and text) is
/// what it shows: 7.2, not 0.072.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Cell {
    pub col: u32,
    pub text: String,
    pub number: Option<f64>,
}

/// A workbook whose parts have passed [`xlsx_scan`], opened for reading any of its
/// sheets. The caps on rows, cells and kept text are shared by every sheet read from
/// it, so reading two sheets costs no more than one sheet of both sizes.
pub(super) struct Book<'a> {
    wb: Xlsx<Cursor<&'a [u8]>>,
    limits: &'a Limits,
    cancel: &'a Cancel,
    rows: usize,
    cells: usize,
    text: u64,
}

impl std::fmt::Debug for Book<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("sheets", &self.wb.sheet_names())
            .finish_non_exhaustive()
    }
}

/// Scans `body` under `limits` and opens it.
pub(super) fn open<'a>(
    body: &'a [u8],
    limits: &'a Limits,
    cancel: &'a Cancel,
) -> Result<Book<'a>, DecodeError> {
    xlsx_scan::scan(body, limits, cancel, &mut xlsx_scan::Meter::default())?;
    let wb: Xlsx<_> = Xlsx::new(Cursor::new(body))
        .map_err(|e| body_error(format!("不是可读的 XLSX 工作簿：{e}")))?;
    Ok(Book {
        wb,
        limits,
        cancel,
        rows: 0,
        cells: 0,
        text: 0,
    })
}

impl Book<'_> {
    /// The names of the workbook's sheets, in the workbook's order.
    pub fn sheet_names(&self) -> Vec<String> {
        self.wb.sheet_names()
    }

    /// Reads the sheet `name`, handing `on_row` each row that holds a value: its
    /// 1-based spreadsheet number and its cells with a value, by column. A sheet
    /// without a cell (or a chart sheet) gives no rows.
    pub fn rows(
        &mut self,
        name: &str,
        mut on_row: impl FnMut(usize, Vec<Cell>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let cannot = |e: XlsxError| body_error(format!("无法读取工作表“{name}”：{e}"));
        let mut reader = match self.wb.worksheet_cells_reader(name) {
            Ok(r) => r,
            Err(XlsxError::NotAWorksheet(_)) => return Ok(()),
            Err(e) => return Err(cannot(e)),
        };
        let percent: Vec<bool> = reader
            .styles()
            .iter()
            .map(|s| {
                s.number_format
                    .as_ref()
                    .is_some_and(|f| is_percent_code(&f.format_code))
            })
            .collect();
        let limits = self.limits;
        let mut current: Option<(u32, Vec<Cell>)> = None;
        while let Some((cell, style)) = reader.next_cell_with_style_id().map_err(cannot)? {
            let value = cell.get_value();
            if matches!(value, DataRef::Empty) {
                continue;
            }
            let (row, col) = cell.get_position();
            if row >= MAX_ROWS || col >= MAX_COLS {
                return Err(body_error(format!(
                    "工作表“{name}”在第{}行第{}列有单元格，超出了工作表的范围",
                    u64::from(row) + 1,
                    u64::from(col) + 1
                )));
            }
            self.cells += 1;
            if self.cells > limits.xlsx_cells {
                return Err(over(
                    Cap::XlsxCells,
                    limits.xlsx_cells as u64,
                    format!(
                        "工作簿读取的工作表中有值的单元格超过 {} 个（上限 {}）",
                        limits.xlsx_cells,
                        Cap::XlsxCells.name()
                    ),
                ));
            }
            if self.cells % CHECK_EVERY == 0 {
                self.cancel.check()?;
            }
            let (mut text, mut number) = shown(value);
            if percent.get(style).copied().unwrap_or(false) {
                if let Some(v) = number {
                    let v = as_shown_percent(v);
                    number = Some(v);
                    text = format!("{}%", format_number(v));
                }
            }
            self.text += text.len() as u64;
            if self.text > limits.xlsx_cell_text_bytes {
                return Err(over(
                    Cap::XlsxCellText,
                    limits.xlsx_cell_text_bytes,
                    format!(
                        "工作簿读取的工作表中单元格文字超过 {} 字节（上限 {}）",
                        limits.xlsx_cell_text_bytes,
                        Cap::XlsxCellText.name()
                    ),
                ));
            }
            let cell = Cell { col, text, number };
            match &mut current {
                Some((r, cells)) if *r == row => {
                    cells.push(cell);
                    continue;
                }
                Some((r, _)) if row < *r => {
                    return Err(body_error(format!(
                        "工作表“{name}”的行次序颠倒：第{}行在第{}行之后",
                        u64::from(row) + 1,
                        u64::from(*r) + 1
                    )))
                }
                _ => {}
            }
            if let Some((r, cells)) = current.replace((row, vec![cell])) {
                on_row(r as usize + 1, sorted(cells))?;
            }
            self.rows += 1;
            if self.rows > limits.xlsx_rows {
                return Err(over(
                    Cap::XlsxRows,
                    limits.xlsx_rows as u64,
                    format!(
                        "工作簿读取的工作表中有值的行超过 {} 行（上限 {}）",
                        limits.xlsx_rows,
                        Cap::XlsxRows.name()
                    ),
                ));
            }
        }
        if let Some((r, cells)) = current {
            on_row(r as usize + 1, sorted(cells))?;
        }
        Ok(())
    }
}

/// A row's cells by column (the sheet's order, unless it was written out of order).
fn sorted(mut cells: Vec<Cell>) -> Vec<Cell> {
    cells.sort_by_key(|c| c.col);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_codes() {
        assert!(is_percent_code("0.0%"));
        assert!(is_percent_code("0%"));
        assert!(!is_percent_code("0.00\\%"));
        assert!(!is_percent_code("\"%\"0.0"));
    }
}
