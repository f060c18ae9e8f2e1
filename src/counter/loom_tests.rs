//! Loom models of the window counters.
//!
//! Each model checks one state's window words with at most three threads
//! of one to three checks each, limits of 1 to 3, and asserts after every
//! execution:
//!
//! - **never over-admit**: the cost admitted into each window (position,
//!   index) is at most its limit ([`Ledger::assert_within`]);
//! - **a denied check changes nothing**: each window word ends holding
//!   exactly the cost admitted into the window it is in
//!   ([`Ledger::assert_matches`]): no reservation of a denied check is
//!   left behind, and no admitted cost is lost;
//! - where the threads check at one instant with unit costs, exactly
//!   `min(limit, attempts)` are admitted;
//! - a straggler (a check whose `now` is one, two or many windows behind)
//!   counts in the newer window and never resets it.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --lib` (see
//! `ci/loom.sh`).

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test bookkeeping in plain arithmetic: sums of a handful of small costs"
)]

use std::collections::HashMap;

use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::length::WindowLength;
use crate::state::Observed;

/// A minute boundary (2025-05-06T00:00:00Z), so that every window of the
/// models starts at `T`.
pub(crate) const T: u64 = 1_746_489_600;

/// Windows from `(limit, seconds)`, longest first.
pub(crate) fn windows(spec: &[(u32, u64)]) -> Vec<Window> {
    spec.iter()
        .map(|&(l, s)| Window::new(l, WindowLength::from_secs(s).expect("valid length")))
        .collect()
}

/// Cost admitted per (window position, window index), from the windows
/// each admission reported.
#[derive(Debug, Default)]
pub(crate) struct Ledger(pub(crate) HashMap<(usize, u64), u64>);

impl Ledger {
    /// Records an admission of `cost` into the windows it reported.
    pub(crate) fn admit(&mut self, seen: &Observed, cost: u32) {
        for i in 0..seen.len {
            *self.0.entry((i, seen.index[i])).or_default() += u64::from(cost);
        }
    }

    /// Cost admitted into window `index` of position `i`.
    pub(crate) fn get(&self, i: usize, index: u64) -> u64 {
        self.0.get(&(i, index)).copied().unwrap_or(0)
    }

    /// Never over-admit.
    pub(crate) fn assert_within(&self, limits: &[u32]) {
        for (&(i, index), &cost) in &self.0 {
            assert!(
                cost <= u64::from(limits[i]),
                "window {i} index {index}: admitted {cost} > limit {}",
                limits[i]
            );
        }
    }

    /// Every word holds exactly what was admitted into its window.
    pub(crate) fn assert_matches(&self, words: &[AtomicU64]) {
        for (i, word) in words.iter().enumerate() {
            // Relaxed: every thread has been joined.
            let word = word.load(Ordering::Relaxed);
            if word == NEUTRAL {
                assert!(
                    self.0.iter().all(|(&(j, _), &c)| j != i || c == 0),
                    "window {i} lost its counts"
                );
                continue;
            }
            let (index, count) = (word >> 32, count_of(word));
            let admitted: u64 = self
                .0
                .iter()
                .filter(|(&(j, x), _)| j == i && x & 0xFFFF_FFFF == index)
                .map(|(_, &c)| c)
                .sum();
            assert_eq!(
                u64::from(count),
                admitted,
                "window {i} index {index}: word count vs admitted"
            );
        }
    }
}

/// Checks of one thread: `(now, cost)`.
pub(crate) type Plan = &'static [(u64, u32)];

/// One model execution's checks, run on one state: `setup` one at a time,
/// then `plans` (one per thread) on threads of their own. Each check is
/// `admit(state, now, cost)`; `observed` gives the windows an admission
/// reports. Returns each thread's admissions in order, the ledger of
/// every admitted cost, and the admitted tallies (setup's first).
pub(crate) fn run_checks<S, X>(
    state: &Arc<S>,
    setup: Plan,
    plans: &'static [Plan],
    admit: fn(&S, u64, u32) -> Admission<X>,
    observed: fn(&X) -> Observed,
) -> (Vec<Vec<Admission<X>>>, Ledger, Vec<X>)
where
    S: Send + Sync + 'static,
    X: Copy + Send + 'static,
{
    let mut ledger = Ledger::default();
    let mut admitted = Vec::new();
    for &(now, cost) in setup {
        match admit(state, now, cost) {
            Admission::Admitted(seen) => {
                ledger.admit(&observed(&seen), cost);
                admitted.push(seen);
            }
            Admission::Denied(_) | Admission::Lost => panic!("setup denied"),
        }
    }
    let results = run_plans(state, plans, move |s, (now, cost)| admit(s, now, cost));
    for (plan, admissions) in plans.iter().zip(&results) {
        for (&(_, cost), a) in plan.iter().zip(admissions) {
            if let Admission::Admitted(seen) = a {
                ledger.admit(&observed(seen), cost);
                admitted.push(*seen);
            }
        }
    }
    (results, ledger, admitted)
}

