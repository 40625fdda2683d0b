//! Roles and tokens: what admins, submitters and readers may and may not do, the token
//! routes and CLI, `serve --private`, and the audit trail naming the token behind each
//! change.

use std::process::Output;

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

/// Led by 县科工局.
const OWN: &str = "tech-sme-registered";
/// Also led by 县科工局 (monthly, cumulative).
const OWN2: &str = "new-above-scale-industrial-firms";
/// Led by 县发改局.
const FOREIGN: &str = "gdp-growth";
/// Led by 县商务局.
const FOREIGN2: &str = "retail-sales-growth";

// ── small helpers ─────────────────────────────────────────────────────────

/// POST /v1/tokens with `auth`; returns (status, body).
fn post_token(s: &TestServer, auth: &str, body: Value) -> (u16, Value) {
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(auth)
        .json(&body)
        .send()
        .expect("POST /v1/tokens");
    let st = r.status().as_u16();
    (st, r.json().expect("JSON answer"))
}

/// Creates a token as admin and returns its secret.
fn token(s: &TestServer, name: &str, role: &str, units: &[&str]) -> String {
    let (st, v) = post_token(
        s,
        ADMIN_TOKEN,
        json!({"name": name, "role": role, "units": units}),
    );
    assert_eq!(st, 201, "create token {name}: {v}");
    v["token"].as_str().expect("secret").to_string()
}

fn put_reading_as(s: &TestServer, auth: &str, id: &str, period: &str, value: f64) -> Response {
    s.client
        .put(s.url(&format!("/v1/indicators/{id}/readings/{period}")))
        .bearer_auth(auth)
        .json(&json!({ "value": value }))
        .send()
        .expect("PUT reading")
}

fn batch_as(s: &TestServer, auth: &str, query: &str, rows: Value) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(&format!("/v1/readings{query}")))
        .bearer_auth(auth)
        .json(&rows)
        .send()
        .expect("POST /v1/readings");
    let st = r.status().as_u16();
    (st, r.json().expect("JSON answer"))
}

/// The status of GET of one reading (200 when stored, 404 when not).
fn reading_status(s: &TestServer, id: &str, period: &str) -> u16 {
    s.get(&format!("/v1/indicators/{id}/readings/{period}"))
        .status()
        .as_u16()
}

fn revisions(s: &TestServer, id: &str, period: &str) -> Vec<Value> {
    s.get_json(&format!("/v1/indicators/{id}/readings/{period}/revisions"))
        .as_array()
        .expect("a list")
        .clone()
}

fn content_type(r: &Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Asserts a problem+json answer with this status; returns its body.
fn expect_problem(r: Response, status: u16, what: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "{what}");
    assert_eq!(content_type(&r), "application/problem+json", "{what}");
    let v: Value = r.json().expect("problem body");
    assert_eq!(v["status"], status, "{what}: {v}");
    v
}

fn zhibiao(args: &[&str]) -> Output {
    crate::common::output(&mut crate::common::zhibiao(args))
}

/// Seeds a store directory with the built-in catalogue (by starting and stopping a server
/// on it) so that CLI commands can resolve units.
fn seeded_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    TestServer::start_at(&dir).stop();
    (tmp, dir)
}

/// GET with `auth` as the bearer token, if any.
fn get_as(s: &TestServer, path: &str, auth: Option<&str>) -> Response {
    let mut rq = s.client.get(s.url(path));
    if let Some(a) = auth {
        rq = rq.bearer_auth(a);
    }
    rq.send().expect("GET")
}

// ── admin: the token routes ───────────────────────────────────────────────

