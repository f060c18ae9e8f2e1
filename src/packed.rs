//! Two nested windows in one word.
//!
//! A class of two windows whose short length divides the long one (the
//! reference policy's minute and its 10-second burst) keeps both counts in
//! one `AtomicU64`, so a check is one compare-exchange: it is linearizable
//! (every check takes effect at one instant), a denied check never writes,
//! and there is nothing to roll back. Two separate words (see `counter`)
//! need two exchanges and a rollback when the second window turns out
//! full, which is most of the cost of a check.
//!
//! # Layout
//!
//! ```text
//!  63        64-I        A+B+S        A+B          B           0
//! +------------+-----//-----+----------+-----------+-----------+
//! | long index |   (unused) | sub-index| long count|short count|
//! | mod 2^I    |            |  S bits  |   A bits  |   B bits  |
//! +------------+-----//-----+----------+-----------+-----------+
//! ```
//!
//! The long window's index is kept modulo 2^I, with `I = 32 - log2(long
//! length in seconds)` (27 bits for a minute): a stored index up to half
//! that range older than now is stale and up to half newer is a newer
//! window, which gives a horizon of at least 2^31 seconds (68 years)
//! between two checks of one key, as with separate words. The sub-index is
//! the short window's position inside the long one (`S` bits hold
//! `ratio - 1`). The count fields take the rest: each gets the bits its
//! largest limit needs, and the spare bits are shared between them, so
//! that overrides can raise limits well above the policy's
//! ([`Packing::max_limits`]). A class whose limits do not fit uses
//! separate words.
//!
//! Read at a time `now`, a word stands for the same windows separate words
//! would: a stale long window means both windows are empty and current; a
//! current long window with an older sub-index means an empty current short
//! window; a newer long window (a lagging clock, or a straggler) keeps
//! counting, short window included. The all-zero word is neutral, as in
//! `counter`: the key table resets reclaimed slots to it.
//!
//! # Orderings
//!
//! As in `counter`: loads and compare-exchanges are `Acquire` (on failure
//! too), because the key table reuses slots and resets their words with
//! `Release`.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "bit-field arithmetic on widths fixed by Packing::new: shifts below 64, \
              field widths summing to at most 64, ratio at least 2, lengths at least 1; \
              indexes and counts use wrapping, saturating or checked forms"
)]

#[cfg(test)]
use crate::state::Unshared;
use crate::state::{Admission, Ask, Owner, State, Tally, NEUTRAL};
use crate::sync::{AtomicU64, Backoff, Ordering};
use crate::window::{Divisor, Window};

/// How a class of two nested windows packs into one word: lengths,
/// field positions and masks, all fixed when the limiter is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packing {
    /// Long and short window lengths, seconds, as divisors.
    long: Divisor,
    short: Divisor,
    /// `long / short`, at least 2.
    ratio: u64,
    /// The long index field: `word >> index_shift`, masked by `index_mask`.
    index_shift: u32,
    index_mask: u64,
    /// The sub-index field.
    sub_shift: u32,
    sub_mask: u64,
    /// The long count field: `word >> long_shift`, masked by `long_mask`.
    long_shift: u32,
    long_mask: u64,
    /// The short count field: `word & short_mask`.
    short_mask: u64,
    /// Both count fields: what a word holds besides its windows.
    counts_mask: u64,
    /// The largest count of each field (the masks, as limits).
    max: [u32; 2],
}

