//! Submission quality checks (数据质量审核): the per-indicator rules, and what a check
//! found. The checks themselves are pure functions in `engine::quality`.

use serde::{Deserialize, Serialize};

use super::{finite, DomainError, Kind};

/// Longest accepted explanation (强制上报说明), in characters.
pub const MAX_EXPLANATION_CHARS: usize = 2000;

/// Per-indicator overrides of the quality checks. `None` means the default for the
/// indicator's kind (see `docs/methodology.md`, "Quality checks").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityRules {
    /// The plausible range `[min, max]`, inclusive. Defaults: rates −100…1000,
    /// cumulative figures 0 and up, levels unbounded. Shares (a good-day rate, R&D as
    /// a share of GDP) set `[0, 100]`.
    pub range: Option<[f64; 2]>,
    /// The largest month-to-month change (环比) accepted without an explanation. For
    /// rates and levels, a distance in the indicator's unit (default 5 points for rates,
    /// none for levels); for cumulative figures, how many times the average month so far
    /// the latest month may add (default 5).
    pub max_change: Option<f64>,
    /// How many consecutive equal readings count as a frozen figure (僵值): default 3
    /// for cumulative figures, 6 for rates; levels are not checked unless set. 0 turns
    /// the check off.
    pub stale_periods: Option<u8>,
    /// Whether a cumulative year-to-date figure may fall within a year (default: not).
    pub allow_fall: Option<bool>,
}

impl QualityRules {
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some([lo, hi]) = self.range {
            finite("quality.range", lo)?;
            finite("quality.range", hi)?;
            if lo > hi {
                return Err(DomainError::invalid(
                    "quality.range",
                    format!("the minimum {lo} is above the maximum {hi}"),
                ));
            }
        }
        if let Some(c) = self.max_change {
            if finite("quality.max_change", c)? <= 0.0 {
                return Err(DomainError::invalid(
                    "quality.max_change",
                    "must be positive",
                ));
            }
        }
        if self.stale_periods == Some(1) {
            return Err(DomainError::invalid(
                "quality.stale_periods",
                "a figure needs at least 2 equal periods to be frozen (0 turns the check off)",
            ));
        }
        Ok(())
    }

    /// The range that applies to an indicator of `kind`.
    pub fn range_for(&self, kind: Kind) -> (f64, f64) {
        match (self.range, kind) {
            (Some([lo, hi]), _) => (lo, hi),
            (None, Kind::Rate | Kind::Growth) => (-100.0, 1000.0),
            (None, Kind::Cumulative | Kind::Milestone) => (0.0, f64::INFINITY),
            (None, Kind::Level | Kind::Ordinal) => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    /// The 环比 threshold that applies, if any.
    pub fn max_change_for(&self, kind: Kind) -> Option<f64> {
        match (self.max_change, kind) {
            (Some(c), _) => Some(c),
            (None, Kind::Rate | Kind::Growth) => Some(5.0),
            (None, Kind::Cumulative) => Some(5.0),
            // A list moves in steps (a batch of projects starts at once), and a class
            // or rank jumps: no 环比 check by default.
            (None, Kind::Level | Kind::Milestone | Kind::Ordinal) => None,
        }
    }

    /// The frozen-figure run length that applies, if the check is on.
    pub fn stale_for(&self, kind: Kind) -> Option<usize> {
        let n = match (self.stale_periods, kind) {
            (Some(n), _) => n,
            (None, Kind::Cumulative) => 3,
            (None, Kind::Rate | Kind::Growth) => 6,
            (None, Kind::Level | Kind::Milestone | Kind::Ordinal) => 0,
        };
        (n >= 2).then_some(usize::from(n))
    }
}

/// The quality checks a submission can trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A cumulative year-to-date figure below an earlier month's of the same year (or
    /// above a later one's).
    CumulativeFall,
    /// Outside the plausible range.
    OutOfRange,
    /// A month-to-month change beyond the threshold (环比异常).
    MonthOnMonth,
    /// The same figure for many periods in a row (重复/僵值).
    Stale,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::CumulativeFall => "cumulative_fall",
            Check::OutOfRange => "out_of_range",
            Check::MonthOnMonth => "month_on_month",
            Check::Stale => "stale",
        }
    }

    /// The check's name as a bureau's review sheet prints it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Check::CumulativeFall => "累计值回落",
            Check::OutOfRange => "超出合理范围",
            Check::MonthOnMonth => "环比异常",
            Check::Stale => "重复/僵值",
        }
    }
}

/// One check a value tripped, with the reason in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub check: Check,
    /// What was found, in Chinese: the text kept with a flagged reading.
    pub message: String,
    /// The same in English, for the answer to a request that prefers it; not stored.
    #[serde(skip)]
    pub message_en: Option<String>,
}

impl Finding {
    /// A finding, said in both languages.
    pub fn said(check: Check, msg: super::messages::Msg) -> Finding {
        Finding {
            check,
            message: msg.zh,
            message_en: Some(msg.en),
        }
    }
}

/// The checks an accepted reading tripped, and the explanation (强制上报说明) it was
/// submitted with. Kept in the reading's revision and in the list of flagged readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityNote {
    pub findings: Vec<Finding>,
    pub explanation: String,
}

/// Checks an explanation's text.
pub fn explanation(s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(
            "explanation",
            "an explanation (强制上报说明) cannot be empty",
        ));
    }
    if t.chars().count() > MAX_EXPLANATION_CHARS {
        return Err(DomainError::invalid(
            "explanation",
            format!("at most {MAX_EXPLANATION_CHARS} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(
            "explanation",
            "contains control characters",
        ));
    }
    super::text::visible("explanation", t)?;
    Ok(t.to_string())
}
