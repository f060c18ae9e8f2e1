//! Per-key overrides, readable without a lock and changeable at run time.
//!
//! A fixed-capacity open-addressed array of entries keyed by the same
//! seeded (key, class) hash as the key table. Entries are written under a
//! mutex (changes are rare) and read lock-free: a reader probes from the
//! hash's home until it finds the hash or an empty entry. An entry's hash,
//! once set, never changes (removing an override zeroes its limits), so a
//! probe sequence is never broken.
//!
//! A check that races with a change may see some windows' old limits and
//! others' new ones, for that one check; each limit it uses was set at
//! some point. `count` lets the hot path skip the probe when there are no
//! overrides at all.

use crate::policy::MAX_WINDOWS;
use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Mutex, Ordering};

#[derive(Debug)]
struct Entry {
    /// The (key, class) hash, or 0 for an unused entry.
    hash: AtomicU64,
    /// Limits per window; 0 in the first means "no override".
    limits: [AtomicU32; MAX_WINDOWS],
}

/// The override table.
#[derive(Debug)]
pub(crate) struct Overrides {
    entries: Box<[Entry]>,
    /// Live overrides.
    count: AtomicUsize,
    /// Distinct hashes that may be given entries.
    capacity: usize,
    /// Entries in use, under the writer lock.
    writer: Mutex<usize>,
}

/// Hashes are made nonzero so that 0 can mark an unused entry.
fn stored(hash: u64) -> u64 {
    hash.max(1)
}

impl Overrides {
    /// Room for `capacity` distinct (key, class) overrides, in twice as
    /// many entries so that probes stay short; `Err(bytes)` when the
    /// memory cannot be had (`usize::MAX` when its size overflows).
    pub(crate) fn new(capacity: usize) -> Result<Self, usize> {
        let n = capacity.checked_mul(2).ok_or(usize::MAX)?;
        let bytes = n
            .checked_mul(std::mem::size_of::<Entry>())
            .ok_or(usize::MAX)?;
        let mut entries = Vec::new();
        entries.try_reserve_exact(n).map_err(|_| bytes)?;
        entries.extend((0..n).map(|_| Entry {
            hash: AtomicU64::new(0),
            limits: std::array::from_fn(|_| AtomicU32::new(0)),
        }));
        Ok(Self {
            entries: entries.into_boxed_slice(),
            count: AtomicUsize::new(0),
            capacity,
            writer: Mutex::new(0),
        })
    }

    /// How many overrides the table can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn probe(&self, hash: u64) -> impl Iterator<Item = &Entry> {
        let n = self.entries.len();
        let start = usize::try_from(hash.checked_rem(n as u64).unwrap_or(0)).unwrap_or(0);
        self.entries[start..].iter().chain(&self.entries[..start])
    }

    /// The entry for `hash`, if one was ever written.
    fn entry(&self, hash: u64) -> Option<&Entry> {
        let hash = stored(hash);
        for e in self.probe(hash) {
            // Acquire: pairs with the Release that set the hash after the
            // limits, so an entry found has its first limits visible.
            match e.hash.load(Ordering::Acquire) {
                0 => return None,
                h if h == hash => return Some(e),
                _ => {}
            }
        }
        None
    }

    /// Copies the override limits for `hash` into `out` (first `n`),
    /// returning whether there was one.
    #[inline]
    pub(crate) fn get(&self, hash: u64, out: &mut [u32]) -> bool {
        // Relaxed: a hint; a change racing with this check may or may not
        // apply to it, either way it applies to every later check.
        if self.count.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let Some(e) = self.entry(hash) else {
            return false;
        };
        for (o, l) in out.iter_mut().zip(&e.limits) {
            // Relaxed: each limit is independent (module docs).
            *o = l.load(Ordering::Relaxed);
        }
        out.first().is_some_and(|&l| l != 0)
    }

    /// Sets the override for `hash`; `limits` are all nonzero.
    /// `Err(())` when `capacity` other hashes have entries (an entry stays
    /// with its hash after a removal, and is reused if the same key and
    /// class are overridden again).
    pub(crate) fn set(&self, hash: u64, limits: &[u32]) -> Result<(), ()> {
        let mut used = self.writer.lock();
        let key = stored(hash);
        let mut target = None;
        for e in self.probe(key) {
            // Relaxed: hashes change only under the writer lock, held here.
            match e.hash.load(Ordering::Relaxed) {
                0 => {
                    target = Some((e, true));
                    break;
                }
                h if h == key => {
                    target = Some((e, false));
                    break;
                }
                _ => {}
            }
        }
        let (e, fresh) = target.ok_or(())?;
        if fresh {
            if *used >= self.capacity {
                return Err(());
            }
            *used = used.saturating_add(1);
        }
        // Relaxed: read under the lock.
        let was_live = !fresh && e.limits[0].load(Ordering::Relaxed) != 0;
        for (slot, &l) in e
            .limits
            .iter()
            .zip(limits.iter().chain(std::iter::repeat(&0)))
        {
            // Relaxed: published to new readers by the hash's Release; a
            // reader of an existing entry takes old or new (module docs).
            slot.store(l, Ordering::Relaxed);
        }
        if fresh {
            // Release: an entry found by its hash has its limits.
            e.hash.store(key, Ordering::Release);
        }
        if !was_live {
            // Relaxed: a hint for the hot path (see `get`).
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Removes the override for `hash`; returns whether there was one.
    pub(crate) fn remove(&self, hash: u64) -> bool {
        let _guard = self.writer.lock();
        let Some(e) = self.entry(hash) else {
            return false;
        };
        // Relaxed: under the writer lock.
        if e.limits[0].load(Ordering::Relaxed) == 0 {
            return false;
        }
        // Relaxed: a reader sees the override or not, either is a valid
        // moment of the change.
        e.limits[0].store(0, Ordering::Relaxed);
        // Relaxed: a hint (see `get`).
        self.count.fetch_sub(1, Ordering::Relaxed);
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove() {
        let o = Overrides::new(4).unwrap();
        let mut out = [0; 2];
        assert!(!o.get(7, &mut out));
        o.set(7, &[600, 200]).unwrap();
        assert!(o.get(7, &mut out));
        assert_eq!(out, [600, 200]);
        o.set(7, &[10, 5]).unwrap();
        assert!(o.get(7, &mut out));
        assert_eq!(out, [10, 5]);
        assert!(!o.get(11, &mut out));
        assert!(o.remove(7));
        assert!(!o.remove(7));
        assert!(!o.get(7, &mut out));
        o.set(7, &[1, 1]).unwrap();
        assert!(o.get(7, &mut out));
    }

    #[test]
    fn colliding_homes_probe_on_and_a_full_table_refuses() {
        let o = Overrides::new(2).unwrap(); // four entries
        o.set(1, &[1]).unwrap();
        o.set(5, &[2]).unwrap(); // same home (mod 4), next entry
        let mut out = [0; 1];
        assert!(o.get(5, &mut out) && out == [2]);
        assert!(o.get(1, &mut out) && out == [1]);
        assert_eq!(o.set(9, &[3]), Err(()));
        // Removing keeps the entry with its hash; re-setting reuses it.
        assert!(o.remove(1));
        assert_eq!(o.set(9, &[3]), Err(()));
        o.set(1, &[5]).unwrap();
        assert!(o.get(1, &mut out) && out == [5]);
        // Zero capacity holds nothing.
        let none = Overrides::new(0).unwrap();
        assert!(!none.get(1, &mut out));
        assert_eq!(none.set(1, &[1]), Err(()));
    }
}
