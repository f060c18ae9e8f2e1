//! The pacer: how long to wait before the next call, from a response's
//! status, its rate-limit headers and the current time.
//!
//! Pure functions of their arguments: no I/O, no allocation, no clock
//! read, no panic. The only state is the jitter
//! generator of [`Pacer::pace`], which the `_with` forms do without.

use std::time::Duration;

use crate::jitter::{self, Generator};
use crate::{Pace, PaceReason, RateLimitInfo};

/// Tells an HTTP client how long to wait before its next call.
///
/// For each response, from its status and [`RateLimitInfo`]:
///
/// 1. **429**: wait what `Retry-After` says, never less: its seconds, or
///    the time from `now` to its date (none once the date has passed). A
///    repeated `Retry-After` waits for its longest element. Without a
///    usable `Retry-After` (missing, or no element well-formed), wait
///    [`default_retry_after`](PacerBuilder::default_retry_after), 1 second
///    by default. `X-RateLimit-*` fields are not consulted.
/// 2. **Any other status**: when `X-RateLimit-Remaining` is under the
///    [`threshold`](PacerBuilder::threshold) (5 by default), wait from
///    `now` until `X-RateLimit-Reset` (no wait if it has passed). A missing or
///    malformed `Remaining` or `Reset` means no wait. `Retry-After` on
///    other statuses (a 503's, say) is not consulted.
/// 3. **Otherwise** no wait.
///
/// Whatever the headers ask is cut to [`max_wait`](PacerBuilder::max_wait)
/// (1 hour by default), so that a hostile or broken `Reset` or
/// `Retry-After` cannot park the client for good: a client that waits that
/// long and calls again learns the state afresh, at the cost of one call.
/// For a [shared key](PacerBuilder::shared_key) a random jitter (up to 500
/// ms by default) goes on top of every wait of cases 1 and 2, even a zero
/// one; the jitter is never subtracted and is added after the cut.
///
/// The primitives, [`pace_with`](Self::pace_with) and
/// [`delay_with`](Self::delay_with), take the jitter's randomness from the
/// caller; [`pace`](Self::pace) and [`delay`](Self::delay) draw it from the
/// pacer's own generator (splitmix64 over an atomic counter, seeded from
/// the standard library's `RandomState`, so each pacer draws differently).
/// A pacer is `Send + Sync`: workers in one process can share it. No
/// method does I/O, reads a clock, allocates, or panics, whatever the
/// headers and `now`.
///
/// ```
/// use std::time::Duration;
/// use tollgate_client::{Pacer, RateLimitInfo};
///
/// // X-RateLimit-Remaining: 3 with the window resetting at 1746489660.
/// let info = RateLimitInfo::from_values(
///     Some(b"60"),
///     Some(b"3"),
///     Some(b"1746489660"),
///     None,
/// );
/// let now = Duration::from_millis(1_746_489_642_500);
/// let pacer = Pacer::new();
/// assert_eq!(pacer.delay(200, &info, now), Duration::from_millis(17_500));
///
/// // A 429 without Retry-After waits the default second.
/// let none = RateLimitInfo::new();
/// assert_eq!(pacer.delay(429, &none, now), Duration::from_secs(1));
///
/// // Workers sharing one key spread out by up to 500 ms.
/// let shared = Pacer::builder().shared_key(true).build();
/// let wait = shared.delay(429, &none, now);
/// assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_millis(1_500));
/// ```
#[derive(Debug)]
pub struct Pacer {
    threshold: u64,
    shared: bool,
    jitter: Duration,
    default_retry_after: Duration,
    max_wait: Duration,
    generator: Generator,
}

impl Pacer {
    /// Pre-pace when `X-RateLimit-Remaining` is under this many requests.
    pub const DEFAULT_THRESHOLD: u64 = 5;
    /// The largest jitter for a shared key: 500 milliseconds.
    pub const DEFAULT_JITTER: Duration = Duration::from_millis(500);
    /// The wait after a 429 without a usable `Retry-After`: 1 second.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
    /// The longest wait the headers can ask for: 1 hour.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(3_600);

    /// A pacer with every default: a key used by one worker (no jitter).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a pacer.
    pub fn builder() -> PacerBuilder {
        PacerBuilder::default()
    }

    /// How long to wait after a response with HTTP `status` and `info`,
    /// at `now` (a duration since the unix epoch), with `random` (any
    /// `u64`, uniform for an even spread) for the jitter. The primitive:
    /// deterministic, and never panics.
    pub fn pace_with(&self, status: u16, info: &RateLimitInfo, now: Duration, random: u64) -> Pace {
        self.pace_from(status, info, now, || random)
    }

    /// [`pace_with`](Self::pace_with), drawing the jitter from the pacer's
    /// own generator (only when there is jitter to add).
    pub fn pace(&self, status: u16, info: &RateLimitInfo, now: Duration) -> Pace {
        self.pace_from(status, info, now, || self.generator.next())
    }

