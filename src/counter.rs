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
use crate::sync::{AtomicU64, Backoff, Ordering};
use crate::window::{Divisor, Window};

/// The word of a window that holds nothing (see [`view`]).
pub(crate) const NEUTRAL: u64 = 0;

/// Packs a window index (kept modulo 2^32) and a count into one word.
#[inline]
pub(crate) const fn pack(index: u64, count: u32) -> u64 {
    // Truncation intended: the index is kept modulo 2^32.
    #[allow(clippy::cast_possible_truncation)]
    let index = index as u32;
    ((index as u64) << 32) | count as u64
}

/// The count field of a word.
#[inline]
const fn count_of(word: u64) -> u32 {
    // Truncation intended: the low half is the count.
    #[allow(clippy::cast_possible_truncation)]
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
    // Truncation intended: compare modulo 2^32.
    #[allow(clippy::cast_possible_truncation)]
    let now32 = now_index as u32;
    // Truncation intended: the high half is the index modulo 2^32.
    #[allow(clippy::cast_possible_truncation)]
    let stored = (word >> 32) as u32;
    // Two's-complement reading of the wrapping difference.
    #[allow(clippy::cast_possible_wrap)]
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

/// What a check saw of, or did to, the windows of one state, for any
/// number of windows: the form the models and tests record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Number of windows used.
    pub(crate) len: usize,
    /// Effective window index of each window.
    pub(crate) index: [u64; MAX_WINDOWS],
    /// Count of each window: after the check if admitted, as found if not.
    pub(crate) count: [u32; MAX_WINDOWS],
}

/// What a check saw of, or did to, the `N` windows of one state: each
/// window's effective index, and its count after the check if admitted,
/// as found if not.
///
/// The hot path works on exactly `N` windows (one copy of the code per
/// window count), so that every per-window value can stay in a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally<const N: usize> {
    /// Effective window index of each window.
    pub(crate) index: [u64; N],
    /// Count of each window.
    pub(crate) count: [u32; N],
}

impl<const N: usize> Tally<N> {
    /// The empty windows a state that does not exist yet would have.
    #[inline]
    pub(crate) fn fresh(windows: &[Window; N], now_secs: u64) -> Self {
        Self {
            index: std::array::from_fn(|i| windows[i].index_at(now_secs)),
            count: [0; N],
        }
    }

    /// Whether `cost` fits in every window under `limits`.
    #[inline]
    pub(crate) fn fits_all(&self, cost: u32, limits: &[u32; N]) -> bool {
        let mut fits = true;
        for (&count, &limit) in self.count.iter().zip(limits) {
            fits &= count.checked_add(cost).is_some_and(|c| c <= limit);
        }
        fits
    }

    /// The same windows in the form the models record.
    pub(crate) fn observed(&self) -> Observed {
        let mut o = Observed {
            len: N.min(MAX_WINDOWS),
            index: [0; MAX_WINDOWS],
            count: [0; MAX_WINDOWS],
        };
        for i in 0..o.len {
            o.index[i] = self.index[i];
            o.count[i] = self.count[i];
        }
        o
    }
}

/// The outcome of [`admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission<T = Observed> {
    /// Every window took the cost; counts are after the check.
    Admitted(T),
    /// Some window had no room; nothing changed; counts as found.
    Denied(T),
    /// The slot stopped belonging to the key before the check could count
    /// (see `table`): nothing is counted, and the check looks the key up
    /// again.
    Lost,
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
    admit_while(words, lengths, limits, now_secs, cost, || true, || true)
}

