//! The dashboard served at `/`: every indicator, grouped by the plan's groups (the 六仗 of Taojiang's plan), with a filter
//! form, counts by status, progress bars, status badges, sparklines and the marks of
//! overdue figures (催报).
//!
//! One page per file: the indicator page is [`super::indicator_page`]; what both pages
//! share is in [`super::html`].

use std::fmt::Write as _;

use super::html::{
    dashboard_title, dashboard_url, escape, indicator_url, page, status_badge, with_unit, LANG,
};
use super::{chart, Board, BoardRow};
use crate::domain::{DomainError, Indicator, Target};
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

/// The filters of the dashboard (`/?group=&lead_unit=&status=`; `battle=` is read as
/// `group=`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardQuery {
    /// A group key of the plan shown (a group's name is accepted and resolved by
    /// [`DashboardQuery::resolve`]).
    pub group: Option<String>,
    pub lead_unit: Option<String>,
    pub status: Option<Status>,
}

impl DashboardQuery {
    /// Parses the query parameters as the filter form sends them. An absent or empty
    /// value means "all" (the form's first option sends `group=`).
    pub fn parse(
        group: Option<&str>,
        lead_unit: Option<&str>,
        status: Option<&str>,
    ) -> Result<DashboardQuery, DomainError> {
        fn nonempty(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
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
        })
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
                            "'{g}' is not a group of this plan: {}",
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
        self.in_scope(row) && self.status.is_none_or(|s| row.attainment.status == s)
    }
}

