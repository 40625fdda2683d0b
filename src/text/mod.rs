//! The words readers see, in one place: how numbers, percentages, percentage points,
//! periods, dates, units, targets and the sentences of alerts, notices and bulletins are
//! written.
//!
//! Today every text is Chinese, as a county notice writes it (“完成42.0%，低于序时进度
//! 8.0个百分点”, “2023年1-6月”, “≥150家”). The wording functions take the reader's
//! [`Lang`] so that another language is added here, in one arm per function, and not in
//! the engine, the notifier and four renderers. Until then [`Lang::En`] reads as Chinese.
//!
//! Not here yet: the labels of the dashboard pages and the chart legend (in
//! `report::dashboard`, `report::indicator_page`, `report::chart`), status labels
//! (`engine::Status::label_zh`), battle names (`domain::Battle::name_zh`) and the
//! bracketed kinds of the notifier's messages (`notify::message::tag`); they join when a
//! second language needs them.
//!
//! This module sits below the engine (whose alert messages are worded here) and may
//! import only [`crate::domain`], std, chrono and serde: never the engine, store,
//! report, notify or API layers. Callers pass plain figures and domain types; the
//! decisions (which sentence a status calls for) stay with them.
//!
//! - [`number`]: figures, percentages, signed differences, percentage points, numerals;
//! - [`period`]: months, year-to-date spans, quarters and dates;
//! - [`indicator`]: units of differences, lists of units, targets, the kinds, directions
//!   and frequencies of indicators;
//! - [`sentence`]: the clauses of alert messages and bulletin lines;
//! - [`notice`]: the lines and headlines of the notifier's messages;
//! - [`bulletin`]: the titles, headings, lines and table headings of the bulletins.

pub mod bulletin;
pub mod indicator;
mod lang;
pub mod notice;
pub mod number;
pub mod period;
pub mod sentence;

pub use indicator::{diff_unit, list, target_symbols, target_words};
pub use lang::{Lang, DASH};
pub use number::{fixed1, fmt_num, numeral, ordinal, percent, points, signed, signed1, with_unit};
pub use period::{date, month, next_period, quarter, rest_of_year, span, year_month, year_to_date};
