//! Instruction counts: one row of the keyed benchmarks, repeated a fixed
//! number of times, for `valgrind --tool=callgrind` (see
//! `scripts/instructions.sh`). Instructions do not depend on what else the
//! machine is doing, so they compare crates on a shared machine where
//! nanoseconds cannot. They do not count cache misses or the latency of
//! atomic operations: read them beside the timings, not instead.
//!
//! `instructions ROW ITERATIONS` runs ROW's setup, then ITERATIONS checks.
//! Run by `cargo bench` (which passes `--bench`), it lists the rows and
//! returns at once. Timed rows use `check_at`, `SystemClock` or a
//! `CachedClock` for tollgate: the default `CoarseClock` reads the vDSO
//! through rustix, which crashes under valgrind.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use governor::{Quota, RateLimiter};
use tollgate::{CachedClock, Class, Clock, Limiter, Policy, SystemClock};
use tollgate_bench::{
    consume, open_policy, open_policy_one_window, packed_cas, packed_limiter, spent_policy,
    str_keys, u64_keys, visiting_order, Cycle, Ticker, OPEN_SEED, T0,
};

const ROWS: &[&str] = &[
    "tollgate_check_at_u64_1",
    "tollgate_check_at_u64_1k",
    "tollgate_check_at_one_window_u64_1",
    "tollgate_check_at_one_window_u64_1k",
    "tollgate_check_at_packed_u64_1",
    "tollgate_check_at_packed_u64_1k",
    "tollgate_check_at_packed_u64_1m",
    "tollgate_check_at_str_1k",
    "tollgate_check_at_packed_str_1k",
    "tollgate_check_system_clock_u64_1k",
    "tollgate_check_cached_clock_u64_1k",
    "tollgate_check_at_denied_u64_1",
    "tollgate_peek_at_u64_1k",
    "governor_keyed_u64_1k",
    "governor_keyed_string_1k",
    "governor_direct_1",
    "pingora_rate_u64_1k",
    "baseline_packed_cas_1",
    "baseline_fetch_add_1",
];

/// A limiter over `policy` tracking `n` u64 keys, the keys in visiting
/// order, and the time they were tracked at.
fn tollgate_u64(policy: Policy, n: usize) -> (Limiter<SystemClock>, Vec<u64>, Duration) {
    tollgate_u64_on(policy, n, SystemClock)
}

/// [`tollgate_u64`] with `clock` as the limiter's clock.
fn tollgate_u64_on<C: Clock>(
    policy: Policy,
    n: usize,
    clock: C,
) -> (Limiter<C>, Vec<u64>, Duration) {
    let limiter = Limiter::builder(policy)
        .clock(clock)
        .capacity(n)
        .seed(OPEN_SEED)
        .build()
        .expect("a valid capacity");
    let now = SystemClock.now();
    let keys = u64_keys(n);
    for k in &keys {
        assert!(limiter.check_at(k, Class::READ, now).is_allowed());
    }
    (limiter, visiting_order(&keys, 0xB0_0C4E), now)
}

