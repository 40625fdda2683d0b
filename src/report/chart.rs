//! SVG charts for the web dashboard: the sparkline of each dashboard row and the chart
//! of an indicator page (also served alone as `/v1/indicators/{id}/chart.svg`).
//!
//! Pure, like the rest of the report module, and written in maud like the pages, so
//! every text (an indicator's name, its unit) is escaped by construction. Every chart
//! is self-contained: inline attributes only, no external CSS, fonts or scripts, so the
//! same markup works inlined in HTML, served as `image/svg+xml`, or pasted into a
//! document. It is well-formed XML too: every element is closed with an end tag
//! (`<line …></line>`, which HTML's parser takes inside `<svg>` as well), never left
//! open as an HTML void element.

use maud::{html, Markup};

use super::html::LANG;
use super::BoardRow;
use crate::domain::{Comparator, Indicator, Kind, Period, Target};
use crate::engine;
use crate::text;

/// The SVG namespace, named on every chart's root so that it stands alone as a file.
const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// The font stack of every chart, with Chinese fallbacks.
pub const FONT_FAMILY: &str = "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif";

/// Width of [`indicator_chart`], in pixels.
pub const CHART_WIDTH: u32 = 720;
/// Height of [`indicator_chart`], in pixels.
pub const CHART_HEIGHT: u32 = 360;

const ACTUAL_COLOUR: &str = "#1d4ed8";
const PACE_COLOUR: &str = "#d97706";
const TARGET_COLOUR: &str = "#374151";
const BAND_FILL: &str = "#fde68a";
const GRID_COLOUR: &str = "#e5e7eb";
const AXIS_COLOUR: &str = "#6b7280";
const TEXT_COLOUR: &str = "#111827";
const MUTED_COLOUR: &str = "#4b5563";

// The plot area of the indicator chart.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 696.0;
const TOP: f64 = 72.0;
const BOTTOM: f64 = 316.0;

/// Longest indicator name drawn in a chart title before it is cut with "…" (the full
/// name stays in the SVG's `<title>` and `aria-label`).
const TITLE_CHARS: usize = 38;

