//! Engine and store costs on the built-in catalogue, each beside a baseline measured in
//! the same run: the engine against a bare pass over the same readings, the store's
//! reading write against a raw sled insert of the same key count.
//!
//! Run with `cargo bench --bench engine`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use zhibiao::catalogue::Catalogue;
use zhibiao::domain::{ObsStatus, Period, PeriodForm, ReadingInput};
use zhibiao::engine::evaluate;
use zhibiao::store::Store;

fn readings() -> Vec<(Period, f64)> {
    (1..=6)
        .map(|m| (Period::new(2023, m).unwrap(), f64::from(m) * 10.0))
        .collect()
}

fn engine(c: &mut Criterion) {
    let cat = Catalogue::builtin().unwrap();
    let rs = readings();
    let as_of = Period::new(2023, 6).unwrap();
    let mut g = c.benchmark_group("catalogue");
    g.bench_function("baseline: sum the readings of every indicator", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for _ in &cat.entries {
                s += black_box(&rs).iter().map(|(_, v)| v).sum::<f64>();
            }
            s
        })
    });
    g.bench_function("evaluate every indicator", |b| {
        b.iter(|| {
            cat.entries
                .iter()
                .map(|(i, t)| evaluate(i, t.as_ref(), black_box(&rs), as_of))
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}

fn store(c: &mut Criterion) {
    let cat = Catalogue::builtin().unwrap();
    let store = Store::temporary().unwrap();
    store.import_catalogue(&cat, "bench", Utc::now()).unwrap();
    let raw = sled::Config::new().temporary(true).open().unwrap();
    let (ind, _) = &cat.entries[0];
    let mut g = c.benchmark_group("write one reading (no flush)");
    let mut n = 0u64;
    g.bench_function("baseline: raw sled insert", |b| {
        b.iter(|| {
            n += 1;
            raw.insert(n.to_be_bytes(), &[1u8; 64][..]).unwrap()
        })
    });
    let mut v = 0.0;
    g.bench_function(
        "store put_reading (reading + audit, one transaction)",
        |b| {
            b.iter(|| {
                v += 1.0;
                let input =
                    ReadingInput::new(ind, v, ObsStatus::Normal, None, PeriodForm::Month).unwrap();
                store
                    .put_reading(
                        &ind.id,
                        Period::new(2023, 6).unwrap(),
                        &input,
                        "bench",
                        Utc::now(),
                    )
                    .unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, engine, store);
criterion_main!(benches);
