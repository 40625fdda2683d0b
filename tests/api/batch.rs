//! Batches: `POST /v1/readings` in every format the bureau sends, the monthly XLSX
//! template round trip, atomicity, partial batches, unchanged rows and idempotent retries.

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PERIOD: &str = "2023-06";
const CUMULATIVE: &str = "tech-sme-registered";
const RATE: &str = "gdp-growth";
/// The note the county bureau writes on a flash estimate; it must survive GBK.
const FLASH_NOTE: &str = "县统计局快报";

/// One row of a batch as the test builds it.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    value: f64,
    /// As sent, e.g. `P`; `None` means a final figure.
    status: Option<&'static str>,
    note: Option<String>,
}

impl Row {
    /// The status word the API answers for this row.
    fn status_word(&self) -> &'static str {
        match self.status {
            None => "final",
            Some("P") | Some("provisional") => "provisional",
            Some("E") | Some("estimated") => "estimated",
            Some(other) => panic!("no word for status {other}"),
        }
    }
}

/// Every indicator of the catalogue as (id, kind, whether it is a share in 0…100).
fn catalogue(s: &TestServer) -> Vec<(String, String, bool)> {
    s.get_json("/v1/indicators")
        .as_array()
        .expect("indicators are a list")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["kind"].as_str().unwrap().to_string(),
                i["quality"]["range"] == json!([0.0, 100.0]),
            )
        })
        .collect()
}

/// A month's batch for 60 indicators spread over the catalogue. Values are tenths of
/// integers so that every format writes them in a few digits; rates and levels get some
/// negative values (a fall, above −100 as a rate's plausible range requires),
/// cumulative counts and lists never do; shares stay within 0…100, as the quality
/// checks require. Some rows are provisional or estimated, and some carry a Chinese
/// note.
fn sixty(s: &TestServer) -> Vec<Row> {
    let all = catalogue(s);
    assert_eq!(all.len(), 203, "the built-in catalogue");
    all.iter()
        .step_by(3)
        .take(60)
        .enumerate()
        .map(|(i, (id, kind, share))| {
            let tenths = ((i * 137 + 5) % if *share { 1000 } else { 5000 }) as f64;
            let counts = kind == "cumulative" || kind == "milestone";
            let value = if !counts && !share && i % 7 == 3 {
                -(tenths % 1000.0) / 10.0
            } else {
                tenths / 10.0
            };
            Row {
                id: id.clone(),
                value,
                status: match i % 4 {
                    1 => Some("P"),
                    2 => Some("estimated"),
                    _ => None,
                },
                note: match i % 5 {
                    0 => Some(FLASH_NOTE.to_string()),
                    3 => Some(format!("第{i}行，含新口径")),
                    _ => None,
                },
            }
        })
        .collect()
}

fn json_row(r: &Row) -> Value {
    let mut o = json!({"indicator": r.id, "period": PERIOD, "value": r.value});
    if let Some(st) = r.status {
        o["status"] = json!(st);
    }
    if let Some(n) = &r.note {
        o["note"] = json!(n);
    }
    o
}

fn json_array(rows: &[Row]) -> Vec<u8> {
    serde_json::to_vec(&rows.iter().map(json_row).collect::<Vec<_>>()).unwrap()
}

