//! A flood of invented keys, one request each, and the legitimate keys
//! that come after it: the table keeps taking new keys, and a key that
//! has come back is never evicted.
//!
//! The key is whatever a request claims, and a table holds a fixed number
//! of states. Without eviction, a flood of distinct keys fills it with
//! states that stay live for a whole minute, and every key new to the
//! table is refused until then. With eviction (the default: states
//! holding at most 1, counted in an earlier second), a new key takes the
//! place of an invented one, and comes back with a count that protects
//! it.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test sizes and times in plain arithmetic, far from overflow"
)]

use std::time::Duration;

use tollgate::{Class, Decision, Limiter, ManualClock, Outcome, Policy};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// Smaller under Miri, which interprets every instruction.
const SCALE: u64 = if cfg!(miri) { 100 } else { 1 };

fn at(secs: u64) -> Duration {
    Duration::from_secs(T + secs)
}

/// What a legitimate key's decisions must equal, field by field.
fn figures(d: &Decision) -> (Outcome, u32, u32, u64, Option<u64>) {
    (
        d.outcome(),
        d.limit(),
        d.remaining(),
        d.reset(),
        d.retry_after(),
    )
}

#[test]
fn a_flood_of_invented_keys_does_not_lock_out_new_clients() {
    // Regression: 100,000 writes with distinct invented keys into a table
    // of 10,000 left it full of live states, and 1,000 new legitimate keys
    // a second later were all refused (TableFull, retry-after 59).
    let capacity = 10_000 / usize::try_from(SCALE).unwrap();
    let flood = 100_000 / SCALE;
    let legit = 1_000 / SCALE;
    let clock = ManualClock::new(at(0));
    let limiter = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .capacity(capacity)
        .seed(9)
        .build()
        .unwrap();
    // The same legitimate requests to a table that never fills.
    let reference = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .capacity(100_000)
        .seed(9)
        .evict_at_most(0)
        .build()
        .unwrap();
    // Ten seconds of flood: distinct keys, one write each.
    let per_second = flood / 10;
    for s in 0..10 {
        clock.set(at(s));
        for i in 0..per_second {
            let key = format!("invented_{}", s * per_second + i);
            limiter.check(key.as_str(), Class::WRITE);
        }
    }
    // A second later, the legitimate keys: three writes a second each for
    // 25 seconds (over the burst limit of 20 per 10 seconds, so that they
    // are limited), while the flood goes on at a tenth of its rate.
    let mut exact = vec![true; usize::try_from(legit).unwrap()];
    let mut refused = 0;
    for s in 11..36 {
        clock.set(at(s));
        for i in 0..per_second / 10 {
            let key = format!("invented_late_{s}_{i}");
            limiter.check(key.as_str(), Class::WRITE);
        }
        for _ in 0..3 {
            for (k, exact) in exact.iter_mut().enumerate() {
                let key = format!("legit_{k}");
                let d = limiter.check(key.as_str(), Class::WRITE);
                if d.outcome() == Outcome::TableFull {
                    refused += 1;
                }
                let r = reference.check(key.as_str(), Class::WRITE);
                *exact &= figures(&d) == figures(&r);
            }
        }
    }
    let exact_keys = exact.iter().filter(|&&e| e).count();
    assert_eq!(refused, 0, "legitimate requests refused by a full table");
    // At least 99% of them tracked and limited exactly (in practice all).
    assert!(
        exact_keys * 100 >= exact.len() * 99,
        "{exact_keys} of {} legitimate keys limited exactly",
        exact.len()
    );
    // A key that has come back holds more than the eviction bound, and is
    // never evicted: another flood leaves every legitimate key's count.
    clock.set(at(36));
    for i in 0..flood / 10 {
        let key = format!("invented_again_{i}");
        limiter.check(key.as_str(), Class::WRITE);
    }
    for k in 0..legit {
        let key = format!("legit_{k}");
        let d = limiter.peek(key.as_str(), Class::WRITE);
        let r = reference.peek(key.as_str(), Class::WRITE);
        assert_eq!(figures(&d), figures(&r), "{key} after the second flood");
    }
}

#[test]
fn without_eviction_a_flood_refuses_new_keys_until_its_windows_end() {
    // `evict_at_most(0)`: the table never takes live state, and says when
    // a slot frees up.
    let clock = ManualClock::new(at(0));
    let limiter = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .capacity(100)
        .seed(9)
        .evict_at_most(0)
        .build()
        .unwrap();
    for i in 0..1_000 {
        let key = format!("invented_{i}");
        limiter.check(key.as_str(), Class::WRITE);
    }
    clock.set(at(1));
    let d = limiter.check("legit", Class::WRITE);
    assert_eq!(d.outcome(), Outcome::TableFull);
    assert_eq!(d.retry_after(), Some(59));
}
