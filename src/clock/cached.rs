//! A clock read from memory, kept current by its embedder.
//!
//! A proxy's event loop already knows the time once per turn, and a server
//! can afford one thread of its own that wakes every millisecond. Either
//! can keep a [`CachedClock`] current, and a check then reads the time with
//! one load instead of a call into the vDSO (`BENCHMARKS.md` has both
//! reads and the checks that use them). The core spawns no thread: keeping the time current is the embedder's, as is deciding which
//! thread does it.
//!
//! What staleness costs is in the type's docs ("Staleness"): a cached
//! time refreshed from [`CoarseClock`] lags by the refresh interval plus
//! that clock's tick, plus however late the refreshing thread is
//! scheduled, and a time nobody refreshes stands still.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::{saturating_nanos, Clock, CoarseClock};

/// A wall clock that returns the time last stored in it: one load per read.
///
/// Keep it current with [`refresh`](Self::refresh), which stores
/// [`CoarseClock`]'s time, or [`set`](Self::set), with a time the caller
/// already has: from an event loop once per turn, or from a thread of the
/// embedder's that wakes every millisecond. Refresh it from one thread,
/// or a few: every store that changes the time takes the line from the
/// caches of the threads that read it, and two refreshers racing may
/// leave the older of their two times for a moment (a step back, which
/// the limiter handles as it handles any clock's).
///
/// # Staleness
///
/// A limiter on this clock works at the time last stored. A time a few
/// milliseconds old changes a decision only where a window turns over (a
/// check may still count in the window that just ended), the trade
/// [`CoarseClock`] makes with its tick. But a time that nobody refreshes
/// stands still: windows stop turning over, and keys that spent their
/// limits stay denied until it moves. Refresh it from something that runs
/// as long as the server does, every millisecond or so.
///
/// Clones share one time, so one clone goes to the limiter and another to
/// whatever refreshes it. Time is kept in nanoseconds since the unix epoch,
/// like [`ManualClock`](super::ManualClock): it spans 584 years and
/// saturates there. Reading it never panics.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tollgate::{CachedClock, Class, Limiter, Policy};
///
/// let clock = CachedClock::new();
/// let limiter = Limiter::builder(Policy::default())
///     .clock(clock.clone())
///     .build()?;
///
/// // The server's own thread keeps the time current until told to stop.
/// let stop = Arc::new(AtomicBool::new(false));
/// let refresher = std::thread::spawn({
///     let (clock, stop) = (clock.clone(), Arc::clone(&stop));
///     move || {
///         // Relaxed: the flag publishes nothing; `join` orders the rest.
///         while !stop.load(Ordering::Relaxed) {
///             clock.refresh();
///             std::thread::sleep(Duration::from_millis(1));
///         }
///     }
/// });
///
/// assert!(limiter.check("key_1", Class::READ).is_allowed());
/// // Relaxed: as in the thread's loop.
/// stop.store(true, Ordering::Relaxed);
/// refresher.join().unwrap();
/// # Ok::<(), tollgate::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CachedClock {
    // Padded: every check reads this line, and the refresher writes it;
    // nothing else written often may share it.
    nanos: Arc<CachePadded<AtomicU64>>,
}

impl CachedClock {
    /// A clock holding [`CoarseClock`]'s time now. Like
    /// [`refresh`](Self::refresh), it cannot run under valgrind, where
    /// rustix's vDSO lookup faults: use [`at`](Self::at) there.
    pub fn new() -> Self {
        Self::at(CoarseClock.now())
    }

    /// A clock holding `now` (a duration since the unix epoch) until it is
    /// refreshed or set.
    pub fn at(now: Duration) -> Self {
        Self {
            nanos: Arc::new(CachePadded::new(AtomicU64::new(saturating_nanos(now)))),
        }
    }

    /// Stores `now` (a duration since the unix epoch); it may go backwards,
    /// as the wall clock may. A time equal to the one held is not stored
    /// again, so the readers' caches keep the line.
    pub fn set(&self, now: Duration) {
        let nanos = saturating_nanos(now);
        // Relaxed: the time is a single value; no other memory hangs on it,
        // and a reader that sees the previous time for a moment sees a time
        // that was true an interval ago.
        if self.nanos.load(Ordering::Relaxed) != nanos {
            // Relaxed: as above. A store racing with another refresher's
            // may leave the older of two times a tick apart, until the next
            // refresh.
            self.nanos.store(nanos, Ordering::Relaxed);
        }
    }

    /// Stores [`CoarseClock`]'s time now. Between two of its ticks (1–10
    /// ms) the time does not change and nothing is written.
    pub fn refresh(&self) {
        self.set(CoarseClock.now());
    }
}

/// [`CachedClock::new`]: the coarse clock's time now, not the epoch (a
/// limiter given a clock at the epoch would count in 1970's windows until
/// the first refresh).
impl Default for CachedClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for CachedClock {
    #[inline]
    fn now(&self) -> Duration {
        // Relaxed: as in `set`.
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1_746_489_600);

    #[test]
    fn clones_share_the_stored_time() {
        let a = CachedClock::at(T0);
        let b = a.clone();
        assert_eq!(b.now(), T0);
        a.set(T0 + Duration::from_millis(1_500));
        assert_eq!(b.now(), T0 + Duration::from_millis(1_500));
        // Backwards, as a wall clock may step.
        b.set(T0 - Duration::from_secs(60));
        assert_eq!(a.now(), T0 - Duration::from_secs(60));
        // The same time again, then the horizon.
        b.set(T0 - Duration::from_secs(60));
        assert_eq!(a.now(), T0 - Duration::from_secs(60));
        a.set(Duration::MAX);
        assert_eq!(a.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn refresh_and_new_read_the_coarse_clock() {
        let lower = Duration::from_secs(1_700_000_000);
        let c = CachedClock::at(Duration::ZERO);
        c.refresh();
        let coarse = CoarseClock.now();
        assert!(c.now() > lower, "{:?}", c.now());
        // Within a second of the coarse clock read just after (a wall
        // clock may step between the two reads).
        assert!(c.now() <= coarse + Duration::from_secs(1));
        assert!(c.now() + Duration::from_secs(1) >= coarse);
        assert!(CachedClock::new().now() > lower);
        assert!(CachedClock::default().now() > lower);
    }
}
