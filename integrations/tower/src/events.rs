//! The layer's `tracing` events (the `tracing` feature), under the
//! target `tollgate_tower`: one per decision that is not a plain
//! admission.
//!
//! | decision | level |
//! |---|---|
//! | denied, cost above a limit, a class the limiter lacks | `DEBUG` |
//! | the table is full: a new key refused ([`Outcome::TableFull`]) or admitted uncounted ([`Outcome::AllowedUntracked`]) | `WARN`, at most once a second, else `DEBUG` |
//! | made without the store ([`Decision::is_degraded`]) | `WARN`, at most once a second, else `DEBUG` |
//!
//! A denial is the limiter doing its work, one per refused request: it
//! is detail for whoever turns `DEBUG` on. A full table and a missing
//! store are the operator's business, so they are warnings; but they come
//! in floods (every new key of a flood, every request of an outage), so
//! each layer lets one warning of each kind through per second of the
//! decisions' own time, with `suppressed`: how many such decisions since
//! the last warning went out at `DEBUG` only. A log then holds at most two
//! warnings a second per layer, however large the flood, and still says
//! how large it was. (One in N would let the log grow with the flood.)
//!
//! Every event has the fields `class` (its name, or `(unknown)`),
//! `outcome` (as the metrics name it: `denied`, `table_full`, ...),
//! `limit`, `remaining`, `retry_after` (seconds, when the decision has
//! one), `degraded`, `method`, `path` (without the query, which may hold
//! secrets) and `key_fingerprint` (see [`crate::fingerprint`]): never
//! the key. Admissions are not events, and cost one comparison.

use std::sync::atomic::{AtomicU64, Ordering};

use tollgate::{Class, Decision, Outcome, Policy};
use tracing::Level;

use crate::fingerprint::Fingerprint;
use crate::head::RequestHead;
use crate::observe::{class_name, outcome_name};

/// The events' state in one layer: the once-a-second gates of its
/// warnings.
#[derive(Debug)]
pub(crate) struct Events {
    table_full: OncePerSecond,
    degraded: OncePerSecond,
}

/// Lets one event a second through as a warning, and counts the others.
#[derive(Debug)]
struct OncePerSecond {
    /// The unix second of the last warning (`u64::MAX`: none yet).
    second: AtomicU64,
    /// The events since the last warning that were not warnings.
    suppressed: AtomicU64,
}

impl OncePerSecond {
    fn new() -> Self {
        Self {
            second: AtomicU64::new(u64::MAX),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether an event at `now` (unix seconds) is this second's warning:
    /// then the count of those suppressed since the last one.
    fn warn_at(&self, now: u64) -> Option<u64> {
        // Relaxed: the gate publishes no memory; two threads that both
        // see a new second race on the exchange, and one of them wins.
        // A clock stepping back opens the gate too, which is harmless.
        let seen = self.second.load(Ordering::Relaxed);
        if seen != now
            && self
                .second
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // Relaxed: a count for a report; an event counted while this
            // swap runs lands in the next warning's.
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        // Relaxed: a count for a report only.
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// One event at `$level` with every field of a decision.
macro_rules! decision_event {
    ($level:expr, $decision:expr, $class:expr, $head:expr, $key:expr, $($rest:tt)+) => {
        tracing::event!(
            target: "tollgate_tower",
            $level,
            class = $class,
            outcome = outcome_name($decision.outcome()),
            limit = $decision.limit(),
            remaining = $decision.remaining(),
            retry_after = $decision.retry_after(),
            degraded = $decision.is_degraded(),
            method = $head.method().as_str(),
            path = $head.uri().path(),
            key_fingerprint = %$key(),
            $($rest)+
        )
    };
}

impl Events {
    pub(crate) fn new() -> Self {
        Self {
            table_full: OncePerSecond::new(),
            degraded: OncePerSecond::new(),
        }
    }

    /// The event of `decision`, if it has one: the hot path's part, one
    /// comparison for an admission.
    #[inline(always)]
    pub(crate) fn record(
        &self,
        decision: &Decision,
        policy: &Policy,
        class: Class,
        head: &RequestHead<'_>,
        key: impl FnOnce() -> Fingerprint,
    ) {
        if decision.outcome() != Outcome::Allowed || decision.is_degraded() {
            self.emit(decision, policy, class, head, key);
        }
    }

    /// The event of a decision that is not a plain admission. The key's
    /// fingerprint is computed only if the event is enabled.
    #[cold]
    #[inline(never)]
    fn emit(
        &self,
        decision: &Decision,
        policy: &Policy,
        class: Class,
        head: &RequestHead<'_>,
        key: impl FnOnce() -> Fingerprint,
    ) {
        let class = class_name(policy, class);
        // The answers that warn, at most once a second each: a full table
        // (refused or admitted uncounted), then a decision made without
        // the store.
        let warns = match decision.outcome() {
            Outcome::TableFull => Some((
                &self.table_full,
                "the limiter's table is full: a new key was refused",
            )),
            Outcome::AllowedUntracked => Some((
                &self.table_full,
                "the limiter's table is full: a new key was admitted uncounted",
            )),
            _ if decision.is_degraded() => Some((
                &self.degraded,
                "decided without the store, by the limiter's failure policy",
            )),
            _ => None,
        };
        if let Some((once, message)) = warns {
            match once.warn_at(decision.now()) {
                Some(suppressed) => decision_event!(
                    Level::WARN,
                    decision,
                    class,
                    head,
                    key,
                    suppressed,
                    "{message}"
                ),
                None => decision_event!(Level::DEBUG, decision, class, head, key, "{message}"),
            }
        } else {
            decision_event!(
                Level::DEBUG,
                decision,
                class,
                head,
                key,
                "request refused by the rate limit"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_second_with_the_count_of_the_others() {
        let gate = OncePerSecond::new();
        assert_eq!(gate.warn_at(100), Some(0));
        assert_eq!(gate.warn_at(100), None);
        assert_eq!(gate.warn_at(100), None);
        assert_eq!(gate.warn_at(101), Some(2));
        assert_eq!(gate.warn_at(101), None);
        // A clock that steps back opens the gate too.
        assert_eq!(gate.warn_at(99), Some(1));
    }
}