#[test]
fn admin_creates_lists_and_revokes_tokens() {
    let s = TestServer::start();

    // Created with 201; the secret is answered once and units resolve to canonical names.
    let (st, v) = post_token(
        &s,
        ADMIN_TOKEN,
        json!({"name": "jtj", "role": "submitter", "units": ["县交通局"]}),
    );
    assert_eq!(st, 201, "{v}");
    let secret = v["token"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 32, "a long random secret: {secret}");
    assert_eq!(v["name"], "jtj");
    assert_eq!(v["role"], "submitter");
    assert_eq!(v["units"], json!(["县交通运输局"]));
    assert!(v.get("hash").is_none(), "no hash in the answer: {v}");

    let (st, v) = post_token(&s, ADMIN_TOKEN, json!({"name": "viewer", "role": "reader"}));
    assert_eq!(st, 201, "{v}");
    assert_eq!((&v["role"], &v["units"]), (&json!("reader"), &json!([])));
    let reader = v["token"].as_str().unwrap().to_string();
    assert_ne!(reader, secret);

    // The list names every token, never a secret or a hash.
    let r = s
        .client
        .get(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    assert!(!text.contains(&secret) && !text.contains(&reader));
    let list: Value = serde_json::from_str(&text).unwrap();
    let list = list.as_array().expect("a list");
    let names: Vec<&str> = list.iter().filter_map(|t| t["name"].as_str()).collect();
    for n in ["admin", "jtj", "viewer"] {
        assert!(names.contains(&n), "{n} listed in {names:?}");
    }
    for t in list {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        for k in &keys {
            assert!(
                !["token", "secret", "hash"].contains(&k.as_str()),
                "field {k} leaks in {t}"
            );
        }
    }
    let jtj = list.iter().find(|t| t["name"] == "jtj").unwrap();
    assert_eq!(jtj["units"], json!(["县交通运输局"]));

    // The new secret authenticates: a co-unit is not a lead unit, so 403 (not 401).
    // 县交通运输局 only co-leads park-tax-per-mu (led by 县发改局).
    let r = put_reading_as(&s, &secret, "park-tax-per-mu", "2023-06", 15.0);
    expect_problem(r, 403, "co-unit writes");

    // Duplicate names conflict.
    let (st, v) = post_token(&s, ADMIN_TOKEN, json!({"name": "jtj", "role": "reader"}));
    assert_eq!(st, 409, "{v}");

    // Bad input names the field.
    for (body, field) in [
        (json!({"name": "x1", "role": "superuser"}), "role"),
        (json!({"name": "x2", "role": "submitter"}), "units"),
        (
            json!({"name": "x3", "role": "submitter", "units": []}),
            "units",
        ),
        (
            json!({"name": "x4", "role": "submitter", "units": ["县不存在局"]}),
            "units",
        ),
        (
            json!({"name": "x5", "role": "reader", "units": ["县科工局"]}),
            "units",
        ),
        (json!({"name": "bad name!", "role": "reader"}), "name"),
        (json!({"role": "reader"}), "name"),
    ] {
        let (st, v) = post_token(&s, ADMIN_TOKEN, body.clone());
        assert_eq!(st, 400, "{body} → {v}");
        assert_eq!(v["field"], field, "{body} → {v}");
    }
    // None of the refused tokens was stored.
    let list = s
        .client
        .get(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");

    // DELETE revokes: the revoked secret then gets 401.
    let r = s
        .client
        .delete(s.url("/v1/tokens/jtj"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["revoked"]["name"], "jtj");
    let r = put_reading_as(&s, &secret, "park-tax-per-mu", "2023-06", 15.0);
    let p = expect_problem(r, 401, "revoked token");
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    // Revoking again: 404. An admin cannot revoke itself.
    let r = s
        .client
        .delete(s.url("/v1/tokens/jtj"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .client
        .delete(s.url("/v1/tokens/admin"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
    // The other token still works.
    let r = put_reading_as(&s, &reader, OWN, "2023-06", 1.0);
    expect_problem(r, 403, "reader still authenticates");
}

// ── submitters ────────────────────────────────────────────────────────────

#[test]
fn submitter_writes_only_the_indicators_its_units_lead() {
    let s = TestServer::start();
    let kgj = token(&s, "kgj", "submitter", &["县科工局"]);

    // Its own indicator: accepted, recorded under its name.
    let r = put_reading_as(&s, &kgj, OWN, "2023-03", 30.0);
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(v["recorded_by"], "kgj");

    // Another unit's indicator: 403 naming the lead unit, and nothing stored.
    let r = put_reading_as(&s, &kgj, FOREIGN, "2023-06", 5.5);
    let p = expect_problem(r, 403, "foreign PUT");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("kgj") && detail.contains("县发改局"),
        "{detail}"
    );
    assert_eq!(reading_status(&s, FOREIGN, "2023-06"), 404);
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{FOREIGN}/readings")),
        json!([])
    );
    // Nor may it withdraw another unit's reading.
    s.submit(FOREIGN, "2023-03", 6.0);
    let r = s
        .client
        .delete(s.url(&format!("/v1/indicators/{FOREIGN}/readings/2023-03")))
        .bearer_auth(&kgj)
        .send()
        .unwrap();
    expect_problem(r, 403, "foreign DELETE");
    assert_eq!(reading_status(&s, FOREIGN, "2023-03"), 200);

    // A batch mixing its own and foreign rows: 403 listing the foreign rows only,
    // and nothing written.
    let rows = json!([
        {"indicator": OWN, "period": "2023-06", "value": 63},
        {"indicator": FOREIGN, "period": "2023-06", "value": 5.5},
        {"indicator": OWN2, "period": "2023-06", "value": 8},
        {"indicator": FOREIGN2, "period": "2023-06", "value": 8.2},
    ]);
    let (st, v) = batch_as(&s, &kgj, "", rows.clone());
    assert_eq!(st, 403, "{v}");
    let errs = v["errors"].as_array().expect("errors");
    let bad: Vec<u64> = errs.iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(bad, vec![2, 4], "{v}");
    assert!(errs.iter().all(|e| e["field"] == "indicator"), "{v}");
    for (id, p) in [
        (OWN, "2023-06"),
        (FOREIGN, "2023-06"),
        (OWN2, "2023-06"),
        (FOREIGN2, "2023-06"),
    ] {
        assert_eq!(reading_status(&s, id, p), 404, "{id} {p} not written");
    }

    // Non-atomic: its own rows are stored, the foreign ones reported.
    let (st, v) = batch_as(&s, &kgj, "?atomic=false", rows);
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (&v["created"], &v["rejected"]),
        (&json!(2), &json!(2)),
        "{v}"
    );
    let bad: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, vec![2, 4], "{v}");
    let stored: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["indicator"].as_str().unwrap())
        .collect();
    assert_eq!(stored, vec![OWN, OWN2]);
    assert_eq!(reading_status(&s, OWN, "2023-06"), 200);
    assert_eq!(reading_status(&s, OWN2, "2023-06"), 200);
    assert_eq!(reading_status(&s, FOREIGN, "2023-06"), 404);
    assert_eq!(reading_status(&s, FOREIGN2, "2023-06"), 404);

    // A batch of only foreign rows, non-atomic: nothing is written. (Its status is
    // checked by `non_atomic_batch_of_only_foreign_rows_is_403`, ignored: server bug.)
    let (st, v) = batch_as(
        &s,
        &kgj,
        "?atomic=false",
        json!([{"indicator": FOREIGN, "period": "2023-09", "value": 5.0}]),
    );
    assert!(st >= 400, "{st} {v}");
    assert_eq!(reading_status(&s, FOREIGN, "2023-09"), 404);
}

/// Rows refused only because the token may not write them are a 403 (docs/architecture.md:
/// "403 for rows outside the token's units"), atomic or not. With `?atomic=false` and no
/// row the token may write, the server answers 400 `invalid-rows` instead: the forbidden
/// rows are merged into `errors` before the "nothing good" check
/// (src/api/readings.rs, `batch_handler`, `errors.extend(forbidden)` then the 400).
#[test]
fn non_atomic_batch_of_only_foreign_rows_is_403() {
    let s = TestServer::start();
    let kgj = token(&s, "kgj", "submitter", &["县科工局"]);
    let reader = token(&s, "viewer", "reader", &[]);
    let (st, v) = batch_as(
        &s,
        &kgj,
        "?atomic=false",
        json!([{"indicator": FOREIGN, "period": "2023-06", "value": 5.0}]),
    );
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["errors"][0]["field"], "indicator", "{v}");
    assert_eq!(reading_status(&s, FOREIGN, "2023-06"), 404);
    // A reader can write nothing: refused before its batch is read, with no rows.
    let (st, v) = batch_as(
        &s,
        &reader,
        "?atomic=false",
        json!([{"indicator": OWN, "period": "2023-06", "value": 5.0}]),
    );
    assert_eq!(st, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("只读令牌"), "{v}");
    assert_eq!(reading_status(&s, OWN, "2023-06"), 404);
}

#[test]
fn stats_bureau_submitter_writes_every_indicator() {
    let s = TestServer::start();
    let tjj = token(&s, "tjj", "submitter", &["县统计局"]);
    for (id, v) in [(OWN, 40.0), (FOREIGN, 5.5), (FOREIGN2, 8.2), ("cpi", 2.1)] {
        let r = put_reading_as(&s, &tjj, id, "2023-05", v);
        assert_eq!(r.status(), 201, "{id}");
        assert_eq!(r.json::<Value>().unwrap()["recorded_by"], "tjj");
    }
    let (st, v) = batch_as(
        &s,
        &tjj,
        "",
        json!([
            {"indicator": OWN, "period": "2023-06", "value": 63},
            {"indicator": FOREIGN, "period": "2023-06", "value": 5.6},
            {"indicator": "import-export-value", "period": "2023-06", "value": 7},
        ]),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["created"], 3);
    // It may also withdraw any reading.
    let r = s
        .client
        .delete(s.url(&format!("/v1/indicators/{FOREIGN}/readings/2023-06")))
        .bearer_auth(&tjj)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // But it is no admin.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{FOREIGN}/targets/2024")))
        .bearer_auth(&tjj)
        .json(&json!({"value": 7.0, "comparator": "about"}))
        .send()
        .unwrap();
    expect_problem(r, 403, "stats bureau sets a target");
}

// ── readers and non-admins ────────────────────────────────────────────────

#[test]
fn readers_cannot_write_and_non_admins_cannot_administer() {
    let s = TestServer::start();
    let reader = token(&s, "viewer", "reader", &[]);
    let kgj = token(&s, "kgj", "submitter", &["县科工局"]);
    let tjj = token(&s, "tjj", "submitter", &["县统计局"]);

    // Reader: every write refused with 403, nothing stored.
    let r = put_reading_as(&s, &reader, OWN, "2023-06", 63.0);
    let p = expect_problem(r, 403, "reader PUT");
    assert!(p["detail"].as_str().unwrap().contains("reader"), "{p}");
    let (st, v) = batch_as(
        &s,
        &reader,
        "",
        json!([{"indicator": OWN, "period": "2023-06", "value": 63}]),
    );
    assert_eq!(st, 403, "{v}");
    s.submit(OWN, "2023-03", 30.0);
    let r = s
        .client
        .delete(s.url(&format!("/v1/indicators/{OWN}/readings/2023-03")))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    expect_problem(r, 403, "reader DELETE");
    assert_eq!(reading_status(&s, OWN, "2023-06"), 404);
    assert_eq!(reading_status(&s, OWN, "2023-03"), 200);

    // Without a token, or with a wrong one: 401.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{OWN}/readings/2023-06")))
        .json(&json!({"value": 63}))
        .send()
        .unwrap();
    let r401 = expect_problem(r, 401, "no token");
    assert!(r401["detail"].as_str().unwrap().contains("Bearer"));
    let r = put_reading_as(&s, "zb_not-a-real-token", OWN, "2023-06", 63.0);
    expect_problem(r, 401, "wrong token");

    // Non-admins: 403 on the admin routes, and nothing changes.
    let before_ind = s.get_json(&format!("/v1/indicators/{FOREIGN}"));
    let indicator_body = json!({
        "name": "篡改", "battle": "growth", "kind": "rate", "unit": "%",
        "direction": "up", "frequency": "quarterly", "lead_units": ["县科工局"],
        "source": {"document": "无", "section": "无", "quote": "无"}
    });
    for (who, t) in [("reader", &reader), ("kgj", &kgj), ("tjj", &tjj)] {
        let (st, v) = post_token(&s, t, json!({"name": "evil", "role": "admin"}));
        assert_eq!(st, 403, "{who} POST /v1/tokens: {v}");
        let r = s
            .client
            .get(s.url("/v1/tokens"))
            .bearer_auth(t)
            .send()
            .unwrap();
        expect_problem(r, 403, &format!("{who} GET /v1/tokens"));
        let r = s
            .client
            .delete(s.url("/v1/tokens/admin"))
            .bearer_auth(t)
            .send()
            .unwrap();
        expect_problem(r, 403, &format!("{who} DELETE /v1/tokens/admin"));
        let r = s
            .client
            .put(s.url(&format!("/v1/indicators/{FOREIGN}")))
            .bearer_auth(t)
            .json(&indicator_body)
            .send()
            .unwrap();
        expect_problem(r, 403, &format!("{who} PUT indicator"));
        let r = s
            .client
            .put(s.url("/v1/indicators/brand-new-indicator"))
            .bearer_auth(t)
            .json(&indicator_body)
            .send()
            .unwrap();
        expect_problem(r, 403, &format!("{who} PUT new indicator"));
        let r = s
            .client
            .put(s.url(&format!("/v1/indicators/{OWN}/targets/2024")))
            .bearer_auth(t)
            .json(&json!({"value": 200.0, "comparator": "at_least"}))
            .send()
            .unwrap();
        expect_problem(r, 403, &format!("{who} PUT target"));
    }
    assert_eq!(s.get_json(&format!("/v1/indicators/{FOREIGN}")), before_ind);
    assert_eq!(s.get("/v1/indicators/brand-new-indicator").status(), 404);
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{OWN}"))["target_years"],
        json!([2023])
    );
    let list = s
        .client
        .get(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!names.contains(&"evil"), "{names:?}");
    assert!(names.contains(&"admin"), "{names:?}");
}

