//! One fixed window of a class: a limit over a length.

use crate::length::WindowLength;

/// A fixed, epoch-aligned window: at most `limit` units of cost in every
/// interval `[i * length, (i + 1) * length)` of unix time.
///
/// Serializes as the `details` object of the 429 body:
/// `{"limit":60,"window":"1m"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Window {
    limit: u32,
    #[serde(rename = "window")]
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

#[cfg(test)]
mod tests {
    use super::*;

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
