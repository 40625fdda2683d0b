//! The OpenAPI document (`GET /openapi.json`) describes exactly the routes the server
//! answers, and real answers have the shapes it promises.
//!
//! `scripts/schemathesis` checks every operation against a live server far more
//! thoroughly; these tests keep the two basic promises in `cargo test`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn document(s: &TestServer) -> Value {
    let r = s.get("/openapi.json");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    r.json().expect("the document is JSON")
}

/// `/v1/indicators/{id}/readings/{period}` → `/v1/indicators/{}/readings/{}`.
fn normalise(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `(path, METHOD)` of the document, with the path normalised.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, op) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                out.push((normalise(path), key.to_uppercase(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_describes_exactly_the_routes_table() {
    let s = TestServer::start();
    let doc = document(&s);
    assert_eq!(doc["openapi"], "3.0.3");

    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(p, m, _)| (p, m))
        .collect();
    let routes: BTreeSet<(String, String)> = zhibiao::api::ROUTES
        .iter()
        .flat_map(|(p, methods)| methods.iter().map(|m| (p.to_string(), m.to_string())))
        .collect();
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes missing from the document: {missing:?}; documented but not routed: {extra:?}"
    );

    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path} documents no 2xx answer"
        );
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    let s = TestServer::start();
    let doc = document(&s);
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(
            resolve_pointer(&doc, &r).is_some(),
            "$ref {r} points at nothing"
        );
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn resolve_pointer<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    doc.pointer(r.strip_prefix('#')?)
}

