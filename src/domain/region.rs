//! Regions (地区): the county whose plan is tracked, its peers, and the city and
//! province above them.
//!
//! A store can hold the plans of several regions. Indicators of different regions that
//! measure the same thing share a `code` (such as `gdp-growth`), so a county can be set
//! against its city's and province's figures (benchmarks) and ranked among the other
//! counties of its city. Regions are registered with their parent, which is what
//! "全市" in "居全市第3位" means.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest accepted region name, in characters.
pub const MAX_REGION_CHARS: usize = 32;

macro_rules! region_level {
    ($($variant:ident => $text:literal, $zh:literal),+ $(,)?) => {
        /// The administrative level of a region.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RegionLevel { $($variant),+ }

        impl RegionLevel {
            pub fn as_str(self) -> &'static str {
                match self { $(RegionLevel::$variant => $text),+ }
            }

            /// How a notice names the whole of a region of this level: 全省, 全市, 全县.
            pub fn whole_zh(self) -> &'static str {
                match self { $(RegionLevel::$variant => $zh),+ }
            }
        }

        impl std::str::FromStr for RegionLevel {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, DomainError> {
                match s {
                    $($text => Ok(RegionLevel::$variant),)+
                    other => Err(DomainError::invalid(
                        "level",
                        format!("'{other}' is not one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

region_level!(
    Province => "province", "全省",
    City => "city", "全市",
    County => "county", "全县",
);

/// One region, with the region it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// The canonical name, e.g. 桃江县.
    pub name: String,
    pub level: RegionLevel,
    /// e.g. 益阳市 for 桃江县; `None` at the top.
    pub parent: Option<String>,
}

impl Region {
    pub fn validate(&self) -> Result<(), DomainError> {
        region_name("name", &self.name)?;
        if let Some(p) = &self.parent {
            region_name("parent", p)?;
            if p == &self.name {
                return Err(DomainError::invalid(
                    "parent",
                    format!("'{p}' cannot be its own parent"),
                ));
            }
        }
        Ok(())
    }

    /// How a notice names this region when comparing against it: 全市 for a city,
    /// 全省 for a province, the name itself for a county.
    pub fn label_zh(&self) -> String {
        match self.level {
            RegionLevel::County => self.name.clone(),
            level => level.whole_zh().to_string(),
        }
    }
}

/// Checks a region name: non-blank, short, no control characters or slashes, no bidi
/// controls or zero-width characters ([`super::text`]).
pub fn region_name(field: &str, s: &str) -> Result<(), DomainError> {
    if s.trim().is_empty() || s.trim() != s {
        return Err(DomainError::invalid(
            field,
            "a region name cannot be empty or start or end with spaces",
        ));
    }
    if s.chars().count() > MAX_REGION_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("a region name is at most {MAX_REGION_CHARS} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() || c == '/' || c == '\0') {
        return Err(DomainError::invalid(
            field,
            "a region name cannot hold control characters or '/'",
        ));
    }
    super::text::visible(field, s)?;
    Ok(())
}
