//! Outbound caps: what a webhook receiver can make the server do. Its reply is read up
//! to 4 KiB and no further, whatever it sends; the log keeps a short, redacted excerpt;
//! and a receiver at loopback (by address or by a name that resolves there) is refused
//! at registration and at delivery unless the server runs with
//! `--allow-internal-webhooks`.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use zhibiao::domain::{EventKind, Webhook};
use zhibiao::notify::webhook::Format;

use crate::helpers::*;

const INTERNAL: &str = "--allow-internal-webhooks";

/// The bytes of the flood a receiver sends after its headers.
/// Far more than the kernel could buffer between the two ends (here the receive buffer
/// autotunes up to 32 MiB), so that a reply read on shows.
const FLOOD: usize = 256 * 1024 * 1024;

/// A receiver that answers one request with `status`, a `Content-Length` of
/// [`FLOOD`] and a body that starts with `prefix` and goes on with filler, and reports
/// how many body bytes it managed to hand to its socket before the client went away.
struct Flood {
    base: String,
    written: mpsc::Receiver<usize>,
}

impl Flood {
    fn start(status: u16, prefix: &'static [u8]) -> Flood {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, written) = mpsc::channel();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {FLOOD}\r\n\r\n"
            )
            .unwrap();
            let filler = vec![b' '; 64 * 1024];
            let mut sent = 0usize;
            while sent < FLOOD {
                let part = if sent < prefix.len() {
                    &prefix[sent..]
                } else {
                    &filler[..filler.len().min(FLOOD - sent)]
                };
                match stream.write(part) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sent += n,
                }
            }
            let _ = tx.send(sent);
        });
        Flood { base, written }
    }

    /// What the receiver wrote before the connection was dropped (it stops at the
    /// first failed write, which comes once the client has closed).
    fn written(&self) -> usize {
        self.written
            .recv_timeout(Duration::from_secs(60))
            .expect("the receiver finished")
    }
}

