//! Restarts: every acknowledged write survives a crash (SIGKILL) or a graceful stop,
//! and a restarted server neither reloads its catalogue nor loses its admin token.
//!
//! A crash needs a process to kill: the tests that crash the server run the `zhibiao`
//! binary for every life of it ([`process`]); a graceful stop and restart is the same
//! inside the test process.

use std::collections::BTreeMap;

use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::helpers::*;

/// Indicators written by the restart tests: rates and cumulative counts.
const IDS: [&str; 8] = [
    "gdp-growth",
    "fixed-asset-investment-growth",
    "industrial-value-added-growth",
    "retail-sales-growth",
    "import-export-value",
    "grain-output",
    "tech-sme-registered",
    "new-above-scale-industrial-firms",
];

/// What the server acknowledged for one (indicator, period): its answer and the
/// values of every acknowledged revision, oldest first.
#[derive(Debug, Default, Clone)]
struct Acked {
    answer: Value,
    history: Vec<f64>,
}

type Ledger = BTreeMap<(String, String), Acked>;

/// PUTs one value with the admin token and records the acknowledgement. Panics on
/// anything but 2xx: only acknowledged writes are promised to survive.
fn put_acked(client: &Client, base: &str, id: &str, period: &str, value: f64) -> Value {
    let r = client
        .put(format!("{base}/v1/indicators/{id}/readings/{period}"))
        .bearer_auth(ADMIN_TOKEN)
        // The values are made up to be told apart, not to look like statistics: they
        // carry an explanation so that the quality checks store them (flagged).
        .json(&json!({ "value": value, "explanation": "durability test figure" }))
        .send()
        .expect("PUT");
    assert!(r.status().is_success(), "PUT {id} {period}: {}", r.status());
    let mut a: Value = r.json().expect("JSON answer");
    assert_eq!(a["value"], value, "{a}");
    a.as_object_mut().unwrap().remove("outcome");
    a.as_object_mut().unwrap().remove("quality");
    a
}

fn record(ledger: &mut Ledger, id: &str, period: &str, value: f64, answer: Value) {
    let e = ledger
        .entry((id.to_string(), period.to_string()))
        .or_default();
    e.answer = answer;
    e.history.push(value);
}

/// A distinct value per write, with a fractional part that does not round-trip
/// through f32 or a decimal printer that drops digits.
fn value_for(n: usize) -> f64 {
    1000.0 + n as f64 * 3.0 + 0.123456789012
}

