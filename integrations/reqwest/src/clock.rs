//! The two clocks the middleware reads, read together.
//!
//! `X-RateLimit-Reset` is unix seconds and `Retry-After` may be an
//! HTTP-date, so the [`Pacer`](tollgate_client::Pacer) needs the wall
//! clock; but the wall clock can step (NTP, a user), so every wait, once
//! computed, becomes a deadline on the monotonic clock, which tokio's
//! timer sleeps towards. This is the only module that reads either clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One reading of both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    /// The monotonic clock: what deadlines are measured on.
    pub(crate) instant: Instant,
    /// The wall clock, as a duration since the unix epoch (zero before
    /// it): what the pacer compares `X-RateLimit-Reset` and HTTP-dates
    /// with.
    pub(crate) wall: Duration,
}

/// Both clocks, now.
pub(crate) fn now() -> Now {
    Now {
        instant: Instant::now(),
        wall: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO),
    }
}

/// The longest wait a deadline holds: 30 years, as tokio's timer. Every
/// wait the middleware computes is at most the pacer's `max_wait` (1 hour
/// by default); this only keeps `Instant` arithmetic from overflowing
/// when `max_wait` is `Duration::MAX`.
const HORIZON: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `wait` after `from`, a wait longer than 30 years counting as 30 years.
/// Never panics.
pub(crate) fn after(from: Instant, wait: Duration) -> Instant {
    from.checked_add(wait.min(HORIZON)).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_saturates_at_the_horizon() {
        let t = Instant::now();
        assert_eq!(after(t, Duration::from_secs(5)), t + Duration::from_secs(5));
        assert_eq!(after(t, Duration::MAX), t + HORIZON);
    }
}
