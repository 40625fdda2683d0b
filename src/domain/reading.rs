//! Readings: year-to-date figures submitted by the statistics bureau and departments.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{finite, DomainError, Indicator, Kind, PeriodForm};

/// Longest accepted note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Observation status, after SDMX `OBS_STATUS`.
///
/// `F` is **forecast**, as in SDMX, never "final": a final figure is `A` (normal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ObsStatus {
    /// `A`: normal / final.
    #[default]
    Normal,
    /// `P`: provisional (初步数).
    Provisional,
    /// `E`: estimated.
    Estimated,
    /// `F`: forecast.
    Forecast,
}

impl ObsStatus {
    pub fn code(self) -> &'static str {
        match self {
            ObsStatus::Normal => "A",
            ObsStatus::Provisional => "P",
            ObsStatus::Estimated => "E",
            ObsStatus::Forecast => "F",
        }
    }

    /// The word used in answers.
    pub fn word(self) -> &'static str {
        match self {
            ObsStatus::Normal => "final",
            ObsStatus::Provisional => "provisional",
            ObsStatus::Estimated => "estimated",
            ObsStatus::Forecast => "forecast",
        }
    }
}

impl FromStr for ObsStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        Ok(match s {
            "A" | "normal" | "final" => ObsStatus::Normal,
            "P" | "provisional" => ObsStatus::Provisional,
            "E" | "estimated" => ObsStatus::Estimated,
            "F" | "forecast" => ObsStatus::Forecast,
            other => {
                return Err(DomainError::said(
                    "status",
                    super::messages::Msg::new(
                        format!("数据状态“{other}”无法识别：请填 A（正式）、P（快报/初步）、E（估计）或 F（预测；F 不是正式数）"),
                        format!(
                            "'{other}' is not an observation status: use A/final/normal, P/provisional, E/estimated or F/forecast (F is forecast, not final)"
                        ),
                    ),
                ))
            }
        })
    }
}

impl fmt::Display for ObsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Whether text would run as a formula when a spreadsheet opens it (CSV injection):
/// it starts with `=`, `+`, `@`, a tab or a carriage return, or with `-` and is not a
/// number.
pub fn looks_like_formula(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '@' | '\t' | '\r'))
        || (s.starts_with('-') && s[1..].trim().parse::<f64>().is_err())
}

/// A validated submission: what the bureau sends for one indicator and period.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingInput {
    pub value: f64,
    pub status: ObsStatus,
    pub note: Option<String>,
    pub form: PeriodForm,
}

impl ReadingInput {
    /// Validates a submission against the indicator it is for.
    pub fn new(
        indicator: &Indicator,
        value: f64,
        status: ObsStatus,
        note: Option<String>,
        form: PeriodForm,
    ) -> Result<Self, DomainError> {
        // `+ 0.0` turns −0 into 0, so "-0" and "0" are the same figure.
        let value = finite("value", value)? + 0.0;
        if indicator.kind == Kind::Cumulative && value < 0.0 {
            return Err(DomainError::said(
                "value",
                super::messages::Msg::new(
                    format!(
                        "{value}是负数，但“{}”是年内累计数（{}），不能为负",
                        indicator.name, indicator.unit
                    ),
                    format!(
                        "{value} is negative, but '{}' is a cumulative count or amount ({})",
                        indicator.id, indicator.unit
                    ),
                ),
            ));
        }
        let note = checked_note(note)?;
        Ok(ReadingInput {
            value,
            status,
            note,
            form,
        })
    }
}

/// A stored reading: the current value of one indicator for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub value: f64,
    pub status: ObsStatus,
    pub note: Option<String>,
    pub form: PeriodForm,
    /// When this value was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The token name that recorded it.
    pub recorded_by: String,
    /// 1 for the first value, +1 for each change.
    pub revision: u32,
}

impl Reading {
    /// Whether `input` would change nothing: same value, status and note.
    pub fn same_as(&self, input: &ReadingInput) -> bool {
        self.value.to_bits() == input.value.to_bits()
            && self.status == input.status
            && self.note == input.note
    }
}

/// A note as it may be stored (with a reading, or alone as a note on a period): blank is
/// none; at most [`MAX_NOTE_CHARS`] characters, no control characters, no formula, no
/// bidi override.
pub fn checked_note(note: Option<String>) -> Result<Option<String>, DomainError> {
    let note =
        match note {
            Some(n) if n.trim().is_empty() => None,
            Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
                return Err(DomainError::said(
                    "note",
                    super::messages::Msg::new(
                        format!("备注最多{MAX_NOTE_CHARS}个字"),
                        format!("at most {MAX_NOTE_CHARS} characters"),
                    ),
                ))
            }
            Some(n) if n.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                return Err(DomainError::said(
                    "note",
                    super::messages::Msg::new("备注含有控制字符", "contains control characters"),
                ))
            }
            // Notes travel to spreadsheets (CSV answers, bulletins): refuse formulas.
            Some(n) if looks_like_formula(&n) => return Err(DomainError::said(
                "note",
                super::messages::Msg::new(
                    "备注像是电子表格公式（以 =、+、@ 或 - 开头），不予接收",
                    "the note looks like a spreadsheet formula (starts with =, +, @ or -); refused",
                ),
            )),
            other => other,
        };
    if let Some(n) = &note {
        // A bidi override reorders how the note reads in a bulletin.
        super::text::visible("note", n)?;
    }
    Ok(note)
}

/// A note a submitter sent for a period without a figure (数据待财政局核实后补报),
/// as kept in the audit trail: shown on the 催报 list and the indicator page. The
/// figure is still due; the note only says why it is late.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodNote {
    pub period: super::Period,
    pub note: String,
    /// The status the row gave, if any (P: the figure is to come as 快报).
    pub status: Option<ObsStatus>,
    /// Who sent it (the token's name) and when.
    pub by: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_accepts_sdmx_codes_and_words_and_f_is_forecast() {
        for (s, want) in [
            ("A", ObsStatus::Normal),
            ("final", ObsStatus::Normal),
            ("normal", ObsStatus::Normal),
            ("P", ObsStatus::Provisional),
            ("provisional", ObsStatus::Provisional),
            ("E", ObsStatus::Estimated),
            ("F", ObsStatus::Forecast),
            ("forecast", ObsStatus::Forecast),
        ] {
            assert_eq!(s.parse::<ObsStatus>().unwrap(), want, "{s}");
        }
        assert!("revised".parse::<ObsStatus>().is_err());
        assert_eq!(ObsStatus::Forecast.code(), "F");
        assert_eq!(ObsStatus::Normal.word(), "final");
    }
}
