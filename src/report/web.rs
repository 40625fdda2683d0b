//! The web dashboard: server-rendered HTML pages of a [`Board`].
//!
//! - [`dashboard`] is the page at `/`: every indicator, grouped by battle (六仗), with a
//!   filter form, counts by status, progress bars, status badges and sparklines.
//! - [`indicator_page`] is `/indicators/{id}`: every attainment figure, the year's
//!   readings, the chart and the source in the plan.
//!
//! No framework and no network: the pages link only `/assets/dashboard.css` and
//! `/assets/dashboard.js`, which are compiled in ([`CSS`], [`JS`]). The pages work
//! without the script; it only adds auto-refresh and auto-submitting filters. Labels
//! are in Chinese (zh-CN). All text is escaped with [`escape`].

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{chart, Board, BoardRow};
use crate::domain::{
    Battle, Comparator, Direction, DomainError, Frequency, Indicator, Kind, Period, Target,
};
use crate::engine::{alerts, tidy, Attainment, Status};

/// The dashboard's stylesheet, served at `/assets/dashboard.css`.
pub const CSS: &str = include_str!("assets/dashboard.css");
/// The dashboard's script, served at `/assets/dashboard.js`.
pub const JS: &str = include_str!("assets/dashboard.js");

/// Every status, worst first: the order of counts, filters and legends.
pub const STATUSES: [Status; 7] = Status::ALL;

/// Width and height of a dashboard row's sparkline.
const SPARK_W: u32 = 96;
const SPARK_H: u32 = 24;

/// Escapes text for HTML and XML content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Characters left as they are in a query value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

/// A status from its API name (`behind`, `on_track`, …).
pub fn parse_status(s: &str) -> Option<Status> {
    STATUSES.iter().copied().find(|st| st.as_str() == s)
}

/// The filters of the dashboard (`/?battle=&lead_unit=&status=`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardQuery {
    pub battle: Option<Battle>,
    pub lead_unit: Option<String>,
    pub status: Option<Status>,
}

impl DashboardQuery {
    /// Parses the query parameters as the filter form sends them. An absent or empty
    /// value means "all" (the form's first option sends `battle=`).
    pub fn parse(
        battle: Option<&str>,
        lead_unit: Option<&str>,
        status: Option<&str>,
    ) -> Result<DashboardQuery, DomainError> {
        fn nonempty(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
        let battle = nonempty(battle).map(str::parse::<Battle>).transpose()?;
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
            battle,
            lead_unit: nonempty(lead_unit).map(str::to_string),
            status,
        })
    }

    /// Whether a row passes the battle and lead-unit filters (not the status filter).
    fn in_scope(&self, row: &BoardRow) -> bool {
        self.battle.is_none_or(|b| row.indicator.battle == b)
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

/// `/?as_of=…` with the given filters, unescaped (escape it for an attribute).
fn dashboard_url(
    as_of: Period,
    battle: Option<Battle>,
    lead_unit: Option<&str>,
    status: Option<Status>,
) -> String {
    let mut url = format!("/?as_of={as_of}");
    if let Some(b) = battle {
        let _ = write!(url, "&battle={}", b.as_str());
    }
    if let Some(u) = lead_unit {
        let _ = write!(url, "&lead_unit={}", enc(u));
    }
    if let Some(s) = status {
        let _ = write!(url, "&status={}", s.as_str());
    }
    url
}

fn indicator_url(id: &str, as_of: Period) -> String {
    format!("/indicators/{}?as_of={as_of}", enc(id))
}

/// The page shell shared by every page.
fn page(title: &str, as_of: Period, class: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body class="{class}" data-as-of="{as_of}">
{body}
<footer class="page-footer"><p>数据截至 {as_of} · 页面每15秒检查一次更新 · <span class="refresh" data-refresh aria-live="polite"></span></p></footer>
</body>
</html>
"#,
        title = escape(title),
        class = escape(class),
    )
}

fn dashboard_title(board: &Board) -> String {
    format!("{}打好发展“六仗”指标监测", board.region)
}