/// [`admit`] for a slot of the key table: `owned` tells whether the slot
/// still belongs to the key at the floor the check counts at, and is asked
/// after every read of a word and before any exchange based on it; `mine`,
/// whether it still belongs to the key at all, gates the release of
/// earlier reservations (see [`release_while`]).
///
/// A word read after a reclaimer reset it (or after the new owner counted
/// in it) is acquired from the reset's `Release`, so `owned` then sees the
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
    owned: impl Fn() -> bool,
    mine: impl Fn() -> bool,
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
    if !owned() {
        return Admission::Lost;
    }
    if !seen.fits_all(cost, limits) {
        return Admission::Denied(seen);
    }
    for i in 0..N {
        let reserved = reserve_from(&words[i], raw[i], now_index[i], cost, limits[i], &owned);
        let refused = match reserved {
            Ok((index, count)) => {
                seen.index[i] = index;
                seen.count[i] = count;
                continue;
            }
            Err(refused) => refused,
        };
        for ((word, &index), count) in words.iter().zip(&seen.index).zip(&mut seen.count).take(i) {
            release_while(word, index, cost, &mine);
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
/// `mine` says the slot is still the key's.
pub(crate) fn undo<const N: usize>(
    words: &[AtomicU64; N],
    admitted: &Tally<N>,
    cost: u32,
    mine: impl Fn() -> bool,
) {
    for (word, &index) in words.iter().zip(&admitted.index) {
        release_while(word, index, cost, &mine);
    }
}

/// Adds `cost` to one window if it fits: `Ok((index, count_after))`, or
/// `Err(Some((index, count)))` when it does not.
#[cfg_attr(
    any(not(test), loom),
    allow(
        dead_code,
        reason = "admit starts from its own read; kept for tests and models"
    )
)]
fn reserve(
    word: &AtomicU64,
    now_index: u64,
    cost: u32,
    limit: u32,
) -> Result<(u64, u32), Option<(u64, u32)>> {
    // Relaxed: the compare-exchange in `reserve_from` validates whatever
    // this read saw.
    let current = word.load(Ordering::Relaxed);
    reserve_from(word, current, now_index, cost, limit, &|| true)
}

