//! The page of one indicator (`/indicators/{id}`): every attainment figure, the year's
//! readings, the chart, the alert if it is lagging, the indicator's facts and its source
//! in the plan; and the page for an unknown indicator.
//!
//! One page per file: the dashboard is [`super::dashboard`]; what both pages share is in
//! [`super::html`].

use maud::{html, Markup, Render};

use super::html::{
    dashboard_title, dashboard_url, enc, page, status_badge, with_unit, Viewer, LANG,
};
use super::{chart, Board, BoardRow};
use crate::domain::{Direction, Indicator, Kind};
use crate::engine::{alerts, headline, tidy, Attainment, Headline};
use crate::text::{self, DASH};

/// One line of the figures table.
fn figure(label: &str, value: impl Render, note: &str) -> Markup {
    html! {
        tr { th scope="row" { (label) } td { (value) } td.note { (note) } }
    }
}

fn figures_table(ind: &Indicator, a: &Attainment) -> Markup {
    let unit = ind.unit.as_str();
    let du = text::diff_unit(LANG, &ind.unit);
    let mut t: Vec<Markup> = Vec::new();
    let actual_note = match (a.actual_period, a.data_lag_months) {
        (Some(p), Some(n)) if n > 0 => format!("{}数据，滞后{n}个月", text::year_to_date(LANG, p)),
        (Some(p), _) => format!("{}数据", text::year_to_date(LANG, p)),
        _ => "本年截至该月暂无数据".into(),
    };
    if let Some(situation) = headline::situation(LANG, ind, a) {
        t.push(figure("概况", situation, "按指标类型的统计口径表述"));
    }
    t.push(figure("实际", with_unit(a.actual, unit), &actual_note));
    t.push(figure(
        "目标",
        text::target_words(LANG, a.target.as_ref(), unit),
        &format!("{}年全年目标", a.year),
    ));
    t.push(figure(
        "序时应达",
        with_unit(a.expected, unit),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "目标 × 序时进度",
            _ => "增速、比率、水平类指标以目标本身衡量",
        },
    ));
    // 完成率, 序时进度 and 进度差 mean something only where there is a 完成率: a
    // growth rate, a ceiling or a class is never shown as progress.
    if a.headline == Some(Headline::Completion) {
        t.push(figure(
            "完成率",
            a.attainment.map_or(DASH.into(), text::percent),
            "实际 ÷ 目标",
        ));
        t.push(figure(
            "序时进度",
            a.scheduled_pace.map_or(DASH.into(), text::percent),
            "截至最近数据月份应完成的全年比例",
        ));
        t.push(figure(
            "进度差",
            tidy(a.pace_gap).map_or(DASH.into(), |g| text::points(LANG, g)),
            "完成率 − 序时进度",
        ));
    }
    if let Some(left) = tidy(a.allowance) {
        t.push(figure(
            "尚余",
            with_unit(Some(left), unit),
            "控制目标减去已用",
        ));
    }
    if let Some(yes) = a.attained {
        t.push(figure(
            "是否达到",
            if yes { "达到" } else { "未达到" },
            "等级、排名类指标只论是否达到",
        ));
    }
    t.push(figure(
        "偏差",
        tidy(a.deviation).map_or(DASH.into(), |d| format!("{}{du}", text::signed(d))),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "实际 − 序时应达",
            _ => "实际 − 目标",
        },
    ));
    t.push(figure(
        "全年缺口",
        with_unit(a.year_end_gap, unit),
        "距全年目标尚差",
    ));
    let required = tidy(a.required_rest_of_year).map_or(DASH.into(), |r| {
        let r = text::fmt_num(r);
        match (ind.kind, ind.direction) {
            (Kind::Cumulative | Kind::Milestone, Direction::Down) => format!("每月不超过{r}{unit}"),
            (Kind::Cumulative | Kind::Milestone, Direction::Up) => format!("平均每月{r}{unit}"),
            (_, Direction::Down) => format!("控制在{r}{unit}以内"),
            _ => format!("{r}{unit}"),
        }
    });
    let required = if a.reachable == Some(false) {
        format!("{required}（按目前进度全年目标已难以完成）")
    } else {
        required
    };
    let rest = a.actual_period.map_or_else(
        || "其余月份".to_string(),
        |p| text::rest_of_year(LANG, p.month()),
    );
    t.push(figure(
        &format!("{rest}需"),
        required,
        match ind.kind {
            Kind::Rate | Kind::Growth => match a.catch_up_method {
                Some(crate::engine::CatchUp::BaseWeighted) => {
                    "按上年同期基数加权，其余月份平均需达到的数值"
                }
                _ => "其余月份平均需达到的数值",
            },
            _ => "为完成全年目标，其余月份的要求",
        },
    ));
    // Under the plan's schedule, the next period's share of what is left.
    if let (Some(_), Some(next), Some(n)) =
        (&ind.profile, a.next_period, tidy(a.required_next_period))
    {
        let words = text::next_period(LANG, ind.frequency, next.month());
        let n = with_unit(Some(n), unit);
        t.push(figure(
            &format!("{words}需"),
            if ind.direction == Direction::Down {
                format!("控制在{n}以内")
            } else {
                n
            },
            "按进度安排（分月进度）分摊的下期要求",
        ));
    }
    t.push(figure(
        "预计全年",
        with_unit(a.projection, unit),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "按序时进度外推",
            _ => "按当前数值",
        },
    ));
    t.push(figure("状态", status_badge(a.status), ""));
    html! {
        table.figures {
            caption { "完成情况" }
            thead { tr { th scope="col" { "项目" } th scope="col" { "数值" } th scope="col" { "说明" } } }
            tbody { @for r in &t { (r) } }
        }
    }
}

