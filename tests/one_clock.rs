//! One clock: "today" and "this month" come from the one configured zone (`--tz`) for
//! every part of the server — the periods refused as not yet ended, the calendar, the
//! reminder preview and the daily run — so they agree with one another.
//!
//! The clock is fixed at 2024-03-31 20:00 UTC: already 1 April (04:00) in Shanghai,
//! still 31 March (22:00) in Berlin. The server runs in this process.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zhibiao::cli::serve::{start, Running, ServeConfig};
use zhibiao::clock::Clock;

const ADMIN: &str = "one-clock-test-admin-token-0123456789";
const AT: &str = "2024-03-31T20:00:00Z";

async fn serve(db: &std::path::Path, tz: Option<&str>) -> Running {
    // The receiver registered below is on loopback.
    let mut args = vec![
        "--db",
        db.to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--allow-internal-webhooks",
    ];
    if let Some(tz) = tz {
        args.extend(["--tz", tz]);
    }
    let mut cfg = ServeConfig::from_args(args, Some(ADMIN)).expect("serve flags");
    // Keep the zone --tz set; only the instant is pinned.
    cfg.clock = Clock::fixed(AT.parse().unwrap(), cfg.clock.tz());
    start(cfg).await.expect("start")
}

async fn get(c: &reqwest::Client, s: &Running, path: &str) -> Value {
    let r = c.get(format!("{}{path}", s.url())).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

async fn put_reading(c: &reqwest::Client, s: &Running, period: &str) -> (u16, Value) {
    let r = c
        .put(format!(
            "{}/v1/indicators/tech-sme-registered/readings/{period}",
            s.url()
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"value": 40}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_today_follows_the_one_configured_zone() {
    let c = reqwest::Client::new();
    let tmp = tempfile::tempdir().unwrap();

    // Berlin: still 31 March.
    let berlin = serve(&tmp.path().join("berlin"), Some("Europe/Berlin")).await;
    assert_eq!(get(&c, &berlin, "/v1/reminders").await["on"], "2024-03-31");
    assert_eq!(get(&c, &berlin, "/v1/calendar").await["from"], "2024-03-31");
    let (status, body) = put_reading(&c, &berlin, "2024-03").await;
    assert_eq!(status, 400, "March has not ended in Berlin: {body}");
    assert_eq!(body["field"], "period");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2024年3月31日结束"),
        "{body}"
    );
    assert_eq!(put_reading(&c, &berlin, "2024-02").await.0, 201);

    // The daily run takes the same day: register a receiver of reminders (at a closed
    // port; the day is recorded whatever becomes of the messages) and wait for the
    // run it wakes to record its day.
    let r = c
        .post(format!("{}/v1/webhooks", berlin.url()))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "office", "url": "http://127.0.0.1:9/hook",
                      "format": "generic", "events": ["reminder", "overdue"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    let day = loop {
        if let Some(d) = berlin.store.notifier_state().unwrap().remind_day {
            break d;
        }
        assert!(Instant::now() < deadline, "the daily run did not happen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(day.to_string(), "2024-03-31");
    berlin.stop().await.unwrap();

    // The default zone, Asia/Shanghai: already 1 April.
    let shanghai = serve(&tmp.path().join("shanghai"), None).await;
    assert_eq!(
        get(&c, &shanghai, "/v1/reminders").await["on"],
        "2024-04-01"
    );
    assert_eq!(
        get(&c, &shanghai, "/v1/calendar").await["from"],
        "2024-04-01"
    );
    // March has ended in Shanghai; April has not.
    assert_eq!(put_reading(&c, &shanghai, "2024-03").await.0, 201);
    assert_eq!(put_reading(&c, &shanghai, "2024-04").await.0, 400);
    shanghai.stop().await.unwrap();
}
