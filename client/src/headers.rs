//! Reading a response's rate-limit fields: `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset` and `Retry-After`.

use std::time::Duration;

use crate::http_date;

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

/// A parsed `Retry-After` (RFC 9110 §10.2.3): a delay in seconds, an
/// HTTP-date, or — from a repeated header — both.
///
/// Delays follow [`RateLimitInfo`]'s rules for numbers (`1.5` waits 2
/// seconds). Dates may be in any of the three HTTP-date forms, IMF-fixdate
/// (`Wed, 21 Oct 2015 07:28:00 GMT`) or the obsolete RFC 850 and asctime
/// forms; a date that does not parse, or does not exist (31 April), is
/// skipped like any malformed element. A date is only as good as the
/// agreement between the server's clock and the caller's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryAfter {
    delay: Option<u64>,
    date: Option<u64>,
}

impl RetryAfter {
    /// Parses a `Retry-After` value; `None` if it holds neither a delay nor
    /// a date.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let mut found = Self {
            delay: None,
            date: None,
        };
        for_each_retry_element(value, |element| {
            if element.first().is_some_and(u8::is_ascii_digit) {
                found.delay = found.delay.max(number(element).map(round_up));
            } else {
                found.date = found.date.max(http_date::parse(element));
            }
        });
        (found.delay.is_some() || found.date.is_some()).then_some(found)
    }

    /// The delay form, in whole seconds (the longest, if several).
    pub fn delay_secs(&self) -> Option<u64> {
        self.delay
    }

    /// The date form, in unix seconds (the latest, if several; 0 for a date
    /// before 1970).
    pub fn date(&self) -> Option<u64> {
        self.date
    }

    /// How long to wait from `now` (a duration since the unix epoch): the
    /// delay, or the time until the date (zero once it has passed),
    /// whichever is longer.
    pub fn wait_at(&self, now: Duration) -> Duration {
        let delay = self.delay.map_or(Duration::ZERO, Duration::from_secs);
        let until = self.date.map_or(Duration::ZERO, |d| {
            Duration::from_secs(d).saturating_sub(now)
        });
        delay.max(until)
    }

    fn merge(self, other: Self) -> Self {
        Self {
            delay: self.delay.max(other.delay),
            date: self.date.max(other.date),
        }
    }
}

