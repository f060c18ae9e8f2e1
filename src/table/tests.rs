//! Unit tests of the key table: its shape, lookups and inserts, and what
//! it takes from other keys and leaves behind (ended state, eviction,
//! floors).

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small times and counts"
)]

use super::reclaim::Full;
use super::*;
use crate::length::WindowLength;
use crate::stamp::{Stamp, Width};
use crate::state::{Admission, Ask, Unshared};
use crate::window::Window;
use crate::word;

/// A minute boundary (2025-05-06T00:00:00Z).
const T: u64 = 1_746_489_600;

/// One class: 2 a minute and 2 per 10 seconds.
fn stamp(width: Width) -> Stamp {
    let w = [
        Window::new(2, WindowLength::from_secs(60).unwrap()),
        Window::new(2, WindowLength::from_secs(10).unwrap()),
    ];
    Stamp::new(&w, &[2, 2], None, width).unwrap()
}

/// Counts `cost` for the key in `slot` at `now`.
fn count<W: word::Word>(slot: &Slot<'_, W>, stamp: &Stamp, now: u64, cost: u32) -> bool {
    let ask = Ask {
        limits: &[2, 2],
        now,
        cost,
    };
    matches!(
        word::admit(slot.word, stamp, &ask, &Unshared),
        Admission::Admitted(_)
    )
}

#[test]
fn sizes_with_slack_and_rejects_bad_capacities() {
    assert!(matches!(
        Table::<Narrow>::new(0),
        Err(BuildError::Capacity { requested: 0, .. })
    ));
    assert!(Table::<Narrow>::new(MAX_CAPACITY + 1).is_err());
    assert_eq!(Table::<Narrow>::new(1).unwrap().slots(), 8);
    assert_eq!(Table::<Wide>::new(1).unwrap().slots(), 16);
    let t = Table::<Narrow>::new(1000).unwrap();
    assert_eq!(t.slots(), 2500);
    assert_eq!(t.bytes_per_slot(), 19);
    let wide = Table::<Wide>::new(1000).unwrap();
    assert_eq!(wide.slots(), 1504);
    assert_eq!(wide.bytes_per_slot(), 26);
}

#[test]
fn buckets_start_a_line_and_large_tables_prefetch() {
    // Tables of 100,000 states take Miri most of a minute to build.
    let large = if cfg!(miri) { 100 } else { 100_000 };
    let t = Table::<Narrow>::new(large).unwrap();
    for b in [0, 1, t.buckets.len() - 1] {
        assert_eq!(std::ptr::from_ref(&t.buckets[b]) as usize % 64, 0);
    }
    assert!(!Table::<Narrow>::new(1000).unwrap().prefetch);
    if !cfg!(miri) {
        // The default capacity's table does not prefetch; one of 64 MiB
        // and more does (1,400,000 states take 64.75 MB, 1,500,000 take
        // 69.4 MB).
        assert!(!t.prefetch);
        assert!(!Table::<Narrow>::new(1_400_000).unwrap().prefetch);
        assert!(Table::<Narrow>::new(1_500_000).unwrap().prefetch);
        assert!(Table::<Wide>::new(2_000_000).unwrap().prefetch);
    }
}

#[test]
fn homes_are_two_distinct_buckets() {
    let t = Table::<Narrow>::new(1).unwrap();
    for hash in [0, 1, u64::MAX, 0xDEAD_BEEF, 1 << 63] {
        let home = t.home(hash, 3);
        assert_ne!(home.buckets[0], home.buckets[1]);
        assert!(home.buckets.iter().all(|&b| b < t.buckets.len()));
        assert_eq!(home.ident & 0xFF, 3);
        assert_ne!(home.ident >> 8, 0);
    }
}

#[test]
fn insert_then_find_in_either_width() {
    fn run<B: Bucket>(width: Width) {
        let s = stamp(width);
        let rules = Rules {
            stamp_of: |_| Some(&s),
            evict_at_most: 0,
        };
        let t = Table::<B>::new(100).unwrap();
        let home = t.home(0x1234_5678_9ABC_DEF0, 0);
        assert_eq!(t.find(&home), None);
        let slot = t.insert(&home, T, &rules).unwrap();
        assert_eq!(t.find(&home), Some(slot));
        assert_eq!(t.insert(&home, T, &rules).unwrap(), slot);
        assert_eq!(t.occupied(), 1);
        assert!(count(&slot, &s, T, 1));
    }
    run::<Narrow>(Width::Narrow);
    run::<Wide>(Width::Wide);
}

