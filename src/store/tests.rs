//! The decision rule on its own: each row is (time, counts found, cost)
//! and every field of the decision it gives.

use super::*;
use crate::decision::Outcome;

/// The reference policy's write class: 60 a minute, 20 in 10 seconds.
fn write() -> [Window; 2] {
    [
        Window::new(60, WindowLength::from_secs(60).unwrap()),
        Window::new(20, WindowLength::from_secs(10).unwrap()),
    ]
}

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// Counts in the minute and the 10 seconds current at `now`.
fn current(now: u64, minute: u32, burst: u32) -> [WindowCount; 2] {
    [
        WindowCount {
            index: now / 60,
            count: minute,
        },
        WindowCount {
            index: now / 10,
            count: burst,
        },
    ]
}

struct Row {
    now: u64,
    counts: [WindowCount; 2],
    cost: u32,
    outcome: Outcome,
    limit: u32,
    remaining: u32,
    reset: u64,
    retry_after: Option<u64>,
    denied_by: Option<(u32, u64)>,
}

#[test]
fn rows() {
    let rows = [
        // An empty key: the burst window binds.
        Row {
            now: T,
            counts: current(T, 0, 0),
            cost: 1,
            outcome: Outcome::Allowed,
            limit: 60,
            remaining: 19,
            reset: T + 10,
            retry_after: None,
            denied_by: None,
        },
        // The 20th write of the 10 seconds.
        Row {
            now: T + 3,
            counts: current(T + 3, 19, 19),
            cost: 1,
            outcome: Outcome::Allowed,
            limit: 60,
            remaining: 0,
            reset: T + 10,
            retry_after: None,
            denied_by: None,
        },
        // The 21st: denied by the burst window until it ends.
        Row {
            now: T + 3,
            counts: current(T + 3, 20, 20),
            cost: 1,
            outcome: Outcome::Denied,
            limit: 60,
            remaining: 0,
            reset: T + 10,
            retry_after: Some(7),
            denied_by: Some((20, 10)),
        },
        // The minute spent: denied until the minute ends; the minute binds
        // (the longest window with the least room).
        Row {
            now: T + 52,
            counts: current(T + 52, 60, 0),
            cost: 1,
            outcome: Outcome::Denied,
            limit: 60,
            remaining: 0,
            reset: T + 60,
            retry_after: Some(8),
            denied_by: Some((60, 60)),
        },
        // Both full: the latest end among the denying windows.
        Row {
            now: T + 55,
            counts: current(T + 55, 60, 20),
            cost: 1,
            outcome: Outcome::Denied,
            limit: 60,
            remaining: 0,
            reset: T + 60,
            retry_after: Some(5),
            denied_by: Some((60, 60)),
        },
        // A batch of 5 with 4 left in the burst window.
        Row {
            now: T + 1,
            counts: current(T + 1, 16, 16),
            cost: 5,
            outcome: Outcome::Denied,
            limit: 60,
            remaining: 4,
            reset: T + 10,
            retry_after: Some(9),
            denied_by: Some((20, 10)),
        },
        // A cost no window can ever take: the smallest limit below it.
        Row {
            now: T,
            counts: current(T, 0, 0),
            cost: 21,
            outcome: Outcome::CostTooLarge,
            limit: 60,
            remaining: 20,
            reset: T + 10,
            retry_after: None,
            denied_by: Some((20, 10)),
        },
        // A peek (cost 0) reports what a cost of 1 would get, counting
        // nothing.
        Row {
            now: T + 3,
            counts: current(T + 3, 20, 20),
            cost: 0,
            outcome: Outcome::Denied,
            limit: 60,
            remaining: 0,
            reset: T + 10,
            retry_after: Some(7),
            denied_by: Some((20, 10)),
        },
        Row {
            now: T + 3,
            counts: current(T + 3, 5, 5),
            cost: 0,
            outcome: Outcome::Allowed,
            limit: 60,
            remaining: 15,
            reset: T + 10,
            retry_after: None,
            denied_by: None,
        },
        // Counts of ended windows are empty current windows.
        Row {
            now: T + 60,
            counts: current(T, 60, 20),
            cost: 1,
            outcome: Outcome::Allowed,
            limit: 60,
            remaining: 19,
            reset: T + 70,
            retry_after: None,
            denied_by: None,
        },
        // Counts of windows newer than `now` (a clock behind the one that
        // counted) keep counting: the check lands in them.
        Row {
            now: T + 55,
            counts: current(T + 61, 1, 1),
            cost: 1,
            outcome: Outcome::Allowed,
            limit: 60,
            remaining: 18,
            reset: T + 70,
            retry_after: None,
            denied_by: None,
        },
    ];
    for (i, r) in rows.iter().enumerate() {
        let d = decide(&write(), &r.counts, r.cost, Duration::from_secs(r.now));
        let denied_by = d.denied_by().map(|w| (w.limit(), w.length().as_secs()));
        assert_eq!(
            (
                d.outcome(),
                d.limit(),
                d.remaining(),
                d.reset(),
                d.retry_after(),
                denied_by,
                d.now()
            ),
            (
                r.outcome,
                r.limit,
                r.remaining,
                r.reset,
                r.retry_after,
                r.denied_by,
                r.now
            ),
            "row {i}"
        );
    }
}

