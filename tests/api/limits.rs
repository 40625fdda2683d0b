//! Rights before work and the serving caps: a request that may not write is answered
//! before its body is read; connections over a cap are refused with 503; a request
//! head that does not arrive closes the connection. Every test asserts what was done
//! (the answer came while the body was still unsent, the cap named in the answer and
//! counted in /metrics), not how long it took; the read timeouts below only keep a
//! broken server from hanging the suite.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

const RATE: &str = "gdp-growth";

/// The server's `host:port`.
fn addr(s: &TestServer) -> String {
    s.url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Opens a raw connection and sends `head` (and nothing more).
fn send_head(s: &TestServer, head: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr(s)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(head.as_bytes()).expect("send the head");
    c
}

/// Reads one answer's status and body from a connection whose request body was never
/// sent: the answer must come without it.
fn answer(c: &mut TcpStream) -> (u16, Value) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if let Some(len) = complete(&got) {
                    got.truncate(len);
                    break;
                }
            }
            Err(e) => panic!(
                "no answer while the body is unsent ({e}); got so far: {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    let text = String::from_utf8_lossy(&got).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The length of a complete answer with a Content-Length, once it has all arrived.
fn complete(got: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(got).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let len: usize = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())
            .flatten()
    })?;
    (body.len() >= len).then_some(head.len() + 4 + len)
}

fn batch_head(token: Option<&str>) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "POST /v1/readings HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        8 * 1024 * 1024 - 1
    )
}

#[test]
fn a_batch_without_the_right_to_write_is_refused_before_its_body_is_sent() {
    let s = TestServer::start();
    let reader = s.token("viewer", "reader", &[]);
    for (who, token, status) in [
        ("anonymous", None, 401),
        ("reader", Some(reader.as_str()), 403),
    ] {
        // Announce 8 MiB and send none of it: the answer comes anyway, so the server
        // never waited for (or buffered) the body.
        let mut c = send_head(&s, &batch_head(token));
        let (st, v) = answer(&mut c);
        assert_eq!(st, status, "{who}: {v}");
    }
}

#[test]
fn a_reading_put_by_a_token_without_rights_is_refused_before_its_body_is_sent() {
    let s = TestServer::start();
    let other = s.submitter("other", &["县文旅广体局"]);
    let head = format!(
        "PUT /v1/indicators/{RATE}/readings/2023-05 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {other}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let mut c = send_head(&s, &head);
    let (st, v) = answer(&mut c);
    assert_eq!(st, 403, "{v}");
}

#[test]
fn a_reader_gets_no_submission_template() {
    let s = TestServer::start();
    let reader = s.token("viewer", "reader", &[]);
    let r = s
        .client
        .get(s.url("/v1/templates/readings.xlsx?period=2023-06"))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[test]
fn connections_over_the_per_address_cap_get_503_naming_it() {
    let s = TestServer::builder()
        .args(&["--max-connections-per-address", "2"])
        .start();
    // Two idle connections hold the address's slots.
    let _a = TcpStream::connect(addr(&s)).unwrap();
    let _b = TcpStream::connect(addr(&s)).unwrap();
    let mut c = send_head(&s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let (st, v) = answer(&mut c);
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["type"], "urn:zhibiao:problem:busy");
    drop(_a);
    drop(_b);
    // With the slots given back, the address is served again (the slots are freed
    // when the server notices the close: poll for it).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = send_head(
            &s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let mut text = String::new();
        let _ = c.read_to_string(&mut text);
        if text.starts_with("HTTP/1.1 200") {
            assert!(
                text.contains("zhibiao_refusals_total{cap=\"connections_per_address\"}"),
                "the refusal is counted"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still refused: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_request_head_that_never_ends_closes_the_connection() {
    let s = TestServer::builder()
        .args(&["--header-timeout-secs", "1"])
        .start();
    // Half a head, then nothing: the server gives up on it and closes.
    let mut c = send_head(&s, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let mut buf = Vec::new();
    let r = c.read_to_end(&mut buf);
    assert!(
        r.is_ok(),
        "the server closed the connection (read ended), rather than the test's guard timing out: {r:?}"
    );
    // An idle kept-alive connection is closed the same way.
    let mut c = send_head(&s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let (st, _) = answer(&mut c);
    assert_eq!(st, 200);
    let mut rest = Vec::new();
    assert!(
        c.read_to_end(&mut rest).is_ok(),
        "the idle connection was closed"
    );
}

#[test]
fn a_body_over_the_limit_names_the_cap() {
    let s = TestServer::start();
    let body = vec![b'x'; 2 * 1024 * 1024];
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{RATE}/readings/2023-05")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().unwrap();
    assert_eq!(v["cap"], "body_bytes", "{v}");
    assert_eq!(v["limit"], 1024 * 1024, "{v}");
}