/// Checks `v` against a schema of the document, for what the document promises most:
/// required properties are present, `null` only where `nullable`, the JSON type and
/// `enum`. (Patterns and bounds are left to schemathesis.) Returns the problems found.
fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let target = resolve_pointer(doc, r).unwrap_or_else(|| panic!("unresolved {r}"));
        return conforms(doc, target, v, at, problems);
    }
    if v.is_null() {
        if schema["nullable"] != json!(true) {
            problems.push(format!("{at} is null but its schema is not nullable"));
        }
        return;
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for p in parts {
            conforms(doc, p, v, at, problems);
        }
    }
    if let Some(alts) = schema["anyOf"].as_array() {
        let ok = alts.iter().any(|p| {
            let mut sub = Vec::new();
            conforms(doc, p, v, at, &mut sub);
            sub.is_empty()
        });
        if !ok {
            problems.push(format!("{at} matches none of anyOf: {v}"));
        }
    }
    let type_ok = match schema["type"].as_str() {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("number") => v.is_number(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("boolean") => v.is_boolean(),
        Some(other) => panic!("unexpected type {other} in the document"),
    };
    if !type_ok {
        problems.push(format!("{at} should be {} but is {v}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            problems.push(format!("{at} = {v} is not one of {allowed:?}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("required names are strings");
            if !obj.contains_key(name) {
                problems.push(format!("{at} lacks required property {name}"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (name, sub) in props {
                if let Some(x) = obj.get(name) {
                    conforms(doc, sub, x, &format!("{at}.{name}"), problems);
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, x) in list.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{i}]"), problems);
        }
    }
}

/// The schema of an operation's answer with `status`, as JSON or problem+json.
fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let mut resp = &doc["paths"][path][method]["responses"][status.to_string()];
    if let Some(r) = resp["$ref"].as_str() {
        resp = resolve_pointer(doc, r).unwrap();
    }
    let content = &resp["content"];
    let media = if content["application/json"].is_object() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let schema = &content[media]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON schema for {status}"
    );
    schema
}

/// GETs `url`, insists on `status`, and checks the body against the document's schema
/// for `path` (the OpenAPI path template).
fn check(s: &TestServer, doc: &Value, url: &str, path: &str, status: u16) -> Value {
    let r = s
        .client
        .get(s.url(url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), status, "GET {url}");
    let body: Value = r.json().expect("JSON body");
    let mut problems = Vec::new();
    conforms(
        doc,
        response_schema(doc, path, "get", status),
        &body,
        "body",
        &mut problems,
    );
    assert!(problems.is_empty(), "GET {url}:\n{}", problems.join("\n"));
    body
}

#[test]
fn real_answers_have_the_documented_shapes() {
    let s = TestServer::start();
    let doc = document(&s);
    // Some data, so that engine figures, alerts and revisions are not all empty.
    s.submit("tech-sme-registered", "2023-03", 20.0);
    s.submit("tech-sme-registered", "2023-06", 63.0);
    s.submit("gdp-growth", "2023-06", 4.2);
    s.submit("gdp-growth", "2023-Q2", 4.5);

    let health = check(&s, &doc, "/healthz", "/healthz", 200);
    assert_eq!(health["latest_period"], "2023-06");

    let list = check(&s, &doc, "/v1/attainment", "/v1/attainment", 200);
    let rows = list["attainment"].as_array().unwrap();
    assert!(rows.len() >= 120, "the whole catalogue");
    // The Attainment schema's required properties, spelled out: every row has each.
    let attainment = &doc["components"]["schemas"]["Attainment"];
    let required: Vec<&str> = attainment["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"status") && required.contains(&"required_rest_of_year"));
    for row in rows {
        for name in &required {
            assert!(row.get(*name).is_some(), "{name} missing from {row}");
        }
    }
    // Some rows have figures, others nulls: both kinds were checked.
    assert!(rows.iter().any(|r| r["attainment"].is_number()));
    assert!(rows.iter().any(|r| r["attainment"].is_null()));

    check(
        &s,
        &doc,
        "/v1/attainment?as_of=2023-06&battle=innovation",
        "/v1/attainment",
        200,
    );
    let alerts = check(&s, &doc, "/v1/alerts", "/v1/alerts", 200);
    assert!(alerts["count"].as_u64().unwrap() >= 1, "{alerts}");
    check(&s, &doc, "/v1/summary", "/v1/summary", 200);
    check(&s, &doc, "/v1/indicators", "/v1/indicators", 200);
    check(
        &s,
        &doc,
        "/v1/indicators/gdp-growth",
        "/v1/indicators/{id}",
        200,
    );
    check(
        &s,
        &doc,
        "/v1/indicators/tech-sme-registered/attainment?as_of=2023-06",
        "/v1/indicators/{id}/attainment",
        200,
    );
    check(
        &s,
        &doc,
        "/v1/indicators/gdp-growth/readings",
        "/v1/indicators/{id}/readings",
        200,
    );
    check(
        &s,
        &doc,
        "/v1/indicators/gdp-growth/readings/2023-06",
        "/v1/indicators/{id}/readings/{period}",
        200,
    );
    let revisions = check(
        &s,
        &doc,
        "/v1/indicators/gdp-growth/readings/2023-06/revisions",
        "/v1/indicators/{id}/readings/{period}/revisions",
        200,
    );
    assert_eq!(revisions.as_array().unwrap().len(), 2, "{revisions}");
    check(&s, &doc, "/v1/tokens", "/v1/tokens", 200);

    // Errors are problems, with `field` when one is at fault.
    let p = check(
        &s,
        &doc,
        "/v1/attainment?asof=2023-06",
        "/v1/attainment",
        400,
    );
    assert_eq!(p["field"], "asof");
    check(
        &s,
        &doc,
        "/v1/indicators/no-such-indicator",
        "/v1/indicators/{id}",
        404,
    );
}

#[test]
fn a_refused_batch_is_a_rows_problem() {
    let s = TestServer::start();
    let doc = document(&s);
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!([
            {"indicator": "gdp-growth", "period": "2023-06", "value": 6.1},
            {"indicator": "no-such-indicator", "period": "2023-06", "value": 1}
        ]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().unwrap();
    let mut problems = Vec::new();
    let rows_problem = json!({"$ref": "#/components/schemas/RowsProblem"});
    conforms(&doc, &rows_problem, &body, "body", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(body["errors"][0]["row"], 2, "{body}");
}
