//! Plans as data: another county's 指标库 workbook (written by LibreOffice) imported and
//! served as its own plan, readings sent by 指标名称 in GBK, a 2024 plan beside
//! Taojiang's 2023 one without changing a byte of 2023, the dry run of a sheet with bad
//! rows, and the definitions that round-trip through GET and PUT.

use std::path::{Path, PathBuf};

use reqwest::blocking::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan-linxiang-2024")
        .join(name)
}

fn post(s: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> Response {
    s.client
        .post(s.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST")
}

fn json_of(r: Response) -> (u16, Value) {
    let st = r.status().as_u16();
    (st, r.json().expect("a JSON answer"))
}

/// The five groups of the 临湘 fixture, in order, with their first indicator and size
/// (tests/fixtures/plan-linxiang-2024/README.md).
const LINXIANG_GROUPS: [(&str, &str, usize); 5] = [
    ("一、经济发展", "地区生产总值增长", 8),
    ("二、科技创新", "新增高新技术企业", 6),
    ("三、生态环境", "空气质量优良天数比例", 6),
    ("四、安全稳定", "生产安全事故死亡人数", 5),
    ("五、民生保障", "城镇新增就业", 5),
];

fn check_linxiang_plan(plan: &Value) {
    assert_eq!(plan["id"], "linxiang-2024", "{plan}");
    assert_eq!(plan["region"], "临湘市");
    assert_eq!(plan["year"], 2024);
    assert_eq!(plan["doc_number"], "临政办发〔2024〕3号");
    assert_eq!(plan["issuer"], "临湘市人民政府办公室");
    let groups = plan["groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        LINXIANG_GROUPS.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    let rows = plan["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 30);
    // Rows follow the groups, then the sheet's order; each group starts where the
    // sheet starts it.
    let mut at = 0;
    for (name, first, n) in LINXIANG_GROUPS {
        assert_eq!(rows[at]["group_name"], name, "{}", rows[at]);
        assert_eq!(rows[at]["name"], first);
        assert!(rows[at..at + n].iter().all(|r| r["group_name"] == name));
        at += n;
    }
    // The percent-formatted cell (0.85 shown as 85%) is 85, and the 区间 text a band.
    let air = rows
        .iter()
        .find(|r| r["name"] == "空气质量优良天数比例")
        .unwrap();
    assert_eq!(air["target"]["value"], 85.0);
    let cpi = rows
        .iter()
        .find(|r| r["name"] == "居民消费价格涨幅")
        .unwrap();
    assert_eq!(
        (
            &cpi["target"]["comparator"],
            &cpi["target"]["value"],
            &cpi["target"]["upper"]
        ),
        (&json!("between"), &json!(2.0), &json!(3.0))
    );
    let gdp = &rows[0];
    assert_eq!(gdp["kind"], "growth");
    assert_eq!(gdp["target"]["comparator"], "about");
    assert_eq!(gdp["lead_units"], json!(["临湘市发改局", "市统计局"]));
}

#[test]
fn a_second_countys_workbook_is_tried_then_imported_beside_taojiang() {
    let s = TestServer::start();
    let book = std::fs::read(fixture("zhibiaoku.xlsx")).unwrap();
    let before = s.get_json("/v1/plans");
    assert_eq!(before["count"], 1);

    // The dry run says what each row would do and writes nothing.
    let (st, a) = json_of(post(
        &s,
        "/v1/plans/import?dry_run=true",
        XLSX,
        book.clone(),
    ));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["dry_run"], true);
    assert_eq!(a["plan_action"], "create");
    assert_eq!(a["counts"]["create"], 30, "{a}");
    assert_eq!(a["rows"].as_array().unwrap().len(), 30);
    assert!(a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id_generated"] == true));
    assert_eq!(a["new_regions"], json!(["岳阳市", "临湘市"]));
    assert!(a["new_units"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u == "市统计局"));
    assert_eq!(s.get_json("/v1/plans"), before, "a dry run writes nothing");

    let (st, a) = json_of(post(&s, "/v1/plans/import", XLSX, book.clone()));
    assert_eq!(st, 201, "{a}");
    check_linxiang_plan(&a["plan"]);
    check_linxiang_plan(&s.get_json("/v1/plans/linxiang-2024"));
    // Generated ids are the names' pinyin, and readable.
    assert_eq!(
        a["plan"]["rows"][0]["indicator"],
        "di-qu-sheng-chan-zong-zhi-zeng-zhang"
    );
    let plans = s.get_json("/v1/plans");
    assert_eq!(plans["count"], 2);
    // Taojiang stays the home region: its dashboard is unchanged in title, and the
    // default as_of stays in its plan's year, not the neighbour's 2024.
    assert_eq!(s.get_json("/v1/attainment")["as_of"], "2023-12");
    let page = s.get("/?as_of=2023-06").text().unwrap();
    assert!(page.contains("<h1>桃江县打好发展“六仗”指标监测</h1>"));

    // A token made for 临湘市 sends its readings by their names there; the home
    // region's token finds no such names in 桃江县.
    let r = s
        .client
        .post(s.url("/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "lx-tjj", "role": "submitter", "units": ["市统计局"], "region": "临湘市"}))
        .send()
        .unwrap();
    let (st, t) = json_of(r);
    assert_eq!(st, 201, "{t}");
    assert_eq!(t["region"], "临湘市");
    let csv = std::fs::read(fixture("readings-2024-gbk.csv")).unwrap();
    let send = |secret: &str| {
        json_of(
            s.client
                .post(s.url("/v1/readings"))
                .bearer_auth(secret)
                .header("content-type", "text/csv; charset=gbk")
                .body(csv.clone())
                .send()
                .unwrap(),
        )
    };
    let home = s.submitter("tj-tjj", &["县统计局"]);
    let (st, a) = send(&home);
    assert_eq!(st, 400, "{a}");
    assert!(
        a["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("桃江县"),
        "{a}"
    );
    // For the 临湘 token the names are found in 临湘市: what refuses some rows is that
    // 市统计局 does not lead them, and each refusal names its lead units.
    let (st, a) = send(t["token"].as_str().unwrap());
    assert_eq!(st, 403, "{a}");
    let errors = a["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for e in errors {
        let m = e["message"].as_str().unwrap();
        assert!(m.contains("is led by") && !m.contains("没有名为"), "{m}");
    }

    // The same sheet again changes nothing.
    let (st, a) = json_of(post(&s, "/v1/plans/import", XLSX, book));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["counts"]["unchanged"], 30, "{a}");
    assert_eq!(a["plan_action"], "unchanged");
}

/// A store whose plan is the 临湘 workbook alone: imported into an empty store as
/// `zhibiao import` does, before the server starts.
fn linxiang_server() -> TestServer {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    {
        let store = open_store(&dir);
        let book = std::fs::read(fixture("zhibiaoku.xlsx")).unwrap();
        let sheet = zhibiao::ingest::plan_sheet::read_plan(
            zhibiao::ingest::plan_sheet::SheetFormat::Xlsx,
            &book,
            &zhibiao::ingest::Limits::DEFAULT,
            &zhibiao::ingest::Cancel::new(),
        )
        .unwrap();
        let qs = zhibiao::query::Queries::new(store);
        let a = qs
            .import_sheet(sheet, &Default::default(), false, "import", test_now())
            .unwrap_or_else(|_| panic!("the fixture imports"));
        assert_eq!(a.counts.create, 30);
        qs.store().flush().unwrap();
        let _g = crate::common::fork_guard();
    }
    TestServer::builder().start_at(&dir).keeping(tmp)
}

#[test]
fn a_county_that_starts_from_its_own_sheet_sees_its_own_plan_and_takes_gbk_readings_by_name() {
    let s = linxiang_server();
    // No Taojiang: the import made the store the county's.
    assert_eq!(s.get_json("/v1/plans")["count"], 1);

    let csv = std::fs::read(fixture("readings-2024-gbk.csv")).unwrap();
    assert!(std::str::from_utf8(&csv).is_err(), "the fixture is GBK");
    let (st, a) = json_of(post(&s, "/v1/readings", "text/csv; charset=gbk", csv));
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["created"], 16, "{a}");
    assert_eq!(
        a["rows"][0]["indicator"],
        "di-qu-sheng-chan-zong-zhi-zeng-zhang"
    );
    assert_eq!(a["rows"][0]["name"], "地区生产总值增长");

    // The default as_of is the latest period with readings in the plan's year.
    let att = s.get_json("/v1/attainment");
    assert_eq!(att["as_of"], "2024-06");
    let names: Vec<&str> = att["attainment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "地区生产总值增长", "plan order, not id order");
    assert_eq!(names.len(), 30);

    // The dashboard: its title, its document, its five groups in order.
    let page = s.get("/?as_of=2024-03").text().unwrap();
    assert!(page.contains("<h1>临湘市指标监测</h1>"), "{}", &page[..800]);
    assert!(page.contains("临湘市2024年经济社会发展主要指标责任分解方案（临政办发〔2024〕3号）"));
    let mut last = 0;
    for (i, (name, first, _)) in LINXIANG_GROUPS.iter().enumerate() {
        let at = page
            .find(&format!(r#"data-battle="g{}""#, i + 1))
            .unwrap_or_else(|| panic!("no section g{}", i + 1));
        assert!(at > last, "{name} out of order");
        last = at;
        let section = &page[at..];
        assert!(section.contains(name));
        let first_row = section.find("indicator-row").unwrap();
        assert!(section[first_row..].find(first) < section[first_row..].find("</tr>"));
    }
    assert!(!page.contains("六仗"));
    // Filtering by a group's name or key.
    let g2 = s.get("/?as_of=2024-03&group=二、科技创新").text().unwrap();
    assert_eq!(g2.matches(r#"class="indicator-row""#).count(), 6);

    // The bulletin: its own title, its document, its groups.
    let md = s
        .get("/v1/reports/monthly?as_of=2024-03&format=md")
        .text()
        .unwrap();
    // The title is the region's and the month's; the plan is cited in the 依据 line only.
    assert!(md.contains("\n# 临湘市2024年3月重点指标监测通报\n"), "{md}");
    assert!(
        md.contains("依据：临湘市2024年经济社会发展主要指标责任分解方案（临政办发〔2024〕3号）")
    );
    assert_eq!(
        md.matches("经济社会发展主要指标责任分解方案").count(),
        1,
        "{md}"
    );
    // No settings for 临湘市: its statistics bureau, and no 文号.
    assert!(md.starts_with("**临湘市统计局**\n"), "{md}");
    let (a, b) = (md.find("经济发展").unwrap(), md.find("民生保障").unwrap());
    assert!(a < b);
    assert!(!md.contains("六仗") && !md.contains("战役"));
}

/// Everything a 2023 reader sees: the plan with its targets, quotes and lead units,
/// the attainment table, the bulletin, and the readings and revisions of indicators
/// that have them.
fn export_2023(s: &TestServer, with_readings: &[&str]) -> String {
    let mut out = String::new();
    out.push_str(&s.get("/v1/plans/taojiang-2023").text().unwrap());
    out.push_str(&s.get("/v1/attainment?as_of=2023-06").text().unwrap());
    out.push_str(
        &s.get("/v1/attainment?as_of=2023-06&format=csv")
            .text()
            .unwrap(),
    );
    out.push_str(
        &s.get("/v1/reports/monthly?as_of=2023-06&format=md")
            .text()
            .unwrap(),
    );
    for id in with_readings {
        out.push_str(
            &s.get(&format!("/v1/indicators/{id}/readings"))
                .text()
                .unwrap(),
        );
        out.push_str(
            &s.get(&format!("/v1/indicators/{id}/readings/2023-06/revisions"))
                .text()
                .unwrap(),
        );
    }
    out
}

#[test]
fn a_2024_plan_beside_2023_leaves_every_byte_of_2023_as_it_was() {
    let s = TestServer::start();
    s.submit("tax-revenue", "2023-06", 40000.0);
    s.submit("tech-sme-registered", "2023-06", 63.0);
    s.submit("tech-sme-registered", "2023-06", 64.0);
    let before = export_2023(&s, &["tax-revenue", "tech-sme-registered"]);
    let def_before = s.get_json("/v1/indicators/tax-revenue");
    assert_eq!(def_before["name_en"], "Tax revenue");

    // The 2024 sheet names two indicators the county has (one by name, one by id) with
    // new targets and a new lead unit, adds one, and says nothing of co-units, English
    // names or other places in the document.
    let sheet = "指标代码,指标名称,单位,年度目标,目标类型,指标类型,报送频率,牵头单位,所属板块,出处\n\
                 ,税收收入,万元,80000,≥,累计,月,县税务局,经济增长主动仗,税收收入8亿元以上\n\
                 tech-sme-registered,科技型中小企业入库,家,170,以上,累计,季,县科技局,科技创新攻坚仗,科技型中小企业入库170家以上\n\
                 ,数字经济核心产业增加值增长,%,12,以上,增速,季,县发改局,经济增长主动仗,数字经济核心产业增加值增长12%以上\n";
    let q = "/v1/plans/import?region=桃江县&year=2024&document=桃江县2024年经济社会发展主要目标分解方案";
    let (st, dry) = json_of(post(
        &s,
        &format!("{q}&dry_run=true"),
        "text/csv",
        sheet.as_bytes().to_vec(),
    ));
    assert_eq!(st, 200, "{dry}");
    let actions: Vec<&str> = dry["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["add_target", "add_target", "create"]);
    assert_eq!(
        dry["rows"][0]["indicator"], "tax-revenue",
        "matched by its name"
    );
    let (st, a) = json_of(post(&s, q, "text/csv", sheet.as_bytes().to_vec()));
    assert_eq!(st, 201, "{a}");
    assert_eq!(a["plan"]["id"], "taojiang-2024");

    // 2023 is exactly as it was.
    let after = export_2023(&s, &["tax-revenue", "tech-sme-registered"]);
    if after != before {
        let at = before
            .char_indices()
            .zip(after.chars())
            .find(|((_, a), b)| a != b)
            .map_or(before.len().min(after.len()), |((i, _), _)| i);
        let from = before[..at]
            .char_indices()
            .rev()
            .nth(200)
            .map_or(0, |(i, _)| i);
        panic!(
            "the 2023 export changed at byte {at}:\nbefore: {}\nafter:  {}",
            &before[from..(at + 200).min(before.len())],
            &after[from..(at + 200).min(after.len())]
        );
    }

    // 2024 has its own targets, units and groups.
    let p24 = s.get_json("/v1/plans/taojiang-2024");
    let rows = p24["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let tax = rows
        .iter()
        .find(|r| r["indicator"] == "tax-revenue")
        .unwrap();
    assert_eq!(tax["lead_units"], json!(["县税务局"]));
    assert_eq!(tax["target"]["value"], 80000.0);
    assert_eq!(
        p24["groups"][0]["key"], "growth",
        "the six battles keep their keys"
    );
    // The lasting definition keeps what the sheet did not say.
    let def = s.get_json("/v1/indicators/tax-revenue");
    assert_eq!(def["name_en"], def_before["name_en"]);
    assert_eq!(def["target_years"], json!([2023, 2024]));

    // The plan of a reading's year decides who may write it: the new lead unit writes
    // 2024, not 2023; the 2023 lead units still write 2023.
    let old_units: Vec<String> = def_before["lead_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    let swj = s.submitter("swj", &["县税务局"]);
    let put = |secret: &str, period: &str, value: f64| {
        s.client
            .put(s.url(&format!("/v1/indicators/tax-revenue/readings/{period}")))
            .bearer_auth(secret)
            .json(&json!({ "value": value }))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    if !old_units.iter().any(|u| u == "县税务局") {
        assert_eq!(put(&swj, "2023-07", 45000.0), 403);
    }
    assert_eq!(put(&swj, "2024-01", 7000.0), 201);
    let old = s.submitter("old", &[old_units[0].as_str()]);
    assert_eq!(put(&old, "2023-07", 45000.0), 201);
    assert_eq!(
        put(&old, "2024-02", 14000.0),
        403,
        "2024's plan names another lead unit"
    );
}

#[test]
fn a_sheet_with_three_bad_rows_is_refused_whole_naming_each_row_and_column_in_chinese() {
    let s = TestServer::start();
    let csv = std::fs::read(fixture("bad-rows.csv")).unwrap();
    let q = "/v1/plans/import?region=临湘市&year=2024&document=临湘市指标&parent=岳阳市";
    for dry in ["&dry_run=true", ""] {
        let (st, a) = json_of(post(&s, &format!("{q}{dry}"), "text/csv", csv.clone()));
        assert_eq!(st, 400, "{a}");
        assert!(a["detail"].as_str().unwrap().contains("3处错误"), "{a}");
        let errors = a["errors"].as_array().unwrap();
        let got: Vec<(u64, &str)> = errors
            .iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [(3, "年度目标"), (5, "指标类型"), (6, "牵头单位")],
            "{a}"
        );
        for e in errors {
            let m = e["message"].as_str().unwrap();
            assert!(
                m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{m}"
            );
        }
        assert!(errors[0]["message"].as_str().unwrap().contains("约八"));
        assert!(errors[1]["message"].as_str().unwrap().contains("百分比"));
    }
    // Nothing of it was written: no plan, no region.
    assert_eq!(s.get_json("/v1/plans")["count"], 1);
    assert_eq!(s.get("/v1/plans/linxiang-2024").status(), 404);
    let regions = s.get("/v1/regions").text().unwrap();
    assert!(!regions.contains("临湘市"));
}

#[test]
fn a_definition_read_by_get_goes_back_by_put_and_a_changed_computed_field_is_named() {
    let s = TestServer::start();
    let put = |body: &Value| {
        let r = s
            .client
            .put(s.url("/v1/indicators/gdp-growth"))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .unwrap();
        json_of(r)
    };
    let got = s.get_json("/v1/indicators/gdp-growth");
    assert_eq!(got["plan"], "taojiang-2023");
    assert_eq!(got["group_name"], "经济增长主动仗");
    assert_eq!(got["target"]["position"], 1);
    let (st, a) = put(&got);
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["outcome"], "unchanged", "{a}");
    assert_eq!(s.get_json("/v1/indicators/gdp-growth"), got);
    for (field, value) in [
        ("group_name", json!("科技创新攻坚仗")),
        ("plan", json!("taojiang-2024")),
        ("target_years", json!([2022])),
    ] {
        let mut body = got.clone();
        body[field] = value;
        let (st, a) = put(&body);
        assert_eq!(st, 400, "{field}: {a}");
        assert_eq!(a["field"], field, "{a}");
    }
    let mut body = got.clone();
    body["target"]["plan"] = json!("other-2023");
    let (st, a) = put(&body);
    assert_eq!((st, a["field"].as_str()), (400, Some("target.plan")), "{a}");
    // The plan's own record round-trips too.
    let plan = s.get_json("/v1/plans/taojiang-2023");
    let r = s
        .client
        .put(s.url("/v1/plans/taojiang-2023"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&plan)
        .send()
        .unwrap();
    let (st, a) = json_of(r);
    assert_eq!(st, 200, "{a}");
    assert_eq!(a, plan);
}

#[test]
fn the_blank_sheet_and_next_years_draft_read_back_through_the_import() {
    use zhibiao::ingest::plan_sheet::{read_plan, SheetFormat};
    let s = TestServer::start();
    let read = |bytes: &[u8]| {
        read_plan(
            SheetFormat::Xlsx,
            bytes,
            &zhibiao::ingest::Limits::DEFAULT,
            &zhibiao::ingest::Cancel::new(),
        )
        .unwrap()
    };
    let r = s.get("/v1/templates/plan.xlsx");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], XLSX);
    let blank = read(&r.bytes().unwrap());
    assert!(blank.rows.is_empty() && blank.errors.is_empty());

    s.submit("tech-sme-registered", "2023-06", 63.0);
    let r = s
        .client
        .get(s.url("/v1/plans/taojiang-2023/draft.xlsx?year=2024"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let draft = read(&r.bytes().unwrap());
    assert_eq!(draft.facts.year, Some(2024));
    assert_eq!(draft.facts.region.as_deref(), Some("桃江县"));
    assert_eq!(draft.facts.groups.len(), 6);
    assert_eq!(draft.rows.len(), 203);
    assert!(
        draft.rows.iter().all(|r| r.value.is_none()),
        "年度目标 left empty"
    );
    assert_eq!(
        draft.rows[0].id.as_deref(),
        Some("gdp-growth"),
        "the document's order"
    );
    // Imported as it is, every empty target is named.
    let (st, a) = json_of(
        s.client
            .get(s.url("/v1/plans/taojiang-2023/draft.xlsx?year=2023"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .unwrap(),
    );
    assert_eq!((st, a["field"].as_str()), (400, Some("year")), "{a}");
}

/// The plan sheet carries what the methodology reads: a list's parts (分项), the
/// plan's schedule (进度安排), a growth rate's base (基数指标, a row of the same sheet
/// named by its name) or last year's shares (上年累计占比), and per-period duties. A
/// bad cell is refused in Chinese, naming its row and column, and writes nothing.
#[test]
fn a_sheet_sets_parts_schedules_bases_and_duties() {
    let s = TestServer::start();
    let q = "/v1/plans/import?region=临湘市&year=2024&document=临湘市指标&parent=岳阳市";
    let sheet = "指标代码,指标名称,单位,年度目标,指标类型,报送频率,牵头单位,分项,进度安排,基数指标,上年累计占比,每期要求\n\
        lx-projects,重点项目开工,个,66,清单,季,县发改局,其中：产业类项目38个、政府类项目28个,20%、50%、80%、100%,,,\n\
        lx-revenue,一般公共预算收入,亿元,12,累计,月,县财政局,,,,,\n\
        lx-revenue-growth,一般公共预算收入增长,%,9,增速,月,县财政局,,,一般公共预算收入,,\n\
        lx-investment-growth,固定资产投资增长,%,10,增速,月,县发改局,,,,\"0.04,0.1,0.2,0.28,0.36,0.45,0.53,0.61,0.7,0.79,0.88,1\",\n\
        lx-safety,专题研究安全生产,次,4,累计,季,县应急管理局,,,,,每季度1—2次\n";
    let (st, a) = json_of(post(&s, q, "text/csv", sheet.as_bytes().to_vec()));
    assert_eq!(st, 201, "{a}");

    let projects = s.get_json("/v1/indicators/lx-projects");
    assert_eq!(
        projects["target"]["parts"],
        json!([{"name": "产业类项目", "value": 38.0}, {"name": "政府类项目", "value": 28.0}]),
        "{projects}"
    );
    // Four quarter ends, the months between on a straight line.
    let profile = projects["profile"].as_array().unwrap();
    assert_eq!(profile.len(), 12);
    assert!((profile[2].as_f64().unwrap() - 0.2).abs() < 1e-9);
    assert!((profile[3].as_f64().unwrap() - 0.3).abs() < 1e-9);
    assert!((profile[5].as_f64().unwrap() - 0.5).abs() < 1e-9);
    let growth = s.get_json("/v1/indicators/lx-revenue-growth");
    assert_eq!(growth["base_indicator"], "lx-revenue", "{growth}");
    let investment = s.get_json("/v1/indicators/lx-investment-growth");
    assert_eq!(investment["base_shares"].as_array().unwrap().len(), 12);
    let safety = s.get_json("/v1/indicators/lx-safety");
    assert_eq!(
        safety["target"]["duty"],
        json!({"per": "quarterly", "min": 1.0, "max": 2.0}),
        "{safety}"
    );

    // The base weights the catch-up: last year's revenue was 58% in by June.
    for (id, period, v) in [
        ("lx-revenue", "2023-06", 5.8),
        ("lx-revenue", "2023-12", 10.0),
        ("lx-revenue-growth", "2024-06", 5.0),
    ] {
        let r = s.put_reading(id, period, json!({ "value": v }));
        assert!(r.status().is_success(), "{id} {period}: {}", r.status());
    }
    let a = s.attainment("lx-revenue-growth", "2024-06");
    assert_eq!(a["catch_up_method"], "base_weighted", "{a}");
    assert_eq!(a["required_rest_of_year"], 14.5238095238, "{a}");

    // Bad cells: parts over the list, a base that is not an amount, a schedule on a
    // rate, a schedule that falls back.
    let bad = "指标代码,指标名称,单位,年度目标,指标类型,报送频率,牵头单位,分项,进度安排,基数指标\n\
        lx2-projects,重点项目开工,个,10,清单,季,县发改局,产业类8个、政府类6个,,\n\
        lx2-a,税收增长,%,8,增速,月,县财政局,,,城镇化率\n\
        lx2-b,森林覆盖率,%,60,比率,年,县林业局,,\"0.2,0.5,0.8,1\",\n\
        lx2-c,城镇化率,%,60,比率,年,县统计局,,,\n\
        lx2-d,新开工项目,个,20,清单,季,县发改局,,\"0.5,0.4,0.8,1\",\n";
    let q2 = "/v1/plans/import?region=临湘市&year=2025&document=临湘市指标";
    let (st, a) = json_of(post(&s, q2, "text/csv", bad.as_bytes().to_vec()));
    assert_eq!(st, 400, "{a}");
    let got: Vec<(u64, &str)> = a["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "分项"),
            (3, "基数指标"),
            (4, "进度安排"),
            (6, "进度安排")
        ],
        "{a}"
    );
    let text = a.to_string();
    assert!(text.contains("合计14，超过年度目标10"), "{text}");
    assert!(text.contains("累计占比不能比前一期小"), "{text}");
    assert!(text.contains("只用于累计、清单和增速指标"), "{text}");
    assert!(text.contains("基数应为本地区的累计或存量指标"), "{text}");
    assert_eq!(s.get("/v1/plans/linxiang-2025").status(), 404);
}

/// `PUT /v1/indicators/{id}` takes a growth rate's base under the catalogue's rule (a
/// cumulative or level amount of the same region) and refuses any other, naming
/// `base_indicator`; a target's parts and duty go back by PUT as GET shows them.
#[test]
fn put_checks_a_base_and_round_trips_parts_and_duties() {
    let s = TestServer::start();
    let put = |id: &str, body: &Value| {
        let r = s
            .client
            .put(s.url(&format!("/v1/indicators/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .unwrap();
        json_of(r)
    };
    let growth = s.get_json("/v1/indicators/general-budget-revenue-growth");
    for (base, why) in [
        ("no-such-indicator", "no indicator 'no-such-indicator'"),
        ("gdp-growth", "a base is a cumulative or level indicator"),
        ("general-budget-revenue-growth", "its own base"),
    ] {
        let mut body = growth.clone();
        body["base_indicator"] = json!(base);
        let (st, a) = put("general-budget-revenue-growth", &body);
        assert_eq!(
            (st, a["field"].as_str()),
            (400, Some("base_indicator")),
            "{a}"
        );
        assert!(a["detail"].as_str().unwrap().contains(why), "{base}: {a}");
    }
    assert_eq!(
        s.get_json("/v1/indicators/general-budget-revenue-growth"),
        growth,
        "a refused PUT writes nothing"
    );
    let mut body = growth.clone();
    body["base_indicator"] = json!("new-urban-jobs");
    let (st, a) = put("general-budget-revenue-growth", &body);
    assert_eq!(st, 200, "{a}");
    assert_eq!(
        s.get_json("/v1/indicators/general-budget-revenue-growth")["base_indicator"],
        "new-urban-jobs"
    );

    for id in [
        "county-key-projects-first-batch",
        "government-business-exchange-events-per-quarter",
    ] {
        let got = s.get_json(&format!("/v1/indicators/{id}"));
        assert!(
            got["target"]["parts"].is_array() || got["target"]["duty"].is_object(),
            "{got}"
        );
        let (st, a) = put(id, &got);
        assert_eq!((st, &a["outcome"]), (200, &json!("unchanged")), "{a}");
        assert_eq!(s.get_json(&format!("/v1/indicators/{id}")), got);
    }
}
