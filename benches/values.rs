//! Values per second for the parsers every cell of a typed column goes
//! through, on text shaped like the orders benchmark data: floats with up
//! to four decimals (`amount`), prices with two (`unit_price` as
//! `decimal(12,2)`), integers, ISO dates and timestamps with offsets.
//!
//! `cargo bench --bench values` (add `-- --save-baseline NAME` and then
//! `-- --baseline NAME` to compare two versions of a parser).

use arrow_schema::TimeUnit;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluicegate::decode::value::{parse_decimal, parse_float, parse_int, parse_iso_date, TimestampParser};
use std::hint::black_box;

const VALUES: usize = 100_000;

/// [`VALUES`] values made by `make` from a cheap deterministic sequence.
fn values(make: impl Fn(u64) -> String) -> Vec<String> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..VALUES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            make(x)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("values");
    g.throughput(Throughput::Elements(VALUES as u64));
    let floats =
        values(|x| format!("{}.{:0w$}", x % 1000, x % 10_000 / 10u64.pow(x as u32 % 3), w = 4 - x as usize % 3));
    g.bench_function("float64", |b| {
        b.iter(|| floats.iter().map(|s| parse_float::<f64>(black_box(s.as_bytes())).unwrap_or(0.0)).sum::<f64>())
    });
    let prices = values(|x| format!("{}.{:02}", x % 10_000, x % 100));
    g.bench_function("decimal(12,2)", |b| {
        b.iter(|| prices.iter().map(|s| parse_decimal(black_box(s.as_bytes()), 12, 2).unwrap_or(0)).sum::<i128>())
    });
    let ints = values(|x| (x % 10_000_000_000_000).to_string());
    g.bench_function("int64", |b| {
        b.iter(|| ints.iter().map(|s| parse_int::<i64>(black_box(s.as_bytes())).unwrap_or(0)).sum::<i64>())
    });
    let counts = values(|x| (x % 200).to_string());
    g.bench_function("uint32 (1 to 3 digits)", |b| {
        b.iter(|| counts.iter().map(|s| u64::from(parse_int::<u32>(black_box(s.as_bytes())).unwrap_or(0))).sum::<u64>())
    });
    let dates = values(|x| format!("2024-{:02}-{:02}", 1 + x % 12, 1 + x % 28));
    g.bench_function("date32", |b| {
        b.iter(|| dates.iter().map(|s| i64::from(parse_iso_date(black_box(s.as_bytes())).unwrap_or(0))).sum::<i64>())
    });
    let offsets = ["Z", "+00:00", "-05:00", "-08:00", "+01:00", "+02:00", "+05:30", "+09:00"];
    let stamps = values(|x| {
        format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}",
            1 + x % 12,
            1 + x % 28,
            x % 24,
            x % 60,
            x / 60 % 60,
            x % 1000,
            offsets[x as usize % offsets.len()]
        )
    });
    let parser = TimestampParser::new(TimeUnit::Millisecond, Some("UTC"), None);
    g.bench_function("timestamp[ms, tz=UTC]", |b| {
        b.iter(|| stamps.iter().map(|s| parser.parse(black_box(s.as_bytes())).unwrap_or(0)).sum::<i64>())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
