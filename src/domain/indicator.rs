//! Indicators (指标): what is measured, by whom, and how it is judged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::quality::QualityRules;
use super::region::region_name;
use super::{finite, DomainError};

/// Longest accepted indicator id.
pub const MAX_ID_LEN: usize = 64;

/// A stable ASCII id such as `tech-sme-registered`: `[a-z0-9-]`, 1 to 64 characters.
///
/// Ids appear in URLs and sled keys, so the alphabet is kept small: no `/`, no `..`,
/// no NUL, nothing that needs escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IndicatorId(String);

impl IndicatorId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::invalid(
                "id",
                "an indicator id cannot be empty",
            ));
        }
        if s.len() > MAX_ID_LEN {
            return Err(DomainError::invalid(
                "id",
                format!(
                    "an indicator id is at most {MAX_ID_LEN} characters (got {})",
                    s.len()
                ),
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(DomainError::invalid(
                "id",
                format!("an indicator id uses only a-z, 0-9 and '-' (found {c:?})"),
            ));
        }
        Ok(IndicatorId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IndicatorId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IndicatorId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for IndicatorId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IndicatorId::parse(s)
    }
}

impl fmt::Display for IndicatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(DomainError::invalid(
                        $field,
                        format!("'{}' is not one of: {}", other, [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// How an indicator's year-to-date figure behaves over the year.
    Kind, "kind" {
        // Counts and amounts that build up over the year: 150 家, 5200 人, 80 亿元.
        Cumulative => "cumulative",
        // Growth rates, shares and ratios reported year-to-date: 8%, 2.1% of GDP.
        Rate => "rate",
        // A standard or level to reach: water class Ⅱ, a rank, a stock.
        Level => "level",
        // Growth rates (增速, 增长X%): year-to-date growth over the same period of last
        // year, judged in 个百分点 against the target and never as a 完成率.
        // New kinds come last, so that stored kinds keep their numbers.
        Growth => "growth",
        // A list of N items (重点项目, villages, wind farms): the count started or
        // completed by the period, paced by the plan's schedule where it gives one.
        Milestone => "milestone",
        // An ordinal level (water class Ⅱ, a rank): attained or not, never a percentage.
        Ordinal => "ordinal",
    }
);

string_enum!(
    /// Whether more (`up`) or less (`down`) is better.
    Direction, "direction" {
        Up => "up",
        Down => "down",
    }
);

string_enum!(
    /// The cadence at which readings are expected. It drives the reporting calendar;
    /// it never restricts which months a reading may be submitted for.
    Frequency, "frequency" {
        Monthly => "monthly",
        Quarterly => "quarterly",
        Annual => "annual",
    }
);

string_enum!(
    /// How an indicator's status is decided: by its plan alone (`plan`), or, for
    /// `plan_and_benchmark`, on track only when the plan is on pace and the first
    /// benchmark region's figure is met or beaten.
    StatusRule, "status_rule" {
        Plan => "plan",
        PlanAndBenchmark => "plan_and_benchmark",
    }
);

// `string_enum!` takes no variant attributes, so `#[default]` cannot be derived.
#[allow(clippy::derivable_impls)]
impl Default for StatusRule {
    fn default() -> Self {
        StatusRule::Plan
    }
}

/// How many consecutive lagging periods raise an alert from warning to critical,
/// unless an indicator sets its own.
pub const DEFAULT_ESCALATE_AFTER: u8 = 2;

fn default_escalate_after() -> u8 {
    DEFAULT_ESCALATE_AFTER
}

/// Where a target is written in the plan document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub document: String,
    pub section: String,
    pub quote: String,
}

/// Another place in the document that states the same target with the same number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub section: String,
    pub quote: String,
}

/// A cumulative scheduled-pace profile: the share of the year's target expected done by
/// the end of each month. Validated non-decreasing, within 0..=1, ending at 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Profile([f64; 12]);

impl Profile {
    pub fn new(values: &[f64]) -> Result<Self, DomainError> {
        let arr: [f64; 12] = values.try_into().map_err(|_| {
            DomainError::invalid(
                "profile",
                format!("a profile has 12 monthly values (got {})", values.len()),
            )
        })?;
        for (i, v) in arr.iter().enumerate() {
            finite("profile", *v)?;
            if !(0.0..=1.0).contains(v) {
                return Err(DomainError::invalid(
                    "profile",
                    format!("month {} is {v}, outside 0..=1", i + 1),
                ));
            }
            if i > 0 && *v < arr[i - 1] {
                return Err(DomainError::invalid(
                    "profile",
                    format!(
                        "month {} ({v}) is below month {} ({})",
                        i + 1,
                        i,
                        arr[i - 1]
                    ),
                ));
            }
        }
        if (arr[11] - 1.0).abs() > 1e-9 {
            return Err(DomainError::invalid("profile", "December must be 1.0"));
        }
        Ok(Profile(arr))
    }

    /// Scheduled share of the year done by the end of month `m` (1..=12).
    pub fn at(&self, m: u8) -> f64 {
        self.0[usize::from(m.clamp(1, 12)) - 1]
    }
}

impl TryFrom<Vec<f64>> for Profile {
    type Error = DomainError;
    fn try_from(v: Vec<f64>) -> Result<Self, Self::Error> {
        Profile::new(&v)
    }
}

impl From<Profile> for Vec<f64> {
    fn from(p: Profile) -> Vec<f64> {
        p.0.to_vec()
    }
}

/// Per-indicator overrides of the status thresholds. `None` means the default for the
/// indicator's kind (see `docs/methodology.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Where `behind` turns into `severely_behind`. For `rate` indicators, a distance in
    /// the target's unit (default 1.0 point); for `cumulative` and `level`, a fraction of
    /// the target (default 0.10).
    pub severe: Option<f64>,
}

/// One tracked indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub id: IndicatorId,
    pub name: String,
    pub name_en: String,
    /// The key of the group (板块) it sits in, in its latest plan. A year's own group
    /// is in that year's [`PlanEntry`](super::PlanEntry). Backups written before
    /// plans call it `battle`.
    #[serde(alias = "battle")]
    pub group: String,
    pub kind: Kind,
    pub unit: String,
    pub direction: Direction,
    pub frequency: Frequency,
    /// 牵头单位, canonical names, as its latest plan names them. The units of one
    /// year are that year's [`PlanEntry`](super::PlanEntry)'s; these stand for years
    /// no plan covers (history, readings before the first plan).
    pub lead_units: Vec<String>,
    /// 分工负责 / 参与 units, canonical names.
    pub co_units: Vec<String>,
    pub source: Source,
    pub also_in: Vec<SourceRef>,
    pub profile: Option<Profile>,
    pub thresholds: Thresholds,
    /// The region whose plan this is, e.g. 桃江县. Backups written before regions
    /// existed leave it empty, and restore fills in the catalogue's region.
    #[serde(default)]
    pub region: String,
    /// What is measured, shared across regions (`gdp-growth`), so that the same
    /// measure can be compared and ranked. Defaults to the id.
    #[serde(default)]
    pub code: String,
    /// Regions whose figures for the same code and period this one is set against,
    /// e.g. 益阳市 and 湖南省. The first one is the one `status_rule` judges against.
    #[serde(default)]
    pub benchmarks: Vec<String>,
    #[serde(default)]
    pub status_rule: StatusRule,
    /// Consecutive lagging periods after which an alert is critical (三亚: 2).
    #[serde(default = "default_escalate_after")]
    pub escalate_after: u8,
    #[serde(default)]
    pub quality: QualityRules,
    /// The indicator whose last-year year-to-date readings weight the catch-up of this
    /// one (a level or cumulative indicator of the same region), for the base-weighted
    /// catch-up of growth rates (docs/methodology.md § catch-up).
    #[serde(default)]
    pub base_indicator: Option<IndicatorId>,
    /// Last year's cumulative monthly shares of the annual total, January to December,
    /// for the same purpose when no base indicator is tracked.
    #[serde(default)]
    pub base_shares: Option<Profile>,
}

