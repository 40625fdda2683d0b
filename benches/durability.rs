//! Durable acknowledgements per second with 1, 8 and 64 concurrent writers, through
//! the store's writer thread (one transaction and one sync per round of queued writes), beside a baseline measured in the same run: one writer
//! that flushes after every write (what durability costs without sharing flushes).
//!
//! Run with `cargo bench --bench durability` (add `-- --secs 5` for longer runs).
//! Prints a table; it asserts nothing, since absolute numbers depend on the machine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use zhibiao::catalogue::Catalogue;
use zhibiao::domain::{ObsStatus, Period, PeriodForm, ReadingInput};
use zhibiao::store::{BatchRow, ReadingWrite, Store};

fn open(dir: &std::path::Path) -> (Store, Catalogue) {
    let cat = Catalogue::builtin().expect("catalogue");
    let store = Store::open(dir, 64 * 1024 * 1024).expect("store");
    store
        .import_catalogue(&cat, "bench", Utc::now())
        .expect("import");
    store.flush().expect("flush");
    (store, cat)
}

/// Each write gets its own (indicator, period) key and a fresh value.
fn key(n: u64, cat: &Catalogue) -> (usize, Period) {
    let i = (n % cat.entries.len() as u64) as usize;
    let k = n / cat.entries.len() as u64;
    let year = 2000 + (k / 12 % 25) as u16;
    let month = (k % 12) as u8 + 1;
    (i, Period::new(year, month).unwrap())
}

fn row(cat: &Catalogue, n: u64) -> BatchRow {
    let (i, p) = key(n, cat);
    let ind = &cat.entries[i].0;
    let input = ReadingInput::new(
        ind,
        n as f64 + 0.5,
        ObsStatus::Normal,
        None,
        PeriodForm::Month,
    )
    .expect("valid");
    BatchRow {
        indicator: ind.id.clone(),
        period: p,
        input,
        quality: None,
    }
}

fn write(store: &Store, cat: &Catalogue, n: u64) {
    let r = row(cat, n);
    store
        .put_reading(&r.indicator, r.period, &r.input, "bench", Utc::now())
        .expect("write");
}

/// One writer for `secs`: with `flush`, a flush after every write (the baseline);
/// without, no flush at all (the ceiling, not durable). Writes per second.
fn one_writer(secs: f64, flush: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (store, cat) = open(dir.path());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < secs {
        write(&store, &cat, n);
        if flush {
            store.flush().unwrap();
        }
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn group_commit(writers: usize, secs: f64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (store, cat) = open(dir.path());
    let cat = Arc::new(cat);
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let (store, cat, next, acked) =
                (store.clone(), cat.clone(), next.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    // As the API writes: one write to the writer thread, answered
                    // once applied and on disk.
                    let write = ReadingWrite {
                        rows: vec![row(&cat, n)],
                        notes: Vec::new(),
                        actor: "bench".into(),
                        now: Utc::now(),
                        idempotency: None,
                        expect: Vec::new(),
                        recheck: None,
                    };
                    store.write(write).await.unwrap();
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    acked.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs = args
        .windows(2)
        .find(|w| w[0] == "--secs")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(2.0);
    println!("durable single-reading writes, {secs} s each");
    let ceiling = one_writer(secs, false);
    let base = one_writer(secs, true);
    println!(
        "{:<44} {:>10.0} acks/s  (1.00×)",
        "baseline: 1 writer, one flush per write", base
    );
    println!(
        "{:<44} {:>10.0} writes/s  ({:.2}×; not durable)",
        "ceiling: 1 writer, no flush at all",
        ceiling,
        ceiling / base
    );
    for w in [1, 8, 64] {
        let r = group_commit(w, secs);
        println!(
            "{:<44} {:>10.0} acks/s  ({:.2}×)",
            format!("group commit: {w} concurrent writer(s)"),
            r,
            r / base
        );
    }
}
