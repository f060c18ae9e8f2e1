//! The keyed table: fixed-capacity state per (key, class).
//!
//! # Shape
//!
//! Slots are grouped in buckets of [`BUCKET_SLOTS`]; the eight tags of a
//! bucket fill one 64-byte cache line, so finding a key reads at most two
//! lines of tags. Each (key, class) hashes to two buckets (two-choice
//! hashing keeps buckets evenly filled) and lives in at most one slot of
//! them. A slot's counters live apart from the tags: one floor word and as
//! many counter words as the policy's classes need at most (one for a
//! class whose two windows share a word, see `packed`; one per window
//! otherwise, see `counter`).
//!
//! The slots' words start at a cache line, so the slots of a bucket fill
//! whole lines (two for the reference policy). In a table too large to stay
//! in a core's caches, a lookup first starts loading every line it may need
//! (see [`Table::prefetch`]), so that its misses overlap instead of
//! following one another.
//!
//! ```text
//! tag:   63            16 15     8 7      0
//!       +----------------+--------+--------+
//!       |  fingerprint   | class  |  gen   |
//!       +----------------+--------+--------+
//! ```
//!
//! The fingerprint is 48 bits of the key's seeded hash (never 0); `gen`
//! counts reuses of the slot (mod 256). Tag 0 is an empty slot, tag 1 a
//! slot being reclaimed.
//!
//! # Protocol
//!
//! Lookup is lock-free: read the tags (`Acquire`), then work on the slot's
//! words, then re-read the slot's tag. If the tag changed, the slot was
//! reclaimed under the check; the check undoes what it counted and starts
//! again — unless the tag changed: then the reclaim's reset discarded the
//! count, and the words may hold the next owner's state, which the check
//! must not touch (its window indexes, in other units, can be equal
//! numbers). An undo therefore releases only while the slot keeps its tag,
//! and while the tag reads "reclaiming" it waits for the reclaim to end (a
//! reclaim that gives up restores the tag). While it works on the words, a
//! check also re-reads the tag (and
//! the floor) after every read of a word and before any exchange based on
//! that value (`counter::admit_while`), and stops without writing if the
//! slot is no longer its own: it never writes over a word that belongs to
//! the slot's next owner, which it could misread (another class's windows,
//! or a window it takes for stale when its clock is ahead).
//!
//! Inserting a key and reclaiming a slot happen under the locks of both of
//! the key's buckets (parking_lot mutexes, in index order), so a key is
//! never inserted twice. A slot may be reclaimed when every window of its
//! state has ended (or holds nothing) at the inserter's time:
//!
//! 1. store tag 1 (reclaiming);
//! 2. for each window word: re-read it, and if it now holds a live window
//!    give up; else compare-exchange it to the neutral word with `Release`
//!    — a failed exchange also gives up;
//! 3. store the slot's floor and then the new tag (`Release`).
//!
//! Giving up puts back the words already reset (a compare-exchange from the
//! neutral word to the value reset, which fails if a check of the old
//! owner counted in the word meanwhile) and restores the old tag. A word
//! left neutral means "empty" to the old owner too. They held nothing live at the
//! inserter's time, but a check of the old owner at an older time (a
//! straggler) would find its ended window empty and count in it again, so
//! before restoring the tag a reclaim that reset any word raises the
//! slot's floor (and its bucket's) to its time: the old owner keeps its
//! slot but never again counts below that time.
//!
//! A check's exchange can succeed after a reset only if the word holds, by
//! value, what the check read before the reset: every value the reset or a
//! later owner writes is acquired by the read that returns it, whose tag
//! re-check then fails. The one value a reset writes that an old owner can
//! have read is the neutral word itself: in a slot that was never counted
//! in (every word neutral), which is never reclaimed since its owner's
//! first check is on its way (see "Fresh slots"), or in a word that a
//! reclaim reset and then gave up on, which it puts back.
//!
//! A check that counted into a word after step 2 reset it read a value
//! released by the reclaimer, so its re-read of the tag sees step 1 or a
//! later tag, and it undoes its count; if that later tag is the old one
//! restored, the re-read acquires the restore and then sees the raised
//! floor, which differs from the floor the check counted at, and it undoes
//! its count too. A check therefore counts only at the floor its slot has
//! when it re-reads the tag. A check that counted before step 2 either made the
//! word live (the reclaimer gives up) or counted into a window that had
//! already ended at the reclaimer's time; that count is dropped with the
//! slot, and no later check of the key can count in that window again
//! because of the floor.
//!
//! # Fresh slots
//!
//! A slot whose words are all neutral was published and not yet counted
//! in: its owner's first check, which follows the insert at once, is on
//! its way. Such a slot is treated as live (freeing "in a second"), so
//! that the check never exchanges from a neutral word that has meanwhile
//! been reset for another key. A first check always counts (the cost was
//! checked against the limits before the insert), so a slot stays fresh
//! only while that check runs.
//!
//! # Floors
//!
//! A key whose slot was reclaimed at time `R` must never count in a window
//! that ended before `R` (a straggling clock would reopen it). Each bucket
//! keeps, under its lock, the latest time at which one of its slots was
//! reclaimed (or reset and given up); a key inserted into either of its buckets takes the larger of
//! the two as its slot's floor, and every check of the slot counts at
//! `max(now, floor)`.

