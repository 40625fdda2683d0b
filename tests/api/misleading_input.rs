//! Input that would be stored other than as it reads: a number too close to zero for
//! f64, which every parser silently makes 0, and text carrying bidi controls or
//! zero-width characters, which display differently from what they hold. Each is
//! refused with the field and the reason named, and nothing is written.

use serde_json::Value;

use crate::helpers::*;

const RATE: &str = "gdp-growth";
const PERIOD: &str = "2023-06";

/// Sends `body` as is (a JSON text that a JSON library would not write).
fn send(s: &TestServer, method: &str, path: &str, ct: &str, body: &str) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = s
        .client
        .request(m, s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", ct)
        .body(body.to_string())
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// The first message of a problem: its `detail`, or its first row error's message.
fn message(p: &Value) -> (String, String) {
    match p["errors"].as_array().and_then(|e| e.first()) {
        Some(e) => (
            e["field"].as_str().unwrap_or("").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        ),
        None => (
            p["field"].as_str().unwrap_or("").to_string(),
            p["detail"].as_str().unwrap_or("").to_string(),
        ),
    }
}

#[test]
fn numbers_too_close_to_zero_are_refused_not_stored_as_zero() {
    let s = TestServer::start();
    let reading = format!("/v1/indicators/{RATE}/readings/{PERIOD}");
    let json = "application/json";
    for (method, path, ct, body, text) in [
        // Parsed to 0 by serde_json.
        (
            "PUT",
            reading.as_str(),
            json,
            r#"{"value": 1e-400}"#,
            "1e-400",
        ),
        // Parsed to a subnormal, which keeps fewer digits than were sent.
        (
            "PUT",
            reading.as_str(),
            json,
            r#"{"value": -2.5e-320}"#,
            "-2.5e-320",
        ),
        (
            "POST",
            "/v1/readings",
            json,
            r#"[{"indicator": "gdp-growth", "period": "2023-06", "value": 1e-400}]"#,
            "1e-400",
        ),
        (
            "POST",
            "/v1/readings",
            "application/x-ndjson",
            "{\"indicator\": \"gdp-growth\", \"period\": \"2023-06\", \"value\": 7E-999}\n",
            "7E-999",
        ),
        (
            "POST",
            "/v1/readings",
            "text/csv",
            "indicator,period,value\ngdp-growth,2023-06,1e-400\n",
            "1e-400",
        ),
        // A target of 1e-400 would be a target of 0.
        (
            "PUT",
            "/v1/indicators/gdp-growth/targets/2024",
            json,
            r#"{"value": 1e-400, "comparator": "at_least"}"#,
            "1e-400",
        ),
    ] {
        let (st, p) = send(&s, method, path, ct, body);
        assert_eq!(st, 400, "{method} {path} {body}: {p}");
        let (field, msg) = message(&p);
        assert_eq!(field, "value", "{body}: {p}");
        assert!(
            msg.contains(text) && msg.contains("too close to zero"),
            "{body}: {msg}"
        );
    }
    // Nothing was stored: no reading, and no 2024 target.
    assert_eq!(s.get(&reading).status(), 404);
    let ind = s.get_json(&format!("/v1/indicators/{RATE}"));
    assert!(
        !ind["target_years"]
            .as_array()
            .unwrap()
            .contains(&Value::from(2024)),
        "{ind}"
    );
}

#[test]
fn bidi_controls_and_zero_width_characters_are_refused_in_notes_and_region_names() {
    let s = TestServer::start();
    let reading = format!("/v1/indicators/{RATE}/readings/{PERIOD}");
    let json = "application/json";
    for (method, path, ct, body, field, shown) in [
        (
            "PUT",
            reading.clone(),
            json,
            "{\"value\": 5.1, \"note\": \"初步数\u{202E}tsil ni ton\"}".to_string(),
            "note",
            "note contains U+202E RIGHT-TO-LEFT OVERRIDE, which can disguise text",
        ),
        (
            "PUT",
            reading.clone(),
            json,
            "{\"value\": 5.1, \"explanation\": \"口径调整\u{2066}说明\"}".to_string(),
            "explanation",
            "explanation contains U+2066 LEFT-TO-RIGHT ISOLATE",
        ),
        (
            "POST",
            "/v1/readings".to_string(),
            "text/csv",
            "indicator,period,value,note\ngdp-growth,2023-06,5.1,初步\u{200F}数\n".to_string(),
            "note",
            "note contains U+200F RIGHT-TO-LEFT MARK",
        ),
        // 桃江县 with a zero-width space: it looks like the county, and is not it.
        (
            "PUT",
            "/v1/regions/%E6%A1%83%E6%B1%9F%E2%80%8B%E5%8E%BF".to_string(),
            json,
            r#"{"level": "county", "parent": "益阳市"}"#.to_string(),
            "name",
            "name contains U+200B ZERO WIDTH SPACE, which can disguise text",
        ),
        (
            "PUT",
            "/v1/regions/%E6%A1%83%E6%B1%9F%E5%8E%BF".to_string(),
            json,
            "{\"level\": \"county\", \"parent\": \"益阳\u{FEFF}市\"}".to_string(),
            "parent",
            "parent contains U+FEFF ZERO WIDTH NO-BREAK SPACE",
        ),
    ] {
        let (st, p) = send(&s, method, &path, ct, &body);
        assert_eq!(st, 400, "{method} {path} {body}: {p}");
        let (f, msg) = message(&p);
        assert_eq!(f, field, "{body}: {p}");
        assert!(msg.contains(shown), "{body}: {msg}");
    }
    assert_eq!(s.get(&reading).status(), 404, "no reading was stored");
    let regions = s.get_json("/v1/regions").to_string();
    assert!(
        !regions.contains('\u{200B}') && !regions.contains('\u{FEFF}'),
        "{regions}"
    );
}
