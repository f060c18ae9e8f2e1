//! Unit tests of the packed layout: how `Packing::new` sizes the fields,
//! what a word stands for at a time (`view`), and what `admit`, `undo` and
//! `live_end` do to and read from it; then a differential proptest against
//! the separate-words counters of `counter`, which the packed layout must
//! agree with check for check.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small window indexes and counts, far from overflow"
)]

use proptest::prelude::*;

use super::*;
use crate::counter;
use crate::length::WindowLength;

/// A minute boundary (2025-05-06T00:00:00Z): windows of 60 and 10 s start
/// at `T`.
const T: u64 = 1_746_489_600;
/// The minute and the 10-second window at `T`.
const L: u64 = T / 60;
const S: u64 = T / 10;

fn windows(spec: &[(u32, u64)]) -> Vec<Window> {
    spec.iter()
        .map(|&(l, s)| Window::new(l, WindowLength::from_secs(s).expect("valid length")))
        .collect()
}

/// The packing of `spec` sized for the limits `max`.
fn packing_for(spec: &[(u32, u64)], max: [u32; 2]) -> Option<Packing> {
    Packing::new(&windows(spec), max)
}

/// The packing of `spec` sized for its own limits.
fn packing(spec: &[(u32, u64)]) -> Packing {
    packing_for(spec, [spec[0].0, spec[1].0]).expect("packs")
}

/// The reference read class: 1000 per minute, 333 per 10 seconds.
fn read() -> Packing {
    packing(&[(1000, 60), (333, 10)])
}

fn tally(index: [u64; 2], count: [u32; 2]) -> Tally<2> {
    Tally { index, count }
}

fn load(word: &AtomicU64) -> u64 {
    word.load(Ordering::Relaxed)
}

/// The four fields of `p` are disjoint and fit in 64 bits, each count
/// field holds its `max_limits`, and the long index's half range covers
/// at least 2^31 seconds (the documented horizon).
fn assert_sane(p: &Packing) {
    let fields = [
        p.index_mask << p.index_shift,
        p.sub_mask << p.sub_shift,
        p.long_mask << p.long_shift,
        p.short_mask,
    ];
    for (i, a) in fields.iter().enumerate() {
        assert_ne!(*a, 0, "field {i} is empty: {p:?}");
        for b in &fields[i + 1..] {
            assert_eq!(a & b, 0, "fields overlap: {p:?}");
        }
    }
    // No field is cut off at the top of the word.
    assert_eq!(p.index_mask.count_ones() + p.index_shift, 64, "{p:?}");
    assert!(p.sub_shift + p.sub_mask.count_ones() <= p.index_shift);
    assert!(p.long_shift + p.long_mask.count_ones() <= p.sub_shift);
    assert!(p.short_mask.count_ones() <= p.long_shift);
    // The fast path of `admit_while` adds to both counts at once: they
    // are the word's low bits, and nothing else.
    assert_eq!(p.counts_mask, (p.long_mask << p.long_shift) | p.short_mask);
    // The sub-index field holds every position of a short window.
    assert!(p.sub_mask >= p.ratio - 1, "{p:?}");
    let max = p.max_limits();
    assert_eq!(u64::from(max[0]), p.long_mask.min(u32::MAX.into()));
    assert_eq!(u64::from(max[1]), p.short_mask.min(u32::MAX.into()));
    let half_range = (p.index_mask >> 1) + 1;
    assert!(
        half_range.saturating_mul(p.long.get()) >= 1 << 31,
        "horizon below 2^31 s: {p:?}"
    );
}

#[test]
fn sizes_the_reference_classes() {
    let read = read();
    assert_eq!(read.max_limits(), [262_143, 65_535]);
    // 27 bits of minute index, 3 of sub-index, 18 + 16 of counts.
    assert_eq!(
        (read.index_shift, read.sub_shift, read.long_shift),
        (37, 34, 16)
    );
    assert_sane(&read);
    let write = packing(&[(60, 60), (20, 10)]);
    assert_eq!(write.max_limits(), [262_143, 65_535]);
    assert_eq!(write, read);
}

