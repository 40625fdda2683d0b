//! The API tests' server: `zhibiao serve` started inside the test process, on port 0
//! with a temporary store and a test clock, and talked to over HTTP.
//!
//! [`TestServer::builder`] takes the `serve` flags, the admin token, the clock and a
//! catalogue; by default the server runs on its own small tokio runtime in this process.
//! Tests that must kill a real process (SIGKILL for a crash), read its log or count
//! what the whole process counts ask for [`Builder::process`]: the same `TestServer`,
//! backed by the `zhibiao` binary (`tests/common`), on the wall clock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use zhibiao::cli::serve::{Running, ServeConfig};
use zhibiao::store::Store;

use crate::common::ServerProcess;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Where every test clock starts: after every period the fixtures write (the latest is
/// 2024-03); more than a year after the 2023 and 2024 targets, so that none of their
/// figures is overdue "today" (overdue alerts look at this year's and last year's
/// targets; the tests pass `on=` when they want some); and at 08:00 in Asia/Shanghai,
/// before the daily reminder run (08:30), so that no digest goes out unless a test asks
/// for one.
pub const TEST_EPOCH: &str = "2026-03-15T00:00:00Z";

/// A catalogue header for tests that bring their own indicators.
pub const TEST_CATALOGUE_HEADER: &str = r#"
[catalogue]
region = "测试县"
document = "测试方案"
year = 2023

[[unit]]
name = "县统计局"

[[unit]]
name = "县科工局"
"#;

// ── the clock ─────────────────────────────────────────────────────────────

/// When the first test clock of this process was read: every default clock counts
/// from it, so that a server restarted on a store carries on from its first life's
/// times instead of going back to [`TEST_EPOCH`].
fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// A clock for tests: [`TEST_EPOCH`] plus the real time elapsed since this process
/// started its first one (so writes made one after another get increasing times),
/// plus whatever the test moved it forward by with [`TestClock::advance`].
#[derive(Clone, Debug)]
pub struct TestClock {
    epoch: DateTime<Utc>,
    started: Instant,
    offset_ns: Arc<AtomicI64>,
}

impl Default for TestClock {
    fn default() -> TestClock {
        TestClock {
            epoch: TEST_EPOCH.parse().expect("TEST_EPOCH is RFC 3339"),
            started: process_start(),
            offset_ns: Arc::default(),
        }
    }
}

impl TestClock {
    /// A clock that starts at `at` now and runs with real time.
    pub fn starting_at(at: DateTime<Utc>) -> TestClock {
        TestClock {
            epoch: at,
            started: Instant::now(),
            offset_ns: Arc::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).expect("elapsed");
        self.epoch + elapsed + chrono::Duration::nanoseconds(self.offset_ns.load(Ordering::SeqCst))
    }

    /// Moves this clock (and every server that uses it) forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.offset_ns
            .fetch_add(d.as_nanos() as i64, Ordering::SeqCst);
    }

    /// The library's clock reading this one, in `tz`.
    pub fn clock(&self, tz: chrono_tz::Tz) -> zhibiao::clock::Clock {
        let c = self.clone();
        zhibiao::clock::Clock::from_fn(move || c.now(), tz)
    }
}

/// What the default test clock says now (for tests that build their catalogue from the
/// current year before any server exists).
pub fn test_now() -> DateTime<Utc> {
    TestClock::default().now()
}

// ── stores ────────────────────────────────────────────────────────────────

/// Loads the catalogue in `file` into the store in `dir` as `zhibiao import` does
/// (through the library, without a process), and insists it succeeds.
pub fn import(file: &Path, dir: &Path) {
    let text = std::fs::read_to_string(file).expect("read the catalogue");
    import_text(&text, dir);
}

fn import_text(text: &str, dir: &Path) {
    let cat = zhibiao::catalogue::Catalogue::parse(text).expect("a valid catalogue");
    let store = open_store(dir);
    store
        .import_catalogue(&cat, "import", Utc::now())
        .expect("import");
    store.flush().expect("flush");
    let _g = crate::common::fork_guard();
    drop(store);
}

/// Opens a store (closed by a server that stopped), waiting (up to 20 s) for a lock that a server just stopped, or a
/// child forked meanwhile, still holds.
pub fn open_store(dir: &Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match Store::open(dir, 16 * 1024 * 1024) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline && e.to_string().contains("lock") => {
                // Waiting for the lock to go, which it does once the holder has exited.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("open the store in {}: {e}", dir.display()),
        }
    }
}

// ── the server ────────────────────────────────────────────────────────────

