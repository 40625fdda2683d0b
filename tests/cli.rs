//! The `zhibiao` command line, run as a user would: `submit` against a running server,
//! then `attainment`, `report` and `import` on the store once the server has stopped.
//! stdout and stderr are pipes here, so the table must come out without colours.

mod common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_zhibiao");
const ADMIN_TOKEN: &str = "cli-test-admin-token-0123456789";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/readings-2023.csv"
);
/// Cumulative, quarterly, 150 家, led by 县科工局.
const SME: &str = "tech-sme-registered";

/// A `zhibiao serve` process on port 0 over a store in a temporary directory.
struct Server {
    base: String,
    client: Client,
    process: common::ServerProcess,
    db: PathBuf,
    tmp: Option<tempfile::TempDir>,
}

impl Server {
    fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = tmp.path().join("db");
        let process = common::ServerProcess::start(&db, ADMIN_TOKEN, &[]);
        Server {
            base: process.base.clone(),
            client: common::client(Duration::from_secs(30)),
            process,
            db,
            tmp: Some(tmp),
        }
    }

    fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .expect("GET")
    }

    fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    /// `zhibiao submit … --url <this server>` with `ZHIBIAO_TOKEN` set to `token`.
    fn submit(&self, token: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("submit")
            .args(args)
            .args(["--url", &self.base])
            .env("ZHIBIAO_TOKEN", token)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run zhibiao submit")
    }

    /// SIGTERM, and waits until the process has exited (and released the store).
    fn stop(mut self) -> (PathBuf, tempfile::TempDir) {
        // Killed if it does not stop in time; the store is released either way.
        let _ = self.process.terminate(Duration::from_secs(20));
        (self.db.clone(), self.tmp.take().unwrap())
    }
}

/// Runs `zhibiao <args>` on a stopped store; colours are left to the pipe alone.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("NO_COLOR")
        .output()
        .expect("run zhibiao")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

