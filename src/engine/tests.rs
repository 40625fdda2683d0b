use super::*;
use crate::domain::{Frequency, Source, Thresholds};

fn indicator(kind: Kind, direction: Direction) -> Indicator {
    Indicator {
        id: IndicatorId::parse("x").unwrap(),
        name: "测试".into(),
        name_en: "test".into(),
        group: "growth".into(),
        kind,
        unit: "%".into(),
        direction,
        frequency: Frequency::Monthly,
        lead_units: vec!["县统计局".into()],
        co_units: vec![],
        source: Source {
            document: "d".into(),
            section: "s".into(),
            quote: "q".into(),
        },
        also_in: vec![],
        profile: None,
        thresholds: Thresholds::default(),
        region: "测试县".into(),
        code: "x".into(),
        benchmarks: vec![],
        status_rule: Default::default(),
        escalate_after: 2,
        quality: Default::default(),
        base_indicator: None,
        base_shares: None,
    }
}

fn target(value: f64, comparator: Comparator) -> Target {
    Target {
        year: 2023,
        value: Some(value),
        comparator,
        tolerance: None,
        upper: None,
        baseline: None,
        plan: None,
        parts: Vec::new(),
        duty: None,
    }
}

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn gdp_of_8_with_7_2_in_h1_needs_8_8_in_h2() {
    let ind = indicator(Kind::Rate, Direction::Up);
    let t = target(8.0, Comparator::About);
    let a = evaluate(&ind, Some(&t), &[(p("2023-06"), 7.2)], p("2023-06"));
    assert!(close(a.required_rest_of_year, 8.8), "{a:?}");
    // 7.2 is 0.8 below 8, outside the 0.5 tolerance but within 1 point: behind.
    assert_eq!(a.status, Status::Behind);
    assert!(close(a.deviation, -0.8));
}

#[test]
fn readings_after_as_of_and_from_other_years_are_ignored() {
    let ind = indicator(Kind::Cumulative, Direction::Up);
    let t = target(150.0, Comparator::AtLeast);
    let readings = [
        (p("2022-12"), 140.0),
        (p("2023-03"), 30.0),
        (p("2023-07"), 99.0),
    ];
    let a = evaluate(&ind, Some(&t), &readings, p("2023-06"));
    assert_eq!(a.actual_period, Some(p("2023-03")));
    assert_eq!(a.data_lag_months, Some(3));
    assert!(close(a.scheduled_pace, 0.25));
}

#[test]
fn a_target_for_another_year_counts_as_no_target() {
    let ind = indicator(Kind::Rate, Direction::Up);
    let mut t = target(8.0, Comparator::AtLeast);
    t.year = 2024;
    let a = evaluate(&ind, Some(&t), &[(p("2023-06"), 7.2)], p("2023-06"));
    assert_eq!(a.status, Status::NoTarget);
    assert_eq!(a.actual, Some(7.2));
    assert!(a.target.is_none());
}

#[test]
fn a_custom_profile_sets_the_pace_of_cumulative_indicators_only() {
    let mut ind = indicator(Kind::Cumulative, Direction::Up);
    let mut prof = [0.0; 12];
    for (i, v) in prof.iter_mut().enumerate() {
        *v = if i < 6 {
            0.05 * (i as f64 + 1.0)
        } else {
            0.3 + (i as f64 - 5.0) * 0.7 / 6.0
        };
    }
    prof[11] = 1.0;
    ind.profile = Some(crate::domain::Profile::new(&prof).unwrap());
    assert!((scheduled_pace(&ind, 6) - 0.3).abs() < 1e-9);
    ind.kind = Kind::Rate;
    assert!((scheduled_pace(&ind, 6) - 0.5).abs() < 1e-9);
}
