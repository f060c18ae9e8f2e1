//! Time: the epoch, the far future, and clocks that step backwards.

use std::time::Duration;

use tollgate::{CachedClock, Class, Clock, Limiter, ManualClock, Outcome, Policy};

const T: u64 = 1_746_489_600;

fn limiter(now: Duration) -> Limiter<ManualClock> {
    limiter_on(ManualClock::new(now))
}

fn limiter_on<C: Clock>(clock: C) -> Limiter<C> {
    Limiter::builder(Policy::default())
        .clock(clock)
        .capacity(64)
        .seed(5)
        .build()
        .unwrap()
}

#[test]
fn at_the_epoch() {
    let l = limiter(Duration::ZERO);
    for n in 1..=20 {
        let d = l.check("k", Class::WRITE);
        assert_eq!(
            (d.outcome(), d.remaining(), d.reset()),
            (Outcome::Allowed, 20 - n, 10)
        );
    }
    let d = l.check("k", Class::WRITE);
    assert_eq!(
        (d.outcome(), d.retry_after(), d.reset()),
        (Outcome::Denied, Some(10), 10)
    );
}

#[test]
fn in_the_far_future() {
    for now in [
        Duration::from_secs(u64::MAX),
        Duration::MAX,
        Duration::from_secs(u64::MAX - 5),
        Duration::from_secs(1 << 40),
    ] {
        let l = limiter(Duration::ZERO);
        for _ in 0..20 {
            assert!(l.check_at("k", Class::WRITE, now).is_allowed());
        }
        let d = l.check_at("k", Class::WRITE, now);
        assert_eq!(d.outcome(), Outcome::Denied, "{now:?}");
        let retry = d.retry_after().unwrap();
        assert!((1..=10).contains(&retry), "{now:?}: {retry}");
        assert!(d.reset() >= now.as_secs(), "{now:?}");
        // Headers render whatever the numbers.
        assert_eq!(d.headers().iter().count(), 4);
    }
}

#[test]
fn a_clock_stepping_back_never_reopens_a_window() {
    let clock = ManualClock::new(Duration::from_secs(T + 25));
    let l = limiter_on(clock.clone());
    for _ in 0..20 {
        assert!(l.check("k", Class::WRITE).is_allowed());
    }
    // Back into the previous burst window, and the one before, and far back.
    for back in [10, 20, 25, T] {
        clock.set(Duration::from_secs(T + 25 - back));
        let d = l.check("k", Class::WRITE);
        assert_eq!(d.outcome(), Outcome::Denied, "{back} s back");
        // The newest window still binds: it ends at T+30.
        assert_eq!(d.reset(), T + 30, "{back} s back");
        assert!(d.retry_after().unwrap() >= 5);
    }
    // Forward again: the next burst window opens as usual.
    clock.set(Duration::from_secs(T + 30));
    let d = l.check("k", Class::WRITE);
    assert_eq!(
        (d.outcome(), d.remaining(), d.reset()),
        (Outcome::Allowed, 19, T + 40)
    );
}

#[test]
fn stepping_back_across_a_minute_keeps_the_minute() {
    let l = limiter(Duration::ZERO);
    for s in [0, 10, 20] {
        assert!(l
            .check_n_at("k", Class::WRITE, 20, Duration::from_secs(T + 60 + s))
            .is_allowed());
    }
    // The minute T+60..T+120 is spent; a check from the previous minute
    // counts in it too (and is denied), rather than reopening T..T+60.
    let d = l.check_at("k", Class::WRITE, Duration::from_secs(T + 30));
    assert_eq!((d.outcome(), d.reset()), (Outcome::Denied, T + 120));
    assert_eq!(d.denied_by().map(|w| w.limit()), Some(60));
}

#[test]
fn peeks_at_any_time_do_not_panic_or_count() {
    let l = limiter(Duration::ZERO);
    for now in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_secs(T),
        Duration::MAX,
    ] {
        let d = l.peek_at("k", Class::READ, now);
        assert_eq!((d.outcome(), d.remaining()), (Outcome::Allowed, 333));
    }
    assert_eq!(l.tracked(), 0);
}

/// A limiter on a `CachedClock` works at the time last stored in it:
/// windows turn over when the stored time does, whatever the wall clock
/// says.
#[test]
fn a_cached_clock_holds_the_time_stored_in_it() {
    let clock = CachedClock::at(Duration::from_secs(T));
    let l = limiter_on(clock.clone());
    for n in 1..=20 {
        let d = l.check("k", Class::WRITE);
        assert_eq!((d.remaining(), d.reset()), (20 - n, T + 10));
    }
    assert_eq!(l.check("k", Class::WRITE).retry_after(), Some(10));
    clock.set(Duration::from_millis(T * 1_000 + 9_999));
    let d = l.check("k", Class::WRITE);
    assert_eq!((d.outcome(), d.retry_after()), (Outcome::Denied, Some(1)));
    clock.set(Duration::from_secs(T + 10));
    let d = l.check("k", Class::WRITE);
    assert_eq!(
        (d.outcome(), d.remaining(), d.reset()),
        (Outcome::Allowed, 19, T + 20)
    );
    assert_eq!(clock.now(), Duration::from_secs(T + 10));
}