fn assert_exit_1(o: &Output, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// A reading as the API shows it, or the HTTP status when there is none.
fn reading(s: &Server, id: &str, period: &str) -> Result<Value, u16> {
    let r = s.get(&format!("/v1/indicators/{id}/readings/{period}"));
    match r.status().as_u16() {
        200 => Ok(r.json().unwrap()),
        code => Err(code),
    }
}

/// The data rows of a CSV file (header and blank lines left out).
fn csv_rows(path: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// A server with the fixture year submitted through the CLI.
fn fixture_server() -> Server {
    let s = Server::start();
    let o = s.submit(ADMIN_TOKEN, &["--csv", FIXTURE]);
    assert_ok(&o, "submit --csv fixture");
    s
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ── submit ───────────────────────────────────────────────────────────────

#[test]
fn submit_creates_then_replaces_a_reading_that_reads_back_over_http() {
    // The bureau's scripts call `zhibiao submit`; its words and exit code are their API.
    let s = Server::start();
    let o = s.submit(ADMIN_TOKEN, &[SME, "2023-06", "63"]);
    assert_ok(&o, "first submit");
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("新增 {SME} 2023-06 = 63（第1版）")),
        "{out}"
    );
    assert_eq!(reading(&s, SME, "2023-06").unwrap()["value"], 63.0);

    let o = s.submit(ADMIN_TOKEN, &[SME, "2023-06", "64"]);
    assert_ok(&o, "second submit");
    assert!(stdout(&o).starts_with("更新 "), "{}", stdout(&o));
    // English on request: the words scripts written against it read.
    let o = s.submit(ADMIN_TOKEN, &[SME, "2023-06", "64", "--lang", "en"]);
    assert_ok(&o, "submit --lang en");
    assert!(stdout(&o).starts_with("unchanged "), "{}", stdout(&o));
    assert_eq!(reading(&s, SME, "2023-06").unwrap()["value"], 64.0);

    let o = s.submit(ADMIN_TOKEN, &[SME, "2023-06", "65", "--json"]);
    assert_ok(&o, "submit --json");
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    assert_eq!(v["outcome"], "replaced", "{v}");
    assert_eq!(v["indicator"], SME);
    assert_eq!(v["period"], "2023-06");
    assert_eq!(v["value"], 65.0);
    assert_eq!(reading(&s, SME, "2023-06").unwrap()["value"], 65.0);
}

#[test]
fn submit_with_a_wrong_token_exits_1_naming_401_and_writes_nothing() {
    // A mistyped token must fail loudly, not look like success.
    let s = Server::start();
    let o = s.submit("not-the-right-token-0123456789", &[SME, "2023-06", "63"]);
    assert_exit_1(&o, "wrong token");
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert_eq!(reading(&s, SME, "2023-06"), Err(404));
}

#[test]
fn submit_of_an_unknown_indicator_exits_1_with_the_servers_detail() {
    // The server knows why; the CLI must pass that on rather than a bare status.
    let s = Server::start();
    let detail = s
        .client
        .put(format!(
            "{}/v1/indicators/no-such-indicator/readings/2023-06",
            s.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"value": 1}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    let o = s.submit(ADMIN_TOKEN, &["no-such-indicator", "2023-06", "1"]);
    assert_exit_1(&o, "unknown indicator");
    let err = stderr(&o);
    assert!(err.contains("404"), "{err}");
    assert!(err.contains(&detail), "want {detail:?} in {err}");
    assert!(err.contains("没有编号为“no-such-indicator”的指标"), "{err}");
    // With --lang en the server is asked for its English.
    let o = s.submit(
        ADMIN_TOKEN,
        &["no-such-indicator", "2023-06", "1", "--lang", "en"],
    );
    assert_exit_1(&o, "unknown indicator, in English");
    assert!(
        stderr(&o).contains("no indicator 'no-such-indicator'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn submit_csv_sends_the_fixture_as_one_batch() {
    // A year of readings in one go: every data row is created, and they read back.
    let s = Server::start();
    let o = s.submit(ADMIN_TOKEN, &["--csv", FIXTURE]);
    assert_ok(&o, "submit --csv");
    let n = csv_rows(FIXTURE);
    assert_eq!(n, 688);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("新增{n}条，更新0条，未变0条，跳过0行，退回0行")),
        "{out}"
    );
    // First data row of the fixture.
    assert_eq!(reading(&s, "gdp-growth", "2023-03").unwrap()["value"], 8.45);
}

#[test]
fn a_csv_with_one_bad_row_is_refused_whole_and_the_row_is_named() {
    // A batch is atomic: one bad row must leave the store untouched and say which row.
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(
        &file,
        "indicator,period,value\n\
         gdp-growth,2023-03,8.1\n\
         tech-sme-registered,2023-03,abc\n\
         tech-sme-registered,2023-06,60\n",
    )
    .unwrap();
    let o = s.submit(ADMIN_TOKEN, &["--csv", path_str(&file)]);
    assert_exit_1(&o, "bad CSV");
    let err = stderr(&o);
    assert!(err.contains("第3行（value）"), "{err}");
    assert!(err.contains("“abc”不是数字"), "{err}");
    assert!(!err.contains("第2行"), "a good row listed: {err}");
    assert_eq!(reading(&s, "gdp-growth", "2023-03"), Err(404));
    assert_eq!(reading(&s, SME, "2023-06"), Err(404));
}

// ── offline commands on a stopped store ──────────────────────────────────

#[test]
fn attainment_on_the_stopped_store_matches_the_api() {
    // The CLI reads the same store the server wrote; its figures must be the API's.
    let s = fixture_server();
    let api = s.get_json("/v1/attainment?as_of=2023-06");
    let api_innovation = s.get_json("/v1/attainment?as_of=2023-06&battle=innovation");

    // sled locks the store: while the server runs, the CLI must say so.
    let o = run(&["attainment", "--db", path_str(&s.db), "--as-of", "2023-06"]);
    assert_exit_1(&o, "attainment while serving");
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));

    let (db, _tmp) = s.stop();
    let db = path_str(&db);
    let o = run(&["attainment", "--db", db, "--as-of", "2023-06", "--json"]);
    assert_ok(&o, "attainment --json");
    let cli: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(cli["as_of"], "2023-06");
    assert_eq!(cli["count"], 203);
    assert_eq!(
        cli["attainment"], api["attainment"],
        "rows differ from the API"
    );

    let o = run(&[
        "attainment",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--battle",
        "innovation",
        "--json",
    ]);
    assert_ok(&o, "attainment --battle --json");
    let cli: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(cli["attainment"], api_innovation["attainment"]);

    // The table: Chinese headers, one line per indicator, no colour codes in a pipe.
    let o = run(&["attainment", "--db", db, "--as-of", "2023-06"]);
    assert_ok(&o, "attainment table");
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}'), "ANSI escapes in piped output");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "as_of 2023-06  (203 indicators)");
    let head: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        head,
        ["指标", "实际", "目标", "完成率", "序时", "状态", "牵头单位"]
    );
    assert_eq!(lines.len(), 2 + 203);
    let sme = api["attainment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["indicator"] == SME)
        .unwrap();
    let row = lines
        .iter()
        .find(|l| l.starts_with(sme["name"].as_str().unwrap()))
        .expect("a row for the SME indicator");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "科技型中小企业入库",
            "72",
            "150",
            "48.0%",
            "50.0%",
            sme["status_label"].as_str().unwrap(),
            "县科工局"
        ]
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn report_on_the_stopped_store_prints_the_servers_bulletin() {
    // `zhibiao report` is the offline twin of /v1/reports: same board, same bytes.
    let s = fixture_server();
    let http_md = s
        .get("/v1/reports/monthly?as_of=2023-06&format=md&date=2023-07-12")
        .text()
        .unwrap();
    let http_docx = s
        .get("/v1/reports/monthly?as_of=2023-06&format=docx&date=2023-07-12")
        .bytes()
        .unwrap()
        .to_vec();
    let (db, tmp) = s.stop();
    let db = path_str(&db);

    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--format",
        "md",
        "--date",
        "2023-07-12",
    ]);
    assert_ok(&o, "report md");
    assert_eq!(stdout(&o), http_md);

    // Binary formats may go to a pipe (not to a terminal).
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--format",
        "docx",
        "--date",
        "2023-07-12",
    ]);
    assert_ok(&o, "report docx to a pipe");
    let piped = o.stdout;
    assert!(piped.starts_with(b"PK\x03\x04"), "not a zip");
    let mut zip = zip::ZipArchive::new(Cursor::new(piped.clone())).expect("a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml")
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("科技创新攻坚仗"));
    assert_eq!(piped, http_docx, "CLI and HTTP docx differ");

    let file = tmp.path().join("june.docx");
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--format",
        "docx",
        "--date",
        "2023-07-12",
        "--out",
        path_str(&file),
    ]);
    assert_ok(&o, "report docx --out");
    assert!(o.stdout.is_empty(), "--out leaves stdout alone");
    assert!(
        stderr(&o).contains("桃江县2023年6月重点指标监测通报.docx"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&file).unwrap(), piped);
}

