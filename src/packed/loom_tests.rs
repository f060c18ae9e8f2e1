//! Loom models of the packed layout: two nested windows in one word.
//!
//! Each model checks one word with at most three threads of one or two
//! checks each, limits of 1 to 3, and asserts after every execution:
//!
//! - **never over-admit**: the cost admitted into each window (position,
//!   index) is at most its limit ([`Ledger::assert_within`]);
//! - **the word holds exactly what was admitted**: it is in the newest
//!   windows any check was admitted into, with exactly the cost admitted
//!   there in each ([`assert_holds`]): a denied check wrote nothing, and
//!   no admitted cost was lost;
//! - **every execution is a sequential one**: the outcomes and tallies all
//!   threads saw are those of running the same checks one at a time in
//!   some order that keeps each thread's own order ([`assert_sequential`]),
//!   which is what one compare-exchange per check promises; in particular,
//!   threads checking at one instant with unit costs admit exactly
//!   `min(limit, attempts)` for whichever window binds;
//! - a straggler (a check whose `now` is in an earlier short window of the
//!   same long window, or one or many long windows behind) counts in the
//!   newer windows and never resets them.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --lib` (see
//! `ci/loom.sh`).

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test bookkeeping in plain arithmetic: small window indexes and costs"
)]

use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::counter::loom_tests::{admitted, run_checks, windows, Ledger, Plan, T};

/// The minute and the 10-second window at `T`.
const L: u64 = T / 60;
const S: u64 = T / 10;

/// One execution's results: each thread's admissions, in order.
type Results = Vec<Vec<Admission<Tally<2>>>>;

/// The packing of `spec` (long window first), sized for its limits.
fn packing(spec: &[(u32, u64); 2]) -> (Packing, [u32; 2]) {
    let limits = [spec[0].0, spec[1].0];
    let packing = Packing::new(&windows(spec), limits).expect("the models' classes pack");
    (packing, limits)
}

/// Runs `plans` concurrently on one word of `spec`, after admitting
/// `setup` sequentially; checks the invariants of the module docs, then
/// hands the results and the ledger to `check`.
fn model(
    spec: &'static [(u32, u64); 2],
    setup: Plan,
    plans: &'static [Plan],
    check: fn(&Results, &Ledger),
) {
    loom::model(move || {
        let (p, limits) = packing(spec);
        let state = Arc::new((p, limits, AtomicU64::new(NEUTRAL)));
        let (results, ledger, admitted) = run_checks(
            &state,
            setup,
            plans,
            |(p, limits, word), now, cost| p.admit(word, limits, now, cost),
            Tally::observed,
        );
        let word = &state.2;
        ledger.assert_within(&limits);
        // Relaxed: every thread has been joined.
        assert_holds(&p, word.load(Ordering::Relaxed), &ledger, &admitted);
        assert_sequential(&p, &limits, setup, plans, &results);
        check(&results, &ledger);
    });
}

/// The word is in the newest windows admitted into, and holds exactly the
/// cost admitted into each of them.
fn assert_holds(p: &Packing, word: u64, ledger: &Ledger, admitted: &[Tally<2>]) {
    let Some(newest) = admitted.iter().map(|t| t.index).max() else {
        assert_eq!(word, NEUTRAL, "nothing was admitted, yet the word changed");
        return;
    };
    let (stored, sub, count) = p.fields(word);
    assert_eq!(
        (stored, sub),
        (newest[0] & p.index_mask, newest[1] - newest[0] * p.ratio),
        "the word left the newest windows admitted into, {newest:?}"
    );
    for (i, &index) in newest.iter().enumerate() {
        assert_eq!(
            u64::from(count[i]),
            ledger.get(i, index),
            "window {i} index {index}: word count vs admitted"
        );
    }
}