/// Runs each of `plans` on a thread of its own, every step as
/// `check(state, step)`, and returns each thread's results in order.
pub(crate) fn run_plans<S, P, R>(
    state: &Arc<S>,
    plans: &'static [&'static [P]],
    check: impl Fn(&S, P) -> R + Copy + Send + 'static,
) -> Vec<Vec<R>>
where
    S: Send + Sync + 'static,
    P: Copy + Sync + 'static,
    R: Send + 'static,
{
    let handles: Vec<_> = plans
        .iter()
        .map(|&plan| {
            let state = state.clone();
            thread::spawn(move || plan.iter().map(|&step| check(&state, step)).collect())
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("model thread"))
        .collect()
}

/// One execution's results: each thread's admissions, in order.
type Results = Vec<Vec<Admission>>;

/// A state of the model: its windows, their limits and their words.
struct State {
    windows: Vec<Window>,
    limits: Vec<u32>,
    words: Vec<AtomicU64>,
}

/// Runs `plans` (one list of `(now, cost)` per thread) concurrently on
/// one state of `spec`, after admitting `setup` sequentially; checks the
/// ledger, then hands the results and the ledger to `check`.
fn model(
    spec: &'static [(u32, u64)],
    setup: Plan,
    plans: &'static [Plan],
    check: fn(&Results, &Ledger),
) {
    loom::model(move || {
        let state = Arc::new(State {
            windows: windows(spec),
            limits: spec.iter().map(|&(l, _)| l).collect(),
            words: (0..spec.len()).map(|_| AtomicU64::new(NEUTRAL)).collect(),
        });
        let (results, ledger, _) = run_checks(
            &state,
            setup,
            plans,
            |s, now, cost| admit_any(&s.words, &s.windows, &s.limits, now, cost),
            |seen| *seen,
        );
        let (limits, words) = (&state.limits, &state.words);
        ledger.assert_within(limits);
        ledger.assert_matches(words);
        check(&results, &ledger);
    });
}

/// How many checks of all threads were admitted.
pub(crate) fn admitted<X>(results: &[Vec<Admission<X>>]) -> usize {
    results
        .iter()
        .flatten()
        .filter(|a| matches!(a, Admission::Admitted(_)))
        .count()
}

fn nothing_more(_: &Results, _: &Ledger) {}

#[test]
fn two_threads_race_for_the_last_unit() {
    model(&[(1, 10)], &[], &[&[(T, 1)], &[(T, 1)]], |r, _| {
        assert_eq!(admitted(r), 1)
    });
}

#[test]
fn three_threads_at_one_instant_admit_min_of_limit_and_attempts() {
    // The burst window (2) binds: two of three are admitted.
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 1)], &[(T, 1)], &[(T, 1)]],
        |r, _| assert_eq!(admitted(r), 2),
    );
}

#[test]
fn two_threads_of_two_checks_at_one_instant() {
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 1), (T + 1, 1)], &[(T + 2, 1), (T + 3, 1)]],
        |r, _| {
            assert_eq!(admitted(r), 2);
        },
    );
}

#[test]
fn a_cost_that_does_not_fit_the_second_window_rolls_back_the_first() {
    // Whichever order, exactly one of the two fits; the other releases
    // any reservation it made in the minute window.
    model(&[(3, 60), (2, 10)], &[], &[&[(T, 2)], &[(T, 1)]], |r, _| {
        assert_eq!(admitted(r), 1)
    });
}

#[test]
fn three_threads_with_mixed_costs_roll_back_cleanly() {
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 2)], &[(T, 1)], &[(T, 1)]],
        |_, ledger| {
            // Someone is always admitted: a rollback never denies everyone.
            assert!(ledger.get(1, T / 10) >= 1);
        },
    );
}

#[test]
fn a_window_turns_over_under_admission() {
    // The 10 s window starting at T is full. A check late in it is denied
    // whether it sees that window or the next one (counting in the newer
    // window); the next window admits one.
    model(
        &[(1, 10)],
        &[(T, 1)],
        &[&[(T + 5, 1)], &[(T + 10, 1), (T + 12, 1)]],
        |r, ledger| {
            assert!(matches!(r[0][0], Admission::Denied(_)));
            assert!(matches!(r[1][0], Admission::Admitted(_)));
            assert!(matches!(r[1][1], Admission::Denied(_)));
            assert_eq!((ledger.get(0, T / 10), ledger.get(0, T / 10 + 1)), (1, 1));
        },
    );
}

#[test]
fn a_rollover_races_admission_in_two_windows() {
    model(
        &[(2, 60), (1, 10)],
        &[],
        &[&[(T + 9, 1)], &[(T + 10, 1)], &[(T + 10, 1)]],
        nothing_more,
    );
}

/// A straggler `behind` windows behind a check at `T`, with one unit left.
fn straggler(plans: &'static [&'static [(u64, u32)]]) {
    model(&[(2, 10)], &[(T, 1)], plans, |r, ledger| {
        // The two race for the one unit left in the window at T, and the
        // straggler never reopens its own older window.
        assert_eq!(admitted(r), 1);
        assert_eq!(ledger.get(0, T / 10), 2);
    });
}

#[test]
fn a_straggler_one_window_behind() {
    straggler(&[&[(T, 1)], &[(T - 10, 1)]]);
}

#[test]
fn a_straggler_two_windows_behind() {
    straggler(&[&[(T, 1)], &[(T - 15, 1)]]);
}

#[test]
fn a_straggler_many_windows_behind() {
    straggler(&[&[(T, 1)], &[(T - 10 * 1000, 1)]]);
}

#[test]
fn a_straggler_races_a_rollover() {
    // The window at T is full; one thread opens the next, a straggler two
    // windows behind T is denied in whichever newer window it meets.
    model(
        &[(1, 10)],
        &[(T, 1)],
        &[&[(T + 10, 1)], &[(T - 20, 1)]],
        |r, _| {
            assert!(matches!(r[0][0], Admission::Admitted(_)));
            assert!(matches!(r[1][0], Admission::Denied(_)));
        },
    );
}

#[test]
fn stragglers_and_a_rollover_in_two_windows() {
    model(
        &[(3, 60), (2, 10)],
        &[(T + 50, 1)],
        &[&[(T + 60, 2)], &[(T + 40, 1), (T + 30, 1)]],
        nothing_more,
    );
}
