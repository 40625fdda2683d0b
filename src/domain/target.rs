//! Targets (目标值): one per indicator and year.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{finite, DomainError};

/// How the actual figure is compared with the target value.
///
/// The Chinese wording decides it. In legal usage (民法典 art. 1259) 以上, 以下 and 以内
/// include the number, 超过 and 不满 exclude it, so "150家以上" is `at_least 150` and
/// "超过2%" is `more_than 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// 以上 / 不低于 / 达 / 突破: actual ≥ value.
    AtLeast,
    /// 超过: actual > value.
    MoreThan,
    /// 以内 / 不超过 / 控制在: actual ≤ value.
    AtMost,
    /// 低于 / 不满: actual < value.
    LessThan,
    /// 左右: |actual − value| ≤ tolerance, or better than value in the indicator's direction.
    About,
    /// A band `value ..= upper`.
    Between,
}

impl Comparator {
    pub const NAMES: &'static str = "at_least, more_than, at_most, less_than, about, between";
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::AtLeast => "at_least",
            Comparator::MoreThan => "more_than",
            Comparator::AtMost => "at_most",
            Comparator::LessThan => "less_than",
            Comparator::About => "about",
            Comparator::Between => "between",
        }
    }
}

impl FromStr for Comparator {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        Ok(match s {
            "at_least" => Comparator::AtLeast,
            "more_than" => Comparator::MoreThan,
            "at_most" => Comparator::AtMost,
            "less_than" => Comparator::LessThan,
            "about" => Comparator::About,
            "between" => Comparator::Between,
            other => {
                return Err(DomainError::invalid(
                    "comparator",
                    format!("'{other}' is not one of: {}", Comparator::NAMES),
                ))
            }
        })
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a relative target is measured against, until its figure is entered:
/// "持续下降" (below last year), "与经济增长同步" (in step with GDP growth),
/// "控制在省定目标以内" (the province's figure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// `previous_year`, `indicator:<id>` or `external`.
    pub reference: String,
    pub note: String,
}

impl Baseline {
    pub fn validate(&self) -> Result<(), DomainError> {
        super::text::visible("baseline.note", &self.note)?;
        let ok = self.reference == "previous_year"
            || self.reference == "external"
            || self
                .reference
                .strip_prefix("indicator:")
                .is_some_and(|id| super::IndicatorId::parse(id).is_ok());
        if !ok {
            return Err(DomainError::invalid(
                "baseline.reference",
                format!(
                    "'{}' is not previous_year, external or indicator:<id>",
                    self.reference
                ),
            ));
        }
        Ok(())
    }
}

/// A year's target for one indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub year: u16,
    /// The figure as published (8% is `8.0`). `None` while a relative target awaits its
    /// baseline figure; the engine then reports `no_target`.
    pub value: Option<f64>,
    pub comparator: Comparator,
    /// Half-width of an `about` target, in the target's unit. `None` means the default
    /// for the indicator's kind.
    pub tolerance: Option<f64>,
    /// Upper bound of a `between` band.
    pub upper: Option<f64>,
    pub baseline: Option<Baseline>,
    /// What the year's plan says of the indicator (group, 序号, lead units, source).
    /// `None` for a target set outside any plan.
    #[serde(default)]
    pub plan: Option<super::PlanEntry>,
    /// The parts a list target breaks into (the 66 first-batch projects as 38 and 28):
    /// they break the list down and are not targets of their own.
    #[serde(default)]
    pub parts: Vec<TargetPart>,
    /// A duty per period (每季度至少1次): each month or quarter is judged on its own
    /// count (docs/methodology.md § per-period duties).
    #[serde(default)]
    pub duty: Option<Duty>,
}

/// One named part of a list target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetPart {
    pub name: String,
    pub value: f64,
}

/// A duty to be met in every period of a cadence: at least `min` (and at most `max`)
/// each month or quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duty {
    pub per: super::Frequency,
    pub min: f64,
    pub max: Option<f64>,
}

impl Target {
    /// Checks the combination of fields: a value or a baseline, an upper bound exactly
    /// for `between`, finite numbers, a non-negative tolerance.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !(super::MIN_YEAR..=super::MAX_YEAR).contains(&self.year) {
            return Err(DomainError::invalid(
                "year",
                format!(
                    "{} is outside {}..={}",
                    self.year,
                    super::MIN_YEAR,
                    super::MAX_YEAR
                ),
            ));
        }
        match (self.value, &self.baseline) {
            (None, None) => {
                return Err(DomainError::invalid(
                    "value",
                    "a target needs a value, or a baseline for a relative target",
                ))
            }
            (Some(v), _) => {
                finite("value", v)?;
            }
            _ => {}
        }
        if let Some(b) = &self.baseline {
            b.validate()?;
        }
        if let Some(p) = &self.plan {
            p.validate().map_err(|e| e.within("plan"))?;
        }
        if let Some(t) = self.tolerance {
            if finite("tolerance", t)? < 0.0 {
                return Err(DomainError::invalid("tolerance", "cannot be negative"));
            }
            if self.comparator != Comparator::About {
                return Err(DomainError::invalid(
                    "tolerance",
                    "only an 'about' (左右) target has a tolerance",
                ));
            }
        }
        match (self.comparator, self.upper) {
            (Comparator::Between, None) => Err(DomainError::invalid(
                "upper",
                "a 'between' target needs an upper bound",
            )),
            (Comparator::Between, Some(u)) => {
                finite("upper", u)?;
                match self.value {
                    Some(v) if u <= v => Err(DomainError::invalid(
                        "upper",
                        format!("upper {u} must be above value {v}"),
                    )),
                    _ => Ok(()),
                }
            }
            (_, Some(_)) => Err(DomainError::invalid(
                "upper",
                "only a 'between' target has an upper bound",
            )),
            (_, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(value: Option<f64>, comparator: Comparator) -> Target {
        Target {
            year: 2023,
            value,
            comparator,
            tolerance: None,
            upper: None,
            baseline: None,
            plan: None,
            parts: Vec::new(),
            duty: None,
        }
    }

    #[test]
    fn a_target_needs_a_value_or_a_baseline() {
        assert!(t(None, Comparator::AtLeast).validate().is_err());
        let mut rel = t(None, Comparator::LessThan);
        rel.baseline = Some(Baseline {
            reference: "previous_year".into(),
            note: "持续下降".into(),
        });
        assert!(rel.validate().is_ok());
        rel.baseline.as_mut().unwrap().reference = "indicator:../x".into();
        assert_eq!(rel.validate().unwrap_err().field(), "baseline.reference");
    }

    #[test]
    fn between_needs_an_upper_bound_above_the_value() {
        let mut b = t(Some(6.0), Comparator::Between);
        assert_eq!(b.validate().unwrap_err().field(), "upper");
        b.upper = Some(5.0);
        assert_eq!(b.validate().unwrap_err().field(), "upper");
        b.upper = Some(6.5);
        assert!(b.validate().is_ok());
        let mut a = t(Some(8.0), Comparator::AtLeast);
        a.upper = Some(9.0);
        assert!(a.validate().is_err());
    }

    #[test]
    fn tolerance_is_only_for_about_and_never_negative() {
        let mut a = t(Some(8.0), Comparator::About);
        a.tolerance = Some(-1.0);
        assert!(a.validate().is_err());
        a.tolerance = Some(0.5);
        assert!(a.validate().is_ok());
        a.comparator = Comparator::AtLeast;
        assert!(a.validate().is_err());
    }
}
