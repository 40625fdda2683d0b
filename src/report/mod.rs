//! What officials read: the board of every indicator at one `as_of`, rendered as the
//! monthly bulletin (月通报) and its quarter-end variant (季总结) in Markdown, HTML, CSV,
//! Word and Excel, and as the web dashboard's pages and SVG charts.
//!
//! Everything here is pure: the API and CLI assemble a [`Board`] from the store, and
//! the renderers turn it into bytes. No clock, no store, so the same board always
//! renders the same bulletin (and golden tests can pin it).
//!
//! - [`bulletin`]: the bulletin's entry, its model and one file per format;
//! - [`dashboard`] and [`indicator_page`]: the two web pages, one per file;
//! - [`login`]: the 登录 page;
//! - [`chart`]: the SVG charts and sparklines the pages embed;
//! - [`html`]: what the pages and charts share (links, the page shell, badges,
//!   assets), below all of them;
//! - [`web`]: the pages' public items named in one place for the API.
//!
//! The pages, the charts and the HTML bulletin are written in maud: their markup is
//! checked when the crate compiles, and every text spliced into it is escaped by
//! construction (see [`html`]), so a name typed into a catalogue is shown, never run.
//!
//! Figures, periods and sentences are worded by [`crate::text`].

pub mod bulletin;
pub mod chart;
pub mod dashboard;
#[cfg(test)]
mod fixtures;
pub mod html;
pub mod indicator_page;
pub mod login;
pub mod review;
pub mod submit;
pub mod web;

use crate::domain::{Group, Indicator, Period, Plan};
use crate::engine::alerts::{self, Summary};
use crate::engine::Attainment;

/// One indicator on the board.
#[derive(Debug, Clone)]
pub struct BoardRow {
    pub indicator: Indicator,
    pub attainment: Attainment,
    /// This year's readings at or before `as_of`, in period order (for sparklines and charts).
    pub series: Vec<(Period, f64)>,
}

/// Every indicator at one `as_of`, with the plan it belongs to.
#[derive(Debug, Clone)]
pub struct Board {
    pub as_of: Period,
    /// e.g. 桃江县
    pub region: String,
    /// e.g. 桃江县打好发展“六仗”实施方案（桃政办发〔2023〕4号）: the plan of the
    /// year shown, else the last catalogue loaded.
    pub document: String,
    /// The region's plan for the year of `as_of`, when there is one: its title, groups
    /// and order. Rows carry that plan's groups, units and sources.
    pub plan: Option<Plan>,
    /// The groups the rows fall in, in the plan's order (the plan's groups; without a
    /// plan, the rows' group keys in order of first appearance).
    pub groups: Vec<Group>,
    /// Shared: a board brought up to date after a write keeps the rows it did not
    /// evaluate again.
    pub rows: Vec<std::sync::Arc<BoardRow>>,
}

impl Board {
    /// The summary (counts by status per battle and lead unit, lagging lists).
    pub fn summary(&self) -> Summary {
        let rows: Vec<(Indicator, Attainment)> = self
            .rows
            .iter()
            .map(|r| (r.indicator.clone(), r.attainment.clone()))
            .collect();
        alerts::summary(self.as_of, &rows, &self.groups)
    }

    /// The name of a group, as the plan gives it (the key when it is not the plan's).
    pub fn group_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.groups
            .iter()
            .find(|g| g.key == key)
            .map_or(key, |g| g.name.as_str())
    }

    /// What the pages and bulletins are about: a plan titled “…实施方案” by that title
    /// without the word (桃江县打好发展“六仗”), else the region (临湘市). The plan's full
    /// title and 文号 are cited beside it ([`Board::document`]).
    pub fn subject(&self) -> String {
        self.plan
            .as_ref()
            .and_then(|p| p.title.strip_suffix("实施方案"))
            .filter(|s| !s.is_empty())
            .map_or_else(|| self.region.clone(), str::to_string)
    }
}

/// The groups of rows that have no plan: each key once, in order of first appearance.
pub fn groups_of<'a>(rows: impl IntoIterator<Item = &'a BoardRow>) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for r in rows {
        if !out.iter().any(|g| g.key == r.indicator.group) {
            out.push(Group {
                key: r.indicator.group.clone(),
                name: r.indicator.group.clone(),
            });
        }
    }
    out
}