    /// The whole wait of [`pace_with`](Self::pace_with).
    pub fn delay_with(
        &self,
        status: u16,
        info: &RateLimitInfo,
        now: Duration,
        random: u64,
    ) -> Duration {
        self.pace_with(status, info, now, random).wait()
    }

    /// The whole wait of [`pace`](Self::pace).
    pub fn delay(&self, status: u16, info: &RateLimitInfo, now: Duration) -> Duration {
        self.pace(status, info, now).wait()
    }

    fn pace_from(
        &self,
        status: u16,
        info: &RateLimitInfo,
        now: Duration,
        random: impl FnOnce() -> u64,
    ) -> Pace {
        let (wanted, reason) = if status == 429 {
            match info.retry_after() {
                Some(r) => (r.wait_at(now), PaceReason::RetryAfter),
                None => (self.default_retry_after, PaceReason::DefaultRetryAfter),
            }
        } else {
            match (info.remaining(), info.reset()) {
                (Some(remaining), Some(reset)) if remaining < self.threshold => (
                    Duration::from_secs(reset).saturating_sub(now),
                    PaceReason::LowRemaining,
                ),
                _ => (Duration::ZERO, PaceReason::Proceed),
            }
        };
        let jitter = if self.shared && reason != PaceReason::Proceed {
            jitter::scale(random(), self.jitter)
        } else {
            Duration::ZERO
        };
        Pace::new(
            wanted.min(self.max_wait),
            jitter,
            reason,
            wanted > self.max_wait,
        )
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

/// A clone has the same configuration and a generator of its own, seeded
/// from the original's next output, so that clones handed to different
/// workers do not jitter in step.
impl Clone for Pacer {
    fn clone(&self) -> Self {
        Self {
            threshold: self.threshold,
            shared: self.shared,
            jitter: self.jitter,
            default_retry_after: self.default_retry_after,
            max_wait: self.max_wait,
            generator: Generator::with_seed(self.generator.next()),
        }
    }
}

/// Configures a [`Pacer`]; from [`Pacer::builder`]. Every setting has a
/// default, so building cannot fail.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct PacerBuilder {
    threshold: u64,
    shared: bool,
    jitter: Duration,
    default_retry_after: Duration,
    max_wait: Duration,
    seed: Option<u64>,
}

impl Default for PacerBuilder {
    fn default() -> Self {
        Self {
            threshold: Pacer::DEFAULT_THRESHOLD,
            shared: false,
            jitter: Pacer::DEFAULT_JITTER,
            default_retry_after: Pacer::DEFAULT_RETRY_AFTER,
            max_wait: Pacer::DEFAULT_MAX_WAIT,
            seed: None,
        }
    }
}

impl PacerBuilder {
    /// Pre-pace when `X-RateLimit-Remaining` is under `requests` (default
    /// [`Pacer::DEFAULT_THRESHOLD`], 5). 0 turns pre-pacing off.
    pub fn threshold(mut self, requests: u64) -> Self {
        self.threshold = requests;
        self
    }

    /// Whether several workers share the key (default `false`): if so,
    /// every wait gets a random jitter on top, so that they do not all
    /// call again at the same instant.
    pub fn shared_key(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }

    /// The largest jitter for a shared key (default
    /// [`Pacer::DEFAULT_JITTER`], 500 ms); the jitter is drawn evenly from
    /// zero to `max` inclusive, at nanosecond resolution. At most
    /// `u64::MAX` nanoseconds (584 years); more is cut to that.
    pub fn jitter(mut self, max: Duration) -> Self {
        self.jitter = max;
        self
    }

    /// The wait after a 429 without a usable `Retry-After` (default
    /// [`Pacer::DEFAULT_RETRY_AFTER`], 1 second).
    pub fn default_retry_after(mut self, wait: Duration) -> Self {
        self.default_retry_after = wait;
        self
    }

    /// The longest wait the headers can ask for (default
    /// [`Pacer::DEFAULT_MAX_WAIT`], 1 hour): longer asks are cut to it and
    /// flagged by [`Pace::is_capped`]. `Duration::MAX` trusts the server
    /// entirely.
    pub fn max_wait(mut self, max: Duration) -> Self {
        self.max_wait = max;
        self
    }

    /// Fixes the seed of the generator of [`Pacer::pace`], for
    /// reproducible tests. By default each pacer draws a random seed;
    /// workers given the same seed jitter in step.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The pacer.
    pub fn build(self) -> Pacer {
        Pacer {
            threshold: self.threshold,
            shared: self.shared,
            jitter: self.jitter.min(Duration::from_nanos(u64::MAX)),
            default_retry_after: self.default_retry_after,
            max_wait: self.max_wait,
            generator: self
                .seed
                .map_or_else(Generator::random, Generator::with_seed),
        }
    }
}

#[cfg(test)]
mod tests;
