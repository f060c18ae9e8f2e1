//! Decisions field by field, in the style of redis-cell's tables: each row
//! is (time, key, class, cost) -> every field of the decision.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "expected values are small sums"
)]

use std::time::Duration;

use tollgate::{Class, Decision, Limiter, ManualClock, Outcome, Policy, Window, WindowLength};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

fn limiter() -> Limiter<ManualClock> {
    Limiter::builder(Policy::default())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .capacity(1_000)
        .seed(7)
        .build()
        .unwrap()
}

fn window(limit: u32, secs: u64) -> Window {
    Window::new(limit, WindowLength::from_secs(secs).unwrap())
}

/// One row: at `at` seconds after T, `cost` units of `class` for `key`,
/// expecting (outcome, limit, remaining, reset - T, retry_after, denied_by).
struct Row {
    at: u64,
    cost: u32,
    outcome: Outcome,
    limit: u32,
    remaining: u32,
    reset: u64,
    retry_after: Option<u64>,
    denied_by: Option<Window>,
}

fn check_rows(limiter: &Limiter<ManualClock>, key: &str, class: Class, rows: &[Row]) {
    for (i, r) in rows.iter().enumerate() {
        limiter.clock().set(Duration::from_secs(T + r.at));
        let d = limiter.check_n(key, class, r.cost);
        let want = (
            r.outcome,
            r.limit,
            r.remaining,
            T + r.reset,
            r.retry_after,
            r.denied_by,
        );
        let got = (
            d.outcome(),
            d.limit(),
            d.remaining(),
            d.reset(),
            d.retry_after(),
            d.denied_by(),
        );
        assert_eq!(got, want, "row {i} (at T+{}, cost {})", r.at, r.cost);
        assert_eq!(d.is_allowed(), r.outcome == Outcome::Allowed, "row {i}");
    }
}

fn allowed(at: u64, remaining: u32, reset: u64) -> Row {
    Row {
        at,
        cost: 1,
        outcome: Outcome::Allowed,
        limit: 60,
        remaining,
        reset,
        retry_after: None,
        denied_by: None,
    }
}

fn denied(at: u64, remaining: u32, reset: u64, retry_after: u64, by: Window) -> Row {
    Row {
        at,
        cost: 1,
        outcome: Outcome::Denied,
        limit: 60,
        remaining,
        reset,
        retry_after: Some(retry_after),
        denied_by: Some(by),
    }
}

#[test]
fn the_spec_worked_example() {
    let limiter = limiter();
    let mut rows = Vec::new();
    // 20 writes at T: the burst window binds, reset T+10.
    for n in 1..=20 {
        rows.push(allowed(0, 20 - n, 10));
    }
    // The 21st at T: retry after 10 s, details {"limit": 20, "window": "10s"}.
    rows.push(denied(0, 0, 10, 10, window(20, 10)));
    // Twenty more per 10 s at T+10 and T+20 until the minute's 60 are spent.
    for start in [10, 20] {
        for n in 1..=20 {
            // Remaining is the least of the minute (60 - spent) and the burst.
            let spent = start / 10 * 20 + n;
            let minute_left = 60 - spent;
            let burst_left = 20 - n;
            let (remaining, reset) = if minute_left <= burst_left {
                (minute_left, 60)
            } else {
                (burst_left, start as u64 + 10)
            };
            rows.push(allowed(start as u64, remaining, reset));
        }
    }
    // The next one is denied by the minute: retry at T+60, details 1m.
    rows.push(denied(20, 0, 60, 40, window(60, 60)));
    // Still denied later in the minute, by the minute alone.
    rows.push(denied(30, 0, 60, 30, window(60, 60)));
    rows.push(denied(59, 0, 60, 1, window(60, 60)));
    // A new minute: the burst binds again.
    rows.push(allowed(60, 19, 70));
    check_rows(&limiter, "key_1", Class::WRITE, &rows);
}

