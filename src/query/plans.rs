//! Plans as the API and the CLI read them: a plan with its rows in the document's
//! order, an indicator as one year's plan has it, and the plan entry a new target gets.
//!
//! A target set outside a plan import (`PUT /v1/indicators/{id}`, `PUT …/targets/{year}`)
//! joins the plan of its region and year when there is one, at the end of its order
//! unless it names its place, so that the dashboard and the bulletin still follow the
//! document.

use serde::Serialize;

use super::views::TargetView;
use super::{Queries, QueryError, Result};
use crate::domain::{
    Direction, Frequency, Group, Indicator, IndicatorId, Kind, Plan, PlanEntry, PlanId, Source,
    SourceRef,
};

/// One indicator of a plan, in the plan's order.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// 序号
    pub position: u32,
    pub group: String,
    pub group_name: String,
    pub indicator: IndicatorId,
    pub name: String,
    pub unit: String,
    pub kind: Kind,
    pub direction: Direction,
    pub frequency: Frequency,
    pub target: TargetView,
    pub lead_units: Vec<String>,
    pub co_units: Vec<String>,
    pub source: Source,
    pub also_in: Vec<SourceRef>,
}

/// A plan with its rows: what `GET /v1/plans/{id}` answers.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    #[serde(flatten)]
    pub plan: Plan,
    /// How bulletins cite it (computed from the title and 文号).
    pub document: String,
    pub rows: Vec<PlanRow>,
}

/// A plan in the list of `GET /v1/plans`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    #[serde(flatten)]
    pub plan: Plan,
    pub document: String,
    pub indicators: usize,
}

impl Queries {
    /// One plan, or a not-found error that says where the list is.
    pub fn plan(&self, id: &PlanId) -> Result<Plan> {
        self.store.plan(id)?.ok_or_else(|| {
            QueryError::NotFound(crate::domain::messages::Msg::new(
                format!("没有编号为“{id}”的方案（GET /v1/plans 列出全部方案）"),
                format!("no plan '{id}'; see GET /v1/plans"),
            ))
        })
    }

    /// Every plan, by region and year, with how many indicators each holds.
    pub fn plan_list(&self) -> Result<Vec<PlanSummary>> {
        let plans = self.store.plans()?;
        let mut counts = std::collections::HashMap::new();
        for ind in self.store.indicators()? {
            for t in self.store.targets(&ind.id)? {
                if let Some(e) = t.plan {
                    *counts.entry(e.plan).or_insert(0usize) += 1;
                }
            }
        }
        Ok(plans
            .into_iter()
            .map(|p| PlanSummary {
                document: p.document(),
                indicators: counts.get(&p.id).copied().unwrap_or(0),
                plan: p,
            })
            .collect())
    }

    /// A plan with every indicator it sets a target for, in its order.
    pub fn plan_view(&self, id: &PlanId) -> Result<PlanView> {
        let plan = self.plan(id)?;
        let mut rows = Vec::new();
        for ind in self.store.indicators()? {
            if ind.region != plan.region {
                continue;
            }
            let Some(t) = self.store.target(&ind.id, plan.year)? else {
                continue;
            };
            let Some(e) = t.plan.clone().filter(|e| e.plan == plan.id) else {
                continue;
            };
            let shown = ind.in_plan(Some(&e));
            rows.push(PlanRow {
                position: e.position,
                group_name: plan
                    .group(&e.group)
                    .map_or_else(|| e.group.clone(), |g| g.name.clone()),
                group: e.group.clone(),
                indicator: ind.id.clone(),
                name: ind.name.clone(),
                unit: ind.unit.clone(),
                kind: ind.kind,
                direction: ind.direction,
                frequency: ind.frequency,
                target: TargetView::new(&shown, &t),
                lead_units: e.lead_units,
                co_units: e.co_units,
                source: e.source,
                also_in: e.also_in,
            });
        }
        rows.sort_by(|a, b| {
            (plan.group_rank(&a.group), a.position, &a.indicator).cmp(&(
                plan.group_rank(&b.group),
                b.position,
                &b.indicator,
            ))
        });
        Ok(PlanView {
            document: plan.document(),
            plan,
            rows,
        })
    }

