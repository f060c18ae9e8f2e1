//! The limiter: checks keyed by (key, class) against a policy.

use std::hash::{BuildHasher, Hash, Hasher};
use std::time::Duration;

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;

use crate::class::Class;
use crate::clock::{Clock, CoarseClock};
use crate::counter::{self, Admission, Observed};
use crate::decision::{Decision, Outcome};
use crate::error::{BuildError, OverrideError};
use crate::headers::{policy_field, PolicyField};
use crate::overrides::Overrides;
use crate::policy::{ClassPolicy, Policy, MAX_WINDOWS};
use crate::table::{Slot, Table};
use crate::window::Window;

/// What a check of a new key does when every slot it may use holds live
/// state.
///
/// Tracked keys are never affected: their state is never evicted while
/// any of its windows is live, so a full table can never make the limiter
/// forget a key's count and over-admit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Fail closed: deny the new key with [`Outcome::TableFull`] and a
    /// `retry_after` of the time until one of its slots frees up.
    #[default]
    Deny,
    /// Fail open: admit the new key without counting it
    /// ([`Outcome::AllowedUntracked`]). Only for deployments where
    /// availability matters more than the limit.
    Allow,
}

/// Tracked states a limiter holds when no capacity is given.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Run-time overrides a limiter holds when no override capacity is given.
pub const DEFAULT_OVERRIDE_CAPACITY: usize = 1024;

/// Configures a [`Limiter`]; from [`Limiter::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct LimiterBuilder<C = CoarseClock> {
    policy: Policy,
    clock: C,
    capacity: usize,
    override_capacity: usize,
    on_full: OnFull,
    seed: Option<u64>,
}

impl<C: Clock> LimiterBuilder<C> {
    /// The clock checks read when not given a time (default: [`CoarseClock`]).
    pub fn clock<D: Clock>(self, clock: D) -> LimiterBuilder<D> {
        LimiterBuilder {
            policy: self.policy,
            clock,
            capacity: self.capacity,
            override_capacity: self.override_capacity,
            on_full: self.on_full,
            seed: self.seed,
        }
    }

    /// How many (key, class) states the limiter tracks at once (default
    /// [`DEFAULT_CAPACITY`]). Memory is allocated once, at build time, and
    /// never grows.
    pub fn capacity(mut self, states: usize) -> Self {
        self.capacity = states;
        self
    }

    /// How many distinct (key, class) overrides the limiter can hold, on
    /// top of those in the policy (default [`DEFAULT_OVERRIDE_CAPACITY`]).
    pub fn override_capacity(mut self, overrides: usize) -> Self {
        self.override_capacity = overrides;
        self
    }

    /// What to do with a new key when the table is full (default:
    /// [`OnFull::Deny`]).
    pub fn on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = on_full;
        self
    }

    /// Fixes the hash seed, for reproducible tests and fuzzing. By default
    /// each limiter draws its own random seed, so that clients cannot
    /// choose keys that collide.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Allocates the table and returns the limiter.
    ///
    /// # Errors
    ///
    /// [`BuildError::Capacity`] for a capacity of 0 or above
    /// [`MAX_CAPACITY`](crate::MAX_CAPACITY); [`BuildError::Overrides`] if
    /// the policy's overrides cannot be installed.
    pub fn build(self) -> Result<Limiter<C>, BuildError> {
        let table = Table::new(self.capacity, self.policy.max_windows())
            .ok_or(BuildError::Capacity(self.capacity))?;
        let hasher = match self.seed {
            Some(seed) => SeedableRandomState::with_seed(seed, SharedSeed::global_fixed()),
            None => {
                // std's RandomState is keyed from the operating system's
                // randomness; finishing an empty hasher yields a random u64.
                let seed = std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish();
                SeedableRandomState::with_seed(seed, SharedSeed::global_random())
            }
        };
        let overrides = Overrides::new(
            self.override_capacity
                .saturating_add(self.policy.overrides.len()),
        );
        let class_limits = self
            .policy
            .classes
            .iter()
            .map(|cp| {
                let mut limits = [0; MAX_WINDOWS];
                for (l, w) in limits.iter_mut().zip(&cp.windows) {
                    *l = w.limit();
                }
                limits
            })
            .collect();
        let limiter = Limiter {
            clock: self.clock,
            hasher,
            table,
            overrides,
            on_full: self.on_full,
            class_limits,
            policy: self.policy,
        };
        for o in &limiter.policy.overrides {
            let hash = limiter.hash(o.key.as_str(), o.class);
            limiter.overrides.set(hash, &o.limits).map_err(|()| {
                BuildError::Overrides(OverrideError::Full {
                    capacity: limiter.overrides.capacity(),
                })
            })?;
        }
        Ok(limiter)
    }
}

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
    table: Table,
    overrides: Overrides,
    on_full: OnFull,
    /// Per class, its windows' limits (longest first), zero-padded: the
    /// limits of a key with no override, ready to copy.
    class_limits: Box<[Limits]>,
    policy: Policy,
}

