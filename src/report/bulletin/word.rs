//! The bulletin as a Word document (docx-rs): A4 with 15 mm margins, 仿宋 body and 黑体
//! headings as government documents are set, fixed-layout tables with coloured status
//! cells. The creation date is fixed to the last day of `as_of`'s month, so the same
//! board gives the same bytes. Lays out the [`Model`].

use super::model::{comparison_lists, comparison_table, last_day, list_heading, Model};
use crate::engine::Status;
use crate::text::bulletin as words;

/// A4 in twentieths of a point, and a 15 mm margin.
const A4_TWIPS: (u32, u32) = (11906, 16838);
const MARGIN_TWIPS: i32 = 850;

/// Background fills of the status cells (the label is always written too).
fn status_fill(s: Status) -> &'static str {
    match s {
        Status::Achieved => "D5ECD4",
        Status::OnTrack => "E6F4E4",
        Status::Behind => "FDF1C7",
        Status::SeverelyBehind => "FAD4CF",
        Status::Missed => "F1B6AE",
        Status::NoData => "EEEEEE",
        Status::NoTarget => "F6F6F6",
    }
}

/// The bulletin as a Word document; an error is the packer's message.
pub(super) fn render(m: &Model) -> Result<Vec<u8>, String> {
    use docx_rs::{
        AlignmentType, Docx, PageMargin, Paragraph, Run, RunFonts, Shading, Table, TableCell,
        TableLayoutType, TableRow, WidthType,
    };

    let body_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("仿宋");
    let heading_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("黑体");
    let table_fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("宋体");
    let para = |text: &str| Paragraph::new().add_run(Run::new().add_text(text));
    let heading = |text: &str, size: usize| {
        Paragraph::new().keep_next(true).add_run(
            Run::new()
                .add_text(text)
                .bold()
                .size(size)
                .fonts(heading_fonts.clone()),
        )
    };
    let width = (A4_TWIPS.0 as usize) - 2 * (MARGIN_TWIPS as usize);
    let table = |head: &[&str],
                 weights: &[usize],
                 lines: &[Vec<String>],
                 statuses: Option<(usize, &[Status])>| {
        let total: usize = weights.iter().sum();
        let grid: Vec<usize> = weights.iter().map(|w| w * width / total).collect();
        let cell = |text: &str, w: usize, bold: bool, fill: Option<&str>| {
            let mut run = Run::new()
                .add_text(text)
                .size(18)
                .fonts(table_fonts.clone());
            if bold {
                run = run.bold();
            }
            let mut c = TableCell::new()
                .width(w, WidthType::Dxa)
                .add_paragraph(Paragraph::new().add_run(run));
            if let Some(f) = fill {
                c = c.shading(Shading::new().fill(f));
            }
            c
        };
        let mut rows = vec![TableRow::new(
            head.iter()
                .zip(&grid)
                .map(|(h, w)| cell(h, *w, true, Some("E8E8E8")))
                .collect(),
        )
        .cant_split()];
        for (ri, l) in lines.iter().enumerate() {
            let cells = l
                .iter()
                .zip(&grid)
                .enumerate()
                .map(|(ci, (text, w))| match statuses {
                    Some((col, st)) if col == ci => cell(text, *w, true, Some(status_fill(st[ri]))),
                    _ => cell(text, *w, false, None),
                })
                .collect();
            rows.push(TableRow::new(cells).cant_split());
        }
        Table::new(rows)
            .set_grid(grid.clone())
            .layout(TableLayoutType::Fixed)
            .width(width, WidthType::Dxa)
    };

    let (y, mo, d) = last_day(m.as_of);
    let stamp = format!("{y:04}-{mo:02}-{d:02}T00:00:00Z");
    let mut doc = Docx::new()
        .page_size(A4_TWIPS.0, A4_TWIPS.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TWIPS)
                .bottom(MARGIN_TWIPS)
                .left(MARGIN_TWIPS)
                .right(MARGIN_TWIPS)
                .header(MARGIN_TWIPS / 2)
                .footer(MARGIN_TWIPS / 2),
        )
        .default_fonts(body_fonts.clone())
        .default_size(24)
        .created_at(&stamp)
        .updated_at(&stamp);

    doc = doc.add_paragraph(
        Paragraph::new().align(AlignmentType::Center).add_run(
            Run::new()
                .add_text(&m.title)
                .bold()
                .size(36)
                .fonts(heading_fonts.clone()),
        ),
    );
    if !m.document.is_empty() {
        doc = doc.add_paragraph(para(&m.basis()).align(AlignmentType::Center));
    }
    doc = doc.add_paragraph(para(&m.as_of_line).align(AlignmentType::Center));

    doc = doc.add_paragraph(heading(&m.top_heading(1, words::overview(m.lang)), 32));
    doc = doc.add_paragraph(para(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut weights = vec![4; head.len()];
    weights[0] = 8;
    doc = doc.add_table(table(&head, &weights, &lines, None));

    doc = doc.add_paragraph(heading(&m.top_heading(2, words::by_battle(m.lang)), 32));
    let head = m.headings();
    let mut weights = vec![24, 13, 12, 14, 9, 9, 12, 11];
    if m.quarterly_column() {
        weights.push(14);
    }
    for s in &m.sections {
        doc = doc.add_paragraph(heading(&s.heading, 28));
        if s.rows.is_empty() {
            doc = doc.add_paragraph(para(words::none_monitored(m.lang)));
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        let statuses: Vec<Status> = s.rows.iter().map(|r| r.row.attainment.status).collect();
        doc = doc.add_table(table(&head, &weights, &lines, Some((7, &statuses))));
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            doc = doc.add_paragraph(para(words::none_lagging(m.lang)));
        }
        for (status, items) in &s.lists {
            doc = doc.add_paragraph(
                Paragraph::new().keep_next(true).add_run(
                    Run::new()
                        .add_text(list_heading(m.lang, *status, items.len()))
                        .bold(),
                ),
            );
            for (i, item) in items.iter().enumerate() {
                doc = doc.add_paragraph(para(&format!("{}. {item}", i + 1)));
            }
        }
    }

    if let Some(c) = &m.comparison {
        doc = doc.add_paragraph(heading(&m.top_heading(3, words::comparison(m.lang)), 32));
        match c.previous_as_of {
            None => doc = doc.add_paragraph(para(words::no_previous(m.lang))),
            Some(p) => {
                doc = doc.add_paragraph(para(&words::quarters_compared(
                    m.lang,
                    p,
                    c.previous_total,
                    m.as_of,
                    m.total,
                )));
                let (head, lines) = comparison_table(m, c);
                let head: Vec<&str> = head.iter().map(String::as_str).collect();
                doc = doc.add_table(table(&head, &[8, 4, 4, 4], &lines, None));
                for (label, items) in comparison_lists(m, c) {
                    doc = doc.add_paragraph(
                        Paragraph::new().keep_next(true).add_run(
                            Run::new()
                                .add_text(words::counted(m.lang, label, items.len()))
                                .bold(),
                        ),
                    );
                    if items.is_empty() {
                        doc = doc.add_paragraph(para(words::none(m.lang)));
                    }
                    for (i, item) in items.iter().enumerate() {
                        doc = doc.add_paragraph(para(&format!("{}. {item}", i + 1)));
                    }
                }
            }
        }
    }

    let mut cursor = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut cursor).map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}
