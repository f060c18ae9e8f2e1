//! Inserting a key and reclaiming ended state, under the bucket locks
//! (see the protocol in the parent module's docs).

use super::{class_of, slot_index, Home, Layout, Slot, Table, EMPTY, RECLAIMING};
use crate::state::NEUTRAL;
use crate::sync::{MutexGuard, Ordering};

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

impl Table {
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
    #[cfg(feature = "test-hooks")]
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
}
