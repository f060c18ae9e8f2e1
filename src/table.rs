//! The keyed table: fixed-capacity state per (key, class).
//!
//! # Shape
//!
//! Slots are grouped in buckets of one cache line: four tags and their
//! four 64-bit state words. Finding a tracked key and counting it
//! therefore touches the line of its bucket and nothing else. (A policy
//! whose states need 128 bits, see `stamp`, takes buckets of eight tags in
//! one line and their eight words in the next two.) Each (key, class)
//! hashes to two buckets and lives in at most one slot of them: a new key
//! takes the bucket with more room (two-choice hashing keeps buckets
//! evenly filled), so about a quarter of the keys of a table live in their
//! second bucket, whose line a lookup reads only when the first does not
//! hold the key. A table has 5/2 slots per unit of capacity in buckets of
//! four (3/2 in buckets of eight), so that `capacity` live states fit. In
//! a table of [`PREFETCH_FROM`] bytes and more, far past a processor's
//! caches, a lookup starts loading both buckets at once (see
//! [`Table::prefetch`]), so that their misses overlap.
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
//! A check is lock-free: it reads the tags (`Acquire`), then the slot's
//! word (`Acquire`), then the slot's tag again; if the tag changed, the
//! slot was taken from the key under the check, and the check looks the
//! key up again without writing. It asks again after every failed
//! exchange, and it decides (admits, denies or reports) only on a word it
//! read while the slot was the key's (see `word`).
//!
//! Inserting a key and taking a slot from another key happen under the
//! locks of the key's buckets (parking_lot mutexes, one per four
//! buckets, taken in index order), so a key is never inserted twice. A
//! slot is taken from its owner when its state holds nothing live at the
//! inserter's time (every window with a count has ended), or, when the
//! table is full, when its state holds little (see "Eviction"):
//!
//! 1. store tag 1 (reclaiming);
//! 2. compare-exchange the word, from the value judged, to the new owner's
//!    first word, with `Release`; a failure (the old owner counted
//!    meanwhile) judges the new value again, and gives up if it no longer
//!    qualifies: the old tag is stored back (`Release`), and nothing else
//!    changed;
//! 3. store the new owner's tag (`Release`).
//!
//! A check of the old owner whose word read returns the new owner's word,
//! or any later value, is acquired from step 2's `Release` (every later
//! write is a read-modify-write of the word, which continues its release
//! sequence), so its tag read sees step 1 or later, and it stops. A check
//! that read the old owner's word before step 2 decides on a value the
//! key held, and an exchange from that value succeeds only if the word
//! still holds it: every word the next owner writes differs from every
//! word the old owner held, because the next owner's state starts at the
//! inserter's time or later while the old owner's stamp is strictly
//! earlier (ended windows end by the inserter's time; eviction takes only
//! states stamped in an earlier second), and every state word carries its
//! stamp in the same field (`stamp`). So an exchange from an old owner's
//! value either lands before step 2, in the old owner's state (which step
//! 2's exchange then fails on and judges again), or fails.
//!
//! # Fresh slots
//!
//! A word whose counts are all zero was published and not yet counted in:
//! its owner's first check, which follows the insert at once, is on its
//! way. Such a slot is never taken, so that no check exchanges from a
//! value its next owner could write again.
//!
//! # Floors
//!
//! A key whose state was taken must never count again in a window the
//! state counted in: a clock stepping back would reopen it, and its count
//! is gone. So the state's floor is kept: for state whose windows have
//! all ended, the end of its last window; for evicted state, its stamp. A
//! key inserted again starts its state at `max(now, floor)` (a check at an
//! earlier time counts in the windows of the floor: see `stamp`). Each
//! group of four buckets keeps, under its lock, the floors of the last three
//! states taken from it with a 32-bit digest of their keys (ghosts), and a
//! catch-all floor: when a fourth ghost arrives, the lowest floor of the
//! four moves to the catch-all, which every key inserted into the group
//! takes. A key that never saw a time counts at its own time, unless more
//! than three states of its buckets' group were taken at floors ahead of it.
//!
//! # Eviction
//!
//! When both buckets of a new key hold only live state, the new key may
//! take the slot of a state that holds at most `evict_at_most` (the
//! builder's bound) in every current window and was last counted in an
//! earlier second: the one with the least count, and of those the one
//! counted longest ago. Its key, if it comes back, starts again at its
//! stamp: the windows it was in, from zero, so eviction admits that key at
//! most what it held, once per eviction. A state holding more is never
//! taken while any of its windows is live.

