//! The layer's metrics (the `metrics` feature), through the `metrics`
//! facade:
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `tollgate_decisions_total` | counter | `class`, `outcome` | every decision |
//! | `tollgate_table_full_total` | counter | `class` | decisions that found the table full (`table_full`, `allowed_untracked`) |
//! | `tollgate_degraded_decisions_total` | counter | `class` | decisions made without the store |
//! | `tollgate_tracked_states` | gauge | none | the limiter's tracked (key, class) states |
//!
//! The handles are registered once, when the layer is built: one counter
//! per class and outcome, so that a decision costs an index and an
//! increment of the recorder's counter, never a look-up by name with
//! labels made for it. They belong to the recorder in place at that
//! moment: install the recorder before building the layer (a layer built
//! earlier records into nothing).
//!
//! The gauge is set from [`Decide::tracked`] at most once a second per
//! layer, by the first decision of a new second (of the decisions' own
//! time), so that checks do not all write one shared word: each reads
//! one, which changes once a second.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Counter, Gauge, Unit};
use tollgate::{Class, Decision, Outcome};

use crate::decide::Decide;
use crate::observe::{outcome_name, UNKNOWN_CLASS};

/// The outcomes a class counts, in the order of [`ClassMeters::outcomes`].
const OUTCOMES: [Outcome; 5] = [
    Outcome::Allowed,
    Outcome::Denied,
    Outcome::CostTooLarge,
    Outcome::TableFull,
    Outcome::AllowedUntracked,
];

/// One layer's metric handles.
#[derive(Debug)]
pub(crate) struct Meters {
    /// Per class of the limiter's policy, by index.
    classes: Box<[ClassMeters]>,
    /// Decisions for a class the limiter's policy lacks.
    unknown_class: Counter,
    tracked: Gauge,
    /// The unix second in which `tracked` was last set.
    tracked_at: AtomicU64,
}

/// One class's handles.
#[derive(Debug)]
struct ClassMeters {
    /// One counter per outcome, in [`OUTCOMES`] order.
    outcomes: [Counter; 5],
    table_full: Counter,
    degraded: Counter,
}

impl Meters {
    /// Registers the handles for `limiter`'s classes with the recorder in
    /// place now.
    pub(crate) fn new<L: Decide>(limiter: &L) -> Self {
        metrics::describe_counter!(
            "tollgate_decisions_total",
            Unit::Count,
            "Rate-limit decisions, by class and outcome."
        );
        metrics::describe_counter!(
            "tollgate_table_full_total",
            Unit::Count,
            "Decisions that found the limiter's table full: a new key refused or admitted uncounted."
        );
        metrics::describe_counter!(
            "tollgate_degraded_decisions_total",
            Unit::Count,
            "Decisions made without the store that keeps the counts."
        );
        metrics::describe_gauge!(
            "tollgate_tracked_states",
            Unit::Count,
            "The (key, class) states the limiter holds in process."
        );
        let decisions = |class: &str, outcome: Outcome| {
            metrics::counter!(
                "tollgate_decisions_total",
                "class" => class.to_owned(),
                "outcome" => outcome_name(outcome),
            )
        };
        let classes = limiter
            .policy()
            .classes()
            .map(|(_, c)| ClassMeters {
                outcomes: OUTCOMES.map(|outcome| decisions(c.name(), outcome)),
                table_full: metrics::counter!("tollgate_table_full_total", "class" => c.name().to_owned()),
                degraded: metrics::counter!(
                    "tollgate_degraded_decisions_total",
                    "class" => c.name().to_owned()
                ),
            })
            .collect();
        let tracked = metrics::gauge!("tollgate_tracked_states");
        if let Some(n) = limiter.tracked() {
            tracked.set(as_f64(n));
        }
        Self {
            classes,
            unknown_class: decisions(UNKNOWN_CLASS, Outcome::UnknownClass),
            tracked,
            tracked_at: AtomicU64::new(u64::MAX),
        }
    }

    /// Counts `decision`, a check in `class`, and sets the gauge if this
    /// is the first decision of a new second.
    #[inline(always)]
    pub(crate) fn record<L: Decide>(&self, limiter: &L, decision: &Decision, class: Class) {
        let outcome = decision.outcome();
        if let Some(meters) = self.classes.get(class.index()) {
            let index = match outcome {
                Outcome::Allowed => 0,
                Outcome::Denied => 1,
                Outcome::CostTooLarge => 2,
                Outcome::TableFull => 3,
                Outcome::AllowedUntracked => 4,
                // Only for a class the policy lacks (and outcomes this
                // version does not know of): not counted per class.
                _ => return self.unknown_class.increment(1),
            };
            meters.outcomes[index].increment(1);
            if index >= 3 {
                meters.table_full.increment(1);
            }
            if decision.is_degraded() {
                meters.degraded.increment(1);
            }
        } else {
            self.unknown_class.increment(1);
        }
        // Relaxed: the second is only a schedule for the gauge; every
        // thread reads it, and it is written once a second.
        if self.tracked_at.load(Ordering::Relaxed) != decision.now() {
            self.set_tracked(limiter, decision.now());
        }
    }

    /// Sets the gauge, if no other thread does for second `now`.
    #[cold]
    #[inline(never)]
    fn set_tracked<L: Decide>(&self, limiter: &L, now: u64) {
        // Relaxed: as in `record`; of the threads that see a new second,
        // the one whose exchange succeeds sets the gauge.
        let seen = self.tracked_at.load(Ordering::Relaxed);
        if seen == now {
            return;
        }
        // Relaxed: as above.
        if self
            .tracked_at
            .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            if let Some(n) = limiter.tracked() {
                self.tracked.set(as_f64(n));
            }
        }
    }
}

/// A count of states as the facade's `f64`: exact below 2^53, far
/// above any table.
fn as_f64(n: usize) -> f64 {
    n as f64
}
