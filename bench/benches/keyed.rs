//! One thread: tollgate's checks beside governor, pingora-limits and the
//! bare atomic operations a check is built from.
//!
//! Every keyed row visits its keys in a precomputed pseudo-random order
//! (see `tollgate_bench::visiting_order`), the same order for every crate.
//!
//! The headline rows come first: the limiter as users build it
//! (`tollgate_bench::reference_limiter`: the reference policy's shape,
//! the default clock, `check`) over 1,000 keys in tables of four load
//! factors, beside governor keyed over the same keys in the same order.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use crossbeam_utils::CachePadded;
use governor::{Quota, RateLimiter};
use tollgate::{CachedClock, Class, Clock, Limiter, SystemClock};
use tollgate_bench::{
    consume, open_limiter, open_policy, open_policy_one_window, packed_cas, packed_limiter,
    permutation, spent_policy, still_admitting, str_keys, u64_keys, visiting_order, Cycle,
    Refresher, Renewing, Ticker, OPEN_SEED, T0,
};

const SEED: u64 = 0xB0_0C4E;

/// The key count of the largest rows.
const MILLION: usize = 1_000_000;

/// A tollgate limiter that tracks every key of `keys`, and the keys in
/// visiting order.
fn tracked<K: std::hash::Hash + Clone>(keys: &[K]) -> (Limiter, Vec<K>) {
    let limiter = open_limiter(keys.len());
    track_all(&limiter, keys);
    (limiter, visiting_order(keys, SEED))
}

/// Checks every key of `keys` once, so that `limiter` tracks them all.
fn track_all<C: Clock, K: std::hash::Hash>(limiter: &Limiter<C>, keys: &[K]) {
    for k in keys {
        assert!(
            limiter.check(k, Class::READ).is_allowed(),
            "setup: every key fits"
        );
    }
}

/// governor's quota for the admitted-path rows: as open as governor
/// allows, so that its checks admit like tollgate's.
fn open_quota() -> Quota {
    Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX)
}

/// The 1,000 keys of the headline rows in tables of these capacities
/// (tracked states): 10%, 50% and 95% full, and the default capacity.
const LOADS: [(&str, usize); 4] = [
    ("10pct_1k", 10_000),
    ("50pct_1k", 2_000),
    ("95pct_1k", 1_053),
    ("default_1k", Limiter::DEFAULT_CAPACITY),
];

