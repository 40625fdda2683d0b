//! When a figure falls due: the rule a catalogue or an admin sets per indicator. A
//! domain type because the store keeps it; the reporting calendar that applies it is
//! in [`crate::engine::calendar`].

use serde::{Deserialize, Serialize};

use super::Frequency;

/// How long after its period a figure falls due. In a catalogue or a JSON body:
/// `{ day_of_next_month = 5 }` or `{ days_after_period_end = 20 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueRule {
    /// On this day of the month after the period (1 to 28, so that every month has it).
    DayOfNextMonth(u8),
    /// This many days after the period's last day.
    DaysAfterPeriodEnd(u16),
}

impl DueRule {
    /// Checks the rule's number: a day from 1 to 28 (every month has it), or at most
    /// 366 days.
    pub fn validate(self) -> Result<DueRule, String> {
        match self {
            DueRule::DayOfNextMonth(d) if !(1..=28).contains(&d) => Err(format!(
                "day_of_next_month {d} must be from 1 to 28, so that every month has it"
            )),
            DueRule::DaysAfterPeriodEnd(n) if n > 366 => {
                Err(format!("days_after_period_end {n} must be at most 366"))
            }
            ok => Ok(ok),
        }
    }

    /// The usual rule for a frequency.
    pub fn default_for(frequency: Frequency) -> DueRule {
        match frequency {
            Frequency::Monthly => DueRule::DayOfNextMonth(10),
            Frequency::Quarterly => DueRule::DaysAfterPeriodEnd(15),
            Frequency::Annual => DueRule::DaysAfterPeriodEnd(60),
        }
    }
}