/// CSV text with the given header (indicator, period, value, status, note in some
/// spelling), written with the csv crate so quoting is right.
fn csv_text(rows: &[Row], header: [&str; 5]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record([
            r.id.as_str(),
            PERIOD,
            &r.value.to_string(),
            r.status.unwrap_or(""),
            r.note.as_deref().unwrap_or(""),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

const EN_HEADER: [&str; 5] = ["indicator", "period", "value", "status", "note"];
/// The header of the bureau's own GBK export.
const ZH_HEADER: [&str; 5] = ["指标代码", "报告期", "本期累计", "状态", "备注"];

/// The CSV text encoded as GBK, checked to be really not UTF-8 (so detection has work).
fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    assert!(!had_errors, "the text is GBK-encodable");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "GBK bytes must not be UTF-8"
    );
    bytes.into_owned()
}

/// A workbook with a header row and one row per reading; values are numeric cells.
fn xlsx(rows: &[Row]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in EN_HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &r.id).unwrap();
        ws.write_string(row, 1, PERIOD).unwrap();
        ws.write_number(row, 2, r.value).unwrap();
        if let Some(st) = r.status {
            ws.write_string(row, 3, st).unwrap();
        }
        if let Some(n) = &r.note {
            ws.write_string(row, 4, n).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

/// POSTs a batch as admin.
fn post(s: &TestServer, query: &str, content_type: &str, body: Vec<u8>) -> Response {
    post_keyed(s, query, content_type, body, None)
}

fn post_keyed(
    s: &TestServer,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> Response {
    let mut rb = s
        .client
        .post(s.url(&format!("/v1/readings{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    rb.send().expect("POST /v1/readings")
}

/// POSTs and insists on a 200, returning the batch answer.
fn post_ok(s: &TestServer, query: &str, content_type: &str, body: Vec<u8>) -> Value {
    let r = post(s, query, content_type, body);
    let st = r.status().as_u16();
    let a: Value = r.json().expect("JSON answer");
    assert_eq!(st, 200, "{a}");
    a
}

fn content_type(r: &Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Checks a 400 problem+json that lists bad rows, and returns its `errors`.
fn assert_rows_problem(r: Response, what: &str) -> Vec<Value> {
    assert_eq!(r.status().as_u16(), 400, "{what}: status");
    assert_eq!(content_type(&r), "application/problem+json", "{what}");
    let body: Value = r.json().expect("problem body");
    assert_eq!(body["status"], 400, "{what}: {body}");
    assert_eq!(
        body["type"], "urn:zhibiao:problem:invalid-rows",
        "{what}: {body}"
    );
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors list in {body}"))
        .clone()
}

/// The counts of a batch answer: (created, replaced, unchanged, skipped, rejected).
fn counts(a: &Value) -> (u64, u64, u64, u64, u64) {
    let n = |f: &str| a[f].as_u64().unwrap_or_else(|| panic!("{f} in {a}"));
    (
        n("created"),
        n("replaced"),
        n("unchanged"),
        n("skipped"),
        n("rejected"),
    )
}

/// The `row` numbers of a batch answer's `rows`.
fn row_numbers(a: &Value) -> Vec<u64> {
    a["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect()
}

/// The stored reading of `id` for `PERIOD`, or `None` on 404.
fn stored(s: &TestServer, id: &str) -> Option<Value> {
    let r = s.get(&format!("/v1/indicators/{id}/readings/{PERIOD}"));
    match r.status().as_u16() {
        200 => Some(r.json().unwrap()),
        404 => None,
        other => panic!("GET reading of {id}: {other}"),
    }
}

fn revision_count(s: &TestServer, id: &str) -> usize {
    s.get_json(&format!("/v1/indicators/{id}/readings/{PERIOD}/revisions"))
        .as_array()
        .unwrap()
        .len()
}

/// Every row reads back exactly: value, status word and note.
fn assert_stored(s: &TestServer, rows: &[Row], what: &str) {
    for r in rows {
        let got = stored(s, &r.id).unwrap_or_else(|| panic!("{what}: {} not stored", r.id));
        assert_eq!(
            got["value"].as_f64(),
            Some(r.value),
            "{what}: {} value",
            r.id
        );
        assert_eq!(got["status"], r.status_word(), "{what}: {} status", r.id);
        assert_eq!(
            got["note"].as_str(),
            r.note.as_deref(),
            "{what}: {} note",
            r.id
        );
        assert_eq!(got["revision"], 1, "{what}: {}", r.id);
        assert_eq!(got["recorded_by"], "admin", "{what}: {}", r.id);
    }
}

/// Submits the 60-row batch on a fresh server and checks the answer and every value.
fn sixty_round_trip(content_type: &str, encode: impl Fn(&[Row]) -> Vec<u8>, first_row: u64) {
    let s = TestServer::start();
    let rows = sixty(&s);
    let a = post_ok(&s, "", content_type, encode(&rows));
    assert_eq!(counts(&a), (60, 0, 0, 0, 0), "{content_type}: {a}");
    assert_eq!(a["atomic"], true);
    assert_eq!(a["errors"], json!([]));
    // Rows are numbered the way the sender sees them, in order.
    let want: Vec<u64> = (first_row..first_row + 60).collect();
    assert_eq!(row_numbers(&a), want, "{content_type}");
    for (r, got) in rows.iter().zip(a["rows"].as_array().unwrap()) {
        assert_eq!(
            (
                &got["indicator"],
                &got["period"],
                &got["outcome"],
                &got["revision"]
            ),
            (&json!(r.id), &json!(PERIOD), &json!("created"), &json!(1)),
        );
    }
    assert_stored(&s, &rows, content_type);
}

#[test]
fn a_60_indicator_month_posts_as_a_json_array() {
    // The API's own format; rows are numbered by their 1-based position in the array.
    sixty_round_trip("application/json", json_array, 1);
}

#[test]
fn a_60_indicator_month_posts_as_ndjson_numbered_by_line() {
    // NDJSON is what scripts stream; a blank line is skipped but still counts as a line,
    // so errors point at the line an editor shows.
    let s = TestServer::start();
    let rows = sixty(&s);
    let mut body = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i == 30 {
            body.push('\n');
        }
        body.push_str(&json_row(r).to_string());
        body.push('\n');
    }
    let a = post_ok(&s, "", "application/x-ndjson", body.into_bytes());
    assert_eq!(counts(&a), (60, 0, 0, 0, 0), "{a}");
    let want: Vec<u64> = (1..=30).chain(32..=61).collect();
    assert_eq!(row_numbers(&a), want);
    assert_stored(&s, &rows, "ndjson");
}

#[test]
fn a_60_indicator_month_posts_as_utf8_csv_numbered_by_spreadsheet_row() {
    // CSV rows are numbered as the spreadsheet shows them: the header is row 1.
    sixty_round_trip("text/csv", |rows| csv_text(rows, EN_HEADER).into_bytes(), 2);
}

#[test]
fn a_60_indicator_month_posts_as_utf8_csv_with_a_bom() {
    // Excel's "CSV UTF-8" puts a BOM before the header; it must not spoil the first
    // column's name.
    let with_bom = |rows: &[Row]| {
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(csv_text(rows, EN_HEADER).as_bytes());
        b
    };
    sixty_round_trip("text/csv", with_bom, 2);
    sixty_round_trip("text/csv; charset=utf-8", with_bom, 2);
}

#[test]
fn a_60_indicator_month_posts_as_gbk_csv_declared_with_charset() {
    // The bureau's desktop tools export GBK with Chinese headers; notes must come back
    // as the same Chinese, not mojibake.
    sixty_round_trip(
        "text/csv; charset=gbk",
        |rows| gbk(&csv_text(rows, ZH_HEADER)),
        2,
    );
}

#[test]
fn a_60_indicator_month_posts_as_gbk_csv_detected_without_charset() {
    // Most senders do not declare the charset at all: bytes that are not UTF-8 are read
    // as GBK/GB18030.
    let s = TestServer::start();
    let rows = sixty(&s);
    let a = post_ok(&s, "", "text/csv", gbk(&csv_text(&rows, ZH_HEADER)));
    assert_eq!(counts(&a), (60, 0, 0, 0, 0), "{a}");
    assert_stored(&s, &rows, "gbk detected");
    assert!(rows.iter().any(|r| r.note.as_deref() == Some(FLASH_NOTE)));
    let first = &rows[0];
    assert_eq!(first.note.as_deref(), Some(FLASH_NOTE));
    assert_eq!(stored(&s, &first.id).unwrap()["note"], FLASH_NOTE);
}

#[test]
fn a_60_indicator_month_posts_as_an_xlsx_workbook() {
    // A workbook built by another program, with numeric value cells.
    sixty_round_trip(XLSX, xlsx, 2);
}

// ── the monthly template ────────────────────────────────────────────────────

/// The template's columns, in order.
/// The template's header, in Chinese as the bureau's forms are.
const TEMPLATE_HEADERS: [&str; 12] = [
    "指标编码",
    "指标名称",
    "计量单位",
    "牵头单位",
    "年度目标",
    "上期",
    "上期数",
    "报告期",
    "本期数",
    "数据状态",
    "备注",
    "强制上报说明",
];

/// What each template column holds, in the header's order, for the tests' lookups.
const TEMPLATE_KEYS: [&str; 12] = [
    "indicator",
    "name",
    "unit",
    "lead_units",
    "target",
    "last_period",
    "last_value",
    "period",
    "value",
    "status",
    "note",
    "explanation",
];

/// GETs the template for `period` with `token`, checks the response and reads its first
/// sheet into cells.
fn template(s: &TestServer, token: &str, period: &str) -> Vec<Vec<Data>> {
    let r = s
        .client
        .get(s.url(&format!("/v1/templates/readings.xlsx?period={period}")))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), XLSX);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains(&format!("filename=\"zhibiao-readings-{period}.xlsx\"")),
        "{disposition}"
    );
    // The office's own name for the form, for the browsers that read filename*.
    let star = disposition
        .split("filename*=UTF-8''")
        .nth(1)
        .expect("filename*");
    let name = percent_encoding::percent_decode_str(star)
        .decode_utf8()
        .unwrap();
    assert!(name.ends_with("数据报送表.xlsx"), "{name}");
    let bytes = r.bytes().unwrap().to_vec();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("a readable workbook");
    let range = wb
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    assert_eq!(range.start(), Some((0, 0)));
    let width = TEMPLATE_HEADERS.len();
    range
        .rows()
        .map(|r| {
            let mut r = r.to_vec();
            r.resize(width, Data::Empty);
            r
        })
        .collect()
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn the_template_is_filled_in_and_posted_back_as_the_monthly_round_trip() {
    let s = TestServer::start();
    // A May figure, so the template shows the latest earlier value to the person filling it.
    s.submit(CUMULATIVE, "2023-05", 33.0);

    let cells = template(&s, ADMIN_TOKEN, PERIOD);
    let header: Vec<String> = cells[0].iter().map(text).collect();
    assert_eq!(header, TEMPLATE_HEADERS);
    let col = |name: &str| TEMPLATE_KEYS.iter().position(|h| *h == name).unwrap();
    // One row per indicator an admin may write: all 203, each once.
    let body = &cells[1..];
    assert_eq!(body.len(), 203);
    let ids: HashSet<String> = body.iter().map(|r| text(&r[col("indicator")])).collect();
    let catalogue_ids: HashSet<String> = catalogue(&s).into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, catalogue_ids);
    for r in body {
        assert_eq!(text(&r[col("period")]), PERIOD);
        assert_eq!(
            r[col("value")],
            Data::Empty,
            "the value column starts empty"
        );
    }
    let sme = body
        .iter()
        .find(|r| text(&r[col("indicator")]) == CUMULATIVE)
        .unwrap();
    assert_eq!(text(&sme[col("last_period")]), "2023-05");
    assert_eq!(sme[col("last_value")].as_f64(), Some(33.0));
    // The target as the plan words it, not a machine comparator.
    assert_eq!(text(&sme[col("target")]), "150家以上");
    assert_eq!(text(&sme[col("lead_units")]), "县科工局");

    // The template follows the plan's order: 地区生产总值增长 first, as the document.
    assert_eq!(text(&body[0][col("indicator")]), "gdp-growth");
    // Fill in 20 rows, keeping every other column as it was (as Excel would on save);
    // the row with a May figure gets a June figure above it.
    let filled: Vec<usize> = (0..body.len()).step_by(10).take(20).collect();
    assert_eq!(filled.len(), 20);
    let value_of = |i: usize| {
        if text(&body[i][col("indicator")]) == CUMULATIVE {
            63.0
        } else {
            (i * 3 + 1) as f64 / 10.0
        }
    };
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in cells.iter().enumerate() {
        for (c, d) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match d {
                Data::String(t) => {
                    ws.write_string(r, c, t).unwrap();
                }
                Data::Float(f) => {
                    ws.write_number(r, c, *f).unwrap();
                }
                Data::Int(n) => {
                    ws.write_number(r, c, *n as f64).unwrap();
                }
                Data::Empty => {}
                other => panic!("unexpected cell {other:?} at {r},{c}"),
            }
        }
    }
    for &i in &filled {
        ws.write_number(i as u32 + 1, col("value") as u16, value_of(i))
            .unwrap();
    }
    let a = post_ok(&s, "", XLSX, wb.save_to_buffer().unwrap());
    // Rows nobody filled in are skipped, not errors.
    assert_eq!(counts(&a), (20, 0, 0, 183, 0), "{a}");
    // Each stored row is reported at its spreadsheet row (header = row 1).
    let want: Vec<u64> = filled.iter().map(|i| *i as u64 + 2).collect();
    assert_eq!(row_numbers(&a), want);
    for &i in &filled {
        let id = text(&body[i][col("indicator")]);
        let got = stored(&s, &id).unwrap_or_else(|| panic!("{id} not stored"));
        assert_eq!(got["value"].as_f64(), Some(value_of(i)), "{id}");
        assert_eq!(got["status"], "final");
    }
    // An unfilled row wrote nothing.
    let unfilled = text(&body[1][col("indicator")]);
    assert!(stored(&s, &unfilled).is_none());
}

#[test]
fn a_submitters_template_holds_only_the_indicators_of_its_units() {
    // A unit's clerk fills in only what the unit reports; other rows would be refused.
    let s = TestServer::start();
    let secret = s.submitter("kgj-clerk", &["县科工局"]);
    let want: HashSet<String> = s
        .get_json("/v1/indicators")
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["lead_units"]
                .as_array()
                .unwrap()
                .contains(&json!("县科工局"))
        })
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!want.is_empty() && want.len() < 203, "{}", want.len());
    let cells = template(&s, &secret, PERIOD);
    let got: HashSet<String> = cells[1..].iter().map(|r| text(&r[0])).collect();
    assert_eq!(cells.len() - 1, want.len());
    assert_eq!(got, want);
}

