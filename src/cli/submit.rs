//! `zhibiao submit`: send readings to a running server, as the bureau's scripts would.
//! It prints in Chinese, and asks the server for its messages in Chinese, unless
//! `--lang en`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Where and as whom to submit.
#[derive(Debug)]
pub struct Target {
    pub url: String,
    pub token: String,
    /// Print, and ask the server to answer, in English.
    pub english: bool,
}

/// `zh` or `en`, as asked.
pub fn say(english: bool, zh: &str, en: &str) -> String {
    if english { en } else { zh }.to_string()
}

fn accept_language(english: bool) -> &'static str {
    if english {
        "en"
    } else {
        "zh-CN"
    }
}

fn client() -> Result<reqwest::blocking::Client, Box<dyn std::error::Error>> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?)
}

/// Turns an HTTP answer into the JSON body, or an error carrying the problem's detail
/// (and, for a batch, every bad row).
fn answer(
    res: reqwest::blocking::Response,
    english: bool,
) -> Result<Value, Box<dyn std::error::Error>> {
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
            msg.push_str(&row_line(e, english));
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
        .header("accept-language", accept_language(t.english))
        .json(&body)
        .send()
        .map_err(|e| unreachable(t, &e))?;
    answer(res, t.english)
}

/// POST a CSV (UTF-8 or GBK, as exported) or XLSX file as one atomic batch.
pub fn file(
    t: &Target,
    path: &Path,
    idempotency_key: Option<&str>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| {
        if t.english {
            format!("cannot read {}: {e}", path.display())
        } else {
            format!("无法读取文件 {}：{e}", path.display())
        }
    })?;
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
    spinner.set_message(if t.english {
        format!("uploading {} ({} bytes)", path.display(), bytes.len())
    } else {
        format!("正在上传 {}（{}字节）", path.display(), bytes.len())
    });
    spinner.enable_steady_tick(Duration::from_millis(120));
    let mut req = client()?
        .post(format!("{}/v1/readings", t.url.trim_end_matches('/')))
        .bearer_auth(&t.token)
        .header("accept-language", accept_language(t.english))
        .header("content-type", ct)
        .body(bytes);
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    let res = req.send().map_err(|e| unreachable(t, &e));
    spinner.finish_and_clear();
    answer(res?, t.english)
}

fn unreachable(t: &Target, e: &reqwest::Error) -> String {
    if t.english {
        format!("cannot reach {}: {e}", t.url)
    } else {
        format!(
            "无法连接服务器 {}：{e}（服务是否已启动？地址是否正确？）",
            t.url
        )
    }
}

/// One refused or skipped row, as printed under the answer.
fn row_line(e: &Value, english: bool) -> String {
    let field = e["field"].as_str().unwrap_or("?");
    let message = e["message"].as_str().unwrap_or("");
    if english {
        format!("\n  row {}: {field}: {message}", e["row"])
    } else {
        format!("\n  第{}行（{field}）：{message}", e["row"])
    }
}

pub(super) fn print_submitted(
    v: &serde_json::Value,
    json: bool,
    english: bool,
) -> super::CliResult {
    if json {
        outln!("{}", serde_json::to_string_pretty(v)?);
    } else if let Some(outcome) = v.get("outcome").and_then(|o| o.as_str()) {
        if english {
            outln!(
                "{} {} {} = {} (revision {})",
                outcome,
                v["indicator"].as_str().unwrap_or(""),
                v["period"].as_str().unwrap_or(""),
                v["value"],
                v["revision"]
            );
        } else {
            let word = match outcome {
                "created" => "新增",
                "replaced" => "更新",
                "unchanged" => "未变",
                other => other,
            };
            outln!(
                "{word} {} {} = {}（第{}版）",
                v["indicator"].as_str().unwrap_or(""),
                v["period"].as_str().unwrap_or(""),
                v["value"]
                    .as_f64()
                    .map_or_else(|| v["value"].to_string(), crate::ingest::format_number),
                v["revision"]
            );
        }
    } else {
        if english {
            outln!(
                "created {}, replaced {}, unchanged {}, skipped {}, rejected {}",
                v["created"],
                v["replaced"],
                v["unchanged"],
                v["skipped"],
                v["rejected"]
            );
        } else {
            outln!(
                "新增{}条，更新{}条，未变{}条，跳过{}行，退回{}行",
                v["created"],
                v["replaced"],
                v["unchanged"],
                v["skipped"],
                v["rejected"]
            );
        }
        for s in v["skipped_rows"].as_array().into_iter().flatten() {
            let reason = s["reason"].as_str().unwrap_or("");
            if english {
                outln!("  row {} skipped: {reason}", s["row"]);
            } else {
                outln!("  第{}行跳过：{reason}", s["row"]);
            }
        }
        for e in v["errors"].as_array().into_iter().flatten() {
            eprintln!("{}", row_line(e, english).trim_start_matches('\n'));
        }
    }
    Ok(())
}
