//! The state of one tracked (key, class): what its window words mean, and
//! the interface the check path uses to read and count them, whatever
//! their layout.
//!
//! A state is one atomic word (`word`), laid out by its class (`stamp`):
//! read at a time `now`, it stands for the class's windows ([`Tally`]); a
//! check admits a cost in every window or in none ([`Admission`]), and
//! stops without writing when the key table takes the slot away under it
//! ([`Owner`]).

use crate::policy::MAX_WINDOWS;
use crate::window::Window;

/// What a check saw of, or did to, the windows of one state, for any
/// number of windows: the form the models and tests record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Number of windows used.
    pub(crate) len: usize,
    /// Effective window index of each window.
    pub(crate) index: [u64; MAX_WINDOWS],
    /// Count of each window: after the check if admitted, as found if not.
    pub(crate) count: [u32; MAX_WINDOWS],
}

/// What a check saw of, or did to, the `N` windows of one state: each
/// window's effective index, and its count after the check if admitted,
/// as found if not.
///
/// The hot path works on exactly `N` windows (one copy of the code per
/// window count), so that every per-window value can stay in a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally<const N: usize> {
    /// Effective window index of each window.
    pub(crate) index: [u64; N],
    /// Count of each window.
    pub(crate) count: [u32; N],
}

impl<const N: usize> Tally<N> {
    /// The empty windows a state that does not exist yet would have.
    #[inline]
    pub(crate) fn fresh(windows: &[Window; N], now_secs: u64) -> Self {
        Self {
            index: std::array::from_fn(|i| windows[i].index_at(now_secs)),
            count: [0; N],
        }
    }

    /// Whether `cost` fits in every window under `limits`.
    #[inline]
    pub(crate) fn fits_all(&self, cost: u32, limits: &[u32; N]) -> bool {
        let mut fits = true;
        for (&count, &limit) in self.count.iter().zip(limits) {
            fits &= count.checked_add(cost).is_some_and(|c| c <= limit);
        }
        fits
    }

    /// The same windows in the form the models record.
    pub(crate) fn observed(&self) -> Observed {
        let mut o = Observed {
            len: N.min(MAX_WINDOWS),
            index: [0; MAX_WINDOWS],
            count: [0; MAX_WINDOWS],
        };
        for i in 0..o.len {
            o.index[i] = self.index[i];
            o.count[i] = self.count[i];
        }
        o
    }
}

/// The outcome of admitting a cost against a state's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission<T = Observed> {
    /// Every window took the cost; counts are after the check.
    Admitted(T),
    /// Some window had no room; nothing changed; counts as found.
    Denied(T),
    /// The slot stopped belonging to the key before the check could count
    /// (see `table`): nothing is counted, and the check looks the key up
    /// again.
    Lost,
}

/// What one check asks of a state of `N` windows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a, const N: usize> {
    /// The key's limit for each window.
    pub(crate) limits: &'a [u32; N],
    /// The time the check counts at, unix seconds.
    pub(crate) now: u64,
    /// The cost, at least 1 and at most every limit.
    pub(crate) cost: u32,
}

/// Whether the slot a check works on is still its key's (see `table`).
///
/// A check asks after every read of its word and before any exchange
/// based on it, so that it never decides on, or writes over, a word of the
/// slot's next owner.
pub(crate) trait Owner {
    /// The slot still belongs to the key.
    fn owns(&self) -> bool;
}

/// A state outside the key table: nothing can take it away.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unshared;

#[cfg(test)]
impl Owner for Unshared {
    fn owns(&self) -> bool {
        true
    }
}
