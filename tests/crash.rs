//! Crash test: SIGKILL the real `zhibiao serve` again and again, during startup and while
//! writers are sending readings, and check after every restart that
//!
//! - the store opens (within [`START_LIMIT`]), also after a kill during the previous
//!   startup: at a random moment, or the moment sled starts writing its
//!   `snap.*.generating` file (upstream sled #1527/#1533);
//! - every acknowledged (2xx) reading reads back with exactly the value sent;
//! - every batch is all-or-nothing;
//! - no reading exists that was never sent, and a reading seen after one restart is
//!   still there after the next (and one seen absent stays absent);
//! - each reading has exactly one revision (sampled through the revisions endpoint), and
//!   `zhibiao check` passes with the server stopped (every ~10 cycles and at the end).
//!
//! Modelled on sled's `tests/test_crash_recovery.rs`. Every write goes to an
//! (indicator, period) key never used before in the store, with a value unique to that
//! key, so each key is written exactly once and its state after a crash is unambiguous.
//!
//! - `ZHIBIAO_CRASH_CYCLES`: number of kill/restart cycles (default 30).
//! - `ZHIBIAO_CRASH_SEED`: replay the random choices (kill moments, batch sizes, ...) of
//!   an earlier run; the seed is printed at the start. Timing still varies from run to
//!   run, so a replay makes the same choices, not necessarily the same interleaving.
//! - `ZHIBIAO_CRASH_DELETE_TORN_SNAPSHOT=1` (diagnostic, off by default): when the store
//!   will not open and its newest snapshot file is a `snap.*.generating`, delete that file
//!   and go on, to see whether anything was lost. The run still fails, listing each case.
//!
//! A store's key space is every indicator × 2000-01…2025-12 (203 × 312 keys); when a
//! store's keys run low the run goes on with a new store (in release, about every 35
//! cycles), after a `zhibiao check` of the old one.
//!
//! On a failure the store directory is kept and its path printed.
//!
//! `scripts/crash-test --cycles N` runs this in release mode.
//!
//! **Power cuts.** `acknowledged_writes_survive_power_cuts` (ignored in plain `cargo
//! test`; `scripts/crash-test --power-cut --cycles N` runs it) does the same over
//! [`lazyfs`]: the store lives on a FUSE mount that keeps every write not yet fsynced in
//! memory, and each SIGKILL is followed by a power cut that drops those writes before
//! the restart. A reading acknowledged without an fsync behind it is lost there.

mod common;
mod lazyfs;

use std::collections::HashMap;
use std::fs::File;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::Client;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_zhibiao");
const ADMIN_TOKEN: &str = "crash-test-admin-token-0123456789";
/// Concurrent writers: even ones send single PUTs, odd ones batches.
const WRITERS: usize = 6;
/// Readings go to periods FIRST_YEAR-01 … (FIRST_YEAR+YEARS-1)-12: never in the future.
const FIRST_YEAR: u64 = 2000;
const YEARS: u64 = 26;
const PERIODS: u64 = YEARS * 12;
/// How long a restarted server may take to print its address.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long `zhibiao check` may take.
const CHECK_LIMIT: Duration = Duration::from_secs(120);
/// Run `zhibiao check` after every this many cycles (and after the last).
const CHECK_EVERY: u32 = 10;
/// Chance that a restart is preceded by a kill during startup (repeated up to 3 times).
const STARTUP_KILL_CHANCE: f64 = 0.3;
/// Problems listed in the failure message.
const MAX_LISTED: usize = 40;

// ── randomness ─────────────────────────────────────────────────────────────

/// xorshift64*, seeded through splitmix64.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// A new generator for a sub-task, so that each task's choices depend only on the
    /// seed and the task's number.
    fn fork(&mut self, n: u64) -> Rng {
        Rng::new(self.next() ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    )
}

// ── the power, in the power-cut run ────────────────────────────────────────

/// The lazy mount the store lives on, in the power-cut run.
static POWER: Mutex<Option<lazyfs::LazyMount>> = Mutex::new(None);
/// Power cuts made.
static CUTS: AtomicU64 = AtomicU64::new(0);

/// After a SIGKILL, in the power-cut run: the power goes too, and every write not yet
/// fsynced is lost. Nothing otherwise.
fn power_cut() {
    if let Some(m) = POWER.lock().unwrap().as_mut() {
        m.cut().expect("remount the lazy file system after the cut");
        CUTS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Unmounts the lazy file system when the run ends, however it ends.
struct Unplug;

impl Drop for Unplug {
    fn drop(&mut self) {
        if let Ok(mut p) = POWER.lock() {
            p.take();
        }
    }
}

// ── the server process ─────────────────────────────────────────────────────

/// A running `zhibiao serve`. Dropping it kills the process.
type Server = common::ServerProcess;

/// SIGKILL and SIGTERM, in this file's words.
trait Lifecycle {
    /// SIGKILL: no chance to flush or clean up.
    fn crash(self);
    /// SIGTERM, then waits for the graceful shutdown (which flushes).
    fn stop(self) -> Result<ExitStatus, String>;
}

impl Lifecycle for Server {
    fn crash(mut self) {
        self.kill();
        power_cut();
    }

    fn stop(mut self) -> Result<ExitStatus, String> {
        self.terminate(Duration::from_secs(30))
    }
}

/// Starts `zhibiao serve` on `db`, stderr to `log`; the receiver gets the base URL once
/// the server prints it.
fn spawn(db: &Path, log: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = common::serve_command(db, ADMIN_TOKEN, &[])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::from(
            File::create(log).expect("create the server log"),
        ))
        .spawn()
        .expect("spawn zhibiao serve");
    let rx = common::address_receiver(&mut child);
    (child, rx)
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The files of a store directory with their sizes (to spot e.g. `snap.*.generating`).
fn listing(dir: &Path) -> String {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                out.push(format!("{rel} ({len} bytes)"));
            }
        }
    }
    out.sort();
    out.join(", ")
}

