//! Terminal tables: aligned for Chinese text, coloured by status when printing to a
//! terminal and plain when piped.

use console::{measure_text_width, pad_str, Alignment, Style};

use crate::engine::Status;

/// The colour of a status, like the dashboard's.
pub fn status_style(s: Status) -> Style {
    match s {
        Status::OnTrack | Status::Achieved => Style::new().green(),
        Status::Behind => Style::new().yellow(),
        Status::SeverelyBehind | Status::Missed => Style::new().red().bold(),
        Status::NoData | Status::NoTarget => Style::new().dim(),
    }
}

/// A simple table: a header and rows of cells, each column as wide as its widest cell.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<(String, Option<Style>)>>,
    right: Vec<bool>,
}

impl Table {
    pub fn new(header: &[&str], right_aligned: &[bool]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            right: right_aligned.to_vec(),
        }
    }

    pub fn row(&mut self, cells: Vec<(String, Option<Style>)>) {
        self.rows.push(cells);
    }

    /// Renders the table; styles apply only when the terminal takes colours.
    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| measure_text_width(h)).collect();
        for r in &self.rows {
            for (i, (c, _)) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(measure_text_width(c));
            }
        }
        let align = |i: usize| {
            if self.right.get(i).copied().unwrap_or(false) {
                Alignment::Right
            } else {
                Alignment::Left
            }
        };
        let mut out = String::new();
        let head: Vec<String> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| pad_str(h, widths[i], align(i), None).into_owned())
            .collect();
        out.push_str(
            &Style::new()
                .bold()
                .apply_to(head.join("  ").trim_end())
                .to_string(),
        );
        out.push('\n');
        for r in &self.rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .take(n)
                .map(|(i, (c, st))| {
                    let padded = pad_str(c, widths[i], align(i), None).into_owned();
                    match st {
                        Some(st) => st.apply_to(padded).to_string(),
                        None => padded,
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}
