//! The atomic fixed-window counters.
//!
//! # Layout
//!
//! One window of one tracked state is one `AtomicU64`:
//!
//! ```text
//!  63            32 31             0
//! +----------------+----------------+
//! |  window index  |     count      |
//! |  (mod 2^32)    |                |
//! +----------------+----------------+
//! ```
//!
//! The window index is `unix_seconds / length`, kept modulo 2^32. It is
//! compared with the current index by wrapping difference, read as an
//! `i32`: a stored index up to 2^31 - 1 windows older than now is stale
//! (its count no longer applies), up to 2^31 - 1 windows newer is a newer
//! window that a lagging clock must not reopen. The horizon is therefore
//! 2^31 windows between two checks of one key: 68 years for one-second
//! windows, longer for longer ones; a key untouched for longer may see its
//! old count again once (a test sits at that horizon). The count is at
//! most the window's limit, which is at most `u32::MAX`.
//!
//! # Admission
//!
//! A check of cost `c` against windows `w0..wn` (longest first) first reads
//! every window and denies without writing if any has no room. Otherwise
//! it reserves `c` in each window in order with a compare-exchange loop
//! that retries while the window still has room (contention never turns
//! into a denial); if some window has filled meanwhile, the reservations
//! already made are released and the check is denied. A denied check thus
//! leaves every count as it was. Each window's index at `now` is computed
//! once, and each loop starts from the value the first pass read: the
//! compare-exchange validates it, so a stale value costs one more round.
//!
//! Between a reservation and its release another check may see the
//! reserved cost. Such a check can be denied only while some window of the
//! class is at its limit (that is what makes the first check release), so
//! the total admitted is still `min(limit, attempts)` for unit costs at one
//! instant; the loom models check exactly that.
//!
//! # Orderings
//!
//! Counting needs only each word's modification order (`Relaxed` would
//! do). The word operations are `Acquire` (loads, and exchanges on success
//! and on failure) because the key table reuses slots: a reclaimer marks a
//! slot's tag, then resets its words with `Release`. A check that reads a
//! reset word, or a value written after it, must then see the mark when it
//! re-reads the tag, and stop or undo its work (see `table`).

use crate::policy::MAX_WINDOWS;
#[cfg(test)]
use crate::state::Unshared;
use crate::state::{Admission, Ask, Owner, State, Tally, NEUTRAL};
use crate::sync::{AtomicU64, Backoff, Ordering};
use crate::window::{Divisor, Window};

/// Packs a window index (kept modulo 2^32) and a count into one word.
#[inline]
pub(crate) const fn pack(index: u64, count: u32) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the index is kept modulo 2^32"
    )]
    let index = index as u32;
    ((index as u64) << 32) | count as u64
}

/// The count field of a word.
#[inline]
const fn count_of(word: u64) -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "the low half is the count")]
    let count = word as u32;
    count
}

/// The (effective window index, count) a word stands for at `now_index`.
///
/// A stale word stands for an empty current window; a word from a newer
/// window (the clock stepped back, or this check is a straggler) stands
/// for that newer window, which keeps counting: time as a counter sees it
/// never goes backwards.
///
/// The all-zero word is neutral: it stands for an empty current window
/// whatever the window's length. The key table resets reclaimed slots to
/// it, so a slot can pass between classes with different windows.
#[inline]
pub(crate) fn view(word: u64, now_index: u64) -> (u64, u32) {
    if word == NEUTRAL {
        return (now_index, 0);
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "indexes compare modulo 2^32"
    )]
    let now32 = now_index as u32;
    // The high half: the index modulo 2^32.
    let stored = (word >> 32) as u32;
    #[expect(
        clippy::cast_possible_wrap,
        reason = "the two's-complement reading of the wrapping difference"
    )]
    let ahead = stored.wrapping_sub(now32) as i32;
    match ahead {
        0 => (now_index, count_of(word)),
        1.. => (
            now_index.saturating_add(ahead.unsigned_abs().into()),
            count_of(word),
        ),
        _ => (now_index, 0),
    }
}

/// Reads the `N` windows of one state at `now_secs` without changing them.
#[inline(always)]
pub(crate) fn observe<const N: usize>(
    words: &[AtomicU64; N],
    lengths: &[Divisor; N],
    now_secs: u64,
) -> Tally<N> {
    let mut seen = Tally {
        index: [0; N],
        count: [0; N],
    };
    for i in 0..N {
        // Acquire: pairs with a reclaimer's Release reset (module docs).
        let word = words[i].load(Ordering::Acquire);
        (seen.index[i], seen.count[i]) = view(word, lengths[i].divide(now_secs));
    }
    seen
}

