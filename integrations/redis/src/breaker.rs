//! The circuit breaker: after `threshold` consecutive failed calls to
//! Redis, stop calling it for `open_for`, then let one call through as a
//! probe; a probe that succeeds closes the breaker, one that fails opens
//! it again. While it is open, decisions come from the failure policy at
//! once, without waiting for a timeout.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// What the breaker lets a call do.
#[derive(Debug)]
pub(crate) enum Gate<'a> {
    /// Closed: call Redis.
    Closed,
    /// Open, and this call is the probe: call Redis, and report.
    Probe(ProbeGuard<'a>),
    /// Open: do not call Redis.
    Open,
}

/// The breaker's state.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    open_for: Duration,
    /// Consecutive failures since the last success.
    failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open; 0 when
    /// closed.
    open_until: AtomicU64,
    /// A probe is in flight.
    probing: AtomicBool,
    /// Milliseconds since `epoch` at which the breaker last opened from
    /// closed, for the time it stayed open.
    opened_at: AtomicU64,
    epoch: Instant,
}

/// What a failed call did to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// Consecutive failures, this one included.
    pub(crate) consecutive: u32,
    /// Whether this failure opened a closed breaker.
    pub(crate) opened: bool,
}

/// Marks the probe in flight; a probe dropped before it reports (its
/// request was cancelled) lets the next call probe instead.
#[derive(Debug)]
pub(crate) struct ProbeGuard<'a>(&'a Breaker);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire of the next probe's exchange, so
        // that it sees what this one reported.
        self.0.probing.store(false, Ordering::Release);
    }
}

impl Breaker {
    /// A closed breaker that opens after `threshold` consecutive failures
    /// (at least 1) for `open_for`.
    pub(crate) fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            opened_at: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// How long the breaker stays open before it probes.
    pub(crate) fn open_for(&self) -> Duration {
        self.open_for
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go to Redis now.
    pub(crate) fn gate(&self) -> Gate<'_> {
        // Relaxed: the breaker is advice about a remote server; a call
        // that reads a stale state makes one call more or less, and every
        // call is bounded by its own timeout.
        let until = self.open_until.load(Ordering::Relaxed);
        if until == 0 {
            return Gate::Closed;
        }
        if self.now_ms() < until {
            return Gate::Open;
        }
        // Acquire: see the previous probe's report (its guard's Release).
        match self
            .probing
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => Gate::Probe(ProbeGuard(self)),
            Err(_) => Gate::Open,
        }
    }

    /// A call (or the probe) succeeded: close. Returns how long the
    /// breaker had been open when this success closed it, and `None` when
    /// it was closed already (or another success closed it first).
    pub(crate) fn success(&self) -> Option<Duration> {
        // Relaxed: advice only (see `gate`).
        self.failures.store(0, Ordering::Relaxed);
        // Relaxed: advice only (see `gate`). Read first, so that the
        // successes of a closed breaker (all but the first after an
        // outage) leave the word unwritten.
        if self.open_until.load(Ordering::Relaxed) == 0 {
            return None;
        }
        // Relaxed: advice only (see `gate`); of two successes racing to
        // close, one finds the breaker open.
        if self.open_until.swap(0, Ordering::Relaxed) == 0 {
            return None;
        }
        // Relaxed: a figure for a report only.
        let since = self.opened_at.load(Ordering::Relaxed);
        Some(Duration::from_millis(self.now_ms().saturating_sub(since)))
    }

    /// A call failed; `probe` if it was the probe. Opens the breaker after
    /// `threshold` consecutive failures, and again after a failed probe.
    pub(crate) fn failure(&self, probe: bool) -> Failed {
        // Relaxed: advice only (see `gate`).
        let consecutive = self
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let mut opened = false;
        if probe || consecutive >= self.threshold {
            let now = self.now_ms();
            let open_for = u64::try_from(self.open_for.as_millis()).unwrap_or(u64::MAX);
            let until = now.saturating_add(open_for).max(1);
            // Relaxed: advice only (see `gate`); the word it held says
            // whether this failure opened a closed breaker.
            opened = self.open_until.swap(until, Ordering::Relaxed) == 0;
            if opened {
                // Relaxed: a figure for a report only (a success racing
                // with this store may read the previous opening's).
                self.opened_at.store(now, Ordering::Relaxed);
            }
        }
        Failed {
            consecutive,
            opened,
        }
    }

    /// Whether the breaker is open (calls skip Redis, but for probes).
    pub(crate) fn is_open(&self) -> bool {
        // Relaxed: advice only (see `gate`).
        self.open_until.load(Ordering::Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_probes_and_closes() {
        let b = Breaker::new(3, Duration::from_millis(100));
        assert!(matches!(b.gate(), Gate::Closed));
        b.failure(false);
        b.failure(false);
        assert!(matches!(b.gate(), Gate::Closed));
        // A success resets the count, and closes nothing.
        assert_eq!(b.success(), None);
        b.failure(false);
        b.failure(false);
        assert!(matches!(b.gate(), Gate::Closed));
        assert_eq!(
            b.failure(false),
            Failed {
                consecutive: 3,
                opened: true
            }
        );
        assert!(b.is_open());
        assert!(matches!(b.gate(), Gate::Open));
        tokio::time::advance(Duration::from_millis(101)).await;
        // One probe at a time.
        let probe = b.gate();
        assert!(matches!(probe, Gate::Probe(_)));
        assert!(matches!(b.gate(), Gate::Open));
        // A failed probe opens it again, for the whole interval; it was
        // open already.
        assert!(!b.failure(true).opened);
        drop(probe);
        assert!(matches!(b.gate(), Gate::Open));
        tokio::time::advance(Duration::from_millis(101)).await;
        let probe = b.gate();
        assert!(matches!(probe, Gate::Probe(_)));
        // Closed after 202 ms open; a second success closes nothing.
        assert_eq!(b.success(), Some(Duration::from_millis(202)));
        assert_eq!(b.success(), None);
        drop(probe);
        assert!(!b.is_open());
        assert!(matches!(b.gate(), Gate::Closed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_lets_another_probe() {
        let b = Breaker::new(1, Duration::from_millis(10));
        b.failure(false);
        tokio::time::advance(Duration::from_millis(11)).await;
        let probe = b.gate();
        assert!(matches!(probe, Gate::Probe(_)));
        drop(probe);
        assert!(matches!(b.gate(), Gate::Probe(_)));
    }
}
