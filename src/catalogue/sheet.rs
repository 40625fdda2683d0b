//! A plan from an office's own 指标库 spreadsheet: the rows [`ingest::plan_sheet`]
//! read, checked against what the store already holds, become a [`Catalogue`] of one
//! plan, and an account of what each row would do.
//!
//! The sheet is the office's, not zhibiao's: it names indicators by 指标名称, not by id,
//! and next year's sheet names the same indicators again. So a row is matched to an
//! indicator the region already has — by its id when the row gives one, else by its
//! exact name — and then only adds that indicator's target for the plan's year. A row
//! that matches nothing creates an indicator, with an id made from the name's pinyin
//! (readable, stable for the same name, unique in the store). Lead units not yet in the
//! registry are added, and a region not yet known is registered.
//!
//! Nothing here writes: the caller shows the account (a dry run) or hands the catalogue
//! to the store, which writes it in one transaction. Every problem is a row error in
//! Chinese that names the row and the column, and one problem anywhere refuses the
//! whole sheet.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::{
    BaseProblem, Catalogue, Group, Indicator, IndicatorId, Kind, Plan, PlanId, Profile, Region,
    RegionLevel, Source, StatusRule, Target, Thresholds, UnitEntry, UnitRegistry,
    DEFAULT_ESCALATE_AFTER, MAX_YEAR, MIN_YEAR, SIX_BATTLES,
};
use crate::ingest::plan_sheet::{PlanRow, PlanSheet};
use crate::ingest::RowError;

/// What the caller gives beside the sheet (`--region`, `--year`, `--document`,
/// `--parent`, `--plan`); each wins over the 方案 sheet's row.
#[derive(Debug, Clone, Default)]
pub struct SheetOptions {
    pub region: Option<String>,
    pub year: Option<u16>,
    pub title: Option<String>,
    pub parent: Option<String>,
    pub plan_id: Option<String>,
}

/// What the store holds that a sheet is checked against.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub indicators: Vec<Indicator>,
    /// The years each indicator has targets for, with the target of each.
    pub targets: HashMap<IndicatorId, Vec<Target>>,
    pub units: UnitRegistry,
    pub regions: Vec<Region>,
    pub plans: Vec<Plan>,
}

/// What one row would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// A new indicator, with its target.
    Create,
    /// An indicator the region has, given its target for this year.
    AddTarget,
    /// This year's target (or its plan entry) changes.
    Change,
    /// Everything the row says is stored already.
    Unchanged,
}

/// One row's account.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    pub row: usize,
    pub indicator: String,
    pub name: String,
    pub action: RowAction,
    /// The id was made here (the row gave none and matched no indicator).
    pub id_generated: bool,
    /// For `change`: what differs from what is stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// A sheet ready to import.
#[derive(Debug, Clone)]
pub struct SheetImport {
    pub catalogue: Catalogue,
    pub rows: Vec<RowOutcome>,
    /// Lead and co-units not in the registry before, added by the import.
    pub new_units: Vec<String>,
    /// Regions registered by the import (the plan's region, its parent).
    pub new_regions: Vec<String>,
    /// Whether the plan exists already.
    pub plan_exists: bool,
}

/// The group key of a group name: the six battles keep their keys (growth, …), other
/// groups are numbered in the plan's order (g1, g2, …).
fn group_key(name: &str, n: usize) -> String {
    SIX_BATTLES
        .iter()
        .find(|(_, battle)| *battle == name)
        .map_or_else(|| format!("g{n}"), |(k, _)| (*k).to_string())
}

/// The pinyin of a text, syllables joined by `-`, other letters and digits kept, cut at
/// a syllable boundary to at most `max` characters: 地区生产总值增长 →
/// `di-qu-sheng-chan-zong-zhi-zeng-zhang`.
pub fn slug(text: &str, max: usize) -> String {
    use pinyin::ToPinyin;
    let mut parts: Vec<String> = Vec::new();
    let mut word = String::new();
    for (c, p) in text.chars().zip(text.to_pinyin()) {
        match p {
            Some(p) => {
                if !word.is_empty() {
                    parts.push(std::mem::take(&mut word));
                }
                // ü is written v, as in typing pinyin (率 lv); nothing outside a-z.
                let syllable: String = p
                    .plain()
                    .chars()
                    .map(|c| if c == 'ü' { 'v' } else { c })
                    .filter(char::is_ascii_lowercase)
                    .collect();
                if !syllable.is_empty() {
                    parts.push(syllable);
                }
            }
            None if c.is_ascii_alphanumeric() => word.push(c.to_ascii_lowercase()),
            None => {
                if !word.is_empty() {
                    parts.push(std::mem::take(&mut word));
                }
            }
        }
    }
    if !word.is_empty() {
        parts.push(word);
    }
    let mut out = String::new();
    for p in parts {
        let extra = if out.is_empty() { p.len() } else { p.len() + 1 };
        if out.len() + extra > max {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&p);
    }
    out
}