/// Formats an SVG coordinate.
fn c(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

/// The year's readings that can be drawn: finite values, one per month (the last wins).
fn drawable(series: &[(Period, f64)], year: Option<u16>) -> Vec<(u8, f64)> {
    let mut by_month: Vec<(u8, f64)> = Vec::new();
    for (p, v) in series {
        if !v.is_finite() || year.is_some_and(|y| p.year() != y) {
            continue;
        }
        by_month.retain(|(m, _)| *m != p.month());
        by_month.push((p.month(), *v));
    }
    by_month.sort_by_key(|(m, _)| *m);
    by_month
}

/// A small inline SVG of the year's readings: a polyline with x by month (1–12) and y
/// scaled to the values, and a dot on the latest reading. `role="img"` with an
/// `aria-label` listing every value. An empty series gives an empty, labelled svg.
pub fn sparkline(series: &[(Period, f64)], width: u32, height: u32) -> Markup {
    let points = drawable(series, None);
    let (w, h) = (f64::from(width.max(8)), f64::from(height.max(8)));
    let frame = |label: &str, inner: Markup| {
        html! {
            svg xmlns=(SVG_NS) class="sparkline" width=(width) height=(height)
                viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(label) { (inner) }
        }
    };
    if points.is_empty() {
        return frame("走势：暂无数据", html! {});
    }
    let label = format!(
        "走势：{}",
        points
            .iter()
            .map(|(m, v)| format!("{} {}", text::month(LANG, *m), text::fmt_num(*v)))
            .collect::<Vec<_>>()
            .join("，")
    );
    let pad = 2.5;
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let x = |m: u8| pad + (f64::from(m) - 1.0) / 11.0 * (w - 2.0 * pad);
    let y = |v: f64| {
        if hi > lo {
            h - pad - (v - lo) / (hi - lo) * (h - 2.0 * pad)
        } else {
            h / 2.0
        }
    };
    let pts: Vec<String> = points
        .iter()
        .map(|(m, v)| format!("{},{}", c(x(*m)), c(y(*v))))
        .collect();
    frame(
        &label,
        html! {
            // A faint baseline across the year, so a single point still reads as "early in
            // the year".
            line x1=(c(pad)) y1=(c(h - 0.5)) x2=(c(w - pad)) y2=(c(h - 0.5)) stroke="#d1d5db"
                stroke-width="1" {}
            @if points.len() > 1 {
                polyline points=(pts.join(" ")) fill="none" stroke="currentColor" stroke-width="1.5"
                    stroke-linejoin="round" stroke-linecap="round" {}
            }
            @if let Some((m, v)) = points.last() {
                circle cx=(c(x(*m))) cy=(c(y(*v))) r="2.5" fill="currentColor" {}
            }
        },
    )
}

/// A "nice" tick step (1, 2, 2.5 or 5 × 10ⁿ) for about `count` intervals over `range`.
fn nice_step(range: f64, count: f64) -> f64 {
    let raw = range / count;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Decimals needed to print multiples of `step` exactly (at most 6).
fn decimals(step: f64) -> usize {
    let mut d = 0;
    while d < 6 {
        let scaled = step * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() < 1e-6 {
            break;
        }
        d += 1;
    }
    d
}

/// The y axis: round bounds covering `lo..=hi`, the step and the tick values.
fn y_axis(lo: f64, hi: f64) -> (f64, f64, f64, Vec<f64>) {
    let (mut lo, mut hi) = (lo, hi);
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let step = nice_step(hi - lo, 5.0);
    let lo = (lo / step).floor() * step;
    let hi = (hi / step).ceil() * step;
    let n = ((hi - lo) / step).round().clamp(1.0, 50.0) as usize;
    let d = decimals(step) as i32;
    let round = |v: f64| {
        let f = 10f64.powi(d);
        let r = (v * f).round() / f;
        if r == 0.0 {
            0.0
        } else {
            r
        }
    };
    let ticks = (0..=n).map(|i| round(lo + step * i as f64)).collect();
    (round(lo), round(hi), step, ticks)
}

fn tick_label(v: f64, step: f64) -> String {
    let s = format!("{:.*}", decimals(step), v);
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        // "-0", "-0.0"
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// The scheduled path of a cumulative target: `value × scheduled_pace(m)` for m = 1..12.
fn pace_path(ind: &Indicator, value: f64) -> Vec<(u8, f64)> {
    (1..=12u8)
        .map(|m| (m, value * engine::scheduled_pace(ind, m)))
        .collect()
}

/// The indicator page chart (and `/v1/indicators/{id}/chart.svg`): a standalone
/// 720×360 SVG with month axes 1月–12月, the actual year-to-date line with points, the
/// scheduled-pace line (the expected path `target × scheduled_pace(m)` of a cumulative
/// indicator; the target itself for rates and levels), the target as a dashed line
/// (a shaded band for a `between` target), a Chinese legend (实际 / 序时进度 / 目标) and
/// a title with the indicator's name and unit.
///
/// `target` is normally `row.attainment.target.as_ref()`, the target of the board's year.
/// A missing target, a relative target awaiting its figure, no readings and negative
/// values all draw a valid chart with a note.
pub fn indicator_chart(row: &BoardRow, target: Option<&Target>) -> Markup {
    let ind = &row.indicator;
    let a = &row.attainment;
    let unit = ind.unit.as_str();
    let points = drawable(&row.series, Some(a.year));
    let value = target.and_then(|t| t.value).filter(|v| v.is_finite());
    let between = target.is_some_and(|t| t.comparator == Comparator::Between);
    let upper = if between {
        target.and_then(|t| t.upper).filter(|u| u.is_finite())
    } else {
        None
    };
    // Only a count, an amount or a list has a 序时进度 to draw; a growth rate, a rate,
    // a level or a class is judged against the target itself.
    let cumulative = matches!(ind.kind, Kind::Cumulative | Kind::Milestone);

    // The y domain covers every drawn value; counts and rates also show zero.
    let mut domain: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    domain.extend(value);
    domain.extend(upper);
    if ind.kind != Kind::Level || domain.is_empty() {
        domain.push(0.0);
    }
    let (dlo, dhi) = domain
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    // Headroom, so the target and the latest value do not sit on the plot's edge (a
    // zero floor stays the floor).
    let span = dhi - dlo;
    let dhi = dhi + span * 0.06;
    let dlo = if dlo < 0.0 || ind.kind == Kind::Level {
        dlo - span * 0.06
    } else {
        dlo
    };
    let (ylo, yhi, step, ticks) = y_axis(dlo, dhi);
    let x = |m: u8| LEFT + (f64::from(m) - 1.0) / 11.0 * (RIGHT - LEFT);
    let y = |v: f64| BOTTOM - (v - ylo) / (yhi - ylo) * (BOTTOM - TOP);
    let path = |pts: &[(u8, f64)]| {
        pts.iter()
            .map(|(m, v)| format!("{},{}", c(x(*m)), c(y(*v))))
            .collect::<Vec<_>>()
            .join(" ")
    };

    let target_desc = match target {
        Some(t) if t.value.is_some() => text::target_words(LANG, Some(t), unit),
        Some(_) => "待定".to_string(),
        None => "未设目标".to_string(),
    };
    let readings_desc = if points.is_empty() {
        "暂无数据".to_string()
    } else {
        points
            .iter()
            .map(|(m, v)| format!("{} {}", text::month(LANG, *m), text::with_unit(*v, unit)))
            .collect::<Vec<_>>()
            .join("，")
    };
    let full_title = format!("{}（{}）", ind.name, unit);
    let aria = format!(
        "{full_title}，{}年：实际 {readings_desc}；目标 {target_desc}",
        a.year
    );
    let shown_name: String = if ind.name.chars().count() > TITLE_CHARS {
        let mut s: String = ind.name.chars().take(TITLE_CHARS - 1).collect();
        s.push('…');
        s
    } else {
        ind.name.clone()
    };

    let (w, h) = (CHART_WIDTH, CHART_HEIGHT);
    // Legend: each entry's line starts where the one before it ends.
    let legend_y = 44.0;
    let mut lx = 472.0;
    let legend: Vec<(f64, &str, &str, Option<&str>)> = [
        ("实际", ACTUAL_COLOUR, None),
        ("序时进度", PACE_COLOUR, None),
        ("目标", TARGET_COLOUR, Some("6 4")),
    ]
    .into_iter()
    .filter(|(label, _, _)| cumulative || *label != "序时进度")
    .map(|(label, colour, dash)| {
        let at = lx;
        lx += 28.0 + 12.0 * label.chars().count() as f64 + 18.0;
        (at, label, colour, dash)
    })
    .collect();
    let band = match (value, upper) {
        (Some(lo), Some(hi)) => Some((lo, hi)),
        _ => None,
    };

    html! {
        svg xmlns=(SVG_NS) class="indicator-chart" width=(w) height=(h)
            viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(aria) font-family=(FONT_FAMILY)
            font-size="12" fill=(TEXT_COLOUR) {
            title { (full_title) }
            desc { (aria) }
            rect x="0" y="0" width=(w) height=(h) fill="#ffffff" {}
            // Title and subtitle.
            text x="16" y="26" font-size="16" font-weight="bold" {
                (shown_name)
                tspan font-weight="normal" fill=(MUTED_COLOUR) { "（" (unit) "）" }
            }
            text x="16" y="48" fill=(MUTED_COLOUR) {
                (a.year) "年 · 截至" (a.as_of) " · 目标：" (target_desc)
            }
            g class="legend" {
                @for (lx, label, colour, dash) in &legend {
                    line x1=(c(*lx)) y1=(c(legend_y)) x2=(c(lx + 22.0)) y2=(c(legend_y))
                        stroke=(colour) stroke-width="2" stroke-dasharray=[dash] {}
                    @if *label == "实际" {
                        circle cx=(c(lx + 11.0)) cy=(c(legend_y)) r="3" fill=(colour) {}
                    }
                    text x=(c(lx + 28.0)) y=(c(legend_y + 4.0)) { (label) }
                }
            }
            // Grid, y ticks and axes.
            g class="y-axis" text-anchor="end" {
                @for t in &ticks {
                    @let ty = y(*t);
                    line x1=(c(LEFT)) y1=(c(ty)) x2=(c(RIGHT)) y2=(c(ty)) stroke=(GRID_COLOUR)
                        stroke-width="1" {}
                    text x=(c(LEFT - 8.0)) y=(c(ty + 4.0)) fill=(MUTED_COLOUR) {
                        (tick_label(*t, step))
                    }
                }
            }
            @if ylo < 0.0 && yhi > 0.0 {
                line class="zero" x1=(c(LEFT)) y1=(c(y(0.0))) x2=(c(RIGHT)) y2=(c(y(0.0)))
                    stroke=(AXIS_COLOUR) stroke-width="1" {}
            }
            line x1=(c(LEFT)) y1=(c(BOTTOM)) x2=(c(RIGHT)) y2=(c(BOTTOM)) stroke=(AXIS_COLOUR)
                stroke-width="1" {}
            line x1=(c(LEFT)) y1=(c(TOP)) x2=(c(LEFT)) y2=(c(BOTTOM)) stroke=(AXIS_COLOUR)
                stroke-width="1" {}
            g class="x-axis" text-anchor="middle" {
                @for m in 1..=12u8 {
                    line x1=(c(x(m))) y1=(c(BOTTOM)) x2=(c(x(m))) y2=(c(BOTTOM + 4.0))
                        stroke=(AXIS_COLOUR) stroke-width="1" {}
                    text x=(c(x(m))) y=(c(BOTTOM + 20.0)) fill=(MUTED_COLOUR) {
                        (text::month(LANG, m))
                    }
                }
            }
            // Where the board stands.
            @if a.as_of.year() == a.year {
                @let ax = x(a.as_of.month());
                line class="as-of" x1=(c(ax)) y1=(c(TOP)) x2=(c(ax)) y2=(c(BOTTOM))
                    stroke=(AXIS_COLOUR) stroke-width="1" stroke-dasharray="2 3" {}
                text x=(c(ax)) y=(c(TOP - 6.0)) text-anchor="middle" font-size="11"
                    fill=(MUTED_COLOUR) {
                    "截至" (text::month(LANG, a.as_of.month()))
                }
            }
            // Target band, scheduled pace and target lines.
            @if let Some((lo, hi)) = band {
                @if cumulative {
                    @let low = pace_path(ind, lo);
                    @let high = pace_path(ind, hi);
                    @let outline: Vec<(u8, f64)> =
                        high.iter().chain(low.iter().rev()).copied().collect();
                    polygon class="band" points=(path(&outline)) fill=(BAND_FILL)
                        fill-opacity="0.45" stroke="none" {
                        title { "序时进度区间" }
                    }
                    @for line in [&low, &high] {
                        polyline class="pace" points=(path(line)) fill="none" stroke=(PACE_COLOUR)
                            stroke-width="2" {}
                    }
                } @else {
                    rect class="band" x=(c(LEFT)) y=(c(y(hi))) width=(c(RIGHT - LEFT))
                        height=(c((y(lo) - y(hi)).max(0.0))) fill=(BAND_FILL) fill-opacity="0.45" {
                        title { "目标区间" }
                    }
                }
                @for v in [lo, hi] {
                    (target_line(y(v), v, unit))
                }
                text x=(c(RIGHT - 4.0)) y=(c((y(lo) + y(hi)) / 2.0 + 4.0)) text-anchor="end"
                    font-size="11" fill=(MUTED_COLOUR) {
                    "目标区间"
                }
            } @else if let Some(v) = value {
                @if cumulative {
                    polyline class="pace" points=(path(&pace_path(ind, v))) fill="none"
                        stroke=(PACE_COLOUR) stroke-width="2" {}
                }
                (target_line(y(v), v, unit))
            }
            // The actual line and its points.
            @if points.len() > 1 {
                polyline class="actual" points=(path(&points)) fill="none" stroke=(ACTUAL_COLOUR)
                    stroke-width="2.5" stroke-linejoin="round" {}
            }
            @for (m, v) in &points {
                circle class="point" cx=(c(x(*m))) cy=(c(y(*v))) r="4" fill=(ACTUAL_COLOUR)
                    stroke="#ffffff" stroke-width="1.5" {
                    title { (a.year) "年1-" (m) "月：" (text::fmt_num(*v)) (unit) }
                }
            }
            @if let Some((m, v)) = points.last() {
                @let (anchor, dx) = if *m >= 11 { ("end", -8.0) } else { ("start", 8.0) };
                text x=(c(x(*m) + dx)) y=(c(y(*v) - 8.0)) text-anchor=(anchor) font-weight="bold"
                    fill=(ACTUAL_COLOUR) {
                    (text::fmt_num(*v)) (unit)
                }
            }
            (notes(&points, target))
        }
    }
}

/// A note, in the middle of the plot, for what cannot be drawn: no readings, no target,
/// a target awaiting its figure.
fn notes(points: &[(u8, f64)], target: Option<&Target>) -> Markup {
    let mut notes = Vec::new();
    if points.is_empty() {
        notes.push("暂无数据");
    }
    match target {
        None => notes.push("未设目标"),
        Some(t) if t.value.is_none() => notes.push("目标待定"),
        _ => {}
    }
    if notes.is_empty() {
        return html! {};
    }
    let note = notes.join(" · ");
    let (cx, cy) = ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
    let half = (14.0 * note.chars().count() as f64 + 24.0) / 2.0;
    html! {
        rect x=(c(cx - half)) y=(c(cy - 19.0)) width=(c(2.0 * half)) height="28" rx="4"
            fill="#ffffff" fill-opacity="0.9" stroke=(GRID_COLOUR) {}
        text class="note" x=(c(cx)) y=(c(cy)) text-anchor="middle" font-size="14"
            fill=(MUTED_COLOUR) { (note) }
    }
}

fn target_line(ty: f64, v: f64, unit: &str) -> Markup {
    html! {
        line class="target" x1=(c(LEFT)) y1=(c(ty)) x2=(c(RIGHT)) y2=(c(ty)) stroke=(TARGET_COLOUR)
            stroke-width="1.5" stroke-dasharray="6 4" {}
        text x=(c(LEFT + 6.0)) y=(c(ty - 5.0)) text-anchor="start" font-size="11"
            fill=(TARGET_COLOUR) {
            "目标 " (text::fmt_num(v)) (unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{row, sample_board};

    /// Whether every `&` in `s` starts one of XML's predefined or numeric entities.
    fn entities_ok(s: &str) -> bool {
        s.match_indices('&').all(|(i, _)| {
            let rest = &s[i + 1..];
            let Some(end) = rest.find(';') else {
                return false;
            };
            let name = &rest[..end];
            matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// Reads the whole SVG with an XML parser: balanced tags, quoted attributes with no
    /// raw `<` and only known entities, known entities in text. Returns the element
    /// names seen.
    pub(crate) fn parse_xml(svg: &str) -> Vec<String> {
        use quick_xml::events::{BytesStart, Event};
        let mut r = quick_xml::Reader::from_str(svg);
        let mut names = Vec::new();
        let mut depth = 0i32;
        let mut element = |e: &BytesStart| {
            names.push(e.name().as_ref().to_string());
            for attr in e.attributes() {
                let attr = attr.expect("well-formed attribute");
                let raw: &str = &attr.value;
                assert!(!raw.contains('<'), "raw < in attribute: {raw}");
                assert!(entities_ok(raw), "bad entity in attribute: {raw}");
            }
        };
        loop {
            match r.read_event() {
                Ok(Event::Start(e)) => {
                    depth += 1;
                    element(&e);
                }
                Ok(Event::Empty(e)) => element(&e),
                Ok(Event::End(_)) => {
                    depth -= 1;
                    assert!(depth >= 0, "unbalanced tags");
                }
                Ok(Event::GeneralRef(e)) => {
                    let name: &str = &e;
                    assert!(
                        e.is_char_ref() || matches!(name, "amp" | "lt" | "gt" | "quot" | "apos"),
                        "unknown entity &{name};"
                    );
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed XML at {}: {e}\n{svg}", r.buffer_position()),
            }
        }
        assert_eq!(depth, 0, "unbalanced tags");
        names
    }

    fn chart_of(id: &str) -> String {
        let board = sample_board();
        let r = row(&board, id);
        indicator_chart(r, r.attainment.target.as_ref()).into_string()
    }

    #[test]
    fn the_chart_is_a_standalone_svg_with_lines_legend_and_axes() {
        let svg = chart_of("tech-sme-registered");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert!(svg.contains(r#"viewBox="0 0 720 360""#));
        assert!(svg.contains("Noto Sans CJK SC"));
        for word in ["实际", "序时进度", "目标", "1月", "6月", "12月"] {
            assert!(svg.contains(word), "missing {word}");
        }
        assert!(svg.contains("<title>科技型中小企业入库（家）</title>"));
        let names = parse_xml(&svg);
        // Actual line, scheduled path, target line and one point per reading.
        assert!(svg.contains(r#"<polyline class="actual""#));
        assert!(svg.contains(r#"<polyline class="pace""#));
        assert!(svg.contains(r#"<line class="target""#));
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 2 + 1); // + legend dot
                                                                            // Round y ticks up to the target 150.
        for t in [">0<", ">50<", ">100<", ">150<"] {
            assert!(svg.contains(t), "missing tick {t}");
        }
        // No external resources.
        assert!(!svg.contains("href"));
        assert!(!svg.contains("<style"));
    }

    #[test]
    fn rates_draw_the_target_without_a_pace_and_handle_negatives() {
        // A growth rate is judged against the target itself: no 序时进度 line or
        // legend entry, only the target.
        let svg = chart_of("cpi");
        parse_xml(&svg);
        assert!(!svg.contains(r#"class="pace""#));
        assert!(!svg.contains("序时进度"));
        assert!(svg.contains(r#"<line class="target""#));
        // -0.3 and the target 3 fit on round ticks from -1, with a zero line.
        assert!(svg.contains(">-1<"), "{svg}");
        assert!(svg.contains(r#"class="zero""#));
        assert!(svg.contains("-0.3%"));
    }

    #[test]
    fn between_targets_draw_a_band() {
        // A count with a band (no catalogue target is one since 政企交流活动 became
        // at_least 4 with a duty of 1–2 per quarter): that target, made 4–8.
        let board = sample_board();
        let r = row(&board, "government-business-exchange-events-per-quarter");
        let mut band = r.attainment.target.clone().unwrap();
        band.comparator = crate::domain::Comparator::Between;
        band.upper = Some(8.0);
        let svg = indicator_chart(r, Some(&band)).into_string();
        parse_xml(&svg);
        assert!(svg.contains(r#"<polygon class="band""#));
        assert_eq!(svg.matches(r#"<line class="target""#).count(), 2);
        assert!(svg.contains("目标区间"));
    }

    #[test]
    fn no_data_and_no_target_still_draw_a_valid_chart() {
        let board = sample_board();
        let r = row(&board, "new-urban-jobs");
        assert!(r.series.is_empty());
        let svg = indicator_chart(r, r.attainment.target.as_ref()).into_string();
        parse_xml(&svg);
        assert!(svg.contains("暂无数据"));
        assert!(!svg.contains(r#"class="actual""#));
        let svg = indicator_chart(r, None).into_string();
        parse_xml(&svg);
        assert!(svg.contains("未设目标"));
        assert!(!svg.contains(r#"class="target""#));
    }

    #[test]
    fn chart_text_is_escaped() {
        let mut board = sample_board();
        let r = board
            .rows
            .iter_mut()
            .find(|r| r.indicator.id.as_str() == "tech-sme-registered")
            .map(std::sync::Arc::make_mut)
            .unwrap();
        r.indicator.name = r#"<script>alert("x")</script> & co"#.into();
        r.indicator.unit = "<家>".into();
        let svg = indicator_chart(r, r.attainment.target.as_ref()).into_string();
        parse_xml(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
        assert!(svg.contains("&lt;家&gt;"));
    }

    #[test]
    fn long_names_are_cut_in_the_drawn_title_only() {
        let mut board = sample_board();
        let r = board
            .rows
            .iter_mut()
            .find(|r| r.indicator.id.as_str() == "gdp-growth")
            .map(std::sync::Arc::make_mut)
            .unwrap();
        r.indicator.name = "长".repeat(60);
        let svg = indicator_chart(r, r.attainment.target.as_ref()).into_string();
        assert!(svg.contains(&format!("{}…", "长".repeat(TITLE_CHARS - 1))));
        assert!(svg.contains(&format!("<title>{}（%）</title>", "长".repeat(60))));
    }

    #[test]
    fn sparklines_are_labelled_and_empty_ones_too() {
        let p = |m| Period::new(2023, m).unwrap();
        let svg = sparkline(&[(p(3), 30.0), (p(6), 62.0)], 96, 24).into_string();
        parse_xml(&svg);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"role="img""#));
        assert!(
            svg.contains(r#"aria-label="走势：3月 30，6月 62""#),
            "{svg}"
        );
        assert!(svg.contains("<polyline"));
        let empty = sparkline(&[], 96, 24).into_string();
        parse_xml(&empty);
        assert!(empty.contains(r#"role="img""#));
        assert!(empty.contains("暂无数据"));
        assert!(!empty.contains("<polyline"));
        // One reading: a dot, no line; equal values sit mid-height.
        let one = sparkline(&[(p(6), -2.0)], 96, 24).into_string();
        parse_xml(&one);
        assert!(!one.contains("<polyline"));
        assert!(one.contains(r#"cy="12.0""#));
    }

    #[test]
    fn y_ticks_are_round() {
        let (lo, hi, step, ticks) = y_axis(0.0, 150.0);
        assert_eq!((lo, hi, step), (0.0, 150.0, 50.0));
        assert_eq!(ticks, vec![0.0, 50.0, 100.0, 150.0]);
        let (lo, hi, step, _) = y_axis(0.0, 14.8);
        assert_eq!((lo, hi, step), (0.0, 15.0, 5.0));
        let (lo, hi, _, ticks) = y_axis(-0.3, 3.0);
        assert_eq!((lo, hi), (-1.0, 3.0));
        assert_eq!(ticks, vec![-1.0, 0.0, 1.0, 2.0, 3.0]);
        let (_, _, step, ticks) = y_axis(0.0, 1.2);
        assert_eq!(step, 0.25);
        assert_eq!(tick_label(ticks[1], step), "0.25");
        assert_eq!(tick_label(ticks[4], step), "1.00");
        // A flat domain still gets a range.
        let (lo, hi, _, _) = y_axis(5.0, 5.0);
        assert!(lo < 5.0 && hi > 5.0);
        let (lo, hi, _, _) = y_axis(0.0, 0.0);
        assert!(lo <= 0.0 && hi > 0.0);
    }
}
