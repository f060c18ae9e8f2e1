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

/// A table of capacity 1 with every slot taken by a key that wrote at
/// `at`; the keys.
fn full_at(l: &Limiter<ManualClock>, at: u64) -> Vec<String> {
    let mut keys = Vec::new();
    while l.tracked() < l.slots() {
        let key = format!("filler_{}", keys.len());
        assert!(l
            .check_at(key.as_str(), Class::WRITE, Duration::from_secs(at))
            .is_allowed());
        keys.push(key);
    }
    keys
}

/// A small reference limiter with a fixed seed.
fn small() -> Limiter<ManualClock> {
    Limiter::builder(Policy::default())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .capacity(1)
        .seed(7)
        .build()
        .unwrap()
}

#[test]
fn a_future_time_seen_by_one_key_leaves_the_others_at_their_own_time() {
    // Regression: the key that took a slot at a time ten years ahead
    // raised its buckets' floor to that time, and every key inserted into
    // them later counted ten years ahead.
    let l = small();
    full_at(&l, T);
    let years = 10 * 365 * 86_400;
    assert!(l
        .check_at("glitch", Class::WRITE, Duration::from_secs(T + years))
        .is_allowed());
    let d = l.check_at("victim", Class::WRITE, Duration::from_secs(T + 3_600));
    assert!(d.is_allowed());
    assert_eq!((d.reset(), d.remaining()), (T + 3_610, 19));
}

#[test]
fn a_corrected_clock_step_leaves_new_keys_their_whole_limit() {
    // Regression: during a one-hour forward step, new keys took the slots
    // of keys whose windows had ended "by then"; after the correction, a
    // newcomer writing 20 every 10 seconds was held to one burst window
    // an hour ahead (20 of 60, retry-after 2890).
    let l = small();
    full_at(&l, T);
    for i in 0..4 {
        let key = format!("stepped_{i}");
        assert!(l
            .check_at(
                key.as_str(),
                Class::WRITE,
                Duration::from_secs(T + 3_600 + i)
            )
            .is_allowed());
    }
    // The clock is corrected; the fillers' minute has ended.
    let mut admitted = 0;
    for burst in 0..6 {
        for _ in 0..20 {
            let now = Duration::from_secs(T + 120 + burst * 10);
            let d = l.check_at("newcomer", Class::WRITE, now);
            if d.is_allowed() {
                admitted += 1;
            } else {
                assert_ne!(d.outcome(), Outcome::TableFull);
            }
        }
    }
    assert_eq!(admitted, 60);
}

#[test]
fn a_glitch_in_a_large_table_moves_no_new_key() {
    // Regression: 200 requests during a one-hour glitch left 163 of the
    // next 2,000 new keys of a table of 10,000 counting an hour ahead.
    let l = Limiter::builder(Policy::default())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .capacity(10_000)
        .seed(11)
        .build()
        .unwrap();
    // Filled at T until a new key finds both its buckets full, so that
    // the glitch's keys take slots of ended state.
    for i in 0.. {
        let key = format!("before_{i}");
        let d = l.check_at(key.as_str(), Class::WRITE, Duration::from_secs(T));
        if d.outcome() == Outcome::TableFull {
            break;
        }
    }
    for i in 0..200 {
        let key = format!("glitch_{i}");
        assert!(l
            .check_at(key.as_str(), Class::WRITE, Duration::from_secs(T + 3_600))
            .is_allowed());
    }
    let ahead = (0..2_000)
        .filter(|i| {
            let key = format!("after_{i}");
            let d = l.check_at(key.as_str(), Class::WRITE, Duration::from_secs(T + 70));
            d.reset() > T + 80
        })
        .count();
    assert_eq!(ahead, 0);
}

#[test]
fn a_key_denied_for_longer_than_the_horizon_is_admitted_when_its_window_ends() {
    // A century window and a one-second window: a key spent in both, then
    // checked every year while the century lasts. Regression: a denied
    // check left the one-second count untouched, and past 2^31 seconds
    // (68 years) it read as a count ahead, denying the key after the
    // century had ended.
    let century = tollgate::WindowLength::MAX_SECS;
    let len = |s| tollgate::WindowLength::from_secs(s).unwrap();
    let policy = Policy::builder()
        .class("quota", &["POST"], 1, len(century))
        .window(1, len(1))
        .build()
        .unwrap();
    // The first second of a century window.
    let start = century;
    for wide in [false, true] {
        let l = Limiter::builder(policy.clone())
            .clock(ManualClock::new(Duration::from_secs(start)))
            .capacity(4)
            .wide_states(wide)
            .build()
            .unwrap();
        let class = l.policy().class("quota").unwrap();
        assert!(l
            .check_at("k", class, Duration::from_secs(start))
            .is_allowed());
        let year = 365 * 86_400;
        for y in 1..100 {
            let d = l.check_at("k", class, Duration::from_secs(start + y * year));
            assert_eq!(d.outcome(), Outcome::Denied, "year {y}");
        }
        let d = l.check_at("k", class, Duration::from_secs(2 * century));
        assert!(d.is_allowed(), "128-bit states: {wide}: {d:?}");
    }
}
