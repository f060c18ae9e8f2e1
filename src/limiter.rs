//! The limiter: checks keyed by (key, class) against a policy.
//!
//! This module holds the type and its public methods; `builder` makes
//! one, and `check` is the path every check takes.

mod builder;
mod check;

pub use builder::{LimiterBuilder, OnFull};

use std::hash::{BuildHasher, Hash, Hasher};
use std::time::Duration;

use foldhash::fast::SeedableRandomState;

use crate::class::Class;
use crate::clock::{Clock, CoarseClock};
use crate::decision::Decision;
use crate::error::OverrideError;
use crate::headers::{policy_field, PolicyField};
use crate::overrides::Overrides;
use crate::policy::{Policy, MAX_WINDOWS};
#[cfg(all(test, loom))]
use crate::state::Observed;
use crate::window::Window;
use check::{Plan, Tables};

/// A rate limiter: per (key, class) fixed-window counters in a table of
/// fixed capacity.
///
/// `Send + Sync`: share it by reference or in an `Arc`. Every check of a
/// key already tracked is lock-free, allocates nothing and never panics;
/// see the crate docs for the exact semantics and constraints.
#[derive(Debug)]
pub struct Limiter<C = CoarseClock> {
    clock: C,
    hasher: SeedableRandomState,
    tables: Tables,
    overrides: Overrides,
    on_full: OnFull,
    /// How much a live state may hold and be evicted for a new key.
    evict_at_most: u32,
    /// Per class (by index), what a check needs of it.
    plans: Box<[Plan]>,
    policy: Policy,
}

impl<C> Limiter<C> {
    /// The limiter's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The limiter's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The (key, class) states currently held, live or ended.
    pub fn tracked(&self) -> usize {
        match &self.tables {
            Tables::Narrow(t) => t.occupied(),
            Tables::Wide(t) => t.occupied(),
        }
    }

    /// The number of state slots allocated: 5/2 per unit of capacity with
    /// 64-bit states, 3/2 with 128-bit ones, rounded up to whole buckets.
    pub fn slots(&self) -> usize {
        match &self.tables {
            Tables::Narrow(t) => t.slots(),
            Tables::Wide(t) => t.slots(),
        }
    }

    /// Bytes the key table takes per slot: its tag and state word, and its
    /// share of the locks and floors (19 for states of 64 bits, 26 for
    /// states of 128; about 47 and 39 bytes per unit of capacity).
    pub fn bytes_per_slot(&self) -> usize {
        match &self.tables {
            Tables::Narrow(t) => t.bytes_per_slot(),
            Tables::Wide(t) => t.bytes_per_slot(),
        }
    }
}

impl<C: Clock> Limiter<C> {
    /// Checks one request of `key` in `class` at the clock's time, and
    /// counts it if admitted.
    pub fn check<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.check_n_at(key, class, 1, self.clock.now())
    }

    /// Checks a request of `cost` units (a batch, a weighted call) at the
    /// clock's time. A cost of 0 is a [`peek`](Self::peek).
    pub fn check_n<K: Hash + ?Sized>(&self, key: &K, class: Class, cost: u32) -> Decision {
        self.check_n_at(key, class, cost, self.clock.now())
    }

    /// Reports what [`check`](Self::check) would, without counting
    /// anything and without starting to track a new key.
    pub fn peek<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.peek_at(key, class, self.clock.now())
    }

    /// [`check`](Self::check) at `now`, a duration since the unix epoch.
    pub fn check_at<K: Hash + ?Sized>(&self, key: &K, class: Class, now: Duration) -> Decision {
        self.check_n_at(key, class, 1, now)
    }

    /// [`peek`](Self::peek) at `now`, a duration since the unix epoch.
    pub fn peek_at<K: Hash + ?Sized>(&self, key: &K, class: Class, now: Duration) -> Decision {
        self.peek_run(key, class, now.as_secs())
    }

    /// [`check_n`](Self::check_n) at `now`, a duration since the unix
    /// epoch: the primitive every other check calls.
    pub fn check_n_at<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> Decision {
        self.run::<Decision, K>(key, class, cost, now.as_secs())
    }

    /// Checks (or, for a cost of 0, peeks), returning the decision and the
    /// windows it was made on: their effective indexes, and their counts
    /// after an admission or as found otherwise. For the loom models.
    #[cfg(all(test, loom))]
    pub(crate) fn decide<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> (Decision, Observed) {
        self.run::<(Decision, Observed), K>(key, class, cost, now.as_secs())
    }
}

