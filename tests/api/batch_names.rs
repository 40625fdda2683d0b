//! Batches as statistics offices send them: indicators named by 指标名称 rather than by
//! id, the headers their spreadsheets carry (指标名称, 时期, 本年累计…), a 地区 column,
//! and periods written 2023年1-6月 or 2023年第二季度.

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const SME: &str = "tech-sme-registered";
const SME_NAME: &str = "科技型中小企业入库";
const GDP: &str = "gdp-growth";
const GDP_NAME: &str = "地区生产总值增长";
const FIRMS: &str = "new-above-scale-industrial-firms";
const FIRMS_NAME: &str = "新增规模工业企业";

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    assert!(!had_errors, "the text is GBK-encodable");
    assert!(std::str::from_utf8(&bytes).is_err(), "GBK bytes, not UTF-8");
    bytes.into_owned()
}

fn post_as(s: &TestServer, secret: &str, content_type: &str, body: Vec<u8>) -> Response {
    s.client
        .post(s.url("/v1/readings"))
        .bearer_auth(secret)
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST /v1/readings")
}

fn post_ok(s: &TestServer, content_type: &str, body: Vec<u8>) -> Value {
    let r = post_as(s, ADMIN_TOKEN, content_type, body);
    let st = r.status().as_u16();
    let a: Value = r.json().expect("JSON answer");
    assert_eq!(st, 200, "{a}");
    a
}

/// The `errors` of a 400 invalid-rows refusal.
fn refused_rows(r: Response) -> Vec<Value> {
    let st = r.status().as_u16();
    let body: Value = r.json().expect("problem body");
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["type"], "urn:zhibiao:problem:invalid-rows", "{body}");
    body["errors"].as_array().expect("errors").clone()
}

/// The stored June reading of `id`, or `None`.
fn june(s: &TestServer, id: &str) -> Option<Value> {
    let r = s.get(&format!("/v1/indicators/{id}/readings/2023-06"));
    match r.status().as_u16() {
        200 => Some(r.json().unwrap()),
        404 => None,
        other => panic!("GET reading of {id}: {other}"),
    }
}