// ── atomicity and partial batches ───────────────────────────────────────────

/// Five good rows (three indicators, two periods); tests spoil row 3.
fn five_rows() -> Vec<Value> {
    vec![
        json!({"indicator": CUMULATIVE, "period": PERIOD, "value": 40}),
        json!({"indicator": RATE, "period": PERIOD, "value": 5.5}),
        json!({"indicator": "new-high-tech-enterprises", "period": PERIOD, "value": 3}),
        json!({"indicator": CUMULATIVE, "period": "2023-05", "value": 30}),
        json!({"indicator": RATE, "period": "2023-05", "value": 5.1}),
    ]
}

/// Checks that none of the good rows (all but row 3) of a refused batch was stored.
fn nothing_stored(s: &TestServer, rows: &[Value], what: &str) {
    for (i, r) in rows.iter().enumerate().filter(|(i, _)| *i != 2) {
        let (id, p) = (
            r["indicator"].as_str().unwrap(),
            r["period"].as_str().unwrap(),
        );
        let st = s.get(&format!("/v1/indicators/{id}/readings/{p}")).status();
        assert_eq!(st, 404, "{what}: row {} ({id} {p}) was stored", i + 1);
    }
    // Nor anything else: the store holds no reading at all.
    assert_eq!(
        s.get_json("/healthz")["latest_period"],
        Value::Null,
        "{what}"
    );
}

