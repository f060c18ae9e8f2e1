//! A slot found for a key: its tag as found, and its words.

use crate::state::Owner;
use crate::sync::{AtomicU64, Ordering};

/// A slot found for a key, with the tag it had when found.
#[derive(Debug)]
pub(crate) struct Slot<'t, W> {
    tag: u64,
    tag_word: &'t AtomicU64,
    /// The state word.
    pub(crate) word: &'t W,
}

impl<W> Clone for Slot<'_, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W> Copy for Slot<'_, W> {}

impl<W> PartialEq for Slot<'_, W> {
    fn eq(&self, other: &Self) -> bool {
        // One tag word per slot: the same word is the same slot.
        std::ptr::eq(self.tag_word, other.tag_word) && self.tag == other.tag
    }
}

impl<W> Eq for Slot<'_, W> {}

impl<'t, W> Slot<'t, W> {
    /// The slot whose tag `tag_word` held `tag`.
    #[inline(always)]
    pub(crate) fn new(tag: u64, tag_word: &'t AtomicU64, word: &'t W) -> Self {
        Self {
            tag,
            tag_word,
            word,
        }
    }
}

impl<W> Owner for Slot<'_, W> {
    /// Whether the slot still has the tag it was found with: it has not
    /// been taken for another key since.
    #[inline(always)]
    fn owns(&self) -> bool {
        // Acquire: the word reads before it are Acquire, so this read sees
        // a reclaim whose word (or any later value) they read (see the
        // table's "Protocol").
        self.tag_word.load(Ordering::Acquire) == self.tag
    }
}