#[test]
fn retry_after_rounds_up_within_a_second() {
    let limiter = limiter();
    for _ in 0..20 {
        assert!(limiter
            .check_at("k", Class::WRITE, Duration::from_secs(T))
            .is_allowed());
    }
    // 9.999 s before the burst window ends: still 10 whole seconds.
    let d = limiter.check_at("k", Class::WRITE, Duration::from_millis(T * 1000 + 1));
    assert_eq!(d.retry_after(), Some(10));
    let d = limiter.check_at("k", Class::WRITE, Duration::from_millis(T * 1000 + 9_999));
    assert_eq!(d.retry_after(), Some(1));
}

#[test]
fn reads_have_their_own_limits_and_keys_are_independent() {
    let limiter = limiter();
    let d = limiter.check("key_1", Class::READ);
    assert_eq!((d.limit(), d.remaining(), d.reset()), (1000, 332, T + 10));
    // 333 in the burst window.
    for _ in 1..333 {
        assert!(limiter.check("key_1", Class::READ).is_allowed());
    }
    let d = limiter.check("key_1", Class::READ);
    assert_eq!(
        (d.outcome(), d.retry_after(), d.denied_by()),
        (Outcome::Denied, Some(10), Some(window(333, 10)))
    );
    // Writes of the same key, and reads of another key, are untouched.
    assert_eq!(limiter.check("key_1", Class::WRITE).remaining(), 19);
    assert_eq!(limiter.check("key_2", Class::READ).remaining(), 332);
}

#[test]
fn costs_at_the_edges() {
    let limiter = limiter();
    limiter.clock().set(Duration::from_secs(T));
    // Cost 0 is a peek: nothing counted.
    let d = limiter.check_n("k", Class::WRITE, 0);
    assert_eq!(
        (d.outcome(), d.remaining(), d.reset()),
        (Outcome::Allowed, 20, T + 10)
    );
    assert_eq!(
        limiter.check_n("k", Class::WRITE, 0),
        limiter.peek("k", Class::WRITE)
    );
    // The burst limit exactly fits.
    let d = limiter.check_n("k", Class::WRITE, 20);
    assert_eq!((d.outcome(), d.remaining()), (Outcome::Allowed, 0));
    // limit + 1 of the burst window can never fit: its own outcome.
    for cost in [21, 60, 61, u32::MAX] {
        let d = limiter.check_n("fresh", Class::WRITE, cost);
        assert_eq!(d.outcome(), Outcome::CostTooLarge, "cost {cost}");
        assert_eq!(d.retry_after(), None);
        assert_eq!(d.denied_by(), Some(window(20, 10)));
        assert_eq!((d.limit(), d.remaining(), d.reset()), (60, 20, T + 10));
    }
    // A cost too large counts nothing.
    assert_eq!(limiter.peek("fresh", Class::WRITE).remaining(), 20);
    // With the burst spent, cost 1 is denied, not "too large".
    assert_eq!(
        limiter.check_n("k", Class::WRITE, 1).outcome(),
        Outcome::Denied
    );
    assert_eq!(
        limiter.check_n("k", Class::WRITE, 21).outcome(),
        Outcome::CostTooLarge
    );
}

#[test]
fn a_denied_check_counts_nothing() {
    let limiter = limiter();
    assert!(limiter.check_n("k", Class::WRITE, 15).is_allowed());
    // 6 more do not fit the burst (5 left): denied, and the 5 remain.
    let d = limiter.check_n("k", Class::WRITE, 6);
    assert_eq!(
        (d.outcome(), d.remaining(), d.retry_after()),
        (Outcome::Denied, 5, Some(10))
    );
    assert_eq!(limiter.peek("k", Class::WRITE).remaining(), 5);
    assert!(limiter.check_n("k", Class::WRITE, 5).is_allowed());
}