#[test]
fn one_bad_row_refuses_an_atomic_batch_naming_the_row_and_field() {
    // The default is all or nothing: a half-loaded month would show some indicators
    // updated and others stale, and nobody would notice which.
    let s = TestServer::start();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a month that does not exist",
            json!({"indicator": "new-high-tech-enterprises", "period": "2023-13", "value": 3}),
            "period",
        ),
        (
            "an unknown indicator",
            json!({"indicator": "no-such-indicator", "period": PERIOD, "value": 3}),
            "indicator",
        ),
        (
            "a value that is not a number",
            json!({"indicator": "new-high-tech-enterprises", "period": PERIOD, "value": "三"}),
            "value",
        ),
        (
            "a note a spreadsheet would run as a formula",
            json!({"indicator": "new-high-tech-enterprises", "period": PERIOD, "value": 3, "note": "=1+1"}),
            "note",
        ),
        (
            "a second figure for row 1's indicator and period",
            json!({"indicator": CUMULATIVE, "period": PERIOD, "value": 41}),
            "period",
        ),
        (
            "a negative cumulative count",
            json!({"indicator": "new-high-tech-enterprises", "period": PERIOD, "value": -3}),
            "value",
        ),
        (
            "a period after the current month",
            json!({"indicator": "new-high-tech-enterprises", "period": "2999-01", "value": 3}),
            "period",
        ),
    ];
    for (what, bad, field) in cases {
        let mut rows = five_rows();
        rows[2] = bad;
        let r = post(
            &s,
            "",
            "application/json",
            serde_json::to_vec(&rows).unwrap(),
        );
        let errors = assert_rows_problem(r, what);
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        assert_eq!(errors[0]["row"], 3, "{what}: {errors:?}");
        assert_eq!(errors[0]["field"], field, "{what}: {errors:?}");
        assert!(
            errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        // The good rows of the refused batch are not there.
        nothing_stored(&s, &rows, what);
    }
}

