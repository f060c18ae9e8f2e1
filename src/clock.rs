//! Where the time of a check comes from.
//!
//! Windows are aligned to the unix epoch, so every clock here
//! reports wall-clock time as a [`Duration`] since 1970-01-01T00:00:00Z.
//! Limits work on whole seconds: a window is at least one second long, and
//! `reset` and `retry_after` are whole seconds, so a clock that is a few
//! milliseconds stale changes no decision except at the instant a window
//! turns over.
//!
//! This is the only module that reads the operating system's time. The
//! limiter never needs a monotonic clock: a clock that steps backwards is
//! handled by the counters themselves (a window, once opened, is never
//! reopened or reset by an older `now`).
//!
//! # Which clock is the default
//!
//! [`CoarseClock`] is the default. On Linux it reads `CLOCK_REALTIME_COARSE`
//! through the vDSO: no system call and no `rdtsc`, only a read of the time
//! the kernel stored at its last timer tick (a resolution of 1–10 ms, far
//! finer than the one second a window needs). Elsewhere it falls back to
//! [`SystemClock`].
//!
//! A coarse read costs a few nanoseconds, about a tenth of
//! [`SystemClock`]'s and a small part of a check (`BENCHMARKS.md` has the
//! figures of every clock). The reasons it is the default: windows are
//! whole seconds aligned to the unix epoch, so a check needs wall-clock
//! seconds, not nanoseconds; a monotonic clock (`Instant`, a TSC) would
//! need an offset to the epoch that drifts from the wall clock the windows
//! are defined by; and of the wall clocks the coarse one is the cheapest,
//! with no system call.
//!
//! # Cheaper still: a cached time
//!
//! [`CachedClock`] returns a time the embedder stores in memory and keeps
//! current: from an event loop once per turn, or from a thread of its own
//! every millisecond. A read is one load instead of `CoarseClock`'s few
//! nanoseconds (`BENCHMARKS.md` has both, and checks with each). It is
//! not the default because it needs that
//! refresher, and the core starts no thread: a time
//! nobody refreshes stands still.
//!
//! One caveat: rustix's vDSO lookup does not work under valgrind (the
//! process faults while parsing the vDSO that valgrind provides; rustix
//! issue 1559), so a program profiled with valgrind should give its
//! limiter a [`SystemClock`], a [`CachedClock`] made with
//! [`CachedClock::at`] and set from it, or call the `*_at` methods.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod cached;

pub use cached::CachedClock;

/// A source of wall-clock time for a [`Limiter`](crate::Limiter).
///
/// `now` returns the time since the unix epoch. It may step backwards (an
/// NTP correction, a test moving a [`ManualClock`] back): the limiter then
/// keeps counting in the newest window it has seen for a key and never
/// over-admits. Implementations must not panic.
pub trait Clock: Send + Sync {
    /// The current time, as a duration since the unix epoch.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// The operating system's wall clock, `std::time::SystemTime::now()`,
/// with full (nanosecond) resolution.
///
/// A time before the unix epoch reads as zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// The operating system's wall clock at timer-tick resolution: the cheap
/// clock for the hot path, and the limiter's default.
///
/// On Linux this is `CLOCK_REALTIME_COARSE` read through the vDSO
/// (resolution 1–10 ms depending on the kernel's tick); on other systems it
/// is [`SystemClock`]. A time before the unix epoch reads as zero.
///
/// It cannot run under valgrind, where rustix's vDSO lookup faults (rustix
/// issue 1559): give a limiter profiled with valgrind a [`SystemClock`] or
/// a [`CachedClock`] made with [`CachedClock::at`] and set from it, or
/// call the `*_at` methods.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoarseClock;

impl Clock for CoarseClock {
    #[cfg(target_os = "linux")]
    #[inline]
    fn now(&self) -> Duration {
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        match (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
            (Ok(secs), Ok(nanos)) if nanos < 1_000_000_000 => Duration::new(secs, nanos),
            _ => Duration::ZERO,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn now(&self) -> Duration {
        SystemClock.now()
    }
}

/// A clock that moves only when told to: for tests, simulations and
/// replaying logs.
///
/// Clones share one time, so a test keeps a clone, hands another to the
/// limiter, and moves both with [`advance`](Self::advance) and
/// [`set`](Self::set). Time is kept in nanoseconds: it spans 584 years from
/// the epoch and saturates there (use the limiter's `*_at` methods to check
/// at any later instant).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `now` (a duration since the unix epoch) until moved.
    pub fn new(now: Duration) -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(saturating_nanos(now))),
        }
    }

    /// Moves the clock forward by `by`, saturating at its horizon.
    pub fn advance(&self, by: Duration) {
        let by = saturating_nanos(by);
        // Relaxed: the clock is a single value; no other memory hangs on it.
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Moves the clock back by `by`, stopping at the epoch.
    pub fn rewind(&self, by: Duration) {
        let by = saturating_nanos(by);
        // Relaxed: as in `advance`.
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(by))
            });
    }

    /// Sets the clock to `now` (a duration since the unix epoch); it may go
    /// backwards.
    pub fn set(&self, now: Duration) {
        // Relaxed: as in `advance`.
        self.nanos.store(saturating_nanos(now), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Duration {
        // Relaxed: as in `advance`.
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_shares_time_between_clones() {
        let a = ManualClock::new(Duration::from_secs(1_746_489_600));
        let b = a.clone();
        a.advance(Duration::from_millis(2_500));
        assert_eq!(b.now(), Duration::from_millis(1_746_489_602_500));
        b.set(Duration::from_secs(10));
        assert_eq!(a.now(), Duration::from_secs(10));
        a.rewind(Duration::from_secs(11));
        assert_eq!(a.now(), Duration::ZERO);
    }

    #[test]
    fn manual_clock_saturates_at_its_horizon() {
        let c = ManualClock::new(Duration::MAX);
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX));
        c.advance(Duration::from_secs(1));
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn system_clocks_read_the_present() {
        // Any date after this crate was written and before the horizon.
        let lower = Duration::from_secs(1_700_000_000);
        for now in [SystemClock.now(), CoarseClock.now()] {
            assert!(now > lower, "{now:?}");
        }
        // The coarse clock lags the precise one by at most a few ticks.
        let coarse = CoarseClock.now();
        let precise = SystemClock.now();
        assert!(precise + Duration::from_millis(100) >= coarse);
        assert!(coarse + Duration::from_secs(1) >= precise);
    }

    #[test]
    fn clocks_work_through_pointers() {
        let c = ManualClock::new(Duration::from_secs(5));
        let arc: Arc<dyn Clock> = Arc::new(c.clone());
        let boxed: Box<dyn Clock> = Box::new(c.clone());
        assert_eq!(arc.now(), Duration::from_secs(5));
        assert_eq!(boxed.now(), Duration::from_secs(5));
        let by_ref: &dyn Clock = &&c;
        assert_eq!(by_ref.now(), Duration::from_secs(5));
    }
}
