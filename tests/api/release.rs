//! 报送 → 审核 → 发布 with `serve --publish reviewed` (the default): a month's figures
//! are seen by their unit, the bureau and admins only, until the bureau releases the
//! month; released at a set time, they appear everywhere at once; 退回 and correction
//! before release; a correction after release is a revision. And accounts: a user's
//! sign-in and downloads land in the access log, and five wrong passwords lock that
//! account only.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use crate::helpers::*;

const JOBS: &str = "new-urban-jobs";

fn reviewed() -> TestServer {
    TestServer::builder()
        .args(&["--publish", "reviewed"])
        .start()
}

fn anon(s: &TestServer, path: &str) -> Response {
    s.get(path)
}

fn admin_get(s: &TestServer, path: &str) -> Value {
    let r = Client::new()
        .get(s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path} as admin");
    r.json().unwrap()
}

fn post(s: &TestServer, path: &str, token: &str, body: Value) -> Response {
    Client::new()
        .post(s.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
}

fn put_as(s: &TestServer, token: &str, period: &str, value: f64) {
    let r = Client::new()
        .put(s.url(&format!("/v1/indicators/{JOBS}/readings/{period}")))
        .bearer_auth(token)
        .json(&json!({ "value": value }))
        .send()
        .unwrap();
    assert!(
        r.status().is_success(),
        "PUT {period}: {}",
        r.text().unwrap()
    );
}

/// Reviews every figure of `period` and releases it at once.
fn review_and_release(s: &TestServer, period: &str) {
    let r = post(
        s,
        &format!("/v1/periods/{period}/review"),
        ADMIN_TOKEN,
        json!({}),
    );
    assert_eq!(r.status(), 200, "review: {}", r.text().unwrap());
    let r = post(
        s,
        &format!("/v1/periods/{period}/release"),
        ADMIN_TOKEN,
        json!({}),
    );
    assert_eq!(r.status(), 200, "release: {}", r.text().unwrap());
}

/// Every read a member of the public has, each with what it must show of May and June.
fn public_reads(s: &TestServer) -> Vec<(String, String)> {
    [
        "/v1/attainment",
        "/v1/alerts",
        "/v1/summary",
        &format!("/v1/indicators/{JOBS}/attainment"),
        &format!("/v1/indicators/{JOBS}/readings"),
        "/v1/quality",
        "/",
        &format!("/indicators/{JOBS}"),
        &format!("/v1/indicators/{JOBS}/chart.svg"),
        "/v1/reports/monthly?format=md",
        "/metrics",
    ]
    .iter()
    .map(|p| {
        let r = anon(s, p);
        assert_eq!(r.status(), 200, "GET {p}");
        (p.to_string(), r.text().unwrap())
    })
    .collect()
}

#[test]
fn a_month_under_review_is_seen_by_its_unit_and_the_bureau_only_until_its_set_release_time() {
    let s = reviewed();
    let unit = s.submitter("rsj", &["县人社局"]);
    let other = s.submitter("kgj", &["县科工局"]);
    let reader = s.token("reader", "reader", &[]);

    // Nothing released yet: the public is told so, not shown an empty board.
    s.submit(JOBS, "2023-05", 2100.0);
    let r = anon(&s, "/v1/attainment");
    assert_eq!(r.status(), 403);
    let p: Value = r.json().unwrap();
    assert!(p["type"].as_str().unwrap().ends_with("unreleased"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("待发布"), "{p}");

    review_and_release(&s, "2023-05");
    // June is submitted, under review: 2,987 new jobs (a figure that appears nowhere else).
    put_as(&s, &unit, "2023-06", 2987.0);

    // The public, a reader's token and another unit's token: May, everywhere.
    for token in [None, Some(&reader), Some(&other)] {
        let get = |p: &str| {
            let mut b = Client::new().get(s.url(p));
            if let Some(t) = token {
                b = b.bearer_auth(t);
            }
            b.send().unwrap()
        };
        let a: Value = get("/v1/attainment").json().unwrap();
        assert_eq!(a["as_of"], "2023-05", "{token:?}");
        assert_eq!(a["release"]["released_through"], "2023-05");
        assert_eq!(a["release"]["pending"], "2023-06");
        assert_eq!(a["release"]["pending_label"], "待发布");
        assert_eq!(get("/v1/attainment?as_of=2023-06").status(), 403);
        assert_eq!(
            get(&format!("/v1/indicators/{JOBS}/readings/2023-06")).status(),
            403
        );
        assert_eq!(
            get(&format!("/v1/indicators/{JOBS}/readings/2023-06/revisions")).status(),
            403
        );
        assert_eq!(
            get(&format!("/v1/indicators/{JOBS}/chart.svg?as_of=2023-06")).status(),
            403
        );
        assert_eq!(get("/v1/reports/monthly?as_of=2023-06").status(), 403);
        assert_eq!(get("/v1/alerts?as_of=2023-06").status(), 403);
    }
    for (path, body) in public_reads(&s) {
        assert!(!body.contains("2987"), "{path} shows the unreleased figure");
    }
    let pages = public_reads(&s);
    let dashboard = &pages.iter().find(|(p, _)| p == "/").unwrap().1;
    assert!(
        dashboard.contains("2023年6月数据待发布"),
        "the dashboard says June is pending"
    );
    assert!(
        !dashboard.contains("value=\"2023-06\""),
        "June is not offered in the month choice"
    );
    let one: Value = anon(&s, &format!("/v1/indicators/{JOBS}/attainment"))
        .json()
        .unwrap();
    assert_eq!(one["as_of"], "2023-05");
    let list: Value = anon(&s, &format!("/v1/indicators/{JOBS}/readings"))
        .json()
        .unwrap();
    let periods: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["period"].as_str().unwrap())
        .collect();
    assert!(
        !periods
            .iter()
            .any(|p| p.contains("6月") || p.contains("06")),
        "{periods:?}"
    );
    // The alert stream's first event is May's.
    let stream = Client::builder()
        .timeout(None::<Duration>)
        .build()
        .unwrap()
        .get(s.url("/v1/alerts/stream"))
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = first_event(stream);
    assert_eq!(first["as_of"], "2023-05", "{first}");

    // Its unit and the bureau see June.
    let own: Value = Client::new()
        .get(s.url(&format!("/v1/indicators/{JOBS}/readings/2023-06")))
        .bearer_auth(&unit)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(own["value"], 2987.0);
    assert_eq!(admin_get(&s, "/v1/attainment")["as_of"], "2023-06");
    assert!(admin_get(&s, "/v1/attainment").get("release").is_none());

    // Reviewed, and set to be released at 09:00 tomorrow (the server's zone).
    let r = post(&s, "/v1/periods/2023-06/review", ADMIN_TOKEN, json!({}));
    assert_eq!(r.status(), 200);
    let tomorrow = (s.now() + chrono::Duration::days(1))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let at = format!("{tomorrow} 09:00");
    let r = post(
        &s,
        "/v1/periods/2023-06/release",
        ADMIN_TOKEN,
        json!({ "at": at }),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let v: Value = r.json().unwrap();
    assert_eq!(v["state"], "scheduled");
    for (path, body) in public_reads(&s) {
        assert!(
            !body.contains("2987"),
            "{path} shows June before its release time"
        );
    }
    // The time comes: everything shows June at once, with no write in between.
    s.advance(Duration::from_secs(2 * 86_400));
    for (path, body) in public_reads(&s) {
        if path.starts_with("/v1/indicators/") && path.ends_with("/attainment")
            || path == "/v1/quality"
            || path == "/v1/alerts"
            || path == "/v1/summary"
            || path == "/metrics"
            || path.ends_with("chart.svg")
        {
            continue;
        }
        assert!(
            body.contains("2987") || body.contains("2,987"),
            "{path} does not show June"
        );
    }
    let a: Value = anon(&s, "/v1/attainment").json().unwrap();
    assert_eq!(a["as_of"], "2023-06");
    assert!(a["release"]["pending"].is_null());
    assert_eq!(
        anon(&s, "/v1/alerts").json::<Value>().unwrap()["as_of"],
        "2023-06"
    );
    assert_eq!(
        anon(&s, "/v1/summary").json::<Value>().unwrap()["as_of"],
        "2023-06"
    );
    let one: Value = anon(&s, &format!("/v1/indicators/{JOBS}/attainment"))
        .json()
        .unwrap();
    assert_eq!(one["as_of"], "2023-06");
    let r = anon(&s, &format!("/v1/indicators/{JOBS}/readings/2023-06"));
    assert_eq!(r.status(), 200);
    // A release that happened cannot be taken back.
    let r = Client::new()
        .delete(s.url("/v1/periods/2023-06/release"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
}

/// Reads the first Server-Sent Event's data.
fn first_event(r: Response) -> Value {
    use std::io::BufRead;
    for line in std::io::BufReader::new(r).lines() {
        let line = line.unwrap();
        if let Some(d) = line.strip_prefix("data:") {
            return serde_json::from_str(d.trim()).unwrap();
        }
    }
    panic!("the stream ended before its first event")
}

#[test]
fn a_returned_figure_blocks_the_release_until_its_unit_corrects_it_and_it_passes() {
    let s = reviewed();
    let unit = s.submitter("rsj", &["县人社局"]);
    put_as(&s, &unit, "2023-06", 2987.0);
    // A unit cannot review.
    let r = post(&s, "/v1/periods/2023-06/review", &unit, json!({}));
    assert_eq!(r.status(), 403);
    // 退回 needs a note.
    let r = post(
        &s,
        "/v1/periods/2023-06/review",
        ADMIN_TOKEN,
        json!({"returned": [{"indicator": JOBS, "note": " "}]}),
    );
    assert_eq!(r.status(), 400);
    let r = post(
        &s,
        "/v1/periods/2023-06/review",
        ADMIN_TOKEN,
        json!({"returned": [{"indicator": JOBS, "note": "与人社系统台账不符，请核对"}]}),
    );
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["returned"], 1);
    // The release is refused, naming the figure and why.
    let r = post(&s, "/v1/periods/2023-06/release", ADMIN_TOKEN, json!({}));
    assert_eq!(r.status(), 409);
    let p: Value = r.json().unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains(JOBS) && detail.contains("已退回"),
        "{detail}"
    );
    // The unit sees what was sent back.
    let mine: Value = Client::new()
        .get(s.url("/v1/periods/2023-06"))
        .bearer_auth(&unit)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let item = &mine["items"][0];
    assert_eq!(item["state"], "returned");
    assert_eq!(item["note"], "与人社系统台账不符，请核对");
    // Corrected: judged again.
    put_as(&s, &unit, "2023-06", 2978.0);
    let v = admin_get(&s, "/v1/periods/2023-06");
    assert_eq!(v["items"][0]["state"], "resubmitted");
    assert_eq!(v["items"][0]["revision"], 2);
    assert_eq!(
        anon(&s, "/v1/attainment").status(),
        403,
        "still nothing released"
    );
    review_and_release(&s, "2023-06");
    let got: Value = anon(&s, &format!("/v1/indicators/{JOBS}/readings/2023-06"))
        .json()
        .unwrap();
    assert_eq!(got["value"], 2978.0);
    let log = admin_get(&s, "/v1/access-log?action=return,release");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["release", "return"], "newest first");
}

#[test]
fn a_correction_after_release_is_public_at_once_as_a_revision() {
    let s = reviewed();
    let unit = s.submitter("rsj", &["县人社局"]);
    put_as(&s, &unit, "2023-06", 2987.0);
    review_and_release(&s, "2023-06");
    put_as(&s, &unit, "2023-06", 3012.0);
    let got: Value = anon(&s, &format!("/v1/indicators/{JOBS}/readings/2023-06"))
        .json()
        .unwrap();
    assert_eq!(got["value"], 3012.0);
    assert_eq!(got["revision"], 2);
    let revs: Value = anon(
        &s,
        &format!("/v1/indicators/{JOBS}/readings/2023-06/revisions"),
    )
    .json()
    .unwrap();
    let values: Vec<f64> = revs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["new"]["value"].as_f64())
        .collect();
    assert!(
        values.contains(&2987.0) && values.contains(&3012.0),
        "{revs}"
    );
    // A released month is not reviewed again.
    let r = post(&s, "/v1/periods/2023-06/review", ADMIN_TOKEN, json!({}));
    assert_eq!(r.status(), 409);
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie (`zhibiao_session=…`) a sign-in set.
fn cookie_of(r: &Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn sign_in(s: &TestServer, name: &str, password: &str) -> Response {
    no_redirects()
        .post(s.url("/login"))
        .header("origin", &s.base)
        .form(&[("name", name), ("password", password)])
        .send()
        .unwrap()
}

fn create_user(s: &TestServer, name: &str, password: &str) {
    let r = post(
        s,
        "/v1/users",
        ADMIN_TOKEN,
        json!({"name": name, "password": password, "role": "submitter", "units": ["县人社局"]}),
    );
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
}

#[test]
fn a_user_s_sign_in_and_download_land_in_the_access_log() {
    let s = reviewed();
    create_user(&s, "张三", "rsj-2023-pass");
    // The hash, never the password, is kept; the list shows neither.
    let users = admin_get(&s, "/v1/users");
    assert_eq!(users[0]["name"], "张三");
    assert!(users[0].get("password_hash").is_none());
    let r = sign_in(&s, "张三", "rsj-2023-pass");
    assert_eq!(r.status(), 303);
    let cookie = cookie_of(&r);
    // The 数据报送 page knows who signed in.
    let page = no_redirects()
        .get(s.url("/submit"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("张三"), "the page names the user");
    let r = no_redirects()
        .get(s.url("/submit/template.xlsx?period=2023-06"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = admin_get(&s, "/v1/access-log?who=张三");
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["download", "sign_in"], "{log}");
    assert_eq!(entries[0]["who"], "user:张三");
    assert_eq!(entries[1]["address"], "127.0.0.1");
    assert!(
        entries[0]["what"].as_str().unwrap().contains("数据报送表"),
        "{log}"
    );
    // CSV, with the same columns.
    let csv = Client::new()
        .get(s.url("/v1/access-log?format=csv&action=sign_in"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        csv.lines().next().unwrap().contains("action_label"),
        "{csv}"
    );
    assert!(csv.contains("user:张三"), "{csv}");
    // A reset ends the sessions opened before it.
    let r = Client::new()
        .put(s.url("/v1/users/张三/password"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"password": "another-pass-1"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = no_redirects()
        .get(s.url("/submit"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "signed out by the reset");
}

#[test]
fn five_wrong_passwords_lock_that_account_and_not_the_address_s_other_users() {
    let s = reviewed();
    create_user(&s, "zhangsan", "right-pass-1");
    create_user(&s, "lisi", "right-pass-2");
    for _ in 0..5 {
        assert_eq!(sign_in(&s, "zhangsan", "wrong-pass").status(), 401);
    }
    let r = sign_in(&s, "zhangsan", "right-pass-1");
    assert_eq!(r.status(), 429, "locked, even with the right password");
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().unwrap().contains("已锁定"));
    // Another account, from the same address, signs in.
    assert_eq!(sign_in(&s, "lisi", "right-pass-2").status(), 303);
    // After a while, the account opens again.
    s.advance(Duration::from_secs(16 * 60));
    assert_eq!(sign_in(&s, "zhangsan", "right-pass-1").status(), 303);
    let log = admin_get(&s, "/v1/access-log?action=sign_in_failed&who=zhangsan");
    assert_eq!(
        log["count"], 6,
        "five wrong passwords and one refusal while locked"
    );
}

/// The CSRF token of a signed-in page.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf-token\" content=\"")
        .expect("a signed-in page")
        + 27;
    page[at..at + 64].to_string()
}

fn page_post(
    s: &TestServer,
    path: &str,
    cookie: &str,
    csrf: &str,
    form: &[(&str, &str)],
) -> Response {
    no_redirects()
        .post(s.url(path))
        .header("origin", &s.base)
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .form(form)
        .send()
        .unwrap()
}

#[test]
fn the_bureau_reviews_returns_and_releases_a_month_on_its_page() {
    let s = reviewed();
    let r = post(
        &s,
        "/v1/users",
        ADMIN_TOKEN,
        json!({"name": "统计局王五", "password": "tjj-review-1", "role": "submitter", "units": ["县统计局"]}),
    );
    assert_eq!(r.status(), 201);
    create_user(&s, "张三", "rsj-2023-pass");
    s.submit(JOBS, "2023-06", 2987.0);
    s.submit("cpi", "2023-06", 101.2);
    let cookie = cookie_of;
    // A unit's clerk is told the page is the bureau's.
    let clerk = cookie(&sign_in(&s, "张三", "rsj-2023-pass"));
    let r = no_redirects()
        .get(s.url("/review"))
        .header("cookie", &clerk)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("县统计局或管理员"));

    let bureau = cookie(&sign_in(&s, "统计局王五", "tjj-review-1"));
    let page = no_redirects()
        .get(s.url("/review"))
        .header("cookie", &bureau)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("审核与发布") && page.contains("2023年6月"),
        "{page}"
    );
    assert!(page.contains(&format!("data-indicator=\"{JOBS}\"")));
    let token = csrf_of(&page);
    // The CPI figure passes, the jobs figure is sent back.
    let note = "与人社系统台账不符";
    let r = page_post(
        &s,
        "/review/verdicts",
        &bureau,
        &token,
        &[
            ("period", "2023-06"),
            ("pass", "cpi"),
            (&format!("return_{JOBS}"), note),
        ],
    );
    assert_eq!(r.status(), 200);
    let page = r.text().unwrap();
    assert!(page.contains("已审核通过1项，退回1项"), "{page}");
    assert!(page.contains(note));
    // Releasing now is refused while a figure is sent back, and the page says which.
    let r = page_post(
        &s,
        "/review/release",
        &bureau,
        &token,
        &[("period", "2023-06"), ("at", "")],
    );
    assert_eq!(r.status(), 409);
    assert!(r.text().unwrap().contains("已退回"));
    // Corrected, passed, released.
    s.submit(JOBS, "2023-06", 2978.0);
    let r = page_post(
        &s,
        "/review/verdicts",
        &bureau,
        &token,
        &[("period", "2023-06"), ("pass", JOBS)],
    );
    assert_eq!(r.status(), 200);
    let r = page_post(
        &s,
        "/review/release",
        &bureau,
        &token,
        &[("period", "2023-06"), ("at", "")],
    );
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("2023年6月数据已发布"));
    let a: Value = anon(&s, "/v1/attainment").json().unwrap();
    assert_eq!(a["as_of"], "2023-06");
    let log = admin_get(
        &s,
        "/v1/access-log?who=统计局王五&action=release,return,review",
    );
    assert_eq!(log["count"], 4, "{log}");
}

#[test]
fn a_user_changes_their_own_password_and_signs_in_with_the_new_one() {
    let s = reviewed();
    create_user(&s, "张三", "rsj-2023-pass");
    let r = sign_in(&s, "张三", "rsj-2023-pass");
    let cookie = cookie_of(&r);
    let page = no_redirects()
        .get(s.url("/account"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let token = csrf_of(&page);
    let change = |current: &str, new: &str, confirm: &str| {
        page_post(
            &s,
            "/account/password",
            &cookie,
            &token,
            &[("current", current), ("new", new), ("confirm", confirm)],
        )
    };
    let r = change("wrong-pass", "new-pass-2024", "new-pass-2024");
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("当前密码不正确"));
    let r = change("rsj-2023-pass", "new-pass-2024", "new-pass-2025");
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("不一致"));
    let r = change("rsj-2023-pass", "short", "short");
    assert_eq!(r.status(), 400);
    let r = change("rsj-2023-pass", "new-pass-2024", "new-pass-2024");
    assert_eq!(r.status(), 303);
    assert_eq!(sign_in(&s, "张三", "rsj-2023-pass").status(), 401);
    assert_eq!(sign_in(&s, "张三", "new-pass-2024").status(), 303);
}
