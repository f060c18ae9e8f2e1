//! The check path: from a key, a class, a cost and a time to a decision.
//!
//! A check hashes the key, finds its slot (or inserts one), and hands the
//! slot's words to the class's layout ([`State`]), which counts the cost
//! in every window or none. A peek and a cost above some limit only read.
//! Every decision comes from [`Decision::judge`] (counts as found) or
//! [`Decision::from_windows`] (counts the layout admitted), the same
//! functions a store outside the process uses (see `store`).

use std::hash::Hash;

use super::Limiter;
use crate::class::Class;
use crate::counter::Separate;
use crate::decision::{Decision, Outcome};
use crate::packed::Packing;
use crate::policy::{ClassPolicy, Policy, MAX_WINDOWS};
use crate::state::{Admission, Ask, Observed, Owner, State, Tally};
use crate::table::{Claim, Home};
use crate::window::{Divisor, Window};

/// What a check returns: the decision alone (the public checks), or with
/// the windows it was made on (the models and the differential tests).
pub(super) trait Report {
    fn report<const N: usize>(decision: Decision, seen: &Tally<N>) -> Self;
}

impl Report for Decision {
    #[inline(always)]
    fn report<const N: usize>(decision: Decision, _: &Tally<N>) -> Self {
        decision
    }
}

impl Report for (Decision, Observed) {
    fn report<const N: usize>(decision: Decision, seen: &Tally<N>) -> Self {
        (decision, seen.observed())
    }
}

/// Lengths for a class the limiter has none for (never used: every class
/// of the policy has its lengths).
const UNIT_LENGTHS: [Divisor; MAX_WINDOWS] = [Divisor::new(1); MAX_WINDOWS];

/// Limits of one check: one per window of the class.
pub(super) type Limits = [u32; MAX_WINDOWS];

/// What a check needs of one class, worked out when the limiter is built.
#[derive(Debug)]
pub(super) struct Plan {
    /// Its windows' limits (longest first), zero-padded: the limits of a
    /// key with no override, ready to copy.
    pub(super) limits: Limits,
    /// Its windows' lengths as divisors (longest first).
    lengths: [Divisor; MAX_WINDOWS],
    /// How its two windows share one word, if they do.
    pub(super) packing: Option<Packing>,
}

impl Plan {
    /// The plan of `cp`, class index `c` of `policy`; packed if `pack`
    /// and its limits, the policy's overrides of it included, fit.
    pub(super) fn new(cp: &ClassPolicy, c: usize, policy: &Policy, pack: bool) -> Self {
        let mut limits = [0; MAX_WINDOWS];
        let mut lengths = [Divisor::new(1); MAX_WINDOWS];
        for ((l, d), w) in limits.iter_mut().zip(&mut lengths).zip(&cp.windows) {
            *l = w.limit();
            *d = Divisor::new(w.length().as_secs());
        }
        let packing = pack
            .then(|| {
                let mut max = [0u32; 2];
                let overrides = policy
                    .overrides
                    .iter()
                    .filter(|o| o.class.index() == c)
                    .flat_map(|o| o.limits.iter().copied().enumerate());
                for (i, l) in limits.iter().copied().enumerate().chain(overrides) {
                    if let Some(m) = max.get_mut(i) {
                        *m = (*m).max(l);
                    }
                }
                Packing::new(&cp.windows, max)
            })
            .flatten();
        Self {
            limits,
            lengths,
            packing,
        }
    }

    /// Words per slot a state of this class takes: one for a packed class,
    /// one per window otherwise.
    pub(super) fn width(&self, cp: &ClassPolicy) -> usize {
        if self.packing.is_some() {
            1
        } else {
            cp.windows.len()
        }
    }
}

