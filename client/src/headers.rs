//! Reading a response's rate-limit fields: `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset` and `Retry-After`; and the
//! grammar of their values (optional whitespace, lists, numbers), which
//! [`RetryAfter`] shares.

use crate::RetryAfter;

// The field names read, compared without regard to case: those the
// tollgate limiter sends (its `tollgate::headers` constants), which
// integrations/tower/tests/pacing.rs and the `headers` fuzz target read
// back through this crate.
const X_RATELIMIT_LIMIT: &str = "X-RateLimit-Limit";
const X_RATELIMIT_REMAINING: &str = "X-RateLimit-Remaining";
const X_RATELIMIT_RESET: &str = "X-RateLimit-Reset";
const RETRY_AFTER: &str = "Retry-After";

/// The rate-limit fields of one response, parsed leniently: every field is
/// `None` when the header is missing or holds nothing usable.
///
/// Values are raw header bytes (`HeaderValue::as_bytes()`, or
/// `str::as_bytes()`); none of them can make parsing panic, allocate or
/// fail. What each kind of value gives:
///
/// | value | result |
/// |---|---|
/// | missing, empty, only spaces | `None` |
/// | `47`, ` 47 ` (spaces and tabs around it) | 47 |
/// | `+47`, `-47`, `0x2f`, `4 7`, `1e3`, `.5`, non-ASCII or non-UTF-8 bytes | malformed: `None` |
/// | more digits than a `u64` holds | `u64::MAX`, as RFC 9111 §1.2.2 asks of delta-seconds; a [`Pacer`](crate::Pacer) then cuts any wait to its [`max_wait`](crate::PacerBuilder::max_wait) |
/// | a fraction, `1.5` | times (`Reset`, `Retry-After`) round up to 2, counts (`Limit`, `Remaining`) round down to 1: the direction that waits longer |
/// | a list, `5, 7` (the form a repeated header takes once folded) | each element is read on its own, malformed and empty ones are skipped, and the most cautious one is kept: the least `Limit` and `Remaining`, the latest `Reset`, the longest `Retry-After` |
///
/// The same rule applies when [`record`](Self::record) sees a header
/// several times. `X-RateLimit-Reset` is unix seconds: a small value such
/// as a delta (`30`) is simply a time long past.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RateLimitInfo {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<RetryAfter>,
}

impl RateLimitInfo {
    /// No fields: what a response without rate-limit headers gives.
    pub const fn new() -> Self {
        Self {
            limit: None,
            remaining: None,
            reset: None,
            retry_after: None,
        }
    }

    /// Parses the values of `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
    /// `X-RateLimit-Reset` and `Retry-After`, each `None` when the response
    /// does not carry it.
    pub fn from_values(
        limit: Option<&[u8]>,
        remaining: Option<&[u8]>,
        reset: Option<&[u8]>,
        retry_after: Option<&[u8]>,
    ) -> Self {
        Self {
            limit: limit.and_then(counts),
            remaining: remaining.and_then(counts),
            reset: reset.and_then(seconds),
            retry_after: retry_after.and_then(RetryAfter::parse),
        }
    }

    /// Takes in one header, for callers that walk a response's headers:
    /// returns whether `name` (any case) is one of the four fields.
    ///
    /// A field seen again is merged with what was already recorded, as a
    /// list is: the most cautious value wins.
    ///
    /// ```
    /// use tollgate_client::RateLimitInfo;
    ///
    /// let mut info = RateLimitInfo::new();
    /// for (name, value) in [("x-ratelimit-remaining", "47"), ("content-type", "text/plain")] {
    ///     info.record(name, value);
    /// }
    /// assert_eq!(info.remaining(), Some(47));
    /// ```
    pub fn record(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> bool {
        let (name, value) = (name.as_ref(), value.as_ref());
        let is = |field: &str| name.eq_ignore_ascii_case(field.as_bytes());
        if is(X_RATELIMIT_LIMIT) {
            self.limit = least(self.limit, counts(value));
        } else if is(X_RATELIMIT_REMAINING) {
            self.remaining = least(self.remaining, counts(value));
        } else if is(X_RATELIMIT_RESET) {
            self.reset = self.reset.max(seconds(value));
        } else if is(RETRY_AFTER) {
            self.retry_after = match (self.retry_after, RetryAfter::parse(value)) {
                (Some(a), Some(b)) => Some(a.merge(b)),
                (a, b) => a.or(b),
            };
        } else {
            return false;
        }
        true
    }

    /// `X-RateLimit-Limit`: the cap of the key's current window, in
    /// requests.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// `X-RateLimit-Remaining`: requests left in the current window.
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// `X-RateLimit-Reset`: unix seconds at which the window resets.
    pub fn reset(&self) -> Option<u64> {
        self.reset
    }

    /// `Retry-After`, in either of its forms.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }
}

/// Optional whitespace (RFC 9110 §5.6.3): spaces and tabs.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The non-empty, trimmed elements of a comma-separated value.
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|e| !e.is_empty())
}

/// `1*DIGIT [ "." *DIGIT ]`: the whole part (saturated at `u64::MAX`) and
/// whether a non-zero fraction follows it.
pub(crate) fn number(s: &[u8]) -> Option<(u64, bool)> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let (whole, rest) = s.split_at(digits);
    let fraction = match rest {
        [] => false,
        [b'.', fraction @ ..] if fraction.iter().all(u8::is_ascii_digit) => {
            fraction.iter().any(|&b| b != b'0')
        }
        _ => return None,
    };
    let whole = whole.iter().fold(0u64, |value, &b| {
        value
            .saturating_mul(10)
            .saturating_add(u64::from(b.wrapping_sub(b'0')))
    });
    Some((whole, fraction))
}

pub(crate) fn round_up((whole, fraction): (u64, bool)) -> u64 {
    whole.saturating_add(u64::from(fraction))
}

/// A count field: the least well-formed element, fractions rounded down.
fn counts(value: &[u8]) -> Option<u64> {
    elements(value)
        .filter_map(number)
        .map(|(whole, _)| whole)
        .min()
}

/// A time field: the greatest well-formed element, fractions rounded up.
fn seconds(value: &[u8]) -> Option<u64> {
    elements(value).filter_map(number).map(round_up).max()
}

fn least(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
