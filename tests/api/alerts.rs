//! Alerts (预警), their ETag polling and Server-Sent Events stream, the summary
//! (月通报) against attainment, and CSV answers of the list routes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use crate::helpers::*;

/// Cumulative, quarterly, 150 家, led by 县科工局, battle innovation.
const SME: &str = "tech-sme-registered";
/// Cumulative, monthly, 15 家, led by 县科工局, battle growth.
const FIRMS: &str = "new-above-scale-industrial-firms";
/// Cumulative, monthly, 14.8 亿元, led by 县商务局, battle growth.
const TRADE: &str = "import-export-value";
/// Rate, about 8%, led by 县发改局, battle growth.
const GDP: &str = "gdp-growth";
/// Rate, about 8%, led by 县商务局.
const RETAIL: &str = "retail-sales-growth";

/// Readings that leave, as of 2023-06: SME behind (warning, since 2023-05), FIRMS
/// severely behind and GDP severely behind (critical), TRADE behind (warning) and RETAIL
/// on track (no alert).
fn lagging_readings(s: &TestServer) {
    s.submit(SME, "2023-05", 40.0);
    s.submit(SME, "2023-06", 63.0);
    s.submit(FIRMS, "2023-06", 1.0);
    s.submit(GDP, "2023-06", 5.0);
    s.submit(TRADE, "2023-06", 7.0);
    s.submit(RETAIL, "2023-06", 8.5);
}

fn get_with(s: &TestServer, path: &str, query: &[(&str, &str)]) -> Response {
    s.client.get(s.url(path)).query(query).send().expect("GET")
}

