//! The bulletin as a Word document (docx-rs), set as a government document (公文) is
//! under GB/T 9704: A4 with margins of 37 mm (top), 35 mm (bottom), 28 mm (left) and
//! 26 mm (right); the 发文单位 in red at the head above the 文号 and the issue date and a
//! red rule; the title in 二号 (22 pt) 方正小标宋简体; the body in 三号 (16 pt)
//! 仿宋_GB2312 on exact 29 pt lines, first lines indented two characters; headings in
//! 黑体 (一、) and 楷体_GB2312 (（一）); tables in 小四 (12 pt) 宋体 with coloured status
//! cells; the 落款 and the date at the end; the page number “— 1 —” (a PAGE field) in
//! the footer.
//!
//! A font missing on the reader's machine is replaced by its named alternative: the
//! font table lists 方正小标宋简体 with 宋体, 仿宋_GB2312 with 仿宋 and 楷体_GB2312 with 楷体
//! (`w:altName`), which is how Word falls back. The document properties name the title,
//! the issuer as creator and the issue date as creation date, so the same board and
//! issue give the same bytes. Lays out the [`Model`].

use super::model::{comparison_lists, comparison_table, list_heading, Model};
use crate::engine::Status;
use crate::text::bulletin as words;

/// A4 in twentieths of a point.
const A4_TWIPS: (u32, u32) = (11906, 16838);
/// GB/T 9704 margins in twips (1 mm = 56.7 twips): top 37 mm, bottom 35, left 28, right 26.
const MARGIN_TOP: i32 = 2098;
const MARGIN_BOTTOM: i32 = 1984;
const MARGIN_LEFT: i32 = 1587;
const MARGIN_RIGHT: i32 = 1474;
/// The page number sits about 7 mm below the text block: its line ends 23 mm above the
/// page's edge.
const FOOTER_TWIPS: i32 = 1304;
const HEADER_TWIPS: i32 = 851;
/// The width of the text block.
const TEXT_WIDTH: usize = (A4_TWIPS.0 as usize) - (MARGIN_LEFT + MARGIN_RIGHT) as usize;

/// Sizes in half-points: 二号 22 pt, 三号 16 pt, 四号 14 pt, 小四 12 pt; the masthead 26 pt.
const SIZE_MASTHEAD: usize = 52;
const SIZE_TITLE: usize = 44;
const SIZE_BODY: usize = 32;
const SIZE_PAGE_NUMBER: usize = 28;
const SIZE_TABLE: usize = 24;
/// Exact line spacing of the body, in twips: 29 pt, 22 lines to a page.
const LINE_BODY: i32 = 580;
/// Of the title: 二号 needs more room.
const LINE_TITLE: i32 = 700;
/// One character of the body (16 pt) in twips, for indents.
const BODY_CHAR: i32 = 320;

/// The fonts, by role, and what replaces each where it is not installed.
const FONT_TITLE: &str = "方正小标宋简体";
const FONT_BODY: &str = "仿宋_GB2312";
const FONT_HEADING: &str = "黑体";
const FONT_SUBHEADING: &str = "楷体_GB2312";
const FONT_TABLE: &str = "宋体";
const FONT_LATIN: &str = "Times New Roman";
/// The red of the masthead and its rule.
const RED: &str = "C00000";

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

fn fonts(east_asia: &str) -> docx_rs::RunFonts {
    docx_rs::RunFonts::new()
        .ascii(FONT_LATIN)
        .hi_ansi(FONT_LATIN)
        .east_asia(east_asia)
        .hint("eastAsia")
}

/// How wide a line of text is, in body characters: CJK full width, ASCII half.
fn chars_wide(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum()
}

