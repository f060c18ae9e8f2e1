//! The cost of reading each clock a limiter can use: tollgate's
//! `SystemClock`, `CoarseClock` (the default) and `CachedClock` (kept
//! current by a thread refreshing it every millisecond while it is read),
//! and for reference
//! `std::time::Instant::now` and quanta's TSC-based clock (governor's
//! default).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tollgate::{CachedClock, Clock, CoarseClock, ManualClock, SystemClock};
use tollgate_bench::Refresher;

fn clocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("clock");
    g.bench_function("tollgate_system/now", |b| {
        b.iter(|| black_box(&SystemClock).now())
    });
    g.bench_function("tollgate_coarse/now", |b| {
        b.iter(|| black_box(&CoarseClock).now())
    });
    let cached = CachedClock::new();
    let refresher = Refresher::start(&cached);
    g.bench_function("tollgate_cached/now", |b| {
        b.iter(|| black_box(&cached).now())
    });
    drop(refresher);
    let manual = ManualClock::new(Duration::from_secs(1_746_489_600));
    g.bench_function("tollgate_manual/now", |b| {
        b.iter(|| black_box(&manual).now())
    });
    g.bench_function("std_instant/now", |b| b.iter(Instant::now));
    let quanta = quanta::Clock::new();
    g.bench_function("quanta/now", |b| b.iter(|| black_box(&quanta).now()));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = clocks
}
criterion_main!(benches);
