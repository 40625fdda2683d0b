use crate::helpers::*;

#[test]
fn a_fresh_store_serves_the_whole_2023_catalogue() {
    let s = TestServer::start();
    let list = s.get_json("/v1/indicators");
    let list = list.as_array().unwrap();
    assert!(list.len() >= 120, "only {} indicators", list.len());
    for ind in list {
        assert!(
            ind["source"]["quote"]
                .as_str()
                .is_some_and(|q| !q.is_empty()),
            "{ind}"
        );
        assert!(!ind["lead_units"].as_array().unwrap().is_empty(), "{ind}");
    }
    for battle in [
        "growth",
        "innovation",
        "environment",
        "risk",
        "safety",
        "livelihood",
    ] {
        let one = s.get_json(&format!("/v1/indicators?battle={battle}"));
        assert!(
            !one.as_array().unwrap().is_empty(),
            "no {battle} indicators"
        );
        assert!(one.as_array().unwrap().iter().all(|i| i["group"] == battle));
    }
    let gdp = s.get_json("/v1/indicators/gdp-growth");
    assert_eq!(gdp["target"]["value"], 8.0);
    assert_eq!(gdp["target"]["comparator"], "about");
    assert_eq!(gdp["source"]["section"], "二、主要目标（一）");
}

#[test]
fn conflicting_figures_in_the_plan_are_kept_as_separate_indicators() {
    let s = TestServer::start();
    let list = s.get_json("/v1/indicators");
    let values: Vec<(String, f64)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            Some((
                i["name"].as_str()?.to_string(),
                i["target"]["value"].as_f64()?,
            ))
        })
        .collect();
    // Each pair: the plan states the same measure twice with different numbers.
    for (needle, a, b) in [
        ("空气质量优良", 88.0, 95.0),
        ("老旧小区", 11.0, 5.0),
        ("职业技能培训", 2000.0, 2685.0),
        ("农村公路", 77.67, 77.0),
    ] {
        let has = |v: f64| {
            values
                .iter()
                .any(|(n, x)| n.contains(needle) && (x - v).abs() < 1e-9)
        };
        assert!(has(a) && has(b), "{needle}: want both {a} and {b}");
    }
}

#[test]
fn lead_unit_filter_accepts_an_alias() {
    let s = TestServer::start();
    let canonical = s.get_json("/v1/indicators?lead_unit=县交通运输局");
    let alias = s.get_json("/v1/indicators?lead_unit=县交通局");
    assert!(!canonical.as_array().unwrap().is_empty());
    assert_eq!(canonical, alias);
}