#[test]
fn report_issues_the_bulletin_as_the_regions_settings_say() {
    // The settings the API stored are the CLI's too: the same head, 文号 and 落款.
    let s = fixture_server();
    let r = s
        .client
        .put(format!("{}/v1/regions/桃江县/settings", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局办公室"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let http_md = s
        .get("/v1/reports/monthly?as_of=2023-06&format=md&date=2023-07-12")
        .text()
        .unwrap();
    let (db, tmp) = s.stop();
    let db = path_str(&db);
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--format",
        "md",
        "--date",
        "2023-07-12",
    ]);
    assert_ok(&o, "report md");
    let md = stdout(&o);
    assert_eq!(md, http_md);
    assert!(
        md.starts_with("**桃江县统计局**\n\n桃统通〔2023〕6号　　2023年7月12日\n"),
        "{md}"
    );
    assert!(
        md.ends_with("\n桃江县统计局办公室  \n2023年7月12日\n"),
        "{md}"
    );

    // --out a directory: the file under the bulletin's title.
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--format",
        "docx",
        "--date",
        "2023-07-12",
        "--out",
        path_str(&dir),
        "--json",
    ]);
    assert_ok(&o, "report --out DIR");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["file_name"], "桃江县2023年6月重点指标监测通报.docx");
    assert_eq!(v["date"], "2023-07-12");
    let file = dir.join("桃江县2023年6月重点指标监测通报.docx");
    assert_eq!(v["path"], path_str(&file));
    let mut zip = zip::ZipArchive::new(Cursor::new(std::fs::read(&file).unwrap())).unwrap();
    let mut core = String::new();
    zip.by_name("docProps/core.xml")
        .unwrap()
        .read_to_string(&mut core)
        .unwrap();
    assert!(
        core.contains("<dc:creator>桃江县统计局</dc:creator>"),
        "{core}"
    );

    // A date that is not one, or a zone that is not one, is refused.
    // (A value clap cannot parse is a usage error: exit status 2.)
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--date",
        "2023-02-30",
    ]);
    assert_eq!(o.status.code(), Some(2), "a bad --date");
    assert!(stderr(&o).contains("--date"), "{}", stderr(&o));
    let o = run(&[
        "report",
        "--db",
        db,
        "--as-of",
        "2023-06",
        "--tz",
        "Mars/Olympus",
    ]);
    assert_exit_1(&o, "a bad --tz");
    assert!(stderr(&o).contains("--tz"), "{}", stderr(&o));
}