/// [`reserve`], starting from `current`, a value of `word` read earlier
/// (by [`admit`]'s observing pass): the compare-exchange validates it, so
/// a stale value costs one failed exchange, never a wrong count. After a
/// failed exchange, `owned` is asked again before the next (see
/// [`admit_while`]); `Err(None)` when it says no.
#[inline]
fn reserve_from(
    word: &AtomicU64,
    mut current: u64,
    now_index: u64,
    cost: u32,
    limit: u32,
    owned: &impl Fn() -> bool,
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
        // loop counts on, and `owned` must see a reclaim that wrote it.
        match word.compare_exchange_weak(
            current,
            pack(index, after),
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok((index, after)),
            Err(actual) => {
                if !owned() {
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
    release_while(word, index, cost, &|| true);
}

/// [`release`] in a slot of the key table, while `mine` says the slot
/// still belongs to the key: `mine` is asked after every read of the word
/// and before the exchange based on it, so a release never lowers a count
/// of the slot's next owner, whose window index may equal this key's in
/// other units (see `table`).
fn release_while(word: &AtomicU64, index: u64, cost: u32, mine: &impl Fn() -> bool) {
    let backoff = Backoff::new();
    // Acquire: a value written by a reclaim's reset (or after it) makes
    // `mine` see the reclaim.
    let mut current = word.load(Ordering::Acquire);
    loop {
        if current >> 32 != pack(index, 0) >> 32 || count_of(current) < cost || !mine() {
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

#[cfg(all(test, loom))]
pub(crate) mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::length::WindowLength;

    fn windows(spec: &[(u32, u64)]) -> Vec<Window> {
        spec.iter()
            .map(|&(l, s)| Window::new(l, WindowLength::from_secs(s).unwrap()))
            .collect()
    }

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn view_reads_current_stale_and_newer_windows() {
        assert_eq!(view(pack(7, 3), 7), (7, 3));
        assert_eq!(view(pack(6, 3), 7), (7, 0));
        assert_eq!(view(pack(9, 3), 7), (9, 3));
        // The neutral word is an empty current window, even where its index
        // would read as newer.
        assert_eq!(view(NEUTRAL, (1u64 << 32) - 1), ((1u64 << 32) - 1, 0));
        // Across the 2^32 wrap of the stored index.
        let near_wrap = (1u64 << 32) + 2;
        assert_eq!(view(pack(near_wrap - 4, 5), near_wrap), (near_wrap, 0));
        assert_eq!(view(pack(near_wrap + 4, 5), near_wrap), (near_wrap + 4, 5));
    }

    #[test]
    fn view_at_the_horizon() {
        // 2^31 - 1 windows old is still recognised as stale...
        let now = 1u64 << 40;
        let old = now - ((1u64 << 31) - 1);
        assert_eq!(view(pack(old, 9), now), (now, 0));
        // ...and 2^31 - 1 windows ahead as newer.
        let ahead = now + ((1u64 << 31) - 1);
        assert_eq!(view(pack(ahead, 9), now), (ahead, 9));
        // Exactly 2^31 old wraps to "2^31 behind" and still reads as stale.
        assert_eq!(view(pack(now - (1u64 << 31), 9), now), (now, 0));
        // One window further and an untouched count reappears: the documented horizon.
        assert_eq!(view(pack(now - (1u64 << 31) - 1, 9), now).1, 9);
    }

    #[test]
    fn view_saturates_at_the_far_future() {
        assert_eq!(view(pack(u64::MAX, 1), u64::MAX - 1), (u64::MAX, 1));
        assert_eq!(view(pack(2, 1), u64::MAX), (u64::MAX, 1));
    }

    #[test]
    fn admission_is_all_or_nothing() {
        let ws = windows(&[(60, 60), (20, 10)]);
        let w = words(2);
        for n in 1..=20 {
            let Admission::Admitted(o) = admit_any(&w, &ws, &[60, 20], 600, 1) else {
                panic!("denied at {n}")
            };
            assert_eq!(o.count[..2], [n, n]);
        }
        let before: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        assert!(matches!(
            admit_any(&w, &ws, &[60, 20], 600, 1),
            Admission::Denied(_)
        ));
        let after: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn a_reservation_from_a_stale_read_retries() {
        let w = AtomicU64::new(pack(5, 3));
        // Started from an older value of the word: the exchange fails,
        // picks up the current value and counts on top of it.
        assert_eq!(reserve_from(&w, pack(5, 1), 5, 1, 4, &|| true), Ok((5, 4)));
        assert_eq!(reserve(&w, 5, 1, 4), Err(Some((5, 4))));
        assert_eq!(
            reserve_from(&w, NEUTRAL, 5, 1, 4, &|| true),
            Err(Some((5, 4)))
        );
        assert_eq!(w.load(Ordering::Relaxed), pack(5, 4));
        // A stale read of an ended window opens the current one.
        assert_eq!(reserve_from(&w, pack(4, 9), 6, 2, 4, &|| true), Ok((6, 2)));
    }

    #[test]
    fn admission_with_every_window_count() {
        let all = [(8, 3600), (6, 60), (4, 10), (2, 1)];
        for n in 1..=MAX_WINDOWS {
            let ws = windows(&all[..n]);
            let limits: Vec<u32> = all[..n].iter().map(|&(l, _)| l).collect();
            let w = words(n);
            let binding = limits[n - 1];
            for k in 1..=binding {
                let Admission::Admitted(o) = admit_any(&w, &ws, &limits, 7_200, 1) else {
                    panic!("{n} windows: denied at {k}")
                };
                assert_eq!(o.len, n);
                assert!(o.count[..n].iter().all(|&c| c == k));
            }
            let before: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
            let Admission::Denied(o) = admit_any(&w, &ws, &limits, 7_200, 1) else {
                panic!("{n} windows: over-admitted")
            };
            assert_eq!(o.count[n - 1], binding);
            let after: Vec<u64> = w.iter().map(|a| a.load(Ordering::Relaxed)).collect();
            assert_eq!(before, after);
        }
    }

    #[test]
    fn release_is_guarded_by_the_window() {
        let w = AtomicU64::new(pack(5, 3));
        release(&w, 4, 1);
        assert_eq!(w.load(Ordering::Relaxed), pack(5, 3));
        release(&w, 5, 4);
        assert_eq!(w.load(Ordering::Relaxed), pack(5, 3));
        release(&w, 5, 2);
        assert_eq!(w.load(Ordering::Relaxed), pack(5, 1));
    }

    #[test]
    fn a_straggler_counts_in_the_newer_window() {
        let ws = windows(&[(2, 10)]);
        let w = words(1);
        assert!(matches!(
            admit_any(&w, &ws, &[2], 100, 1),
            Admission::Admitted(_)
        ));
        // Two windows behind: still window 10, one unit left.
        let Admission::Admitted(o) = admit_any(&w, &ws, &[2], 80, 1) else {
            panic!()
        };
        assert_eq!((o.index[0], o.count[0]), (10, 2));
        assert!(matches!(
            admit_any(&w, &ws, &[2], 5, 1),
            Admission::Denied(_)
        ));
        // The next window opens normally.
        assert!(matches!(
            admit_any(&w, &ws, &[2], 110, 2),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn the_largest_limit_and_cost() {
        let ws = windows(&[(u32::MAX, 60)]);
        let w = words(1);
        assert!(matches!(
            admit_any(&w, &ws, &[u32::MAX], 0, u32::MAX),
            Admission::Admitted(_)
        ));
        assert!(matches!(
            admit_any(&w, &ws, &[u32::MAX], 0, 1),
            Admission::Denied(_)
        ));
        assert_eq!(w[0].load(Ordering::Relaxed), pack(0, u32::MAX));
    }
}