/// Tracks 1,000 `&str` keys in `limiter` at the times `time` gives, then
/// checks them `iters` times in visiting order. Inlined into `main`, as
/// the other rows' loops are, so that its counts compare with theirs (a
/// separate function measured 3 instructions more per check).
#[inline(always)]
fn check_str_keys(limiter: &Limiter, mut time: impl FnMut() -> Duration, iters: u64) {
    let strings = str_keys(1_000);
    for k in &strings {
        assert!(limiter
            .check_at(k.as_str(), Class::READ, time())
            .is_allowed());
    }
    let order = visiting_order(&strings, 0xB0_0C4E);
    let mut keys = Cycle::new(&order);
    for _ in 0..iters {
        consume(limiter.check_at(
            black_box(keys.next().as_str()),
            Class::READ,
            black_box(time()),
        ));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(row), Some(iters)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        println!("instructions: run under callgrind with ROW ITERATIONS (scripts/instructions.sh); rows: {ROWS:?}");
        return;
    };
    let quota = Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX);
    match row.as_str() {
        "tollgate_check_at_u64_1" | "tollgate_check_at_u64_1k" => {
            let n = if row.ends_with("_1k") { 1_000 } else { 1 };
            let (limiter, order, now) = tollgate_u64(open_policy(), n);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check_at(black_box(keys.next()), Class::READ, black_box(now)));
            }
        }
        "tollgate_check_at_one_window_u64_1" => {
            let limiter = Limiter::builder(open_policy_one_window())
                .clock(SystemClock)
                .capacity(1)
                .seed(0x7011_6a7e)
                .build()
                .expect("a valid capacity");
            let now = SystemClock.now();
            for _ in 0..iters {
                consume(limiter.check_at(black_box(&7u64), Class::READ, black_box(now)));
            }
        }
        "tollgate_check_at_one_window_u64_1k" => {
            let (limiter, order, now) = tollgate_u64(open_policy_one_window(), 1_000);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check_at(black_box(keys.next()), Class::READ, black_box(now)));
            }
        }
        "tollgate_check_at_packed_u64_1"
        | "tollgate_check_at_packed_u64_1k"
        | "tollgate_check_at_packed_u64_1m" => {
            let n = match row.rsplit('_').next() {
                Some("1k") => 1_000,
                Some("1m") => 1_000_000,
                _ => 1,
            };
            let limiter = packed_limiter(n);
            let keys = u64_keys(n);
            let mut ticker = Ticker::new();
            for k in &keys {
                assert!(limiter.check_at(k, Class::READ, ticker.next()).is_allowed());
            }
            let order = visiting_order(&keys, 0xB0_0C4E);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check_at(
                    black_box(keys.next()),
                    Class::READ,
                    black_box(ticker.next()),
                ));
            }
        }
        "tollgate_check_system_clock_u64_1k" => {
            let (limiter, order, _) = tollgate_u64(open_policy(), 1_000);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check(black_box(keys.next()), Class::READ));
            }
        }
        "tollgate_check_cached_clock_u64_1k" => {
            // No thread refreshes it: callgrind would count that thread's
            // instructions too, and a check reads the time the same way.
            let clock = CachedClock::at(SystemClock.now());
            let (limiter, order, _) = tollgate_u64_on(open_policy(), 1_000, clock);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check(black_box(keys.next()), Class::READ));
            }
        }
        "tollgate_peek_at_u64_1k" => {
            let (limiter, order, now) = tollgate_u64(open_policy(), 1_000);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.peek_at(black_box(keys.next()), Class::READ, black_box(now)));
            }
        }
        "tollgate_check_at_str_1k" => {
            let limiter = Limiter::builder(open_policy())
                .capacity(1_000)
                .seed(1)
                .build()
                .expect("a valid capacity");
            let now = Duration::from_secs(T0);
            check_str_keys(&limiter, || now, iters);
        }
        "tollgate_check_at_packed_str_1k" => {
            let mut ticker = Ticker::new();
            check_str_keys(&packed_limiter(1_000), || ticker.next(), iters);
        }
        "tollgate_check_at_denied_u64_1" => {
            let limiter = Limiter::builder(spent_policy())
                .capacity(1_000)
                .seed(1)
                .build()
                .expect("a valid capacity");
            let now = Duration::from_secs(T0);
            assert!(limiter.check_at(&7u64, Class::READ, now).is_allowed());
            for _ in 0..iters {
                consume(limiter.check_at(black_box(&7u64), Class::READ, black_box(now)));
            }
        }
        "governor_keyed_u64_1k" => {
            let limiter = RateLimiter::keyed(quota);
            let keys = u64_keys(1_000);
            for k in &keys {
                assert!(limiter.check_key(k).is_ok());
            }
            let order = visiting_order(&keys, 0xB0_0C4E);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check_key(black_box(keys.next())));
            }
        }
        "governor_keyed_string_1k" => {
            let limiter = RateLimiter::keyed(quota);
            let strings = str_keys(1_000);
            for k in &strings {
                assert!(limiter.check_key(k).is_ok());
            }
            let order = visiting_order(&strings, 0xB0_0C4E);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(limiter.check_key(black_box(keys.next())));
            }
        }
        "governor_direct_1" => {
            let limiter = RateLimiter::direct(quota);
            for _ in 0..iters {
                consume(limiter.check());
            }
        }
        "pingora_rate_u64_1k" => {
            let rate = pingora_limits::rate::Rate::new(Duration::from_secs(1));
            let keys = u64_keys(1_000);
            for k in &keys {
                rate.observe(k, 1);
            }
            let order = visiting_order(&keys, 0xB0_0C4E);
            let mut keys = Cycle::new(&order);
            for _ in 0..iters {
                consume(rate.observe(black_box(keys.next()), 1));
            }
        }
        "baseline_packed_cas_1" => {
            let word = CachePadded::new(AtomicU64::new(0));
            let window = (T0 + 1) / 60;
            for _ in 0..iters {
                consume(packed_cas(&word, window));
            }
        }
        "baseline_fetch_add_1" => {
            let word = CachePadded::new(AtomicU64::new(0));
            for _ in 0..iters {
                // Relaxed: a counter alone.
                consume(word.fetch_add(1, Ordering::Relaxed));
            }
        }
        other => {
            eprintln!("unknown row {other}; rows: {ROWS:?}");
            std::process::exit(2);
        }
    }
}
