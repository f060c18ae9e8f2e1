//! Decimal header values with as little heap as the numbers allow.
//!
//! - `X-RateLimit-Limit`, `-Remaining` and `Retry-After` are nearly always
//!   below [`SMALL`]: their values are made once per process from a static
//!   table of digits, which `Bytes::from_static` wraps, and cloned without
//!   allocating, counting references or validating the bytes again.
//! - Other numbers ([`value`]) are rendered into a per-thread arena of
//!   [`ARENA`] bytes: two allocations per 25 to 50 values (the buffer, and
//!   the shared reference count `bytes` gives it when the first value is
//!   split off), and a reference count per value. (`HeaderValue::from(u64)`
//!   makes two allocations per value: it renders into a `BytesMut` of 20
//!   bytes, and freezing a buffer with room to spare boxes a shared header
//!   beside it.)
//! - Numbers that repeat from one request to the next, a `Reset` (the end
//!   of the current window, in unix seconds) or a large limit, go through
//!   [`recent`]: each thread keeps its last [`RECENT`] renderings, and a
//!   repeat costs a reference count instead of an allocation.

use std::cell::RefCell;
use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use http::HeaderValue;

/// Numbers below this come from the static table.
const SMALL: usize = 1024;

/// `n` in decimal, left-aligned, for every `n` below [`SMALL`].
static DIGITS: [[u8; 4]; SMALL] = table();

#[expect(
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

/// The header value of every `n` below [`SMALL`], each wrapping its row
/// of [`DIGITS`]: made and validated once, then cloned (a copy of the
/// `Bytes`' pointers; no allocation, no reference count).
static SMALL_VALUES: LazyLock<Box<[HeaderValue]>> = LazyLock::new(|| {
    DIGITS
        .iter()
        .enumerate()
        .map(|(n, row)| {
            let text = row.get(..digits(n)).unwrap_or(row);
            // ASCII digits are a valid value; the fallback is unreachable.
            HeaderValue::from_maybe_shared(Bytes::from_static(text))
                .unwrap_or_else(|_| HeaderValue::from(n))
        })
        .collect()
});

/// `n` in decimal as a header value.
pub(crate) fn value(n: u64) -> HeaderValue {
    if let Some(v) = usize::try_from(n).ok().and_then(|i| SMALL_VALUES.get(i)) {
        return v.clone();
    }
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n).as_bytes();
    // As above: digits are a valid value.
    HeaderValue::from_maybe_shared(arena_copy(text)).unwrap_or_else(|_| n.into())
}

/// The size of a thread's arena of rendered digits, in bytes: room for
/// 25 to 50 large numbers.
const ARENA: usize = 512;

thread_local! {
    /// The unused rest of the thread's current arena.
    static ARENA_REST: RefCell<Option<BytesMut>> = const { RefCell::new(None) };
}

/// `text` as a `Bytes` carved out of this thread's arena: two allocations
/// per [`ARENA`] bytes (the buffer and its shared count) instead of two
/// per value. Each piece counts a reference to its arena, which is freed
/// when its last piece is dropped and the thread has moved on to a new
/// one.
fn arena_copy(text: &[u8]) -> Bytes {
    let carved = ARENA_REST.try_with(|rest| {
        let mut rest = rest.try_borrow_mut().ok()?;
        let rest = match &mut *rest {
            Some(rest) if rest.capacity() >= text.len() => rest,
            other => other.insert(BytesMut::with_capacity(ARENA.max(text.len()))),
        };
        rest.extend_from_slice(text);
        Some(rest.split().freeze())
    });
    // The thread is exiting, or the arena is borrowed: a Bytes of its own.
    carved
        .ok()
        .flatten()
        .unwrap_or_else(|| Bytes::copy_from_slice(text))
}

/// How many large numbers each thread keeps rendered: a limit, and the
/// ends of the windows that `Reset` names (a short window's and a long
/// one's, as the binding window changes from request to request).
const RECENT: usize = 4;

/// A thread's last large renderings, oldest replaced first.
struct Recent {
    numbers: [u64; RECENT],
    values: [Option<HeaderValue>; RECENT],
    /// The slot the next new number takes.
    next: usize,
}

thread_local! {
    static RECENT_VALUES: RefCell<Recent> = const {
        RefCell::new(Recent {
            numbers: [0; RECENT],
            values: [const { None }; RECENT],
            next: 0,
        })
    };
}

/// `n` in decimal as a header value, as [`value`] renders it, for numbers
/// that repeat: the thread's rendering of `n` if it has a recent one
/// (cloning it counts a reference; the clones of one thread's values share
/// nothing with other threads' values).
pub(crate) fn recent(n: u64) -> HeaderValue {
    if usize::try_from(n).is_ok_and(|i| i < SMALL) {
        return value(n);
    }
    let cached = RECENT_VALUES.try_with(|recent| {
        // Not borrowed elsewhere: nothing below borrows this cell again
        // (`value` borrows the arena's); should it ever be, the number is
        // rendered afresh.
        let mut recent = recent.try_borrow_mut().ok()?;
        let recent = &mut *recent;
        for (number, slot) in recent.numbers.iter().zip(&recent.values) {
            match slot {
                Some(v) if *number == n => return Some(v.clone()),
                _ => {}
            }
        }
        let v = value(n);
        let i = recent.next;
        if let (Some(number), Some(slot)) = (recent.numbers.get_mut(i), recent.values.get_mut(i)) {
            *number = n;
            *slot = Some(v.clone());
        }
        recent.next = if i.wrapping_add(1) < RECENT {
            i.wrapping_add(1)
        } else {
            0
        };
        Some(v)
    });
    // The thread is exiting, or the cache is borrowed: render afresh.
    cached.ok().flatten().unwrap_or_else(|| value(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_renders_as_display_does() {
        // All kept alive until the end, across many arenas: no value's
        // bytes are overwritten by a later one's.
        let numbers: Vec<u64> = (0..20_000).chain([u64::from(u32::MAX), u64::MAX]).collect();
        let values: Vec<HeaderValue> = numbers.iter().map(|&n| value(n)).collect();
        for (n, v) in numbers.iter().zip(&values) {
            assert_eq!(v.to_str().unwrap(), n.to_string(), "{n}");
        }
    }

    #[test]
    fn values_outlive_their_thread() {
        let values = std::thread::spawn(|| [value(123_456), recent(1_746_489_600)])
            .join()
            .unwrap();
        assert_eq!(values[0], "123456");
        assert_eq!(values[1], "1746489600");
    }

    #[test]
    fn recent_numbers_render_as_display_does() {
        // More numbers than the cache holds, twice over, each repeated:
        // hits, misses and replacements.
        let numbers = (0..2 * RECENT as u64).map(|i| 1_746_489_600 + 10 * i);
        for n in numbers
            .clone()
            .chain(numbers)
            .chain([0, 999, 1024, u64::MAX])
        {
            for _ in 0..3 {
                assert_eq!(recent(n).to_str().unwrap(), n.to_string(), "{n}");
            }
        }
    }
}