/// A region's short slug for plan ids: 临湘市 → `linxiang`, 桃江县 → `taojiang`.
fn region_slug(region: &str) -> String {
    let stem = region
        .strip_suffix('县')
        .or_else(|| region.strip_suffix('市'))
        .or_else(|| region.strip_suffix('区'))
        .or_else(|| region.strip_suffix('省'))
        .filter(|s| s.chars().count() >= 2)
        .unwrap_or(region);
    let s = slug(stem, 40).replace('-', "");
    if s.is_empty() {
        "plan".into()
    } else {
        s
    }
}

fn err(row: usize, field: &str, message: String) -> RowError {
    RowError::new(row, field, message)
}

/// Builds the plan a sheet describes, checked against what the store holds.
pub fn from_sheet(
    sheet: PlanSheet,
    opts: &SheetOptions,
    existing: &Existing,
) -> Result<SheetImport, Vec<RowError>> {
    let mut errors = sheet.errors.clone();
    let facts = &sheet.facts;
    let region = opts.region.clone().or_else(|| facts.region.clone());
    let year = opts.year.or(facts.year);
    let title = opts.title.clone().or_else(|| facts.title.clone());
    let parent = opts.parent.clone().or_else(|| facts.parent.clone());
    if region.as_deref().is_none_or(|r| r.trim().is_empty()) {
        errors.push(err(
            0,
            "地区",
            "缺少地区：在“方案”表写一行“地区”，或用 --region 指定（如 临湘市）".into(),
        ));
    }
    match year {
        None => errors.push(err(
            0,
            "年度",
            "缺少年度：在“方案”表写一行“年度”，或用 --year 指定（如 2024）".into(),
        )),
        Some(y) if !(MIN_YEAR..=MAX_YEAR).contains(&y) => errors.push(err(
            0,
            "年度",
            format!("年度{y}不在{MIN_YEAR}—{MAX_YEAR}之间"),
        )),
        Some(_) => {}
    }
    if title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        errors.push(err(
            0,
            "方案名称",
            "缺少方案名称：在“方案”表写一行“方案名称”，或用 --document 指定（公报引用的文件名称）"
                .into(),
        ));
    }
    if sheet.rows.is_empty() && errors.is_empty() {
        errors.push(err(0, "指标", "“指标”表没有指标行".into()));
    }
    let (Some(region), Some(year), Some(title)) = (region, year, title) else {
        return Err(errors);
    };
    if !errors.is_empty() && errors.iter().any(|e| e.row == 0) {
        return Err(errors);
    }
    let region = region.trim().to_string();

    // Regions: the plan's own, and its parent, registered when new.
    let mut regions: Vec<Region> = Vec::new();
    let mut new_regions = Vec::new();
    let known = |name: &str| existing.regions.iter().find(|r| r.name == name).cloned();
    if let Some(p) = parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        if known(p).is_none() {
            let level = if p.ends_with('省') {
                RegionLevel::Province
            } else {
                RegionLevel::City
            };
            regions.push(Region {
                name: p.to_string(),
                level,
                parent: None,
            });
            new_regions.push(p.to_string());
        }
    }
    match known(&region) {
        Some(r) => {
            if let Some(p) = parent
                .as_deref()
                .filter(|p| r.parent.as_deref() != Some(*p))
            {
                if r.parent.is_some() {
                    errors.push(err(
                        0,
                        "上级地区",
                        format!(
                            "{region}的上级地区已登记为{}，与表中的“{p}”不同",
                            r.parent.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
            regions.push(r);
        }
        None => {
            let r = Region {
                name: region.clone(),
                level: RegionLevel::County,
                parent: parent.filter(|p| !p.trim().is_empty()),
            };
            if let Err(e) = r.validate() {
                errors.push(err(
                    0,
                    "地区",
                    format!("地区“{region}”不可用：{}", e.message()),
                ));
            }
            regions.push(r);
            new_regions.push(region.clone());
        }
    }

    // Groups: the 方案 sheet's, in order, then any a row names that it does not list.
    let mut group_names: Vec<String> = facts.groups.clone();
    let listed = !group_names.is_empty();
    for r in &sheet.rows {
        if let Some(g) = r.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            if !group_names.iter().any(|n| n == g) {
                if listed {
                    errors.push(err(
                        r.row,
                        "所属板块",
                        format!("“{g}”不是“方案”表列出的板块（{}）", facts.groups.join("、")),
                    ));
                } else {
                    group_names.push(g.to_string());
                }
            }
        }
    }
    let any_group = sheet
        .rows
        .iter()
        .any(|r| r.group.as_deref().is_some_and(|g| !g.trim().is_empty()));
    if group_names.is_empty() || !any_group {
        group_names = vec!["全部指标".into()];
    }
    let groups: Vec<Group> = group_names
        .iter()
        .enumerate()
        .map(|(i, n)| Group {
            key: group_key(n, i + 1),
            name: n.clone(),
        })
        .collect();

    // The plan: the one the region has for the year (its id kept), else a new one.
    let same_year = existing
        .plans
        .iter()
        .find(|p| p.region == region && p.year == year);
    let plan_id = opts
        .plan_id
        .clone()
        .or_else(|| facts.plan_id.clone())
        .or_else(|| same_year.map(|p| p.id.to_string()))
        .unwrap_or_else(|| format!("{}-{year}", region_slug(&region)));
    let plan_id = match PlanId::parse(&plan_id) {
        Ok(id) => id,
        Err(_) => {
            errors.push(err(
                0,
                "方案代码",
                format!("方案代码“{plan_id}”只能用小写字母、数字和“-”（如 linxiang-2024）"),
            ));
            return Err(errors);
        }
    };
    if let Some(p) = same_year.filter(|p| p.id != plan_id) {
        errors.push(err(
            0,
            "方案代码",
            format!(
                "{region}{year}年已有方案“{}”（{}）；同一地区同一年度只有一个方案",
                p.title, p.id
            ),
        ));
    }
    if let Some(p) = existing
        .plans
        .iter()
        .find(|p| p.id == plan_id && (p.region != region || p.year != year))
    {
        errors.push(err(
            0,
            "方案代码",
            format!("方案代码“{plan_id}”已是{}{}年的方案", p.region, p.year),
        ));
    }
    let plan = Plan {
        id: plan_id,
        region: region.clone(),
        year,
        title: title.trim().to_string(),
        doc_number: facts
            .doc_number
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string(),
        issuer: facts.issuer.clone().unwrap_or_default().trim().to_string(),
        groups,
    };
    if let Err(e) = plan.validate() {
        errors.push(err(0, "方案", format!("方案不可用：{}", e.message())));
    }
    let document = plan.document();

    // Units: canonical names; new ones are added.
    let mut unit_entries: Vec<UnitEntry> = existing.units.entries().to_vec();
    let mut new_units: Vec<String> = Vec::new();
    let mut canonical = |names: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            let n = n.trim();
            if n.is_empty() {
                continue;
            }
            let c = match existing.units.canonical(n) {
                Some(c) => c.to_string(),
                None => {
                    if !new_units.iter().any(|u| u == n) {
                        new_units.push(n.to_string());
                        unit_entries.push(UnitEntry {
                            name: n.to_string(),
                            aliases: Vec::new(),
                        });
                    }
                    n.to_string()
                }
            };
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    };

    // Indicators of this region, by name; ids taken anywhere in the store.
    let mut by_name: BTreeMap<&str, Vec<&Indicator>> = BTreeMap::new();
    for i in existing.indicators.iter().filter(|i| i.region == region) {
        by_name.entry(i.name.as_str()).or_default().push(i);
    }
    let mut taken: HashSet<String> = existing
        .indicators
        .iter()
        .map(|i| i.id.as_str().to_string())
        .collect();
    let mut in_sheet: HashMap<String, usize> = HashMap::new();

    let mut entries = Vec::new();
    let mut outcomes = Vec::new();
    // Rows that name a base (基数指标): (entry, row, base as written), resolved once
    // every row has its id, since a base may be a later row.
    let mut bases: Vec<(usize, usize, String)> = Vec::new();
    for (n, r) in sheet.rows.iter().enumerate() {
        let row = r.row;
        let mut row_errors = Vec::new();
        // Which indicator the row is.
        let (id, old, generated) = match r.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(given) => match IndicatorId::parse(given) {
                Ok(id) => {
                    let old = existing.indicators.iter().find(|i| i.id == id);
                    if let Some(o) = old.filter(|o| o.region != region) {
                        row_errors.push(err(
                            row,
                            "指标代码",
                            format!("指标代码“{id}”已是{}的指标“{}”", o.region, o.name),
                        ));
                    }
                    (Some(id), old, false)
                }
                Err(_) => {
                    row_errors.push(err(
                        row,
                        "指标代码",
                        format!("指标代码“{given}”只能用小写字母、数字和“-”"),
                    ));
                    (None, None, false)
                }
            },
            None => match by_name.get(r.name.trim()).map(Vec::as_slice) {
                Some([one]) => (Some(one.id.clone()), Some(*one), false),
                Some(many) if many.len() > 1 => {
                    row_errors.push(err(
                        row,
                        "指标名称",
                        format!(
                            "{region}有{}个名为“{}”的指标（{}）：请在“指标代码”列写明是哪一个",
                            many.len(),
                            r.name,
                            many.iter()
                                .map(|i| i.id.as_str())
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    ));
                    (None, None, false)
                }
                _ => {
                    let base = {
                        let s = slug(&r.name, 48);
                        if s.is_empty() {
                            format!("{}-{}", plan.id, n + 1)
                        } else {
                            s
                        }
                    };
                    let mut id = base.clone();
                    let mut k = 2;
                    while taken.contains(&id) {
                        id = format!("{base}-{k}");
                        k += 1;
                    }
                    match IndicatorId::parse(&id) {
                        Ok(id) => (Some(id), None, true),
                        Err(_) => {
                            row_errors.push(err(
                                row,
                                "指标代码",
                                format!("无法由名称“{}”生成指标代码，请在“指标代码”列填写", r.name),
                            ));
                            (None, None, true)
                        }
                    }
                }
            },
        };
        let Some(id) = id else {
            errors.extend(row_errors);
            continue;
        };
        if let Some(first) = in_sheet.insert(id.as_str().to_string(), row) {
            row_errors.push(err(
                row,
                "指标名称",
                format!("与第{first}行是同一个指标（{id}）"),
            ));
        }
        taken.insert(id.as_str().to_string());
        let Some(value) = r.value else {
            row_errors.push(err(row, "年度目标", "年度目标为空：请填写目标值".into()));
            errors.extend(row_errors);
            continue;
        };
        let group_name = r
            .group
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .unwrap_or(&plan.groups[0].name);
        let group = plan
            .groups
            .iter()
            .find(|g| g.name == group_name)
            .map_or_else(|| plan.groups[0].key.clone(), |g| g.key.clone());
        let lead_units = canonical(&r.lead_units);
        let co_units: Vec<String> = canonical(&r.co_units)
            .into_iter()
            .filter(|u| !lead_units.contains(u))
            .collect();
        let section = r
            .section
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| group_name.to_string());
        let quote = r
            .quote
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| r.name.clone());
        let ind = build(
            r,
            &id,
            old,
            &region,
            group,
            lead_units,
            co_units,
            Source {
                document: document.clone(),
                section,
                quote,
            },
        );
        if let Err(e) = ind.validate() {
            row_errors.push(err(row, column_of(e.field()), e.message().to_string()));
        }
        // What the schedule and the base weight: the pace of counts and lists, the
        // catch-up of growth rates.
        if r.profile.is_some()
            && !matches!(ind.kind, Kind::Cumulative | Kind::Milestone | Kind::Growth)
        {
            row_errors.push(err(
                row,
                "进度安排",
                format!(
                    "第{row}行“进度安排”只用于累计、清单和增速指标（本行是{}指标）",
                    crate::ingest::plan_template::kind_text(ind.kind)
                ),
            ));
        }
        for (given, column) in [
            (r.base.is_some(), "基数指标"),
            (r.base_shares.is_some(), "上年累计占比"),
        ] {
            if given && ind.kind != Kind::Growth {
                row_errors.push(err(
                    row,
                    column,
                    format!(
                        "第{row}行“{column}”只用于增速指标（本行是{}指标）",
                        crate::ingest::plan_template::kind_text(ind.kind)
                    ),
                ));
            }
        }
        if !r.parts.is_empty() {
            let sum: f64 = r.parts.iter().map(|p| p.value).sum();
            if sum > value + 1e-9 {
                row_errors.push(err(
                    row,
                    "分项",
                    format!(
                        "第{row}行“分项”合计{}，超过年度目标{}",
                        crate::text::fmt_num(sum),
                        crate::text::fmt_num(value)
                    ),
                ));
            }
        }
        if let Some(b) = r.base.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            bases.push((entries.len(), row, b.to_string()));
        }
        let target = Target {
            year,
            value: Some(value),
            comparator: r.comparator,
            tolerance: r.tolerance,
            upper: r.upper,
            baseline: None,
            plan: Some(super::plan_entry(&plan.id, &ind, n + 1)),
            parts: r.parts.clone(),
            duty: r.duty.clone(),
        };
        if let Err(e) = target.validate() {
            row_errors.push(err(row, column_of(e.field()), e.message().to_string()));
        }
        if !row_errors.is_empty() {
            errors.extend(row_errors);
            continue;
        }
        let stored = existing
            .targets
            .get(&id)
            .and_then(|ts| ts.iter().find(|t| t.year == year));
        let (action, changes) = match (old, stored) {
            (None, _) => (RowAction::Create, Vec::new()),
            (Some(_), None) => (RowAction::AddTarget, Vec::new()),
            (Some(o), Some(t)) => {
                let changes = differences(o, t, &ind, &target);
                if changes.is_empty() {
                    (RowAction::Unchanged, changes)
                } else {
                    (RowAction::Change, changes)
                }
            }
        };
        outcomes.push(RowOutcome {
            row,
            indicator: id.to_string(),
            name: ind.name.clone(),
            action,
            id_generated: generated,
            changes,
        });
        entries.push((ind, Some(target)));
    }
    // Each base is a row of the sheet or an indicator the region has, by id or name.
    for (at, row, given) in bases {
        let find = |i: &&Indicator| i.id.as_str() == given || i.name == given;
        let base = entries
            .iter()
            .map(|(i, _)| i)
            .find(find)
            .or_else(|| {
                existing
                    .indicators
                    .iter()
                    .filter(|i| i.region == region)
                    .find(find)
            })
            .cloned();
        let ind = &mut entries[at].0;
        let Some(base) = base else {
            errors.push(err(
                row,
                "基数指标",
                format!(
                    "第{row}行“基数指标”找不到“{given}”：应为本表或{region}已有指标的名称或代码"
                ),
            ));
            continue;
        };
        match ind.base_problem(&base) {
            None => {
                let changed = ind.base_indicator.as_ref() != Some(&base.id);
                ind.base_indicator = Some(base.id.clone());
                if let Some(o) = outcomes.iter_mut().find(|o| o.row == row) {
                    if changed && matches!(o.action, RowAction::Unchanged | RowAction::Change) {
                        o.action = RowAction::Change;
                        o.changes.push("基数指标".into());
                    }
                }
            }
            Some(BaseProblem::Itself) => errors.push(err(
                row,
                "基数指标",
                format!("第{row}行“基数指标”不能是本指标自己"),
            )),
            Some(_) => errors.push(err(
                row,
                "基数指标",
                format!(
                    "第{row}行“基数指标”“{}”是{}指标：基数应为本地区的累计或存量指标（如一般公共预算收入）",
                    base.name,
                    crate::ingest::plan_template::kind_text(base.kind)
                ),
            )),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(errors);
    }
    let units = UnitRegistry::new(unit_entries)
        .map_err(|e| vec![err(0, "牵头单位", format!("单位名称冲突：{}", e.message()))])?;
    let plan_exists = same_year.is_some();
    Ok(SheetImport {
        catalogue: Catalogue {
            region: region.clone(),
            regions,
            document,
            year,
            plan,
            units,
            entries,
            due_rules: BTreeMap::new(),
            sets_due_rules: false,
        },
        rows: outcomes,
        new_units,
        new_regions,
        plan_exists,
    })
}

