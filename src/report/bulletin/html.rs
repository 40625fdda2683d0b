//! The bulletin as a printable HTML page: one self-contained document with its A4 print
//! stylesheet inlined, set as a government document (公文) is (GB/T 9704: margins of
//! 37/26/35/28 mm, the title in 小标宋, the body in 仿宋 at 16 pt on 28 pt lines), the
//! 发文单位, 文号 and date at the head and the 落款 at the end, status cells coloured.
//! Lays out the [`Model`].
//!
//! Written in maud like the pages, so every text of the board (a region's name, an
//! indicator's, a plan's group) is escaped by construction. A line break follows each
//! block, as `"\n"` in the markup: the file is read as source too (its golden copy is
//! reviewed as a line diff), and a break between blocks changes nothing on the page.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::model::{comparison_lists, comparison_table, list_heading, numeric_columns, Model};
use crate::engine::Status;
use crate::text::bulletin as words;

const CSS: &str = r#"@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 156mm; padding: 8mm 0; color: #000; background: #fff;
  font-family: "仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong", "STFangsong", "Noto Serif CJK SC", serif;
  font-size: 16pt; line-height: 28pt; }
h1 { font-family: "方正小标宋简体", "FZXiaoBiaoSong-B05S", "小标宋", "宋体", "SimSun", "Songti SC", "Noto Serif CJK SC", serif;
  font-weight: normal; font-size: 22pt; text-align: center; margin: 14pt 0 14pt; line-height: 32pt; }
