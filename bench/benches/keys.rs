//! Nanoseconds per check against the number of keys, for the keys chart
//! (`scripts/bench_chart.py` writes `docs/keys.svg`): tollgate as users
//! build it (`tollgate_bench::reference_limiter`, capacity = keys, the
//! default clock, `check`) and governor keyed with `u64` keys, each over
//! 1,000 to 10,000,000 keys visited in a pseudo-random order.
//!
//! The 10,000,000-key rows hold about 0.4 GB for tollgate and more for
//! governor, and take some seconds each to set up; they run with fewer
//! samples over a shorter measurement (see [`LARGEST`]), so the whole
//! group stays near a minute and a half.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use tollgate::Class;
use tollgate_bench::{consume, u64_keys, visiting_order, Cycle, Renewing};

const SEED: u64 = 0xB0_0C4E;

/// The key counts of the chart, with their row labels.
const COUNTS: [(&str, usize); 5] = [
    ("1k", 1_000),
    ("10k", 10_000),
    ("100k", 100_000),
    ("1M", 1_000_000),
    ("10M", 10_000_000),
];

/// From this many keys on, rows take [`LARGEST`]'s sampling.
const LARGE: usize = 10_000_000;

/// Sample count, warm-up and measurement time of the largest rows.
const LARGEST: (usize, Duration, Duration) =
    (20, Duration::from_millis(500), Duration::from_secs(2));

fn rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keys");
    for (label, n) in COUNTS {
        if n >= LARGE {
            let (samples, warm_up, measurement) = LARGEST;
            g.sample_size(samples)
                .warm_up_time(warm_up)
                .measurement_time(measurement);
        }
        let keys = u64_keys(n);
        let order = visiting_order(&keys, SEED);

        let mut limiter = Renewing::new(n, keys.clone());
        g.bench_function(format!("tollgate_check/{label}"), |b| {
            b.iter_custom(|iters| {
                limiter.timed(iters, order.len(), |limiter, n| {
                    let mut keys = Cycle::new(&order);
                    let start = Instant::now();
                    for _ in 0..n {
                        consume(limiter.check(black_box(keys.next()), Class::READ));
                    }
                    start.elapsed()
                })
            });
        });
        limiter.still_admitting(&order[0]);
        drop(limiter);

        // As the `governor_keyed` rows of `keyed`: a quota as open as
        // governor allows.
        let governor =
            RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX));
        for k in keys {
            assert!(governor.check_key(&k).is_ok());
        }
        g.bench_function(format!("governor_keyed/{label}"), |b| {
            let mut keys = Cycle::new(&order);
            b.iter(|| consume(governor.check_key(black_box(keys.next()))));
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
}

criterion_group! {
    name = benches;
    config = config();
    targets = rows
}
criterion_main!(benches);
