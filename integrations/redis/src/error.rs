//! Why a decision could not come from Redis, and why a limiter could not
//! be built.

use std::fmt;

/// Why Redis did not decide a check (the [`try_`](crate::RedisLimiter::try_check_n_at)
/// forms return it; the others answer with the failure policy instead).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The API key is longer than the limiter accepts (see
    /// [`RedisLimiterBuilder::max_key_len`](crate::RedisLimiterBuilder::max_key_len)).
    KeyTooLong {
        /// The key's length, in bytes.
        len: usize,
        /// The longest accepted, in bytes.
        max: usize,
    },
    /// The time is past what the script computes exactly: 2^53
    /// milliseconds after the unix epoch.
    TimeOutOfRange,
    /// Redis did not answer within the per-decision timeout.
    Timeout,
    /// The circuit breaker is open: Redis was not asked.
    CircuitOpen,
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
    /// Redis's reply is not the script's (another program wrote the key?).
    Reply,
    /// The script counted where the decision rule would not, or the other
    /// way round: a bug, reported rather than answered.
    Disagreement,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyTooLong { len, max } => {
                write!(f, "the key is {len} bytes long, above the limit of {max}")
            }
            Self::TimeOutOfRange => f.write_str("the time is past 2^53 ms after the unix epoch"),
            Self::Timeout => f.write_str("Redis did not answer in time"),
            Self::CircuitOpen => f.write_str("the circuit breaker is open"),
            Self::Redis(e) => write!(f, "Redis: {e}"),
            Self::Reply => f.write_str("Redis's reply is not the script's"),
            Self::Disagreement => {
                f.write_str("the script's admission and the decision rule disagree")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(e) => Some(e),
            _ => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        Self::Redis(e)
    }
}

/// Why a [`RedisLimiter`](crate::RedisLimiter) could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// No Redis was given: [`RedisLimiterBuilder::url`](crate::RedisLimiterBuilder::url)
    /// or [`cluster`](crate::RedisLimiterBuilder::cluster).
    NoServer,
    /// The prefix holds `{` or `}`, which would move the names' hash tag.
    Prefix,
    /// The in-process limiter (for the failure policy and the overrides)
    /// could not be built.
    Local(tollgate::BuildError),
    /// Redis could not be reached, or refused the script.
    Redis(redis::RedisError),
    /// Redis did not answer within the connect timeout.
    Timeout,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoServer => f.write_str("no Redis URL was given"),
            Self::Prefix => f.write_str("the key prefix must not hold '{' or '}'"),
            Self::Local(e) => write!(f, "the in-process limiter: {e}"),
            Self::Redis(e) => write!(f, "Redis: {e}"),
            Self::Timeout => f.write_str("Redis did not answer within the connect timeout"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Local(e) => Some(e),
            Self::Redis(e) => Some(e),
            _ => None,
        }
    }
}
