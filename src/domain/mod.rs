//! Validated domain types.
//!
//! Everything that reaches the store or the engine passes through a constructor here
//! (`parse`, `new`, `validate`). Handlers and the catalogue loader turn raw input into
//! these types at the edge, so the inner layers never see an id with a slash in it, a
//! month 13 or a NaN.

mod catalogue;
mod indicator;
pub mod messages;
pub mod number;
mod period;
mod plan;
pub mod quality;
mod reading;
mod region;
mod schedule;
mod severity;
mod target;
pub mod text;
mod units;
pub mod webhook;

pub use indicator::{
    BaseProblem, Direction, Frequency, Indicator, IndicatorId, Kind, Profile, Source, SourceRef,
    StatusRule, Thresholds, DEFAULT_ESCALATE_AFTER,
};
pub use period::{excel_date, Period, PeriodForm, MAX_YEAR, MIN_YEAR};
pub use plan::{group_key, six_battles, Group, Plan, PlanEntry, PlanId, SIX_BATTLES};
pub use quality::{Check, Finding, QualityNote, QualityRules};
pub use reading::{
    checked_note, looks_like_formula, ObsStatus, PeriodNote, Reading, ReadingInput, MAX_NOTE_CHARS,
};
pub use region::{office_label, region_name, Region, RegionLevel, RegionSettings};
pub use target::{Baseline, Comparator, Duty, Target, TargetPart};
pub use units::{UnitEntry, UnitRegistry};

pub use catalogue::Catalogue;
pub use schedule::DueRule;
pub use severity::Severity;
pub use webhook::{EventKind, Webhook, WebhookFilter};

/// The unit whose submitter tokens may write every indicator: the county statistics
/// bureau compiles and reports all of them.
pub const STATS_BUREAU: &str = "县统计局";

/// A value that failed validation. `field` names the offending field, so API errors
/// can point at it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// `message` is the Chinese text where one is written (see [`messages`]), with
    /// its English in `english`; older messages are English in both.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: String,
        message: String,
        english: Option<String>,
    },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
            english: None,
        }
    }

    /// An error whose message is written in both languages.
    pub fn said(field: impl Into<String>, msg: messages::Msg) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: msg.zh,
            english: Some(msg.en),
        }
    }

    /// The error as the detail of an answer: the Chinese message where one is written
    /// (the field is named beside it), and `invalid {field}: …` in English.
    pub fn detail(&self) -> messages::Msg {
        messages::Msg::new(
            if self.is_bilingual() {
                self.message().to_string()
            } else {
                self.to_string()
            },
            format!("invalid {}: {}", self.field(), self.message_en()),
        )
    }

    /// Whether the message is written in both languages (see [`messages`]).
    pub fn is_bilingual(&self) -> bool {
        matches!(
            self,
            DomainError::Invalid {
                english: Some(_),
                ..
            }
        )
    }

    /// The message in English where one is written, else the message.
    pub fn message_en(&self) -> &str {
        match self {
            DomainError::Invalid {
                message, english, ..
            } => english.as_deref().unwrap_or(message),
        }
    }

    /// The message in the language asked for.
    pub fn message_in(&self, english: bool) -> &str {
        if english {
            self.message_en()
        } else {
            self.message()
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            DomainError::Invalid { field, .. } => field,
        }
    }

    /// The message without the field prefix.
    pub fn message(&self) -> &str {
        match self {
            DomainError::Invalid { message, .. } => message,
        }
    }

    /// The same error, reported under a more specific field path (`indicator[3].unit`).
    pub fn within(self, prefix: &str) -> Self {
        match self {
            DomainError::Invalid {
                field,
                message,
                english,
            } => DomainError::Invalid {
                field: format!("{prefix}.{field}"),
                message,
                english,
            },
        }
    }
}

/// Checks that `v` is a finite number; NaN and ±∞ have no meaning as a statistic. A
/// subnormal number (nonzero, below 2.2250738585072014e-308) is refused too: it is
/// what a parser makes of a figure too small for f64, keeping fewer digits than were
/// sent (see [`number`]).
pub fn finite(field: &str, v: f64) -> Result<f64, DomainError> {
    if v.is_subnormal() {
        Err(number::too_small(field, &format!("{v:e}")))
    } else if v.is_finite() {
        Ok(v)
    } else {
        Err(DomainError::invalid(
            field,
            format!("{v} is not a finite number"),
        ))
    }
}
