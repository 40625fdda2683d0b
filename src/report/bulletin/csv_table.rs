//! The bulletin as CSV (UTF-8 with a byte-order mark, so spreadsheets open it right):
//! one record per indicator with its raw figures in machine-readable columns, for those
//! who compute further. Text a spreadsheet would run as a formula is neutralised.

use super::model::{units, Model};
use crate::domain::Comparator;
use crate::engine::tidy;
use crate::text;

const CSV_COLUMNS: [&str; 18] = [
    "group",
    "group_name",
    "indicator",
    "name",
    "lead_units",
    "unit",
    "target",
    "comparator",
    "actual",
    "actual_period",
    "attainment",
    "scheduled_pace",
    "pace_gap",
    "deviation",
    "year_end_gap",
    "required_rest_of_year",
    "status",
    "status_label",
];

/// Neutralises text a spreadsheet would run as a formula, with a leading `'`.
fn csv_text(s: &str) -> String {
    let risky = matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A number as CSV text ("" when missing), rounded like every answer (`tidy`).
fn csv_num(v: Option<f64>) -> String {
    tidy(v).map(|x| x.to_string()).unwrap_or_default()
}

/// The bulletin as CSV: one record per indicator, with a UTF-8 byte-order mark; an
/// error is the writer's message.
pub(super) fn render(m: &Model) -> Result<Vec<u8>, String> {
    let err = |e: csv::Error| e.to_string();
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let mut head: Vec<&str> = CSV_COLUMNS.to_vec();
    if m.quarterly_column() {
        head.extend([
            "previous_attainment",
            "previous_status",
            "previous_status_label",
        ]);
    }
    w.write_record(&head).map_err(err)?;
    for s in &m.sections {
        for r in &s.rows {
            let ind = &r.row.indicator;
            let a = &r.row.attainment;
            let (target, comparator) = match &a.target {
                Some(t) => (
                    match (t.comparator, t.value, t.upper) {
                        (Comparator::Between, Some(v), Some(u)) => {
                            format!("{}–{}", text::fmt_num(v), text::fmt_num(u))
                        }
                        (_, v, _) => csv_num(v),
                    },
                    t.comparator.as_str().to_string(),
                ),
                None => (String::new(), String::new()),
            };
            let mut rec = vec![
                ind.group.clone(),
                csv_text(&s.group.name),
                ind.id.to_string(),
                csv_text(&ind.name),
                csv_text(&units(m.lang, ind)),
                csv_text(&ind.unit),
                target,
                comparator,
                csv_num(a.actual),
                a.actual_period.map(|p| p.to_string()).unwrap_or_default(),
                csv_num(a.attainment),
                csv_num(a.scheduled_pace),
                csv_num(a.pace_gap),
                csv_num(a.deviation),
                csv_num(a.year_end_gap),
                csv_num(a.required_rest_of_year),
                a.status.as_str().to_string(),
                a.status.label_zh().to_string(),
            ];
            if m.quarterly_column() {
                match r.previous.flatten() {
                    Some(p) => rec.extend([
                        csv_num(p.attainment.attainment),
                        p.attainment.status.as_str().to_string(),
                        p.attainment.status.label_zh().to_string(),
                    ]),
                    None => rec.extend([String::new(), String::new(), String::new()]),
                }
            }
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_neutralises_formulas_but_numbers_are_written_as_numbers() {
        assert_eq!(csv_text("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-x"), "'-x");
        assert_eq!(csv_text("@cmd"), "'@cmd");
        assert_eq!(csv_text("县科工局"), "县科工局");
        assert_eq!(csv_num(Some(-0.08)), "-0.08");
        assert_eq!(csv_num(Some(7.2 - 8.0)), "-0.8");
        assert_eq!(csv_num(None), "");
    }
}
