//! Loom models of the key table, driven through the limiter's checks so
//! that the lock-free lookup, the insert and reclaim under the bucket
//! locks, the tag re-check with its undo, and the floors are all the code
//! that ships.
//!
//! The table is tiny: two buckets with one usable slot each, so two live
//! keys fill it. Each model runs at most three threads of one to three
//! checks, limits of 1 to 3, and asserts after every execution:
//!
//! - **never over-admit**: per key, the cost admitted into each window
//!   (position, index), as the admitting check reported it, is at most the
//!   limit;
//! - **no state is lost or merged**: afterwards, a peek of every key at the
//!   latest time of the model finds in each of its windows exactly the cost
//!   admitted into that window for that key (a reclaimed key finds empty
//!   windows, and nothing was admitted into them);
//! - the outcome figures each model names (who is admitted, who finds the
//!   table full).
//!
//! A model of a class of two nested windows runs twice, in separate
//! `loom::model` calls: with both counts in one word (`pack_windows(true)`,
//! see `packed`) and with one word per window (`pack_windows(false)`), so
//! that the reclaim, undo and floor protocol is checked for both layouts.

use std::collections::BTreeMap;
use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use crate::counter::loom_tests::{run_plans, Ledger, T};
use crate::state::Observed;
use crate::{Class, Decision, Limiter, Outcome, Policy, WindowLength};

use super::Table;

/// A check: key, unix seconds, cost.
type Step = (&'static str, u64, u32);
/// Each thread's decisions, in order.
type Results = Vec<Vec<Decision>>;

fn len(secs: u64) -> WindowLength {
    WindowLength::from_secs(secs).expect("valid length")
}

/// One class with windows `(limit, seconds)`, longest first.
fn policy(spec: &[(u32, u64)]) -> Policy {
    let mut builder = Policy::builder().class("a", &["GET"], spec[0].0, len(spec[0].1));
    for &(limit, secs) in &spec[1..] {
        builder = builder.window(limit, len(secs));
    }
    builder.build().expect("valid policy")
}

fn check(limiter: &Limiter, (key, now, cost): Step) -> (Decision, Observed) {
    limiter.decide(key, Class(0), cost, Duration::from_secs(now))
}

/// Runs `setup` sequentially, then `plans` concurrently, then `after`
/// sequentially on a limiter with a tiny table (one usable slot per
/// bucket), checks the ledgers and a final peek of every key at `probe`,
/// then hands the limiter and the concurrent results to `more`.
///
/// Checks that only need to see the state the threads left behind go in
/// `after`: the model checker then explores fewer interleavings.
///
/// A class of two windows (nested in every model) is checked in both
/// layouts, one `loom::model` each.
fn model(
    spec: &'static [(u32, u64)],
    setup: &'static [Step],
    plans: &'static [&'static [Step]],
    after: &'static [Step],
    probe: u64,
    more: fn(&Limiter, &Results),
) {
    let layouts: &[bool] = if spec.len() == 2 {
        &[true, false]
    } else {
        &[true]
    };
    for &pack in layouts {
        model_in(pack, spec, setup, plans, after, probe, more);
    }
}

