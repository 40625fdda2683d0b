//! CSV answers for list endpoints (`?format=csv` or `Accept: text/csv`).
//!
//! Each row type has a fixed list of columns ([`CsvRow`]); each JSON row fills them by
//! path (`target.value`), plain lists join with `、`. The body starts with a UTF-8 BOM
//! so that Excel opens Chinese text correctly, and text that a spreadsheet would run as
//! a formula is prefixed with `'`.

use serde::Serialize;
use serde_json::Value;

use super::{ApiError, Resp};

/// A row type answered as CSV, with its fixed columns: the same columns in the same
/// order whatever the rows hold, so that a spreadsheet reading column F keeps reading
/// the same field. Each column is a path into the row's JSON (`target.value`,
/// `benchmarks.0.label` for the first benchmark); a null or absent field is an empty
/// cell. A column that names an object or a list of objects holds it as compact JSON;
/// a list of plain values is joined with `、`. No column is a prefix of another, so no
/// field appears twice. The lists are documented in docs/api.md ("CSV columns").
pub trait CsvRow: Serialize {
    const COLUMNS: &'static [&'static str];
}

/// The columns `?include=source` adds to attainment and alert rows.
pub const SOURCE_COLUMNS: &[&str] = &["source.document", "source.section", "source.quote"];

/// The value at a dotted path (`target.value`, `benchmarks.0.label`).
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One cell: text as is, numbers and booleans as JSON writes them, plain lists joined
/// with `、`, objects and lists of objects as compact JSON, null as nothing.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(|x| !x.is_object() && !x.is_array()) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("、"),
        Some(other) => other.to_string(),
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

/// Renders rows as CSV text (with BOM) under `R`'s columns, then `extra` (the
/// columns a request asked for, such as [`SOURCE_COLUMNS`]). The header is written
/// even with no rows.
pub fn render<R: CsvRow>(rows: &[R], extra: &[&str]) -> Result<String, ApiError> {
    let columns: Vec<&str> = R::COLUMNS.iter().chain(extra).copied().collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&columns).map_err(ApiError::internal)?;
    for r in rows {
        let v = serde_json::to_value(r).map_err(ApiError::internal)?;
        let rec: Vec<String> = columns.iter().map(|c| safe(cell(at(&v, c)))).collect();
        w.write_record(&rec).map_err(ApiError::internal)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::internal(e.into_error()))?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}

/// A `text/csv` response.
pub fn reply<R: CsvRow>(rows: &[R]) -> Result<Resp, ApiError> {
    let text = render(rows, &[])?;
    let mut res = warp::reply::Response::new(text.into());
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok(res)
}

// ── the columns of each CSV answer (docs/api.md, "CSV columns") ───────────────

/// The target's columns, as attainment and rankings give them.
macro_rules! target_columns {
    () => {
        [
            "target.year",
            "target.value",
            "target.comparator",
            "target.tolerance",
            "target.upper",
            "target.baseline.reference",
            "target.baseline.note",
            "target.plan",
            "target.position",
            "target.parts",
            "target.duty.per",
            "target.duty.min",
            "target.duty.max",
        ]
    };
}

/// Joins column lists at compile time.
const fn join<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "the column count is wrong");
    out
}

const ATTAINMENT_HEAD: &[&str] = &[
    "indicator",
    "name",
    "group",
    "group_name",
    "region",
    "code",
    "unit",
    "kind",
    "direction",
    "frequency",
    "lead_units",
    "year",
    "as_of",
    "actual",
    "actual_period",
    "data_lag_months",
];
const TARGET: &[&str] = &target_columns!();
const ATTAINMENT_TAIL: &[&str] = &[
    "headline",
    "message",
    "scheduled_pace",
    "expected",
    "attainment",
    "deviation",
    "pace_gap",
    "year_end_gap",
    "allowance",
    "attained",
    "required_rest_of_year",
    "catch_up_method",
    "next_period",
    "required_next_period",
    "reachable",
    "projection",
    "duty",
    "status",
    "status_label",
    "reporting.on",
    "reporting.period",
    "reporting.due",
    "reporting.state",
    "reporting.label",
    "plan_status",
    "benchmarks.0.region",
    "benchmarks.0.label",
    "benchmarks.0.value",
    "benchmarks.0.difference",
    "benchmarks.0.message",
    "benchmarks.1.region",
    "benchmarks.1.label",
    "benchmarks.1.value",
    "benchmarks.1.difference",
    "benchmarks.1.message",
    "benchmark_met",
    "rank",
    "rank_of",
    "rank_label",
];
const ATTAINMENT: [&str; 68] = join(&[ATTAINMENT_HEAD, TARGET, ATTAINMENT_TAIL]);

impl CsvRow for crate::query::views::AttainmentView<'_> {
    const COLUMNS: &'static [&'static str] = &ATTAINMENT;
}