/// The headline rows: governor keyed, then tollgate as users build it at
/// each load factor of [`LOADS`], over the same 1,000 keys in the same
/// order.
fn headline_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed");
    let keys = u64_keys(1_000);
    let order = visiting_order(&keys, SEED);
    let governor = RateLimiter::keyed(open_quota());
    for k in &keys {
        assert!(governor.check_key(k).is_ok());
    }
    g.bench_function("governor_keyed/u64_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(governor.check_key(black_box(keys.next()))));
    });
    drop(governor);
    for (label, capacity) in LOADS {
        let mut limiter = Renewing::new(capacity, keys.clone());
        g.bench_function(format!("tollgate_check_load/{label}"), |b| {
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
    }
    g.finish();
}

fn tollgate_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed");
    for (label, n) in [("1", 1), ("1k", 1_000), ("1M", MILLION)] {
        let (limiter, order) = tracked(&u64_keys(n));
        g.bench_function(format!("tollgate_check/u64_{label}"), |b| {
            let mut keys = Cycle::new(&order);
            b.iter(|| consume(limiter.check(black_box(keys.next()), Class::READ)));
        });
        if n <= 1_000 {
            // An explicit time: the setup's, fixed for the whole row.
            let now = SystemClock.now();
            g.bench_function(format!("tollgate_check_at/u64_{label}"), |b| {
                let mut keys = Cycle::new(&order);
                b.iter(|| {
                    consume(limiter.check_at(black_box(keys.next()), Class::READ, black_box(now)))
                });
            });
        }
        if n == 1_000 {
            g.bench_function("tollgate_peek/u64_1k", |b| {
                let mut keys = Cycle::new(&order);
                b.iter(|| consume(limiter.peek(black_box(keys.next()), Class::READ)));
            });
        }
        still_admitting(&limiter, &order[0]);
    }

    // One key of a one-window class: one compare-exchange per check.
    let one = Limiter::builder(open_policy_one_window())
        .capacity(1)
        .seed(2)
        .build()
        .expect("a valid capacity");
    let now = SystemClock.now();
    assert!(one.check_at(&7u64, Class::READ, now).is_allowed());
    g.bench_function("tollgate_check_at_one_window/u64_1", |b| {
        b.iter(|| consume(one.check_at(black_box(&7u64), Class::READ, black_box(now))));
    });
    assert!(one.peek_at(&7u64, Class::READ, now).is_allowed());

    // The same class over 1,000 keys with the default clock: a `check` of
    // one compare-exchange. A count of up to u32::MAX a minute fits one
    // word beside its window index, so no clock reaches the limit.
    let keys = u64_keys(1_000);
    let one = Limiter::builder(open_policy_one_window())
        .capacity(keys.len())
        .seed(2)
        .build()
        .expect("a valid capacity");
    track_all(&one, &keys);
    let order = visiting_order(&keys, SEED);
    g.bench_function("tollgate_check_one_window/u64_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(one.check(black_box(keys.next()), Class::READ)));
    });
    still_admitting(&one, &order[0]);

    // `check` over 1,000 keys with a `CachedClock` that a thread refreshes
    // every millisecond: the two-window and one-window rows above (same
    // keys, order and seeds), without the default clock's vDSO read.
    let cached = CachedClock::new();
    let refresher = Refresher::start(&cached);
    let keys = u64_keys(1_000);
    let order = visiting_order(&keys, SEED);
    for (label, policy, seed) in [
        (
            "tollgate_check_cached_clock/u64_1k",
            open_policy(),
            OPEN_SEED,
        ),
        (
            "tollgate_check_cached_clock_one_window/u64_1k",
            open_policy_one_window(),
            2,
        ),
    ] {
        let limiter = Limiter::builder(policy)
            .capacity(keys.len())
            .seed(seed)
            .clock(cached.clone())
            .build()
            .expect("a valid capacity");
        track_all(&limiter, &keys);
        g.bench_function(label, |b| {
            let mut keys = Cycle::new(&order);
            b.iter(|| consume(limiter.check(black_box(keys.next()), Class::READ)));
        });
        still_admitting(&limiter, &order[0]);
    }
    drop(refresher);

    // The reference policy's shape in one word (`packed_policy`), with a
    // time that moves on so that no key reaches its limits.
    for (label, n) in [("1", 1), ("1k", 1_000), ("1M", MILLION)] {
        let limiter = packed_limiter(n);
        let keys = u64_keys(n);
        let mut ticker = Ticker::new();
        for k in &keys {
            assert!(limiter.check_at(k, Class::READ, ticker.next()).is_allowed());
        }
        let order = visiting_order(&keys, SEED);
        g.bench_function(format!("tollgate_check_at_packed/u64_{label}"), |b| {
            let mut keys = Cycle::new(&order);
            b.iter(|| {
                consume(limiter.check_at(
                    black_box(keys.next()),
                    Class::READ,
                    black_box(ticker.next()),
                ))
            });
        });
        if n == MILLION {
            // Each key depends on the last check's result: the latency of
            // one check, as a server sees it between other work, rather
            // than the throughput of checks the processor overlaps. The
            // skip is always 0 (every check admits), but the next key's
            // address waits for it; all keys are visited, in the order of
            // the other rows.
            g.bench_function("tollgate_check_at_packed_chained/u64_1M", |b| {
                let mut keys = Cycle::new(&order);
                b.iter(|| {
                    let d = limiter.check_at(keys.next(), Class::READ, black_box(ticker.next()));
                    keys.skip(usize::from(!d.is_allowed()));
                    consume(d);
                });
            });
        }
        assert!(
            limiter
                .peek_at(&order[0], Class::READ, ticker.next())
                .is_allowed(),
            "the row ran into its limit"
        );
    }

    // `&str` keys in the one-word layout.
    let strings = str_keys(1_000);
    let limiter = packed_limiter(strings.len());
    let mut ticker = Ticker::new();
    for k in &strings {
        assert!(limiter
            .check_at(k.as_str(), Class::READ, ticker.next())
            .is_allowed());
    }
    let order = visiting_order(&strings, SEED);
    g.bench_function("tollgate_check_at_packed/str_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| {
            consume(limiter.check_at(
                black_box(keys.next().as_str()),
                Class::READ,
                black_box(ticker.next()),
            ))
        });
    });
    assert!(limiter
        .peek_at(order[0].as_str(), Class::READ, ticker.next())
        .is_allowed());

    let (limiter, order) = tracked(&strings);
    g.bench_function("tollgate_check/str_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(limiter.check(black_box(keys.next().as_str()), Class::READ)));
    });
    still_admitting(&limiter, &order[0]);

    // The deny path: a key that spent its daily window.
    let spent = Limiter::builder(spent_policy())
        .capacity(1_000)
        .seed(1)
        .build()
        .expect("a valid capacity");
    assert!(spent.check(&7u64, Class::READ).is_allowed());
    assert!(!spent.check(&7u64, Class::READ).is_allowed());
    g.bench_function("tollgate_check_denied/u64_1", |b| {
        b.iter(|| consume(spent.check(black_box(&7u64), Class::READ)));
    });
    g.finish();
}

