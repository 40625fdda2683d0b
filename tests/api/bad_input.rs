//! Bad input: every rejection answers problem+json with the right status and field,
//! and leaves the store exactly as it was.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::blocking::{RequestBuilder, Response};
use serde_json::{json, Value};

use crate::helpers::*;

/// A rate indicator and a cumulative one, each holding one good reading for `PERIOD`.
const RATE: &str = "gdp-growth";
const CUMULATIVE: &str = "tech-sme-registered";
const PERIOD: &str = "2023-06";

/// Checks a problem+json answer and returns its body.
fn assert_problem(r: Response, status: u16, field: Option<&str>, what: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{what}: status");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "application/problem+json", "{what}: content type");
    let body: Value = r
        .json()
        .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty()),
        "{what}: empty detail in {body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: no title in {body}"
    );
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:zhibiao:problem:")),
        "{what}: bad type in {body}"
    );
    if let Some(f) = field {
        assert_eq!(body["field"], f, "{what}: field in {body}");
    }
    body
}

/// Everything a rejected request might have touched, as the API shows it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    readings: Vec<Value>,
    revisions: Vec<Value>,
    health: Value,
}

fn snapshot(s: &TestServer) -> Snapshot {
    let mut readings = Vec::new();
    let mut revisions = Vec::new();
    for id in [RATE, CUMULATIVE] {
        readings.push(s.get_json(&format!("/v1/indicators/{id}/readings")));
        revisions.push(s.get_json(&format!("/v1/indicators/{id}/readings/{PERIOD}/revisions")));
    }
    Snapshot {
        readings,
        revisions,
        health: s.get_json("/healthz"),
    }
}

/// A server holding one good reading per test indicator, and the snapshot of that state.
fn seeded() -> (TestServer, Snapshot) {
    let s = TestServer::start();
    let r = s.put_reading(RATE, PERIOD, json!({"value": 5.5, "status": "P"}));
    assert_eq!(r.status(), 201);
    let r = s.put_reading(CUMULATIVE, PERIOD, json!({"value": 42}));
    assert_eq!(r.status(), 201);
    let snap = snapshot(&s);
    // The stored values the rejections must not disturb.
    assert_eq!(snap.readings[0][0]["value"], 5.5);
    assert_eq!(snap.readings[0][0]["revision"], 1);
    assert_eq!(snap.readings[1][0]["value"], 42.0);
    assert_eq!(snap.revisions[0].as_array().unwrap().len(), 1);
    (s, snap)
}

/// Asserts that the store still answers exactly as in `before`.
fn assert_unchanged(s: &TestServer, before: &Snapshot, what: &str) {
    let now = snapshot(s);
    assert_eq!(&now, before, "{what} changed the store");
}

