//! `GET /metrics`: Prometheus text exposition of every indicator's figures and of the
//! server's own requests.
//!
//! Indicator gauges are built fresh on each scrape from the board at the default
//! `as_of` (or `?as_of=`), so they are exactly what `/v1/attainment` says. Request
//! counters and latency histograms are labelled by route pattern
//! (`/v1/indicators/{}/attainment`), never by raw path, so their number stays bounded.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use super::ApiError;
use crate::engine::Status;
use crate::report::Board;

/// The server's own request metrics.
struct Http {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

fn http() -> &'static Http {
    static HTTP: OnceLock<Http> = OnceLock::new();
    HTTP.get_or_init(|| {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "zhibiao_http_requests_total",
                "HTTP requests answered, by route, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "zhibiao_http_request_duration_seconds",
                "Time to answer HTTP requests, by route and method.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("register");
        registry
            .register(Box::new(duration.clone()))
            .expect("register");
        Http {
            registry,
            requests,
            duration,
        }
    })
}

/// The route pattern a path belongs to, for labels; unknown paths share one label.
pub fn route_label(path: &str) -> &'static str {
    super::route_pattern(path).map_or("other", |(pattern, _)| pattern)
}

/// The counter and histogram of one route, method and status. Looked up once and
/// kept: `with_label_values` hashes and compares the labels on every call, which cost
/// more than a 304's own work.
type Handles = (prometheus::IntCounter, prometheus::Histogram);

