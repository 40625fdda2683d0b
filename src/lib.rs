//! # zhibiao (指标)
//!
//! zhibiao tracks a government's yearly quantitative targets against the year-to-date
//! readings the statistics bureau reports during the year. For every target it answers
//! the questions an official asks: how much is done (完成率), whether it keeps the
//! scheduled pace (序时进度), what the rest of the year still needs, and which
//! indicators are lagging (未达序时进度) or severely lagging (严重滞后), and who leads them.
//!
//! # Layout
//!
//! - [`domain`]: validated types (periods, ids, indicators, targets, readings, units).
//!   Raw input becomes these at the edge; nothing invalid goes further.
//! - [`text`]: every human-readable text and how numbers, percentages, periods and
//!   dates are worded (Chinese today, with a reader's [`text::Lang`]); below the engine,
//!   it imports only [`domain`].
//! - [`limits`]: the caps that bound every input's memory and work, and the count of
//!   what each refused (`zhibiao_refusals_total`).
//! - [`engine`]: the pure methodology: attainment, pace, gaps and status. No I/O, no clock.
//! - [`store`]: the sled store: trees, big-endian keys, the versioned codec, the audit
//!   trail and group commit.
//! - [`catalogue`]: the seed catalogue (TOML) and its loader; the Taojiang 2023 plan is
//!   compiled in.
//! - [`ingest`]: decoding batch submissions (JSON, NDJSON, CSV in UTF-8 or GBK, XLSX)
//!   and building the monthly submission workbook.
//! - [`report`]: the board of all indicators at one `as_of`, rendered as bulletins
//!   (Markdown, HTML, CSV, Word, Excel), dashboard pages and SVG charts.
//! - [`notify`]: the reporting calendar read from the store, events (alerts, 催报
//!   notices, submissions, daily digests), the webhook formats (generic, Alertmanager,
//!   企业微信, 钉钉) and delivery with retries.
//! - [`api`]: the warp HTTP API: one filter per route, one error type mapped to
//!   `application/problem+json`.
//! - [`cli`]: the `zhibiao` command line; `src/main.rs` only calls [`cli::main`].
//!
//! # Example
//!
//! The engine needs no store: give it an indicator, a target, readings and an `as_of`.
//!
//! ```
//! use zhibiao::catalogue::Catalogue;
//! use zhibiao::engine::{evaluate, Status};
//! use zhibiao::domain::Period;
//!
//! let cat = Catalogue::builtin().unwrap();
//! let (ind, target) = cat.find("gdp-growth").unwrap();
//! let june: Period = "2023-06".parse().unwrap();
//! let a = evaluate(ind, target, &[(june, 7.2)], june);
//! // A GDP target of "about 8%" with 7.2% in the first half needs 8.8% in the second.
//! assert!((a.required_rest_of_year.unwrap() - 8.8).abs() < 1e-9);
//! assert_eq!(a.status, Status::Behind);
//! ```

pub mod api;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod domain;
pub mod engine;
pub mod ingest;
pub mod limits;
pub mod notify;
pub mod query;
pub mod report;
pub mod store;
pub mod text;
