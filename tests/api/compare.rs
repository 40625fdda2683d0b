//! Regions, city and province benchmarks, rankings among peer counties, submission
//! quality checks with explanations, and escalation after consecutive lagging months.
//!
//! The built-in catalogue declares 湖南省, 益阳市 and the seven county-level units of
//! 益阳市; the figures of the other regions are added here as indicators sharing a code
//! with the county's own, as a bureau would.

use serde_json::{json, Value};

use crate::helpers::*;

const GDP: &str = "gdp-growth";
const SME: &str = "tech-sme-registered";

/// The other six county-level units of 益阳市.
const PEERS: [&str; 6] = ["资阳区", "赫山区", "南县", "安化县", "沅江市", "大通湖区"];

fn put_json(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = s
        .client
        .put(s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .json(body)
        .send()
        .expect("PUT");
    let st = r.status().as_u16();
    (st, r.json().unwrap_or(Value::Null))
}

/// An indicator's definition as `PUT /v1/indicators/{id}` takes it, from its GET.
fn definition(s: &TestServer, id: &str) -> Value {
    let mut v = s.get_json(&format!("/v1/indicators/{id}"));
    let obj = v.as_object_mut().unwrap();
    for view_only in ["group_name", "plan", "target", "target_years"] {
        obj.remove(view_only);
    }
    v
}

/// GDP growth of another region: the same code, its own id, target and units.
fn gdp_of(s: &TestServer, id: &str, region: &str, target: Option<f64>) {
    let mut body = json!({
        "name": format!("{region}地区生产总值增长"),
        "battle": "growth",
        "kind": "rate",
        "unit": "%",
        "direction": "up",
        "frequency": "quarterly",
        "lead_units": [format!("{region}统计局")],
        "source": {"document": format!("{region}2023年政府工作报告"), "section": "主要目标", "quote": "地区生产总值增长"},
        "region": region,
        "code": GDP,
    });
    if let Some(t) = target {
        body["target"] = json!({"year": 2023, "value": t, "comparator": "about"});
    }
    let (st, a) = put_json(s, &format!("/v1/indicators/{id}"), &body);
    assert_eq!(st, 201, "{a}");
    assert_eq!(
        (&a["indicator"]["region"], &a["indicator"]["code"]),
        (&json!(region), &json!(GDP))
    );
}

fn alert_of(s: &TestServer, id: &str, as_of: &str) -> Value {
    let v = s.get_json(&format!("/v1/alerts?as_of={as_of}&region=*"));
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["indicator"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

// ── regions and benchmarks ────────────────────────────────────────────────

#[test]
fn a_city_benchmark_shows_the_difference_and_decides_a_two_condition_status() {
    let s = TestServer::start();
    let regions = s.get_json("/v1/regions");
    assert_eq!(regions["count"], 9, "{regions}");
    let tj = regions["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "桃江县")
        .unwrap();
    assert_eq!(
        (&tj["level"], &tj["parent"], &tj["indicators"]),
        (&json!("county"), &json!("益阳市"), &json!(203))
    );

    // The county's GDP growth is set against the city's and the province's, and is
    // green only when it is on pace AND at least the city's (as Tianjin rates it).
    let mut def = definition(&s, GDP);
    assert_eq!(
        (&def["region"], &def["code"]),
        (&json!("桃江县"), &json!(GDP))
    );
    def["benchmarks"] = json!(["益阳市", "湖南省"]);
    def["status_rule"] = json!("plan_and_benchmark");
    let (st, a) = put_json(&s, &format!("/v1/indicators/{GDP}"), &def);
    assert_eq!(st, 200, "{a}");
    gdp_of(&s, "yiyang-gdp-growth", "益阳市", None);
    gdp_of(&s, "hunan-gdp-growth", "湖南省", None);

    // An unknown region is refused, naming the field, and writes nothing.
    let mut bad = definition(&s, "yiyang-gdp-growth");
    bad["region"] = json!("益阳");
    let (st, p) = put_json(&s, "/v1/indicators/yiyang-gdp-growth", &bad);
    assert_eq!((st, &p["field"]), (400, &json!("region")), "{p}");
    assert_eq!(
        s.get_json("/v1/indicators/yiyang-gdp-growth")["region"],
        "益阳市"
    );

    // Benchmark figures are submitted like readings.
    s.submit(GDP, "2023-Q2", 8.2);
    s.submit("yiyang-gdp-growth", "2023-Q2", 7.0);
    s.submit("hunan-gdp-growth", "2023-Q2", 4.6);
    let a = s.attainment(GDP, "2023-06");
    assert_eq!(a["region"], "桃江县");
    assert_eq!(a["status"], "on_track", "{a}");
    assert_eq!(a["benchmark_met"], true);
    assert_null(&a, "plan_status");
    let b = &a["benchmarks"];
    assert_eq!(b[0]["region"], "益阳市");
    assert_eq!(b[0]["label"], "全市平均");
    assert_eq!(b[0]["value"], 7.0);
    assert_close(&b[0], "difference", 1.2);
    assert_eq!(b[0]["message"], "高于全市平均1.2个百分点");
    assert_close(&b[1], "difference", 3.6);
    assert_eq!(b[1]["message"], "高于全省平均3.6个百分点");

    // The city does better: the plan alone is on pace, the two-condition status is not.
    s.submit("yiyang-gdp-growth", "2023-Q2", 8.5);
    let a = s.attainment(GDP, "2023-06");
    assert_close(&a["benchmarks"][0], "difference", -0.3);
    assert_eq!(a["benchmarks"][0]["message"], "低于全市平均0.3个百分点");
    assert_eq!(
        (&a["status"], &a["plan_status"], &a["benchmark_met"]),
        (&json!("behind"), &json!("on_track"), &json!(false)),
        "{a}"
    );
    // The catalogue-wide answer agrees with the single one.
    let all = s.get_json("/v1/attainment?as_of=2023-06");
    let row = all["attainment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == GDP)
        .unwrap();
    assert_eq!(
        (&row["status"], &row["benchmarks"]),
        (&a["status"], &a["benchmarks"])
    );
    // And the alert says why, as a county notice would.
    let alert = alert_of(&s, GDP, "2023-06");
    let msg = alert["message"].as_str().unwrap();
    assert!(msg.contains("低于全市平均0.3个百分点"), "{msg}");
    assert_eq!(alert["severity"], "warning");

    // A benchmark without a figure for the same period leaves the plan to decide.
    s.submit(GDP, "2023-Q3", 8.3);
    let a = s.attainment(GDP, "2023-09");
    assert_null(&a["benchmarks"][0], "value");
    assert_null(&a["benchmarks"][0], "difference");
    assert_eq!(a["status"], "on_track");
    assert_null(&a, "benchmark_met");

    // ?region= and ?code= select across regions.
    let yy = s.get_json("/v1/attainment?as_of=2023-06&region=益阳市");
    assert_eq!(yy["count"], 1);
    assert_eq!(yy["attainment"][0]["indicator"], "yiyang-gdp-growth");
    assert_eq!(yy["attainment"][0]["status"], "no_target");
    let same = s.get_json("/v1/indicators?code=gdp-growth&region=*");
    assert_eq!(same.as_array().unwrap().len(), 3);
    let tj = s.get_json("/v1/indicators?region=桃江县");
    assert_eq!(tj.as_array().unwrap().len(), 203);
    let summary = s.get_json("/v1/summary?as_of=2023-06&region=湖南省");
    assert_eq!(summary["total"], 1, "{summary}");
    let metrics = s
        .get("/metrics?as_of=2023-06&region=益阳市")
        .text()
        .unwrap();
    assert!(
        metrics.contains(r#"zhibiao_indicator_actual{group="growth",indicator="yiyang-gdp-growth",lead_unit="益阳市统计局",region="益阳市"} 8.5"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"indicator="gdp-growth""#));
    let r = s.get("/v1/alerts?region=某县");
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["field"], "region");
    assert_eq!(alert["region"], "桃江县");
    let r = s.get("/v1/alerts/stream?region=某县");
    assert_eq!(r.status(), 400);

    // The dashboard and the bulletin report on the county's own plan; the city's and
    // province's series are there to compare with.
    let page = s.get("/?as_of=2023-06").text().unwrap();
    assert!(page.contains("地区生产总值增长"));
    assert!(
        !page.contains("益阳市地区生产总值增长"),
        "the dashboard lists the city's series"
    );
    let md = s
        .get("/v1/reports/monthly?as_of=2023-06&format=md")
        .text()
        .unwrap();
    assert!(md.contains("低于全市平均0.3个百分点"), "{md}");
    assert!(!md.contains("益阳市地区生产总值增长"), "{md}");

    // One code, one indicator per region.
    let mut dup = definition(&s, "yiyang-gdp-growth");
    dup["id"] = json!("yiyang-gdp-growth-2");
    let (st, p) = put_json(&s, "/v1/indicators/yiyang-gdp-growth-2", &dup);
    assert_eq!((st, &p["field"]), (400, &json!("code")), "{p}");
}

// ── rankings ──────────────────────────────────────────────────────────────

#[test]
fn seven_counties_are_ranked_with_ties_by_the_indicators_direction() {
    let s = TestServer::start();
    for (n, region) in PEERS.iter().enumerate() {
        gdp_of(&s, &format!("peer{n}-gdp-growth"), region, Some(7.5));
    }
    gdp_of(&s, "yiyang-gdp-growth", "益阳市", Some(7.5));
    // 安化 9.1; 资阳 8.5; 桃江 and 赫山 8.2; 南县 and 沅江 7.9; 大通湖 6.5.
    let figures = [
        ("资阳区", 8.5),
        ("赫山区", 8.2),
        ("南县", 7.9),
        ("安化县", 9.1),
        ("沅江市", 7.9),
        ("大通湖区", 6.5),
    ];
    for (n, (_, v)) in figures.iter().enumerate() {
        s.submit(&format!("peer{n}-gdp-growth"), "2023-06", *v);
    }
    s.submit(GDP, "2023-06", 8.2);
    s.submit("yiyang-gdp-growth", "2023-06", 8.0);

    let r = s.get_json("/v1/rankings?code=gdp-growth&as_of=2023-06&parent=益阳市");
    assert_eq!(
        (&r["count"], &r["ranked"], &r["direction"]),
        (&json!(7), &json!(7), &json!("up")),
        "{r}"
    );
    let got: Vec<(String, u64)> = r["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["region"].as_str().unwrap().to_string(),
                e["rank"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("安化县", 1),
        ("资阳区", 2),
        ("桃江县", 3),
        ("赫山区", 3),
        ("南县", 4),
        ("沅江市", 4),
        ("大通湖区", 5),
    ]
    .iter()
    .map(|(r, n)| (r.to_string(), *n))
    .collect();
    assert_eq!(
        got, want,
        "dense ranks, ties share a place, the city is not ranked"
    );
    // Each entry carries the deviation from its own target and its status.
    let tj = r["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["region"] == "桃江县")
        .unwrap();
    let att = s.attainment(GDP, "2023-06");
    assert_eq!(
        (&tj["deviation"], &tj["status"]),
        (&att["deviation"], &att["status"])
    );
    let dth = r["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["region"] == "大通湖区")
        .unwrap();
    assert_close(dth, "deviation", -1.0);
    assert_eq!(dth["status"], "behind");

    // The county's attainment says where it stands.
    assert_eq!(
        (&att["rank"], &att["rank_of"]),
        (&json!(3), &json!(7)),
        "{att}"
    );
    assert_eq!(att["rank_label"], "居全市第3位（共7个）");
    let alert = alert_of(&s, "peer5-gdp-growth", "2023-06");
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .ends_with("居全市第5位（共7个）"),
        "{alert}"
    );

    // Without a parent, every region sharing the code, the city included.
    let all = s.get_json("/v1/rankings?code=gdp-growth&as_of=2023-06");
    assert_eq!(all["count"], 8);
    // A county with no figure yet is listed last, unranked.
    let (st, _) = put_json(
        &s,
        "/v1/regions/益阳高新区",
        &json!({"level": "county", "parent": "益阳市"}),
    );
    assert_eq!(st, 201);
    gdp_of(&s, "gaoxin-gdp-growth", "益阳高新区", None);
    let r = s.get_json("/v1/rankings?code=gdp-growth&as_of=2023-06&parent=益阳市");
    assert_eq!((&r["count"], &r["ranked"]), (&json!(8), &json!(7)));
    assert!(r["rankings"][7]["rank"].is_null(), "{r}");

    // Ranks follow direction: for a cap, lower is better.
    let mut cpi = definition(&s, "cpi");
    assert_eq!(cpi["direction"], "down");
    cpi["id"] = json!("anhua-cpi");
    cpi["region"] = json!("安化县");
    cpi["code"] = json!("cpi");
    cpi["lead_units"] = json!(["安化县统计局"]);
    cpi["co_units"] = json!([]);
    let (st, a) = put_json(&s, "/v1/indicators/anhua-cpi", &cpi);
    assert_eq!(st, 201, "{a}");
    s.submit("cpi", "2023-06", 2.1);
    s.submit("anhua-cpi", "2023-06", 1.8);
    let r = s.get_json("/v1/rankings?code=cpi&as_of=2023-06&parent=益阳市");
    assert_eq!(r["rankings"][0]["region"], "安化县");
    assert_eq!(r["rankings"][1]["rank"], 2);

    // Refusals name the parameter.
    let r = s.get("/v1/rankings?as_of=2023-06");
    assert_eq!(
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap()["field"].clone()
        ),
        (400, json!("code"))
    );
    let r = s.get("/v1/rankings?code=gdp-growth&parent=长沙市");
    assert_eq!(
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap()["field"].clone()
        ),
        (400, json!("parent"))
    );
    assert_eq!(s.get("/v1/rankings?code=no-such-code").status(), 404);
}

#[test]
fn regions_are_registered_with_a_known_parent() {
    let s = TestServer::start();
    let (st, a) = put_json(
        &s,
        "/v1/regions/益阳高新区",
        &json!({"level": "county", "parent": "益阳市"}),
    );
    assert_eq!(st, 201, "{a}");
    assert_eq!(a["outcome"], "created");
    let (st, _) = put_json(
        &s,
        "/v1/regions/益阳高新区",
        &json!({"level": "county", "parent": "益阳市"}),
    );
    assert_eq!(st, 200);
    for (body, field) in [
        (json!({"level": "county", "parent": "长沙市"}), "parent"),
        (json!({"level": "town", "parent": "益阳市"}), "level"),
        (json!({"level": "county", "parent": "益阳高新区"}), "parent"),
        (json!({"level": "county", "size": 3}), "size"),
    ] {
        let (st, p) = put_json(&s, "/v1/regions/益阳高新区", &body);
        assert_eq!((st, &p["field"]), (400, &json!(field)), "{body}: {p}");
    }
    // A reader cannot register regions.
    let r = s
        .client
        .put(s.url("/v1/regions/某县"))
        .json(&json!({"level": "county"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let list = s.get_json("/v1/regions");
    assert_eq!(list["count"], 10);

    // A region change is a change like any other: ranks and labels depend on it, so
    // cached answers and their ETags move on.
    let tag = |s: &TestServer| {
        s.get("/v1/attainment?as_of=2023-06").headers()["etag"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let before = tag(&s);
    let (st, _) = put_json(
        &s,
        "/v1/regions/益阳高新区",
        &json!({"level": "county", "parent": "湖南省"}),
    );
    assert_eq!(st, 200);
    assert_ne!(tag(&s), before);
}

// ── quality checks ────────────────────────────────────────────────────────

#[test]
fn a_falling_cumulative_figure_is_refused_then_accepted_with_an_explanation() {
    let s = TestServer::start();
    s.submit(SME, "2023-05", 60.0);
    let r = s.put_reading(SME, "2023-06", json!({"value": 55}));
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().unwrap();
    assert_eq!(p["type"], "urn:zhibiao:problem:failed-checks");
    assert_eq!(p["errors"].as_array().unwrap().len(), 1, "{p}");
    let e = &p["errors"][0];
    assert_eq!(
        (&e["check"], &e["field"]),
        (&json!("cumulative_fall"), &json!("value"))
    );
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("累计值回落") && msg.contains("60") && msg.contains("2023年5月"),
        "{msg}"
    );
    // Nothing was written.
    assert_eq!(
        s.get(&format!("/v1/indicators/{SME}/readings/2023-06"))
            .status(),
        404
    );

    // With an explanation (强制上报说明) it is stored, and flagged.
    let why = "2家企业资格被撤销，按规定核减";
    let r = s.put_reading(SME, "2023-06", json!({"value": 55, "explanation": why}));
    assert_eq!(r.status(), 201);
    let a: Value = r.json().unwrap();
    assert_eq!(a["quality"]["explanation"], why);
    assert_eq!(a["quality"]["findings"][0]["check"], "cumulative_fall");
    let revs = s.get_json(&format!("/v1/indicators/{SME}/readings/2023-06/revisions"));
    assert_eq!(revs[0]["quality"]["explanation"], why);

    let q = s.get_json("/v1/quality?as_of=2023-06");
    assert_eq!(q["count"], 1, "{q}");
    let f = &q["flagged"][0];
    assert_eq!(
        (&f["indicator"], &f["period"], &f["value"]),
        (&json!(SME), &json!("2023-06"), &json!(55.0))
    );
    assert_eq!(
        (&f["checks"][0]["check"], &f["checks"][0]["label"]),
        (&json!("cumulative_fall"), &json!("累计值回落"))
    );
    assert_eq!(
        (&f["explanation"], &f["recorded_by"]),
        (&json!(why), &json!("admin"))
    );
    assert_eq!(f["lead_units"], json!(["县科工局"]));
    // Filters, and periods after as_of are not listed.
    assert_eq!(s.get_json("/v1/quality?as_of=2023-05")["count"], 0);
    assert_eq!(
        s.get_json(&format!("/v1/quality?as_of=2023-06&indicator={SME}"))["count"],
        1
    );
    assert_eq!(
        s.get_json("/v1/quality?as_of=2023-06&region=益阳市")["count"],
        0
    );

    // The same flagged figure again changes nothing and needs no explanation.
    let r = s.put_reading(SME, "2023-06", json!({"value": 55}));
    assert_eq!(r.status(), 200);
    // A corrected figure that passes the checks clears the flag; the history keeps it.
    s.submit(SME, "2023-06", 66.0);
    assert_eq!(s.get_json("/v1/quality?as_of=2023-06")["count"], 0);
    let revs = s.get_json(&format!("/v1/indicators/{SME}/readings/2023-06/revisions"));
    assert_eq!(revs.as_array().unwrap().len(), 2);
    assert_eq!(revs[0]["quality"]["explanation"], why);
    assert!(revs[1]["quality"].is_null());

    // Batches are checked row by row, each row against the store and the rows before it.
    let csv =
        format!("indicator,period,value\n{SME},2023-07,70\n{SME},2023-08,64\n{GDP},2023-06,8.1\n");
    let post = |body: String, query: &str| {
        s.client
            .post(s.url(&format!("/v1/readings{query}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .unwrap()
    };
    let r = post(csv.clone(), "");
    assert_eq!(
        r.status(),
        422,
        "a well-formed batch refused only by checks"
    );
    let p: Value = r.json().unwrap();
    assert_eq!(p["errors"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(
        (&p["errors"][0]["row"], &p["errors"][0]["check"]),
        (&json!(3), &json!("cumulative_fall"))
    );
    assert_eq!(
        s.get(&format!("/v1/indicators/{SME}/readings/2023-07"))
            .status(),
        404
    );
    // A malformed row as well: one 400 listing both, in the same row shape.
    let r = post(format!("{csv}{SME},2023-13,1\n"), "");
    assert_eq!(r.status(), 400);
    let p: Value = r.json().unwrap();
    let rows: Vec<u64> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 5], "{p}");
    // With atomic=false the good rows land and the refused one is reported.
    let r = post(csv.clone(), "?atomic=false");
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(
        (&a["created"], &a["rejected"]),
        (&json!(2), &json!(1)),
        "{a}"
    );
    assert_eq!(a["errors"][0]["check"], "cumulative_fall");
    // An explanation column stores the row, flagged.
    let r = post(
        format!("indicator,period,value,上报说明\n{SME},2023-08,64,年中复核剔除6家不合格企业\n"),
        "",
    );
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(a["rows"][0]["flagged"], json!(["cumulative_fall"]), "{a}");
    let q = s.get_json("/v1/quality?as_of=2023-08");
    assert_eq!(q["count"], 1);
    assert_eq!(q["flagged"][0]["explanation"], "年中复核剔除6家不合格企业");
}

#[test]
fn a_month_on_month_outlier_is_flagged() {
    let s = TestServer::start();
    s.submit(GDP, "2023-Q1", 8.1);
    // A growth rate that jumps ten points in a quarter: 环比异常, not out of range.
    let r = s.put_reading(GDP, "2023-Q2", json!({"value": 18.1}));
    assert_eq!(r.status(), 422);
    let p: Value = r.json().unwrap();
    let checks: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["month_on_month"], "{p}");
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("环比异常"));
    // Five points is the default limit itself: accepted as is.
    s.submit(GDP, "2023-Q2", 13.1);
    // Explained, the outlier is stored and listed.
    let r = s.put_reading(
        GDP,
        "2023-Q3",
        json!({"value": 3.0, "explanation": "重大项目投产时间调整"}),
    );
    assert_eq!(r.status(), 201);
    let q = s.get_json("/v1/quality?as_of=2023-09");
    assert_eq!(q["count"], 1);
    assert_eq!(q["flagged"][0]["checks"][0]["label"], "环比异常");
    assert_eq!(q["flagged"][0]["period"], "2023-Q3");
    // A value no growth rate can take is out of range.
    let r = s.put_reading(GDP, "2023-Q4", json!({"value": -150.0}));
    let p: Value = r.json().unwrap();
    let checks: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["out_of_range", "month_on_month"], "{p}");
    // An indicator can widen its own limit.
    let mut def = definition(&s, GDP);
    def["quality"] = json!({"max_change": 200.0, "range": [-200.0, 1000.0]});
    let (st, a) = put_json(&s, &format!("/v1/indicators/{GDP}"), &def);
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        s.put_reading(GDP, "2023-Q4", json!({"value": -150.0}))
            .status(),
        201
    );
    // A bad rule is refused, naming it.
    def["quality"] = json!({"range": [10.0, -10.0]});
    let (st, p) = put_json(&s, &format!("/v1/indicators/{GDP}"), &def);
    assert_eq!((st, &p["field"]), (400, &json!("quality.range")), "{p}");
}

// ── escalation ────────────────────────────────────────────────────────────

#[test]
fn two_lagging_months_escalate_and_stay_escalated_after_a_restart() {
    let s = TestServer::start();
    // 150 a year: May expects 62.5 and June 75. 55 and 68 are behind, not severely.
    s.submit(SME, "2023-05", 55.0);
    let may = alert_of(&s, SME, "2023-05");
    assert_eq!(
        (
            &may["status"],
            &may["severity"],
            &may["escalated"],
            &may["periods_lagging"]
        ),
        (
            &json!("behind"),
            &json!("warning"),
            &json!(false),
            &json!(1)
        ),
        "{may}"
    );
    s.submit(SME, "2023-06", 68.0);
    let june = alert_of(&s, SME, "2023-06");
    assert_eq!(
        (
            &june["status"],
            &june["severity"],
            &june["escalated"],
            &june["periods_lagging"]
        ),
        (
            &json!("behind"),
            &json!("critical"),
            &json!(true),
            &json!(2)
        ),
        "{june}"
    );
    assert_eq!(june["since"], "2023-05");

    // The state is the stored readings: a restart keeps it.
    let (dir, tmp) = s.stop();
    let s = TestServer::start_at(&dir);
    let june = alert_of(&s, SME, "2023-06");
    assert_eq!(
        (&june["severity"], &june["escalated"]),
        (&json!("critical"), &json!(true)),
        "{june}"
    );
    let crit = s.get_json("/v1/alerts?as_of=2023-06&severity=critical");
    assert!(crit["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["indicator"] == SME));

    // The number of months is a setting per indicator: three for this one.
    let mut def = definition(&s, SME);
    assert_eq!(def["escalate_after"], 2);
    def["escalate_after"] = json!(3);
    let (st, a) = put_json(&s, &format!("/v1/indicators/{SME}"), &def);
    assert_eq!(st, 200, "{a}");
    assert_eq!(alert_of(&s, SME, "2023-06")["severity"], "warning");
    s.submit(SME, "2023-07", 80.0);
    let july = alert_of(&s, SME, "2023-07");
    assert_eq!(
        (&july["severity"], &july["periods_lagging"]),
        (&json!("critical"), &json!(3)),
        "{july}"
    );
    // Back on pace ends the run.
    s.submit(SME, "2023-08", 100.0);
    assert!(alert_of(&s, SME, "2023-08").is_null());
    def["escalate_after"] = json!(0);
    let (st, p) = put_json(&s, &format!("/v1/indicators/{SME}"), &def);
    assert_eq!((st, &p["field"]), (400, &json!("escalate_after")));
    drop(tmp);
}
