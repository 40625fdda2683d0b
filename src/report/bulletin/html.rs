//! The bulletin as a printable HTML page: one self-contained document with its A4 print
//! stylesheet inlined, set as a government document (公文) is (GB/T 9704: margins of
//! 37/26/35/28 mm, the title in 小标宋, the body in 仿宋 at 16 pt on 28 pt lines), the
//! 发文单位, 文号 and date at the head and the 落款 at the end, status cells coloured,
//! every text escaped. Lays out the [`Model`].

use std::fmt::Write as _;

use super::model::{comparison_lists, comparison_table, list_heading, numeric_columns, Model};
use crate::engine::Status;
use crate::report::html::escape;
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
    out: &mut String,
    head: &[&str],
    numeric: &[bool],
    lines: &[Vec<String>],
    status_col: Option<(usize, &[Status])>,
    widths: Option<&[u32]>,
) {
    let class = |i: usize| {
        if numeric.get(i) == Some(&true) {
            " class=\"num\""
        } else {
            ""
        }
    };
    match widths {
        Some(w) => {
            out.push_str("<table class=\"fixed\">\n<colgroup>");
            for w in w {
                let _ = write!(out, "<col style=\"width: {w}%\">");
            }
            out.push_str("</colgroup>\n<thead><tr>");
        }
        None => out.push_str("<table>\n<thead><tr>"),
    }
    for (i, h) in head.iter().enumerate() {
        let _ = write!(out, "<th scope=\"col\"{}>{}</th>", class(i), escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (row, l) in lines.iter().enumerate() {
        out.push_str("<tr>");
        for (i, c) in l.iter().enumerate() {
            match status_col {
                Some((col, statuses)) if col == i => {
                    let _ = write!(
                        out,
                        "<td class=\"status s-{}\">{}</td>",
                        statuses[row].as_str(),
                        escape(c)
                    );
                }
                _ if i == 0 => {
                    let _ = write!(out, "<th scope=\"row\">{}</th>", escape(c));
                }
                _ => {
                    let _ = write!(out, "<td{}>{}</td>", class(i), escape(c));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_list(out: &mut String, heading: &str, items: &[String]) {
    let _ = writeln!(out, "<h4>{}</h4>", escape(heading));
    out.push_str("<ol>\n");
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape(item));
    }
    out.push_str("</ol>\n");
}

/// The bulletin as one printable HTML page (A4, inline CSS).
pub(super) fn render(m: &Model) -> String {
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&m.title));
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    out.push_str("<header class=\"head\">\n");
    let _ = writeln!(out, "<p class=\"issuer\">{}</p>", escape(&m.issuer));
    let _ = writeln!(
        out,
        "<p class=\"number\"><span>{}</span><time datetime=\"{}\">{}</time></p>",
        escape(m.doc_number.as_deref().unwrap_or("")),
        m.date.format("%Y-%m-%d"),
        escape(&m.date_line)
    );
    out.push_str("<hr>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&m.title));
    if !m.document.is_empty() {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&m.basis()));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&m.as_of_line));
    out.push_str("</header>\n");

    out.push_str("<section class=\"overview\">\n");
    let _ = writeln!(
        out,
        "<h2>{}</h2>",
        m.top_heading(1, words::overview(m.lang))
    );
    let _ = writeln!(out, "<p>{}</p>", escape(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut numeric = vec![true; head.len()];
    numeric[0] = false;
    html_table(&mut out, &head, &numeric, &lines, None, None);
    out.push_str("</section>\n");

    let _ = writeln!(
        out,
        "<h2 class=\"battles\">{}</h2>",
        m.top_heading(2, words::by_battle(m.lang))
    );
    let head = m.headings();
    let numeric = numeric_columns(head.len());
    for s in &m.sections {
        let _ = writeln!(
            out,
            "<section class=\"battle\" id=\"battle-{}\">",
            s.group.key
        );
        let _ = writeln!(out, "<h3>{}</h3>", escape(&s.heading));
        if s.rows.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"note\">{}</p>\n</section>",
                words::none_monitored(m.lang)
            );
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        let statuses: Vec<Status> = s.rows.iter().map(|r| r.row.attainment.status).collect();
        let widths: &[u32] = if m.quarterly_column() {
            &HTML_WIDTHS_QUARTERLY
        } else {
            &HTML_WIDTHS
        };
        html_table(
            &mut out,
            &head,
            &numeric,
            &lines,
            Some((7, &statuses)),
            Some(widths),
        );
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", words::none_lagging(m.lang));
        }
        for (status, items) in &s.lists {
            html_list(&mut out, &list_heading(m.lang, *status, items.len()), items);
        }
        out.push_str("</section>\n");
    }

    if let Some(c) = &m.comparison {
        out.push_str("<section class=\"comparison\">\n");
        let _ = writeln!(
            out,
            "<h2>{}</h2>",
            m.top_heading(3, words::comparison(m.lang))
        );
        match c.previous_as_of {
            None => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", words::no_previous(m.lang));
            }
            Some(p) => {
                let _ = writeln!(
                    out,
                    "<p>{}</p>",
                    words::quarters_compared(m.lang, p, c.previous_total, m.as_of, m.total)
                );
                let (head, lines) = comparison_table(m, c);
                let head: Vec<&str> = head.iter().map(String::as_str).collect();
                html_table(
                    &mut out,
                    &head,
                    &[false, true, true, true],
                    &lines,
                    None,
                    None,
                );
                for (label, items) in comparison_lists(m, c) {
                    if items.is_empty() {
                        let _ = writeln!(
                            out,
                            "<h4>{}</h4>\n<p>{}</p>",
                            words::counted(m.lang, label, 0),
                            words::none(m.lang)
                        );
                    } else {
                        html_list(&mut out, &words::counted(m.lang, label, items.len()), items);
                    }
                }
            }
        }
        out.push_str("</section>\n");
    }
    let _ = writeln!(
        out,
        "<footer class=\"signature\">\n<p>{}</p>\n<p>{}</p>\n</footer>",
        escape(&m.signature),
        escape(&m.date_line)
    );
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("科技型中小企业"), "科技型中小企业");
    }
}