fn post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn refusals_of_reply_cap(s: &TestServer) -> u64 {
    let text = s.get("/metrics").text().unwrap();
    text.lines()
        .find(|l| l.starts_with("zhibiao_refusals_total{cap=\"webhook_reply_bytes\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_receivers_flood_of_a_reply_is_read_only_up_to_the_cap_and_logged_redacted() {
    // The reply starts with what receivers echo back: a signature, a token, a URL with
    // its key, a terminal escape and a bidi override.
    const PREFIX: &[u8] = b"{\"error\":\"bad sign 0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg= for access_token=tok-SECRET-1 see https://hooks.example/x?key=key-SECRET-2\x1b[2J \xe2\x80\xae reversed\"} ";
    let rx = Flood::start(500, PREFIX);
    let s = TestServer::start_with(&[INTERNAL]);
    let cut_before = refusals_of_reply_cap(&s);
    let (st, _) = post(
        &s,
        "/v1/webhooks",
        json!({"name": "flood", "url": format!("{}/hook", rx.base), "format": "generic"}),
    );
    assert_eq!(st, 201);
    let (st, d) = post(&s, "/v1/webhooks/flood/test", json!({}));
    assert_eq!(st, 200, "{d}");
    assert_eq!(
        (&d["outcome"], &d["status"]),
        (&json!("failed"), &json!(500))
    );
    // The receiver could hand its socket only what the kernel's buffers on both sides
    // took (a few MB, up to the 32 MiB a receive buffer can grow to) before the client,
    // having read 4 KiB, closed: a client
    // that read on would have taken all 256 MiB.
    let written = rx.written();
    assert!(
        written < FLOOD / 4,
        "the receiver wrote {written} of {FLOOD} bytes: the reply was read on"
    );
    // The counter is the process's, shared with the tests running beside this one:
    // at least this cut is in it.
    assert!(refusals_of_reply_cap(&s) > cut_before);
    // The log holds the status and a short excerpt with every secret and control
    // character gone.
    let log = {
        let r = s
            .client
            .get(s.url("/v1/webhooks/flood/deliveries"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap();
        r.json::<Value>().unwrap()
    };
    let error = log["deliveries"][0]["error"].as_str().unwrap().to_string();
    assert_eq!(d["error"], error.as_str());
    assert!(error.starts_with("the receiver answered 500"), "{error}");
    assert!(error.ends_with("(reply cut at 4096 bytes)"), "{error}");
    assert!(
        error.chars().count() <= 300,
        "{} chars: {error}",
        error.chars().count()
    );
    for hidden in ["SECRET", "0PUR1j8g", "\u{1b}", "\u{202e}"] {
        assert!(!error.contains(hidden), "the log shows {hidden:?}: {error}");
    }
    for kept in [
        "bad sign",
        "access_token=***",
        "https://hooks.example/x?key=***",
        "reversed",
    ] {
        assert!(error.contains(kept), "the log lacks {kept:?}: {error}");
    }
}

#[test]
fn a_robots_verdict_is_read_within_the_cap_even_from_a_flood() {
    // 企业微信 answers 200 and says in the body that the key is wrong; this one pads
    // its answer to 256 MiB.
    let rx = Flood::start(
        200,
        b"{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"",
    );
    let s = TestServer::start_with(&[INTERNAL]);
    let (st, _) = post(
        &s,
        "/v1/webhooks",
        json!({"name": "wx", "url": format!("{}/cgi-bin/webhook/send?key=k", rx.base), "format": "wecom"}),
    );
    assert_eq!(st, 201);
    let (_, d) = post(&s, "/v1/webhooks/wx/test", json!({}));
    assert_eq!(d["outcome"], "failed", "{d}");
    assert_eq!(d["error"], "errcode 93000", "{d}");
    assert!(rx.written() < FLOOD / 4);
}

#[test]
fn receivers_at_internal_addresses_are_refused_at_registration_without_the_flag() {
    let s = TestServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Each names the address and the flag that would allow it.
    for (url, shown) in [
        (format!("http://127.0.0.1:{port}/hook"), "127.0.0.1"),
        (format!("http://[::1]:{port}/hook"), "::1"),
        (
            "http://169.254.169.254/latest/meta-data".to_string(),
            "169.254.169.254",
        ),
        ("http://0.0.0.0:8080/".to_string(), "0.0.0.0"),
        // The server itself.
        (format!("{}/v1/webhooks", s.base), "127.0.0.1"),
        // A name: looked up at registration.
        (
            format!("http://localhost:{port}/hook"),
            "'localhost' resolves to",
        ),
    ] {
        let (st, p) = post(
            &s,
            "/v1/webhooks",
            json!({"name": "inside", "url": url, "format": "generic"}),
        );
        assert_eq!(st, 400, "{url}: {p}");
        assert_eq!(p["field"], "url", "{url}: {p}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(shown) && detail.contains(INTERNAL),
            "{url}: {detail}"
        );
    }
    let listed: Value = s
        .client
        .get(s.url("/v1/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["count"], 0, "nothing was registered: {listed}");
    // A private-range address is another machine on the county's network: allowed.
    let (st, p) = post(
        &s,
        "/v1/webhooks",
        json!({"name": "intranet", "url": "http://10.20.30.40:8080/cgi-bin/webhook/send?key=k", "format": "wecom"}),
    );
    assert_eq!(st, 201, "{p}");
    // With the flag, loopback is allowed.
    let open = TestServer::start_with(&[INTERNAL]);
    let (st, p) = post(
        &open,
        "/v1/webhooks",
        json!({"name": "inside", "url": format!("http://localhost:{port}/hook"), "format": "generic"}),
    );
    assert_eq!(st, 201, "{p}");
}

#[test]
fn a_stored_receiver_that_resolves_to_loopback_is_refused_at_delivery() {
    // As if the name had resolved to a public address at registration and to loopback
    // since (DNS rebinding), or the receiver came from a backup: it is in the store,
    // and each attempt checks where it would connect.
    let s = TestServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    for (name, url, shown) in [
        (
            "by-name",
            format!("http://localhost:{port}/hook"),
            "'localhost' resolves to",
        ),
        (
            "by-address",
            format!("http://127.0.0.1:{port}/hook"),
            "address 127.0.0.1",
        ),
    ] {
        let hook = Webhook {
            name: name.into(),
            url,
            format: Format::Generic,
            events: vec![EventKind::AlertRaised],
            filter: Default::default(),
            secret: None,
            created_at: Utc::now(),
            created_by: "admin".into(),
        };
        assert!(s.store().add_webhook(&hook).unwrap());
        let (st, d) = post(&s, &format!("/v1/webhooks/{name}/test"), json!({}));
        assert_eq!(st, 200, "{d}");
        assert_eq!(d["outcome"], "failed", "{d}");
        let error = d["error"].as_str().unwrap();
        assert!(
            error.contains(shown) && error.contains(INTERNAL),
            "{name}: {error}"
        );
    }
    // The attempts have ended: a connection would be waiting to be accepted.
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the receiver on loopback was connected to: {other:?}"),
    }
}