    /// An indicator as the plan of `year` has it (its group, units and source that
    /// year); as stored when no plan covers the year.
    pub fn indicator_in_year(&self, id: &IndicatorId, year: u16) -> Result<Indicator> {
        let ind = self.indicator(id)?;
        let entry = self.store.target(id, year)?.and_then(|t| t.plan);
        Ok(ind.in_plan(entry.as_ref()))
    }

    /// The plan entry a target of `ind` for `year` gets: its place kept (or the one
    /// asked for), its group, units and source taken from `ind`. `None` when the region
    /// has no plan for the year. The group must be one of the plan's.
    pub fn plan_entry_for(
        &self,
        ind: &Indicator,
        year: u16,
        position: Option<u32>,
    ) -> Result<Option<PlanEntry>> {
        let Some(plan) = self.store.plan_for(&ind.region, year)? else {
            return Ok(None);
        };
        if plan.group(&ind.group).is_none() {
            return Err(QueryError::invalid(
                "group",
                format!(
                    "'{}' is not a group of the plan {} ({}): {}",
                    ind.group,
                    plan.id,
                    plan.title,
                    group_list(&plan.groups)
                ),
            ));
        }
        let kept = self
            .store
            .target(&ind.id, year)?
            .and_then(|t| t.plan)
            .filter(|e| e.plan == plan.id)
            .map(|e| e.position);
        let position = match position.or(kept) {
            Some(p) => p,
            None => self.next_position(&plan)?,
        };
        let mut entry = crate::catalogue::plan_entry(&plan.id, ind, 1);
        entry.position = position;
        Ok(Some(entry))
    }

    /// The place after the last of a plan's rows.
    fn next_position(&self, plan: &Plan) -> Result<u32> {
        let mut last = 0;
        for ind in self.store.indicators()? {
            if ind.region != plan.region {
                continue;
            }
            if let Some(e) = self
                .store
                .target(&ind.id, plan.year)?
                .and_then(|t| t.plan)
                .filter(|e| e.plan == plan.id)
            {
                last = last.max(e.position);
            }
        }
        Ok(last.saturating_add(1))
    }
}

/// `growth（经济增长主动仗）、innovation（…）`
pub fn group_list(groups: &[Group]) -> String {
    groups
        .iter()
        .map(|g| format!("{}（{}）", g.key, g.name))
        .collect::<Vec<_>>()
        .join("、")
}

/// How many rows do what.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SheetCounts {
    pub create: usize,
    pub add_target: usize,
    pub change: usize,
    pub unchanged: usize,
}

/// The answer to a plan sheet: what was (or, in a dry run, would be) written.
#[derive(Debug, Clone, Serialize)]
pub struct SheetAnswer {
    pub dry_run: bool,
    pub plan: PlanView,
    /// `create`, `replace` or `unchanged`: what happens to the plan's own record.
    pub plan_action: String,
    pub counts: SheetCounts,
    pub rows: Vec<crate::catalogue::sheet::RowOutcome>,
    pub new_units: Vec<String>,
    pub new_regions: Vec<String>,
}

/// Why a sheet was not imported: its rows, or the store.
#[derive(Debug)]
pub enum SheetRefusal {
    Rows(Vec<crate::ingest::RowError>),
    Query(QueryError),
}

impl<E: Into<QueryError>> From<E> for SheetRefusal {
    fn from(e: E) -> Self {
        SheetRefusal::Query(e.into())
    }
}

impl Queries {
    /// What a plan sheet is checked against.
    pub fn sheet_existing(&self) -> Result<crate::catalogue::sheet::Existing> {
        let s = &self.store;
        let indicators = s.indicators()?;
        let mut targets = std::collections::HashMap::new();
        for i in &indicators {
            targets.insert(i.id.clone(), s.targets(&i.id)?);
        }
        Ok(crate::catalogue::sheet::Existing {
            indicators,
            targets,
            units: s.units()?,
            regions: s.regions()?,
            plans: s.plans()?,
        })
    }