#[test]
fn a_large_prefetching_table_finds_what_it_inserts() {
    let n = if cfg!(miri) { 50 } else { 1_500_000 };
    let s = stamp(Width::Narrow);
    let rules = Rules {
        stamp_of: |_| Some(&s),
        evict_at_most: 0,
    };
    let t = Table::<Narrow>::new(n).unwrap();
    assert!(cfg!(miri) || t.prefetch);
    for i in 0..(n as u64).min(2_000) {
        let home = t.home(spread(i), 0);
        let slot = t.insert(&home, T, &rules).unwrap();
        assert_eq!(t.find(&home), Some(slot));
    }
}

/// A well-spread hash of `i`.
fn spread(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn capacity_live_states_fit() {
    let s = stamp(Width::Narrow);
    let rules = Rules {
        stamp_of: |_| Some(&s),
        evict_at_most: 0,
    };
    // Under Miri, which runs this about a thousand times slower, the
    // small tables only.
    let sizes: &[usize] = if cfg!(miri) {
        &[1, 2, 4, 100]
    } else {
        &[1, 2, 4, 100, 1000, 20_000]
    };
    for &capacity in sizes {
        let t = Table::<Narrow>::new(capacity).unwrap();
        for i in 0..capacity as u64 {
            let home = t.home(spread(i), 0);
            let slot = t.insert(&home, T, &rules).expect("room for every state");
            assert!(count(&slot, &s, T, 1));
        }
        assert_eq!(t.occupied(), capacity);
    }
}

/// The rules of a table of one class laid out as `s`.
type OneClass<'s> = Rules<'s, Box<dyn Fn(u8) -> Option<&'s Stamp> + 's>>;

/// A full table of two buckets (capacity 1: eight narrow slots), every
/// slot holding `cost` counted at `at`; the keys' homes.
fn full_table(
    s: &Stamp,
    evict_at_most: u32,
    at: u64,
    cost: u32,
) -> (Table<Narrow>, OneClass<'_>, Vec<Home>) {
    let rules: OneClass<'_> = Rules {
        stamp_of: Box::new(move |_| Some(s)),
        evict_at_most,
    };
    let t = Table::<Narrow>::new(1).unwrap();
    let mut homes = Vec::new();
    let mut i = 0;
    while homes.len() < 8 {
        let home = t.home(spread(i), 0);
        i += 1;
        let slot = t.insert(&home, at, &rules).unwrap();
        assert!(count(&slot, s, at, cost));
        homes.push(home);
    }
    (t, rules, homes)
}

#[test]
fn a_full_table_reclaims_only_ended_state() {
    let s = stamp(Width::Narrow);
    let (t, rules, homes) = full_table(&s, 0, T, 1);
    let new = t.home(spread(1_000), 0);
    // Every state is live until the minute ends.
    assert_eq!(
        t.insert(&new, T + 30, &rules),
        Err(Full { frees_at: T + 60 })
    );
    assert_eq!(t.occupied(), 8);
    // At the minute's end one is reclaimed; the others stay.
    let slot = t.insert(&new, T + 60, &rules).unwrap();
    assert!(count(&slot, &s, T + 60, 1));
    let gone: Vec<&Home> = homes.iter().filter(|h| t.find(h).is_none()).collect();
    assert_eq!(gone.len(), 1);
    // Its key would start at the end of its last window.
    #[cfg(feature = "test-hooks")]
    assert_eq!(t.untracked_floor(gone[0]), Some(T + 60));
}

