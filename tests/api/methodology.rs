//! The worked examples of `docs/methodology.md`, run against the real server.
//!
//! Each test builds a catalogue with the indicators its example needs, submits the
//! example's readings over HTTP and checks every field of the attainment answer. The
//! doc and these tests must stay in step: same inputs, same outputs, same example
//! numbers (the `// Example N` comments).
use crate::helpers::*;
use serde_json::{json, Value};

/// Every evaluated field of one attainment answer. `None` is JSON null.
struct Want {
    as_of: &'static str,
    actual: Option<f64>,
    actual_period: Option<&'static str>,
    data_lag_months: Option<i64>,
    scheduled_pace: Option<f64>,
    expected: Option<f64>,
    attainment: Option<f64>,
    deviation: Option<f64>,
    pace_gap: Option<f64>,
    year_end_gap: Option<f64>,
    required_rest_of_year: Option<f64>,
    projection: Option<f64>,
    status: &'static str,
}

/// The bulletin label of each status.
fn label(status: &str) -> &'static str {
    match status {
        "severely_behind" => "严重滞后",
        "missed" => "未完成",
        "behind" => "未达序时进度",
        "on_track" => "符合序时进度",
        "achieved" => "已完成",
        "no_data" => "暂无数据",
        "no_target" => "未设目标",
        other => panic!("unknown status {other}"),
    }
}

fn number(v: &Value, field: &str, want: Option<f64>) {
    match want {
        Some(w) => assert_close(v, field, w),
        None => assert_null(v, field),
    }
}

/// Asserts every evaluated field of `v`, the answer for indicator `id`.
fn check(v: &Value, id: &str, w: &Want) {
    assert_eq!(v["indicator"], id, "indicator in {v}");
    let year: u64 = w.as_of[..4].parse().unwrap();
    assert_eq!(v["year"], year, "year in {v}");
    assert_eq!(v["as_of"], w.as_of, "as_of in {v}");
    number(v, "actual", w.actual);
    match w.actual_period {
        Some(p) => assert_eq!(v["actual_period"], p, "actual_period in {v}"),
        None => assert_null(v, "actual_period"),
    }
    match w.data_lag_months {
        Some(n) => assert_eq!(v["data_lag_months"], n, "data_lag_months in {v}"),
        None => assert_null(v, "data_lag_months"),
    }
    number(v, "scheduled_pace", w.scheduled_pace);
    number(v, "expected", w.expected);
    number(v, "attainment", w.attainment);
    number(v, "deviation", w.deviation);
    number(v, "pace_gap", w.pace_gap);
    number(v, "year_end_gap", w.year_end_gap);
    number(v, "required_rest_of_year", w.required_rest_of_year);
    number(v, "projection", w.projection);
    assert_eq!(v["status"], w.status, "status in {v}");
    assert_eq!(v["status_label"], label(w.status), "status_label in {v}");
}

/// Asserts the target block of an answer: value, comparator, effective tolerance, upper.
fn check_target(
    v: &Value,
    value: Option<f64>,
    comparator: &str,
    tolerance: Option<f64>,
    upper: Option<f64>,
) {
    let t = &v["target"];
    assert!(t.is_object(), "target should be an object in {v}");
    number(t, "value", value);
    assert_eq!(t["comparator"], comparator, "comparator in {t}");
    number(t, "tolerance", tolerance);
    number(t, "upper", upper);
}

/// The `[indicator.target]` body of a 2023 target.
fn target(value: f64, comparator: &str) -> String {
    format!("year = 2023\nvalue = {value:?}\ncomparator = \"{comparator}\"")
}

/// An entry with extra indicator-level lines (a profile, thresholds) before its target.
fn entry_with(id: &str, kind: &str, direction: &str, extra: &str, target: &str) -> String {
    entry(id, kind, direction, target).replace(
        "[indicator.target]",
        &format!("{extra}\n[indicator.target]"),
    )
}

fn tech_sme() -> String {
    // 科技型中小企业入库 150 家以上: at_least, 以上 includes 150.
    entry(
        "tech-sme-registered",
        "cumulative",
        "up",
        &target(150.0, "at_least"),
    )
}

fn gdp() -> String {
    // 地区生产总值增长 8% 左右.
    entry("gdp-growth", "rate", "up", &target(8.0, "about"))
}

