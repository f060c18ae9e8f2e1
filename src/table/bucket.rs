//! Buckets: the tags and state words of a few slots, laid out so that a
//! check of a tracked key touches one cache line.

use crate::sync::{AtomicU128, AtomicU64, Ordering};
use crate::word::Word;

/// A bucket of slots: its tags and their state words, in one allocation
/// that starts a cache line.
pub(crate) trait Bucket: Send + Sync + std::fmt::Debug + Sized {
    /// The state word.
    type Word: Word;
    /// Slots per bucket.
    const SLOTS: usize;
    /// An empty bucket: every tag empty, every word neutral.
    fn empty() -> Self;
    /// The tags, one per slot.
    fn tags(&self) -> &[AtomicU64];
    /// The state words, one per slot.
    fn words(&self) -> &[Self::Word];
    /// Reads a word of every line of the bucket, to start loading them
    /// (see `Table::prefetch`); the value means nothing.
    fn touch(&self) -> u64;
}

/// Four slots of 64-bit words in one 64-byte line: four tags, then their
/// four words.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Narrow {
    tags: [AtomicU64; 4],
    words: [AtomicU64; 4],
}

impl Bucket for Narrow {
    type Word = AtomicU64;
    const SLOTS: usize = 4;

    fn empty() -> Self {
        Self {
            tags: std::array::from_fn(|_| AtomicU64::new(0)),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    #[inline(always)]
    fn tags(&self) -> &[AtomicU64] {
        &self.tags
    }

    #[inline(always)]
    fn words(&self) -> &[AtomicU64] {
        &self.words
    }

    #[inline(always)]
    fn touch(&self) -> u64 {
        // Relaxed: the value is discarded; the load only brings the line in.
        self.tags[0].load(Ordering::Relaxed)
    }
}

/// Five slots of 128-bit words in two 64-byte lines: five tags, then
/// their five words (the first two words share the tags' line).
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Wide {
    tags: [AtomicU64; 5],
    words: [AtomicU128; 5],
}

impl Bucket for Wide {
    type Word = AtomicU128;
    const SLOTS: usize = 5;

    fn empty() -> Self {
        Self {
            tags: std::array::from_fn(|_| AtomicU64::new(0)),
            words: std::array::from_fn(|_| AtomicU128::new(0)),
        }
    }

    #[inline(always)]
    fn tags(&self) -> &[AtomicU64] {
        &self.tags
    }

    #[inline(always)]
    fn words(&self) -> &[AtomicU128] {
        &self.words
    }

    #[inline(always)]
    fn touch(&self) -> u64 {
        // Relaxed: the values are discarded; the loads only bring the two
        // lines in.
        let tag = self.tags[0].load(Ordering::Relaxed);
        // The last word lies in the second line.
        let last = self.words[4].load(Ordering::Relaxed);
        tag ^ u64::try_from(last & u128::from(u64::MAX)).unwrap_or(0)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn buckets_fill_whole_lines() {
        assert_eq!(std::mem::size_of::<Narrow>(), 64);
        assert_eq!(std::mem::align_of::<Narrow>(), 64);
        assert_eq!(std::mem::size_of::<Wide>(), 128);
        assert_eq!(std::mem::align_of::<Wide>(), 64);
    }
}
