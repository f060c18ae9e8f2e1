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

use crate::counter::{self, NEUTRAL};
use crate::packed::Packing;
use crate::sync::{AtomicU64, Backoff, Mutex, MutexGuard, Ordering};
use crate::window::Window;

/// Slots per bucket: one cache line of tags.
pub(crate) const BUCKET_SLOTS: usize = 8;
/// The largest capacity a table accepts, in tracked states.
pub const MAX_CAPACITY: usize = 1 << 31;

/// The size from which a table prefetches a lookup's lines: below it (about
/// 7,000 states of the reference policy, 36 bytes each), a table in use is
/// likely to stay in a core's second-level cache (2 MB and more on current
/// servers), where the loads would cost a check about 2 ns (8% over 1,000
/// keys, measured) for little.
const PREFETCH_FROM: usize = 256 * 1024;

/// Words of a 64-byte cache line.
const LINE_WORDS: usize = 8;

const EMPTY: u64 = 0;
const RECLAIMING: u64 = 1;
const FINGERPRINT_BITS: u32 = 48;

/// The index of slot `j` of bucket `b`.
#[allow(
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

/// A slot found for a key, with the tag it had when found, and its tag
/// and words located once for the check that uses them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'t> {
    tag: u64,
    tag_word: &'t AtomicU64,
    floor_word: &'t AtomicU64,
    /// The window words.
    words: &'t [AtomicU64],
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
    #[cfg(all(test, not(loom)))]
    pub(crate) fn words(&self) -> &'t [AtomicU64] {
        self.words
    }

    /// The first `N` window words of a slot (`None` if the table was built
    /// for fewer windows, which the limiter never asks for).
    #[inline]
    pub(crate) fn words_n<const N: usize>(&self) -> Option<&'t [AtomicU64; N]> {
        self.words.first_chunk::<N>()
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

/// Why a slot could not be reclaimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    /// Unix seconds at which the slot frees up.
    frees_at: u64,
    /// Whether some of its words were reset before giving up.
    disturbed: bool,
}

