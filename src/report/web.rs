//! The web dashboard: server-rendered HTML pages of a [`Board`](super::Board).
//!
//! - [`dashboard`] is the page at `/`: every indicator, grouped by battle (六仗), with a
//!   filter form, counts by status, progress bars, status badges and sparklines.
//! - [`indicator_page`] is `/indicators/{id}`: every attainment figure, the year's
//!   readings, the chart and the source in the plan.
//! - [`login_page`] is `/login`, the 登录 page.
//!
//! No framework and no network: the pages link only `/assets/dashboard.css` and
//! `/assets/dashboard.js`, which are compiled in ([`CSS`], [`JS`]). A page is rendered
//! for whoever reads it: given a [`Viewer`], it also links `/assets/session.js`
//! ([`SESSION_JS`]), which sends its forms with the session's CSRF token, and says who
//! is signed in; without one it is the same for everyone. The pages work without the
//! script; it only adds auto-refresh and auto-submitting filters. Labels are in Chinese
//! (zh-CN).
//!
//! The pages are written in maud, so every text on them (a name typed into the
//! catalogue, a group given in the query, a source quote) is escaped by construction:
//! there is no string building and no escaping function to forget.
//!
//! This module only names the pages' public items in one place for the API; each page
//! lives in its own file ([`super::dashboard`], [`super::indicator_page`]) and what they
//! share in [`super::html`].

pub use super::dashboard::{
    dashboard, order_rows, parse_status, unknown_group_page, DashboardQuery, OverdueMarks, Show,
    Sort, STATUSES,
};
pub use super::html::{with_release_notice, Viewer, CSS, JS, SESSION_JS};
pub use super::indicator_page::{indicator_page, not_found_page, NoteLine};
pub use super::login::{login_page, LoginView};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::sample_board;

    #[test]
    fn all_text_is_escaped() {
        let mut b = sample_board();
        b.region = "<b>县</b>".into();
        if let Some(p) = b.plan.as_mut() {
            p.title = "<b>县</b>打好发展实施方案".into();
            p.groups[0].name = "<i>仗</i>".into();
        }
        b.groups = b.plan.as_ref().unwrap().groups.clone();
        for r in &mut b.rows {
            let r = std::sync::Arc::make_mut(r);
            if r.indicator.id.as_str() == "tech-sme-registered" {
                r.indicator.name = r#"<script>alert("x")</script>"#.into();
                r.indicator.lead_units = vec!["A&B".into()];
                r.indicator.source.quote = "'q'".into();
            }
        }
        let html = dashboard(
            &b,
            &DashboardQuery::default(),
            &["<i>".into()],
            &[],
            &OverdueMarks::default(),
            None,
        );
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;县&lt;/b&gt;打好发展"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<i>仗") && html.contains("&lt;i&gt;仗&lt;/i&gt;"));
        assert!(html.contains("A&amp;B"));
        assert!(html.contains(r#"<option value="&lt;i&gt;">&lt;i&gt;</option>"#));
        let page = indicator_page(&b, "tech-sme-registered", &[], None).unwrap();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>"));
        // maud leaves `'` as it is: in text, and in attribute values (always written in
        // double quotes), a single quote cannot end anything.
        assert!(page.contains("<blockquote>'q'</blockquote>"));
        let page = not_found_page(&b, "<x>", None);
        assert!(page.contains("&lt;x&gt;") && !page.contains("<x>"));
        // Markup, quotes and ampersands all come out as text, in text and in attributes.
        let given = r#"<a href="x">'&'</a>"#;
        let page = not_found_page(&b, given, None);
        assert!(page.contains(r#"<code>&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;</code>"#));
        assert!(!page.contains(given));
        let page = unknown_group_page(&b, given, None);
        assert!(page.contains(r#"“&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;”不是"#));
        let signed = Viewer {
            who: given.into(),
            csrf: given.into(),
        };
        let page = not_found_page(&b, "x", Some(&signed));
        assert!(page.contains(r#"content="&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;""#));
        assert!(page.contains(r#"当前用户：&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;"#));
        assert!(!page.contains(given));
    }
}
