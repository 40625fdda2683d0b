//! 数据报送 in the browser, as a signed-in clerk of 县科工局 sends the month: the page,
//! the template of its own units, an upload previewed row by row with a 说明 box for
//! a refused row, the confirm (written as previewed, or nothing when a row changed),
//! the one-figure form, and the refusals (signed out, no CSRF header, a reader).

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use rust_xlsxwriter::Workbook;

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const SME: &str = "tech-sme-registered";
const HIGH_TECH: &str = "new-high-tech-enterprises";
const RD: &str = "rd-expenditure-growth";

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A signed-in browser: its cookie and the CSRF token its pages carry.
struct Clerk {
    cookie: String,
    csrf: String,
}

fn sign_in(s: &TestServer, token: &str) -> Clerk {
    let r = browser()
        .post(s.url("/login"))
        .header("origin", &s.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let html = get(s, "/submit?period=2023-06", &cookie).text().unwrap();
    let at = html.find(r#"<meta name="csrf-token" content=""#).unwrap() + 33;
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_string();
    Clerk { cookie, csrf }
}

fn get(s: &TestServer, path: &str, cookie: &str) -> Response {
    browser()
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

/// A form post as the page's script sends it: same origin, with the CSRF header.
fn post(s: &TestServer, c: &Clerk, path: &str, ct: &str, body: Vec<u8>) -> Response {
    browser()
        .post(s.url(path))
        .header("cookie", &c.cookie)
        .header("origin", &s.base)
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", &c.csrf)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap()
}

fn urlencoded(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

/// A `multipart/form-data` body with one file part.
fn form(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----zhibiaoSubmitPage42";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {XLSX}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn workbook(rows: &[(&str, &str, f64)]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["指标编码", "报告期", "本期数"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (id, p, v)) in rows.iter().enumerate() {
        ws.write_string(r as u32 + 1, 0, *id).unwrap();
        ws.write_string(r as u32 + 1, 1, *p).unwrap();
        ws.write_number(r as u32 + 1, 2, *v).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn value_of(s: &TestServer, id: &str, period: &str) -> Option<f64> {
    let r = s.get(&format!("/v1/indicators/{id}/readings/{period}"));
    if r.status() == 404 {
        return None;
    }
    r.json::<serde_json::Value>().unwrap()["value"].as_f64()
}

/// A hidden field's value in a page.
fn hidden(html: &str, name: &str) -> String {
    let key = format!(r#"name="{name}" value=""#);
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + key.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// Uploads `xlsx` for June and returns the preview page.
fn preview(s: &TestServer, c: &Clerk, xlsx: &[u8]) -> (u16, String) {
    let (ct, body) = form("县科工局2023年6月数据报送表.xlsx", xlsx);
    let r = post(s, c, "/submit/preview?period=2023-06", &ct, body);
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn a_signed_out_browser_is_sent_to_sign_in_and_back() {
    let s = TestServer::start();
    let r = get(&s, "/submit?period=2023-06", "");
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/login?next=/submit%3Fperiod%3D2023-06"
    );
    let r = get(&s, "/submit/template.xlsx?period=2023-06", "");
    assert_eq!(r.status(), 303);
}

#[test]
fn the_page_offers_the_template_the_upload_and_one_figure_form_for_its_own_units() {
    let s = TestServer::start();
    s.submit(SME, "2023-06", 63.0);
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let r = get(&s, "/submit?period=2023-06", &c.cookie);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let html = r.text().unwrap();
    assert!(html.contains("<h1>数据报送</h1>"));
    assert!(html.contains("报送单位：县科工局"));
    assert!(html.contains(r#"href="/submit/template.xlsx?period=2023-06""#));
    assert!(html.contains(
        r#"action="/submit/preview?period=2023-06" enctype="multipart/form-data" data-csrf"#
    ));
    assert!(html.contains(r#"action="/submit/figure" data-csrf"#));
    assert!(html.contains(r#"<option value="2023-06" selected>2023年6月</option>"#));
    // The one-figure form and the status table hold the unit's indicators only.
    assert!(html.contains(&format!(r#"<option value="{SME}">"#)));
    assert!(!html.contains(r#"<option value="gdp-growth">"#));
    assert!(html.contains(&format!(r#"<tr data-indicator="{SME}">"#)));
    assert!(!html.contains(r#"data-indicator="gdp-growth""#));
    assert!(html.contains("63家"), "June's figure in the status table");
    assert!(html.contains("未报"), "indicators not reported say so");
    // In October a quarterly figure is not due: not "未报".
    let html = get(&s, "/submit?period=2023-10", &c.cookie).text().unwrap();
    let row = &html[html
        .find(&format!(r#"<tr data-indicator="{SME}">"#))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("本月不报") && !row.contains("未报<"), "{row}");
}

#[test]
fn the_template_of_the_page_holds_only_the_clerks_units() {
    use calamine::{Data, Reader, Xlsx};
    let s = TestServer::start();
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let r = get(&s, "/submit/template.xlsx?period=2023-06", &c.cookie);
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.contains("filename*=UTF-8''%E5%8E%BF%E7%A7%91%E5%B7%A5%E5%B1%80"),
        "{cd}"
    );
    let bytes = r.bytes().unwrap().to_vec();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let head: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let lead = head
        .iter()
        .position(|h| h == "牵头单位")
        .expect("a 牵头单位 column");
    let id = head.iter().position(|h| h == "指标编码").unwrap();
    let rows: Vec<&[Data]> = range
        .rows()
        .skip(1)
        .filter(|r| !r[id].to_string().is_empty())
        .collect();
    assert!(rows.len() >= 20, "{} rows", rows.len());
    for r in &rows {
        assert!(r[lead].to_string().contains("县科工局"), "{:?}", r);
    }
    assert!(rows.iter().any(|r| r[id] == SME));
    assert!(!rows.iter().any(|r| r[id] == "gdp-growth"));
}

#[test]
fn an_upload_is_previewed_row_by_row_then_confirmed_with_a_written_explanation() {
    let s = TestServer::start();
    s.submit(HIGH_TECH, "2023-05", 12.0);
    s.submit(RD, "2023-06", 9.0);
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let xlsx = workbook(&[
        (SME, "2023-06", 63.0),      // row 2: 新增
        (RD, "2023-06", 10.5),       // row 3: 更新 9 → 10.5
        (HIGH_TECH, "2023-06", 8.0), // row 4: 累计值回落 (12 in May)
    ]);
    let (st, html) = preview(&s, &c, &xlsx);
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("<h1>报送预览</h1>"));
    assert!(
        html.contains(r#"<tr class="action-created" data-row="2">"#),
        "{html}"
    );
    assert!(html.contains(r#"<tr class="action-replaced" data-row="3">"#));
    assert!(html.contains(r#"<tr class="action-failed_checks" data-row="4">"#));
    assert!(html.contains("9% → 10.5%"), "old → new");
    assert!(
        html.contains(r#"name="explanation.4""#),
        "a 说明 box for the refused row"
    );
    assert!(html.contains("确认提交"));
    assert!(
        !html.contains("dashboard.js"),
        "no auto-refresh under a preview"
    );
    // Nothing yet.
    assert_eq!(value_of(&s, SME, "2023-06"), None);
    assert_eq!(value_of(&s, RD, "2023-06"), Some(9.0));

    let (upload, confirm) = (hidden(&html, "upload"), hidden(&html, "confirm"));
    // Without the 说明 the refused row refuses the sheet: the preview again, saying why.
    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[("upload", &upload), ("confirm", &confirm)]),
    );
    assert_eq!(r.status(), 422);
    let again = r.text().unwrap();
    assert!(
        again.contains("未通过数据审核") && again.contains("第4行"),
        "{again}"
    );
    assert!(again.contains(r#"name="explanation.4""#));
    assert_eq!(value_of(&s, SME, "2023-06"), None, "nothing written");

    // With it, the sheet is written as previewed.
    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[
            ("upload", &upload),
            ("confirm", &confirm),
            ("explanation.4", "两家企业资质到期，已核实"),
        ]),
    );
    assert_eq!(r.status(), 200);
    let done = r.text().unwrap();
    assert!(done.contains("<h1>报送结果</h1>"), "{done}");
    assert!(done.contains("已写入 <strong>3</strong> 行"), "{done}");
    assert!(done.contains("累计值回落"), "the flagged row says so");
    assert!(
        done.contains(&format!(r#"<tr data-indicator="{SME}">"#)),
        "the unit's statuses"
    );
    assert_eq!(value_of(&s, SME, "2023-06"), Some(63.0));
    assert_eq!(value_of(&s, RD, "2023-06"), Some(10.5));
    assert_eq!(value_of(&s, HIGH_TECH, "2023-06"), Some(8.0));
    // The kept file is gone once written: the same confirm again writes nothing twice.
    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[("upload", &upload), ("confirm", &confirm)]),
    );
    assert_eq!(r.status(), 409);
    assert!(r.text().unwrap().contains("预览已过期"));
}

#[test]
fn a_confirm_after_a_previewed_row_changed_writes_nothing_and_shows_the_new_preview() {
    let s = TestServer::start();
    s.submit(RD, "2023-06", 9.0);
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let xlsx = workbook(&[(SME, "2023-06", 63.0), (RD, "2023-06", 10.5)]);
    let (_, html) = preview(&s, &c, &xlsx);
    let (upload, confirm) = (hidden(&html, "upload"), hidden(&html, "confirm"));
    // Another unit's write does not void it; a write to a previewed row does.
    s.submit("gdp-growth", "2023-06", 5.5);
    s.submit(RD, "2023-06", 9.5);
    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[("upload", &upload), ("confirm", &confirm)]),
    );
    assert_eq!(r.status(), 409);
    let html = r.text().unwrap();
    assert!(html.contains("预览之后，本表中有数据已被修改"), "{html}");
    assert!(html.contains("9.5% → 10.5%"), "the new preview");
    let new = hidden(&html, "confirm");
    assert_ne!(new, confirm);
    assert_eq!(value_of(&s, SME, "2023-06"), None);
    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[("upload", &upload), ("confirm", &new)]),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(value_of(&s, RD, "2023-06"), Some(10.5));
}

#[test]
fn a_page_form_post_without_the_csrf_header_is_refused_and_writes_nothing() {
    let s = TestServer::start();
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let xlsx = workbook(&[(SME, "2023-06", 63.0)]);
    let (ct, body) = form("a.xlsx", &xlsx);
    for (path, ct, body) in [
        ("/submit/preview?period=2023-06", ct.as_str(), body),
        (
            "/submit/figure",
            "application/x-www-form-urlencoded",
            urlencoded(&[("indicator", SME), ("period", "2023-06"), ("value", "63")]),
        ),
    ] {
        let r = browser()
            .post(s.url(path))
            .header("cookie", &c.cookie)
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let p: serde_json::Value = r.json().unwrap();
        assert!(
            p["detail"].as_str().unwrap().contains("X-CSRF-Token"),
            "{p}"
        );
    }
    assert_eq!(value_of(&s, SME, "2023-06"), None);
}

#[test]
fn one_figure_by_hand_is_read_as_excel_writes_it_and_checked_like_any_other() {
    let s = TestServer::start();
    s.submit(HIGH_TECH, "2023-05", 12.0);
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let figure = |fields: &[(&str, &str)]| {
        let r = post(
            &s,
            &c,
            "/submit/figure",
            "application/x-www-form-urlencoded",
            urlencoded(fields),
        );
        (r.status().as_u16(), r.text().unwrap())
    };
    // Full-width digits, as an input method types them.
    let (st, html) = figure(&[("indicator", SME), ("period", "2023-06"), ("value", "６３")]);
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("<h1>报送结果</h1>"));
    assert_eq!(value_of(&s, SME, "2023-06"), Some(63.0));
    // Not a number: the month's page again, saying so in Chinese.
    let (st, html) = figure(&[("indicator", SME), ("period", "2023-06"), ("value", "六十")]);
    assert_eq!(st, 422);
    assert!(
        html.contains("不是数字") && html.contains("<h1>数据报送</h1>"),
        "{html}"
    );
    // A fall of a cumulative count is refused until explained, then stored flagged.
    let (st, html) = figure(&[
        ("indicator", HIGH_TECH),
        ("period", "2023-06"),
        ("value", "8"),
    ]);
    assert_eq!(st, 422);
    assert!(
        html.contains("未通过审核") && html.contains("强制上报说明"),
        "{html}"
    );
    assert_eq!(value_of(&s, HIGH_TECH, "2023-06"), None);
    let (st, html) = figure(&[
        ("indicator", HIGH_TECH),
        ("period", "2023-06"),
        ("value", "8"),
        ("explanation", "两家企业资质到期，已核实"),
    ]);
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("累计值回落"));
    assert_eq!(value_of(&s, HIGH_TECH, "2023-06"), Some(8.0));
    // Another unit's indicator is not the clerk's to write.
    let (st, html) = figure(&[
        ("indicator", "gdp-growth"),
        ("period", "2023-06"),
        ("value", "5"),
    ]);
    assert_eq!(st, 422);
    assert!(html.contains("不由您的单位报送"), "{html}");
    assert_eq!(value_of(&s, "gdp-growth", "2023-06"), None);
}

#[test]
fn a_reader_sees_why_it_cannot_submit() {
    let s = TestServer::start();
    let reader = s.token("ck", "reader", &[]);
    let c = sign_in(&s, &reader);
    let html = get(&s, "/submit?period=2023-06", &c.cookie).text().unwrap();
    assert!(html.contains("查阅用户，不能报送数据"), "{html}");
    assert!(!html.contains("/submit/figure"));
    let r = get(&s, "/submit/template.xlsx?period=2023-06", &c.cookie);
    assert_eq!(r.status(), 403);
    let xlsx = workbook(&[(SME, "2023-06", 63.0)]);
    let (st, _) = preview(&s, &c, &xlsx);
    assert_eq!(st, 403);
    assert_eq!(value_of(&s, SME, "2023-06"), None);
}

#[test]
fn a_row_with_only_a_note_is_previewed_as_备注_and_kept_on_confirm() {
    let s = TestServer::start();
    let c = sign_in(&s, &s.submitter("kgj", &["县科工局"]));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (col, h) in ["指标编码", "报告期", "本期数", "备注"].iter().enumerate() {
        ws.write_string(0, col as u16, *h).unwrap();
    }
    ws.write_string(1, 0, SME).unwrap();
    ws.write_string(1, 1, "2023-06").unwrap();
    ws.write_number(1, 2, 63.0).unwrap();
    ws.write_string(2, 0, RD).unwrap();
    ws.write_string(2, 1, "2023-06").unwrap();
    ws.write_string(2, 3, "研发投入数据待统计局核实后补报")
        .unwrap();
    let xlsx = wb.save_to_buffer().unwrap();

    let (st, html) = preview(&s, &c, &xlsx);
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains(r#"<tr class="action-note" data-row="3">"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="action action-note">备注</span>"#));
    assert!(html.contains("只有备注 <strong>1</strong> 行"), "{html}");

    let r = post(
        &s,
        &c,
        "/submit/confirm?period=2023-06",
        "application/x-www-form-urlencoded",
        urlencoded(&[
            ("upload", &hidden(&html, "upload")),
            ("confirm", &hidden(&html, "confirm")),
        ]),
    );
    assert_eq!(r.status(), 200);
    let done = r.text().unwrap();
    assert!(done.contains("已写入 <strong>1</strong> 行"), "{done}");
    assert!(done.contains("保存备注 1 行（数据仍须补报）"), "{done}");
    assert!(
        done.contains("备注：研发投入数据待统计局核实后补报"),
        "{done}"
    );
    assert_eq!(value_of(&s, SME, "2023-06"), Some(63.0));
    assert_eq!(value_of(&s, RD, "2023-06"), None);
}
