//! A synthetic province: how zhibiao's figures grow from a county's catalogue to a
//! province's. For each size it generates a store (N indicators, a target each for
//! the last year, and `years` × 12 monthly readings each, written through the store's
//! own batch path, so every reading has its revision and audit row), then starts the
//! release server on it and measures:
//!
//! - the store's size on disk;
//! - startup: from spawning `zhibiao serve` to the first answered `/healthz`;
//! - p50/p99 latency of one indicator's attainment, and of one year of its readings
//!   (sequential requests over one keep-alive connection, random indicators);
//! - the full alerts list and the whole-catalogue attainment: first call (evaluated)
//!   and second call (from the memo);
//! - the alerts list again after each of 20 single writes (`PUT` of one reading of the
//!   board's year): what a dashboard waits for after a unit submits, with the board
//!   brought up to date rather than built again;
//! - the server's resident memory (VmRSS) and peak (VmHWM) after all of that.
//!
//! Run with `cargo bench --bench province -- [--sizes 1000,10000,100000] [--years 10]
//! [--dir target/province] [--cache-mb 256] [--queries 2000] [--keep] [--reuse]`.
//! `--reuse` measures a store kept by an earlier `--keep` run instead of generating it,
//! and `ZHIBIAO_BIN=/path/to/zhibiao` serves with another build, so that two builds
//! can be measured on one store.
//! Prints a Markdown table, also written to `<dir>/report.md`. It asserts nothing:
//! `docs/performance.md` compares the figures with the targets.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use zhibiao::catalogue::Catalogue;
use zhibiao::domain::{ObsStatus, Period, PeriodForm, ReadingInput, SIX_BATTLES};
use zhibiao::store::{BatchRow, Store};

const LAST_YEAR: u16 = 2025;
const CHUNK: usize = 5_000;
const TOKEN: &str = "province-bench-token-0123456789";

struct Args {
    sizes: Vec<usize>,
    years: u16,
    dir: PathBuf,
    cache_mb: u64,
    queries: usize,
    reuse: bool,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![1_000, 10_000, 100_000],
        years: 10,
        dir: PathBuf::from("target/province"),
        cache_mb: 256,
        queries: 2_000,
        keep: false,
        reuse: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .unwrap_or_else(|| panic!("province: {name} needs a value"))
        };
        match arg.as_str() {
            "--bench" => {}
            "--sizes" => {
                a.sizes = value("--sizes")
                    .split(',')
                    .map(|s| s.trim().parse().expect("--sizes: numbers, comma-separated"))
                    .collect()
            }
            "--years" => a.years = value("--years").parse().expect("--years: a number"),
            "--dir" => a.dir = PathBuf::from(value("--dir")),
            "--cache-mb" => a.cache_mb = value("--cache-mb").parse().expect("--cache-mb"),
            "--queries" => a.queries = value("--queries").parse().expect("--queries"),
            "--keep" => a.keep = true,
            "--reuse" => a.reuse = true,
            other => panic!("province: unknown argument '{other}'"),
        }
    }
    assert!(
        (1..=30).contains(&a.years),
        "--years must be between 1 and 30"
    );
    a
}

/// Indicators `start..end` as a catalogue file, in the format of `seeds/`.
fn catalogue_text(start: usize, end: usize) -> String {
    let mut t = String::with_capacity((end - start) * 420);
    t.push_str(&format!(
        "[catalogue]\nregion = \"合成省\"\ndocument = \"合成省级指标库（性能测试）\"\nyear = {LAST_YEAR}\n\n"
    ));
    for u in 0..50 {
        t.push_str(&format!(
            "[[unit]]\nname = \"合成单位{u:02}\"\naliases = []\n\n"
        ));
    }
    for i in start..end {
        let (kind, unit, direction, value, comparator) = match i % 3 {
            0 => ("cumulative", "项", "up", 120.0, "at_least"),
            1 => ("rate", "%", "up", 8.0, "about"),
            _ => ("level", "%", "up", 90.0, "at_least"),
        };
        t.push_str(&format!(
            "[[indicator]]\nid = \"p{i:06}\"\nname = \"合成指标{i}\"\nname_en = \"Synthetic {i}\"\n\
             group = \"{group}\"\nkind = \"{kind}\"\nunit = \"{unit}\"\ndirection = \"{direction}\"\n\
             frequency = \"monthly\"\nlead_units = [\"合成单位{u:02}\"]\nco_units = []\n\
             source = {{ section = \"合成\", quote = \"合成指标{i}\" }}\nalso_in = []\n\
             [indicator.target]\nyear = {LAST_YEAR}\nvalue = {value:.1}\ncomparator = \"{comparator}\"\n\n",
            group = SIX_BATTLES[i % SIX_BATTLES.len()].0,
            u = i % 50,
        ));
    }
    t
}