// ── cumulative, up ──────────────────────────────────────────────────────────

#[test]
fn cumulative_up_ahead_of_pace_is_on_track() {
    // Example 1.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2023-Q2", 80.0);
    let v = s.attainment("tech-sme-registered", "2023-06");
    check_target(&v, Some(150.0), "at_least", None, None);
    check(
        &v,
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(80.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.5333333333),
            deviation: Some(5.0),
            pace_gap: Some(0.0333333333),
            year_end_gap: Some(70.0),
            required_rest_of_year: Some(11.6666666667),
            projection: Some(160.0),
            status: "on_track",
        },
    );
}

#[test]
fn cumulative_up_behind_pace_is_behind_with_the_gap_per_month() {
    // Example 2.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2023-06", 68.0);
    let v = s.attainment("tech-sme-registered", "2023-06");
    check(
        &v,
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(68.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.4533333333),
            deviation: Some(-7.0),
            pace_gap: Some(-0.0466666667),
            year_end_gap: Some(82.0),
            required_rest_of_year: Some(13.6666666667),
            projection: Some(136.0),
            status: "behind",
        },
    );
}

#[test]
fn cumulative_up_more_than_a_tenth_of_the_target_short_of_pace_is_severely_behind() {
    // Example 3: the threshold is 10% of 150 = 15 below expected. Exactly 15 short
    // (60) is still behind; 20 short (55) is severely behind.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2023-06", 60.0);
    check(
        &s.attainment("tech-sme-registered", "2023-06"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(60.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.4),
            deviation: Some(-15.0),
            pace_gap: Some(-0.1),
            year_end_gap: Some(90.0),
            required_rest_of_year: Some(15.0),
            projection: Some(120.0),
            status: "behind",
        },
    );
    s.submit("tech-sme-registered", "2023-06", 55.0);
    check(
        &s.attainment("tech-sme-registered", "2023-06"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(55.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.3666666667),
            deviation: Some(-20.0),
            pace_gap: Some(-0.1333333333),
            year_end_gap: Some(95.0),
            required_rest_of_year: Some(15.8333333333),
            projection: Some(110.0),
            status: "severely_behind",
        },
    );
}

#[test]
fn cumulative_up_target_met_mid_year_is_already_achieved() {
    // Example 4.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2023-Q3", 152.0);
    check(
        &s.attainment("tech-sme-registered", "2023-09"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-09",
            actual: Some(152.0),
            actual_period: Some("2023-09"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.75),
            expected: Some(112.5),
            attainment: Some(1.0133333333),
            deviation: Some(39.5),
            pace_gap: Some(0.2633333333),
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(0.0),
            projection: Some(202.6666666667),
            status: "achieved",
        },
    );
}

#[test]
fn a_custom_profile_sets_the_scheduled_pace_of_a_cumulative_indicator() {
    // Example 5: 新增城镇就业 5200 人 with a seasonal profile (55% due by June).
    let s = TestServer::with_catalogue(&entry_with(
        "new-urban-jobs",
        "cumulative",
        "up",
        "profile = [0.05, 0.1, 0.2, 0.3, 0.4, 0.55, 0.6, 0.65, 0.75, 0.85, 0.92, 1.0]",
        &target(5200.0, "at_least"),
    ));
    s.submit("new-urban-jobs", "2023-06", 2700.0);
    check(
        &s.attainment("new-urban-jobs", "2023-06"),
        "new-urban-jobs",
        &Want {
            as_of: "2023-06",
            actual: Some(2700.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.55),
            expected: Some(2860.0),
            attainment: Some(0.5192307692),
            deviation: Some(-160.0),
            pace_gap: Some(-0.0307692308),
            year_end_gap: Some(2500.0),
            required_rest_of_year: Some(416.6666666667),
            projection: Some(4909.0909090909),
            status: "behind",
        },
    );
    // The profile shapes the catch-up as well: July carries (0.6 − 0.55) / 0.45 of
    // the 2500 still needed, where an even spread would give 416.67.
    let v = s.attainment("new-urban-jobs", "2023-06");
    assert_eq!(v["next_period"], "2023-07", "{v}");
    assert_eq!(v["required_next_period"], 277.7777777778, "{v}");
    assert_eq!(v["catch_up_method"], "profile_weighted", "{v}");
    assert_eq!(
        v["message"],
        "完成51.9%，低于序时进度3.1个百分点；全年还需2500个，按进度安排，7月需完成277.78个",
        "{v}"
    );
}

