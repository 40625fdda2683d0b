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
//! - [`chart`]: the SVG charts and sparklines the pages embed;
//! - [`html`]: what the pages, charts and the HTML bulletin share (escaping, links, the
//!   page shell, assets), below all of them;
//! - [`web`]: the pages' public items named in one place for the API.
//!
//! Figures, periods and sentences are worded by [`crate::text`].

pub mod bulletin;
pub mod chart;
pub mod dashboard;
#[cfg(test)]
mod fixtures;
pub mod html;
pub mod indicator_page;
pub mod web;

use crate::domain::{Indicator, Period};
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
    /// e.g. 桃江县打好发展“六仗”实施方案（桃政办发〔2023〕4号）
    pub document: String,
    pub rows: Vec<BoardRow>,
}

impl Board {
    /// The summary (counts by status per battle and lead unit, lagging lists).
    pub fn summary(&self) -> Summary {
        let rows: Vec<(Indicator, Attainment)> = self
            .rows
            .iter()
            .map(|r| (r.indicator.clone(), r.attainment.clone()))
            .collect();
        alerts::summary(self.as_of, &rows)
    }
}