/// Admits `cost` against every window of one state, or against none.
///
/// `lengths[i]` is the length of window `i`, `limits[i]` its limit for this
/// key; the caller has
/// checked that `cost` is at least 1 and at most every limit. Each
/// window's index at `now_secs` is computed once, and each reservation
/// starts from the value the observing pass read.
#[cfg(test)]
pub(crate) fn admit<const N: usize>(
    words: &[AtomicU64; N],
    lengths: &[Divisor; N],
    limits: &[u32; N],
    now_secs: u64,
    cost: u32,
) -> Admission<Tally<N>> {
    admit_while(words, lengths, limits, now_secs, cost, &Unshared)
}

/// [`admit`] for a slot of the key table: [`Owner::owns`] is asked after
/// every read of a word and before any exchange based on it;
/// [`Owner::keeps`] gates the release of earlier reservations (see
/// [`release_while`]).
///
/// A word read after a reclaimer reset it (or after the new owner counted
/// in it) is acquired from the reset's `Release`, so `owns` then sees the
/// reclaimer's tag and the check stops with [`Admission::Lost`] (undoing
/// its reservations in earlier windows) instead of writing a value of its
/// own over the new owner's word, which it might read as a stale window.
#[inline(always)]
pub(crate) fn admit_while<const N: usize>(
    words: &[AtomicU64; N],
    lengths: &[Divisor; N],
    limits: &[u32; N],
    now_secs: u64,
    cost: u32,
    owner: &impl Owner,
) -> Admission<Tally<N>> {
    let mut seen = Tally {
        index: [0; N],
        count: [0; N],
    };
    let mut raw = [NEUTRAL; N];
    let mut now_index = [0; N];
    for i in 0..N {
        now_index[i] = lengths[i].divide(now_secs);
        // Acquire: pairs with a reclaimer's Release reset (module docs).
        raw[i] = words[i].load(Ordering::Acquire);
        (seen.index[i], seen.count[i]) = view(raw[i], now_index[i]);
    }
    if !owner.owns() {
        return Admission::Lost;
    }
    if !seen.fits_all(cost, limits) {
        return Admission::Denied(seen);
    }
    for i in 0..N {
        let reserved = reserve_from(&words[i], raw[i], now_index[i], cost, limits[i], owner);
        let refused = match reserved {
            Ok((index, count)) => {
                seen.index[i] = index;
                seen.count[i] = count;
                continue;
            }
            Err(refused) => refused,
        };
        for ((word, &index), count) in words.iter().zip(&seen.index).zip(&mut seen.count).take(i) {
            release_while(word, index, cost, owner);
            *count = count.saturating_sub(cost);
        }
        return match refused {
            Some((index, count)) => {
                seen.index[i] = index;
                seen.count[i] = count;
                Admission::Denied(seen)
            }
            None => Admission::Lost,
        };
    }
    Admission::Admitted(seen)
}

/// [`admit`] for any number of windows, reporting in the models' form.
#[cfg(test)]
pub(crate) fn admit_any(
    words: &[AtomicU64],
    windows: &[Window],
    limits: &[u32],
    now_secs: u64,
    cost: u32,
) -> Admission {
    fn run<const N: usize>(
        words: &[AtomicU64],
        windows: &[Window],
        limits: &[u32],
        now_secs: u64,
        cost: u32,
    ) -> Admission {
        let (Some(w), Some(ws), Some(l)) = (
            words.first_chunk::<N>(),
            windows.first_chunk::<N>(),
            limits.first_chunk::<N>(),
        ) else {
            panic!("{N} windows need {N} words and limits");
        };
        let lengths = ws.map(|w| Divisor::new(w.length().as_secs()));
        match admit(w, &lengths, l, now_secs, cost) {
            Admission::Admitted(t) => Admission::Admitted(t.observed()),
            Admission::Denied(t) => Admission::Denied(t.observed()),
            Admission::Lost => Admission::Lost,
        }
    }
    match windows.len() {
        1 => run::<1>(words, windows, limits, now_secs, cost),
        2 => run::<2>(words, windows, limits, now_secs, cost),
        3 => run::<3>(words, windows, limits, now_secs, cost),
        _ => run::<MAX_WINDOWS>(words, windows, limits, now_secs, cost),
    }
}

/// Undoes an admission whose slot's floor was raised under it (see
/// `table`): releases `cost` from each window it was counted in, while
/// `owner` keeps the slot.
pub(crate) fn undo<const N: usize>(
    words: &[AtomicU64; N],
    admitted: &Tally<N>,
    cost: u32,
    owner: &impl Owner,
) {
    for (word, &index) in words.iter().zip(&admitted.index) {
        release_while(word, index, cost, owner);
    }
}

