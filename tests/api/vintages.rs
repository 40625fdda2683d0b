//! Vintages: the revision history of a reading, and `as_known_at`, which answers with
//! readings and targets as the store stood at an earlier moment (what the county's
//! bulletin was computed from, before later corrections).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

/// Cumulative, target "at least 150" for 2023, led by 县科工局.
const SME: &str = "tech-sme-registered";
const PERIOD: &str = "2023-06";

/// A moment strictly between two writes: the server stamps each write with its test
/// clock, which this moves forward on both sides of the moment.
fn moment(s: &TestServer) -> DateTime<Utc> {
    s.advance(Duration::from_millis(50));
    let t = s.now();
    s.advance(Duration::from_millis(50));
    t
}

/// RFC 3339 in UTC (`…Z`), which needs no escaping in a query string.
fn z(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn list(s: &TestServer, path_and_query: &str) -> Vec<Value> {
    s.get_json(path_and_query)
        .as_array()
        .expect("a list")
        .clone()
}

/// (period_key, value) of a readings list.
fn values(rows: &[Value]) -> Vec<(String, f64)> {
    rows.iter()
        .map(|r| {
            (
                r["period_key"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn readings_known_at(s: &TestServer, id: &str, at: &str) -> Vec<(String, f64)> {
    values(&list(
        s,
        &format!("/v1/indicators/{id}/readings?as_known_at={at}"),
    ))
}

fn put_ok(s: &TestServer, token: &str, id: &str, period: &str, body: Value) -> Value {
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{id}/readings/{period}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "PUT {id} {period}: {}", r.status());
    r.json().unwrap()
}

/// Creates a submitter token for 县科工局 and returns its secret.
fn clerk(s: &TestServer, name: &str) -> String {
    s.submitter(name, &["县科工局"])
}

/// The row of `id` in `GET /v1/attainment?{query}`.
fn attainment_row(s: &TestServer, id: &str, query: &str) -> Value {
    let all = s.get_json(&format!("/v1/attainment?{query}"));
    let rows = all["attainment"].as_array().expect("attainment rows");
    assert_eq!(rows.len(), 203, "every indicator is evaluated");
    rows.iter()
        .find(|r| r["indicator"] == id)
        .unwrap_or_else(|| panic!("{id} missing from /v1/attainment?{query}"))
        .clone()
}

fn at_of(rev: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rev["at"].as_str().expect("at is a string"))
        .expect("at is RFC 3339")
        .with_timezone(&Utc)
}

#[test]
fn the_revision_history_shows_creation_then_revision_with_old_new_and_who() {
    // An auditor asks "who changed June's figure from 40 to 45, and when": the history
    // must answer with both values and the token's name, not just the latest figure.
    let s = TestServer::start();
    let secret = clerk(&s, "kgj-clerk");
    put_ok(
        &s,
        ADMIN_TOKEN,
        SME,
        PERIOD,
        json!({"value": 40, "status": "P", "note": "快报"}),
    );
    s.advance(Duration::from_millis(20));
    let now = put_ok(
        &s,
        &secret,
        SME,
        PERIOD,
        json!({"value": 45, "note": "年报修订"}),
    );
    assert_eq!(
        (&now["outcome"], &now["revision"]),
        (&json!("replaced"), &json!(2))
    );

    let revs = list(
        &s,
        &format!("/v1/indicators/{SME}/readings/{PERIOD}/revisions"),
    );
    assert_eq!(revs.len(), 2, "{revs:?}");
    let (first, second) = (&revs[0], &revs[1]);

    assert_eq!(first["action"], "created");
    assert_eq!(first["by"], "admin");
    assert_eq!(first["old"], Value::Null);
    assert_eq!(first["new"]["value"], 40.0);
    assert_eq!(first["new"]["status"], "provisional");
    assert_eq!(first["new"]["note"], "快报");
    assert_eq!(first["new"]["revision"], 1);

    assert_eq!(second["action"], "revised");
    assert_eq!(second["by"], "kgj-clerk");
    assert_eq!(second["old"]["value"], 40.0);
    assert_eq!(second["old"]["note"], "快报");
    assert_eq!(second["old"]["status"], "provisional");
    assert_eq!(second["new"]["value"], 45.0);
    assert_eq!(second["new"]["note"], "年报修订");
    assert_eq!(second["new"]["status"], "final");
    assert_eq!(second["new"]["revision"], 2);
    assert_eq!(second["new"]["recorded_by"], "kgj-clerk");
    assert_eq!(second["reason"], Value::Null);

    // Oldest first, in time and in sequence.
    assert!(at_of(first) < at_of(second), "{revs:?}");
    assert!(first["seq"].as_u64().unwrap() < second["seq"].as_u64().unwrap());
    // The current reading is the second entry's new side, stamped at the same moment.
    let current = s.get_json(&format!("/v1/indicators/{SME}/readings/{PERIOD}"));
    assert_eq!(
        DateTime::parse_from_rfc3339(current["recorded_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc),
        at_of(second)
    );
    assert_eq!(current["recorded_by"], "kgj-clerk");
}

#[test]
fn as_known_at_answers_readings_and_attainment_as_they_stood_then() {
    // June's bulletin was computed from the flash figure 40; after the revision to 45 the
    // bureau must still be able to reproduce what the bulletin said.
    let s = TestServer::start();
    let before_anything = moment(&s);
    s.submit(SME, "2023-03", 20.0);
    s.submit(SME, PERIOD, 40.0);
    let t = moment(&s);
    s.submit(SME, PERIOD, 45.0);
    // A May figure arrives late, by batch: it did not exist at t.
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!([{"indicator": SME, "period": "2023-05", "value": 35}]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let after_everything = moment(&s);

    let base = format!("/v1/indicators/{SME}/readings");
    let p = |k: &str, v: f64| (k.to_string(), v);
    // Now: every period at its latest value.
    assert_eq!(
        values(&list(&s, &base)),
        [p("2023-03", 20.0), p("2023-05", 35.0), p(PERIOD, 45.0)]
    );
    // At t: June was 40 and May did not exist yet.
    assert_eq!(
        readings_known_at(&s, SME, &z(t)),
        [p("2023-03", 20.0), p(PERIOD, 40.0)]
    );
    let at_t = list(&s, &format!("{base}?as_known_at={}", z(t)));
    assert_eq!(
        at_t[1]["revision"], 1,
        "the vintage is the whole record, not only the value"
    );
    // Before anything was written, nothing was known.
    assert!(readings_known_at(&s, SME, &z(before_anything)).is_empty());
    // After every write, the vintage is the current state.
    assert_eq!(
        readings_known_at(&s, SME, &z(after_everything)),
        values(&list(&s, &base))
    );
    // from/to still apply to a vintage.
    assert_eq!(
        values(&list(
            &s,
            &format!("{base}?from=2023-04&to=2023-06&as_known_at={}", z(t))
        )),
        [p(PERIOD, 40.0)]
    );

    // The boundary is inclusive: at the exact moment of the first June write, 40 is known.
    let revs = list(&s, &format!("{base}/{PERIOD}/revisions"));
    let first_at = at_of(&revs[0]);
    assert_eq!(
        readings_known_at(&s, SME, &z(first_at)),
        [p("2023-03", 20.0), p(PERIOD, 40.0)]
    );
    // The same instant written in Beijing time, with its '+' percent-encoded, is the
    // same vintage.
    let beijing = t
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Nanos, false);
    assert!(beijing.ends_with("+08:00"), "{beijing}");
    assert_eq!(
        readings_known_at(&s, SME, &beijing.replace('+', "%2B")),
        readings_known_at(&s, SME, &z(t))
    );

    // Attainment at t is computed from 40; now from 45 (target: at least 150).
    let one = |q: &str| s.get_json(&format!("/v1/indicators/{SME}/attainment?{q}"));
    let then = one(&format!("as_of={PERIOD}&as_known_at={}", z(t)));
    assert_close(&then, "actual", 40.0);
    assert_close(&then, "attainment", 40.0 / 150.0);
    assert_eq!(then["actual_period"], PERIOD);
    let current = one(&format!("as_of={PERIOD}"));
    assert_close(&current, "actual", 45.0);
    assert_close(&current, "attainment", 45.0 / 150.0);
    // As of May at t, the latest known figure was March's.
    let may_then = one(&format!("as_of=2023-05&as_known_at={}", z(t)));
    assert_close(&may_then, "actual", 20.0);
    assert_eq!(may_then["actual_period"], "2023-03");
    assert_close(&one("as_of=2023-05"), "actual", 35.0);

    // The catalogue-wide list answers the same for this indicator.
    let row = attainment_row(&s, SME, &format!("as_of={PERIOD}&as_known_at={}", z(t)));
    assert_close(&row, "actual", 40.0);
    assert_close(&row, "attainment", 40.0 / 150.0);
    assert_eq!(row["status"], then["status"]);
    let row = attainment_row(&s, SME, &format!("as_of={PERIOD}"));
    assert_close(&row, "actual", 45.0);
    assert_close(&row, "attainment", 45.0 / 150.0);
}

#[test]
fn a_target_amended_mid_year_counts_only_from_the_amendment_on() {
    // A mid-year plan adjustment (年中调整) raises the goal; a report made before it must
    // keep showing the goal it was measured against.
    let s = TestServer::start();
    s.submit(SME, PERIOD, 45.0);
    let before = moment(&s);
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{SME}/targets/2023")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 160, "comparator": "at_least"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "replacing the seeded 2023 target");
    let a: Value = r.json().unwrap();
    assert_eq!(
        (&a["outcome"], &a["value"]),
        (&json!("replaced"), &json!(160.0))
    );
    let after = moment(&s);

    let one = |q: &str| s.get_json(&format!("/v1/indicators/{SME}/attainment?{q}"));
    let then = one(&format!("as_of={PERIOD}&as_known_at={}", z(before)));
    assert_eq!(then["target"]["value"], 150.0);
    assert_close(&then, "attainment", 45.0 / 150.0);
    for q in [
        format!("as_of={PERIOD}&as_known_at={}", z(after)),
        format!("as_of={PERIOD}"),
    ] {
        let now = one(&q);
        assert_eq!(now["target"]["value"], 160.0, "{q}");
        assert_close(&now, "attainment", 45.0 / 160.0);
        // The reading is the same on both sides; only the goal moved.
        assert_close(&now, "actual", 45.0);
    }
    // The expected year-to-date figure scales with the goal.
    let e_then = then["expected"].as_f64().unwrap();
    let e_now = one(&format!("as_of={PERIOD}"))["expected"]
        .as_f64()
        .unwrap();
    assert!(
        (e_now / e_then - 160.0 / 150.0).abs() < 1e-9,
        "{e_then} {e_now}"
    );

    let row = attainment_row(
        &s,
        SME,
        &format!("as_of={PERIOD}&as_known_at={}", z(before)),
    );
    assert_eq!(row["target"]["value"], 150.0);
    assert_close(&row, "attainment", 45.0 / 150.0);
    let row = attainment_row(&s, SME, &format!("as_of={PERIOD}&as_known_at={}", z(after)));
    assert_eq!(row["target"]["value"], 160.0);
    assert_close(&row, "attainment", 45.0 / 160.0);
    // The indicator itself shows the amended target.
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{SME}"))["target"]["value"],
        160.0
    );
}

#[test]
fn a_withdrawn_reading_is_still_visible_as_known_at_a_time_before_the_withdrawal() {
    // A figure sent to the wrong period is withdrawn, but a bulletin already printed it:
    // the vintage must still show what the bulletin used.
    let s = TestServer::start();
    s.submit(SME, PERIOD, 40.0);
    let before = moment(&s);
    let r = s
        .client
        .delete(s.url(&format!(
            "/v1/indicators/{SME}/readings/{PERIOD}?reason=wrong-period"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = moment(&s);

    // Now it is gone.
    assert!(list(&s, &format!("/v1/indicators/{SME}/readings")).is_empty());
    assert_eq!(
        s.get(&format!("/v1/indicators/{SME}/readings/{PERIOD}"))
            .status(),
        404
    );
    // Before the withdrawal it was there; after it, it was not.
    assert_eq!(
        readings_known_at(&s, SME, &z(before)),
        [(PERIOD.to_string(), 40.0)]
    );
    assert!(readings_known_at(&s, SME, &z(after)).is_empty());
    let one = |q: &str| s.get_json(&format!("/v1/indicators/{SME}/attainment?{q}"));
    assert_close(
        &one(&format!("as_of={PERIOD}&as_known_at={}", z(before))),
        "actual",
        40.0,
    );
    let gone = one(&format!("as_of={PERIOD}&as_known_at={}", z(after)));
    assert_eq!(gone["actual"], Value::Null);
    assert_eq!(gone["status"], "no_data");

    // A new figure for the period later does not rewrite either vintage.
    s.submit(SME, PERIOD, 41.0);
    assert_eq!(
        readings_known_at(&s, SME, &z(before)),
        [(PERIOD.to_string(), 40.0)]
    );
    assert!(readings_known_at(&s, SME, &z(after)).is_empty());
    assert_eq!(
        values(&list(&s, &format!("/v1/indicators/{SME}/readings"))),
        [(PERIOD.to_string(), 41.0)]
    );
}

#[test]
fn a_bad_as_known_at_is_400_naming_the_field() {
    // A silently ignored as_known_at would answer today's figures to someone asking about
    // the past, which looks right and is wrong.
    let s = TestServer::start();
    s.submit(SME, PERIOD, 40.0);
    let bad = [
        "yesterday",
        "2023-07-15",
        "2023-07-15T09:00:00",
        "2023-13-01T00:00:00Z",
        // An unescaped '+' is a space in a query string, so this arrives as
        // "2023-07-15T09:00:00 08:00" and must be refused, not misread.
        "2023-07-15T09:00:00+08:00",
    ];
    let routes = [
        format!("/v1/indicators/{SME}/readings?as_known_at="),
        format!("/v1/indicators/{SME}/attainment?as_of={PERIOD}&as_known_at="),
        format!("/v1/attainment?as_of={PERIOD}&as_known_at="),
        format!("/v1/alerts?as_of={PERIOD}&as_known_at="),
        format!("/v1/summary?as_of={PERIOD}&as_known_at="),
    ];
    for route in &routes {
        for b in bad {
            let r = s.get(&format!("{route}{b}"));
            assert_eq!(r.status(), 400, "{route}{b}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(ct, "application/problem+json", "{route}{b}");
            let body: Value = r.json().unwrap();
            assert_eq!(body["field"], "as_known_at", "{route}{b}: {body}");
        }
        // The same time percent-encoded is fine.
        let r = s.get(&format!("{route}2023-07-15T09:00:00%2B08:00"));
        assert_eq!(r.status(), 200, "{route} with %2B");
    }
}
