//! What a decision is when Redis cannot make it, and where the time comes
//! from.

/// How a [`RedisLimiter`](crate::RedisLimiter) decides when Redis cannot:
/// it is down, slower than the per-decision timeout, or the circuit
/// breaker is open. Every such decision is marked
/// [`is_degraded`](tollgate::Decision::is_degraded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Decide with the limiter's in-process [`tollgate::Limiter`] (the
    /// default): during an outage each server enforces the limits on its
    /// own, so a fleet of N servers admits up to N times a key's limit
    /// rather than none or all of it. The in-process counts start from
    /// nothing at the first failure and are not written back.
    #[default]
    Local,
    /// Admit without counting (`Outcome::AllowedUntracked`, with the
    /// figures of an empty key): availability over limits.
    Allow,
    /// Refuse (`Outcome::Denied` by the class's primary window), with a
    /// `Retry-After` of the circuit breaker's open interval, rounded up to
    /// whole seconds: limits over availability.
    Deny,
}

/// Where a [`RedisLimiter`](crate::RedisLimiter) reads the time of a
/// check that is not given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimeSource {
    /// The limiter's [`tollgate::Clock`] (the default): with a
    /// [`ManualClock`](tollgate::ManualClock), the decisions are exactly
    /// the in-process limiter's on the same clock.
    #[default]
    Clock,
    /// Redis's own `TIME`, read by the script: one clock for the whole
    /// fleet (of one server; in a cluster, each key's primary's). Checks
    /// given an explicit time (the `_at` forms) use that time; decisions
    /// made without Redis use the limiter's clock.
    Redis,
}
