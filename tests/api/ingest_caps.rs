//! The caps on decoding a batch, through the API: a batch over one is refused with
//! 413 (a byte cap) or 422 (a count cap), a problem+json that names the cap and its
//! number, and the refusal is counted in `/metrics`.

use reqwest::blocking::Response;
use serde_json::Value;
use zhibiao::ingest::{MAX_BATCH_ROWS, MAX_XLSX_PART_BYTES};

use crate::helpers::*;
use crate::xlsx_bomb;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// POSTs a batch as admin: rights are never why these are refused.
fn post(s: &TestServer, content_type: &str, body: Vec<u8>) -> Response {
    s.client
        .post(s.url("/v1/readings"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST /v1/readings")
}

/// The problem+json of a refusal with `status`, insisting it names `cap` and `limit`.
fn assert_over_cap(r: Response, status: u16, cap: &str, limit: u64) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "application/problem+json");
    let p: Value = r.json().expect("problem+json");
    assert_eq!(p["cap"], cap, "{p}");
    assert_eq!(p["limit"], limit, "{p}");
    assert!(p["detail"].as_str().unwrap().contains(cap), "{p}");
    p
}

/// How many refusals `/metrics` counts for `cap`.
fn refusals(s: &TestServer, cap: &str) -> u64 {
    let metrics = s.get("/metrics").text().expect("metrics");
    let line = format!("zhibiao_refusals_total{{cap=\"{cap}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[test]
fn an_xlsx_that_inflates_past_the_part_cap_is_413_naming_the_cap_and_counted() {
    let s = TestServer::start();
    let before = refusals(&s, "xlsx_part_bytes");
    // 64 MiB and 4 KiB of sheet in under half a megabyte.
    let bomb = xlsx_bomb::sheet_bomb(MAX_XLSX_PART_BYTES + 4096);
    assert!(bomb.len() < 512 * 1024, "{} bytes", bomb.len());
    let p = assert_over_cap(
        post(&s, XLSX, bomb),
        413,
        "xlsx_part_bytes",
        64 * 1024 * 1024,
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("xl/worksheets/sheet1.xml"),
        "{p}"
    );
    // The refusal is counted in the process-wide metrics (other tests in this process
    // may count theirs too, so it is at least one more).
    assert!(refusals(&s, "xlsx_part_bytes") > before);
}

#[test]
fn a_csv_of_more_than_200_000_rows_is_422_naming_the_row_cap() {
    let s = TestServer::start();
    let mut csv = String::from("indicator,period,value\n");
    for i in 0..=MAX_BATCH_ROWS {
        csv.push_str(&format!("ind-{i},2023-06,{i}\n"));
    }
    assert!(csv.len() < 8 * 1024 * 1024, "under the body cap");
    assert_over_cap(
        post(&s, "text/csv", csv.into_bytes()),
        422,
        "batch_rows",
        200_000,
    );
    assert!(refusals(&s, "batch_rows") >= 1);
}