/// Starts the server and waits for its address. An error says why it did not open.
fn start(db: &Path, log: &Path) -> Result<(Server, Duration), String> {
    let t0 = Instant::now();
    let (mut child, rx) = spawn(db, log);
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(base) => return Ok((Server::from_child(child, base), t0.elapsed())),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed without an address: the process is exiting.
                let st = child.wait().ok();
                return Err(format!(
                    "the server exited ({st:?}) before it printed its address; stderr:\n{}\nstore files: {}",
                    tail(log, 30),
                    listing(db)
                ));
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!(
                "the server exited ({st}) before it printed its address; stderr:\n{}\nstore files: {}",
                tail(log, 30),
                listing(db)
            ));
        }
        if t0.elapsed() > START_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the server did not open the store within {START_LIMIT:?}; stderr:\n{}\nstore files: {}",
                tail(log, 30),
                listing(db)
            ));
        }
    }
}

/// When a startup is killed.
#[derive(Debug, Clone, Copy)]
enum StartupKill {
    /// This long after the spawn: while sled recovers, or just after the address.
    After(Duration),
    /// The moment a new `snap.*.generating` file appears in the store: sled writes its
    /// snapshot (write, fsync, rename) while it opens, and upstream issues #1527/#1533
    /// report stores that no longer open after a crash there.
    AtSnapshot,
}

/// The names of the `snap.*.generating` files in a store directory.
fn generating(db: &Path) -> Vec<String> {
    std::fs::read_dir(db)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with("snap.") && n.ends_with(".generating"))
                .collect()
        })
        .unwrap_or_default()
}

/// What a killed startup had got to.
#[derive(Debug)]
struct Killed {
    printed_address: bool,
    /// The `snap.*.generating` file that existed at the kill, with its size after it.
    snapshot: Option<(String, u64)>,
    /// For error messages.
    describe: String,
}

/// Starts the server and SIGKILLs it during startup. An error if it died by itself.
fn startup_kill(db: &Path, log: &Path, how: StartupKill) -> Result<Killed, String> {
    let before = generating(db);
    let t0 = Instant::now();
    let (mut child, rx) = spawn(db, log);
    let mut printed = false;
    let mut snapshot = None;
    match how {
        StartupKill::After(delay) => std::thread::sleep(delay),
        StartupKill::AtSnapshot => loop {
            if let Some(n) = generating(db).into_iter().find(|n| !before.contains(n)) {
                snapshot = Some(n);
                break;
            }
            if rx.try_recv().is_ok() {
                printed = true;
                break;
            }
            if t0.elapsed() > START_LIMIT || matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
        },
    }
    if snapshot.is_some() {
        // No exit check first: kill at once, while sled may be mid-write.
    } else if let Ok(Some(st)) = child.try_wait() {
        if !printed && rx.try_recv().is_err() {
            return Err(format!(
                "the server exited by itself ({st}) during startup; stderr:\n{}\nstore files: {}",
                tail(log, 30),
                listing(db)
            ));
        }
    }
    let _ = child.kill();
    let at = t0.elapsed();
    let _ = child.wait();
    power_cut();
    printed = printed || rx.try_recv().is_ok();
    let snapshot = snapshot.map(|n| {
        let len = std::fs::metadata(db.join(&n)).map(|m| m.len()).unwrap_or(0);
        (n, len)
    });
    let describe = match &snapshot {
        Some((n, len)) => format!("SIGKILL {at:?} into startup while sled was writing {n} ({len} bytes on disk after the kill)"),
        None => format!(
            "SIGKILL {at:?} into startup, {} it printed its address",
            if printed { "after" } else { "before" }
        ),
    };
    Ok(Killed {
        printed_address: printed,
        snapshot,
        describe,
    })
}

