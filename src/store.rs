//! Deciding from counts kept outside the limiter.
//!
//! A limiter whose counts live in a store shared by a fleet of servers
//! (Redis, say) reads a key's windows there, admits or denies, and counts
//! in all windows or none, in one atomic step of the store. What it then
//! answers must be what the in-process [`Limiter`](crate::Limiter) would
//! answer for the same counts: [`decide`] is that rule as a pure function,
//! the one the in-process limiter applies to the windows it reads.
//!
//! When the store cannot be reached, [`untracked`] and [`unavailable`]
//! are the decisions of a limiter that then lets requests through, or
//! refuses them, without counting; mark them
//! [`degraded`](Decision::degraded).
//!
//! ```
//! use std::time::Duration;
//! use tollgate::store::{decide, WindowCount};
//! use tollgate::{Class, Outcome, Policy};
//!
//! let policy = Policy::default();
//! let write = policy.class_policy(Class::WRITE).unwrap();
//! let now = 1_746_489_605; // 5 s into a minute and into a 10-second window
//! // What the store holds: 59 writes this minute, 3 in this 10 seconds.
//! let counts = [
//!     WindowCount { index: now / 60, count: 59 },
//!     WindowCount { index: now / 10, count: 3 },
//! ];
//! let d = decide(write.windows(), &counts, 1, Duration::from_secs(now));
//! assert!(d.is_allowed());
//! assert_eq!((d.limit(), d.remaining(), d.reset()), (60, 0, 1_746_489_660));
//!
//! // One more would go over the minute's 60: denied until it ends.
//! let counts = [
//!     WindowCount { index: now / 60, count: 60 },
//!     WindowCount { index: now / 10, count: 4 },
//! ];
//! let d = decide(write.windows(), &counts, 1, Duration::from_secs(now));
//! assert_eq!(d.outcome(), Outcome::Denied);
//! assert_eq!(d.retry_after(), Some(55));
//! ```

use std::num::NonZeroU64;
use std::time::Duration;

use crate::decision::{Decision, Outcome};
use crate::length::WindowLength;
use crate::policy::MAX_WINDOWS;
use crate::state::Tally;
use crate::window::Window;

/// One window's count, as a store keeps it: which window, and the cost
/// admitted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WindowCount {
    /// The window's index: window `i` of length `L` seconds covers unix
    /// time `[i * L, (i + 1) * L)`.
    pub index: u64,
    /// The cost admitted in that window.
    pub count: u32,
}

impl WindowCount {
    /// What a stored count stands for at `now` in windows of `length`.
    ///
    /// A count of a window that has ended stands for an empty current
    /// window. A count of a window that has not begun at `now` (a clock
    /// behind the one that counted) stands as it is: that newer window
    /// keeps counting, and is never reopened or reset by an earlier time.
    pub fn at(self, length: WindowLength, now: Duration) -> WindowCount {
        let current = Window::new(0, length).index_at(now.as_secs());
        if self.index < current {
            WindowCount {
                index: current,
                count: 0,
            }
        } else {
            self
        }
    }
}

/// The decision for a check of `cost` at `now` (a duration since the unix
/// epoch), against `windows` (a class's windows with the key's limits,
/// longest first, as [`ClassPolicy::windows`](crate::policy::ClassPolicy::windows)
/// or [`Limiter::limits_for`](crate::Limiter::limits_for) give them) whose
/// counts before the check are `counts`, one per window in the same order,
/// as [`WindowCount::at`] reads them at `now`.
///
/// A cost of 0 is a peek (it reports what a cost of 1 would get). A cost
/// above some window's limit is [`Outcome::CostTooLarge`].
/// Otherwise the cost is admitted if and only if every window has room for
/// it, and the decision reports the counts after it: the store must count
/// `cost` in every window exactly when the decision
/// [`is_allowed`](Decision::is_allowed).
///
/// Missing counts are empty current windows, extra counts are ignored, and
/// counts are read as [`WindowCount::at`] says; no windows, or more than
/// [`ClassPolicy::MAX_WINDOWS`](crate::policy::ClassPolicy::MAX_WINDOWS),
/// give the decision of an unknown class. Never panics.
pub fn decide(windows: &[Window], counts: &[WindowCount], cost: u32, now: Duration) -> Decision {
    match windows.len() {
        1 => decide_n::<1>(windows, counts, cost, now),
        2 => decide_n::<2>(windows, counts, cost, now),
        3 => decide_n::<3>(windows, counts, cost, now),
        MAX_WINDOWS => decide_n::<MAX_WINDOWS>(windows, counts, cost, now),
        _ => Decision::unknown_class(now.as_secs()),
    }
}