fn series_table(row: &BoardRow) -> Markup {
    let unit = row.indicator.unit.as_str();
    html! {
        @if row.series.is_empty() {
            p.empty { "本年暂无数据" }
        } @else {
            table.series {
                caption { "本年数据" }
                thead { tr { th scope="col" { "期别" } th scope="col" { "数值" } } }
                tbody {
                    @for (p, v) in &row.series {
                        tr {
                            th scope="row" { time datetime=(p) { (text::year_to_date(LANG, *p)) } }
                            td { (text::fmt_num(*v)) (unit) }
                        }
                    }
                }
            }
        }
    }
}

/// A note a submitter sent for a period without a figure, as the indicator page lists
/// it: `on` is the day it was sent, in the configured time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteLine {
    pub period: crate::domain::Period,
    pub note: String,
    pub by: String,
    pub on: chrono::NaiveDate,
}

/// The 报送说明 of the year: each note with its period, whether the figure has come
/// in since, who sent it and when.
fn notes_table(row: &BoardRow, notes: &[NoteLine]) -> Markup {
    html! {
        table.notes {
            caption { "报送说明" }
            thead {
                tr {
                    th scope="col" { "期别" }
                    th scope="col" { "说明" }
                    th scope="col" { "数据" }
                    th scope="col" { "报送人" }
                    th scope="col" { "日期" }
                }
            }
            tbody {
                @for n in notes {
                    tr {
                        th scope="row" {
                            time datetime=(n.period) { (text::year_to_date(LANG, n.period)) }
                        }
                        td { (n.note) }
                        td {
                            @if row.series.iter().any(|(p, _)| *p == n.period) { "已报送" }
                            @else { "未报" }
                        }
                        td { (n.by) }
                        td { time datetime=(n.on) { (text::date(LANG, n.on, None)) } }
                    }
                }
            }
        }
    }
}

