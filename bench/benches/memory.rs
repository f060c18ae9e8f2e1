//! Memory per tracked key, measured by a counting global allocator: the
//! heap bytes still held after building a limiter and tracking N keys,
//! divided by N. Not a timing: it prints a table and writes
//! `target/criterion/memory.json` for `scripts/bench_chart.py`.
//!
//! tollgate allocates its whole table when built (for the capacity asked
//! for) and nothing afterwards; governor's keyed store (a `DashMap`) grows
//! as keys arrive, so its figure depends on where N falls between two of
//! its resizes.

use std::alloc::System;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tollgate::{Class, Limiter, Policy};
use tollgate_bench::{str_keys, u64_keys};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes held at the end of `f` that were not held before it, with
/// the value `f` returns (kept alive while measuring).
fn held<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let value = f();
    let change = region.change();
    (
        value,
        change
            .bytes_allocated
            .saturating_sub(change.bytes_deallocated),
    )
}

/// Asserts that `limiter` tracks its `n` keys, but for the rare key
/// that a table filled to capacity refuses (both of its buckets full:
/// about one fill in twenty of 1,000,000 keys refuses one, near the end).
fn assert_nearly_full<C: tollgate::Clock>(limiter: &Limiter<C>, n: usize) {
    let tracked = limiter.tracked();
    assert!(
        tracked <= n && tracked >= n.saturating_sub(n / 10_000),
        "{tracked} of {n} tracked"
    );
}

struct Row {
    name: String,
    keys: usize,
    bytes: usize,
}

fn main() {
    let mut rows = Vec::new();
    for n in [1_000usize, 1_000_000] {
        // The reference policy: two classes, each of two windows, kept in
        // one word (the default) and with a word per window.
        let keys = u64_keys(n);
        for (wide, name) in [
            (false, format!("tollgate (capacity {n})")),
            (true, format!("tollgate, 128-bit states (capacity {n})")),
        ] {
            let (limiter, bytes) = held(|| {
                let limiter = Limiter::builder(Policy::default())
                    .capacity(n)
                    .seed(3)
                    .wide_states(wide)
                    .build()
                    .expect("a valid capacity");
                for k in &keys {
                    limiter.check(k, Class::READ);
                }
                limiter
            });
            assert_nearly_full(&limiter, n);
            rows.push(Row {
                name,
                keys: n,
                bytes,
            });
            drop(limiter);
        }

        let quota = Quota::per_second(NonZeroU32::MAX);
        let (limiter, bytes) = held(|| {
            let limiter = RateLimiter::keyed(quota);
            for k in &keys {
                assert!(limiter.check_key(k).is_ok());
            }
            limiter
        });
        assert_eq!(limiter.len(), n);
        rows.push(Row {
            name: "governor keyed, u64 keys".into(),
            keys: n,
            bytes,
        });
        drop(limiter);

        // String keys: governor stores each key; tollgate stores none.
        let strings = str_keys(n);
        let (limiter, bytes) = held(|| {
            let limiter = RateLimiter::keyed(quota);
            for k in &strings {
                assert!(limiter.check_key(k).is_ok());
            }
            limiter
        });
        rows.push(Row {
            name: "governor keyed, String keys (24 B, cloned in)".into(),
            keys: n,
            bytes,
        });
        drop(limiter);
        let (limiter, bytes) = held(|| {
            let limiter = Limiter::builder(Policy::default())
                .capacity(n)
                .seed(3)
                .build()
                .expect("a valid capacity");
            for k in &strings {
                limiter.check(k.as_str(), Class::READ);
            }
            limiter
        });
        assert_nearly_full(&limiter, n);
        rows.push(Row {
            name: format!("tollgate (capacity {n}), &str keys"),
            keys: n,
            bytes,
        });
        drop(limiter);
    }
    // pingora-limits keeps a fixed-size count-min sketch, not per-key state.
    let (rate, bytes) = held(|| {
        let rate = pingora_limits::rate::Rate::new(Duration::from_secs(1));
        for k in &u64_keys(1_000) {
            rate.observe(k, 1);
        }
        rate
    });
    rows.push(Row {
        name: "pingora-limits Rate (fixed sketch)".into(),
        keys: 1_000,
        bytes,
    });
    drop(rate);

    println!(
        "{:<48} {:>10} {:>14} {:>10}",
        "memory", "keys", "heap bytes", "B/key"
    );
    let mut json = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let per_key = r.bytes as f64 / r.keys as f64;
        println!(
            "{:<48} {:>10} {:>14} {:>10.1}",
            r.name, r.keys, r.bytes, per_key
        );
        let comma = if i == rows.len().saturating_sub(1) {
            ""
        } else {
            ","
        };
        let _ = writeln!(
            json,
            "  {{\"name\": \"{}\", \"keys\": {}, \"bytes\": {}, \"bytes_per_key\": {:.2}}}{comma}",
            r.name, r.keys, r.bytes, per_key
        );
    }
    json.push_str("]\n");
    if let Some(dir) = criterion_dir() {
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join("memory.json"), json);
        }
    }
}

/// `target/criterion`, found from this benchmark's own path
/// (`target/release/deps/memory-*`), or `CARGO_TARGET_DIR` when set.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(dir).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}
