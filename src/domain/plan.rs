//! Plans (实施方案, 责任分解方案): the document that sets a region's targets for one
//! year, with its own sections.
//!
//! A county's plan changes every year: new targets, new lead units, sometimes new
//! sections (the 六仗 of Taojiang's 2023 plan; 一、经济发展 … 五、民生保障 of another
//! county). The indicator (GDP growth, 税收收入) lives on from year to year. So an
//! [`Indicator`](super::Indicator) holds only what lasts, and everything a plan says
//! about it for its year — which section, in what place, who leads, which sentence of
//! the document — is a [`PlanEntry`] carried by that year's [`Target`](super::Target).
//! A new plan adds targets of its own year and never touches another year's entries,
//! so last year's figures stay exactly as reported.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::indicator::{Source, SourceRef};
use super::region::region_name;
use super::{DomainError, IndicatorId};

/// The six battles (六仗) of Taojiang's 2023 plan, in the document's order: the groups
/// of a catalogue that declares none and uses these keys, as catalogues did before plans
/// were data, and of stores written before then.
pub const SIX_BATTLES: [(&str, &str); 6] = [
    ("growth", "经济增长主动仗"),
    ("innovation", "科技创新攻坚仗"),
    ("environment", "优化发展环境持久仗"),
    ("risk", "防范化解风险阻击仗"),
    ("safety", "安全生产巩固提升仗"),
    ("livelihood", "重点民生保障仗"),
];

/// The groups of [`SIX_BATTLES`].
pub fn six_battles() -> Vec<Group> {
    SIX_BATTLES
        .iter()
        .map(|(k, n)| Group {
            key: (*k).into(),
            name: (*n).into(),
        })
        .collect()
}

/// A plan's stable id, such as `taojiang-2023`: the same alphabet as indicator ids,
/// because it appears in URLs and keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PlanId(String);

impl PlanId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        // `/v1/plans/import` is a route, so `import` cannot name a plan.
        if s == "import" {
            return Err(DomainError::invalid(
                "plan",
                "'import' is reserved (POST /v1/plans/import); choose another plan id",
            ));
        }
        IndicatorId::parse(s)
            .map(|id| PlanId(id.as_str().to_string()))
            .map_err(|e| {
                DomainError::invalid("plan", e.message().replace("an indicator id", "a plan id"))
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PlanId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PlanId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for PlanId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanId::parse(s)
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One section of a plan (板块): a machine key (`growth`, `g1`) for URLs and filters,
/// and the name the document gives it (经济增长主动仗, 一、经济发展).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub name: String,
}

/// One year's plan of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub region: String,
    pub year: u16,
    /// 方案名称 / 文件名称: 桃江县打好发展“六仗”实施方案
    pub title: String,
    /// 文号: 桃政办发〔2023〕4号 (may be empty)
    #[serde(default)]
    pub doc_number: String,
    /// 发文单位: 桃江县人民政府办公室 (may be empty)
    #[serde(default)]
    pub issuer: String,
    /// The sections, in the document's order.
    pub groups: Vec<Group>,
}

/// Longest group key, title and the like.
const MAX_TEXT: usize = 200;

impl Plan {
    /// How bulletins cite the plan: the title, with its 文号 in brackets when it has one.
    pub fn document(&self) -> String {
        if self.doc_number.trim().is_empty() {
            self.title.clone()
        } else {
            format!("{}（{}）", self.title, self.doc_number)
        }
    }

    /// The group with this key.
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    /// Where a group stands in the document's order (unknown keys last).
    pub fn group_rank(&self, key: &str) -> usize {
        self.groups
            .iter()
            .position(|g| g.key == key)
            .unwrap_or(self.groups.len())
    }