    /// Imports a plan sheet, or with `dry_run` only says what it would do. The whole
    /// sheet is written in one transaction, or nothing is.
    pub fn import_sheet(
        &self,
        sheet: crate::ingest::plan_sheet::PlanSheet,
        opts: &crate::catalogue::sheet::SheetOptions,
        dry_run: bool,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<SheetAnswer, SheetRefusal> {
        use crate::catalogue::sheet::{from_sheet, RowAction};
        let existing = self.sheet_existing()?;
        let import = from_sheet(sheet, opts, &existing).map_err(SheetRefusal::Rows)?;
        let mut counts = SheetCounts::default();
        for r in &import.rows {
            match r.action {
                RowAction::Create => counts.create += 1,
                RowAction::AddTarget => counts.add_target += 1,
                RowAction::Change => counts.change += 1,
                RowAction::Unchanged => counts.unchanged += 1,
            }
        }
        let cat = &import.catalogue;
        let stored_plan = existing.plans.iter().find(|p| p.id == cat.plan.id);
        let plan_action = match stored_plan {
            None => "create",
            Some(p) if *p == cat.plan => "unchanged",
            Some(_) => "replace",
        }
        .to_string();
        let plan = if dry_run {
            PlanView {
                plan: cat.plan.clone(),
                document: cat.plan.document(),
                rows: Vec::new(),
            }
        } else {
            self.store.import_catalogue(cat, actor, now)?;
            self.plan_view(&cat.plan.id)?
        };
        Ok(SheetAnswer {
            dry_run,
            plan,
            plan_action,
            counts,
            rows: import.rows,
            new_units: import.new_units,
            new_regions: import.new_regions,
        })
    }
}

impl Queries {
    /// The plan of `region` for `year`: the home region's unless another is named.
    pub fn plan_of(&self, region: Option<&str>, year: u16) -> Result<Plan> {
        let region = match region {
            Some(r) => self.known_region("region", r)?.name,
            None => self.store.home_region()?,
        };
        self.store.plan_for(&region, year)?.ok_or_else(|| {
            QueryError::NotFound(crate::domain::messages::Msg::new(
                format!("{region}没有{year}年的方案（GET /v1/plans 列出全部方案）"),
                format!("{region} has no plan for {year}; see GET /v1/plans"),
            ))
        })
    }

    /// Next year's plan drafted from this one: the spreadsheet an office fills in,
    /// every indicator of `from` with its target and last figure of that year beside an
    /// empty target column, and the plan's facts with the new year.
    pub fn draft(&self, from: &Plan, year: u16) -> Result<Vec<u8>> {
        use crate::ingest::plan_sheet::PlanFacts;
        use crate::ingest::plan_template::{comparator_text, draft_workbook, DraftRow};
        let view = self.plan_view(&from.id)?;
        let region = self.store.region(&from.region)?;
        let mut rows = Vec::with_capacity(view.rows.len());
        for (n, r) in view.rows.iter().enumerate() {
            let last_actual = self
                .store
                .year_values(&r.indicator, from.year)?
                .last()
                .map(|(_, v)| *v);
            let t = &r.target;
            let last_target = t.value.map(|v| {
                let v = crate::text::fmt_num(v);
                match (t.comparator, t.upper) {
                    (crate::domain::Comparator::Between, Some(u)) => {
                        format!("{v}–{}", crate::text::fmt_num(u))
                    }
                    // Symbols go before the number (≥150), words after it (7左右).
                    (c, _) => {
                        let w = comparator_text(c);
                        if w.chars().all(|ch| "≥≤><".contains(ch)) {
                            format!("{w}{v}")
                        } else {
                            format!("{v}{w}")
                        }
                    }
                }
            });
            rows.push(DraftRow {
                seq: u32::try_from(n + 1).unwrap_or(u32::MAX),
                id: r.indicator.to_string(),
                name: r.name.clone(),
                unit: r.unit.clone(),
                comparator: t.comparator,
                kind: r.kind,
                frequency: r.frequency,
                lead_units: r.lead_units.clone(),
                co_units: r.co_units.clone(),
                group: r.group_name.clone(),
                section: r.source.section.clone(),
                quote: r.source.quote.clone(),
                last_target,
                last_actual,
                duty: t
                    .duty
                    .as_ref()
                    .map(|d| crate::ingest::plan_template::duty_text(d, &r.unit)),
            });
        }
        let facts = PlanFacts {
            plan_id: None,
            region: Some(from.region.clone()),
            parent: region.and_then(|r| r.parent),
            year: Some(year),
            title: Some(
                from.title
                    .replace(&from.year.to_string(), &year.to_string()),
            ),
            doc_number: None,
            issuer: Some(from.issuer.clone()).filter(|s| !s.is_empty()),
            groups: from.groups.iter().map(|g| g.name.clone()).collect(),
        };
        draft_workbook(&facts, &rows).map_err(|m| QueryError::Unanswerable(m.into()))
    }
}