/// [`model`] in one layout: both windows in one word if `pack`.
fn model_in(
    pack: bool,
    spec: &'static [(u32, u64)],
    setup: &'static [Step],
    plans: &'static [&'static [Step]],
    after: &'static [Step],
    probe: u64,
    more: fn(&Limiter, &Results),
) {
    loom::model(move || {
        let limits: Vec<u32> = spec.iter().map(|&(l, _)| l).collect();
        let limiter = Limiter::builder(policy(spec))
            .seed(7)
            .capacity(1)
            .override_capacity(0)
            .pack_windows(pack)
            .build()
            .expect("limiter");
        // The layout asked for is the one in use: a packed class caps its
        // limits below u32::MAX.
        let packed = limiter
            .max_limits(Class(0))
            .expect("class 0")
            .iter()
            .all(|&m| m < u32::MAX);
        assert_eq!(packed, pack && spec.len() == 2, "layout");
        let limiter = Arc::new(limiter.with_table(Table::tiny(1, spec.len())));
        let mut ledgers: BTreeMap<&str, Ledger> = BTreeMap::new();
        for &step in setup {
            let (d, seen) = check(&limiter, step);
            assert_eq!(d.outcome(), Outcome::Allowed, "setup {step:?}");
            ledgers.entry(step.0).or_default().admit(&seen, step.2);
        }
        let mut results: Results = Vec::new();
        for (plan, decisions) in plans.iter().zip(run_plans(&limiter, plans, check)) {
            for (&(key, _, cost), (d, seen)) in plan.iter().zip(&decisions) {
                if d.outcome() == Outcome::Allowed {
                    ledgers.entry(key).or_default().admit(seen, cost);
                }
            }
            results.push(decisions.into_iter().map(|(d, _)| d).collect());
        }
        for &step in after {
            let (d, seen) = check(&limiter, step);
            if d.outcome() == Outcome::Allowed {
                ledgers.entry(step.0).or_default().admit(&seen, step.2);
            }
        }
        for (key, ledger) in &ledgers {
            ledger.assert_within(&limits);
            let (_, seen) = check(&limiter, (key, probe, 0));
            for i in 0..seen.len {
                assert_eq!(
                    u64::from(seen.count[i]),
                    ledger.get(i, seen.index[i]),
                    "key {key:?} window {i} index {} (packed: {pack}): held vs admitted",
                    seen.index[i]
                );
            }
        }
        more(&limiter, &results);
    });
}

fn outcomes(results: &Results) -> Vec<Outcome> {
    results.iter().flatten().map(Decision::outcome).collect()
}

fn count(results: &Results, outcome: Outcome) -> usize {
    outcomes(results)
        .into_iter()
        .filter(|&o| o == outcome)
        .count()
}

#[test]
fn two_threads_insert_the_same_new_key() {
    model(
        &[(1, 60)],
        &[],
        &[&[("x", T, 1)], &[("x", T, 1)]],
        &[],
        T,
        |limiter, r| {
            assert_eq!(count(r, Outcome::Allowed), 1);
            assert_eq!(count(r, Outcome::Denied), 1);
            assert_eq!(limiter.tracked(), 1);
        },
    );
}

#[test]
fn two_threads_insert_distinct_keys_into_one_free_slot() {
    // "a" holds one of the two slots; "b" and "c" race for the other.
    model(
        &[(2, 60)],
        &[("a", T, 1)],
        &[&[("b", T + 1, 1)], &[("c", T + 1, 1)]],
        &[],
        T + 1,
        |limiter, r| {
            assert_eq!(count(r, Outcome::Allowed), 1);
            assert_eq!(count(r, Outcome::TableFull), 1);
            assert_eq!(limiter.tracked(), 2);
        },
    );
}

#[test]
fn a_full_table_refuses_new_keys_and_keeps_its_states() {
    model(
        &[(2, 60)],
        &[("a", T, 1), ("b", T, 1)],
        &[&[("c", T + 1, 1)], &[("d", T + 2, 1)]],
        &[],
        T + 2,
        |limiter, r| {
            assert_eq!(outcomes(r), [Outcome::TableFull, Outcome::TableFull]);
            // A slot frees up when the minute of "a" and "b" ends.
            assert_eq!(r[0][0].retry_after(), Some(59));
            assert_eq!(limiter.tracked(), 2);
        },
    );
}

#[test]
fn a_reclaim_races_the_old_owner_at_the_reclaim_time() {
    // At T+60 the windows of "a" have ended and "b" is live: "c" may take
    // the slot of "a" while "a" opens its next minute in it.
    model(
        &[(2, 60), (3, 10)],
        &[("a", T + 55, 1), ("b", T + 60, 1)],
        &[&[("a", T + 60, 1)], &[("c", T + 60, 1)]],
        &[("a", T + 60, 1), ("c", T + 60, 1)],
        T + 60,
        |_, r| {
            // Whoever loses the race finds the table full: never both.
            assert!(count(r, Outcome::Allowed) >= 1);
        },
    );
}

