//! The limiter's `tracing` events (with the `tracing` feature), under the
//! target `tollgate_redis`: one function per event, so that the limiter
//! calls them without a `cfg`, and without the feature they are empty.
//!
//! The events mark transitions, not requests: the circuit breaker
//! opening (`WARN`) and closing (`INFO`). Each failed call to Redis is a
//! `DEBUG` event; while the breaker is open only its probes call Redis,
//! so an outage gives as many as the breaker's threshold (and the calls
//! already waiting), then one per probe. No event carries an API key or a key name in Redis (which
//! holds the API key): a failure is described by the error alone, which
//! holds neither.

use std::time::Duration;

use crate::breaker::Failed;
use crate::error::Error;
use crate::failure::FailurePolicy;

/// A call to Redis failed (or timed out); `probe` if it was the breaker's
/// probe. The breaker's `WARN` when this failure opened it.
#[inline]
pub(crate) fn call_failed(
    error: &Error,
    probe: bool,
    failed: Failed,
    open_for: Duration,
    on_failure: FailurePolicy,
) {
    #[cfg(feature = "tracing")]
    {
        let open_for_ms = u64::try_from(open_for.as_millis()).unwrap_or(u64::MAX);
        if failed.opened {
            tracing::warn!(
                target: "tollgate_redis",
                error = %error,
                consecutive_failures = failed.consecutive,
                open_for_ms,
                on_failure = ?on_failure,
                "circuit breaker opened: the failure policy decides checks without Redis until a probe succeeds"
            );
        } else {
            tracing::debug!(
                target: "tollgate_redis",
                error = %error,
                probe,
                consecutive_failures = failed.consecutive,
                "a call to Redis failed: the check is decided without it"
            );
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (error, probe, failed, open_for, on_failure);
}

/// A call succeeded and closed the breaker, which had been open for
/// `open`.
#[inline]
pub(crate) fn breaker_closed(open: Duration) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "tollgate_redis",
        open_ms = u64::try_from(open.as_millis()).unwrap_or(u64::MAX),
        "circuit breaker closed: Redis answered, and decides checks again"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = open;
}

/// Loading the script into Redis (after a failure) failed; it is tried
/// again before the next call.
#[inline]
pub(crate) fn script_load_failed(error: &redis::RedisError) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "tollgate_redis",
        error = %error,
        "loading the script into Redis failed"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}
