//! A response's rate-limit fields, read into tollgate-client's
//! [`RateLimitInfo`]; and the fields the middleware makes up to ask the
//! pacer about a window whose requests are partly still in flight.

use reqwest::header::HeaderMap;
use tollgate_client::RateLimitInfo;

/// The fields the pacer reads. Any others are not looked at.
const NAMES: [&str; 4] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
];

/// The rate-limit fields of `headers`. A repeated field is merged as
/// `RateLimitInfo::record` merges it (the most cautious value wins); a
/// malformed one counts as missing. Never panics, whatever the bytes.
pub(crate) fn info(headers: &HeaderMap) -> RateLimitInfo {
    let mut info = RateLimitInfo::new();
    for name in NAMES {
        for value in headers.get_all(name) {
            info.record(name, value.as_bytes());
        }
    }
    info
}

/// The fields of a window with `remaining` requests left that resets at
/// `reset` (unix seconds): what a response would say.
pub(crate) fn window(remaining: u64, reset: u64) -> RateLimitInfo {
    let (mut a, mut b) = ([0; 20], [0; 20]);
    RateLimitInfo::from_values(
        None,
        Some(decimal(remaining, &mut a)),
        Some(decimal(reset, &mut b)),
        None,
    )
}

/// `n` in decimal, written at the end of `buf` (20 bytes hold `u64::MAX`).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        // n % 10 < 10: the conversion cannot fail.
        *slot = b'0'.saturating_add(u8::try_from(n % 10).unwrap_or(0));
        start = start.saturating_sub(1);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn decimal_writes_every_width() {
        for n in [0, 7, 10, 99, 1_746_489_660, u64::MAX] {
            let mut buf = [0; 20];
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn window_reads_back() {
        let w = window(3, 1_746_489_660);
        assert_eq!((w.remaining(), w.reset()), (Some(3), Some(1_746_489_660)));
        let w = window(u64::MAX, u64::MAX);
        assert_eq!((w.remaining(), w.reset()), (Some(u64::MAX), Some(u64::MAX)));
    }

    #[test]
    fn info_merges_repeats_and_skips_garbage() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("X-RateLimit-Remaining", &b"5"[..]),
            ("x-ratelimit-remaining", b"3"),
            ("X-RateLimit-Reset", b"\xff\xfe"),
            ("Retry-After", b"-1"),
            ("X-Other", b"1"),
        ] {
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let i = info(&headers);
        assert_eq!(
            (i.limit(), i.remaining(), i.reset(), i.retry_after()),
            (None, Some(3), None, None)
        );
        assert_eq!(info(&HeaderMap::new()), RateLimitInfo::new());
    }
}
