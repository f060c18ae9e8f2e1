//! Decisions: what a check answers, and the rule that makes them.

use std::num::NonZeroU64;

use crate::state::Tally;
use crate::window::Window;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Admitted: the cost was counted in every window of the class.
    Allowed,
    /// Denied: some window has no room for the cost now; it will after
    /// [`Decision::retry_after`] seconds. Nothing was counted.
    Denied,
    /// The cost is above the limit of some window of the class, so no
    /// amount of waiting admits it. Nothing was counted.
    CostTooLarge,
    /// The key is new, every slot it may use holds live state, and the
    /// limiter fails closed ([`OnFull::Deny`](crate::OnFull::Deny)).
    /// A slot frees up after [`Decision::retry_after`] seconds.
    TableFull,
    /// The key is new and the table is full, and the limiter fails open
    /// ([`OnFull::Allow`](crate::OnFull::Allow)): admitted without being
    /// counted.
    AllowedUntracked,
    /// The class is not in the limiter's policy. Nothing was counted.
    UnknownClass,
}

/// The answer to a check or a peek: admitted or not, and every figure a
/// server needs for its response headers and its 429 body.
///
/// All numbers are whole: counts of cost units, and unix seconds or
/// seconds for times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    pub(crate) outcome: Outcome,
    /// Held in 64 bits, like every other figure: a check builds its
    /// decision in one place and returns it by value, and fields of one
    /// width let that copy forward each store to its load (two adjacent
    /// 32-bit stores read back as one 64-bit load stall for ~15 cycles).
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    pub(crate) reset: u64,
    /// At least 1 when set: `NonZeroU64` keeps the option in 8 bytes.
    pub(crate) retry_after: Option<NonZeroU64>,
    pub(crate) window: Option<Window>,
    pub(crate) binding: Option<Window>,
    pub(crate) now: u64,
    /// Made without the store that keeps the counts (see `is_degraded`).
    pub(crate) degraded: bool,
}