/// The indicator a row describes: an existing one keeps what the sheet does not say
/// (its English name, benchmarks, thresholds, quality rules, code).
#[allow(clippy::too_many_arguments)]
fn build(
    r: &PlanRow,
    id: &IndicatorId,
    old: Option<&Indicator>,
    region: &str,
    group: String,
    lead_units: Vec<String>,
    co_units: Vec<String>,
    source: Source,
) -> Indicator {
    let code = r
        .code
        .clone()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| old.map(|o| o.code.clone()))
        .unwrap_or_else(|| id.as_str().to_string());
    Indicator {
        id: id.clone(),
        name: r.name.trim().to_string(),
        name_en: r
            .name_en
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| old.map(|o| o.name_en.clone()))
            .unwrap_or_default(),
        group,
        kind: r.kind,
        unit: r.unit.trim().to_string(),
        direction: r.direction,
        frequency: r.frequency,
        lead_units,
        co_units,
        source,
        also_in: Vec::new(),
        thresholds: old.map_or_else(Thresholds::default, |o| o.thresholds.clone()),
        region: region.to_string(),
        code,
        benchmarks: old.map(|o| o.benchmarks.clone()).unwrap_or_default(),
        status_rule: old.map_or(StatusRule::Plan, |o| o.status_rule),
        escalate_after: old.map_or(DEFAULT_ESCALATE_AFTER, |o| o.escalate_after),
        quality: old.map(|o| o.quality.clone()).unwrap_or_default(),
        base_indicator: old.and_then(|o| o.base_indicator.clone()),
        profile: r
            .profile
            .as_deref()
            .and_then(|p| Profile::new(p).ok())
            .or_else(|| old.and_then(|o| o.profile.clone())),
        base_shares: r
            .base_shares
            .as_deref()
            .and_then(|p| Profile::new(p).ok())
            .or_else(|| old.and_then(|o| o.base_shares.clone())),
    }
}