mod reclaim;
mod slot;

pub(crate) use slot::{Claim, Slot};

use crate::counter;
use crate::packed::Packing;
use crate::state::NEUTRAL;
use crate::sync::{AtomicU64, Mutex, Ordering};
use crate::window::Window;

/// Slots per bucket: one cache line of tags.
pub(crate) const BUCKET_SLOTS: usize = 8;
/// The largest capacity a table accepts, in tracked states.
pub(crate) const MAX_CAPACITY: usize = 1 << 31;

/// The size from which a table prefetches a lookup's lines: below it (about
/// 6,700 states of the reference policy, 39 bytes each), a table in use is
/// likely to stay in a core's second-level cache (2 MB and more on current
/// servers), where the extra loads cost a check more than they save.
const PREFETCH_FROM: usize = 256 * 1024;

/// Words of a 64-byte cache line.
const LINE_WORDS: usize = 8;

const EMPTY: u64 = 0;
const RECLAIMING: u64 = 1;
const FINGERPRINT_BITS: u32 = 48;

/// The index of slot `j` of bucket `b`.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "b < buckets and j < BUCKET_SLOTS, and buckets * BUCKET_SLOTS slots were allocated"
)]
const fn slot_index(b: usize, j: usize) -> usize {
    b * BUCKET_SLOTS + j
}

/// How many words into `words` its first cache line boundary lies (0 if
/// the words were not 8 bytes each; loom's are, and its tiny tables work
/// the same at any offset).
fn line_start(words: &[AtomicU64]) -> usize {
    if std::mem::size_of::<AtomicU64>() != 8 {
        return 0;
    }
    // The address only, to find where lines begin.
    let into_line = (words.as_ptr() as usize % 64) / 8;
    LINE_WORDS.wrapping_sub(into_line) % LINE_WORDS
}

/// The class index held in a tag.
fn class_of(tag: u64) -> u8 {
    u8::try_from((tag >> 8) & 0xFF).unwrap_or(u8::MAX)
}

/// How a class's state sits in a slot's window words.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Layout<'w> {
    /// One word per window (see `counter`).
    Words(&'w [Window]),
    /// Two nested windows in the first word (see `packed`).
    Packed(&'w Packing),
}

impl Layout<'_> {
    /// When window word `i` of a state holding live state at `now` frees
    /// up: the end of its last window with a count, or `None` if it holds
    /// nothing live.
    fn live_end(&self, i: usize, word: u64, now: u64) -> Option<u64> {
        match self {
            Self::Words(windows) => windows.get(i).and_then(|w| {
                let (index, count) = counter::view(word, w.index_at(now));
                (count > 0).then(|| w.end_of(index))
            }),
            Self::Packed(p) => (i == 0).then(|| p.live_end(word, now)).flatten(),
        }
    }
}

/// A bucket's tags, aligned to a cache line.
#[repr(align(64))]
#[derive(Debug)]
struct Tags([AtomicU64; BUCKET_SLOTS]);

/// Where a (key, class) may live, from its seeded hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Home {
    /// `fingerprint << 8 | class`: the tag without its generation.
    ident: u64,
    buckets: [usize; 2],
}