#[test]
fn a_full_table_evicts_the_least_count_from_an_earlier_second() {
    let s = stamp(Width::Narrow);
    let (t, rules, homes) = full_table(&s, 1, T, 1);
    // A second count for all but one key: it is the only one at 1.
    let single = homes[5];
    for h in homes.iter().filter(|&&h| h != single) {
        assert!(count(&t.find(h).unwrap(), &s, T + 1, 1));
    }
    let new = t.home(spread(1_000), 0);
    let slot = t.insert(&new, T + 2, &rules).unwrap();
    assert_eq!(t.find(&single), None);
    assert!(homes
        .iter()
        .filter(|&&h| h != single)
        .all(|h| t.find(h).is_some()));
    // The evicted key would start at its stamp, in the same windows.
    #[cfg(feature = "test-hooks")]
    assert_eq!(t.untracked_floor(&single), Some(T));
    // The new key in the same second is not evictable yet, and the rest
    // hold 2: the table is full.
    assert!(count(&slot, &s, T + 2, 1));
    let other = t.home(spread(2_000), 0);
    assert!(t.insert(&other, T + 2, &rules).is_err());
    // A second later the new key (holding 1) is evictable.
    assert!(t.insert(&other, T + 3, &rules).is_ok());
    assert_eq!(t.find(&new), None);
}

#[test]
fn states_counted_in_the_current_second_or_holding_more_stay() {
    let s = stamp(Width::Narrow);
    let (t, rules, _) = full_table(&s, 1, T, 1);
    let new = t.home(spread(1_000), 0);
    // Same second: nothing may be evicted, until the next.
    assert_eq!(t.insert(&new, T, &rules), Err(Full { frees_at: T + 1 }));
    // Without eviction, never: a slot frees up when the minute ends.
    let (t, rules, _) = full_table(&s, 0, T, 1);
    assert_eq!(t.insert(&new, T, &rules), Err(Full { frees_at: T + 60 }));
    assert!(t.insert(&new, T + 5, &rules).is_err());
    // Holding 2 with a bound of 1: never.
    let (t, rules, _) = full_table(&s, 1, T, 2);
    assert!(t.insert(&new, T + 5, &rules).is_err());
}

#[test]
fn ended_state_that_held_least_goes_first() {
    let s = stamp(Width::Narrow);
    let (t, rules, homes) = full_table(&s, 0, T, 1);
    // One key had more traffic: at the minute's end its state outlasts
    // the others'.
    let busy = homes[3];
    assert!(count(&t.find(&busy).unwrap(), &s, T + 1, 1));
    for i in 0..7 {
        let new = t.home(spread(1_000 + i), 0);
        let slot = t.insert(&new, T + 60, &rules).unwrap();
        assert!(count(&slot, &s, T + 60, 1));
    }
    assert!(t.find(&busy).is_some());
    assert!(homes
        .iter()
        .filter(|&&h| h != busy)
        .all(|h| t.find(h).is_none()));
}

#[test]
fn a_fresh_state_is_never_taken() {
    let s = stamp(Width::Narrow);
    let rules = Rules {
        stamp_of: |_| Some(&s),
        evict_at_most: 5,
    };
    let t = Table::<Narrow>::new(1).unwrap();
    let mut i = 0;
    while t.occupied() < 8 {
        // Inserted, never counted in.
        let home = t.home(spread(i), 0);
        t.insert(&home, T, &rules).unwrap();
        i += 1;
    }
    let new = t.home(spread(1_000), 0);
    assert_eq!(
        t.insert(&new, T + 3_600, &rules),
        Err(Full {
            frees_at: T + 3_601
        })
    );
}

#[test]
fn a_future_time_moves_only_its_own_keys_floor() {
    let s = stamp(Width::Narrow);
    let (t, rules, homes) = full_table(&s, 0, T, 1);
    // A check ten years ahead reclaims a state whose windows ended then:
    // that state's floor is the end of its own last window.
    let years = 10 * 365 * 86_400;
    let glitch = t.home(spread(1_000), 0);
    let slot = t.insert(&glitch, T + years, &rules).unwrap();
    assert!(count(&slot, &s, T + years, 1));
    let gone = homes.iter().find(|h| t.find(h).is_none()).unwrap();
    #[cfg(feature = "test-hooks")]
    {
        assert_eq!(t.untracked_floor(gone), Some(T + 60));
        // A key that never saw the future counts at its own time.
        let victim = t.home(spread(2_000), 0);
        assert!(t.untracked_floor(&victim).unwrap() <= T + 60);
    }
    let _ = gone;
}
