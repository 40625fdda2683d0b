//! The dashboard served at `/`: every indicator of the plan, grouped
//! by the plan's groups (the 六仗 of Taojiang's plan) in the plan's order and, within a
//! group, by the plan's 序号, with counts by status and by reporting state (逾期未报 /
//! 未到报送期), progress bars, status badges, sparklines and the marks of overdue
//! figures (催报).
//!
//! It is what the county's monthly meeting looks at and prints, so every choice is a
//! query parameter a link or a plain form sends (no script needed): one group alone
//! (`group=`), lagging rows first (`sort=lagging`), only the lagging or overdue rows
//! (`show=`), the month from a list of the months that hold figures, written in
//! Chinese by the server whatever the browser's language. Rows whose figures are not
//! yet due are folded into a count at the end of their group, so that they do not
//! bury the lagging ones.
//!
//! One page per file: the indicator page is [`super::indicator_page`]; what both pages
//! share is in [`super::html`].

use std::fmt::Write as _;

use maud::{html, Markup};

use super::html::{
    dashboard_title, dashboard_url, indicator_url, page, status_badge, with_unit, Viewer, LANG,
};
use super::{chart, Board, BoardRow};
use crate::domain::{DomainError, Group, Indicator, Period, Target};
use crate::engine::calendar::ReportState;
use crate::engine::{calendar, headline, Attainment, Status};
use crate::text::{self, sentence};

/// Every status, worst first: the order of counts, filters and legends.
pub const STATUSES: [Status; 7] = Status::ALL;

/// Width and height of a dashboard row's sparkline.
const SPARK_W: u32 = 96;
const SPARK_H: u32 = 24;

/// A status from its API name (`behind`, `on_track`, …).
pub fn parse_status(s: &str) -> Option<Status> {
    STATUSES.iter().copied().find(|st| st.as_str() == s)
}

/// How the rows of a group are ordered (`sort=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// The plan's order, its 序号 (`plan`, the default).
    #[default]
    Plan,
    /// 滞后优先 (`lagging`): 严重滞后, 未完成, 未达序时进度 (worst first, as
    /// [`Status::ALL`] ranks them), then the rows whose figure is 逾期未报, then the
    /// rest; the plan's order within each.
    Lagging,
}

impl Sort {
    pub const ALL: [Sort; 2] = [Sort::Plan, Sort::Lagging];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Plan => "plan",
            Sort::Lagging => "lagging",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Sort::Plan => "按方案顺序",
            Sort::Lagging => "滞后优先",
        }
    }
}

/// Which rows are shown (`show=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Show {
    /// Every row (`all`, the default); rows with no figure that is due yet (未到报送期)
    /// are folded at the end of their group.
    #[default]
    All,
    /// 只看滞后 (`lagging`): 严重滞后, 未完成 and 未达序时进度.
    Lagging,
    /// 只看逾期未报 (`overdue`): rows whose figure due by the reporting date is not in.
    Overdue,
    /// 隐藏暂无数据 (`reported`): rows with a figure.
    Reported,
}

impl Show {
    pub const ALL: [Show; 4] = [Show::All, Show::Lagging, Show::Overdue, Show::Reported];

    pub fn as_str(self) -> &'static str {
        match self {
            Show::All => "all",
            Show::Lagging => "lagging",
            Show::Overdue => "overdue",
            Show::Reported => "reported",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Show::All => "全部指标",
            Show::Lagging => "只看滞后",
            Show::Overdue => "只看逾期未报",
            Show::Reported => "隐藏暂无数据",
        }
    }

    fn keeps(self, row: &BoardRow) -> bool {
        match self {
            Show::All => true,
            Show::Lagging => row.attainment.status.is_lagging(),
            Show::Overdue => report_state(row) == Some(ReportState::Overdue),
            Show::Reported => row.attainment.status != Status::NoData,
        }
    }
}

/// The reporting state of a row's figure on the reporting date (逾期未报, 未到报送期).
fn report_state(row: &BoardRow) -> Option<ReportState> {
    row.attainment.reporting.map(|r| r.state)
}

/// A row with no figure and none due yet (未到报送期, whether or not it has a target):
/// folded at the end of its group, so that the folded rows are the ones counted.
fn not_due(row: &BoardRow) -> bool {
    report_state(row) == Some(ReportState::NotDue)
}

/// The row's 序号 in its plan (`None` for a row the plan does not number).
fn position(row: &BoardRow) -> Option<u32> {
    row.attainment
        .target
        .as_ref()
        .and_then(|t| t.plan.as_ref())
        .map(|e| e.position)
}

/// Where a row goes in the 滞后优先 order: the lagging statuses worst first, then an
/// overdue figure, then the rest.
fn lag_rank(row: &BoardRow) -> usize {
    let st = row.attainment.status;
    if st.is_lagging() {
        STATUSES.iter().position(|s| *s == st).unwrap_or(0)
    } else if report_state(row) == Some(ReportState::Overdue) {
        STATUSES.len()
    } else {
        STATUSES.len() + 1
    }
}

/// Orders one group's rows: by the plan's 序号 (rows it does not number last, by id),
/// lagging ones first under [`Sort::Lagging`]. The sort is stable.
pub fn order_rows(rows: &mut [&BoardRow], sort: Sort) {
    let plan = |r: &BoardRow| (position(r).unwrap_or(u32::MAX), r.indicator.id.clone());
    match sort {
        Sort::Plan => rows.sort_by_cached_key(|r| plan(r)),
        Sort::Lagging => rows.sort_by_cached_key(|r| (lag_rank(r), plan(r))),
    }
}