#[test]
fn private_server_needs_a_token_to_read() {
    let p = TestServer::start_with(&["--private"]);

    // /healthz stays open.
    assert_eq!(get_as(&p, "/healthz", None).status(), 200);

    // Writes are still checked by their own rules: an admin can create a reader.
    let r = p
        .client
        .post(p.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "viewer", "role": "reader"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let reader = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let reads = [
        "/v1/indicators",
        "/v1/indicators/gdp-growth",
        "/v1/indicators/gdp-growth/readings",
        "/v1/indicators/gdp-growth/attainment?as_of=2023-06",
        "/v1/attainment?as_of=2023-06",
        "/v1/alerts?as_of=2023-06",
        "/v1/summary?as_of=2023-06",
    ];
    for path in reads {
        let r = get_as(&p, path, None);
        assert_eq!(r.status(), 401, "{path} without a token");
        assert_eq!(content_type(&r), "application/problem+json", "{path}");
        assert!(r.headers().contains_key("www-authenticate"), "{path}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["status"], 401, "{path}: {v}");
        assert_eq!(
            get_as(&p, path, Some("zb_wrong")).status(),
            401,
            "{path} bad token"
        );
        assert_eq!(
            get_as(&p, path, Some(&reader)).status(),
            200,
            "{path} as reader"
        );
        assert_eq!(
            get_as(&p, path, Some(ADMIN_TOKEN)).status(),
            200,
            "{path} as admin"
        );
    }
    // The alert stream too (checked before the stream opens).
    assert_eq!(
        get_as(&p, "/v1/alerts/stream?as_of=2023-06", None).status(),
        401
    );

    // A reader still cannot write, nor list tokens.
    let r = p
        .client
        .put(p.url("/v1/indicators/tech-sme-registered/readings/2023-06"))
        .bearer_auth(&reader)
        .json(&json!({"value": 63}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(get_as(&p, "/v1/tokens", Some(&reader)).status(), 403);
}

#[test]
fn public_server_reads_need_no_token() {
    let s = TestServer::start();
    for path in [
        "/healthz",
        "/v1/indicators",
        "/v1/attainment?as_of=2023-06",
        "/v1/alerts?as_of=2023-06",
    ] {
        assert_eq!(s.get(path).status(), 200, "{path}");
    }
    // Token administration is never public.
    assert_eq!(s.get("/v1/tokens").status(), 401);
}

// ── audit ─────────────────────────────────────────────────────────────────

#[test]
fn every_revision_names_the_token_that_made_it() {
    let s = TestServer::start();
    let kgj = token(&s, "kgj", "submitter", &["县科工局"]);
    let tjj = token(&s, "tjj", "submitter", &["县统计局"]);

    assert_eq!(put_reading_as(&s, &kgj, OWN, "2023-03", 30.0).status(), 201);
    assert_eq!(put_reading_as(&s, &tjj, OWN, "2023-03", 31.0).status(), 200);
    let (st, v) = batch_as(
        &s,
        &kgj,
        "",
        json!([{"indicator": OWN, "period": "2023-03", "value": 32}]),
    );
    assert_eq!(st, 200, "{v}");
    let r = s
        .client
        .delete(s.url(&format!(
            "/v1/indicators/{OWN}/readings/2023-03?reason=wrong"
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let revs = revisions(&s, OWN, "2023-03");
    let by: Vec<&str> = revs.iter().map(|r| r["by"].as_str().unwrap()).collect();
    let actions: Vec<&str> = revs.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(by, vec!["kgj", "tjj", "kgj", "admin"], "{revs:?}");
    assert_eq!(actions, vec!["created", "revised", "revised", "withdrawn"]);
    // Each new value also records who wrote it.
    for r in &revs[..3] {
        assert_eq!(r["new"]["recorded_by"], r["by"], "{r}");
    }

    // The audit trail on disk says the same, row by row.
    let (dir, _tmp) = s.stop();
    let store = open_store(&dir);
    let rows: Vec<(String, String)> = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter_map(|(_, rec)| match rec.change {
            zhibiao::store::Change::Reading { indicator, .. } => {
                Some((indicator.to_string(), rec.actor))
            }
            _ => None,
        })
        .collect();
    let actors: Vec<&str> = rows.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(actors, vec!["kgj", "tjj", "kgj", "admin"]);
    assert!(rows.iter().all(|(i, _)| i == OWN));
}

// ── the token CLI ─────────────────────────────────────────────────────────

#[test]
fn cli_creates_lists_and_revokes_tokens() {
    let (_tmp, dir) = seeded_dir();
    let db = dir.to_str().unwrap();

    let out = zhibiao(&[
        "token",
        "create",
        "--role",
        "submitter",
        "--unit",
        "县科工局",
        "--name",
        "kgj",
        "--db",
        db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "the secret alone on stdout: {stdout:?}");
    let secret = lines[0].trim().to_string();
    assert!(secret.len() >= 32 && !secret.contains(' '), "{secret}");

    // --json: the secret and the canonical units.
    let out = zhibiao(&[
        "token",
        "create",
        "--role",
        "submitter",
        "--unit",
        "县交通局",
        "--name",
        "jtj",
        "--json",
        "--db",
        db,
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["name"], "jtj");
    assert_eq!(v["units"], json!(["县交通运输局"]));
    assert!(v["token"].as_str().is_some_and(|t| t.len() >= 32));

    // Refusals: a duplicate name, a submitter without units, an unknown unit, a bad role.
    for args in [
        &["--role", "reader", "--name", "kgj"][..],
        &["--role", "submitter", "--name", "nounit"][..],
        &["--role", "submitter", "--unit", "县不存在局", "--name", "x"][..],
        &["--role", "root", "--name", "y"][..],
    ] {
        let mut a = vec!["token", "create"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--db", db]);
        let out = zhibiao(&a);
        assert!(!out.status.success(), "{args:?} should fail");
    }

    // The list shows kgj without the secret.
    let out = zhibiao(&["token", "list", "--db", db]);
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    let kgj_line = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some("kgj"))
        .unwrap_or_else(|| panic!("kgj listed in {list}"));
    assert!(kgj_line.contains("submitter") && kgj_line.contains("县科工局"));
    assert!(!list.contains(&secret), "the secret leaks into token list");
    assert!(!list.contains("nounit") && !list.contains(" x "));
    let out = zhibiao(&["token", "list", "--json", "--db", db]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON list");
    for t in v.as_array().unwrap() {
        assert!(t.get("hash").is_none() && t.get("token").is_none(), "{t}");
    }
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "admin, kgj, jtj: {names:?}");

    // The printed secret works against the server, within its unit.
    let s = TestServer::start_at(&dir);
    let r = put_reading_as(&s, &secret, OWN, "2023-06", 63.0);
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().unwrap()["recorded_by"], "kgj");
    assert_eq!(
        put_reading_as(&s, &secret, FOREIGN, "2023-06", 5.5).status(),
        403
    );
    s.stop();

    // Revoked while the server is down, it is refused once the server is back.
    let out = zhibiao(&["token", "revoke", "kgj", "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = zhibiao(&["token", "revoke", "kgj", "--db", db]);
    assert!(!out.status.success(), "revoking twice fails");
    let out = zhibiao(&["token", "list", "--db", db]);
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        !list
            .lines()
            .any(|l| l.split_whitespace().next() == Some("kgj")),
        "{list}"
    );

    let s = TestServer::start_at(&dir);
    let r = put_reading_as(&s, &secret, OWN, "2023-07", 70.0);
    expect_problem(r, 401, "revoked by the CLI");
    assert_eq!(reading_status(&s, OWN, "2023-07"), 404);
    // The reading made before revocation stays, and still names kgj.
    assert_eq!(revisions(&s, OWN, "2023-06")[0]["by"], "kgj");
}

// ── definitions and targets ───────────────────────────────────────────────

#[test]
fn admin_creates_an_indicator_and_a_2024_target_audited() {
    let s = TestServer::start();
    // A second admin, so the audit shows which admin token acted.
    let ops = token(&s, "ops", "admin", &[]);
    let gdp_before = s.get_json(&format!("/v1/indicators/{FOREIGN}"));
    let gdp_2023_before = s.attainment(FOREIGN, "2023-06")["target"].clone();

    let id = "digital-economy-firms";
    let body = json!({
        "name": "数字经济企业",
        "name_en": "Digital economy firms",
        "battle": "innovation",
        "kind": "cumulative",
        "unit": "家",
        "direction": "up",
        "frequency": "quarterly",
        "lead_units": ["县科工局"],
        "source": {
            "document": "2024年政府工作报告",
            "section": "二、主要目标",
            "quote": "新增数字经济企业 20 家"
        }
    });
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{id}")))
        .bearer_auth(&ops)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(v["outcome"], "created");
    assert_eq!(v["indicator"]["id"], id);

    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{id}/targets/2024")))
        .bearer_auth(&ops)
        .json(&json!({"value": 20.0, "comparator": "at_least"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(
        (&v["outcome"], &v["year"]),
        (&json!("created"), &json!(2024))
    );
    assert_eq!(v["value"], 20.0);

    // A 2024 target for an existing indicator leaves its 2023 target alone.
    let r = s
        .client
        .put(s.url(&format!("/v1/indicators/{FOREIGN}/targets/2024")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"value": 7.0, "comparator": "about"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(s.attainment(FOREIGN, "2023-06")["target"], gdp_2023_before);
    assert_eq!(gdp_2023_before["value"], 8.0);
    assert_eq!(s.attainment(FOREIGN, "2024-06")["target"]["value"], 7.0);
    let gdp_after = s.get_json(&format!("/v1/indicators/{FOREIGN}"));
    assert_eq!(gdp_after["target_years"], json!([2023, 2024]));
    assert_eq!(gdp_after["source"], gdp_before["source"]);

    // The new indicator is listed, with its source and its target year.
    let list = s.get_json("/v1/indicators");
    let new = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .expect("listed");
    assert_eq!(new["source"]["document"], "2024年政府工作报告");
    assert_eq!(new["source"]["quote"], "新增数字经济企业 20 家");
    assert_eq!(new["lead_units"], json!(["县科工局"]));
    assert_eq!(new["target_years"], json!([2024]));
    // Its lead unit's submitter may now write it.
    let kgj = token(&s, "kgj", "submitter", &["县科工局"]);
    assert_eq!(put_reading_as(&s, &kgj, id, "2024-03", 4.0).status(), 201);
    assert_eq!(s.attainment(id, "2024-03")["target"]["value"], 20.0);

    // Both changes are in the audit trail, under the token that made them, and no 2023
    // target changed after the catalogue import.
    let (dir, _tmp) = s.stop();
    let store = open_store(&dir);
    let log = store.audit_log().unwrap();
    use zhibiao::store::Change;
    let mut seen = (false, false, false);
    for (_, rec) in &log {
        match &rec.change {
            Change::Indicator { id: i, old, new } if i.as_str() == id => {
                assert!(old.is_none() && new.is_some());
                assert_eq!(rec.actor, "ops");
                seen.0 = true;
            }
            Change::Target {
                indicator, year, ..
            } if indicator.as_str() == id => {
                assert_eq!((*year, rec.actor.as_str()), (2024, "ops"));
                seen.1 = true;
            }
            Change::Target {
                indicator, year, ..
            } if indicator.as_str() == FOREIGN && rec.actor != "catalogue" => {
                assert_eq!((*year, rec.actor.as_str()), (2024, "admin"));
                seen.2 = true;
            }
            Change::Target { year, .. } if *year == 2023 => {
                assert_eq!(rec.actor, "catalogue", "{rec:?}");
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        (true, true, true),
        "audited: indicator, its target, gdp 2024"
    );
}