/// Why an indicator cannot be the base of another (see [`Indicator::base_problem`]).
#[derive(Debug, Clone, PartialEq)]
pub enum BaseProblem {
    /// Only a growth rate is weighted by a base; this one is of another kind.
    NotGrowth(Kind),
    /// The base is the indicator itself.
    Itself,
    /// The base is not a level or cumulative amount of the same region.
    Unfit { kind: Kind, region: String },
}

impl Indicator {
    /// Whether `base` can weight this indicator's catch-up: this is a growth rate, and
    /// the base a cumulative or level amount of the same region (一般公共预算收入 for its
    /// growth). One rule for the catalogue, the plan spreadsheet and `PUT`; each edge
    /// words the problem in its language.
    pub fn base_problem(&self, base: &Indicator) -> Option<BaseProblem> {
        if self.kind != Kind::Growth {
            Some(BaseProblem::NotGrowth(self.kind))
        } else if base.id == self.id {
            Some(BaseProblem::Itself)
        } else if base.region != self.region || !matches!(base.kind, Kind::Cumulative | Kind::Level)
        {
            Some(BaseProblem::Unfit {
                kind: base.kind,
                region: base.region.clone(),
            })
        } else {
            None
        }
    }

    /// [`Self::base_problem`] as an English sentence, for the catalogue and the API.
    pub fn base_error(&self, base: &Indicator) -> Option<String> {
        self.base_problem(base).map(|p| match p {
            BaseProblem::NotGrowth(kind) => {
                format!("only a growth rate has a base indicator (this one is {kind})")
            }
            BaseProblem::Itself => "an indicator cannot be its own base".to_string(),
            BaseProblem::Unfit { kind, region } => format!(
                "'{}' is a {kind} indicator of {region}: a base is a cumulative or level indicator of {}",
                base.id, self.region
            ),
        })
    }

