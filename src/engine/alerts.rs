//! Alerts (预警) and the monthly-bulletin summary, derived from attainment. Pure, like
//! the rest of the engine.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{evaluate, tidy, Attainment, Status};
use crate::domain::{Group as PlanGroup, Indicator, IndicatorId, Period, Target};
use crate::text::{sentence, Lang};

/// A number as a bulletin prints it (defined in [`crate::text::fmt_num`]).
pub use crate::text::fmt_num;

pub use crate::domain::Severity;

impl Severity {
    /// The severity of a status, if it calls for an alert.
    pub fn of(status: Status) -> Option<Severity> {
        match status {
            Status::SeverelyBehind | Status::Missed => Some(Severity::Critical),
            Status::Behind => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// One lagging indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `pace`: behind the plan; `overdue`: a figure past its due date with no reading
    /// (催报).
    pub kind: &'static str,
    pub indicator: IndicatorId,
    pub name: String,
    pub region: String,
    /// The key of the indicator's group in the plan of the year.
    pub group: String,
    pub lead_units: Vec<String>,
    pub status: Status,
    pub severity: Severity,
    /// The first period of the current run of periods that were not on track.
    pub since: Period,
    /// How many reported periods that run spans.
    pub periods_lagging: usize,
    /// Whether the severity was raised to critical because the run reached the
    /// indicator's `escalate_after` (三亚: 两个月连续未完成 → 红).
    pub escalated: bool,
    pub actual: Option<f64>,
    pub actual_period: Option<Period>,
    pub deviation: Option<f64>,
    pub pace_gap: Option<f64>,
    pub year_end_gap: Option<f64>,
    pub required_rest_of_year: Option<f64>,
    /// Overdue alerts: when the oldest missing figure was due, and how many days ago.
    pub due: Option<chrono::NaiveDate>,
    pub days_overdue: Option<i64>,
    /// One sentence in Chinese, as a county notice would say it.
    pub message: String,
    /// The same sentence in English, for answers asked in English.
    #[serde(skip)]
    pub message_en: String,
    /// How often the indicator's figures are expected.
    pub frequency: crate::domain::Frequency,
}

impl Alert {
    /// The sentence in `lang`.
    pub fn message_in(&self, lang: Lang) -> &str {
        if lang.is_en() {
            &self.message_en
        } else {
            &self.message
        }
    }
}

/// The alert for one indicator at `as_of`, or `None` when it is not lagging.
///
/// `since` walks back over the year's readings at or before `as_of`: the run of
/// reported periods whose status was behind, severely behind or missed.
pub fn alert(
    indicator: &Indicator,
    target: Option<&Target>,
    readings: &[(Period, f64)],
    as_of: Period,
) -> Option<Alert> {
    let a = evaluate(indicator, target, readings, as_of);
    alert_from(indicator, target, readings, &a)
}

/// [`alert`] for an attainment already evaluated at its `as_of` (and perhaps compared
/// with benchmarks, see [`super::compare`]). Earlier periods of the run are judged on
/// the plan alone.
///
/// The severity follows the status (behind: warning; severely behind or missed:
/// critical), and rises to critical once the run reaches `escalate_after` periods.
pub fn alert_from(
    indicator: &Indicator,
    target: Option<&Target>,
    readings: &[(Period, f64)],
    a: &Attainment,
) -> Option<Alert> {
    let as_of = a.as_of;
    let base = Severity::of(a.status)?;
    let current = a.actual_period?;
    let mut periods: Vec<Period> = readings
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| p.year() == as_of.year() && *p <= current)
        .collect();
    periods.sort();
    periods.dedup();
    let mut since = current;
    let mut run = 0;
    for p in periods.iter().rev() {
        let lagging = if *p == current {
            a.status.is_lagging()
        } else {
            evaluate(indicator, target, readings, *p)
                .status
                .is_lagging()
        };
        if lagging {
            since = *p;
            run += 1;
        } else {
            break;
        }
    }
    let run = run.max(1);
    let escalated = base == Severity::Warning && run >= usize::from(indicator.escalate_after);
    let severity = if escalated { Severity::Critical } else { base };
    Some(Alert {
        kind: "pace",
        indicator: indicator.id.clone(),
        name: indicator.name.clone(),
        region: indicator.region.clone(),
        group: indicator.group.clone(),
        lead_units: indicator.lead_units.clone(),
        status: a.status,
        severity,
        since,
        periods_lagging: run,
        escalated,
        actual: a.actual,
        actual_period: a.actual_period,
        deviation: tidy(a.deviation),
        pace_gap: tidy(a.pace_gap),
        year_end_gap: tidy(a.year_end_gap),
        required_rest_of_year: tidy(a.required_rest_of_year),
        due: None,
        days_overdue: None,
        message: message(indicator, a),
        message_en: message_in(Lang::En, indicator, a),
        frequency: indicator.frequency,
    })
}

/// An overdue figure is critical once it is more than this many days late.
pub const OVERDUE_CRITICAL_DAYS: i64 = 30;

/// The overdue alert of one indicator, from its figures past their due date with no
/// reading (oldest first, as [`super::calendar::overdue`] gives them). `None` when
/// nothing is overdue.
///
/// It is a warning, and critical once the oldest figure is more than
/// [`OVERDUE_CRITICAL_DAYS`] late. `since` is the oldest missing period and
/// `periods_lagging` how many are missing.
pub fn overdue_alert(indicator: &Indicator, overdue: &[super::calendar::Overdue]) -> Option<Alert> {
    let oldest = overdue.iter().max_by_key(|o| o.days_overdue)?;
    let severity = if oldest.days_overdue > OVERDUE_CRITICAL_DAYS {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let say = |lang: Lang| {
        let mut message = sentence::about(
            lang,
            name_in(lang, indicator),
            &sentence::overdue(lang, oldest.period, oldest.due, oldest.days_overdue),
        );
        if overdue.len() > 1 {
            message.push_str(sentence::comma(lang));
            message.push_str(&sentence::periods_unreported(lang, overdue.len()));
        }
        message
    };
    Some(Alert {
        kind: "overdue",
        indicator: indicator.id.clone(),
        name: indicator.name.clone(),
        region: indicator.region.clone(),
        group: indicator.group.clone(),
        lead_units: indicator.lead_units.clone(),
        status: Status::NoData,
        severity,
        since: oldest.period,
        periods_lagging: overdue.len(),
        escalated: false,
        actual: None,
        actual_period: None,
        deviation: None,
        pace_gap: None,
        year_end_gap: None,
        required_rest_of_year: None,
        due: Some(oldest.due),
        days_overdue: Some(oldest.days_overdue),
        message: say(Lang::default()),
        message_en: say(Lang::En),
        frequency: indicator.frequency,
    })
}

/// Orders alerts worst first: critical before warning, then missed and severely behind
/// before behind, then the larger shortfall first; alerts alike in all of these keep
/// the order they came in (the plan's order, from the board).
pub fn sort_worst_first(alerts: &mut [Alert]) {
    fn rank(s: Status) -> u8 {
        match s {
            Status::Missed => 0,
            Status::SeverelyBehind => 1,
            _ => 2,
        }
    }
    fn shortfall(a: &Alert) -> f64 {
        match a.pace_gap {
            Some(g) => -g,
            None => a.deviation.map_or(0.0, f64::abs),
        }
    }
    alerts.sort_by(|a, b| {
        (a.severity, rank(a.status))
            .cmp(&(b.severity, rank(b.status)))
            .then(shortfall(b).total_cmp(&shortfall(a)))
    });
}

/// The Chinese sentence for a lagging indicator, e.g.
/// "科技型中小企业入库：完成42.0%，低于序时进度8.0个百分点，全年还需87家". The clauses are
/// worded in [`crate::text::sentence`].
pub fn message(ind: &Indicator, a: &Attainment) -> String {
    message_in(Lang::default(), ind, a)
}

/// [`message`] in `lang`.
pub fn message_in(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    let mut s = sentence::about(lang, name_in(lang, ind), &plan_message(lang, ind, a));
    // What county reports add: 高于全市平均1.2个百分点，居全市第3位（共7个）.
    if let Some(m) = a.benchmarks.first().and_then(|b| b.message.as_ref()) {
        s.push_str(sentence::comma(lang));
        s.push_str(m);
    }
    if let Some(r) = &a.rank {
        s.push_str(sentence::comma(lang));
        s.push_str(&r.label);
    }
    s
}

/// The indicator's name in `lang`: its English name when it has one.
fn name_in(lang: Lang, ind: &Indicator) -> &str {
    if lang.is_en() && !ind.name_en.is_empty() {
        &ind.name_en
    } else {
        &ind.name
    }
}

/// What the plan says of a lagging indicator, without its name: the headline of its
/// kind (see [`super::headline`]) and what the rest of the year needs.
fn plan_message(lang: Lang, ind: &Indicator, a: &Attainment) -> String {
    if a.plan_status.is_some() {
        // On pace by the plan, behind only because the benchmark is not met; the
        // benchmark sentence follows.
        return sentence::pace_met_benchmark_missed(lang, a.actual.unwrap_or(0.0), &ind.unit);
    }
    let mut s = super::headline::sentence(lang, ind, a).unwrap_or_default();
    for n in super::headline::needs(lang, ind, a) {
        s.push_str(sentence::comma(lang));
        s.push_str(&n);
    }
    s
}

/// Counts by status, in a fixed order.
pub type StatusCounts = BTreeMap<&'static str, usize>;

fn empty_counts() -> StatusCounts {
    Status::ALL.iter().map(|s| (s.as_str(), 0)).collect()
}

/// A lagging indicator as the bulletin lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Lagging {
    pub indicator: IndicatorId,
    pub name: String,
    pub status: Status,
    pub lead_units: Vec<String>,
    pub required_rest_of_year: Option<f64>,
}

/// How many rows' figures are in, overdue (逾期未报) or not yet due (未到报送期) on the
/// reporting date: an absent figure is not always a missing one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReportingCounts {
    pub received: usize,
    pub overdue: usize,
    pub not_due: usize,
}

