//! The bulletin in Markdown: the 发文单位, 文号 and date above the title, headings, pipe
//! tables (numbers right-aligned), numbered lists and the 落款 with the date at the
//! end, every cell escaped. Lays out the [`Model`]; says nothing of its own
//! beyond the section headings.

use std::fmt::Write as _;

use super::model::{comparison_lists, comparison_table, list_heading, numeric_columns, Model};
use crate::text::bulletin as words;

fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn md_table(out: &mut String, head: &[String], right: &[bool], lines: &[Vec<String>]) {
    let cells = |l: &[String]| l.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(out, "| {} |", cells(head));
    let rule: Vec<&str> = right
        .iter()
        .map(|r| if *r { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for l in lines {
        let _ = writeln!(out, "| {} |", cells(l));
    }
    out.push('\n');
}

/// The bulletin in Markdown (GitHub tables).
pub(super) fn render(m: &Model) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", md(&m.issuer));
    match &m.doc_number {
        Some(n) => {
            let _ = writeln!(out, "{}　　{}\n", md(n), m.date_line);
        }
        None => {
            let _ = writeln!(out, "{}\n", m.date_line);
        }
    }
    let _ = writeln!(out, "---\n");
    let _ = writeln!(out, "# {}\n", md(&m.title));
    if !m.document.is_empty() {
        let _ = writeln!(out, "{}\n", md(&m.basis()));
    }
    let _ = writeln!(out, "{}\n", m.as_of_line);

    let _ = writeln!(out, "## {}\n", m.top_heading(1, words::overview(m.lang)));
    let _ = writeln!(out, "{}\n", md(&m.overview_sentence));
    let (head, lines) = m.battle_count_table();
    let mut right = vec![true; head.len()];
    right[0] = false;
    md_table(&mut out, &head, &right, &lines);

    let _ = writeln!(out, "## {}\n", m.top_heading(2, words::by_battle(m.lang)));
    let head: Vec<String> = m.headings().iter().map(|h| h.to_string()).collect();
    let right = numeric_columns(head.len());
    for s in &m.sections {
        let _ = writeln!(out, "### {}\n", md(&s.heading));
        if s.rows.is_empty() {
            let _ = writeln!(out, "{}\n", words::none_monitored(m.lang));
            continue;
        }
        let lines: Vec<Vec<String>> = s.rows.iter().map(|r| m.row_cells(r)).collect();
        md_table(&mut out, &head, &right, &lines);
        if !s.lists.iter().any(|(st, _)| st.is_lagging()) {
            let _ = writeln!(out, "{}\n", words::none_lagging(m.lang));
        }
        for (status, items) in &s.lists {
            let _ = writeln!(
                out,
                "**{}**\n",
                md(&list_heading(m.lang, *status, items.len()))
            );
            for (i, item) in items.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, md(item));
            }
            out.push('\n');
        }
    }

    if let Some(c) = &m.comparison {
        let _ = writeln!(out, "## {}\n", m.top_heading(3, words::comparison(m.lang)));
        match c.previous_as_of {
            None => {
                let _ = writeln!(out, "{}", words::no_previous(m.lang));
            }
            Some(p) => {
                let _ = writeln!(
                    out,
                    "{}\n",
                    words::quarters_compared(m.lang, p, c.previous_total, m.as_of, m.total)
                );
                let (head, lines) = comparison_table(m, c);
                md_table(&mut out, &head, &[false, true, true, true], &lines);
                for (label, items) in comparison_lists(m, c) {
                    let _ = writeln!(out, "**{}**\n", words::counted(m.lang, label, items.len()));
                    if items.is_empty() {
                        let _ = writeln!(out, "{}\n", words::none(m.lang));
                        continue;
                    }
                    for (i, item) in items.iter().enumerate() {
                        let _ = writeln!(out, "{}. {}", i + 1, md(item));
                    }
                    out.push('\n');
                }
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    let _ = write!(out, "\n{}  \n{}\n", md(&m.signature), m.date_line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
        assert_eq!(md("*x*"), "\\*x\\*");
    }
}
