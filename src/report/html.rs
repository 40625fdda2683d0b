//! What the dashboard's pages share, below both of them and below the charts: query
//! encoding, the page shell, the links between pages, the status badge, figures with
//! their unit, and the compiled-in assets ([`CSS`], [`JS`]).
//!
//! Every page, chart and the HTML bulletin is written with maud's `html!`: the markup
//! is checked when the crate compiles (an unclosed element does not build), and every
//! value spliced into it is escaped (`&`, `<`, `>`, `"`), in text and in attributes
//! alike. So there is no escaping function to call or to forget. Markup that is not to
//! be escaped has to be asked for by name (`PreEscaped`), and is kept to constants of
//! this crate (the HTML bulletin's stylesheet); who is signed in is a parameter of the
//! shell ([`Viewer`]), not text inserted into a rendered page.
//!
//! Kept apart so that [`super::dashboard`], [`super::indicator_page`], [`super::login`]
//! and [`super::chart`] import from here and never from one another.

use std::fmt::Write as _;

use maud::{html, Markup, DOCTYPE};
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
/// The script of signed-in pages, served at `/assets/session.js`: it sends a page's
/// forms with the session's CSRF token in a header.
pub const SESSION_JS: &str = include_str!("assets/session.js");

/// Characters left as they are in a query value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub(super) fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// `/?as_of=…` with the given filters, as a plain string (maud escapes it where it is
/// written, `&` as `&amp;` in an `href`).
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

/// Who is signed in, as a page shows it: `who` already worded (县科工局（填报员，负责单位：
/// 县科工局）) and the session's CSRF token, which the page's forms send in a header.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub who: String,
    pub csrf: String,
}

/// The page shell shared by every page, as a signed-in person sees it when `viewer` is
/// given: the session's CSRF token in `<meta name="csrf-token">` with the script that
/// sends it, and, first in the body, who is signed in with a 退出 button. Signed out,
/// the shell is the same for everyone, so public pages do not vary with a cookie.
pub(crate) fn page(
    title: &str,
    as_of: Period,
    class: &str,
    viewer: Option<&Viewer>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                link rel="icon" href="data:,";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/dashboard.css";
                script src="/assets/dashboard.js" defer {}
                @if let Some(v) = viewer {
                    meta name="csrf-token" content=(v.csrf);
                    script src="/assets/session.js" defer {}
                }
            }
            body class=(class) data-as-of=(as_of) {
                @if let Some(v) = viewer {
                    (signed_in_bar(v))
                } @else {
                    div.signed-in.signed-out { a href="/login" { "登录" } }
                }
                (body)
                footer.page-footer {
                    p {
                        "数据截至 " (text::year_month(LANG, as_of)) " · 页面每15秒检查一次更新 · "
                        span.refresh data-refresh aria-live="polite" {}
                    }
                }
            }
        }
    }
}

/// A page as the public sees it while a later month is under review: a line before
/// its main content saying which month is released and which is 待发布. `html` is a
/// page rendered by [`page`].
pub fn with_release_notice(html: String, notice: &str) -> String {
    let note = maud::html! { p.release-note role="status" { (notice) } }.into_string();
    match html.find("<main") {
        Some(at) => {
            let mut out = String::with_capacity(html.len() + note.len());
            out.push_str(&html[..at]);
            out.push_str(&note);
            out.push_str(&html[at..]);
            out
        }
        None => html,
    }
}

/// The shell of a signed-in form page (数据报送): the session's CSRF token and script,
/// who is signed in, and no auto-refresh, which would pull a preview from under the
/// person reading it.
pub(crate) fn form_page(title: &str, class: &str, viewer: &Viewer, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                link rel="icon" href="data:,";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) }
                link rel="stylesheet" href="/assets/dashboard.css";
                meta name="csrf-token" content=(viewer.csrf);
                script src="/assets/session.js" defer {}
            }
            body class=(class) {
                (signed_in_bar(viewer))
                (body)
            }
        }
    }
}

/// Who is signed in, with 退出 (a form the session script sends with its CSRF token).
pub(crate) fn signed_in_bar(v: &Viewer) -> Markup {
    html! {
        div.signed-in {
            span { "当前用户：" (v.who) }
            " "
            a href="/submit" { "数据报送" }
            " "
            a href="/review" { "审核与发布" }
            " "
            a href="/account" { "修改密码" }
            " "
            form method="post" action="/logout" data-csrf {
                button type="submit" { "退出" }
            }
        }
    }
}

/// The page title: the board's subject and 指标监测 (桃江县打好发展“六仗”指标监测).
pub(super) fn dashboard_title(board: &Board) -> String {
    format!("{}指标监测", board.subject())
}

/// The status as a coloured badge with its Chinese label.
pub(super) fn status_badge(s: Status) -> Markup {
    html! {
        span class={ "status status-" (s.as_str()) } { (s.label_zh()) }
    }
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
        assert!(SESSION_JS.contains("X-CSRF-Token"));
    }

    #[test]
    fn a_signed_in_page_carries_its_csrf_token_and_who_is_signed_in_escaped() {
        let v = Viewer {
            who: "<kgj>（填报员）".into(),
            csrf: "ab\"12".into(),
        };
        let as_of = Period::new(2023, 6).unwrap();
        let signed = page("t", as_of, "dashboard", Some(&v), html! { main {} }).into_string();
        assert!(signed.contains(
            "<meta name=\"csrf-token\" content=\"ab&quot;12\"><script src=\"/assets/session.js\" defer></script></head>"
        ));
        let bar = signed.find("<div class=\"signed-in\">").unwrap();
        assert!(bar > signed.find("<body").unwrap() && bar < signed.find("<main>").unwrap());
        assert!(signed.contains("当前用户：&lt;kgj&gt;（填报员）"));
        assert!(signed.contains("action=\"/logout\" data-csrf"));
        let public = page("t", as_of, "dashboard", None, html! { main {} }).into_string();
        assert!(!public.contains("csrf") && !public.contains("当前用户"));
        assert!(
            public.contains(r#"<a href="/login">登录</a>"#),
            "signed out: a way in"
        );
        assert!(signed.contains(r#"<a href="/submit">数据报送</a>"#));
        assert!(!signed.contains(r#"<a href="/login">"#));
        assert!(public.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"));
    }
}