impl<C> Limiter<C> {
    /// Gives `key` its own primary limit for `class` from now on; a burst
    /// given as a multiplier in the policy scales with it, other windows
    /// keep the class's limits.
    ///
    /// # Errors
    ///
    /// [`OverrideError::UnknownClass`], [`OverrideError::ZeroLimit`],
    /// [`OverrideError::TooLarge`] when a limit is above what the class's
    /// counters hold ([`max_limits`](Self::max_limits)), or
    /// [`OverrideError::Full`] when the override capacity is spent.
    pub fn set_override<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limit: u32,
    ) -> Result<(), OverrideError> {
        let cp = self
            .policy
            .class_policy(class)
            .ok_or(OverrideError::UnknownClass)?;
        self.set_override_limits(key, class, &Policy::scaled_limits(cp, limit))
    }

    /// Gives `key` its own limits for `class` from now on: one per window
    /// of the class, longest window first.
    ///
    /// Counts already made stay; a lower limit than the count denies until
    /// the window ends. A check racing with the change may use old limits
    /// for some windows and new ones for others, once.
    ///
    /// # Errors
    ///
    /// As [`set_override`](Self::set_override), and
    /// [`OverrideError::WindowCount`] when `limits` does not give one limit
    /// per window.
    pub fn set_override_limits<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limits: &[u32],
    ) -> Result<(), OverrideError> {
        let cp = self
            .policy
            .class_policy(class)
            .ok_or(OverrideError::UnknownClass)?;
        if limits.len() != cp.windows.len() {
            return Err(OverrideError::WindowCount {
                expected: cp.windows.len(),
                got: limits.len(),
            });
        }
        if limits.contains(&0) {
            return Err(OverrideError::ZeroLimit);
        }
        if let Some(plan) = self.plans.get(class.index()) {
            for (window, (&limit, max)) in limits.iter().zip(plan.stamp.max_limits()).enumerate() {
                if limit > max {
                    return Err(OverrideError::TooLarge { window, max });
                }
            }
        }
        self.overrides
            .set(self.hash(key, class), limits)
            .map_err(|()| OverrideError::Full {
                capacity: self.overrides.capacity(),
            })
    }

    /// Returns `key` to the class's limits; whether it had an override.
    pub fn remove_override<K: Hash + ?Sized>(&self, key: &K, class: Class) -> bool {
        self.policy.class_policy(class).is_some() && self.overrides.remove(self.hash(key, class))
    }

    /// The limits `key` has in `class` now (overridden or the class's),
    /// longest window first; `None` for an unknown class.
    pub fn limits_for<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<Vec<Window>> {
        let cp = self.policy.class_policy(class)?;
        let limits = self.limits::<MAX_WINDOWS>(class, self.hash(key, class));
        Some(
            cp.windows
                .iter()
                .zip(limits)
                .map(|(w, l)| Window::new(l, w.length()))
                .collect(),
        )
    }

    /// The largest limit each window of `class` can hold, longest window
    /// first: what [`set_override_limits`](Self::set_override_limits)
    /// accepts, window by window. [`set_override`](Self::set_override)
    /// accepts the first as a primary limit: the burst it scales to fits
    /// its window, which the layout makes sure of. Sized when the limiter
    /// is built (see [`LimiterBuilder::wide_states`]); `None` for an
    /// unknown class.
    pub fn max_limits(&self, class: Class) -> Option<Vec<u32>> {
        let cp = self.policy.class_policy(class)?;
        let plan = self.plans.get(class.index())?;
        Some(plan.stamp.max_limits()[..cp.windows.len()].to_vec())
    }

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`, with
    /// the key's own limits; `None` for an unknown class. No allocation.
    pub fn policy_field<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<PolicyField> {
        let cp = self.policy.class_policy(class)?;
        let limits = self.limits::<MAX_WINDOWS>(class, self.hash(key, class));
        let mut windows = [Window::new(0, cp.primary().length()); MAX_WINDOWS];
        for ((slot, w), l) in windows.iter_mut().zip(&cp.windows).zip(limits) {
            *slot = Window::new(l, w.length());
        }
        policy_field(&cp.name, windows.get(..cp.windows.len())?)
    }

    /// For the differential tests: `None` when the limiter holds state for
    /// `key` in `class`; otherwise the floor (unix seconds) a check that
    /// starts tracking it now would count from, at the earliest (see the
    /// key table's "Floors"). Takes the locks of the key's buckets.
    ///
    /// Only with the `test-hooks` feature, which is not part of the stable
    /// API: the reference model of the test suite uses it.
    #[cfg(feature = "test-hooks")]
    pub fn untracked_floor<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<u64> {
        let hash = self.hash(key, class);
        match &self.tables {
            Tables::Narrow(t) => t.untracked_floor(&t.home(hash, class.0)),
            Tables::Wide(t) => t.untracked_floor(&t.home(hash, class.0)),
        }
    }

    /// For the differential tests: the buckets of the key table (the
    /// smallest tables have two, which every key shares). Only with the
    /// `test-hooks` feature.
    #[cfg(feature = "test-hooks")]
    pub fn buckets(&self) -> usize {
        match &self.tables {
            Tables::Narrow(t) => t.buckets(),
            Tables::Wide(t) => t.buckets(),
        }
    }

    fn hash<K: Hash + ?Sized>(&self, key: &K, class: Class) -> u64 {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        h.write_u8(class.0);
        h.finish()
    }
}

#[cfg(all(test, loom))]
impl<C> Limiter<C> {
    /// Swaps in a tiny table of `usable` slots per bucket, for the loom
    /// models.
    pub(crate) fn with_tiny_table(mut self, usable: usize) -> Self {
        self.tables = match self.tables {
            Tables::Narrow(_) => Tables::Narrow(crate::table::Table::tiny(usable)),
            Tables::Wide(_) => Tables::Wide(crate::table::Table::tiny(usable)),
        };
        self
    }
}