/// Why no slot could be found for a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    /// Unix seconds at which a slot of the key's buckets frees up.
    pub(crate) frees_at: u64,
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

    #[allow(
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

    /// Finds or makes the slot of a key, under the locks of its buckets.
    ///
    /// `layout_of` gives the layout of a class index (for judging
    /// whether another key's slot may be reclaimed). A slot is reclaimed
    /// when all its windows have ended at `max(now_secs, floor)`.
    pub(crate) fn insert<'w>(
        &self,
        home: &Home,
        now_secs: u64,
        layout_of: impl Fn(u8) -> Layout<'w>,
    ) -> Result<Slot<'_>, Full> {
        let [a, b] = home.buckets;
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        let mut g_first: MutexGuard<'_, u64> = self.floors[first].lock();
        let mut g_second: MutexGuard<'_, u64> = self.floors[second].lock();
        if let Some(slot) = self.find(home) {
            return Ok(slot);
        }
        let now = now_secs.max(*g_first).max(*g_second);
        // Two-choice: the bucket with more room (empty or reclaimable
        // slots) takes the key, which keeps buckets evenly filled.
        let room = |b: usize| {
            (0..self.usable())
                .filter(|&j| self.live_until(slot_index(b, j), now, &layout_of).is_none())
                .count()
        };
        let order = if room(a) >= room(b) { [a, b] } else { [b, a] };
        for &bucket in &order {
            for j in 0..self.usable() {
                let index = slot_index(bucket, j);
                // Relaxed: tags of a locked bucket change only under its lock.
                if self.tag(index).load(Ordering::Relaxed) == EMPTY {
                    return Ok(self.publish(index, home.ident << 8, now));
                }
            }
        }
        let mut frees_at = u64::MAX;
        for &bucket in &order {
            for j in 0..self.usable() {
                let index = slot_index(bucket, j);
                let reclaimed = self.reclaim(index, now, &layout_of);
                if matches!(
                    reclaimed,
                    Ok(_)
                        | Err(Refusal {
                            disturbed: true,
                            ..
                        })
                ) {
                    let floor = if bucket == first {
                        &mut *g_first
                    } else {
                        &mut *g_second
                    };
                    *floor = (*floor).max(now);
                }
                match reclaimed {
                    Ok(generation) => {
                        return Ok(self.publish(index, (home.ident << 8) | generation, now));
                    }
                    Err(refusal) => frees_at = frees_at.min(refusal.frees_at),
                }
            }
        }
        Err(Full { frees_at })
    }

    /// `None` when the key has a slot; otherwise the floor (unix seconds)
    /// that inserting it now would give its slot, before `max(now, ..)`.
    pub(crate) fn untracked_floor(&self, home: &Home) -> Option<u64> {
        let [a, b] = home.buckets;
        let (first, second) = if a < b { (a, b) } else { (b, a) };
        let g_first = self.floors[first].lock();
        let g_second = self.floors[second].lock();
        match self.find(home) {
            Some(_) => None,
            None => Some((*g_first).max(*g_second)),
        }
    }

    /// Hands slot `index` (empty or just reclaimed) to a new owner.
    fn publish(&self, index: usize, tag: u64, floor: u64) -> Slot<'_> {
        // Relaxed: published by the tag's Release below.
        self.stride(index)[0].store(floor, Ordering::Relaxed);
        // Release: a finder that acquires the tag sees the floor and the
        // neutral words.
        self.tag(index).store(tag, Ordering::Release);
        self.slot(index, tag)
    }

    /// Whether slot `index` holds live state at `now` (in a locked
    /// bucket): `Some(unix seconds at which it frees up)`, or `None` for an
    /// empty slot or one whose windows have all ended or hold nothing.
    fn live_until<'w>(
        &self,
        index: usize,
        now: u64,
        layout_of: &impl Fn(u8) -> Layout<'w>,
    ) -> Option<u64> {
        // Relaxed: the bucket is locked; tags change only under its lock.
        let tag = self.tag(index).load(Ordering::Relaxed);
        if tag == EMPTY {
            return None;
        }
        let layout = layout_of(class_of(tag));
        let words = self.words_at(index);
        // Relaxed: a judgement only; `reclaim` re-validates each word.
        if words.iter().all(|w| w.load(Ordering::Relaxed) == NEUTRAL) {
            // Published and never counted in: its owner's first check is
            // on its way (module docs, "Fresh slots").
            return Some(now.saturating_add(1));
        }
        words
            .iter()
            .enumerate()
            // Relaxed: as above.
            .filter_map(|(i, word)| layout.live_end(i, word.load(Ordering::Relaxed), now))
            .max()
    }

    /// Resets slot `index` if its state holds nothing live at `now`;
    /// returns the slot's next generation, or when it frees up.
    fn reclaim<'w>(
        &self,
        index: usize,
        now: u64,
        layout_of: &impl Fn(u8) -> Layout<'w>,
    ) -> Result<u64, Refusal> {
        if let Some(end) = self.live_until(index, now, layout_of) {
            return Err(Refusal {
                frees_at: end,
                disturbed: false,
            });
        }
        let tag_word = self.tag(index);
        // Relaxed: the bucket is locked; tags change only under its lock.
        let old = tag_word.load(Ordering::Relaxed);
        let layout = layout_of(class_of(old));
        // Relaxed: the Release of each word reset below carries it.
        tag_word.store(RECLAIMING, Ordering::Relaxed);
        let words = self.words_at(index);
        // The values reset so far, to put back if the reclaim gives up.
        let mut was = [NEUTRAL; crate::policy::MAX_WINDOWS];
        for (i, word) in words.iter().enumerate() {
            // Relaxed: the compare-exchange validates it.
            let seen = word.load(Ordering::Relaxed);
            let live = layout.live_end(i, seen, now);
            // Release: a check that reads the neutral word then sees the
            // reclaiming tag (module docs).
            let reset = live.is_none()
                && word
                    .compare_exchange(seen, NEUTRAL, Ordering::Release, Ordering::Relaxed)
                    .is_ok();
            if reset {
                if let Some(slot) = was.get_mut(i) {
                    *slot = seen;
                }
                continue;
            }
            let disturbed = i > 0;
            if disturbed {
                // Put back the words reset so far, unless a check of the
                // old owner has counted in them since: a counted-in slot
                // then never holds a neutral word it did not hold before
                // (module docs, "Fresh slots").
                for (word, &value) in words.iter().zip(&was).take(i) {
                    // Relaxed: published by the tag's Release below; a
                    // failure means a check counted in the word, which the
                    // raised floor below handles.
                    let _ =
                        word.compare_exchange(NEUTRAL, value, Ordering::Relaxed, Ordering::Relaxed);
                }
                // A check of the old owner may have counted in a reset
                // word, below `now`: it must not count there again (module
                // docs).
                let floor = &self.stride(index)[0];
                // Relaxed: floors change only under the bucket lock,
                // held here; the tag's Release below publishes it.
                floor.store(floor.load(Ordering::Relaxed).max(now), Ordering::Relaxed);
            }
            // Release: the old owner's finders, and checks that read a
            // reset word, see its floor.
            tag_word.store(old, Ordering::Release);
            return Err(Refusal {
                frees_at: live.unwrap_or(now.saturating_add(1)),
                disturbed,
            });
        }
        Ok(old.wrapping_add(1) & 0xFF)
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
mod tests {
    use super::*;
    use crate::counter::{admit_any as admit, Admission};
    use crate::length::WindowLength;

    fn minute() -> Vec<Window> {
        vec![Window::new(2, WindowLength::from_secs(60).unwrap())]
    }

    #[test]
    fn sizes_with_slack_and_rejects_bad_capacities() {
        assert!(Table::new(0, 2).is_none());
        assert!(Table::new(MAX_CAPACITY + 1, 2).is_none());
        let t = Table::new(1, 2).unwrap();
        assert_eq!(t.slots(), 16);
        let t = Table::new(1000, 2).unwrap();
        assert_eq!(t.slots(), 1504);
        assert_eq!(t.bytes_per_slot(), 34);
    }

    #[test]
    fn slots_start_on_a_cache_line_and_large_tables_prefetch() {
        // Tables of 10,000 states take Miri most of a minute to build.
        let large = if cfg!(miri) { 100 } else { 10_000 };
        for (capacity, width) in [(1, 0), (1, 1), (100, 2), (large, 1), (large, 3)] {
            let t = Table::new(capacity, width).unwrap();
            let first = t.stride(0).as_ptr() as usize;
            assert_eq!(first % 64, 0, "capacity {capacity}, width {width}");
            // Every bucket's slots start a line: 8 slots of width + 1 words.
            let second = t.stride(BUCKET_SLOTS).as_ptr() as usize;
            assert_eq!(second - first, 64 * (width + 1));
            // The last slot's words are inside the allocation.
            assert_eq!(t.stride(t.slots() - 1).len(), width + 1);
        }
        assert!(!Table::new(1000, 1).unwrap().prefetch);
        if !cfg!(miri) {
            assert!(Table::new(10_000, 1).unwrap().prefetch);
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "a table large enough to prefetch takes Miri most of a minute"
    )]
    fn a_prefetching_table_finds_what_it_inserts() {
        let w = minute();
        let t = Table::new(10_000, 1).unwrap();
        assert!(t.prefetch);
        // A few homes, then one of the first and the last bucket, whose
        // prefetched lines are the first and the last of the allocation.
        for h in [0u64, u64::MAX, 1 << 63, 0x1234_5678_9ABC_DEF0] {
            let home = t.home(h, 0);
            t.prefetch(&home);
            let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
            assert_eq!(t.find(&home), Some(slot));
        }
        let ends = Home {
            ident: 7 << 8,
            buckets: [0, t.tags.len() - 1],
        };
        t.prefetch(&ends);
    }

    #[test]
    fn homes_are_two_distinct_buckets() {
        let t = Table::new(100, 1).unwrap();
        for h in [0u64, 1, u64::MAX, 0xDEAD_BEEF, 1 << 63] {
            let home = t.home(h, 3);
            assert_ne!(home.buckets[0], home.buckets[1]);
            assert!(home.buckets.iter().all(|&b| b < t.tags.len()));
            assert_eq!(home.ident & 0xFF, 3);
            assert_ne!(home.ident >> 8, 0);
        }
    }

    #[test]
    fn insert_then_find() {
        let w = minute();
        let t = Table::new(16, 1).unwrap();
        let home = t.home(42, 0);
        assert_eq!(t.find(&home), None);
        let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
        assert_eq!(t.find(&home), Some(slot));
        assert_eq!(t.insert(&home, 100, |_| Layout::Words(&w)).unwrap(), slot);
        assert!(slot.still_owns(slot.floor()));
        assert_eq!(t.occupied(), 1);
    }

    #[test]
    fn capacity_live_states_fit() {
        let w = minute();
        // Miri interprets every atomic: a smaller largest table there.
        let largest = if cfg!(miri) { 300 } else { 10_000 };
        for capacity in [1, 7, 100, largest] {
            let t = Table::new(capacity, 1).unwrap();
            for k in 0..capacity as u64 {
                // An odd multiplier spreads consecutive keys like a hash.
                let home = t.home(k.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17), 0);
                let slot = t
                    .insert(&home, 100, |_| Layout::Words(&w))
                    .unwrap_or_else(|e| panic!("key {k} of {capacity}: {e:?}"));
                assert!(matches!(
                    admit(slot.words(), &w, &[2], 100, 1),
                    Admission::Admitted(_)
                ));
            }
            assert_eq!(t.occupied(), capacity);
        }
    }

    #[test]
    fn a_full_table_reclaims_only_ended_state() {
        let w = minute();
        let t = Table::new(1, 1).unwrap(); // two buckets of 8
        let mut slots = Vec::new();
        for k in 0..16u64 {
            let home = t.home(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), 0);
            let slot = t.insert(&home, 100, |_| Layout::Words(&w)).unwrap();
            assert!(matches!(
                admit(slot.words(), &w, &[2], 100, 1),
                Admission::Admitted(_)
            ));
            slots.push(slot);
        }
        let newcomer = t.home(0xFFFF_0000_1234, 0);
        // Every slot is live until the minute ends at 120.
        assert_eq!(
            t.insert(&newcomer, 110, |_| Layout::Words(&w)),
            Err(Full { frees_at: 120 })
        );
        assert!(slots.iter().all(|&s| s.still_owns(100)));
        // At 120 the old windows have ended: a slot is reclaimed.
        let slot = t.insert(&newcomer, 120, |_| Layout::Words(&w)).unwrap();
        assert_eq!(slots.iter().filter(|&&s| !s.still_owns(100)).count(), 1);
        assert_eq!(slot.floor(), 120);
        assert!(slot
            .words()
            .iter()
            .all(|w| w.load(Ordering::Relaxed) == NEUTRAL));
    }
}
