//! `Retry-After`: a delay in seconds, an HTTP-date, or a list of both.

use std::time::Duration;

use crate::headers::{number, round_up, trim};
use crate::http_date;

/// A parsed `Retry-After` (RFC 9110 §10.2.3): a delay in seconds, an
/// HTTP-date, or — from a repeated header — both.
///
/// Delays follow the rules of [`RateLimitInfo`](crate::RateLimitInfo) for
/// numbers (`1.5` waits 2 seconds). Dates may be in any of the three
/// HTTP-date forms, IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`) or the
/// obsolete RFC 850 and asctime forms; a date that does not parse, or
/// does not exist (31 April), is skipped like any malformed element. A
/// date is only as good as the agreement between the server's clock and
/// the caller's `now`.
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

    pub(crate) fn merge(self, other: Self) -> Self {
        Self {
            delay: self.delay.max(other.delay),
            date: self.date.max(other.date),
        }
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
}
