//! Engine and store costs, each beside a baseline measured in the same run, so that a
//! figure reads as "so many times the floor" on whatever machine runs it:
//!
//! | group | measured | baselines |
//! | --- | --- | --- |
//! | `ingest one reading` | `Store::put_reading` (reading, revision, index and audit row in one transaction) | a raw sled insert of one key; the codec's encoding of the reading and its audit row alone |
//! | `ingest a 100-row batch` | `Store::put_readings` with 100 rows | a raw sled insert of 100 keys; a raw sled transaction over two trees with the same key count as the store writes; the codec alone |
//! | `attainment of one indicator` | `Queries::attainment` on the store, with an empty memo (target and year read, then evaluated) | the engine alone on the same values |
//! | `attainment of the whole catalogue` | `Queries::attainment_all` over the 203 indicators, with an empty memo | the engine alone over in-memory values |
//! | `alerts` | every alert at `as_of`, from the store | a bare pass over the same readings |
//!
//! None of these writes flushes: `benches/durability.rs` measures durable writes.
//! Run with `cargo bench --bench engine`.

use std::hint::black_box;
use std::time::Duration;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use zhibiao::catalogue::Catalogue;
use zhibiao::domain::{Indicator, ObsStatus, Period, PeriodForm, ReadingInput};
use zhibiao::engine::{alerts, evaluate};
use zhibiao::query::attainment::year_series;
use zhibiao::query::Queries;
use zhibiao::store::{codec, BatchRow, Store};

fn june() -> Period {
    Period::new(2023, 6).unwrap()
}

/// A store with the built-in catalogue and six months of readings for every indicator.
fn loaded() -> (Store, Catalogue) {
    let cat = Catalogue::builtin().unwrap();
    let store = Store::temporary().unwrap();
    store.import_catalogue(&cat, "bench", Utc::now()).unwrap();
    let rows: Vec<BatchRow> = cat
        .entries
        .iter()
        .flat_map(|(ind, _)| {
            (1..=6).map(move |m| BatchRow {
                indicator: ind.id.clone(),
                period: Period::new(2023, m).unwrap(),
                input: input(ind, f64::from(m) * 10.0),
                quality: None,
            })
        })
        .collect();
    store
        .put_readings(&rows, "bench", Utc::now(), None)
        .unwrap();
    (store, cat)
}

fn input(ind: &Indicator, v: f64) -> ReadingInput {
    ReadingInput::new(ind, v, ObsStatus::Normal, None, PeriodForm::Month).unwrap()
}

/// Row `n` of an endless stream of distinct (indicator, period) keys with fresh values.
fn row(cat: &Catalogue, n: u64) -> BatchRow {
    let (ind, _) = &cat.entries[(n % cat.entries.len() as u64) as usize];
    let k = n / cat.entries.len() as u64;
    BatchRow {
        indicator: ind.id.clone(),
        period: Period::new(1990 + (k / 12 % 30) as u16, (k % 12) as u8 + 1).unwrap(),
        input: input(ind, n as f64 + 0.5),
        quality: None,
    }
}

