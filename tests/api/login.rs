//! Sign-in for people: the 登录 page, the session cookie and its flags, expiry and
//! revocation, CSRF checks of page form posts (refused before the body is read), and
//! `/v1/*` staying bearer-only.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;

use crate::helpers::*;

const SME: &str = "tech-sme-registered";

/// A client that shows redirects instead of following them, and keeps no cookies.
fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// POSTs the 登录 form with `token`, from this server's own origin.
fn post_login(s: &TestServer, path: &str, token: &str) -> Response {
    browser()
        .post(s.url(path))
        .header("origin", &s.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", token)])
        .send()
        .expect("POST /login")
}

/// Signs in with `token` and returns the session cookie (`zhibiao_session=…`).
fn sign_in(s: &TestServer, token: &str) -> String {
    let r = post_login(s, "/login", token);
    assert_eq!(r.status(), 303, "sign in: {}", r.text().unwrap_or_default());
    cookie_of(&r)
}

fn cookie_of(r: &Response) -> String {
    let set = header(r, "set-cookie");
    set.split(';').next().unwrap().to_string()
}

/// GETs a page with the cookie and returns its HTML.
fn page(s: &TestServer, path: &str, cookie: &str) -> String {
    let r = browser()
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().unwrap()
}

/// The CSRF token a signed-in page carries.
fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"<meta name="csrf-token" content=""#)
        .expect("a signed-in page carries its CSRF token");
    let rest = &html[at + r#"<meta name="csrf-token" content=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

const SIGNED_IN: &str = "当前用户：kgj（填报员，负责单位：县科工局）";

#[test]
fn the_login_page_asks_for_the_token_in_a_password_field_and_says_whom_to_ask() {
    let s = TestServer::start();
    let r = s.get("/login?next=/indicators/tech-sme-registered");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    let html = r.text().unwrap();
    assert!(html.contains("<h1>登录</h1>"));
    assert!(html.contains(r#"type="password" id="token" name="token" autocomplete="off""#));
    assert!(html.contains("县统计局"), "says whom to ask for a token");
    assert!(html.contains(r#"action="/login?next=%2Findicators%2Ftech-sme-registered""#));
}

#[test]
fn signing_in_sets_a_strict_http_only_cookie_and_the_pages_show_who_is_signed_in() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let r = post_login(&s, &format!("/login?next=/indicators/{SME}"), &token);
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), format!("/indicators/{SME}"));
    let set = header(&r, "set-cookie");
    assert!(set.starts_with("zhibiao_session="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.split("; ").any(|f| f == flag), "{flag} in {set}");
    }
    // Plain HTTP, no proxy: a Secure cookie would never come back.
    assert!(!set.contains("Secure"), "{set}");
    // The id is 256 random bits.
    assert_eq!(cookie_of(&r).len(), "zhibiao_session=".len() + 64);
    let cookie = cookie_of(&r);

    for path in ["/", &format!("/indicators/{SME}")] {
        let r = browser()
            .get(s.url(path))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(header(&r, "cache-control"), "private, no-store", "{path}");
        let html = r.text().unwrap();
        assert!(html.contains(SIGNED_IN), "{path}");
        assert!(
            html.contains(r#"action="/logout" data-csrf"#),
            "{path}: 退出"
        );
        assert!(html.contains(r#"<script src="/assets/session.js" defer>"#));
        assert_eq!(csrf_of(&html).len(), 64);
    }
    // Signed out, the same page shows nobody.
    let html = s.get("/").text().unwrap();
    assert!(!html.contains("当前用户") && !html.contains("csrf-token"));
    // The session id is stored only by its hash.
    let id = cookie.trim_start_matches("zhibiao_session=");
    let raw: [u8; 32] = hex::decode(id).unwrap().try_into().unwrap();
    assert!(s.store().session(&raw).unwrap().is_none());
    let stored = s.store().session(&zhibiao::store::hash_secret(id)).unwrap();
    assert_eq!(
        stored.expect("kept by the hash of its id").token_name,
        "kgj"
    );
    assert_eq!(s.store().session_count(), 1);
    let js = s.get("/assets/session.js");
    assert_eq!(js.status(), 200);
    assert!(js.text().unwrap().contains("X-CSRF-Token"));
}

#[test]
fn behind_a_trusted_https_proxy_the_cookie_is_secure() {
    let s = TestServer::start_with(&["--trust-proxy", "127.0.0.1"]);
    let token = s.submitter("kgj", &["县科工局"]);
    let host = s.base.trim_start_matches("http://").to_string();
    for (name, value) in [
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=198.51.100.7;proto=https"),
    ] {
        let r = browser()
            .post(s.url("/login"))
            .header(name, value)
            // The browser saw the proxy's https origin.
            .header("origin", format!("https://{host}"))
            .form(&[("token", token.as_str())])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "{name}");
        let set = header(&r, "set-cookie");
        assert!(set.ends_with("; Secure"), "{name}: {set}");
    }
    // An untrusted peer cannot ask for it: without --trust-proxy the header is ignored.
    let plain = TestServer::start();
    let token = plain.submitter("kgj", &["县科工局"]);
    let r = browser()
        .post(plain.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("token", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!header(&r, "set-cookie").contains("Secure"));
}

#[test]
fn a_wrong_token_answers_the_page_again_without_a_cookie_and_repeats_are_throttled() {
    let s = TestServer::builder()
        .auth_throttle(3, Duration::from_secs(600))
        .start();
    let good = s.submitter("kgj", &["县科工局"]);
    for i in 0..3 {
        let r = post_login(&s, "/login", "zb_wrong");
        assert_eq!(r.status(), 401, "attempt {i}");
        assert!(header(&r, "set-cookie").is_empty());
        let html = r.text().unwrap();
        assert!(html.contains("令牌不正确"), "{html}");
        assert!(html.contains(r#"type="password""#), "the form again");
    }
    let r = post_login(&s, "/login", "zb_wrong");
    assert_eq!(r.status(), 429);
    assert!(!header(&r, "retry-after").is_empty());
    assert!(header(&r, "set-cookie").is_empty());
    assert!(r.text().unwrap().contains("次数过多"));
    // A right token is never refused by the throttle.
    sign_in(&s, &good);
    // English when the browser prefers it.
    let r = browser()
        .post(s.url("/login"))
        .header("accept-language", "en")
        .form(&[("token", "")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .unwrap()
        .contains("enter your name and password (or a token)"));
}

#[test]
fn an_unknown_or_expired_cookie_is_signed_out() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let unknown = format!("zhibiao_session={}", "ab".repeat(32));
    assert!(!page(&s, "/", &unknown).contains("当前用户"));
    assert!(!page(&s, "/", "zhibiao_session=not-an-id").contains("当前用户"));

    // Idle for longer than 8 hours.
    let cookie = sign_in(&s, &token);
    assert!(page(&s, "/", &cookie).contains(SIGNED_IN));
    s.advance(Duration::from_secs(8 * 3600 + 60));
    assert!(!page(&s, "/", &cookie).contains("当前用户"));
    assert_eq!(
        s.store().session_count(),
        0,
        "an expired session is removed"
    );

    // Used every few hours, but signed in more than 12 hours ago.
    let cookie = sign_in(&s, &token);
    for _ in 0..3 {
        s.advance(Duration::from_secs(3 * 3600 + 1800));
        assert!(page(&s, "/", &cookie).contains(SIGNED_IN));
    }
    // 12.5 hours after sign-in, 2 hours after the last use.
    s.advance(Duration::from_secs(2 * 3600));
    assert!(!page(&s, "/", &cookie).contains("当前用户"));
}

#[test]
fn revoking_a_token_ends_its_sessions() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let cookie = sign_in(&s, &token);
    assert!(page(&s, "/", &cookie).contains(SIGNED_IN));
    let r = s
        .client
        .delete(s.url("/v1/tokens/kgj"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!page(&s, "/", &cookie).contains("当前用户"));
    // A new token of the same name does not bring the old session back.
    s.submitter("kgj", &["县科工局"]);
    assert!(!page(&s, "/", &cookie).contains("当前用户"));
}

#[test]
fn a_form_post_needs_the_session_s_csrf_token_and_this_site_s_origin() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let cookie = sign_in(&s, &token);
    let csrf = csrf_of(&page(&s, "/", &cookie));
    let evil = "http://evil.example".to_string();
    let wrong = "0".repeat(64);
    // (why, X-CSRF-Token, Sec-Fetch-Site, Origin)
    type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let refused: [Case; 5] = [
        // A cross-site HTML form cannot send the header at all.
        ("no token", None, Some("same-origin"), Some(&s.base)),
        (
            "a token of another session",
            Some(&wrong),
            Some("same-origin"),
            None,
        ),
        // The right token does not help a request another site sent.
        ("cross-site", Some(&csrf), Some("cross-site"), None),
        (
            "same-site is not same-origin",
            Some(&csrf),
            Some("same-site"),
            None,
        ),
        ("another origin", Some(&csrf), None, Some(&evil)),
    ];
    for (why, token, site, origin) in refused {
        let mut rq = browser().post(s.url("/logout")).header("cookie", &cookie);
        if let Some(t) = token {
            rq = rq.header("x-csrf-token", t);
        }
        if let Some(v) = site {
            rq = rq.header("sec-fetch-site", v);
        }
        if let Some(o) = origin {
            rq = rq.header("origin", o);
        }
        let r = rq.send().unwrap();
        assert_eq!(r.status(), 403, "{why}");
        assert_eq!(header(&r, "content-type"), "application/problem+json");
        let v: Value = r.json().unwrap();
        assert_eq!(v["type"], "urn:zhibiao:problem:forbidden");
        assert!(
            v["detail"].as_str().unwrap().contains("拒绝"),
            "{why}: Chinese by default: {v}"
        );
    }
    assert!(
        page(&s, "/", &cookie).contains(SIGNED_IN),
        "still signed in"
    );
    // In English when asked.
    let r = browser()
        .post(s.url("/logout"))
        .header("cookie", &cookie)
        .header("accept-language", "en")
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("X-CSRF-Token header"));

    // The page's own post: signed out, cookie cleared, back to 登录.
    let r = browser()
        .post(s.url("/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("sec-fetch-site", "same-origin")
        .header("origin", &s.base)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/login");
    let set = header(&r, "set-cookie");
    assert!(
        set.starts_with("zhibiao_session=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    assert!(!page(&s, "/", &cookie).contains("当前用户"));
    assert_eq!(s.store().session_count(), 0);
}

#[test]
fn sessions_stay_out_of_backups_and_the_store_check() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let cookie = sign_in(&s, &token);
    let csrf = csrf_of(&page(&s, "/", &cookie));
    let r = s
        .client
        .get(s.url("/v1/admin/backup"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let backup = r.text().unwrap();
    assert!(backup.contains("\"kgj\""), "the token is backed up");
    assert!(!backup.contains(&csrf), "its session is not");
    assert!(!backup.to_lowercase().contains("session"));
    let report = s.store().check().unwrap();
    assert_eq!(report.problem_count, 0, "{:?}", report.problems);
}

#[test]
fn an_https_origin_of_this_host_passes_without_a_trusted_proxy() {
    // A TLS proxy the server was not told about: the browser's origin is https.
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let host = s.base.trim_start_matches("http://").to_string();
    let r = browser()
        .post(s.url("/login"))
        .header("origin", format!("https://{host}"))
        .form(&[("token", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    // Another host over https does not.
    let r = browser()
        .post(s.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[test]
fn the_login_form_from_another_site_is_refused() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let r = browser()
            .post(s.url("/login"))
            .header(name, value)
            .form(&[("token", token.as_str())])
            .send()
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
        assert!(header(&r, "set-cookie").is_empty());
    }
}

/// Sends a request head declaring a large body and sends no body; returns the status
/// line and how long the answer took.
fn head_only(s: &TestServer, head: &str) -> (String, Duration) {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    tcp.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = tcp.read(&mut buf).expect("an answer before the body");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_string();
    (
        text.lines().next().unwrap_or("").to_string(),
        started.elapsed(),
    )
}

#[test]
fn a_post_without_its_csrf_token_is_refused_before_its_body_is_read() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    let cookie = sign_in(&s, &token);
    let host = s.base.trim_start_matches("http://");
    let (status, took) = head_only(
        &s,
        &format!(
            "POST /logout HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n"
        ),
    );
    assert!(status.contains(" 403 "), "{status}");
    // The server's body timeout is 30 s: an answer this quick read nothing.
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The login form too, on its origin checks.
    let (status, took) = head_only(
        &s,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3000\r\n\r\n"
        ),
    );
    assert!(status.contains(" 403 "), "{status}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_session_does_not_authenticate_v1_but_admits_the_pages_of_a_private_server() {
    let s = TestServer::start_with(&["--private"]);
    let token = s.submitter("kgj", &["县科工局"]);
    // The 登录 page and its stylesheet are open.
    assert_eq!(s.get("/login").status(), 200);
    assert_eq!(s.get("/assets/dashboard.css").status(), 200);
    let cookie = sign_in(&s, &token);
    for path in ["/v1/attainment", "/v1/summary", "/metrics"] {
        let r = browser()
            .get(s.url(path))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "{path}: a cookie is not a bearer token");
    }
    let r = browser()
        .get(s.url("/v1/attainment"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Nor does it write.
    let r = browser()
        .put(s.url(&format!("/v1/indicators/{SME}/readings/2023-06")))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"value": 60}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401, "a write with only the cookie");
    // The pages take the session...
    assert!(page(&s, "/", &cookie).contains(SIGNED_IN));
    assert!(page(&s, &format!("/indicators/{SME}"), &cookie).contains(SIGNED_IN));
    // ... and send a browser without one to 登录, to come back afterwards.
    let r = browser()
        .get(s.url(&format!("/indicators/{SME}?as_of=2023-06")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        header(&r, "location"),
        format!("/login?next=/indicators/{SME}%3Fas_of%3D2023-06")
    );
    let r = browser().get(s.url("/")).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), "/login");
    // A script with a wrong token still gets 401, not a page.
    let r = browser()
        .get(s.url("/"))
        .bearer_auth("zb_wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn next_pointing_at_another_site_is_not_followed() {
    let s = TestServer::start();
    let token = s.submitter("kgj", &["县科工局"]);
    for next in [
        "//evil.example",
        "https://evil.example/",
        "/%5Cevil.example",
        "evil.example",
    ] {
        let r = post_login(&s, &format!("/login?next={next}"), &token);
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(header(&r, "location"), "/", "{next}");
    }
}