/// Runs `zhibiao check --db DIR --json` (server stopped). Returns the number of
/// readings it counted, or why it failed.
fn check(db: &Path, scratch: &Path) -> Result<u64, String> {
    let out_path = scratch.join("check.out");
    let err_path = scratch.join("check.err");
    let mut child = Command::new(BIN)
        .args(["check", "--db", db.to_str().unwrap(), "--json"])
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(File::create(&out_path).unwrap()))
        .stderr(Stdio::from(File::create(&err_path).unwrap()))
        .spawn()
        .expect("spawn zhibiao check");
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for zhibiao check") {
            break st;
        }
        if t0.elapsed() > CHECK_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "zhibiao check did not finish within {CHECK_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "zhibiao check --db {} exited with {status}\nstdout:\n{}\nstderr:\n{}\nstore files: {}",
            db.display(),
            stdout.chars().take(6000).collect::<String>(),
            stderr.chars().take(3000).collect::<String>(),
            listing(db)
        ));
    }
    let report: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("zhibiao check --json printed no JSON ({e}): {stdout}"))?;
    report["readings"]
        .as_u64()
        .ok_or_else(|| format!("zhibiao check --json has no readings count: {report}"))
}

fn client(timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("HTTP client")
}

// ── what was sent ──────────────────────────────────────────────────────────

/// An (indicator, period) pair, numbered 0 … indicators × PERIODS - 1. Consecutive keys
/// go to different indicators, so a batch spreads over the catalogue.
#[derive(Debug, Clone)]
struct Keys {
    ids: Vec<String>,
}

impl Keys {
    fn space(&self) -> u64 {
        self.ids.len() as u64 * PERIODS
    }

    fn indicator(&self, k: u64) -> &str {
        &self.ids[(k % self.ids.len() as u64) as usize]
    }

    fn period(&self, k: u64) -> String {
        let p = k / self.ids.len() as u64;
        format!("{:04}-{:02}", FIRST_YEAR + p / 12, p % 12 + 1)
    }

    /// The key of an indicator index and a `YYYY-MM` period, if it is in range.
    fn key(&self, ind: usize, period: &str) -> Option<u64> {
        let (y, m) = period.split_once('-')?;
        let (y, m): (u64, u64) = (y.parse().ok()?, m.parse().ok()?);
        if !(FIRST_YEAR..FIRST_YEAR + YEARS).contains(&y) || !(1..=12).contains(&m) {
            return None;
        }
        Some(((y - FIRST_YEAR) * 12 + m - 1) * self.ids.len() as u64 + ind as u64)
    }

    fn label(&self, k: u64) -> String {
        format!("{} {}", self.indicator(k), self.period(k))
    }
}

/// Sent with every write: the values are chosen to be told apart, not to look like
/// statistics, so they fail the quality checks and are stored flagged.
const EXPLANATION: &str = "crash-test figure";

/// The value written to key `k`: unique, positive (cumulative indicators refuse
/// negatives), exact in binary.
fn value_of(k: u64) -> f64 {
    k as f64 + 1.25
}

#[derive(Debug, Clone)]
struct KeyState {
    value: f64,
    batch: Option<usize>,
    acked: bool,
    cycle: u32,
    /// Present after the first restart that followed the write; later restarts must agree.
    seen: Option<bool>,
}

#[derive(Debug, Clone)]
struct BatchRec {
    keys: Vec<u64>,
    acked: bool,
    cycle: u32,
}

/// Every write sent to the current store.
#[derive(Debug, Default)]
struct Ledger {
    keys: HashMap<u64, KeyState>,
    batches: Vec<BatchRec>,
    /// Answers that were neither 2xx nor a dropped connection.
    odd_answers: Vec<String>,
}

#[derive(Debug, Default)]
struct Totals {
    acked_readings: u64,
    acked_in_batches: u64,
    batches_checked: u64,
    acked_batches: u64,
    sent_readings: u64,
    landed_unacked: u64,
    startup_kills: u64,
    startup_kills_after_address: u64,
    /// Startup kills that landed while a `snap.*.generating` file existed.
    snapshot_kills: u64,
    checks: u64,
    stores: u64,
    slowest_start: Duration,
}

/// What went wrong, by kind.
#[derive(Debug, Default)]
struct Problems {
    lost: Vec<String>,
    torn: Vec<String>,
    phantom: Vec<String>,
    wrong: Vec<String>,
    flapping: Vec<String>,
    revisions: Vec<String>,
    open: Vec<String>,
    /// Opens that failed on a torn snapshot, which was then deleted so the run could go
    /// on (only with `ZHIBIAO_CRASH_DELETE_TORN_SNAPSHOT=1`). Still a failure.
    reopened: Vec<String>,
    check: Vec<String>,
    http: Vec<String>,
}

impl Problems {
    fn all(&self) -> Vec<(&'static str, &Vec<String>)> {
        vec![
            ("store did not open", &self.open),
            (
                "store did not open until its newest snap.*.generating was deleted",
                &self.reopened,
            ),
            ("acknowledged reading lost", &self.lost),
            ("batch half applied", &self.torn),
            ("reading never sent", &self.phantom),
            ("wrong value", &self.wrong),
            (
                "reading appeared/disappeared between restarts",
                &self.flapping,
            ),
            ("revisions", &self.revisions),
            ("zhibiao check failed", &self.check),
            ("unexpected HTTP answer", &self.http),
        ]
    }

    fn count(&self) -> usize {
        self.all().iter().map(|(_, v)| v.len()).sum()
    }

