//! What people and Prometheus look at: the dashboard at `/`, the indicator pages, the
//! compiled-in assets, the SVG chart, the bulletins under `/v1/reports/…` and
//! `/metrics`, each checked against the JSON API it must agree with.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

/// Cumulative, quarterly, 150 家, led by 县科工局, battle innovation.
const SME: &str = "tech-sme-registered";

/// The six battles (六仗), as the query strings name them.
const BATTLES: [&str; 6] = [
    "growth",
    "innovation",
    "environment",
    "risk",
    "safety",
    "livelihood",
];

/// The June bulletin's title for the built-in Taojiang catalogue.
const JUNE_TITLE: &str = "桃江县2023年6月重点指标监测通报";

/// POSTs the fixture year of readings as one admin batch.
fn load_fixture(s: &TestServer) {
    s.load_fixture_year();
}

/// A server on the built-in catalogue with the fixture year loaded.
fn fixture_server() -> TestServer {
    let s = TestServer::start();
    load_fixture(&s);
    s
}

fn content_type(r: &Response) -> String {
    header(r, "content-type")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// GET with query pairs (encoded by reqwest, so Chinese values travel as UTF-8).
fn get_q(s: &TestServer, path: &str, query: &[(&str, &str)]) -> Response {
    s.client.get(s.url(path)).query(query).send().expect("GET")
}

/// GETs an HTML page that must answer 200 and returns its text.
fn html(s: &TestServer, path: &str, query: &[(&str, &str)]) -> String {
    let r = get_q(s, path, query);
    assert_eq!(r.status(), 200, "GET {path} {query:?}");
    assert_eq!(content_type(&r), "text/html; charset=utf-8", "{path}");
    r.text().unwrap()
}

/// Checks a problem+json answer and returns its body.
fn assert_problem(r: Response, status: u16, field: Option<&str>, what: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{what}: status");
    assert_eq!(content_type(&r), "application/problem+json", "{what}");
    let body: Value = r.json().expect("problem body");
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
    match field {
        Some(f) => assert_eq!(body["field"], f, "{what}: field in {body}"),
        None => assert!(body.get("field").is_none(), "{what}: {body}"),
    }
    body
}

/// The indicator rows of a dashboard, by battle section: `(battle, [(id, status)])`.
fn sections(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    html.split(r#"<section class="battle" data-battle=""#)
        .skip(1)
        .map(|chunk| {
            let battle = chunk[..chunk.find('"').unwrap()].to_string();
            let rows = chunk
                .split(r#"<tr class="indicator-row" data-indicator=""#)
                .skip(1)
                .map(|r| {
                    let id = &r[..r.find('"').unwrap()];
                    let rest = r[id.len()..]
                        .strip_prefix(r#"" data-status=""#)
                        .expect("data-status after data-indicator");
                    (id.to_string(), rest[..rest.find('"').unwrap()].to_string())
                })
                .collect();
            (battle, rows)
        })
        .collect()
}

/// Every row of a dashboard: id → status.
fn rows(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, rs) in sections(html) {
        for (id, st) in rs {
            assert!(out.insert(id.clone(), st).is_none(), "{id} shown twice");
        }
    }
    out
}

fn ids_of(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// `/v1/attainment` at `as_of`: id → the attainment view.
fn attainment_at(s: &TestServer, as_of: &str) -> BTreeMap<String, Value> {
    let v = s.get_json(&format!("/v1/attainment?as_of={as_of}"));
    v["attainment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["indicator"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

// ── the dashboard at / ───────────────────────────────────────────────────

#[test]
fn the_dashboard_shows_six_battle_sections_and_one_row_per_indicator() {
    // The page at / is the county's whole board: nothing may be left out or doubled.
    let s = TestServer::start();
    let page = html(&s, "/", &[]);
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..80]);
    let secs = sections(&page);
    let keys: Vec<&str> = secs.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(keys, BATTLES, "six sections, in order");
    let shown = rows(&page);
    assert_eq!(shown.len(), 203);
    assert_eq!(
        shown.keys().cloned().collect::<BTreeSet<_>>(),
        ids_of(&s.get_json("/v1/indicators"))
    );
    // Each row sits in its own battle's section.
    for battle in BATTLES {
        let want = ids_of(&s.get_json(&format!("/v1/indicators?battle={battle}")));
        let (_, got) = secs.iter().find(|(b, _)| b == battle).unwrap();
        let got: BTreeSet<String> = got.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(got, want, "{battle}");
    }
    // An empty filter is "all", as the form's first option sends it.
    let all = html(
        &s,
        "/",
        &[("battle", ""), ("status", ""), ("lead_unit", "")],
    );
    assert_eq!(rows(&all).len(), 203);
}

#[test]
fn the_dashboard_filters_by_battle_status_and_lead_unit() {
    // The filter form is how a bureau finds its own lagging indicators; each filter
    // must select exactly what the JSON API says.
    let s = fixture_server();
    let at = attainment_at(&s, "2023-06");

    let page = html(&s, "/", &[("as_of", "2023-06"), ("battle", "innovation")]);
    let secs = sections(&page);
    let keys: Vec<&str> = secs.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(keys, ["innovation"], "only the chosen battle's section");
    assert_eq!(
        rows(&page).keys().cloned().collect::<BTreeSet<_>>(),
        ids_of(&s.get_json("/v1/indicators?battle=innovation"))
    );
    assert!(page.contains(r#"<option value="innovation" selected>"#));

    let page = html(&s, "/", &[("as_of", "2023-06"), ("status", "behind")]);
    let got = rows(&page);
    let want: BTreeSet<String> = at
        .iter()
        .filter(|(_, a)| a["status"] == "behind")
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        !want.is_empty(),
        "the fixture leaves some indicators behind"
    );
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert!(got.values().all(|st| st == "behind"), "{got:?}");

    let unit = "县科工局";
    let page = html(&s, "/", &[("as_of", "2023-06"), ("lead_unit", unit)]);
    let want: BTreeSet<String> = s
        .get_json("/v1/indicators")
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["lead_units"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u == unit)
        })
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(rows(&page).keys().cloned().collect::<BTreeSet<_>>(), want);
    assert!(page.contains(&format!(
        r#"<option value="{unit}" selected>{unit}</option>"#
    )));

    // Filters combine.
    let page = html(
        &s,
        "/",
        &[
            ("as_of", "2023-06"),
            ("battle", "innovation"),
            ("status", "behind"),
        ],
    );
    let want: BTreeSet<String> = at
        .iter()
        .filter(|(_, a)| a["status"] == "behind" && a["group"] == "innovation")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(rows(&page).keys().cloned().collect::<BTreeSet<_>>(), want);
}

#[test]
fn the_dashboard_evaluates_at_the_as_of_it_is_given() {
    // Looking back at June must show June's figures, not the latest ones.
    let s = fixture_server();
    let page = html(&s, "/", &[("as_of", "2023-06")]);
    assert!(page.contains(r#"<time datetime="2023-06">2023年6月</time>"#));
    assert!(page.contains(r#"data-as-of="2023-06""#));
    assert!(page.contains(r#"<option value="2023-06" selected>2023年6月</option>"#));
    let june = attainment_at(&s, "2023-06");
    let shown = rows(&page);
    assert_eq!(shown.len(), june.len());
    for (id, st) in &shown {
        assert_eq!(june[id]["status"], st.as_str(), "{id} at 2023-06");
    }

    // Without as_of the page shows the API's default period, which here differs.
    let latest = s.get_json("/v1/attainment");
    let default = latest["as_of"].as_str().unwrap().to_string();
    assert_ne!(default, "2023-06");
    let page = html(&s, "/", &[]);
    assert!(page.contains(&format!(r#"<time datetime="{default}">"#)));
    let now = rows(&page);
    assert!(
        now.iter().any(|(id, st)| june[id]["status"] != st.as_str()),
        "some status must differ between 2023-06 and {default}, or as_of is not tested"
    );
}

#[test]
fn a_bad_dashboard_filter_answers_400_problem_json() {
    // A typo in a bookmarked URL should say what is wrong, not show an empty board.
    let s = TestServer::start();
    for (query, field) in [
        (("status", "nope"), "status"),
        (("sort", "worst"), "sort"),
        (("show", "some"), "show"),
        (("as_of", "2023-13"), "as_of"),
        (("colour", "red"), "colour"),
    ] {
        let r = get_q(&s, "/", &[query]);
        assert_problem(r, 400, Some(field), &format!("/?{}={}", query.0, query.1));
    }
    // The choices of the meeting view say what they accept, in Chinese.
    let body = assert_problem(
        get_q(&s, "/", &[("sort", "worst")]),
        400,
        Some("sort"),
        "sort",
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("“worst”不是排序方式"), "{detail}");
    assert!(detail.contains("lagging（滞后优先）"), "{detail}");
}

// ── the meeting view: one group, lagging first, 逾期未报 apart, Chinese months, A4 ──

/// One row of the dashboard, in the order the page shows it.
#[derive(Debug)]
struct PageRow {
    battle: String,
    id: String,
    status: String,
    /// The plan's 序号.
    position: Option<u32>,
    /// `overdue`, `not_due` or `received`.
    report: Option<String>,
    /// Folded under its group's 未到报送期 count.
    folded: bool,
}

fn page_rows(html: &str) -> Vec<PageRow> {
    let mut out = Vec::new();
    for chunk in html
        .split(r#"<section class="battle" data-battle=""#)
        .skip(1)
    {
        let battle = chunk[..chunk.find('"').unwrap()].to_string();
        let (open, folded) = chunk.split_at(chunk.find("<details").unwrap_or(chunk.len()));
        for (part, is_folded) in [(open, false), (folded, true)] {
            for tr in part.split(r#"<tr class="indicator-row" "#).skip(1) {
                let tag = &tr[..tr.find('>').unwrap()];
                let attr = |name: &str| {
                    let key = format!(r#"{name}=""#);
                    tag.find(&key).map(|i| {
                        let v = &tag[i + key.len()..];
                        v[..v.find('"').unwrap()].to_string()
                    })
                };
                out.push(PageRow {
                    battle: battle.clone(),
                    id: attr("data-indicator").unwrap(),
                    status: attr("data-status").unwrap(),
                    position: attr("data-position").and_then(|p| p.parse().ok()),
                    report: attr("data-report"),
                    folded: is_folded,
                });
            }
        }
    }
    out
}

/// The number shown by the summary's count `data-count="{which}"`.
fn count_of(html: &str, which: &str) -> usize {
    let at = html
        .find(&format!(r#"data-count="{which}""#))
        .unwrap_or_else(|| panic!("no {which} count"));
    let rest = &html[at..];
    let n = &rest[rest.find(r#"<span class="n">"#).unwrap() + r#"<span class="n">"#.len()..];
    n[..n.find('<').unwrap()].parse().unwrap()
}

/// How many answers of `/v1/attainment?as_of=&on=` are in each reporting state.
fn reporting_states(s: &TestServer, as_of: &str, on: &str) -> BTreeMap<String, usize> {
    let v = s.get_json(&format!("/v1/attainment?as_of={as_of}&on={on}"));
    let mut out = BTreeMap::new();
    for a in v["attainment"].as_array().unwrap() {
        let st = a["reporting"]["state"].as_str().expect("a reporting state");
        *out.entry(st.to_string()).or_default() += 1;
    }
    out
}

#[test]
fn a_group_filter_shows_that_group_alone() {
    // The meeting goes through the plan one group at a time: the other five groups'
    // sections must not stand there empty.
    let s = fixture_server();
    let want = ids_of(&s.get_json("/v1/indicators?battle=livelihood"));
    let name = s.get_json("/v1/indicators?battle=livelihood")[0]["group_name"]
        .as_str()
        .unwrap()
        .to_string();
    for query in [
        ("battle", "livelihood"),
        ("group", "livelihood"),
        ("group", name.as_str()),
    ] {
        let page = html(&s, "/", &[("as_of", "2023-06"), query]);
        let keys: Vec<String> = sections(&page).into_iter().map(|(b, _)| b).collect();
        assert_eq!(keys, ["livelihood"], "{query:?}");
        assert!(!page.contains("无符合条件的指标"), "{query:?}");
        let shown: BTreeSet<String> = page_rows(&page).into_iter().map(|r| r.id).collect();
        assert_eq!(shown, want, "{query:?}");
        // The summary counts that group, under its name; the way back to every group
        // and to each other group is a link.
        assert!(
            page.contains(&format!("{name}：共{}项", want.len())),
            "{query:?}"
        );
        assert!(page.contains(&format!(
            r#"aria-current="true" data-group="livelihood">{name}</a>"#
        )));
        assert!(page.contains(r#"<a class="choice" href="/?as_of=2023-06">全部板块</a>"#));
        assert!(page.contains(r#"href="/?as_of=2023-06&amp;group=growth" data-group="growth">"#));
    }
    // Without a group every group of the plan has its section, in the plan's order.
    let page = html(&s, "/", &[("as_of", "2023-06")]);
    let keys: Vec<String> = sections(&page).into_iter().map(|(b, _)| b).collect();
    assert_eq!(keys, BATTLES);
}

#[test]
fn an_unknown_group_answers_400_with_a_chinese_page_naming_it() {
    // A group mistyped in a bookmark: say which, in Chinese, and offer the plan's groups.
    let s = TestServer::start();
    let names = battle_names(&s);
    for (param, given, shown) in [
        ("group", "war", "war"),
        ("battle", "民生仗", "民生仗"),
        ("group", "<b>x", "&lt;b&gt;x"),
    ] {
        let r = get_q(&s, "/", &[("as_of", "2023-06"), (param, given)]);
        assert_eq!(r.status(), 400, "{param}={given}");
        assert_eq!(content_type(&r), "text/html; charset=utf-8");
        let body = r.text().unwrap();
        assert!(
            body.contains(&format!("“{shown}”不是桃江县打好发展“六仗”的板块")),
            "{param}={given}: {body}"
        );
        assert!(!body.contains("<b>x"));
        for name in &names {
            assert!(body.contains(&format!(">{name}</a>")), "{name}");
        }
        for key in BATTLES {
            assert!(body.contains(&format!(r#"href="/?as_of=2023-06&amp;group={key}""#)));
        }
        assert!(!body.contains(r#"<section class="battle""#));
    }
}

#[test]
fn sort_lagging_puts_severely_behind_and_behind_rows_first_in_each_group() {
    // 滞后优先: the rows the meeting must talk about come first, worst first, each
    // group's rows otherwise in the plan's order.
    let s = fixture_server();
    let june = attainment_at(&s, "2023-06");
    let rank = |r: &PageRow| match r.status.as_str() {
        "severely_behind" => 0,
        "missed" => 1,
        "behind" => 2,
        _ if r.report.as_deref() == Some("overdue") => 3,
        _ => 4,
    };
    let plain = page_rows(&html(&s, "/", &[("as_of", "2023-06")]));
    let lagging = page_rows(&html(&s, "/", &[("as_of", "2023-06"), ("sort", "lagging")]));
    assert_eq!(plain.len(), 203);
    assert_eq!(lagging.len(), 203);
    let mut moved = 0;
    for key in BATTLES {
        let open = |rows: &[PageRow]| -> Vec<(usize, u32, String)> {
            rows.iter()
                .filter(|r| r.battle == key && !r.folded)
                .map(|r| (rank(r), r.position.expect("a 序号"), r.id.clone()))
                .collect()
        };
        let (p, l) = (open(&plain), open(&lagging));
        // The plan's order: by 序号, as the API gives it.
        assert!(p.windows(2).all(|w| w[0].1 < w[1].1), "{key}: {p:?}");
        for (_, pos, id) in &p {
            assert_eq!(june[id]["target"]["position"], *pos, "{id}");
        }
        // Lagging first: by rank, then by 序号.
        assert!(
            l.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)),
            "{key}: {l:?}"
        );
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(l, sorted, "{key}: the same rows, reordered");
        if l != p {
            moved += 1;
        }
    }
    assert!(
        moved >= 3,
        "the fixture lags in most groups, so the order must change"
    );
    // The first rows of the page are lagging ones, and their statuses are the API's.
    let first = &lagging[0];
    assert_eq!(first.status, "severely_behind", "{first:?}");
    for r in &lagging {
        assert_eq!(june[&r.id]["status"], r.status.as_str(), "{}", r.id);
    }
    // The choice is a link that keeps the other filters, and a form field.
    let page = html(
        &s,
        "/",
        &[("as_of", "2023-06"), ("group", "risk"), ("sort", "lagging")],
    );
    assert!(page.contains(r#"<option value="lagging" selected>滞后优先</option>"#));
    assert!(page.contains(
        r#"href="/?as_of=2023-06&amp;group=risk&amp;sort=lagging" aria-current="true" data-sort="lagging">滞后优先</a>"#
    ));
}

#[test]
fn overdue_and_not_due_are_counted_apart_on_the_reporting_date() {
    // 逾期未报 is a figure someone owes; 未到报送期 is nobody's fault yet. The page
    // counts them apart, on the same day as the API, and folds the not-due rows.
    let s = fixture_server();
    let on = "2023-07-11";
    let api = reporting_states(&s, "2023-06", on);
    let page = html(&s, "/", &[("as_of", "2023-06"), ("on", on)]);
    let (overdue, not_due) = (api["overdue"], api["not_due"]);
    assert!(overdue > 0 && not_due > 0, "{api:?}");
    assert_eq!(count_of(&page, "overdue"), overdue);
    assert_eq!(count_of(&page, "not_due"), not_due);
    assert!(page.contains(r#"报送情况按<time datetime="2023-07-11">2023年7月11日</time>计"#));
    let rows = page_rows(&page);
    assert_eq!(rows.len(), 203, "folded rows are still on the page");
    let count = |f: &dyn Fn(&PageRow) -> bool| rows.iter().filter(|r| f(r)).count();
    assert_eq!(count(&|r| r.report.as_deref() == Some("overdue")), overdue);
    assert_eq!(
        count(&|r| r.report.as_deref() == Some("overdue") && r.folded),
        0
    );
    assert_eq!(
        count(&|r| r.folded),
        not_due,
        "the not-due rows, and only they, fold"
    );
    assert_eq!(
        count(&|r| r.folded && r.report.as_deref() == Some("not_due")),
        not_due
    );
    let folded: usize = page
        .split(r#"<details class="not-due" data-folded=""#)
        .skip(1)
        .map(|c| c[..c.find('"').unwrap()].parse::<usize>().unwrap())
        .sum();
    assert_eq!(folded, not_due);
    assert!(page.contains("<summary>未到报送期 "));
    // 只看逾期未报 shows those rows; the count links there, keeping the date.
    assert!(page.contains(
        r#"data-count="overdue" href="/?as_of=2023-06&amp;show=overdue&amp;on=2023-07-11""#
    ));
    let only = page_rows(&html(
        &s,
        "/",
        &[("as_of", "2023-06"), ("on", on), ("show", "overdue")],
    ));
    assert_eq!(only.len(), overdue);
    assert!(only.iter().all(|r| r.report.as_deref() == Some("overdue")));

    // The reporting date matters: on an empty store, nothing of 2023 is owed on
    // 2023-02-05 (January's figures are due on the 10th), much is on 2023-07-11.
    let empty = TestServer::start();
    let mut seen = Vec::new();
    for on in ["2023-02-05", "2023-07-11"] {
        let api = reporting_states(&empty, "2023-06", on);
        let page = html(&empty, "/", &[("as_of", "2023-06"), ("on", on)]);
        let (o, n) = (
            api.get("overdue").copied().unwrap_or(0),
            api.get("not_due").copied().unwrap_or(0),
        );
        assert_eq!(o + n, 203, "{on}: nothing is received: {api:?}");
        assert_eq!(count_of(&page, "overdue"), o, "{on}");
        assert_eq!(count_of(&page, "not_due"), n, "{on}");
        seen.push(o);
    }
    assert_eq!(seen[0], 0, "nothing is past due on 2023-02-05");
    assert!(
        seen[1] > 100,
        "most figures are past due on 2023-07-11: {seen:?}"
    );
}

#[test]
fn the_month_choice_is_written_in_chinese_by_the_server() {
    // A browser's month picker speaks the browser's language (English in a headless
    // one); the server writes the months, 2023年6月, and marks the one shown.
    let s = fixture_server();
    let page = html(&s, "/", &[("as_of", "2023-06"), ("on", "2023-07-11")]);
    assert!(!page.contains(r#"type="month""#));
    let select = &page[page
        .find(r#"<select name="as_of">"#)
        .expect("a month choice")..];
    let select = &select[..select.find("</select>").unwrap()];
    let options: Vec<(&str, &str)> = select
        .split("<option value=\"")
        .skip(1)
        .map(|o| {
            (
                &o[..7],
                &o[o.find('>').unwrap() + 1..o.find("</option>").unwrap()],
            )
        })
        .collect();
    assert!(options.len() >= 6, "the fixture's months: {options:?}");
    for (value, label) in &options {
        let (y, m) = value.split_once('-').unwrap();
        assert_eq!(*label, format!("{y}年{}月", m.trim_start_matches('0')));
    }
    assert!(options.contains(&("2023-03", "2023年3月")), "{options:?}");
    assert!(select.contains(r#"<option value="2023-06" selected>2023年6月</option>"#));
    assert_eq!(select.matches(" selected").count(), 1);
    // The other dates a reader sees are Chinese too.
    assert!(page.contains(r#"截至<time datetime="2023-07-11">2023年7月11日</time>"#));
    assert!(page.contains("<title>桃江县打好发展“六仗”指标监测 · 2023年6月</title>"));
    // The form sends as_of as the API reads it.
    let page = html(&s, "/", &[("as_of", "2023-03")]);
    assert!(page.contains(r#"<option value="2023-03" selected>2023年3月</option>"#));
}

#[test]
fn the_dashboard_prints_its_table_on_a4() {
    // 打印 gives the table on A4: the stylesheet's print rules set the page, hide the
    // controls and keep the rows whole.
    let s = TestServer::start();
    let css = s.get("/assets/dashboard.css").text().unwrap();
    let print = &css[css.find("@media print").expect("print rules")..];
    let page_rule = &print[print.find("@page").expect("an @page rule")..];
    let page_rule = &page_rule[..page_rule.find('}').unwrap()];
    assert!(page_rule.contains("size: A4;"), "{page_rule}");
    for hidden in [".filters", ".view-bar", ".print-button"] {
        assert!(print.contains(hidden), "{hidden} is not hidden in print");
    }
    assert!(print.contains("break-inside: avoid"));
    // The narrow-screen layout (rows as blocks) is for screens, not for the A4 page.
    assert!(css.contains("@media screen and (max-width: 760px)"));
    assert!(!css.contains("@media (max-width"));
    // The print button is there for the script to show; the page works without it.
    let page = html(&s, "/", &[("as_of", "2023-06")]);
    assert!(page
        .contains(r#"<button type="button" class="print-button" data-print hidden>打印</button>"#));
    let js = s.get("/assets/dashboard.js").text().unwrap();
    assert!(js.contains("window.print()"));
}

#[test]
fn names_and_source_quotes_are_escaped_on_every_page() {
    // Catalogue text is typed by people and may hold markup; the pages must show it
    // as text. (Reading notes are not shown on any page; the note below only checks
    // that nothing of it leaks out unescaped.)
    let s = TestServer::with_catalogue(
        r#"
[[indicator]]
id = "escape-test"
name = "R&D <b>投入</b>"
name_en = "Tom's \"R&D\""
battle = "innovation"
kind = "cumulative"
unit = "个"
direction = "up"
frequency = "monthly"
lead_units = ["县科工局"]
source = { section = "第<1>节", quote = "<script>alert(\"x\")</script> & 'q'" }
[indicator.target]
value = 10
comparator = "at_least"
"#,
    );
    let r = s.put_reading(
        "escape-test",
        "2023-06",
        json!({"value": 4, "note": "<script>alert('note')</script>"}),
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());

    let name = "R&amp;D &lt;b&gt;投入&lt;/b&gt;";
    let dash = html(&s, "/", &[("as_of", "2023-06")]);
    assert!(dash.contains(&format!(">{name}</a>")), "dashboard row name");

    let page = html(&s, "/indicators/escape-test", &[("as_of", "2023-06")]);
    assert!(page.contains(&format!("<h1>{name}</h1>")));
    // `'` is left as it is: in text, and in attribute values (always in double
    // quotes), a single quote ends nothing.
    assert!(page.contains(r#"<span lang="en">Tom's &quot;R&amp;D&quot;</span>"#));
    assert!(page.contains(r#"<p class="section">第&lt;1&gt;节</p>"#));
    assert!(page.contains(
        "<blockquote>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'q'</blockquote>"
    ));
    for p in [&dash, &page] {
        assert!(!p.contains("<script>alert"), "raw script in a page");
        assert!(!p.contains("<b>投入"), "raw markup in a page");
    }

    // The same name inside the SVG must still leave well-formed XML.
    let svg = get_q(
        &s,
        "/v1/indicators/escape-test/chart.svg",
        &[("as_of", "2023-06")],
    )
    .text()
    .unwrap();
    let doc = parse_svg(&svg);
    assert!(
        doc.text.contains("R&D <b>投入</b>"),
        "the title reads as the name: {}",
        doc.text
    );
}

// ── /indicators/{id} ─────────────────────────────────────────────────────

#[test]
fn the_indicator_page_shows_its_figures_and_an_inline_chart() {
    // The page a leader opens from the dashboard: the same figures as the API.
    let s = fixture_server();
    let a = s.attainment(SME, "2023-06");
    let page = html(&s, &format!("/indicators/{SME}"), &[("as_of", "2023-06")]);
    assert!(page.contains("<h1>科技型中小企业入库</h1>"));
    assert!(page.contains("<svg"), "an inline chart");
    assert!(page.contains(&format!("/v1/indicators/{SME}/chart.svg?as_of=2023-06")));
    let actual = a["actual"].as_f64().unwrap();
    let att = a["attainment"].as_f64().unwrap();
    let pace = a["scheduled_pace"].as_f64().unwrap();
    for cell in [
        format!("<td>{actual}家</td>"),
        "<td>150家以上</td>".to_string(),
        format!("<td>{:.1}%</td>", att * 100.0),
        format!("<td>{:.1}%</td>", pace * 100.0),
        format!("<td>{}家</td>", a["year_end_gap"].as_f64().unwrap()),
    ] {
        assert!(page.contains(&cell), "no {cell}");
    }
    assert!(page.contains(&format!(
        r#"<span class="status status-{}">"#,
        a["status"].as_str().unwrap()
    )));
}

#[test]
fn an_unknown_indicator_page_is_a_404_html_page() {
    // A browser should get a page it can render, with the id escaped.
    let s = TestServer::start();
    let r = s.get("/indicators/no-such-indicator");
    assert_eq!(r.status(), 404);
    assert_eq!(content_type(&r), "text/html; charset=utf-8");
    let body = r.text().unwrap();
    assert!(body.contains("未找到指标"));
    assert!(body.contains("<code>no-such-indicator</code>"));

    let r = s.get("/indicators/%3Cb%3Ex");
    assert_eq!(r.status(), 404);
    let body = r.text().unwrap();
    assert!(body.contains("<code>&lt;b&gt;x</code>"), "{body}");
}

// ── /assets ──────────────────────────────────────────────────────────────

#[test]
fn assets_are_served_with_their_content_types_and_head_has_no_body() {
    // Browsers refuse a stylesheet or script with the wrong type; HEAD is what caches
    // and link checkers send.
    let s = TestServer::start();
    for (path, ct, needle) in [
        ("/assets/dashboard.css", "text/css; charset=utf-8", "{"),
        (
            "/assets/dashboard.js",
            "text/javascript; charset=utf-8",
            "function",
        ),
    ] {
        let r = s.get(path);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(content_type(&r), ct, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(needle), "{path}");

        let r = s.client.head(s.url(path)).send().unwrap();
        assert_eq!(r.status(), 200, "HEAD {path}");
        assert_eq!(content_type(&r), ct, "HEAD {path}");
        assert_eq!(header(&r, "content-length"), body.len().to_string());
        assert!(r.bytes().unwrap().is_empty(), "HEAD {path} has a body");
    }
}

// ── /v1/indicators/{id}/chart.svg ────────────────────────────────────────

/// What a parsed SVG holds: its root element and all its text.
struct Svg {
    root: String,
    text: String,
    circles: usize,
}

/// Notes an element: the first is the root; every attribute must read.
fn element(e: &quick_xml::events::BytesStart<'_>, root: &mut Option<String>, circles: &mut usize) {
    let name = e.name().as_ref().to_string();
    for a in e.attributes() {
        let a = a.unwrap_or_else(|err| panic!("bad attribute in <{name}>: {err}"));
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .unwrap_or_else(|err| panic!("bad attribute value in <{name}>: {err}"));
    }
    if name == "circle" {
        *circles += 1;
    }
    root.get_or_insert(name);
}

/// Parses SVG as XML (end tags checked, every attribute read), or panics.
fn parse_svg(svg: &str) -> Svg {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut root = None;
    let mut text = String::new();
    let mut circles = 0;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                element(&e, &mut root, &mut circles);
            }
            Ok(Event::Empty(e)) => element(&e, &mut root, &mut circles),
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push(match &*r {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity &{other};"),
                }),
            },
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed XML at {}: {e}\n{svg}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    Svg {
        root: root.expect("an element"),
        text,
        circles,
    }
}

#[test]
fn the_chart_is_well_formed_svg_with_a_legend_and_honours_as_of() {
    // The chart is downloaded and pasted into reports; it must open anywhere and show
    // the period it was asked for.
    let s = fixture_server();
    let chart = |as_of: &str| {
        let r = get_q(
            &s,
            &format!("/v1/indicators/{SME}/chart.svg"),
            &[("as_of", as_of)],
        );
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "image/svg+xml");
        r.text().unwrap()
    };
    let june = chart("2023-06");
    let march = chart("2023-03");
    let (j, m) = (parse_svg(&june), parse_svg(&march));
    assert_eq!(j.root, "svg");
    for word in ["实际", "序时进度", "目标"] {
        assert!(j.text.contains(word), "legend word {word}");
    }
    assert!(j.text.contains("截至2023-06"), "{}", j.text);
    assert!(m.text.contains("截至2023-03"), "{}", m.text);
    assert!(!m.text.contains("截至2023-06"));

    // One point per reading up to as_of (plus the legend's marker).
    let readings = s.get_json(&format!("/v1/indicators/{SME}/readings"));
    let periods: Vec<&str> = readings
        .as_array()
        .expect("a list of readings")
        .iter()
        .map(|r| r["period"].as_str().unwrap())
        .collect();
    let upto = |end: &str| periods.iter().filter(|p| **p <= end).count();
    assert!(upto("2023-06") > upto("2023-03"));
    assert_eq!(j.circles, upto("2023-06") + 1);
    assert_eq!(m.circles, upto("2023-03") + 1);
}

#[test]
fn the_chart_answers_404_for_an_unknown_id_and_400_for_a_bad_as_of() {
    // An API client gets problem+json, not an empty picture.
    let s = TestServer::start();
    assert_problem(
        s.get("/v1/indicators/no-such-indicator/chart.svg"),
        404,
        None,
        "unknown id",
    );
    assert_problem(
        s.get(&format!("/v1/indicators/{SME}/chart.svg?as_of=2023-13")),
        400,
        Some("as_of"),
        "bad as_of",
    );
}

// ── /v1/reports ──────────────────────────────────────────────────────────

/// The six battles' Chinese names, from the API.
fn battle_names(s: &TestServer) -> BTreeSet<String> {
    let names: BTreeSet<String> = s
        .get_json("/v1/indicators")
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["group_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    names
}

#[test]
fn the_monthly_bulletin_in_md_html_and_csv_names_every_battle_and_lagging_indicator() {
    // The 月通报 is what the office circulates: it must carry every battle and every
    // indicator the alerts flag for that month.
    let s = fixture_server();
    let battles = battle_names(&s);
    let alerts = s.get_json("/v1/alerts?as_of=2023-06");
    let lagging: Vec<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(lagging.len() > 10, "the fixture lags in June: {alerts}");

    for (format, ct) in [
        ("md", "text/markdown; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"),
    ] {
        let r = get_q(
            &s,
            "/v1/reports/monthly",
            &[("as_of", "2023-06"), ("format", format)],
        );
        assert_eq!(r.status(), 200, "{format}");
        assert_eq!(content_type(&r), ct, "{format}");
        assert!(
            header(&r, "content-disposition").contains("bulletin-2023-06."),
            "{format}"
        );
        let body = r.text().unwrap();
        // The CSV is one flat table (a row per indicator), so it has no title line.
        if format != "csv" {
            assert!(body.contains(JUNE_TITLE), "{format}: title");
        }
        for b in &battles {
            assert!(body.contains(b.as_str()), "{format}: battle {b}");
        }
        for name in &lagging {
            assert!(body.contains(name), "{format}: lagging {name}");
        }
    }
}

#[test]
fn word_and_excel_bulletins_are_zip_attachments() {
    // Office files must download as files and open as Office files.
    let s = fixture_server();
    for (format, ct, part) in [
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "word/document.xml",
        ),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xl/workbook.xml",
        ),
    ] {
        let r = get_q(
            &s,
            "/v1/reports/monthly",
            &[("as_of", "2023-06"), ("format", format)],
        );
        assert_eq!(r.status(), 200, "{format}");
        assert_eq!(content_type(&r), ct, "{format}");
        // The ASCII name, then the office's name (RFC 6266).
        assert!(
            header(&r, "content-disposition").starts_with(&format!(
                "attachment; filename=\"bulletin-2023-06.{format}\"; filename*=UTF-8''"
            )),
            "{format}"
        );
        let bytes = r.bytes().unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("{format} is not a zip: {e}"));
        let mut xml = String::new();
        zip.by_name(part)
            .unwrap_or_else(|e| panic!("{format}: no {part}: {e}"))
            .read_to_string(&mut xml)
            .unwrap();
        assert!(!xml.is_empty(), "{format}: empty {part}");
    }
    let docx = get_q(
        &s,
        "/v1/reports/monthly",
        &[("as_of", "2023-06"), ("format", "docx")],
    )
    .bytes()
    .unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(docx.to_vec())).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(
        xml.contains("科技创新攻坚仗"),
        "the document has the battles"
    );
}

#[test]
fn bad_report_requests_name_the_field_or_answer_404() {
    // A quarterly summary only exists at a quarter end; an unknown kind is not a
    // resource; an unknown format is the caller's mistake in one field.
    let s = TestServer::start();
    let body = assert_problem(
        s.get("/v1/reports/quarterly?as_of=2023-05"),
        400,
        Some("as_of"),
        "quarterly at May",
    );
    assert!(
        body["detail"].as_str().unwrap().contains("2023-05"),
        "{body}"
    );
    assert_problem(s.get("/v1/reports/yearly"), 404, None, "yearly");
    assert_problem(
        s.get("/v1/reports/monthly?as_of=2023-06&format=pdf"),
        400,
        Some("format"),
        "pdf",
    );
    // At a quarter end the summary exists.
    let r = s.get("/v1/reports/quarterly?as_of=2023-06&format=md");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("2023年第2季度重点指标监测总结"));
}

// ── /metrics ─────────────────────────────────────────────────────────────

/// One sample of the exposition text.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses `name{k="v",…} value` lines (comments skipped).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (name, rest) = match line.find('{') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => {
                    let (n, v) = line.split_once(' ').expect("name value");
                    return Sample {
                        name: n.into(),
                        labels: BTreeMap::new(),
                        value: v.trim().parse().expect("a number"),
                    };
                }
            };
            let mut labels = BTreeMap::new();
            let mut chars = rest.chars();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut val = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => val.push('\n'),
                            Some(c) => val.push(c),
                            None => panic!("{line}"),
                        },
                        '"' => break,
                        c => val.push(c),
                    }
                }
                labels.insert(key.trim_start_matches(',').to_string(), val);
                match chars.clone().next() {
                    Some(',') => {
                        chars.next();
                        if chars.clone().next() == Some('}') {
                            chars.next();
                            break;
                        }
                    }
                    Some('}') => {
                        chars.next();
                        break;
                    }
                    other => panic!("{line}: unexpected {other:?}"),
                }
            }
            let value: String = chars.collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.trim().parse().unwrap_or_else(|_| panic!("{line}")),
            }
        })
        .collect()
}

fn metrics(s: &TestServer, query: &str) -> String {
    let r = s.get(&format!("/metrics{query}"));
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "text/plain; version=0.0.4; charset=utf-8");
    r.text().unwrap()
}

/// One indicator gauge: id → value.
fn gauge(all: &[Sample], name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for smp in all.iter().filter(|x| x.name == name) {
        let id = smp.labels["indicator"].clone();
        assert!(
            out.insert(id.clone(), smp.value).is_none(),
            "{name} {id} twice"
        );
    }
    out
}

#[test]
fn metrics_have_help_and_type_lines_and_one_current_status_per_indicator() {
    // Prometheus needs HELP/TYPE to make sense of a family, and an alert rule on
    // `zhibiao_indicator_status == 1` must fire once per indicator, never twice.
    let s = fixture_server();
    let text = metrics(&s, "?as_of=2023-06");
    for family in [
        "zhibiao_indicator_attainment_ratio",
        "zhibiao_indicator_scheduled_pace_ratio",
        "zhibiao_indicator_status",
        "zhibiao_indicator_actual",
        "zhibiao_indicator_target",
        "zhibiao_as_of_info",
        "zhibiao_http_requests_total",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "HELP {family}");
        assert!(text.contains(&format!("# TYPE {family} ")), "TYPE {family}");
    }
    assert!(text.contains("# TYPE zhibiao_http_requests_total counter"));
    assert!(text.contains("zhibiao_as_of_info{as_of=\"2023-06\"} 1"));

    let all = samples(&text);
    let at = attainment_at(&s, "2023-06");
    let mut current: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for smp in all.iter().filter(|x| x.name == "zhibiao_indicator_status") {
        assert!(smp.value == 0.0 || smp.value == 1.0, "{smp:?}");
        if smp.value == 1.0 {
            current
                .entry(smp.labels["indicator"].clone())
                .or_default()
                .push(smp.labels["status"].clone());
        }
    }
    assert_eq!(current.len(), 203);
    for (id, sts) in &current {
        assert_eq!(sts.len(), 1, "{id}: {sts:?}");
        assert_eq!(at[id]["status"], sts[0].as_str(), "{id}");
    }
}

#[test]
fn metrics_gauges_agree_with_the_attainment_api() {
    // "exactly what /v1/attainment says": a Grafana panel and the JSON API must never
    // disagree about a county's figures.
    let s = fixture_server();
    for (query, as_of) in [
        ("?as_of=2023-06", "2023-06".to_string()),
        ("", {
            s.get_json("/v1/attainment")["as_of"]
                .as_str()
                .unwrap()
                .to_string()
        }),
    ] {
        let all = samples(&metrics(&s, query));
        let at = attainment_at(&s, &as_of);
        for (gauge_name, field) in [
            ("zhibiao_indicator_attainment_ratio", "attainment"),
            ("zhibiao_indicator_scheduled_pace_ratio", "scheduled_pace"),
            ("zhibiao_indicator_actual", "actual"),
            ("zhibiao_indicator_year_end_gap", "year_end_gap"),
            ("zhibiao_indicator_deviation", "deviation"),
        ] {
            let g = gauge(&all, gauge_name);
            for (id, a) in &at {
                match (a[field].as_f64(), g.get(id)) {
                    (Some(want), Some(got)) => assert!(
                        (want - got).abs() < 1e-6,
                        "{as_of} {gauge_name} {id}: metrics {got}, API {want}"
                    ),
                    (None, None) => {}
                    (want, got) => {
                        panic!("{as_of} {gauge_name} {id}: metrics {got:?}, API {want:?}")
                    }
                }
            }
            assert!(g.keys().all(|id| at.contains_key(id)), "{gauge_name}");
        }
        // A few by hand, so the comparison above is not vacuous.
        let att = gauge(&all, "zhibiao_indicator_attainment_ratio");
        assert!(att.len() > 50, "{as_of}: {} attainment gauges", att.len());
        let target = gauge(&all, "zhibiao_indicator_target");
        assert_eq!(target[SME], 150.0);
        assert_eq!(target["gdp-growth"], 8.0);
        let sme = at[SME]["attainment"].as_f64().unwrap();
        assert!(
            (att[SME] - sme).abs() < 1e-9,
            "{as_of}: {} vs {sme}",
            att[SME]
        );
    }
}

#[test]
fn request_counters_rise_and_are_labelled_by_route_pattern() {
    // Counters are how an operator sees traffic; labels must be route patterns so a
    // crawler cannot blow up the number of series with ids.
    // The counters belong to the whole process, and tests inside this one run side by
    // side: the server counted here is a process of its own.
    let s = TestServer::builder().process().start();
    load_fixture(&s);
    let key = |all: &[Sample]| {
        all.iter()
            .find(|x| {
                x.name == "zhibiao_http_requests_total"
                    && x.labels.get("method").map(String::as_str) == Some("GET")
                    && x.labels.get("route").map(String::as_str) == Some("/healthz")
                    && x.labels.get("status").map(String::as_str) == Some("200")
            })
            .map_or(0.0, |x| x.value)
    };
    let before = key(&samples(&metrics(&s, "")));
    for _ in 0..3 {
        assert_eq!(s.get("/healthz").status(), 200);
    }
    let after = key(&samples(&metrics(&s, "")));
    assert_eq!(after - before, 3.0, "healthz counter {before} → {after}");

    // Requests naming real ids, known and unknown paths.
    for path in [
        format!("/v1/indicators/{SME}/attainment?as_of=2023-06"),
        format!("/v1/indicators/{SME}"),
        format!("/indicators/{SME}"),
        "/indicators/gdp-growth".to_string(),
        "/v1/indicators/gdp-growth/chart.svg".to_string(),
        "/v1/indicators/gdp-growth/readings/2023-06".to_string(),
        "/v1/indicators/no-such-indicator".to_string(),
        "/no/such/gdp-growth".to_string(),
    ] {
        s.get(&path);
    }
    let all = samples(&metrics(&s, ""));
    let ids = ids_of(&s.get_json("/v1/indicators"));
    let routes: BTreeSet<String> = all
        .iter()
        .filter(|x| x.name.starts_with("zhibiao_http_"))
        .map(|x| x.labels["route"].clone())
        .collect();
    for route in &routes {
        assert!(
            !ids.iter().any(|id| route.contains(id.as_str())),
            "route label {route} carries an indicator id"
        );
        assert!(!route.contains("no-such"), "route label {route}");
    }
    for want in [
        "/v1/indicators/{}/attainment",
        "/v1/indicators/{}",
        "/indicators/{}",
        "/v1/indicators/{}/chart.svg",
        "/v1/indicators/{}/readings/{}",
        "/healthz",
        "/metrics",
        "other",
    ] {
        assert!(routes.contains(want), "no route label {want} in {routes:?}");
    }
}

// ── methods ──────────────────────────────────────────────────────────────

#[test]
fn posting_to_a_page_answers_405_with_allow() {
    // The pages are read-only; a client that POSTs should learn what it may do.
    let s = TestServer::start();
    for path in ["/", "/metrics"] {
        let r = s.client.post(s.url(path)).body("x").send().unwrap();
        assert_eq!(r.status(), 405, "POST {path}");
        let allow = header(&r, "allow");
        assert!(
            allow.split(',').any(|m| m.trim() == "GET"),
            "POST {path}: Allow {allow:?}"
        );
        assert_eq!(content_type(&r), "application/problem+json");
    }
}

#[test]
fn metrics_narrow_by_battle_and_count_statuses_per_battle() {
    // A province-sized catalogue is scraped per battle or lead unit; the counts per
    // battle and status stay in every scrape and agree with /v1/attainment.
    let s = fixture_server();
    let all = samples(&metrics(&s, "?as_of=2023-06&battle=growth"));
    let ids = gauge(&all, "zhibiao_indicator_actual");
    assert!(!ids.is_empty());
    let rows = attainment_at(&s, "2023-06");
    let growth: BTreeMap<String, String> = rows
        .iter()
        .filter(|(_, r)| r["group"] == "growth")
        .map(|(id, r)| (id.clone(), r["status"].as_str().unwrap().to_string()))
        .collect();
    for id in ids.keys() {
        assert!(growth.contains_key(id), "{id} is not a growth indicator");
    }
    let mut counted = 0.0;
    for smp in all.iter().filter(|x| x.name == "zhibiao_indicators") {
        assert_eq!(smp.labels["group"], "growth", "{smp:?}");
        let want = growth
            .values()
            .filter(|st| **st == smp.labels["status"])
            .count() as f64;
        assert_eq!(smp.value, want, "{smp:?}");
        counted += smp.value;
    }
    assert_eq!(counted, growth.len() as f64);
    let omitted: Vec<_> = all
        .iter()
        .filter(|x| x.name == "zhibiao_indicator_series_omitted")
        .collect();
    assert_eq!(omitted.len(), 1);
    assert_eq!(omitted[0].value, 0.0);
    let r = s.get("/metrics?battle=nonsense");
    assert_eq!(r.status(), 400);
}