/// How a target reads in Chinese, e.g. `150家以上`, `8%左右`, `4–8次`. A relative
/// target still awaiting its figure reads `待定（note）`; no target reads `未设目标`.
pub fn target_text(target: Option<&Target>, unit: &str) -> String {
    let Some(t) = target else {
        return "未设目标".into();
    };
    let Some(v) = t.value else {
        return match &t.baseline {
            Some(b) if !b.note.trim().is_empty() => format!("待定（{}）", b.note),
            _ => "待定".into(),
        };
    };
    let v = alerts::fmt_num(v);
    match t.comparator {
        Comparator::AtLeast => format!("{v}{unit}以上"),
        Comparator::MoreThan => format!("超过{v}{unit}"),
        Comparator::AtMost => format!("{v}{unit}以内"),
        Comparator::LessThan => format!("低于{v}{unit}"),
        Comparator::About => format!("{v}{unit}左右"),
        Comparator::Between => match t.upper {
            Some(u) => format!("{v}–{}{unit}", alerts::fmt_num(u)),
            None => format!("{v}{unit}以上"),
        },
    }
}

/// The target cell of a dashboard row (escaped HTML): a relative target still
/// awaiting its figure reads `待定`, with its note as a tooltip.
fn short_target(target: Option<&Target>, unit: &str) -> String {
    let full = escape(&target_text(target, unit));
    if target.is_some_and(|t| t.value.is_none()) {
        format!(r#"<span class="target pending" title="目标：{full}">待定</span>"#)
    } else {
        format!(r#"<span class="target" title="目标">{full}</span>"#)
    }
}

fn status_badge(s: Status) -> String {
    format!(
        r#"<span class="status status-{}">{}</span>"#,
        s.as_str(),
        s.label_zh()
    )
}

/// A value with its unit, or a dash.
fn with_unit(v: Option<f64>, unit: &str) -> String {
    match tidy(v) {
        Some(v) => format!("{}{unit}", alerts::fmt_num(v)),
        None => "—".into(),
    }
}

/// A fraction as a percentage with one decimal.
fn pct(f: f64) -> String {
    let s = format!("{:.1}%", f * 100.0);
    if s == "-0.0%" {
        "0.0%".into()
    } else {
        s
    }
}

/// A signed difference, `+1.5` or `-0.8`.
fn signed(v: f64) -> String {
    let s = alerts::fmt_num(v);
    if s.starts_with('-') || s == "0" {
        s
    } else {
        format!("+{s}")
    }
}

/// A difference of two fractions in percentage points with one decimal, `-8.7个百分点`.
fn points(g: f64) -> String {
    let s = format!("{:+.1}", g * 100.0);
    let s = if s == "-0.0" || s == "+0.0" {
        "0.0".to_string()
    } else {
        s
    };
    format!("{s}个百分点")
}

/// The unit of a difference: percentage points for rates in %, else the indicator's unit.
fn diff_unit(ind: &Indicator) -> &str {
    if ind.unit == "%" {
        "个百分点"
    } else {
        &ind.unit
    }
}

fn kind_zh(k: Kind) -> &'static str {
    match k {
        Kind::Cumulative => "累计值（年内逐月累计）",
        Kind::Rate => "比率（累计增速、占比）",
        Kind::Level => "水平（达到的等级或标准）",
    }
}

fn direction_zh(d: Direction) -> &'static str {
    match d {
        Direction::Up => "越高越好",
        Direction::Down => "越低越好（控制类）",
    }
}

fn frequency_zh(f: Frequency) -> &'static str {
    match f {
        Frequency::Monthly => "按月",
        Frequency::Quarterly => "按季",
        Frequency::Annual => "按年",
    }
}

/// A year-to-date period as a bulletin writes it: `2023年1月`, `2023年1-6月`.
fn period_zh(p: Period) -> String {
    if p.month() == 1 {
        format!("{}年1月", p.year())
    } else {
        format!("{}年1-{}月", p.year(), p.month())
    }
}

/// Where the progress bar's mark sits: the scheduled pace of a cumulative indicator;
/// the target itself (100%) for rates and levels, which are judged against it directly.
fn pace_mark(ind: &Indicator, a: &Attainment) -> Option<f64> {
    match ind.kind {
        Kind::Cumulative => a.scheduled_pace,
        Kind::Rate | Kind::Level => a.attainment.map(|_| 1.0),
    }
}