#[test]
fn counts_at_a_time() {
    let minute = WindowLength::from_secs(60).unwrap();
    let at = |index, count, now| WindowCount { index, count }.at(minute, Duration::from_secs(now));
    // Current: as it is.
    assert_eq!(
        at(10, 3, 600),
        WindowCount {
            index: 10,
            count: 3
        }
    );
    // Ended: an empty current window.
    assert_eq!(
        at(9, 3, 600),
        WindowCount {
            index: 10,
            count: 0
        }
    );
    // Newer: as it is.
    assert_eq!(
        at(12, 3, 600),
        WindowCount {
            index: 12,
            count: 3
        }
    );
}

#[test]
fn missing_and_extra_counts_and_bad_windows() {
    let now = Duration::from_secs(T);
    // Missing counts are empty current windows.
    let d = decide(&write(), &[], 1, now);
    assert_eq!((d.outcome(), d.remaining()), (Outcome::Allowed, 19));
    // Extra counts are ignored.
    let mut counts = current(T, 1, 1).to_vec();
    counts.push(WindowCount {
        index: 0,
        count: u32::MAX,
    });
    assert_eq!(decide(&write(), &counts, 1, now).remaining(), 18);
    // No windows, or too many: an unknown class, never a panic.
    assert_eq!(decide(&[], &[], 1, now).outcome(), Outcome::UnknownClass);
    let five = [write()[0]; MAX_WINDOWS + 1];
    assert_eq!(decide(&five, &[], 1, now).outcome(), Outcome::UnknownClass);
    // The largest counts and costs.
    let one = [Window::new(u32::MAX, WindowLength::from_secs(1).unwrap())];
    let full = [WindowCount {
        index: T,
        count: u32::MAX,
    }];
    let d = decide(&one, &full, u32::MAX, now);
    assert_eq!((d.outcome(), d.retry_after()), (Outcome::Denied, Some(1)));
    let d = decide(&one, &[], u32::MAX, now);
    assert_eq!((d.outcome(), d.remaining()), (Outcome::Allowed, 0));
}

#[test]
fn untracked_admissions() {
    let now = Duration::from_secs(T + 3);
    // An empty key that took the cost: every figure but the outcome is
    // the first check's.
    let d = untracked(&write(), 5, now);
    let fresh = decide(&write(), &[], 5, now);
    assert_eq!(d.outcome(), Outcome::AllowedUntracked);
    assert!(d.is_allowed());
    assert_eq!(
        (
            d.limit(),
            d.remaining(),
            d.reset(),
            d.retry_after(),
            d.now()
        ),
        (60, 15, T + 10, None, T + 3)
    );
    assert_eq!(
        (d.remaining(), d.reset(), d.binding()),
        (fresh.remaining(), fresh.reset(), fresh.binding())
    );
    // A peek counts nothing, as a peek of an empty key.
    let peek = untracked(&write(), 0, now);
    assert_eq!(
        (peek.outcome(), peek.remaining()),
        (Outcome::AllowedUntracked, 20)
    );
    // A cost no window can take, and a class without windows.
    assert_eq!(
        untracked(&write(), 21, now).outcome(),
        Outcome::CostTooLarge
    );
    assert_eq!(untracked(&[], 1, now).outcome(), Outcome::UnknownClass);
    assert!(!untracked(&write(), 1, now).is_degraded());
}

#[test]
fn unavailable_denials() {
    let now = Duration::from_secs(T + 3);
    let d = unavailable(&write(), 1, now, 2);
    let denied_by = d.denied_by().map(|w| (w.limit(), w.length().as_secs()));
    assert_eq!(
        (
            d.outcome(),
            d.limit(),
            d.remaining(),
            d.reset(),
            d.retry_after(),
            denied_by,
            d.now()
        ),
        (
            Outcome::Denied,
            60,
            0,
            T + 5,
            Some(2),
            Some((60, 60)),
            T + 3
        )
    );
    // A retry of 0 seconds is at least 1; the largest never overflows.
    assert_eq!(unavailable(&write(), 1, now, 0).retry_after(), Some(1));
    let far = unavailable(&write(), 1, now, u64::MAX);
    assert_eq!((far.reset(), far.retry_after()), (u64::MAX, Some(u64::MAX)));
    // A peek is denied too; a cost no window can take, and a class
    // without windows, keep their own outcomes.
    assert_eq!(unavailable(&write(), 0, now, 1).outcome(), Outcome::Denied);
    assert_eq!(
        unavailable(&write(), 61, now, 1).outcome(),
        Outcome::CostTooLarge
    );
    assert_eq!(unavailable(&[], 1, now, 1).outcome(), Outcome::UnknownClass);
}