#[test]
fn attainment_of_97_2_percent_in_october_is_13_87_points_ahead_of_pace() {
    // Example 6: "占年度计划97.2%，超过时间进度13.8个百分点" — 重点项目完成投资 80 亿元.
    let s = TestServer::with_catalogue(&entry(
        "key-projects-investment",
        "cumulative",
        "up",
        &target(80.0, "at_least"),
    ));
    s.submit("key-projects-investment", "2023-10", 77.76);
    check(
        &s.attainment("key-projects-investment", "2023-10"),
        "key-projects-investment",
        &Want {
            as_of: "2023-10",
            actual: Some(77.76),
            actual_period: Some("2023-10"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.8333333333),
            expected: Some(66.6666666667),
            attainment: Some(0.972),
            deviation: Some(11.0933333333),
            pace_gap: Some(0.1386666667),
            year_end_gap: Some(2.24),
            required_rest_of_year: Some(1.12),
            projection: Some(93.312),
            status: "on_track",
        },
    );
}

// ── cumulative, down (caps) ─────────────────────────────────────────────────

#[test]
fn a_cumulative_cap_is_on_track_then_behind_then_missed_once_breached() {
    // Example 7: 生产安全事故起数 supposed "控制在12起以内" (at_most 12).
    let id = "production-safety-accidents-count";
    let s = TestServer::with_catalogue(&entry(id, "cumulative", "down", &target(12.0, "at_most")));
    s.submit(id, "2023-06", 5.0);
    s.submit(id, "2023-08", 9.0);
    s.submit(id, "2023-09", 13.0);
    check(
        &s.attainment(id, "2023-06"),
        id,
        &Want {
            as_of: "2023-06",
            actual: Some(5.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(6.0),
            attainment: None,
            deviation: Some(-1.0),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(1.1666666667),
            projection: Some(10.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment(id, "2023-08"),
        id,
        &Want {
            as_of: "2023-08",
            actual: Some(9.0),
            actual_period: Some("2023-08"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.6666666667),
            expected: Some(8.0),
            attainment: None,
            deviation: Some(1.0),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(0.75),
            projection: Some(13.5),
            status: "behind",
        },
    );
    check(
        &s.attainment(id, "2023-09"),
        id,
        &Want {
            as_of: "2023-09",
            actual: Some(13.0),
            actual_period: Some("2023-09"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.75),
            expected: Some(9.0),
            attainment: None,
            deviation: Some(4.0),
            pace_gap: None,
            year_end_gap: Some(1.0),
            required_rest_of_year: Some(0.0),
            projection: Some(17.3333333333),
            status: "missed",
        },
    );
}

#[test]
fn a_strict_cap_reached_exactly_is_missed_with_a_year_end_gap_of_zero() {
    // Example 8: "低于12起" (less_than 12): 12 does not satisfy it, yet is 0 above 12.
    let id = "production-safety-accidents-count";
    let s =
        TestServer::with_catalogue(&entry(id, "cumulative", "down", &target(12.0, "less_than")));
    s.submit(id, "2023-09", 12.0);
    check(
        &s.attainment(id, "2023-09"),
        id,
        &Want {
            as_of: "2023-09",
            actual: Some(12.0),
            actual_period: Some("2023-09"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.75),
            expected: Some(9.0),
            attainment: None,
            deviation: Some(3.0),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(0.0),
            projection: Some(16.0),
            status: "missed",
        },
    );
}

#[test]
fn a_zero_target_is_on_track_at_zero_and_missed_at_one() {
    // Example 9: 较大事故 杜绝 (at_most 0): no attainment or pace gap against 0.
    let id = "major-accidents";
    let s = TestServer::with_catalogue(&entry(id, "cumulative", "down", &target(0.0, "at_most")));
    s.submit(id, "2023-06", 0.0);
    s.submit(id, "2023-07", 1.0);
    check(
        &s.attainment(id, "2023-06"),
        id,
        &Want {
            as_of: "2023-06",
            actual: Some(0.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(0.0),
            attainment: None,
            deviation: Some(0.0),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(0.0),
            projection: Some(0.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment(id, "2023-07"),
        id,
        &Want {
            as_of: "2023-07",
            actual: Some(1.0),
            actual_period: Some("2023-07"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5833333333),
            expected: Some(0.0),
            attainment: None,
            deviation: Some(1.0),
            pace_gap: None,
            year_end_gap: Some(1.0),
            required_rest_of_year: Some(0.0),
            projection: Some(1.7142857143),
            status: "missed",
        },
    );
}

// ── rates ───────────────────────────────────────────────────────────────────

#[test]
fn gdp_about_8_with_7_2_in_h1_needs_8_8_in_h2_and_is_behind() {
    // Example 10.
    let s = TestServer::with_catalogue(&gdp());
    s.submit("gdp-growth", "2023-Q2", 7.2);
    let v = s.attainment("gdp-growth", "2023-06");
    check_target(&v, Some(8.0), "about", Some(0.5), None);
    check(
        &v,
        "gdp-growth",
        &Want {
            as_of: "2023-06",
            actual: Some(7.2),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(8.0),
            attainment: None,
            deviation: Some(-0.8),
            pace_gap: None,
            year_end_gap: Some(0.8),
            required_rest_of_year: Some(8.8),
            projection: Some(7.2),
            status: "behind",
        },
    );
}

#[test]
fn the_combined_january_february_release_is_month_2() {
    // Example 11: 社会消费品零售总额 1-2月 增长6.5%, submitted in its Chinese spelling.
    let id = "retail-sales-growth";
    let s = TestServer::with_catalogue(&entry(id, "rate", "up", &target(8.0, "about")));
    s.submit(id, "2023年1-2月", 6.5);
    check(
        &s.attainment(id, "2023-02"),
        id,
        &Want {
            as_of: "2023-02",
            actual: Some(6.5),
            actual_period: Some("2023-02"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.1666666667),
            expected: Some(8.0),
            attainment: None,
            deviation: Some(-1.5),
            pace_gap: None,
            year_end_gap: Some(1.5),
            required_rest_of_year: Some(8.3),
            projection: Some(6.5),
            status: "severely_behind",
        },
    );
}

#[test]
fn a_rate_about_its_target_within_the_tolerance_below_it_is_on_track() {
    // Example 12: 规模工业增加值增长 9% 左右, 8.6 is 0.4 below, inside the 0.5 tolerance.
    let id = "industrial-value-added-growth";
    let s = TestServer::with_catalogue(&entry(id, "rate", "up", &target(9.0, "about")));
    s.submit(id, "2023-M05", 8.6);
    let v = s.attainment(id, "2023-05");
    check_target(&v, Some(9.0), "about", Some(0.5), None);
    check(
        &v,
        id,
        &Want {
            as_of: "2023-05",
            actual: Some(8.6),
            actual_period: Some("2023-05"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.4166666667),
            expected: Some(9.0),
            attainment: None,
            deviation: Some(-0.4),
            pace_gap: None,
            year_end_gap: Some(0.4),
            required_rest_of_year: Some(9.2857142857),
            projection: Some(8.6),
            status: "on_track",
        },
    );
}

#[test]
fn cpi_within_3_is_on_track_at_2_5_and_severely_behind_at_4_2() {
    // Example 13: 居民消费价格指数 控制在3%以内 (at_most 3, direction down).
    let s = TestServer::with_catalogue(&entry("cpi", "rate", "down", &target(3.0, "at_most")));
    s.submit("cpi", "2023-06", 2.5);
    s.submit("cpi", "2023-08", 4.2);
    let v = s.attainment("cpi", "2023-06");
    check_target(&v, Some(3.0), "at_most", None, None);
    check(
        &v,
        "cpi",
        &Want {
            as_of: "2023-06",
            actual: Some(2.5),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(3.0),
            attainment: None,
            deviation: Some(-0.5),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: Some(3.5),
            projection: Some(2.5),
            status: "on_track",
        },
    );
    check(
        &s.attainment("cpi", "2023-08"),
        "cpi",
        &Want {
            as_of: "2023-08",
            actual: Some(4.2),
            actual_period: Some("2023-08"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.6666666667),
            expected: Some(3.0),
            attainment: None,
            deviation: Some(1.2),
            pace_gap: None,
            year_end_gap: Some(1.2),
            required_rest_of_year: Some(0.6),
            projection: Some(4.2),
            status: "severely_behind",
        },
    );
}

#[test]
fn a_per_indicator_severe_threshold_overrides_the_default() {
    // Example 14: 固定资产投资增长 12% 左右 at 10%: 2 points short is severely behind
    // by default (1 point), behind with `thresholds.severe = 3.0`.
    let tgt = target(12.0, "about");
    let catalogue = format!(
        "{}\n{}",
        entry("fixed-asset-investment-growth", "rate", "up", &tgt),
        entry_with(
            "fixed-asset-investment-growth-lenient",
            "rate",
            "up",
            "thresholds = { severe = 3.0 }",
            &tgt,
        )
    );
    let s = TestServer::with_catalogue(&catalogue);
    for (id, status) in [
        ("fixed-asset-investment-growth", "severely_behind"),
        ("fixed-asset-investment-growth-lenient", "behind"),
    ] {
        s.submit(id, "2023-06", 10.0);
        check(
            &s.attainment(id, "2023-06"),
            id,
            &Want {
                as_of: "2023-06",
                actual: Some(10.0),
                actual_period: Some("2023-06"),
                data_lag_months: Some(0),
                scheduled_pace: Some(0.5),
                expected: Some(12.0),
                attainment: None,
                deviation: Some(-2.0),
                pace_gap: None,
                year_end_gap: Some(2.0),
                required_rest_of_year: Some(14.0),
                projection: Some(10.0),
                status,
            },
        );
    }
}

// ── levels and bands ────────────────────────────────────────────────────────

#[test]
fn a_water_class_level_meets_class_2_and_falls_to_class_3() {
    // Example 15: 资江干流桃江断面水质 Ⅱ类 (level, at_most 2, direction down).
    let id = "zijiang-mainstream-taojiang-section-water-class";
    let s = TestServer::with_catalogue(&entry(id, "level", "down", &target(2.0, "at_most")));
    s.submit(id, "2023-06", 2.0);
    s.submit(id, "2023-07", 3.0);
    check(
        &s.attainment(id, "2023-06"),
        id,
        &Want {
            as_of: "2023-06",
            actual: Some(2.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(2.0),
            attainment: None,
            deviation: Some(0.0),
            pace_gap: None,
            year_end_gap: Some(0.0),
            required_rest_of_year: None,
            projection: Some(2.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment(id, "2023-07"),
        id,
        &Want {
            as_of: "2023-07",
            actual: Some(3.0),
            actual_period: Some("2023-07"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5833333333),
            expected: Some(2.0),
            attainment: None,
            deviation: Some(1.0),
            pace_gap: None,
            year_end_gap: Some(1.0),
            required_rest_of_year: None,
            projection: Some(3.0),
            status: "severely_behind",
        },
    );
}

#[test]
fn a_between_band_is_judged_on_the_band_and_missed_above_its_upper_bound() {
    // Example 16: 政企交流活动 全年4—8次 (cumulative, between 4 and 8) and
    // 药物储备覆盖服务人口比例 15%—20% (rate, between 15 and 20).
    let events = "government-business-exchange-events-per-quarter";
    let share = "primary-care-drug-reserve-population-share";
    let band = |lo: f64, hi: f64| format!("{}\nupper = {hi:?}", target(lo, "between"));
    let s = TestServer::with_catalogue(&format!(
        "{}\n{}",
        entry(events, "cumulative", "up", &band(4.0, 8.0)),
        entry(share, "rate", "up", &band(15.0, 20.0)),
    ));
    s.submit(events, "2023-Q1", 1.0);
    s.submit(events, "2023-Q2", 3.0);
    s.submit(events, "2023-Q3", 9.0);
    s.submit(share, "2023-06", 14.5);
    let v = s.attainment(events, "2023-03");
    check_target(&v, Some(4.0), "between", None, Some(8.0));
    check(
        &v,
        events,
        &Want {
            as_of: "2023-03",
            actual: Some(1.0),
            actual_period: Some("2023-03"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.25),
            expected: None,
            attainment: None,
            deviation: Some(0.0),
            pace_gap: None,
            year_end_gap: Some(3.0),
            required_rest_of_year: Some(0.3333333333),
            projection: Some(4.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment(events, "2023-06"),
        events,
        &Want {
            as_of: "2023-06",
            actual: Some(3.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: None,
            attainment: None,
            deviation: Some(0.0),
            pace_gap: None,
            year_end_gap: Some(1.0),
            required_rest_of_year: Some(0.1666666667),
            projection: Some(6.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment(events, "2023-09"),
        events,
        &Want {
            as_of: "2023-09",
            actual: Some(9.0),
            actual_period: Some("2023-09"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.75),
            expected: None,
            attainment: None,
            deviation: Some(3.0),
            pace_gap: None,
            year_end_gap: Some(1.0),
            required_rest_of_year: Some(0.0),
            projection: Some(12.0),
            status: "missed",
        },
    );
    check(
        &s.attainment(share, "2023-06"),
        share,
        &Want {
            as_of: "2023-06",
            actual: Some(14.5),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: None,
            attainment: None,
            deviation: Some(-0.5),
            pace_gap: None,
            year_end_gap: Some(0.5),
            required_rest_of_year: Some(15.5),
            projection: Some(14.5),
            status: "behind",
        },
    );
}

// ── which reading, and the year end ─────────────────────────────────────────

#[test]
fn a_quarterly_reading_queried_at_a_later_month_keeps_its_own_month_and_shows_the_lag() {
    // Example 17: Q1 = 40 and Q2 = 80. As of May, Q1 is the latest reading (m = 3, the
    // June one is ignored); as of December, Q2 is (m = 6), so it is not yet missed.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2023-Q1", 40.0);
    s.submit("tech-sme-registered", "2023-Q2", 80.0);
    check(
        &s.attainment("tech-sme-registered", "2023-05"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-05",
            actual: Some(40.0),
            actual_period: Some("2023-03"),
            data_lag_months: Some(2),
            scheduled_pace: Some(0.25),
            expected: Some(37.5),
            attainment: Some(0.2666666667),
            deviation: Some(2.5),
            pace_gap: Some(0.0166666667),
            year_end_gap: Some(110.0),
            required_rest_of_year: Some(12.2222222222),
            projection: Some(160.0),
            status: "on_track",
        },
    );
    check(
        &s.attainment("tech-sme-registered", "2023-12"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-12",
            actual: Some(80.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(6),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.5333333333),
            deviation: Some(5.0),
            pace_gap: Some(0.0333333333),
            year_end_gap: Some(70.0),
            required_rest_of_year: Some(11.6666666667),
            projection: Some(160.0),
            status: "on_track",
        },
    );
}

#[test]
fn a_year_end_reading_settles_the_target_as_achieved_or_missed() {
    // Example 18: GDP 全年 7.6 (within 0.5 of 8) is achieved; 140 of 150 SMEs is missed.
    let s = TestServer::with_catalogue(&format!("{}\n{}", gdp(), tech_sme()));
    s.submit("gdp-growth", "2023", 7.6);
    s.submit("tech-sme-registered", "2023-12", 140.0);
    check(
        &s.attainment("gdp-growth", "2023-12"),
        "gdp-growth",
        &Want {
            as_of: "2023-12",
            actual: Some(7.6),
            actual_period: Some("2023-12"),
            data_lag_months: Some(0),
            scheduled_pace: Some(1.0),
            expected: Some(8.0),
            attainment: None,
            deviation: Some(-0.4),
            pace_gap: None,
            year_end_gap: Some(0.4),
            required_rest_of_year: None,
            projection: Some(7.6),
            status: "achieved",
        },
    );
    check(
        &s.attainment("tech-sme-registered", "2023-12"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-12",
            actual: Some(140.0),
            actual_period: Some("2023-12"),
            data_lag_months: Some(0),
            scheduled_pace: Some(1.0),
            expected: Some(150.0),
            attainment: Some(0.9333333333),
            deviation: Some(-10.0),
            pace_gap: Some(-0.0666666667),
            year_end_gap: Some(10.0),
            required_rest_of_year: None,
            projection: Some(140.0),
            status: "missed",
        },
    );
}

// ── no data, no target ──────────────────────────────────────────────────────

/// The answer with nothing to evaluate: only the reading fields may be set.
fn nothing(as_of: &'static str, status: &'static str) -> Want {
    Want {
        as_of,
        actual: None,
        actual_period: None,
        data_lag_months: None,
        scheduled_pace: None,
        expected: None,
        attainment: None,
        deviation: None,
        pace_gap: None,
        year_end_gap: None,
        required_rest_of_year: None,
        projection: None,
        status,
    }
}

#[test]
fn no_reading_for_the_year_is_no_data() {
    // Example 19: a 2022 reading does not count for 2023.
    let s = TestServer::with_catalogue(&tech_sme());
    s.submit("tech-sme-registered", "2022-12", 140.0);
    let v = s.attainment("tech-sme-registered", "2023-06");
    check_target(&v, Some(150.0), "at_least", None, None);
    check(&v, "tech-sme-registered", &nothing("2023-06", "no_data"));
}

#[test]
fn a_year_without_a_target_and_a_relative_target_without_its_figure_are_no_target() {
    // Example 20: tech SMEs in 2024 (only a 2023 target), and 城镇调查失业率
    // 控制在省定目标以内 (a baseline, no value yet).
    let unemployment = "urban-surveyed-unemployment-rate";
    let s = TestServer::with_catalogue(&format!(
        "{}\n{}",
        tech_sme(),
        entry(
            unemployment,
            "rate",
            "down",
            "year = 2023\ncomparator = \"at_most\"\n\
             baseline = { reference = \"external\", note = \"控制在省定目标以内\" }",
        ),
    ));
    s.submit("tech-sme-registered", "2024-03", 30.0);
    s.submit(unemployment, "2023-Q2", 5.1);

    let v = s.attainment("tech-sme-registered", "2024-03");
    assert_null(&v, "target");
    check(
        &v,
        "tech-sme-registered",
        &Want {
            actual: Some(30.0),
            actual_period: Some("2024-03"),
            data_lag_months: Some(0),
            ..nothing("2024-03", "no_target")
        },
    );

    let v = s.attainment(unemployment, "2023-06");
    check_target(&v, None, "at_most", None, None);
    assert_eq!(v["target"]["baseline"]["reference"], "external", "{v}");
    check(
        &v,
        unemployment,
        &Want {
            actual: Some(5.1),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            ..nothing("2023-06", "no_target")
        },
    );
}

// ── the default as_of and revisions ─────────────────────────────────────────

#[test]
fn without_as_of_the_latest_period_holding_any_reading_is_used() {
    // Example 21: with no readings, December of the latest target year; then the
    // latest period of any indicator (GDP's June), not the wall clock.
    let s = TestServer::with_catalogue(&format!("{}\n{}", tech_sme(), gdp()));
    let path = "/v1/indicators/tech-sme-registered/attainment";
    let v = s.get_json(path);
    check_target(&v, Some(150.0), "at_least", None, None);
    check(&v, "tech-sme-registered", &nothing("2023-12", "no_data"));

    s.submit("tech-sme-registered", "2023-Q1", 40.0);
    s.submit("gdp-growth", "2023-Q2", 7.2);
    check(
        &s.get_json(path),
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(40.0),
            actual_period: Some("2023-03"),
            data_lag_months: Some(3),
            scheduled_pace: Some(0.25),
            expected: Some(37.5),
            attainment: Some(0.2666666667),
            deviation: Some(2.5),
            pace_gap: Some(0.0166666667),
            year_end_gap: Some(110.0),
            required_rest_of_year: Some(12.2222222222),
            projection: Some(160.0),
            status: "on_track",
        },
    );
}

#[test]
fn a_revision_replaces_the_value_used_by_attainment() {
    // Example 22: June first sent as 60 (behind at the severe edge), then revised to 80.
    let s = TestServer::with_catalogue(&tech_sme());
    let first = s.put_reading("tech-sme-registered", "2023-06", json!({ "value": 60.0 }));
    assert_eq!(first.status(), 201);
    assert_eq!(
        s.attainment("tech-sme-registered", "2023-06")["status"],
        "behind"
    );
    let second = s.put_reading("tech-sme-registered", "2023-06", json!({ "value": 80.0 }));
    assert_eq!(second.status(), 200);
    let body: Value = second.json().unwrap();
    assert_eq!(body["revision"], 2, "{body}");
    check(
        &s.attainment("tech-sme-registered", "2023-06"),
        "tech-sme-registered",
        &Want {
            as_of: "2023-06",
            actual: Some(80.0),
            actual_period: Some("2023-06"),
            data_lag_months: Some(0),
            scheduled_pace: Some(0.5),
            expected: Some(75.0),
            attainment: Some(0.5333333333),
            deviation: Some(5.0),
            pace_gap: Some(0.0333333333),
            year_end_gap: Some(70.0),
            required_rest_of_year: Some(11.6666666667),
            projection: Some(160.0),
            status: "on_track",
        },
    );
}

// ── the bureau's conventions, over HTTP ─────────────────────────────────────

/// A growth rate answers no 完成率: its headline is the deviation in 个百分点, its
/// message says so, and the catch-up names its method.
#[test]
fn a_growth_rate_answers_its_deviation_in_points_and_no_completion_rate() {
    let s = TestServer::with_catalogue(
        &entry("gdp-growth", "growth", "up", &target(8.0, "about"))
            .replace("unit = \"个\"", "unit = \"%\""),
    );
    s.submit("gdp-growth", "2023-06", 4.7);
    let v = s.attainment("gdp-growth", "2023-06");
    assert_null(&v, "attainment");
    assert_null(&v, "pace_gap");
    assert_eq!(v["headline"], "deviation", "{v}");
    assert_close(&v, "deviation", -3.3);
    assert_close(&v, "required_rest_of_year", 11.3);
    assert_eq!(v["catch_up_method"], "time_weighted", "{v}");
    assert_eq!(v["reachable"], true, "{v}");
    assert_eq!(
        v["message"], "增长4.7%，低于目标3.3个百分点；下半年需达11.3%",
        "{v}"
    );
}

/// An absent figure is overdue (逾期未报) or not yet due (未到报送期) on the reporting
/// date: by default the first day June's monthly figures are overdue (2023-07-11, the
/// day after they fall due); `?on=` moves it, and with it the answer's ETag.
#[test]
fn absent_figures_are_overdue_or_not_yet_due_on_the_reporting_date() {
    let quarterly = entry("q-count", "cumulative", "up", &target(40.0, "at_least"))
        .replace("frequency = \"monthly\"", "frequency = \"quarterly\"");
    let s = TestServer::with_catalogue(&format!(
        "{}\n{}",
        entry("m-count", "cumulative", "up", &target(120.0, "at_least")),
        quarterly
    ));
    s.submit("m-count", "2023-05", 50.0);
    s.submit("q-count", "2023-03", 10.0);

    let rows = |q: &str| {
        let r = s.get(&format!("/v1/attainment?as_of=2023-06{q}"));
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let v: Value = r.json().unwrap();
        let state = |id: &str| {
            let row = v["attainment"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["indicator"] == id)
                .unwrap()
                .clone();
            (
                row["reporting"]["state"].as_str().unwrap().to_string(),
                row["reporting"]["period"].as_str().unwrap().to_string(),
                row["reporting"]["on"].as_str().unwrap().to_string(),
            )
        };
        (etag, state("m-count"), state("q-count"))
    };
    // On 2023-07-11 June's monthly figure is past due and missing; Q1 is in and Q2
    // is not due before 7-15.
    let (default_tag, m, q) = rows("");
    assert_eq!(m, ("overdue".into(), "2023-06".into(), "2023-07-11".into()));
    assert_eq!(
        q,
        ("received".into(), "2023-03".into(), "2023-07-11".into())
    );
    // On 7-20 Q2 is overdue too; on 7-05 June is not yet due, and May is in.
    let (late_tag, _, q) = rows("&on=2023-07-20");
    assert_eq!(q.0, "overdue");
    assert_eq!(q.1, "2023-06");
    let (early_tag, m, _) = rows("&on=2023-07-05");
    assert_eq!(
        m,
        ("received".into(), "2023-05".into(), "2023-07-05".into())
    );
    assert_ne!(default_tag, late_tag);
    assert_ne!(late_tag, early_tag);

    // The summary counts them the same way, on the default reporting date.
    let summary = s.get_json("/v1/summary?as_of=2023-06");
    assert_eq!(
        summary["reporting"],
        json!({"received": 1, "overdue": 1, "not_due": 0}),
        "{summary}"
    );
    assert_eq!(summary["groups"][0]["reporting"]["overdue"], 1, "{summary}");

    let one = s.get_json("/v1/indicators/m-count/attainment?as_of=2023-06&on=2023-07-20");
    assert_eq!(one["reporting"]["state"], "overdue", "{one}");
    assert_eq!(one["reporting"]["label"], "逾期未报", "{one}");
}
