//! Loom models of one state word under concurrent checks.
//!
//! Each model runs at most three threads of one to three checks each on
//! one word, in both widths (64 and 128 bits), with limits of 1 to 10,
//! and asserts after every execution:
//!
//! - **every execution is a sequential one**: the outcome and the windows
//!   every check reported are those of running the same checks one at a
//!   time in some order that keeps each thread's own order, and the word
//!   ends as that order leaves it ([`assert_sequential`]): one
//!   compare-exchange per check makes each take effect at one instant, so
//!   no check is denied by another's passing reservation, and a denied
//!   check writes nothing;
//! - **never over-admit**: the cost admitted into each window (position,
//!   index) is at most its limit ([`Ledger::assert_within`]);
//! - the figures each model names: unit costs at one instant admit exactly
//!   `min(limit, attempts)`; a check of mixed cost is denied only where a
//!   sequential order denies it; a straggler (a check whose `now` is in an
//!   earlier window) counts in the newer windows and never resets them;
//!   checks across a window boundary see it in one order.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --lib` (see
//! `ci/loom.sh`).

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test bookkeeping in plain arithmetic: sums of a handful of small costs"
)]

use std::collections::HashMap;

use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::length::WindowLength;
use crate::stamp::Width;
use crate::state::{Observed, Unshared};
use crate::window::Window;

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

    /// Never over-admit, but for `slack` per window.
    pub(crate) fn assert_within(&self, limits: &[u32], slack: u64) {
        for (&(i, index), &cost) in &self.0 {
            assert!(
                cost <= u64::from(limits[i]) + slack,
                "window {i} index {index}: admitted {cost} > limit {} + {slack}",
                limits[i]
            );
        }
    }
}

/// Runs each plan on a thread of its own against `shared`, calling `step`
/// for each of its items; returns each thread's results in order.
pub(crate) fn run_plans<S, I, R>(
    shared: &Arc<S>,
    plans: &'static [&'static [I]],
    step: fn(&S, I) -> R,
) -> Vec<Vec<R>>
where
    S: Send + Sync + 'static,
    I: Copy + Send + Sync + 'static,
    R: Send + 'static,
{
    let handles: Vec<_> = plans
        .iter()
        .map(|plan| {
            let shared = Arc::clone(shared);
            thread::spawn(move || plan.iter().map(|&item| step(&shared, item)).collect())
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("model thread"))
        .collect()
}

/// Checks of one thread: `(now, cost)`.
type Plan = &'static [(u64, u32)];
/// A check's result in the models' form.
type Result = Admission<Observed>;

/// In the models' form.
fn observed<const N: usize>(a: Admission<Tally<N>>) -> Result {
    match a {
        Admission::Admitted(t) => Admission::Admitted(t.observed()),
        Admission::Denied(t) => Admission::Denied(t.observed()),
        Admission::Lost => Admission::Lost,
    }
}

/// One check of `(now, cost)` on `word`, for a class of `N` windows.
fn check_n<W: Word, const N: usize>(
    word: &W,
    stamp: &Stamp,
    limits: &[u32],
    (now, cost): (u64, u32),
) -> Result {
    let limits: [u32; N] = limits.try_into().expect("N limits");
    let ask = Ask {
        limits: &limits,
        now,
        cost,
    };
    observed(admit(word, stamp, &ask, &Unshared))
}

/// One check on `word` for a class of `limits.len()` windows.
fn check<W: Word>(word: &W, stamp: &Stamp, limits: &[u32], step: (u64, u32)) -> Result {
    match limits.len() {
        1 => check_n::<W, 1>(word, stamp, limits, step),
        2 => check_n::<W, 2>(word, stamp, limits, step),
        _ => check_n::<W, 3>(word, stamp, limits, step),
    }
}

/// The same check on a plain value, for the sequential orders.
fn check_value<B: Bits>(
    value: &mut B,
    stamp: &Stamp,
    limits: &[u32],
    (now, cost): (u64, u32),
) -> Result {
    fn run<B: Bits, const N: usize>(
        value: &mut B,
        stamp: &Stamp,
        limits: &[u32],
        now: u64,
        cost: u32,
    ) -> Result {
        let limits: [u32; N] = limits.try_into().expect("N limits");
        match stamp.admit(*value, &limits, now, cost) {
            Ok((next, after)) => {
                *value = next;
                Admission::Admitted(after.observed())
            }
            Err(found) => Admission::Denied(found.observed()),
        }
    }
    match limits.len() {
        1 => run::<B, 1>(value, stamp, limits, now, cost),
        2 => run::<B, 2>(value, stamp, limits, now, cost),
        _ => run::<B, 3>(value, stamp, limits, now, cost),
    }
}

/// Asserts that `results` (each thread's, in order) and the word's final
/// value `end` are those of some sequential order of `plans` that keeps
/// each thread's own order, starting from `start`.
fn assert_sequential<B: Bits>(
    stamp: &Stamp,
    limits: &[u32],
    start: B,
    plans: &[Plan],
    results: &[Vec<Result>],
    end: B,
) {
    fn search<B: Bits>(
        stamp: &Stamp,
        limits: &[u32],
        value: B,
        plans: &[Plan],
        results: &[Vec<Result>],
        next: &mut Vec<usize>,
        end: B,
    ) -> bool {
        if next.iter().zip(plans).all(|(&n, p)| n == p.len()) {
            return value == end;
        }
        for t in 0..plans.len() {
            let n = next[t];
            if n == plans[t].len() {
                continue;
            }
            let mut v = value;
            if check_value(&mut v, stamp, limits, plans[t][n]) != results[t][n] {
                continue;
            }
            next[t] += 1;
            let found = search(stamp, limits, v, plans, results, next, end);
            next[t] -= 1;
            if found {
                return true;
            }
        }
        false
    }
    let mut next = vec![0; plans.len()];
    assert!(
        search(stamp, limits, start, plans, results, &mut next, end),
        "no sequential order gives {results:?}"
    );
}

/// Runs `plans` concurrently on one word of `spec` (a class, longest
/// window first) in `width`, after admitting `setup` sequentially;
/// checks the module's invariants, then hands the results to `check`.
fn model_in(
    width: Width,
    spec: &'static [(u32, u64)],
    setup: Plan,
    plans: &'static [Plan],
    more: fn(&[Vec<Result>]),
) {
    fn go<W: Word + 'static>(
        new: fn() -> W,
        width: Width,
        spec: &'static [(u32, u64)],
        setup: Plan,
        plans: &'static [Plan],
        more: fn(&[Vec<Result>]),
    ) {
        loom::model(move || {
            let limits: Vec<u32> = spec.iter().map(|&(l, _)| l).collect();
            let stamp = Stamp::new(&windows(spec), &limits, None, width).expect("fits");
            assert_eq!(stamp.width(), width, "the width asked for");
            let state = Arc::new((new(), stamp, limits.clone()));
            let mut ledger = Ledger::default();
            for &step in setup {
                match check(&state.0, &state.1, &state.2, step) {
                    Admission::Admitted(seen) => ledger.admit(&seen, step.1),
                    other => panic!("setup {step:?}: {other:?}"),
                }
            }
            // Relaxed: no thread runs yet.
            let start = state.0.load(Ordering::Relaxed);
            let results = run_plans(&state, plans, |s, step| check(&s.0, &s.1, &s.2, step));
            for (plan, rs) in plans.iter().zip(&results) {
                for (&(_, cost), r) in plan.iter().zip(rs) {
                    assert!(
                        !matches!(r, Admission::Lost),
                        "a word outside the table is never lost"
                    );
                    if let Admission::Admitted(seen) = r {
                        ledger.admit(seen, cost);
                    }
                }
            }
            ledger.assert_within(&limits, 0);
            // Relaxed: every thread has been joined.
            let end = state.0.load(Ordering::Relaxed);
            assert_sequential(&state.1, &limits, start, plans, &results, end);
            more(&results);
        });
    }
    match width {
        Width::Narrow => go(|| AtomicU64::new(0), width, spec, setup, plans, more),
        Width::Wide => go(|| AtomicU128::new(0), width, spec, setup, plans, more),
    }
}

