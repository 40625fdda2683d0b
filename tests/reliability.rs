//! Reliability: a backup restores to a store that backs up to the same bytes; a
//! restore refuses what it cannot take whole and leaves nothing behind; a restored
//! store serves what the backup held and nothing else; a backup changed after it was
//! written (a token's role, a duplicated audit row) is refused, by its digest or, for
//! a keyed backup, its HMAC, and a backup of every older version still restores
//! (`tests/fixtures/backup-v1.jsonl`); and a store written by an
//! earlier build (`tests/fixtures/store-v1`, see `tests/fixtures/README.md`) keeps
//! opening, checking and serving with this one.
//!
//! Tests named `bug_…` reproduce bugs this suite found; they now guard the fixes.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use zhibiao::domain::{IndicatorId, Period};
use zhibiao::store::{Role, Store, StoreError};

const BIN: &str = env!("CARGO_BIN_EXE_zhibiao");
const ADMIN: &str = "reliability-admin-token-0123456789";
/// A deterministic year of readings for 2023, January to September.
const READINGS_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/readings-2023.csv"
);
/// A store written by the first release of the store format; never rewrite it.
const STORE_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v1");
/// The admin token the fixture store was made with. A test secret, public on purpose.
const STORE_V1_ADMIN: &str = "store-v1-fixture-admin-token-0123456789";
const CACHE: u64 = 64 * 1024 * 1024;

// ── processes ─────────────────────────────────────────────────────────────

// A store this process opens itself is opened and closed under `fork_guard`, and
// children are spawned under it (see `common::fork_guard`).
use common::{fork_guard, spawn};