/// Some order of the checks that keeps each thread's own order gives, run
/// one at a time on a fresh word after `setup`, exactly `results`.
fn assert_sequential(
    p: &Packing,
    limits: &[u32; 2],
    setup: Plan,
    plans: &[Plan],
    results: &Results,
) {
    let mut order = Vec::new();
    let mut next = vec![0; plans.len()];
    let found = some_order(plans, &mut next, &mut order, &mut |order| {
        let word = AtomicU64::new(NEUTRAL);
        for &(now, cost) in setup {
            p.admit(&word, limits, now, cost);
        }
        let mut taken = vec![0; plans.len()];
        order.iter().all(|&t| {
            let (now, cost) = plans[t][taken[t]];
            let same = p.admit(&word, limits, now, cost) == results[t][taken[t]];
            taken[t] += 1;
            same
        })
    });
    assert!(found, "no sequential order gives {results:?}");
}

/// Whether `accept` takes some interleaving of the threads' checks
/// (thread numbers, in turn order) that extends `order`.
fn some_order(
    plans: &[Plan],
    next: &mut [usize],
    order: &mut Vec<usize>,
    accept: &mut impl FnMut(&[usize]) -> bool,
) -> bool {
    let mut any_left = false;
    for t in 0..plans.len() {
        if next[t] == plans[t].len() {
            continue;
        }
        any_left = true;
        next[t] += 1;
        order.push(t);
        let found = some_order(plans, next, order, accept);
        order.pop();
        next[t] -= 1;
        if found {
            return true;
        }
    }
    !any_left && accept(order)
}

fn is_admitted(a: &Admission<Tally<2>>) -> bool {
    matches!(a, Admission::Admitted(_))
}

fn nothing_more(_: &Results, _: &Ledger) {}

#[test]
fn three_threads_at_one_instant_the_burst_binds() {
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 1)], &[(T, 1)], &[(T, 1)]],
        |r, _| assert_eq!(admitted(r), 2),
    );
}

#[test]
fn three_threads_at_one_instant_the_minute_binds() {
    // One unit of the minute is spent in an earlier burst window: the
    // minute has 2 left, the current burst window 3.
    model(
        &[(3, 60), (3, 10)],
        &[(T + 5, 1)],
        &[&[(T + 15, 1)], &[(T + 15, 1)], &[(T + 15, 1)]],
        |r, ledger| {
            assert_eq!(admitted(r), 2);
            assert_eq!((ledger.get(0, L), ledger.get(1, S + 1)), (3, 2));
        },
    );
}

#[test]
fn three_threads_with_mixed_costs_at_one_instant() {
    // One exchange per check: whichever order, the burst window ends full
    // (the cost of 2 alone, or both costs of 1), never with a transient
    // reservation having denied a check that fits.
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 2)], &[(T, 1)], &[(T, 1)]],
        |_, ledger| assert_eq!(ledger.get(1, S), 2),
    );
}

#[test]
fn two_threads_of_two_checks_with_mixed_costs() {
    model(
        &[(3, 60), (2, 10)],
        &[],
        &[&[(T, 2), (T + 10, 1)], &[(T + 5, 1), (T + 12, 2)]],
        nothing_more,
    );
}

/// A check at `T + 25` and a straggler at `now`, racing for the one unit
/// left in the burst window at `T + 25`.
fn straggler(plans: &'static [Plan]) {
    model(&[(3, 60), (2, 10)], &[(T + 25, 1)], plans, |r, ledger| {
        // Exactly one is admitted, in the newer windows: the straggler
        // never reopens its own older ones.
        assert_eq!(admitted(r), 1);
        assert_eq!((ledger.get(0, L), ledger.get(1, S + 2)), (2, 2));
    });
}

#[test]
fn a_straggler_one_burst_window_behind_in_the_same_minute() {
    straggler(&[&[(T + 25, 1)], &[(T + 15, 1)]]);
}

#[test]
fn a_straggler_one_minute_behind() {
    straggler(&[&[(T + 25, 1)], &[(T - 5, 1)]]);
}

#[test]
fn a_straggler_two_minutes_behind() {
    straggler(&[&[(T + 25, 1)], &[(T - 95, 1)]]);
}

