//! How loud an alert is. A domain type because receivers' filters name severities and
//! the store keeps those filters; the engine decides which status calls for which
//! severity ([`Severity::of`](crate::engine::alerts)).

use serde::{Deserialize, Serialize};

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Severely behind, or missed, or behind for `escalate_after` periods in a row.
    Critical,
    /// Behind the scheduled pace.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "critical" => Ok(Severity::Critical),
            "warning" => Ok(Severity::Warning),
            other => Err(format!("'{other}' is not one of: warning, critical")),
        }
    }
}