    /// Problems that stop the run (all but the torn snapshots deleted on request).
    fn fatal(&self) -> usize {
        self.count() - self.reopened.len()
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        for (kind, list) in self.all() {
            if list.is_empty() {
                continue;
            }
            s.push_str(&format!("{kind}: {}\n", list.len()));
            for p in list.iter().take(MAX_LISTED) {
                s.push_str(&format!("  {p}\n"));
            }
            if list.len() > MAX_LISTED {
                s.push_str(&format!("  … and {} more\n", list.len() - MAX_LISTED));
            }
        }
        s
    }
}

// ── writers ────────────────────────────────────────────────────────────────

struct WriteShared {
    keys: Keys,
    next: AtomicU64,
    stop: AtomicBool,
    ledger: Mutex<Ledger>,
    base: String,
    cycle: u32,
}

fn writer(sh: &WriteShared, batches: bool, mut rng: Rng) {
    let http = client(Duration::from_secs(10));
    let space = sh.keys.space();
    while !sh.stop.load(Ordering::SeqCst) {
        let n = if batches { rng.range(2, 20) } else { 1 };
        let first = sh.next.fetch_add(n, Ordering::SeqCst);
        if first + n > space {
            return;
        }
        let ks: Vec<u64> = (first..first + n).collect();
        {
            let mut l = sh.ledger.lock().unwrap();
            let batch = batches.then(|| {
                l.batches.push(BatchRec {
                    keys: ks.clone(),
                    acked: false,
                    cycle: sh.cycle,
                });
                l.batches.len() - 1
            });
            for &k in &ks {
                l.keys.insert(
                    k,
                    KeyState {
                        value: value_of(k),
                        batch,
                        acked: false,
                        cycle: sh.cycle,
                        seen: None,
                    },
                );
            }
        }
        let sent = if batches {
            let rows: Vec<Value> = ks
                .iter()
                .map(|&k| {
                    json!({"indicator": sh.keys.indicator(k), "period": sh.keys.period(k), "value": value_of(k), "explanation": EXPLANATION})
                })
                .collect();
            http.post(format!("{}/v1/readings", sh.base))
                .bearer_auth(ADMIN_TOKEN)
                .json(&rows)
                .send()
        } else {
            let k = ks[0];
            http.put(format!(
                "{}/v1/indicators/{}/readings/{}",
                sh.base,
                sh.keys.indicator(k),
                sh.keys.period(k)
            ))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "value": value_of(k), "explanation": EXPLANATION }))
            .send()
        };
        // A dropped connection (the kill) leaves the write unacknowledged: it may or may
        // not have landed, but a batch must have landed whole or not at all. The server
        // is gone: stop, rather than spend keys on refused connections.
        let Ok(resp) = sent else { return };
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        let mut l = sh.ledger.lock().unwrap();
        let what = if batches {
            format!(
                "POST /v1/readings ({} rows from {})",
                n,
                sh.keys.label(first)
            )
        } else {
            format!("PUT {}", sh.keys.label(first))
        };
        if !status.is_success() {
            // The kill can cut a body short, but never turns into a status: anything
            // else is the server refusing a valid write.
            l.odd_answers.push(format!("{what}: {status} {body}"));
            continue;
        }
        let want_created = if batches {
            serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|a| a["created"].as_u64())
                == Some(n)
        } else {
            status.as_u16() == 201
        };
        if !want_created {
            l.odd_answers.push(format!(
                "{what}: {status}, expected every row created: {body}"
            ));
        }
        if let Some(b) = l.keys.get(&first).and_then(|s| s.batch) {
            l.batches[b].acked = true;
        }
        for k in &ks {
            l.keys.get_mut(k).unwrap().acked = true;
        }
    }
}

/// Runs the writers against `srv` and SIGKILLs it `kill_after` into the writing.
/// Returns how many keys were used.
fn write_and_kill(
    srv: Server,
    keys: &Keys,
    next_key: u64,
    ledger: Ledger,
    cycle: u32,
    kill_after: Duration,
    rng: &mut Rng,
) -> (Ledger, u64) {
    let sh = WriteShared {
        keys: keys.clone(),
        next: AtomicU64::new(next_key),
        stop: AtomicBool::new(false),
        ledger: Mutex::new(ledger),
        base: srv.base.clone(),
        cycle,
    };
    let rngs: Vec<Rng> = (0..WRITERS).map(|w| rng.fork(w as u64)).collect();
    std::thread::scope(|s| {
        for (w, r) in rngs.into_iter().enumerate() {
            let sh = &sh;
            s.spawn(move || writer(sh, w % 2 == 1, r));
        }
        std::thread::sleep(kill_after);
        srv.crash();
        sh.stop.store(true, Ordering::SeqCst);
    });
    let used = sh.next.load(Ordering::SeqCst).min(keys.space());
    (sh.ledger.into_inner().unwrap(), used)
}

// ── verification ───────────────────────────────────────────────────────────

/// One reading as the server lists it.
struct Seen {
    key: u64,
    value: f64,
    revision: u64,
    by: String,
}

/// One reader thread's readings, and those outside the periods written; or its error.
type ThreadResult = Result<(Vec<Seen>, Vec<String>), String>;