/// The table.
#[derive(Debug)]
pub(crate) struct Table {
    tags: Box<[Tags]>,
    /// Per bucket: the latest reclaim time (unix seconds).
    floors: Box<[Mutex<u64>]>,
    /// Per slot: `[floor, window words...]`, from index `base` on.
    words: Box<[AtomicU64]>,
    /// The first word of `words` that starts a cache line: the slots of a
    /// bucket (8 × stride words) then fill `stride` whole lines.
    base: usize,
    /// Whether lookups [`prefetch`](Self::prefetch): tables of at least
    /// [`PREFETCH_FROM`] bytes.
    prefetch: bool,
    /// Window words per slot.
    width: usize,
    /// Slots of each bucket that inserts use in the tiny tables of the
    /// loom models (all of them otherwise).
    #[cfg(all(test, loom))]
    usable: usize,
}

impl Table {
    /// A table with room for `capacity` states of up to `width` windows.
    ///
    /// Allocates `capacity * 3/2` slots, rounded up to whole buckets (at
    /// least two). A new key goes to the emptier of its two buckets of
    /// eight; at two-thirds load the chance that both are full is
    /// negligible (a simulation of 10^5 keys in 1.5 * 10^5 slots saw no
    /// failure in any run, where 5/4 slots failed about once per 5,000
    /// insertions), so `capacity` live states fit.
    pub(crate) fn new(capacity: usize, width: usize) -> Option<Self> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return None;
        }
        let slots = capacity.checked_add(capacity / 2)?;
        let buckets = slots.div_ceil(BUCKET_SLOTS).max(2);
        let words = buckets
            .checked_mul(BUCKET_SLOTS)?
            .checked_mul(width.checked_add(1)?)?;
        // Room to start the slots at a line boundary.
        let words: Box<[AtomicU64]> = (0..words.checked_add(LINE_WORDS - 1)?)
            .map(|_| AtomicU64::new(NEUTRAL))
            .collect();
        let base = line_start(&words);
        let bytes = buckets
            .saturating_mul(std::mem::size_of::<Tags>())
            .saturating_add(words.len().saturating_mul(std::mem::size_of::<AtomicU64>()));
        Some(Self {
            tags: (0..buckets)
                .map(|_| Tags(std::array::from_fn(|_| AtomicU64::new(EMPTY))))
                .collect(),
            floors: (0..buckets).map(|_| Mutex::new(0)).collect(),
            words,
            base,
            prefetch: bytes >= PREFETCH_FROM,
            width,
            #[cfg(all(test, loom))]
            usable: BUCKET_SLOTS,
        })
    }

    /// A table of two buckets that use only `usable` slots each, so that a
    /// model checker sees a full table after a handful of keys.
    #[cfg(all(test, loom))]
    pub(crate) fn tiny(usable: usize, width: usize) -> Self {
        let mut table = Self::new(1, width).expect("capacity 1 is valid");
        table.usable = usable.clamp(1, BUCKET_SLOTS);
        table
    }

    /// Slots of each bucket that inserts use: a constant outside the loom
    /// models, so that a lookup's loop over a bucket is unrolled.
    #[inline(always)]
    fn usable(&self) -> usize {
        #[cfg(all(test, loom))]
        {
            self.usable
        }
        #[cfg(not(all(test, loom)))]
        {
            BUCKET_SLOTS
        }
    }

    /// Slots in the table.
    pub(crate) fn slots(&self) -> usize {
        self.tags.len().saturating_mul(BUCKET_SLOTS)
    }

    /// Bytes of table memory per slot: tag, floor and window words.
    pub(crate) fn bytes_per_slot(&self) -> usize {
        std::mem::size_of::<AtomicU64>()
            .saturating_mul(self.width.saturating_add(2))
            .saturating_add(std::mem::size_of::<Mutex<u64>>().div_ceil(BUCKET_SLOTS))
    }

    /// The buckets and tag of a (key, class) with seeded hash `hash`.
    #[inline]
    pub(crate) fn home(&self, hash: u64, class: u8) -> Home {
        let fingerprint = (hash >> (64 - FINGERPRINT_BITS)).max(1);
        // A second, independent-looking spread of the hash picks buckets.
        let mut m = (hash ^ (hash >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        m ^= m >> 32;
        let n = self.tags.len() as u64;
        // Fast range reduction: (x * n) >> 32 for 32-bit x is below n.
        let b0 = ((m >> 32).wrapping_mul(n)) >> 32;
        let mut b1 = ((m & 0xFFFF_FFFF).wrapping_mul(n)) >> 32;
        if b1 == b0 {
            // The next bucket, wrapping; no division (b0 < n).
            b1 = b0.wrapping_add(1);
            if b1 == n {
                b1 = 0;
            }
        }
        let to_usize = |b: u64| usize::try_from(b).unwrap_or(0);
        Home {
            ident: (fingerprint << 8) | u64::from(class),
            buckets: [to_usize(b0), to_usize(b1)],
        }
    }

    /// Starts reading every cache line a lookup of `home` can need: the
    /// second bucket's tags and both buckets' slots (the first bucket's
    /// tags are read at once by [`find`](Self::find)).
    ///
    /// Which slot's words a check works on depends on the tags, so without
    /// this the check waits for the tag line and only then for the slot's
    /// line: two memory latencies in a row when the table has outgrown the
    /// caches (a server with many keys, whose requests evict the table's
    /// lines between two checks of a key). Loading the lines up front makes
    /// their misses overlap. Tables below [`PREFETCH_FROM`] skip it.
    ///
    /// The values are discarded. (The loom models' tables are tiny: they
    /// never prefetch, so the models do not explore these loads.)
    #[inline(always)]
    fn prefetch(&self, home: &Home) {
        if self.prefetch {
            // A bucket's slots fill `stride` whole lines (see `base`): one
            // word of each (two lines for the reference policy).
            let stride = self.width.wrapping_add(1);
            let mut seen = 0;
            for b in home.buckets {
                let start = self
                    .base
                    .wrapping_add(slot_index(b, 0).wrapping_mul(stride));
                for line in 0..stride {
                    let i = start.wrapping_add(line.wrapping_mul(LINE_WORDS));
                    if let Some(w) = self.words.get(i) {
                        // Relaxed: the value is discarded; the load only
                        // brings the line in.
                        seen ^= w.load(Ordering::Relaxed);
                    }
                }
            }
            if let Some(tags) = self.tags.get(home.buckets[1]) {
                // Relaxed: as above.
                seen ^= tags.0[0].load(Ordering::Relaxed);
            }
            std::hint::black_box(seen);
        }
    }

    /// Finds the slot of a tracked key, without locking.
    #[inline(always)]
    pub(crate) fn find(&self, home: &Home) -> Option<Slot<'_>> {
        self.prefetch(home);
        for &b in &home.buckets {
            for (j, tag) in self.tags[b].0[..self.usable()].iter().enumerate() {
                // Acquire: pairs with the Release that published the tag, so
                // the slot's floor is visible.
                let t = tag.load(Ordering::Acquire);
                if t >> 8 == home.ident {
                    return Some(self.slot_with(slot_index(b, j), t, tag));
                }
            }
        }
        None
    }

    #[inline]
    fn tag(&self, index: usize) -> &AtomicU64 {
        &self.tags[index / BUCKET_SLOTS].0[index % BUCKET_SLOTS]
    }

    #[expect(
        clippy::arithmetic_side_effects,
        reason = "index < slots, and base + (width + 1) * slots is at most the length of an \
                  allocation"
    )]
    #[inline]
    fn stride(&self, index: usize) -> &[AtomicU64] {
        let stride = self.width + 1;
        let start = self.base + index * stride;
        &self.words[start..start + stride]
    }

    /// Slot `index`, seen with tag `tag`.
    #[inline]
    fn slot(&self, index: usize, tag: u64) -> Slot<'_> {
        self.slot_with(index, tag, self.tag(index))
    }

    /// Slot `index`, seen with tag `tag` in `tag_word`, its tag.
    #[inline(always)]
    fn slot_with<'t>(&'t self, index: usize, tag: u64, tag_word: &'t AtomicU64) -> Slot<'t> {
        // A stride is `width + 1` words: the floor, then the window words
        // (none if the width is 0), so neither index can be out of range.
        let stride = self.stride(index);
        let (floor_word, words) = (&stride[0], &stride[1..]);
        Slot {
            tag,
            tag_word,
            floor_word,
            words,
        }
    }

    /// The window words of slot `index`.
    #[inline]
    fn words_at(&self, index: usize) -> &[AtomicU64] {
        self.stride(index).get(1..).unwrap_or(&[])
    }

    /// Number of slots holding a key (for tests and statistics).
    pub(crate) fn occupied(&self) -> usize {
        self.tags
            .iter()
            .flat_map(|t| t.0.iter())
            // Relaxed: a statistic.
            .filter(|t| t.load(Ordering::Relaxed) > RECLAIMING)
            .count()
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests;