impl CsvRow for crate::query::views::AlertView<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "indicator",
        "name",
        "region",
        "group",
        "group_name",
        "frequency",
        "lead_units",
        "status",
        "severity",
        "since",
        "periods_lagging",
        "escalated",
        "actual",
        "actual_period",
        "deviation",
        "pace_gap",
        "year_end_gap",
        "required_rest_of_year",
        "due",
        "days_overdue",
        "message",
    ];
}

const INDICATOR_HEAD: &[&str] = &[
    "indicator",
    "name",
    "name_en",
    "group",
    "group_name",
    "region",
    "code",
    "kind",
    "unit",
    "direction",
    "frequency",
    "lead_units",
    "co_units",
    "source.document",
    "source.section",
    "source.quote",
    "also_in",
    "profile",
    "thresholds.severe",
    "benchmarks",
    "status_rule",
    "escalate_after",
    "quality.range",
    "quality.max_change",
    "quality.stale_periods",
    "quality.allow_fall",
    "base_indicator",
    "base_shares",
    "plan",
    "due",
];
const INDICATOR: [&str; 44] = join(&[INDICATOR_HEAD, TARGET, &["target_years"]]);

/// `id` is left out: it is the older name of `indicator`, kept in JSON for a release.
impl CsvRow for crate::query::views::IndicatorView<'_> {
    const COLUMNS: &'static [&'static str] = &INDICATOR;
}

const RANKING_HEAD: &[&str] = &[
    "rank",
    "region",
    "parent",
    "indicator",
    "name",
    "value",
    "actual_period",
    "unit",
];
const RANKING: [&str; 25] = join(&[
    RANKING_HEAD,
    TARGET,
    &["deviation", "attainment", "status", "status_label"],
]);

impl CsvRow for crate::query::rankings::RankingEntry {
    const COLUMNS: &'static [&'static str] = &RANKING;
}

impl CsvRow for crate::engine::calendar::DueItem {
    const COLUMNS: &'static [&'static str] = &[
        "indicator",
        "name",
        "region",
        "frequency",
        "period",
        "due",
        "lead_units",
        "received",
    ];
}

impl CsvRow for crate::engine::calendar::OverdueItem {
    const COLUMNS: &'static [&'static str] = &[
        "indicator",
        "name",
        "region",
        "period",
        "due",
        "days_overdue",
        "lead_units",
        "note",
    ];
}

impl CsvRow for crate::query::views::ReadingView<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "indicator",
        "period",
        "period_key",
        "value",
        "status",
        "status_code",
        "note",
        "recorded_at",
        "recorded_by",
        "revision",
    ];
}

impl CsvRow for crate::query::views::RevisionView<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "seq",
        "at",
        "by",
        "action",
        "old.indicator",
        "old.period",
        "old.period_key",
        "old.value",
        "old.status",
        "old.status_code",
        "old.note",
        "old.recorded_at",
        "old.recorded_by",
        "old.revision",
        "new.indicator",
        "new.period",
        "new.period_key",
        "new.value",
        "new.status",
        "new.status_code",
        "new.note",
        "new.recorded_at",
        "new.recorded_by",
        "new.revision",
        "reason",
        "quality",
    ];
}

impl CsvRow for crate::query::tokens::TokenView<'_> {
    const COLUMNS: &'static [&'static str] = &["name", "role", "units", "region", "created_at"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        note: &'static str,
        value: f64,
        target: Option<serde_json::Value>,
        units: Vec<&'static str>,
    }

    impl CsvRow for Row {
        const COLUMNS: &'static [&'static str] =
            &["note", "value", "target.value", "target.baseline", "units"];
    }

    #[test]
    fn formula_cells_are_neutralised_and_columns_stay_whatever_the_rows_hold() {
        let rows = [
            Row {
                note: "=HYPERLINK(\"http://x\")",
                value: -1.5,
                target: None,
                units: vec!["县发改局", "县统计局"],
            },
            Row {
                note: "@SUM(A1)",
                value: 2.0,
                target: Some(
                    serde_json::json!({"value": 8, "baseline": {"reference": "previous_year"}}),
                ),
                units: vec![],
            },
        ];
        let text = render(&rows, &[]).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "note,value,target.value,target.baseline,units");
        assert!(lines[1].starts_with("\"'=HYPERLINK"), "{text}");
        assert!(lines[1].ends_with(",-1.5,,,县发改局、县统计局"), "{text}");
        assert!(lines[2].starts_with("'@SUM(A1),2.0,8,"), "{text}");
        assert!(
            lines[2].contains("previous_year"),
            "an object is one cell: {text}"
        );
        // No rows: the header still names the columns.
        let none: [Row; 0] = [];
        assert_eq!(
            render(&none, &["source.quote"]).unwrap(),
            "\u{feff}note,value,target.value,target.baseline,units,source.quote\n"
        );
    }
}
