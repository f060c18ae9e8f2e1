//! The integers a state word is, and the few operations a layout needs of
//! them, so that one [`Stamp`](super::Stamp) lays out 64- and 128-bit
//! words alike.

/// The integer a state word is: `u64` or `u128`.
pub(crate) trait Bits: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// The neutral word.
    const ZERO: Self;
    /// `value << shift`.
    fn shl(value: u64, shift: u32) -> Self;
    /// The field of `mask` (at most 33 bits) at `shift`.
    fn field(self, shift: u32, mask: u64) -> u64;
    /// `self + other` (no field overflows: the caller checked).
    fn plus(self, other: Self) -> Self;
    /// `self * cost`, for a word of ones at each count's lowest bit.
    fn times(self, cost: u32) -> Self;
    /// `self & other`.
    fn and(self, other: Self) -> Self;
    /// `self | other`.
    fn or(self, other: Self) -> Self;
    /// The low bits of `value` (all of it for `u128`).
    fn truncate(value: u128) -> Self;
}

impl Bits for u64 {
    const ZERO: Self = 0;
    #[inline(always)]
    fn shl(value: u64, shift: u32) -> Self {
        value << shift
    }
    #[inline(always)]
    fn field(self, shift: u32, mask: u64) -> u64 {
        (self >> shift) & mask
    }
    #[inline(always)]
    fn plus(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn times(self, cost: u32) -> Self {
        self.wrapping_mul(u64::from(cost))
    }
    #[inline(always)]
    fn and(self, other: Self) -> Self {
        self & other
    }
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[inline(always)]
    fn truncate(value: u128) -> Self {
        #[expect(clippy::cast_possible_truncation, reason = "the low half, as asked")]
        let low = value as u64;
        low
    }
}

impl Bits for u128 {
    const ZERO: Self = 0;
    #[inline(always)]
    fn shl(value: u64, shift: u32) -> Self {
        u128::from(value) << shift
    }
    #[inline(always)]
    fn field(self, shift: u32, mask: u64) -> u64 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "masked to at most 33 bits just after"
        )]
        let low = (self >> shift) as u64;
        low & mask
    }
    #[inline(always)]
    fn plus(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn times(self, cost: u32) -> Self {
        self.wrapping_mul(u128::from(cost))
    }
    #[inline(always)]
    fn and(self, other: Self) -> Self {
        self & other
    }
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[inline(always)]
    fn truncate(value: u128) -> Self {
        value
    }
}
