//! Memory is fixed at build time: a flood of distinct keys neither grows
//! it nor makes the limiter forget tracked keys.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "expected values are small sums"
)]

use std::time::Duration;

use tollgate::{Class, Limiter, ManualClock, OnFull, Outcome, Policy};

use tollgate_test_support::counting::{allocated, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const T: u64 = 1_746_489_600;
/// Smaller under Miri, which interprets every instruction.
const CAPACITY: usize = if cfg!(miri) { 50 } else { 1_000 };

fn at(secs: u64) -> Duration {
    Duration::from_secs(T + secs)
}

#[test]
fn a_key_flood_is_bounded_and_forgets_no_tracked_key() {
    let limiter = Limiter::builder(Policy::default())
        .clock(ManualClock::new(at(0)))
        .capacity(CAPACITY)
        .seed(11)
        .build()
        .unwrap();
    // Half the capacity in tracked keys spend their burst.
    let tracked: Vec<u64> = (0..(CAPACITY / 2) as u64).collect();
    for k in &tracked {
        assert!(limiter.check_n_at(k, Class::WRITE, 20, at(0)).is_allowed());
    }

    // Ten times the capacity in distinct new keys, all within the window.
    let before = allocated();
    let mut admitted = 0usize;
    let mut refused = 0usize;
    for k in 1_000_000..1_000_000 + 10 * CAPACITY as u64 {
        let d = limiter.check_at(&k, Class::WRITE, at(1));
        match d.outcome() {
            Outcome::Allowed => admitted += 1,
            Outcome::TableFull => {
                refused += 1;
                // Fail closed, with the time until a slot frees: the
                // flood's states, each holding 1 counted in this second,
                // may be evicted from the next.
                assert_eq!(
                    (d.retry_after(), d.reset(), d.remaining()),
                    (Some(1), T + 2, 0)
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(allocated(), before, "the flood allocated");
    assert!(limiter.tracked() <= limiter.slots());
    // The capacity is honoured: at least CAPACITY states fit.
    assert!(
        tracked.len() + admitted >= CAPACITY,
        "only {admitted} admitted"
    );
    assert_eq!(admitted + refused, 10 * CAPACITY);

    // Every tracked key is still exactly where it was: burst spent.
    for k in &tracked {
        let d = limiter.check_at(k, Class::WRITE, at(2));
        assert_eq!(
            (d.outcome(), d.retry_after()),
            (Outcome::Denied, Some(8)),
            "key {k}"
        );
    }

    // Once every window has ended, new keys are admitted again (up to the
    // capacity, with room for the tracked keys that return), and the
    // tracked keys start afresh.
    let returning = CAPACITY / 10;
    let mut fresh = 0;
    for k in 2_000_000..2_000_000 + (CAPACITY - returning) as u64 {
        fresh += usize::from(limiter.check_at(&k, Class::WRITE, at(60)).is_allowed());
    }
    assert_eq!(fresh, CAPACITY - returning);
    for k in tracked.iter().take(returning) {
        let d = limiter.check_at(k, Class::WRITE, at(60));
        assert!(d.is_allowed(), "{k}: {d:?} tracked {}", limiter.tracked());
    }
}

#[test]
fn failing_open_admits_new_keys_untracked() {
    let limiter = Limiter::builder(Policy::default())
        .capacity(1)
        .on_full(OnFull::Allow)
        .seed(3)
        .build()
        .unwrap();
    let mut untracked = 0;
    for k in 0..100u64 {
        let d = limiter.check_at(&k, Class::WRITE, at(0));
        assert!(d.is_allowed());
        if d.outcome() == Outcome::AllowedUntracked {
            untracked += 1;
            assert_eq!(
                (d.limit(), d.remaining(), d.reset(), d.retry_after()),
                (60, 19, T + 10, None)
            );
        }
    }
    // Two buckets of eight slots: at most 16 tracked, the rest untracked.
    assert!(untracked >= 84, "{untracked}");
    assert_eq!(limiter.tracked(), 100 - untracked);
}

#[test]
fn the_table_is_sized_once() {
    let capacity = if cfg!(miri) { 1_000 } else { 100_000 };
    let before = allocated();
    let limiter = Limiter::builder(Policy::default())
        .capacity(capacity)
        .seed(1)
        .build()
        .unwrap();
    let built = allocated() - before;
    // About 47 bytes per state of the reference policy, whose states fit
    // 64 bits (see the crate docs).
    assert!(limiter.slots() >= capacity);
    assert!(
        built >= limiter.slots() * limiter.bytes_per_slot() * 9 / 10,
        "{built}"
    );
    assert!(limiter.bytes_per_slot() * limiter.slots() / capacity <= 64);
    assert_eq!(limiter.bytes_per_slot(), 19);
    // With 128-bit states: 26 bytes per slot, about 39 per state.
    let wide = Limiter::builder(Policy::default())
        .capacity(capacity)
        .wide_states(true)
        .build()
        .unwrap();
    assert_eq!(wide.bytes_per_slot(), 26);
    assert!(wide.bytes_per_slot() * wide.slots() / capacity <= 64);
}

#[test]
fn zero_and_huge_capacities_are_errors() {
    assert!(Limiter::builder(Policy::default())
        .capacity(0)
        .build()
        .is_err());
    let err = Limiter::builder(Policy::default())
        .capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("capacity"), "{err}");
}

#[test]
fn override_capacities_too_large_to_allocate_are_errors() {
    // Regression: these panicked with "capacity overflow".
    for n in [usize::MAX, usize::MAX / 2 + 1] {
        let err = Limiter::builder(Policy::default())
            .capacity(1)
            .override_capacity(n)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, tollgate::BuildError::Memory { .. }),
            "{n}: {err}"
        );
    }
}

/// Set in the child process that [`sizes_beyond_the_memory_are_errors`]
/// starts under an address-space limit.
const UNDER_LIMIT: &str = "TOLLGATE_TEST_UNDER_ULIMIT";

#[test]
#[cfg_attr(miri, ignore = "starts a process")]
fn sizes_beyond_the_memory_are_errors() {
    // Regression: the largest documented capacity asked for 51 GB at once
    // and the process aborted; so did an override capacity of 2^40.
    if std::env::var_os(UNDER_LIMIT).is_none() {
        // Run this test again in a child whose address space is 2 GB, so
        // that the allocations are refused rather than overcommitted.
        let exe = std::env::current_exe().unwrap();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 2000000 && exec \"$0\" \"$@\"")
            .arg(exe)
            .args([
                "--exact",
                "sizes_beyond_the_memory_are_errors",
                "--test-threads=1",
            ])
            .env(UNDER_LIMIT, "1")
            .status()
            .unwrap();
        assert!(status.success(), "the child failed: {status}");
        return;
    }
    let huge = [
        Limiter::builder(Policy::default()).capacity(Limiter::MAX_CAPACITY),
        Limiter::builder(Policy::default()).override_capacity(1 << 40),
        Limiter::builder(Policy::default())
            .capacity(Limiter::MAX_CAPACITY)
            .wide_states(true),
    ];
    for builder in huge {
        let err = builder.build().unwrap_err();
        assert!(matches!(err, tollgate::BuildError::Memory { .. }), "{err}");
        assert!(err.to_string().contains("cannot allocate"), "{err}");
    }
}