impl<C> Limiter<C> {
    /// Checks (or, for a cost of 0, peeks), reporting as `O` asks.
    #[inline]
    pub(super) fn run<O: Report, K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: u64,
    ) -> O {
        let Some(cp) = self.policy.class_policy(class) else {
            return O::report(Decision::unknown_class(now), &Tally::<0>::fresh(&[], now));
        };
        // One copy of the check per window count (a policy has 1 to
        // MAX_WINDOWS windows per class).
        let plan = self.plans.get(class.index());
        let separate = Separate(plan.map_or(&UNIT_LENGTHS, |p| &p.lengths));
        match cp.windows.len() {
            1 => self.decide_n::<1, O, K, _>(key, class, cp, separate, cost, now),
            2 => match plan.and_then(|p| p.packing.as_ref()) {
                Some(packing) => self.decide_n::<2, O, K, _>(key, class, cp, packing, cost, now),
                None => self.decide_n::<2, O, K, _>(key, class, cp, separate, cost, now),
            },
            3 => self.decide_n::<3, O, K, _>(key, class, cp, separate, cost, now),
            _ => self.decide_n::<MAX_WINDOWS, O, K, _>(key, class, cp, separate, cost, now),
        }
    }

    /// Peeks: [`run`](Self::run) for a cost of 0, on a path of its own
    /// that reads and never counts.
    #[inline]
    pub(super) fn peek_run<K: Hash + ?Sized>(&self, key: &K, class: Class, now: u64) -> Decision {
        let Some(cp) = self.policy.class_policy(class) else {
            return Decision::unknown_class(now);
        };
        let plan = self.plans.get(class.index());
        let separate = Separate(plan.map_or(&UNIT_LENGTHS, |p| &p.lengths));
        match cp.windows.len() {
            1 => self.peek_n::<1, K, _>(key, class, cp, separate, now),
            2 => match plan.and_then(|p| p.packing.as_ref()) {
                Some(packing) => self.peek_n::<2, K, _>(key, class, cp, packing, now),
                None => self.peek_n::<2, K, _>(key, class, cp, separate, now),
            },
            3 => self.peek_n::<3, K, _>(key, class, cp, separate, now),
            _ => self.peek_n::<MAX_WINDOWS, K, _>(key, class, cp, separate, now),
        }
    }

    /// [`peek_run`](Self::peek_run) for a class of exactly `N` windows.
    #[inline(always)]
    fn peek_n<const N: usize, K: Hash + ?Sized, S: State<N>>(
        &self,
        key: &K,
        class: Class,
        cp: &ClassPolicy,
        state: S,
        now: u64,
    ) -> Decision {
        let Some(windows) = cp.windows.first_chunk::<N>() else {
            return Decision::unknown_class(now);
        };
        let hash = self.hash(key, class);
        let limits = self.limits::<N>(class, hash);
        let home = self.table.home(hash, class.0);
        self.read::<N, Decision, S>(&home, windows, &limits, state, 0, now)
    }

    /// [`run`](Self::run) for a class of exactly `N` windows.
    #[inline(always)]
    fn decide_n<const N: usize, O: Report, K: Hash + ?Sized, S: State<N>>(
        &self,
        key: &K,
        class: Class,
        cp: &ClassPolicy,
        state: S,
        cost: u32,
        now: u64,
    ) -> O {
        let Some(windows) = cp.windows.first_chunk::<N>() else {
            // Policies are validated to have 1..=MAX_WINDOWS windows per
            // class; a class that does not is treated as unknown.
            return O::report(Decision::unknown_class(now), &Tally::<0>::fresh(&[], now));
        };
        let hash = self.hash(key, class);
        let limits = self.limits::<N>(class, hash);
        let home = self.table.home(hash, class.0);
        if cost == 0 || limits.iter().any(|&l| l < cost) {
            return self.read_only(&home, windows, &limits, state, cost, now);
        }
        loop {
            let slot = match self.table.find(&home) {
                Some(slot) => slot,
                None => match self.table.insert(&home, now, |c| self.layout_of(c)) {
                    Ok(slot) => slot,
                    Err(full) => return self.full(windows, &limits, now, cost, full.frees_at),
                },
            };
            let claim = Claim::new(&slot);
            let ask = Ask {
                windows,
                limits: &limits,
                now: now.max(claim.floor),
                cost,
            };
            let admission = state.admit(slot.words(), &ask, &claim);
            if matches!(admission, Admission::Lost) {
                // Reclaimed before anything was counted: look again.
                continue;
            }
            if !claim.owns() {
                // Either the slot was reclaimed after this check counted
                // (its tag changed): the reclaim's reset discarded the
                // count, and the words may now hold another key's state,
                // which must not be touched. Or a reclaim that gave up
                // raised the slot's floor: the slot is still this key's,
                // and the count, made below the floor, is taken back.
                // Either way, look the key up again.
                if let Admission::Admitted(seen) = admission {
                    state.undo(slot.words(), &seen, cost, &claim);
                }
                continue;
            }
            let (outcome, seen) = match admission {
                Admission::Admitted(seen) => (Outcome::Allowed, seen),
                Admission::Denied(seen) => (Outcome::Denied, seen),
                Admission::Lost => continue,
            };
            let d = Decision::from_windows(outcome, windows, &limits, &seen, now, cost);
            return O::report(d, &seen);
        }
    }

    /// A peek, or a cost no window can ever take: reads, counts nothing.
    #[inline(always)]
    fn read<const N: usize, O: Report, S: State<N>>(
        &self,
        home: &Home,
        windows: &[Window; N],
        limits: &[u32; N],
        state: S,
        cost: u32,
        now: u64,
    ) -> O {
        let seen = self.observe(home, windows, state, now);
        O::report(Decision::judge(windows, limits, &seen, cost, now), &seen)
    }

    /// [`read`](Self::read) out of line, so that the counting path keeps
    /// its registers.
    #[inline(never)]
    fn read_only<const N: usize, O: Report, S: State<N>>(
        &self,
        home: &Home,
        windows: &[Window; N],
        limits: &[u32; N],
        state: S,
        cost: u32,
        now: u64,
    ) -> O {
        self.read(home, windows, limits, state, cost, now)
    }

    /// The key's windows at `now`, or empty windows if it is not tracked.
    #[inline]
    fn observe<const N: usize, S: State<N>>(
        &self,
        home: &Home,
        windows: &[Window; N],
        state: S,
        now: u64,
    ) -> Tally<N> {
        loop {
            let Some(slot) = self.table.find(home) else {
                return Tally::fresh(windows, now);
            };
            let claim = Claim::new(&slot);
            let seen = state.observe(slot.words(), windows, now.max(claim.floor));
            if claim.owns() {
                return seen;
            }
        }
    }

    /// The decision for a new key that found no room in the table.
    #[cold]
    fn full<const N: usize, O: Report>(
        &self,
        windows: &[Window; N],
        limits: &[u32; N],
        now: u64,
        cost: u32,
        frees_at: u64,
    ) -> O {
        let mut seen = Tally::fresh(windows, now);
        let d = match self.on_full {
            super::OnFull::Deny => match (windows.first(), limits.first()) {
                (Some(&primary), Some(&limit)) => {
                    Decision::table_full(primary, limit, now, frees_at)
                }
                _ => Decision::unknown_class(now),
            },
            super::OnFull::Allow => {
                seen.count = [cost; N];
                Decision::from_windows(Outcome::AllowedUntracked, windows, limits, &seen, now, cost)
            }
        };
        O::report(d, &seen)
    }

    /// The limits of the first `N` windows of `class` for the key with
    /// hash `hash`: its override, or the class's.
    #[inline]
    pub(super) fn limits<const N: usize>(&self, class: Class, hash: u64) -> [u32; N] {
        let base = self
            .plans
            .get(class.index())
            .map_or([0; MAX_WINDOWS], |p| p.limits);
        let mut limits: [u32; N] = std::array::from_fn(|i| base.get(i).copied().unwrap_or(0));
        let class_limits = limits;
        if self.overrides.get(hash, &mut limits) {
            limits
        } else {
            class_limits
        }
    }
}
