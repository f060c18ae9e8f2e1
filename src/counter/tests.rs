//! Unit tests of the one-word-per-window counters.

use super::*;
use crate::length::WindowLength;

fn windows(spec: &[(u32, u64)]) -> Vec<Window> {
    spec.iter()
        .map(|&(l, s)| Window::new(l, WindowLength::from_secs(s).unwrap()))
        .collect()
}

fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

#[test]
fn view_reads_current_stale_and_newer_windows() {
    assert_eq!(view(pack(7, 3), 7), (7, 3));
    assert_eq!(view(pack(6, 3), 7), (7, 0));
    assert_eq!(view(pack(9, 3), 7), (9, 3));
    // The neutral word is an empty current window, even where its index
    // would read as newer.
    assert_eq!(view(NEUTRAL, (1u64 << 32) - 1), ((1u64 << 32) - 1, 0));
    // Across the 2^32 wrap of the stored index.
    let near_wrap = (1u64 << 32) + 2;
    assert_eq!(view(pack(near_wrap - 4, 5), near_wrap), (near_wrap, 0));
    assert_eq!(view(pack(near_wrap + 4, 5), near_wrap), (near_wrap + 4, 5));
}

#[test]
fn view_at_the_horizon() {
    // 2^31 - 1 windows old is still recognised as stale...
    let now = 1u64 << 40;
    let old = now - ((1u64 << 31) - 1);
    assert_eq!(view(pack(old, 9), now), (now, 0));
    // ...and 2^31 - 1 windows ahead as newer.
    let ahead = now + ((1u64 << 31) - 1);
    assert_eq!(view(pack(ahead, 9), now), (ahead, 9));
    // Exactly 2^31 old wraps to "2^31 behind" and still reads as stale.
    assert_eq!(view(pack(now - (1u64 << 31), 9), now), (now, 0));
    // One window further and an untouched count reappears: the documented horizon.
    assert_eq!(view(pack(now - (1u64 << 31) - 1, 9), now).1, 9);
}

#[test]
fn view_saturates_at_the_far_future() {
    assert_eq!(view(pack(u64::MAX, 1), u64::MAX - 1), (u64::MAX, 1));
    assert_eq!(view(pack(2, 1), u64::MAX), (u64::MAX, 1));
}

#[test]
fn admission_is_all_or_nothing() {
    let ws = windows(&[(60, 60), (20, 10)]);
    let w = words(2);
    for n in 1..=20 {
        let Admission::Admitted(o) = admit_any(&w, &ws, &[60, 20], 600, 1) else {
            panic!("denied at {n}")
        };
        assert_eq!(o.count[..2], [n, n]);
    }
    let before: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    assert!(matches!(
        admit_any(&w, &ws, &[60, 20], 600, 1),
        Admission::Denied(_)
    ));
    let after: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    assert_eq!(before, after);
}

#[test]
fn a_reservation_from_a_stale_read_retries() {
    let w = AtomicU64::new(pack(5, 3));
    // Started from an older value of the word: the exchange fails,
    // picks up the current value and counts on top of it.
    assert_eq!(reserve_from(&w, pack(5, 1), 5, 1, 4, &Unshared), Ok((5, 4)));
    assert_eq!(reserve(&w, 5, 1, 4), Err(Some((5, 4))));
    assert_eq!(
        reserve_from(&w, NEUTRAL, 5, 1, 4, &Unshared),
        Err(Some((5, 4)))
    );
    assert_eq!(w.load(Ordering::Relaxed), pack(5, 4));
    // A stale read of an ended window opens the current one.
    assert_eq!(reserve_from(&w, pack(4, 9), 6, 2, 4, &Unshared), Ok((6, 2)));
}

#[test]
fn admission_with_every_window_count() {
    let all = [(8, 3600), (6, 60), (4, 10), (2, 1)];
    for n in 1..=MAX_WINDOWS {
        let ws = windows(&all[..n]);
        let limits: Vec<u32> = all[..n].iter().map(|&(l, _)| l).collect();
        let w = words(n);
        let binding = limits[n - 1];
        for k in 1..=binding {
            let Admission::Admitted(o) = admit_any(&w, &ws, &limits, 7_200, 1) else {
                panic!("{n} windows: denied at {k}")
            };
            assert_eq!(o.len, n);
            assert!(o.count[..n].iter().all(|&c| c == k));
        }
        let before: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let Admission::Denied(o) = admit_any(&w, &ws, &limits, 7_200, 1) else {
            panic!("{n} windows: over-admitted")
        };
        assert_eq!(o.count[n - 1], binding);
        let after: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        assert_eq!(before, after);
    }
}

#[test]
fn release_is_guarded_by_the_window() {
    let w = AtomicU64::new(pack(5, 3));
    release(&w, 4, 1);
    assert_eq!(w.load(Ordering::Relaxed), pack(5, 3));
    release(&w, 5, 4);
    assert_eq!(w.load(Ordering::Relaxed), pack(5, 3));
    release(&w, 5, 2);
    assert_eq!(w.load(Ordering::Relaxed), pack(5, 1));
}

#[test]
fn a_straggler_counts_in_the_newer_window() {
    let ws = windows(&[(2, 10)]);
    let w = words(1);
    assert!(matches!(
        admit_any(&w, &ws, &[2], 100, 1),
        Admission::Admitted(_)
    ));
    // Two windows behind: still window 10, one unit left.
    let Admission::Admitted(o) = admit_any(&w, &ws, &[2], 80, 1) else {
        panic!()
    };
    assert_eq!((o.index[0], o.count[0]), (10, 2));
    assert!(matches!(
        admit_any(&w, &ws, &[2], 5, 1),
        Admission::Denied(_)
    ));
    // The next window opens normally.
    assert!(matches!(
        admit_any(&w, &ws, &[2], 110, 2),
        Admission::Admitted(_)
    ));
}

#[test]
fn the_largest_limit_and_cost() {
    let ws = windows(&[(u32::MAX, 60)]);
    let w = words(1);
    assert!(matches!(
        admit_any(&w, &ws, &[u32::MAX], 0, u32::MAX),
        Admission::Admitted(_)
    ));
    assert!(matches!(
        admit_any(&w, &ws, &[u32::MAX], 0, 1),
        Admission::Denied(_)
    ));
    assert_eq!(w[0].load(Ordering::Relaxed), pack(0, u32::MAX));
}
