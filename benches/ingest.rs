//! What decoding a batch costs per row, at 10,000, 100,000 and 1,000,000 rows, so that
//! its growth shows: the time per row must stay flat as the batch grows. (Line numbers
//! were once counted from byte 0 for every record, which made a 599,000-row CSV take
//! more than ten minutes.)
//!
//! | group | measured | baseline |
//! | --- | --- | --- |
//! | `decode CSV` | `ingest::decode_with` on UTF-8 CSV `indicator,period,value,note`, an empty line every 1,000 rows: text, records, line numbers and rows | the csv crate reading the same records into one reused record, and nothing else |
//!
//! criterion's throughput is in rows (elem/s). At the end a table gives the time per
//! row of each size, best of three runs, and its ratio to the baseline's.
//!
//! One million rows is over the batch row cap (200,000), which is lifted here: this
//! measures the decoder, not the cap. Run with `cargo bench --bench ingest`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zhibiao::ingest::{decode_with, Cancel, Charset, Format, Limits};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// A CSV batch of `rows` rows, with an empty line after every thousandth.
fn csv_batch(rows: usize) -> Vec<u8> {
    let mut s = String::from("indicator,period,value,note\n");
    for i in 0..rows {
        s.push_str(&format!("ind-{i:07},2023-06,{}.{:02},\n", i % 997, i % 100));
        if i % 1000 == 999 {
            s.push('\n');
        }
    }
    s.into_bytes()
}

const UNCAPPED: Limits = Limits {
    batch_rows: usize::MAX,
    ..Limits::DEFAULT
};

fn decode(body: &[u8]) -> usize {
    decode_with(
        Format::Csv,
        Charset::Utf8,
        body,
        &UNCAPPED,
        &Cancel::never(),
    )
    .expect("a valid batch")
    .len()
}

/// The csv crate alone over the same bytes.
fn baseline(body: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).expect("valid CSV") {
        n += 1;
    }
    n
}

fn decode_csv(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode CSV");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let body = csv_batch(n);
        assert_eq!(decode(&body), n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("ingest::decode", n), &body, |b, body| {
            b.iter(|| decode(black_box(body)))
        });
        g.bench_with_input(BenchmarkId::new("csv crate alone", n), &body, |b, body| {
            b.iter(|| baseline(black_box(body)))
        });
    }
    g.finish();
    per_row_table();
}

/// The best of three runs of `f`, in nanoseconds per row.
fn ns_per_row(rows: usize, f: impl Fn() -> usize) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_nanos() as f64 / rows as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn per_row_table() {
    println!("\n| rows | decode, ns/row | csv crate alone, ns/row | ratio |");
    println!("| ---: | ---: | ---: | ---: |");
    for n in SIZES {
        let body = csv_batch(n);
        let d = ns_per_row(n, || decode(&body));
        let b = ns_per_row(n, || baseline(&body));
        println!("| {n} | {d:.0} | {b:.0} | {:.1} |", d / b);
    }
}

criterion_group!(benches, decode_csv);
criterion_main!(benches);
