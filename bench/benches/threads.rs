//! Threads: aggregate throughput of checks made by one and by two
//! threads at once, on one hot key, on 1,000 keys both threads share, and
//! on 1,000 keys of each thread's own.
//!
//! The `distinct_1k` rows track 2,000 keys, 1,000 for each of two
//! threads; their one-thread row runs the first thread's work alone, so
//! two threads' time per check over one thread's (the aggregate ratio) is
//! what the second thread costs the first. `tollgate_check_reference` is
//! the limiter as users build it (`tollgate_bench::Renewing`: the
//! reference policy's shape, the default clock, `check`), in a table of
//! the default capacity (`distinct_1k`) and in one 95% full
//! (`distinct_1k_95pct`), where the two threads' keys share lines: the
//! A/B of false sharing.
//!
//! Which cache lines the two threads of a `distinct_1k` row share, with
//! `perf c2c` on a machine whose guest sees the processor's load and store
//! sampling (Intel PEBS, AMD IBS). On the project's 2-core KVM machines it
//! does not work: the kernel reports "PMU not available due to
//! virtualization", `perf stat -e instructions` counts "not supported" and
//! `perf c2c record` fails with "memory events not supported".
//!
//! ```text
//! bin=$(cargo bench -p tollgate-bench --bench threads --no-run 2>&1 |
//!     sed -n 's/.*(\(.*threads-[0-9a-f]*\)).*/\1/p')
//! perf c2c record -- $bin --bench tollgate_check_reference/distinct_1k/2t --profile-time 10
//! perf c2c report --stdio --call-graph none | head -100   # the HITM lines and their offsets
//! ```
//!
//! Each row's time is per iteration, where one iteration is one check on
//! every thread; criterion's throughput figure (elements/s) is the
//! aggregate checks per second.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use governor::{Quota, RateLimiter};
use tollgate::{CachedClock, Class, Limiter};
use tollgate_bench::{
    consume, open_limiter, packed_limiter_on, run_threads, still_admitting, u64_keys,
    visiting_order, Cycle, Refresher, Renewing,
};

/// Keys of each thread's own in the `distinct_1k` rows.
const OWN: usize = 1_000;

/// The `distinct_1k` rows' keys: [`OWN`] for each of two threads, and
/// each thread's visiting order of its own.
fn distinct() -> (Vec<u64>, Vec<Vec<u64>>) {
    let all = u64_keys(2 * OWN);
    let orders = all
        .chunks(OWN)
        .enumerate()
        .map(|(t, c)| visiting_order(c, t as u64))
        .collect();
    (all, orders)
}

/// Per-thread visiting orders of one key set: each thread walks the same
/// keys in its own order, so the threads do not march in step.
fn orders(keys: &[u64], threads: usize) -> Vec<Vec<u64>> {
    (0..threads)
        .map(|t| visiting_order(keys, 0x7EAD_u64.wrapping_add(t as u64)))
        .collect()
}

fn row<F>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, threads: usize, check: F)
where
    F: Fn(usize, u64) + Sync,
{
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(format!("{name}/{threads}t"), |b| {
        b.iter_custom(|iters| run_threads(threads, iters, &check))
    });
}

fn tollgate_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    for (label, keys_per_thread, shared) in [
        ("hot_1", 1_usize, true),
        ("shared_1k", 1_000, true),
        ("distinct_1k", 1_000, false),
    ] {
        for threads in [1, 2] {
            if label == "hot_1" && threads == 1 {
                continue;
            }
            let (all, orders) = if shared {
                let all = u64_keys(keys_per_thread);
                let orders = orders(&all, threads);
                (all, orders)
            } else {
                distinct()
            };
            let limiter = open_limiter(all.len());
            for k in &all {
                assert!(limiter.check(k, Class::READ).is_allowed());
            }
            row(
                &mut g,
                &format!("tollgate_check/{label}"),
                threads,
                |t, iters| {
                    let mut keys = Cycle::new(&orders[t]);
                    for _ in 0..iters {
                        consume(limiter.check(black_box(keys.next()), Class::READ));
                    }
                },
            );
            still_admitting(&limiter, &all[0]);
        }
    }
    // As users build the limiter, on keys of each thread's own: in a
    // table of the default capacity (2% full, so the two threads' keys
    // rarely share a line), and in one 95% full (2,105 states), where
    // most lines hold keys of both threads: the A/B of false sharing.
    for (capacity, label) in [
        (Limiter::DEFAULT_CAPACITY, "distinct_1k"),
        (2_105, "distinct_1k_95pct"),
    ] {
        for threads in [1, 2] {
            reference_row(&mut g, capacity, label, threads);
        }
    }
    // The reference policy's shape in one word (`packed_policy`), all
    // threads reading one `CachedClock` that moves on by 10 s every half
    // millisecond (`Refresher::fast`), as a server's threads read one
    // clock: the counts stay far below the limits over 1,000 keys.
    for threads in [1, 2] {
        let all = u64_keys(1_000);
        let clock = CachedClock::at(Duration::ZERO);
        let limiter = packed_limiter_on(all.len(), clock.clone());
        let moving = Refresher::fast(&clock);
        for k in &all {
            assert!(limiter.check(k, Class::READ).is_allowed());
        }
        let orders = orders(&all, threads);
        row(
            &mut g,
            "tollgate_check_packed_shared_clock/shared_1k",
            threads,
            |t, iters| {
                let mut keys = Cycle::new(&orders[t]);
                for _ in 0..iters {
                    consume(limiter.check(black_box(keys.next()), Class::READ));
                }
            },
        );
        still_admitting(&limiter, &all[0]);
        drop(moving);
    }
    g.finish();
}

/// The limiter as users build it (`Renewing`), of `capacity` states, on
/// 1,000 keys of each thread's own.
fn reference_row(
    g: &mut BenchmarkGroup<'_, WallTime>,
    capacity: usize,
    label: &str,
    threads: usize,
) {
    let (all, orders) = distinct();
    let mut limiter = Renewing::new(capacity, all);
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(
        format!("tollgate_check_reference/{label}/{threads}t"),
        |b| {
            b.iter_custom(|iters| {
                limiter.timed(iters, OWN, |limiter, n| {
                    run_threads(threads, n, |t, n| {
                        let mut keys = Cycle::new(&orders[t]);
                        for _ in 0..n {
                            consume(limiter.check(black_box(keys.next()), Class::READ));
                        }
                    })
                })
            })
        },
    );
    limiter.still_admitting(&orders[0][0]);
}

fn governor_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    let quota = Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX);
    for (label, n) in [("hot_1", 1), ("shared_1k", 1_000)] {
        for threads in [1, 2] {
            if label != "shared_1k" && threads == 1 {
                continue;
            }
            let keys = u64_keys(n);
            let limiter = RateLimiter::keyed(quota);
            for k in &keys {
                assert!(limiter.check_key(k).is_ok());
            }
            let orders = orders(&keys, threads);
            row(
                &mut g,
                &format!("governor_keyed/{label}"),
                threads,
                |t, iters| {
                    let mut keys = Cycle::new(&orders[t]);
                    for _ in 0..iters {
                        consume(limiter.check_key(black_box(keys.next())));
                    }
                },
            );
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
}

criterion_group! {
    name = benches;
    config = config();
    targets = tollgate_rows, governor_rows
}
criterion_main!(benches);
