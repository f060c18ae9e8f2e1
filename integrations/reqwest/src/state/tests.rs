//! The state's decisions, step by step on a made-up time: each step is a
//! request asking to go, or an answer, at a given millisecond.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "milliseconds of a made-up test time"
)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;

/// A second boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;
const MARGIN: Duration = Duration::from_millis(50);

/// `ms` milliseconds after `T`, on both clocks.
fn at(ms: u64) -> Now {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let since = Duration::from_millis(ms);
    Now {
        instant: *ORIGIN.get_or_init(Instant::now) + since,
        wall: Duration::from_secs(T) + since,
    }
}

fn settings(pacer: &Pacer) -> Settings {
    Settings::new(pacer, MARGIN)
}

/// The fields of an answer: `Remaining`, `Reset` (seconds after `T`) and
/// `Retry-After`, each left out when empty.
fn fields(remaining: &str, reset: Option<u64>, retry_after: &str) -> RateLimitInfo {
    let reset = reset.map(|s| (T + s).to_string());
    RateLimitInfo::from_values(
        None,
        (!remaining.is_empty()).then_some(remaining.as_bytes()),
        reset.as_deref().map(str::as_bytes),
        (!retry_after.is_empty()).then_some(retry_after.as_bytes()),
    )
}

fn sleep_until(ms: u64) -> Admit {
    Admit::Sleep {
        until: at(ms).instant,
        jitter: Duration::ZERO,
    }
}

/// A state, its pacer, and the steps that check it.
struct Run {
    state: KeyState,
    pacer: Pacer,
}

impl Run {
    fn new(pacer: Pacer) -> Self {
        Self {
            state: KeyState::new(),
            pacer,
        }
    }

    fn ask(&mut self, ms: u64) -> Admit {
        let settings = settings(&self.pacer);
        self.state.admit(&self.pacer, settings, at(ms))
    }

    fn answer(&mut self, ms: u64, status: u16, info: RateLimitInfo) -> Pace {
        let settings = settings(&self.pacer);
        let pace = self
            .state
            .answer(status, &info, &self.pacer, settings, at(ms));
        self.state.finished();
        pace
    }
}

#[test]
fn one_request_learns_the_window_then_the_others_go() {
    let mut r = Run::new(Pacer::builder().threshold(1).build());
    assert_eq!(r.ask(0), Admit::Go);
    assert_eq!(r.ask(1), Admit::AwaitAnswer);
    r.answer(10, 200, fields("5", Some(1), ""));
    for ms in 11..16 {
        assert_eq!(r.ask(ms), Admit::Go, "at {ms}");
    }
    // Five in flight against five left: the sixth waits for the reset.
    assert_eq!(r.ask(20), sleep_until(1_050));
    assert_eq!(r.state.in_flight, 5);
}

#[test]
fn requests_in_flight_count_against_remaining() {
    let mut r = Run::new(Pacer::builder().threshold(2).build());
    r.ask(0);
    r.answer(5, 201, fields("4", Some(1), ""));
    // 4 left: each request in flight takes one off, and the pacer holds
    // a request once fewer than 2 would be left.
    assert_eq!(r.ask(6), Admit::Go);
    assert_eq!(r.ask(7), Admit::Go);
    assert_eq!(r.ask(8), Admit::Go);
    assert_eq!(r.ask(9), sleep_until(1_050));
    // Two answers of the same window: the least Remaining is kept.
    r.answer(10, 201, fields("2", Some(1), ""));
    r.answer(10, 201, fields("3", Some(1), ""));
    assert_eq!(r.state.in_flight, 1);
    assert_eq!(r.ask(11), sleep_until(1_050));
    r.answer(12, 201, fields("9", Some(1), ""));
    assert_eq!(r.ask(13), Admit::Go);
    assert_eq!(r.ask(14), sleep_until(1_050));
}

#[test]
fn a_window_that_ended_is_learnt_again_by_one_request() {
    let mut r = Run::new(Pacer::builder().threshold(1).build());
    r.ask(0);
    r.answer(5, 200, fields("0", Some(1), ""));
    assert_eq!(r.ask(6), sleep_until(1_050));
    assert_eq!(r.ask(1_049), sleep_until(1_050));
    assert_eq!(r.ask(1_050), Admit::Go);
    assert_eq!(r.ask(1_051), Admit::AwaitAnswer);
    // A late answer of the old window changes nothing; the new one does.
    r.answer(1_060, 200, fields("0", Some(1), ""));
    assert_eq!(r.state.window, Window::Unknown);
    r.answer(1_070, 200, fields("7", Some(2), ""));
    assert_eq!(r.ask(1_071), Admit::Go);
    r.answer(1_080, 200, fields("1", Some(1), ""));
    assert_eq!(
        r.ask(1_081),
        Admit::Go,
        "an older window's answer is ignored"
    );
}

#[test]
fn a_429_holds_every_request_until_its_retry_after() {
    let mut r = Run::new(Pacer::new());
    r.ask(0);
    r.ask(1);
    let pace = r.answer(200, 429, fields("0", Some(2), "2"));
    assert_eq!(
        (pace.wait(), pace.is_capped()),
        (Duration::from_secs(2), false)
    );
    assert_eq!(r.ask(300), sleep_until(2_200));
    // A later 429 with a shorter wait does not shorten the gate.
    r.answer(400, 429, fields("", None, "1"));
    assert_eq!(r.ask(500), sleep_until(2_200));
    assert_eq!(r.ask(2_200), Admit::Go);
}

