//! Checking the rows of a batch one by one, before anything is read for the quality
//! checks or written: no spreadsheet formulas, a known indicator (by id or by name), a period that has
//! ended, a status word, a number as spreadsheets write it, no row twice, and the
//! token's right to write the indicator. Template rows nobody filled in are skipped.

use std::collections::HashMap;

use super::batch::Resolved;
use crate::api::{forbidden_message, may_write, not_in_future, Ctx};
use crate::domain::{looks_like_formula, number, ObsStatus, Period, ReadingInput};
use crate::ingest::{self, RawRow, RawValue, RowError};
use crate::store::{BatchRow, Token};

/// What checking one row found.
pub(super) enum Checked {
    /// Valid, with the row's explanation (if it gave one) for the quality checks.
    Good(BatchRow, Option<String>),
    Skipped,
    Bad(Vec<RowError>),
    Forbidden(RowError),
    /// Valid, but failed quality checks without an explanation.
    Failed(Vec<RowError>),
}

/// Parses a number as spreadsheets write it: `1,234.5`, ` 63 `, `7.2%` (for % units).
fn parse_number(text: &str, unit: &str) -> Option<f64> {
    let t = text.trim();
    let t = if unit == "%" {
        t.strip_suffix('%').unwrap_or(t).trim()
    } else {
        t
    };
    let plain: String = if t.contains(',') {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = int.trim_start_matches(['-', '+']);
        let groups: Vec<&str> = digits.split(',').collect();
        let ok = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return None;
        }
        let sign = &int[..int.len() - digits.len()];
        let mut s = format!("{sign}{}", groups.concat());
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        s
    } else {
        t.to_string()
    };
    plain.parse::<f64>().ok()
}

/// Checks each decoded row (or keeps the error it was decoded with), numbered as in
/// the body.
pub(super) fn validate_rows(
    ctx: &Ctx,
    token: &Token,
    indicators: &Resolved,
    rows: ingest::Rows,
) -> Vec<(usize, Checked)> {
    let mut seen: HashMap<(String, Period), usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let raw = match r {
            Ok(raw) => raw,
            Err(e) => {
                out.push((e.row, Checked::Bad(vec![e])));
                continue;
            }
        };
        let row = raw.row;
        let checked = check_row(ctx, token, indicators, &raw, &mut seen);
        out.push((row, checked));
    }
    out
}

fn check_row(
    ctx: &Ctx,
    token: &Token,
    indicators: &Resolved,
    raw: &RawRow,
    seen: &mut HashMap<(String, Period), usize>,
) -> Checked {
    let row = raw.row;
    let mut errs = Vec::new();
    let err = |field: &str, msg: String| RowError::new(row, field, msg);
    for (field, text) in [
        ("indicator", Some(raw.indicator.as_str())),
        ("period", Some(raw.period.as_str())),
        ("status", raw.status.as_deref()),
        ("note", raw.note.as_deref()),
    ] {
        if let Some(t) = text.filter(|t| looks_like_formula(t)) {
            errs.push(err(
                field,
                format!(
                    "'{}' looks like a spreadsheet formula; refused",
                    t.chars().take(30).collect::<String>()
                ),
            ));
        }
    }
    // Checking goes on after a formula, so that every bad field of the row is listed.
    let formula_fields: Vec<String> = errs.iter().map(|e| e.field.clone()).collect();
    if matches!(raw.value, RawValue::Missing) && raw.period.is_empty() && raw.indicator.is_empty() {
        return Checked::Skipped;
    }
    // Resolved by id or by name before the rows are checked (`batch::resolve_indicators`).
    let ind = match indicators.rows.get(&row) {
        _ if formula_fields.iter().any(|f| f == "indicator") => None,
        Some(Ok(id)) => indicators.indicators.get(id),
        Some(Err(e)) => {
            errs.push(e.clone());
            None
        }
        None => {
            errs.push(err(
                "indicator",
                format!("no indicator '{}'", raw.indicator),
            ));
            None
        }
    };
    let period = match Period::parse_with_form(&raw.period) {
        _ if formula_fields.iter().any(|f| f == "period") => None,
        Err(e) => {
            errs.push(err("period", e.message().to_string()));
            None
        }
        Ok((p, f)) => match not_in_future(ctx, p) {
            Err(e) => {
                errs.push(err("period", e.message().to_string()));
                None
            }
            Ok(()) => Some((p, f)),
        },
    };
    let status = match raw.status.as_deref().map(str::parse::<ObsStatus>) {
        _ if formula_fields.iter().any(|f| f == "status") => ObsStatus::default(),
        None => ObsStatus::default(),
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            errs.push(err("status", e.message().to_string()));
            ObsStatus::default()
        }
    };
    let unit = ind.map_or("", |i| i.unit.as_str());
    let value = match &raw.value {
        RawValue::Number(v) => Some(*v),
        RawValue::Missing => {
            // An empty value cell is a template row nobody filled in: skip it.
            if errs.is_empty() && !raw.indicator.is_empty() && !raw.json {
                return Checked::Skipped;
            }
            errs.push(err("value", "value is required".into()));
            None
        }
        RawValue::Text(t) => match parse_number(t, unit) {
            // "1e-400" parses to 0: not the figure that was written.
            Some(v) if number::underflows(t, v) => {
                let e = number::too_small("value", t.trim());
                errs.push(err("value", e.message().to_string()));
                None
            }
            Some(v) => Some(v),
            None => {
                errs.push(err(
                    "value",
                    format!(
                        "'{}' is not a number",
                        t.chars().take(30).collect::<String>()
                    ),
                ));
                None
            }
        },
    };
    let (Some(ind), Some((period, form)), Some(value)) = (ind, period, value) else {
        return Checked::Bad(errs);
    };
    if !errs.is_empty() {
        return Checked::Bad(errs);
    }
    let input = match ReadingInput::new(ind, value, status, raw.note.clone(), form) {
        Ok(i) => i,
        Err(e) => return Checked::Bad(vec![err(e.field(), e.message().to_string())]),
    };
    if let Some(first) = seen.insert((ind.id.to_string(), period), row) {
        return Checked::Bad(vec![err(
            "period",
            format!(
                "duplicates row {first}: {} {period} appears twice in this batch",
                ind.id
            ),
        )]);
    }
    // The plan of the period's year names the units that lead it. Only a submitter's
    // rights depend on it, so only then is the year's target read.
    if token.role == crate::store::Role::Submitter {
        let entry = ctx
            .queries
            .store()
            .target(&ind.id, period.year())
            .ok()
            .flatten()
            .and_then(|t| t.plan);
        let in_year = ind.in_plan(entry.as_ref());
        if !may_write(token, &in_year) {
            return Checked::Forbidden(err("indicator", forbidden_message(token, &in_year)));
        }
    } else if !may_write(token, ind) {
        return Checked::Forbidden(err("indicator", forbidden_message(token, ind)));
    }
    let explanation = match raw
        .explanation
        .as_deref()
        .map(crate::domain::quality::explanation)
        .transpose()
    {
        Ok(e) => e,
        Err(e) => return Checked::Bad(vec![err(e.field(), e.message().to_string())]),
    };
    Checked::Good(
        BatchRow {
            indicator: ind.id.clone(),
            period,
            input,
            quality: None,
        },
        explanation,
    )
}