/// The reading of indicator `i` in a year's `month`: on pace, ahead or behind by
/// indicator (cumulative ones run at 8 to 12 a month against a target of 120).
fn value(i: usize, month: u8) -> f64 {
    let skew = (i % 5) as f64 - 2.0;
    match i % 3 {
        0 => f64::from(month) * (10.0 + skew),
        1 => 8.0 + skew * 0.3,
        _ => 90.0 + skew,
    }
}

fn generate(dir: &Path, n: usize, years: u16) -> (Duration, u64) {
    let started = Instant::now();
    let store = Store::open(dir, 256 * 1024 * 1024).expect("open the store");
    let mut indicators = Vec::with_capacity(n);
    for start in (0..n).step_by(CHUNK) {
        let cat = Catalogue::parse(&catalogue_text(start, (start + CHUNK).min(n)))
            .expect("the synthetic catalogue parses");
        store
            .import_catalogue(&cat, "province", Utc::now())
            .expect("import");
        indicators.extend(cat.entries.into_iter().map(|(i, _)| i));
    }
    let first = LAST_YEAR + 1 - years;
    let mut written = 0u64;
    let mut rows = Vec::with_capacity(1_200);
    let step = (n / 10).max(1);
    for (i, ind) in indicators.iter().enumerate() {
        for year in first..=LAST_YEAR {
            for month in 1..=12u8 {
                let input = ReadingInput::new(
                    ind,
                    value(i, month),
                    ObsStatus::Normal,
                    None,
                    PeriodForm::Month,
                )
                .expect("valid reading");
                rows.push(BatchRow {
                    indicator: ind.id.clone(),
                    period: Period::new(year, month).expect("period"),
                    input,
                    quality: None,
                });
            }
        }
        if rows.len() >= 1_200 || i + 1 == n {
            store
                .put_readings(&rows, "统计局", Utc::now(), None)
                .expect("write readings");
            written += rows.len() as u64;
            rows.clear();
        }
        if (i + 1) % step == 0 {
            eprint!(
                "\rprovince: {n} indicators: {:>3}% ({written} readings, {:.0} s)",
                (i + 1) * 100 / n,
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.flush().expect("flush");
    drop(store);
    eprintln!();
    (started.elapsed(), written)
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A release `zhibiao serve`, started through the tests' process wrapper; stopped with
/// SIGTERM (graceful) when dropped.
struct Server(common::ServerProcess);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.terminate(Duration::from_secs(60));
    }
}

fn start(dir: &Path, cache_mb: u64) -> (Server, Duration) {
    let t0 = Instant::now();
    let cache = cache_mb.to_string();
    let mut cmd = common::serve_command(dir, TOKEN, &["--json", "--cache-mb", &cache]);
    if let Ok(bin) = std::env::var("ZHIBIAO_BIN") {
        let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let mut other = std::process::Command::new(bin);
        other
            .args(args)
            .env("ZHIBIAO_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        cmd = other;
    }
    let server = Server(common::ServerProcess::spawn(&mut cmd));
    let client = reqwest::blocking::Client::new();
    while client
        .get(format!("{}/healthz", server.0.base))
        .send()
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    (server, t0.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn timed_get(client: &reqwest::blocking::Client, url: &str) -> Duration {
    let t = Instant::now();
    let r = client.get(url).send().expect("request");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let _ = r.bytes().expect("body");
    t.elapsed()
}

fn latencies(
    client: &reqwest::blocking::Client,
    urls: impl Iterator<Item = String>,
) -> (Duration, Duration) {
    let mut v: Vec<Duration> = urls.map(|u| timed_get(client, &u)).collect();
    v.sort();
    (percentile(&v, 0.5), percentile(&v, 0.99))
}

fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.dir).expect("create the output directory");
    let mut table = String::new();
    table.push_str(&format!(
        "## Synthetic province: {} years of monthly readings, sled cache {} MiB, {} queries per latency\n\n",
        a.years, a.cache_mb, a.queries
    ));
    table.push_str("| indicators | readings | load | load rate | store on disk | startup | one attainment p50 / p99 ms | one year of readings p50 / p99 ms | alerts first / memo ms | whole attainment first / memo ms | alerts after one write p50 / max ms | RSS / peak MiB |\n");
    table.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &n in &a.sizes {
        let dir = a.dir.join(format!("store-{n}"));
        let count = dir.join("readings.count");
        let reused = std::fs::read_to_string(&count)
            .ok()
            .filter(|_| a.reuse)
            .and_then(|c| c.trim().parse::<u64>().ok())
            .map(|r| (Duration::ZERO, r));
        let (load, readings) = match reused {
            Some(r) => {
                eprintln!(
                    "province: reusing the store of {n} indicators in {}",
                    dir.display()
                );
                r
            }
            None => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("province: generating {n} indicators × {} years", a.years);
                let g = generate(&dir, n, a.years);
                std::fs::write(&count, g.1.to_string()).expect("write the readings count");
                g
            }
        };
        let size = dir_size(&dir);
        let (server, startup) = start(&dir, a.cache_mb);
        let client = reqwest::blocking::Client::new();
        let base = server.0.base.clone();
        let pick = |k: usize| format!("p{:06}", (k * 7919 + 13) % n);
        for k in 0..50 {
            timed_get(
                &client,
                &format!("{base}/v1/indicators/{}/attainment", pick(k)),
            );
        }
        let one = latencies(
            &client,
            (0..a.queries).map(|k| format!("{base}/v1/indicators/{}/attainment", pick(k + 1000))),
        );
        let series = latencies(
            &client,
            (0..a.queries).map(|k| {
                format!(
                    "{base}/v1/indicators/{}/readings?from={LAST_YEAR}-01&to={LAST_YEAR}-12",
                    pick(k + 5000)
                )
            }),
        );
        let alerts_first = timed_get(&client, &format!("{base}/v1/alerts"));
        let alerts_memo = timed_get(&client, &format!("{base}/v1/alerts"));
        let all_first = timed_get(&client, &format!("{base}/v1/attainment"));
        let all_memo = timed_get(&client, &format!("{base}/v1/attainment"));
        // One reading of the board's year, then the alerts: 20 times. Each figure moves
        // by at least a hundredth (the precision a reading keeps) from the one stored,
        // so that none is an unchanged no-op, even on a store reused from an earlier run.
        let mut after_write: Vec<Duration> = (0..20)
            .map(|k| {
                let i = ((k + 9000) * 7919 + 13) % n;
                let url = format!(
                    "{base}/v1/indicators/{}/readings/{LAST_YEAR}-12",
                    pick(k + 9000)
                );
                let stored = client
                    .get(&url)
                    .send()
                    .and_then(|r| r.json::<serde_json::Value>())
                    .ok()
                    .and_then(|v| v["value"].as_f64())
                    .unwrap_or_else(|| value(i, 12));
                // Within half a unit of the generated figure, so that it passes the checks.
                let figure = if stored > value(i, 12) + 0.25 {
                    value(i, 12) + 0.01
                } else {
                    stored + 0.01 + k as f64 / 100.0
                };
                let r = client
                    .put(&url)
                    .bearer_auth(TOKEN)
                    .json(&serde_json::json!({ "value": figure }))
                    .send()
                    .expect("write");
                assert!(r.status().is_success(), "write: {}", r.status());
                let outcome = r.json::<serde_json::Value>().expect("the write's answer");
                assert_ne!(outcome["outcome"], "unchanged", "the write changed nothing");
                timed_get(&client, &format!("{base}/v1/alerts"))
            })
            .collect();
        after_write.sort();
        let (rss, peak) = memory_kib(server.0.id());
        drop(server);
        // A reused store was not loaded by this run.
        let (load_cell, rate_cell) = if load.is_zero() {
            ("reused".to_string(), "—".to_string())
        } else {
            (
                format!("{:.1} s", load.as_secs_f64()),
                format!("{:.0}/s", readings as f64 / load.as_secs_f64()),
            )
        };
        let row = format!(
            "| {n} | {readings} | {load_cell} | {rate_cell} | {:.1} MiB | {} ms | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {:.0} / {:.0} |\n",
            size as f64 / 1048576.0,
            ms(startup),
            ms(one.0),
            ms(one.1),
            ms(series.0),
            ms(series.1),
            ms(alerts_first),
            ms(alerts_memo),
            ms(all_first),
            ms(all_memo),
            ms(after_write[after_write.len() / 2]),
            ms(after_write[after_write.len() - 1]),
            rss as f64 / 1024.0,
            peak as f64 / 1024.0,
        );
        eprint!("{row}");
        table.push_str(&row);
        if !a.keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    println!("{table}");
    let report = a.dir.join("report.md");
    std::fs::File::create(&report)
        .and_then(|mut f| f.write_all(table.as_bytes()))
        .expect("write the report");
    eprintln!("province: table written to {}", report.display());
}