impl Limiter<CoarseClock> {
    /// Starts configuring a limiter for `policy`.
    pub fn builder(policy: Policy) -> LimiterBuilder<CoarseClock> {
        LimiterBuilder {
            policy,
            clock: CoarseClock,
            capacity: DEFAULT_CAPACITY,
            override_capacity: DEFAULT_OVERRIDE_CAPACITY,
            on_full: OnFull::Deny,
            seed: None,
        }
    }
}

/// Limits of one check: one per window of the class.
type Limits = [u32; MAX_WINDOWS];

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
        self.table.occupied()
    }

    /// The number of state slots allocated (the capacity plus slack).
    pub fn slots(&self) -> usize {
        self.table.slots()
    }

    /// Bytes the key table takes per slot (tag, floor and counters).
    pub fn bytes_per_slot(&self) -> usize {
        self.table.bytes_per_slot()
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
        self.decide(key, class, 0, now).0
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
        self.decide(key, class, cost, now).0
    }

    /// Checks (or, for a cost of 0, peeks), returning the decision and the
    /// windows it was made on: their effective indexes, and their counts
    /// after an admission or as found otherwise.
    pub(crate) fn decide<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> (Decision, Observed) {
        let now = now.as_secs();
        let Some(cp) = self.policy.class_policy(class) else {
            return (Decision::unknown_class(now), Observed::fresh(&[], now));
        };
        let windows = &cp.windows[..];
        let hash = self.hash(key, class);
        let limits = self.limits(class, cp, hash);
        let limits = &limits[..windows.len()];
        if cost == 0 {
            let seen = self.observe(hash, class, windows, now);
            let outcome = if seen.fits_all(1, limits) {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            return (
                Decision::from_windows(outcome, windows, limits, &seen, now, 1),
                seen,
            );
        }
        if limits.iter().any(|&l| l < cost) {
            let seen = self.observe(hash, class, windows, now);
            let d =
                Decision::from_windows(Outcome::CostTooLarge, windows, limits, &seen, now, cost);
            return (d, seen);
        }
        let home = self.table.home(hash, class.0);
        loop {
            let slot = match self.table.find(&home) {
                Some(slot) => slot,
                None => match self.table.insert(&home, now, |c| self.windows_of(c)) {
                    Ok(slot) => slot,
                    Err(full) => return self.full(cp, limits, now, cost, full.frees_at),
                },
            };
            let floor = self.table.floor(slot);
            let at = now.max(floor);
            let words = self.table.words(slot);
            let admission = counter::admit(words, windows, limits, at, cost);
            if !self.table.still_owns(slot, floor) {
                // The slot was reclaimed under this check, or its floor
                // raised: take back what was counted in it and look the
                // key up again.
                if let Admission::Admitted(seen) = admission {
                    counter::undo(words, &seen, cost);
                }
                continue;
            }
            let (outcome, seen) = match admission {
                Admission::Admitted(seen) => (Outcome::Allowed, seen),
                Admission::Denied(seen) => (Outcome::Denied, seen),
            };
            return (
                Decision::from_windows(outcome, windows, limits, &seen, now, cost),
                seen,
            );
        }
    }

    /// Gives `key` its own primary limit for `class` from now on; a burst
    /// given as a multiplier in the policy scales with it, other windows
    /// keep the class's limits.
    ///
    /// # Errors
    ///
    /// [`OverrideError::UnknownClass`], [`OverrideError::ZeroLimit`], or
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
        let limits = self.limits(class, cp, self.hash(key, class));
        Some(
            cp.windows
                .iter()
                .zip(limits)
                .map(|(w, l)| Window::new(l, w.length()))
                .collect(),
        )
    }

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`, with
    /// the key's own limits; `None` for an unknown class. No allocation.
    pub fn policy_field<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<PolicyField> {
        let cp = self.policy.class_policy(class)?;
        let limits = self.limits(class, cp, self.hash(key, class));
        let mut windows = [Window::new(0, cp.primary().length()); MAX_WINDOWS];
        for ((slot, w), l) in windows.iter_mut().zip(&cp.windows).zip(limits) {
            *slot = Window::new(l, w.length());
        }
        policy_field(&cp.name, windows.get(..cp.windows.len())?)
    }

    /// For the differential tests: `None` when the limiter holds state for
    /// `key` in `class`; otherwise the floor (unix seconds) a check that
    /// starts tracking it now would count from, at the earliest (see the
    /// key table's "Floors"). Takes the locks of the key's buckets. Not
    /// part of the stable API.
    #[doc(hidden)]
    pub fn untracked_floor<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<u64> {
        self.table
            .untracked_floor(&self.table.home(self.hash(key, class), class.0))
    }

    fn hash<K: Hash + ?Sized>(&self, key: &K, class: Class) -> u64 {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        h.write_u8(class.0);
        h.finish()
    }

    fn windows_of(&self, class: u8) -> &[Window] {
        self.policy
            .classes
            .get(usize::from(class))
            .map_or(&[], |c| &c.windows[..])
    }

    #[inline]
    fn limits(&self, class: Class, cp: &ClassPolicy, hash: u64) -> Limits {
        let base = self
            .class_limits
            .get(class.index())
            .copied()
            .unwrap_or([0; MAX_WINDOWS]);
        let mut limits = base;
        let n = cp.windows.len();
        if self.overrides.get(hash, &mut limits[..n]) {
            limits
        } else {
            base
        }
    }

    /// The key's windows at `now`, or empty windows if it is not tracked.
    fn observe(&self, hash: u64, class: Class, windows: &[Window], now: u64) -> Observed {
        let home = self.table.home(hash, class.0);
        loop {
            let Some(slot): Option<Slot> = self.table.find(&home) else {
                return Observed::fresh(windows, now);
            };
            let floor = self.table.floor(slot);
            let seen = counter::observe(self.table.words(slot), windows, now.max(floor));
            if self.table.still_owns(slot, floor) {
                return seen;
            }
        }
    }

    fn full(
        &self,
        cp: &ClassPolicy,
        limits: &[u32],
        now: u64,
        cost: u32,
        frees_at: u64,
    ) -> (Decision, Observed) {
        let mut seen = Observed::fresh(&cp.windows, now);
        match self.on_full {
            OnFull::Deny => (
                Decision::table_full(cp.primary(), limits[0], now, frees_at),
                seen,
            ),
            OnFull::Allow => {
                seen.count.iter_mut().take(seen.len).for_each(|c| *c = cost);
                let d = Decision::from_windows(
                    Outcome::AllowedUntracked,
                    &cp.windows,
                    limits,
                    &seen,
                    now,
                    cost,
                );
                (d, seen)
            }
        }
    }
}

#[cfg(all(test, loom))]
impl<C> Limiter<C> {
    /// Swaps in another table (a tiny one, for the loom models).
    pub(crate) fn with_table(mut self, table: Table) -> Self {
        self.table = table;
        self
    }
}