fn ingest(c: &mut Criterion) {
    let (store, cat) = loaded();
    let raw = sled::Config::new().temporary(true).open().unwrap();
    let raw_a = raw.open_tree("a").unwrap();
    let raw_b = raw.open_tree("b").unwrap();
    let sample = row(&cat, 0);
    let reading = store
        .put_reading(
            &sample.indicator,
            sample.period,
            &sample.input,
            "bench",
            Utc::now(),
        )
        .unwrap()
        .1;

    let mut g = c.benchmark_group("ingest one reading");
    let mut n = 1u64;
    g.bench_function("baseline: raw sled insert of one key", |b| {
        b.iter(|| {
            n += 1;
            raw.insert(n.to_be_bytes(), &[1u8; 64][..]).unwrap()
        })
    });
    g.bench_function(
        "baseline: codec encoding alone (reading + audit row)",
        |b| {
            b.iter(|| {
                let a = codec::encode(black_box(&reading)).unwrap();
                let b2 = codec::encode(black_box(&(&reading, &reading, "bench"))).unwrap();
                a.len() + b2.len()
            })
        },
    );
    let mut n = 1_000_000u64;
    g.bench_function("store put_reading", |b| {
        b.iter(|| {
            n += 1;
            let r = row(&cat, n);
            store
                .put_reading(&r.indicator, r.period, &r.input, "bench", Utc::now())
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ingest a 100-row batch");
    let mut n = 10_000_000u64;
    g.bench_function("baseline: raw sled insert of 100 keys", |b| {
        b.iter(|| {
            for _ in 0..100 {
                n += 1;
                raw.insert(n.to_be_bytes(), &[1u8; 64][..]).unwrap();
            }
        })
    });
    // The store writes about five keys per reading (reading, revision, index, audit
    // row, and the audit id) in one multi-tree transaction.
    g.bench_function("baseline: raw sled transaction, 2 trees, 500 keys", |b| {
        b.iter(|| {
            use sled::Transactional;
            n += 500;
            (&raw_a, &raw_b)
                .transaction(|(a, bt)| {
                    for i in 0..250u64 {
                        a.insert(&(n + i).to_be_bytes(), &[1u8; 64][..])?;
                        bt.insert(&(n + i).to_be_bytes(), &[2u8; 128][..])?;
                    }
                    Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                })
                .unwrap()
        })
    });
    g.bench_function("baseline: codec encoding alone, 100 readings", |b| {
        b.iter(|| {
            (0..100)
                .map(|_| codec::encode(black_box(&reading)).unwrap().len())
                .sum::<usize>()
        })
    });
    let mut n = 100_000_000u64;
    g.bench_function("store put_readings, 100 rows", |b| {
        b.iter_batched(
            || {
                let rows: Vec<BatchRow> = (0..100).map(|i| row(&cat, n + i)).collect();
                n += 100;
                rows
            },
            |rows| {
                store
                    .put_readings(&rows, "bench", Utc::now(), None)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn attainment(c: &mut Criterion) {
    let (store, cat) = loaded();
    let as_of = june();
    let (ind, target) = cat
        .entries
        .iter()
        .find(|(i, _)| i.id.as_str() == "gdp-growth")
        .unwrap()
        .clone();
    let (_, values) = year_series(&store, &ind.id, 2023, None).unwrap();

    let mut g = c.benchmark_group("attainment of one indicator");
    g.bench_function("baseline: the engine alone", |b| {
        b.iter(|| evaluate(&ind, target.as_ref(), black_box(&values), as_of))
    });
    g.bench_function("evaluate_one from the store", |b| {
        // A fresh memo each time: the bench measures the evaluation, not a memo hit.
        b.iter(|| {
            Queries::new(store.clone())
                .attainment(&ind, as_of, None)
                .unwrap()
        })
    });
    g.finish();

    let in_memory: Vec<_> = cat
        .entries
        .iter()
        .map(|(i, t)| {
            let (_, v) = year_series(&store, &i.id, 2023, None).unwrap();
            (i, t, v)
        })
        .collect();
    let mut g = c.benchmark_group("attainment of the whole catalogue");
    g.bench_function("baseline: the engine alone, values in memory", |b| {
        b.iter(|| {
            in_memory
                .iter()
                .map(|(i, t, v)| evaluate(i, t.as_ref(), v, as_of))
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("evaluate_all from the store", |b| {
        b.iter(|| {
            Queries::new(store.clone())
                .attainment_all(as_of, None)
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("alerts");
    g.bench_function("baseline: a bare pass over the same readings", |b| {
        b.iter(|| {
            in_memory
                .iter()
                .map(|(_, _, v)| v.iter().map(|(_, x)| x).sum::<f64>())
                .sum::<f64>()
        })
    });
    g.bench_function("every alert at as_of, from the store", |b| {
        b.iter(|| {
            let mut out: Vec<_> = store
                .indicators()
                .unwrap()
                .iter()
                .filter_map(|i| {
                    let (t, v) = year_series(&store, &i.id, as_of.year(), None).unwrap();
                    alerts::alert(i, t.as_ref(), &v, as_of)
                })
                .collect();
            alerts::sort_worst_first(&mut out);
            out
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = ingest, attainment
}
criterion_main!(benches);