/// Writes 40 readings over 8 indicators, 4 threads at once, then revises some of
/// them from the main thread. Returns what was acknowledged.
fn write_forty(s: &TestServer) -> Ledger {
    let periods = ["2023-02", "2023-03", "2023-05", "2023-06", "2023-09"];
    let mut ledger = Ledger::new();
    // Concurrent writers share group commits; each must still be durable on its own.
    let results: Vec<Vec<(String, String, f64, Value)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let client = s.client.clone();
                let base = s.base.clone();
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (k, id) in IDS.iter().enumerate().filter(|(k, _)| k % 4 == t) {
                        for (j, p) in periods.iter().enumerate() {
                            let v = value_for(k * 10 + j);
                            let a = put_acked(&client, &base, id, p, v);
                            assert_eq!(a["revision"], 1);
                            out.push((id.to_string(), p.to_string(), v, a));
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (id, p, v, a) in results.into_iter().flatten() {
        record(&mut ledger, &id, &p, v, a);
    }
    assert_eq!(ledger.len(), 40);
    // Revisions too: the history, not only the latest value, must survive.
    for (n, id) in IDS.iter().enumerate().take(5) {
        let v = value_for(500 + n);
        let a = put_acked(&s.client, &s.base, id, "2023-06", v);
        assert_eq!(a["revision"], 2);
        record(&mut ledger, id, "2023-06", v, a);
    }
    ledger
}

/// Checks that the server answers exactly what was acknowledged, history included.
fn assert_ledger(s: &TestServer, ledger: &Ledger) {
    for id in IDS {
        let list = s.get_json(&format!("/v1/indicators/{id}/readings"));
        let list = list.as_array().unwrap();
        let mine: Vec<_> = ledger.iter().filter(|((i, _), _)| i == id).collect();
        assert_eq!(list.len(), mine.len(), "{id}: {list:?}");
        for ((_, period), acked) in mine {
            let row = list
                .iter()
                .find(|r| r["period_key"] == period.as_str())
                .unwrap_or_else(|| panic!("{id} {period} lost"));
            // The whole acknowledged record, bit for bit: value, revision, time, author.
            assert_eq!(row, &acked.answer, "{id} {period}");
            let revs = s.get_json(&format!("/v1/indicators/{id}/readings/{period}/revisions"));
            let revs = revs.as_array().unwrap();
            let values: Vec<f64> = revs
                .iter()
                .map(|r| r["new"]["value"].as_f64().unwrap())
                .collect();
            assert_eq!(values, acked.history, "{id} {period} history");
            assert_eq!(revs[0]["action"], "created");
            assert!(revs[1..].iter().all(|r| r["action"] == "revised"));
        }
    }
}

/// The `zhibiao` binary, which SIGKILL can crash.
fn process() -> Builder {
    TestServer::builder().process()
}

/// The revision sequence numbers of one reading.
fn seqs(s: &TestServer, id: &str, period: &str) -> Vec<u64> {
    s.get_json(&format!("/v1/indicators/{id}/readings/{period}/revisions"))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_crash_right_after_the_last_acknowledgement_loses_no_reading() {
    let s = process().start();
    let ledger = write_forty(&s);
    // SIGKILL the instant the last 2xx arrived: no shutdown hook, no final flush.
    let (dir, _tmp) = s.kill();
    let s = process().start_at(&dir);
    assert_ledger(&s, &ledger);

    // Writing continues after the crash: sequence numbers keep increasing, so the
    // history stays in commit order rather than interleaving old and new entries.
    let before = seqs(&s, "gdp-growth", "2023-06");
    put_acked(&s.client, &s.base, "gdp-growth", "2023-06", 4.25);
    let after = seqs(&s, "gdp-growth", "2023-06");
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.windows(2).all(|w| w[0] < w[1]), "{after:?}");
    let last = s.get_json("/v1/indicators/gdp-growth/readings?from=2023-06&to=2023-06");
    assert_eq!(last[0]["value"], 4.25);
    assert_eq!(last[0]["revision"], 3);
}

#[test]
fn repeated_crashes_keep_every_acknowledged_write() {
    // Each life of the server writes, then dies by SIGKILL; nothing earlier may vanish.
    let mut s = process().start();
    let mut guard = None;
    let mut want: Vec<(String, f64)> = Vec::new();
    for life in 0..3 {
        for m in 1..=4 {
            let period = format!("{}-{:02}", 2020 + life, m);
            let v = value_for(life * 100 + m);
            put_acked(&s.client, &s.base, "grain-output", &period, v);
            want.push((period, v));
        }
        let (dir, tmp) = s.kill();
        if tmp.is_some() {
            guard = tmp;
        }
        s = process().start_at(&dir);
        let list = s.get_json("/v1/indicators/grain-output/readings");
        let got: Vec<(String, f64)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["period_key"].as_str().unwrap().to_string(),
                    r["value"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want, "after crash {life}");
    }
    drop(s);
    drop(guard);
}

#[test]
fn a_graceful_stop_and_restart_keeps_readings_and_histories() {
    let s = TestServer::start();
    let ledger = write_forty(&s);
    // A withdrawal is a write too, and its tombstone must survive.
    let r = s
        .client
        .delete(s.url("/v1/indicators/grain-output/readings/2023-02?reason=restart-test"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut ledger = ledger;
    let withdrawn = ledger
        .remove(&("grain-output".to_string(), "2023-02".to_string()))
        .unwrap();
    let health = s.get_json("/healthz");
    // SIGTERM: the server drains and flushes before exiting.
    let (dir, _tmp) = s.stop();
    let s = TestServer::start_at(&dir);
    assert_ledger(&s, &ledger);
    let revs = s.get_json("/v1/indicators/grain-output/readings/2023-02/revisions");
    let revs = revs.as_array().unwrap();
    assert_eq!(revs.len(), withdrawn.history.len() + 1);
    assert_eq!(revs.last().unwrap()["action"], "withdrawn");
    assert_eq!(revs.last().unwrap()["reason"], "restart-test");
    // Derived answers (latest period, indicator count) are the same after restart.
    assert_eq!(s.get_json("/healthz"), health);
}

#[test]
fn a_restart_does_not_reload_or_duplicate_the_catalogue() {
    let s = process().start();
    let indicators = s.get_json("/v1/indicators");
    let count = indicators.as_array().unwrap().len();
    assert!(count >= 120, "{count}");
    assert_eq!(s.get_json("/healthz")["indicators"], count);

    // Restarting (graceful, then crash) leaves the catalogue exactly as it was.
    let (dir, _tmp) = s.stop();
    let s = process().start_at(&dir);
    assert_eq!(s.get_json("/v1/indicators"), indicators);
    let (dir, _tmp2) = s.kill();
    let s = process().start_at(&dir);
    assert_eq!(s.get_json("/v1/indicators"), indicators);
    let (dir, _tmp3) = s.stop();

    // An edit made after seeding (here: gdp-growth's target changed from 8 to 7.5
    // through `zhibiao import`) must survive a restart, not be reset to the built-in
    // catalogue.
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/taojiang-2023.toml"
    ))
    .unwrap();
    let at = seed
        .find("id = \"gdp-growth\"")
        .expect("gdp-growth in the seed");
    let rel = seed[at..].find("value = 8.0").expect("gdp-growth target");
    let mut edited = seed.clone();
    edited.replace_range(at + rel..at + rel + "value = 8.0".len(), "value = 7.5");
    let file = dir.parent().unwrap().join("edited.toml");
    std::fs::write(&file, edited).unwrap();
    crate::helpers::import(&file, &dir);

    let s = process().start_at(&dir);
    assert_eq!(
        s.get_json("/v1/indicators/gdp-growth")["target"]["value"],
        7.5
    );
    let (dir, _tmp4) = s.kill();
    let s = process().start_at(&dir);
    assert_eq!(
        s.get_json("/v1/indicators/gdp-growth")["target"]["value"],
        7.5
    );
    // Same number of indicators: nothing duplicated, nothing added back.
    let after = s.get_json("/v1/indicators");
    assert_eq!(after.as_array().unwrap().len(), count);
    let mut ids: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

#[test]
fn the_admin_token_from_the_environment_still_works_after_restart() {
    let s = process().start();
    s.submit("tech-sme-registered", "2023-03", 11.0);
    let (dir, _tmp) = s.kill();
    let s = process().start_at(&dir);
    // The same secret authenticates: a restart must not rotate or drop the token.
    let r = s.put_reading("tech-sme-registered", "2023-03", json!({"value": 12}));
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(
        (&a["outcome"], &a["revision"]),
        (&json!("replaced"), &json!(2))
    );
    assert_eq!(a["recorded_by"], "admin");
    // ...and a wrong one is still refused.
    let r = s
        .client
        .put(s.url("/v1/indicators/tech-sme-registered/readings/2023-03"))
        .bearer_auth("test-admin-token-wrong")
        .json(&json!({"value": 13}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // With the token given in the environment, no generated secret is written out.
    assert!(!dir.join("admin-token").exists());
    let (dir, _tmp2) = s.stop();
    let s = process().start_at(&dir);
    s.submit("tech-sme-registered", "2023-03", 14.0);
    assert_eq!(
        s.get_json("/v1/indicators/tech-sme-registered/readings")[0]["revision"],
        3
    );
}