/// The target cell of a dashboard row (escaped HTML): a relative target still
/// awaiting its figure reads `待定`, with its note as a tooltip.
fn short_target(target: Option<&Target>, unit: &str) -> String {
    let full = escape(&text::target_words(LANG, target, unit));
    if target.is_some_and(|t| t.value.is_none()) {
        format!(r#"<span class="target pending" title="目标：{full}">待定</span>"#)
    } else {
        format!(r#"<span class="target" title="目标">{full}</span>"#)
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
fn progress_bar(ind: &Indicator, a: &Attainment) -> String {
    let Some(att) = a.attainment.filter(|v| v.is_finite()) else {
        if let Some(s) = headline::sentence(LANG, ind, a) {
            return format!(r#"<span class="headline">{}</span>"#, escape(&s));
        }
        if let Some(r) = a.reporting.filter(|_| a.status == Status::NoData) {
            let title = format!(
                "{}数据应于{}前报送",
                text::year_month(LANG, r.period),
                text::date(LANG, r.due, None)
            );
            return format!(
                r#"<span class="na report-{}" title="{}">{}</span>"#,
                match r.state {
                    calendar::ReportState::Overdue => "overdue",
                    calendar::ReportState::NotDue => "not-due",
                    calendar::ReportState::Received => "received",
                },
                escape(&title),
                r.state.label_zh()
            );
        }
        return r#"<span class="na" title="未设目标或暂无数据">—</span>"#.into();
    };
    let fill = (att * 100.0).clamp(0.0, 100.0);
    let mark = pace_mark(a).map(|m| (m * 100.0).clamp(0.0, 100.0));
    let mut label = format!("完成率 {}", text::percent(att));
    if let Some(m) = pace_mark(a) {
        let _ = write!(label, "，序时进度 {}", text::percent(m));
    }
    let over = if att > 1.0 { " over" } else { "" };
    let mut out = format!(
        r#"<div class="bar status-{}{over}" role="img" aria-label="{}" title="{}"><span class="bar-fill" style="width:{fill:.1}%"></span>"#,
        a.status.as_str(),
        escape(&label),
        escape(&label),
    );
    if let Some(m) = mark {
        let _ = write!(
            out,
            r#"<span class="bar-mark" style="left:{m:.1}%"></span>"#
        );
    }
    let _ = write!(
        out,
        r#"</div><span class="pct">{}</span>"#,
        text::percent(att)
    );
    out
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
) -> String {
    let mut out = String::new();
    for &x in all {
        let sel = if selected == Some(x) { " selected" } else { "" };
        let _ = write!(
            out,
            r#"<option value="{}"{sel}>{}</option>"#,
            escape(&value(x)),
            escape(&label(x))
        );
    }
    out
}

fn filter_form(board: &Board, q: &DashboardQuery, lead_units: &[String]) -> String {
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
    let all = |none: bool| if none { " selected" } else { "" };
    format!(
        r#"<form class="filters" method="get" action="/" role="search" aria-label="筛选指标">
<label>截至月份 <input type="month" name="as_of" value="{as_of}" required></label>
<label>板块 <select name="group"><option value=""{b}>全部板块</option>{battles}</select></label>
<label>牵头单位 <select name="lead_unit"><option value=""{u}>全部单位</option>{units}</select></label>
<label>状态 <select name="status"><option value=""{s}>全部状态</option>{statuses}</select></label>
<button type="submit">筛选</button>
<a class="reset" href="{reset}">重置</a>
</form>"#,
        b = all(q.group.is_none()),
        u = all(q.lead_unit.is_none()),
        s = all(q.status.is_none()),
        reset = escape(&dashboard_url(as_of, None, None, None)),
    )
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
    fn mark(&self, id: &str) -> String {
        let mine: Vec<_> = self.items.iter().filter(|o| o.indicator == id).collect();
        let Some(worst) = mine.iter().max_by_key(|o| o.days_overdue) else {
            return String::new();
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
        format!(
            r#" <span class="overdue-mark" title="{}数据应于{}前报送{more}">逾期{}天</span>"#,
            escape(&text::year_to_date(LANG, worst.period)),
            worst.due,
            worst.days_overdue
        )
    }

    /// The section under the summary: how many figures are overdue, per lead unit.
    fn section(&self, units: Option<&str>) -> String {
        let Some(on) = self.on else {
            return String::new();
        };
        let mut per: std::collections::BTreeMap<&str, usize> = Default::default();
        for o in &self.items {
            for u in &o.lead_units {
                if units.is_none_or(|w| w == u) {
                    *per.entry(u.as_str()).or_default() += 1;
                }
            }
        }
        if per.is_empty() {
            return String::new();
        }
        let list: Vec<String> = per
            .iter()
            .map(|(u, n)| format!("<li>{}：{n}项</li>", escape(u)))
            .collect();
        format!(
            r#"<section class="overdue" aria-labelledby="overdue-h">
<h2 id="overdue-h">逾期未报 <small>截至<time datetime="{on}">{on}</time>，共{n}项数据过了报送期限仍未报送</small></h2>
<ul class="overdue-units">{list}</ul>
<p class="hint"><a href="/v1/overdue?on={on}&amp;group=lead_unit">催报清单（按牵头单位）</a></p>
</section>
"#,
            n = self.items.len(),
            list = list.concat(),
        )
    }
}

fn dashboard_row(board: &Board, row: &BoardRow, overdue: &OverdueMarks) -> String {
    let ind = &row.indicator;
    let a = &row.attainment;
    let id = ind.id.as_str();
    let unit = ind.unit.as_str();
    let lag = match (a.actual_period, a.data_lag_months) {
        (Some(p), Some(n)) if n > 0 => format!(
            r#" <span class="lag" title="最近数据期别，滞后{n}个月">（{}）</span>"#,
            escape(&text::year_to_date(LANG, p))
        ),
        _ => String::new(),
    };
    format!(
        r#"<tr class="indicator-row" data-indicator="{id_attr}" data-status="{status}" data-headline="{headline}">
<th scope="row" class="name"><a href="{href}">{name}</a></th>
<td class="units">{units}</td>
<td class="figures"><span class="actual" title="实际">{actual}</span>{lag}<span class="sep"> / </span>{target}</td>
<td class="progress">{bar}</td>
<td class="state">{badge}{mark}</td>
<td class="trend status-{status}">{spark}</td>
</tr>
"#,
        mark = overdue.mark(id),
        headline = match a.headline {
            Some(crate::engine::Headline::Completion) => "completion",
            Some(crate::engine::Headline::Allowance) => "allowance",
            Some(crate::engine::Headline::Deviation) => "deviation",
            Some(crate::engine::Headline::Attained) => "attained",
            Some(crate::engine::Headline::Duty) => "duty",
            None => "none",
        },
        id_attr = escape(id),
        status = a.status.as_str(),
        href = escape(&indicator_url(id, board.as_of)),
        name = escape(&ind.name),
        units = escape(&text::list(LANG, &ind.lead_units)),
        actual = escape(&with_unit(a.actual, unit)),
        target = short_target(a.target.as_ref(), unit),
        bar = progress_bar(ind, a),
        badge = status_badge(a.status),
        spark = chart::sparkline(&row.series, SPARK_W, SPARK_H),
    )
}

fn count_list(counts: &[(Status, usize)], link: impl Fn(Status) -> Option<String>) -> String {
    let mut out = String::from(r#"<ul class="counts">"#);
    for (s, n) in counts {
        let inner = format!(
            r#"<span class="n">{n}</span> <span class="label">{}</span>"#,
            s.label_zh()
        );
        let cls = format!(
            "count status-{}{}",
            s.as_str(),
            if *n == 0 { " zero" } else { "" }
        );
        match link(*s) {
            Some(href) => {
                let _ = write!(
                    out,
                    r#"<li><a class="{cls}" href="{}">{inner}</a></li>"#,
                    escape(&href)
                );
            }
            None => {
                let _ = write!(out, r#"<li><span class="{cls}">{inner}</span></li>"#);
            }
        }
    }
    out.push_str("</ul>");
    out
}

/// The dashboard served at `/`: the filter form, counts by status, then one section per
/// group of the plan (all of them, in the plan's order, even when the filters leave one
/// empty)
/// with a row per indicator.
///
/// `lead_units` are the choices of the lead-unit filter (normally every canonical unit
/// that leads at least one indicator).
pub fn dashboard(
    board: &Board,
    q: &DashboardQuery,
    lead_units: &[String],
    overdue: &OverdueMarks,
) -> String {
    let as_of = board.as_of;
    let title = dashboard_title(board);
    let scope: Vec<&BoardRow> = board.rows.iter().filter(|r| q.in_scope(r)).collect();
    let shown = scope.iter().filter(|r| q.matches(r)).count();
    let mut body = String::with_capacity(64 * 1024);
    let _ = write!(
        body,
        r#"<header class="page-header">
<h1>{title}</h1>
<p class="meta">数据截至 <time datetime="{as_of}">{as_of}</time>{doc}</p>
</header>
<main>
{form}
"#,
        title = escape(&title),
        doc = if board.document.is_empty() {
            String::new()
        } else {
            format!(
                r#" · <span class="document">{}</span>"#,
                escape(&board.document)
            )
        },
        form = filter_form(board, q, lead_units),
    );

    // Summary: counts over the battle and lead-unit filters; each links to its status.
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
    let _ = write!(
        body,
        r#"<section class="summary" aria-labelledby="summary-h">
<h2 id="summary-h">总体情况 <small>{scope}：共{total}项，当前显示{shown}项</small></h2>
{list}
</section>
"#,
        scope = escape(&scope_label),
        total = scope.len(),
        list = count_list(&counts(scope.iter().copied()), |s| Some(dashboard_url(
            as_of,
            q.group.as_deref(),
            q.lead_unit.as_deref(),
            (q.status != Some(s)).then_some(s),
        ))),
    );
    body.push_str(&overdue.section(q.lead_unit.as_deref()));

    for group in &board.groups {
        let in_battle: Vec<&BoardRow> = scope
            .iter()
            .copied()
            .filter(|r| r.indicator.group == group.key)
            .collect();
        let rows: Vec<&BoardRow> = in_battle.iter().copied().filter(|r| q.matches(r)).collect();
        let key = escape(&group.key);
        let group_name = escape(&group.name);
        let battle_counts: Vec<(Status, usize)> = counts(in_battle.iter().copied())
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
        let _ = write!(
            body,
            r#"<section class="battle" data-battle="{key}" id="battle-{key}" aria-labelledby="battle-{key}-h">
<h2 id="battle-{key}-h">{name} <small class="battle-total">显示{shown}项 / 共{total}项</small></h2>
{counts}
"#,
            name = group_name,
            shown = rows.len(),
            total = in_battle.len(),
            counts = count_list(&battle_counts, |_| None),
        );
        if rows.is_empty() {
            body.push_str("<p class=\"empty\">无符合条件的指标</p>\n");
        } else {
            let _ = write!(
                body,
                r#"<div class="table-wrap"><table class="indicators">
<caption class="visually-hidden">{name}指标完成情况</caption>
<colgroup><col class="c-name"><col class="c-lead"><col class="c-value"><col class="c-bar"><col class="c-status"><col class="c-trend"></colgroup>
<thead><tr><th scope="col">指标</th><th scope="col">牵头单位</th><th scope="col">实际 / 目标</th><th scope="col">完成情况 <span class="hint">（完成率，竖线为序时进度）</span></th><th scope="col">状态</th><th scope="col">走势</th></tr></thead>
<tbody>
"#,
                name = group_name
            );
            for r in rows {
                body.push_str(&dashboard_row(board, r, overdue));
            }
            body.push_str("</tbody></table></div>\n");
        }
        body.push_str("</section>\n");
    }
    body.push_str("</main>");
    page(&format!("{title} · {as_of}"), as_of, "dashboard", &body)
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

    fn render(board: &Board, q: &DashboardQuery) -> String {
        dashboard(board, q, &lead_units(board), &OverdueMarks::default())
    }

    fn rows_in(html: &str) -> usize {
        html.matches(r#"<tr class="indicator-row""#).count()
    }

    #[test]
    fn the_dashboard_is_a_complete_zh_cn_page() {
        let b = sample_board();
        let html = render(&b, &DashboardQuery::default());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains(r#"<html lang="zh-CN">"#));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains(r#"<meta name="viewport""#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/assets/dashboard.css">"#));
        assert!(html.contains(r#"<script src="/assets/dashboard.js" defer></script>"#));
        assert!(html.contains("<h1>桃江县打好发展“六仗”指标监测</h1>"));
        assert!(html.contains(r#"数据截至 <time datetime="2023-06">2023-06</time>"#));
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
        };
        let html = render(&b, &q);
        assert!(html.contains(r#"<form class="filters" method="get" action="/""#));
        assert!(html.contains(r#"<input type="month" name="as_of" value="2023-06""#));
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
            r#"<tr class="indicator-row" data-indicator="tech-sme-registered" data-status="behind" data-headline="completion">"#
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
    fn filters_narrow_the_rows_but_keep_all_six_sections() {
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
        assert_eq!(html.matches(r#"<section class="battle""#).count(), 6);
        assert_eq!(html.matches("无符合条件的指标").count(), 5);

        let html = render(
            &b,
            &DashboardQuery {
                status: Some(Status::Behind),
                ..Default::default()
            },
        );
        assert_eq!(rows_in(&html), 1);
        assert!(html.contains(r#"data-indicator="tech-sme-registered""#));
        assert_eq!(html.matches(r#"<section class="battle""#).count(), 6);

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
}