/// A PUT with the admin token and an arbitrary raw body.
fn raw_put(
    s: &TestServer,
    id: &str,
    period: &str,
    ct: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> RequestBuilder {
    s.client
        .put(s.url(&format!("/v1/indicators/{id}/readings/{period}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", ct)
        .body(body)
}

/// PUTs an oversized body on a connection of its own.
///
/// The server answers 413 as soon as it sees the declared length and closes the
/// connection (with `connection: close`) without draining the body. A client still
/// writing the body can then see the write fail (EPIPE/ECONNRESET) before it reads the
/// answer, and a pooled client can hand a half-closed connection to its next request.
/// That is a transport race of early answers, not a server fault, so this uses a
/// throwaway unpooled client and retries a failed *send* a few times; whatever
/// arrives must still be the 413 problem, and the store is checked afterwards.
fn send_oversized(s: &TestServer, body: &str) -> Response {
    let mut last = None;
    for _ in 0..5 {
        let client = reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let sent = client
            .put(s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send();
        match sent {
            Ok(r) => return r,
            Err(e) => last = Some(e),
        }
    }
    panic!("the oversized PUT never got an answer: {last:?}");
}

/// Sends one raw HTTP/1.1 request, bypassing the client's URL normalisation, and
/// returns the status code and the body.
fn raw_http(s: &TestServer, request: &str) -> (u16, String) {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(request.as_bytes()).expect("write request");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // The whole answer of these small problem documents arrives at once;
                // stop as soon as the head and a complete JSON body are in.
                let text = String::from_utf8_lossy(&out);
                if let Some((_, body)) = text.split_once("\r\n\r\n") {
                    if serde_json::from_str::<Value>(body).is_ok() {
                        break;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read answer: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn malformed_bodies_are_refused_naming_the_field_and_change_nothing() {
    let (s, before) = seeded();
    // (body, field): each is a mistake a hand-written client or a spreadsheet export makes.
    let cases: &[(&str, &str, &str)] = &[
        // Broken syntax must never be half-read into a value.
        ("malformed JSON", r#"{value: 7}"#, "body"),
        // A connection cut mid-body must not store what arrived.
        ("truncated JSON", r#"{"value": 7"#, "body"),
        // A bare number or array is not a reading, even if it looks like one.
        ("array, not an object", r#"[7]"#, "body"),
        ("number, not an object", r#"7"#, "body"),
        ("string, not an object", r#""7""#, "body"),
        // An empty body is not "value 0".
        ("empty body", "", "body"),
        // A quoted number is refused rather than coerced: "12" may be "12%" upstream.
        ("value as string", r#"{"value": "12"}"#, "value"),
        // null must not become 0 and overwrite a real figure.
        ("value null", r#"{"value": null}"#, "value"),
        ("value missing", r#"{"status": "P"}"#, "value"),
        // Beyond f64: must not be stored as infinity.
        ("value 1e400", r#"{"value": 1e400}"#, "value"),
        // NaN is not JSON; it must not slip in as a value.
        ("NaN token", r#"{"value": NaN}"#, "body"),
        // A typo such as "valeu" must not be ignored while "value" is missing or old.
        ("unknown field", r#"{"value": 7, "valeu": 8}"#, "valeu"),
        // "R" (revised) is no SDMX status here; guessing would mislabel the figure.
        (
            "bad status word",
            r#"{"value": 7, "status": "R"}"#,
            "status",
        ),
        (
            "status not a string",
            r#"{"value": 7, "status": 1}"#,
            "status",
        ),
        ("note not a string", r#"{"value": 7, "note": 5}"#, "note"),
    ];
    for (what, body, field) in cases {
        let r = raw_put(&s, RATE, PERIOD, "application/json", *body)
            .send()
            .expect("PUT");
        assert_problem(r, 400, Some(field), what);
        assert_unchanged(&s, &before, what);
    }
}

#[test]
fn bad_periods_are_refused_with_field_period_and_change_nothing() {
    let (s, before) = seeded();
    let cases: &[(&str, &str)] = &[
        // Month 13 and month 0 do not exist; no silent wrap into the next year.
        ("2023-13", "month 13"),
        ("2023-00", "month 0"),
        // There is no fifth quarter.
        ("2023-Q5", "quarter 5"),
        // Not a period at all.
        ("abcd", "letters"),
        // Readings are submitted after the fact; a far-future period is a typo.
        ("2099-01", "future"),
        // Earlier than any plan zhibiao tracks.
        ("1989-12", "before 1990"),
        // A range must start in January: readings are year-to-date.
        ("2023%E5%B9%B43-6%E6%9C%88", "3-6月"),
    ];
    for (period, what) in cases {
        let r = s.put_reading(RATE, period, json!({"value": 6.5}));
        assert_problem(r, 400, Some("period"), what);
        assert_unchanged(&s, &before, what);
    }
}

#[test]
fn unknown_or_malformed_indicator_ids_are_never_written() {
    let (s, before) = seeded();
    // An unknown id is 404, so a typo never creates a new series.
    let r = s.put_reading("no-such-indicator", PERIOD, json!({"value": 1}));
    assert_problem(r, 404, None, "unknown indicator");
    assert_unchanged(&s, &before, "unknown indicator");
    assert_problem(
        s.get("/v1/indicators/no-such-indicator/readings"),
        404,
        None,
        "GET readings of an unknown indicator",
    );

    // Ids are [a-z0-9-]: uppercase and dots are refused, never folded onto another id.
    for id in [
        "GDP-GROWTH",
        "Gdp-growth",
        "gdp..growth",
        "..gdp-growth",
        "gdp%2Fgrowth",
    ] {
        let r = s.put_reading(id, PERIOD, json!({"value": 1}));
        let status = r.status().as_u16();
        assert!(status == 400 || status == 404, "{id}: {status}");
        let body = assert_problem(r, status, None, id);
        if status == 400 {
            assert_eq!(body["field"], "id", "{id}: {body}");
        }
        assert_unchanged(&s, &before, id);
    }

    // A literal `..` segment, sent raw because HTTP clients resolve dot segments.
    let req = format!(
        "PUT /v1/indicators/../readings/{PERIOD} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{{\"value\": 1}}"
    );
    let (status, body) = raw_http(&s, &req);
    assert!(status == 400 || status == 404, "raw '..': {status} {body}");
    assert_unchanged(&s, &before, "raw '..' segment");
}

#[test]
fn a_negative_value_for_a_cumulative_indicator_is_refused() {
    let (s, before) = seeded();
    // A count of firms cannot fall below zero; a minus sign is a data-entry slip.
    let r = s.put_reading(CUMULATIVE, PERIOD, json!({"value": -3}));
    assert_problem(r, 400, Some("value"), "negative cumulative");
    assert_unchanged(&s, &before, "negative cumulative");
    // A rate may be negative (a fall): the same sign is accepted there, so the check
    // is about the indicator's kind, not a blanket sign rule.
    let r = s.put_reading(RATE, "2023-03", json!({"value": -1.5}));
    assert_eq!(r.status(), 201, "negative growth rate is a valid figure");
}

#[test]
fn non_json_content_types_are_refused_with_415() {
    let (s, before) = seeded();
    // A form post or text body must not be sniffed as JSON.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=gbk",
    ] {
        let r = raw_put(&s, RATE, PERIOD, ct, r#"{"value": 9}"#)
            .send()
            .expect("PUT");
        assert_problem(r, 415, None, ct);
        assert_unchanged(&s, &before, ct);
    }
}

#[test]
fn bodies_over_one_mebibyte_are_refused_with_413() {
    let (s, before) = seeded();
    // A valid JSON object padded past the limit: size alone must refuse it.
    let mut big = String::from(r#"{"value": 9, "note": ""#);
    big.push_str(&"x".repeat(1024 * 1024));
    big.push_str(r#""}"#);
    let r = send_oversized(&s, &big);
    assert_problem(r, 413, None, "1 MiB body");
    assert_unchanged(&s, &before, "1 MiB body");

    // A declared length over the limit is refused before any body byte is read.
    let req = format!(
        "PUT /v1/indicators/{RATE}/readings/{PERIOD} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"
    );
    let (status, body) = raw_http(&s, &req);
    assert_eq!(status, 413, "{body}");
    let body: Value = serde_json::from_str(&body).expect("problem body");
    assert_eq!(body["status"], 413);
    assert_unchanged(&s, &before, "declared 2 MB body");
}

#[test]
fn writes_without_a_valid_bearer_token_are_refused_with_401() {
    let (s, before) = seeded();
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    let body = r#"{"value": 99}"#;
    // (what, Authorization header): anonymous writes, guessed tokens and other schemes.
    let cases: &[(&str, Option<&str>)] = &[
        ("missing Authorization", None),
        ("wrong token", Some("Bearer not-the-admin-token")),
        ("empty bearer", Some("Bearer ")),
        // Basic carries a password, not a token; it must not be accepted as one.
        (
            "Basic scheme",
            Some("Basic dGVzdDp0ZXN0LWFkbWluLXRva2VuLTAxMjM0NTY3ODk="),
        ),
        // The right secret under the wrong scheme is still refused.
        ("token without scheme", Some(ADMIN_TOKEN)),
    ];
    for (what, auth) in cases {
        let mut req = s
            .client
            .put(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = auth {
            req = req.header("authorization", *a);
        }
        let r = req.send().expect("PUT");
        // RFC 9110: a 401 names the scheme the client should use.
        let www = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert_problem(r, 401, None, what);
        assert!(
            www.as_deref().is_some_and(|w| w.starts_with("Bearer")),
            "{what}: WWW-Authenticate {www:?}"
        );
        assert_unchanged(&s, &before, what);
    }
    // Withdrawal is a write too.
    let r = s
        .client
        .delete(&url)
        .header("authorization", "Bearer wrong")
        .send()
        .unwrap();
    assert_problem(r, 401, None, "DELETE with a wrong token");
    assert_unchanged(&s, &before, "DELETE with a wrong token");
}

#[test]
fn a_method_the_route_does_not_take_is_refused_with_405() {
    let (s, before) = seeded();
    // POST is not an alias for PUT: the route must say so, not 404 or accept it.
    let r = s
        .client
        .post(s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 1}))
        .send()
        .unwrap();
    // RFC 9110: a 405 lists the methods the resource does take.
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD, PUT, DELETE")
    );
    assert_problem(r, 405, None, "POST to the PUT route");
    assert_unchanged(&s, &before, "POST to the PUT route");
    // The read-only collection takes no PUT.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{RATE}/readings")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 1}))
        .send()
        .unwrap();
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD")
    );
    assert_problem(r, 405, None, "PUT to the readings list");
    assert_unchanged(&s, &before, "PUT to the readings list");
}

#[test]
fn bad_query_parameters_are_refused_naming_the_parameter() {
    let (s, before) = seeded();
    // (path, field): a misspelt parameter must not silently mean "no filter".
    let cases: &[(&str, &str)] = &[
        ("/v1/attainment?asof=2023-06", "asof"),
        ("/v1/attainment?as_of=2023-13", "as_of"),
        ("/v1/attainment?as_of=June", "as_of"),
        ("/v1/attainment?as_of=2023-06&as_of=2023-07", "as_of"),
        ("/v1/attainment?battle=war", "battle"),
        ("/v1/attainment?status=fine", "status"),
        ("/v1/indicators?battle=Growth", "battle"),
        (
            "/v1/indicators/gdp-growth/attainment?as_of=2023-Q5",
            "as_of",
        ),
        ("/v1/indicators/gdp-growth/readings?from=2023-13", "from"),
        (
            "/v1/indicators/gdp-growth/readings?from=2023-09&to=2023-03",
            "from",
        ),
        ("/v1/indicators/gdp-growth/readings?since=2023-01", "since"),
    ];
    for (path, field) in cases {
        assert_problem(s.get(path), 400, Some(field), path);
    }
    assert_unchanged(&s, &before, "bad queries");
}

#[test]
fn unknown_routes_answer_404_problem_json() {
    let (s, before) = seeded();
    // Clients and proxies rely on one error shape for every failure.
    for path in [
        "/v1/nothing",
        "/v2/indicators",
        "/nothing",
        "/v1/indicators/gdp-growth/readings/2023-06/extra",
    ] {
        assert_problem(s.get(path), 404, None, path);
    }
    // An unknown route under a write method is not a write either.
    let r = s
        .client
        .put(s.url("/v1/readings/gdp-growth/2023-06"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 1}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    assert!(status == 404 || status == 405, "{status}");
    assert_problem(r, status, None, "PUT to an unknown route");
    assert_unchanged(&s, &before, "unknown routes");
}

#[test]
fn withdrawing_something_that_is_not_there_is_404_and_changes_nothing() {
    let (s, before) = seeded();
    // Withdrawing an absent reading must not write a tombstone into its history.
    let r = s
        .client
        .delete(s.url(&format!(
            "/v1/indicators/{RATE}/readings/2023-03?reason=test"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_problem(r, 404, None, "withdraw an absent reading");
    assert_unchanged(&s, &before, "withdraw an absent reading");
    let revs = s.get_json(&format!("/v1/indicators/{RATE}/readings/2023-03/revisions"));
    assert_eq!(revs, json!([]));
    // An unknown query parameter on DELETE is refused before anything is withdrawn.
    let r = s
        .client
        .delete(s.url(&format!(
            "/v1/indicators/{RATE}/readings/{PERIOD}?reson=typo"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_problem(r, 400, Some("reson"), "DELETE with a misspelt reason");
    assert_unchanged(&s, &before, "DELETE with a misspelt reason");
}