#[test]
fn shares_spare_bits_and_refuses_what_does_not_fit() {
    let minute = [(1, 60), (1, 10)];
    // 34 count bits beside a minute's indexes: 17 + 17 fit exactly.
    let p = packing_for(&minute, [(1 << 17) - 1; 2]).expect("17 + 17 bits");
    assert_eq!(p.max_limits(), [(1 << 17) - 1; 2]);
    assert_sane(&p);
    let p = packing_for(&minute, [1 << 17, (1 << 16) - 1]).expect("18 + 16 bits");
    assert_eq!(p.max_limits(), [(1 << 18) - 1, (1 << 16) - 1]);
    assert_eq!(packing_for(&minute, [1 << 17, 1 << 16]), None);
    assert_eq!(packing_for(&minute, [u32::MAX; 2]), None);
    // A 32-bit long limit still fits beside a small burst.
    let p = packing_for(&minute, [u32::MAX, 1]).expect("32 + 1 bits");
    assert_eq!(p.max_limits(), [u32::MAX, 3]);
    assert_sane(&p);
}

#[test]
fn packs_only_two_nested_windows() {
    let max = [10, 10];
    assert_eq!(packing_for(&[(10, 60), (10, 25)], max), None);
    assert_eq!(packing_for(&[(10, 60)], max), None);
    assert_eq!(packing_for(&[(10, 3600), (10, 60), (10, 10)], max), None);
    assert_eq!(packing_for(&[(10, 60), (10, 60)], max), None);
    // Shortest first is not a class's order.
    assert_eq!(packing_for(&[(10, 10), (10, 60)], max), None);
    assert!(packing_for(&[(10, 2), (10, 1)], max).is_some());
}

#[test]
fn long_windows_pack_with_sane_sizes() {
    let day = 86_400;
    let year = 365 * day;
    let max_secs = WindowLength::MAX_SECS;
    for (spec, max) in [
        ([(1000, day), (100, 3600)], [8_388_607, 1_048_575]),
        ([(1000, 7 * day), (100, day)], [0, 0]),
        ([(1000, max_secs), (100, year)], [0, 0]),
        ([(1000, max_secs), (100, day)], [0, 0]),
        ([(1000, max_secs), (10, 1)], [32_767, 511]),
        ([(3, 2), (2, 1)], [0, 0]),
    ] {
        let p = packing(&spec);
        assert_sane(&p);
        let got = p.max_limits();
        assert!(
            got[0] >= spec[0].0 && got[1] >= spec[1].0,
            "{spec:?}: {got:?}"
        );
        if max != [0, 0] {
            assert_eq!(got, max, "{spec:?}");
        }
        // Checks anywhere in time neither panic nor lose a count.
        let word = AtomicU64::new(NEUTRAL);
        let limits = [spec[0].0, spec[1].0];
        for now in [
            0,
            1,
            T,
            1 << 32,
            1 << 40,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ] {
            word.store(NEUTRAL, Ordering::Relaxed);
            let Admission::Admitted(a) = p.admit(&word, &limits, now, 1) else {
                panic!("{spec:?} at {now}: denied");
            };
            assert_eq!(a.count, [1, 1]);
            assert_eq!(p.view(load(&word), now), a, "{spec:?} at {now}");
            assert!(p
                .live_end(load(&word), now)
                .is_some_and(|end| end > now || end == u64::MAX));
        }
    }
    // The longest windows keep the fewest index bits, and still span
    // 2^7 windows of 100 years either way.
    let p = packing(&[(1, max_secs), (1, 1)]);
    assert_eq!(p.index_mask, 0xFF);
}

#[test]
fn view_of_the_neutral_word_is_empty_and_current() {
    let p = read();
    assert_eq!(p.view(NEUTRAL, T + 25), tally([L, S + 2], [0, 0]));
    assert_eq!(p.view(NEUTRAL, 0), tally([0, 0], [0, 0]));
    // Even where the long index is 0 modulo 2^I.
    let wrap = (1u64 << 27) * 60;
    assert_eq!(
        p.view(NEUTRAL, wrap + 15),
        tally([1 << 27, (1 << 27) * 6 + 1], [0, 0])
    );
}

