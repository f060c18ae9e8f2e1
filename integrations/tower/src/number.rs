//! Decimal header values without the heap for the common small numbers.
//!
//! `X-RateLimit-Limit`, `-Remaining` and `Retry-After` are nearly always
//! below [`SMALL`]: their values come from a static table, which
//! `Bytes::from_static` wraps without allocating or counting references.
//! Larger numbers (a `Reset` in unix seconds) take one allocation of
//! exactly their digits. (`HeaderValue::from(u64)` makes two: it renders
//! into a `BytesMut` of 20 bytes, and freezing a buffer with room to spare
//! boxes a shared header beside it; dropping the value frees both.)

use bytes::Bytes;
use http::HeaderValue;

/// Numbers below this come from the static table.
const SMALL: usize = 1024;

/// `n` in decimal, left-aligned, for every `n` below [`SMALL`].
static DIGITS: [[u8; 4]; SMALL] = table();

#[allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "n < 1024: every digit is n / 10^k % 10 < 10, and the loop ends at SMALL"
)]
const fn table() -> [[u8; 4]; SMALL] {
    let mut t = [[0u8; 4]; SMALL];
    let mut n = 0;
    while n < SMALL {
        let len = digits(n);
        let mut i = 0;
        let mut rest = n;
        while i < len {
            t[n][len - 1 - i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            i += 1;
        }
        n += 1;
    }
    t
}

/// The number of decimal digits of `n < 10_000`.
const fn digits(n: usize) -> usize {
    if n < 10 {
        1
    } else if n < 100 {
        2
    } else if n < 1000 {
        3
    } else {
        4
    }
}

/// `n` in decimal as a header value.
pub(crate) fn value(n: u64) -> HeaderValue {
    if let Some(row) = usize::try_from(n).ok().and_then(|i| DIGITS.get(i)) {
        let len = digits(usize::try_from(n).unwrap_or(0));
        if let Some(text) = row.get(..len) {
            // ASCII digits are a valid value; the fallback below is unreachable.
            if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from_static(text)) {
                return v;
            }
        }
    }
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n).as_bytes();
    // As above: digits are a valid value.
    HeaderValue::from_maybe_shared(Bytes::copy_from_slice(text)).unwrap_or_else(|_| n.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_renders_as_display_does() {
        for n in (0..2_000).chain([9_999, 10_000, u64::from(u32::MAX), u64::MAX]) {
            assert_eq!(value(n).to_str().unwrap(), n.to_string(), "{n}");
        }
    }
}
