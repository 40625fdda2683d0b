//! JSON shapes of the API. Stored types stay plain for the codec; these add what a
//! reader needs (effective tolerance, Chinese labels, both status forms).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Baseline, Comparator, Indicator, IndicatorId, Period, Reading, Target};
use crate::engine::compare::BenchmarkGap;
use crate::engine::{self, Attainment, Status};
use crate::store::{AuditRecord, Change};

/// A target as answered, with the tolerance that actually applies to an `about` target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub year: u16,
    pub value: Option<f64>,
    pub comparator: Comparator,
    pub tolerance: Option<f64>,
    pub upper: Option<f64>,
    pub baseline: Option<Baseline>,
    /// The plan that sets the target, and the target's place (序号) in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// The parts a list breaks into (the 66 projects as 38 and 28).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<crate::domain::TargetPart>,
    /// A duty per period (每季度1—2次).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty: Option<crate::domain::Duty>,
}

impl TargetView {
    pub fn new(ind: &Indicator, t: &Target) -> Self {
        let tolerance = match (t.comparator, t.value) {
            (Comparator::About, Some(v)) => Some(engine::tolerance(ind, t, v)),
            _ => t.tolerance,
        };
        TargetView {
            year: t.year,
            value: t.value,
            comparator: t.comparator,
            tolerance,
            upper: t.upper,
            baseline: t.baseline.clone(),
            plan: t.plan.as_ref().map(|e| e.plan.to_string()),
            position: t.plan.as_ref().map(|e| e.position),
            parts: t.parts.clone(),
            duty: t.duty.clone(),
        }
    }
}

/// An indicator with its current target.
#[derive(Debug, Serialize)]
pub struct IndicatorView<'a> {
    /// The indicator's id, under the key every answer names an indicator by. The
    /// definition's own `id` follows it, kept for a release for scripts that read it.
    #[serde(rename = "indicator")]
    pub key: &'a IndicatorId,
    /// The indicator as the plan of the target shown has it.
    #[serde(flatten)]
    pub indicator: std::borrow::Cow<'a, Indicator>,
    /// The group's name in the plan of the target shown (computed; a PUT may send it
    /// back unchanged).
    pub group_name: String,
    /// The plan of the target shown.
    pub plan: Option<String>,
    /// The catalogue's due rule; `None` (null) when the frequency's default applies.
    /// Part of the definition, so a definition read here can be PUT back as is.
    pub due: Option<crate::engine::calendar::DueRule>,
    pub target: Option<TargetView>,
    pub target_years: Vec<u16>,
}

/// A reading as answered.
#[derive(Debug, Serialize)]
pub struct ReadingView<'a> {
    pub indicator: &'a IndicatorId,
    /// The period as the submitter wrote its form (`2023-Q2`).
    pub period: String,
    /// The canonical month form (`2023-06`), the key readings are stored under.
    pub period_key: Period,
    pub value: f64,
    pub status: &'static str,
    pub status_code: &'static str,
    pub note: Option<&'a str>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: &'a str,
    pub revision: u32,
}

impl<'a> ReadingView<'a> {
    pub fn new(id: &'a IndicatorId, period: Period, r: &'a Reading) -> Self {
        ReadingView {
            indicator: id,
            period: period.display_as(r.form),
            period_key: period,
            value: r.value,
            status: r.status.word(),
            status_code: r.status.code(),
            note: r.note.as_deref(),
            recorded_at: r.recorded_at,
            recorded_by: &r.recorded_by,
            revision: r.revision,
        }
    }
}

pub use crate::engine::tidy;

/// The answer of `GET /v1/attainment` and `zhibiao attainment --json`.
#[derive(Debug, Serialize)]
pub struct AttainmentList<'a> {
    pub as_of: Period,
    pub year: u16,
    pub count: usize,
    pub attainment: &'a [AttainmentView<'a>],
}

/// What a row says to a person besides its figures: its group's name (from the plans),
/// its sentence in the request's language, and the plan's quote when asked for
/// (`?include=source`). Built once per answer.
#[derive(Debug, Clone)]
pub struct RowText {
    pub lang: crate::text::Lang,
    /// Every plan: the group names come from the plan of a row's target, else from its
    /// region's plan of the year.
    pub plans: Vec<crate::domain::Plan>,
    pub source: bool,
}

impl RowText {
    /// Chinese sentences, no quote.
    pub fn new(plans: Vec<crate::domain::Plan>) -> RowText {
        RowText {
            lang: crate::text::Lang::default(),
            plans,
            source: false,
        }
    }

    /// The name of group `key` of `region`'s plan `plan` (or its plan of `year`, or
    /// any plan with that group), else the key itself.
    pub fn group_name(&self, key: &str, region: &str, year: u16, plan: Option<&str>) -> String {
        let by_id = plan.and_then(|id| self.plans.iter().find(|p| p.id.as_str() == id));
        let of_region = || {
            self.plans
                .iter()
                .filter(|p| p.region == region && p.year <= year)
                .max_by_key(|p| p.year)
        };
        by_id
            .and_then(|p| p.group(key))
            .or_else(|| of_region().and_then(|p| p.group(key)))
            .or_else(|| self.plans.iter().find_map(|p| p.group(key)))
            .map_or_else(|| key.to_string(), |g| g.name.clone())
    }
}