#[test]
fn view_reads_current_older_and_newer_windows() {
    let p = read();
    let word = p.pack([L, S + 2], [5, 3]);
    // The current windows.
    assert_eq!(p.view(word, T + 25), tally([L, S + 2], [5, 3]));
    assert_eq!(p.view(word, T + 29), tally([L, S + 2], [5, 3]));
    // A later 10 s window of the same minute: the burst is empty, the
    // minute keeps its count.
    assert_eq!(p.view(word, T + 30), tally([L, S + 3], [5, 0]));
    assert_eq!(p.view(word, T + 59), tally([L, S + 5], [5, 0]));
    // A later minute: both empty.
    assert_eq!(p.view(word, T + 60), tally([L + 1, S + 6], [0, 0]));
    assert_eq!(p.view(word, T + 3600), tally([L + 60, S + 360], [0, 0]));
    // An earlier 10 s window of the same minute (a straggler): the newer
    // burst window keeps counting.
    assert_eq!(p.view(word, T + 5), tally([L, S + 2], [5, 3]));
    assert_eq!(p.view(word, T + 19), tally([L, S + 2], [5, 3]));
    // An earlier minute, one or many behind: both newer windows count.
    assert_eq!(p.view(word, T - 1), tally([L, S + 2], [5, 3]));
    assert_eq!(p.view(word, T - 60 * 1000), tally([L, S + 2], [5, 3]));
}

#[test]
fn view_at_the_horizon() {
    // The read class keeps 27 bits of minute index: half the range is
    // 2^26 minutes (127 years).
    let p = read();
    let half = 1u64 << 26;
    // A minute far enough from 0 to be looked at from 2^26 minutes
    // either side.
    let b = L + half;
    let word = p.pack([b, b * 6 + 1], [7, 2]);
    let at = |long: u64| long * 60 + 15;
    // 2^26 - 1 and 2^26 minutes behind: stale.
    assert_eq!(p.view(word, at(b + half - 1)).count, [0, 0]);
    assert_eq!(p.view(word, at(b + half)).count, [0, 0]);
    // One further and the untouched count reappears, as a newer window:
    // the documented horizon.
    assert_eq!(
        p.view(word, at(b + half + 1)),
        tally([b + 2 * half, (b + 2 * half) * 6 + 1], [7, 2])
    );
    // 2^26 - 1 minutes ahead of now: newer, and counting.
    assert_eq!(
        p.view(word, at(b - (half - 1))),
        tally([b, b * 6 + 1], [7, 2])
    );
    // 2^26 ahead reads as behind: stale.
    assert_eq!(p.view(word, at(b - half)).count, [0, 0]);
    // Across the 2^27 wrap of the stored index.
    let wrap = 1u64 << 27;
    let w = wrap + 2;
    let word = p.pack([w, w * 6 + 4], [3, 1]);
    assert_eq!(p.view(word, at(wrap - 3)), tally([w, w * 6 + 4], [3, 1]));
    assert_eq!(p.view(word, at(w)), tally([w, w * 6 + 4], [3, 1]));
    assert_eq!(p.view(word, at(wrap + 5)).count, [0, 0]);
}

#[test]
fn view_of_a_packed_tally_round_trips() {
    let p = read();
    let now = T + 25;
    for t in [
        tally([L, S + 2], [1, 1]),
        tally([L, S + 5], [262_143, 65_535]),
        tally([L + 1, S + 6], [9, 0]),
        tally([L + 1000, (L + 1000) * 6 + 3], [1, 1]),
    ] {
        assert_eq!(p.view(p.pack(t.index, t.count), now), t);
    }
}

/// Where the current windows' fields are all zero (near the epoch, and
/// where the long index wraps modulo 2^I), a word that names them reads
/// like the neutral word: packed and separate words still agree check for
/// check, through the fast path of a current word and out of it.
#[test]
fn words_of_windows_with_zero_fields_agree_with_separate_words() {
    let p = read();
    let lengths = [Divisor::new(60), Divisor::new(10)];
    let limits = [7, 3];
    // The long index is kept modulo 2^27 for a minute: it wraps at
    // 2^27 minutes.
    let wrap = (1u64 << 27) * 60;
    for start in [0, 1, wrap - 70, wrap] {
        let packed = AtomicU64::new(NEUTRAL);
        let separate = [AtomicU64::new(NEUTRAL), AtomicU64::new(NEUTRAL)];
        for now in start..start + 140 {
            for _ in 0..2 {
                assert_eq!(
                    p.admit(&packed, &limits, now, 1),
                    counter::admit(&separate, &lengths, &limits, now, 1),
                    "admit at t = {now}"
                );
            }
            assert_eq!(
                p.observe(&packed, now),
                counter::observe(&separate, &lengths, now),
                "observe at t = {now}"
            );
        }
    }
}