/// The decision for a check of `cost` at `now` admitted without being
/// counted anywhere: what a store-backed limiter answers when its store is
/// out of reach and it is configured to let requests through.
///
/// Its outcome is [`Outcome::AllowedUntracked`],
/// and its figures are those of an empty key that took `cost` (or 1, for
/// a peek of cost 0): the class's limits, `remaining` after `cost`, and
/// `reset` at the end of the binding window. A cost above some window's
/// limit is still [`Outcome::CostTooLarge`],
/// as [`decide`] gives it: no store can ever admit it. `windows` as for
/// [`decide`]; no windows, or too many, give the decision of an unknown
/// class. Never panics.
pub fn untracked(windows: &[Window], cost: u32, now: Duration) -> Decision {
    let d = decide(windows, &[], cost, now);
    if d.outcome() == Outcome::Allowed {
        Decision {
            outcome: Outcome::AllowedUntracked,
            ..d
        }
    } else {
        d
    }
}

/// The decision for a check at `now` refused because the store that keeps
/// the counts cannot be reached, with a `Retry-After` of `retry_after`
/// seconds (at least 1): what a store-backed limiter answers when its
/// store is out of reach and it is configured to deny.
///
/// It reads as a denial by the class's primary window (the one its
/// `limit` and the 429 body's details name), with nothing remaining until
/// `now + retry_after`, which is its `reset`. A cost above some window's
/// limit is still [`Outcome::CostTooLarge`],
/// as [`decide`] gives it. `windows` as for [`decide`]; no windows, or too
/// many, give the decision of an unknown class. Never panics.
pub fn unavailable(windows: &[Window], cost: u32, now: Duration, retry_after: u64) -> Decision {
    let d = decide(windows, &[], cost, now);
    if !matches!(d.outcome(), Outcome::Allowed | Outcome::Denied) {
        return d;
    }
    let Some(primary) = windows.first().copied() else {
        return d;
    };
    let secs = now.as_secs();
    let retry = retry_after.max(1);
    Decision {
        outcome: Outcome::Denied,
        limit: primary.limit().into(),
        remaining: 0,
        reset: secs.saturating_add(retry),
        retry_after: NonZeroU64::new(retry),
        window: Some(primary),
        binding: Some(primary),
        now: secs,
        degraded: false,
    }
}

/// [`decide`] for exactly `N` windows.
fn decide_n<const N: usize>(
    windows: &[Window],
    counts: &[WindowCount],
    cost: u32,
    now: Duration,
) -> Decision {
    let secs = now.as_secs();
    let Some(windows) = windows.first_chunk::<N>() else {
        return Decision::unknown_class(secs);
    };
    let limits = windows.map(|w| w.limit());
    let mut found = Tally::fresh(windows, secs);
    for ((index, count), (w, c)) in found
        .index
        .iter_mut()
        .zip(&mut found.count)
        .zip(windows.iter().zip(counts))
    {
        let seen = c.at(w.length(), now);
        (*index, *count) = (seen.index, seen.count);
    }
    Decision::judge(windows, &limits, &found, cost, secs)
}

#[cfg(test)]
mod tests;