#[test]
fn the_june_bulletin_of_the_fixture_store_asks_only_for_figures_past_due() {
    // Not due is not missing: on the June reporting date (2023-07-11) the quarterly
    // Q2 figures are due on 7-15 and the annual ones next year, so the bulletin's
    // 逾期未报 lists name only figures whose due date has passed.
    let s = fixture_server();
    // The fixture year is complete; one monthly June figure withdrawn is past due
    // (its May figure still stands, so it is not 暂无数据, but June is missing).
    let r = s
        .client
        .delete(format!(
            "{}/v1/indicators/retail-sales-growth/readings/2023-06?reason=sent%20too%20early",
            s.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text());
    let md = s
        .get("/v1/reports/monthly?as_of=2023-06&format=md")
        .text()
        .unwrap();
    let rows: Value = s.get("/v1/attainment?as_of=2023-06").json().unwrap();
    let rows = rows["attainment"].as_array().unwrap();
    let state_of = |name: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["name"] == name)
            .map(|r| r["reporting"]["state"].as_str().unwrap().to_string())
            .collect()
    };
    let mut listed = Vec::new();
    let mut in_list = false;
    for line in md.lines() {
        if line.starts_with("**") {
            in_list = line.starts_with("**逾期未报（");
            continue;
        }
        if in_list {
            if let Some((_, rest)) = line.split_once(". ") {
                let name = rest.split('（').next().unwrap().to_string();
                listed.push(name);
            }
        }
    }
    assert!(!md.contains("暂无数据（"), "the old catch-all list is gone");
    for name in &listed {
        assert_eq!(
            state_of(name),
            vec!["overdue"],
            "{name} is listed as past due"
        );
    }
    let overdue = rows
        .iter()
        .filter(|r| r["reporting"]["state"] == "overdue")
        .count();
    let not_due = rows
        .iter()
        .filter(|r| r["status"] == "no_data" && r["reporting"]["state"] == "not_due")
        .count();
    assert_eq!(listed.len(), overdue, "{md}");
    assert!(
        not_due > 0,
        "the fixture year has figures not yet due in June"
    );
    assert!(listed.iter().any(|n| n == "社会消费品零售总额增长"), "{md}");
}