/// Records one answered request.
pub fn observe(path: &str, method: &str, status: warp::http::StatusCode, elapsed: Duration) {
    use std::collections::HashMap;
    use std::sync::RwLock;
    type Key = (&'static str, warp::http::Method, u16);
    static HANDLES: OnceLock<RwLock<HashMap<Key, Handles>>> = OnceLock::new();
    let route = route_label(path);
    let Ok(method) = warp::http::Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let key: Key = (route, method, status.as_u16());
    let handles = HANDLES.get_or_init(Default::default);
    let found = handles
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    let (count, duration) = match found {
        Some(h) => h,
        None => {
            let h = http();
            let made = (
                h.requests
                    .with_label_values(&[route, key.1.as_str(), status.as_str()]),
                h.duration.with_label_values(&[route, key.1.as_str()]),
            );
            let mut map = handles.write().unwrap_or_else(|e| e.into_inner());
            // Bounded by the routes × methods × statuses there are; a flood of odd
            // methods (each its own key) starts the map afresh, the metrics stay.
            if map.len() >= 4096 {
                map.clear();
            }
            map.insert(key, made.clone());
            made
        }
    };
    count.inc();
    duration.observe(elapsed.as_secs_f64());
}

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<GaugeVec, ApiError> {
    let g = GaugeVec::new(Opts::new(name, help), labels).map_err(ApiError::internal)?;
    registry
        .register(Box::new(g.clone()))
        .map_err(ApiError::internal)?;
    Ok(g)
}

/// Only the request metrics, for a store with nothing to evaluate yet.
pub fn render_http_only() -> Result<String, ApiError> {
    let mut out = Vec::new();
    let mut families = http().registry.gather();
    families.extend(crate::notify::deliver::metrics().registry.gather());
    families.extend(crate::limits::registry().gather());
    TextEncoder::new()
        .encode(&families, &mut out)
        .map_err(ApiError::internal)?;
    String::from_utf8(out).map_err(ApiError::internal)
}

/// At most this many indicators get their own series in one scrape. A province's
/// catalogue would otherwise make a million series (ten gauges per indicator); past
/// the limit a scrape carries the per-battle counts only, and
/// `zhibiao_indicator_series_omitted` says how many indicators were left out. Narrow
/// a scrape with `?region=`, `?battle=` or `?lead_unit=` to get their series.
pub const MAX_INDICATOR_SERIES: usize = 5_000;

/// Renders the exposition text for the board's rows that `keep` selects, plus the
/// request metrics.
pub fn render(
    board: &Board,
    change_seq: u64,
    keep: impl Fn(&crate::domain::Indicator) -> bool,
) -> Result<String, ApiError> {
    let reg = Registry::new();
    let labels = ["indicator", "region", "group", "lead_unit"];
    let attainment = gauge(
        &reg,
        "zhibiao_indicator_attainment_ratio",
        "完成率: actual / target, as a fraction; only where it is one (a cumulative count, amount or list with a floor), never for growth rates, rates, ceilings or classes.",
        &labels,
    )?;
    let pace = gauge(
        &reg,
        "zhibiao_indicator_scheduled_pace_ratio",
        "序时进度: the share of the year's target scheduled by the latest reading, as a fraction.",
        &labels,
    )?;
    let pace_gap = gauge(
        &reg,
        "zhibiao_indicator_pace_gap_ratio",
        "Attainment minus scheduled pace, as a fraction (cumulative indicators).",
        &labels,
    )?;
    let deviation = gauge(
        &reg,
        "zhibiao_indicator_deviation",
        "Actual minus expected, in the target's unit (points for rates).",
        &labels,
    )?;
    let gap = gauge(
        &reg,
        "zhibiao_indicator_year_end_gap",
        "What the year still needs to meet the target, in the target's unit.",
        &labels,
    )?;
    let actual = gauge(
        &reg,
        "zhibiao_indicator_actual",
        "The latest year-to-date reading, as published.",
        &labels,
    )?;
    let target = gauge(
        &reg,
        "zhibiao_indicator_target",
        "The year's target value, as published.",
        &labels,
    )?;
    let mut status_labels = labels.to_vec();
    status_labels.push("status");
    let status = gauge(
        &reg,
        "zhibiao_indicator_status",
        "1 for the indicator's current status, 0 for the others.",
        &status_labels,
    )?;
    let as_of = gauge(
        &reg,
        "zhibiao_as_of_info",
        "The period the indicator figures are evaluated at.",
        &["as_of"],
    )?;
    let changes = gauge(
        &reg,
        "zhibiao_store_change_sequence",
        "The store's change counter: it rises with every accepted write.",
        &[],
    )?;
    let counts = gauge(
        &reg,
        "zhibiao_indicators",
        "How many indicators (of those selected) have each status, per region and group of the plan.",
        &["region", "group", "status"],
    )?;
    let omitted = gauge(
        &reg,
        "zhibiao_indicator_series_omitted",
        "Selected indicators left without their own series because the scrape would pass MAX_INDICATOR_SERIES; narrow it with ?region=, ?group= or ?lead_unit=.",
        &[],
    )?;
    as_of
        .with_label_values(&[&board.as_of.to_string()])
        .set(1.0);
    let rows: Vec<_> = board.rows.iter().filter(|r| keep(&r.indicator)).collect();
    for r in &rows {
        counts
            .with_label_values(&[
                r.indicator.region.as_str(),
                r.indicator.group.as_str(),
                r.attainment.status.as_str(),
            ])
            .inc();
    }
    let per_indicator = rows.len() <= MAX_INDICATOR_SERIES;
    omitted
        .with_label_values(&[] as &[&str])
        .set(if per_indicator {
            0.0
        } else {
            rows.len() as f64
        });
    changes
        .with_label_values(&[] as &[&str])
        .set(change_seq as f64);
    for row in rows.iter().filter(|_| per_indicator) {
        let ind = &row.indicator;
        let a = &row.attainment;
        let lead = ind.lead_units.join("、");
        let l = [
            ind.id.as_str(),
            ind.region.as_str(),
            ind.group.as_str(),
            lead.as_str(),
        ];
        let set = |g: &GaugeVec, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                g.with_label_values(&l).set(v);
            }
        };
        set(&attainment, a.attainment);
        set(&pace, a.scheduled_pace);
        set(&pace_gap, a.pace_gap);
        set(&deviation, a.deviation);
        set(&gap, a.year_end_gap);
        set(&actual, a.actual);
        set(&target, a.target.as_ref().and_then(|t| t.value));
        for s in Status::ALL {
            let v = if a.status == s { 1.0 } else { 0.0 };
            status
                .with_label_values(&[l[0], l[1], l[2], l[3], s.as_str()])
                .set(v);
        }
    }
    let mut families = reg.gather();
    families.extend(http().registry.gather());
    families.extend(crate::notify::deliver::metrics().registry.gather());
    families.extend(crate::limits::registry().gather());
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut out)
        .map_err(ApiError::internal)?;
    String::from_utf8(out).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::domain::Period;
    use crate::report::BoardRow;

    fn board(rows: usize) -> Board {
        let cat = Catalogue::builtin().unwrap();
        let as_of = Period::new(2023, 6).unwrap();
        let rows = cat
            .entries
            .iter()
            .cycle()
            .take(rows)
            .map(|(ind, t)| {
                std::sync::Arc::new(BoardRow {
                    indicator: ind.clone(),
                    attainment: crate::engine::evaluate(ind, t.as_ref(), &[], as_of),
                    series: vec![],
                })
            })
            .collect();
        Board {
            as_of,
            region: String::new(),
            document: String::new(),
            plan: None,
            groups: Vec::new(),
            rows,
        }
    }

    #[test]
    fn past_the_limit_a_scrape_carries_counts_not_per_indicator_series() {
        let text = render(&board(MAX_INDICATOR_SERIES + 1), 1, |_| true).unwrap();
        assert!(!text.contains("zhibiao_indicator_status{"));
        assert!(!text.contains("zhibiao_indicator_target{"));
        assert!(text.contains(&format!(
            "zhibiao_indicator_series_omitted {}",
            MAX_INDICATOR_SERIES + 1
        )));
        let counted: f64 = text
            .lines()
            .filter(|l| l.starts_with("zhibiao_indicators{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(counted, (MAX_INDICATOR_SERIES + 1) as f64);

        // Within the limit, every indicator has its series.
        let text = render(&board(203), 1, |_| true).unwrap();
        assert!(text.contains("zhibiao_indicator_status{"));
        assert!(text.contains("zhibiao_indicator_series_omitted 0"));
    }
}