    /// Finds a group by key or by name, as `?group=` may give either.
    pub fn find_group(&self, key_or_name: &str) -> Option<&Group> {
        let q = key_or_name.trim();
        self.groups
            .iter()
            .find(|g| g.key == q)
            .or_else(|| self.groups.iter().find(|g| g.name == q))
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        region_name("region", &self.region)?;
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
        text("title", &self.title, true)?;
        text("doc_number", &self.doc_number, false)?;
        text("issuer", &self.issuer, false)?;
        if self.groups.is_empty() {
            return Err(DomainError::invalid(
                "groups",
                "a plan needs at least one group (板块)",
            ));
        }
        for (i, g) in self.groups.iter().enumerate() {
            group_key(&g.key)?;
            text("groups.name", &g.name, true)?;
            if self.groups[..i].iter().any(|o| o.key == g.key) {
                return Err(DomainError::invalid(
                    "groups",
                    format!("the group key '{}' appears twice", g.key),
                ));
            }
            if self.groups[..i].iter().any(|o| o.name == g.name) {
                return Err(DomainError::invalid(
                    "groups",
                    format!("the group '{}' appears twice", g.name),
                ));
            }
        }
        Ok(())
    }
}

/// Checks a group key: the indicator-id alphabet.
pub fn group_key(key: &str) -> Result<(), DomainError> {
    IndicatorId::parse(key).map(|_| ()).map_err(|e| {
        DomainError::invalid(
            "group",
            e.message().replace("an indicator id", "a group key"),
        )
    })
}

fn text(field: &str, s: &str, required: bool) -> Result<(), DomainError> {
    if required && s.trim().is_empty() {
        return Err(DomainError::invalid(field, "cannot be empty"));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    super::text::visible(field, s)
}

/// What a plan says about one indicator for its year: the section and place, the
/// units that lead it and share it, the sentence that sets the target. Carried by the
/// year's [`Target`](super::Target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub plan: PlanId,
    /// The group's key in the plan.
    pub group: String,
    /// 序号: the place in the plan, from 1.
    pub position: u32,
    /// 牵头单位 for this year, canonical names.
    pub lead_units: Vec<String>,
    /// 责任单位 / 分工负责 units for this year.
    #[serde(default)]
    pub co_units: Vec<String>,
    pub source: Source,
    #[serde(default)]
    pub also_in: Vec<SourceRef>,
}

impl PlanEntry {
    pub fn validate(&self) -> Result<(), DomainError> {
        group_key(&self.group)?;
        if self.lead_units.is_empty() {
            return Err(DomainError::invalid(
                "lead_units",
                "an indicator needs at least one lead unit (牵头单位)",
            ));
        }
        for u in self.lead_units.iter().chain(&self.co_units) {
            text("lead_units", u, true)?;
        }
        text("source.section", &self.source.section, false)?;
        super::text::visible("source.quote", &self.source.quote)?;
        super::text::visible("source.document", &self.source.document)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            id: PlanId::parse("linxiang-2024").unwrap(),
            region: "临湘市".into(),
            year: 2024,
            title: "临湘市2024年主要指标责任分解方案".into(),
            doc_number: "临政办发〔2024〕3号".into(),
            issuer: "临湘市人民政府办公室".into(),
            groups: vec![
                Group {
                    key: "g1".into(),
                    name: "一、经济发展".into(),
                },
                Group {
                    key: "g2".into(),
                    name: "二、科技创新".into(),
                },
            ],
        }
    }

    #[test]
    fn a_plan_cites_its_document_and_finds_groups_by_key_or_name() {
        let p = plan();
        p.validate().unwrap();
        assert_eq!(
            p.document(),
            "临湘市2024年主要指标责任分解方案（临政办发〔2024〕3号）"
        );
        assert_eq!(p.find_group("二、科技创新").unwrap().key, "g2");
        assert_eq!(p.find_group("g1").unwrap().name, "一、经济发展");
        assert_eq!(p.group_rank("g2"), 1);
        assert_eq!(p.group_rank("zzz"), 2);
    }

    #[test]
    fn groups_must_be_named_once_and_keys_plain() {
        let mut p = plan();
        p.groups[1].name = "一、经济发展".into();
        assert!(p.validate().is_err());
        let mut p = plan();
        p.groups[1].key = "经济".into();
        assert!(p.validate().is_err());
        let mut p = plan();
        p.groups.clear();
        assert!(p.validate().is_err());
        assert!(PlanId::parse("Taojiang 2023").is_err());
        assert!(PlanId::parse("import").is_err());
    }
}