#[test]
fn a_429_without_retry_after_waits_the_default_second() {
    let mut r = Run::new(Pacer::new());
    r.ask(0);
    r.answer(100, 429, RateLimitInfo::new());
    assert_eq!(r.ask(100), sleep_until(1_100));
}

#[test]
fn answers_without_fields_leave_pacing_alone() {
    let mut r = Run::new(Pacer::builder().threshold(1).build());
    r.ask(0);
    r.answer(5, 200, fields("0", Some(1), ""));
    r.answer(6, 200, RateLimitInfo::new());
    r.answer(7, 500, fields("", Some(9), ""));
    assert_eq!(r.ask(8), sleep_until(1_050));

    // A key whose server sends no fields is not held at all.
    let mut r = Run::new(Pacer::new());
    assert_eq!(r.ask(0), Admit::Go);
    r.answer(5, 200, RateLimitInfo::new());
    for ms in 6..20 {
        assert_eq!(r.ask(ms), Admit::Go);
    }
    // Until it sends them.
    r.answer(30, 200, fields("2", Some(1), ""));
    assert_eq!(r.ask(31), sleep_until(1_050));
}

#[test]
fn threshold_zero_turns_pre_pacing_off() {
    let pacer = Pacer::builder().threshold(0).build();
    assert!(!settings(&pacer).pre_pacing);
    assert!(settings(&Pacer::new()).pre_pacing);
    let mut r = Run::new(pacer);
    for ms in 0..5 {
        assert_eq!(r.ask(ms), Admit::Go, "no request learns alone");
    }
    r.answer(5, 200, fields("0", Some(1), ""));
    assert_eq!(r.ask(6), Admit::Go);
    r.answer(7, 429, fields("0", Some(1), "1"));
    assert_eq!(r.ask(8), sleep_until(1_007), "the gate still holds");
}

#[test]
fn waits_are_cut_to_max_wait() {
    let mut r = Run::new(Pacer::builder().max_wait(Duration::from_secs(3)).build());
    r.ask(0);
    let pace = r.answer(
        0,
        429,
        fields("0", Some(u64::MAX - T), "99999999999999999999"),
    );
    assert!(pace.is_capped());
    assert_eq!(r.ask(1), sleep_until(3_000));
    // The window also ends at max_wait (plus the margin): then one
    // request goes to learn afresh.
    assert_eq!(r.ask(3_000), sleep_until(3_050));
    assert_eq!(r.ask(3_050), Admit::Go);
    assert_eq!(r.ask(3_051), Admit::AwaitAnswer);
}

#[test]
fn jitter_only_for_a_shared_key_drawn_by_each_waiter() {
    let max = Duration::from_millis(500);
    let mut shared = Run::new(Pacer::builder().shared_key(true).seed(1).build());
    shared.ask(0);
    shared.answer(0, 429, fields("", None, "1"));
    let mut jitters = Vec::new();
    for _ in 0..8 {
        let Admit::Sleep { until, jitter } = shared.ask(10) else {
            panic!("held by the gate");
        };
        assert!(jitter <= max);
        assert_eq!(until, at(1_000).instant + jitter);
        jitters.push(jitter);
    }
    jitters.dedup();
    assert!(jitters.len() > 1, "each waiter draws its own: {jitters:?}");

    let mut solo = Run::new(Pacer::new());
    solo.ask(0);
    solo.answer(0, 429, fields("0", Some(5), "1"));
    assert_eq!(solo.ask(10), sleep_until(1_000));
    assert_eq!(solo.ask(1_000), sleep_until(5_050));
}

#[test]
fn idle_once_nothing_is_in_flight_or_running() {
    let mut r = Run::new(Pacer::new());
    assert!(r.state.is_idle(at(0).instant));
    r.ask(0);
    assert!(!r.state.is_idle(at(0).instant));
    r.answer(10, 429, fields("0", Some(2), "1"));
    assert!(!r.state.is_idle(at(1_500).instant));
    assert!(r.state.is_idle(at(2_050).instant));
}

#[test]
fn hostile_fields_never_panic() {
    let values = [
        "",
        "0",
        "1",
        "-1",
        "18446744073709551615",
        "99999999999999999999999",
        "1.5",
        "x",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ];
    for pacer in [
        Pacer::new(),
        Pacer::builder()
            .max_wait(Duration::MAX)
            .shared_key(true)
            .build(),
    ] {
        for remaining in values {
            for reset in values {
                for retry_after in values {
                    let mut r = Run::new(pacer.clone());
                    let info = RateLimitInfo::from_values(
                        None,
                        Some(remaining.as_bytes()),
                        Some(reset.as_bytes()),
                        Some(retry_after.as_bytes()),
                    );
                    for status in [200, 429, 503] {
                        r.ask(0);
                        r.answer(0, status, info);
                        r.ask(1);
                    }
                }
            }
        }
    }
}
