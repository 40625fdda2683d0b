//! The monthly submission workbook (`GET /v1/templates/readings.xlsx`).
//!
//! Its header is in Chinese, as the bureau's own forms are, and uses column names that
//! [`super::decode`] reads (指标编码, 报告期, 本期数, 数据状态, 备注, 强制上报说明), so
//! a filled-in copy posts straight back. The other columns (指标名称, 计量单位, 牵头单位,
//! 年度目标, 上期, 上期数) are there for the person filling it in; 指标名称 is read only
//! where 指标编码 is empty.

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
    "指标编码",
    "指标名称",
    "计量单位",
    "牵头单位",
    "年度目标",
    "上期",
    "上期数",
    "报告期",
    "本期数",
    "数据状态",
    "备注",
    // For a figure that fails a quality check.
    "强制上报说明",
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
