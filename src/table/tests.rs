//! Unit tests of the key table.

use super::reclaim::Full;
use super::*;
use crate::counter::admit_any as admit;
use crate::length::WindowLength;
use crate::state::Admission;

fn minute() -> Vec<Window> {
    vec![Window::new(2, WindowLength::from_secs(60).unwrap())]
}

#[test]
fn sizes_with_slack_and_rejects_bad_capacities() {
    assert!(Table::new(0, 2).is_none());
    assert!(Table::new(MAX_CAPACITY + 1, 2).is_none());
    let t = Table::new(1, 2).unwrap();
    assert_eq!(t.slots(), 16);
    let t = Table::new(1000, 2).unwrap();
    assert_eq!(t.slots(), 1504);
    assert_eq!(t.bytes_per_slot(), 34);
}

#[test]
fn slots_start_on_a_cache_line_and_large_tables_prefetch() {
    // Tables of 10,000 states take Miri most of a minute to build.
    let large = if cfg!(miri) { 100 } else { 10_000 };
    for (capacity, width) in [(1, 0), (1, 1), (100, 2), (large, 1), (large, 3)] {
        let t = Table::new(capacity, width).unwrap();
        let first = t.stride(0).as_ptr() as usize;
        assert_eq!(first % 64, 0, "capacity {capacity}, width {width}");
        // Every bucket's slots start a line: 8 slots of width + 1 words.
        let second = t.stride(BUCKET_SLOTS).as_ptr() as usize;
        assert_eq!(second - first, 64 * (width + 1));
        // The last slot's words are inside the allocation.
        assert_eq!(t.stride(t.slots() - 1).len(), width + 1);
    }
    assert!(!Table::new(1000, 1).unwrap().prefetch);
    if !cfg!(miri) {
        assert!(Table::new(10_000, 1).unwrap().prefetch);
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a table large enough to prefetch takes Miri most of a minute"
)]
fn a_prefetching_table_finds_what_it_inserts() {
    let w = minute();
    let t = Table::new(10_000, 1).unwrap();
    assert!(t.prefetch);
    // A few homes, then one of the first and the last bucket, whose
    // prefetched lines are the first and the last of the allocation.
    for h in [0u64, u64::MAX, 1 << 63, 0x1234_5678_9ABC_DEF0] {
        let home = t.home(h, 0);
        t.prefetch(&home);
        let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
        assert_eq!(t.find(&home), Some(slot));
    }
    let ends = Home {
        ident: 7 << 8,
        buckets: [0, t.tags.len() - 1],
    };
    t.prefetch(&ends);
}

#[test]
fn homes_are_two_distinct_buckets() {
    let t = Table::new(100, 1).unwrap();
    for h in [0u64, 1, u64::MAX, 0xDEAD_BEEF, 1 << 63] {
        let home = t.home(h, 3);
        assert_ne!(home.buckets[0], home.buckets[1]);
        assert!(home.buckets.iter().all(|&b| b < t.tags.len()));
        assert_eq!(home.ident & 0xFF, 3);
        assert_ne!(home.ident >> 8, 0);
    }
}

#[test]
fn insert_then_find() {
    let w = minute();
    let t = Table::new(16, 1).unwrap();
    let home = t.home(42, 0);
    assert_eq!(t.find(&home), None);
    let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
    assert_eq!(t.find(&home), Some(slot));
    assert_eq!(t.insert(&home, 100, |_| Layout::Words(&w)).unwrap(), slot);
    assert!(slot.still_owns(slot.floor()));
    assert_eq!(t.occupied(), 1);
}

#[test]
fn capacity_live_states_fit() {
    let w = minute();
    // Miri interprets every atomic: a smaller largest table there.
    let largest = if cfg!(miri) { 300 } else { 10_000 };
    for capacity in [1, 7, 100, largest] {
        let t = Table::new(capacity, 1).unwrap();
        for k in 0..capacity as u64 {
            // An odd multiplier spreads consecutive keys like a hash.
            let home = t.home(k.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17), 0);
            let slot = t
                .insert(&home, 100, |_| Layout::Words(&w))
                .unwrap_or_else(|e| panic!("key {k} of {capacity}: {e:?}"));
            assert!(matches!(
                admit(slot.words(), &w, &[2], 100, 1),
                Admission::Admitted(_)
            ));
        }
        assert_eq!(t.occupied(), capacity);
    }
}

#[test]
fn a_full_table_reclaims_only_ended_state() {
    let w = minute();
    let t = Table::new(1, 1).unwrap(); // two buckets of 8
    let mut slots = Vec::new();
    for k in 0..16u64 {
        let home = t.home(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), 0);
        let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
        assert!(matches!(
            admit(slot.words(), &w, &[2], 100, 1),
            Admission::Admitted(_)
        ));
        slots.push(slot);
    }
    let newcomer = t.home(0xFFFF_0000_1234, 0);
    // Every slot is live until the minute ends at 120.
    assert_eq!(
        t.insert(&newcomer, 110, |_| Layout::Words(&w)),
        Err(Full { frees_at: 120 })
    );
    assert!(slots.iter().all(|&s| s.still_owns(100)));
    // At 120 the old windows have ended: a slot is reclaimed.
    let slot = t.insert(&newcomer, 120, |_| Layout::Words(&w)).unwrap();
    assert_eq!(slots.iter().filter(|&&s| !s.still_owns(100)).count(), 1);
    assert_eq!(slot.floor(), 120);
    assert!(slot
        .words()
        .iter()
        .all(|w| w.load(Ordering::Relaxed) == NEUTRAL));
}
