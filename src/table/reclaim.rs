//! Inserting a key, and taking slots from other keys, under the locks of
//! the key's buckets (see the parent module's "Protocol", "Floors" and
//! "Eviction").

use super::floors::{digest, Floors};
use super::{class_of, Bucket, Home, Slot, Table, BUCKETS_PER_STRIPE, EMPTY, RECLAIMING};
use crate::stamp::{Bits, Stamp};
use crate::sync::{MutexGuard, Ordering};
use crate::word::Word;

/// Why no slot could be found for a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full {
    /// Unix seconds at which a slot of the key's buckets frees up.
    pub(crate) frees_at: u64,
}

/// What the table needs to know to judge and take slots: the layout of
/// each class index, and how much a state may hold and still be evicted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'s, F: Fn(u8) -> Option<&'s Stamp>> {
    /// The layout of a class index.
    pub(crate) stamp_of: F,
    /// The most a state may hold in a current window and be evicted.
    pub(crate) evict_at_most: u32,
}

/// What an occupied slot's state allows at the inserter's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// No state: the slot is free.
    Empty,
    /// Every window with a count has ended; the floor is the end of the
    /// last, the count the largest it held.
    Ended { count: u32, floor: u64 },
    /// Live, but small and counted in an earlier second: may be evicted;
    /// the floor is its stamp.
    Evictable { count: u32, floor: u64, ends: u64 },
    /// Live until then.
    Live { ends: u64 },
}

impl Fate {
    /// The floor a state left behind if taken, when it may be.
    fn floor(self) -> Option<u64> {
        match self {
            Self::Ended { floor, .. } | Self::Evictable { floor, .. } => Some(floor),
            Self::Empty | Self::Live { .. } => None,
        }
    }
}

/// One insertion: the key's home, its first word, the time, the rules.
struct Insert<'a, 's, B: Bits, F: Fn(u8) -> Option<&'s Stamp>> {
    home: &'a Home,
    first: B,
    now: u64,
    rules: &'a Rules<'s, F>,
}

/// The most slots of one key's two buckets.
const CANDIDATES: usize = 16;

/// The locks of a key's one or two stripes, held together.
struct Locked<'t> {
    low: usize,
    first: MutexGuard<'t, Floors>,
    second: Option<MutexGuard<'t, Floors>>,
}

impl Locked<'_> {
    /// The floors of stripe `s`, one of the locked ones.
    fn get(&mut self, s: usize) -> &mut Floors {
        match &mut self.second {
            Some(second) if s != self.low => second,
            _ => &mut self.first,
        }
    }
}