#[test]
fn offline_commands_refuse_bad_input_with_a_message() {
    // Errors on the command line say what was wrong and leave the store as it was.
    let s = fixture_server();
    let (db, tmp) = s.stop();
    let db = path_str(&db);

    let o = run(&[
        "report",
        "--db",
        db,
        "--kind",
        "quarterly",
        "--as-of",
        "2023-05",
    ]);
    assert_exit_1(&o, "quarterly at May");
    assert!(stderr(&o).contains("2023-05"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"
[catalogue]
region = "测试县"
document = "测试方案"
year = 2023

[[unit]]
name = "县统计局"

[[indicator]]
id = "bad-battle-entry"
name = "坏指标"
battle = "nowhere"
kind = "cumulative"
unit = "个"
direction = "up"
frequency = "monthly"
lead_units = ["县统计局"]
source = { section = "测试", quote = "测试" }
[indicator.target]
value = 3
comparator = "at_least"
"#,
    )
    .unwrap();
    let o = run(&["import", path_str(&bad), "--db", db]);
    assert_exit_1(&o, "bad catalogue");
    let err = stderr(&o);
    assert!(err.contains("bad-battle-entry"), "{err}");
    assert!(err.contains("nowhere"), "{err}");

    // The store still holds the built-in catalogue and nothing of the bad file.
    let o = run(&["attainment", "--db", db, "--as-of", "2023-06", "--json"]);
    assert_ok(&o, "attainment after a failed import");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["count"], 203);
    assert!(v["attainment"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["indicator"] != "bad-battle-entry"));
}

// ── plans ────────────────────────────────────────────────────────────────

fn linxiang(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan-linxiang-2024")
        .join(name)
}

#[test]
fn a_county_starts_from_its_own_sheet_tried_first_then_drafts_next_year() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let db = path_str(&db);
    let book = linxiang("zhibiaoku.xlsx");

    // Tried first: row by row, in Chinese, and nothing written.
    let o = run(&["import", path_str(&book), "--db", db, "--dry-run"]);
    assert_ok(&o, "import --dry-run");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("试导入（未写入）方案 linxiang-2024"), "{out}");
    assert!(out.contains("新建指标30个"), "{out}");
    assert!(
        out.contains("地区生产总值增长") && out.contains("（生成）"),
        "{out}"
    );
    assert!(out.contains("新登记的地区：岳阳市、临湘市"), "{out}");
    let o = run(&["plan", "list", "--db", db, "--json"]);
    assert_ok(&o, "plan list");
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap(),
        serde_json::json!([])
    );

    let o = run(&["import", path_str(&book), "--db", db]);
    assert_ok(&o, "import");
    assert!(String::from_utf8_lossy(&o.stdout).contains("已导入方案 linxiang-2024"));
    let o = run(&["plan", "list", "--db", db]);
    assert_ok(&o, "plan list");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("linxiang-2024") && out.contains("临湘市") && out.contains("30"),
        "{out}"
    );

    // The attainment table follows the plan's order.
    let o = run(&["attainment", "--db", db, "--as-of", "2024-03", "--json"]);
    assert_ok(&o, "attainment");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["attainment"][0]["name"], "地区生产总值增长");

    // Next year's sheet, and a blank one; neither overwrites a file.
    let draft = tmp.path().join("draft.xlsx");
    let o = run(&[
        "plan",
        "draft",
        "--from",
        "2024",
        "--year",
        "2025",
        "--db",
        db,
        "-o",
        path_str(&draft),
    ]);
    assert_ok(&o, "plan draft");
    assert!(String::from_utf8_lossy(&o.stdout).contains("30个指标"));
    let o = run(&["import", path_str(&draft), "--db", db, "--dry-run"]);
    assert_exit_1(&o, "a draft not filled in");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(out.matches("“年度目标”：年度目标为空").count(), 30, "{out}");
    let blank = tmp.path().join("blank.xlsx");
    assert_ok(
        &run(&["template", "plan", "-o", path_str(&blank)]),
        "template plan",
    );
    let o = run(&["template", "plan", "-o", path_str(&blank)]);
    assert_exit_1(&o, "a second template to the same path");
    assert!(stderr(&o).contains("不会被覆盖"), "{}", stderr(&o));
}

#[test]
fn a_sheet_with_bad_rows_is_refused_naming_each_row_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let o = run(&[
        "import",
        path_str(&linxiang("bad-rows.csv")),
        "--db",
        path_str(&db),
        "--region",
        "临湘市",
        "--year",
        "2024",
        "--document",
        "临湘市主要指标",
    ]);
    assert_exit_1(&o, "bad rows");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for want in ["第3行“年度目标”", "第5行“指标类型”", "第6行“牵头单位”"]
    {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        stderr(&o).contains("共3处错误，未导入任何内容"),
        "{}",
        stderr(&o)
    );
}