/// How to start a [`TestServer`].
#[derive(Debug, Clone)]
pub struct Builder {
    args: Vec<String>,
    admin_token: Option<String>,
    catalogue: Option<String>,
    clock: Option<TestClock>,
    process: bool,
    env: Vec<(String, String)>,
    capture_stderr: bool,
    auth_throttle: Option<(u32, Duration)>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            args: Vec::new(),
            admin_token: Some(ADMIN_TOKEN.to_string()),
            catalogue: None,
            clock: None,
            process: false,
            env: Vec::new(),
            capture_stderr: false,
            auth_throttle: None,
        }
    }
}

impl Builder {
    /// `serve` flags after `--db DIR --addr 127.0.0.1:0`.
    pub fn args(mut self, args: &[&str]) -> Builder {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// The admin secret (default [`ADMIN_TOKEN`]); `None` lets the first start generate
    /// one into `<db>/admin-token`.
    pub fn admin_token(mut self, token: Option<&str>) -> Builder {
        self.admin_token = token.map(str::to_string);
        self
    }

    /// A store holding only the indicators of `body` (TOML `[[indicator]]` entries
    /// appended to [`TEST_CATALOGUE_HEADER`]), instead of the built-in catalogue.
    pub fn catalogue(mut self, body: &str) -> Builder {
        self.catalogue = Some(format!("{TEST_CATALOGUE_HEADER}\n{body}"));
        self
    }

    /// The server's clock (default: a [`TestClock::default`]).
    pub fn clock(mut self, clock: TestClock) -> Builder {
        self.clock = Some(clock);
        self
    }

    /// Locks an address out after `limit` failed authentications within `window`
    /// (instead of the API's 20 in 60 s), so that a test can wait the window out.
    pub fn auth_throttle(mut self, limit: u32, window: Duration) -> Builder {
        self.auth_throttle = Some((limit, window));
        self
    }

    /// Runs the `zhibiao` binary instead, on the wall clock: for a test that kills the
    /// process, reads its log, or counts process-wide metrics.
    pub fn process(mut self) -> Builder {
        self.process = true;
        self
    }

    /// An environment variable for the process (with [`Builder::process`]).
    pub fn env(mut self, key: &str, value: &str) -> Builder {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Keeps the process's stderr for [`TestServer::stop_log`] (with
    /// [`Builder::process`]).
    pub fn capture_stderr(mut self) -> Builder {
        self.capture_stderr = true;
        self
    }

    /// Starts on a fresh store in a temporary directory.
    pub fn start(self) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("db");
        let mut s = self.start_at(&dir);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on the store in `dir` (created when missing).
    pub fn start_at(self, dir: &Path) -> TestServer {
        if let Some(text) = &self.catalogue {
            import_text(text, dir);
        }
        // The tests of everything else read figures as soon as they are written: they
        // run with `--publish immediate` unless they ask for the review (tests/api/release.rs).
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        if !args.contains(&"--publish") {
            args.extend(["--publish", "immediate"]);
        }
        if self.process {
            assert!(
                self.clock.is_none() && self.auth_throttle.is_none(),
                "a process runs on the wall clock, with the default lock-out"
            );
            let mut cmd = crate::common::serve_command(dir, "", &args);
            match &self.admin_token {
                Some(t) => cmd.env("ZHIBIAO_ADMIN_TOKEN", t),
                None => cmd.env_remove("ZHIBIAO_ADMIN_TOKEN"),
            };
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            if self.capture_stderr {
                cmd.stderr(std::process::Stdio::piped());
            }
            let p = ServerProcess::spawn(&mut cmd);
            return TestServer {
                base: p.base.clone(),
                client: crate::common::client(Duration::from_secs(30)),
                dir: dir.to_path_buf(),
                clock: None,
                backend: Backend::Process(p),
                _tmp: None,
            };
        }
        assert!(
            self.env.is_empty() && !self.capture_stderr,
            "environment and stderr are for a process server"
        );
        let clock = self.clock.unwrap_or_default();
        let mut cfg_args = vec!["--db", dir.to_str().unwrap(), "--addr", "127.0.0.1:0"];
        cfg_args.extend(args);
        let mut cfg = ServeConfig::from_args(cfg_args, self.admin_token.as_deref())
            .unwrap_or_else(|e| panic!("serve options: {e}"));
        cfg.clock = clock.clock(cfg.clock.tz());
        cfg.auth_throttle = self.auth_throttle;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let deadline = Instant::now() + Duration::from_secs(20);
        let running = loop {
            match rt.block_on(zhibiao::cli::serve::start(cfg.clone())) {
                Ok(r) => break r,
                // A store just closed by an earlier life of this server, or by a CLI run,
                // can stay locked until a child forked meanwhile has exec'd.
                Err(e) if Instant::now() < deadline && e.to_string().contains("lock") => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("start the server on {}: {e}", dir.display()),
            }
        };
        TestServer {
            base: running.url(),
            client: crate::common::client(Duration::from_secs(30)),
            dir: dir.to_path_buf(),
            clock: Some(clock),
            backend: Backend::App {
                rt: Some(rt),
                running: Some(running),
            },
            _tmp: None,
        }
    }
}

enum Backend {
    /// In this process, on its own runtime.
    App {
        rt: Option<tokio::runtime::Runtime>,
        running: Option<Running>,
    },
    /// The `zhibiao` binary.
    Process(ServerProcess),
}

/// A running server and its store directory.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    dir: PathBuf,
    clock: Option<TestClock>,
    backend: Backend,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A server on a fresh store, which loads the built-in 2023 catalogue.
    pub fn start() -> TestServer {
        Builder::default().start()
    }

    /// A server whose store holds only the indicators of `catalogue_body` (TOML
    /// `[[indicator]]` entries appended to [`TEST_CATALOGUE_HEADER`]).
    pub fn with_catalogue(catalogue_body: &str) -> TestServer {
        Builder::default().catalogue(catalogue_body).start()
    }

    /// [`TestServer::with_catalogue`] with extra `serve` options.
    pub fn with_catalogue_and(catalogue_body: &str, args: &[&str]) -> TestServer {
        Builder::default()
            .catalogue(catalogue_body)
            .args(args)
            .start()
    }

    /// A server on a fresh store with extra `serve` options.
    pub fn start_with(args: &[&str]) -> TestServer {
        Builder::default().args(args).start()
    }

    /// Starts a server on an existing (or new) store directory.
    pub fn start_at(dir: &Path) -> TestServer {
        Builder::default().start_at(dir)
    }

    /// Starts a server on a store directory with extra `serve` options.
    pub fn start_at_with(dir: &Path, args: &[&str]) -> TestServer {
        Builder::default().args(args).start_at(dir)
    }

    /// The store directory.
    /// The server, which now owns the temporary directory its store is in.
    pub fn keeping(mut self, tmp: tempfile::TempDir) -> TestServer {
        self._tmp = Some(tmp);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().expect("GET")
    }

    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().expect("JSON body")
    }