/// Reads every indicator's readings from a running server.
fn read_all(base: &str, keys: &Keys, problems: &mut Problems) -> Vec<Seen> {
    let threads = 4;
    let results: Vec<ThreadResult> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let http = client(Duration::from_secs(30));
                    let mut seen = Vec::new();
                    let mut phantom = Vec::new();
                    for (i, id) in keys.ids.iter().enumerate() {
                        if i % threads != t {
                            continue;
                        }
                        let url = format!("{base}/v1/indicators/{id}/readings");
                        let resp = http
                            .get(&url)
                            .send()
                            .map_err(|e| format!("GET {url}: {e}"))?;
                        let status = resp.status();
                        let text = resp.text().map_err(|e| format!("GET {url}: {e}"))?;
                        if status != 200 {
                            return Err(format!("GET {url}: {status} {text}"));
                        }
                        let rows: Vec<Value> = serde_json::from_str(&text)
                            .map_err(|e| format!("GET {url}: not a JSON list ({e})"))?;
                        for r in rows {
                            let period = r["period_key"].as_str().unwrap_or("?").to_string();
                            let value = r["value"].as_f64().unwrap_or(f64::NAN);
                            match keys.key(i, &period) {
                                None => phantom.push(format!(
                                    "{id} {period} = {value}: outside the periods written"
                                )),
                                Some(key) => seen.push(Seen {
                                    key,
                                    value,
                                    revision: r["revision"].as_u64().unwrap_or(0),
                                    by: r["recorded_by"].as_str().unwrap_or("").to_string(),
                                }),
                            }
                        }
                    }
                    Ok((seen, phantom))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Vec::new();
    for r in results {
        match r {
            Ok((seen, phantom)) => {
                all.extend(seen);
                problems.phantom.extend(phantom);
            }
            Err(e) => problems.http.push(e),
        }
    }
    all
}

/// Compares what the restarted server holds with the ledger. Returns the number of
/// readings present.
fn verify(
    base: &str,
    keys: &Keys,
    ledger: &mut Ledger,
    totals: &mut Totals,
    problems: &mut Problems,
    rng: &mut Rng,
) -> usize {
    let seen = read_all(base, keys, problems);
    let mut present: HashMap<u64, f64> = HashMap::with_capacity(seen.len());
    for s in &seen {
        present.insert(s.key, s.value);
        match ledger.keys.get(&s.key) {
            None => problems.phantom.push(format!(
                "{} = {}: never sent (revision {}, by {})",
                keys.label(s.key),
                s.value,
                s.revision,
                s.by
            )),
            Some(st) => {
                if s.value.to_bits() != st.value.to_bits() {
                    problems.wrong.push(format!(
                        "{}: value {}, expected {} (sent in cycle {})",
                        keys.label(s.key),
                        s.value,
                        st.value,
                        st.cycle
                    ));
                }
                if s.revision != 1 || s.by != "admin" {
                    problems.wrong.push(format!(
                        "{}: revision {} by '{}', expected revision 1 by 'admin' (written once)",
                        keys.label(s.key),
                        s.revision,
                        s.by
                    ));
                }
            }
        }
    }
    for (&k, st) in ledger.keys.iter_mut() {
        let here = present.contains_key(&k);
        if st.acked && !here {
            problems.lost.push(format!(
                "{}: expected value {}, acknowledged in cycle {}{}; missing after restart",
                keys.label(k),
                st.value,
                st.cycle,
                st.batch
                    .map(|b| format!(" (batch #{b})"))
                    .unwrap_or_else(|| " (single PUT)".into())
            ));
        }
        match st.seen {
            None => {
                st.seen = Some(here);
                if here && !st.acked {
                    totals.landed_unacked += 1;
                }
            }
            Some(before) if before != here => problems.flapping.push(format!(
                "{} (value {}, sent in cycle {}, acknowledged: {}): {} after an earlier restart, {} now",
                keys.label(k),
                st.value,
                st.cycle,
                st.acked,
                if before { "present" } else { "absent" },
                if here { "present" } else { "absent" }
            )),
            Some(_) => {}
        }
    }
    for (b, batch) in ledger.batches.iter().enumerate() {
        let n = batch
            .keys
            .iter()
            .filter(|k| present.contains_key(k))
            .count();
        if n != 0 && n != batch.keys.len() {
            let rows: Vec<String> = batch
                .keys
                .iter()
                .map(|&k| {
                    format!(
                        "{}={} {}",
                        keys.label(k),
                        value_of(k),
                        if present.contains_key(&k) {
                            "present"
                        } else {
                            "MISSING"
                        }
                    )
                })
                .collect();
            problems.torn.push(format!(
                "batch #{b} (cycle {}, acknowledged: {}): {n} of {} rows present: {}",
                batch.cycle,
                batch.acked,
                batch.keys.len(),
                rows.join(", ")
            ));
        }
    }
    // A sample of revision lists: exactly one "created" row with the value.
    if !seen.is_empty() {
        let http = client(Duration::from_secs(30));
        for _ in 0..8 {
            let s = &seen[rng.range(0, seen.len() as u64 - 1) as usize];
            let url = format!(
                "{base}/v1/indicators/{}/readings/{}/revisions",
                keys.indicator(s.key),
                keys.period(s.key)
            );
            let got = http
                .get(&url)
                .send()
                .and_then(|r| r.json::<Value>())
                .map_err(|e| e.to_string());
            let ok = match &got {
                Ok(Value::Array(rows)) => {
                    rows.len() == 1
                        && rows[0]["action"] == "created"
                        && rows[0]["new"]["value"].as_f64().map(f64::to_bits)
                            == Some(s.value.to_bits())
                }
                _ => false,
            };
            if !ok {
                problems.revisions.push(format!(
                    "{} = {}: revisions {:?}",
                    keys.label(s.key),
                    s.value,
                    got
                ));
            }
        }
    }
    present.len()
}