/// The font table: the fonts the document names, each with the font that replaces it
/// where it is missing (GB2312 charset 86).
fn font_table() -> Vec<u8> {
    let fonts: [(&str, Option<&str>, &str, &str); 7] = [
        (FONT_LATIN, None, "00", "roman"),
        (FONT_TITLE, Some("宋体"), "86", "script"),
        (FONT_BODY, Some("仿宋"), "86", "modern"),
        (FONT_SUBHEADING, Some("楷体"), "86", "modern"),
        (FONT_HEADING, Some("SimHei"), "86", "modern"),
        (FONT_TABLE, Some("SimSun"), "86", "auto"),
        ("仿宋", Some("FangSong"), "86", "modern"),
    ];
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    );
    for (name, alt, charset, family) in fonts {
        xml.push_str(&format!(r#"<w:font w:name="{name}">"#));
        if let Some(alt) = alt {
            xml.push_str(&format!(r#"<w:altName w:val="{alt}"/>"#));
        }
        xml.push_str(&format!(
            r#"<w:charset w:val="{charset}"/><w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>"#
        ));
    }
    xml.push_str("</w:fonts>");
    xml.into_bytes()
}

/// Escapes text for the XML of the document properties, the one part of the package
/// written here rather than by docx-rs. It is XML, not HTML, so it is not written in
/// maud like the pages: `&`, `<`, `>`, `"` and `'` become XML's predefined entities
/// (`&#39;` for `'`, which XML 1.0 reads as well as `&apos;`).
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The document properties: title, creator (the issuer) and the issue date.
fn core_properties(m: &Model) -> Vec<u8> {
    let stamp = format!("{}T00:00:00Z", m.date.format("%Y-%m-%d"));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:subject>{subject}</dc:subject><dc:creator>{issuer}</dc:creator><cp:lastModifiedBy>{issuer}</cp:lastModifiedBy><dc:language>zh-CN</dc:language><cp:revision>1</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>"#,
        title = xml_escape(&m.title),
        subject = xml_escape(&m.as_of_line),
        issuer = xml_escape(&m.issuer),
    )
    .into_bytes()
}

/// The bulletin as a Word document; an error is the packer's message.
pub(super) fn render(m: &Model) -> Result<Vec<u8>, String> {
    use docx_rs::{
        AlignmentType, BorderType, Docx, Footer, LineSpacing, LineSpacingType, PageMargin, PageNum,
        Paragraph, ParagraphBorder, ParagraphBorderPosition, ParagraphBorders, Run, Shading,
        SpecialIndentType, Tab, TabValueType, Table, TableCell, TableLayoutType, TableRow,
        WidthType,
    };

    let exact = |twips: i32| {
        LineSpacing::new()
            .line_rule(LineSpacingType::Exact)
            .line(twips)
            .before(0)
            .after(0)
    };
    let run = |text: &str, font: &str, size: usize| {
        Run::new().add_text(text).size(size).fonts(fonts(font))
    };
    // A body paragraph: 仿宋 三号, first line indented two characters.
    let para = |text: &str| {
        Paragraph::new()
            .line_spacing(exact(LINE_BODY))
            .indent(
                None,
                Some(SpecialIndentType::FirstLine(2 * BODY_CHAR)),
                None,
                None,
            )
            .add_run(run(text, FONT_BODY, SIZE_BODY))
    };
    // A centred line of the body's face.
    let centred = |text: &str| {
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(exact(LINE_BODY))
            .add_run(run(text, FONT_BODY, SIZE_BODY))
    };
    // 一、总体情况 in 黑体; （一）经济增长主动仗 in 楷体.
    let heading = |text: &str, font: &str| {
        Paragraph::new()
            .keep_next(true)
            .line_spacing(exact(LINE_BODY))
            .indent(
                None,
                Some(SpecialIndentType::FirstLine(2 * BODY_CHAR)),
                None,
                None,
            )
            .add_run(run(text, font, SIZE_BODY))
    };
    let bold_line = |text: &str| {
        Paragraph::new()
            .keep_next(true)
            .line_spacing(exact(LINE_BODY))
            .indent(
                None,
                Some(SpecialIndentType::FirstLine(2 * BODY_CHAR)),
                None,
                None,
            )
            .add_run(run(text, FONT_BODY, SIZE_BODY).bold())
    };
    let table = |head: &[&str],
                 weights: &[usize],
                 lines: &[Vec<String>],
                 statuses: Option<(usize, &[Status])>| {
        let total: usize = weights.iter().sum();
        let grid: Vec<usize> = weights.iter().map(|w| w * TEXT_WIDTH / total).collect();
        let cell = |text: &str, w: usize, bold: bool, fill: Option<&str>| {
            let mut r = run(text, FONT_TABLE, SIZE_TABLE);
            if bold {
                r = r.bold();
            }
            let mut c = TableCell::new().width(w, WidthType::Dxa).add_paragraph(
                Paragraph::new()
                    .line_spacing(
                        LineSpacing::new()
                            .line_rule(LineSpacingType::Auto)
                            .line(240)
                            .before(0)
                            .after(0),
                    )
                    .add_run(r),
            );
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
            .width(TEXT_WIDTH, WidthType::Dxa)
    };

    let footer = Footer::new().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(run("— ", FONT_TABLE, SIZE_PAGE_NUMBER))
            .add_page_num(PageNum::new())
            .add_run(run(" —", FONT_TABLE, SIZE_PAGE_NUMBER))
            .size(SIZE_PAGE_NUMBER)
            .fonts(fonts(FONT_TABLE)),
    );
    let mut doc = Docx::new()
        .page_size(A4_TWIPS.0, A4_TWIPS.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TOP)
                .bottom(MARGIN_BOTTOM)
                .left(MARGIN_LEFT)
                .right(MARGIN_RIGHT)
                .header(HEADER_TWIPS)
                .footer(FOOTER_TWIPS),
        )
        .default_fonts(fonts(FONT_BODY))
        .default_size(SIZE_BODY)
        .footer(footer);

    // The head: the 发文单位 in red, then the 文号 (left) and the date (right) over a
    // red rule.
    doc = doc.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(exact(LINE_TITLE))
            .add_run(
                run(&m.issuer, FONT_TITLE, SIZE_MASTHEAD)
                    .color(RED)
                    .character_spacing(40),
            ),
    );
    let mut number_line = Paragraph::new()
        .line_spacing(exact(LINE_BODY).after(120))
        .add_tab(Tab::new().val(TabValueType::Right).pos(TEXT_WIDTH));
    if let Some(n) = &m.doc_number {
        number_line = number_line.add_run(run(n, FONT_BODY, SIZE_BODY));
    }
    number_line = number_line.add_run(run("", FONT_BODY, SIZE_BODY).add_tab());
    number_line = number_line.add_run(run(&m.date_line, FONT_BODY, SIZE_BODY));
    // Only the rule below: docx-rs's default borders would box the line in.
    number_line.property = number_line.property.set_borders(
        ParagraphBorders::with_empty().set(
            ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                .val(BorderType::Single)
                .size(12)
                .space(4)
                .color(RED),
        ),
    );
    doc = doc.add_paragraph(number_line);

    // The title, then the plan it follows and how recent the figures are.
    doc = doc.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(exact(LINE_TITLE).before(280).after(280))
            .add_run(run(&m.title, FONT_TITLE, SIZE_TITLE)),
    );
    if !m.document.is_empty() {
        doc = doc.add_paragraph(centred(&m.basis()));
    }
    doc = doc.add_paragraph(centred(&m.as_of_line));

    doc = doc.add_paragraph(heading(
        &m.top_heading(1, words::overview(m.lang)),
        FONT_HEADING,
    ));
    doc = doc.add_paragraph(para(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut weights = vec![4; head.len()];
    weights[0] = 9;
    doc = doc.add_table(table(&head, &weights, &lines, None));

    doc = doc.add_paragraph(heading(
        &m.top_heading(2, words::by_battle(m.lang)),
        FONT_HEADING,
    ));
    let head = m.headings();
    let mut weights = vec![24, 13, 12, 14, 10, 10, 12, 12];
    if m.quarterly_column() {
        weights.push(14);
    }
    for s in &m.sections {
        doc = doc.add_paragraph(heading(&s.heading, FONT_SUBHEADING));
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
            doc = doc.add_paragraph(bold_line(&list_heading(m.lang, *status, items.len())));
            for (i, item) in items.iter().enumerate() {
                doc = doc.add_paragraph(para(&format!("{}. {item}", i + 1)));
            }
        }
    }

    if let Some(c) = &m.comparison {
        doc = doc.add_paragraph(heading(
            &m.top_heading(3, words::comparison(m.lang)),
            FONT_HEADING,
        ));
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
                    doc = doc.add_paragraph(bold_line(&words::counted(m.lang, label, items.len())));
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

    // The 落款 and the date: the date four characters from the right margin, the
    // signature centred over it.
    let date_indent = 4 * BODY_CHAR;
    let signature_indent = date_indent
        + ((chars_wide(&m.date_line) - chars_wide(&m.signature)) / 2.0 * f64::from(BODY_CHAR))
            .round() as i32;
    let right = |text: &str, end: i32| {
        Paragraph::new()
            .align(AlignmentType::Right)
            .keep_next(true)
            .line_spacing(exact(LINE_BODY))
            .indent(None, None, Some(end.max(0)), None)
            .add_run(run(text, FONT_BODY, SIZE_BODY))
    };
    doc = doc.add_paragraph(
        Paragraph::new()
            .line_spacing(exact(LINE_BODY))
            .keep_next(true),
    );
    doc = doc.add_paragraph(
        Paragraph::new()
            .line_spacing(exact(LINE_BODY))
            .keep_next(true),
    );
    doc = doc.add_paragraph(right(&m.signature, signature_indent));
    doc = doc.add_paragraph(right(&m.date_line, date_indent).keep_next(false));

    let mut xml = doc.build();
    xml.doc_props.core = core_properties(m);
    xml.font_table = font_table();
    let mut cursor = std::io::Cursor::new(Vec::new());
    xml.pack(&mut cursor).map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_properties_xml_escapes_the_five_specials() {
        assert_eq!(
            xml_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(xml_escape("科技型中小企业"), "科技型中小企业");
    }

    #[test]
    fn widths_count_cjk_full_and_ascii_half() {
        assert_eq!(chars_wide("2023年7月12日"), 6.5);
        assert_eq!(chars_wide("桃江县统计局"), 6.0);
    }

    #[test]
    fn the_text_block_is_156_mm_wide() {
        // 210 mm − 28 mm − 26 mm, in twips.
        assert_eq!(TEXT_WIDTH, 8845);
    }
}