fn alerts(s: &TestServer, query: &[(&str, &str)]) -> Value {
    let r = get_with(s, "/v1/alerts", query);
    assert_eq!(r.status(), 200, "alerts {query:?}");
    r.json().unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["indicator"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ── GET /v1/alerts ────────────────────────────────────────────────────────

#[test]
fn alerts_list_the_lagging_worst_first_and_filter() {
    let s = TestServer::start();
    lagging_readings(&s);

    let v = alerts(&s, &[("as_of", "2023-06")]);
    assert_eq!(v["as_of"], "2023-06");
    let list = v["alerts"].as_array().unwrap();
    assert_eq!(v["count"], list.len());
    assert_eq!(
        sorted(ids(&v)),
        sorted(strs(&[SME, FIRMS, GDP, TRADE])),
        "{v}"
    );
    // Critical first, and every critical before every warning.
    let sev: Vec<&str> = list
        .iter()
        .map(|a| a["severity"].as_str().unwrap())
        .collect();
    assert_eq!(sev, vec!["critical", "critical", "critical", "warning"]);
    let by_id: BTreeMap<&str, &Value> = list
        .iter()
        .map(|a| (a["indicator"].as_str().unwrap(), a))
        .collect();
    // SME is behind in June after a lagging May: two periods in a row escalate it to
    // critical (escalate_after = 2 by default). TRADE, behind in June only, warns.
    for (id, status, severity, escalated) in [
        (SME, "behind", "critical", true),
        (TRADE, "behind", "warning", false),
        (FIRMS, "severely_behind", "critical", false),
        (GDP, "severely_behind", "critical", false),
    ] {
        assert_eq!(
            (
                &by_id[id]["status"],
                &by_id[id]["severity"],
                &by_id[id]["escalated"]
            ),
            (&json!(status), &json!(severity), &json!(escalated)),
            "{id}"
        );
        assert_eq!(by_id[id]["kind"], "pace");
    }

    // The worked example: 63 of 150 by June is 42.0% against a 50% pace.
    let sme = by_id[SME];
    assert_eq!(sme["since"], "2023-05", "May was already lagging: {sme}");
    assert_eq!(sme["periods_lagging"], 2);
    assert_eq!(sme["actual"], 63.0);
    assert_eq!(sme["actual_period"], "2023-06");
    assert_eq!(sme["lead_units"], json!(["县科工局"]));
    assert_eq!(sme["group"], "innovation");
    assert_close(sme, "pace_gap", -0.08);
    assert_close(sme, "year_end_gap", 87.0);
    let msg = sme["message"].as_str().unwrap();
    assert!(
        msg.contains("完成42.0%，低于序时进度8.0个百分点"),
        "message: {msg}"
    );
    assert!(msg.contains("全年还需87家"), "message: {msg}");
    // FIRMS has only June: its run starts there.
    assert_eq!(by_id[FIRMS]["since"], "2023-06");
    assert_eq!(by_id[FIRMS]["periods_lagging"], 1);

    // As of May, SME alone was severely behind (40 of 150 against 5/12).
    let may = alerts(&s, &[("as_of", "2023-05")]);
    assert_eq!(ids(&may), strs(&[SME]));
    assert_eq!(may["alerts"][0]["severity"], "critical");
    assert_eq!(may["alerts"][0]["status"], "severely_behind");
    assert_eq!(may["alerts"][0]["since"], "2023-05");

    // Without as_of: the latest period with readings.
    assert_eq!(alerts(&s, &[])["as_of"], "2023-06");

    // Filters.
    let crit = alerts(&s, &[("as_of", "2023-06"), ("severity", "critical")]);
    assert_eq!(sorted(ids(&crit)), sorted(strs(&[FIRMS, GDP, SME])));
    assert_eq!(crit["count"], 3);
    let warn = alerts(&s, &[("as_of", "2023-06"), ("severity", "warning")]);
    assert_eq!(sorted(ids(&warn)), sorted(strs(&[TRADE])));
    let inno = alerts(&s, &[("as_of", "2023-06"), ("battle", "innovation")]);
    assert_eq!(ids(&inno), strs(&[SME]));
    let growth = alerts(&s, &[("as_of", "2023-06"), ("battle", "growth")]);
    assert_eq!(sorted(ids(&growth)), sorted(strs(&[FIRMS, GDP, TRADE])));
    let kgj = alerts(&s, &[("as_of", "2023-06"), ("lead_unit", "县科工局")]);
    assert_eq!(ids(&kgj), strs(&[FIRMS, SME]), "critical first");
    let sw = alerts(&s, &[("as_of", "2023-06"), ("lead_unit", "县商务局")]);
    assert_eq!(ids(&sw), strs(&[TRADE]));
    let both = alerts(
        &s,
        &[
            ("as_of", "2023-06"),
            ("lead_unit", "县科工局"),
            ("severity", "critical"),
        ],
    );
    assert_eq!(ids(&both), strs(&[FIRMS, SME]));
    assert_eq!(both["count"], 2);
    let none = alerts(&s, &[("as_of", "2023-06"), ("lead_unit", "县信访局")]);
    assert_eq!((none["count"].as_u64(), ids(&none).len()), (Some(0), 0));

    // Bad filters name their field.
    for (k, v) in [
        ("severity", "loud"),
        ("battle", "war"),
        ("as_of", "2023-13"),
        ("format", "xml"),
    ] {
        let r = get_with(&s, "/v1/alerts", &[(k, v)]);
        assert_eq!(r.status(), 400, "{k}={v}");
        assert_eq!(r.json::<Value>().unwrap()["field"], k, "{k}={v}");
    }
}

// ── ETag / 304 ────────────────────────────────────────────────────────────

fn etag_of(r: &Response) -> String {
    r.headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string()
}

fn get_if_none_match(s: &TestServer, path: &str, tag: &str) -> Response {
    s.client
        .get(s.url(path))
        .header("if-none-match", tag)
        .send()
        .expect("GET")
}

#[test]
fn polling_views_get_304_until_a_write_is_accepted() {
    let s = TestServer::start();
    lagging_readings(&s);
    let kgj = s.submitter("kgj", &["县科工局"]);

    let paths = [
        "/v1/alerts?as_of=2023-06",
        "/v1/attainment?as_of=2023-06",
        "/v1/summary?as_of=2023-06",
    ];
    let mut tags = Vec::new();
    for path in paths {
        let r = s.get(path);
        assert_eq!(r.status(), 200, "{path}");
        let tag = etag_of(&r);
        // The same question, unchanged store: 304 with no body and the same tag.
        let r = get_if_none_match(&s, path, &tag);
        assert_eq!(r.status(), 304, "{path}");
        assert_eq!(etag_of(&r), tag, "{path}");
        assert!(r.bytes().unwrap().is_empty(), "{path}: 304 has no body");
        // A list of tags, or `*`, also matches.
        let r = get_if_none_match(&s, path, &format!("W/\"other\", {tag}"));
        assert_eq!(r.status(), 304, "{path}");
        // A stale tag gets the full answer.
        let r = get_if_none_match(&s, path, "W/\"0-000000000000\"");
        assert_eq!(r.status(), 200, "{path}");
        tags.push(tag);
    }
    // Different questions have different tags.
    let other = etag_of(&s.get("/v1/alerts?as_of=2023-05"));
    assert_ne!(other, tags[0]);

    // A refused write changes nothing: still 304.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{GDP}/readings/2023-06")))
        .bearer_auth(&kgj)
        .json(&json!({"value": 9.0}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{SME}/readings/2023-06")))
        .bearer_auth(&kgj)
        .json(&json!({"value": -3}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    for (path, tag) in paths.iter().zip(&tags) {
        assert_eq!(
            get_if_none_match(&s, path, tag).status(),
            304,
            "{path} after refused writes"
        );
    }

    // An accepted write (even of an indicator not in the answer's period) invalidates
    // every tag: 200 and a new ETag, which then gets 304 again.
    s.submit(RETAIL, "2023-04", 8.0);
    let mut new_tags = Vec::new();
    for (path, tag) in paths.iter().zip(&tags) {
        let r = get_if_none_match(&s, path, tag);
        assert_eq!(r.status(), 200, "{path} after a write");
        let new = etag_of(&r);
        assert_ne!(&new, tag, "{path}");
        assert!(!r.bytes().unwrap().is_empty());
        assert_eq!(get_if_none_match(&s, path, &new).status(), 304, "{path}");
        new_tags.push(new);
    }

    // A write by a submitter through a batch does the same.
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(&kgj)
        .json(&json!([{"indicator": SME, "period": "2023-06", "value": 80}]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    for (path, tag) in paths.iter().zip(&new_tags) {
        let r = get_if_none_match(&s, path, tag);
        assert_eq!(r.status(), 200, "{path} after a batch");
        assert_ne!(&etag_of(&r), tag);
    }
    // And the answer reflects it: SME (80 of 150 ≥ 50% pace) no longer alerts.
    let v = alerts(&s, &[("as_of", "2023-06")]);
    assert!(!ids(&v).contains(&SME.to_string()), "{v}");
}

/// JSON and CSV answers of the same URL are different representations, so they need
/// different ETags (or at least `Vary: Accept`). The server keys the ETag on the route and
/// query only (src/api/attainment.rs, `cached`, via `etag(seq, route, &req.query)`), so a
/// client holding the JSON answer that asks for CSV with `Accept: text/csv` and its
/// `If-None-Match` gets a 304 and keeps using the JSON body as if it were the CSV.
#[test]
fn csv_and_json_answers_do_not_share_an_etag() {
    let s = TestServer::start();
    lagging_readings(&s);
    for path in ["/v1/alerts?as_of=2023-06", "/v1/attainment?as_of=2023-06"] {
        let json_tag = etag_of(&s.get(path));
        let r = s
            .client
            .get(s.url(path))
            .header("accept", "text/csv")
            .header("if-none-match", &json_tag)
            .send()
            .unwrap();
        let vary = r
            .headers()
            .get("vary")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            r.status() == 200 || vary.contains("accept"),
            "{path}: a CSV request revalidated against the JSON ETag got {}",
            r.status()
        );
    }
}

fn get_encoded(s: &TestServer, path: &str, coding: &str, tag: Option<&str>) -> Response {
    let mut req = s.client.get(s.url(path)).header("accept-encoding", coding);
    if let Some(t) = tag {
        req = req.header("if-none-match", t);
    }
    req.send().expect("GET")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A client that sends `Accept-Encoding` gets the catalogue-wide answers gzip- or
/// br-compressed, decoding to the very body a client without it gets; each coding has
/// its own ETag, and every answer says what it varies by.
#[test]
fn catalogue_answers_come_compressed_to_clients_that_ask_with_an_etag_per_coding() {
    use std::io::Read;
    let s = TestServer::start();
    lagging_readings(&s);
    for path in [
        "/v1/alerts?as_of=2023-06",
        "/v1/attainment?as_of=2023-06",
        "/v1/attainment?as_of=2023-06&format=csv",
        "/v1/summary?as_of=2023-06",
    ] {
        let plain = s.get(path);
        assert_eq!(plain.status(), 200, "{path}");
        assert_eq!(
            header(&plain, "content-encoding"),
            "",
            "{path}: not asked for"
        );
        assert_eq!(
            header(&plain, "vary"),
            "Accept, Accept-Encoding, Accept-Language",
            "{path}"
        );
        let plain_tag = etag_of(&plain);
        let body = plain.bytes().unwrap();

        let gz = get_encoded(&s, path, "gzip, deflate", None);
        assert_eq!(gz.status(), 200, "{path}");
        assert_eq!(header(&gz, "content-encoding"), "gzip", "{path}");
        assert_eq!(
            header(&gz, "vary"),
            "Accept, Accept-Encoding, Accept-Language",
            "{path}"
        );
        let gz_tag = etag_of(&gz);
        let packed = gz.bytes().unwrap();
        assert!(
            packed.len() < body.len(),
            "{path}: {} of {}",
            packed.len(),
            body.len()
        );
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body, "{path}: gzip decodes to the plain body");

        let br = get_encoded(&s, path, "gzip, br", None);
        assert_eq!(header(&br, "content-encoding"), "br", "{path}");
        let br_tag = etag_of(&br);
        let mut out = Vec::new();
        brotli::Decompressor::new(&br.bytes().unwrap()[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body, "{path}: br decodes to the plain body");

        assert_ne!(plain_tag, gz_tag, "{path}");
        assert_ne!(gz_tag, br_tag, "{path}");
        assert_ne!(plain_tag, br_tag, "{path}");
        // Each coding revalidates against its own tag, and only its own.
        let r = get_encoded(&s, path, "gzip", Some(&gz_tag));
        assert_eq!(r.status(), 304, "{path}");
        assert_eq!(
            header(&r, "vary"),
            "Accept, Accept-Encoding, Accept-Language",
            "{path}"
        );
        assert_eq!(
            get_encoded(&s, path, "gzip", Some(&plain_tag)).status(),
            200,
            "{path}"
        );
        assert_eq!(get_if_none_match(&s, path, &gz_tag).status(), 200, "{path}");
        // `q=0` refuses a coding.
        let r = get_encoded(&s, path, "gzip;q=0, br;q=0", None);
        assert_eq!(header(&r, "content-encoding"), "", "{path}");
    }
}

/// One indicator's attainment is polled like the lists: an ETag, a 304 until a write,
/// and a new body after one, even from a write of the same figure's neighbour.
#[test]
fn one_indicators_attainment_gets_304_until_a_write() {
    let s = TestServer::start();
    lagging_readings(&s);
    let path = "/v1/indicators/tech-sme-registered/attainment?as_of=2023-06";
    let r = s.get(path);
    assert_eq!(r.status(), 200);
    let tag = etag_of(&r);
    let before: Value = r.json().unwrap();
    assert_eq!(get_if_none_match(&s, path, &tag).status(), 304);
    // Another indicator's figure: the tag moves, the answer is the same.
    s.submit(TRADE, "2023-06", 7.2);
    let r = get_if_none_match(&s, path, &tag);
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap(), before);
    // Its own figure: a new answer at once.
    s.submit(SME, "2023-06", 80.0);
    let after = s.get_json(path);
    assert_ne!(after, before);
    assert_eq!(after["actual"], 80.0, "{after}");
}

// ── SSE ───────────────────────────────────────────────────────────────────

/// One Server-Sent Event: its `event:` name and its `data:` as JSON.
type Sse = (String, Value);

/// Opens the alert stream and reads events on a thread. The thread ends when the server
/// closes the connection (when the test's server is dropped).
fn open_stream(s: &TestServer, query: &str) -> Receiver<Sse> {
    let client = Client::builder().timeout(None::<Duration>).build().unwrap();
    let r = client
        .get(s.url(&format!("/v1/alerts/stream{query}")))
        .send()
        .expect("open stream");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        let mut data = String::new();
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if line.is_empty() {
                if !data.is_empty() {
                    let v = serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
                    let name = if event.is_empty() {
                        "message".to_string()
                    } else {
                        event.clone()
                    };
                    if tx.send((name, v)).is_err() {
                        break;
                    }
                }
                event.clear();
                data.clear();
            } else if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
            // Comments (`:` keep-alives), `id:` and `retry:` are ignored.
        }
    });
    rx
}

/// The next event, within `secs` seconds.
fn next_event(rx: &Receiver<Sse>, secs: u64) -> Sse {
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("an event within the timeout")
}

/// The next event, which must be named `name` and be about `indicator`: after each
/// write, nothing else should change.
fn expect_event(rx: &Receiver<Sse>, name: &str, indicator: &str) -> Value {
    let (ev, data) = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("no '{name}' event for {indicator} within 10 s"));
    assert_eq!(
        (ev.as_str(), data["indicator"].as_str()),
        (name, Some(indicator)),
        "unexpected event {ev}: {data}"
    );
    data
}

#[test]
fn the_alert_stream_sends_a_snapshot_then_changes() {
    let s = TestServer::start();
    s.submit(SME, "2023-05", 40.0);
    s.submit(SME, "2023-06", 63.0);
    s.submit(RETAIL, "2023-06", 8.5);

    let rx = open_stream(&s, "?as_of=2023-06");
    let (ev, snap) = next_event(&rx, 10);
    assert_eq!(ev, "snapshot", "{snap}");
    assert_eq!(snap["as_of"], "2023-06");
    assert_eq!(snap["count"], 1);
    assert_eq!(snap["alerts"][0]["indicator"], SME);
    // Behind in June after a lagging May: escalated.
    assert_eq!(snap["alerts"][0]["severity"], "critical");
    assert_eq!(snap["alerts"][0]["escalated"], true);

    // A reading that puts another indicator severely behind: raised.
    s.submit(FIRMS, "2023-06", 1.0);
    let d = expect_event(&rx, "raised", FIRMS);
    assert_eq!(d["change"], "raised");
    assert_eq!(d["as_of"], "2023-06");
    assert_eq!(d["alert"]["severity"], "critical");
    assert_eq!(d["alert"]["status"], "severely_behind");

    // A write that changes no alert sends nothing; the next event is about the next
    // alert change. (RETAIL stays on track.)
    s.submit(RETAIL, "2023-06", 8.6);
    // A worse SME figure: changed, now critical.
    s.submit(SME, "2023-06", 50.0);
    let d = expect_event(&rx, "changed", SME);
    assert_eq!(d["alert"]["severity"], "critical");
    assert_eq!(d["alert"]["actual"], 50.0);

    // An on-track figure: cleared, with no alert.
    s.submit(FIRMS, "2023-06", 8.0);
    let d = expect_event(&rx, "cleared", FIRMS);
    assert!(d["alert"].is_null(), "{d}");

    // A reading after as_of (July) cannot change alerts as of June.
    s.submit(GDP, "2023-07", 1.0);
    // Withdrawing the June SME reading leaves May (severely behind as of May's pace):
    // still an alert, changed.
    let r = s
        .client
        .delete(s.url(&format!("/v1/indicators/{SME}/readings/2023-06")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let d = expect_event(&rx, "changed", SME);
    assert_eq!(d["alert"]["actual_period"], "2023-05");
    // Nothing else is pending: the stream sends its events in the order of the writes,
    // so the next event is the one this write raises.
    s.submit(FIRMS, "2023-06", 1.0);
    expect_event(&rx, "raised", FIRMS);
}

// ── the summary ───────────────────────────────────────────────────────────

fn count_by(rows: &[&Value], key: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r[key].as_str().unwrap().to_string()).or_default() += 1;
    }
    m
}

/// A summary group's counts without the zeros.
fn nonzero(counts: &Value) -> BTreeMap<String, usize> {
    counts
        .as_object()
        .expect("counts")
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap() as usize))
        .collect()
}

fn is_lagging(status: &str) -> bool {
    matches!(status, "behind" | "severely_behind" | "missed")
}

#[test]
fn summary_counts_match_attainment() {
    let s = TestServer::start();
    lagging_readings(&s);
    // A few more, so that several statuses and battles appear.
    s.submit("cpi", "2023-06", 2.1);
    s.submit("new-high-tech-enterprises", "2023-06", 9.0);
    s.submit("tax-revenue", "2023-06", 30000.0);
    s.submit("small-micro-loan-rate-cut-bp", "2023-06", 4.0);

    for as_of in ["2023-06", "2023-05", "2023-12"] {
        let sum = s.get_json(&format!("/v1/summary?as_of={as_of}"));
        let att = s.get_json(&format!("/v1/attainment?as_of={as_of}"));
        let rows: Vec<&Value> = att["attainment"].as_array().unwrap().iter().collect();
        assert_eq!(sum["as_of"], as_of);
        assert_eq!(sum["total"], att["count"], "{as_of}");
        assert_eq!(sum["total"].as_u64().unwrap() as usize, rows.len());
        // Overall counts by status.
        assert_eq!(
            nonzero(&sum["counts"]),
            count_by(&rows, "status"),
            "{as_of}"
        );
        let status_of: BTreeMap<&str, &str> = rows
            .iter()
            .map(|r| {
                (
                    r["indicator"].as_str().unwrap(),
                    r["status"].as_str().unwrap(),
                )
            })
            .collect();

        // Per battle: totals add up to the whole, counts match the rows of the battle,
        // and the lagging lists are exactly the lagging rows.
        let battles = sum["groups"].as_array().unwrap();
        let total: u64 = battles.iter().map(|b| b["total"].as_u64().unwrap()).sum();
        assert_eq!(total, sum["total"].as_u64().unwrap(), "{as_of}");
        let mut lagging_seen = Vec::new();
        for b in battles {
            let key = b["key"].as_str().unwrap();
            let mine: Vec<&Value> = rows.iter().copied().filter(|r| r["group"] == key).collect();
            assert_eq!(b["total"].as_u64().unwrap() as usize, mine.len(), "{key}");
            let in_counts: u64 = b["counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(in_counts, b["total"].as_u64().unwrap(), "{key}");
            assert_eq!(nonzero(&b["counts"]), count_by(&mine, "status"), "{key}");
            let mut lag: Vec<&str> = b["lagging"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["indicator"].as_str().unwrap())
                .collect();
            for l in b["lagging"].as_array().unwrap() {
                let id = l["indicator"].as_str().unwrap();
                assert!(is_lagging(status_of[id]), "{id} listed as lagging");
                assert_eq!(l["status"], status_of[id], "{id}");
            }
            let mut want: Vec<&str> = mine
                .iter()
                .filter(|r| is_lagging(r["status"].as_str().unwrap()))
                .map(|r| r["indicator"].as_str().unwrap())
                .collect();
            lag.sort();
            want.sort();
            assert_eq!(lag, want, "{key} lagging");
            lagging_seen.extend(lag);
        }
        // Every lagging row is in some battle's list, once.
        let all_lagging = status_of.values().filter(|s| is_lagging(s)).count();
        assert_eq!(lagging_seen.len(), all_lagging, "{as_of}");

        // Per lead unit: each group counts the rows its unit leads.
        for g in sum["lead_units"].as_array().unwrap() {
            let unit = g["key"].as_str().unwrap();
            let mine: Vec<&Value> = rows
                .iter()
                .copied()
                .filter(|r| {
                    r["lead_units"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|u| u == unit)
                })
                .collect();
            assert_eq!(g["total"].as_u64().unwrap() as usize, mine.len(), "{unit}");
            assert_eq!(nonzero(&g["counts"]), count_by(&mine, "status"), "{unit}");
            for l in g["lagging"].as_array().unwrap() {
                let id = l["indicator"].as_str().unwrap();
                assert!(is_lagging(status_of[id]), "{unit}: {id}");
            }
        }
    }

    // As of June, the readings above make the expected statuses.
    let sum = s.get_json("/v1/summary?as_of=2023-06");
    assert!(sum["counts"]["severely_behind"].as_u64().unwrap() >= 2);
    assert!(sum["counts"]["behind"].as_u64().unwrap() >= 2);
    let kgj = sum["lead_units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "县科工局")
        .expect("县科工局 group");
    let lag: Vec<&str> = kgj["lagging"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["indicator"].as_str().unwrap())
        .collect();
    assert!(lag.contains(&SME) && lag.contains(&FIRMS), "{lag:?}");
}

// ── CSV ───────────────────────────────────────────────────────────────────

/// Parses a CSV answer: checks the media type and BOM, returns (header, records).
fn parse_csv(r: Response, what: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(r.status(), 200, "{what}");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8"),
        "{what}"
    );
    let body = r.bytes().unwrap();
    assert!(
        body.starts_with("\u{feff}".as_bytes()),
        "{what}: starts with a UTF-8 BOM"
    );
    let text = std::str::from_utf8(&body[3..]).expect("UTF-8");
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let records: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_string).collect())
        .collect();
    for rec in &records {
        assert_eq!(rec.len(), header.len(), "{what}: one cell per column");
    }
    (header, records)
}