#[test]
fn an_atomic_csv_batch_lists_every_bad_row_by_spreadsheet_row() {
    // A clerk fixes a spreadsheet from the list: every bad row at once, at the row
    // number Excel shows (the header is row 1), not one error per attempt.
    let s = TestServer::start();
    let csv = "indicator,period,value,status,note\n\
               tech-sme-registered,2023-06,40,,\n\
               gdp-growth,2023-06,5.5,,\n\
               new-high-tech-enterprises,2023-13,3,,\n\
               tech-sme-registered,2023-05,abc,,\n\
               gdp-growth,2023-05,5.1,P,@SUM(A1)\n";
    let r = post(&s, "", "text/csv", csv.as_bytes().to_vec());
    let errors = assert_rows_problem(r, "csv");
    let got: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [(4, "period"), (5, "value"), (6, "note")]);
    assert!(stored(&s, CUMULATIVE).is_none());
    assert!(stored(&s, RATE).is_none());
}

#[test]
fn atomic_false_stores_the_good_rows_and_reports_the_bad_ones() {
    // A bureau loading a big month may prefer the good rows now and the bad ones fixed
    // later; the answer must say exactly which were left out.
    let s = TestServer::start();
    let mut rows = five_rows();
    rows[1] = json!({"indicator": RATE, "period": "2023-13", "value": 5.5});
    rows[3] = json!({"indicator": "no-such-indicator", "period": PERIOD, "value": 1});
    let a = post_ok(
        &s,
        "?atomic=false",
        "application/json",
        serde_json::to_vec(&rows).unwrap(),
    );
    assert_eq!(a["atomic"], false);
    assert_eq!(counts(&a), (3, 0, 0, 0, 2), "{a}");
    assert_eq!(row_numbers(&a), [1, 3, 5]);
    let errors: Vec<(u64, &str)> = a["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(2, "period"), (4, "indicator")]);
    // The good rows are stored; the bad row's indicator has nothing for June.
    assert_eq!(stored(&s, CUMULATIVE).unwrap()["value"], 40.0);
    assert_eq!(
        stored(&s, "new-high-tech-enterprises").unwrap()["value"],
        3.0
    );
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{RATE}/readings/2023-05"))["value"],
        5.1
    );
    assert!(stored(&s, RATE).is_none());

    // With nothing good left, even a non-atomic batch is a 400: there is nothing to store.
    let bad = vec![json!({"indicator": RATE, "period": "2023-13", "value": 5.5})];
    let r = post(
        &s,
        "?atomic=false",
        "application/json",
        serde_json::to_vec(&bad).unwrap(),
    );
    let errors = assert_rows_problem(r, "all bad");
    assert_eq!(
        (&errors[0]["row"], &errors[0]["field"]),
        (&json!(1), &json!("period"))
    );

    // atomic takes only true or false.
    let r = post(
        &s,
        "?atomic=maybe",
        "application/json",
        serde_json::to_vec(&five_rows()).unwrap(),
    );
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "atomic");
}

