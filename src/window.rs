//! One fixed window of a class: a limit over a length.

use crate::length::WindowLength;

/// A fixed, epoch-aligned window: at most `limit` units of cost in every
/// interval `[i * length, (i + 1) * length)` of unix time.
///
/// With the `serde` feature, serializes as the `details` object of the
/// 429 body: `{"limit":60,"window":"1m"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Window {
    limit: u32,
    #[cfg_attr(feature = "serde", serde(rename = "window"))]
    length: WindowLength,
}

impl Window {
    /// A window admitting `limit` units of cost per `length`.
    pub const fn new(limit: u32, length: WindowLength) -> Self {
        Self { limit, length }
    }

    /// The most cost admitted in one window.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The window's length.
    pub const fn length(&self) -> WindowLength {
        self.length
    }

    /// The index of the window that contains `now_secs` (unix seconds).
    #[inline]
    pub(crate) const fn index_at(&self, now_secs: u64) -> u64 {
        // A WindowLength is at least 1, so the division always succeeds.
        match now_secs.checked_div(self.length.as_secs()) {
            Some(index) => index,
            None => 0,
        }
    }

    /// Unix seconds at which window `index` ends, saturating at `u64::MAX`.
    #[inline]
    pub(crate) const fn end_of(&self, index: u64) -> u64 {
        index
            .saturating_add(1)
            .saturating_mul(self.length.as_secs())
    }
}

/// Division by a fixed window length with a multiplication: a check
/// computes the index of each window it counts in, and a divide
/// instruction takes several times as long as the rest of that arithmetic.
///
/// For a numerator below 2^32 (unix seconds until 2106) the quotient is
/// `(n * m) >> 64` with `m = ceil(2^64 / d)`, exact for every 32-bit `n`
/// and `d` (Lemire, Kaser and Kurz, "Faster remainder by direct
/// computation", 2019); `d = 1`, whose `m` does not fit 64 bits, adds `n`
/// through a mask instead, so that the only branch is on the numerator's
/// size. Larger numerators divide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Divisor {
    d: u64,
    /// `ceil(2^64 / d)` when `2 <= d < 2^32`, else 0 (the quotient of a
    /// 32-bit numerator by `d = 0` (never a window length) or by
    /// `d >= 2^32` is 0; `d = 1` is `one`'s).
    m: u64,
    /// All ones when `d = 1`, else 0.
    one: u64,
}

impl Divisor {
    /// Division by `d` (at least 1: a window length).
    pub(crate) const fn new(d: u64) -> Self {
        let m = if d >= 2 && d >> 32 == 0 {
            #[expect(
                clippy::arithmetic_side_effects,
                reason = "d >= 2, so the quotient is below 2^63 and the sum cannot overflow"
            )]
            let m = u64::MAX / d + 1;
            m
        } else {
            0
        };
        let one = if d == 1 { u64::MAX } else { 0 };
        Self { d, m, one }
    }

    /// The divisor.
    pub(crate) const fn get(self) -> u64 {
        self.d
    }

    /// `n / d` (0 for a divisor of 0, which window lengths never are).
    #[inline(always)]
    pub(crate) const fn divide(self, n: u64) -> u64 {
        if n >> 32 == 0 {
            // Truncation intended: the high half of the 128-bit product,
            // which cannot overflow (both factors are below 2^64). At most
            // one of the two terms is not 0 (`m` is 0 when `d = 1`), so
            // the `|` adds them.
            let q = ((n as u128).wrapping_mul(self.m as u128) >> 64) as u64;
            q | (n & self.one)
        } else {
            match n.checked_div(self.d) {
                Some(q) => q,
                None => 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_agree_with_division() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            // xorshift64*: a cheap spread of test values.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut divisors = vec![
            1,
            2,
            3,
            7,
            10,
            60,
            3_600,
            86_400,
            1 << 31,
            (1 << 32) - 1,
            1 << 32,
        ];
        divisors.push(crate::length::WindowLength::MAX_SECS);
        // Fewer random values under Miri, which runs this about a thousand
        // times slower.
        let (random_divisors, random_values) = if cfg!(miri) { (10, 20) } else { (200, 500) };
        divisors.extend((0..random_divisors).map(|_| next() % (1 << 32) + 1));
        for &d in &divisors {
            let div = Divisor::new(d);
            let mut ns = vec![0, 1, d - 1, d, d + 1, (1 << 32) - 1, 1 << 32, u64::MAX];
            for k in [1u64, 2, 1_000, 1 << 20] {
                ns.extend([k.saturating_mul(d).saturating_sub(1), k.saturating_mul(d)]);
            }
            ns.extend((0..random_values).map(|_| next() >> 32));
            ns.extend((0..random_values / 10).map(|_| next()));
            for n in ns {
                assert_eq!(div.divide(n), n / d, "{n} / {d}");
            }
        }
        // A divisor of 0 (never a window length) gives 0, as documented.
        for n in [0, 1, (1 << 32) - 1, 1 << 32, u64::MAX] {
            assert_eq!(Divisor::new(0).divide(n), 0, "{n} / 0");
        }
    }

    #[test]
    fn windows_are_epoch_aligned() {
        let w = Window::new(60, WindowLength::from_secs(60).unwrap());
        assert_eq!(w.index_at(0), 0);
        assert_eq!(w.index_at(59), 0);
        assert_eq!(w.index_at(60), 1);
        assert_eq!(w.end_of(w.index_at(1_746_489_601)), 1_746_489_660);
        assert_eq!(w.end_of(u64::MAX / 60), u64::MAX);
    }
}
