//! The seed catalogue: every quantitative target of a plan document, in a TOML file a
//! person can edit (`seeds/taojiang-2023.toml`, described in `docs/catalogue.md`).
//!
//! The Taojiang 2023 plan is compiled into the binary and loaded into an empty store on
//! first start, so `zhibiao serve` works with nothing else on disk. `zhibiao import FILE`
//! loads another catalogue in the same format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::domain::{
    Baseline, DomainError, Group, Indicator, IndicatorId, Plan, PlanEntry, PlanId, Profile,
    QualityRules, Region, RegionLevel, Source, SourceRef, StatusRule, Target, Thresholds,
    UnitEntry, UnitRegistry, DEFAULT_ESCALATE_AFTER,
};

/// The validated catalogue this module reads; defined among the domain types so that
/// the store can load one without depending on this loader.
pub use crate::domain::Catalogue;

/// The built-in catalogue's text.
pub const BUILTIN_TOML: &str = include_str!("../../seeds/taojiang-2023.toml");

/// Why a catalogue could not be loaded. Messages name the entry and field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("catalogue is not valid TOML for zhibiao: {0}")]
    Syntax(String),
    #[error("indicator #{index} ('{id}'): {source}")]
    Entry {
        index: usize,
        id: String,
        source: DomainError,
    },
    #[error("indicator id '{0}' appears more than once")]
    Duplicate(String),
    #[error("units: {0}")]
    Units(DomainError),
    #[error("regions: {0}")]
    Regions(DomainError),
    #[error("plan: {0}")]
    Plan(DomainError),
}

pub use crate::domain::SIX_BATTLES;

pub mod sheet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    catalogue: Header,
    #[serde(default)]
    group: Vec<Group>,
    #[serde(default)]
    unit: Vec<UnitEntry>,
    #[serde(default)]
    region: Vec<RawRegion>,
    #[serde(default)]
    indicator: Vec<RawIndicator>,
}

/// A region as written in a catalogue or an API body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

impl RawRegion {
    pub fn build(self) -> Result<Region, DomainError> {
        let r = Region {
            name: self.name,
            level: self.level.parse::<RegionLevel>()?,
            parent: self.parent,
        };
        r.validate()?;
        Ok(r)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    region: String,
    /// How bulletins cite the plan; by default the title and 文号.
    document: Option<String>,
    year: u16,
    /// The plan's id; by default `plan-<year>`.
    plan: Option<String>,
    /// 方案名称; by default `document`.
    title: Option<String>,
    #[serde(default)]
    doc_number: String,
    #[serde(default)]
    issuer: String,
}

/// A `source` as written in a catalogue or an API body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    section: String,
    quote: String,
    document: Option<String>,
}

/// An indicator as written in a catalogue or an API body, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicator {
    id: String,
    name: String,
    #[serde(default)]
    name_en: String,
    /// The group's key in the plan (`battle` in catalogues written before plans).
    #[serde(alias = "battle")]
    group: String,
    kind: String,
    unit: String,
    direction: String,
    frequency: String,
    lead_units: Vec<String>,
    #[serde(default)]
    co_units: Vec<String>,
    source: RawSource,
    #[serde(default)]
    also_in: Vec<SourceRef>,
    profile: Option<Vec<f64>>,
    #[serde(default)]
    thresholds: Thresholds,
    target: Option<RawTarget>,
    region: Option<String>,
    code: Option<String>,
    #[serde(default)]
    benchmarks: Vec<String>,
    status_rule: Option<String>,
    escalate_after: Option<u8>,
    #[serde(default)]
    quality: QualityRules,
    /// When each period's figure falls due, if not the default for its frequency.
    #[serde(default)]
    pub due: Option<crate::engine::calendar::DueRule>,
    base_indicator: Option<String>,
    base_shares: Option<Vec<f64>>,
}

impl RawIndicator {
    /// The due rule, checked; taken out because the store keeps it beside the
    /// indicator rather than in it.
    pub fn take_due(&mut self) -> Result<Option<crate::engine::calendar::DueRule>, DomainError> {
        self.due
            .take()
            .map(|d| d.validate().map_err(|m| DomainError::invalid("due", m)))
            .transpose()
    }
}

/// A target as written in a catalogue or an API body, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    year: Option<u16>,
    value: Option<f64>,
    comparator: String,
    tolerance: Option<f64>,
    upper: Option<f64>,
    baseline: Option<Baseline>,
}