impl ReportingCounts {
    fn add(&mut self, a: &Attainment) {
        use super::calendar::ReportState;
        match a.reporting.map(|r| r.state) {
            Some(ReportState::Received) => self.received += 1,
            Some(ReportState::Overdue) => self.overdue += 1,
            Some(ReportState::NotDue) => self.not_due += 1,
            None => {}
        }
    }
}

/// One group (a group of the plan, or a lead unit) of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub key: String,
    pub name: String,
    pub total: usize,
    pub counts: StatusCounts,
    pub reporting: ReportingCounts,
    pub lagging: Vec<Lagging>,
}

/// The shape of the monthly bulletin (月通报): counts by status per group of the plan and per lead
/// unit, with the lagging indicators of each.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub as_of: Period,
    pub year: u16,
    pub total: usize,
    pub counts: StatusCounts,
    pub reporting: ReportingCounts,
    /// The plan's groups, in its order.
    pub groups: Vec<Group>,
    pub lead_units: Vec<Group>,
}

/// Builds the summary from evaluated rows; `groups` are the plan's, in its order.
pub fn summary(as_of: Period, rows: &[(Indicator, Attainment)], groups: &[PlanGroup]) -> Summary {
    let mut counts = empty_counts();
    let mut reporting = ReportingCounts::default();
    let mut battles: BTreeMap<(usize, String), Group> = BTreeMap::new();
    let mut units: BTreeMap<String, Group> = BTreeMap::new();
    for (ind, a) in rows {
        *counts.entry(a.status.as_str()).or_default() += 1;
        reporting.add(a);
        let lag = a.status.is_lagging().then(|| Lagging {
            indicator: ind.id.clone(),
            name: ind.name.clone(),
            status: a.status,
            lead_units: ind.lead_units.clone(),
            required_rest_of_year: tidy(a.required_rest_of_year),
        });
        let add = |g: &mut Group| {
            g.total += 1;
            *g.counts.entry(a.status.as_str()).or_default() += 1;
            g.reporting.add(a);
            if let Some(l) = &lag {
                g.lagging.push(l.clone());
            }
        };
        let rank = groups
            .iter()
            .position(|g| g.key == ind.group)
            .unwrap_or(groups.len());
        add(battles
            .entry((rank, ind.group.clone()))
            .or_insert_with(|| Group {
                key: ind.group.clone(),
                name: groups
                    .get(rank)
                    .map_or_else(|| ind.group.clone(), |g| g.name.clone()),
                total: 0,
                counts: empty_counts(),
                reporting: ReportingCounts::default(),
                lagging: vec![],
            }));
        for u in &ind.lead_units {
            add(units.entry(u.clone()).or_insert_with(|| Group {
                key: u.clone(),
                name: u.clone(),
                total: 0,
                counts: empty_counts(),
                reporting: ReportingCounts::default(),
                lagging: vec![],
            }));
        }
    }
    Summary {
        as_of,
        year: as_of.year(),
        total: rows.len(),
        counts,
        reporting,
        groups: battles.into_values().collect(),
        lead_units: units.into_values().collect(),
    }
}