/// A self-test of the checks above: `ZHIBIAO_CRASH_INJECT=lose|tear|phantom|rewrite`
/// damages the store through the API after the first restart (withdraws an acknowledged
/// single reading or one row of an acknowledged batch, writes a key never sent, or
/// overwrites an acknowledged value), and the test must then fail saying so.
fn inject(base: &str, keys: &Keys, ledger: &Ledger, next_key: u64, what: &str) {
    let acked = |in_batch: bool| {
        ledger
            .keys
            .iter()
            .filter(|(_, s)| s.acked && s.batch.is_some() == in_batch)
            .map(|(k, _)| *k)
            .min()
            .expect("an acknowledged write to damage")
    };
    let (delete, k) = match what {
        "lose" => (true, acked(false)),
        "tear" => (true, acked(true)),
        "phantom" => (false, next_key),
        "rewrite" => (false, acked(false)),
        other => panic!("ZHIBIAO_CRASH_INJECT={other}: use lose, tear, phantom or rewrite"),
    };
    let url = format!(
        "{base}/v1/indicators/{}/readings/{}",
        keys.indicator(k),
        keys.period(k)
    );
    let http = client(Duration::from_secs(30));
    let req = if delete {
        http.delete(&url)
    } else {
        http.put(&url)
            .json(&json!({"value": 7.5, "explanation": EXPLANATION}))
    };
    let r = req.bearer_auth(ADMIN_TOKEN).send().expect("inject");
    assert!(r.status().is_success(), "inject {what}: {}", r.status());
    println!("crash-test: injected '{what}' at {}", keys.label(k));
}

/// Starts the server on `db`, after killing a startup (recovery) or two, each with
/// [`STARTUP_KILL_CHANCE`]: half of them at a random moment spread over 0 … 1.25 × the
/// last start's duration (`last_start`, updated here), so most land before the server
/// prints its address and some just after; half the moment sled starts writing its
/// snapshot file. `None` when the store would not open.
fn restart(
    db: &Path,
    log: &Path,
    rng: &mut Rng,
    last_start: &mut Duration,
    totals: &mut Totals,
    problems: &mut Problems,
    what: &str,
) -> Option<Server> {
    let mut history = Vec::new();
    let mut tries = 0;
    while tries < 3 && rng.chance(STARTUP_KILL_CHANCE) {
        tries += 1;
        let how = if rng.chance(0.5) {
            StartupKill::AtSnapshot
        } else {
            let max = (last_start.as_micros() as u64 * 5 / 4).max(1000);
            StartupKill::After(Duration::from_micros(rng.range(0, max)))
        };
        match startup_kill(db, log, how) {
            Ok(k) => {
                totals.startup_kills += 1;
                totals.startup_kills_after_address += u64::from(k.printed_address);
                totals.snapshot_kills += u64::from(k.snapshot.is_some());
                history.push(k.describe);
            }
            Err(e) => {
                problems.open.push(format!("{what} ({how:?}): {e}"));
                return None;
            }
        }
    }
    let before = if history.is_empty() {
        "no startup kill before it".to_string()
    } else {
        format!("before it: {}", history.join("; then "))
    };
    match start(db, log) {
        Ok((s, took)) => {
            *last_start = took;
            totals.slowest_start = totals.slowest_start.max(took);
            return Some(s);
        }
        Err(e) => {
            let delete =
                std::env::var("ZHIBIAO_CRASH_DELETE_TORN_SNAPSHOT").is_ok_and(|v| v == "1");
            match newest_snapshot(db).filter(|n| delete && n.ends_with(".generating")) {
                None => {
                    problems.open.push(format!("{what} ({before}): {e}"));
                    return None;
                }
                Some(n) => {
                    // The diagnostic mode: does the store open, with every acknowledged
                    // write, once the torn file is gone (the fix upstream users report)?
                    let _ = std::fs::remove_file(db.join(&n));
                    problems.reopened.push(format!(
                        "{what} ({before}): {e}\n    deleted {n} and restarted"
                    ));
                }
            }
        }
    }
    match start(db, log) {
        Ok((s, _)) => Some(s),
        Err(e) => {
            problems.open.push(format!(
                "{what}, after deleting the newest snap.*.generating: {e}"
            ));
            None
        }
    }
}

/// The snapshot file sled reads on open: the greatest `snap.*` name, `.generating` or not.
fn newest_snapshot(db: &Path) -> Option<String> {
    std::fs::read_dir(db)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("snap.") && !n.ends_with(".in___motion"))
        .max()
}

