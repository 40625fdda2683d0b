//! The page of one indicator (`/indicators/{id}`): every attainment figure, the year's
//! readings, the chart, the alert if it is lagging, the indicator's facts and its source
//! in the plan; and the page for an unknown indicator.
//!
//! One page per file: the dashboard is [`super::dashboard`]; what both pages share is in
//! [`super::html`].

use std::fmt::Write as _;

use super::html::{
    dashboard_title, dashboard_url, enc, escape, page_str, status_badge, with_unit, LANG,
};
use super::{chart, Board, BoardRow};
use crate::domain::{Direction, Indicator, Kind};
use crate::engine::{alerts, headline, tidy, Attainment, Headline};
use crate::text::{self, DASH};

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
    let du = text::diff_unit(LANG, &ind.unit);
    let e = |s: String| escape(&s);
    let mut t = String::from(
        r#"<table class="figures"><caption>完成情况</caption><thead><tr><th scope="col">项目</th><th scope="col">数值</th><th scope="col">说明</th></tr></thead><tbody>"#,
    );
    let actual_note = match (a.actual_period, a.data_lag_months) {
        (Some(p), Some(n)) if n > 0 => format!("{}数据，滞后{n}个月", text::year_to_date(LANG, p)),
        (Some(p), _) => format!("{}数据", text::year_to_date(LANG, p)),
        _ => "本年截至该月暂无数据".into(),
    };
    if let Some(situation) = headline::situation(LANG, ind, a) {
        figure(&mut t, "概况", &e(situation), "按指标类型的统计口径表述");
    }
    figure(&mut t, "实际", &e(with_unit(a.actual, unit)), &actual_note);
    figure(
        &mut t,
        "目标",
        &e(text::target_words(LANG, a.target.as_ref(), unit)),
        &format!("{}年全年目标", a.year),
    );
    figure(
        &mut t,
        "序时应达",
        &e(with_unit(a.expected, unit)),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "目标 × 序时进度",
            _ => "增速、比率、水平类指标以目标本身衡量",
        },
    );
    // 完成率, 序时进度 and 进度差 mean something only where there is a 完成率: a
    // growth rate, a ceiling or a class is never shown as progress.
    if a.headline == Some(Headline::Completion) {
        figure(
            &mut t,
            "完成率",
            &e(a.attainment.map_or(DASH.into(), text::percent)),
            "实际 ÷ 目标",
        );
        figure(
            &mut t,
            "序时进度",
            &e(a.scheduled_pace.map_or(DASH.into(), text::percent)),
            "截至最近数据月份应完成的全年比例",
        );
        figure(
            &mut t,
            "进度差",
            &e(tidy(a.pace_gap).map_or(DASH.into(), |g| text::points(LANG, g))),
            "完成率 − 序时进度",
        );
    }
    if let Some(left) = tidy(a.allowance) {
        figure(
            &mut t,
            "尚余",
            &e(with_unit(Some(left), unit)),
            "控制目标减去已用",
        );
    }
    if let Some(yes) = a.attained {
        figure(
            &mut t,
            "是否达到",
            if yes { "达到" } else { "未达到" },
            "等级、排名类指标只论是否达到",
        );
    }
    figure(
        &mut t,
        "偏差",
        &e(tidy(a.deviation).map_or(DASH.into(), |d| format!("{}{du}", text::signed(d)))),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "实际 − 序时应达",
            _ => "实际 − 目标",
        },
    );
    figure(
        &mut t,
        "全年缺口",
        &e(with_unit(a.year_end_gap, unit)),
        "距全年目标尚差",
    );
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
    figure(
        &mut t,
        &format!("{rest}需"),
        &e(required),
        match ind.kind {
            Kind::Rate | Kind::Growth => match a.catch_up_method {
                Some(crate::engine::CatchUp::BaseWeighted) => {
                    "按上年同期基数加权，其余月份平均需达到的数值"
                }
                _ => "其余月份平均需达到的数值",
            },
            _ => "为完成全年目标，其余月份的要求",
        },
    );
    // Under the plan's schedule, the next period's share of what is left.
    if let (Some(_), Some(next), Some(n)) =
        (&ind.profile, a.next_period, tidy(a.required_next_period))
    {
        let words = text::next_period(LANG, ind.frequency, next.month());
        let n = with_unit(Some(n), unit);
        figure(
            &mut t,
            &format!("{words}需"),
            &e(if ind.direction == Direction::Down {
                format!("控制在{n}以内")
            } else {
                n
            }),
            "按进度安排（分月进度）分摊的下期要求",
        );
    }
    figure(
        &mut t,
        "预计全年",
        &e(with_unit(a.projection, unit)),
        match ind.kind {
            Kind::Cumulative | Kind::Milestone => "按序时进度外推",
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
            escape(&text::year_to_date(LANG, *p)),
            escape(&format!("{}{unit}", text::fmt_num(*v)))
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
        dashboard_url(as_of, Some(&ind.group), None, None),
        ind.group
    );
    let mut body = String::with_capacity(32 * 1024);
    let _ = write!(
        body,
        r#"<nav class="crumbs" aria-label="导航"><a href="{back}">← 返回总览</a> <span aria-hidden="true">/</span> <a href="{battle_url}">{battle}</a></nav>
<header class="page-header">
<h1>{name}</h1>
<p class="meta">{name_en}数据截至 <time datetime="{as_of}">{month}</time> · {badge}</p>
</header>
<main>
"#,
        back = escape(&back),
        battle_url = escape(&battle_url),
        battle = escape(board.group_name(&ind.group)),
        name = escape(&ind.name),
        name_en = if ind.name_en.is_empty() {
            String::new()
        } else {
            format!(r#"<span lang="en">{}</span> · "#, escape(&ind.name_en))
        },
        badge = status_badge(a.status),
        month = text::year_month(LANG, as_of),
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
            DASH.to_string()
        } else {
            escape(&text::list(LANG, u))
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
<dt>所属板块</dt><dd><a href="{battle_url}">{battle}</a></dd>
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
        battle = escape(board.group_name(&ind.group)),
        lead = units(&ind.lead_units),
        co = units(&ind.co_units),
        target = escape(&text::target_words(LANG, a.target.as_ref(), &ind.unit)),
        kind = text::indicator::kind(LANG, ind.kind),
        direction = text::indicator::direction(LANG, ind.direction),
        frequency = text::indicator::frequency(LANG, ind.frequency),
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
    Some(page_str(&title, as_of, "indicator", &body))
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
    page_str(
        &format!("未找到指标 · {}", dashboard_title(board)),
        board.as_of,
        "not-found",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{row, sample_board};
    use crate::text::Lang;

    #[test]
    fn the_indicator_page_has_every_figure_the_chart_and_the_alert() {
        let b = sample_board();
        assert!(indicator_page(&b, "no-such-indicator").is_none());
        let html = indicator_page(&b, "tech-sme-registered").unwrap();
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
