//! `zhibiao submit`: send readings to a running server, as the bureau's scripts would.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Where and as whom to submit.
#[derive(Debug)]
pub struct Target {
    pub url: String,
    pub token: String,
}

fn client() -> Result<reqwest::blocking::Client, Box<dyn std::error::Error>> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?)
}

/// Turns an HTTP answer into the JSON body, or an error carrying the problem's detail
/// (and, for a batch, every bad row).
fn answer(res: reqwest::blocking::Response) -> Result<Value, Box<dyn std::error::Error>> {
    let status = res.status();
    let text = res.text()?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status.is_success() {
        return Ok(body);
    }
    let mut msg = format!(
        "{} {}",
        status.as_u16(),
        body.get("detail")
            .and_then(Value::as_str)
            .unwrap_or(status.canonical_reason().unwrap_or("error"))
    );
    if let Some(rows) = body.get("errors").and_then(Value::as_array) {
        for e in rows {
            msg.push_str(&format!(
                "\n  row {}: {}: {}",
                e["row"],
                e["field"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("")
            ));
        }
    }
    Err(msg.into())
}

/// PUT one reading.
pub fn one(
    t: &Target,
    indicator: &str,
    period: &str,
    value: f64,
    status: Option<&str>,
    note: Option<&str>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut body = serde_json::json!({ "value": value });
    if let Some(s) = status {
        body["status"] = s.into();
    }
    if let Some(n) = note {
        body["note"] = n.into();
    }
    let seg = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let url = format!(
        "{}/v1/indicators/{}/readings/{}",
        t.url.trim_end_matches('/'),
        seg(indicator),
        seg(period)
    );
    let res = client()?
        .put(url)
        .bearer_auth(&t.token)
        .json(&body)
        .send()
        .map_err(|e| format!("cannot reach {}: {e}", t.url))?;
    answer(res)
}

/// POST a CSV (UTF-8 or GBK, as exported) or XLSX file as one atomic batch.
pub fn file(
    t: &Target,
    path: &Path,
    idempotency_key: Option<&str>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let ct = if is_xlsx {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv"
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "uploading {} ({} bytes)",
        path.display(),
        bytes.len()
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let mut req = client()?
        .post(format!("{}/v1/readings", t.url.trim_end_matches('/')))
        .bearer_auth(&t.token)
        .header("content-type", ct)
        .body(bytes);
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    let res = req
        .send()
        .map_err(|e| format!("cannot reach {}: {e}", t.url));
    spinner.finish_and_clear();
    answer(res?)
}

pub(super) fn print_submitted(v: &serde_json::Value, json: bool) -> super::CliResult {
    if json {
        outln!("{}", serde_json::to_string_pretty(v)?);
    } else if let Some(outcome) = v.get("outcome").and_then(|o| o.as_str()) {
        outln!(
            "{} {} {} = {} (revision {})",
            outcome,
            v["indicator"].as_str().unwrap_or(""),
            v["period"].as_str().unwrap_or(""),
            v["value"],
            v["revision"]
        );
    } else {
        outln!(
            "created {}, replaced {}, unchanged {}, skipped {}, rejected {}",
            v["created"],
            v["replaced"],
            v["unchanged"],
            v["skipped"],
            v["rejected"]
        );
        for e in v["errors"].as_array().into_iter().flatten() {
            eprintln!(
                "  row {}: {}: {}",
                e["row"],
                e["field"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}
