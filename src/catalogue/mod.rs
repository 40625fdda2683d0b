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
    Baseline, DomainError, Duty, Frequency, Group, Indicator, IndicatorId, Plan, PlanEntry, PlanId,
    Profile, QualityRules, Region, RegionLevel, Source, SourceRef, StatusRule, Target, TargetPart,
    Thresholds, UnitEntry, UnitRegistry, DEFAULT_ESCALATE_AFTER,
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
    /// The named parts of a list target ("66个，其中产业类38个、政府类28个").
    #[serde(default)]
    parts: Vec<RawPart>,
    /// A duty in every period of a cadence ("每季度1—2次").
    duty: Option<RawDuty>,
}

/// One part of a list target, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPart {
    name: String,
    value: f64,
}

/// A per-period duty, as written: `{ per = "quarterly", min = 1.0, max = 2.0 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDuty {
    per: String,
    min: f64,
    max: Option<f64>,
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
        // A growth rate's base is a level or cumulative amount of the same region that
        // this catalogue tracks.
        for (index, (ind, _)) in entries.iter().enumerate() {
            let Some(base) = &ind.base_indicator else {
                continue;
            };
            let wrap = |message: String| CatalogueError::Entry {
                index: index + 1,
                id: ind.id.to_string(),
                source: DomainError::invalid("base_indicator", message),
            };
            let Some((b, _)) = entries.iter().find(|(o, _)| &o.id == base) else {
                return Err(wrap(format!("no indicator '{base}' in this catalogue")));
            };
            if let Some(e) = ind.base_error(b) {
                return Err(wrap(e));
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
        parts: build_parts(t.parts, t.value)?,
        duty: t.duty.map(build_duty).transpose()?,
    };
    t.validate()?;
    Ok(t)
}

/// The parts of a list target: named, positive, each name once, and together no more
/// than the whole (the parts of "其中" may leave some of it unnamed).
fn build_parts(raw: Vec<RawPart>, whole: Option<f64>) -> Result<Vec<TargetPart>, DomainError> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let Some(whole) = whole else {
        return Err(DomainError::invalid(
            "parts",
            "a target with parts needs a value: the whole the parts belong to",
        ));
    };
    let mut out: Vec<TargetPart> = Vec::with_capacity(raw.len());
    for p in raw {
        if p.name.trim().is_empty() || p.name.chars().count() > 200 {
            return Err(DomainError::invalid(
                "parts.name",
                "a part needs a name of 1 to 200 characters",
            ));
        }
        crate::domain::text::visible("parts.name", &p.name)?;
        if out.iter().any(|o| o.name == p.name) {
            return Err(DomainError::invalid(
                "parts.name",
                format!("'{}' is named twice", p.name),
            ));
        }
        if crate::domain::finite("parts.value", p.value)? <= 0.0 {
            return Err(DomainError::invalid(
                "parts.value",
                format!("part '{}' must be positive (got {})", p.name, p.value),
            ));
        }
        out.push(TargetPart {
            name: p.name,
            value: p.value,
        });
    }
    let sum: f64 = out.iter().map(|p| p.value).sum();
    if sum > whole + 1e-9 {
        return Err(DomainError::invalid(
            "parts",
            format!("the parts add up to {sum}, more than the target's value {whole}"),
        ));
    }
    Ok(out)
}

