//! The limiter of the headline rows, as users build it: the reference
//! policy's shape, `Limiter::builder(..)` with the default clock and
//! `check`, with limits no row reaches.
//!
//! With the real clock no limit whose counts fit a 64-bit state
//! survives a benchmark: 1,000 keys checked 30 million times a second see
//! 300,000 checks each in a 10-second window, and a count holds 65,535. A [`Renewing`] limiter is therefore replaced by a
//! fresh one, its keys tracked again, before any key could reach its
//! limit; the replacement happens between timed stretches, never inside
//! one.

use std::hash::Hash;
use std::time::Duration;

use tollgate::{Class, Limiter, Policy, Window, WindowLength};

use crate::OPEN_SEED;

/// The minute limit of both classes of [`reference_open_policy`]: the
/// largest a 64-bit state holds for a minute and its 10-second burst
/// (`Limiter::max_limits`: 65,535 per window), whose burst, twice the
/// pro-rated minute as in `Policy::default()`, is `2 * 65,535 / 6 =
/// 21,845` per 10 seconds.
pub const OPEN_MINUTE_LIMIT: u32 = 65_535;

/// The reference policy's shape (`Policy::default()`: a read and a write
/// class, each a minute window with a 10-second burst at twice the
/// pro-rated minute) with [`OPEN_MINUTE_LIMIT`] per minute in both
/// classes, so that every state still fits 64 bits.
///
/// # Panics
///
/// Never for these constants.
pub fn reference_open_policy() -> Policy {
    let minute = WindowLength::from_secs(60).expect("60 s is a valid window");
    let ten = WindowLength::from_secs(10).expect("10 s is a valid window");
    Policy::builder()
        .class(
            "read",
            &["GET", "HEAD", "OPTIONS"],
            OPEN_MINUTE_LIMIT,
            minute,
        )
        .burst_multiplier(2, ten)
        .class(
            "write",
            &["POST", "PUT", "PATCH", "DELETE"],
            OPEN_MINUTE_LIMIT,
            minute,
        )
        .burst_multiplier(2, ten)
        .build()
        .expect("a valid policy")
}

/// A limiter over [`reference_open_policy`] with the default clock and
/// `capacity` tracked states; its seed is fixed ([`OPEN_SEED`]) so that
/// runs place keys alike.
///
/// # Panics
///
/// If the limiter cannot be built, or its states do not fit 64 bits.
pub fn reference_limiter(capacity: usize) -> Limiter {
    let limiter = Limiter::builder(reference_open_policy())
        .capacity(capacity)
        .seed(OPEN_SEED)
        .build()
        .expect("a valid capacity");
    assert_eq!(
        limiter.max_limits(Class::READ),
        Some(vec![65_535; 2]),
        "the read class's states fit 64 bits"
    );
    limiter
}

/// A [`reference_limiter`] tracking a set of keys, renewed before any key
/// could reach its limit (module docs).
#[derive(Debug)]
pub struct Renewing<K> {
    capacity: usize,
    keys: Vec<K>,
    limiter: Limiter,
    /// Checks of one key that a limiter counts without denying any: its
    /// read class's smallest limit, less the check that tracks the key.
    budget: u64,
    /// Checks of any one key the current limiter may have counted.
    spent: u64,
    renewals: u64,
}

impl<K: Hash> Renewing<K> {
    /// A limiter of `capacity` states tracking every key of `keys` (one
    /// check each).
    ///
    /// # Panics
    ///
    /// As [`reference_limiter`], if `keys` is empty, or if a key cannot
    /// be tracked (the table is full).
    pub fn new(capacity: usize, keys: Vec<K>) -> Self {
        assert!(!keys.is_empty(), "no keys to track");
        let limiter = track(reference_limiter(capacity), &keys);
        let budget = limiter
            .policy()
            .class_policy(Class::READ)
            .and_then(|c| c.windows().iter().map(Window::limit).min())
            .map_or(0, |l| u64::from(l).saturating_sub(1));
        Self {
            capacity,
            keys,
            limiter,
            budget,
            spent: 1,
            renewals: 0,
        }
    }

    /// The limiter as it is now.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// How many times the limiter has been replaced.
    pub fn renewals(&self) -> u64 {
        self.renewals
    }

    /// The limiter, replaced first if it might not count `per_key` more
    /// checks of every key without a denial.
    ///
    /// # Panics
    ///
    /// If `per_key` is more than one limiter counts, or as [`Self::new`].
    pub fn reserve(&mut self, per_key: u64) -> &Limiter {
        assert!(per_key <= self.budget, "more checks than a limiter counts");
        if self.spent.saturating_add(per_key) > self.budget {
            // The old table goes before the new one is allocated: the
            // largest rows hold hundreds of megabytes.
            self.limiter = reference_limiter(1);
            self.limiter = track(reference_limiter(self.capacity), &self.keys);
            self.spent = 1;
            self.renewals = self.renewals.saturating_add(1);
        }
        self.spent = self.spent.saturating_add(per_key);
        &self.limiter
    }

    /// Runs `iters` checks as `run(limiter, n)` calls of at most one
    /// limiter's budget each, where each walker visits `walk` keys in
    /// turn from the first (so no key gets more than `ceil(n / walk)`
    /// checks of a call), and returns the sum of the times `run` reports.
    /// Renewals happen between calls, outside the times.
    ///
    /// # Panics
    ///
    /// If `walk` is 0, or as [`Self::reserve`].
    pub fn timed<F>(&mut self, iters: u64, walk: usize, mut run: F) -> Duration
    where
        F: FnMut(&Limiter, u64) -> Duration,
    {
        let walk = u64::try_from(walk).expect("a key count fits u64");
        assert!(walk > 0, "no keys to walk");
        let most = self.budget.saturating_mul(walk).max(1);
        let mut left = iters;
        let mut total = Duration::ZERO;
        while left > 0 {
            let n = left.min(most);
            let limiter = self.reserve(n.div_ceil(walk));
            total = total.saturating_add(run(limiter, n));
            left = left.saturating_sub(n);
        }
        total
    }

    /// After a row: the limiter still admits `key`.
    ///
    /// # Panics
    ///
    /// If the row ran into a limit.
    pub fn still_admitting(&self, key: &K) {
        crate::still_admitting(&self.limiter, key);
    }
}

/// `limiter`, after one check of every key of `keys`.
fn track<K: Hash>(limiter: Limiter, keys: &[K]) -> Limiter {
    for k in keys {
        assert!(
            limiter.check(k, Class::READ).is_allowed(),
            "setup: every key fits"
        );
    }
    limiter
}
