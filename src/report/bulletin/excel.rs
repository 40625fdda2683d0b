//! The bulletin as an Excel workbook (rust_xlsxwriter): an overview sheet (counts, the
//! quarterly comparison) and one sheet per battle with every figure as a number, so it
//! can be sorted and summed. Its properties name the title, the issuer as author and
//! the issue date as creation date, like the Word file's. Lays out the [`Model`].

use rust_xlsxwriter::XlsxError;

use super::model::{comparison_lists, comparison_table, target_text, units, Model};
use crate::domain::Kind as IndicatorKind;
use crate::engine::tidy;
use crate::text::bulletin as words;

/// The paper size code of A4 in Excel's page setup.
const XLSX_A4: u8 = 9;

/// The bulletin as an Excel workbook.
pub(super) fn render(m: &Model) -> Result<Vec<u8>, XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, FormatAlign, Workbook};

    use chrono::Datelike;
    let created = ExcelDateTime::from_ymd(
        m.date.year() as u16,
        m.date.month() as u8,
        m.date.day() as u8,
    )?;
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(&m.title)
            .set_author(&m.issuer)
            .set_company(&m.issuer)
            .set_creation_datetime(&created),
    );

    let bold = XFormat::new().set_bold();
    let header = XFormat::new()
        .set_bold()
        .set_background_color(0xE8E8E8)
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let title_fmt = XFormat::new().set_bold().set_font_size(14);
    let percent = XFormat::new().set_num_format("0.0%");
    let signed_percent = XFormat::new().set_num_format("+0.0%;-0.0%;0.0%");
    // Plain numbers keep Excel's General format (no trailing "63." as "0.##" would give).
    let number = XFormat::new();
    let wrap = XFormat::new().set_text_wrap().set_align(FormatAlign::Top);

    // 概览
    {
        let ws = wb.add_worksheet();
        ws.set_name(words::overview_sheet(m.lang))?;
        ws.set_paper_size(XLSX_A4);
        ws.write_string_with_format(0, 0, &m.title, &title_fmt)?;
        ws.write_string(1, 0, &m.issuer)?;
        let mut row = 2;
        if let Some(n) = &m.doc_number {
            ws.write_string(row, 0, n)?;
            row += 1;
        }
        ws.write_string(row, 0, &m.date_line)?;
        row += 1;
        if !m.document.is_empty() {
            ws.write_string(row, 0, m.basis())?;
            row += 1;
        }
        ws.write_string(row, 0, &m.as_of_line)?;
        row += 1;
        ws.write_string(row, 0, &m.overview_sentence)?;
        row += 2;
        let (head, lines) = m.battle_count_table();
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, h, &header)?;
        }
        ws.set_freeze_panes(row + 1, 1)?;
        for l in &lines {
            row += 1;
            let is_total = l[0] == words::total(m.lang);
            for (c, v) in l.iter().enumerate() {
                match (c, v.parse::<f64>()) {
                    (0, _) | (_, Err(_)) => {
                        if is_total {
                            ws.write_string_with_format(row, c as u16, v, &bold)?;
                        } else {
                            ws.write_string(row, c as u16, v)?;
                        }
                    }
                    (_, Ok(n)) => {
                        if is_total {
                            ws.write_number_with_format(row, c as u16, n, &bold)?;
                        } else {
                            ws.write_number(row, c as u16, n)?;
                        }
                    }
                }
            }
        }
        if let Some(c) = m.comparison.as_ref().filter(|c| c.previous_as_of.is_some()) {
            row += 2;
            ws.write_string_with_format(row, 0, words::comparison(m.lang), &bold)?;
            let (head, lines) = comparison_table(m, c);
            row += 1;
            for (ci, h) in head.iter().enumerate() {
                ws.write_string_with_format(row, ci as u16, h, &header)?;
            }
            for l in &lines {
                row += 1;
                ws.write_string(row, 0, &l[0])?;
                for (ci, v) in l.iter().enumerate().skip(1) {
                    let n: f64 = v.trim_start_matches('+').parse().unwrap_or(0.0);
                    ws.write_number(row, ci as u16, n)?;
                }
            }
            for (label, items) in comparison_lists(m, c) {
                row += 2;
                ws.write_string_with_format(
                    row,
                    0,
                    words::counted(m.lang, label, items.len()),
                    &bold,
                )?;
                for item in items {
                    row += 1;
                    ws.write_string(row, 0, item)?;
                }
            }
        }
        // The 落款 and the date under the last line.
        row += 2;
        ws.write_string(row, 0, &m.signature)?;
        ws.write_string(row + 1, 0, &m.date_line)?;
        ws.set_column_width(0, 22)?;
        for c in 1..head.len() as u16 {
            ws.set_column_width(c, 12)?;
        }
    }

    // One sheet per battle.
    let mut head: Vec<&str> = words::sheet_headings(m.lang).to_vec();
    let quarterly = m.quarterly_column();
    if quarterly {
        head.extend(words::sheet_previous_headings(m.lang));
    }
    let widths: [f64; 17] = [
        34.0, 18.0, 8.0, 16.0, 9.0, 10.0, 10.0, 9.0, 9.0, 9.0, 9.0, 9.0, 10.0, 13.0, 48.0, 12.0,
        13.0,
    ];
    for s in &m.sections {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&s.group.name))?;
        ws.set_paper_size(XLSX_A4);
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(0, 0)?;
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &header)?;
            ws.set_column_width(c as u16, widths[c])?;
        }
        ws.set_freeze_panes(1, 1)?;
        for (i, r) in s.rows.iter().enumerate() {
            let row = (i + 1) as u32;
            let ind = &r.row.indicator;
            let a = &r.row.attainment;
            ws.write_string(row, 0, &ind.name)?;
            ws.write_string(row, 1, units(m.lang, ind))?;
            ws.write_string(row, 2, &ind.unit)?;
            ws.write_string(row, 3, target_text(m.lang, ind, a))?;
            let nums: [(u16, Option<f64>, &XFormat); 9] = [
                (4, a.target.as_ref().and_then(|t| t.value), &number),
                (5, a.actual, &number),
                (7, tidy(a.attainment), &percent),
                // As in the printed table: the pace means something for cumulative
                // indicators only.
                (
                    8,
                    tidy(a.scheduled_pace).filter(|_| ind.kind == IndicatorKind::Cumulative),
                    &percent,
                ),
                (9, tidy(a.pace_gap), &signed_percent),
                (10, tidy(a.deviation), &number),
                (11, tidy(a.year_end_gap), &number),
                (12, tidy(a.required_rest_of_year), &number),
                (
                    15,
                    r.previous
                        .flatten()
                        .and_then(|p| tidy(p.attainment.attainment)),
                    &percent,
                ),
            ];
            for (col, v, f) in nums {
                if col == 15 && !quarterly {
                    continue;
                }
                if let Some(v) = v {
                    ws.write_number_with_format(row, col, v, f)?;
                }
            }
            if let Some(p) = a.actual_period {
                ws.write_string(row, 6, m.year_month(p))?;
            }
            ws.write_string(row, 13, a.status.label_zh())?;
            if !r.situation.is_empty() {
                ws.write_string_with_format(row, 14, &r.situation, &wrap)?;
            }
            if quarterly {
                if let Some(p) = r.previous.flatten() {
                    ws.write_string(row, 16, p.attainment.status.label_zh())?;
                }
            }
        }
    }
    wb.save_to_buffer()
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\\`.
fn sheet_name(name: &str) -> String {
    name.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}
