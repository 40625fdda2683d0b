//! Checking the rows of a batch one by one, before anything is read for the quality
//! checks or written: no spreadsheet formulas, a known indicator (by id or by name), a period that has
//! ended, a status word, a number as spreadsheets write it, no row twice, and the
//! token's right to write the indicator. Template rows nobody filled in are skipped.

use std::collections::HashMap;

use super::batch::Resolved;
use crate::api::{forbidden_message, may_write, not_in_future, Ctx};
use crate::domain::messages::{self, Msg};
use crate::domain::{
    checked_note, looks_like_formula, number, Indicator, ObsStatus, Period, ReadingInput,
};
use crate::ingest::{self, RawRow, RawValue, RowError};
use crate::store::{BatchRow, NoteRow, Token};

/// What checking one row found.
#[derive(Clone)]
pub(super) enum Checked {
    /// Valid, with the row's explanation (if it gave one) for the quality checks.
    Good(BatchRow, Option<String>),
    /// Left out, with why: a template row nobody filled in, or a blank mark.
    Skipped(Msg),
    Bad(Vec<RowError>),
    Forbidden(RowError),
    /// Valid, but failed quality checks without an explanation.
    Failed(BatchRow, Vec<RowError>),
    /// No figure, but a note (数据待财政局核实后补报): kept as an audited note on the
    /// indicator's period.
    Note(NoteRow),
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
    for (field, text) in [
        ("indicator", Some(raw.indicator.as_str())),
        ("period", Some(raw.period.as_str())),
        ("status", raw.status.as_deref()),
        ("note", raw.note.as_deref()),
    ] {
        if let Some(t) = text.filter(|t| looks_like_formula(t)) {
            let t: String = t.chars().take(30).collect();
            errs.push(RowError::said(
                row,
                field,
                Msg::new(
                    format!("“{t}”像是电子表格公式，不予接收：请填写公式的计算结果"),
                    format!("'{t}' looks like a spreadsheet formula; refused"),
                ),
            ));
        }
    }
    // Checking goes on after a formula, so that every bad field of the row is listed.
    let formula_fields: Vec<String> = errs.iter().map(|e| e.field.clone()).collect();
    if matches!(raw.value, RawValue::Missing) && raw.period.is_empty() && raw.indicator.is_empty() {
        return Checked::Skipped(messages::value_empty());
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
            errs.push(RowError::said(
                row,
                "indicator",
                messages::no_indicator(&raw.indicator),
            ));
            None
        }
    };
    let period = match Period::parse_with_form(&raw.period) {
        _ if formula_fields.iter().any(|f| f == "period") => None,
        Err(e) => {
            errs.push(RowError::of_domain(row, &e).named("period"));
            None
        }
        Ok((p, f)) => match not_in_future(ctx, p) {
            Err(e) => {
                errs.push(RowError::of_domain(row, &e).named("period"));
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
            errs.push(RowError::of_domain(row, &e).named("status"));
            ObsStatus::default()
        }
    };
    let unit = ind.map_or("", |i| i.unit.as_str());
    // A row with no figure is skipped (a template row nobody filled in), unless
    // something else was written in it that would be lost: that is refused.
    let no_figure = |why: Msg, errs: &mut Vec<RowError>| -> Option<Checked> {
        if raw.json {
            errs.push(RowError::said(row, "value", messages::value_required()));
            return None;
        }
        if let Some((field, text)) = [
            ("status", raw.status.as_deref()),
            ("explanation", raw.explanation.as_deref()),
        ]
        .into_iter()
        .find_map(|(f, t)| t.map(|t| (f, t)))
        {
            errs.push(RowError::said(
                row,
                "value",
                messages::written_without_value(field, text),
            ));
            return None;
        }
        (errs.is_empty() && !raw.indicator.is_empty()).then_some(Checked::Skipped(why))
    };
    // No figure but a note: the note is kept (a status beside it travels with it); an
    // explanation without a figure has nothing to explain and is refused below.
    // A value cell's text is read once, here, for this check and for the value below.
    let cell = match &raw.value {
        RawValue::Text(t) => Some(number::parse_cell(t, unit)),
        _ => None,
    };
    let blank =
        matches!(raw.value, RawValue::Missing) || matches!(cell, Some(Ok(number::Cell::Blank)));
    let has_note = raw.note.as_deref().is_some_and(|n| !n.trim().is_empty());
    if blank && has_note && !raw.json && raw.explanation.is_none() {
        let (Some(ind), Some((period, _))) = (ind, period) else {
            return Checked::Bad(errs);
        };
        if !errs.is_empty() {
            return Checked::Bad(errs);
        }
        let note = match checked_note(raw.note.clone()) {
            Ok(Some(n)) => n,
            Ok(None) => return Checked::Skipped(messages::value_empty()),
            Err(e) => return Checked::Bad(vec![RowError::of_domain(row, &e)]),
        };
        if let Some(refused) = refuse_writer(ctx, token, ind, period, row) {
            return refused;
        }
        return Checked::Note(NoteRow {
            indicator: ind.id.clone(),
            period,
            note,
            status: raw.status.as_ref().map(|_| status),
        });
    }
    let value = match &raw.value {
        RawValue::Number(v) => Some(*v),
        RawValue::Missing => {
            if let Some(skip) = no_figure(messages::value_empty(), &mut errs) {
                return skip;
            }
            if !errs.iter().any(|e| e.field == "value") {
                errs.push(RowError::said(row, "value", messages::value_required()));
            }
            None
        }
        RawValue::Text(t) => match cell.expect("a text cell is parsed above") {
            // "1e-400" parses to 0: not the figure that was written.
            Ok(number::Cell::Number(v)) if number::underflows(t, v) => {
                let e = number::too_small("value", t.trim());
                errs.push(RowError::of_domain(row, &e).named("value"));
                None
            }
            Ok(number::Cell::Number(v)) => Some(v),
            Ok(number::Cell::Blank) => {
                if let Some(skip) = no_figure(messages::blank_marker(t), &mut errs) {
                    return skip;
                }
                if !errs.iter().any(|e| e.field == "value") {
                    errs.push(RowError::said(row, "value", messages::blank_marker(t)));
                }
                None
            }
            Err(m) => {
                errs.push(RowError::said(row, "value", m));
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
        Err(e) => return Checked::Bad(vec![RowError::of_domain(row, &e)]),
    };
    if let Some(first) = seen.insert((ind.id.to_string(), period), row) {
        return Checked::Bad(vec![RowError::said(
            row,
            "period",
            Msg::new(
                format!(
                    "与第{first}行重复：{}的{}在本批中出现了两次",
                    ind.name,
                    crate::text::year_month(crate::text::Lang::Zh, period)
                ),
                format!(
                    "duplicates row {first}: {} {period} appears twice in this batch",
                    ind.id
                ),
            ),
        )]);
    }
    if let Some(refused) = refuse_writer(ctx, token, ind, period, row) {
        return refused;
    }
    let explanation = match raw
        .explanation
        .as_deref()
        .map(crate::domain::quality::explanation)
        .transpose()
    {
        Ok(e) => e,
        Err(e) => return Checked::Bad(vec![RowError::of_domain(row, &e)]),
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

/// A row the token may not write, as refused; `None` when it may.
fn refuse_writer(
    ctx: &Ctx,
    token: &Token,
    ind: &Indicator,
    period: Period,
    row: usize,
) -> Option<Checked> {
    let err = |msg: String| RowError::new(row, "indicator", msg);
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
            return Some(Checked::Forbidden(err(forbidden_message(token, &in_year))));
        }
    } else if !may_write(token, ind) {
        return Some(Checked::Forbidden(err(forbidden_message(token, ind))));
    }
    None
}
