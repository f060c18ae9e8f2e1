//! Loom models of the key table, driven through the limiter's checks so
//! that the lock-free lookup, the insert, reclaim and eviction under the
//! bucket locks, the tag re-check and the floors are all the code that
//! ships.
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
//! Every model runs twice, in separate `loom::model` calls: with 64-bit
//! and with 128-bit state words (`wide_states`), so that the protocol is
//! checked on both kinds of bucket. Models that do not say otherwise build
//! their limiter with `evict_at_most(0)`, so that no live state is taken;
//! the eviction models bound what eviction may admit again.

use std::collections::BTreeMap;
use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use crate::state::Observed;
use crate::word::loom_tests::{run_plans, Ledger, T};
use crate::{Class, Decision, Limiter, Outcome, Policy, WindowLength};

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
/// Runs in both widths of state word, one `loom::model` each.
fn model(
    spec: &'static [(u32, u64)],
    setup: &'static [Step],
    plans: &'static [&'static [Step]],
    after: &'static [Step],
    probe: u64,
    more: fn(&Limiter, &Results),
) {
    for wide in [false, true] {
        model_in(wide, spec, setup, plans, after, probe, more);
    }
}

/// [`model`] in one width: 128-bit states if `wide`.
fn model_in(
    wide: bool,
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
            .wide_states(wide)
            .evict_at_most(0)
            .build()
            .expect("limiter");
        let limiter = Arc::new(limiter.with_tiny_table(1));
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
            ledger.assert_within(&limits, 0);
            let (_, seen) = check(&limiter, (key, probe, 0));
            for i in 0..seen.len {
                assert_eq!(
                    u64::from(seen.count[i]),
                    ledger.get(i, seen.index[i]),
                    "key {key:?} window {i} index {} (wide: {wide}): held vs admitted",
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

/// Times (seconds after `base`) of [`a_straggler_races_a_reclaim`]: the
/// last check of "a" before the race, the check that makes "b" live, the
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

/// Key "a" of class 0 holds a slot whose windows end at `insert`; key
/// "b" of class 1 holds the other. "c", of class 1, reclaims the slot of
/// "a" at `insert` while "a" is checked at `straggler`: that check must
/// not count into, or decide on, the word once it belongs to "c" (it
/// stops and looks again). Afterwards "c" is checked twice more at
/// `probe`, and its admissions, in the windows each one reports, never
/// exceed its limit of 2 in any window, in either width.
///
/// With the straggler's clock a window ahead of the inserter's, "a" may
/// legitimately reclaim the slot of "c" in turn (its windows have ended at
/// the straggler's time); "c" then comes back at its floor and counts in
/// the later window, which the ledger sees.
fn a_straggler_races_a_reclaim(policy: fn() -> Policy, times: Times) {
    for wide in [false, true] {
        loom::model(move || {
            let limiter = Limiter::builder(policy())
                .seed(7)
                .capacity(1)
                .override_capacity(0)
                .wide_states(wide)
                .evict_at_most(0)
                .build()
                .expect("limiter");
            let limiter = Arc::new(limiter.with_tiny_table(1));
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
                    "\"c\" admitted {cost} in window {i} index {index} of limit {} (wide: \
                     {wide}): {admitted:?}; the straggler \"a\": {a:?}",
                    limits[i]
                );
            }
        });
    }
}

/// Class 0: 2 per 10 s; class 1: 2 per minute.
fn short_then_long() -> Policy {
    Policy::builder()
        .class("short", &["GET"], 2, len(10))
        .class("long", &["POST"], 2, len(60))
        .build()
        .expect("valid policy")
}

/// Class 0: 2 per minute and 2 per 10 s; class 1: 2 per hour.
fn two_windows_then_hour() -> Policy {
    Policy::builder()
        .class("minute", &["GET"], 2, len(60))
        .window(2, len(10))
        .class("long", &["POST"], 2, len(3600))
        .build()
        .expect("valid policy")
}

#[test]
fn a_straggler_races_a_reclaim_by_a_class_of_longer_windows() {
    a_straggler_races_a_reclaim(
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
fn a_straggler_of_two_windows_races_a_reclaim_by_another_class() {
    a_straggler_races_a_reclaim(
        two_windows_then_hour,
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
fn an_old_owner_whose_clock_is_ahead_races_a_reclaim() {
    // Both classes: 2 per minute, so both keys read the word alike; the
    // check of "a" is at T+125, a minute past the windows of "c".
    a_straggler_races_a_reclaim(
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
fn a_reclaim_near_the_epoch_where_stamps_are_small() {
    // At times near 0, stamps and window indexes of every length are
    // small numbers alike.
    a_straggler_races_a_reclaim(
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

/// Two keys hold the tiny table's two slots with 1 each, counted at `T`;
/// eviction of states holding 1 is allowed. `plans` run concurrently; then
/// every key's admissions are held to its limit plus what one eviction
/// may let it have again (1), and "c", which is never evicted (it is
/// counted in the current second), holds exactly what it was admitted.
fn eviction_model(plans: &'static [&'static [Step]]) {
    for wide in [false, true] {
        loom::model(move || {
            let limiter = Limiter::builder(policy(&[(3, 60)]))
                .seed(7)
                .capacity(1)
                .override_capacity(0)
                .wide_states(wide)
                .evict_at_most(1)
                .build()
                .expect("limiter");
            let limiter = Arc::new(limiter.with_tiny_table(1));
            let mut ledgers: BTreeMap<&str, Ledger> = BTreeMap::new();
            for key in ["a", "b"] {
                let (d, seen) = check(&limiter, (key, T, 1));
                assert_eq!(d.outcome(), Outcome::Allowed);
                ledgers.entry(key).or_default().admit(&seen, 1);
            }
            for (plan, decisions) in plans.iter().zip(run_plans(&limiter, plans, check)) {
                for (&(key, _, cost), (d, seen)) in plan.iter().zip(&decisions) {
                    if d.outcome() == Outcome::Allowed {
                        ledgers.entry(key).or_default().admit(seen, cost);
                    }
                }
            }
            for (key, ledger) in &ledgers {
                ledger.assert_within(&[3], 1);
                let (_, seen) = check(&limiter, (key, T + 1, 0));
                let held = u64::from(seen.count[0]);
                let admitted = ledger.get(0, seen.index[0]);
                assert!(
                    held <= admitted && admitted <= held + 1,
                    "key {key:?} (wide: {wide}): holds {held}, admitted {admitted}"
                );
                if key == &"c" {
                    assert_eq!(
                        held, admitted,
                        "\"c\" (wide: {wide}) holds what it was admitted"
                    );
                }
            }
        });
    }
}

#[test]
fn an_eviction_races_the_old_owners_check() {
    // "c" evicts one of "a" and "b" while "a" counts again: either "a"
    // counted first (it then holds 2 and "b" goes), or "a" was evicted and
    // starts again from zero in its slot's next owner's place.
    eviction_model(&[&[("c", T + 1, 1)], &[("a", T + 1, 1)]]);
}

#[test]
fn an_old_owners_stale_check_never_counts_for_the_next_owner() {
    // "c" takes the slot of "a" or "b" and counts twice in it while "a"
    // checks: a value "a" read before the eviction is never exchanged
    // into the word of "c", whose stamps are later.
    eviction_model(&[&[("c", T + 1, 1), ("c", T + 1, 1)], &[("a", T + 1, 1)]]);
}
