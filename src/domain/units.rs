//! The registry of responsible units (牵头单位 and 分工负责单位).
//!
//! The plan itself spells one body several ways (县交通局 / 县交通运输局,
//! 市生环局桃江分局 / 市生态环境局桃江分局). Filters, tokens and summaries must agree on
//! one name, so every spelling resolves to a canonical name here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// One unit and the other spellings that mean it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitEntry {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Canonical unit names with their aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitRegistry {
    entries: Vec<UnitEntry>,
    lookup: BTreeMap<String, usize>,
}

impl UnitRegistry {
    /// Builds the registry, refusing a spelling that would mean two units.
    pub fn new(entries: Vec<UnitEntry>) -> Result<Self, DomainError> {
        let mut lookup = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            for spelling in std::iter::once(&e.name).chain(&e.aliases) {
                let s = spelling.trim();
                if s.is_empty() {
                    return Err(DomainError::invalid("unit", "a unit name cannot be empty"));
                }
                super::text::visible("unit", s)?;
                if let Some(j) = lookup.insert(s.to_string(), i) {
                    if j != i {
                        return Err(DomainError::invalid(
                            "unit",
                            format!("'{s}' names both '{}' and '{}'", entries[j].name, e.name),
                        ));
                    }
                }
            }
        }
        Ok(UnitRegistry { entries, lookup })
    }

    /// The canonical name for any spelling, or `None` when the unit is unknown.
    pub fn canonical(&self, spelling: &str) -> Option<&str> {
        self.lookup
            .get(spelling.trim())
            .map(|&i| self.entries[i].name.as_str())
    }

    /// The canonical name, or the spelling itself when the registry does not know it:
    /// for filters, where an unknown unit simply matches nothing.
    pub fn resolve<'a>(&'a self, spelling: &'a str) -> &'a str {
        self.canonical(spelling).unwrap_or(spelling.trim())
    }

    pub fn entries(&self) -> &[UnitEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_one_canonical_name() {
        let r = UnitRegistry::new(vec![UnitEntry {
            name: "县交通运输局".into(),
            aliases: vec!["县交通局".into()],
        }])
        .unwrap();
        assert_eq!(r.canonical("县交通局"), Some("县交通运输局"));
        assert_eq!(r.canonical(" 县交通运输局 "), Some("县交通运输局"));
        assert_eq!(r.canonical("县财政局"), None);
        assert_eq!(r.resolve("县财政局"), "县财政局");
    }

    #[test]
    fn a_spelling_cannot_mean_two_units() {
        let e = UnitRegistry::new(vec![
            UnitEntry {
                name: "A".into(),
                aliases: vec!["X".into()],
            },
            UnitEntry {
                name: "B".into(),
                aliases: vec!["X".into()],
            },
        ]);
        assert!(e.is_err());
    }
}