impl Catalogue {
    /// The compiled-in Taojiang 2023 catalogue.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(BUILTIN_TOML)
    }

    /// Reads and validates a catalogue file.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalogue::parse(&text)
    }

    /// Parses and validates catalogue text.
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        let units = UnitRegistry::new(raw.unit).map_err(CatalogueError::Units)?;
        let regions = regions(raw.region, &raw.catalogue.region)?;
        let plan = plan_of(&raw.catalogue, raw.group, &raw.indicator)?;
        let document = plan.document();
        let mut seen = BTreeSet::new();
        let mut codes = BTreeSet::new();
        let mut entries = Vec::with_capacity(raw.indicator.len());
        let mut due_rules = BTreeMap::new();
        for (index, mut r) in raw.indicator.into_iter().enumerate() {
            let id = r.id.clone();
            let wrap = |source: DomainError| CatalogueError::Entry {
                index: index + 1,
                id: id.clone(),
                source,
            };
            let due = r.take_due().map_err(&wrap)?;
            let mut entry = build(r, &raw.catalogue, &document, &units).map_err(&wrap)?;
            if plan.group(&entry.0.group).is_none() {
                return Err(wrap(DomainError::invalid(
                    "group",
                    format!(
                        "'{}' is not one of the plan's groups: {}",
                        entry.0.group,
                        plan.groups
                            .iter()
                            .map(|g| g.key.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )));
            }
            if let Some(t) = entry.1.as_mut() {
                if entry.0.region == plan.region && t.year == plan.year {
                    t.plan = Some(plan_entry(&plan.id, &entry.0, index + 1));
                }
            }
            if let Some(d) = due {
                due_rules.insert(entry.0.id.clone(), d);
            }
            for name in std::iter::once(&entry.0.region).chain(&entry.0.benchmarks) {
                if !regions.iter().any(|r| &r.name == name) {
                    return Err(wrap(DomainError::invalid(
                        "region",
                        format!("'{name}' is not in the [[region]] list"),
                    )));
                }
            }
            if !seen.insert(entry.0.id.clone()) {
                return Err(CatalogueError::Duplicate(id));
            }
            if !codes.insert((entry.0.region.clone(), entry.0.code.clone())) {
                return Err(wrap(DomainError::invalid(
                    "code",
                    format!(
                        "another indicator of {} already has code '{}': a code names one indicator per region",
                        entry.0.region, entry.0.code
                    ),
                )));
            }
            entries.push(entry);
        }
        // A relative target may point at another indicator; that one must exist.
        for (index, (ind, t)) in entries.iter().enumerate() {
            if let Some(reference) = t
                .as_ref()
                .and_then(|t| t.baseline.as_ref())
                .and_then(|b| b.reference.strip_prefix("indicator:"))
            {
                if !entries.iter().any(|(o, _)| o.id.as_str() == reference) {
                    return Err(CatalogueError::Entry {
                        index: index + 1,
                        id: ind.id.to_string(),
                        source: DomainError::invalid(
                            "target.baseline.reference",
                            format!("no indicator '{reference}' in this catalogue"),
                        ),
                    });
                }
            }
        }
        Ok(Catalogue {
            region: raw.catalogue.region,
            regions,
            document,
            year: raw.catalogue.year,
            plan,
            units,
            entries,
            due_rules,
            sets_due_rules: true,
        })
    }
}

fn canonical_units(
    units: &UnitRegistry,
    field: &str,
    names: &[String],
    home: bool,
) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        let c = match units.canonical(n) {
            Some(c) => c,
            None if !home && !n.trim().is_empty() => n.as_str(),
            None => {
                return Err(DomainError::invalid(
                    field,
                    format!("'{n}' is not in the [[unit]] registry"),
                ))
            }
        };
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    Ok(out)
}

fn build(
    r: RawIndicator,
    header: &Header,
    document: &str,
    units: &UnitRegistry,
) -> Result<(Indicator, Option<Target>), DomainError> {
    let defaults = Defaults {
        document,
        year: header.year,
        region: &header.region,
    };
    build_indicator(r, &defaults, units)
}

/// What the plan says of an indicator at `position`: its group, units and source as
/// the catalogue entry gives them.
pub fn plan_entry(plan: &PlanId, ind: &Indicator, position: usize) -> PlanEntry {
    PlanEntry {
        plan: plan.clone(),
        group: ind.group.clone(),
        position: u32::try_from(position).unwrap_or(u32::MAX),
        lead_units: ind.lead_units.clone(),
        co_units: ind.co_units.clone(),
        source: ind.source.clone(),
        also_in: ind.also_in.clone(),
    }
}

