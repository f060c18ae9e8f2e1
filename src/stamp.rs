//! The state word of one tracked (key, class): a time stamp and one count
//! per window of the class, in one 64- or 128-bit word.
//!
//! # Layout
//!
//! ```text
//!  W-1        W-K                                            0
//! +------------+------------+----------+-----+----------------+
//! |   stamp    |  count 0   | count 1  | ... |  count n-1     |
//! | K bits     | (longest)  |          |     |  (shortest)    |
//! +------------+------------+----------+-----+----------------+
//! ```
//!
//! `W` is 64 or 128 bits. The stamp is the time, in whole unix seconds
//! kept modulo 2^K, of the latest admission (or of the floor the state
//! started at, see `table`). Every admission counts in every window of the
//! class at once, so every window's count is a count of the window that
//! contains the stamp: one time names all the windows, whatever their
//! lengths, and one compare-exchange of the word admits or denies.
//!
//! Read at a time `now`, a word stands for what separate per-window
//! counters would: a window that contained the stamp but has ended is
//! empty at `now`; a stamp ahead of `now` (a clock that stepped back, or a
//! check that straggled) keeps its windows and their counts, so that a
//! newer window is never reopened or reset. An admission at `now` moves
//! the stamp to `max(stamp, now)`, resets the counts of the windows that
//! ended, and adds the cost to every count.
//!
//! # Horizon
//!
//! The stamp is compared with `now` by wrapping difference, read as a
//! K-bit signed number: a stamp up to 2^(K-1) seconds behind `now` is in
//! the past, up to 2^(K-1) - 1 ahead is in the future. K is 32 (2^31
//! seconds, 68 years), or 33 (136 years) for a class with a window longer
//! than 2^31 seconds, so that the horizon always exceeds the longest
//! window: a key whose every check is denied keeps a stamp at most one
//! longest window old. A state untouched for longer than the horizon may
//! be read as holding counts once (a test sits at that horizon); the key
//! table reclaims state whose windows have all ended when it needs the
//! slot.
//!
//! # Count fields
//!
//! The counts share the rest of the word. Each field gets the bits its
//! largest limit needs (the class's, and the policy's overrides of it),
//! and the spare bits are shared out one at a time: first to a burst
//! window that could not hold the burst of its base window's largest
//! limit (so that an override of the base at its largest limit is
//! accepted with its scaled burst), then to the narrowest field, longest
//! window first; no field takes more than 32 bits. A class whose counts do
//! not fit 64 bits takes 128. For the reference policy each class has two
//! 16-bit fields in a 64-bit word: run-time overrides go up to 65,535 per
//! window ([`Stamp::max_limits`]).
//!
//! The all-zero word is neutral: a stamp of 1970 with no counts, which is
//! an empty current window for any class. A word whose counts are all
//! zero is fresh: published by the key table and not yet counted in, as
//! every admission leaves every count at 1 or more.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "bit-field arithmetic on widths fixed by Stamp::new: shifts below the word's \
              width, fields of at most 32 bits whose values stay within their masks; times \
              use wrapping, saturating or checked forms"
)]

mod bits;

pub(crate) use bits::Bits;

use crate::policy::MAX_WINDOWS;
use crate::state::Tally;
use crate::window::{Divisor, Window};

/// Which word a layout takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    /// 64 bits.
    Narrow,
    /// 128 bits.
    Wide,
}

impl Width {
    /// The word's bits.
    const fn bits(self) -> u32 {
        match self {
            Self::Narrow => 64,
            Self::Wide => 128,
        }
    }
}

/// A burst window sized from a base window: its limit is
/// `multiplier * base limit * burst length / base length`, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scaled {
    /// The base window's position.
    pub(crate) base: usize,
    /// The burst window's position.
    pub(crate) burst: usize,
    /// The multiplier.
    pub(crate) multiplier: u32,
}

/// Why a class's counts do not fit one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooWide {
    /// Bits the class's largest limits need.
    pub(crate) needed: u32,
    /// Bits a 128-bit word has for counts.
    pub(crate) available: u32,
}