impl<B: Bucket> Table<B> {
    /// Locks the stripes of `home`'s buckets, in index order.
    fn lock(&self, home: &Home) -> Locked<'_> {
        let [a, b] = home.buckets.map(|b| b / BUCKETS_PER_STRIPE);
        let (low, high) = (a.min(b), a.max(b));
        let first = self.stripes[low].lock();
        let second = (high != low).then(|| self.stripes[high].lock());
        Locked { low, first, second }
    }

    /// Finds or makes the slot of a key, under the locks of its buckets,
    /// at `now` (unix seconds).
    ///
    /// # Errors
    ///
    /// [`Full`] when both buckets hold only live state that may not be
    /// evicted.
    pub(crate) fn insert<'s>(
        &self,
        home: &Home,
        now: u64,
        rules: &Rules<'s, impl Fn(u8) -> Option<&'s Stamp>>,
    ) -> Result<Slot<'_, B::Word>, Full> {
        let mut locked = self.lock(home);
        if let Some(slot) = self.find(home) {
            return Ok(slot);
        }
        let stripes = home.buckets.map(|b| b / BUCKETS_PER_STRIPE);
        let d = digest(home.ident);
        let floor = stripes
            .iter()
            .map(|&s| locked.get(s).floor_for(d))
            .fold(0, u64::max);
        let Some(own) = (rules.stamp_of)(class_of(home.ident << 8)) else {
            return Err(Full { frees_at: u64::MAX });
        };
        let first = own.initial::<<B::Word as Word>::Bits>(floor.max(now));
        let fates = home.buckets.map(|b| self.fates(b, now, rules));
        let room = |f: &[Fate]| {
            f.iter()
                .filter(|f| matches!(f, Fate::Empty | Fate::Ended { .. }))
                .count()
        };
        let order = if room(&fates[0]) >= room(&fates[1]) {
            [0, 1]
        } else {
            [1, 0]
        };
        let insert = Insert {
            home,
            first,
            now,
            rules,
        };
        let taken = 'take: {
            for &k in &order {
                for (j, fate) in fates[k].iter().enumerate() {
                    if *fate == Fate::Empty {
                        break 'take Some(self.publish(home.buckets[k], j, home.ident << 8, first));
                    }
                }
            }
            // Reclaiming ended state: the state that held least first, so
            // that the ended state of a key with traffic (likely to come
            // back) outlasts that of a key seen once; then the oldest.
            let mut candidates = [(0u32, 0u64, 0usize, 0usize); CANDIDATES];
            let mut n = 0;
            for (k, f) in fates.iter().enumerate() {
                for (j, fate) in f.iter().enumerate() {
                    if let (Fate::Ended { count, floor }, Some(c)) = (*fate, candidates.get_mut(n))
                    {
                        *c = (count, floor, k, j);
                        n = n.saturating_add(1);
                    }
                }
            }
            let candidates = candidates.get_mut(..n).unwrap_or_default();
            candidates.sort_unstable();
            for &(_, _, k, j) in &*candidates {
                if let Some(slot) = self.take(&insert, k, j, &mut locked) {
                    break 'take Some(slot);
                }
            }
            // Eviction: the least count, then the oldest stamp.
            let mut candidates = [(0u32, 0u64, 0usize, 0usize); CANDIDATES];
            let mut n = 0;
            for (k, f) in fates.iter().enumerate() {
                for (j, fate) in f.iter().enumerate() {
                    if let (Fate::Evictable { count, floor, .. }, Some(c)) =
                        (*fate, candidates.get_mut(n))
                    {
                        *c = (count, floor, k, j);
                        n = n.saturating_add(1);
                    }
                }
            }
            let candidates = candidates.get_mut(..n).unwrap_or_default();
            candidates.sort_unstable();
            for &(_, _, k, j) in &*candidates {
                if let Some(slot) = self.take(&insert, k, j, &mut locked) {
                    break 'take Some(slot);
                }
            }
            None
        };
        let Some(slot) = taken else {
            let frees_at = fates
                .iter()
                .flatten()
                .map(|f| match *f {
                    Fate::Live { ends } | Fate::Evictable { ends, .. } => ends,
                    Fate::Ended { .. } | Fate::Empty => now.saturating_add(1),
                })
                .min()
                .unwrap_or(u64::MAX);
            return Err(Full { frees_at });
        };
        for s in stripes {
            locked.get(s).forget(d);
        }
        Ok(slot)
    }

    /// What each usable slot of bucket `b` allows at `now`.
    fn fates<'s>(
        &self,
        b: usize,
        now: u64,
        rules: &Rules<'s, impl Fn(u8) -> Option<&'s Stamp>>,
    ) -> [Fate; 8] {
        let mut fates = [Fate::Live { ends: u64::MAX }; 8];
        let Some(bucket) = self.buckets.get(b) else {
            return fates;
        };
        for ((fate, tag), word) in fates
            .iter_mut()
            .zip(bucket.tags())
            .zip(bucket.words())
            .take(self.usable())
        {
            // Relaxed: tags change only under the bucket's lock, held here.
            let tag = tag.load(Ordering::Relaxed);
            *fate = if tag == EMPTY {
                Fate::Empty
            } else {
                // Relaxed: a judgement; taking the slot validates it.
                Self::fate(word.load(Ordering::Relaxed), tag, now, rules)
            };
        }
        fates
    }

    /// What the state `word` of the slot tagged `tag` allows at `now`.
    fn fate<'s>(
        word: <B::Word as Word>::Bits,
        tag: u64,
        now: u64,
        rules: &Rules<'s, impl Fn(u8) -> Option<&'s Stamp>>,
    ) -> Fate {
        let Some(stamp) = (rules.stamp_of)(class_of(tag)) else {
            return Fate::Live { ends: u64::MAX };
        };
        if stamp.is_fresh(word) {
            // Its owner's first check is on its way (the table's "Fresh
            // slots").
            return Fate::Live {
                ends: now.saturating_add(1),
            };
        }
        match stamp.live_end(word, now) {
            None => Fate::Ended {
                count: stamp.held(word),
                floor: stamp.end(word, now).unwrap_or(0),
            },
            Some(ends) => match stamp.evictable(word, now) {
                Some(count) if count <= rules.evict_at_most => Fate::Evictable {
                    count,
                    floor: stamp.time(word, now),
                    ends,
                },
                // Counted in this second: evictable from the next, if it
                // holds little enough.
                None if rules.evict_at_most > 0
                    && stamp.time(word, now) == now
                    && stamp.held_now(word, now) <= rules.evict_at_most =>
                {
                    Fate::Live {
                        ends: ends.min(now.saturating_add(1)),
                    }
                }
                _ => Fate::Live { ends },
            },
        }
    }

    /// Takes slot `j` of the key's bucket `k` from its owner, if its state
    /// still allows it, for the key of `insert`; keeps the old owner's
    /// floor (the table's "Protocol").
    fn take<'s, F: Fn(u8) -> Option<&'s Stamp>>(
        &self,
        insert: &Insert<'_, 's, <B::Word as Word>::Bits, F>,
        k: usize,
        j: usize,
        locked: &mut Locked<'_>,
    ) -> Option<Slot<'_, B::Word>> {
        let (home, first, now, rules) = (insert.home, insert.first, insert.now, insert.rules);
        let b = *home.buckets.get(k)?;
        let bucket = self.buckets.get(b)?;
        let (tag_word, word) = (bucket.tags().get(j)?, bucket.words().get(j)?);
        // Relaxed: tags change only under the bucket's lock, held here.
        let old = tag_word.load(Ordering::Relaxed);
        // Relaxed: the exchange below validates it.
        let mut seen = word.load(Ordering::Relaxed);
        let mut floor = Self::fate(seen, old, now, rules).floor()?;
        // Relaxed: the word's Release exchange below publishes it.
        tag_word.store(RECLAIMING, Ordering::Relaxed);
        loop {
            // Release: a check of the old owner that reads this word, or
            // any later value, then sees the mark above (module docs).
            match word.compare_exchange(seen, first, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => match Self::fate(actual, old, now, rules).floor() {
                    Some(f) => {
                        seen = actual;
                        floor = f;
                    }
                    None => {
                        // The old owner counted meanwhile and its state no
                        // longer qualifies: it keeps the slot.
                        // Release: its checks that saw the mark look it up
                        // again under the lock and find it.
                        tag_word.store(old, Ordering::Release);
                        return None;
                    }
                },
            }
        }
        locked
            .get(b / BUCKETS_PER_STRIPE)
            .remember(digest(old >> 8), floor);
        let tag = (home.ident << 8) | (old.wrapping_add(1) & 0xFF);
        // Release: a finder that acquires the tag sees the first word.
        tag_word.store(tag, Ordering::Release);
        Some(Slot::new(tag, tag_word, word))
    }

    /// Hands empty slot `j` of bucket `b` to a new owner with tag `tag`
    /// and first word `first`.
    fn publish(
        &self,
        b: usize,
        j: usize,
        tag: u64,
        first: <B::Word as Word>::Bits,
    ) -> Slot<'_, B::Word> {
        let bucket = &self.buckets[b];
        let (tag_word, word) = (&bucket.tags()[j], &bucket.words()[j]);
        // Release: no check can be on an empty slot, but the tag's Release
        // below is what publishes it; this keeps every write of a first
        // word the same.
        word.store(first, Ordering::Release);
        // Release: a finder that acquires the tag sees the first word.
        tag_word.store(tag, Ordering::Release);
        // Relaxed: a statistic, ordered with nothing else.
        self.occupied.fetch_add(1, Ordering::Relaxed);
        Slot::new(tag, tag_word, word)
    }

    /// `None` when the key has a slot; otherwise the floor (unix seconds)
    /// its state would start at if inserted now, before `max(now, ..)`.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn untracked_floor(&self, home: &Home) -> Option<u64> {
        let mut locked = self.lock(home);
        if self.find(home).is_some() {
            return None;
        }
        let d = digest(home.ident);
        Some(
            home.buckets
                .map(|b| locked.get(b / BUCKETS_PER_STRIPE).floor_for(d))
                .into_iter()
                .fold(0, u64::max),
        )
    }
}