/// [`model_in`] in both widths.
fn model(
    spec: &'static [(u32, u64)],
    setup: Plan,
    plans: &'static [Plan],
    more: fn(&[Vec<Result>]),
) {
    for width in [Width::Narrow, Width::Wide] {
        model_in(width, spec, setup, plans, more);
    }
}

fn admitted(results: &[Vec<Result>]) -> usize {
    results
        .iter()
        .flatten()
        .filter(|r| matches!(r, Admission::Admitted(_)))
        .count()
}

#[test]
fn unit_costs_at_one_instant_admit_exactly_the_limit() {
    model(
        &[(2, 60), (2, 10)],
        &[],
        &[&[(T, 1)], &[(T, 1)], &[(T, 1)]],
        |r| {
            assert_eq!(admitted(r), 2);
        },
    );
    model(&[(1, 60)], &[], &[&[(T, 1)], &[(T, 1)]], |r| {
        assert_eq!(admitted(r), 1);
    });
}

#[test]
fn mixed_costs_are_denied_only_where_a_sequential_order_denies() {
    // 10 a minute, 5 per 10 seconds, 4 counted earlier in the minute.
    // Thread 1 checks 5 (A) while thread 2 checks 1 (C) and then 1 (B):
    // A denied, C admitted and B denied is no sequential order's result.
    model(
        &[(10, 60), (5, 10)],
        &[(T, 4)],
        &[&[(T + 10, 5)], &[(T + 10, 1), (T + 10, 1)]],
        |r| {
            let a = matches!(r[0][0], Admission::Admitted(_));
            let b = matches!(r[1][1], Admission::Admitted(_));
            assert!(a || b, "A and B both denied: {r:?}");
        },
    );
}

#[test]
fn checks_across_a_window_boundary_see_it_in_one_order() {
    // Minute at 8 of 10, burst at 4 of 5: A and C at t, B at t + 10.
    model(
        &[(10, 60), (5, 10)],
        &[(T, 4), (T + 10, 4)],
        &[&[(T + 10, 1), (T + 20, 1)], &[(T + 10, 1)]],
        |r| {
            // B (thread 1's second) is denied only if the minute is full:
            // both A and C were admitted before it.
            if let Admission::Denied(_) = r[0][1] {
                assert!(matches!(r[0][0], Admission::Admitted(_)));
                assert!(matches!(r[1][0], Admission::Admitted(_)));
            }
        },
    );
}

#[test]
fn a_straggler_counts_in_the_newer_windows() {
    // One thread two windows behind the other, and one many behind.
    model(
        &[(3, 60), (2, 10)],
        &[(T + 25, 1)],
        &[&[(T + 5, 1)], &[(T + 25, 1)], &[(T - 600, 1)]],
        |r| {
            // The short window (of T + 25) holds 2: one of the three is
            // denied, whichever came last.
            assert_eq!(admitted(r), 1);
        },
    );
}

#[test]
fn three_windows_take_mixed_costs_as_one() {
    model(
        &[(9, 3600), (4, 60), (2, 1)],
        &[(T, 1)],
        &[&[(T + 1, 2)], &[(T + 1, 1), (T + 2, 1)]],
        |_| {},
    );
}