/// Adds a store's ledger to the totals (once, when the store is retired or at the end).
fn tally(t: &mut Totals, l: &Ledger) {
    for s in l.keys.values() {
        t.sent_readings += 1;
        if s.acked {
            t.acked_readings += 1;
            if s.batch.is_some() {
                t.acked_in_batches += 1;
            }
        }
    }
    t.batches_checked += l.batches.len() as u64;
    t.acked_batches += l.batches.iter().filter(|b| b.acked).count() as u64;
}

// ── the test ───────────────────────────────────────────────────────────────

#[test]
fn acknowledged_writes_survive_sigkill_and_batches_stay_atomic() {
    run(false);
}

#[test]
#[ignore = "needs /dev/fuse and fusermount3; run by scripts/crash-test --power-cut"]
fn acknowledged_writes_survive_power_cuts() {
    run(true);
}

fn run(power: bool) {
    let cycles = env_u64("ZHIBIAO_CRASH_CYCLES").unwrap_or(30) as u32;
    let seed = env_u64("ZHIBIAO_CRASH_SEED").unwrap_or_else(|| {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
    });
    println!("crash-test: seed {seed} (replay with ZHIBIAO_CRASH_SEED={seed}), {cycles} cycles");
    let mut rng = Rng::new(seed);
    let run_start = Instant::now();

    let tmp = tempfile::tempdir().expect("tempdir");
    let scratch = tmp.path().to_path_buf();
    let log = scratch.join("serve.log");
    // Stores live under `root`: the lazy mount in the power-cut run.
    let _unplug = Unplug;
    let root = if power {
        let (backing, mnt) = (scratch.join("backing"), scratch.join("mnt"));
        std::fs::create_dir_all(&backing).unwrap();
        std::fs::create_dir_all(&mnt).unwrap();
        let m = lazyfs::LazyMount::mount(&backing, &mnt)
            .unwrap_or_else(|e| panic!("mount the lazy file system on {}: {e}", mnt.display()));
        *POWER.lock().unwrap() = Some(m);
        println!(
            "crash-test: power cuts: stores on a lazy FUSE mount at {}",
            mnt.display()
        );
        mnt
    } else {
        scratch.clone()
    };
    let mut totals = Totals {
        stores: 1,
        ..Totals::default()
    };
    let mut problems = Problems::default();
    let mut db: PathBuf = root.join("store-1");

    // First start: a fresh store, which loads the built-in catalogue. It may be killed
    // during that first startup too.
    let mut last_start = Duration::from_millis(250);
    let Some(srv) = restart(
        &db,
        &log,
        &mut rng,
        &mut last_start,
        &mut totals,
        &mut problems,
        "first start",
    ) else {
        let kept = tmp.keep();
        panic!(
            "first start (seed {seed}), store kept in {}:\n{}",
            kept.display(),
            problems.describe()
        );
    };
    let ids: Vec<String> = {
        let v: Value = client(Duration::from_secs(30))
            .get(format!("{}/v1/indicators", srv.base))
            .send()
            .and_then(|r| r.json())
            .expect("GET /v1/indicators");
        let mut ids: Vec<String> = v
            .as_array()
            .expect("indicators are a list")
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert!(!ids.is_empty(), "no indicators in the built-in catalogue");
    let keys = Keys { ids };
    let mut ledger = Ledger::default();
    let mut next_key = 0u64;
    let mut max_used = 0u64;
    let mut check_count: Option<u64> = None;
    let n0 = verify(
        &srv.base,
        &keys,
        &mut ledger,
        &mut totals,
        &mut problems,
        &mut rng,
    );
    if n0 != 0 || problems.count() != 0 {
        panic!(
            "a fresh store should hold no readings:\n{}",
            problems.describe()
        );
    }
    let mut srv = Some(srv);
    let mut done = 0u32;

    for cycle in 1..=cycles {
        // A new store when this one's keys are nearly used up (each key is written once).
        let reserve = (2 * max_used).max(3000);
        if keys.space() - next_key < reserve {
            srv.take().unwrap().crash();
            if let Err(e) = check(&db, &scratch) {
                problems
                    .check
                    .push(format!("store {} before retiring it: {e}", totals.stores));
                break;
            }
            totals.checks += 1;
            let _ = std::fs::remove_dir_all(&db);
            tally(&mut totals, &ledger);
            totals.stores += 1;
            println!(
                "crash-test: cycle {cycle}: the keys of store {} are used up; continuing on a new store",
                totals.stores - 1
            );
            db = root.join(format!("store-{}", totals.stores));
            ledger = Ledger::default();
            next_key = 0;
            let what = format!("first start of {}", db.display());
            srv = restart(
                &db,
                &log,
                &mut rng,
                &mut last_start,
                &mut totals,
                &mut problems,
                &what,
            );
            if srv.is_none() {
                break;
            }
        }

        // Write, and SIGKILL the server while the writers are busy.
        let kill_after = Duration::from_millis(rng.range(50, 400));
        let before = next_key;
        let (l, used) = write_and_kill(
            srv.take().unwrap(),
            &keys,
            next_key,
            std::mem::take(&mut ledger),
            cycle,
            kill_after,
            &mut rng,
        );
        ledger = l;
        next_key = used;
        done = cycle;
        max_used = max_used.max(used - before);
        for a in ledger.odd_answers.drain(..) {
            problems.http.push(format!("cycle {cycle}: {a}"));
        }

        // Now and then, `zhibiao check` on the crashed store.
        if cycle % CHECK_EVERY == 0 || cycle == cycles {
            match check(&db, &scratch) {
                Ok(n) => {
                    totals.checks += 1;
                    check_count = Some(n);
                }
                Err(e) => problems.check.push(format!("after cycle {cycle}: {e}")),
            }
        }

        // Restart, sometimes after killing a startup (recovery) or two.
        let what = format!("restart after cycle {cycle}");
        srv = restart(
            &db,
            &log,
            &mut rng,
            &mut last_start,
            &mut totals,
            &mut problems,
            &what,
        );
        if srv.is_none() {
            break;
        }
        let base = srv.as_ref().unwrap().base.clone();
        if cycle == 1 {
            if let Ok(what) = std::env::var("ZHIBIAO_CRASH_INJECT") {
                inject(&base, &keys, &ledger, next_key, &what);
            }
        }
        let present = verify(
            &base,
            &keys,
            &mut ledger,
            &mut totals,
            &mut problems,
            &mut rng,
        );
        if let Some(n) = check_count.take() {
            if n != present as u64 {
                problems.check.push(format!(
                    "after cycle {cycle}: zhibiao check counted {n} readings, the restarted server lists {present}"
                ));
            }
        }
        if cycle % 10 == 0 || cycle == cycles {
            let acked = ledger.keys.values().filter(|s| s.acked).count();
            println!(
                "crash-test: cycle {cycle}/{cycles}: store {} holds {present} readings ({acked} acknowledged), killed after {kill_after:?}, {:.1} s",
                totals.stores,
                run_start.elapsed().as_secs_f64()
            );
        }
        if problems.fatal() != 0 {
            break;
        }
    }

    // The end: stop gracefully, then a last check.
    if let Some(s) = srv.take() {
        if problems.fatal() == 0 {
            match s.stop() {
                Ok(st) if st.success() => {}
                Ok(st) => problems.open.push(format!(
                    "graceful stop exited with {st}; stderr:\n{}",
                    tail(&log, 30)
                )),
                Err(e) => problems.open.push(e),
            }
            match check(&db, &scratch) {
                Ok(n) => {
                    totals.checks += 1;
                    let want = ledger
                        .keys
                        .values()
                        .filter(|s| s.seen == Some(true))
                        .count();
                    if n != want as u64 {
                        problems.check.push(format!(
                            "final: zhibiao check counted {n} readings, the server listed {want}"
                        ));
                    }
                }
                Err(e) => problems.check.push(format!("final: {e}")),
            }
        } else {
            s.crash();
        }
    }

    tally(&mut totals, &ledger);
    if let Some(m) = POWER.lock().unwrap().as_ref() {
        let st = m.stats();
        println!(
            "crash-test: {} power cuts dropped {} writes not yet fsynced ({} bytes); {} fsyncs made {} writes durable",
            CUTS.load(Ordering::SeqCst),
            st.dropped_ops,
            st.dropped_bytes,
            st.fsyncs,
            st.synced_ops
        );
    }

    let failed = problems.count() != 0;
    println!(
        "crash-test: {} sent, {} unacknowledged that landed anyway, {} batches acknowledged, {} startup kills ({} after the address, {} while sled wrote its snapshot), {} checks, {} store(s), slowest start {:?}, {:.1} s",
        totals.sent_readings,
        totals.landed_unacked,
        totals.acked_batches,
        totals.startup_kills,
        totals.startup_kills_after_address,
        totals.snapshot_kills,
        totals.checks,
        totals.stores,
        totals.slowest_start,
        run_start.elapsed().as_secs_f64()
    );
    println!(
        "crash-test: {done} cycles, {} acknowledged readings ({} in batches), {} lost, {} batches {}, check {}",
        totals.acked_readings,
        totals.acked_in_batches,
        problems.lost.len(),
        totals.batches_checked,
        if problems.torn.is_empty() {
            "all-or-nothing".to_string()
        } else {
            format!("checked, {} TORN", problems.torn.len())
        },
        if problems.check.is_empty() {
            "ok".to_string()
        } else {
            "FAILED".to_string()
        } + &match problems.open.len() + problems.reopened.len() {
            0 => String::new(),
            n => format!(", store would not open {n} time(s)"),
        }
    );
    if failed {
        // Unmount first: what is kept is what the disk held.
        POWER.lock().unwrap().take();
        let kept = tmp.keep();
        let kept = if power { kept.join("backing") } else { kept };
        panic!(
            "crash test failed (seed {seed}; replay with ZHIBIAO_CRASH_SEED={seed}); store kept at {}\n{}",
            kept.join(db.file_name().unwrap()).display(),
            problems.describe()
        );
    }
}