#[test]
fn a_reclaim_races_stragglers_of_the_old_owner() {
    // "c" reclaims the slot of "a" at T+60 while "a" is still checked at
    // T+59, and again at T+58 afterwards: the minute starting at T admits
    // at most 2 for "a", whether its counts are kept, dropped with the
    // slot, or reset by a reclaim that gives up.
    //
    // Regression: a reclaim that reset the minute word of "a" and then
    // gave up (the check at T+59 had just made its 10 s word change)
    // restored the slot to "a" with an empty minute, and the check at T+58
    // counted a third request in the minute starting at T.
    model(
        &[(2, 60), (3, 10)],
        &[("a", T + 55, 1), ("b", T + 60, 1)],
        &[&[("a", T + 59, 1)], &[("c", T + 60, 1)]],
        &[("a", T + 58, 1)],
        T + 60,
        |_, _| {},
    );
}

#[test]
fn two_inserters_race_for_one_reclaimable_slot() {
    // The slot of "a" can be reclaimed at T+60, that of "b" cannot: one
    // of "c" and "d" gets it, the other finds the table full. "a" comes
    // back afterwards as a straggler and must not reopen its minute.
    model(
        &[(2, 60), (3, 10)],
        &[("a", T + 55, 1), ("a", T + 56, 1), ("b", T + 60, 1)],
        &[&[("c", T + 60, 1)], &[("d", T + 60, 1)]],
        &[("a", T + 59, 1), ("a", T + 58, 1)],
        T + 60,
        |_, r| {
            assert_eq!(count(r, Outcome::Allowed), 1);
            assert_eq!(count(r, Outcome::TableFull), 1);
        },
    );
}

/// Times (seconds after `T`) of [`undo_into_another_class`]: the last
/// check of "a" before the race, the check that makes "b" live, the
/// straggling check of "a", the check that inserts "c", and the later
/// checks of "c".
struct Times {
    /// The time the others count from: `T`, or 0 where window indexes of
    /// different lengths can be equal numbers.
    base: u64,
    a: u64,
    b: u64,
    straggler: u64,
    insert: u64,
    probe: u64,
}

/// Key "a" of class 0 holds a slot whose windows end at `T + insert`;
/// key "b" of class 1 holds the other. "c", of class 1, reclaims the slot
/// of "a" at `T + insert` while "a" is checked at `T + straggler`: that
/// check must not count into, or write over, the word once it belongs to
/// "c" (it stops with `Admission::Lost` and looks again). Afterwards "c"
/// is checked twice more at `T + probe`, and its admissions, in the windows
/// each one reports, never exceed its limit of 2 in any window.
///
/// With the straggler's clock a window ahead of the inserter's, "a" may
/// legitimately reclaim the slot of "c" in turn (its windows have ended at
/// the straggler's time); "c" then comes back with that later floor and
/// counts in the later window, which the ledger sees.
fn undo_into_another_class(policy: fn() -> Policy, times: Times) {
    loom::model(move || {
        let limiter = Limiter::builder(policy())
            .seed(7)
            .capacity(1)
            .override_capacity(0)
            .build()
            .expect("limiter");
        let width = limiter
            .policy()
            .classes
            .iter()
            .map(|c| c.windows.len())
            .max()
            .unwrap_or(1);
        let limiter = Arc::new(limiter.with_table(Table::tiny(1, width)));
        let base = times.base;
        let at = move |secs: u64| Duration::from_secs(base.saturating_add(secs));
        assert!(limiter.check_at("a", Class(0), at(times.a)).is_allowed());
        assert!(limiter.check_at("b", Class(1), at(times.b)).is_allowed());
        let straggler = {
            let limiter = limiter.clone();
            thread::spawn(move || limiter.check_at("a", Class(0), at(times.straggler)))
        };
        let inserter = {
            let limiter = limiter.clone();
            thread::spawn(move || limiter.decide("c", Class(1), 1, at(times.insert)))
        };
        let a = straggler.join().expect("straggler");
        let first = inserter.join().expect("inserter");
        let mut ledger = Ledger::default();
        let mut admitted = Vec::new();
        for (d, seen) in std::iter::once(first)
            .chain((0..2).map(|_| limiter.decide("c", Class(1), 1, at(times.probe))))
        {
            if d.outcome() == Outcome::Allowed {
                ledger.admit(&seen, 1);
                admitted.push(seen);
            }
        }
        let limits: Vec<u32> = limiter.policy().classes[1]
            .windows
            .iter()
            .map(|w| w.limit())
            .collect();
        for (&(i, index), &cost) in &ledger.0 {
            assert!(
                cost <= u64::from(limits[i]),
                "\"c\" admitted {cost} in window {i} index {index} of limit {}: {admitted:?}; \
                 the straggler \"a\": {a:?}",
                limits[i]
            );
        }
    });
}