impl Decision {
    /// Whether the request was admitted (and counted, unless the limiter
    /// failed open: see [`Outcome::AllowedUntracked`]). For a peek: whether
    /// a check of cost 1 would be admitted now.
    #[inline]
    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed | Outcome::AllowedUntracked)
    }

    /// How the check ended, in more detail than [`is_allowed`](Self::is_allowed).
    #[inline]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The class's primary (longest-window) limit for this key:
    /// `X-RateLimit-Limit`. 0 for an unknown class.
    #[inline]
    pub fn limit(&self) -> u32 {
        u32::try_from(self.limit).unwrap_or(u32::MAX)
    }

    /// The least room left over the class's windows after this check:
    /// `X-RateLimit-Remaining`.
    #[inline]
    pub fn remaining(&self) -> u32 {
        u32::try_from(self.remaining).unwrap_or(u32::MAX)
    }

    /// Unix seconds at which [`remaining`](Self::remaining) next grows: the
    /// end of the longest window among those with the least room left —
    /// `X-RateLimit-Reset`.
    #[inline]
    pub fn reset(&self) -> u64 {
        self.reset
    }

    /// Whole seconds until a request of the same cost would be admitted
    /// with no other traffic (at least 1): `Retry-After`. `Some` only for
    /// [`Outcome::Denied`] and [`Outcome::TableFull`].
    #[inline]
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after.map(NonZeroU64::get)
    }

    /// For a denial, the window that denied it (the one that ends last,
    /// which sets `retry_after`); for [`Outcome::CostTooLarge`], the window
    /// whose limit is below the cost. The 429 body's `details`.
    pub fn denied_by(&self) -> Option<Window> {
        self.window
    }

    /// The window that sets [`remaining`](Self::remaining) and
    /// [`reset`](Self::reset) (with this key's limit): the longest among
    /// those with the least room. Names the policy in the IETF `RateLimit`
    /// field. `None` for an unknown class.
    pub fn binding(&self) -> Option<Window> {
        self.binding
    }

    /// The time of the check as given (the clock's reading or the `now`
    /// argument), in whole unix seconds. A check whose clock lags the
    /// key's newest window counts in that window, whose end then sets
    /// `reset` and `retry_after` relative to this time.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Whether a limiter that keeps its counts in a store shared by a
    /// fleet made this decision without the store (unreachable, or too
    /// slow), by its policy for that case: the figures are then not the
    /// fleet's. Never for the in-process [`Limiter`](crate::Limiter).
    pub fn is_degraded(&self) -> bool {
        self.degraded
    }

    /// This decision, marked as made without the store that keeps the
    /// counts ([`is_degraded`](Self::is_degraded)).
    #[must_use]
    pub fn degraded(mut self) -> Self {
        self.degraded = true;
        self
    }

    /// Seconds from the check until [`reset`](Self::reset).
    pub fn reset_after(&self) -> u64 {
        self.reset.saturating_sub(self.now)
    }

    /// The decision for a check of `cost` against windows whose counts, as
    /// found before the check, are `found`: the rule every check follows.
    ///
    /// A cost of 0 is a peek: it reports what a cost of 1 would get. A
    /// cost above some window's limit can never pass
    /// ([`Outcome::CostTooLarge`]). Otherwise the cost is admitted if and
    /// only if every window has room for it, and the decision reports the
    /// counts after it.
    #[inline(always)]
    pub(crate) fn judge<const N: usize>(
        windows: &[Window; N],
        limits: &[u32; N],
        found: &Tally<N>,
        cost: u32,
        now: u64,
    ) -> Self {
        // One decision built in one place: the outcome, the counts it
        // reports and the cost it is explained for.
        let (outcome, seen, cost) = if cost == 0 {
            let outcome = if found.fits_all(1, limits) {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            (outcome, *found, 1)
        } else if limits.iter().any(|&l| l < cost) {
            (Outcome::CostTooLarge, *found, cost)
        } else if found.fits_all(cost, limits) {
            let after = Tally {
                index: found.index,
                // Every count fits with the cost under a u32 limit.
                count: found.count.map(|c| c.saturating_add(cost)),
            };
            (Outcome::Allowed, after, cost)
        } else {
            (Outcome::Denied, *found, cost)
        };
        Self::from_windows(outcome, windows, limits, &seen, now, cost)
    }

    /// Builds a decision from the windows of one state.
    ///
    /// `counts` are after the check when admitted, as found otherwise;
    /// `cost` is what was asked (1 for a peek).
    #[inline(always)]
    pub(crate) fn from_windows<const N: usize>(
        outcome: Outcome,
        windows: &[Window; N],
        limits: &[u32; N],
        seen: &Tally<N>,
        now: u64,
        cost: u32,
    ) -> Self {
        let (Some(&first), Some(&limit)) = (windows.first(), limits.first()) else {
            return Self::unknown_class(now);
        };
        // Windows are longest first: the first with the least room is the
        // longest among them.
        let mut remaining = limit.saturating_sub(seen.count[0]);
        let mut bound = 0;
        // An index loop: what it finds is an index, and over arrays of a
        // constant length it compiles to fewer instructions than zipped
        // iterators.
        #[expect(
            clippy::needless_range_loop,
            reason = "the loop finds an index, and compiles to fewer instructions than zipped iterators"
        )]
        for i in 1..N {
            let left = limits[i].saturating_sub(seen.count[i]);
            if left < remaining {
                remaining = left;
                bound = i;
            }
        }
        // The binding window's end, worked out once. `bound < N`, so the
        // first arm is the one taken; the second keeps this free of
        // indexing that could panic.
        let (binding, reset) = match (windows.get(bound), limits.get(bound), seen.index.get(bound))
        {
            (Some(w), Some(&l), Some(&index)) => (Window::new(l, w.length()), w.end_of(index)),
            _ => (
                Window::new(limit, first.length()),
                first.end_of(seen.index[0]),
            ),
        };
        // Worked out of line and returned in registers, so that the
        // decision is built once, in place.
        let (retry_after, window) = if matches!(outcome, Outcome::Denied | Outcome::CostTooLarge) {
            Self::explain(outcome, windows, limits, seen, now, cost)
        } else {
            (None, None)
        };
        Decision {
            outcome,
            limit: limit.into(),
            remaining: remaining.into(),
            reset,
            retry_after,
            window,
            binding: Some(binding),
            now,
            degraded: false,
        }
    }

    /// For a denial, when to retry and the window that denies it; for a
    /// cost above a limit, the window with the smallest limit below the
    /// cost (which tells the caller the largest cost that can ever pass).
    #[cold]
    #[inline(never)]
    fn explain<const N: usize>(
        outcome: Outcome,
        windows: &[Window; N],
        limits: &[u32; N],
        seen: &Tally<N>,
        now: u64,
        cost: u32,
    ) -> (Option<NonZeroU64>, Option<Window>) {
        if outcome == Outcome::CostTooLarge {
            let window = (0..N)
                .filter(|&i| limits[i] < cost)
                .min_by_key(|&i| limits[i])
                .map(|i| Window::new(limits[i], windows[i].length()));
            return (None, window);
        }
        // The denying window that ends last; on a tie, the longest.
        let mut latest: Option<(u64, usize)> = None;
        for i in 0..N {
            if u64::from(seen.count[i]).saturating_add(u64::from(cost)) > u64::from(limits[i]) {
                let end = windows[i].end_of(seen.index[i]);
                if latest.is_none_or(|(e, _)| end > e) {
                    latest = Some((end, i));
                }
            }
        }
        match latest {
            Some((end, i)) => (
                NonZeroU64::new(end.saturating_sub(now).max(1)),
                Some(Window::new(limits[i], windows[i].length())),
            ),
            None => (None, None),
        }
    }

    /// The decision for a check of a class the policy does not have.
    pub(crate) fn unknown_class(now: u64) -> Self {
        Decision {
            outcome: Outcome::UnknownClass,
            limit: 0,
            remaining: 0,
            reset: now,
            retry_after: None,
            window: None,
            binding: None,
            now,
            degraded: false,
        }
    }

    /// The decision for a new key refused because the table is full.
    pub(crate) fn table_full(primary: Window, limit: u32, now: u64, frees_at: u64) -> Self {
        let retry = frees_at.saturating_sub(now).max(1);
        Decision {
            outcome: Outcome::TableFull,
            limit: limit.into(),
            remaining: 0,
            reset: now.saturating_add(retry),
            retry_after: NonZeroU64::new(retry),
            window: Some(Window::new(limit, primary.length())),
            binding: Some(Window::new(limit, primary.length())),
            now,
            degraded: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_stay_small() {
        // A check returns its decision by value: 64 bytes are eight words
        // to write and copy, where the first layout (u64 lengths, plain
        // options) took 96.
        assert_eq!(std::mem::size_of::<Window>(), 8);
        assert_eq!(std::mem::size_of::<Option<Window>>(), 8);
        assert!(std::mem::size_of::<Decision>() <= 64);
    }
}
