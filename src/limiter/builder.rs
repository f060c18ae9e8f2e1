//! Configuring and building a [`Limiter`].

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;

use super::check::{Plan, Tables};
use super::Limiter;
use crate::clock::{Clock, CoarseClock};
use crate::error::{BuildError, OverrideError};
use crate::overrides::Overrides;
use crate::policy::{ClassPolicy, Policy, MAX_WINDOWS};
use crate::stamp::{Scaled, Stamp, Width};
use crate::table::{Table, MAX_CAPACITY};

/// What a check of a new key does when every slot it may use holds live
/// state that may not be evicted (see [`LimiterBuilder::evict_at_most`]).
///
/// Tracked keys are never affected beyond the eviction bound: a state
/// holding more than it in a live window is never taken, so a full table
/// can never make the limiter forget such a key's count and over-admit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Fail closed: deny the new key with
    /// [`Outcome::TableFull`](crate::Outcome::TableFull) and a
    /// `retry_after` of the time until one of its slots frees up.
    #[default]
    Deny,
    /// Fail open: admit the new key without counting it
    /// ([`Outcome::AllowedUntracked`](crate::Outcome::AllowedUntracked)).
    /// Only for deployments where availability matters more than the
    /// limit.
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
    wide: bool,
    evict_at_most: u32,
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
            wide: self.wide,
            evict_at_most: self.evict_at_most,
        }
    }

    /// How many (key, class) states the limiter tracks at once (default
    /// [`Limiter::DEFAULT_CAPACITY`]). Memory is allocated once, at build
    /// time, and never grows. Filled to this many, a table can, rarely,
    /// find both of a new key's buckets full and answer as a full table:
    /// leave some headroom.
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

    /// How much a live state may hold, in every window still current, and
    /// be evicted for a new key when both of the new key's buckets are
    /// full (default [`Limiter::DEFAULT_EVICT_AT_MOST`], 1; 0 never evicts
    /// live state).
    ///
    /// A flood of invented keys, one request each, fills the table with
    /// states holding 1; without eviction it would refuse every new key
    /// until their windows end. With it, a new key takes the slot of the
    /// state holding least (counted longest ago on a tie, and never in the
    /// current second), and a key that has come back and counted more is
    /// never evicted. A key whose state was evicted starts again in the
    /// same windows, from zero: eviction over-admits it by at most what it
    /// held, once per eviction.
    pub fn evict_at_most(mut self, count: u32) -> Self {
        self.evict_at_most = count;
        self
    }

    /// Fixes the hash seed, for reproducible tests and fuzzing. By default
    /// each limiter draws its own random seed, so that clients cannot
    /// choose keys that collide.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether every state takes a 128-bit word (default: `false`, the
    /// narrowest word each class's limits fit; see
    /// [`Limiter::max_limits`]).
    ///
    /// A state is one word, so that a check is one atomic exchange and
    /// every check takes effect at one instant. Its count fields are sized
    /// when the limiter is built, from the class's limits and the policy's
    /// overrides, with the spare bits shared out: in 64 bits, the
    /// reference policy's classes hold up to 65,535 per window, and a
    /// run-time override above that is refused with
    /// [`OverrideError::TooLarge`]. In 128 bits every class of up to three
    /// windows holds any limit up to `u32::MAX`, at the cost of a 16-byte
    /// exchange per check and a bucket of two cache lines; a policy with
    /// any class that needs 128 bits takes them for every class.
    pub fn wide_states(mut self, wide: bool) -> Self {
        self.wide = wide;
        self
    }

    /// Allocates the table and returns the limiter.
    ///
    /// # Errors
    ///
    /// [`BuildError::Capacity`] for a capacity of 0 or above
    /// [`Limiter::MAX_CAPACITY`]; [`BuildError::Memory`] when the memory
    /// for the table or the overrides cannot be had (the limiter asks for
    /// it without aborting); [`BuildError::Limits`] for a class whose
    /// limits do not fit a state word; [`BuildError::Overrides`] if the
    /// policy's overrides cannot be installed.
    pub fn build(self) -> Result<Limiter<C>, BuildError> {
        let asked = if self.wide {
            Width::Wide
        } else {
            Width::Narrow
        };
        let mut plans = self.plans(asked)?;
        let wide = plans.iter().any(|p| p.stamp.width() == Width::Wide);
        if wide && asked == Width::Narrow {
            // One word width per table: every class takes the wide one.
            plans = self.plans(Width::Wide)?;
        }
        let tables = if wide {
            Tables::Wide(Table::new(self.capacity)?)
        } else {
            Tables::Narrow(Table::new(self.capacity)?)
        };
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
        )
        .map_err(|bytes| BuildError::Memory { bytes })?;
        let limiter = Limiter {
            clock: self.clock,
            plans,
            hasher,
            tables,
            overrides,
            on_full: self.on_full,
            evict_at_most: self.evict_at_most,
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

    /// Every class's plan, its states in words of at least `width`.
    fn plans(&self, width: Width) -> Result<Box<[Plan]>, BuildError> {
        self.policy
            .classes
            .iter()
            .enumerate()
            .map(|(c, cp)| plan(cp, c, &self.policy, width))
            .collect()
    }
}

/// The plan of `cp`, class index `c` of `policy`, in a word of at least
/// `width`: its limits, and the layout sized for them and for the
/// policy's overrides of it.
fn plan(cp: &ClassPolicy, c: usize, policy: &Policy, width: Width) -> Result<Plan, BuildError> {
    let mut limits = [0; MAX_WINDOWS];
    for (l, w) in limits.iter_mut().zip(&cp.windows) {
        *l = w.limit();
    }
    let mut max = limits;
    let overrides = policy
        .overrides
        .iter()
        .filter(|o| o.class.index() == c)
        .flat_map(|o| o.limits.iter().copied().enumerate());
    for (i, l) in overrides {
        if let Some(m) = max.get_mut(i) {
            *m = (*m).max(l);
        }
    }
    let scaled = cp.burst.map(|r| Scaled {
        base: r.base,
        burst: r.burst,
        multiplier: r.multiplier,
    });
    let n = cp.windows.len().min(MAX_WINDOWS);
    let stamp =
        Stamp::new(&cp.windows, max.get(..n).unwrap_or(&[]), scaled, width).map_err(|e| {
            BuildError::Limits {
                class: cp.name.clone(),
                needed: e.needed,
                available: e.available,
            }
        })?;
    Ok(Plan { limits, stamp })
}

impl Limiter<CoarseClock> {
    /// Tracked states a limiter holds when no capacity is given.
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// Run-time overrides a limiter holds when no override capacity is
    /// given.
    pub const DEFAULT_OVERRIDE_CAPACITY: usize = 1024;
    /// The largest capacity a limiter accepts, in tracked states.
    pub const MAX_CAPACITY: usize = MAX_CAPACITY;
    /// How much a live state may hold and be evicted for a new key when
    /// no other bound is given (see [`LimiterBuilder::evict_at_most`]).
    pub const DEFAULT_EVICT_AT_MOST: u32 = 1;

    /// Starts configuring a limiter for `policy`.
    pub fn builder(policy: Policy) -> LimiterBuilder<CoarseClock> {
        LimiterBuilder {
            policy,
            clock: CoarseClock,
            capacity: Self::DEFAULT_CAPACITY,
            override_capacity: Self::DEFAULT_OVERRIDE_CAPACITY,
            on_full: OnFull::Deny,
            seed: None,
            wide: false,
            evict_at_most: Self::DEFAULT_EVICT_AT_MOST,
        }
    }
}
