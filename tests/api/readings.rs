//! Submitting, revising, listing and withdrawing readings.

use serde_json::{json, Value};

use crate::helpers::*;

const RATE: &str = "gdp-growth";
const CUMULATIVE: &str = "tech-sme-registered";

fn revisions(s: &TestServer, id: &str, period: &str) -> Vec<Value> {
    s.get_json(&format!("/v1/indicators/{id}/readings/{period}/revisions"))
        .as_array()
        .expect("revisions are a list")
        .clone()
}

fn readings(s: &TestServer, path_and_query: &str) -> Vec<Value> {
    s.get_json(path_and_query)
        .as_array()
        .expect("readings are a list")
        .clone()
}

/// PUTs and returns (status, answer).
fn put(s: &TestServer, id: &str, period: &str, body: Value) -> (u16, Value) {
    let r = s.put_reading(id, period, body);
    let status = r.status().as_u16();
    (status, r.json().expect("JSON answer"))
}

#[test]
fn put_creates_with_201_then_replaces_with_200_counting_revisions() {
    let s = TestServer::start();
    // The first figure for a period is a creation: 201, revision 1, and a Location.
    let r = s.put_reading(CUMULATIVE, "2023-03", json!({"value": 12}));
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/v1/indicators/tech-sme-registered/readings/2023-03")
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let a: Value = r.json().unwrap();
    assert_eq!(a["outcome"], "created");
    assert_eq!(a["revision"], 1);
    // The Location answers with the stored reading.
    let at = s.get_json(&location);
    assert_eq!((&at["value"], &at["revision"]), (&json!(12.0), &json!(1)));
    assert_eq!(a["value"], 12.0);
    assert_eq!(a["indicator"], CUMULATIVE);
    assert_eq!(a["recorded_by"], "admin");

    // A corrected figure replaces it: 200, revision 2, and the list shows only the new value.
    let (st, a) = put(&s, CUMULATIVE, "2023-03", json!({"value": 15}));
    assert_eq!(
        (st, &a["outcome"], &a["revision"]),
        (200, &json!("replaced"), &json!(2))
    );
    let list = readings(&s, &format!("/v1/indicators/{CUMULATIVE}/readings"));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["value"], 15.0);
    assert_eq!(list[0]["revision"], 2);
    assert_eq!(revisions(&s, CUMULATIVE, "2023-03").len(), 2);
}

#[test]
fn resending_the_same_value_is_unchanged_and_adds_no_revision() {
    let s = TestServer::start();
    // Clients retry on timeouts; a retry must not inflate the history.
    let (st, first) = put(
        &s,
        RATE,
        "2023-06",
        json!({"value": 5.5, "status": "P", "note": "快报"}),
    );
    assert_eq!(st, 201);
    for _ in 0..3 {
        let (st, a) = put(
            &s,
            RATE,
            "2023-06",
            json!({"value": 5.5, "status": "provisional", "note": "快报"}),
        );
        assert_eq!(st, 200);
        assert_eq!(a["outcome"], "unchanged");
        assert_eq!(a["revision"], 1);
        // The stored record is answered as it is, not re-stamped.
        assert_eq!(a["recorded_at"], first["recorded_at"]);
    }
    assert_eq!(revisions(&s, RATE, "2023-06").len(), 1);
}

#[test]
fn a_change_of_only_the_note_or_status_is_a_revision() {
    let s = TestServer::start();
    // The note explains the figure (口径 changes); changing it is a change of record.
    assert_eq!(put(&s, RATE, "2023-06", json!({"value": 5.5})).0, 201);
    let (st, a) = put(
        &s,
        RATE,
        "2023-06",
        json!({"value": 5.5, "note": "含新口径"}),
    );
    assert_eq!(
        (st, &a["outcome"], &a["revision"]),
        (200, &json!("replaced"), &json!(2))
    );
    assert_eq!(a["note"], "含新口径");
    // Provisional → final with the same number is also a revision: the status matters.
    let (_, a) = put(
        &s,
        RATE,
        "2023-06",
        json!({"value": 5.5, "note": "含新口径", "status": "P"}),
    );
    assert_eq!(
        (&a["outcome"], &a["revision"]),
        (&json!("replaced"), &json!(3))
    );
    let revs = revisions(&s, RATE, "2023-06");
    assert_eq!(revs.len(), 3);
    assert_eq!(revs[1]["old"]["note"], Value::Null);
    assert_eq!(revs[1]["new"]["note"], "含新口径");
    assert_eq!(revs[2]["old"]["status"], "final");
    assert_eq!(revs[2]["new"]["status"], "provisional");
}