mod bucket;
mod floors;
mod reclaim;
mod slot;

pub(crate) use bucket::{Bucket, Narrow, Wide};
pub(crate) use reclaim::Rules;
pub(crate) use slot::Slot;

use crate::error::BuildError;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crossbeam_utils::CachePadded;
use floors::Floors;

/// The largest capacity a table accepts, in tracked states.
pub(crate) const MAX_CAPACITY: usize = 1 << 31;

/// Buckets per lock (and per set of floors).
const BUCKETS_PER_STRIPE: usize = 4;

/// The size from which a table prefetches a lookup's lines (64 MiB, about
/// 1.45 million states of 64 bits: larger than most processors'
/// last-level caches). Below it, reading the second bucket's line for
/// the three lookups in four that do not need it costs more than it
/// saves: that line may hold another thread's keys, and reading a line
/// another core is writing takes it from that core, whose next write
/// takes it back. With two threads on 1,000 keys each in a table of the
/// default capacity (4.6 MB), prefetching made them 0.63x one thread's
/// time where not prefetching makes them 0.59x, and 2.1x against 1.3x in
/// a table of 10,000 states; one thread over 1,000,000 keys in a 46 MB
/// table ran alike either way, and over 10,000,000 keys (460 MB) 6%
/// faster with it.
const PREFETCH_FROM: usize = 64 * 1024 * 1024;

const EMPTY: u64 = 0;
const RECLAIMING: u64 = 1;
const FINGERPRINT_BITS: u32 = 48;

/// The class index held in a tag.
fn class_of(tag: u64) -> u8 {
    u8::try_from((tag >> 8) & 0xFF).unwrap_or(u8::MAX)
}

/// Where a (key, class) may live, from its seeded hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Home {
    /// `fingerprint << 8 | class`: the tag without its generation.
    ident: u64,
    buckets: [usize; 2],
}

/// The table, of buckets `B`.
#[derive(Debug)]
pub(crate) struct Table<B: Bucket> {
    buckets: Box<[B]>,
    /// Per four buckets: the lock inserts take, and the floors of the
    /// states taken from them.
    stripes: Box<[Mutex<Floors>]>,
    /// Whether lookups [`prefetch`](Self::prefetch): tables of at least
    /// [`PREFETCH_FROM`] bytes.
    prefetch: bool,
    /// Slots that have had an owner: a slot leaves `EMPTY` once, in
    /// [`publish`](Self::publish), and never goes back. On a line of its
    /// own, so that inserts counting it do not disturb the checks that
    /// read the fields above.
    occupied: CachePadded<AtomicUsize>,
    /// Slots of each bucket that inserts use in the tiny tables of the
    /// loom models (all of them otherwise).
    #[cfg(all(test, loom))]
    usable: usize,
}