#[test]
fn admission_is_all_or_nothing() {
    let p = read();
    let word = AtomicU64::new(NEUTRAL);
    // Lower limits than the packing's, as an override would set.
    let limits = [5, 2];
    let admit = |now, cost| p.admit(&word, &limits, now, cost);
    assert_eq!(admit(T, 1), Admission::Admitted(tally([L, S], [1, 1])));
    assert_eq!(admit(T + 9, 1), Admission::Admitted(tally([L, S], [2, 2])));
    let full = load(&word);
    // The burst is full: denied, and the word is untouched.
    assert_eq!(admit(T + 9, 1), Admission::Denied(tally([L, S], [2, 2])));
    assert_eq!(load(&word), full);
    // The next 10 s window has room; a cost of 2 fits, 3 does not.
    assert_eq!(
        admit(T + 10, 3),
        Admission::Denied(tally([L, S + 1], [2, 0]))
    );
    assert_eq!(load(&word), full);
    assert_eq!(
        admit(T + 10, 2),
        Admission::Admitted(tally([L, S + 1], [4, 2]))
    );
    // The minute has 1 left: a burst window with room is not enough for 2.
    assert_eq!(
        admit(T + 20, 2),
        Admission::Denied(tally([L, S + 2], [4, 0]))
    );
    assert_eq!(
        admit(T + 20, 1),
        Admission::Admitted(tally([L, S + 2], [5, 1]))
    );
    let full = load(&word);
    assert_eq!(
        admit(T + 50, 1),
        Admission::Denied(tally([L, S + 5], [5, 0]))
    );
    assert_eq!(load(&word), full);
    // The next minute opens both windows.
    assert_eq!(
        admit(T + 60, 2),
        Admission::Admitted(tally([L + 1, S + 6], [2, 2]))
    );
}

#[test]
fn a_straggler_counts_in_the_newer_windows() {
    let p = read();
    let word = AtomicU64::new(NEUTRAL);
    let limits = [4, 2];
    let admit = |now, cost| p.admit(&word, &limits, now, cost);
    assert_eq!(
        admit(T + 25, 1),
        Admission::Admitted(tally([L, S + 2], [1, 1]))
    );
    // An earlier 10 s window of the same minute counts in the newer one.
    assert_eq!(
        admit(T + 5, 1),
        Admission::Admitted(tally([L, S + 2], [2, 2]))
    );
    // So does a check a minute, or a thousand minutes, behind.
    assert_eq!(
        admit(T - 30, 1),
        Admission::Denied(tally([L, S + 2], [2, 2]))
    );
    assert_eq!(
        admit(T - 60_000, 1),
        Admission::Denied(tally([L, S + 2], [2, 2]))
    );
    // A later 10 s window, then a straggler into the minute behind it.
    assert_eq!(
        admit(T + 45, 1),
        Admission::Admitted(tally([L, S + 4], [3, 1]))
    );
    assert_eq!(
        admit(T - 1, 1),
        Admission::Admitted(tally([L, S + 4], [4, 2]))
    );
    assert_eq!(
        admit(T + 35, 1),
        Admission::Denied(tally([L, S + 4], [4, 2]))
    );
}