/// A per-period duty: a known cadence, a positive minimum, and a maximum not below it.
fn build_duty(raw: RawDuty) -> Result<Duty, DomainError> {
    let per: Frequency = raw
        .per
        .parse()
        .map_err(|e: DomainError| DomainError::invalid("duty.per", e.message()))?;
    if crate::domain::finite("duty.min", raw.min)? <= 0.0 {
        return Err(DomainError::invalid(
            "duty.min",
            format!("a duty's minimum must be positive (got {})", raw.min),
        ));
    }
    if let Some(max) = raw.max {
        if crate::domain::finite("duty.max", max)? < raw.min {
            return Err(DomainError::invalid(
                "duty.max",
                format!("the maximum {max} is below the minimum {}", raw.min),
            ));
        }
    }
    Ok(Duty {
        per,
        min: raw.min,
        max: raw.max,
    })
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

    /// MINI with `extra` appended to its target.
    fn with_target(extra: &str) -> String {
        format!("{MINI}{extra}\n")
    }

    #[test]
    fn a_target_keeps_its_parts_and_its_duty() {
        let c = Catalogue::parse(&with_target(
            "parts = [{ name = \"产业类\", value = 50.0 }, { name = \"政府类\", value = 27.67 }]\n\
             duty = { per = \"quarterly\", min = 1.0, max = 2.0 }",
        ))
        .unwrap();
        let t = c.find("roads").unwrap().1.unwrap();
        let parts: Vec<(&str, f64)> = t.parts.iter().map(|p| (p.name.as_str(), p.value)).collect();
        assert_eq!(parts, vec![("产业类", 50.0), ("政府类", 27.67)]);
        assert_eq!(
            t.duty,
            Some(Duty {
                per: Frequency::Quarterly,
                min: 1.0,
                max: Some(2.0)
            })
        );
        let plain = Catalogue::parse(MINI).unwrap();
        let t = plain.find("roads").unwrap().1.unwrap();
        assert!(t.parts.is_empty() && t.duty.is_none());
    }

    #[test]
    fn bad_parts_and_duties_are_named() {
        let err = |extra: &str| {
            Catalogue::parse(&with_target(extra))
                .unwrap_err()
                .to_string()
        };
        // The parts of 77.67 cannot add up to more than 77.67.
        let e = err("parts = [{ name = \"甲\", value = 50.0 }, { name = \"乙\", value = 30.0 }]");
        assert!(
            e.contains("roads") && e.contains("target.parts") && e.contains("80"),
            "{e}"
        );
        let e = err("parts = [{ name = \"甲\", value = 5.0 }, { name = \"甲\", value = 6.0 }]");
        assert!(
            e.contains("target.parts.name") && e.contains("twice"),
            "{e}"
        );
        let e = err("parts = [{ name = \" \", value = 5.0 }]");
        assert!(e.contains("target.parts.name"), "{e}");
        let e = err("parts = [{ name = \"甲\", value = 0.0 }]");
        assert!(e.contains("target.parts.value"), "{e}");
        // A misspelt key inside a part or a duty is refused, not ignored.
        assert!(err("parts = [{ name = \"甲\", count = 5.0 }]").contains("count"));
        assert!(err("duty = { per = \"monthly\", minimum = 1.0 }").contains("minimum"));
        let e = err("duty = { per = \"weekly\", min = 1.0 }");
        assert!(e.contains("target.duty.per") && e.contains("weekly"), "{e}");
        let e = err("duty = { per = \"monthly\", min = 0.0 }");
        assert!(e.contains("target.duty.min"), "{e}");
        let e = err("duty = { per = \"monthly\", min = 2.0, max = 1.0 }");
        assert!(e.contains("target.duty.max"), "{e}");
    }

    /// The Taojiang catalogue reads its targets as a county statistics bureau does
    /// (docs/catalogue.md, "Corrections of 2026-12").
    #[test]
    fn the_builtin_catalogue_gives_each_target_the_kind_a_bureau_reads() {
        use crate::domain::{Comparator, Direction, Kind};
        let c = Catalogue::builtin().unwrap();
        assert_eq!(c.entries.len(), 203);
        let get = |id: &str| {
            c.find(id)
                .unwrap_or_else(|| panic!("{id} is not in the catalogue"))
        };
        let kind = |id: &str| get(id).0.kind;
        let target = |id: &str| get(id).1.unwrap_or_else(|| panic!("{id} has no target"));
        // Growth rates, the CPI rise among them; shares at a point stay rates.
        for id in [
            "gdp-growth",
            "cpi",
            "per-capita-disposable-income-growth",
            "rd-expenditure-growth",
        ] {
            assert_eq!(kind(id), Kind::Growth, "{id}");
        }
        assert_eq!(get("cpi").0.direction, Direction::Down);
        for id in [
            "rd-expenditure-share-of-gdp",
            "park-tax-per-mu",
            "urban-surveyed-unemployment-rate",
        ] {
            assert_eq!(kind(id), Kind::Rate, "{id}");
        }
        // "增长" with no number: growth above zero.
        let t = target("fiscal-revenue-steady-growth");
        assert_eq!(
            (t.value, t.comparator, t.baseline.is_none()),
            (Some(0.0), Comparator::MoreThan, true)
        );
        // The 66 first-batch projects are one list whose parts are not targets of their own.
        assert_eq!(kind("county-key-projects-first-batch"), Kind::Milestone);
        let t = target("county-key-projects-first-batch");
        let parts: Vec<(&str, f64)> = t.parts.iter().map(|p| (p.name.as_str(), p.value)).collect();
        assert_eq!(parts, [("实施产业类项目", 38.0), ("政府类投资项目", 28.0)]);
        assert_eq!(t.value, Some(66.0));
        for gone in [
            "county-key-projects-first-batch-industrial",
            "county-key-projects-first-batch-government",
        ] {
            assert!(c.find(gone).is_none(), "{gone}");
        }
        // 动态清零: what is overdue and still open, monthly, at most 0.
        for id in [
            "safety-hazards-overdue-unrectified",
            "non-coal-mine-major-hazards-overdue-unrectified",
            "sme-payment-arrears-overdue-unpaid",
        ] {
            let (ind, t) = get(id);
            assert_eq!(
                (ind.kind, ind.direction, ind.frequency),
                (Kind::Level, Direction::Down, Frequency::Monthly),
                "{id}"
            );
            assert_eq!(
                (t.unwrap().value, t.unwrap().comparator),
                (Some(0.0), Comparator::AtMost),
                "{id}"
            );
        }
        // 每季度1—2次: a year-to-date count of at least 4, with the duty per quarter.
        let t = target("government-business-exchange-events-per-quarter");
        assert_eq!(
            (t.value, t.comparator, t.upper),
            (Some(4.0), Comparator::AtLeast, None)
        );
        assert_eq!(
            t.duty,
            Some(Duty {
                per: Frequency::Quarterly,
                min: 1.0,
                max: Some(2.0)
            })
        );
        // Water classes and ranks are ordinal, lower is better.
        for id in [
            "zijiang-mainstream-taojiang-section-water-class",
            "dev-zone-provincial-park-rank",
        ] {
            assert_eq!(
                (kind(id), get(id).0.direction),
                (Kind::Ordinal, Direction::Down),
                "{id}"
            );
        }
        // The two debt targets the plan sets in words.
        for id in [
            "annual-debt-resolution-task-completion",
            "government-bond-issuance-task-completion",
        ] {
            let (ind, t) = get(id);
            assert_eq!(
                (ind.group.as_str(), ind.kind, ind.lead_units.as_slice()),
                ("risk", Kind::Rate, &["县财政局".to_string()][..]),
                "{id}"
            );
            assert_eq!(
                (t.unwrap().value, t.unwrap().comparator),
                (Some(100.0), Comparator::AtLeast),
                "{id}"
            );
        }
        // The county's surveyed unemployment rate is the province's yearly figure.
        let (ind, t) = get("urban-surveyed-unemployment-rate");
        assert_eq!(ind.frequency, Frequency::Annual);
        assert_eq!(
            t.unwrap().baseline.as_ref().map(|b| b.reference.as_str()),
            Some("external")
        );
    }

    #[test]
    fn a_base_indicator_is_a_tracked_amount_of_the_same_region() {
        let two = format!(
            "{MINI}\n[[indicator]]\nid = \"roads-growth\"\nname = \"农村公路增长\"\nbattle = \"growth\"\n\
             kind = \"growth\"\nunit = \"%\"\ndirection = \"up\"\nfrequency = \"monthly\"\n\
             lead_units = [\"县交通局\"]\nsource = {{ section = \"一\", quote = \"增长5%\" }}\nBASE\n"
        );
        let c = Catalogue::parse(&two.replace("BASE", "base_indicator = \"roads\"")).unwrap();
        let (ind, _) = c.find("roads-growth").unwrap();
        assert_eq!(
            ind.base_indicator.as_ref().map(|b| b.as_str()),
            Some("roads")
        );
        let e = Catalogue::parse(&two.replace("BASE", "base_indicator = \"bridges\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("roads-growth") && e.contains("base_indicator") && e.contains("bridges"),
            "{e}"
        );
        // Nor is an indicator its own base.
        let e = Catalogue::parse(&two.replace("BASE", "base_indicator = \"roads-growth\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be its own base"), "{e}");
        // Nor has a cumulative count one.
        let e = Catalogue::parse(&two.replace("BASE", "").replace(
            "lead_units = [\"县交通局\"]\nsource = { section = \"一\", quote = \"77.67公里\" }",
            "lead_units = [\"县交通局\"]\nsource = { section = \"一\", quote = \"77.67公里\" }\nbase_indicator = \"roads-growth\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("only a growth rate has a base indicator"), "{e}");
    }
}