/// The plan a catalogue file describes: its header, and its `[[group]]`s in order, or,
/// when it declares none, the six battles if its entries use their keys, else one
/// group per key in order of first use.
fn plan_of(
    header: &Header,
    groups: Vec<Group>,
    entries: &[RawIndicator],
) -> Result<Plan, CatalogueError> {
    let groups = if !groups.is_empty() {
        groups
    } else if entries
        .iter()
        .all(|e| SIX_BATTLES.iter().any(|(k, _)| *k == e.group))
    {
        crate::domain::six_battles()
    } else {
        let (index, bad) = entries
            .iter()
            .enumerate()
            .find(|(_, e)| !SIX_BATTLES.iter().any(|(b, _)| *b == e.group))
            .expect("some entry is outside the six battles");
        return Err(CatalogueError::Entry {
            index: index + 1,
            id: bad.id.clone(),
            source: DomainError::invalid(
                "group",
                format!(
                    "'{}' is not a declared group: declare the plan's groups in order with \
                     [[group]] key = \"…\" name = \"…\" (without them, only the six battles' \
                     keys {} are known)",
                    bad.group,
                    SIX_BATTLES
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        });
    };
    let id = header
        .plan
        .clone()
        .unwrap_or_else(|| format!("plan-{}", header.year));
    let title = header
        .title
        .clone()
        .or_else(|| header.document.clone())
        .unwrap_or_default();
    let mut plan = Plan {
        id: PlanId::parse(&id).map_err(CatalogueError::Plan)?,
        region: header.region.clone(),
        year: header.year,
        title,
        doc_number: header.doc_number.clone(),
        issuer: header.issuer.clone(),
        groups,
    };
    // A catalogue that gives only `document` cites it as written.
    if header.title.is_none() {
        plan.doc_number.clear();
    }
    plan.validate().map_err(CatalogueError::Plan)?;
    Ok(plan)
}

/// The declared regions, checked: unique names, known parents, no cycles, and the
/// catalogue's own region among them (added as a county when none are declared).
fn regions(raw: Vec<RawRegion>, home: &str) -> Result<Vec<Region>, CatalogueError> {
    let mut out: Vec<Region> = Vec::with_capacity(raw.len() + 1);
    for r in raw {
        let r = r.build().map_err(CatalogueError::Regions)?;
        if out.iter().any(|o| o.name == r.name) {
            return Err(CatalogueError::Regions(DomainError::invalid(
                "name",
                format!("region '{}' is declared twice", r.name),
            )));
        }
        out.push(r);
    }
    if !out.iter().any(|r| r.name == home) {
        out.push(Region {
            name: home.to_string(),
            level: RegionLevel::County,
            parent: None,
        });
    }
    for r in &out {
        check_parents(r, |name| out.iter().find(|o| o.name == name).cloned())
            .map_err(CatalogueError::Regions)?;
    }
    Ok(out)
}

/// Checks that a region's chain of parents is known and ends: `lookup` finds a region
/// by name.
pub fn check_parents(
    region: &Region,
    lookup: impl Fn(&str) -> Option<Region>,
) -> Result<(), DomainError> {
    let mut seen = vec![region.name.clone()];
    let mut next = region.parent.clone();
    while let Some(p) = next {
        if seen.contains(&p) {
            return Err(DomainError::invalid(
                "parent",
                format!("region '{}' is its own ancestor", region.name),
            ));
        }
        let Some(parent) = lookup(&p) else {
            return Err(DomainError::invalid(
                "parent",
                format!(
                    "region '{}' names the parent '{p}', which is not a known region",
                    region.name
                ),
            ));
        };
        seen.push(p);
        next = parent.parent;
    }
    Ok(())
}

/// What an indicator that does not say takes from its catalogue or store.
#[derive(Debug)]
pub struct Defaults<'a> {
    /// The plan document of `source`.
    pub document: &'a str,
    /// The year of a target that names none.
    pub year: u16,
    /// The home region: the catalogue's.
    pub region: &'a str,
}

/// Validates a raw target for `year` (when the raw one names none).
pub fn build_target(t: RawTarget, year: u16) -> Result<Target, DomainError> {
    let t = Target {
        year: t.year.unwrap_or(year),
        value: t.value,
        comparator: t.comparator.parse()?,
        tolerance: t.tolerance,
        upper: t.upper,
        baseline: t.baseline,
        plan: None,
        parts: Vec::new(),
        duty: None,
    };
    t.validate()?;
    Ok(t)
}

/// Validates a raw indicator: ids, enums, units (resolved to canonical names), source
/// and optional target. Used by the catalogue loader and by `PUT /v1/indicators/{id}`.
///
/// The unit registry is the home region's: an indicator of another region (a peer
/// county, the city) may name units the registry does not hold, and keeps them as
/// written.
pub fn build_indicator(
    r: RawIndicator,
    defaults: &Defaults<'_>,
    units: &UnitRegistry,
) -> Result<(Indicator, Option<Target>), DomainError> {
    let region = r.region.unwrap_or_else(|| defaults.region.to_string());
    let home = region == defaults.region;
    let lead_units = canonical_units(units, "lead_units", &r.lead_units, home)?;
    let co_units: Vec<String> = canonical_units(units, "co_units", &r.co_units, home)?
        .into_iter()
        .filter(|u| !lead_units.contains(u))
        .collect();
    let id = IndicatorId::parse(&r.id)?;
    let ind = Indicator {
        code: r.code.unwrap_or_else(|| id.as_str().to_string()),
        id,
        region,
        benchmarks: r.benchmarks,
        status_rule: r
            .status_rule
            .map(|s| s.parse::<StatusRule>())
            .transpose()?
            .unwrap_or_default(),
        escalate_after: r.escalate_after.unwrap_or(DEFAULT_ESCALATE_AFTER),
        quality: r.quality,
        name: r.name,
        name_en: r.name_en,
        group: r.group,
        kind: r.kind.parse()?,
        unit: r.unit,
        direction: r.direction.parse()?,
        frequency: r.frequency.parse()?,
        lead_units,
        co_units,
        source: Source {
            document: r
                .source
                .document
                .unwrap_or_else(|| defaults.document.to_string()),
            section: r.source.section,
            quote: r.source.quote,
        },
        also_in: r.also_in,
        profile: r.profile.map(|p| Profile::new(&p)).transpose()?,
        thresholds: r.thresholds,
        base_indicator: r
            .base_indicator
            .map(|b| IndicatorId::parse(&b).map_err(|e| e.within("base_indicator")))
            .transpose()?,
        base_shares: r
            .base_shares
            .map(|p| Profile::new(&p).map_err(|e| e.within("base_shares")))
            .transpose()?,
    };
    ind.validate()?;
    let target = r
        .target
        .map(|t| build_target(t, defaults.year).map_err(|e| e.within("target")))
        .transpose()?;
    Ok((ind, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
[catalogue]
region = "测试县"
document = "测试文件"
year = 2023

[[unit]]
name = "县交通运输局"
aliases = ["县交通局"]

[[indicator]]
id = "roads"
name = "农村公路"
battle = "growth"
kind = "cumulative"
unit = "公里"
direction = "up"
frequency = "monthly"
lead_units = ["县交通局"]
source = { section = "一", quote = "77.67公里" }
[indicator.target]
value = 77.67
comparator = "at_least"
"#;

    #[test]
    fn a_minimal_catalogue_loads_with_aliases_resolved() {
        let c = Catalogue::parse(MINI).unwrap();
        let (ind, t) = c.find("roads").unwrap();
        assert_eq!(ind.lead_units, vec!["县交通运输局"]);
        assert_eq!(t.unwrap().year, 2023);
        assert_eq!(ind.source.document, "测试文件");
    }

    #[test]
    fn errors_name_the_entry_and_the_field() {
        let bad = MINI.replace("\"cumulative\"", "\"sum\"");
        let e = Catalogue::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("roads") && e.contains("kind"), "{e}");
        let bad = MINI.replace(
            "lead_units = [\"县交通局\"]",
            "lead_units = [\"县不存在局\"]",
        );
        let e = Catalogue::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("lead_units") && e.contains("县不存在局"), "{e}");
        let bad = MINI.replace(
            "year = 2023\n\n[[unit]]",
            "year = 2023\nextra = 1\n\n[[unit]]",
        );
        assert!(Catalogue::parse(&bad).is_err());
    }

    #[test]
    fn an_entry_can_set_its_due_rule_and_a_bad_one_is_named() {
        let with = |due: &str| {
            MINI.replace(
                "lead_units = [\"县交通局\"]",
                &format!("lead_units = [\"县交通局\"]\ndue = {due}"),
            )
        };
        let c = Catalogue::parse(&with("{ day_of_next_month = 5 }")).unwrap();
        let id = IndicatorId::parse("roads").unwrap();
        assert_eq!(
            c.due_rules.get(&id),
            Some(&crate::engine::calendar::DueRule::DayOfNextMonth(5))
        );
        assert!(Catalogue::parse(MINI).unwrap().due_rules.is_empty());
        let e = Catalogue::parse(&with("{ day_of_next_month = 30 }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("roads") && e.contains("due") && e.contains("28"),
            "{e}"
        );
    }
}
