//! The monthly submission workbook (`GET /v1/templates/readings.xlsx`).
//!
//! Its header uses the same column names that [`super::decode`] reads, so a filled-in
//! copy posts straight back. Columns other than indicator, period, value, status and
//! note are there for the person filling it in and are ignored on upload.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};

use crate::domain::Period;

/// One indicator's row in the template.
#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub indicator: String,
    pub name: String,
    pub unit: String,
    pub lead_units: String,
    pub target: String,
    pub last_period: String,
    pub last_value: Option<f64>,
}

/// The column headers, in order.
pub const HEADERS: [&str; 12] = [
    "indicator",
    "name",
    "unit",
    "lead_units",
    "target",
    "last_period",
    "last_value",
    "period",
    "value",
    "status",
    "note",
    // 强制上报说明, for a figure that fails a quality check.
    "explanation",
];

/// Builds the workbook for `period`.
pub fn workbook(
    rows: &[TemplateRow],
    period: Period,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name(format!("{period}"))?;
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7));
    let fill = Format::new()
        .set_background_color(Color::RGB(0xFFF2CC))
        .set_border(FormatBorder::Thin);
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let widths = [
        34.0, 36.0, 8.0, 22.0, 14.0, 12.0, 12.0, 10.0, 12.0, 10.0, 30.0, 30.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, *w)?;
    }
    let period_text = period.to_string();
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        sheet.write_string(row, 0, &r.indicator)?;
        sheet.write_string(row, 1, &r.name)?;
        sheet.write_string(row, 2, &r.unit)?;
        sheet.write_string(row, 3, &r.lead_units)?;
        sheet.write_string(row, 4, &r.target)?;
        sheet.write_string(row, 5, &r.last_period)?;
        if let Some(v) = r.last_value {
            sheet.write_number(row, 6, v)?;
        }
        sheet.write_string(row, 7, &period_text)?;
        sheet.write_blank(row, 8, &fill)?;
    }
    sheet.set_freeze_panes(1, 2)?;
    wb.save_to_buffer()
}
