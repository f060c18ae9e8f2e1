//! What the layer reports of its decisions: `tracing` events (the
//! `tracing` feature, [`crate::events`]) and metrics (the `metrics`
//! feature, [`crate::meters`]).
//!
//! The layer calls [`Observer::decided`] once per decision, on both
//! paths (decided at once, or awaited). With neither feature the
//! observer has no fields and its methods no body: the request path is
//! the same machine code as without it.

#[cfg(any(feature = "tracing", feature = "metrics"))]
use tollgate::Outcome;
#[cfg(any(feature = "tracing", test))]
use tollgate::Policy;
use tollgate::{Class, Decision};

use crate::decide::Decide;
#[cfg(feature = "tracing")]
use crate::events::Events;
#[cfg(feature = "tracing")]
use crate::fingerprint::Fingerprints;
use crate::head::RequestHead;
#[cfg(feature = "metrics")]
use crate::meters::Meters;
use crate::rate_key::RateKey;

/// The class label and field of a check in a class the limiter's policy
/// lacks: not a valid class name, so never a real class's.
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) const UNKNOWN_CLASS: &str = "(unknown)";

/// What one layer reports with, made when it is built.
#[derive(Debug)]
pub(crate) struct Observer {
    #[cfg(feature = "tracing")]
    fingerprints: Fingerprints,
    #[cfg(feature = "tracing")]
    events: Events,
    #[cfg(feature = "metrics")]
    meters: Meters,
}

/// What the observer keeps of a request's key while its decision is
/// awaited: its fingerprint with the `tracing` feature, else nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    #[cfg(feature = "tracing")]
    fingerprint: crate::fingerprint::Fingerprint,
}

impl Observer {
    /// The observer of a layer over `limiter`: a fresh fingerprint key,
    /// and metric handles registered with the recorder in place now.
    #[cfg_attr(
        not(feature = "metrics"),
        expect(unused_variables, reason = "only the metrics read the limiter")
    )]
    pub(crate) fn new<L: Decide>(limiter: &L) -> Self {
        Self {
            #[cfg(feature = "tracing")]
            fingerprints: Fingerprints::new(),
            #[cfg(feature = "tracing")]
            events: Events::new(),
            #[cfg(feature = "metrics")]
            meters: Meters::new(limiter),
        }
    }

    /// What to keep of `key` for a decision made later.
    #[inline(always)]
    #[cfg_attr(
        not(feature = "tracing"),
        expect(unused_variables, reason = "only the events read the key")
    )]
    pub(crate) fn see<Q: RateKey + ?Sized>(&self, key: &Q) -> Seen {
        Seen {
            #[cfg(feature = "tracing")]
            fingerprint: self.fingerprints.of(key),
        }
    }

    /// Reports `decision`, a check in `class` of the request `head`
    /// whose key `seen` gives (called only for an event that is
    /// enabled).
    #[inline(always)]
    #[cfg_attr(
        not(any(feature = "tracing", feature = "metrics")),
        expect(unused_variables, reason = "without the features, nothing is reported")
    )]
    #[cfg_attr(
        all(feature = "metrics", not(feature = "tracing")),
        expect(
            unused_variables,
            reason = "only the events read the request and the key"
        )
    )]
    pub(crate) fn decided<L: Decide>(
        &self,
        limiter: &L,
        decision: &Decision,
        class: Class,
        head: &RequestHead<'_>,
        seen: impl FnOnce() -> Seen,
    ) {
        #[cfg(feature = "metrics")]
        self.meters.record(limiter, decision, class);
        #[cfg(feature = "tracing")]
        self.events
            .record(decision, limiter.policy(), class, head, || {
                seen().fingerprint
            });
    }
}

/// An outcome as the events and metrics name it.
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allowed => "allowed",
        Outcome::Denied => "denied",
        Outcome::CostTooLarge => "cost_too_large",
        Outcome::TableFull => "table_full",
        Outcome::AllowedUntracked => "allowed_untracked",
        Outcome::UnknownClass => "unknown_class",
        _ => "other",
    }
}

/// The name of `class` in `policy`, or [`UNKNOWN_CLASS`].
#[cfg(feature = "tracing")]
pub(crate) fn class_name(policy: &Policy, class: Class) -> &str {
    policy
        .class_policy(class)
        .map_or(UNKNOWN_CLASS, tollgate::policy::ClassPolicy::name)
}

#[cfg(all(test, any(feature = "tracing", feature = "metrics")))]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_are_distinct() {
        let names = [
            Outcome::Allowed,
            Outcome::Denied,
            Outcome::CostTooLarge,
            Outcome::TableFull,
            Outcome::AllowedUntracked,
            Outcome::UnknownClass,
        ]
        .map(outcome_name);
        for (i, a) in names.iter().enumerate() {
            assert!(!names[..i].contains(a), "{a}");
            assert_ne!(*a, "other");
        }
    }

    #[test]
    fn the_unknown_class_is_no_class_name() {
        // Class names are of A-Z a-z 0-9 _ - .: a policy that names a
        // class so is refused.
        let minute = tollgate::WindowLength::from_secs(60).unwrap();
        let policy = Policy::builder().class(UNKNOWN_CLASS, &["GET"], 1, minute);
        assert!(policy.build().is_err());
    }
}
