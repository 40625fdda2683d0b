//! Notifications: overdue alerts, webhook receivers in each format, retries, a dead
//! receiver, and the reminder digest. A local receiver (a plain TCP server in the test)
//! records what zhibiao sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Datelike;
use serde_json::{json, Value};

use crate::helpers::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    pub query: String,
    pub body: Value,
    pub at: Instant,
}

/// What the receiver answers to its n-th request (from 0): a status, or `None` to
/// hold the connection open without answering (a dead receiver).
type Script = dyn Fn(usize) -> Option<u16> + Send + Sync;

/// A local HTTP receiver that records every request.
pub struct Receiver {
    pub base: String,
    got: Arc<Mutex<Vec<Captured>>>,
}

impl Receiver {
    pub fn start(script: impl Fn(usize) -> Option<u16> + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let g = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (g, script) = (g.clone(), script.clone());
                std::thread::spawn(move || serve_one(stream, &g, &*script));
            }
        });
        Receiver { base, got }
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.got.lock().unwrap().clone()
    }

    /// Waits up to 20 s until `pred` holds for the requests so far.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&[Captured]) -> bool) -> Vec<Captured> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.requests();
            if pred(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: {what} did not happen; got {:#?}",
                r.iter().map(|c| (&c.path, &c.body)).collect::<Vec<_>>()
            );
            // Polling for requests that are coming.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve_one(stream: TcpStream, got: &Mutex<Vec<Captured>>, script: &Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
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
    let n = {
        let mut g = got.lock().unwrap();
        g.push(Captured {
            path: path.to_string(),
            query: query.to_string(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            at: Instant::now(),
        });
        g.len() - 1
    };
    let mut stream = stream;
    match script(n) {
        Some(status) => {
            let text = if status == 200 {
                r#"{"errcode":0,"errmsg":"ok"}"#
            } else {
                r#"{"error":"try later"}"#
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
        // Dead: hold the connection, answer nothing (the receiver's own thread, not a
        // wait of the test).
        None => std::thread::sleep(Duration::from_secs(120)),
    }
}

/// Registers a receiver as admin and insists on 201.
fn register(s: &TestServer, body: Value) -> Value {
    let r = s
        .client
        .post(s.url("/v1/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .unwrap();
    let st = r.status();
    let v: Value = r.json().unwrap();
    assert_eq!(st, 201, "{v}");
    v
}

/// GET as admin, insisting on 200.
fn admin_get(s: &TestServer, path: &str) -> Value {
    let r = s
        .client
        .get(s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().unwrap()
}

fn deliveries(s: &TestServer, name: &str) -> Value {
    admin_get(s, &format!("/v1/webhooks/{name}/deliveries"))
}

/// The receivers of these tests listen on 127.0.0.1, which a server refuses without it.
const INTERNAL: &str = "--allow-internal-webhooks";

const SME: &str = "tech-sme-registered";
const JOBS: &str = "new-urban-jobs";
const GDP: &str = "gdp-growth";

#[test]
fn overdue_figures_are_alerts_of_their_own_kind_next_to_pace_alerts() {
    let s = TestServer::start();
    s.submit(SME, "2023-06", 63.0);
    for (month, jobs) in [
        (1, 500.0),
        (2, 1000.0),
        (3, 1500.0),
        (4, 2000.0),
        (5, 2400.0),
    ] {
        s.submit(JOBS, &format!("2023-{month:02}"), jobs);
    }
    let a = s.get_json("/v1/alerts?as_of=2023-06&on=2023-07-20");
    let list = a["alerts"].as_array().unwrap();
    assert_eq!(a["count"], list.len());
    let find = |kind: &str, id: &str| {
        list.iter()
            .find(|x| x["kind"] == kind && x["indicator"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The pace alert is still there.
    assert_eq!(find("pace", SME)["status"], "behind");
    // June's jobs figure was due on 10 July: 10 days late on the 20th, a warning.
    let jobs = find("overdue", JOBS);
    assert_eq!(
        (
            &jobs["severity"],
            &jobs["due"],
            &jobs["days_overdue"],
            &jobs["since"]
        ),
        (
            &json!("warning"),
            &json!("2023-07-10"),
            &json!(10),
            &json!("2023-06")
        ),
        "{jobs}"
    );
    assert_eq!(jobs["lead_units"], json!(["县人社局"]));
    assert_eq!(jobs["periods_lagging"], 1);
    assert_eq!(
        jobs["message"],
        "新增城镇就业：2023年6月数据应于2023年7月10日前报送，已逾期10天"
    );
    // GDP (quarterly): Q1 was due on 15 April, 96 days before: critical, two quarters.
    let gdp = find("overdue", GDP);
    assert_eq!(
        (
            &gdp["severity"],
            &gdp["days_overdue"],
            &gdp["periods_lagging"]
        ),
        (&json!("critical"), &json!(96), &json!(2)),
        "{gdp}"
    );
    // SME's Q2 is in; its Q1 figure (March) is not, so it is overdue as well.
    assert_eq!(find("overdue", SME)["since"], "2023-03");
    // Worst first: every critical before every warning.
    let sev: Vec<&str> = list
        .iter()
        .map(|x| x["severity"].as_str().unwrap())
        .collect();
    assert!(sev
        .windows(2)
        .all(|w| !(w[0] == "warning" && w[1] == "critical")));
    // One kind at a time, and the other filters apply to both kinds.
    let only = s.get_json("/v1/alerts?as_of=2023-06&on=2023-07-20&kind=overdue&lead_unit=县人社局");
    let only = only["alerts"].as_array().unwrap();
    assert!(!only.is_empty());
    assert!(only.iter().all(|x| x["kind"] == "overdue"
        && x["lead_units"]
            .as_array()
            .unwrap()
            .contains(&json!("县人社局"))));
    let pace = s.get_json("/v1/alerts?as_of=2023-06&on=2023-07-20&kind=pace");
    assert!(pace["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["kind"] == "pace"));
    // A figure received is no longer overdue.
    s.submit(JOBS, "2023-06", 2900.0);
    let after = s.get_json("/v1/alerts?as_of=2023-06&on=2023-07-20&kind=overdue");
    let after = after["alerts"].as_array().unwrap();
    assert!(!after.iter().any(|x| x["indicator"] == JOBS));
    assert!(after.iter().any(|x| x["indicator"] == GDP));
    // Bad parameters are named.
    for (q, field) in [("kind=late", "kind"), ("on=2023-13-01", "on")] {
        let r = s.get(&format!("/v1/alerts?{q}"));
        assert_eq!(r.status(), 400, "{q}");
        let p: Value = r.json().unwrap();
        assert!(p.to_string().contains(field), "{p}");
    }
    // The dashboard marks overdue figures on that day.
    let page = s.get("/?as_of=2023-06&on=2023-07-20").text().unwrap();
    assert!(page.contains("逾期未报"), "the overdue section");
    assert!(page.contains(r#"class="overdue-mark""#));
}

#[test]
fn each_format_is_delivered_in_its_documented_shape() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL]);
    let hooks = [
        json!({"name": "generic", "url": format!("{}/generic", rx.base), "format": "generic",
               "events": ["alert_raised", "reading_submitted"]}),
        json!({"name": "am", "url": format!("{}/am/webhook", rx.base), "format": "alertmanager"}),
        json!({"name": "am-api", "url": format!("{}/api/v2/alerts", rx.base), "format": "alertmanager"}),
        json!({"name": "wecom", "url": format!("{}/cgi-bin/webhook/send?key=wecom-secret-key", rx.base), "format": "wecom",
               "filter": {"lead_units": ["县科工局"]}}),
        json!({"name": "dingtalk", "url": format!("{}/robot/send?access_token=dd-secret-token", rx.base), "format": "dingtalk",
               "secret": "SECdingtalk", "filter": {"battles": ["innovation"]}}),
    ];
    for h in &hooks {
        let v = register(&s, h.clone());
        // Answers show the URL without its secrets, and never the signing secret.
        let shown = v.to_string();
        assert!(!shown.contains("wecom-secret-key") && !shown.contains("dd-secret-token"));
        assert!(!shown.contains("SECdingtalk"));
    }
    let listed = admin_get(&s, "/v1/webhooks");
    assert_eq!(listed["count"], 5);
    let wecom = listed["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "wecom")
        .unwrap()
        .clone();
    assert!(wecom["url"]
        .as_str()
        .unwrap()
        .ends_with("/cgi-bin/webhook/send?key=***"));
    // The list is for admins only.
    assert_eq!(s.get("/v1/webhooks").status(), 401);

    // A lagging figure for 县科工局: SME behind in June.
    s.submit(SME, "2023-06", 63.0);
    let got = rx.wait_for("one message per receiver", |r| {
        [
            "/generic",
            "/am/webhook",
            "/api/v2/alerts",
            "/cgi-bin/webhook/send",
            "/robot/send",
        ]
        .iter()
        .all(|p| r.iter().any(|c| c.path == *p))
            && r.iter().filter(|c| c.path == "/generic").count() >= 2
    });
    let on = |path: &str| -> Vec<&Captured> { got.iter().filter(|c| c.path == path).collect() };

    // generic: zhibiao's JSON, the submission and the alert.
    let generic = on("/generic");
    let alert = generic
        .iter()
        .find(|c| c.body["event"] == "alert_raised")
        .expect("an alert_raised event");
    let b = &alert.body;
    assert_eq!(b["receiver"], "generic");
    assert!(
        b["title"]
            .as_str()
            .unwrap()
            .starts_with("【预警】科技型中小企业入库（县科工局）："),
        "{b}"
    );
    assert_eq!(b["items"][0]["indicator"], SME);
    assert_eq!(b["items"][0]["severity"], "warning");
    assert_eq!(b["items"][0]["alert"]["kind"], "pace");
    assert!(b["at"].as_str().unwrap().ends_with('Z'));
    let sub = generic
        .iter()
        .find(|c| c.body["event"] == "reading_submitted")
        .expect("a reading_submitted event");
    assert_eq!(sub.body["title"], "【数据报送】admin报送1项数据");
    assert_eq!(sub.body["items"][0]["value"], 63.0);
    assert_eq!(
        sub.body["text"],
        "【数据报送】admin报送1项数据\n科技型中小企业入库（2023年6月）：63家"
    );

    // alertmanager: the webhook payload, version 4.
    let am = &on("/am/webhook")[0].body;
    assert_eq!(am["version"], "4");
    assert_eq!(am["status"], "firing");
    assert_eq!(am["receiver"], "am");
    assert_eq!(am["groupLabels"]["alertname"], "ZhibiaoLagging");
    assert!(am["groupKey"].is_string());
    assert_eq!(am["truncatedAlerts"], 0);
    let a0 = &am["alerts"][0];
    assert_eq!(a0["status"], "firing");
    assert_eq!(a0["labels"]["indicator"], SME);
    assert_eq!(a0["labels"]["severity"], "warning");
    assert_eq!(a0["labels"]["lead_unit"], "县科工局");
    assert!(a0["annotations"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("【预警】"));
    assert!(a0["startsAt"].is_string() && a0["endsAt"] == "0001-01-01T00:00:00Z");
    let fp = a0["fingerprint"].as_str().unwrap();
    assert!(fp.len() == 16 && fp.chars().all(|c| c.is_ascii_hexdigit()));
    // Alertmanager's own API: a list of alerts with labels and an end time.
    let api = &on("/api/v2/alerts")[0].body;
    let api0 = &api.as_array().expect("a JSON array")[0];
    assert_eq!(api0["labels"]["alertname"], "ZhibiaoLagging");
    assert!(api0["startsAt"].is_string() && api0["endsAt"].is_string());
    assert!(api0.get("status").is_none());

    // 企业微信: a markdown robot message, to the URL with its key.
    let wc = on("/cgi-bin/webhook/send")[0];
    assert_eq!(wc.query, "key=wecom-secret-key");
    assert_eq!(wc.body["msgtype"], "markdown");
    let content = wc.body["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("**【预警】科技型中小企业入库（县科工局）："),
        "{content}"
    );
    assert!(content.len() <= 4096);
    assert_eq!(
        wc.body.as_object().unwrap().len(),
        2,
        "msgtype and markdown only"
    );

    // 钉钉: markdown with a title, signed (加签) with timestamp and sign.
    let dd = on("/robot/send")[0];
    assert_eq!(dd.body["msgtype"], "markdown");
    assert!(dd.body["markdown"]["title"]
        .as_str()
        .unwrap()
        .starts_with("【预警】"));
    assert!(dd.body["markdown"]["text"]
        .as_str()
        .unwrap()
        .starts_with("#### 【预警】"));
    let q: std::collections::HashMap<String, String> =
        reqwest::Url::parse(&format!("http://x/?{}", dd.query))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
    assert_eq!(q["access_token"], "dd-secret-token");
    assert!(q["timestamp"].parse::<i64>().is_ok());
    assert_eq!(q["sign"].len(), 44, "Base64 of an HMAC-SHA256");

    // The filters held: wecom (县科工局) and dingtalk (innovation) got only the SME alert.
    for path in ["/cgi-bin/webhook/send", "/robot/send"] {
        let got: Vec<&Value> = on(path).iter().map(|c| &c.body).collect();
        assert_eq!(got.len(), 1, "{path}: {got:#?}");
    }
    // Each receiver's log shows the delivery.
    let log = deliveries(&s, "wecom");
    assert_eq!(log["deliveries"][0]["outcome"], "delivered");
    assert_eq!(log["deliveries"][0]["event"], "alert_raised");
    assert_eq!(log["deliveries"][0]["status"], 200);
    assert_eq!(log["pending"], 0);

    // A test message goes out at once, with the receiver's verdict.
    let t: Value = s
        .client
        .post(s.url("/v1/webhooks/wecom/test"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (&t["outcome"], &t["event"]),
        (&json!("delivered"), &json!("test"))
    );
    rx.wait_for("the test message", |r| {
        r.iter().any(|c| {
            c.body["markdown"]["content"]
                .as_str()
                .is_some_and(|m| m.starts_with("**【测试】zhibiao 测试消息"))
        })
    });
}

#[test]
fn receivers_are_validated_and_can_be_removed() {
    let s = TestServer::start();
    let post = |body: Value| {
        s.client
            .post(s.url("/v1/webhooks"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .unwrap()
    };
    for (body, field) in [
        (
            json!({"name": "x", "url": "ftp://h/x", "format": "generic"}),
            "url",
        ),
        (
            json!({"name": "x", "url": "https://h/x", "format": "slack"}),
            "format",
        ),
        (
            json!({"name": "x", "url": "https://h/x", "format": "generic", "events": ["lunch"]}),
            "events",
        ),
        (
            json!({"name": "x", "url": "https://h/x", "format": "alertmanager", "events": ["reminder"]}),
            "events",
        ),
        (
            json!({"name": "x", "url": "https://h/x", "format": "wecom", "filter": {"lead_units": ["县不存在局"]}}),
            "filter.lead_units",
        ),
        (
            json!({"name": "x y", "url": "https://h/x", "format": "generic"}),
            "name",
        ),
    ] {
        let r = post(body.clone());
        assert_eq!(r.status(), 400, "{body}");
        let p: Value = r.json().unwrap();
        assert!(p.to_string().contains(field), "{body}: {p}");
    }
    // Nothing was written by the refusals.
    let none = admin_get(&s, "/v1/webhooks");
    assert_eq!(none["count"], 0);
    // An alias resolves to the canonical unit; a second receiver of a name is a 409.
    let ok = json!({"name": "jt", "url": "https://h/x", "format": "wecom", "filter": {"lead_units": ["县交通局"]}});
    assert_eq!(post(ok.clone()).status(), 201);
    assert_eq!(post(ok).status(), 409);
    let one = admin_get(&s, "/v1/webhooks/jt");
    assert_eq!(one["filter"]["lead_units"], json!(["县交通运输局"]));
    let del = |name: &str| {
        s.client
            .delete(s.url(&format!("/v1/webhooks/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(del("jt"), 204);
    assert_eq!(del("jt"), 404);
}

#[test]
fn a_failed_delivery_is_retried_after_a_backoff() {
    // The receiver fails the first request, then takes the rest.
    let rx = Receiver::start(|n| Some(if n == 0 { 500 } else { 200 }));
    let s = TestServer::start_with(&["--webhook-backoff-ms", "300", INTERNAL]);
    register(
        &s,
        json!({"name": "flaky", "url": format!("{}/hook", rx.base), "format": "generic",
               "events": ["reading_submitted"]}),
    );
    s.submit(JOBS, "2023-06", 2600.0);
    let got = rx.wait_for("a retry", |r| r.len() >= 2);
    assert_eq!(got[0].body, got[1].body, "the same message, sent again");
    assert_eq!(got[0].body["event"], "reading_submitted");
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= Duration::from_millis(250),
        "the retry waited {waited:?}, less than the 300 ms backoff"
    );
    // The log, newest first: delivered on the second attempt after a 500.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = deliveries(&s, "flaky");
        if log["count"] == 2 || Instant::now() > deadline {
            break log;
        }
        // Polling for the second attempt's log entry, which is coming.
        std::thread::sleep(Duration::from_millis(50));
    };
    let d = log["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{log}");
    assert_eq!(
        (&d[0]["outcome"], &d[0]["attempt"], &d[0]["status"]),
        (&json!("delivered"), &json!(2), &json!(200))
    );
    assert_eq!(
        (&d[1]["outcome"], &d[1]["attempt"], &d[1]["status"]),
        (&json!("retrying"), &json!(1), &json!(500))
    );
    assert!(d[1]["next_attempt_at"].is_string());
    assert!(d[1]["error"].as_str().unwrap().contains("500"));
    assert_eq!(d[0]["id"], d[1]["id"], "two attempts of one message");
    assert_eq!(log["pending"], 0);
    // /metrics counts the attempts by outcome.
    let metrics = s.get("/metrics").text().unwrap();
    for outcome in ["retrying", "delivered"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("zhibiao_webhook_attempts_total{")
                    && l.contains(r#"webhook="flaky""#)
                    && l.contains(&format!(r#"outcome="{outcome}""#))
                    && l.ends_with(" 1")),
            "no {outcome} attempt counted in:\n{metrics}"
        );
    }
}

/// A batch of every cumulative indicator's June figure.
fn june_batch(s: &TestServer, value: f64) -> Vec<Value> {
    s.get_json("/v1/indicators")
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "cumulative")
        .map(|i| json!({"indicator": i["id"], "period": "2023-06", "value": value}))
        .collect()
}

fn post_batch(s: &TestServer, rows: &[Value]) -> Duration {
    let t = Instant::now();
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(ADMIN_TOKEN)
        .json(rows)
        .send()
        .unwrap();
    let took = t.elapsed();
    let st = r.status();
    assert_eq!(st, 200, "{}", r.text().unwrap());
    took
}

#[test]
fn a_dead_receiver_does_not_slow_a_batch_submission() {
    // The receiver accepts connections and never answers; an attempt waits 60 s.
    let rx = Receiver::start(|_| None);
    let s = TestServer::start_with(&["--webhook-timeout-secs", "60", INTERNAL]);
    let rows = june_batch(&s, 10.0);
    assert!(rows.len() > 10, "a batch of {} rows", rows.len());
    let before = post_batch(&s, &rows);
    register(
        &s,
        json!({"name": "dead", "url": format!("{}/hook", rx.base), "format": "generic",
               "events": ["reading_submitted", "alert_raised", "alert_changed", "alert_resolved"]}),
    );
    let first = post_batch(&s, &june_batch(&s, 20.0));
    // The receiver holds the delivery of that batch open...
    rx.wait_for("a delivery attempt", |r| !r.is_empty());
    // ...while the next batch is answered as quickly as ever.
    let second = post_batch(&s, &june_batch(&s, 30.0));
    assert!(
        first < Duration::from_secs(20) && second < Duration::from_secs(20),
        "with a dead receiver, batches took {first:?} and {second:?} (before: {before:?}); a delivery on the request path would take 60 s"
    );
    eprintln!(
        "batch of {} rows: {before:?} without a receiver, {first:?} and {second:?} with a dead one",
        rows.len()
    );
    let log = deliveries(&s, "dead");
    assert!(log["pending"].as_u64().unwrap() >= 1, "{log}");
}

#[test]
fn a_reminder_digest_for_a_fixed_date_is_printed_by_dry_run() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL]);
    s.submit(SME, "2023-06", 63.0);
    register(
        &s,
        json!({"name": "rsj", "url": format!("{}/rsj", rx.base), "format": "wecom",
               "filter": {"lead_units": ["县人社局"]}}),
    );
    // The same digests over HTTP.
    let http = s.get_json("/v1/reminders?on=2023-07-20&days=3");
    let rsj_http = http["digests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["lead_unit"] == "县人社局")
        .cloned()
        .expect("a digest for 县人社局");
    let (dir, _tmp) = s.stop();
    let run = |args: &[&str]| {
        let out = crate::common::output(
            crate::common::zhibiao(&[
                "remind",
                "--db",
                dir.to_str().unwrap(),
                "--on",
                "2023-07-20",
            ])
            .args(args),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let v: Value = serde_json::from_str(&run(&["--dry-run", "--json"])).unwrap();
    assert_eq!(
        (&v["on"], &v["days"], &v["dry_run"]),
        (&json!("2023-07-20"), &json!(3), &json!(true))
    );
    let digests = v["digests"].as_array().unwrap();
    assert_eq!(v["count"], digests.len());
    let rsj = digests
        .iter()
        .find(|d| d["lead_unit"] == "县人社局")
        .expect("a digest for 县人社局");
    // 县人社局 leads the monthly jobs figure (none reported): January to June are overdue.
    let title = rsj["title"].as_str().unwrap();
    assert!(
        title.starts_with("【报送提醒】县人社局（2023年7月20日）："),
        "{title}"
    );
    assert!(title.contains("项指标逾期未报，3日内到期"), "{title}");
    // One line per indicator, however many of its periods are missing.
    let text = rsj["text"].as_str().unwrap();
    assert!(
        text.contains(
            "\n新增城镇就业：2023年1月至6月共6期数据未报，最早应于2月10日前报送，已逾期160天"
        ),
        "{text}"
    );
    let jobs_item = rsj["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == JOBS)
        .unwrap();
    assert_eq!(
        (&jobs_item["due"], &jobs_item["days_overdue"]),
        (&json!("2023-02-10"), &json!(160))
    );
    assert_eq!(rsj["text"], rsj_http["text"], "the CLI and the API agree");
    // It would go to the receiver filtered on 县人社局, as a 企业微信 message...
    let to = rsj["receivers"].as_array().unwrap();
    assert_eq!(to.len(), 1);
    assert_eq!(to[0]["webhook"], "rsj");
    assert_eq!(to[0]["body"]["msgtype"], "markdown");
    assert!(to[0]["url"].as_str().unwrap().ends_with("/rsj"));
    // ...and other units' digests to no receiver.
    let kgj = digests
        .iter()
        .find(|d| d["lead_unit"] == "县科工局")
        .unwrap();
    assert!(kgj["receivers"].as_array().unwrap().is_empty());
    // The text form says the same, and a dry run sends nothing.
    let plain = run(&["--dry-run"]);
    assert!(plain.contains("── 县人社局 ──"));
    assert!(plain.contains("→ rsj (wecom)"));
    // The command has exited: whatever it sent, the receiver has already recorded (it
    // records a request before it answers, and a send waits for the answer).
    assert!(rx.requests().is_empty(), "a dry run sent something");
    // Without --dry-run it is sent, to that receiver only (on loopback: the command
    // needs the flag as the server did).
    let sent = run(&[INTERNAL]);
    assert!(sent.contains("sent 1 of 1 messages"), "{sent}");
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    assert!(got[0].body["markdown"]["content"]
        .as_str()
        .unwrap()
        .starts_with("**【报送提醒】县人社局"));
}

#[test]
fn secrets_in_webhook_urls_never_reach_the_log() {
    // The log of a process: what an operator's journal would hold.
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("server.log");
    let mut server = crate::common::ServerProcess::spawn(
        crate::common::serve_command(
            &tmp.path().join("db"),
            ADMIN_TOKEN,
            &[
                "--webhook-backoff-ms",
                "100",
                "--webhook-attempts",
                "2",
                INTERNAL,
            ],
        )
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap()),
    );
    let base = server.base.clone();
    let client = crate::common::client(Duration::from_secs(30));
    // A receiver nobody listens on, so every attempt fails and is logged.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let r = client
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "gone", "url": format!("http://user:pass-secret@127.0.0.1:{port}/hook/0123456789abcdefSECRET?key=key-secret"),
                      "format": "generic", "events": ["reading_submitted"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client
        .put(format!("{base}/v1/indicators/{JOBS}/readings/2023-06"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 2600}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    // Wait for both attempts to fail.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log: Value = client
            .get(format!("{base}/v1/webhooks/gone/deliveries"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if log["deliveries"][0]["outcome"] == "failed" {
            assert!(!log.to_string().contains("secret"), "{log}");
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        // Polling for the second failed attempt, which is coming.
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("webhook delivery failed"), "{text}");
    assert!(text.contains("webhook registered"), "{text}");
    for secret in ["pass-secret", "key-secret", "0123456789abcdefSECRET"] {
        assert!(!text.contains(secret), "the log shows '{secret}':\n{text}");
    }
}

#[test]
fn the_daily_run_sends_each_units_digest_once_a_day() {
    // Targets for last year and this year, so that something is overdue on any day.
    let year = test_now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .year();
    let mut body = String::new();
    for (id, y) in [("last-year", year - 1), ("this-year", year)] {
        body.push_str(&entry(
            id,
            "cumulative",
            "up",
            &format!("year = {y}\nvalue = 100\ncomparator = \"at_least\""),
        ));
    }
    let rx = Receiver::start(|_| Some(200));
    // The day's run is due at once (00:00 has passed), but nobody is registered yet.
    let s = TestServer::with_catalogue_and(&body, &["--remind-at", "00:00", INTERNAL]);
    assert_eq!(s.today().year(), year);
    // The day's run, now: with nobody to send to it queues nothing (and leaves the day
    // open for the first receiver).
    assert_eq!(s.run_day(s.today()), 0);
    assert_eq!(s.outbox_len(), 0);
    assert!(rx.requests().is_empty());
    register(
        &s,
        json!({"name": "kgj", "url": format!("{}/kgj", rx.base), "format": "generic", "events": ["reminder"]}),
    );
    // The first receiver gets the day's digest.
    let got = rx.wait_for("the daily digest", |r| !r.is_empty());
    let d = &got[0].body;
    assert_eq!(d["event"], "reminder");
    assert_eq!(d["to"], "县科工局");
    assert!(
        d["title"]
            .as_str()
            .unwrap()
            .starts_with("【报送提醒】县科工局（"),
        "{d}"
    );
    assert!(d["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["indicator"] == "last-year" && i["days_overdue"].as_i64().unwrap() > 0));
    // Once a day: a restart the same day sends nothing more. (Delivered and out of the
    // outbox first, so that the restart has nothing left to retry.)
    s.outbox_drained();
    let (dir, tmp) = s.stop();
    let s = TestServer::start_at_with(&dir, &["--remind-at", "00:00", INTERNAL]);
    // The day's run, now, however far the server's own daily task has got: nothing.
    assert_eq!(s.run_day(s.today()), 0, "the day's run queued again");
    assert_eq!(s.outbox_len(), 0, "the restart queued something");
    assert_eq!(rx.requests().len(), 1, "the digest was sent twice in a day");
    drop((s, tmp));
}

#[test]
fn alerts_are_sent_when_raised_when_they_change_and_when_resolved() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL]);
    register(
        &s,
        json!({"name": "all", "url": format!("{}/all", rx.base), "format": "generic",
               "events": ["alert_raised", "alert_changed", "alert_resolved"]}),
    );
    // 63 of 150 at mid-year: behind, a warning.
    s.submit(SME, "2023-06", 63.0);
    rx.wait_for("raised", |r| r.len() == 1);
    // Revised to 40: severely behind, critical.
    s.submit(SME, "2023-06", 40.0);
    rx.wait_for("changed", |r| r.len() == 2);
    // Revised to 80: on pace.
    s.submit(SME, "2023-06", 80.0);
    let got = rx.wait_for("resolved", |r| r.len() == 3);
    let events: Vec<&str> = got
        .iter()
        .map(|c| c.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["alert_raised", "alert_changed", "alert_resolved"]);
    assert_eq!(got[0].body["items"][0]["severity"], "warning");
    let changed = got[1].body["title"].as_str().unwrap();
    assert!(
        changed.starts_with("【预警变化】科技型中小企业入库（县科工局）："),
        "{changed}"
    );
    assert!(changed.ends_with("（预警由一般升为严重）"), "{changed}");
    assert_eq!(got[1].body["items"][0]["severity"], "critical");
    assert_eq!(
        got[2].body["title"],
        "【预警解除】科技型中小企业入库（县科工局）：已达到序时进度，预警解除"
    );
    // An unchanged alert sends nothing: a new figure that leaves SME on pace. Once the
    // notifier has stepped over the writes so far, a step after the new figure queues
    // nothing, and nothing queued before is left undelivered.
    s.notifier_caught_up();
    s.submit(SME, "2023-06", 81.0);
    s.notifier_step();
    s.outbox_drained();
    assert_eq!(rx.requests().len(), 3);
}

#[test]
fn a_peer_countys_lagging_figure_is_not_the_countys_alert() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL]);
    // 赫山区's GDP growth, with a target of 8%, as a series to compare with.
    let body = json!({
        "name": "赫山区地区生产总值增长", "battle": "growth", "kind": "rate", "unit": "%",
        "direction": "up", "frequency": "quarterly", "lead_units": ["赫山区统计局"],
        "source": {"document": "赫山区2023年政府工作报告", "section": "主要目标", "quote": "增长8%"},
        "region": "赫山区", "code": GDP,
        "target": {"year": 2023, "value": 8.0, "comparator": "about"},
    });
    let r = s
        .client
        .put(s.url("/v1/indicators/heshan-gdp-growth"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    register(
        &s,
        json!({"name": "all", "url": format!("{}/all", rx.base), "format": "generic", "events": ["alert_raised"]}),
    );
    // Both lag; only 桃江县's is an alert for the county's receivers.
    s.submit("heshan-gdp-growth", "2023-06", 5.0);
    s.submit(SME, "2023-06", 63.0);
    let got = rx.wait_for("the county's alert", |r| !r.is_empty());
    // Every write stepped over, and everything queued delivered: nothing more is coming.
    s.notifier_caught_up();
    s.notifier_step();
    s.outbox_drained();
    let ids: Vec<Value> = rx
        .requests()
        .iter()
        .flat_map(|c| c.body["items"].as_array().unwrap().clone())
        .map(|i| i["indicator"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(SME)],
        "{:?}",
        got.iter().map(|c| &c.body).collect::<Vec<_>>()
    );
    // The API still lists the peer's alert.
    let peer = s.get_json("/v1/alerts?as_of=2023-06&kind=pace&region=赫山区");
    assert_eq!(peer["alerts"][0]["indicator"], "heshan-gdp-growth");
}

#[test]
fn a_receiver_of_alerts_added_later_hears_only_of_what_changes_after() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL]);
    register(
        &s,
        json!({"name": "subs", "url": format!("{}/subs", rx.base), "format": "generic", "events": ["reading_submitted"]}),
    );
    // SME lags while nobody listens for alerts.
    s.submit(SME, "2023-06", 63.0);
    rx.wait_for("the submission", |r| r.len() == 1);
    register(
        &s,
        json!({"name": "alerts", "url": format!("{}/alerts", rx.base), "format": "generic", "events": ["alert_raised"]}),
    );
    // GDP falls behind after the alert receiver arrived: only GDP is news to it.
    s.submit(GDP, "2023-06", 5.0);
    let got = rx.wait_for("the GDP alert", |r| r.iter().any(|c| c.path == "/alerts"));
    let alerts: Vec<&Captured> = got.iter().filter(|c| c.path == "/alerts").collect();
    assert_eq!(alerts.len(), 1);
    let ids: Vec<&Value> = alerts[0].body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["indicator"])
        .collect();
    assert_eq!(ids, [&json!(GDP)], "{}", alerts[0].body);
}

#[test]
fn receivers_and_streams_hear_of_a_month_only_when_its_set_release_time_comes() {
    let rx = Receiver::start(|_| Some(200));
    let s = TestServer::start_with(&[INTERNAL, "--publish", "reviewed"]);
    register(
        &s,
        json!({"name": "all", "url": format!("{}/all", rx.base), "format": "generic",
               "events": ["alert_raised", "alert_changed", "alert_resolved", "reading_submitted"]}),
    );
    // May released (no figure of SME in it), then June under review: 63 of 150 at
    // mid-year, behind.
    s.submit(JOBS, "2023-05", 2100.0);
    let post = |path: &str, body: Value| {
        let r = s
            .client
            .post(s.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text().unwrap());
    };
    post("/v1/periods/2023-05/review", json!({}));
    post("/v1/periods/2023-05/release", json!({}));
    let stream = reqwest::blocking::Client::builder()
        .timeout(None::<Duration>)
        .build()
        .unwrap()
        .get(s.url("/v1/alerts/stream"))
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (tx, events) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(d) = line.strip_prefix("data:") {
                if tx.send(d.trim().to_string()).is_err() {
                    break;
                }
            }
        }
    });
    let snapshot = events.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(snapshot.contains("\"as_of\":\"2023-05\""), "{snapshot}");
    // What May's release told the receiver, before June.
    s.notifier_caught_up();
    s.notifier_step();
    s.outbox_drained();
    let before = rx.requests().len();

    s.submit(SME, "2023-06", 63.0);
    post("/v1/periods/2023-06/review", json!({}));
    let later = (s.now() + chrono::Duration::hours(1))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    post("/v1/periods/2023-06/release", json!({ "at": later }));
    s.notifier_caught_up();
    s.notifier_step();
    s.outbox_drained();
    let sent = rx.requests();
    assert_eq!(
        sent.len(),
        before,
        "nothing of June is sent before its release: {:?}",
        sent[before..]
            .iter()
            .map(|c| c.body.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        events.recv_timeout(Duration::from_millis(1500)).is_err(),
        "the stream says nothing of June before its release"
    );
    // The set time comes: the stream and the receiver hear of June's alert.
    s.advance(Duration::from_secs(2 * 3600));
    let ev = events
        .recv_timeout(Duration::from_secs(20))
        .expect("an event after the release");
    assert!(
        ev.contains(SME) && ev.contains("\"as_of\":\"2023-06\""),
        "{ev}"
    );
    s.notifier_step();
    let got = rx.wait_for("raised", |r| r.len() > before);
    let june = &got[before..];
    assert_eq!(june[0].body["event"], "alert_raised", "{:?}", june[0].body);
    assert!(june[0].body.to_string().contains(SME), "{:?}", june[0].body);
    assert!(
        june.iter().all(|c| c.body["event"] != "reading_submitted"),
        "a submission made before its month's release is not announced"
    );
}