#[test]
fn resubmitting_the_same_values_counts_unchanged_and_adds_no_revision() {
    // Clerks resend the whole month after correcting one figure: the untouched rows must
    // not grow a history of non-changes.
    let s = TestServer::start();
    let rows = sixty(&s);
    let a = post_ok(&s, "", "application/json", json_array(&rows));
    assert_eq!(counts(&a), (60, 0, 0, 0, 0));
    let a = post_ok(&s, "", "text/csv", csv_text(&rows, EN_HEADER).into_bytes());
    assert_eq!(counts(&a), (0, 0, 60, 0, 0), "{a}");
    assert!(a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["outcome"] == "unchanged" && r["revision"] == 1));
    // One corrected figure is the only revision.
    let mut changed = rows.clone();
    changed[7].value += 1.0;
    let a = post_ok(&s, "", XLSX, xlsx(&changed));
    assert_eq!(counts(&a), (0, 1, 59, 0, 0), "{a}");
    assert_eq!(a["rows"][7]["outcome"], "replaced");
    assert_eq!(a["rows"][7]["revision"], 2);
    assert_eq!(revision_count(&s, &rows[7].id), 2);
    assert_eq!(revision_count(&s, &rows[8].id), 1);
    assert_eq!(revision_count(&s, &rows[0].id), 1);
}

// ── idempotent retries ──────────────────────────────────────────────────────

#[test]
fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_writes_nothing() {
    // A client that timed out cannot know whether its batch landed; retrying with the
    // same key must be safe.
    let s = TestServer::start();
    let body = serde_json::to_vec(&five_rows()).unwrap();
    let first = post_keyed(
        &s,
        "",
        "application/json",
        body.clone(),
        Some("june-batch-1"),
    );
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().unwrap();
    assert_eq!(counts(&first), (5, 0, 0, 0, 0));

    let second = post_keyed(
        &s,
        "",
        "application/json",
        body.clone(),
        Some("june-batch-1"),
    );
    assert_eq!(second.status(), 200);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(content_type(&second), "application/json");
    let second: Value = second.json().unwrap();
    // The same answer, word for word: it still says "created", not "unchanged".
    assert_eq!(second, first);
    assert_eq!(revision_count(&s, CUMULATIVE), 1);
    assert_eq!(revision_count(&s, RATE), 1);

    // A different body under the same key is a client bug: 422, and nothing written.
    let mut other = five_rows();
    other[0]["value"] = json!(99);
    other.push(json!({"indicator": "new-high-tech-enterprises", "period": "2023-04", "value": 1}));
    let r = post_keyed(
        &s,
        "",
        "application/json",
        serde_json::to_vec(&other).unwrap(),
        Some("june-batch-1"),
    );
    assert_eq!(r.status(), 422);
    assert_eq!(content_type(&r), "application/problem+json");
    assert_eq!(stored(&s, CUMULATIVE).unwrap()["value"], 40.0);
    assert_eq!(revision_count(&s, CUMULATIVE), 1);
    assert_eq!(
        s.get("/v1/indicators/new-high-tech-enterprises/readings/2023-04")
            .status(),
        404
    );

    // The same body under a different query is a different request too.
    let r = post_keyed(
        &s,
        "?atomic=false",
        "application/json",
        body.clone(),
        Some("june-batch-1"),
    );
    assert_eq!(r.status(), 422);

    // A new key is a new batch: it runs, and finds everything unchanged.
    let r = post_keyed(&s, "", "application/json", body, Some("june-batch-2"));
    assert!(r.headers().get("idempotent-replayed").is_none());
    assert_eq!(counts(&r.json::<Value>().unwrap()), (0, 0, 5, 0, 0));
}