/// The page of one indicator (`/indicators/{id}`), or `None` when the board has no such
/// indicator: its battle, units and source, every attainment figure, the year's readings,
/// the chart, the alert if it is lagging, and a link back to the dashboard; `viewer` is
/// who is signed in, if anyone; `notes` the year's notes sent without a figure.
pub fn indicator_page(
    board: &Board,
    id: &str,
    notes: &[NoteLine],
    viewer: Option<&Viewer>,
) -> Option<String> {
    let row = board.rows.iter().find(|r| r.indicator.id.as_str() == id)?;
    let ind = &row.indicator;
    let a = &row.attainment;
    let as_of = board.as_of;
    let back = dashboard_url(as_of, None, None, None);
    let battle_url = format!(
        "{}#battle-{}",
        dashboard_url(as_of, Some(&ind.group), None, None),
        ind.group
    );
    let battle = board.group_name(&ind.group);
    let units = |u: &[String]| {
        if u.is_empty() {
            DASH.to_string()
        } else {
            text::list(LANG, u)
        }
    };
    let document = if ind.source.document.trim().is_empty() {
        &board.document
    } else {
        &ind.source.document
    };
    let body = html! {
        nav.crumbs aria-label="导航" {
            a href=(back) { "← 返回总览" }
            " " span aria-hidden="true" { "/" } " "
            a href=(battle_url) { (battle) }
        }
        header.page-header {
            h1 { (ind.name) }
            p.meta {
                @if !ind.name_en.is_empty() {
                    span lang="en" { (ind.name_en) } " · "
                }
                "数据截至 " time datetime=(as_of) { (text::year_month(LANG, as_of)) }
                " · " (status_badge(a.status))
            }
        }
        main {
            @if a.status.is_lagging() {
                @let severity = alerts::Severity::of(a.status).map_or("warning", |s| s.as_str());
                p class={ "alert alert-" (severity) } role="alert" {
                    strong { "预警" } " " (alerts::message(ind, a))
                }
            }
            section.chart aria-label="走势图" {
                div.chart-wrap { (chart::indicator_chart(row, a.target.as_ref())) }
                p.chart-links {
                    a href={ "/v1/indicators/" (enc(ind.id.as_str())) "/chart.svg?as_of=" (as_of) }
                    {
                        "下载SVG图"
                    }
                }
            }
            div.columns {
                section.facts { h2 { "完成情况" } (figures_table(ind, a)) }
                section.readings { h2 { "本年数据" } (series_table(row)) }
            }
            @if !notes.is_empty() {
                section.notes { h2 { "报送说明" } (notes_table(row, notes)) }
            }
            section.about {
                h2 { "指标信息" }
                dl.facts-list {
                    dt { "所属板块" } dd { a href=(battle_url) { (battle) } }
                    dt { "牵头单位" } dd { (units(&ind.lead_units)) }
                    dt { "责任单位" } dd { (units(&ind.co_units)) }
                    dt { "目标" } dd { (text::target_words(LANG, a.target.as_ref(), &ind.unit)) }
                    dt { "指标类型" } dd { (text::indicator::kind(LANG, ind.kind)) }
                    dt { "方向" } dd { (text::indicator::direction(LANG, ind.direction)) }
                    dt { "报送频率" } dd { (text::indicator::frequency(LANG, ind.frequency)) }
                    dt { "计量单位" } dd { (ind.unit) }
                    dt { "指标代码" } dd { code { (ind.id.as_str()) } }
                }
            }
            section.source {
                h2 { "来源" }
                p.document { (document) }
                p.section { (ind.source.section) }
                blockquote { (ind.source.quote) }
                @if !ind.also_in.is_empty() {
                    h3 { "文件其他处" }
                    ul.also-in {
                        @for r in &ind.also_in {
                            li { span.section { (r.section) } "：“" (r.quote) "”" }
                        }
                    }
                }
            }
            p.back { a href=(back) { "← 返回总览" } }
        }
    };
    let title = format!("{} · {}", ind.name, dashboard_title(board));
    Some(page(&title, as_of, "indicator", viewer, body).into_string())
}

/// A small page for an unknown indicator (serve it with 404); `viewer` is who is signed
/// in, if anyone.
pub fn not_found_page(board: &Board, id: &str, viewer: Option<&Viewer>) -> String {
    let body = html! {
        header.page-header { h1 { "未找到指标" } }
        main {
            p { "没有代码为 " code { (id) } " 的指标。" }
            p.back { a href=(dashboard_url(board.as_of, None, None, None)) { "← 返回总览" } }
        }
    };
    page(
        &format!("未找到指标 · {}", dashboard_title(board)),
        board.as_of,
        "not-found",
        viewer,
        body,
    )
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{row, sample_board};
    use crate::text::Lang;

    #[test]
    fn the_indicator_page_has_every_figure_the_chart_and_the_alert() {
        let b = sample_board();
        assert!(indicator_page(&b, "no-such-indicator", &[], None).is_none());
        let html = indicator_page(&b, "tech-sme-registered", &[], None).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
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
            "下半年需",
            "预计全年",
            "状态",
            "概况",
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
        let html = indicator_page(&b, "gdp-growth", &[], None).unwrap();
        assert!(!html.contains(r#"role="alert""#));
        assert!(html.contains("<td>7.9%</td>"));
        let html = indicator_page(&b, "import-export-value", &[], None).unwrap();
        assert!(html.contains(r#"<p class="alert alert-critical" role="alert">"#));
        // No data: dashes, and the chart says so.
        let html = indicator_page(&b, "new-urban-jobs", &[], None).unwrap();
        assert!(html.contains("本年暂无数据"));
        assert!(html.contains(r#"<span class="status status-no_data">暂无数据</span>"#));
    }

    #[test]
    fn target_texts_read_as_the_plan_writes_them() {
        let b = sample_board();
        let t = |id| {
            let r = row(&b, id);
            text::target_words(Lang::Zh, r.attainment.target.as_ref(), &r.indicator.unit)
        };
        assert_eq!(t("tech-sme-registered"), "150家以上");
        assert_eq!(t("gdp-growth"), "8%左右");
        assert_eq!(t("cpi"), "3%以内");
        assert_eq!(t("primary-care-drug-reserve-population-share"), "15–20%");
        assert_eq!(text::target_words(Lang::Zh, None, "家"), "未设目标");
    }
}
