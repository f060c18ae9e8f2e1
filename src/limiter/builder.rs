//! Configuring and building a [`Limiter`].

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;

use super::check::Plan;
use super::Limiter;
use crate::clock::{Clock, CoarseClock};
use crate::error::{BuildError, OverrideError};
use crate::overrides::Overrides;
use crate::policy::Policy;
use crate::table::{Table, MAX_CAPACITY};

/// What a check of a new key does when every slot it may use holds live
/// state.
///
/// Tracked keys are never affected: their state is never evicted while
/// any of its windows is live, so a full table can never make the limiter
/// forget a key's count and over-admit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Fail closed: deny the new key with [`Outcome::TableFull`](crate::Outcome::TableFull) and a
    /// `retry_after` of the time until one of its slots frees up.
    #[default]
    Deny,
    /// Fail open: admit the new key without counting it
    /// ([`Outcome::AllowedUntracked`](crate::Outcome::AllowedUntracked)). Only for deployments where
    /// availability matters more than the limit.
    Allow,
}

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
    pack: bool,
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
            pack: self.pack,
        }
    }

    /// How many (key, class) states the limiter tracks at once (default
    /// [`Limiter::DEFAULT_CAPACITY`]). Memory is allocated once, at build time, and
    /// never grows.
    pub fn capacity(mut self, states: usize) -> Self {
        self.capacity = states;
        self
    }

    /// How many distinct (key, class) overrides the limiter can hold, on
    /// top of those in the policy (default
    /// [`Limiter::DEFAULT_OVERRIDE_CAPACITY`]).
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

    /// Whether a class of two nested windows (the short length divides the
    /// long one, as in the reference policy) keeps both counts in one word
    /// (default: `true`).
    ///
    /// One word makes a check one atomic exchange instead of two, and
    /// every check linearizable. The word's count fields are sized when
    /// the limiter is built, from the class's limits and the policy's
    /// overrides, with the spare bits shared out (for the reference policy:
    /// 262,143 per minute, 65,535 per 10 seconds; see
    /// [`Limiter::max_limits`]); a run-time override above them is refused
    /// with [`OverrideError::TooLarge`]. With `false`, every window has its
    /// own word and any limit up to `u32::MAX` can be set at run time.
    pub fn pack_windows(mut self, pack: bool) -> Self {
        self.pack = pack;
        self
    }

    /// Allocates the table and returns the limiter.
    ///
    /// # Errors
    ///
    /// [`BuildError::Capacity`] for a capacity of 0 or above
    /// [`Limiter::MAX_CAPACITY`]; [`BuildError::Overrides`] if
    /// the policy's overrides cannot be installed.
    pub fn build(self) -> Result<Limiter<C>, BuildError> {
        let plans: Box<[Plan]> = self
            .policy
            .classes
            .iter()
            .enumerate()
            .map(|(c, cp)| Plan::new(cp, c, &self.policy, self.pack))
            .collect();
        // Words per slot: as many as the widest class needs.
        let width = self
            .policy
            .classes
            .iter()
            .zip(&plans)
            .map(|(cp, p)| p.width(cp))
            .max()
            .unwrap_or(1);
        let table = Table::new(self.capacity, width).ok_or(BuildError::Capacity {
            requested: self.capacity,
            max: MAX_CAPACITY,
        })?;
        let hasher = match self.seed {
            Some(seed) => SeedableRandomState::with_seed(seed, SharedSeed::global_fixed()),
            None => {
                // std's RandomState is keyed from the operating system's
                // randomness; finishing an empty hasher yields a random u64.
                let seed = RandomState::new().build_hasher().finish();
                SeedableRandomState::with_seed(seed, SharedSeed::global_random())
            }
        };
        let overrides = Overrides::new(
            self.override_capacity
                .saturating_add(self.policy.overrides.len()),
        );
        let limiter = Limiter {
            clock: self.clock,
            plans,
            hasher,
            table,
            overrides,
            on_full: self.on_full,
            policy: self.policy,
        };
        for o in &limiter.policy.overrides {
            let hash = limiter.hash(o.key.as_str(), o.class);
            limiter
                .overrides
                .set(hash, &o.limits)
                .map_err(|()| BuildError::Overrides {
                    source: OverrideError::Full {
                        capacity: limiter.overrides.capacity(),
                    },
                })?;
        }
        Ok(limiter)
    }
}

impl Limiter<CoarseClock> {
    /// Tracked states a limiter holds when no capacity is given.
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// Run-time overrides a limiter holds when no override capacity is
    /// given.
    pub const DEFAULT_OVERRIDE_CAPACITY: usize = 1024;
    /// The largest capacity a limiter accepts, in tracked states.
    pub const MAX_CAPACITY: usize = MAX_CAPACITY;

    /// Starts configuring a limiter for `policy`.
    pub fn builder(policy: Policy) -> LimiterBuilder<CoarseClock> {
        LimiterBuilder {
            policy,
            clock: CoarseClock,
            capacity: Self::DEFAULT_CAPACITY,
            override_capacity: Self::DEFAULT_OVERRIDE_CAPACITY,
            on_full: OnFull::Deny,
            seed: None,
            pack: true,
        }
    }
}