#[test]
fn a_late_retry_does_not_overwrite_a_correction_made_in_between() {
    // The batch landed, a clerk corrected one figure by hand, then the client's retry
    // arrives: replaying the old batch would silently undo the correction.
    let s = TestServer::start();
    let body = serde_json::to_vec(&five_rows()).unwrap();
    let first = post_keyed(&s, "", "application/json", body.clone(), Some("k-0601"));
    assert_eq!(first.status(), 200);
    let first: Value = first.json().unwrap();

    s.submit(CUMULATIVE, PERIOD, 42.0);
    assert_eq!(revision_count(&s, CUMULATIVE), 2);

    let retry = post_keyed(&s, "", "application/json", body, Some("k-0601"));
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().unwrap(), first);
    let now = stored(&s, CUMULATIVE).unwrap();
    assert_eq!((&now["value"], &now["revision"]), (&json!(42.0), &json!(2)));
    assert_eq!(revision_count(&s, CUMULATIVE), 2);
}

#[test]
fn idempotency_keys_belong_to_the_token_that_used_them() {
    // Two units may pick the same key ("2023-06"); one must not get the other's answer.
    let s = TestServer::start();
    let secret = s.submitter("bureau", &["县统计局"]);
    let rows = vec![json!({"indicator": CUMULATIVE, "period": PERIOD, "value": 40})];
    let a = post_keyed(
        &s,
        "",
        "application/json",
        serde_json::to_vec(&rows).unwrap(),
        Some("2023-06"),
    );
    assert_eq!(a.status(), 200);
    let other = vec![json!({"indicator": RATE, "period": PERIOD, "value": 5.5})];
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .bearer_auth(&secret)
        .header("Idempotency-Key", "2023-06")
        .json(&other)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("idempotent-replayed").is_none());
    assert_eq!(counts(&r.json::<Value>().unwrap()), (1, 0, 0, 0, 0));
    assert_eq!(stored(&s, RATE).unwrap()["recorded_by"], "bureau");

    // A key with an invisible character, or too long, is refused before anything
    // happens: never dropped, which would store a retry twice.
    for bad in ["批次\u{200B}1", "批次\u{202E}1", &"键".repeat(129)] {
        let r = post_keyed(
            &s,
            "",
            "application/json",
            serde_json::to_vec(&rows).unwrap(),
            Some(bad),
        );
        assert_eq!(r.status(), 400, "{bad:?}");
        assert_eq!(r.json::<Value>().unwrap()["field"], "Idempotency-Key");
    }
}

#[test]
fn a_chinese_idempotency_key_is_a_key_like_any_other() {
    let s = TestServer::start();
    let first = json!([{"indicator": RATE, "period": "2023-06", "value": 7.5}]);
    let post = |rows: &Value| {
        post_keyed(
            &s,
            "",
            "application/json",
            serde_json::to_vec(rows).unwrap(),
            Some("批次-1 六月"),
        )
    };
    let r = post(&first);
    assert_eq!(r.status(), 200);
    // The same key and body: the first answer again, nothing written twice.
    let r = post(&first);
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    // The same key with another body is refused, not applied as a revision.
    let other = json!([{"indicator": RATE, "period": "2023-06", "value": 9.9}]);
    let r = post(&other);
    assert_eq!(r.status(), 422);
    assert_eq!(stored(&s, RATE).unwrap()["value"], 7.5);
    assert_eq!(revision_count(&s, RATE), 1);
}

// ── the body as a whole ─────────────────────────────────────────────────────