/// The filters and choices of the dashboard (`/?group=&lead_unit=&status=&sort=&show=`;
/// `battle=` is read as `group=`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardQuery {
    /// A group key of the plan shown (a group's name is accepted and resolved by
    /// [`DashboardQuery::resolve`]): only that group's section is rendered.
    pub group: Option<String>,
    pub lead_unit: Option<String>,
    pub status: Option<Status>,
    pub sort: Sort,
    pub show: Show,
    /// The reporting date asked for (`on=`), kept by every link and the form; without
    /// it the server counts on today.
    pub on: Option<chrono::NaiveDate>,
}

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl DashboardQuery {
    /// Parses the query parameters as the filter form sends them. An absent or empty
    /// value means "all" (the form's first option sends `group=`).
    pub fn parse(
        group: Option<&str>,
        lead_unit: Option<&str>,
        status: Option<&str>,
    ) -> Result<DashboardQuery, DomainError> {
        let group = nonempty(group).map(str::to_string);
        let status = nonempty(status)
            .map(|s| {
                parse_status(s).ok_or_else(|| {
                    DomainError::invalid(
                        "status",
                        format!(
                            "'{s}' is not one of: {}",
                            STATUSES.map(Status::as_str).join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(DashboardQuery {
            group,
            lead_unit: nonempty(lead_unit).map(str::to_string),
            status,
            ..Default::default()
        })
    }

    /// Takes the order (`sort=plan|lagging`) and the rows shown
    /// (`show=all|lagging|overdue|reported`); absent or empty is the default.
    pub fn with_view(
        mut self,
        sort: Option<&str>,
        show: Option<&str>,
    ) -> Result<DashboardQuery, DomainError> {
        fn choice<T: Copy>(
            field: &str,
            what: &str,
            v: Option<&str>,
            all: &[T],
            name: impl Fn(T) -> &'static str,
            label: impl Fn(T) -> &'static str,
        ) -> Result<Option<T>, DomainError> {
            let Some(v) = nonempty(v) else {
                return Ok(None);
            };
            all.iter()
                .copied()
                .find(|x| name(*x) == v)
                .map(Some)
                .ok_or_else(|| {
                    let list: Vec<String> = all
                        .iter()
                        .map(|x| format!("{}（{}）", name(*x), label(*x)))
                        .collect();
                    DomainError::invalid(
                        field,
                        format!("“{v}”不是{what}，可选：{}", list.join("、")),
                    )
                })
        }
        if let Some(s) = choice(
            "sort",
            "排序方式",
            sort,
            &Sort::ALL,
            Sort::as_str,
            Sort::label_zh,
        )? {
            self.sort = s;
        }
        if let Some(s) = choice(
            "show",
            "显示范围",
            show,
            &Show::ALL,
            Show::as_str,
            Show::label_zh,
        )? {
            self.show = s;
        }
        Ok(self)
    }

    /// Checks the group against the board's groups, taking a group's name for its key.
    pub fn resolve(mut self, board: &Board) -> Result<DashboardQuery, DomainError> {
        if let Some(g) = self.group.take() {
            let found = board
                .groups
                .iter()
                .find(|x| x.key == g)
                .or_else(|| board.groups.iter().find(|x| x.name == g));
            match found {
                Some(x) => self.group = Some(x.key.clone()),
                None => {
                    return Err(DomainError::invalid(
                        "group",
                        format!(
                            "“{g}”不是本方案的板块，可选：{}",
                            board
                                .groups
                                .iter()
                                .map(|x| format!("{}（{}）", x.key, x.name))
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    ))
                }
            }
        }
        Ok(self)
    }

    /// Whether a row passes the group and lead-unit filters (not the status filter).
    fn in_scope(&self, row: &BoardRow) -> bool {
        self.group
            .as_ref()
            .is_none_or(|g| &row.indicator.group == g)
            && self
                .lead_unit
                .as_ref()
                .is_none_or(|u| row.indicator.lead_units.iter().any(|l| l == u))
    }

    /// Whether a row passes every filter.
    pub fn matches(&self, row: &BoardRow) -> bool {
        self.in_scope(row)
            && self.status.is_none_or(|s| row.attainment.status == s)
            && self.show.keeps(row)
    }

    /// Whether a shown row is folded into its group's count of 未到报送期 rows: only
    /// in the default view, and never when the status filter asks for them.
    fn folds(&self, row: &BoardRow) -> bool {
        self.show == Show::All && self.status.is_none() && not_due(row)
    }

    /// The dashboard's address for this view at `as_of` (unescaped): every filter and
    /// every choice that is not the default.
    pub fn url(&self, as_of: Period) -> String {
        let mut url = dashboard_url(
            as_of,
            self.group.as_deref(),
            self.lead_unit.as_deref(),
            self.status,
        );
        if self.sort != Sort::Plan {
            let _ = write!(url, "&sort={}", self.sort.as_str());
        }
        if self.show != Show::All {
            let _ = write!(url, "&show={}", self.show.as_str());
        }
        if let Some(on) = self.on {
            let _ = write!(url, "&on={on}");
        }
        url
    }
}

/// The target cell of a dashboard row: a relative target still awaiting its figure
/// reads `待定`, with its note as a tooltip.
fn short_target(target: Option<&Target>, unit: &str) -> Markup {
    let full = text::target_words(LANG, target, unit);
    html! {
        @if target.is_some_and(|t| t.value.is_none()) {
            span.target.pending title={ "目标：" (full) } { "待定" }
        } @else {
            span.target title="目标" { (full) }
        }
    }
}

/// Where the progress bar's mark sits: the scheduled pace (序时进度).
fn pace_mark(a: &Attainment) -> Option<f64> {
    a.scheduled_pace
}

/// The progress cell. A 完成率 (a cumulative count, amount or list with a floor) is a
/// bar: fill = attainment clamped to 0–100% (with an "over" marker beyond 100%), a
/// vertical mark at the scheduled pace, and the figure as text. Every other kind leads
/// with its headline sentence (“增长4.7%，低于目标3.3个百分点”, “累计2起，控制在5起以内，
/// 尚余3起”), so that no ceiling, growth rate or class is drawn as progress; an absent
/// figure says whether it is 逾期未报 or 未到报送期.
fn progress_bar(ind: &Indicator, a: &Attainment) -> Markup {
    let Some(att) = a.attainment.filter(|v| v.is_finite()) else {
        if let Some(s) = headline::sentence(LANG, ind, a) {
            return html! { span.headline { (s) } };
        }
        if let Some(r) = a.reporting.filter(|_| a.status == Status::NoData) {
            let title = format!(
                "{}数据应于{}前报送",
                text::year_month(LANG, r.period),
                text::date(LANG, r.due, None)
            );
            let state = match r.state {
                calendar::ReportState::Overdue => "overdue",
                calendar::ReportState::NotDue => "not-due",
                calendar::ReportState::Received => "received",
            };
            return html! {
                span class={ "na report-" (state) } title=(title) { (r.state.label_zh()) }
            };
        }
        return html! { span.na title="未设目标或暂无数据" { "—" } };
    };
    let fill = (att * 100.0).clamp(0.0, 100.0);
    let mark = pace_mark(a).map(|m| (m * 100.0).clamp(0.0, 100.0));
    let mut label = format!("完成率 {}", text::percent(att));
    if let Some(m) = pace_mark(a) {
        let _ = write!(label, "，序时进度 {}", text::percent(m));
    }
    let over = if att > 1.0 { " over" } else { "" };
    html! {
        div class={ "bar status-" (a.status.as_str()) (over) } role="img" aria-label=(label)
            title=(label) {
            span.bar-fill style=(format!("width:{fill:.1}%")) {}
            @if let Some(m) = mark {
                span.bar-mark style=(format!("left:{m:.1}%")) {}
            }
        }
        span.pct { (text::percent(att)) }
    }
}

/// Counts of `rows` by status, worst first.
fn counts<'a>(rows: impl Iterator<Item = &'a BoardRow>) -> [(Status, usize); 7] {
    let mut out = STATUSES.map(|s| (s, 0));
    for r in rows {
        if let Some(slot) = out.iter_mut().find(|(s, _)| *s == r.attainment.status) {
            slot.1 += 1;
        }
    }
    out
}

fn options<T: Copy + PartialEq>(
    all: &[T],
    selected: Option<T>,
    value: impl Fn(T) -> String,
    label: impl Fn(T) -> String,
) -> Markup {
    html! {
        @for &x in all {
            option value=(value(x)) selected[selected == Some(x)] { (label(x)) }
        }
    }
}

/// The month choices: the months of the year that hold figures, written 2023年6月 by
/// the server (never the browser's month picker, which speaks the browser's
/// language), with `as_of` among them even when it holds none.
fn month_options(as_of: Period, periods: &[Period]) -> Markup {
    let mut months: Vec<Period> = periods
        .iter()
        .copied()
        .filter(|p| p.year() == as_of.year())
        .collect();
    if !months.contains(&as_of) {
        months.push(as_of);
    }
    months.sort();
    months.dedup();
    options(
        &months,
        Some(as_of),
        |p| p.to_string(),
        |p| text::year_month(LANG, p),
    )
}

fn filter_form(
    board: &Board,
    q: &DashboardQuery,
    lead_units: &[String],
    periods: &[Period],
) -> Markup {
    let as_of = board.as_of;
    let groups: Vec<&str> = board.groups.iter().map(|g| g.key.as_str()).collect();
    let battles = options(
        &groups,
        q.group.as_deref(),
        |k| k.to_string(),
        |k| board.group_name(k).to_string(),
    );
    let statuses = options(
        &STATUSES,
        q.status,
        |s| s.as_str().into(),
        |s| s.label_zh().into(),
    );
    let mut units: Vec<&str> = lead_units.iter().map(String::as_str).collect();
    if let Some(u) = q.lead_unit.as_deref() {
        if !units.contains(&u) {
            units.push(u);
        }
    }
    let units = options(
        &units,
        q.lead_unit.as_deref(),
        str::to_string,
        str::to_string,
    );
    let sorts = options(
        &Sort::ALL,
        Some(q.sort),
        |s| s.as_str().into(),
        |s| s.label_zh().into(),
    );
    let shows = options(
        &Show::ALL,
        Some(q.show),
        |s| s.as_str().into(),
        |s| s.label_zh().into(),
    );
    html! {
        form.filters method="get" action="/" role="search" aria-label="筛选指标" {
            label { "截至月份 " select name="as_of" { (month_options(as_of, periods)) } }
            label {
                "板块 "
                select name="group" {
                    option value="" selected[q.group.is_none()] { "全部板块" }
                    (battles)
                }
            }
            label {
                "牵头单位 "
                select name="lead_unit" {
                    option value="" selected[q.lead_unit.is_none()] { "全部单位" }
                    (units)
                }
            }
            label {
                "状态 "
                select name="status" {
                    option value="" selected[q.status.is_none()] { "全部状态" }
                    (statuses)
                }
            }
            label { "排序 " select name="sort" { (sorts) } }
            label { "显示 " select name="show" { (shows) } }
            @if let Some(d) = q.on {
                input type="hidden" name="on" value=(d);
            }
            button type="submit" { "筛选" }
            a.reset href=(dashboard_url(as_of, None, None, None)) { "重置" }
        }
    }
}

/// What a link of the bar of choices stands for, as the script and the browser check
/// find it (`data-group`, `data-sort`, `data-show`).
#[derive(Clone, Copy)]
enum Choice<'a> {
    AllGroups,
    Group(&'a str),
    Sort(Sort),
    Show(Show),
}

/// One link of a bar of choices; the current one is marked.
fn choice_link(href: &str, label: &str, current: bool, choice: Choice<'_>) -> Markup {
    let (group, sort, show) = match choice {
        Choice::AllGroups => (None, None, None),
        Choice::Group(k) => (Some(k), None, None),
        Choice::Sort(s) => (None, Some(s.as_str()), None),
        Choice::Show(s) => (None, None, Some(s.as_str())),
    };
    html! {
        a.choice.on[current] href=(href) aria-current=[current.then_some("true")]
            data-group=[group] data-sort=[sort] data-show=[show] { (label) }
    }
}

/// The links between groups (全部板块 and each group of the plan, in its order) and
/// the order and rows shown: plain links keeping the other choices, so that they work
/// without the script. The print button is shown by the script.
fn view_bar(board: &Board, q: &DashboardQuery) -> Markup {
    let as_of = board.as_of;
    let all = DashboardQuery {
        group: None,
        ..q.clone()
    };
    html! {
        nav.view-bar aria-label="板块、排序与显示" {
            p.choices.group-choices {
                span.choices-label { "板块" }
                (choice_link(&all.url(as_of), "全部板块", q.group.is_none(), Choice::AllGroups))
                @for g in &board.groups {
                    @let one = DashboardQuery { group: Some(g.key.clone()), ..q.clone() };
                    (choice_link(
                        &one.url(as_of),
                        &g.name,
                        q.group.as_deref() == Some(g.key.as_str()),
                        Choice::Group(&g.key),
                    ))
                }
            }
            p.choices {
                span.choices-label { "排序" }
                @for s in Sort::ALL {
                    @let v = DashboardQuery { sort: s, ..q.clone() };
                    (choice_link(&v.url(as_of), s.label_zh(), q.sort == s, Choice::Sort(s)))
                }
                span.choices-label { "显示" }
                @for s in Show::ALL {
                    @let v = DashboardQuery { show: s, ..q.clone() };
                    (choice_link(&v.url(as_of), s.label_zh(), q.show == s, Choice::Show(s)))
                }
                button type="button" class="print-button" data-print hidden { "打印" }
            }
        }
    }
}

/// Figures past their due date with no reading (催报), as the dashboard marks them:
/// the day they were counted on and the overdue figures of that day.
#[derive(Debug, Clone, Default)]
pub struct OverdueMarks {
    pub on: Option<chrono::NaiveDate>,
    pub items: Vec<crate::engine::calendar::OverdueItem>,
}

impl OverdueMarks {
    /// The mark of one indicator's row: its most overdue figure, and how many are late.
    fn mark(&self, id: &str) -> Markup {
        let mine: Vec<_> = self.items.iter().filter(|o| o.indicator == id).collect();
        let Some(worst) = mine.iter().max_by_key(|o| o.days_overdue) else {
            return html! {};
        };
        let more = if mine.len() > 1 {
            format!(
                "{}{}",
                sentence::comma(LANG),
                sentence::periods_unreported(LANG, mine.len())
            )
        } else {
            String::new()
        };
        let title = format!(
            "{}数据应于{}前报送{more}",
            text::year_to_date(LANG, worst.period),
            text::date(LANG, worst.due, None),
        );
        // The latest note a submitter sent for a missing figure says why it is late.
        let note = mine.iter().rev().find_map(|o| o.note.as_deref());
        html! {
            " "
            span.overdue-mark title=(title) { "逾期" (worst.days_overdue) "天" }
            @if let Some(n) = note {
                " "
                span.overdue-note title={ "报送单位说明：" (n) } { "已说明" }
            }
        }
    }

    /// The section under the summary: how many figures of the indicators in `scope`
    /// (the group and lead-unit filters') are overdue, per lead unit.
    fn section(&self, scope: &[&BoardRow], units: Option<&str>) -> Markup {
        let Some(on) = self.on else {
            return html! {};
        };
        let ids: std::collections::BTreeSet<&str> =
            scope.iter().map(|r| r.indicator.id.as_str()).collect();
        let items: Vec<_> = self
            .items
            .iter()
            .filter(|o| ids.contains(o.indicator.as_str()))
            .collect();
        let mut per: std::collections::BTreeMap<&str, usize> = Default::default();
        for o in &items {
            for u in &o.lead_units {
                if units.is_none_or(|w| w == u) {
                    *per.entry(u.as_str()).or_default() += 1;
                }
            }
        }
        if per.is_empty() {
            return html! {};
        }
        html! {
            section.overdue aria-labelledby="overdue-h" {
                h2 id="overdue-h" {
                    "逾期未报 "
                    small {
                        "截至" time datetime=(on) { (text::date(LANG, on, None)) }
                        "，共" (items.len()) "项数据过了报送期限仍未报送"
                    }
                }
                ul.overdue-units {
                    @for (u, n) in &per {
                        li { (u) "：" (n) "项" }
                    }
                }
                p.hint {
                    a href={ "/v1/overdue?on=" (on) "&group=lead_unit" } { "催报清单（按牵头单位）" }
                }
            }
        }
    }
}

/// The `data-headline` of a row: which headline its figure leads with.
fn headline_name(a: &Attainment) -> &'static str {
    match a.headline {
        Some(crate::engine::Headline::Completion) => "completion",
        Some(crate::engine::Headline::Allowance) => "allowance",
        Some(crate::engine::Headline::Deviation) => "deviation",
        Some(crate::engine::Headline::Attained) => "attained",
        Some(crate::engine::Headline::Duty) => "duty",
        None => "none",
    }
}

fn dashboard_row(board: &Board, row: &BoardRow, overdue: &OverdueMarks) -> Markup {
    let ind = &row.indicator;
    let a = &row.attainment;
    let id = ind.id.as_str();
    let unit = ind.unit.as_str();
    let status = a.status.as_str();
    let no = position(row).map_or_else(String::new, |n| n.to_string());
    let report = match report_state(row) {
        Some(ReportState::Overdue) => Some("overdue"),
        Some(ReportState::NotDue) => Some("not_due"),
        Some(ReportState::Received) => Some("received"),
        None => None,
    };
    let lag = match (a.actual_period, a.data_lag_months) {
        (Some(p), Some(n)) if n > 0 => Some((p, n)),
        _ => None,
    };
    html! {
        tr.indicator-row data-indicator=(id) data-status=(status) data-headline=(headline_name(a))
            data-position=(no) data-report=[report] {
            td.no { (no) }
            th scope="row" class="name" { a href=(indicator_url(id, board.as_of)) { (ind.name) } }
            td.units { (text::list(LANG, &ind.lead_units)) }
            td.figures {
                span.actual title="实际" { (with_unit(a.actual, unit)) }
                @if let Some((p, n)) = lag {
                    " "
                    span.lag title={ "最近数据期别，滞后" (n) "个月" } {
                        "（" (text::year_to_date(LANG, p)) "）"
                    }
                }
                span.sep { " / " }
                (short_target(a.target.as_ref(), unit))
            }
            td.progress { (progress_bar(ind, a)) }
            td.state { (status_badge(a.status)) (overdue.mark(id)) }
            td class={ "trend status-" (status) } {
                (chart::sparkline(&row.series, SPARK_W, SPARK_H))
            }
        }
    }
}

fn count_list(counts: &[(Status, usize)], link: impl Fn(Status) -> Option<String>) -> Markup {
    html! {
        ul.counts {
            @for (s, n) in counts {
                @let class = format!(
                    "count status-{}{}",
                    s.as_str(),
                    if *n == 0 { " zero" } else { "" }
                );
                @let inner = html! { span.n { (n) } " " span.label { (s.label_zh()) } };
                li {
                    @if let Some(href) = link(*s) {
                        a class=(class) href=(href) { (inner) }
                    } @else {
                        span class=(class) { (inner) }
                    }
                }
            }
        }
    }
}

/// A table of rows: a group's, or its folded rows.
fn indicator_table(
    board: &Board,
    rows: &[&BoardRow],
    overdue: &OverdueMarks,
    caption: (&str, &str),
) -> Markup {
    html! {
        table.indicators {
            caption.visually-hidden { (caption.0) (caption.1) }
            colgroup {
                col.c-no; col.c-name; col.c-lead; col.c-value; col.c-bar; col.c-status; col.c-trend;
            }
            thead {
                tr {
                    th scope="col" class="no" { "序号" }
                    th scope="col" { "指标" }
                    th scope="col" { "牵头单位" }
                    th scope="col" { "实际 / 目标" }
                    th scope="col" { "完成情况 " span.hint { "（完成率，竖线为序时进度）" } }
                    th scope="col" { "状态" }
                    th scope="col" { "走势" }
                }
            }
            tbody {
                @for r in rows {
                    (dashboard_row(board, r, overdue))
                }
            }
        }
    }
}

/// The counts of rows by reporting state on the reporting date, over the filters'
/// scope: 逾期未报 (a link to those rows) and 未到报送期.
fn reporting_counts(board: &Board, q: &DashboardQuery, scope: &[&BoardRow]) -> Markup {
    let overdue = scope
        .iter()
        .filter(|r| report_state(r) == Some(ReportState::Overdue))
        .count();
    let not_due = scope
        .iter()
        .filter(|r| report_state(r) == Some(ReportState::NotDue))
        .count();
    let on = scope
        .iter()
        .find_map(|r| r.attainment.reporting.map(|x| x.on));
    let Some(on) = on else {
        return html! {};
    };
    let only_overdue = DashboardQuery {
        show: if q.show == Show::Overdue {
            Show::All
        } else {
            Show::Overdue
        },
        ..q.clone()
    };
    let zero = |n: usize| if n == 0 { " zero" } else { "" };
    html! {
        ul.counts.reporting-counts aria-label="报送情况" {
            li {
                a class={ "count report-overdue" (zero(overdue)) } data-count="overdue"
                    href=(only_overdue.url(board.as_of)) {
                    span.n { (overdue) } " " span.label { "逾期未报" }
                }
            }
            li {
                span class={ "count report-not-due" (zero(not_due)) } data-count="not_due" {
                    span.n { (not_due) } " " span.label { "未到报送期" }
                }
            }
        }
        p.hint {
            "报送情况按" time datetime=(on) { (text::date(LANG, on, None)) }
            "计：逾期未报指最近一期应报数据过了报送期限仍未报送的指标；未到报送期指本年尚无到期数据的指标，折叠在各板块末尾。"
        }
    }
}

/// One group's section: its counts, its rows shown, and its rows not yet due folded at
/// the end.
fn battle_section(
    board: &Board,
    q: &DashboardQuery,
    scope: &[&BoardRow],
    group: &Group,
    overdue: &OverdueMarks,
) -> Markup {
    let in_group: Vec<&BoardRow> = scope
        .iter()
        .copied()
        .filter(|r| r.indicator.group == group.key)
        .collect();
    let mut rows: Vec<&BoardRow> = in_group.iter().copied().filter(|r| q.matches(r)).collect();
    order_rows(&mut rows, q.sort);
    let (folded, rows): (Vec<&BoardRow>, Vec<&BoardRow>) =
        rows.into_iter().partition(|r| q.folds(r));
    let key = &group.key;
    let group_counts: Vec<(Status, usize)> = counts(in_group.iter().copied())
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    html! {
        section.battle data-battle=(key) id={ "battle-" (key) }
            aria-labelledby={ "battle-" (key) "-h" } {
            h2 id={ "battle-" (key) "-h" } {
                (group.name) " "
                small.battle-total { "显示" (rows.len() + folded.len()) "项 / 共" (in_group.len()) "项" }
            }
            (count_list(&group_counts, |_| None))
            @if rows.is_empty() && folded.is_empty() {
                p.empty { "无符合条件的指标" }
            }
            @if !rows.is_empty() {
                div.table-wrap {
                    (indicator_table(board, &rows, overdue, (&group.name, "指标完成情况")))
                }
            }
            @if !folded.is_empty() {
                details.not-due data-folded=(folded.len()) {
                    summary {
                        "未到报送期 " (folded.len()) "项 "
                        span.hint { "（本年尚无到期数据）" }
                        span.hint.fold-hint { "点击展开" }
                    }
                    div.table-wrap {
                        (indicator_table(board, &folded, overdue, (&group.name, "未到报送期的指标")))
                    }
                }
            }
        }
    }
}

/// The dashboard served at `/`: the filter form, the links between groups and views,
/// counts by status and by reporting state, then one section per group of the plan in
/// the plan's order (only the chosen group's when `group=` is given), each with its
/// rows in the plan's order or lagging first, and the rows not yet due folded at the
/// end.
///
/// `lead_units` are the choices of the lead-unit filter (normally every canonical unit
/// that leads at least one indicator); `periods` the months that hold figures (the
/// month choices: those of the board's year); `viewer` who is signed in, if anyone.
pub fn dashboard(
    board: &Board,
    q: &DashboardQuery,
    lead_units: &[String],
    periods: &[Period],
    overdue: &OverdueMarks,
    viewer: Option<&Viewer>,
) -> String {
    let as_of = board.as_of;
    let month = text::year_month(LANG, as_of);
    let title = dashboard_title(board);
    let scope: Vec<&BoardRow> = board
        .rows
        .iter()
        .map(|r| &**r)
        .filter(|r| q.in_scope(r))
        .collect();
    let shown = scope.iter().filter(|r| q.matches(r)).count();

    // Summary: counts over the group and lead-unit filters; each links to its status.
    let scope_label = match (q.group.as_deref(), q.lead_unit.as_deref()) {
        (None, None) => "全部指标".to_string(),
        (b, u) => [
            b.map(|b| board.group_name(b).to_string()),
            u.map(str::to_string),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    };
    let view = match (q.sort, q.show) {
        (Sort::Plan, Show::All) => String::new(),
        (Sort::Plan, s) => format!("，{}", s.label_zh()),
        (o, Show::All) => format!("，{}", o.label_zh()),
        (o, s) => format!("，{}，{}", s.label_zh(), o.label_zh()),
    };
    let groups = board
        .groups
        .iter()
        .filter(|g| q.group.as_deref().is_none_or(|k| k == g.key));
    let status_links = count_list(&counts(scope.iter().copied()), |s| {
        let v = DashboardQuery {
            status: (q.status != Some(s)).then_some(s),
            ..q.clone()
        };
        Some(v.url(as_of))
    });
    let body = html! {
        header.page-header {
            h1 { (title) }
            p.meta {
                "数据截至 " time datetime=(as_of) { (month) }
                @if !board.document.is_empty() {
                    " · " span.document { (board.document) }
                }
            }
        }
        main {
            (filter_form(board, q, lead_units, periods))
            (view_bar(board, q))
            section.summary aria-labelledby="summary-h" {
                h2 id="summary-h" {
                    "总体情况 "
                    small { (scope_label) "：共" (scope.len()) "项，当前显示" (shown) "项" (view) }
                }
                (status_links)
                (reporting_counts(board, q, &scope))
            }
            (overdue.section(&scope, q.lead_unit.as_deref()))
            @for group in groups {
                (battle_section(board, q, &scope, group, overdue))
            }
        }
    };
    page(
        &format!("{title} · {month}"),
        as_of,
        "dashboard",
        viewer,
        body,
    )
    .into_string()
}

/// The answer to a group the plan does not have (`?group=` or `?battle=`): a page that
/// says so in Chinese and links to each of the plan's groups, rather than an empty
/// board. Served with 400.
pub fn unknown_group_page(board: &Board, given: &str, viewer: Option<&Viewer>) -> String {
    let as_of = board.as_of;
    let title = dashboard_title(board);
    let body = html! {
        header.page-header {
            h1 { (title) }
            p.meta { "数据截至 " time datetime=(as_of) { (text::year_month(LANG, as_of)) } }
        }
        main {
            section.summary.unknown-group aria-labelledby="unknown-h" {
                h2 id="unknown-h" { "没有这个板块" }
                p.alert.alert-warning role="alert" {
                    "“" (given) "”不是" (board.subject()) "的板块。请从下列板块中选择："
                }
                ul.group-list {
                    @for g in &board.groups {
                        li { a href=(dashboard_url(as_of, Some(&g.key), None, None)) { (g.name) } }
                    }
                }
                p { a href=(dashboard_url(as_of, None, None, None)) { "查看全部板块" } }
            }
        }
    };
    page(
        &format!("没有这个板块 · {title}"),
        as_of,
        "dashboard",
        viewer,
        body,
    )
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::sample_board;

    fn lead_units(board: &Board) -> Vec<String> {
        let mut u: Vec<String> = board
            .rows
            .iter()
            .flat_map(|r| r.indicator.lead_units.iter().cloned())
            .collect();
        u.sort();
        u.dedup();
        u
    }

    fn p(m: u8) -> Period {
        Period::new(2023, m).unwrap()
    }

    fn render(board: &Board, q: &DashboardQuery) -> String {
        dashboard(
            board,
            q,
            &lead_units(board),
            &[p(2), p(3), p(4), p(5), p(6), p(7)],
            &OverdueMarks::default(),
            None,
        )
    }

    /// The ids of the rows of each section, in the order the page shows them.
    fn sections(html: &str) -> Vec<(String, Vec<String>)> {
        html.split(r#"<section class="battle" data-battle=""#)
            .skip(1)
            .map(|chunk| {
                let key = chunk[..chunk.find('"').unwrap()].to_string();
                let ids = chunk
                    .split(r#"<tr class="indicator-row" data-indicator=""#)
                    .skip(1)
                    .map(|r| r[..r.find('"').unwrap()].to_string())
                    .collect();
                (key, ids)
            })
            .collect()
    }

    /// The page's text as a reader sees it: without tags (and so without attributes).
    fn visible_text(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for ch in html.chars() {
            match ch {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// Sets the reporting state of the row `id` (as the board does from the calendar).
    fn set_report(b: &mut Board, id: &str, state: ReportState) {
        let r = b
            .rows
            .iter_mut()
            .find(|r| r.indicator.id.as_str() == id)
            .map(std::sync::Arc::make_mut)
            .unwrap();
        r.attainment.reporting = Some(calendar::Reporting {
            on: chrono::NaiveDate::from_ymd_opt(2023, 7, 11).unwrap(),
            period: p(6),
            due: chrono::NaiveDate::from_ymd_opt(2023, 7, 10).unwrap(),
            state,
        });
    }

    fn rows_in(html: &str) -> usize {
        html.matches(r#"<tr class="indicator-row""#).count()
    }

    #[test]
    fn the_dashboard_is_a_complete_zh_cn_page() {
        let b = sample_board();
        let html = render(&b, &DashboardQuery::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<html lang="zh-CN">"#));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains(r#"<meta name="viewport""#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/assets/dashboard.css">"#));
        assert!(html.contains(r#"<script src="/assets/dashboard.js" defer></script>"#));
        assert!(html.contains("<h1>桃江县打好发展“六仗”指标监测</h1>"));
        assert!(html.contains(r#"数据截至 <time datetime="2023-06">2023年6月</time>"#));
        assert!(html.contains("<title>桃江县打好发展“六仗”指标监测 · 2023年6月</title>"));
        assert!(html.contains("数据截至 2023年6月 · 页面每15秒检查一次更新"));
        assert!(html.trim_end().ends_with("</html>"));
        // Nothing is fetched from elsewhere (the SVG namespace is only a name).
        assert!(!html
            .replace("http://www.w3.org/2000/svg", "")
            .contains("http"));
    }

    #[test]
    fn the_filter_form_submits_by_get_to_the_dashboard() {
        let b = sample_board();
        let q = DashboardQuery {
            group: Some("innovation".into()),
            lead_unit: Some("县科工局".into()),
            status: Some(Status::Behind),
            ..Default::default()
        };
        let html = render(&b, &q);
        assert!(html.contains(r#"<form class="filters" method="get" action="/""#));
        assert!(html.contains(r#"<select name="as_of">"#));
        assert!(html.contains(r#"<option value="2023-06" selected>2023年6月</option>"#));
        assert!(!html.contains(r#"type="month""#));
        assert!(html.contains(r#"<select name="group">"#));
        assert!(html.contains(r#"<select name="lead_unit">"#));
        assert!(html.contains(r#"<select name="status">"#));
        assert!(html.contains(r#"<button type="submit">筛选</button>"#));
        assert!(html.contains(r#"<option value="innovation" selected>科技创新攻坚仗</option>"#));
        assert!(html.contains(r#"<option value="县科工局" selected>县科工局</option>"#));
        assert!(html.contains(r#"<option value="behind" selected>未达序时进度</option>"#));
        // Every battle and status is offered.
        for (key, _) in crate::domain::SIX_BATTLES {
            assert!(html.contains(&format!(r#"<option value="{key}""#)));
        }
        for s in STATUSES {
            assert!(html.contains(&format!(r#"<option value="{}""#, s.as_str())));
        }
        // Without filters, "all" is selected.
        let html = render(&b, &DashboardQuery::default());
        assert!(html.contains(r#"<option value="" selected>全部板块</option>"#));
        assert!(!html.contains(r#"" selected>县"#));
    }

    #[test]
    fn six_battle_sections_in_order_with_every_indicator() {
        let b = sample_board();
        let html = render(&b, &DashboardQuery::default());
        assert_eq!(html.matches(r#"<section class="battle""#).count(), 6);
        let mut last = 0;
        for (key, name) in crate::domain::SIX_BATTLES {
            let at = html
                .find(&format!(r#"<section class="battle" data-battle="{key}""#))
                .unwrap_or_else(|| panic!("no section for {key}"));
            assert!(at > last, "{key} out of order");
            last = at;
            assert!(html.contains(name));
        }
        assert_eq!(rows_in(&html), 203);
        assert!(!html.contains("无符合条件的指标"));
        // Each row links to its page at the same as_of.
        assert!(html.contains(
            r#"<tr class="indicator-row" data-indicator="tech-sme-registered" data-status="behind" data-headline="completion" data-position=""#
        ));
        assert!(html.contains(
            r#"<a href="/indicators/tech-sme-registered?as_of=2023-06">科技型中小企业入库</a>"#
        ));
        // Summary counts match the board.
        let summary = b.summary();
        assert_eq!(summary.total, 203);
        for s in STATUSES {
            let n = summary.counts[s.as_str()];
            assert!(
                html.contains(&format!(
                    r#"<span class="n">{n}</span> <span class="label">{}</span>"#,
                    s.label_zh()
                )),
                "count of {s:?}"
            );
        }
    }

    #[test]
    fn a_group_filter_renders_that_group_alone_and_filters_narrow_the_rows() {
        let b = sample_board();
        let innovation = b
            .rows
            .iter()
            .filter(|r| r.indicator.group == "innovation")
            .count();
        let html = render(
            &b,
            &DashboardQuery {
                group: Some("innovation".into()),
                ..Default::default()
            },
        );
        assert!(innovation > 0 && innovation < 203);
        assert_eq!(rows_in(&html), innovation);
        // Only the chosen group's section is there: no empty sections for the others.
        let secs = sections(&html);
        assert_eq!(secs.len(), 1);
        assert_eq!(secs[0].0, "innovation");
        assert!(!html.contains("无符合条件的指标"));
        assert!(!html.contains(r#"id="battle-growth""#));
        // The group links mark the chosen one and keep the way back to all of them.
        assert!(html.contains(
            r#"<a class="choice on" href="/?as_of=2023-06&amp;group=innovation" aria-current="true" data-group="innovation">科技创新攻坚仗</a>"#
        ));
        assert!(html.contains(r#"<a class="choice" href="/?as_of=2023-06">全部板块</a>"#));

        let html = render(
            &b,
            &DashboardQuery {
                status: Some(Status::Behind),
                ..Default::default()
            },
        );
        assert_eq!(rows_in(&html), 1);
        assert!(html.contains(r#"data-indicator="tech-sme-registered""#));
        // Without a group filter every group keeps its section, even empty.
        assert_eq!(html.matches(r#"<section class="battle""#).count(), 6);
        assert_eq!(html.matches("无符合条件的指标").count(), 5);

        let kgj = b
            .rows
            .iter()
            .filter(|r| r.indicator.lead_units.iter().any(|u| u == "县科工局"))
            .count();
        let html = render(
            &b,
            &DashboardQuery {
                lead_unit: Some("县科工局".into()),
                ..Default::default()
            },
        );
        assert!(kgj > 0 && kgj < 203);
        assert_eq!(rows_in(&html), kgj);
        // Links keep the filters, percent-encoded and escaped.
        assert!(html.contains(
            "/?as_of=2023-06&amp;lead_unit=%E5%8E%BF%E7%A7%91%E5%B7%A5%E5%B1%80&amp;status=behind"
        ));
    }

    #[test]
    fn rows_show_figures_progress_badges_and_sparklines() {
        let b = sample_board();
        let html = render(&b, &DashboardQuery::default());
        let start = html
            .find(r#"data-indicator="tech-sme-registered""#)
            .unwrap();
        let tr = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(
            tr.contains(r#"<span class="actual" title="实际">62家</span>"#),
            "{tr}"
        );
        assert!(tr.contains(r#"<span class="target" title="目标">150家以上</span>"#));
        assert!(tr.contains("县科工局"));
        // 62 / 150 = 41.3%, mark at the June pace 50%.
        assert!(tr.contains(r#"style="width:41.3%""#));
        assert!(tr.contains(r#"style="left:50.0%""#));
        assert!(tr.contains(r#"<span class="status status-behind">未达序时进度</span>"#));
        assert!(tr.contains(r#"class="sparkline""#) && tr.contains("<polyline"));
        // The other statuses carry their Chinese labels too.
        assert!(html.contains(r#"<span class="status status-severely_behind">严重滞后</span>"#));
        assert!(html.contains(r#"<span class="status status-on_track">符合序时进度</span>"#));
        assert!(html.contains(r#"<span class="status status-no_data">暂无数据</span>"#));
        // An older reading shows its period.
        let start = html
            .find(r#"data-indicator="import-export-value""#)
            .unwrap();
        let tr = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(tr.contains("（2023年1-5月）"), "{tr}");
        // A between target has no single attainment: no bar.
        let start = html
            .find(r#"data-indicator="primary-care-drug-reserve-population-share""#)
            .unwrap();
        let tr = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(tr.contains("15–20%") && !tr.contains("bar-fill"), "{tr}");
    }

    #[test]
    fn queries_parse_empty_as_all_and_reject_unknown_values() {
        assert_eq!(
            DashboardQuery::parse(Some(""), Some(" "), None).unwrap(),
            DashboardQuery::default()
        );
        let q =
            DashboardQuery::parse(Some("risk"), Some("县财政局"), Some("severely_behind")).unwrap();
        assert_eq!(q.group.as_deref(), Some("risk"));
        assert_eq!(q.lead_unit.as_deref(), Some("县财政局"));
        assert_eq!(q.status, Some(Status::SeverelyBehind));
        assert_eq!(
            DashboardQuery::parse(Some("war"), None, None)
                .unwrap()
                .resolve(&sample_board())
                .unwrap_err()
                .field(),
            "group"
        );
        // A group's name stands for its key.
        let q = DashboardQuery::parse(Some("防范化解风险阻击仗"), None, None)
            .unwrap()
            .resolve(&sample_board())
            .unwrap();
        assert_eq!(q.group.as_deref(), Some("risk"));
        assert_eq!(
            DashboardQuery::parse(None, None, Some("late"))
                .unwrap_err()
                .field(),
            "status"
        );
        for s in STATUSES {
            assert_eq!(parse_status(s.as_str()), Some(s));
        }
    }

    /// The 序号 of a row of the sample board.
    fn pos(b: &Board, id: &str) -> u32 {
        position(crate::report::fixtures::row(b, id)).unwrap()
    }

    #[test]
    fn rows_follow_the_plans_groups_and_numbers_whatever_order_the_board_has() {
        let mut b = sample_board();
        // The renderer orders by itself: a board in any order gives the plan's.
        b.rows.reverse();
        let html = render(&b, &DashboardQuery::default());
        let secs = sections(&html);
        let keys: Vec<&str> = secs.iter().map(|(k, _)| k.as_str()).collect();
        let plan: Vec<&str> = b.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, plan, "the plan's groups, in its order");
        for (key, ids) in &secs {
            assert!(ids.len() > 1, "{key}");
            let nos: Vec<u32> = ids.iter().map(|id| pos(&b, id)).collect();
            assert!(nos.windows(2).all(|w| w[0] < w[1]), "{key}: {nos:?}");
        }
        // The 序号 is the row's first cell.
        let first = &secs[0].1[0];
        assert!(html.contains(&format!(r#"data-indicator="{first}" data-status="#)));
        let start = html.find(&format!(r#"data-indicator="{first}""#)).unwrap();
        let tr = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(
            tr.contains(&format!(r#"<td class="no">{}</td>"#, pos(&b, first))),
            "{tr}"
        );
        assert!(html.contains(r#"<th scope="col" class="no">序号</th>"#));
    }

    #[test]
    fn lagging_first_puts_the_worst_rows_at_the_top_of_each_group_in_plan_order() {
        let mut b = sample_board();
        set_report(&mut b, "gdp-growth", ReportState::Overdue);
        let q = DashboardQuery {
            sort: Sort::Lagging,
            ..Default::default()
        };
        let html = render(&b, &q);
        let status = |id: &str| crate::report::fixtures::row(&b, id).attainment.status;
        let mut seen_lagging = 0;
        for (key, ids) in sections(&html) {
            let ranks: Vec<usize> = ids
                .iter()
                .map(|id| lag_rank(crate::report::fixtures::row(&b, id)))
                .collect();
            assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{key}: {ranks:?}");
            // Within a rank, the plan's order.
            for w in ids.windows(2) {
                let (x, y) = (
                    crate::report::fixtures::row(&b, &w[0]),
                    crate::report::fixtures::row(&b, &w[1]),
                );
                if lag_rank(x) == lag_rank(y) {
                    assert!(pos(&b, &w[0]) < pos(&b, &w[1]), "{key}: {} {}", w[0], w[1]);
                }
            }
            seen_lagging += ids.iter().filter(|id| status(id).is_lagging()).count();
        }
        assert!(seen_lagging >= 2, "the sample has lagging rows to sort");
        // The severely behind row of its group comes first, the overdue one right after
        // the lagging ones.
        let growth = &sections(&html)
            .into_iter()
            .find(|(k, _)| k == "growth")
            .unwrap()
            .1;
        assert_eq!(growth[0], "import-export-value");
        let lagging = growth.iter().filter(|id| status(id).is_lagging()).count();
        assert_eq!(growth[lagging], "gdp-growth");
        // In the plan's order, the same rows sit elsewhere.
        let plain = render(&b, &DashboardQuery::default());
        let growth_plan = &sections(&plain)
            .into_iter()
            .find(|(k, _)| k == "growth")
            .unwrap()
            .1;
        assert_ne!(growth_plan, growth);
        // The choice is a link and a form field, and every link keeps it.
        assert!(html.contains(
            r#"<a class="choice on" href="/?as_of=2023-06&amp;sort=lagging" aria-current="true" data-sort="lagging">滞后优先</a>"#
        ));
        assert!(html.contains(r#"<option value="lagging" selected>滞后优先</option>"#));
        assert!(html.contains("/?as_of=2023-06&amp;status=behind&amp;sort=lagging"));
        assert!(plain.contains(
            r#"<a class="choice" href="/?as_of=2023-06&amp;sort=lagging" data-sort="lagging">滞后优先</a>"#
        ));
    }

    #[test]
    fn overdue_and_not_due_are_counted_apart_and_not_due_rows_are_folded() {
        let mut b = sample_board();
        let no_data: Vec<String> = b
            .rows
            .iter()
            .filter(|r| r.attainment.status == Status::NoData && r.indicator.group == "growth")
            .map(|r| r.indicator.id.as_str().to_string())
            .collect();
        assert!(no_data.len() >= 4);
        for id in &no_data[..2] {
            set_report(&mut b, id, ReportState::Overdue);
        }
        for id in &no_data[2..] {
            set_report(&mut b, id, ReportState::NotDue);
        }
        let folded = no_data.len() - 2;
        let html = render(&b, &DashboardQuery::default());
        assert!(html.contains(
            r#"data-count="overdue" href="/?as_of=2023-06&amp;show=overdue"><span class="n">2</span> <span class="label">逾期未报</span>"#
        ));
        assert!(html.contains(&format!(
            r#"data-count="not_due"><span class="n">{folded}</span> <span class="label">未到报送期</span>"#
        )));
        assert!(html.contains(r#"报送情况按<time datetime="2023-07-11">2023年7月11日</time>计"#));
        // The not-due rows are still on the page, folded under a count at the end of
        // their group; the overdue ones stay in the table.
        assert_eq!(rows_in(&html), 203);
        assert_eq!(html.matches(r#"<details class="not-due""#).count(), 1);
        assert!(html.contains(&format!(
            r#"<details class="not-due" data-folded="{folded}"><summary>未到报送期 {folded}项"#
        )));
        let details = &html[html.find("<details").unwrap()..html.find("</details>").unwrap()];
        for id in &no_data[2..] {
            assert!(
                details.contains(&format!(r#"data-indicator="{id}""#)),
                "{id}"
            );
        }
        for id in &no_data[..2] {
            assert!(
                !details.contains(&format!(r#"data-indicator="{id}""#)),
                "{id}"
            );
            assert!(html.contains(&format!(
                r#"data-indicator="{id}" data-status="no_data" data-headline="#
            )));
        }
        // Asking for the no-data rows shows them unfolded.
        let html = render(
            &b,
            &DashboardQuery {
                status: Some(Status::NoData),
                ..Default::default()
            },
        );
        assert!(!html.contains("<details"));

        // 只看逾期未报: the two overdue rows only.
        let html = render(
            &b,
            &DashboardQuery {
                show: Show::Overdue,
                ..Default::default()
            },
        );
        assert_eq!(rows_in(&html), 2);
        // 只看滞后: the lagging statuses only.
        let lagging = b
            .rows
            .iter()
            .filter(|r| r.attainment.status.is_lagging())
            .count();
        let html = render(
            &b,
            &DashboardQuery {
                show: Show::Lagging,
                ..Default::default()
            },
        );
        assert_eq!(rows_in(&html), lagging);
        assert!(html.contains(r#"data-show="lagging">只看滞后</a>"#));
        // 隐藏暂无数据: every row with a figure.
        let with_data = b
            .rows
            .iter()
            .filter(|r| r.attainment.status != Status::NoData)
            .count();
        let html = render(
            &b,
            &DashboardQuery {
                show: Show::Reported,
                ..Default::default()
            },
        );
        assert_eq!(rows_in(&html), with_data);
        assert!(!html.contains(r#"data-status="no_data""#));
    }

    #[test]
    fn every_date_on_the_page_is_written_in_chinese_by_the_server() {
        let b = sample_board();
        let overdue = OverdueMarks {
            on: chrono::NaiveDate::from_ymd_opt(2023, 7, 20),
            items: vec![calendar::OverdueItem {
                indicator: "gdp-growth".into(),
                name: "地区生产总值增长".into(),
                region: "桃江县".into(),
                period: p(6),
                due: chrono::NaiveDate::from_ymd_opt(2023, 7, 10).unwrap(),
                days_overdue: 10,
                lead_units: vec!["县发改局".into()],
                note: Some("数据待统计局核实后补报".into()),
            }],
        };
        let html = dashboard(
            &b,
            &DashboardQuery::default(),
            &lead_units(&b),
            &[p(3), p(5), p(6), p(9), Period::new(2022, 12).unwrap()],
            &overdue,
            None,
        );
        // The month choice: the year's months with figures, in Chinese, as_of chosen;
        // another year's month is not offered.
        let form = &html[html.find(r#"<select name="as_of">"#).unwrap()..];
        let form = &form[..form.find("</select>").unwrap()];
        assert_eq!(
            form,
            r#"<select name="as_of"><option value="2023-03">2023年3月</option><option value="2023-05">2023年5月</option><option value="2023-06" selected>2023年6月</option><option value="2023-09">2023年9月</option>"#
        );
        assert!(html.contains(r#"截至<time datetime="2023-07-20">2023年7月20日</time>"#));
        assert!(html.contains(r#"title="2023年1-6月数据应于2023年7月10日前报送">逾期10天</span>"#));
        // The submitter's note on the missing figure is shown beside the mark.
        assert!(html.contains(
            r#"<span class="overdue-note" title="报送单位说明：数据待统计局核实后补报">已说明</span>"#
        ));
        // No date in ISO form anywhere a reader sees it.
        let text = visible_text(&html);
        for y in ["2022-", "2023-", "2024-"] {
            assert!(
                !text.contains(y),
                "an ISO date is shown: {}",
                &text[text.find(y).unwrap()..][..20]
            );
        }
        // as_of with no figures is still offered, chosen.
        let html = dashboard(
            &b,
            &DashboardQuery::default(),
            &[],
            &[],
            &OverdueMarks::default(),
            None,
        );
        assert!(html.contains(
            r#"<select name="as_of"><option value="2023-06" selected>2023年6月</option></select>"#
        ));
    }

    #[test]
    fn an_unknown_group_is_a_chinese_page_that_lists_the_plans_groups() {
        let b = sample_board();
        let html = unknown_group_page(&b, "<war>", None);
        assert!(html.contains("<h2 id=\"unknown-h\">没有这个板块</h2>"));
        assert!(html.contains("“&lt;war&gt;”不是桃江县打好发展“六仗”的板块"));
        assert!(!html.contains("<war>"));
        for g in &b.groups {
            assert!(html.contains(&format!(
                r#"<li><a href="/?as_of=2023-06&amp;group={}">{}</a>"#,
                g.key, g.name
            )));
        }
        assert!(!html.contains(r#"<section class="battle""#));
        // What a reader sees is Chinese: the keys are in the links only.
        let text = visible_text(&html);
        for g in &b.groups {
            assert!(!text.contains(g.key.as_str()), "{}", g.key);
        }
        let err = DashboardQuery::parse(Some("war"), None, None)
            .unwrap()
            .resolve(&b)
            .unwrap_err();
        assert_eq!(err.field(), "group");
        assert!(err.to_string().contains("“war”不是本方案的板块"), "{err}");
    }

    #[test]
    fn sort_and_show_parse_their_names_and_refuse_others_in_chinese() {
        let q = DashboardQuery::default()
            .with_view(Some("lagging"), Some("overdue"))
            .unwrap();
        assert_eq!((q.sort, q.show), (Sort::Lagging, Show::Overdue));
        assert_eq!(
            DashboardQuery::default().with_view(Some(""), None).unwrap(),
            DashboardQuery::default()
        );
        let e = DashboardQuery::default()
            .with_view(Some("worst"), None)
            .unwrap_err();
        assert_eq!(e.field(), "sort");
        assert!(e.to_string().contains("“worst”不是排序方式"), "{e}");
        let e = DashboardQuery::default()
            .with_view(None, Some("some"))
            .unwrap_err();
        assert_eq!(e.field(), "show");
        assert!(e.to_string().contains("lagging（只看滞后）"), "{e}");
        // The address of a view carries what is not the default, and only that.
        let q = DashboardQuery {
            group: Some("risk".into()),
            sort: Sort::Lagging,
            show: Show::Lagging,
            ..Default::default()
        };
        assert_eq!(
            q.url(p(6)),
            "/?as_of=2023-06&group=risk&sort=lagging&show=lagging"
        );
        assert_eq!(DashboardQuery::default().url(p(6)), "/?as_of=2023-06");
    }
}