/// Bits needed to hold `value`.
const fn bits(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

/// The largest value of a field of `n` bits (`n` below 64).
const fn field_max(n: u32) -> u64 {
    (1u64 << n) - 1
}

impl Packing {
    /// The packing of `windows` (longest first) whose limits, overrides
    /// included, are at most `max_limits`; `None` unless there are exactly
    /// two windows, the short length divides the long one, and the counts
    /// fit beside the indexes.
    pub(crate) fn new(windows: &[Window], max_limits: [u32; 2]) -> Option<Self> {
        let [long, short] = windows else {
            return None;
        };
        let (long, short) = (long.length().as_secs(), short.length().as_secs());
        if short == 0 || long <= short || long % short != 0 {
            return None;
        }
        let ratio = long / short;
        let index_bits = 32u32.saturating_sub(long.ilog2()).clamp(8, 32);
        let sub_bits = bits(ratio - 1);
        let count_bits = 64u32.checked_sub(index_bits + sub_bits)?;
        let need = [bits(max_limits[0].into()), bits(max_limits[1].into())];
        let spare = count_bits.checked_sub(need[0] + need[1])?;
        let long_bits = (need[0] + spare.div_ceil(2)).min(32);
        let short_bits = (count_bits - long_bits).min(32);
        Some(Self {
            long: Divisor::new(long),
            short: Divisor::new(short),
            ratio,
            index_shift: 64 - index_bits,
            index_mask: u64::MAX >> (64 - index_bits),
            sub_shift: long_bits + short_bits,
            sub_mask: field_max(sub_bits),
            long_shift: short_bits,
            long_mask: field_max(long_bits),
            short_mask: field_max(short_bits),
            counts_mask: field_max(long_bits + short_bits),
            max: [
                u32::try_from(field_max(long_bits)).unwrap_or(u32::MAX),
                u32::try_from(field_max(short_bits)).unwrap_or(u32::MAX),
            ],
        })
    }

    /// The largest limit each window can hold in this packing: what an
    /// override may set.
    #[inline(always)]
    pub(crate) fn max_limits(&self) -> [u32; 2] {
        self.max
    }

    /// The word for windows `index` holding `count`.
    #[inline(always)]
    fn pack(&self, index: [u64; 2], count: [u32; 2]) -> u64 {
        let sub = index[1]
            .saturating_sub(index[0].saturating_mul(self.ratio))
            .min(self.sub_mask);
        ((index[0] & self.index_mask) << self.index_shift)
            | (sub << self.sub_shift)
            | ((u64::from(count[0]) & self.long_mask) << self.long_shift)
            | (u64::from(count[1]) & self.short_mask)
    }

    /// The stored fields of a word: long index (mod 2^I), sub-index, counts.
    #[inline(always)]
    fn fields(&self, word: u64) -> (u64, u64, [u32; 2]) {
        // Truncation cannot happen: both masks are at most 32 bits.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "both masks are at most 32 bits"
        )]
        let count = [
            ((word >> self.long_shift) & self.long_mask) as u32,
            (word & self.short_mask) as u32,
        ];
        (
            word >> self.index_shift,
            (word >> self.sub_shift) & self.sub_mask,
            count,
        )
    }

    /// The two windows' indexes at `now_secs`.
    #[inline(always)]
    fn now_index(&self, now_secs: u64) -> [u64; 2] {
        [self.long.divide(now_secs), self.short.divide(now_secs)]
    }

    /// The (effective index, count) of both windows a word stands for at
    /// `now_secs` (module docs).
    #[inline(always)]
    pub(crate) fn view(&self, word: u64, now_secs: u64) -> Tally<2> {
        let now = self.now_index(now_secs);
        let empty = Tally {
            index: now,
            count: [0, 0],
        };
        if word == NEUTRAL {
            return empty;
        }
        let (stored, sub, count) = self.fields(word);
        let mask = self.index_mask;
        let ahead = stored.wrapping_sub(now[0]) & mask;
        if ahead == 0 {
            let start = now[0].saturating_mul(self.ratio);
            let short = start.saturating_add(sub);
            if short >= now[1] {
                Tally {
                    index: [now[0], short],
                    count,
                }
            } else {
                Tally {
                    index: now,
                    count: [count[0], 0],
                }
            }
        } else if ahead <= mask >> 1 {
            let long = now[0].saturating_add(ahead);
            Tally {
                index: [long, long.saturating_mul(self.ratio).saturating_add(sub)],
                count,
            }
        } else {
            empty
        }
    }

    /// Reads both windows at `now_secs` without changing them.
    #[inline(always)]
    pub(crate) fn observe(&self, word: &AtomicU64, now_secs: u64) -> Tally<2> {
        // Acquire: pairs with a reclaimer's Release reset (module docs).
        self.view(word.load(Ordering::Acquire), now_secs)
    }

    /// Admits `cost` against both windows or neither, in one exchange.
    ///
    /// The caller has checked that `cost` is at least 1 and at most both
    /// limits; limits above [`max_limits`](Self::max_limits) are treated as
    /// that maximum, so a count never spills into a neighbouring field.
    #[cfg(test)]
    pub(crate) fn admit(
        &self,
        word: &AtomicU64,
        limits: &[u32; 2],
        now_secs: u64,
        cost: u32,
    ) -> Admission<Tally<2>> {
        self.admit_while(word, limits, now_secs, cost, &Unshared)
    }

    /// [`admit`](Self::admit) for a slot of the key table: [`Owner::owns`]
    /// is asked after every read of the word and before the exchange based
    /// on it (see `counter::admit_while`).
    #[inline(always)]
    pub(crate) fn admit_while(
        &self,
        word: &AtomicU64,
        limits: &[u32; 2],
        now_secs: u64,
        cost: u32,
        owner: &impl Owner,
    ) -> Admission<Tally<2>> {
        let max = self.max_limits();
        let limits = [limits[0].min(max[0]), limits[1].min(max[1])];
        // The windows current at `now_secs`, as a word holding no counts:
        // a word that names them (the common case, a key checked again
        // within its short window) is read and counted without `view`.
        let index = self.now_index(now_secs);
        // The short window's position in the long one: below `ratio`,
        // since the short length divides the long one (`index[1]` is at
        // least `index[0] * ratio`, so nothing wraps).
        let sub = index[1]
            .wrapping_sub(index[0].wrapping_mul(self.ratio))
            .min(self.sub_mask);
        let windows = ((index[0] & self.index_mask) << self.index_shift) | (sub << self.sub_shift);
        let add = (u64::from(cost) << self.long_shift) | u64::from(cost);
        let backoff = Backoff::new();
        // Acquire: pairs with a reclaimer's Release reset (module docs).
        let mut current = word.load(Ordering::Acquire);
        loop {
            if !owner.owns() {
                return Admission::Lost;
            }
            if current & !self.counts_mask == windows {
                let (_, _, count) = self.fields(current);
                let fits = count[0].checked_add(cost).is_some_and(|c| c <= limits[0])
                    & count[1].checked_add(cost).is_some_and(|c| c <= limits[1]);
                if !fits {
                    return Admission::Denied(Tally { index, count });
                }
                // Both counts stay within their fields (limits are at
                // most the fields' maxima), so adding to each field adds
                // to the word without a carry between them.
                // Acquire on success: pairs with a reclaimer's Release
                // reset, so a re-read of the slot's tag sees the reclaim.
                // Acquire on failure: the loop goes on from the value
                // returned, and `owns` must see a reclaim that wrote it.
                match word.compare_exchange_weak(
                    current,
                    current.wrapping_add(add),
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        return Admission::Admitted(Tally {
                            index,
                            count: [count[0].wrapping_add(cost), count[1].wrapping_add(cost)],
                        })
                    }
                    Err(actual) => {
                        current = actual;
                        backoff.spin();
                        continue;
                    }
                }
            }
            let seen = self.view(current, now_secs);
            if !seen.fits_all(cost, &limits) {
                return Admission::Denied(seen);
            }
            // Both fit under limits of at most u32::MAX: no overflow.
            let after = Tally {
                index: seen.index,
                count: [
                    seen.count[0].saturating_add(cost),
                    seen.count[1].saturating_add(cost),
                ],
            };
            // Acquire on success: pairs with a reclaimer's Release reset,
            // so a re-read of the slot's tag sees the reclaim (module
            // docs). Acquire on failure too: the loop counts on the value
            // returned, and `owns` must see a reclaim that wrote it.
            match word.compare_exchange_weak(
                current,
                self.pack(after.index, after.count),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Admission::Admitted(after),
                Err(actual) => {
                    current = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// Takes back an admission of `cost` into the windows `admitted`
    /// names, from each window the word is still in (see `table`).
    #[cfg(test)]
    pub(crate) fn undo(&self, word: &AtomicU64, admitted: &Tally<2>, cost: u32) {
        self.undo_while(word, admitted, cost, &Unshared);
    }

    /// [`undo`](Self::undo) in a slot of the key table, while `owner` keeps
    /// the slot: [`Owner::keeps`] is asked after every read of the word and
    /// before the exchange based on it (see `counter::release_while`).
    pub(crate) fn undo_while(
        &self,
        word: &AtomicU64,
        admitted: &Tally<2>,
        cost: u32,
        owner: &impl Owner,
    ) {
        let backoff = Backoff::new();
        let want_sub =
            admitted.index[1].saturating_sub(admitted.index[0].saturating_mul(self.ratio));
        // Acquire: a value written by a reclaim's reset (or after it) makes
        // `keeps` see the reclaim.
        let mut current = word.load(Ordering::Acquire);
        loop {
            if current == NEUTRAL || !owner.keeps() {
                return;
            }
            let (stored, sub, mut count) = self.fields(current);
            let same_long = stored == admitted.index[0] & self.index_mask;
            let same_short = same_long && sub == want_sub;
            let mut changed = false;
            for (c, same) in count.iter_mut().zip([same_long, same_short]) {
                if let (true, Some(left)) = (same, c.checked_sub(cost)) {
                    *c = left;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
            let start = stored.saturating_mul(self.ratio);
            let next = self.pack([stored, start.saturating_add(sub)], count);
            // Relaxed on success: an undo only lowers counts; it publishes
            // nothing. Acquire on failure: as the load above.
            match word.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => {
                    current = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// When a word holding live state at `now_secs` frees up: the end of
    /// the last window with a count, or `None` if it holds nothing live.
    pub(crate) fn live_end(&self, word: u64, now_secs: u64) -> Option<u64> {
        let seen = self.view(word, now_secs);
        let ends = [
            seen.index[0]
                .saturating_add(1)
                .saturating_mul(self.long.get()),
            seen.index[1]
                .saturating_add(1)
                .saturating_mul(self.short.get()),
        ];
        ends.into_iter()
            .zip(seen.count)
            .filter(|&(_, c)| c > 0)
            .map(|(end, _)| end)
            .max()
    }
}

/// The first window word of a slot.
#[inline(always)]
fn first_word(words: &[AtomicU64]) -> Option<&AtomicU64> {
    words.first()
}

impl State<2> for &Packing {
    #[inline(always)]
    fn observe(self, words: &[AtomicU64], windows: &[Window; 2], now: u64) -> Tally<2> {
        match first_word(words) {
            Some(word) => Packing::observe(self, word, now),
            None => Tally::fresh(windows, now),
        }
    }

    #[inline(always)]
    fn admit(
        self,
        words: &[AtomicU64],
        ask: &Ask<'_, 2>,
        owner: &impl Owner,
    ) -> Admission<Tally<2>> {
        // One exchange: nothing to release on the way.
        match first_word(words) {
            Some(word) => Packing::admit_while(self, word, ask.limits, ask.now, ask.cost, owner),
            None => Admission::Denied(Tally::fresh(ask.windows, ask.now)),
        }
    }

    #[inline(always)]
    fn undo(self, words: &[AtomicU64], admitted: &Tally<2>, cost: u32, owner: &impl Owner) {
        if let Some(word) = first_word(words) {
            Packing::undo_while(self, word, admitted, cost, owner);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests;
