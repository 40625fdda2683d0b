//! What a script author and an operator meet first in the catalogue-wide lists: filters
//! that take lists, Chinese names and `status=lagging`; rows that carry their group's
//! name, frequency and sentence; CSV columns that stay put whatever the data; and
//! answers for the home region unless another is asked for.

use std::collections::BTreeSet;

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::{TestServer, ADMIN_TOKEN};

fn fixture_server() -> TestServer {
    let s = TestServer::start();
    s.load_fixture_year();
    s
}

fn get(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.get(path);
    let st = r.status().as_u16();
    (st, r.json().unwrap_or(Value::Null))
}

/// The ids of an attainment or alert list's rows.
fn ids(v: &Value, list: &str) -> BTreeSet<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .map(|r| r["indicator"].as_str().unwrap().to_string())
        .collect()
}

fn rows<'a>(v: &'a Value, list: &str) -> &'a Vec<Value> {
    v[list].as_array().unwrap()
}

/// A 400 that names `field` and quotes `value`.
fn refused(s: &TestServer, path: &str, field: &str, value: &str) {
    let (st, p) = get(s, path);
    assert_eq!(st, 400, "{path}: {p}");
    assert_eq!(p["field"], field, "{path}: {p}");
    assert!(
        p["detail"].as_str().unwrap().contains(value),
        "{path}: the detail should name '{value}': {p}"
    );
}

#[test]
fn filters_take_lists_repeats_lagging_and_the_plan_s_chinese_names() {
    let s = fixture_server();
    let base = "/v1/attainment?as_of=2023-06";
    let count = |q: &str| {
        let (st, v) = get(&s, &format!("{base}&{q}"));
        assert_eq!(st, 200, "{q}: {v}");
        v
    };

    // status: a comma list, a repeat, `lagging` and the Chinese labels ask the same.
    let behind = ids(&count("status=behind"), "attainment");
    let severe = ids(&count("status=severely_behind"), "attainment");
    assert!(!behind.is_empty() && !severe.is_empty());
    let both: BTreeSet<String> = behind.union(&severe).cloned().collect();
    for q in [
        "status=behind,severely_behind",
        "status=behind&status=severely_behind",
        "status=lagging",
        "status=%E6%9C%AA%E8%BE%BE%E5%BA%8F%E6%97%B6%E8%BF%9B%E5%BA%A6%EF%BC%8C%E4%B8%A5%E9%87%8D%E6%BB%9E%E5%90%8E", // 未达序时进度，严重滞后
    ] {
        let v = count(q);
        assert_eq!(ids(&v, "attainment"), both, "{q}");
        assert_eq!(v["count"], both.len(), "{q}");
        assert!(rows(&v, "attainment")
            .iter()
            .all(|r| r["status"] == "behind" || r["status"] == "severely_behind"));
    }

    // Groups: the key, the full name, a part of the name only one group has, as
    // `group` or `battle`.
    let livelihood = ids(&count("group=livelihood"), "attainment");
    assert!(!livelihood.is_empty());
    for q in [
        "battle=%E6%B0%91%E7%94%9F", // 民生
        "group=%E9%87%8D%E7%82%B9%E6%B0%91%E7%94%9F%E4%BF%9D%E9%9A%9C%E4%BB%97", // 重点民生保障仗
        "battle=livelihood",
    ] {
        assert_eq!(ids(&count(q), "attainment"), livelihood, "{q}");
    }
    let safety = ids(&count("group=safety"), "attainment");
    let either: BTreeSet<String> = livelihood.union(&safety).cloned().collect();
    assert_eq!(ids(&count("group=livelihood,safety"), "attainment"), either);
    assert_eq!(
        ids(&count("group=livelihood&battle=safety"), "attainment"),
        either
    );

    // Across names the filters narrow together.
    let lagging_livelihood = ids(&count("group=livelihood&status=lagging"), "attainment");
    assert!(!lagging_livelihood.is_empty());
    assert_eq!(
        lagging_livelihood,
        livelihood.intersection(&both).cloned().collect()
    );

    // Units: an alias filters like the canonical name; two units are either.
    let canonical = ids(&count("lead_unit=县交通运输局"), "attainment");
    assert!(!canonical.is_empty());
    assert_eq!(ids(&count("lead_unit=县交通局"), "attainment"), canonical);
    let kgj = ids(&count("lead_unit=县科工局"), "attainment");
    assert_eq!(
        ids(&count("lead_unit=县交通局,县科工局"), "attainment"),
        canonical.union(&kgj).cloned().collect()
    );

    // Kinds of indicator.
    let growth = count("kind=growth");
    assert!(rows(&growth, "attainment")
        .iter()
        .all(|r| r["kind"] == "growth"));
    let two = count("kind=growth,rate");
    assert!(two["count"].as_u64() > growth["count"].as_u64());

    // Alerts take the same lists, and `kind` there is the alert's kind.
    let (_, all) = get(&s, "/v1/alerts?as_of=2023-06&on=2023-07-20");
    let (_, both_kinds) = get(
        &s,
        "/v1/alerts?as_of=2023-06&on=2023-07-20&kind=pace,overdue",
    );
    assert_eq!(ids(&all, "alerts"), ids(&both_kinds, "alerts"));
    let (_, lagging) = get(&s, "/v1/alerts?as_of=2023-06&status=lagging&kind=pace");
    assert!(!rows(&lagging, "alerts").is_empty());
    assert!(rows(&lagging, "alerts")
        .iter()
        .all(|a| a["status"] == "behind" || a["status"] == "severely_behind"));
    let (_, people) = get(
        &s,
        "/v1/alerts?as_of=2023-06&kind=pace&battle=%E6%B0%91%E7%94%9F",
    );
    assert!(rows(&people, "alerts")
        .iter()
        .all(|a| a["group"] == "livelihood"));

    // An unknown value is a 400 naming the parameter and the value.
    refused(&s, &format!("{base}&status=behind,slow"), "status", "slow");
    refused(
        &s,
        &format!("{base}&battle=%E5%A4%A9%E6%96%87"),
        "battle",
        "天文",
    );
    refused(&s, &format!("{base}&group=growth,nope"), "group", "nope");
    refused(
        &s,
        &format!("{base}&lead_unit=县气象局"),
        "lead_unit",
        "县气象局",
    );
    refused(&s, &format!("{base}&region=火星县"), "region", "火星县");
    refused(&s, &format!("{base}&kind=speed"), "kind", "speed");
    refused(&s, "/v1/alerts?kind=pace,late", "kind", "late");
    refused(
        &s,
        "/v1/indicators?lead_unit=县气象局",
        "lead_unit",
        "县气象局",
    );
    // A part of a name several groups share is ambiguous, and says which.
    let (st, p) = get(&s, &format!("{base}&group=%E4%BB%97")); // 仗
    assert_eq!(st, 400, "{p}");
    // Names that take one value still refuse a repeat.
    refused(&s, &format!("{base}&as_of=2023-05"), "as_of", "as_of");
}