#[test]
fn a_count_never_spills_into_the_next_field() {
    // 17 bits for each count: limits above that are clamped.
    let p = packing_for(&[(1, 60), (1, 10)], [(1 << 17) - 1; 2]).expect("packs");
    let max = (1 << 17) - 1;
    let word = AtomicU64::new(NEUTRAL);
    let huge = [u32::MAX; 2];
    assert_eq!(
        p.admit(&word, &huge, T, max),
        Admission::Admitted(tally([L, S], [max, max]))
    );
    let full = load(&word);
    // One more would carry the burst count into the minute's field.
    assert_eq!(
        p.admit(&word, &huge, T, 1),
        Admission::Denied(tally([L, S], [max, max]))
    );
    assert_eq!(load(&word), full);
    // One more in the minute would carry into the sub-index field.
    assert_eq!(
        p.admit(&word, &huge, T + 10, 1),
        Admission::Denied(tally([L, S + 1], [max, 0]))
    );
    assert_eq!(load(&word), full);
    assert_eq!(p.fields(full), (L & p.index_mask, 0, [max, max]));
    // A 2-bit burst field with a limit of 10 asked for: 3 at most.
    let p = packing_for(&[(1, 60), (1, 10)], [u32::MAX, 1]).expect("packs");
    let word = AtomicU64::new(NEUTRAL);
    assert_eq!(
        p.admit(&word, &[u32::MAX, 10], T, 3),
        Admission::Admitted(tally([L, S], [3, 3]))
    );
    assert_eq!(
        p.admit(&word, &[u32::MAX, 10], T, 1),
        Admission::Denied(tally([L, S], [3, 3]))
    );
    assert_eq!(
        p.admit(&word, &[u32::MAX, 10], T + 10, 3),
        Admission::Admitted(tally([L, S + 1], [6, 3]))
    );
    assert_eq!(p.fields(load(&word)), (L & p.index_mask, 1, [6, 3]));
}

#[test]
fn undo_releases_only_from_windows_the_word_is_still_in() {
    let p = read();
    let limits = [10, 5];
    let word = AtomicU64::new(NEUTRAL);
    let Admission::Admitted(first) = p.admit(&word, &limits, T + 5, 2) else {
        panic!("denied")
    };
    // Both windows still current: both counts go back.
    p.undo(&word, &first, 2);
    assert_eq!(p.view(load(&word), T + 5), tally([L, S], [0, 0]));
    assert_eq!(p.fields(load(&word)), (L & p.index_mask, 0, [0, 0]));
    // The word has moved to a later 10 s window of the same minute: only
    // the minute's count goes back, even where the newer burst count
    // could pay it.
    let Admission::Admitted(first) = p.admit(&word, &limits, T + 5, 1) else {
        panic!("denied")
    };
    assert!(matches!(
        p.admit(&word, &limits, T + 15, 2),
        Admission::Admitted(_)
    ));
    p.undo(&word, &first, 1);
    assert_eq!(p.view(load(&word), T + 15), tally([L, S + 1], [2, 2]));
    // A later minute: nothing goes back.
    let Admission::Admitted(second) = p.admit(&word, &limits, T + 15, 1) else {
        panic!("denied")
    };
    assert!(matches!(
        p.admit(&word, &limits, T + 60, 1),
        Admission::Admitted(_)
    ));
    let moved = load(&word);
    p.undo(&word, &second, 1);
    assert_eq!(load(&word), moved);
    // A count below the cost is left alone (it is not this admission's).
    p.undo(&word, &tally([L + 1, S + 6], [1, 1]), 2);
    assert_eq!(load(&word), moved);
    // A reset (neutral) word stays neutral.
    word.store(NEUTRAL, Ordering::Relaxed);
    p.undo(&word, &second, 1);
    assert_eq!(load(&word), NEUTRAL);
}

#[test]
fn undo_of_an_admission_into_a_newer_window() {
    let p = read();
    let limits = [10, 5];
    let word = AtomicU64::new(NEUTRAL);
    assert!(matches!(
        p.admit(&word, &limits, T + 25, 1),
        Admission::Admitted(_)
    ));
    // A straggler counted in the newer windows; its undo finds them.
    let Admission::Admitted(late) = p.admit(&word, &limits, T - 100, 2) else {
        panic!("denied")
    };
    assert_eq!(late, tally([L, S + 2], [3, 3]));
    p.undo(&word, &late, 2);
    assert_eq!(p.view(load(&word), T + 25), tally([L, S + 2], [1, 1]));
}