#[test]
fn peek_reports_without_counting_or_tracking() {
    let limiter = limiter();
    let p = limiter.peek("new", Class::WRITE);
    assert_eq!(
        (
            p.outcome(),
            p.limit(),
            p.remaining(),
            p.reset(),
            p.retry_after()
        ),
        (Outcome::Allowed, 60, 20, T + 10, None)
    );
    assert_eq!(limiter.tracked(), 0);
    for _ in 0..20 {
        limiter.check("k", Class::WRITE);
    }
    let p = limiter.peek("k", Class::WRITE);
    assert_eq!(
        (p.outcome(), p.remaining(), p.retry_after(), p.denied_by()),
        (Outcome::Denied, 0, Some(10), Some(window(20, 10)))
    );
    assert_eq!(limiter.peek("k", Class::WRITE), p);
}

#[test]
fn unknown_classes_are_an_outcome_not_a_panic() {
    let limiter = limiter();
    let stranger = Policy::builder()
        .class("a", &[], 1, WindowLength::from_secs(1).unwrap())
        .class("b", &[], 1, WindowLength::from_secs(1).unwrap())
        .class("c", &[], 1, WindowLength::from_secs(1).unwrap())
        .build()
        .unwrap()
        .class("c")
        .unwrap();
    for d in [
        limiter.check("k", stranger),
        limiter.peek("k", stranger),
        limiter.check_n("k", stranger, 5),
    ] {
        assert_eq!(
            (d.outcome(), d.is_allowed(), d.limit(), d.retry_after()),
            (Outcome::UnknownClass, false, 0, None)
        );
    }
    assert!(limiter.set_override("k", stranger, 5).is_err());
    assert!(!limiter.remove_override("k", stranger));
}

#[test]
fn a_three_window_class_reports_the_longest_binding_window() {
    let minute = WindowLength::from_secs(60).unwrap();
    let policy = Policy::builder()
        .class("api", &["GET"], 100, minute)
        .burst_limit(10, WindowLength::from_secs(10).unwrap())
        .window(150, WindowLength::from_secs(3_600).unwrap())
        .build()
        .unwrap();
    let api = policy.class("api").unwrap();
    let limiter = Limiter::builder(policy)
        .capacity(100)
        .seed(1)
        .build()
        .unwrap();
    let at = |s: u64| Duration::from_secs(T + s);
    // The hour's limit is the primary (longest) one.
    let d = limiter.check_at("probe", api, at(0));
    assert_eq!((d.limit(), d.remaining(), d.reset()), (150, 9, T + 10));
    // Ten units in each of fifteen minutes spend the hour's 150.
    for minute in 0..15u64 {
        let d = limiter.check_n_at("k", api, 10, at(minute * 60));
        assert!(d.is_allowed(), "minute {minute}");
    }
    // Now only the hour denies: it sets retry_after and the details.
    let d = limiter.check_at("k", api, at(15 * 60));
    assert_eq!(d.outcome(), Outcome::Denied);
    assert_eq!((d.remaining(), d.reset()), (0, T + 3_600));
    assert_eq!(
        (d.retry_after(), d.denied_by()),
        (Some(2_700), Some(window(150, 3_600)))
    );
    // Windows with equal least room: the longest sets the reset.
    let d = limiter.check_n_at("k2", api, 10, at(0));
    assert_eq!((d.remaining(), d.reset()), (0, T + 10));
    assert_eq!(d.binding(), Some(window(10, 10)));
    let denied = limiter.check_at("k2", api, at(1));
    assert_eq!(
        (denied.retry_after(), denied.denied_by()),
        (Some(9), Some(window(10, 10)))
    );
}

#[test]
fn decisions_are_copy_and_comparable() {
    let limiter = limiter();
    let d: Decision = limiter.check("k", Class::WRITE);
    let e = d;
    assert_eq!(d, e);
    assert_eq!(d.now(), T);
    assert_eq!(d.reset_after(), 10);
}
