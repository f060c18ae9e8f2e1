//! The atomic state word of one tracked (key, class), and the check's
//! exchange on it.
//!
//! A check reads the word, decides on the windows it stands for (see
//! `stamp`), and, to admit, exchanges it for the word with the cost
//! counted: one compare-exchange, so that every check takes effect at one
//! instant and a denied check writes nothing. A failed exchange hands back
//! the word as it now is, and the check decides again on that.
//!
//! # Orderings
//!
//! Counting needs only the word's modification order. The loads and the
//! exchanges (on success and on failure) are `Acquire` because the key
//! table reuses slots: a reclaimer marks the slot's tag and then writes
//! the next owner's word with `Release` (see `table`). A check that reads
//! that word, or any later value (every later write is a read-modify-write
//! of the same word, so it continues the release sequence), must then see
//! the mark when it reads the tag again, and stop without writing.

use crate::stamp::{Bits, Stamp};
use crate::state::{Admission, Ask, Owner, Tally};
use crate::sync::{AtomicU128, AtomicU64, Backoff, Ordering};

/// An atomic state word: `AtomicU64` or a 128-bit one.
pub(crate) trait Word: Send + Sync + std::fmt::Debug {
    /// The integer it holds.
    type Bits: Bits;
    /// Loads the word.
    fn load(&self, order: Ordering) -> Self::Bits;
    /// Stores a value.
    fn store(&self, value: Self::Bits, order: Ordering);
    /// Compare-exchange.
    fn compare_exchange(
        &self,
        current: Self::Bits,
        new: Self::Bits,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Self::Bits, Self::Bits>;
    /// Compare-exchange that may fail spuriously.
    fn compare_exchange_weak(
        &self,
        current: Self::Bits,
        new: Self::Bits,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Self::Bits, Self::Bits>;
}

/// Forwards [`Word`] to an atomic type's own methods.
macro_rules! word {
    ($atomic:ty, $bits:ty) => {
        impl Word for $atomic {
            type Bits = $bits;
            #[inline(always)]
            fn load(&self, order: Ordering) -> $bits {
                <$atomic>::load(self, order)
            }
            #[inline(always)]
            fn store(&self, value: $bits, order: Ordering) {
                <$atomic>::store(self, value, order);
            }
            #[inline(always)]
            fn compare_exchange(
                &self,
                current: $bits,
                new: $bits,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$bits, $bits> {
                <$atomic>::compare_exchange(self, current, new, success, failure)
            }
            #[inline(always)]
            fn compare_exchange_weak(
                &self,
                current: $bits,
                new: $bits,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$bits, $bits> {
                <$atomic>::compare_exchange_weak(self, current, new, success, failure)
            }
        }
    };
}

word!(AtomicU64, u64);
word!(AtomicU128, u128);

/// Reads the windows of `word` at `now`.
#[inline(always)]
pub(crate) fn observe<W: Word, const N: usize>(word: &W, stamp: &Stamp, now: u64) -> Tally<N> {
    // Acquire: pairs with a reclaimer's Release (module docs).
    stamp.view(word.load(Ordering::Acquire), now)
}

/// Admits `ask.cost` in every window of `word` or in none, in one
/// exchange.
///
/// [`Owner::owns`] is asked after every read of the word and before any
/// exchange based on it: a value read after a reclaim (written by the
/// reclaimer, or by the slot's next owner) is acquired from the
/// reclaimer's `Release`, so `owns` then sees the reclaim, and the check
/// stops with [`Admission::Lost`] instead of deciding on, or writing over,
/// the next owner's word.
#[inline(always)]
pub(crate) fn admit<W: Word, const N: usize>(
    word: &W,
    stamp: &Stamp,
    ask: &Ask<'_, N>,
    owner: &impl Owner,
) -> Admission<Tally<N>> {
    let backoff = Backoff::new();
    // Acquire: pairs with a reclaimer's Release (module docs).
    let mut current = word.load(Ordering::Acquire);
    loop {
        if !owner.owns() {
            return Admission::Lost;
        }
        let next = match stamp.admit(current, ask.limits, ask.now, ask.cost) {
            Ok(next) => next,
            Err(found) => return Admission::Denied(found),
        };
        // Acquire on success: pairs with a reclaimer's Release, so that a
        // later read of the tag sees a reclaim that wrote the word.
        // Acquire on failure too: the loop decides on the value returned,
        // and `owns` must see a reclaim that wrote it.
        match word.compare_exchange_weak(current, next.0, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return Admission::Admitted(next.1),
            Err(actual) => {
                current = actual;
                backoff.spin();
            }
        }
    }
}

#[cfg(all(test, loom))]
pub(crate) mod loom_tests;