/// How one class's windows sit in a state word: all fixed when the
/// limiter is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The class's windows' lengths, longest first, as divisors.
    lengths: [Divisor; MAX_WINDOWS],
    /// Number of windows.
    len: usize,
    /// The word's width.
    width: Width,
    /// Bits of the stamp (K).
    stamp_bits: u32,
    /// Mask of the stamp, as a value.
    stamp_mask: u64,
    /// Position of the stamp: the word's bits less K.
    stamp_shift: u32,
    /// Position of each window's count.
    shift: [u32; MAX_WINDOWS],
    /// Mask of each window's count, as a value: its largest count.
    mask: [u64; MAX_WINDOWS],
    /// A 1 at each count's lowest bit, as a 128-bit value (a 64-bit word
    /// takes its low half): `cost * ones` adds the cost to every count.
    ones: u128,
    /// Every count field.
    counts: u128,
}

/// Bits needed to hold `value`.
const fn bits(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

/// The largest value of `n` bits (`n` at most 63).
const fn field_max(n: u32) -> u64 {
    (1u64 << n) - 1
}

impl Stamp {
    /// The most bits a count field takes: a limit is at most `u32::MAX`.
    const MAX_FIELD: u32 = 32;

    /// The layout of `windows` (longest first; 1 to `MAX_WINDOWS`) whose
    /// limits, overrides included, are at most `max_limits`, in the
    /// narrowest word they fit unless `width` asks for a wide one, with
    /// the burst rule `scaled` if the class has one.
    ///
    /// # Errors
    ///
    /// [`TooWide`] when the counts do not fit even 128 bits.
    pub(crate) fn new(
        windows: &[Window],
        max_limits: &[u32],
        scaled: Option<Scaled>,
        width: Width,
    ) -> Result<Self, TooWide> {
        let len = windows.len().clamp(1, MAX_WINDOWS);
        let longest = windows.first().map_or(1, |w| w.length().as_secs());
        let stamp_bits = if longest > 1 << 31 { 33 } else { 32 };
        let mut need = [0u32; MAX_WINDOWS];
        for (n, &m) in need.iter_mut().zip(max_limits).take(len) {
            *n = bits(m.into()).max(1);
        }
        let needed: u32 = need.iter().sum();
        let width = match width {
            Width::Narrow if needed <= 64 - stamp_bits => Width::Narrow,
            _ if needed <= 128 - stamp_bits => Width::Wide,
            _ => {
                return Err(TooWide {
                    needed,
                    available: 128 - stamp_bits,
                })
            }
        };
        let mut size = need;
        let mut spare = width.bits() - stamp_bits - needed;
        while spare > 0 {
            let fits = |size: &[u32; MAX_WINDOWS]| {
                scaled.is_none_or(|s| {
                    let base_max = field_max(size[s.base]);
                    let burst = burst_of(s, base_max, windows);
                    burst <= field_max(size[s.burst])
                })
            };
            // The burst window first, while it cannot hold the burst of
            // its base's largest limit; then the narrowest field.
            let pick = match scaled {
                Some(s) if !fits(&size) && size[s.burst] < Self::MAX_FIELD => Some(s.burst),
                _ => (0..len)
                    .filter(|&i| size[i] < Self::MAX_FIELD)
                    .min_by_key(|&i| size[i]),
            };
            let Some(i) = pick else {
                break;
            };
            size[i] += 1;
            spare -= 1;
        }
        let mut shift = [0u32; MAX_WINDOWS];
        let mut mask = [0u64; MAX_WINDOWS];
        let mut ones = 0u128;
        let mut at = 0u32;
        for i in (0..len).rev() {
            shift[i] = at;
            mask[i] = field_max(size[i]);
            ones |= 1u128 << at;
            at += size[i];
        }
        let mut lengths = [Divisor::new(1); MAX_WINDOWS];
        for (d, w) in lengths.iter_mut().zip(windows) {
            *d = Divisor::new(w.length().as_secs());
        }
        let stamp_shift = width.bits() - stamp_bits;
        Ok(Self {
            lengths,
            len,
            width,
            stamp_bits,
            stamp_mask: field_max(stamp_bits),
            stamp_shift,
            shift,
            mask,
            ones,
            counts: (1u128 << stamp_shift) - 1,
        })
    }

    /// The word this layout takes.
    pub(crate) fn width(&self) -> Width {
        self.width
    }

    /// The largest limit each window can hold (longest window first, one
    /// per window of the class): what an override may set.
    pub(crate) fn max_limits(&self) -> [u32; MAX_WINDOWS] {
        self.mask.map(|m| u32::try_from(m).unwrap_or(u32::MAX))
    }

    /// The horizon: how far apart, in seconds, a stamp and a time can be
    /// and still be told apart as past and future.
    pub(crate) fn horizon(&self) -> u64 {
        1 << (self.stamp_bits - 1)
    }

    /// The stamp field of `word`.
    #[inline(always)]
    fn stamp_field<B: Bits>(&self, word: B) -> u64 {
        word.field(self.stamp_shift, self.stamp_mask)
    }

    /// The count of window `i` in `word`.
    #[inline(always)]
    fn count<B: Bits>(&self, word: B, i: usize) -> u32 {
        // A field is at most 32 bits wide.
        u32::try_from(word.field(self.shift[i], self.mask[i])).unwrap_or(u32::MAX)
    }

    /// The time (unix seconds) the stamp of `word` stands for, read near
    /// `now`.
    #[inline(always)]
    pub(crate) fn time<B: Bits>(&self, word: B, now: u64) -> u64 {
        let ahead = self.stamp_field(word).wrapping_sub(now) & self.stamp_mask;
        if ahead < self.horizon() {
            now.saturating_add(ahead)
        } else {
            now.saturating_sub((self.stamp_mask + 1) - ahead)
        }
    }

    /// Whether no admission has counted in `word` yet.
    #[inline(always)]
    pub(crate) fn is_fresh<B: Bits>(&self, word: B) -> bool {
        word.and(B::truncate(self.counts)) == B::ZERO
    }

    /// The windows `word` stands for at `now` (module docs).
    #[inline(always)]
    pub(crate) fn view<B: Bits, const N: usize>(&self, word: B, now: u64) -> Tally<N> {
        let mut seen = Tally {
            index: [0; N],
            count: [0; N],
        };
        if word == B::ZERO {
            // Neutral: empty current windows, whatever `now`.
            for i in 0..N {
                seen.index[i] = self.lengths[i].divide(now);
            }
            return seen;
        }
        let stamp = self.time(word, now);
        for i in 0..N {
            let at_now = self.lengths[i].divide(now);
            if stamp >= now {
                // Ahead or at `now`: the stamp's windows keep counting.
                seen.index[i] = self.lengths[i].divide(stamp);
                seen.count[i] = self.count(word, i);
            } else if self.lengths[i].divide(stamp) == at_now {
                seen.index[i] = at_now;
                seen.count[i] = self.count(word, i);
            } else {
                seen.index[i] = at_now;
            }
        }
        seen
    }

    /// The word after admitting `cost` at `now` into `word`, with the
    /// windows it counted in; or, when some window has no room, the
    /// windows as found. `cost` is at least 1 and at most every limit;
    /// limits above [`max_limits`](Self::max_limits) are treated as that
    /// maximum, so that no count spills into a neighbouring field.
    #[inline(always)]
    pub(crate) fn admit<B: Bits, const N: usize>(
        &self,
        word: B,
        limits: &[u32; N],
        now: u64,
        cost: u32,
    ) -> Result<(B, Tally<N>), Tally<N>> {
        let mut limits = *limits;
        for (l, &m) in limits.iter_mut().zip(&self.mask) {
            *l = (*l).min(u32::try_from(m).unwrap_or(u32::MAX));
        }
        if self.stamp_field(word) == now & self.stamp_mask {
            // The common case, a key checked again within the second of
            // its last admission: every count is current, and adding the
            // cost to each is one addition.
            let mut seen = Tally {
                index: [0; N],
                count: [0; N],
            };
            let mut fits = true;
            #[expect(
                clippy::needless_range_loop,
                reason = "one index into four arrays, which stay in registers"
            )]
            for i in 0..N {
                seen.index[i] = self.lengths[i].divide(now);
                seen.count[i] = self.count(word, i);
                fits &= seen.count[i]
                    .checked_add(cost)
                    .is_some_and(|c| c <= limits[i]);
            }
            if !fits {
                return Err(seen);
            }
            for c in &mut seen.count {
                *c += cost;
            }
            let add = B::truncate(self.ones).times(cost);
            return Ok((word.plus(add), seen));
        }
        let seen: Tally<N> = self.view(word, now);
        if !seen.fits_all(cost, &limits) {
            return Err(seen);
        }
        let stamp = self.time(word, now).max(now);
        let mut after = seen;
        let mut next = B::shl(stamp & self.stamp_mask, self.stamp_shift);
        for i in 0..N {
            after.count[i] += cost;
            next = next.or(B::shl(after.count[i].into(), self.shift[i]));
        }
        Ok((next, after))
    }

    /// The word of a state that starts at `start` (unix seconds) with no
    /// counts: a check at an earlier time counts in the windows of
    /// `start`.
    ///
    /// A stamp field of 0 with no counts is the neutral word, which stands
    /// for the current windows at any time; a start whose field would be 0
    /// (every 2^K seconds) is moved to the next second, which is in the same
    /// windows whenever `start` begins a window, as the starts of dropped
    /// states do.
    pub(crate) fn initial<B: Bits>(&self, start: u64) -> B {
        let mut field = start & self.stamp_mask;
        if field == 0 && start != 0 {
            field = 1;
        }
        B::shl(field, self.stamp_shift)
    }

    /// When a word holding counts at `now` frees up: the end (unix
    /// seconds) of its last window with a count, if later than `now`.
    /// `None` for a word with nothing live, and for a fresh word (the
    /// caller decides about those).
    pub(crate) fn live_end<B: Bits>(&self, word: B, now: u64) -> Option<u64> {
        let end = self.end(word, now)?;
        (end > now).then_some(end)
    }

    /// The end (unix seconds) of the last window of `word` with a count,
    /// read near `now`; `None` for a fresh word.
    pub(crate) fn end<B: Bits>(&self, word: B, now: u64) -> Option<u64> {
        let stamp = self.time(word, now);
        (0..self.len)
            .filter(|&i| self.count(word, i) > 0)
            .map(|i| {
                let length = self.lengths[i].get();
                self.lengths[i]
                    .divide(stamp)
                    .saturating_add(1)
                    .saturating_mul(length)
            })
            .max()
    }

    /// The largest count `word` holds in a window current at `now`.
    pub(crate) fn held_now<B: Bits>(&self, word: B, now: u64) -> u32 {
        let seen: Tally<MAX_WINDOWS> = self.view(word, now);
        seen.count.iter().take(self.len).copied().max().unwrap_or(0)
    }

    /// The largest count `word` holds in any of its windows, current or
    /// ended: how much its key was counted, last time.
    pub(crate) fn held<B: Bits>(&self, word: B) -> u32 {
        (0..self.len)
            .map(|i| self.count(word, i))
            .max()
            .unwrap_or(0)
    }

    /// The largest count `word` holds in a window current at `now`, if the
    /// word may be evicted for a new key at `now`: it has been counted in,
    /// and its stamp is strictly before `now` (so that every word its next
    /// owner writes differs from it, see `table`).
    pub(crate) fn evictable<B: Bits>(&self, word: B, now: u64) -> Option<u32> {
        if self.is_fresh(word) || self.time(word, now) >= now {
            return None;
        }
        Some(self.held_now(word, now))
    }
}

/// The burst of `base_max` under the rule `s`.
fn burst_of(s: Scaled, base_max: u64, windows: &[Window]) -> u64 {
    let (Some(base), Some(burst)) = (windows.get(s.base), windows.get(s.burst)) else {
        return 0;
    };
    let limit = u32::try_from(base_max).unwrap_or(u32::MAX);
    crate::policy::burst_limit(s.multiplier, limit, base.length(), burst.length()).into()
}

#[cfg(test)]
mod tests;