/// One row of attainment, with the indicator's names for people and dashboards.
#[derive(Debug, Serialize)]
pub struct AttainmentView<'a> {
    pub indicator: &'a IndicatorId,
    pub name: &'a str,
    pub group: &'a str,
    /// The group's name in the plan (重点民生保障仗).
    pub group_name: String,
    pub region: &'a str,
    pub code: &'a str,
    pub unit: &'a str,
    pub kind: crate::domain::Kind,
    pub direction: crate::domain::Direction,
    /// How often figures are expected (`monthly`, `quarterly`, `annual`).
    pub frequency: crate::domain::Frequency,
    pub lead_units: &'a [String],
    pub year: u16,
    pub as_of: Period,
    pub actual: Option<f64>,
    pub actual_period: Option<Period>,
    pub data_lag_months: Option<i32>,
    pub target: Option<TargetView>,
    /// What the row leads with: `completion`, `allowance`, `deviation`, `attained` or
    /// `duty` (docs/methodology.md § Headlines).
    pub headline: Option<crate::engine::Headline>,
    /// The row in one sentence, as a bulletin says it: “增长4.7%，低于目标3.3个百分点；
    /// 下半年需达11.3%”.
    pub message: Option<String>,
    pub scheduled_pace: Option<f64>,
    pub expected: Option<f64>,
    /// 完成率, only where it is one (a cumulative count, amount or list with a floor).
    pub attainment: Option<f64>,
    pub deviation: Option<f64>,
    pub pace_gap: Option<f64>,
    pub year_end_gap: Option<f64>,
    /// Under a cumulative ceiling: what is left of the year's allowance (尚余).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowance: Option<f64>,
    /// For an ordinal level (water class, rank): attained or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attained: Option<bool>,
    pub required_rest_of_year: Option<f64>,
    /// `time_weighted`, `base_weighted` or `profile_weighted`: how the rest of the year
    /// was weighted.
    pub catch_up_method: Option<crate::engine::CatchUp>,
    /// For a count, amount or list: the next reporting period …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_period: Option<crate::domain::Period>,
    /// … and its share of what the year still needs (by the profile, else evenly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_next_period: Option<f64>,
    /// `false` when the rest of the year would need more than is plausible.
    pub reachable: Option<bool>,
    pub projection: Option<f64>,
    /// A per-period duty's periods, each met or missed.
    #[serde(skip_serializing_if = "<[crate::engine::DutyPeriod]>::is_empty")]
    pub duty: &'a [crate::engine::DutyPeriod],
    pub status: Status,
    pub status_label: &'static str,
    /// Whether the figure due by the reporting date is in, overdue (逾期未报) or not
    /// yet due (未到报送期).
    pub reporting: Option<ReportingView>,
    // The comparison fields are left out when they carry nothing, as for most rows of a
    // county's catalogue: a whole-catalogue answer stays about a sixth smaller.
    /// Under `plan_and_benchmark`, the status by the plan alone when the benchmark
    /// changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_status: Option<Status>,
    #[serde(skip_serializing_if = "<[BenchmarkGap]>::is_empty")]
    pub benchmarks: &'a [BenchmarkGap],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmark_met: Option<bool>,
    /// Place among the regions under the same parent that share the code (dense rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_of: Option<usize>,
    /// e.g. 居全市第3位（共7个）
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_label: Option<&'a str>,
    /// The plan's words for the target, with `?include=source`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a crate::domain::Source>,
}

impl<'a> AttainmentView<'a> {
    pub fn new(ind: &'a Indicator, a: &'a Attainment, text: &RowText) -> Self {
        AttainmentView {
            indicator: &ind.id,
            name: &ind.name,
            group: &ind.group,
            group_name: text.group_name(
                &ind.group,
                &ind.region,
                a.year,
                a.target
                    .as_ref()
                    .and_then(|t| t.plan.as_ref())
                    .map(|e| e.plan.as_str()),
            ),
            region: &ind.region,
            code: &ind.code,
            unit: &ind.unit,
            kind: ind.kind,
            direction: ind.direction,
            frequency: ind.frequency,
            lead_units: &ind.lead_units,
            year: a.year,
            as_of: a.as_of,
            actual: a.actual,
            actual_period: a.actual_period,
            data_lag_months: a.data_lag_months,
            target: a.target.as_ref().map(|t| TargetView::new(ind, t)),
            headline: a.headline,
            message: crate::engine::headline::situation(text.lang, ind, a),
            scheduled_pace: tidy(a.scheduled_pace),
            expected: tidy(a.expected),
            attainment: tidy(a.attainment),
            deviation: tidy(a.deviation),
            pace_gap: tidy(a.pace_gap),
            year_end_gap: tidy(a.year_end_gap),
            allowance: tidy(a.allowance),
            attained: a.attained,
            required_rest_of_year: tidy(a.required_rest_of_year),
            catch_up_method: a.catch_up_method,
            next_period: a.next_period,
            required_next_period: tidy(a.required_next_period),
            reachable: a.reachable,
            projection: tidy(a.projection),
            duty: &a.duty,
            status: a.status,
            status_label: a.status.label_zh(),
            reporting: a.reporting.map(ReportingView::new),
            plan_status: a.plan_status,
            benchmarks: &a.benchmarks,
            benchmark_met: a.benchmark_met,
            rank: a.rank.as_ref().map(|r| r.rank),
            rank_of: a.rank.as_ref().map(|r| r.of),
            rank_label: a.rank.as_ref().map(|r| r.label.as_str()),
            source: text.source.then_some(&ind.source),
        }
    }
}