#[test]
fn a_body_that_is_no_batch_format_is_415_and_an_empty_batch_is_400() {
    let s = TestServer::start();
    // text/plain could be anything; guessing would misread someone's data.
    let csv = csv_text(&sixty(&s)[..2], EN_HEADER).into_bytes();
    let r = post(&s, "", "text/plain", csv.clone());
    assert_eq!(r.status(), 415);
    assert_eq!(content_type(&r), "application/problem+json");
    // JSON in GBK is not JSON.
    let r = post(&s, "", "application/json; charset=gbk", b"[]".to_vec());
    assert_eq!(r.status(), 415);
    // An empty batch is almost certainly a client bug (an export that lost its rows).
    let r = post(&s, "", "application/json", b"[]".to_vec());
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "body");
    let r = post(&s, "", "text/csv", b"indicator,period,value\n".to_vec());
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "body");
    // A CSV without a value column says which column is missing, at the header row.
    let r = post(
        &s,
        "",
        "text/csv",
        b"indicator,period\ngdp-growth,2023-06\n".to_vec(),
    );
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "value");
    // Not a workbook at all.
    let r = post(&s, "", XLSX, b"PK\x03\x04 not really".to_vec());
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "body");
    // Batches are writes: no token, no batch.
    let r = s
        .client
        .post(s.url("/v1/readings"))
        .json(&five_rows())
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(s.get_json("/healthz")["latest_period"], Value::Null);
}

// ── known server bugs (run with `cargo test --test api batch -- --ignored`) ───

#[test]
fn a_csv_error_after_an_empty_line_names_the_row_the_spreadsheet_shows() {
    // The csv reader drops an empty line, so counting records puts every later error one
    // row too high: the clerk is sent to the wrong row. (A line of commas is counted.)
    let s = TestServer::start();
    let csv = "indicator,period,value\ngdp-growth,2023-06,5.5\n\ngdp-growth,2023-13,5.5\n";
    let errors = assert_rows_problem(post(&s, "", "text/csv", csv.as_bytes().to_vec()), "csv");
    assert_eq!(
        (&errors[0]["row"], &errors[0]["field"]),
        (&json!(4), &json!("period")),
        "the bad row is on line 4 of the file and row 4 of the spreadsheet"
    );
}

#[test]
fn a_percent_formatted_xlsx_cell_means_the_same_as_7_2_percent_in_csv() {
    // Typing 7.2% into the template's value cell makes Excel store 0.072 with a percent
    // format. The same text in a CSV is read as 7.2 for a % indicator; the workbook path
    // ignores the format and stores 0.072, a growth rate 100 times too small.
    let s = TestServer::start();
    let r = post(
        &s,
        "",
        "text/csv",
        b"indicator,period,value\ngdp-growth,2023-05,7.2%\n".to_vec(),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.get_json(&format!("/v1/indicators/{RATE}/readings/2023-05"))["value"],
        7.2
    );
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    for (c, h) in ["indicator", "period", "value"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, RATE).unwrap();
    ws.write_string(1, 1, PERIOD).unwrap();
    ws.write_number_with_format(1, 2, 0.072, &pct).unwrap();
    let r = post(&s, "", XLSX, wb.save_to_buffer().unwrap());
    assert_eq!(r.status(), 200);
    assert_eq!(stored(&s, RATE).unwrap()["value"], 7.2);
}

/// Two batches sent at the same moment that write the same indicator: whichever the
/// store's writer takes second is checked against the first (vetted again by the
/// writer when it was vetted before the first was written), so a cumulative figure
/// that falls is refused in every order. Each batch also writes an indicator of its
/// own, which lands with it or not at all.
#[test]
fn concurrent_batches_of_one_indicator_are_each_checked_against_the_other() {
    let s = TestServer::start();
    for year in 2016..=2022 {
        let send = |quarter: u8, value: u32, other: &str| {
            let csv = format!(
                "indicator,period,value\ntech-sme-registered,{year}-Q{quarter},{value}\n{other},{year}-12,{value}\n"
            );
            post(&s, "", "text/csv", csv.into_bytes()).status().as_u16()
        };
        let (a, b) = std::thread::scope(|sc| {
            let first = sc.spawn(|| send(1, 60, "new-above-scale-industrial-firms"));
            let second = sc.spawn(|| send(2, 50, "standard-factory-space-new"));
            (first.join().unwrap(), second.join().unwrap())
        });
        let mut got = [a, b];
        got.sort();
        assert_eq!(got, [200, 422], "{year}: Q1 60 and Q2 50 sent at once");
        let written = s
            .get_json(&format!(
                "/v1/indicators/tech-sme-registered/readings?from={year}-01&to={year}-12"
            ))
            .as_array()
            .unwrap()
            .len();
        assert_eq!(written, 1, "{year}");
    }
}