/// (indicator, name, period) of each row of a batch answer.
fn answered(a: &Value) -> Vec<(String, String, String)> {
    a["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["indicator"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["period"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn a_gbk_csv_naming_indicators_in_chinese_is_stored_under_their_ids() {
    // The county bureau's own export: GBK, Chinese headers, names instead of ids, and
    // each period written the way its office writes it.
    let s = TestServer::start();
    let csv = format!(
        "指标名称,时期,本年累计,备注\n\
         {SME_NAME},2023年1-6月,63,县统计局快报\n\
         {GDP_NAME},2023年上半年,5.2,\n\
         {FIRMS_NAME},2023年第二季度,12,\n"
    );
    let a = post_ok(&s, "text/csv; charset=gbk", gbk(&csv));
    assert_eq!(a["created"], 3, "{a}");
    assert_eq!(
        answered(&a),
        owned(&[
            (SME, SME_NAME, "2023-06"),
            (GDP, GDP_NAME, "2023-S1"),
            (FIRMS, FIRMS_NAME, "2023-Q2"),
        ])
    );
    let sme = june(&s, SME).expect("stored under its id");
    assert_eq!(sme["value"], 63.0);
    assert_eq!(sme["note"], "县统计局快报");
    assert_eq!(june(&s, GDP).expect("GDP")["value"], 5.2);
    assert_eq!(june(&s, FIRMS).expect("firms")["value"], 12.0);
    // The same file again (charset detected this time) changes nothing.
    let again = post_ok(&s, "text/csv", gbk(&csv));
    assert_eq!(again["unchanged"], 3, "{again}");
}

#[test]
fn a_name_that_does_not_exist_is_refused_in_chinese_with_its_row() {
    let s = TestServer::start();
    let csv = format!(
        "指标名称,报告期,数值\n\
         {SME_NAME},2023-06,63\n\
         税收总收入,2023-06,1000\n\
         火星移民人数,2023-06,1\n"
    );
    let errors = refused_rows(post_as(&s, ADMIN_TOKEN, "text/csv", csv.into_bytes()));
    let got: Vec<(u64, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["field"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{errors:?}");
    // Close names are offered: the catalogue has 税收收入 and 税收收入比重.
    assert_eq!((got[0].0, got[0].1), (3, "indicator"));
    assert!(
        got[0]
            .2
            .starts_with("没有名为“税收总收入”的指标（桃江县），是否为："),
        "{}",
        got[0].2
    );
    assert!(got[0].2.contains("“税收收入”"), "{}", got[0].2);
    // Nothing close: the message stops at the region.
    assert_eq!(
        (got[1].0, got[1].1, got[1].2),
        (4, "indicator", "没有名为“火星移民人数”的指标（桃江县）")
    );
    assert!(june(&s, SME).is_none(), "an atomic batch writes nothing");
}

#[test]
fn a_name_two_indicators_share_is_refused_naming_both() {
    let s = TestServer::start();
    // A second 科技型中小企业入库 in the county's plan.
    let body = json!({
        "name": SME_NAME, "battle": "innovation", "kind": "cumulative", "unit": "家",
        "direction": "up", "frequency": "quarterly", "lead_units": ["县科工局"],
        "source": {"document": "桃江县2023年政府工作报告", "section": "主要目标", "quote": "科技型中小企业入库"},
    });
    let r = s
        .client
        .put(s.url("/v1/indicators/tech-sme-registered-twin"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let rows = json!([
        {"indicator": GDP_NAME, "period": "2023-06", "value": 5.2},
        {"indicator": SME_NAME, "period": "2023-06", "value": 63},
    ]);
    let errors = refused_rows(post_as(
        &s,
        ADMIN_TOKEN,
        "application/json",
        rows.to_string().into_bytes(),
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["row"], 2);
    assert_eq!(errors[0]["field"], "indicator");
    let m = errors[0]["message"].as_str().unwrap();
    assert!(
        m.contains(SME) && m.contains("tech-sme-registered-twin"),
        "{m}"
    );
    // By id, either one is still fine.
    let a = post_ok(
        &s,
        "application/json",
        json!([{"indicator": "tech-sme-registered-twin", "period": "2023-06", "value": 63}])
            .to_string()
            .into_bytes(),
    );
    assert_eq!(
        answered(&a),
        owned(&[("tech-sme-registered-twin", SME_NAME, "2023-06")])
    );
}

#[test]
fn an_xlsx_with_chinese_headers_and_units_in_brackets_is_read() {
    let s = TestServer::start();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "地区",
        "指标名称",
        "统计期",
        "数值（家）",
        "数据状态",
        "备注",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "桃江县").unwrap();
    ws.write_string(1, 1, SME_NAME).unwrap();
    ws.write_string(1, 2, "2023年二季度").unwrap();
    ws.write_number(1, 3, 63.0).unwrap();
    ws.write_string(1, 4, "P").unwrap();
    ws.write_string(1, 5, "快报").unwrap();
    ws.write_string(2, 1, FIRMS_NAME).unwrap();
    ws.write_string(2, 2, "2023年1—6月").unwrap();
    ws.write_number(2, 3, 12.0).unwrap();
    let a = post_ok(&s, XLSX, wb.save_to_buffer().unwrap());
    assert_eq!(
        answered(&a),
        owned(&[(SME, SME_NAME, "2023-Q2"), (FIRMS, FIRMS_NAME, "2023-06")])
    );
    let sme = june(&s, SME).unwrap();
    assert_eq!(
        (&sme["value"], &sme["status"], &sme["note"]),
        (&json!(63.0), &json!("provisional"), &json!("快报"))
    );
    assert_eq!(june(&s, FIRMS).unwrap()["value"], 12.0);
}

#[test]
fn a_json_row_names_its_indicator_in_chinese_and_a_submitter_may_too() {
    let s = TestServer::start();
    let secret = s.submitter("kgj", &["县科工局"]);
    let rows = json!([
        {"indicator": SME_NAME, "period": "2023年1-6月", "value": 63},
        {"indicator": format!(" {FIRMS_NAME} "), "period": "2023-06", "value": 12, "region": "桃江县"},
    ]);
    let r = post_as(
        &s,
        &secret,
        "application/json",
        rows.to_string().into_bytes(),
    );
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(
        answered(&a),
        owned(&[(SME, SME_NAME, "2023-06"), (FIRMS, FIRMS_NAME, "2023-06")])
    );
    assert_eq!(june(&s, SME).unwrap()["recorded_by"], "kgj");
    // A name resolves to an indicator the token may not write: refused as ever.
    let r = post_as(
        &s,
        &secret,
        "application/json",
        json!([{"indicator": GDP_NAME, "period": "2023-06", "value": 5.2}])
            .to_string()
            .into_bytes(),
    );
    assert_eq!(r.status(), 403);
}

#[test]
fn a_row_region_scopes_the_name_and_must_be_known() {
    let s = TestServer::start();
    let rows = json!([
        // 赫山区 is a known region, but its plan is not in this store.
        {"indicator": "税收收入", "period": "2023-06", "value": 1000, "region": "赫山区"},
        {"indicator": "税收收入", "period": "2023-06", "value": 1000, "region": "火星县"},
        {"indicator": "tax-revenue", "period": "2023-06", "value": 1000, "region": "赫山区"},
        {"indicator": "税收收入", "period": "2023-06", "value": 1000, "region": "桃江县"},
    ]);
    let r = post_as(
        &s,
        ADMIN_TOKEN,
        "application/json",
        rows.to_string().into_bytes(),
    );
    let errors = refused_rows(r);
    let got: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(1, "indicator"), (2, "region"), (3, "indicator")],
        "{errors:?}"
    );
    assert_eq!(errors[0]["message"], "没有名为“税收收入”的指标（赫山区）");
    assert!(
        errors[1]["message"].as_str().unwrap().contains("火星县"),
        "{errors:?}"
    );
    assert!(
        errors[2]["message"].as_str().unwrap().contains("桃江县"),
        "{errors:?}"
    );
}
