//! What the dashboard's pages share, below both of them and below the charts: HTML
//! escaping, query encoding, the page shell, the links between pages, the status badge,
//! figures with their unit, and the compiled-in assets ([`CSS`], [`JS`]).
//!
//! Kept apart so that [`super::dashboard`], [`super::indicator_page`], [`super::chart`]
//! and the HTML bulletin import from here and never from one another.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::Board;
use crate::domain::Period;
use crate::engine::{tidy, Status};
use crate::text::{self, Lang};

/// The pages' language: Chinese (zh-CN) until the pages take the reader's.
pub(super) const LANG: Lang = Lang::Zh;

/// The dashboard's stylesheet, served at `/assets/dashboard.css`.
pub const CSS: &str = include_str!("assets/dashboard.css");
/// The dashboard's script, served at `/assets/dashboard.js`.
pub const JS: &str = include_str!("assets/dashboard.js");

/// Escapes text for HTML and XML content and quoted attribute values.
pub fn escape(s: &str) -> String {
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

/// Characters left as they are in a query value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub(super) fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// `/?as_of=…` with the given filters, unescaped (escape it for an attribute).
pub(super) fn dashboard_url(
    as_of: Period,
    group: Option<&str>,
    lead_unit: Option<&str>,
    status: Option<Status>,
) -> String {
    let mut url = format!("/?as_of={as_of}");
    if let Some(g) = group {
        let _ = write!(url, "&group={}", enc(g));
    }
    if let Some(u) = lead_unit {
        let _ = write!(url, "&lead_unit={}", enc(u));
    }
    if let Some(s) = status {
        let _ = write!(url, "&status={}", s.as_str());
    }
    url
}

pub(super) fn indicator_url(id: &str, as_of: Period) -> String {
    format!("/indicators/{}?as_of={as_of}", enc(id))
}

/// The page shell shared by every page.
pub(super) fn page(title: &str, as_of: Period, class: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body class="{class}" data-as-of="{as_of}">
{body}
<footer class="page-footer"><p>数据截至 {month} · 页面每15秒检查一次更新 · <span class="refresh" data-refresh aria-live="polite"></span></p></footer>
</body>
</html>
"#,
        title = escape(title),
        class = escape(class),
        month = text::year_month(LANG, as_of),
    )
}

/// The page title: the board's subject and 指标监测 (桃江县打好发展“六仗”指标监测).
pub(super) fn dashboard_title(board: &Board) -> String {
    format!("{}指标监测", board.subject())
}

pub(super) fn status_badge(s: Status) -> String {
    format!(
        r#"<span class="status status-{}">{}</span>"#,
        s.as_str(),
        s.label_zh()
    )
}

/// A value with its unit, or a dash.
pub(super) fn with_unit(v: Option<f64>, unit: &str) -> String {
    match tidy(v) {
        Some(v) => format!("{}{unit}", text::fmt_num(v)),
        None => text::DASH.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_compiled_in() {
        assert!(CSS.contains(".status-on_track"));
        assert!(CSS.contains(".status-severely_behind"));
        assert!(CSS.contains("@media print"));
        assert!(JS.contains("/v1/alerts?as_of="));
        assert!(JS.contains("If-None-Match"));
        assert!(JS.contains("visibilityState"));
        assert!(JS.contains("location.reload()"));
    }
}