/// Optional whitespace (RFC 9110 §5.6.3): spaces and tabs.
fn trim(mut s: &[u8]) -> &[u8] {
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
fn number(s: &[u8]) -> Option<(u64, bool)> {
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

fn round_up((whole, fraction): (u64, bool)) -> u64 {
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

/// Calls `each` with every non-empty, trimmed element of a `Retry-After`
/// list. An HTTP-date holds a comma after its day name, so an element that
/// is only a day name runs on to the next comma.
fn for_each_retry_element(value: &[u8], mut each: impl FnMut(&[u8])) {
    let mut rest = value;
    loop {
        let mut end = comma(rest, 0);
        let first = trim(rest.get(..end).unwrap_or_default());
        if http_date::is_day_name(first) && end < rest.len() {
            end = comma(rest, end.saturating_add(1));
        }
        let element = trim(rest.get(..end).unwrap_or_default());
        if !element.is_empty() {
            each(element);
        }
        match rest.get(end.saturating_add(1)..) {
            Some(tail) if end < rest.len() => rest = tail,
            _ => break,
        }
    }
}

/// The index of the first comma at or after `from`, or the length.
fn comma(s: &[u8], from: usize) -> usize {
    s.get(from..)
        .and_then(|tail| tail.iter().position(|&b| b == b','))
        .and_then(|i| i.checked_add(from))
        .unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(value: &str) -> Option<(Option<u64>, Option<u64>)> {
        RetryAfter::parse(value.as_bytes()).map(|r| (r.delay_secs(), r.date()))
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0"), Some((0, false)));
        assert_eq!(number(b"007"), Some((7, false)));
        assert_eq!(number(b"1.5"), Some((1, true)));
        assert_eq!(number(b"1.000"), Some((1, false)));
        assert_eq!(number(b"1."), Some((1, false)));
        assert_eq!(number(b"18446744073709551615"), Some((u64::MAX, false)));
        assert_eq!(number(b"18446744073709551616"), Some((u64::MAX, false)));
        assert_eq!(number(&[b'9'; 400]), Some((u64::MAX, false)));
        for bad in [
            "", "+1", "-1", ".5", "1.5.", "1e3", "0x10", "1 2", "1,", "\u{661}",
        ] {
            assert_eq!(number(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn lists_keep_the_cautious_element() {
        assert_eq!(counts(b"5, 5"), Some(5));
        assert_eq!(counts(b"9,3, 7"), Some(3));
        assert_eq!(counts(b" , x, 4.9 ,"), Some(4));
        assert_eq!(counts(b" , "), None);
        assert_eq!(seconds(b"10, 20.1, junk"), Some(21));
        assert_eq!(seconds(b"\t"), None);
    }

    #[test]
    fn retry_after_lists_mix_delays_and_dates() {
        let date = Some(1_445_412_480);
        assert_eq!(retry("120"), Some((Some(120), None)));
        assert_eq!(retry(" 1.2 "), Some((Some(2), None)));
        assert_eq!(retry("Wed, 21 Oct 2015 07:28:00 GMT"), Some((None, date)));
        assert_eq!(
            retry("Wed, 21 Oct 2015 07:28:00 GMT, Wed, 21 Oct 2015 07:27:00 GMT"),
            Some((None, date))
        );
        assert_eq!(
            retry("5 , Wed, 21 Oct 2015 07:28:00 GMT,7"),
            Some((Some(7), date))
        );
        assert_eq!(
            retry("Wednesday, 21-Oct-15 07:28:00 GMT"),
            Some((None, date))
        );
        assert_eq!(retry("Wed Oct 21 07:28:00 2015, 3"), Some((Some(3), date)));
        assert_eq!(
            retry("Wed, 31 Apr 2015 07:28:00 GMT, 4"),
            Some((Some(4), None))
        );
        assert_eq!(retry("soon, 5"), Some((Some(5), None)));
        for bad in ["", ",", "soon", "Wed,", "-5", "Wed, , 5x"] {
            assert_eq!(retry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_waits_for_the_later_form() {
        let r = RetryAfter::parse(b"30, Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let now = Duration::from_secs(1_445_412_480 - 60);
        assert_eq!(r.wait_at(now), Duration::from_secs(60));
        assert_eq!(
            r.wait_at(now + Duration::from_secs(45)),
            Duration::from_secs(30)
        );
        assert_eq!(r.wait_at(Duration::MAX), Duration::from_secs(30));
    }

    #[test]
    fn record_matches_names_in_any_case_and_merges() {
        let mut info = RateLimitInfo::new();
        assert!(info.record("X-RATELIMIT-REMAINING", "9"));
        assert!(info.record(b"x-ratelimit-remaining".as_slice(), b"3".as_slice()));
        assert!(info.record("x-ratelimit-remaining", "junk"));
        assert!(info.record("X-RateLimit-Reset", "100"));
        assert!(info.record("X-RateLimit-Reset", "90"));
        assert!(info.record("Retry-After", "2"));
        assert!(info.record("retry-after", "1"));
        assert!(!info.record("X-RateLimit-Remaining ", "0"));
        assert!(!info.record("RateLimit-Remaining", "0"));
        assert_eq!(info.remaining(), Some(3));
        assert_eq!(info.reset(), Some(100));
        assert_eq!(info.retry_after().and_then(|r| r.delay_secs()), Some(2));
        assert_eq!(info.limit(), None);
    }

    #[test]
    fn non_utf8_bytes_are_malformed() {
        let info = RateLimitInfo::from_values(
            Some(b"\xff\xfe"),
            Some(b"4\xc3"),
            Some(b"\x80"),
            Some(b"\xffWed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(info, RateLimitInfo::new());
    }
}