#[test]
fn live_end_is_the_end_of_the_last_window_with_a_count() {
    let p = read();
    assert_eq!(p.live_end(NEUTRAL, T), None);
    let word = p.pack([L, S + 2], [5, 3]);
    assert_eq!(p.live_end(word, T + 25), Some(T + 60));
    assert_eq!(p.live_end(word, T + 59), Some(T + 60));
    assert_eq!(p.live_end(word, T + 60), None);
    // Seen from an earlier minute the newer windows are live until theirs
    // end.
    assert_eq!(p.live_end(word, T - 600), Some(T + 60));
    // A burst count alone (not reachable through admit) ends with its
    // window; counts of 0 are not live.
    assert_eq!(p.live_end(p.pack([L, S + 2], [0, 1]), T + 25), Some(T + 30));
    assert_eq!(p.live_end(p.pack([L, S + 2], [0, 1]), T + 30), None);
    assert_eq!(p.live_end(p.pack([L, S + 2], [0, 0]), T + 25), None);
}

/// A class of two nested windows: `(long limit, long secs)`, `(short
/// limit, short secs)`, with short lengths from 1 s to a minute and ratios
/// from 2 to 24.
fn class() -> impl Strategy<Value = [(u32, u64); 2]> {
    (
        prop::sample::select(vec![1u64, 2, 5, 10, 60]),
        prop::sample::select(vec![2u64, 3, 6, 10, 24]),
        1u32..=12,
        1u32..=12,
    )
        .prop_map(|(short, ratio, long_limit, short_limit)| {
            [(long_limit, short * ratio), (short_limit, short)]
        })
}

/// Steps of (seconds to move, cost): mostly small moves forward, some
/// jumps of up to a few long windows, some steps back of up to two.
fn steps() -> impl Strategy<Value = Vec<(i64, u32)>> {
    let step = prop_oneof![
        6 => 0i64..=15,
        2 => 0i64..=3_000,
        2 => -3_000i64..=0,
    ];
    prop::collection::vec((step, 1u32..=6), 1..80)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 4_000 }))]

    /// Single-threaded, a packed word and two separate words give the same
    /// admissions, denials and windows for every check, and read the same
    /// at every time, clocks stepping back included.
    #[test]
    fn packed_and_separate_words_agree(
        spec in class(),
        // Near the epoch too, where the current windows' fields of a word
        // are all zero, as in the neutral word.
        start in prop_oneof![0u64..600, 0u64..(1 << 33)],
        steps in steps(),
    ) {
        let ws = windows(&spec);
        let ws: [Window; 2] = [ws[0], ws[1]];
        let lengths = ws.map(|w| Divisor::new(w.length().as_secs()));
        let limits = [spec[0].0, spec[1].0];
        let p = Packing::new(&ws, limits).expect("small limits pack");
        let packed = AtomicU64::new(NEUTRAL);
        let separate = [AtomicU64::new(NEUTRAL), AtomicU64::new(NEUTRAL)];
        let mut now = start;
        for (i, &(step, cost)) in steps.iter().enumerate() {
            now = now.saturating_add_signed(step);
            prop_assert_eq!(
                p.observe(&packed, now),
                counter::observe(&separate, &lengths, now),
                "observe at step {} (t = {})", i, now
            );
            prop_assert_eq!(
                p.admit(&packed, &limits, now, cost),
                counter::admit(&separate, &lengths, &limits, now, cost),
                "admit at step {} (t = {}, cost {})", i, now, cost
            );
        }
    }

    /// Any tally a check can leave (a current or newer long window, a
    /// current or newer short window in it, counts within the fields)
    /// packs into a word that reads back as that tally.
    #[test]
    fn packing_a_tally_round_trips(
        spec in class(),
        now in 0u64..(1 << 40),
        ahead in prop_oneof![Just(0u64), 1u64..4, 0u64..(1 << 20)],
        sub in 0u64..24,
        short in 0u32..=12,
        extra in 1u32..=12,
    ) {
        let ws = windows(&spec);
        let p = Packing::new(&ws, [spec[0].0, spec[1].0]).expect("small limits pack");
        let [long_now, short_now] = p.now_index(now);
        let long = long_now + ahead;
        let sub = sub % p.ratio;
        let first = long * p.ratio;
        // In the current long window the short window is the current one
        // or a later one.
        let short_index = if ahead == 0 { (first + sub).max(short_now) } else { first + sub };
        let t = tally([long, short_index], [short + extra, short]);
        prop_assert_eq!(p.view(p.pack(t.index, t.count), now), t);
    }
}