fn column<'a>(header: &[String], records: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} in {header:?}"));
    records.iter().map(|r| r[i].as_str()).collect()
}

#[test]
fn list_routes_answer_csv_on_request() {
    let s = TestServer::start();
    lagging_readings(&s);
    s.submit(SME, "2023-06", 64.0); // a second revision
    s.submitter("kgj", &["县科工局"]);

    // (path without query, extra query, where the JSON list is, a column to compare with
    // the JSON field of the same name, whether admin auth is needed)
    let cases: [(&str, &str, Option<&str>, &str, bool); 6] = [
        ("/v1/indicators", "", None, "indicator", false),
        (
            "/v1/attainment",
            "as_of=2023-06",
            Some("attainment"),
            "indicator",
            false,
        ),
        (
            "/v1/alerts",
            "as_of=2023-06",
            Some("alerts"),
            "indicator",
            false,
        ),
        (
            "/v1/indicators/tech-sme-registered/readings",
            "",
            None,
            "period",
            false,
        ),
        (
            "/v1/indicators/tech-sme-registered/readings/2023-06/revisions",
            "",
            None,
            "by",
            false,
        ),
        ("/v1/tokens", "", None, "name", true),
    ];
    for (path, query, list_at, col, admin) in cases {
        let with = |extra: &str| {
            let q: Vec<&str> = [query, extra]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            if q.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", q.join("&"))
            }
        };
        let send = |url: String, accept: Option<&str>| {
            let mut rq = s.client.get(s.url(&url));
            if admin {
                rq = rq.bearer_auth(ADMIN_TOKEN);
            }
            if let Some(a) = accept {
                rq = rq.header("accept", a);
            }
            rq.send().expect("GET")
        };

        let r = send(with(""), None);
        assert_eq!(r.status(), 200, "{path}");
        let v: Value = r.json().unwrap();
        let items = match list_at {
            Some(k) => v[k].as_array().expect("list").clone(),
            None => v.as_array().expect("list").clone(),
        };
        assert!(!items.is_empty(), "{path}: the test needs rows");
        let want: Vec<String> = items
            .iter()
            .map(|i| match &i[col] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();

        for (how, url, accept) in [
            ("?format=csv", with("format=csv"), None),
            ("Accept", with(""), Some("text/csv")),
            (
                "Accept list",
                with(""),
                Some("text/csv;q=0.9, application/json;q=0.5"),
            ),
        ] {
            let what = format!("{path} via {how}");
            let (header, records) = parse_csv(send(url, accept), &what);
            assert!(!header.is_empty() && !header[0].is_empty(), "{what}");
            assert_eq!(records.len(), items.len(), "{what}: one line per item");
            assert_eq!(column(&header, &records, col), want, "{what}");
        }

        // format=json wins over Accept; a bad format is a 400 naming the field.
        let r = send(with("format=json"), Some("text/csv"));
        assert_eq!(r.status(), 200);
        assert!(r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json")));
        let r = send(with("format=xml"), None);
        assert_eq!(r.status(), 400, "{path} format=xml");
        let p: Value = r.json().unwrap();
        assert_eq!(p["field"], "format", "{path}: {p}");
    }

    // Spot checks of the content: nested fields flatten, arrays join with 、.
    let (h, recs) = parse_csv(
        s.client
            .get(s.url("/v1/alerts?as_of=2023-06&format=csv"))
            .send()
            .unwrap(),
        "alerts",
    );
    let ids = column(&h, &recs, "indicator");
    let i = ids.iter().position(|x| *x == SME).unwrap();
    assert_eq!(column(&h, &recs, "since")[i], "2023-05");
    assert_eq!(column(&h, &recs, "lead_units")[i], "县科工局");
    assert!(column(&h, &recs, "message")[i].contains("完成42.7%"));
    let (h, recs) = parse_csv(
        s.client
            .get(s.url("/v1/attainment?as_of=2023-06&format=csv"))
            .send()
            .unwrap(),
        "attainment",
    );
    assert!(h.iter().any(|c| c == "target.value"), "{h:?}");
    let i = column(&h, &recs, "indicator")
        .iter()
        .position(|x| *x == SME)
        .unwrap();
    assert_eq!(column(&h, &recs, "target.value")[i], "150.0");
    let (h, recs) = parse_csv(
        s.client
            .get(s.url("/v1/tokens?format=csv"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap(),
        "tokens",
    );
    assert!(
        !h.iter().any(|c| c == "hash" || c == "token"),
        "no secret column: {h:?}"
    );
    let i = column(&h, &recs, "name")
        .iter()
        .position(|x| *x == "kgj")
        .unwrap();
    assert_eq!(column(&h, &recs, "units")[i], "县科工局");
    // CSV of the token list is still admin-only.
    assert_eq!(s.get("/v1/tokens?format=csv").status(), 401);
}