#[test]
fn rows_carry_their_group_s_name_frequency_sentence_and_if_asked_the_plan_s_words() {
    let s = fixture_server();
    let (_, v) = get(&s, "/v1/attainment?as_of=2023-06&group=growth");
    let gdp = rows(&v, "attainment")
        .iter()
        .find(|r| r["indicator"] == "gdp-growth")
        .unwrap();
    assert_eq!(gdp["group_name"], "经济增长主动仗");
    assert_eq!(gdp["frequency"], "quarterly");
    let zh = gdp["message"].as_str().unwrap();
    assert!(zh.contains("个百分点"), "{zh}");
    assert!(
        gdp.get("source").is_none(),
        "the quote only when asked: {gdp}"
    );

    // The sentence in the request's language.
    let en: Value = s
        .client
        .get(s.url("/v1/attainment?as_of=2023-06&group=growth"))
        .header("accept-language", "en")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let gdp_en = rows(&en, "attainment")
        .iter()
        .find(|r| r["indicator"] == "gdp-growth")
        .unwrap();
    let msg = gdp_en["message"].as_str().unwrap();
    // Each language has its own tag: a Chinese body's tag does not answer 304 to English.
    let tag_of = |lang: &str| {
        s.client
            .get(s.url("/v1/attainment?as_of=2023-06&group=growth"))
            .header("accept-language", lang)
            .send()
            .unwrap()
            .headers()["etag"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(tag_of("en"), tag_of("zh-CN"));
    let r = s
        .client
        .get(s.url("/v1/attainment?as_of=2023-06&group=growth"))
        .header("accept-language", "en")
        .header("if-none-match", tag_of("zh-CN"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(msg.contains("point"), "{msg}");
    assert!(!msg.contains("个百分点"), "{msg}");

    // ?include=source adds the plan's quote, in JSON and as three CSV columns.
    let (_, with) = get(
        &s,
        "/v1/attainment?as_of=2023-06&group=growth&include=source",
    );
    let gdp = rows(&with, "attainment")
        .iter()
        .find(|r| r["indicator"] == "gdp-growth")
        .unwrap();
    assert_eq!(gdp["source"]["quote"], "地区生产总值增长 8%左右");
    let csv = s
        .get("/v1/attainment?as_of=2023-06&group=growth&include=source&format=csv")
        .text()
        .unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with(",source.document,source.section,source.quote"));
    assert!(csv.contains("地区生产总值增长 8%左右"));
    refused(&s, "/v1/attainment?include=sources", "include", "sources");

    // Alert rows carry the same.
    let (_, a) = get(&s, "/v1/alerts?as_of=2023-06&on=2023-07-20&include=source");
    for row in rows(&a, "alerts") {
        assert!(
            row["group_name"]
                .as_str()
                .is_some_and(|n| n.ends_with('仗')),
            "{row}"
        );
        assert!(row["frequency"].is_string(), "{row}");
        assert!(
            row["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{row}"
        );
        assert!(row["source"]["quote"].is_string(), "{row}");
    }
    let a_en: Value = s
        .client
        .get(s.url("/v1/alerts?as_of=2023-06&on=2023-07-20"))
        .header("accept-language", "en")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let first_en = &rows(&a_en, "alerts")[0];
    let first_zh = rows(&a, "alerts")
        .iter()
        .find(|r| r["indicator"] == first_en["indicator"] && r["kind"] == first_en["kind"])
        .unwrap();
    assert_ne!(first_en["message"], first_zh["message"]);
    assert_eq!(first_en["group_name"], first_zh["group_name"]);

    // One indicator's attainment too.
    let one = s.attainment("gdp-growth", "2023-06");
    assert_eq!(
        (&one["group_name"], &one["frequency"]),
        (&json!("经济增长主动仗"), &json!("quarterly"))
    );

    // One key names an indicator everywhere: `/v1/indicators` rows have `indicator`,
    // and keep `id` for a release.
    let list = s.get_json("/v1/indicators");
    for row in list.as_array().unwrap() {
        assert_eq!(row["indicator"], row["id"], "{row}");
    }
    let one = s.get_json("/v1/indicators/gdp-growth");
    assert_eq!(one["indicator"], "gdp-growth");
}

/// An indicator of 益阳市 with the county's GDP code, a target and a June figure, and
/// the county's GDP set against it.
fn add_city(s: &TestServer) {
    let body = json!({
        "name": "益阳市地区生产总值增长",
        "group": "growth",
        "kind": "growth",
        "unit": "%",
        "direction": "up",
        "frequency": "quarterly",
        "lead_units": ["益阳市统计局"],
        "source": {"document": "益阳市2023年政府工作报告", "section": "主要目标", "quote": "地区生产总值增长7.5%左右"},
        "region": "益阳市",
        "code": "gdp-growth",
        "target": {"year": 2023, "value": 7.5, "comparator": "about"}
    });
    let r = s
        .client
        .put(s.url("/v1/indicators/yiyang-gdp-growth"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let r = s.put_reading("yiyang-gdp-growth", "2023-03", json!({"value": 6.9}));
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    // The county's GDP names the city as its benchmark: its row gains comparison fields.
    let mut def = s.get_json("/v1/indicators/gdp-growth");
    let obj = def.as_object_mut().unwrap();
    for view_only in ["group_name", "plan", "target", "target_years"] {
        obj.remove(view_only);
    }
    def["benchmarks"] = json!(["益阳市"]);
    let r = s
        .client
        .put(s.url("/v1/indicators/gdp-growth"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&def)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}

fn csv_of(r: Response) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rd
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The leaf paths of a JSON row (a list of objects is walked by index).
fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, x, out);
            }
        }
        Value::Array(a) if a.iter().any(Value::is_object) => {
            for (i, x) in a.iter().enumerate() {
                leaves(&format!("{prefix}.{i}"), x, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// Every field of every JSON row has its one column; no column repeats or holds
/// another's field.
fn columns_hold_every_field(what: &str, header: &[String], json_rows: &[Value], left_out: &[&str]) {
    let set: BTreeSet<&String> = header.iter().collect();
    assert_eq!(
        set.len(),
        header.len(),
        "{what}: a column repeats: {header:?}"
    );
    for a in header {
        for b in header {
            assert!(
                a == b || !b.starts_with(&format!("{a}.")),
                "{what}: column {b} is inside column {a}"
            );
        }
    }
    for row in json_rows {
        let mut l = Vec::new();
        leaves("", row, &mut l);
        for leaf in l {
            // A null object (`target: null`) is held by the columns inside it.
            let held = header.iter().any(|c| {
                leaf == *c
                    || leaf.starts_with(&format!("{c}."))
                    || c.starts_with(&format!("{leaf}."))
            }) || left_out.contains(&leaf.as_str());
            assert!(held, "{what}: no column holds {leaf}");
        }
    }
}

#[test]
fn csv_columns_stay_the_same_whatever_the_data_and_hold_every_field_once() {
    let s = fixture_server();
    let att = "/v1/attainment?as_of=2023-06&format=csv";
    let (before, _) = csv_of(s.get(att));
    let (alerts_before, _) = csv_of(s.get("/v1/alerts?as_of=2023-06&format=csv"));
    let (ind_before, _) = csv_of(s.get("/v1/indicators?format=csv"));
    // A list with no rows still names its columns.
    let (empty, none) =
        csv_of(s.get("/v1/attainment?as_of=2023-06&status=achieved&kind=ordinal&format=csv"));
    assert!(none.is_empty());
    assert_eq!(empty, before);

    add_city(&s);
    for q in ["", "&region=*", "&region=益阳市"] {
        let (after, rows) = csv_of(s.get(&format!("{att}{q}")));
        assert_eq!(after, before, "attainment{q}: the columns moved");
        assert!(!rows.is_empty());
    }
    // The county's GDP row now has a benchmark: it fills the benchmark columns.
    let (header, lines) = csv_of(s.get(&format!("{att}&group=growth")));
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let gdp = lines
        .iter()
        .find(|r| r[col("indicator")] == "gdp-growth")
        .unwrap();
    assert_eq!(gdp[col("benchmarks.0.region")], "益阳市");
    assert_eq!(gdp[col("group_name")], "经济增长主动仗");
    assert_eq!(gdp[col("frequency")], "quarterly");
    let no_bench = lines
        .iter()
        .find(|r| r[col("indicator")] != "gdp-growth")
        .unwrap();
    assert_eq!(no_bench[col("benchmarks.0.region")], "");
    assert!(!header.contains(&"target.baseline".to_string()));
    assert!(header.contains(&"target.baseline.reference".to_string()));

    let (alerts_after, _) = csv_of(s.get("/v1/alerts?as_of=2023-06&region=*&format=csv"));
    assert_eq!(alerts_after, alerts_before);
    let (ind_after, _) = csv_of(s.get("/v1/indicators?region=*&format=csv"));
    assert_eq!(ind_after, ind_before);
    assert!(
        !ind_after.contains(&"id".to_string()),
        "one column per field"
    );

    // Every field of the JSON rows has a column, for each CSV answer.
    let cases: [(&str, &str, &[&str]); 10] = [
        ("/v1/attainment?as_of=2023-06&region=*", "attainment", &[]),
        (
            "/v1/alerts?as_of=2023-06&on=2023-07-20&region=*",
            "alerts",
            &[],
        ),
        ("/v1/indicators?region=*", "", &["id"]),
        ("/v1/calendar?from=2023-07-01&to=2023-07-31", "due", &[]),
        ("/v1/overdue?on=2023-07-20", "overdue", &[]),
        ("/v1/indicators/gdp-growth/readings", "", &[]),
        ("/v1/regions", "regions", &[]),
        (
            "/v1/rankings?code=gdp-growth&as_of=2023-06",
            "rankings",
            &[],
        ),
        ("/v1/tokens", "", &[]),
        ("/v1/access-log", "entries", &[]),
    ];
    for (path, list, left_out) in cases {
        let j: Value = s
            .client
            .get(s.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let json_rows = if list.is_empty() {
            j.as_array().unwrap().clone()
        } else {
            rows(&j, list).clone()
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = s
            .client
            .get(s.url(&format!("{path}{sep}format=csv")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap();
        let (header, csv_rows) = csv_of(r);
        assert_eq!(csv_rows.len(), json_rows.len(), "{path}");
        columns_hold_every_field(path, &header, &json_rows, left_out);
    }
}

#[test]
fn lists_answer_for_the_home_region_unless_another_or_every_region_is_asked_for() {
    let s = fixture_server();
    add_city(&s);
    let n = |path: &str| -> usize {
        let (st, v) = get(&s, path);
        assert_eq!(st, 200, "{path}: {v}");
        v.as_array()
            .map(Vec::len)
            .or_else(|| v["count"].as_u64().map(|c| c as usize))
            .or_else(|| v["total"].as_u64().map(|c| c as usize))
            .unwrap()
    };
    assert_eq!(n("/v1/indicators"), 203);
    assert_eq!(n("/v1/indicators?region=*"), 204);
    assert_eq!(n("/v1/indicators?region=益阳市"), 1);
    assert_eq!(n("/v1/indicators?region=桃江县,益阳市"), 204);
    assert_eq!(n("/v1/attainment?as_of=2023-06"), 203);
    assert_eq!(n("/v1/attainment?as_of=2023-06&region=*"), 204);
    assert_eq!(n("/v1/summary?as_of=2023-06"), 203);
    assert_eq!(n("/v1/summary?as_of=2023-06&region=*"), 204);
    let (_, home) = get(&s, "/v1/attainment?as_of=2023-06");
    assert!(rows(&home, "attainment")
        .iter()
        .all(|r| r["region"] == "桃江县"));

    // The city's figure is a reference series: never owed, whatever is asked.
    for path in [
        "/v1/overdue?on=2023-11-20&region=*",
        "/v1/overdue?on=2023-11-20&region=益阳市",
        "/v1/alerts?as_of=2023-06&on=2023-11-20&kind=overdue&region=*",
        "/v1/calendar?from=2023-10-01&to=2023-10-31&region=*",
    ] {
        let (st, v) = get(&s, path);
        assert_eq!(st, 200, "{v}");
        assert!(!v.to_string().contains("yiyang-gdp-growth"), "{path}: {v}");
        assert!(!v.to_string().contains("益阳市统计局"), "{path}: {v}");
    }
    let (_, by_unit) = get(&s, "/v1/overdue?on=2023-11-20&group=lead_unit&region=*");
    assert!(!by_unit.to_string().contains("益阳市统计局"), "{by_unit}");
    // The county's own overdue figures are still listed.
    assert!(n("/v1/overdue?on=2023-11-20") > 0);

    // /metrics: the home region's series unless asked.
    let metrics = s.get("/metrics?as_of=2023-06").text().unwrap();
    assert!(metrics.contains("gdp-growth"));
    assert!(!metrics.contains("yiyang-gdp-growth"));
    let all = s.get("/metrics?as_of=2023-06&region=*").text().unwrap();
    assert!(all.contains("yiyang-gdp-growth"));

    // A token of another region answers for its own region by default.
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "yy", "role": "reader", "region": "益阳市"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let secret = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs: Value = s
        .client
        .get(s.url("/v1/attainment?as_of=2023-06"))
        .bearer_auth(&secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        ids(&theirs, "attainment"),
        BTreeSet::from(["yiyang-gdp-growth".to_string()])
    );
}

#[test]
fn the_pull_script_prints_the_month_s_lagging_list_in_one_call_with_the_server_s_sentences() {
    let s = fixture_server();
    let api = s.get_json("/v1/attainment?as_of=2023-06&status=lagging&group=innovation");
    let want = rows(&api, "attainment");
    assert!(!want.is_empty());
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/pull-attainment.py"
        ))
        .args(["--url", s.url("").trim_end_matches('/')])
        .args(["--as-of", "2023-06", "--lagging", "--group", "科技创新"])
        .output()
        .expect("python3 runs the script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("as_of 2023-06: {} lagging", want.len())
    );
    assert_eq!(lines.next().unwrap(), "科技创新攻坚仗");
    let printed: Vec<&str> = lines.collect();
    assert_eq!(printed.len(), want.len(), "{text}");
    for (line, row) in printed.iter().zip(want) {
        assert!(line.contains(row["name"].as_str().unwrap()), "{line}");
        assert!(
            line.contains(row["status_label"].as_str().unwrap()),
            "{line}"
        );
        assert!(
            line.ends_with(&format!("：{}", row["message"].as_str().unwrap())),
            "the row's own sentence: {line}"
        );
    }
}