/// Runs the CLI with no admin token in the environment.
fn run(args: &[&str]) -> Output {
    spawn(
        Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("ZHIBIAO_ADMIN_TOKEN")
            .env_remove("ZHIBIAO_BACKUP_KEY_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .wait_with_output()
    .expect("run zhibiao")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the CLI and insists it succeeded.
fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "zhibiao {}: {}{}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `zhibiao check --db DB --json`, which must pass.
fn check_ok(db: &Path) -> Value {
    let out = run_ok(&["check", "--db", s(db), "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("check --json");
    assert_eq!(report["problem_count"], 0, "{report}");
    report
}

/// `zhibiao backup --db DB --out FILE`, returning the file's bytes.
fn backup(db: &Path, out: &Path) -> Vec<u8> {
    run_ok(&["backup", "--db", s(db), "--out", s(out)]);
    std::fs::read(out).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// The total size of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dir_size(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

/// A `zhibiao serve` on port 0 over `db`.
struct Server {
    base: String,
    client: Client,
    process: common::ServerProcess,
}

impl Server {
    fn start(db: &Path, admin: &str) -> Server {
        let process = common::ServerProcess::start(db, admin, &[]);
        Server {
            base: process.base.clone(),
            client: common::client(Duration::from_secs(60)),
            process,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().expect("GET")
    }

    fn get_json(&self, path: &str) -> Value {
        let r = self.get(path, None);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().expect("JSON")
    }

    fn put(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .expect("PUT")
    }

    /// PUTs a reading and insists it was accepted with `status`.
    fn reading(&self, token: &str, id: &str, period: &str, body: Value, status: u16) -> Value {
        let r = self.put(
            token,
            &format!("/v1/indicators/{id}/readings/{period}"),
            body,
        );
        assert_eq!(r.status().as_u16(), status, "PUT {id} {period}");
        r.json().unwrap()
    }

    fn withdraw(&self, token: &str, id: &str, period: &str, reason: &str) {
        let r = self
            .client
            .delete(self.url(&format!("/v1/indicators/{id}/readings/{period}")))
            .query(&[("reason", reason)])
            .bearer_auth(token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "DELETE {id} {period}");
    }

    fn batch(&self, token: &str, key: Option<&str>, content_type: &str, body: &str) -> Response {
        let mut req = self
            .client
            .post(self.url("/v1/readings"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.send().expect("POST /v1/readings")
    }

    /// Creates a token and returns its secret.
    fn token(&self, name: &str, role: &str, units: &[&str]) -> String {
        let r = self
            .client
            .post(self.url("/v1/tokens"))
            .bearer_auth(ADMIN)
            .json(&json!({"name": name, "role": role, "units": units}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "create token {name}");
        r.json::<Value>().unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// SIGTERM, and wait: the server flushes and closes its store.
    fn stop(mut self) {
        match self.process.terminate(Duration::from_secs(30)) {
            Ok(st) => assert!(st.success(), "serve exited with {st}"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// Runs `zhibiao serve` on a store it must refuse; returns its stderr.
fn serve_refuses(db: &Path) -> String {
    let mut child = spawn(
        Command::new(BIN)
            .args(["serve", "--db", s(db), "--addr", "127.0.0.1:0"])
            .env("ZHIBIAO_ADMIN_TOKEN", STORE_V1_ADMIN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let status = common::wait_exit(&mut child, Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("serve kept running on a store it cannot read"));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "serve accepted the store: {err}");
    err
}

// ── stores to back up ─────────────────────────────────────────────────────

/// Fills a server on a fresh store (the built-in catalogue): the fixture year of
/// readings over HTTP, a revision, a withdrawal, a target change, two tokens, a
/// submitter's write and an idempotent batch.
fn populate(s: &Server) {
    let csv = std::fs::read_to_string(READINGS_CSV).unwrap();
    let rows = csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    let r = s.batch(ADMIN, None, "text/csv; charset=utf-8", &csv);
    assert_eq!(r.status(), 200, "loading the fixture year");
    let a: Value = r.json().unwrap();
    assert_eq!(a["created"], rows, "{}", a["errors"]);
    // A revision, a withdrawal and a target amended mid-year.
    s.reading(
        ADMIN,
        "gdp-growth",
        "2023-06",
        json!({"value": 8.7, "status": "A", "note": "核定"}),
        200,
    );
    s.withdraw(ADMIN, "cpi", "2023-09", "报错期别");
    let r = s.put(
        ADMIN,
        "/v1/indicators/tech-sme-registered/targets/2023",
        json!({"value": 160, "comparator": "at_least"}),
    );
    assert_eq!(r.status(), 200, "target change");
    // How the county's bulletins are issued.
    let r = s.put(
        ADMIN,
        "/v1/regions/桃江县/settings",
        json!({"issuer": "桃江县统计局", "doc_number_prefix": "桃统通", "signature": "桃江县统计局办公室"}),
    );
    assert_eq!(r.status(), 201, "region settings");
    // Tokens, and a write by a submitter.
    let kgj = s.token("kgj", "submitter", &["县科工局"]);
    s.token("reader", "reader", &[]);
    s.reading(
        &kgj,
        "tech-sme-registered",
        "2023-09",
        json!({"value": 110, "status": "P"}),
        200,
    );
    // An idempotent batch, for a year with no target.
    let r = s.batch(
        ADMIN,
        Some("reliability-2022"),
        "text/csv",
        "indicator,period,value\ngdp-growth,2022-12,7.9\n",
    );
    assert_eq!(r.status(), 200);
}

/// The indicators of a small catalogue, instead of the built-in one.
const SMALL_CATALOGUE: &str = r#"
[catalogue]
region = "测试县"
document = "可靠性测试方案"
year = 2023

[[unit]]
name = "县统计局"

[[unit]]
name = "县科工局"

[[indicator]]
id = "alpha-count"
name = "测试累计指标"
battle = "growth"
kind = "cumulative"
unit = "个"
direction = "up"
frequency = "monthly"
lead_units = ["县科工局"]
source = { section = "测试", quote = "测试" }
[indicator.target]
year = 2023
value = 100
comparator = "at_least"

[[indicator]]
id = "beta-rate"
name = "测试增速指标"
battle = "growth"
kind = "rate"
unit = "%"
direction = "up"
frequency = "monthly"
lead_units = ["县科工局"]
source = { section = "测试", quote = "测试" }
[indicator.target]
year = 2023
value = 5
comparator = "about"
"#;

/// A store of [`SMALL_CATALOGUE`] with a few readings, a revision and a withdrawal.
/// Returns the readings and revisions of `alpha-count` as the server answered them.
fn small_store(dir: &Path, db: &Path) -> (Value, Value, Value) {
    let cat = dir.join("small.toml");
    std::fs::write(&cat, SMALL_CATALOGUE).unwrap();
    run_ok(&["import", s(&cat), "--db", s(db)]);
    let srv = Server::start(db, ADMIN);
    srv.reading(ADMIN, "alpha-count", "2023-03", json!({"value": 20}), 201);
    srv.reading(ADMIN, "alpha-count", "2023-06", json!({"value": 45}), 201);
    srv.reading(ADMIN, "alpha-count", "2023-06", json!({"value": 50}), 200);
    srv.reading(ADMIN, "alpha-count", "2023-05", json!({"value": 33}), 201);
    srv.withdraw(ADMIN, "alpha-count", "2023-05", "wrong period");
    srv.reading(ADMIN, "beta-rate", "2023-06", json!({"value": 4.8}), 201);
    let readings = srv.get_json("/v1/indicators/alpha-count/readings");
    let revised = srv.get_json("/v1/indicators/alpha-count/readings/2023-06/revisions");
    let withdrawn = srv.get_json("/v1/indicators/alpha-count/readings/2023-05/revisions");
    srv.stop();
    (readings, revised, withdrawn)
}

/// The largest audit sequence number a backup holds.
fn max_audit_seq(backup: &[u8]) -> u64 {
    text(backup)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "audit")
        .map(|v| v["seq"].as_u64().unwrap())
        .max()
        .expect("audit rows in the backup")
}

/// The record types of a backup, in the order they first appear.
fn record_types(backup: &[u8]) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for l in text(backup).lines().skip(1) {
        let v: Value = serde_json::from_str(l).expect("a JSON line");
        let t = v["type"].as_str().unwrap().to_string();
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types
}

fn seqs(revisions: &Value) -> Vec<u64> {
    revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn strictly_increasing(v: &[u64]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

// ── backup and restore ────────────────────────────────────────────────────

#[test]
fn backup_restore_backup_gives_the_same_bytes_via_the_cli_and_the_http_route() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let srv = Server::start(&a, ADMIN);
    populate(&srv);
    let r = srv.get("/v1/admin/backup", Some(ADMIN));
    assert_eq!(r.status(), 200);
    let http = r.bytes().unwrap().to_vec();
    srv.stop();

    let f1 = backup(&a, &tmp.path().join("f1.jsonl"));
    assert_eq!(
        http, f1,
        "GET /v1/admin/backup differs from `zhibiao backup` of the same store"
    );
    // To standard output: the same bytes again.
    let out = run_ok(&["backup", "--db", s(&a), "--out", "-"]);
    assert!(out.stdout == f1, "`backup --out -` differs from the file");
    // Everything the store holds is in it.
    assert_eq!(
        record_types(&f1),
        [
            "meta",
            "unit",
            "region",
            "region_settings",
            "plan",
            "indicator",
            "target",
            "reading",
            "withdrawn",
            "audit",
            "token",
            "idempotency",
            // The backup route's own download, in the access log.
            "access",
            "end",
            "digest"
        ]
    );

    let out = run_ok(&["restore", s(&tmp.path().join("f1.jsonl")), "--db", s(&b)]);
    assert!(
        text(&out.stdout).starts_with("restored "),
        "{}",
        text(&out.stdout)
    );
    let f2 = backup(&b, &tmp.path().join("f2.jsonl"));
    assert!(f1 == f2, "backup → restore → backup changed the bytes");
    // Both stores check clean and hold the same counts.
    assert_eq!(check_ok(&a), check_ok(&b));
}

#[test]
fn the_backup_route_needs_an_admin_token() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("db"), ADMIN);
    let kgj = srv.token("kgj", "submitter", &["县科工局"]);
    let stats = srv.token("stats", "submitter", &["县统计局"]);
    let reader = srv.token("reader", "reader", &[]);
    for (what, token, status) in [
        ("no token", None, 401),
        ("a wrong token", Some("not-a-token"), 401),
        ("a reader", Some(reader.as_str()), 403),
        ("a submitter", Some(kgj.as_str()), 403),
        // Writing every indicator does not make a submitter an operator.
        ("the bureau's submitter", Some(stats.as_str()), 403),
    ] {
        let r = srv.get("/v1/admin/backup", token);
        assert_eq!(r.status().as_u16(), status, "{what}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let body = r.text().unwrap();
        assert!(
            !body.contains("zhibiao_backup") && !body.contains("\"hash\""),
            "{what} got backup data: {body}"
        );
    }
    let r = srv.get("/v1/admin/backup", Some(ADMIN));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.text().unwrap();
    let header: Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(header["zhibiao_backup"], zhibiao::store::BACKUP_VERSION);
}

#[test]
fn restore_refuses_a_path_that_already_holds_something() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    small_store(tmp.path(), &a);
    let f1 = tmp.path().join("f1.jsonl");
    let before = backup(&a, &f1);

    // Onto the store itself: refused, and the store is untouched.
    let out = run(&["restore", s(&f1), "--db", s(&a)]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert!(backup(&a, &tmp.path().join("again.jsonl")) == before);
    check_ok(&a);

    // Onto a directory holding anything at all: refused, and the file is kept.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    let out = run(&["restore", s(&f1), "--db", s(&other)]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);

    // Onto a file: refused, and the file is kept.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "keep me too").unwrap();
    let out = run(&["restore", s(&f1), "--db", s(&file)]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me too");

    // The library refuses too: a store holding data takes no restore.
    let copy = tmp.path().join("copy");
    copy_dir(&a, &copy);
    let _g = fork_guard();
    let store = Store::open(&copy, CACHE).unwrap();
    let err = store
        .restore(
            std::io::BufReader::new(std::fs::File::open(&f1).unwrap()),
            None,
        )
        .expect_err("restore into a store holding data");
    assert!(err.to_string().contains("empty store"), "{err}");
}

#[test]
fn a_corrupted_backup_is_refused_with_a_clear_message_and_leaves_no_store() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    small_store(tmp.path(), &a);
    let good = backup(&a, &tmp.path().join("good.jsonl"));
    let good_text = text(&good);
    let lines: Vec<&str> = good_text.lines().collect();
    // A cut in the middle of a line halfway through, and one inside the last line.
    let mid_line_start: usize = lines[..lines.len() / 2].iter().map(|l| l.len() + 1).sum();
    let mid = &good[..mid_line_start + lines[lines.len() / 2].len() / 2];
    let last_cut = &good[..good.len() - 5];
    let with_line = |i: usize, line: &str| {
        let mut v: Vec<&str> = lines.clone();
        v.insert(i, line);
        format!("{}\n", v.join("\n")).into_bytes()
    };
    let replace_first = |line: &str| {
        let mut v: Vec<&str> = lines.clone();
        v[0] = line;
        format!("{}\n", v.join("\n")).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated mid-line", mid.to_vec(), "line"),
        ("truncated inside the last line", last_cut.to_vec(), "line"),
        ("an empty file", Vec::new(), "empty"),
        (
            "a header that is not JSON",
            replace_first("zhibiao backup v1"),
            "line 1",
        ),
        (
            "a header of another program",
            replace_first(r#"{"backup": 1, "format": 1}"#),
            "line 1",
        ),
        (
            "a newer backup version",
            replace_first(r#"{"zhibiao_backup": 9, "format": 1}"#),
            "version 9",
        ),
        (
            "no header at all",
            good_text
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            "line 1",
        ),
        (
            "a garbage line in the middle",
            with_line(lines.len() / 2, "this is not JSON"),
            "line",
        ),
        (
            "a record of unknown type",
            with_line(3, r#"{"type": "mystery", "x": 1}"#),
            "line 4",
        ),
        (
            "an audit row with a non-numeric seq",
            with_line(
                lines.len() - 1,
                r#"{"type": "audit", "seq": "x", "at": "2023-01-01T00:00:00Z", "actor": "a", "change": null, "reason": null}"#,
            ),
            "line",
        ),
        (
            "an idempotency record that is not hex",
            with_line(
                lines.len(),
                r#"{"type": "idempotency", "key": "zz", "answer": "00"}"#,
            ),
            "line",
        ),
        (
            "a batch of readings, not a backup",
            b"{\"indicator\": \"gdp-growth\", \"period\": \"2023-06\", \"value\": 8}\n".to_vec(),
            "line 1",
        ),
        (
            "gzip bytes",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe".to_vec(),
            "line 1",
        ),
    ];
    for (what, bytes, mention) in cases {
        let file = tmp.path().join("corrupt.jsonl");
        std::fs::write(&file, &bytes).unwrap();
        let b = tmp.path().join("b");
        let out = run(&["restore", s(&file), "--db", s(&b)]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{what}: restore succeeded");
        assert!(
            err.contains("restore failed") && err.contains(mention),
            "{what}: unclear message {err:?}"
        );
        assert!(
            !text(&out.stdout).contains("restored"),
            "{what}: {}",
            text(&out.stdout)
        );
        assert!(!b.exists(), "{what}: a store was left behind at {b:?}");
    }
    // A file that is not there: nothing is created either.
    let b = tmp.path().join("b");
    let out = run(&[
        "restore",
        s(&tmp.path().join("missing.jsonl")),
        "--db",
        s(&b),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read"));
    assert!(!b.exists());
    // The good file still restores.
    run_ok(&["restore", s(&tmp.path().join("good.jsonl")), "--db", s(&b)]);
    check_ok(&b);
}

#[test]
fn bug_a_backup_cut_at_a_line_boundary_is_refused() {
    // `head -n`, a copy interrupted at a newline, or a disk that filled up: the lines
    // that are there all parse, so the restore reports success with data missing.
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    small_store(tmp.path(), &a);
    let good = backup(&a, &tmp.path().join("good.jsonl"));
    let good = text(&good);
    let lines: Vec<&str> = good.lines().collect();
    // Everything up to the readings: the indicators and targets, none of the history.
    let cut = lines
        .iter()
        .position(|l| l.contains(r#""type":"reading""#))
        .unwrap();
    let file = tmp.path().join("cut.jsonl");
    std::fs::write(&file, format!("{}\n", lines[..cut].join("\n"))).unwrap();
    let b = tmp.path().join("b");
    let out = run(&["restore", s(&file), "--db", s(&b)]);
    assert!(
        !out.status.success(),
        "a backup missing its last {} lines restored: {}",
        lines.len() - cut,
        text(&out.stdout)
    );
    assert!(!b.exists());
}

#[test]
fn a_restored_store_serves_only_what_the_backup_held_and_continues_the_audit_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (readings, revised, withdrawn) = small_store(tmp.path(), &a);
    let f1 = backup(&a, &tmp.path().join("f1.jsonl"));
    let max_seq = max_audit_seq(&f1);
    run_ok(&["restore", s(&tmp.path().join("f1.jsonl")), "--db", s(&b)]);

    let srv = Server::start(&b, ADMIN);
    // The built-in catalogue (203 indicators) is not loaded into a restored store.
    let inds = srv.get_json("/v1/indicators");
    let ids: Vec<&str> = inds
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alpha-count", "beta-rate"]);
    assert_eq!(srv.get_json("/healthz")["indicators"], 2);
    assert_eq!(srv.get("/v1/indicators/gdp-growth", None).status(), 404);
    // What the source store answered, the restored one answers.
    assert_eq!(
        srv.get_json("/v1/indicators/alpha-count/readings"),
        readings
    );
    assert_eq!(
        srv.get_json("/v1/indicators/alpha-count/readings/2023-06/revisions"),
        revised
    );
    assert_eq!(
        srv.get_json("/v1/indicators/alpha-count/readings/2023-05/revisions"),
        withdrawn
    );
    assert_eq!(
        srv.get_json("/v1/indicators/alpha-count/attainment?as_of=2023-06")["actual"],
        50.0
    );

    // New writes: their audit rows come after every restored one.
    srv.reading(ADMIN, "alpha-count", "2023-06", json!({"value": 55}), 200);
    let revs = srv.get_json("/v1/indicators/alpha-count/readings/2023-06/revisions");
    let s1 = seqs(&revs);
    assert_eq!(s1.len(), 3, "{revs}");
    assert!(strictly_increasing(&s1), "{s1:?}");
    assert!(
        s1[2] > max_seq,
        "new seq {} after restored {max_seq}",
        s1[2]
    );
    assert_eq!(revs[2]["action"], "revised");
    assert_eq!(revs[2]["new"]["value"], 55.0);
    assert_eq!(revs[2]["new"]["revision"], 3);
    // A withdrawn period submitted again, and a new reading.
    srv.reading(ADMIN, "alpha-count", "2023-05", json!({"value": 34}), 201);
    let revs = srv.get_json("/v1/indicators/alpha-count/readings/2023-05/revisions");
    let actions: Vec<&str> = revs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "withdrawn", "created"]);
    let s2 = seqs(&revs);
    assert!(
        strictly_increasing(&s2) && s2[2] > s1[2],
        "{s2:?} after {s1:?}"
    );
    srv.reading(ADMIN, "beta-rate", "2023-09", json!({"value": 5.1}), 201);
    let s3 = seqs(&srv.get_json("/v1/indicators/beta-rate/readings/2023-09/revisions"));
    assert!(s3[0] > s2[2], "{s3:?} after {s2:?}");
    srv.stop();
    check_ok(&b);

    // And still after a restart of the restored store.
    let srv = Server::start(&b, ADMIN);
    assert_eq!(srv.get_json("/healthz")["indicators"], 2);
    srv.reading(ADMIN, "alpha-count", "2023-06", json!({"value": 56}), 200);
    let s4 = seqs(&srv.get_json("/v1/indicators/alpha-count/readings/2023-06/revisions"));
    assert_eq!(s4.len(), 4);
    assert!(strictly_increasing(&s4) && s4[3] > s3[0], "{s4:?}");
    srv.stop();
    check_ok(&b);
}

// ── backups that cannot be altered unseen ─────────────────────────────────

/// A backup of backup format 1 (no trailer), written by the last build of that format;
/// never rewrite it (see `tests/fixtures/README.md`).
const BACKUP_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/backup-v1.jsonl"
);

/// `zhibiao restore FILE --db DB [--hmac-key-file KEY]`.
fn restore_cmd(file: &Path, db: &Path, key: Option<&Path>) -> Output {
    let mut args = vec!["restore", s(file), "--db", s(db)];
    if let Some(k) = key {
        args.extend(["--hmac-key-file", s(k)]);
    }
    run(&args)
}

/// Insists that a restore failed, naming `mention`, and returns its stderr.
fn refused(out: &Output, mention: &str) -> String {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "restore succeeded: {}",
        text(&out.stdout)
    );
    assert!(
        err.contains("restore failed, nothing kept") && err.contains(mention),
        "expected a refusal naming {mention:?}: {err}"
    );
    assert!(!text(&out.stdout).contains("restored"));
    err
}

/// A store restored from the version-1 fixture (the built-in catalogue, 18 readings,
/// the tokens `admin` and `kgj`, a webhook): no server needed.
fn fixture_store(dir: &Path) -> PathBuf {
    let db = dir.join("fixture");
    run_ok(&["restore", BACKUP_V1, "--db", s(&db)]);
    db
}

/// A key file of 32 random-looking bytes, base64 as an operator would make it.
fn key_file(dir: &Path, name: &str, key: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{key}\n")).unwrap();
    p
}

/// The lines of a backup, trailer included.
fn backup_lines(b: &[u8]) -> Vec<String> {
    text(b).lines().map(str::to_string).collect()
}

/// A backup of `lines` (without a trailer) sealed as `zhibiao backup` would: what
/// someone who edits a backup and recomputes its digest writes. `hmac` is put into
/// the trailer as given.
fn reseal(lines: &[String], hmac: Option<&str>) -> Vec<u8> {
    use sha2::Digest as _;
    let body = format!("{}\n", lines.join("\n"));
    let mut trailer = json!({
        "type": "digest",
        "sha256": hex::encode(sha2::Sha256::digest(body.as_bytes())),
    });
    if let Some(h) = hmac {
        trailer["hmac_sha256"] = json!(h);
    }
    format!("{body}{trailer}\n").into_bytes()
}

/// The lines of a backup with `from` replaced by `to` in exactly one line.
fn edited(lines: &[String], from: &str, to: &str) -> Vec<String> {
    let hits = lines.iter().filter(|l| l.contains(from)).count();
    assert_eq!(hits, 1, "{from:?} is in {hits} lines");
    lines.iter().map(|l| l.replacen(from, to, 1)).collect()
}

const KGJ_ROLE: &str = r#""name":"kgj","role":"submitter""#;
const KGJ_AS_ADMIN: &str = r#""name":"kgj","role":"admin""#;

#[test]
fn a_backup_edited_after_it_was_written_is_refused_by_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let good = backup(&db, &tmp.path().join("good.jsonl"));
    let lines = backup_lines(&good);
    let trailer = lines.last().unwrap().clone();
    assert!(
        trailer.starts_with(r#"{"type":"digest","sha256":""#),
        "{trailer}"
    );
    let body = &lines[..lines.len() - 1];
    let with_trailer = |mut v: Vec<String>| {
        v.push(trailer.clone());
        format!("{}\n", v.join("\n")).into_bytes()
    };
    let audit_rows: Vec<usize> = (0..body.len())
        .filter(|&i| body[i].contains(r#""type":"audit""#))
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // The attack the digest is for: a submitter made admin.
        (
            "a token's role raised to admin",
            with_trailer(edited(body, KGJ_ROLE, KGJ_AS_ADMIN)),
        ),
        // A hash replaced by that of a secret the editor knows.
        ("a token's hash replaced", {
            let known = hex::encode(zhibiao::store::hash_secret("a secret I know"));
            let admin = body
                .iter()
                .find(|l| l.contains(r#""name":"admin""#) && l.contains(r#""type":"token""#))
                .unwrap();
            let old: Value = serde_json::from_str(admin).unwrap();
            with_trailer(edited(body, old["hash"].as_str().unwrap(), &known))
        }),
        // A row dropped, and the end record's count made to agree.
        ("an audit row removed", {
            let mut v = body.to_vec();
            v.remove(audit_rows[5]);
            let n = audit_rows.len();
            let end = v.len() - 1;
            v[end] = v[end].replace(&format!(r#""audit":{n}"#), &format!(r#""audit":{}"#, n - 1));
            with_trailer(v)
        }),
        // A reading's value changed.
        (
            "a reading changed",
            with_trailer(edited(
                body,
                r#""indicator":"gdp-growth","period":"2023-06","value":8.7"#,
                r#""indicator":"gdp-growth","period":"2023-06","value":9.7"#,
            )),
        ),
    ];
    for (what, bytes) in cases {
        let file = tmp.path().join("edited.jsonl");
        std::fs::write(&file, &bytes).unwrap();
        let b = tmp.path().join("b");
        let out = restore_cmd(&file, &b, None);
        refused(&out, "does not match its digest");
        assert!(!b.exists(), "{what}: a store was left at {b:?}");
    }
    // The digest record itself removed: refused as a file cut short.
    let file = tmp.path().join("no-trailer.jsonl");
    std::fs::write(&file, format!("{}\n", body.join("\n"))).unwrap();
    refused(
        &restore_cmd(&file, &tmp.path().join("b"), None),
        "no digest record",
    );
    // The untouched file restores, verified.
    let out = run_ok(&[
        "restore",
        s(&tmp.path().join("good.jsonl")),
        "--db",
        s(&tmp.path().join("b")),
    ]);
    assert!(
        text(&out.stdout).contains("digest verified"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn a_keyed_backup_needs_its_key_and_an_edit_with_a_recomputed_digest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let key = key_file(
        tmp.path(),
        "backup.key",
        "n3Kq8v7QJ9m2hTzX4bYc1LwRfA6sGdEp0uVxI5oNkHs=",
    );
    let wrong = key_file(tmp.path(), "wrong.key", "a-different-key-of-enough-length");
    let out_file = tmp.path().join("keyed.jsonl");
    run_ok(&[
        "backup",
        "--db",
        s(&db),
        "--out",
        s(&out_file),
        "--hmac-key-file",
        s(&key),
    ]);
    let keyed = std::fs::read(&out_file).unwrap();
    let lines = backup_lines(&keyed);
    let trailer: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let hmac = trailer["hmac_sha256"]
        .as_str()
        .expect("an HMAC in the trailer");
    assert_eq!(hmac.len(), 64);
    let body = &lines[..lines.len() - 1];
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let escalated = edited(body, KGJ_ROLE, KGJ_AS_ADMIN);
    let b = tmp.path().join("b");
    for (what, file, key_given, mention) in [
        // The digest is right (recomputed), the HMAC is the old one.
        (
            "an edit with a recomputed digest, the old HMAC kept",
            write("e1.jsonl", &reseal(&escalated, Some(hmac))),
            Some(&key),
            "HMAC does not match",
        ),
        // The HMAC removed: it now looks unkeyed, but a key was given.
        (
            "an edit with a recomputed digest and no HMAC",
            write("e2.jsonl", &reseal(&escalated, None)),
            Some(&key),
            "carries no HMAC",
        ),
        (
            "the untouched backup without its key",
            out_file.clone(),
            None,
            "written with a key",
        ),
        (
            "the untouched backup with another key",
            out_file.clone(),
            Some(&wrong),
            "HMAC does not match",
        ),
    ] {
        let out = restore_cmd(&file, &b, key_given.map(PathBuf::as_path));
        let err = refused(&out, mention);
        assert!(!b.exists(), "{what}: a store was left behind");
        assert!(
            !err.contains("n3Kq8v7Q"),
            "{what}: the key is in the message: {err}"
        );
    }
    // With its key, it restores, verified, and checks.
    let out = restore_cmd(&out_file, &b, Some(&key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("digest and HMAC verified"));
    check_ok(&b);
    // The key is read from ZHIBIAO_BACKUP_KEY_FILE as well.
    let c = tmp.path().join("c");
    let out = common::output(
        Command::new(BIN)
            .args(["restore", s(&out_file), "--db", s(&c), "--json"])
            .env("RUST_LOG", "warn")
            .env("ZHIBIAO_BACKUP_KEY_FILE", &key),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verified"], "hmac_sha256");
    assert_eq!(r["backup_version"], zhibiao::store::BACKUP_VERSION);
    // A key too short to be one is refused before anything is read or written.
    let short = key_file(tmp.path(), "short.key", "fifteen-chars!!");
    let d = tmp.path().join("d");
    let out = restore_cmd(&out_file, &d, Some(&short));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("at least 16"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.exists());
    let out = run(&[
        "backup",
        "--db",
        s(&db),
        "--out",
        s(&tmp.path().join("x.jsonl")),
        "--hmac-key-file",
        s(&short),
    ]);
    assert!(!out.status.success());
    assert!(!tmp.path().join("x.jsonl").exists());
}

#[test]
fn backup_restore_backup_gives_the_same_bytes_with_and_without_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let key = key_file(tmp.path(), "k", "round-trip-key-0123456789abcdef");
    let plain = backup(&db, &tmp.path().join("plain.jsonl"));
    let keyed_file = tmp.path().join("keyed.jsonl");
    run_ok(&[
        "backup",
        "--db",
        s(&db),
        "--out",
        s(&keyed_file),
        "--hmac-key-file",
        s(&key),
    ]);
    let keyed = std::fs::read(&keyed_file).unwrap();
    // The same records; only the trailer differs, by its HMAC.
    let (p, k) = (backup_lines(&plain), backup_lines(&keyed));
    assert_eq!(p[..p.len() - 1], k[..k.len() - 1]);
    assert!(k
        .last()
        .unwrap()
        .starts_with(&p.last().unwrap()[..p.last().unwrap().len() - 1]));

    let (b1, b2) = (tmp.path().join("b1"), tmp.path().join("b2"));
    run_ok(&[
        "restore",
        s(&tmp.path().join("plain.jsonl")),
        "--db",
        s(&b1),
    ]);
    assert!(
        backup(&b1, &tmp.path().join("plain2.jsonl")) == plain,
        "without a key"
    );
    run_ok(&[
        "restore",
        s(&keyed_file),
        "--db",
        s(&b2),
        "--hmac-key-file",
        s(&key),
    ]);
    let again = tmp.path().join("keyed2.jsonl");
    run_ok(&[
        "backup",
        "--db",
        s(&b2),
        "--out",
        s(&again),
        "--hmac-key-file",
        s(&key),
    ]);
    assert!(std::fs::read(&again).unwrap() == keyed, "with a key");
}

#[test]
fn duplicated_or_reordered_records_are_refused_even_with_a_recomputed_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let good = backup(&db, &tmp.path().join("good.jsonl"));
    let lines = backup_lines(&good);
    let body = &lines[..lines.len() - 1];
    let first = |ty: &str| {
        body.iter()
            .position(|l| l.contains(&format!(r#""type":"{ty}""#)))
            .unwrap()
    };
    // The end record's counts made to agree, so that only the order check can refuse.
    let recount = |mut v: Vec<String>, field: &str, delta: i64| {
        let end = v.len() - 1;
        let mut e: Value = serde_json::from_str(&v[end]).unwrap();
        e[field] = json!(e[field].as_i64().unwrap() + delta);
        v[end] = e.to_string();
        v
    };
    let a = first("audit");
    let t = first("token");
    let u = first("unit");
    let cases: Vec<(&str, Vec<String>, String)> = vec![
        // The red team's case: sled keys the row by seq, so a second row with the same
        // seq would silently replace the first.
        (
            "an audit row duplicated",
            {
                let mut v = body.to_vec();
                v.insert(a + 11, body[a + 10].clone());
                recount(v, "audit", 1)
            },
            format!("line {}: audit seq 10 is listed twice", a + 12),
        ),
        (
            "an audit row replaced by a copy of its predecessor",
            {
                let mut v = body.to_vec();
                v[a + 11] = body[a + 10].clone();
                v
            },
            format!("line {}: audit seq 10 is listed twice", a + 12),
        ),
        (
            "two audit rows swapped",
            {
                let mut v = body.to_vec();
                v.swap(a + 3, a + 4);
                v
            },
            format!("line {}: audit seq 3 is out of order", a + 5),
        ),
        (
            "a token listed twice",
            {
                let mut v = body.to_vec();
                v.insert(t + 1, body[t].clone());
                recount(v, "tokens", 1)
            },
            format!("line {}: token 'admin' is listed twice", t + 2),
        ),
        (
            "a unit listed twice",
            {
                let mut v = body.to_vec();
                v.insert(u + 1, body[u].clone());
                v
            },
            "is listed twice".to_string(),
        ),
        // Two names for one secret: the hash index could point at only one.
        (
            "two tokens with one hash",
            {
                let admin: Value = serde_json::from_str(&body[t]).unwrap();
                let kgj: Value = serde_json::from_str(&body[t + 1]).unwrap();
                edited(
                    body,
                    kgj["hash"].as_str().unwrap(),
                    admin["hash"].as_str().unwrap(),
                )
            },
            "has the same hash as token 'admin'".to_string(),
        ),
    ];
    for (what, v, mention) in cases {
        let file = tmp.path().join("dup.jsonl");
        std::fs::write(&file, reseal(&v, None)).unwrap();
        let b = tmp.path().join("b");
        let out = restore_cmd(&file, &b, None);
        refused(&out, &mention);
        assert!(!b.exists(), "{what}: a store was left behind");
    }
}

#[test]
fn region_settings_restore_only_for_a_listed_region_and_when_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let good = backup(&db, &tmp.path().join("good.jsonl"));
    let lines = backup_lines(&good);
    let body = &lines[..lines.len() - 1];
    let after_regions = body
        .iter()
        .rposition(|l| l.contains(r#""type":"region""#))
        .unwrap()
        + 1;
    let with = |record: &str| {
        let mut v = body.to_vec();
        v.insert(after_regions, record.to_string());
        v
    };
    // Settings of the county, as a backup of this build writes them: restored, and
    // backed up again to the same line.
    let ok = r#"{"type":"region_settings","region":"桃江县","issuer":"桃江县统计局","doc_number_prefix":"桃统通","signature":null}"#;
    let file = tmp.path().join("ok.jsonl");
    std::fs::write(&file, reseal(&with(ok), None)).unwrap();
    let b = tmp.path().join("b");
    let out = restore_cmd(&file, &b, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    check_ok(&b);
    let again = backup(&b, &tmp.path().join("again.jsonl"));
    assert!(backup_lines(&again).iter().any(|l| l == ok));

    for (what, record, mention) in [
        (
            "a region the backup does not list",
            r#"{"type":"region_settings","region":"某县","issuer":"某县统计局","doc_number_prefix":null,"signature":null}"#,
            "settings of region '某县', which the backup does not list before them",
        ),
        (
            "a whole 文号 for a prefix",
            r#"{"type":"region_settings","region":"桃江县","issuer":"桃江县统计局","doc_number_prefix":"桃统通〔2023〕6号","signature":null}"#,
            "只填机关代字",
        ),
        (
            "a blank issuer",
            r#"{"type":"region_settings","region":"桃江县","issuer":" ","doc_number_prefix":null,"signature":null}"#,
            "发文单位（issuer）不能为空",
        ),
    ] {
        let file = tmp.path().join("bad.jsonl");
        std::fs::write(&file, reseal(&with(record), None)).unwrap();
        let c = tmp.path().join("c");
        let out = restore_cmd(&file, &c, None);
        refused(&out, mention);
        assert!(!c.exists(), "{what}: a store was left behind");
    }
}

#[test]
fn restore_runs_check_and_keeps_nothing_when_it_fails() {
    // A resealed backup whose records each parse, but whose reading disagrees with
    // the last audit row of its history: restore takes it, check does not.
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let good = backup(&db, &tmp.path().join("good.jsonl"));
    let lines = backup_lines(&good);
    let v = edited(
        &lines[..lines.len() - 1],
        r#""indicator":"gdp-growth","period":"2023-06","value":8.7"#,
        r#""indicator":"gdp-growth","period":"2023-06","value":9.7"#,
    );
    let file = tmp.path().join("disagrees.jsonl");
    std::fs::write(&file, reseal(&v, None)).unwrap();
    let b = tmp.path().join("b");
    let err = refused(&restore_cmd(&file, &b, None), "fails its check");
    assert!(
        err.contains("gdp-growth 2023-06 differs from its last audit row"),
        "{err}"
    );
    assert!(!b.exists());
    // Nothing was left beside it either.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_failed_restore_leaves_a_directory_made_for_it_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_store(tmp.path());
    let good = backup(&db, &tmp.path().join("good.jsonl"));
    let lines = backup_lines(&good);
    let mut v = lines.clone();
    let last = v.len() - 1;
    v[..last].clone_from_slice(&edited(&lines[..last], KGJ_ROLE, KGJ_AS_ADMIN));
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{}\n", v.join("\n"))).unwrap();

    // An empty directory the operator made, with its own mode.
    let made = tmp.path().join("made");
    std::fs::create_dir(&made).unwrap();
    #[cfg(unix)]
    let (mode, ino) = {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o750)).unwrap();
        let m = std::fs::metadata(&made).unwrap();
        (m.mode(), m.ino())
    };
    let unchanged = || {
        assert!(made.is_dir(), "the directory was removed");
        let left: Vec<_> = std::fs::read_dir(&made).unwrap().collect();
        assert!(left.is_empty(), "the directory is not empty: {left:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(&made).unwrap();
            assert_eq!(
                (m.mode(), m.ino()),
                (mode, ino),
                "the directory was replaced"
            );
        }
    };
    // Refused at the trailer, after every record was read.
    refused(&restore_cmd(&bad, &made, None), "does not match its digest");
    unchanged();
    // Refused at the first line.
    let garbage = tmp.path().join("garbage.jsonl");
    std::fs::write(&garbage, "not a backup\n").unwrap();
    refused(&restore_cmd(&garbage, &made, None), "line 1");
    unchanged();

    // A path whose parents do not exist yet: none of them is left behind.
    let deep = tmp.path().join("new").join("deeper").join("db");
    refused(&restore_cmd(&bad, &deep, None), "does not match its digest");
    assert!(!tmp.path().join("new").exists());

    // The good backup fills the same directory, which stays the operator's.
    let out = run_ok(&[
        "restore",
        s(&tmp.path().join("good.jsonl")),
        "--db",
        s(&made),
    ]);
    assert!(
        text(&out.stdout).contains("check: ok"),
        "{}",
        text(&out.stdout)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&made).unwrap();
        assert_eq!((m.mode(), m.ino()), (mode, ino));
    }
    let names: Vec<String> = std::fs::read_dir(&made)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("restoring")), "{names:?}");
    check_ok(&made);
    assert!(backup(&made, &tmp.path().join("again.jsonl")) == good);
}

#[test]
fn a_version_1_backup_still_restores_with_a_warning_and_converts_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = std::fs::read(BACKUP_V1).unwrap();
    let header: Value = serde_json::from_str(text(&v1).lines().next().unwrap()).unwrap();
    assert_eq!(header["zhibiao_backup"], 1, "the fixture is of version 1");
    let db = tmp.path().join("db");
    let out = run_ok(&["restore", BACKUP_V1, "--db", s(&db), "--json"]);
    assert!(
        text(&out.stderr)
            .contains("this backup (version 1) has no digest; it cannot be checked for changes"),
        "{}",
        text(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &r["indicators"],
            &r["targets"],
            &r["readings"],
            &r["audit"],
            &r["tokens"]
        ),
        (&json!(203), &json!(203), &json!(18), &json!(437), &json!(2))
    );
    assert_eq!(r["verified"], "nothing");
    check_ok(&db);
    // Backed up again, it is a backup of this build's version: the same indicators, targets,
    // readings, audit rows and tokens, plus the plan made from the targets (Taojiang
    // 2023, with its six groups), indicators naming their group, and targets their
    // plan entry. Restored and backed up once more, it gives the same bytes.
    let v3 = backup(&db, &tmp.path().join("v3.jsonl"));
    let v3_text = text(&v3);
    let lines: Vec<&str> = v3_text.lines().collect();
    assert!(lines.last().unwrap().starts_with(r#"{"type":"digest""#));
    assert!(lines[0].contains(r#""zhibiao_backup":5"#), "{}", lines[0]);
    let plans: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "plan")
        .collect();
    assert_eq!(plans.len(), 1, "{plans:?}");
    assert_eq!(plans[0]["id"], "taojiang-2023");
    assert_eq!(plans[0]["groups"].as_array().unwrap().len(), 6);
    let gdp = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["type"] == "target" && r["indicator"] == "gdp-growth")
        .unwrap();
    assert_eq!(gdp["plan"]["plan"], "taojiang-2023");
    assert_eq!(gdp["plan"]["group"], "growth");
    assert!(!v3_text.contains(r#""battle":"#));
    let again = tmp.path().join("again");
    run_ok(&[
        "restore",
        s(&tmp.path().join("v3.jsonl")),
        "--db",
        s(&again),
    ]);
    assert!(backup(&again, &tmp.path().join("v3b.jsonl")) == v3);
    // A key cannot vouch for a backup that carries no digest.
    let key = key_file(tmp.path(), "k", "a-key-for-a-v1-backup-0123456789");
    let b = tmp.path().join("b");
    refused(
        &restore_cmd(Path::new(BACKUP_V1), &b, Some(&key)),
        "version-1 backup",
    );
    assert!(!b.exists());
}

#[test]
fn the_version_1_backup_fixture_is_what_its_readme_says() {
    use sha2::Digest as _;
    let v1 = std::fs::read(BACKUP_V1).unwrap();
    assert_eq!(v1.len(), 508_195);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&v1)),
        "979c4717a3af12927aeac72e986f18c0adf6b46a88d6e503e6012c21ced82b18",
        "tests/fixtures/backup-v1.jsonl changed; it must never be rewritten"
    );
}

#[test]
fn an_admin_secret_shorter_than_16_characters_is_refused_at_startup() {
    let tmp = tempfile::tempdir().unwrap();
    for (secret, refused) in [
        ("x", true),
        ("fifteen-chars!!", true),
        // Characters, not bytes: fifteen Chinese characters are 45 bytes.
        ("桃江县统计局桃江县统计局桃江县", true),
        ("sixteen-chars!!!", false),
    ] {
        let db = tmp.path().join("db");
        let mut child = spawn(
            Command::new(BIN)
                .args(["serve", "--db", s(&db), "--addr", "127.0.0.1:0"])
                .env("ZHIBIAO_ADMIN_TOKEN", secret)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        if refused {
            let status = common::wait_exit(&mut child, Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("serve started with the admin secret {secret:?}"));
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(!status.success());
            assert!(
                err.contains("ZHIBIAO_ADMIN_TOKEN") && err.contains("at least 16"),
                "{secret:?}: {err}"
            );
            // Refused before the store was touched.
            assert!(!db.exists(), "{secret:?}: a store was created");
        } else {
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert!(line.contains("listening"), "{line}");
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

// ── the version-1 fixture store ───────────────────────────────────────────

/// The batch the fixture store was made with (posted with `STORE_V1_KEY`).
const STORE_V1_BATCH: &str = "indicator,period,value,status,note
gdp-growth,2023-03,8.45,A,
gdp-growth,2023-06,8.6,P,快报
cpi,2023-03,2.85,A,
cpi,2023-06,3.0,A,
fixed-asset-investment-growth,2023-03,11.8,A,
fixed-asset-investment-growth,2023-06,10.9,A,
tech-sme-registered,2023-Q1,36,A,
tech-sme-registered,2023-Q2,72,A,
new-above-scale-industrial-firms,2023-03,4,A,
new-above-scale-industrial-firms,2023-06,9,A,
import-export-value,2023年1-3月,3.2,A,
import-export-value,2023年1-6月,7.1,A,
grain-output,2023-06,20.5,A,
primary-care-drug-reserve-population-share,2023-06,16.5,A,
zijiang-mainstream-taojiang-section-water-class,2023-06,2,A,
government-business-exchange-events-per-quarter,2023-Q2,3,A,
";
const STORE_V1_KEY: &str = "store-v1-batch";

/// Writes the fixture store into `db` (a fresh path) with this build. Kept so that
/// the recipe is exact; the checked-in fixture must never be regenerated by a later
/// build, or it would stop proving anything.
fn make_store_v1(db: &Path) {
    let srv = Server::start(db, STORE_V1_ADMIN);
    let r = srv.batch(
        STORE_V1_ADMIN,
        Some(STORE_V1_KEY),
        "text/csv; charset=utf-8",
        STORE_V1_BATCH,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["created"], 16);
    // A revision.
    srv.reading(
        STORE_V1_ADMIN,
        "gdp-growth",
        "2023-06",
        json!({"value": 8.7, "status": "A", "note": "核定"}),
        200,
    );
    // A reading sent to the wrong period, then withdrawn.
    srv.reading(
        STORE_V1_ADMIN,
        "tech-sme-registered",
        "2023-05",
        json!({"value": 66}),
        201,
    );
    srv.withdraw(STORE_V1_ADMIN, "tech-sme-registered", "2023-05", "期别报错");
    // A year with no target.
    srv.reading(
        STORE_V1_ADMIN,
        "gdp-growth",
        "2022-12",
        json!({"value": 7.9}),
        201,
    );
    // A target amended mid-year.
    let r = srv.put(
        STORE_V1_ADMIN,
        "/v1/indicators/tech-sme-registered/targets/2023",
        json!({"value": 160, "comparator": "at_least"}),
    );
    assert_eq!(r.status(), 200);
    // A submitter token, and a write by it.
    let r = srv
        .client
        .post(srv.url("/v1/tokens"))
        .bearer_auth(STORE_V1_ADMIN)
        .json(&json!({"name": "kgj", "role": "submitter", "units": ["县科工局"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let kgj = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    srv.reading(
        &kgj,
        "tech-sme-registered",
        "2023-Q3",
        json!({"value": 108, "status": "P"}),
        201,
    );
    srv.stop();
}

/// Regenerates the fixture recipe into a temporary directory and reports its size;
/// with `ZHIBIAO_WRITE_STORE_V1=1`, also replaces `tests/fixtures/store-v1` (only ever
/// for the first version of the format: see `tests/fixtures/README.md`).
#[test]
#[ignore = "writes the fixture store; run by hand only"]
fn make_store_v1_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("store-v1");
    make_store_v1(&db);
    println!("store-v1: {} bytes", dir_size(&db));
    if std::env::var("ZHIBIAO_WRITE_STORE_V1").as_deref() == Ok("1") {
        let dest = Path::new(STORE_V1);
        let _ = std::fs::remove_dir_all(dest);
        copy_dir(&db, dest);
        // sled's blob directory is empty here and git keeps no empty directories:
        // leave it out, as a checkout would, so that opening recreates it.
        let _ = std::fs::remove_dir(dest.join("blobs"));
        println!("written to {}", dest.display());
    }
    check_ok(&db);
}

/// A private copy of the fixture store: opening a sled store writes to it.
fn fixture_copy(tmp: &Path) -> PathBuf {
    let dest = tmp.join("store-v1");
    copy_dir(Path::new(STORE_V1), &dest);
    dest
}

fn id(s: &str) -> IndicatorId {
    IndicatorId::parse(s).unwrap()
}

fn period(s: &str) -> Period {
    s.parse().unwrap()
}

#[test]
fn the_v1_fixture_store_is_small() {
    let size = dir_size(Path::new(STORE_V1));
    assert!(
        size > 0 && size < 2 * 1024 * 1024,
        "store-v1 is {size} bytes"
    );
}

#[test]
fn the_v1_fixture_store_opens_checks_and_serves_with_this_build() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    let report = check_ok(&db);
    assert_eq!(report["indicators"], 203, "{report}");
    assert_eq!(report["readings"], 18, "{report}");
    assert_eq!(report["tokens"], 2, "{report}");
    assert_eq!(report["audit"], STORE_V1_AUDIT_ROWS, "{report}");

    let srv = Server::start(&db, STORE_V1_ADMIN);
    assert_eq!(srv.get_json("/healthz")["indicators"], 203);
    // The readings, with their status, note, period form and author.
    let gdp = srv.get_json("/v1/indicators/gdp-growth/readings");
    let got: Vec<(&str, f64, u64)> = gdp
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap(),
                r["value"].as_f64().unwrap(),
                r["revision"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("2022-12", 7.9, 1),
            ("2023-03", 8.45, 1),
            ("2023-06", 8.7, 2)
        ]
    );
    assert_eq!(gdp[2]["status"], "final");
    assert_eq!(gdp[2]["note"], "核定");
    assert_eq!(gdp[2]["recorded_by"], "admin");
    assert_eq!(gdp[2]["recorded_at"], STORE_V1_REVISED_AT);
    let sme = srv.get_json("/v1/indicators/tech-sme-registered/readings");
    let got: Vec<(&str, &str, f64, &str)> = sme
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap(),
                r["period_key"].as_str().unwrap(),
                r["value"].as_f64().unwrap(),
                r["recorded_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("2023-Q1", "2023-03", 36.0, "admin"),
            ("2023-Q2", "2023-06", 72.0, "admin"),
            ("2023-Q3", "2023-09", 108.0, "kgj"),
        ]
    );
    assert_eq!(sme[2]["status_code"], "P");
    let iev = srv.get_json("/v1/indicators/import-export-value/readings");
    // 2023年1-6月 is the month form: year-to-date to June.
    assert_eq!(iev[1]["period"], "2023-06");
    assert_eq!(iev[1]["value"], 7.1);

    // The revision, and the withdrawal with its reason.
    let revs = srv.get_json("/v1/indicators/gdp-growth/readings/2023-06/revisions");
    let actions: Vec<(&str, f64)> = revs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["new"]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("created", 8.6), ("revised", 8.7)]);
    assert_eq!(revs[0]["new"]["status"], "provisional");
    assert_eq!(revs[0]["new"]["note"], "快报");
    let fixture_seqs = seqs(&revs);
    assert!(strictly_increasing(&fixture_seqs));
    let revs = srv.get_json("/v1/indicators/tech-sme-registered/readings/2023-05/revisions");
    assert_eq!(revs[0]["action"], "created");
    assert_eq!(revs[1]["action"], "withdrawn");
    assert_eq!(revs[1]["reason"], "期别报错");
    assert_eq!(revs[1]["old"]["value"], 66.0);
    assert_eq!(
        srv.get("/v1/indicators/tech-sme-registered/readings/2023-05", None)
            .status(),
        404
    );

    // Attainment: the amended target, and a year with no target.
    let a = srv.get_json("/v1/indicators/tech-sme-registered/attainment?as_of=2023-06");
    assert_eq!(a["target"]["value"], 160.0);
    assert_eq!(a["actual"], 72.0);
    assert!(
        (a["attainment"].as_f64().unwrap() - 72.0 / 160.0).abs() < 1e-9,
        "{a}"
    );
    let a = srv.get_json("/v1/indicators/gdp-growth/attainment?as_of=2023-06");
    assert_eq!(a["actual"], 8.7);
    assert_eq!(a["target"]["value"], 8.0);
    assert_eq!(a["target"]["comparator"], "about");
    let a = srv.get_json("/v1/indicators/gdp-growth/attainment?as_of=2022-12");
    assert_eq!(a["status"], "no_target");
    assert_eq!(a["actual"], 7.9);
    let all = srv.get_json("/v1/attainment?as_of=2023-06");
    assert_eq!(all["count"], 203);

    // The token, and the stored answer of the idempotent batch.
    let r = srv.get("/v1/tokens", Some(STORE_V1_ADMIN));
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().unwrap();
    let kgj = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "kgj")
        .expect("the kgj token");
    assert_eq!(kgj["role"], "submitter");
    assert_eq!(kgj["units"], json!(["县科工局"]));
    let r = srv.batch(
        STORE_V1_ADMIN,
        Some(STORE_V1_KEY),
        "text/csv; charset=utf-8",
        STORE_V1_BATCH,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(r.json::<Value>().unwrap()["created"], 16);

    // New writes land after the fixture's history.
    srv.reading(
        STORE_V1_ADMIN,
        "gdp-growth",
        "2023-06",
        json!({"value": 8.8}),
        200,
    );
    let revs = srv.get_json("/v1/indicators/gdp-growth/readings/2023-06/revisions");
    let after = seqs(&revs);
    assert_eq!(after.len(), 3);
    assert!(strictly_increasing(&after), "{after:?}");
    assert_eq!(after[..2], fixture_seqs[..]);
    srv.stop();
    check_ok(&db);

    // The CLI reads it too, and it backs up and restores to the same bytes.
    let out = run_ok(&["attainment", "--db", s(&db), "--as-of", "2023-06", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["count"], 203);
    let f1 = backup(&db, &tmp.path().join("f1.jsonl"));
    let b = tmp.path().join("b");
    run_ok(&["restore", s(&tmp.path().join("f1.jsonl")), "--db", s(&b)]);
    assert!(backup(&b, &tmp.path().join("f2.jsonl")) == f1);
}

/// Audit rows in the fixture: 203 indicators and 203 targets of the catalogue, 21
/// changes of readings and the target change.
const STORE_V1_AUDIT_ROWS: u64 = 428;
/// When the fixture's gdp-growth 2023-06 was revised (the store keeps it to the ns).
const STORE_V1_REVISED_AT: &str = "2026-11-28T02:30:24.533425964Z";

#[test]
fn the_v1_fixture_store_opens_at_the_library_level() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    let _g = fork_guard();
    let store = Store::open(&db, CACHE).expect("open the v1 store");
    assert_eq!(store.indicators().unwrap().len(), 203);
    let r = store
        .reading(&id("gdp-growth"), period("2023-06"))
        .unwrap()
        .expect("gdp-growth 2023-06");
    assert_eq!((r.value, r.revision), (8.7, 2));
    assert_eq!(r.note.as_deref(), Some("核定"));
    let revs = store
        .revisions(&id("gdp-growth"), period("2023-06"))
        .unwrap();
    assert_eq!(revs.len(), 2);
    let t = store
        .target(&id("tech-sme-registered"), 2023)
        .unwrap()
        .expect("the amended target");
    assert_eq!(t.value, Some(160.0));
    let kgj = store.token("kgj").unwrap().expect("the kgj token");
    assert_eq!(kgj.role, Role::Submitter);
    assert_eq!(store.audit_log().unwrap().len() as u64, STORE_V1_AUDIT_ROWS);
    let report = store.check().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

/// The v1 fixture predates regions (store format 2): opening it migrates it in place.
/// Every indicator lands in the catalogue's region with its id as its code, inside the
/// audit trail too; the other values are untouched; a second open has nothing to do.
#[test]
fn a_store_written_before_regions_migrates_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    let raw_format = |db: &std::path::Path| -> (Vec<u8>, Vec<u8>) {
        let sled_db = sled::Config::new().path(db).open().unwrap();
        let meta = sled_db.open_tree("meta").unwrap();
        let readings = sled_db.open_tree("readings").unwrap();
        let key = zhibiao::store::keys::reading(&id("gdp-growth"), period("2023-06"));
        let out = (
            meta.get(b"format").unwrap().unwrap().to_vec(),
            readings.get(key).unwrap().unwrap().to_vec(),
        );
        drop((meta, readings, sled_db));
        out
    };
    // The fork guard is held while this process opens sled itself, and let go before
    // the server starts (which takes it too).
    let g = fork_guard();
    let (format, reading_v1) = raw_format(&db);
    assert_eq!((format, reading_v1[0]), (vec![1u8], 1));
    {
        let store = Store::open(&db, CACHE).expect("open and migrate the v1 store");
        let inds = store.indicators().unwrap();
        assert_eq!(inds.len(), 203);
        for ind in &inds {
            assert_eq!(ind.region, "桃江县", "{}", ind.id);
            assert_eq!(ind.code, ind.id.as_str());
            assert_eq!(ind.escalate_after, 2);
            assert!(ind.benchmarks.is_empty());
        }
        let regions = store.regions().unwrap();
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0].name, "桃江县");
        assert_eq!(
            store
                .indicators_with_code("gdp-growth")
                .unwrap()
                .iter()
                .map(|i| i.id.as_str().to_string())
                .collect::<Vec<_>>(),
            ["gdp-growth"]
        );
        // Indicator changes inside the audit trail were converted as well.
        let log = store.audit_log().unwrap();
        assert_eq!(log.len() as u64, STORE_V1_AUDIT_ROWS);
        let created: Vec<_> = log
            .iter()
            .filter_map(|(_, r)| match &r.change {
                zhibiao::store::Change::Indicator { new: Some(i), .. } => Some(i.region.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(created.len(), 203);
        assert!(created.iter().all(|r| r == "桃江县"));
        assert!(log.iter().all(|(_, r)| r.quality.is_none()));
        assert!(store.flagged().unwrap().is_empty());
        let r = store
            .reading(&id("gdp-growth"), period("2023-06"))
            .unwrap()
            .unwrap();
        assert_eq!((r.value, r.revision), (8.7, 2));
        assert!(store.check().unwrap().ok());
    }
    // On disk: the current store format, and the reading's body is the same bytes under
    // the new version byte, followed (since format 5) by the audit numbers of its two
    // changes.
    let (format, reading_v2) = raw_format(&db);
    assert_eq!(format, vec![zhibiao::store::migrate::STORE_FORMAT]);
    assert_eq!(reading_v2[0], zhibiao::store::codec::FORMAT_VERSION);
    let (body, history) = reading_v2.split_at(reading_v1.len());
    assert_eq!(body[1..], reading_v1[1..]);
    assert_eq!(history.len(), 16, "two changes: created, then revised");
    // A second open finds nothing to migrate and reads the same.
    let store = Store::open(&db, CACHE).expect("reopen");
    assert_eq!(store.indicators().unwrap().len(), 203);
    assert_eq!(
        store.indicator(&id("gdp-growth")).unwrap().unwrap().region,
        "桃江县"
    );
    drop((store, g));
    // The server answers with regions on the migrated store.
    let srv = Server::start(&db, STORE_V1_ADMIN);
    let list = srv.get_json("/v1/indicators?region=桃江县");
    assert_eq!(list.as_array().unwrap().len(), 203);
    let a = srv.get_json("/v1/indicators/gdp-growth/attainment?as_of=2023-06");
    assert_eq!(
        (&a["region"], &a["code"]),
        (&json!("桃江县"), &json!("gdp-growth"))
    );
    assert_eq!(srv.get_json("/v1/regions")["count"], 1);
    srv.stop();
}

#[test]
fn a_stored_value_with_an_unknown_format_version_is_refused_not_misread() {
    // zhibiao has no API that writes raw bytes, so the value is altered with sled
    // itself (the same sled the store uses), with the store closed.
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    let key = zhibiao::store::keys::reading(&id("gdp-growth"), period("2023-06"));
    {
        let _g = fork_guard();
        let sled_db = sled::Config::new().path(&db).open().unwrap();
        let readings = sled_db.open_tree("readings").unwrap();
        let mut v = readings
            .get(&key)
            .unwrap()
            .expect("the stored reading")
            .to_vec();
        // The fixture was written with format 1; opening it migrates the values that
        // carry 1, and leaves a value of an unknown version alone, refused.
        assert_eq!(v[0], 1);
        v[0] = 99;
        readings.insert(&key, v).unwrap();
        sled_db.flush().unwrap();
        // Closed only once every handle is gone, trees included.
        drop((readings, sled_db));
        let store = Store::open(&db, CACHE).unwrap();
        let err = store
            .reading(&id("gdp-growth"), period("2023-06"))
            .expect_err("a value of format version 99");
        assert!(
            matches!(
                err,
                StoreError::UnsupportedFormat {
                    found: 99,
                    supported: zhibiao::store::codec::FORMAT_VERSION
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("format version 99"), "{err}");
        assert!(store.readings(&id("gdp-growth"), None, None).is_err());
        // The other values are read as before.
        let r = store
            .reading(&id("gdp-growth"), period("2023-03"))
            .unwrap()
            .unwrap();
        assert_eq!(r.value, 8.45);
        assert!(!store.check().unwrap().ok());
    }
    // `check` names the value and the version.
    let out = run(&["check", "--db", s(&db)]);
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(
        report.contains("gdp-growth 2023-06") && report.contains("format version 99"),
        "{report}"
    );
    // The server refuses to answer with it: an error, never a misread figure.
    let srv = Server::start(&db, STORE_V1_ADMIN);
    let r = srv.get("/v1/indicators/gdp-growth/readings/2023-06", None);
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(
        srv.get_json("/v1/indicators/gdp-growth/readings/2023-03")["value"],
        8.45
    );
    srv.stop();
}

#[test]
fn a_store_of_an_unknown_format_version_is_refused_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    {
        let _g = fork_guard();
        let sled_db = sled::Config::new().path(&db).open().unwrap();
        let meta = sled_db.open_tree("meta").unwrap();
        // The fixture's format.
        assert_eq!(meta.get(b"format").unwrap().as_deref(), Some(&[1u8][..]));
        meta.insert(b"format", &[99u8]).unwrap();
        sled_db.flush().unwrap();
        drop((meta, sled_db));
        let err = Store::open(&db, CACHE).expect_err("a store of format version 99");
        assert!(
            matches!(err, StoreError::UnsupportedFormat { found: 99, .. }),
            "{err:?}"
        );
    }
    let out = run(&["check", "--db", s(&db)]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("format version 99"),
        "{}",
        text(&out.stderr)
    );
    let err = serve_refuses(&db);
    assert!(err.contains("format version 99"), "{err}");
    let out = run(&["backup", "--db", s(&db), "--out", "-"]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "a backup was written from a store it cannot read"
    );
}

#[test]
fn check_finds_region_settings_of_no_region_and_settings_that_do_not_decode() {
    // The store writes settings only for a registered region; sled itself can put
    // anything there, with the store closed.
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path());
    {
        let _g = fork_guard();
        let store = Store::open(&db, CACHE).unwrap();
        let s = zhibiao::domain::RegionSettings::new("桃江县统计局", Some("桃统通"), None).unwrap();
        let now = "2023-07-12T00:00:00Z".parse().unwrap();
        store
            .put_region_settings("桃江县", &s, "test", now)
            .unwrap();
        let e = store
            .put_region_settings("某县", &s, "test", now)
            .unwrap_err();
        assert!(matches!(e, StoreError::UnknownRegion(_)), "{e:?}");
        assert!(store.check().unwrap().ok());
        store.flush().unwrap();
    }
    {
        let _g = fork_guard();
        let sled_db = sled::Config::new().path(&db).open().unwrap();
        let tree = sled_db.open_tree("region_settings").unwrap();
        let v = tree.get("桃江县".as_bytes()).unwrap().expect("stored");
        tree.insert("某县".as_bytes(), v).unwrap();
        tree.insert("桃江县".as_bytes(), &b"\x01garbage"[..])
            .unwrap();
        sled_db.flush().unwrap();
        drop((tree, sled_db));
    }
    let out = run(&["check", "--db", s(&db)]);
    assert!(!out.status.success());
    let report = text(&out.stdout);
    assert!(
        report.contains("region settings of '某县' name no registered region"),
        "{report}"
    );
    assert!(report.contains("region settings 桃江县: "), "{report}");
}