/// One alert as answered: the engine's alert with its group's name, its indicator's
/// frequency, its sentence in the request's language and, with `?include=source`, the
/// plan's quote.
#[derive(Debug, Serialize)]
pub struct AlertView<'a> {
    /// `pace` or `overdue`.
    pub kind: &'static str,
    pub indicator: &'a IndicatorId,
    pub name: &'a str,
    pub region: &'a str,
    pub group: &'a str,
    pub group_name: String,
    pub frequency: crate::domain::Frequency,
    pub lead_units: &'a [String],
    pub status: Status,
    pub severity: crate::engine::alerts::Severity,
    pub since: Period,
    pub periods_lagging: usize,
    pub escalated: bool,
    pub actual: Option<f64>,
    pub actual_period: Option<Period>,
    pub deviation: Option<f64>,
    pub pace_gap: Option<f64>,
    pub year_end_gap: Option<f64>,
    pub required_rest_of_year: Option<f64>,
    pub due: Option<chrono::NaiveDate>,
    pub days_overdue: Option<i64>,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a crate::domain::Source>,
}

impl<'a> AlertView<'a> {
    /// The view of `a` at `year`; `ind` is its indicator, for the quote.
    pub fn new(
        a: &'a crate::engine::alerts::Alert,
        ind: Option<&'a Indicator>,
        year: u16,
        text: &RowText,
    ) -> Self {
        AlertView {
            kind: a.kind,
            indicator: &a.indicator,
            name: &a.name,
            region: &a.region,
            group: &a.group,
            group_name: text.group_name(&a.group, &a.region, year, None),
            frequency: a.frequency,
            lead_units: &a.lead_units,
            status: a.status,
            severity: a.severity,
            since: a.since,
            periods_lagging: a.periods_lagging,
            escalated: a.escalated,
            actual: a.actual,
            actual_period: a.actual_period,
            deviation: a.deviation,
            pace_gap: a.pace_gap,
            year_end_gap: a.year_end_gap,
            required_rest_of_year: a.required_rest_of_year,
            due: a.due,
            days_overdue: a.days_overdue,
            message: a.message_in(text.lang),
            source: if text.source {
                ind.map(|i| &i.source)
            } else {
                None
            },
        }
    }
}

/// Where a row stands in the reporting calendar.
#[derive(Debug, Serialize)]
pub struct ReportingView {
    /// The reporting date it is judged on.
    pub on: chrono::NaiveDate,
    /// The figure in question and when it is (or was) due.
    pub period: Period,
    pub due: chrono::NaiveDate,
    /// `received`, `overdue` or `not_due`.
    pub state: crate::engine::calendar::ReportState,
    /// 已报送, 逾期未报 or 未到报送期.
    pub label: &'static str,
}

impl ReportingView {
    pub fn new(r: crate::engine::calendar::Reporting) -> Self {
        ReportingView {
            on: r.on,
            period: r.period,
            due: r.due,
            state: r.state,
            label: r.state.label_zh(),
        }
    }
}

/// One entry of a reading's history.
#[derive(Debug, Serialize)]
pub struct RevisionView<'a> {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub by: &'a str,
    /// `created`, `revised` or `withdrawn`.
    pub action: &'static str,
    pub old: Option<ReadingView<'a>>,
    pub new: Option<ReadingView<'a>>,
    pub reason: Option<&'a str>,
    /// The checks this revision failed and the explanation it was accepted with.
    pub quality: Option<&'a crate::domain::QualityNote>,
}

impl<'a> RevisionView<'a> {
    pub fn new(seq: u64, rec: &'a AuditRecord) -> Option<Self> {
        let Change::Reading {
            indicator,
            period,
            old,
            new,
        } = &rec.change
        else {
            return None;
        };
        let action = match (old, new) {
            (None, _) => "created",
            (Some(_), Some(_)) => "revised",
            (Some(_), None) => "withdrawn",
        };
        Some(RevisionView {
            seq,
            at: rec.at,
            by: &rec.actor,
            action,
            old: old
                .as_ref()
                .map(|r| ReadingView::new(indicator, *period, r)),
            new: new
                .as_ref()
                .map(|r| ReadingView::new(indicator, *period, r)),
            reason: rec.reason.as_deref(),
            quality: rec.quality.as_ref(),
        })
    }
}
