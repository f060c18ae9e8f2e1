//! The hot path allocates nothing.
//!
//! A counting global allocator wraps the system one; every check on a key
//! the limiter already tracks — admitted, denied, a weighted check, a peek,
//! with the default clock, a refreshed `CachedClock` or an explicit time —
//! and a peek of a key it does not track must leave the allocator
//! untouched. This is a correctness test, not a timing.
//!
//! The counter is process-wide, so this file holds a single test: no other
//! test of the binary runs while it measures.

use std::alloc::System;
use std::time::Duration;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tollgate::{
    CachedClock, Class, Clock, CoarseClock, Decision, Limiter, ManualClock, Outcome, Policy,
};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Runs `op` once to warm up (lazy initialisation is not the hot path),
/// then again under the counter, and fails if the second run touched the
/// allocator.
fn assert_no_alloc(what: &str, mut op: impl FnMut() -> Decision) -> Decision {
    std::hint::black_box(op());
    let region = Region::new(GLOBAL);
    let d = std::hint::black_box(op());
    let change = region.change();
    assert_eq!(
        (
            change.allocations,
            change.deallocations,
            change.reallocations
        ),
        (0, 0, 0),
        "{what} touched the allocator: {change:?}"
    );
    d
}

/// A limiter of the reference policy on `clock`, with 128-bit states if
/// `wide`.
fn reference_limiter<C: Clock>(clock: C, wide: bool) -> Limiter<C> {
    Limiter::builder(Policy::default())
        .clock(clock)
        .capacity(1_000)
        .wide_states(wide)
        .build()
        .unwrap()
}

#[test]
fn checks_on_tracked_keys_and_peeks_allocate_nothing() {
    // The counter counts: a boxed value is seen.
    let region = Region::new(GLOBAL);
    drop(std::hint::black_box(Box::new(7u64)));
    assert_eq!(region.change().allocations, 1);

    // Both widths of state word: 64 bits (the reference policy's) and
    // 128.
    for wide in [false, true] {
        let t = 1_746_489_600;
        let clock = ManualClock::new(Duration::from_secs(t));
        let limiter = reference_limiter(clock.clone(), wide);
        let coarse = reference_limiter(CoarseClock, wide);
        let cached_clock = CachedClock::at(Duration::from_secs(t));
        let cached = reference_limiter(cached_clock.clone(), wide);

        // Track the keys first: inserting a key is not the hot path.
        assert!(cached.check("key_1", Class::READ).is_allowed());
        assert!(limiter.check("key_1", Class::READ).is_allowed());
        assert!(limiter.check(&42u64, Class::WRITE).is_allowed());
        assert!(coarse.check("key_1", Class::READ).is_allowed());

        let d = assert_no_alloc("check (&str key)", || limiter.check("key_1", Class::READ));
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("check (u64 key)", || limiter.check(&42u64, Class::WRITE));
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("check_n", || limiter.check_n("key_1", Class::READ, 5));
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("check_at", || {
            limiter.check_at("key_1", Class::READ, Duration::from_secs(t + 1))
        });
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("peek (tracked)", || limiter.peek("key_1", Class::READ));
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("check with CoarseClock", || {
            coarse.check("key_1", Class::READ)
        });
        assert_eq!(d.outcome(), Outcome::Allowed);
        let d = assert_no_alloc("peek with CoarseClock", || {
            coarse.peek("key_1", Class::READ)
        });
        assert_eq!(d.outcome(), Outcome::Allowed);
        // An event loop's turn: refresh the cached time, then check. Both
        // runs count in a window of today, not of the time the key was
        // tracked at.
        let d = assert_no_alloc("refresh and check with CachedClock", || {
            cached_clock.refresh();
            cached.check("key_1", Class::READ)
        });
        // 331 after both runs, or 332 if a 10-second window turned over
        // between them.
        assert_eq!(d.outcome(), Outcome::Allowed);
        assert!((331..=332).contains(&d.remaining()), "{d:?}");

        // A denied check: spend the write burst (20 per 10 s), then go on.
        while limiter.check(&42u64, Class::WRITE).is_allowed() {}
        let d = assert_no_alloc("denied check", || limiter.check(&42u64, Class::WRITE));
        assert_eq!(d.outcome(), Outcome::Denied);
        assert_eq!(d.retry_after(), Some(10));
        let d = assert_no_alloc("denied check_n", || {
            limiter.check_n(&42u64, Class::WRITE, 3)
        });
        assert_eq!(d.outcome(), Outcome::Denied);
        let d = assert_no_alloc("cost above the limit", || {
            limiter.check_n(&42u64, Class::WRITE, 61)
        });
        assert_eq!(d.outcome(), Outcome::CostTooLarge);

        // A peek of a key the limiter does not track neither allocates nor
        // starts tracking it.
        let tracked = limiter.tracked();
        let d = assert_no_alloc("peek (untracked)", || {
            limiter.peek("never_seen", Class::READ)
        });
        assert_eq!((d.outcome(), d.remaining()), (Outcome::Allowed, 333));
        assert_eq!(limiter.tracked(), tracked);
    }
}