/// What a row changes of a stored indicator and its target for the year, in Chinese.
fn differences(old: &Indicator, old_t: &Target, new: &Indicator, new_t: &Target) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |what: &str, changed: bool| {
        if changed {
            out.push(what.to_string());
        }
    };
    note("单位", old.unit != new.unit);
    note("指标类型", old.kind != new.kind);
    note("报送频率", old.frequency != new.frequency);
    note(
        "年度目标",
        (old_t.value, old_t.comparator, old_t.upper, old_t.tolerance)
            != (new_t.value, new_t.comparator, new_t.upper, new_t.tolerance),
    );
    let (oe, ne) = (old_t.plan.as_ref(), new_t.plan.as_ref());
    note(
        "牵头单位",
        oe.map(|e| &e.lead_units) != ne.map(|e| &e.lead_units),
    );
    note(
        "责任单位",
        oe.map(|e| &e.co_units) != ne.map(|e| &e.co_units),
    );
    note("所属板块", oe.map(|e| &e.group) != ne.map(|e| &e.group));
    note("分项", old_t.parts != new_t.parts);
    note("每期要求", old_t.duty != new_t.duty);
    note("进度安排", old.profile != new.profile);
    note("上年累计占比", old.base_shares != new.base_shares);
    note("序号", oe.map(|e| e.position) != ne.map(|e| e.position));
    note("出处", oe.map(|e| &e.source) != ne.map(|e| &e.source));
    out
}