/// Class 0: 2 per 10 s; class 1: 2 per minute.
fn short_then_long() -> Policy {
    Policy::builder()
        .class("short", &["GET"], 2, len(10))
        .class("long", &["POST"], 2, len(60))
        .build()
        .expect("valid policy")
}

/// Class 0: 2 per minute and 2 per 10 s, packed in one word; class 1: 2
/// per hour.
fn packed_then_hour() -> Policy {
    Policy::builder()
        .class("packed", &["GET"], 2, len(60))
        .window(2, len(10))
        .class("long", &["POST"], 2, len(3600))
        .build()
        .expect("valid policy")
}

#[test]
fn an_undo_into_a_slot_taken_by_a_class_of_longer_windows() {
    // Class 0: 2 per 10 s; class 1: 2 per minute.
    undo_into_another_class(
        short_then_long,
        Times {
            base: T,
            a: 5,
            b: 10,
            straggler: 9,
            insert: 10,
            probe: 20,
        },
    );
}

#[test]
fn an_undo_of_a_packed_word_into_a_slot_taken_by_another_class() {
    // Class 0: 2 per minute and 2 per 10 s, packed; class 1: 2 per hour.
    undo_into_another_class(
        packed_then_hour,
        Times {
            base: T,
            a: 55,
            b: 60,
            straggler: 59,
            insert: 60,
            probe: 130,
        },
    );
}

#[test]
fn an_undo_by_an_old_owner_whose_clock_is_ahead() {
    // Both classes: 2 per minute, so both keys read the word alike; the
    // check of "a" is at T+125, a minute past the windows of "c".
    undo_into_another_class(
        || {
            Policy::builder()
                .class("x", &["GET"], 2, len(60))
                .class("y", &["POST"], 2, len(60))
                .build()
                .expect("valid policy")
        },
        Times {
            base: T,
            a: 5,
            b: 60,
            straggler: 125,
            insert: 60,
            probe: 70,
        },
    );
}

#[test]
fn an_undo_near_the_epoch_where_indexes_of_other_lengths_meet() {
    // At times near 0 a 10 s index and a minute index can be the same
    // number: an undo of "a" must not take its cost from the word of "c".
    undo_into_another_class(
        short_then_long,
        Times {
            base: 0,
            a: 5,
            b: 10,
            straggler: 9,
            insert: 10,
            probe: 20,
        },
    );
}

#[test]
fn an_undo_of_a_packed_word_near_the_epoch() {
    undo_into_another_class(
        packed_then_hour,
        Times {
            base: 0,
            a: 5,
            b: 60,
            straggler: 9,
            insert: 60,
            probe: 130,
        },
    );
}
