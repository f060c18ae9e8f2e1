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
    /// Slots per unit of capacity, as a fraction: enough that two-choice
    /// hashing nearly always fits `capacity` live states (filling tables
    /// to capacity, no insert failed in 50 fills of 100,000 keys; 4 fills
    /// of 1,000,000 in 70 refused one key, near the end).
    const SLACK: (usize, usize);
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
    // Two-choice hashing into buckets of four needs more room than into
    // buckets of eight: at 2 slots per state, a table filled to capacity
    // refused a key in 14 of 20 runs of 100,000; at 2.5, in none.
    const SLACK: (usize, usize) = (5, 2);

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

/// Eight slots of 128-bit words in three 64-byte lines: a line of eight
/// tags, then their eight words.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Wide {
    tags: [AtomicU64; 8],
    words: [AtomicU128; 8],
}

impl Bucket for Wide {
    type Word = AtomicU128;
    const SLOTS: usize = 8;
    const SLACK: (usize, usize) = (3, 2);

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
        // Relaxed: the values are discarded; the loads only bring the
        // three lines in (the words start the second line, four a line).
        let tag = self.tags[0].load(Ordering::Relaxed);
        let second = self.words[0].load(Ordering::Relaxed);
        let third = self.words[4].load(Ordering::Relaxed);
        tag ^ u64::try_from((second ^ third) & u128::from(u64::MAX)).unwrap_or(0)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn buckets_fill_whole_lines() {
        assert_eq!(std::mem::size_of::<Narrow>(), 64);
        assert_eq!(std::mem::align_of::<Narrow>(), 64);
        assert_eq!(std::mem::size_of::<Wide>(), 192);
        assert_eq!(std::mem::align_of::<Wide>(), 64);
    }
}