/// The sheet column a domain field is written in.
fn column_of(field: &str) -> &'static str {
    match field.rsplit('.').next().unwrap_or(field) {
        "name" => "指标名称",
        "unit" => "单位",
        "lead_units" => "牵头单位",
        "co_units" => "责任单位",
        "value" | "upper" | "comparator" => "年度目标",
        "tolerance" => "容差",
        "quote" => "出处原文",
        "section" => "出处章节",
        "code" => "统计代码",
        "name_en" => "英文名称",
        "group" => "所属板块",
        _ => "指标",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_pinyin_syllables_cut_at_a_boundary() {
        assert_eq!(
            slug("地区生产总值增长", 64),
            "di-qu-sheng-chan-zong-zhi-zeng-zhang"
        );
        assert_eq!(slug("PM2.5浓度", 64), "pm2-5-nong-du");
        assert_eq!(slug("地区生产总值增长", 12), "di-qu-sheng");
        assert_eq!(slug("森林覆盖率", 64), "sen-lin-fu-gai-lv");
        assert_eq!(slug("绿色", 64), "lv-se");
        assert_eq!(region_slug("临湘市"), "linxiang");
        assert_eq!(region_slug("桃江县"), "taojiang");
        assert_eq!(group_key("科技创新攻坚仗", 2), "innovation");
        assert_eq!(group_key("二、科技创新", 2), "g2");
    }
}