/// The progress bar: fill = attainment clamped to 0–100% (with an "over" marker beyond
/// 100%), a vertical mark at the scheduled pace, and the figure as text.
fn progress_bar(ind: &Indicator, a: &Attainment) -> String {
    let Some(att) = a.attainment.filter(|v| v.is_finite()) else {
        return r#"<span class="na" title="无完成率（未设目标、暂无数据或区间目标）">—</span>"#
            .into();
    };
    let fill = (att * 100.0).clamp(0.0, 100.0);
    let mark = pace_mark(ind, a).map(|m| (m * 100.0).clamp(0.0, 100.0));
    let mut label = match ind.direction {
        Direction::Up => format!("完成率 {}", pct(att)),
        Direction::Down => format!("实际为控制目标的 {}（越低越好）", pct(att)),
    };
    if let Some(m) = pace_mark(ind, a) {
        let _ = write!(label, "，序时进度 {}", pct(m));
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
    let _ = write!(out, r#"</div><span class="pct">{}</span>"#, pct(att));
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
    let battles = options(
        Battle::ALL,
        q.battle,
        |b| b.as_str().into(),
        |b| b.name_zh().into(),
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
<label>六仗 <select name="battle"><option value=""{b}>全部六仗</option>{battles}</select></label>
<label>牵头单位 <select name="lead_unit"><option value=""{u}>全部单位</option>{units}</select></label>
<label>状态 <select name="status"><option value=""{s}>全部状态</option>{statuses}</select></label>
<button type="submit">筛选</button>
<a class="reset" href="{reset}">重置</a>
</form>"#,
        b = all(q.battle.is_none()),
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
            format!("，共{}期未报", mine.len())
        } else {
            String::new()
        };
        format!(
            r#" <span class="overdue-mark" title="{}数据应于{}前报送{more}">逾期{}天</span>"#,
            escape(&period_zh(worst.period)),
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
            escape(&period_zh(p))
        ),
        _ => String::new(),
    };
    format!(
        r#"<tr class="indicator-row" data-indicator="{id_attr}" data-status="{status}">
<th scope="row" class="name"><a href="{href}">{name}</a></th>
<td class="units">{units}</td>
<td class="figures"><span class="actual" title="实际">{actual}</span>{lag}<span class="sep"> / </span>{target}</td>
<td class="progress">{bar}</td>
<td class="state">{badge}{mark}</td>
<td class="trend status-{status}">{spark}</td>
</tr>
"#,
        mark = overdue.mark(id),
        id_attr = escape(id),
        status = a.status.as_str(),
        href = escape(&indicator_url(id, board.as_of)),
        name = escape(&ind.name),
        units = escape(&ind.lead_units.join("、")),
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
/// battle (all six, in [`Battle::ALL`] order, even when the filters leave one empty)
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
    let scope_label = match (q.battle, q.lead_unit.as_deref()) {
        (None, None) => "全部指标".to_string(),
        (b, u) => [b.map(|b| b.name_zh().to_string()), u.map(str::to_string)]
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
            q.battle,
            q.lead_unit.as_deref(),
            (q.status != Some(s)).then_some(s),
        ))),
    );
    body.push_str(&overdue.section(q.lead_unit.as_deref()));

    for &battle in Battle::ALL {
        let in_battle: Vec<&BoardRow> = scope
            .iter()
            .copied()
            .filter(|r| r.indicator.battle == battle)
            .collect();
        let rows: Vec<&BoardRow> = in_battle.iter().copied().filter(|r| q.matches(r)).collect();
        let key = battle.as_str();
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
            name = battle.name_zh(),
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
<thead><tr><th scope="col">指标</th><th scope="col">牵头单位</th><th scope="col">实际 / 目标</th><th scope="col">完成率 <span class="hint">（竖线为序时进度）</span></th><th scope="col">状态</th><th scope="col">走势</th></tr></thead>
<tbody>
"#,
                name = battle.name_zh()
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

/// One line of the figures table.
fn figure(out: &mut String, label: &str, value: &str, note: &str) {
    let _ = write!(
        out,
        r#"<tr><th scope="row">{label}</th><td>{}</td><td class="note">{}</td></tr>"#,
        value,
        escape(note)
    );
}

fn figures_table(ind: &Indicator, a: &Attainment) -> String {
    let unit = ind.unit.as_str();
    let du = diff_unit(ind);
    let e = |s: String| escape(&s);
    let mut t = String::from(
        r#"<table class="figures"><caption>完成情况</caption><thead><tr><th scope="col">项目</th><th scope="col">数值</th><th scope="col">说明</th></tr></thead><tbody>"#,
    );
    let actual_note = match (a.actual_period, a.data_lag_months) {
        (Some(p), Some(n)) if n > 0 => format!("{}数据，滞后{n}个月", period_zh(p)),
        (Some(p), _) => format!("{}数据", period_zh(p)),
        _ => "本年截至该月暂无数据".into(),
    };
    figure(&mut t, "实际", &e(with_unit(a.actual, unit)), &actual_note);
    figure(
        &mut t,
        "目标",
        &e(target_text(a.target.as_ref(), unit)),
        &format!("{}年全年目标", a.year),
    );
    figure(
        &mut t,
        "序时应达",
        &e(with_unit(a.expected, unit)),
        match ind.kind {
            Kind::Cumulative => "目标 × 序时进度",
            _ => "比率、水平类指标以目标本身衡量",
        },
    );
    figure(
        &mut t,
        "完成率",
        &e(a.attainment.map_or("—".into(), pct)),
        "实际 ÷ 目标",
    );
    figure(
        &mut t,
        "序时进度",
        &e(a.scheduled_pace.map_or("—".into(), pct)),
        "截至最近数据月份应完成的全年比例",
    );
    figure(
        &mut t,
        "进度差",
        &e(tidy(a.pace_gap).map_or("—".into(), points)),
        "完成率 − 序时进度",
    );
    figure(
        &mut t,
        "偏差",
        &e(tidy(a.deviation).map_or("—".into(), |d| format!("{}{du}", signed(d)))),
        match ind.kind {
            Kind::Cumulative => "实际 − 序时应达",
            _ => "实际 − 目标",
        },
    );
    figure(
        &mut t,
        "全年缺口",
        &e(with_unit(a.year_end_gap, unit)),
        "距全年目标尚差",
    );
    let required = tidy(a.required_rest_of_year).map_or("—".into(), |r| {
        let r = alerts::fmt_num(r);
        match (ind.kind, ind.direction) {
            (Kind::Cumulative, Direction::Down) => format!("每月不超过{r}{unit}"),
            (Kind::Cumulative, Direction::Up) => format!("平均每月{r}{unit}"),
            _ => format!("{r}{unit}"),
        }
    });
    figure(
        &mut t,
        "其余月份需",
        &e(required),
        match ind.kind {
            Kind::Rate => "其余月份平均需达到的数值",
            _ => "为完成全年目标，其余月份的要求",
        },
    );
    figure(
        &mut t,
        "预计全年",
        &e(with_unit(a.projection, unit)),
        match ind.kind {
            Kind::Cumulative => "按序时进度外推",
            _ => "按当前数值",
        },
    );
    figure(&mut t, "状态", &status_badge(a.status), "");
    t.push_str("</tbody></table>");
    t
}

fn series_table(row: &BoardRow) -> String {
    let unit = row.indicator.unit.as_str();
    if row.series.is_empty() {
        return r#"<p class="empty">本年暂无数据</p>"#.into();
    }
    let mut t = String::from(
        r#"<table class="series"><caption>本年数据</caption><thead><tr><th scope="col">期别</th><th scope="col">数值</th></tr></thead><tbody>"#,
    );
    for (p, v) in &row.series {
        let _ = write!(
            t,
            r#"<tr><th scope="row"><time datetime="{p}">{}</time></th><td>{}</td></tr>"#,
            escape(&period_zh(*p)),
            escape(&format!("{}{unit}", alerts::fmt_num(*v)))
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// The page of one indicator (`/indicators/{id}`), or `None` when the board has no such
/// indicator: its battle, units and source, every attainment figure, the year's readings,
/// the chart, the alert if it is lagging, and a link back to the dashboard.
pub fn indicator_page(board: &Board, id: &str) -> Option<String> {
    let row = board.rows.iter().find(|r| r.indicator.id.as_str() == id)?;
    let ind = &row.indicator;
    let a = &row.attainment;
    let as_of = board.as_of;
    let back = dashboard_url(as_of, None, None, None);
    let battle_url = format!(
        "{}#battle-{}",
        dashboard_url(as_of, Some(ind.battle), None, None),
        ind.battle.as_str()
    );
    let mut body = String::with_capacity(32 * 1024);
    let _ = write!(
        body,
        r#"<nav class="crumbs" aria-label="导航"><a href="{back}">← 返回总览</a> <span aria-hidden="true">/</span> <a href="{battle_url}">{battle}</a></nav>
<header class="page-header">
<h1>{name}</h1>
<p class="meta">{name_en}数据截至 <time datetime="{as_of}">{as_of}</time> · {badge}</p>
</header>
<main>
"#,
        back = escape(&back),
        battle_url = escape(&battle_url),
        battle = ind.battle.name_zh(),
        name = escape(&ind.name),
        name_en = if ind.name_en.is_empty() {
            String::new()
        } else {
            format!(r#"<span lang="en">{}</span> · "#, escape(&ind.name_en))
        },
        badge = status_badge(a.status),
    );
    if a.status.is_lagging() {
        let severity = alerts::Severity::of(a.status).map_or("warning", |s| s.as_str());
        let _ = writeln!(
            body,
            r#"<p class="alert alert-{severity}" role="alert"><strong>预警</strong> {}</p>"#,
            escape(&alerts::message(ind, a))
        );
    }
    let _ = write!(
        body,
        r#"<section class="chart" aria-label="走势图">
<div class="chart-wrap">{chart}</div>
<p class="chart-links"><a href="/v1/indicators/{id}/chart.svg?as_of={as_of}">下载SVG图</a></p>
</section>
<div class="columns">
<section class="facts">
<h2>完成情况</h2>
{figures}
</section>
<section class="readings">
<h2>本年数据</h2>
{series}
</section>
</div>
"#,
        chart = chart::indicator_chart(row, a.target.as_ref()),
        id = escape(&enc(ind.id.as_str())),
        figures = figures_table(ind, a),
        series = series_table(row),
    );

    let units = |u: &[String]| {
        if u.is_empty() {
            "—".to_string()
        } else {
            escape(&u.join("、"))
        }
    };
    let document = if ind.source.document.trim().is_empty() {
        &board.document
    } else {
        &ind.source.document
    };
    let _ = write!(
        body,
        r#"<section class="about">
<h2>指标信息</h2>
<dl class="facts-list">
<dt>所属六仗</dt><dd><a href="{battle_url}">{battle}</a></dd>
<dt>牵头单位</dt><dd>{lead}</dd>
<dt>责任单位</dt><dd>{co}</dd>
<dt>目标</dt><dd>{target}</dd>
<dt>指标类型</dt><dd>{kind}</dd>
<dt>方向</dt><dd>{direction}</dd>
<dt>报送频率</dt><dd>{frequency}</dd>
<dt>计量单位</dt><dd>{unit}</dd>
<dt>指标代码</dt><dd><code>{id}</code></dd>
</dl>
</section>
<section class="source">
<h2>来源</h2>
<p class="document">{document}</p>
<p class="section">{section}</p>
<blockquote>{quote}</blockquote>
"#,
        battle_url = escape(&battle_url),
        battle = ind.battle.name_zh(),
        lead = units(&ind.lead_units),
        co = units(&ind.co_units),
        target = escape(&target_text(a.target.as_ref(), &ind.unit)),
        kind = kind_zh(ind.kind),
        direction = direction_zh(ind.direction),
        frequency = frequency_zh(ind.frequency),
        unit = escape(&ind.unit),
        id = escape(ind.id.as_str()),
        document = escape(document),
        section = escape(&ind.source.section),
        quote = escape(&ind.source.quote),
    );
    if !ind.also_in.is_empty() {
        body.push_str(r#"<h3>文件其他处</h3><ul class="also-in">"#);
        for r in &ind.also_in {
            let _ = write!(
                body,
                r#"<li><span class="section">{}</span>：“{}”</li>"#,
                escape(&r.section),
                escape(&r.quote)
            );
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        r#"</section>
<p class="back"><a href="{}">← 返回总览</a></p>
</main>"#,
        escape(&back)
    );
    let title = format!("{} · {}", ind.name, dashboard_title(board));
    Some(page(&title, as_of, "indicator", &body))
}

/// A small page for an unknown indicator (serve it with 404).
pub fn not_found_page(board: &Board, id: &str) -> String {
    let back = dashboard_url(board.as_of, None, None, None);
    let body = format!(
        r#"<header class="page-header"><h1>未找到指标</h1></header>
<main><p>没有代码为 <code>{}</code> 的指标。</p><p class="back"><a href="{}">← 返回总览</a></p></main>"#,
        escape(id),
        escape(&back)
    );
    page(
        &format!("未找到指标 · {}", dashboard_title(board)),
        board.as_of,
        "not-found",
        &body,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::engine::evaluate;

    fn p(m: u8) -> Period {
        Period::new(2023, m).unwrap()
    }

    /// The builtin catalogue at 2023-06 with a few readings:
    /// tech-sme-registered 62 of 150 (behind), gdp-growth 7.9 (on track), import-export
    /// 3 of 14.8 亿元 (severely behind), the between 4–8 exchange events at 2 (on track),
    /// cpi at −0.3 (on track); everything else has no data.
    pub(crate) fn sample_board() -> Board {
        let cat = Catalogue::builtin().unwrap();
        let as_of = p(6);
        let readings = |id: &str| -> Vec<(Period, f64)> {
            match id {
                "tech-sme-registered" => vec![(p(3), 30.0), (p(6), 62.0)],
                "gdp-growth" => vec![(p(3), 7.5), (p(6), 7.9)],
                "import-export-value" => vec![(p(2), 1.0), (p(5), 3.0)],
                "government-business-exchange-events-per-quarter" => {
                    vec![(p(3), 1.0), (p(6), 2.0)]
                }
                "cpi" => vec![(p(4), 0.4), (p(6), -0.3)],
                _ => vec![],
            }
        };
        let rows = cat
            .entries
            .iter()
            .map(|(ind, t)| {
                let series = readings(ind.id.as_str());
                let attainment = evaluate(ind, t.as_ref(), &series, as_of);
                BoardRow {
                    indicator: ind.clone(),
                    attainment,
                    series,
                }
            })
            .collect();
        Board {
            as_of,
            region: cat.region,
            document: cat.document,
            rows,
        }
    }

    pub(crate) fn row<'a>(board: &'a Board, id: &str) -> &'a BoardRow {
        board
            .rows
            .iter()
            .find(|r| r.indicator.id.as_str() == id)
            .unwrap()
    }

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
    fn the_sample_board_has_the_statuses_the_tests_rely_on() {
        let b = sample_board();
        assert_eq!(b.rows.len(), 203);
        let st = |id| row(&b, id).attainment.status;
        assert_eq!(st("tech-sme-registered"), Status::Behind);
        assert_eq!(st("gdp-growth"), Status::OnTrack);
        assert_eq!(st("import-export-value"), Status::SeverelyBehind);
        assert_eq!(
            st("government-business-exchange-events-per-quarter"),
            Status::OnTrack
        );
        assert_eq!(st("new-urban-jobs"), Status::NoData);
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
            battle: Some(Battle::Innovation),
            lead_unit: Some("县科工局".into()),
            status: Some(Status::Behind),
        };
        let html = render(&b, &q);
        assert!(html.contains(r#"<form class="filters" method="get" action="/""#));
        assert!(html.contains(r#"<input type="month" name="as_of" value="2023-06""#));
        assert!(html.contains(r#"<select name="battle">"#));
        assert!(html.contains(r#"<select name="lead_unit">"#));
        assert!(html.contains(r#"<select name="status">"#));
        assert!(html.contains(r#"<button type="submit">筛选</button>"#));
        assert!(html.contains(r#"<option value="innovation" selected>科技创新攻坚仗</option>"#));
        assert!(html.contains(r#"<option value="县科工局" selected>县科工局</option>"#));
        assert!(html.contains(r#"<option value="behind" selected>未达序时进度</option>"#));
        // Every battle and status is offered.
        for battle in Battle::ALL {
            assert!(html.contains(&format!(r#"<option value="{}""#, battle.as_str())));
        }
        for s in STATUSES {
            assert!(html.contains(&format!(r#"<option value="{}""#, s.as_str())));
        }
        // Without filters, "all" is selected.
        let html = render(&b, &DashboardQuery::default());
        assert!(html.contains(r#"<option value="" selected>全部六仗</option>"#));
        assert!(!html.contains(r#"" selected>县"#));
    }

    #[test]
    fn six_battle_sections_in_order_with_every_indicator() {
        let b = sample_board();
        let html = render(&b, &DashboardQuery::default());
        assert_eq!(html.matches(r#"<section class="battle""#).count(), 6);
        let mut last = 0;
        for battle in Battle::ALL {
            let at = html
                .find(&format!(
                    r#"<section class="battle" data-battle="{}""#,
                    battle.as_str()
                ))
                .unwrap_or_else(|| panic!("no section for {battle}"));
            assert!(at > last, "{battle} out of order");
            last = at;
            assert!(html.contains(battle.name_zh()));
        }
        assert_eq!(rows_in(&html), 203);
        assert!(!html.contains("无符合条件的指标"));
        // Each row links to its page at the same as_of.
        assert!(html.contains(
            r#"<tr class="indicator-row" data-indicator="tech-sme-registered" data-status="behind">"#
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
            .filter(|r| r.indicator.battle == Battle::Innovation)
            .count();
        let html = render(
            &b,
            &DashboardQuery {
                battle: Some(Battle::Innovation),
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
            .find(r#"data-indicator="government-business-exchange-events-per-quarter""#)
            .unwrap();
        let tr = &html[start..start + html[start..].find("</tr>").unwrap()];
        assert!(tr.contains("4–8次") && !tr.contains("bar-fill"), "{tr}");
    }

    #[test]
    fn all_text_is_escaped() {
        let mut b = sample_board();
        b.region = "<b>县</b>".into();
        for r in &mut b.rows {
            if r.indicator.id.as_str() == "tech-sme-registered" {
                r.indicator.name = r#"<script>alert("x")</script>"#.into();
                r.indicator.lead_units = vec!["A&B".into()];
                r.indicator.source.quote = "'q'".into();
            }
        }
        let html = dashboard(
            &b,
            &DashboardQuery::default(),
            &["<i>".into()],
            &OverdueMarks::default(),
        );
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;县&lt;/b&gt;打好发展"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("A&amp;B"));
        assert!(html.contains(r#"<option value="&lt;i&gt;">&lt;i&gt;</option>"#));
        let page = indicator_page(&b, "tech-sme-registered").unwrap();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>"));
        assert!(page.contains("&#39;q&#39;"));
        let page = not_found_page(&b, "<x>");
        assert!(page.contains("&lt;x&gt;") && !page.contains("<x>"));
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_indicator_page_has_every_figure_the_chart_and_the_alert() {
        let b = sample_board();
        assert!(indicator_page(&b, "no-such-indicator").is_none());
        let html = indicator_page(&b, "tech-sme-registered").unwrap();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains(r#"<html lang="zh-CN">"#));
        assert!(html.contains(r#"<link rel="stylesheet" href="/assets/dashboard.css">"#));
        assert!(html.contains(r#"<script src="/assets/dashboard.js" defer></script>"#));
        assert!(html.contains("<h1>科技型中小企业入库</h1>"));
        assert!(html.contains("科技创新攻坚仗"));
        for label in [
            "实际",
            "目标",
            "完成率",
            "序时进度",
            "偏差",
            "全年缺口",
            "其余月份需",
            "预计全年",
            "状态",
        ] {
            assert!(
                html.contains(&format!(r#"<th scope="row">{label}</th>"#)),
                "missing {label}"
            );
        }
        // 62 of 150 at June: 41.3%, pace 50%, 13 below, 88 to go, 14.67 a month, 124 projected.
        for figure in [
            "<td>62家</td>",
            "<td>150家以上</td>",
            "<td>41.3%</td>",
            "<td>50.0%</td>",
            "<td>-13家</td>",
            "<td>88家</td>",
            "<td>平均每月14.67家</td>",
            "<td>124家</td>",
            "<td>-8.7个百分点</td>",
        ] {
            assert!(html.contains(figure), "missing {figure}");
        }
        // Units, source and series.
        assert!(html.contains("县科工局"));
        assert!(html.contains("桃江经开区、县人社局"));
        assert!(html.contains("<blockquote>科技型中小企业入库 150 家以上</blockquote>"));
        assert!(html.contains("二、主要目标（二）"));
        assert!(html.contains(r#"<th scope="col">期别</th><th scope="col">数值</th>"#));
        assert!(html.contains("2023年1-3月") && html.contains("<td>30家</td>"));
        // The inline chart, the alert and the way back.
        assert!(html.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" class="indicator-chart""#));
        assert!(html.contains(r#"<p class="alert alert-warning" role="alert">"#));
        assert!(
            html.contains("科技型中小企业入库：完成41.3%，低于序时进度8.7个百分点，全年还需88家")
        );
        assert!(html.contains(r#"<a href="/?as_of=2023-06">← 返回总览</a>"#));

        // An on-track rate has no alert; a severely behind one is critical.
        let html = indicator_page(&b, "gdp-growth").unwrap();
        assert!(!html.contains(r#"role="alert""#));
        assert!(html.contains("<td>7.9%</td>"));
        let html = indicator_page(&b, "import-export-value").unwrap();
        assert!(html.contains(r#"<p class="alert alert-critical" role="alert">"#));
        // No data: dashes, and the chart says so.
        let html = indicator_page(&b, "new-urban-jobs").unwrap();
        assert!(html.contains("本年暂无数据"));
        assert!(html.contains(r#"<span class="status status-no_data">暂无数据</span>"#));
    }

    #[test]
    fn queries_parse_empty_as_all_and_reject_unknown_values() {
        assert_eq!(
            DashboardQuery::parse(Some(""), Some(" "), None).unwrap(),
            DashboardQuery::default()
        );
        let q =
            DashboardQuery::parse(Some("risk"), Some("县财政局"), Some("severely_behind")).unwrap();
        assert_eq!(q.battle, Some(Battle::Risk));
        assert_eq!(q.lead_unit.as_deref(), Some("县财政局"));
        assert_eq!(q.status, Some(Status::SeverelyBehind));
        assert_eq!(
            DashboardQuery::parse(Some("war"), None, None)
                .unwrap_err()
                .field(),
            "battle"
        );
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

    #[test]
    fn target_texts_read_as_the_plan_writes_them() {
        let b = sample_board();
        let t = |id| {
            let r = row(&b, id);
            target_text(r.attainment.target.as_ref(), &r.indicator.unit)
        };
        assert_eq!(t("tech-sme-registered"), "150家以上");
        assert_eq!(t("gdp-growth"), "8%左右");
        assert_eq!(t("cpi"), "3%以内");
        assert_eq!(
            t("government-business-exchange-events-per-quarter"),
            "4–8次"
        );
        assert_eq!(target_text(None, "家"), "未设目标");
    }

    #[test]
    fn assets_are_compiled_in() {
        assert!(CSS.contains(".status-on_track"));
        assert!(CSS.contains(".status-severely_behind"));
        assert!(CSS.contains("@media print"));
        assert!(JS.contains("/v1/alerts?as_of="));
        assert!(JS.contains("If-None-Match"));
        assert!(JS.contains("visibilityState"));
        assert!(JS.contains("location.reload()"));
    }
}
