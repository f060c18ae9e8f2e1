//! A slot found for a key, and a check's claim on it.

use super::RECLAIMING;
use crate::state::Owner;
use crate::sync::{AtomicU64, Backoff, Ordering};

/// A slot found for a key, with the tag it had when found, and its tag
/// and words located once for the check that uses them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'t> {
    pub(super) tag: u64,
    pub(super) tag_word: &'t AtomicU64,
    pub(super) floor_word: &'t AtomicU64,
    /// The window words.
    pub(super) words: &'t [AtomicU64],
}

impl PartialEq for Slot<'_> {
    fn eq(&self, other: &Self) -> bool {
        // One tag word per slot: the same word is the same slot.
        std::ptr::eq(self.tag_word, other.tag_word) && self.tag == other.tag
    }
}

impl Eq for Slot<'_> {}

impl<'t> Slot<'t> {
    /// The floor (unix seconds) below which this slot never counts.
    #[inline]
    pub(crate) fn floor(&self) -> u64 {
        // Relaxed: the floor was published by the tag's Release, which
        // `find` acquired; a stale read only happens on a slot being
        // reclaimed, and the tag re-check catches that.
        self.floor_word.load(Ordering::Relaxed)
    }

    /// The window words of a slot.
    #[inline]
    pub(crate) fn words(&self) -> &'t [AtomicU64] {
        self.words
    }

    /// Whether the slot still has the tag it was found with: it has not
    /// been reclaimed for another key since.
    ///
    /// A slot being reclaimed may yet go back to its owner (a reclaim that
    /// gives up restores the tag), so while the tag reads "reclaiming" this
    /// waits for the reclaim to end: a reclaimer holds its buckets' locks
    /// for a few word operations and never waits for a check. Only an undo
    /// asks this, after a check raced with a reclaim of its own slot.
    #[inline]
    pub(crate) fn same_tag(&self) -> bool {
        let backoff = Backoff::new();
        loop {
            // Acquire: as in `still_owns`.
            let tag = self.tag_word.load(Ordering::Acquire);
            if tag != RECLAIMING {
                return tag == self.tag;
            }
            // Spins, then yields: the reclaimer may have been preempted.
            backoff.snooze();
        }
    }

    /// Whether the slot still belongs to the key it was found for, with
    /// the floor (`floor`) the check counted at.
    #[inline]
    pub(crate) fn still_owns(&self, floor: u64) -> bool {
        // Acquire: the word operations before it are Acquire, so this
        // read sees a reclaim whose reset (or any later value) they read;
        // and it acquires a restored tag's Release, which publishes a
        // raised floor (module docs).
        self.tag_word.load(Ordering::Acquire) == self.tag
            // Relaxed: ordered after the tag's Acquire above.
            && self.floor() == floor
    }
}

/// A check's hold on the slot it counts in: the slot as found, and the
/// floor it counts at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim<'s, 't> {
    pub(crate) slot: &'s Slot<'t>,
    pub(crate) floor: u64,
}

impl<'s, 't> Claim<'s, 't> {
    /// Claims `slot` at the floor it has now.
    #[inline(always)]
    pub(crate) fn new(slot: &'s Slot<'t>) -> Self {
        Self {
            floor: slot.floor(),
            slot,
        }
    }
}

impl Owner for Claim<'_, '_> {
    #[inline(always)]
    fn owns(&self) -> bool {
        self.slot.still_owns(self.floor)
    }

    #[inline(always)]
    fn keeps(&self) -> bool {
        self.slot.same_tag()
    }
}
