//! CSV answers for list endpoints (`?format=csv` or `Accept: text/csv`).
//!
//! Each JSON object becomes a line; nested objects flatten to dotted columns
//! (`target.value`), arrays join with `、`. The body starts with a UTF-8 BOM so that
//! Excel opens Chinese text correctly, and text that a spreadsheet would run as a
//! formula is prefixed with `'`.

use serde::Serialize;
use serde_json::Value;

use super::{ApiError, Resp};

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(a) => {
            let parts: Vec<String> = a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.push((prefix.to_string(), parts.join("、")));
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Neutralises a cell a spreadsheet would evaluate.
fn safe(cell: String) -> String {
    if crate::domain::looks_like_formula(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Renders rows as CSV text (with BOM).
pub fn render<T: Serialize>(rows: &[T]) -> Result<String, ApiError> {
    let mut columns: Vec<String> = Vec::new();
    let mut lines: Vec<Vec<(String, String)>> = Vec::with_capacity(rows.len());
    for r in rows {
        let v = serde_json::to_value(r).map_err(ApiError::internal)?;
        let mut cells = Vec::new();
        flatten("", &v, &mut cells);
        for (k, _) in &cells {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        lines.push(cells);
    }
    if columns.is_empty() {
        // No rows: nothing to name columns after.
        return Ok("\u{feff}".to_string());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&columns).map_err(ApiError::internal)?;
    for cells in lines {
        let rec: Vec<String> = columns
            .iter()
            .map(|c| {
                safe(
                    cells
                        .iter()
                        .find(|(k, _)| k == c)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        w.write_record(&rec).map_err(ApiError::internal)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::internal(e.into_error()))?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}

/// A `text/csv` response.
pub fn reply<T: Serialize>(rows: &[T]) -> Result<Resp, ApiError> {
    let text = render(rows)?;
    let mut res = warp::reply::Response::new(text.into());
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        #[derive(serde::Serialize)]
        struct Row {
            note: &'static str,
            value: f64,
            target: Option<serde_json::Value>,
        }
        let rows = [
            Row {
                note: "=HYPERLINK(\"http://x\")",
                value: -1.5,
                target: None,
            },
            Row {
                note: "@SUM(A1)",
                value: 2.0,
                target: Some(serde_json::json!({"value": 8})),
            },
        ];
        let text = render(&rows).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(text.contains("'@SUM(A1)"), "{text}");
        assert!(
            text.contains(",-1.5,"),
            "negative numbers stay numbers: {text}"
        );
        assert!(text.lines().next().unwrap().contains("target.value"));
    }

    #[test]
    fn no_rows_is_just_the_bom() {
        let rows: [serde_json::Value; 0] = [];
        assert_eq!(render(&rows).unwrap(), "\u{feff}");
    }
}