impl<B: Bucket> Table<B> {
    /// A table with room for `capacity` states: [`Bucket::SLACK`] slots
    /// per state, rounded up to whole buckets (at least two).
    ///
    /// # Errors
    ///
    /// [`BuildError::Capacity`] for a capacity of 0 or above
    /// [`MAX_CAPACITY`]; [`BuildError::Memory`] when the memory cannot be
    /// had.
    pub(crate) fn new(capacity: usize) -> Result<Self, BuildError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(BuildError::Capacity {
                requested: capacity,
                max: MAX_CAPACITY,
            });
        }
        let memory = |bytes: usize| BuildError::Memory { bytes };
        let (per, of) = B::SLACK;
        let slots = capacity
            .checked_mul(per)
            .ok_or(memory(usize::MAX))?
            .div_ceil(of);
        let count = slots.div_ceil(B::SLOTS).max(2);
        let stripe_count = count.div_ceil(BUCKETS_PER_STRIPE);
        let bytes = count
            .saturating_mul(std::mem::size_of::<B>())
            .saturating_add(stripe_count.saturating_mul(std::mem::size_of::<Mutex<Floors>>()));
        let mut buckets = Vec::new();
        buckets
            .try_reserve_exact(count)
            .map_err(|_| memory(bytes))?;
        buckets.extend((0..count).map(|_| B::empty()));
        let mut stripes = Vec::new();
        stripes
            .try_reserve_exact(stripe_count)
            .map_err(|_| memory(bytes))?;
        stripes.extend((0..stripe_count).map(|_| Mutex::new(Floors::default())));
        Ok(Self {
            buckets: buckets.into_boxed_slice(),
            stripes: stripes.into_boxed_slice(),
            prefetch: bytes >= PREFETCH_FROM,
            occupied: CachePadded::new(AtomicUsize::new(0)),
            #[cfg(all(test, loom))]
            usable: B::SLOTS,
        })
    }

    /// A table of two buckets that use only `usable` slots each, so that a
    /// model checker sees a full table after a handful of keys.
    #[cfg(all(test, loom))]
    pub(crate) fn tiny(usable: usize) -> Self {
        let mut table = Self::new(1).expect("capacity 1 is valid");
        table.usable = usable.clamp(1, B::SLOTS);
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
            B::SLOTS
        }
    }

    /// Buckets in the table.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Slots in the table.
    pub(crate) fn slots(&self) -> usize {
        self.buckets.len().saturating_mul(B::SLOTS)
    }

    /// Bytes of table memory per slot (its share of the buckets, the
    /// locks and the floors), rounded up.
    pub(crate) fn bytes_per_slot(&self) -> usize {
        let per_stripe = std::mem::size_of::<B>()
            .saturating_mul(BUCKETS_PER_STRIPE)
            .saturating_add(std::mem::size_of::<Mutex<Floors>>());
        per_stripe.div_ceil(B::SLOTS.saturating_mul(BUCKETS_PER_STRIPE))
    }

    /// The buckets and tag of a (key, class) with seeded hash `hash`.
    #[inline]
    pub(crate) fn home(&self, hash: u64, class: u8) -> Home {
        let fingerprint = (hash >> (64 - FINGERPRINT_BITS)).max(1);
        // A second, independent-looking spread of the hash picks buckets.
        let mut m = (hash ^ (hash >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        m ^= m >> 32;
        let n = self.buckets.len() as u64;
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

    /// Starts reading both lines a lookup of `home` may need, so that
    /// their misses overlap instead of following one another. The values
    /// are discarded. Tables below [`PREFETCH_FROM`] skip it. (The loom
    /// models' tables are tiny: they never prefetch.)
    #[inline(always)]
    fn prefetch(&self, home: &Home) {
        if self.prefetch {
            let mut seen = 0;
            for &b in &home.buckets {
                if let Some(bucket) = self.buckets.get(b) {
                    seen ^= bucket.touch();
                }
            }
            std::hint::black_box(seen);
        }
    }

    /// Finds the slot of a tracked key, without locking.
    #[inline(always)]
    pub(crate) fn find(&self, home: &Home) -> Option<Slot<'_, B::Word>> {
        self.prefetch(home);
        for &b in &home.buckets {
            let Some(bucket) = self.buckets.get(b) else {
                continue;
            };
            let (tags, words) = (bucket.tags(), bucket.words());
            for (tag, word) in tags.iter().zip(words).take(self.usable()) {
                // Acquire: pairs with the Release that published the tag,
                // so the slot's first word is visible.
                let t = tag.load(Ordering::Acquire);
                if t >> 8 == home.ident {
                    return Some(Slot::new(t, tag, word));
                }
            }
        }
        None
    }

    /// Number of slots holding a key (for tests and statistics).
    pub(crate) fn occupied(&self) -> usize {
        // Relaxed: a statistic, ordered with nothing else.
        self.occupied.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, not(loom)))]
mod tests;