#[test]
fn status_is_accepted_as_sdmx_code_or_word_and_f_means_forecast() {
    let s = TestServer::start();
    // (sent, word, code): bureaus send either form; F is SDMX "forecast", never "final".
    let cases = [
        ("P", "provisional", "P"),
        ("provisional", "provisional", "P"),
        ("E", "estimated", "E"),
        ("estimated", "estimated", "E"),
        ("F", "forecast", "F"),
        ("forecast", "forecast", "F"),
        ("A", "final", "A"),
        ("final", "final", "A"),
        ("normal", "final", "A"),
    ];
    for (i, (sent, word, code)) in cases.iter().enumerate() {
        let period = format!("2023-{:02}", i + 1);
        let value = 5.0 + i as f64 / 10.0;
        let (st, a) = put(&s, RATE, &period, json!({"value": value, "status": sent}));
        assert_eq!(st, 201, "{sent}: {a}");
        assert_eq!(
            (&a["status"], &a["status_code"]),
            (&json!(word), &json!(code)),
            "{sent}"
        );
    }
    // No status means a final (normal) figure.
    let (_, a) = put(&s, RATE, "2023-10", json!({"value": 5.0}));
    assert_eq!(
        (&a["status"], &a["status_code"]),
        (&json!("final"), &json!("A"))
    );
    // The list answers the same words and codes as the PUT did.
    let list = readings(&s, &format!("/v1/indicators/{RATE}/readings?to=2023-09"));
    let got: Vec<(String, String)> = list
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().into(),
                r["status_code"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = cases
        .iter()
        .map(|(_, w, c)| (w.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_quarter_is_stored_under_its_last_month_and_shown_as_a_quarter() {
    let s = TestServer::start();
    // 2023-Q2 and 2023-06 are the same year-to-date figure: one key, not two.
    let (st, a) = put(&s, RATE, "2023-Q2", json!({"value": 6.1}));
    assert_eq!(st, 201);
    assert_eq!(a["period"], "2023-Q2");
    assert_eq!(a["period_key"], "2023-06");
    let list = readings(&s, &format!("/v1/indicators/{RATE}/readings"));
    assert_eq!(list.len(), 1);
    assert_eq!(
        (&list[0]["period"], &list[0]["period_key"]),
        (&json!("2023-Q2"), &json!("2023-06"))
    );
    // The history is reachable under either spelling.
    assert_eq!(
        revisions(&s, RATE, "2023-Q2"),
        revisions(&s, RATE, "2023-06")
    );
    // A monthly correction of the same period revises that one reading.
    let (st, a) = put(&s, RATE, "2023-06", json!({"value": 6.3}));
    assert_eq!(
        (st, &a["outcome"], &a["revision"]),
        (200, &json!("replaced"), &json!(2))
    );
    assert_eq!(
        readings(&s, &format!("/v1/indicators/{RATE}/readings")).len(),
        1
    );
}

#[test]
fn a_chinese_year_to_date_period_is_accepted_percent_encoded() {
    let s = TestServer::start();
    // 2023年1-6月 is how statistical bulletins name the half-year figure.
    let period = "2023%E5%B9%B41-6%E6%9C%88";
    let (st, a) = put(&s, CUMULATIVE, period, json!({"value": 30}));
    assert_eq!(st, 201, "{a}");
    assert_eq!(a["period_key"], "2023-06");
    assert_eq!(a["period"], "2023-06");
    // It is the same reading as 2023-06.
    let (st, a) = put(&s, CUMULATIVE, "2023-06", json!({"value": 30}));
    assert_eq!((st, &a["outcome"]), (200, &json!("unchanged")));
    // The revisions route takes the same spelling.
    assert_eq!(revisions(&s, CUMULATIVE, period).len(), 1);
}

#[test]
fn the_readings_list_is_in_period_order_and_honours_from_and_to() {
    let s = TestServer::start();
    // Submitted out of order, across a year boundary, so order comes from the key.
    let months = [
        "2023-09", "2022-12", "2023-01", "2024-02", "2023-06", "2023-03", "2023-12",
    ];
    for p in months {
        // Year-to-date figures that grow within each year, as the checks require.
        let month: f64 = p[5..].parse().unwrap();
        s.submit(CUMULATIVE, p, 10.0 * month);
    }
    // Another indicator's readings must never leak into the list.
    s.submit(RATE, "2023-06", 7.0);

    let keys = |path: &str| -> Vec<String> {
        readings(&s, path)
            .iter()
            .map(|r| {
                assert_eq!(r["indicator"], CUMULATIVE);
                r["period_key"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let base = format!("/v1/indicators/{CUMULATIVE}/readings");
    assert_eq!(
        keys(&base),
        ["2022-12", "2023-01", "2023-03", "2023-06", "2023-09", "2023-12", "2024-02"]
    );
    // Bounds are inclusive on both sides.
    assert_eq!(
        keys(&format!("{base}?from=2023-03&to=2023-09")),
        ["2023-03", "2023-06", "2023-09"]
    );
    assert_eq!(keys(&format!("{base}?from=2023-01&to=2023-12")).len(), 5);
    assert_eq!(
        keys(&format!("{base}?from=2023-07")),
        ["2023-09", "2023-12", "2024-02"]
    );
    assert_eq!(keys(&format!("{base}?to=2023-02")), ["2022-12", "2023-01"]);
    // Bounds take any period spelling: Q2 means through June.
    assert_eq!(
        keys(&format!("{base}?from=2023-Q1&to=2023-Q2")),
        ["2023-03", "2023-06"]
    );
    // A window with no readings is an empty list, not an error.
    assert!(keys(&format!("{base}?from=2023-04&to=2023-05")).is_empty());
    // Values come back as stored, not only the keys.
    let one = readings(&s, &format!("{base}?from=2023-06&to=2023-06"));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["value"], 60.0);
}

#[test]
fn delete_withdraws_a_reading_keeps_its_history_and_frees_the_period() {
    let s = TestServer::start();
    let url = s.url(&format!("/v1/indicators/{CUMULATIVE}/readings/2023-06"));
    s.submit(CUMULATIVE, "2023-03", 8.0);
    s.submit(CUMULATIVE, "2023-06", 20.0);

    // Withdrawal is a write: anonymous requests are refused and nothing moves.
    let r = s.client.delete(&url).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        readings(&s, &format!("/v1/indicators/{CUMULATIVE}/readings")).len(),
        2
    );

    // The reason is what an auditor reads later: it must be kept with the tombstone.
    let r = s
        .client
        .delete(format!("{url}?reason=%E9%94%99%E6%8A%A5%E6%9C%9F%E6%AC%A1"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(a["outcome"], "withdrawn");
    assert_eq!(a["withdrawn"]["value"], 20.0);

    // Gone from the list; the other period stays.
    let list = readings(&s, &format!("/v1/indicators/{CUMULATIVE}/readings"));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["period_key"], "2023-03");

    // The history ends with the withdrawal, carrying who and why.
    let revs = revisions(&s, CUMULATIVE, "2023-06");
    assert_eq!(revs.len(), 2);
    let last = &revs[1];
    assert_eq!(last["action"], "withdrawn");
    assert_eq!(last["reason"], "错报期次");
    assert_eq!(last["by"], "admin");
    assert_eq!(last["old"]["value"], 20.0);
    assert_eq!(last["new"], Value::Null);

    // Withdrawing twice is 404: there is nothing left to withdraw.
    let r = s
        .client
        .delete(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(revisions(&s, CUMULATIVE, "2023-06").len(), 2);

    // The period can be submitted again, as a new creation after the tombstone.
    let (st, a) = put(&s, CUMULATIVE, "2023-06", json!({"value": 21}));
    assert_eq!((st, &a["outcome"]), (201, &json!("created")));
    // Numbering goes on after the withdrawn revision 1, so no two entries share a number.
    assert_eq!(a["revision"], 2);
    let revs = revisions(&s, CUMULATIVE, "2023-06");
    let actions: Vec<&str> = revs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "withdrawn", "created"]);
    assert_eq!(
        readings(&s, &format!("/v1/indicators/{CUMULATIVE}/readings")).len(),
        2
    );
}

#[test]
fn the_revision_history_records_who_changed_what_from_what_to_what() {
    let s = TestServer::start();
    s.submit(RATE, "2023-09", 6.0);
    s.submit(RATE, "2023-09", 6.4);
    s.submit(RATE, "2023-09", 6.2);
    let revs = revisions(&s, RATE, "2023-09");
    assert_eq!(revs.len(), 3);
    // Oldest first, with strictly increasing sequence numbers.
    let seqs: Vec<u64> = revs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The first entry creates: no old value.
    assert_eq!(revs[0]["action"], "created");
    assert_eq!(revs[0]["old"], Value::Null);
    assert_eq!(revs[0]["new"]["value"], 6.0);
    // Each later entry is a revision from the previous value to the new one.
    for (i, (old, new)) in [(6.0, 6.4), (6.4, 6.2)].into_iter().enumerate() {
        let r = &revs[i + 1];
        assert_eq!(r["action"], "revised");
        assert_eq!(r["old"]["value"], old);
        assert_eq!(r["new"]["value"], new);
        assert_eq!(r["new"]["revision"], i as u64 + 2);
    }
    // Every change is attributed to the token that made it.
    assert!(revs.iter().all(|r| r["by"] == "admin"), "{revs:?}");
    // Another period's history is separate.
    assert!(revisions(&s, RATE, "2023-06").is_empty());
}

#[test]
fn minus_zero_and_zero_are_the_same_figure() {
    let s = TestServer::start();
    let (st, a) = put(&s, CUMULATIVE, "2023-02", json!({"value": -0.0}));
    assert_eq!((st, &a["value"]), (201, &json!(0.0)));
    let (st, a) = put(&s, CUMULATIVE, "2023-02", json!({"value": 0}));
    assert_eq!((st, &a["outcome"]), (200, &json!("unchanged")));
    assert_eq!(revisions(&s, CUMULATIVE, "2023-02").len(), 1);
}

#[test]
fn a_single_reading_is_404_until_submitted() {
    let s = TestServer::start();
    let path = format!("/v1/indicators/{CUMULATIVE}/readings/2023-05");
    assert_eq!(s.get(&path).status(), 404);
    s.submit(CUMULATIVE, "2023-05", 9.0);
    assert_eq!(s.get_json(&path)["value"], 9.0);
}

#[test]
fn a_reading_for_the_current_month_is_refused_saying_when_it_ends() {
    // The test clock stands at 2026-03-15 in Asia/Shanghai.
    let s = TestServer::start();
    let (st, v) = put(&s, "gdp-growth", "2026-03", json!({"value": 7.0}));
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["field"], "period");
    assert!(
        v["detail"].as_str().unwrap().contains("2026年3月31日结束"),
        "{v}"
    );
    assert_eq!(
        put(&s, "gdp-growth", "2026-02", json!({"value": 7.0})).0,
        201
    );
}

#[test]
fn a_reading_in_a_year_without_targets_does_not_move_the_default_as_of() {
    let s = TestServer::start();
    assert_eq!(
        put(&s, "gdp-growth", "2023-06", json!({"value": 7.2})).0,
        201
    );
    let as_of = |s: &TestServer| s.get_json("/v1/alerts")["as_of"].clone();
    assert_eq!(as_of(&s), "2023-06");
    // The built-in plan has targets for 2023 only: a later reading is history, not
    // the year in force.
    assert_eq!(
        put(&s, "gdp-growth", "2025-06", json!({"value": 6.1})).0,
        201
    );
    assert_eq!(as_of(&s), "2023-06");
    let listed = readings(&s, "/v1/indicators/gdp-growth/readings");
    assert!(
        listed.iter().any(|r| r["period"] == "2025-06"),
        "kept as history"
    );
}

/// Two figures of one indicator sent at the same moment: whichever the store's writer
/// takes second is checked against the first (it is sent back and vetted again when
/// it was checked before the first was written), so a cumulative figure that falls is
/// refused in every order, never both stored.
#[test]
fn concurrent_figures_of_one_indicator_are_each_checked_against_the_other() {
    let s = TestServer::start();
    for year in 2016..=2022 {
        let put = |period: String, value: f64| {
            s.put_reading("tech-sme-registered", &period, json!({ "value": value }))
                .status()
                .as_u16()
        };
        let (a, b) = std::thread::scope(|sc| {
            let first = sc.spawn(|| put(format!("{year}-Q1"), 60.0));
            let second = sc.spawn(|| put(format!("{year}-Q2"), 50.0));
            (first.join().unwrap(), second.join().unwrap())
        });
        let mut got = [a, b];
        got.sort();
        assert_eq!(got, [201, 422], "{year}: Q1 60 and Q2 50 sent at once");
    }
}