    /// The indicator as one year's plan has it: that plan's group, lead and co-units
    /// and source. Without an entry (a year no plan covers), the indicator as stored.
    pub fn in_plan(&self, entry: Option<&super::PlanEntry>) -> Indicator {
        let mut out = self.clone();
        if let Some(e) = entry {
            out.apply_plan(e);
        }
        out
    }

    /// Takes a plan entry's group, units and source.
    pub fn apply_plan(&mut self, e: &super::PlanEntry) {
        self.group.clone_from(&e.group);
        self.lead_units.clone_from(&e.lead_units);
        self.co_units.clone_from(&e.co_units);
        self.source.clone_from(&e.source);
        self.also_in.clone_from(&e.also_in);
    }

    /// Checks the free-text fields; the typed ones are valid by construction.
    pub fn validate(&self) -> Result<(), DomainError> {
        nonblank("name", &self.name, 200)?;
        super::plan::group_key(&self.group)?;
        nonblank("unit", &self.unit, 32)?;
        if self.name_en.chars().count() > 200 {
            return Err(DomainError::invalid("name_en", "at most 200 characters"));
        }
        super::text::visible("name_en", &self.name_en)?;
        super::text::visible("source.document", &self.source.document)?;
        if self.lead_units.is_empty() {
            return Err(DomainError::invalid(
                "lead_units",
                "an indicator needs at least one lead unit (牵头单位)",
            ));
        }
        for u in self.lead_units.iter().chain(&self.co_units) {
            nonblank("lead_units", u, 64)?;
        }
        nonblank("source.section", &self.source.section, 200)?;
        nonblank("source.quote", &self.source.quote, 1000)?;
        for r in &self.also_in {
            super::text::visible("also_in.section", &r.section)?;
            super::text::visible("also_in.quote", &r.quote)?;
        }
        if let Some(s) = self.thresholds.severe {
            if finite("thresholds.severe", s)? <= 0.0 {
                return Err(DomainError::invalid(
                    "thresholds.severe",
                    "must be positive",
                ));
            }
        }
        region_name("region", &self.region)?;
        if IndicatorId::parse(&self.code).is_err() {
            return Err(DomainError::invalid(
                "code",
                format!(
                    "'{}' is not a code: a-z, 0-9 and '-', at most {MAX_ID_LEN} characters",
                    self.code
                ),
            ));
        }
        for (i, b) in self.benchmarks.iter().enumerate() {
            region_name("benchmarks", b)?;
            if b == &self.region {
                return Err(DomainError::invalid(
                    "benchmarks",
                    format!("'{b}' is the indicator's own region"),
                ));
            }
            if self.benchmarks[..i].contains(b) {
                return Err(DomainError::invalid(
                    "benchmarks",
                    format!("'{b}' is named twice"),
                ));
            }
        }
        if self.status_rule == StatusRule::PlanAndBenchmark && self.benchmarks.is_empty() {
            return Err(DomainError::invalid(
                "status_rule",
                "plan_and_benchmark needs at least one region in benchmarks",
            ));
        }
        if self.escalate_after == 0 {
            return Err(DomainError::invalid(
                "escalate_after",
                "must be at least 1 (a lagging period)",
            ));
        }
        self.quality.validate()?;
        Ok(())
    }

    /// Fills what a record written before regions existed leaves empty: the region
    /// (the catalogue's) and the code (the id).
    pub fn fill_region(&mut self, home: &str) {
        if self.region.is_empty() {
            self.region = home.to_string();
        }
        if self.code.is_empty() {
            self.code = self.id.as_str().to_string();
        }
    }
}

fn nonblank(field: &str, s: &str, max: usize) -> Result<(), DomainError> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "cannot be empty"));
    }
    if s.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    super::text::visible(field, s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_anything_that_could_escape_a_path_or_key() {
        for bad in [
            "",
            "GDP",
            "a/b",
            "..",
            "a\0b",
            "a b",
            "国内",
            &"x".repeat(65),
        ] {
            assert!(IndicatorId::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["gdp-growth", "a", "r-and-d-2", &"x".repeat(64)] {
            assert!(IndicatorId::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn profiles_must_be_monotone_and_end_at_one() {
        let linear: Vec<f64> = (1..=12).map(|m| f64::from(m) / 12.0).collect();
        assert!(Profile::new(&linear).is_ok());
        let mut falling = linear.clone();
        falling[5] = 0.1;
        assert!(Profile::new(&falling).is_err());
        assert!(Profile::new(&linear[..11]).is_err());
        let mut short = linear;
        short[11] = 0.9;
        assert!(Profile::new(&short).is_err());
    }
}