fn governor_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed");
    // `governor_keyed/u64_1k` is a headline row.
    let keys = u64_keys(MILLION);
    let limiter = RateLimiter::keyed(open_quota());
    for k in &keys {
        assert!(limiter.check_key(k).is_ok());
    }
    let order = visiting_order(&keys, SEED);
    g.bench_function("governor_keyed/u64_1M", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(limiter.check_key(black_box(keys.next()))));
    });
    // As tollgate's chained row: the next key depends on this check's
    // result (a skip of 0: every check admits).
    g.bench_function("governor_keyed_chained/u64_1M", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| {
            let r = limiter.check_key(keys.next());
            keys.skip(usize::from(r.is_err()));
            consume(r);
        });
    });
    drop(limiter);

    let strings = str_keys(1_000);
    let limiter = RateLimiter::keyed(open_quota());
    for k in &strings {
        assert!(limiter.check_key(k).is_ok());
    }
    let order = visiting_order(&strings, SEED);
    g.bench_function("governor_keyed/string_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(limiter.check_key(black_box(keys.next()))));
    });

    let direct = RateLimiter::direct(open_quota());
    g.bench_function("governor_direct/1", |b| {
        b.iter(|| consume(direct.check()));
    });
    g.finish();
}

fn pingora_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed");
    let keys = u64_keys(1_000);
    let rate = pingora_limits::rate::Rate::new(Duration::from_secs(1));
    for k in &keys {
        rate.observe(k, 1);
    }
    let order = visiting_order(&keys, SEED);
    g.bench_function("pingora_rate/u64_1k", |b| {
        let mut keys = Cycle::new(&order);
        b.iter(|| consume(rate.observe(black_box(keys.next()), 1)));
    });
    g.finish();
}

/// The floor under any keyed check: the atomic operations alone, on one
/// cache-padded word, with no clock, no hash and no lookup.
fn baseline_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed");
    let word = CachePadded::new(AtomicU64::new(0));
    g.bench_function("baseline_fetch_add/1", |b| {
        // Relaxed: a counter alone, as cheap as an atomic increment gets.
        b.iter(|| consume(word.fetch_add(1, Ordering::Relaxed)));
    });

    // One compare-exchange on a word packing (window index << 32 | count):
    // the single-window admission step, without its clock read.
    let word = CachePadded::new(AtomicU64::new(0));
    let window = (T0 + 1) / 60;
    g.bench_function("baseline_packed_cas/1", |b| {
        b.iter(|| {
            consume(packed_cas(&word, window));
        });
    });

    // Two compare-exchanges on two words: the floor of a two-window check.
    let words = [
        CachePadded::new(AtomicU64::new(0)),
        CachePadded::new(AtomicU64::new(0)),
    ];
    let windows = [(T0 + 1) / 60, (T0 + 1) / 10];
    g.bench_function("baseline_packed_cas_x2/1", |b| {
        b.iter(|| {
            for (word, &window) in words.iter().zip(&windows) {
                consume(packed_cas(word, window));
            }
        });
    });

    // One compare-exchange on one of 1,000,000 words, each beside room
    // for its key (16 bytes a key, 16 MB in all: the least an exact keyed
    // limiter can hold for that many keys), visited in the keyed rows'
    // pseudo-random order. What a check of a 1,000,000-key row cannot go
    // below on this machine: one access to a line that is rarely still in
    // the core's caches, with its TLB miss, and no hash, lookup or clock.
    let states: Vec<[AtomicU64; 2]> = (0..MILLION)
        .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
        .collect();
    let order = permutation(MILLION, SEED);
    g.bench_function("baseline_packed_cas/u64_1M", |b| {
        let mut at = Cycle::new(&order);
        b.iter(|| consume(packed_cas(&states[*at.next()][1], window)));
    });
    // As the chained rows: the next word waits for this exchange's result
    // (a skip of 0: on one thread every exchange succeeds).
    g.bench_function("baseline_packed_cas_chained/u64_1M", |b| {
        let mut at = Cycle::new(&order);
        b.iter(|| {
            let r = packed_cas(&states[*at.next()][1], window);
            at.skip(usize::from(r.is_err()));
            consume(r);
        });
    });
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
    targets = headline_rows, tollgate_rows, governor_rows, pingora_rows, baseline_rows
}
criterion_main!(benches);