/// Adds `cost` to one window if it fits: `Ok((index, count_after))`, or
/// `Err(Some((index, count)))` when it does not.
#[cfg(all(test, not(loom)))]
fn reserve(
    word: &AtomicU64,
    now_index: u64,
    cost: u32,
    limit: u32,
) -> Result<(u64, u32), Option<(u64, u32)>> {
    // Relaxed: the compare-exchange in `reserve_from` validates whatever
    // this read saw.
    let current = word.load(Ordering::Relaxed);
    reserve_from(word, current, now_index, cost, limit, &Unshared)
}

/// [`reserve`], starting from `current`, a value of `word` read earlier
/// (by [`admit`]'s observing pass): the compare-exchange validates it, so
/// a stale value costs one failed exchange, never a wrong count. After a
/// failed exchange, [`Owner::owns`] is asked again before the next (see
/// [`admit_while`]); `Err(None)` when it says no.
#[inline]
fn reserve_from(
    word: &AtomicU64,
    mut current: u64,
    now_index: u64,
    cost: u32,
    limit: u32,
    owner: &impl Owner,
) -> Result<(u64, u32), Option<(u64, u32)>> {
    let backoff = Backoff::new();
    loop {
        let (index, count) = view(current, now_index);
        let after = match count.checked_add(cost) {
            Some(after) if after <= limit => after,
            _ => return Err(Some((index, count))),
        };
        // Acquire on success: pairs with a reclaimer's Release reset, so a
        // re-read of the slot's tag sees the reclaim (module docs).
        // Acquire on failure too: the value returned is the next one this
        // loop counts on, and `owns` must see a reclaim that wrote it.
        match word.compare_exchange_weak(
            current,
            pack(index, after),
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok((index, after)),
            Err(actual) => {
                if !owner.owns() {
                    return Err(None);
                }
                current = actual;
                backoff.spin();
            }
        }
    }
}

/// Takes back `cost` from window `index`, if the word is still in it.
///
/// When the word has moved on to another window (or was reset by a
/// reclaim), the reservation went with it and there is nothing to undo.
#[cfg(all(test, not(loom)))]
fn release(word: &AtomicU64, index: u64, cost: u32) {
    release_while(word, index, cost, &Unshared);
}

/// [`release`] in a slot of the key table, while `owner` keeps the slot:
/// [`Owner::keeps`] is asked after every read of the word and before the
/// exchange based on it, so a release never lowers a count of the slot's
/// next owner, whose window index may equal this key's in other units
/// (see `table`).
fn release_while(word: &AtomicU64, index: u64, cost: u32, owner: &impl Owner) {
    let backoff = Backoff::new();
    // Acquire: a value written by a reclaim's reset (or after it) makes
    // `keeps` see the reclaim.
    let mut current = word.load(Ordering::Acquire);
    loop {
        if current >> 32 != pack(index, 0) >> 32 || count_of(current) < cost || !owner.keeps() {
            return;
        }
        let next = pack(index, count_of(current).saturating_sub(cost));
        // Relaxed on success: a release only lowers a count; it publishes
        // nothing, and no decision depends on seeing it at a particular
        // moment. Acquire on failure: as the load above.
        match word.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Acquire) {
            Ok(_) => return,
            Err(actual) => {
                current = actual;
                backoff.spin();
            }
        }
    }
}

/// The one-word-per-window layout of a class, with its window lengths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Separate<'l>(pub(crate) &'l [Divisor; MAX_WINDOWS]);

/// The table holds as many words per slot as the widest class has
/// windows, so the words are always there; were they not, the state would
/// read as empty and nothing would be counted.
impl<const N: usize> State<N> for Separate<'_> {
    #[inline(always)]
    fn observe(self, words: &[AtomicU64], windows: &[Window; N], now: u64) -> Tally<N> {
        match (words.first_chunk::<N>(), self.0.first_chunk::<N>()) {
            (Some(words), Some(lengths)) => observe(words, lengths, now),
            _ => Tally::fresh(windows, now),
        }
    }

    #[inline(always)]
    fn admit(
        self,
        words: &[AtomicU64],
        ask: &Ask<'_, N>,
        owner: &impl Owner,
    ) -> Admission<Tally<N>> {
        match (words.first_chunk::<N>(), self.0.first_chunk::<N>()) {
            (Some(words), Some(lengths)) => {
                admit_while(words, lengths, ask.limits, ask.now, ask.cost, owner)
            }
            _ => Admission::Denied(Tally::fresh(ask.windows, ask.now)),
        }
    }

    #[inline(always)]
    fn undo(self, words: &[AtomicU64], admitted: &Tally<N>, cost: u32, owner: &impl Owner) {
        if let Some(words) = words.first_chunk::<N>() {
            undo(words, admitted, cost, owner);
        }
    }
}

#[cfg(all(test, loom))]
pub(crate) mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests;
