//! Validated domain types.
//!
//! Everything that reaches the store or the engine passes through a constructor here
//! (`parse`, `new`, `validate`). Handlers and the catalogue loader turn raw input into
//! these types at the edge, so the inner layers never see an id with a slash in it, a
//! month 13 or a NaN.

mod catalogue;
mod indicator;
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
pub use period::{Period, PeriodForm, MAX_YEAR, MIN_YEAR};
pub use plan::{group_key, six_battles, Group, Plan, PlanEntry, PlanId, SIX_BATTLES};
pub use quality::{Check, Finding, QualityNote, QualityRules};
pub use reading::{looks_like_formula, ObsStatus, Reading, ReadingInput, MAX_NOTE_CHARS};
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
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
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
            DomainError::Invalid { field, message } => DomainError::Invalid {
                field: format!("{prefix}.{field}"),
                message,
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
