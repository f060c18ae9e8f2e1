//! The answer of a pacer: how long to wait, and why.

use std::time::Duration;

/// How long to wait before the next call, and why: the answer of a
/// [`Pacer`](crate::Pacer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pace {
    base: Duration,
    jitter: Duration,
    reason: PaceReason,
    capped: bool,
}

impl Pace {
    /// The whole wait: [`base`](Self::base) plus [`jitter`](Self::jitter).
    pub fn wait(&self) -> Duration {
        self.base.saturating_add(self.jitter)
    }

    /// The wait the headers ask for, at most the pacer's
    /// [`max_wait`](crate::PacerBuilder::max_wait).
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The random part added on top of [`base`](Self::base): zero unless
    /// the pacer is for a [shared key](crate::PacerBuilder::shared_key).
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// What set the wait.
    pub fn reason(&self) -> PaceReason {
        self.reason
    }

    /// Whether the headers asked for more than
    /// [`max_wait`](crate::PacerBuilder::max_wait), which [`base`](Self::base)
    /// was cut down to.
    pub fn is_capped(&self) -> bool {
        self.capped
    }
}

/// What set a [`Pace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaceReason {
    /// Nothing to wait for: not a 429, and no `X-RateLimit-Remaining`
    /// under the threshold together with an `X-RateLimit-Reset`.
    Proceed,
    /// Pre-pacing: `X-RateLimit-Remaining` is under the threshold, so wait
    /// until `X-RateLimit-Reset`.
    LowRemaining,
    /// A 429 with a usable `Retry-After`, honoured as sent.
    RetryAfter,
    /// A 429 without a usable `Retry-After`: the pacer's
    /// [`default_retry_after`](crate::PacerBuilder::default_retry_after).
    DefaultRetryAfter,
}

impl Pace {
    pub(crate) fn new(base: Duration, jitter: Duration, reason: PaceReason, capped: bool) -> Self {
        Self {
            base,
            jitter,
            reason,
            capped,
        }
    }
}