#[test]
fn a_straggler_many_minutes_behind() {
    straggler(&[&[(T + 25, 1)], &[(T - 60 * 1000, 1)]]);
}

#[test]
fn a_straggler_races_a_rollover() {
    // The burst window at T+50 is full; one thread opens the next minute,
    // a straggler in an earlier burst window of the old minute is denied
    // in whichever newer window it meets.
    model(
        &[(2, 60), (1, 10)],
        &[(T + 55, 1)],
        &[&[(T + 60, 1)], &[(T + 45, 1)]],
        |r, ledger| {
            assert!(is_admitted(&r[0][0]));
            assert!(!is_admitted(&r[1][0]));
            assert_eq!((ledger.get(0, L), ledger.get(0, L + 1)), (1, 1));
        },
    );
}

#[test]
fn a_check_at_a_burst_boundary_races_one_before_it() {
    // T+10 starts a burst window: it is always admitted; T+9 only if it
    // goes first (after, it counts in the newer, full burst window).
    model(
        &[(2, 60), (1, 10)],
        &[],
        &[&[(T + 9, 1)], &[(T + 10, 1)]],
        |r, ledger| {
            assert!(is_admitted(&r[1][0]));
            assert_eq!(ledger.get(1, S + 1), 1);
        },
    );
}

#[test]
fn a_check_at_a_minute_boundary_races_one_before_it() {
    // The minute starting at T is full. A check late in it is denied
    // whether it sees that minute or the next one (counting in the newer
    // windows); the next minute admits one.
    model(
        &[(1, 60), (1, 10)],
        &[(T + 5, 1)],
        &[&[(T + 59, 1)], &[(T + 60, 1), (T + 61, 1)]],
        |r, ledger| {
            assert!(!is_admitted(&r[0][0]));
            assert!(is_admitted(&r[1][0]));
            assert!(!is_admitted(&r[1][1]));
            assert_eq!((ledger.get(0, L), ledger.get(0, L + 1)), (1, 1));
        },
    );
}

#[test]
fn three_threads_across_a_burst_boundary() {
    // Exactly one of the two checks at T+10 is admitted; the one at T+9
    // only if it goes before both.
    model(
        &[(2, 60), (1, 10)],
        &[],
        &[&[(T + 9, 1)], &[(T + 10, 1)], &[(T + 10, 1)]],
        |r, ledger| {
            assert_eq!(ledger.get(1, S + 1), 1);
            assert_eq!(admitted(r), 1 + usize::from(is_admitted(&r[0][0])));
        },
    );
}

#[test]
fn stragglers_and_a_rollover_with_mixed_costs() {
    model(
        &[(3, 60), (2, 10)],
        &[(T + 50, 1)],
        &[&[(T + 60, 2)], &[(T + 40, 1), (T + 30, 1)]],
        nothing_more,
    );
}

#[test]
fn an_undo_races_admissions() {
    // A check admitted at T+5 is taken back (as the key table does when
    // the slot was reclaimed under it) while another thread admits at T+5
    // and T+15: whichever order, the undo takes back exactly its own cost
    // from the windows it is still in.
    loom::model(|| {
        let (p, limits) = packing(&[(3, 60), (2, 10)]);
        let word = Arc::new(AtomicU64::new(NEUTRAL));
        let Admission::Admitted(first) = p.admit(&word, &limits, T + 5, 1) else {
            panic!("setup denied")
        };
        let undo = {
            let word = word.clone();
            thread::spawn(move || p.undo(&word, &first, 1))
        };
        let checks = {
            let word = word.clone();
            thread::spawn(move || {
                [(T + 5, 1), (T + 15, 1)].map(|(now, cost)| p.admit(&word, &limits, now, cost))
            })
        };
        undo.join().expect("undo thread");
        let checks = checks.join().expect("check thread");
        assert!(checks.iter().all(is_admitted), "{checks:?}");
        // Relaxed: every thread has been joined.
        let word = word.load(Ordering::Relaxed);
        assert_eq!(p.fields(word), (L & p.index_mask, 1, [2, 1]));
    });
}