    /// Creates a submitter token for `units` as admin, insists on 201, and returns its
    /// secret.
    pub fn submitter(&self, name: &str, units: &[&str]) -> String {
        self.token(name, "submitter", units)
    }

    /// Creates a token of any role as admin and returns its secret.
    pub fn token(&self, name: &str, role: &str, units: &[&str]) -> String {
        let r = self
            .client
            .post(self.url("/v1/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({"name": name, "role": role, "units": units}))
            .send()
            .expect("POST /v1/tokens");
        assert_eq!(r.status(), 201, "create token {name}");
        r.json::<Value>().unwrap()["token"]
            .as_str()
            .expect("the secret")
            .to_string()
    }

    /// PUT a reading as admin.
    /// POSTs the fixture year of readings (`tests/fixtures/readings-2023.csv`) as one
    /// admin batch: the built-in catalogue's 2023, as the browser check and the API
    /// guide's examples see it.
    pub fn load_fixture_year(&self) {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/readings-2023.csv"
        ))
        .expect("read the fixture");
        let r = self
            .client
            .post(self.url("/v1/readings"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .expect("POST fixture");
        assert_eq!(r.status(), 200, "fixture batch: {}", r.text().unwrap());
        let v: Value = r.json().unwrap();
        assert_eq!(v["rejected"], 0, "{v}");
    }

    pub fn put_reading(&self, id: &str, period: &str, body: Value) -> Response {
        self.client
            .put(self.url(&format!("/v1/indicators/{id}/readings/{period}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .expect("PUT")
    }

    /// PUT a value and insist it was accepted.
    pub fn submit(&self, id: &str, period: &str, value: f64) {
        let r = self.put_reading(id, period, serde_json::json!({ "value": value }));
        assert!(
            r.status().is_success(),
            "PUT {id} {period}: {}",
            r.text().unwrap()
        );
    }

    pub fn attainment(&self, id: &str, as_of: &str) -> Value {
        self.get_json(&format!("/v1/indicators/{id}/attainment?as_of={as_of}"))
    }

    // ── the clock ──

    /// The server's "now": its test clock, or the wall clock for a process.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, TestClock::now)
    }

    /// Moves the server's clock forward by `d` (an in-process server only).
    pub fn advance(&self, d: Duration) {
        self.clock
            .as_ref()
            .expect("a process server runs on the wall clock")
            .advance(d);
    }

    /// The server's today, in its zone (`--tz`).
    pub fn today(&self) -> NaiveDate {
        self.running().notifier.clock.today()
    }

    // ── the inside of an in-process server ──

    fn running(&self) -> &Running {
        match &self.backend {
            Backend::App {
                running: Some(r), ..
            } => r,
            _ => panic!("only an in-process server shows its inside"),
        }
    }

    /// The server's store.
    pub fn store(&self) -> &Store {
        &self.running().store
    }

    /// One notifier step now: what the writes so far lead to is in the outbox when it
    /// returns.
    pub fn notifier_step(&self) {
        self.running().notifier.step().expect("notifier step");
    }

    /// The daily digest and 催报 run of `day`, now; how many messages it queued.
    pub fn run_day(&self, day: NaiveDate) -> usize {
        self.running().notifier.run_day(day).expect("daily run")
    }

    /// The jobs waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.store().outbox().expect("outbox").len()
    }

    /// Waits (up to 20 s) until the background notifier has stepped over every write
    /// made so far (its cursor has reached the store's change counter). Only meaningful
    /// while a receiver is registered: without one the cursor does not move.
    pub fn notifier_caught_up(&self) {
        let store = self.store();
        let want = store.change_seq().expect("change seq");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let cursor = store
                .notifier_state()
                .expect("notifier state")
                .cursor
                .unwrap_or(0);
            if cursor >= want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the notifier is at {cursor}, the store at {want}"
            );
            // Polling for the background step, which is coming.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (up to 20 s) until every job in the outbox has been delivered or given up.
    pub fn outbox_drained(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = self.outbox_len();
            if n == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{n} jobs still in the outbox");
            // Polling for deliveries, which are coming.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    // ── stopping ──

    /// Stops the server as SIGTERM would (in flight requests finish, the store is
    /// flushed and closed) and waits until it has; returns the store directory.
    pub fn stop(mut self) -> (PathBuf, Option<tempfile::TempDir>) {
        self.shut_down();
        (self.dir.clone(), self._tmp.take())
    }

    /// Stops a process server and returns everything it wrote to stderr (captured with
    /// [`Builder::capture_stderr`]).
    pub fn stop_log(mut self) -> String {
        match &mut self.backend {
            Backend::Process(p) => {
                let _ = p.terminate(Duration::from_secs(20));
                p.log()
            }
            Backend::App { .. } => panic!("only a process server has a log"),
        }
    }

    /// Kills the process without any chance to clean up, as a crash would (a process
    /// server only: a server inside the test process cannot crash alone).
    pub fn kill(mut self) -> (PathBuf, Option<tempfile::TempDir>) {
        match &mut self.backend {
            Backend::Process(p) => p.kill(),
            Backend::App { .. } => {
                panic!("a crash needs a process server: TestServer::builder().process()")
            }
        }
        (self.dir.clone(), self._tmp.take())
    }

    fn shut_down(&mut self) {
        match &mut self.backend {
            Backend::Process(p) => {
                if let Err(e) = p.terminate(Duration::from_secs(20)) {
                    panic!("{e}");
                }
            }
            Backend::App { rt, running } => {
                let Some(rt) = rt.take() else { return };
                if let Some(r) = running.take() {
                    // Requests still open (an alert stream) would hold a graceful stop
                    // forever; the runtime's shutdown below ends them.
                    let stopped = rt.block_on(async {
                        tokio::time::timeout(Duration::from_secs(10), r.stop()).await
                    });
                    if let Ok(Err(e)) = stopped {
                        panic!("stopping the server: {e}");
                    }
                }
                // The notifier's tasks hold the store too: it is closed once they end.
                let _g = crate::common::fork_guard();
                rt.shutdown_timeout(Duration::from_secs(10));
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Backend::Process(p) = &mut self.backend {
            p.kill();
            return;
        }
        // The test is over: no graceful wait (a stream it left open would hold one for
        // as long as it is open), only the store flushed, then the runtime's shutdown
        // ends every task and connection and closes the store.
        if let Backend::App { rt, running } = &mut self.backend {
            if let Some(r) = running.take() {
                let _ = r.store.flush();
            }
            if let Some(rt) = rt.take() {
                let _g = crate::common::fork_guard();
                rt.shutdown_timeout(Duration::from_secs(10));
            }
        }
    }
}

/// Asserts that a JSON number is within 1e-6 of `want`.
pub fn assert_close(v: &Value, field: &str, want: f64) {
    let got = v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"));
    assert!((got - want).abs() < 1e-6, "{field}: got {got}, want {want}");
}

/// Asserts that a field is JSON null.
pub fn assert_null(v: &Value, field: &str) {
    assert!(v[field].is_null(), "{field} should be null in {v}");
}

/// One `[[indicator]]` TOML entry for a test catalogue.
pub fn entry(id: &str, kind: &str, direction: &str, target: &str) -> String {
    format!(
        r#"
[[indicator]]
id = "{id}"
name = "测试指标{id}"
battle = "growth"
kind = "{kind}"
unit = "个"
direction = "{direction}"
frequency = "monthly"
lead_units = ["县科工局"]
source = {{ section = "测试", quote = "测试" }}
[indicator.target]
{target}
"#
    )
}
