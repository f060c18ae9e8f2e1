//! The floors of the states taken from a group of buckets (see the table's
//! "Floors"): a few ghosts, each a key's digest and its floor, and a
//! catch-all floor for the ghosts that no longer fit.

/// Ghosts kept per group of buckets.
const GHOSTS: usize = 3;

/// The floors of one group of buckets; changed only under its lock.
#[derive(Debug, Default)]
pub(crate) struct Floors {
    /// The floor (unix seconds) of every key whose ghost was dropped: every
    /// key inserted into the pair takes it.
    catch_all: u64,
    /// `digest << 32 | floor`, or 0 for none.
    ghosts: [u64; GHOSTS],
}

/// A 32-bit digest of a tag's identity (`fingerprint << 8 | class`),
/// never 0.
pub(crate) fn digest(ident: u64) -> u32 {
    let mixed = ident ^ (ident >> 32);
    u32::try_from(mixed & 0xFFFF_FFFF).unwrap_or(1).max(1)
}

/// The digest of a ghost.
fn digest_of(ghost: u64) -> u32 {
    u32::try_from(ghost >> 32).unwrap_or(0)
}

/// The floor of a ghost.
fn floor_of(ghost: u64) -> u64 {
    ghost & 0xFFFF_FFFF
}

impl Floors {
    /// The floor a key of `digest` starts at: the catch-all, or its ghost's
    /// floor if that is higher.
    pub(crate) fn floor_for(&self, digest: u32) -> u64 {
        self.ghosts
            .iter()
            .filter(|&&g| g != 0 && digest_of(g) == digest)
            .map(|&g| floor_of(g))
            .fold(self.catch_all, u64::max)
    }

    /// Forgets the ghost of `digest`: its key has state again, which
    /// starts at its floor.
    pub(crate) fn forget(&mut self, digest: u32) {
        for g in &mut self.ghosts {
            if *g != 0 && digest_of(*g) == digest {
                *g = 0;
            }
        }
    }

    /// Keeps the floor of a state taken from a key of `digest`. With no
    /// room, the lowest floor (this one or a ghost's) goes to the
    /// catch-all. A floor beyond 32 bits (after 2106) goes to the
    /// catch-all at once.
    pub(crate) fn remember(&mut self, digest: u32, floor: u64) {
        if floor == 0 {
            return;
        }
        let Ok(low) = u32::try_from(floor) else {
            self.catch_all = self.catch_all.max(floor);
            return;
        };
        let ghost = (u64::from(digest) << 32) | u64::from(low);
        if let Some(free) = self.ghosts.iter_mut().find(|g| **g == 0) {
            *free = ghost;
            return;
        }
        let lowest = self
            .ghosts
            .iter_mut()
            .min_by_key(|g| floor_of(**g))
            .filter(|g| floor_of(**g) < floor);
        match lowest {
            Some(slot) => {
                self.catch_all = self.catch_all.max(floor_of(*slot));
                *slot = ghost;
            }
            None => self.catch_all = self.catch_all.max(floor),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ghosts_give_their_own_key_its_floor_and_spill_the_lowest() {
        let mut f = Floors::default();
        f.remember(7, 1_000);
        assert_eq!(f.floor_for(7), 1_000);
        assert_eq!(f.floor_for(8), 0);
        f.remember(8, 900);
        f.remember(9, 5_000);
        // A fourth: the lowest floor of the four (800) goes to the
        // catch-all, and the ghosts stay.
        f.remember(10, 800);
        assert_eq!(f.floor_for(11), 800);
        assert_eq!(f.floor_for(9), 5_000);
        // A fifth, higher: the lowest ghost (900) spills.
        f.remember(12, 2_000);
        assert_eq!(f.floor_for(11), 900);
        assert_eq!(f.floor_for(12), 2_000);
        assert_eq!(f.floor_for(7), 1_000);
        // A key back in the table forgets its ghost.
        f.forget(9);
        assert_eq!(f.floor_for(9), 900);
        // Floors past 2106 go to the catch-all.
        f.remember(13, 1 << 33);
        assert_eq!(f.floor_for(1), 1 << 33);
        assert!(digest(0) != 0 && digest(u64::MAX) != 0);
    }
}