h2, h3 { font-size: 16pt; margin: 0; }
h2 { font-family: "黑体", "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-weight: normal; }
h3 { font-family: "楷体_GB2312", "楷体", "KaiTi", "STKaiti", serif; font-weight: normal; }
h4 { font-size: 16pt; margin: 0; font-weight: bold; }
p { margin: 0; text-indent: 2em; }
.head { text-align: center; }
.head .issuer { color: #c00000; font-family: "方正小标宋简体", "小标宋", "宋体", "SimSun", serif;
  font-size: 26pt; line-height: 40pt; letter-spacing: 2pt; text-indent: 0; }
.head .number { display: flex; justify-content: space-between; text-indent: 0; }
.head hr { border: 0; border-top: 1.5pt solid #c00000; margin: 4pt 0 0; }
p.meta { text-align: center; text-indent: 0; }
p.note { color: #333; }
.signature { margin-top: 28pt; text-align: right; padding-right: 2em; }
.signature p { text-indent: 0; text-align: right; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 12pt; line-height: 1.35;
  font-family: "宋体", "SimSun", "Songti SC", "Noto Serif CJK SC", serif; }
table.fixed { table-layout: fixed; }
th, td { border: 0.75pt solid #000; padding: 2pt 4pt; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
th { background: #e8e8e8; font-weight: bold; }
tbody th { background: none; font-weight: normal; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
ol { margin: 0; padding-left: 2em; }
li { margin: 0; }
td.status { font-weight: bold; }
.s-achieved { background: #d5ecd4; color: #14532d; }
.s-on_track { background: #e6f4e4; color: #166534; }
.s-behind { background: #fdf1c7; color: #7c4a03; }
.s-severely_behind { background: #fad4cf; color: #8f1d12; }
.s-missed { background: #f1b6ae; color: #6b0f07; }
.s-no_data { background: #eeeeee; color: #444444; }
.s-no_target { background: #f6f6f6; color: #555555; }
@media print {
  body { max-width: none; padding: 0; }
  h2.battles, section.battle + section.battle, section.comparison { break-before: page; page-break-before: always; }
  th, td.status { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Column widths (percent) of the attainment table, without and with the quarterly column.
const HTML_WIDTHS: [u32; 8] = [20, 12, 11, 13, 8, 8, 14, 14];
const HTML_WIDTHS_QUARTERLY: [u32; 9] = [16, 10, 10, 11, 7, 7, 13, 13, 13];

fn html_table(
    head: &[&str],
    numeric: &[bool],
    lines: &[Vec<String>],
    status_col: Option<(usize, &[Status])>,
    widths: Option<&[u32]>,
) -> Markup {
    let num = |i: usize| (numeric.get(i) == Some(&true)).then_some("num");
    html! {
        table class=[widths.map(|_| "fixed")] {
            "\n"
            @if let Some(w) = widths {
                colgroup { @for w in w { col style={ "width: " (w) "%" }; } }
                "\n"
            }
            thead {
                tr {
                    @for (i, h) in head.iter().enumerate() {
                        th scope="col" class=[num(i)] { (h) }
                    }
                }
            }
            "\n"
            tbody {
                "\n"
                @for (row, l) in lines.iter().enumerate() {
                    tr {
                        @for (i, c) in l.iter().enumerate() {
                            @match status_col {
                                Some((col, statuses)) if col == i => {
                                    td class={ "status s-" (statuses[row].as_str()) } { (c) }
                                }
                                _ if i == 0 => { th scope="row" { (c) } }
                                _ => { td class=[num(i)] { (c) } }
                            }
                        }
                    }
                    "\n"
                }
            }
            "\n"
        }
        "\n"
    }
}

fn html_list(heading: &str, items: &[String]) -> Markup {
    html! {
        h4 { (heading) } "\n"
        ol { "\n" @for item in items { li { (item) } "\n" } }
        "\n"
    }
}

/// The bulletin as one printable HTML page (A4, inline CSS).
pub(super) fn render(m: &Model) -> String {
    let (overview_head, overview_lines) = m.battle_count_table();
    let overview_head: Vec<&str> = overview_head.iter().map(String::as_str).collect();
    let mut overview_numeric = vec![true; overview_head.len()];
    overview_numeric[0] = false;
    let head = m.headings();
    let numeric = numeric_columns(head.len());
    let widths: &[u32] = if m.quarterly_column() {
        &HTML_WIDTHS_QUARTERLY
    } else {
        &HTML_WIDTHS
    };
    html! {
        (DOCTYPE) "\n"
        html lang="zh-CN" {
            "\n"
            head {
                "\n"
                meta charset="utf-8"; "\n"
                meta name="viewport" content="width=device-width, initial-scale=1"; "\n"
                title { (m.title) } "\n"
                // The stylesheet is this file's constant: nothing in it comes from a board.
                style { "\n" (PreEscaped(CSS)) } "\n"
            }
            "\n"
            body {
                "\n"
                header.head {
                    "\n"
                    p.issuer { (m.issuer) } "\n"
                    p.number {
                        span { (m.doc_number.as_deref().unwrap_or("")) }
                        time datetime=(m.date.format("%Y-%m-%d")) { (m.date_line) }
                    }
                    "\n"
                    hr; "\n"
                    h1 { (m.title) } "\n"
                    @if !m.document.is_empty() {
                        p.meta { (m.basis()) } "\n"
                    }
                    p.meta { (m.as_of_line) } "\n"
                }
                "\n"
                section.overview {
                    "\n"
                    h2 { (m.top_heading(1, words::overview(m.lang))) } "\n"
                    p { (m.overview_sentence) } "\n"
                    (html_table(&overview_head, &overview_numeric, &overview_lines, None, None))
                }
                "\n"
                h2.battles { (m.top_heading(2, words::by_battle(m.lang))) } "\n"
                @for s in &m.sections {
                    section.battle id={ "battle-" (s.group.key) } {
                        "\n"
                        h3 { (s.heading) } "\n"
                        @if s.rows.is_empty() {
                            p.note { (words::none_monitored(m.lang)) } "\n"
                        } @else {
                            @let lines: Vec<Vec<String>> =
                                s.rows.iter().map(|r| m.row_cells(r)).collect();
                            @let statuses: Vec<Status> =
                                s.rows.iter().map(|r| r.row.attainment.status).collect();
                            @let status_col = Some((7, statuses.as_slice()));
                            (html_table(&head, &numeric, &lines, status_col, Some(widths)))
                            @if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
                                p.note { (words::none_lagging(m.lang)) } "\n"
                            }
                            @for (status, items) in &s.lists {
                                (html_list(&list_heading(m.lang, *status, items.len()), items))
                            }
                        }
                    }
                    "\n"
                }
                @if let Some(c) = &m.comparison {
                    section.comparison {
                        "\n"
                        h2 { (m.top_heading(3, words::comparison(m.lang))) } "\n"
                        @match c.previous_as_of {
                            None => {
                                p.note { (words::no_previous(m.lang)) } "\n"
                            }
                            Some(previous) => {
                                p {
                                    (words::quarters_compared(
                                        m.lang, previous, c.previous_total, m.as_of, m.total
                                    ))
                                }
                                "\n"
                                @let (head, lines) = comparison_table(m, c);
                                @let head: Vec<&str> = head.iter().map(String::as_str).collect();
                                (html_table(&head, &[false, true, true, true], &lines, None, None))
                                @for (label, items) in comparison_lists(m, c) {
                                    @if items.is_empty() {
                                        h4 { (words::counted(m.lang, label, 0)) } "\n"
                                        p { (words::none(m.lang)) } "\n"
                                    } @else {
                                        @let heading = words::counted(m.lang, label, items.len());
                                        (html_list(&heading, items))
                                    }
                                }
                            }
                        }
                    }
                    "\n"
                }
                footer.signature {
                    "\n"
                    p { (m.signature) } "\n"
                    p { (m.date_line) } "\n"
                }
                "\n"
            }
            "\n"
        }
        "\n"
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_lists_escape_what_they_show() {
        let text = r#"<a href="x">'&'</a>"#;
        let escaped = "&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;";
        let list = html_list(text, &[text.to_string()]).into_string();
        assert_eq!(
            list,
            format!("<h4>{escaped}</h4>\n<ol>\n<li>{escaped}</li>\n</ol>\n")
        );
        let table = html_table(
            &[text, "n"],
            &[false, true],
            &[vec![text.to_string(), "科技型中小企业".to_string()]],
            None,
            None,
        )
        .into_string();
        assert!(table.contains(&format!(
            r#"<th scope="col">{escaped}</th><th scope="col" class="num">n</th>"#
        )));
        assert!(table.contains(&format!(
            r#"<th scope="row">{escaped}</th><td class="num">科技型中小企业</td>"#
        )));
        assert!(!table.contains(text));
    }
}
