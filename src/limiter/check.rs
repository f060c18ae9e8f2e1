//! The check path: from a key, a class, a cost and a time to a decision.
//!
//! A check hashes the key, finds its slot (or inserts one), and exchanges
//! the slot's state word for one with the cost counted in every window,
//! or denies without writing (see `word`). A peek and a cost above some
//! limit only read. Every decision comes from [`Decision::judge`] (counts
//! as found) or [`Decision::from_windows`] (counts as admitted), the same
//! functions a store outside the process uses (see `store`).

use std::hash::Hash;

use super::Limiter;
use crate::class::Class;
use crate::decision::{Decision, Outcome};
use crate::policy::{ClassPolicy, MAX_WINDOWS};
use crate::stamp::Stamp;
use crate::state::{Admission, Ask, Observed, Owner, Tally};
use crate::table::{Bucket, Home, Narrow, Rules, Table, Wide};
use crate::window::Window;
use crate::word;

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

/// Limits of one check: one per window of the class.
pub(super) type Limits = [u32; MAX_WINDOWS];

/// What a check needs of one class, worked out when the limiter is built.
#[derive(Debug)]
pub(super) struct Plan {
    /// Its windows' limits (longest first), zero-padded: the limits of a
    /// key with no override, ready to copy.
    pub(super) limits: Limits,
    /// How its windows sit in a state word.
    pub(super) stamp: Stamp,
}

/// The key table, in the width of the policy's widest state.
#[derive(Debug)]
pub(super) enum Tables {
    /// Every class's state fits 64 bits.
    Narrow(Table<Narrow>),
    /// Some class's state needs 128 bits: every class takes 128.
    Wide(Table<Wide>),
}

/// The class, its policy and its plan: what every step of a check reads.
#[derive(Clone, Copy)]
struct Of<'l> {
    class: Class,
    cp: &'l ClassPolicy,
    plan: &'l Plan,
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
        let (Some(cp), Some(plan)) = (
            self.policy.class_policy(class),
            self.plans.get(class.index()),
        ) else {
            return O::report(Decision::unknown_class(now), &Tally::<0>::fresh(&[], now));
        };
        let of = Of { class, cp, plan };
        match &self.tables {
            Tables::Narrow(table) => self.dispatch(table, key, of, cost, now),
            Tables::Wide(table) => self.dispatch(table, key, of, cost, now),
        }
    }

    /// [`run`](Self::run) on a table of buckets `B`: one copy of the check
    /// per window count (a policy has 1 to `MAX_WINDOWS` windows per
    /// class).
    #[inline(always)]
    fn dispatch<B: Bucket, O: Report, K: Hash + ?Sized>(
        &self,
        table: &Table<B>,
        key: &K,
        of: Of<'_>,
        cost: u32,
        now: u64,
    ) -> O {
        match of.cp.windows.len() {
            1 => self.decide_n::<1, B, O, K>(table, key, of, cost, now),
            2 => self.decide_n::<2, B, O, K>(table, key, of, cost, now),
            3 => self.decide_n::<3, B, O, K>(table, key, of, cost, now),
            _ => self.decide_n::<MAX_WINDOWS, B, O, K>(table, key, of, cost, now),
        }
    }

    /// [`run`](Self::run) for a class of exactly `N` windows.
    #[inline(always)]
    fn decide_n<const N: usize, B: Bucket, O: Report, K: Hash + ?Sized>(
        &self,
        table: &Table<B>,
        key: &K,
        of: Of<'_>,
        cost: u32,
        now: u64,
    ) -> O {
        let Some(windows) = of.cp.windows.first_chunk::<N>() else {
            // Policies are validated to have 1..=MAX_WINDOWS windows per
            // class; a class that does not is treated as unknown.
            return O::report(Decision::unknown_class(now), &Tally::<0>::fresh(&[], now));
        };
        let hash = self.hash(key, of.class);
        let limits = self.limits::<N>(of.class, hash);
        let home = table.home(hash, of.class.0);
        let stamp = &of.plan.stamp;
        if cost == 0 || limits.iter().any(|&l| l < cost) {
            return self.read_only(table, &home, windows, &limits, stamp, cost, now);
        }
        let ask = Ask {
            limits: &limits,
            now,
            cost,
        };
        loop {
            let slot = match table.find(&home) {
                Some(slot) => slot,
                None => match table.insert(&home, now, &self.rules()) {
                    Ok(slot) => slot,
                    Err(full) => return self.full(windows, &limits, now, cost, full.frees_at),
                },
            };
            let (outcome, seen) = match word::admit(slot.word, stamp, &ask, &slot) {
                Admission::Admitted(seen) => (Outcome::Allowed, seen),
                Admission::Denied(seen) => (Outcome::Denied, seen),
                // The slot was taken from the key: look again.
                Admission::Lost => continue,
            };
            let d = Decision::from_windows(outcome, windows, &limits, &seen, now, cost);
            return O::report(d, &seen);
        }
    }

    /// What the table needs to judge and take slots.
    #[inline]
    pub(super) fn rules<'l>(&'l self) -> Rules<'l, impl Fn(u8) -> Option<&'l Stamp> + 'l> {
        Rules {
            stamp_of: move |c: u8| self.plans.get(usize::from(c)).map(|p| &p.stamp),
            evict_at_most: self.evict_at_most,
        }
    }

    /// Peeks: [`run`](Self::run) for a cost of 0, on a path of its own
    /// that reads and never counts.
    #[inline]
    pub(super) fn peek_run<K: Hash + ?Sized>(&self, key: &K, class: Class, now: u64) -> Decision {
        let (Some(cp), Some(plan)) = (
            self.policy.class_policy(class),
            self.plans.get(class.index()),
        ) else {
            return Decision::unknown_class(now);
        };
        let of = Of { class, cp, plan };
        match &self.tables {
            Tables::Narrow(table) => self.peek_dispatch(table, key, of, now),
            Tables::Wide(table) => self.peek_dispatch(table, key, of, now),
        }
    }

    /// [`peek_run`](Self::peek_run) on a table of buckets `B`.
    #[inline(always)]
    fn peek_dispatch<B: Bucket, K: Hash + ?Sized>(
        &self,
        table: &Table<B>,
        key: &K,
        of: Of<'_>,
        now: u64,
    ) -> Decision {
        match of.cp.windows.len() {
            1 => self.peek_n::<1, B, K>(table, key, of, now),
            2 => self.peek_n::<2, B, K>(table, key, of, now),
            3 => self.peek_n::<3, B, K>(table, key, of, now),
            _ => self.peek_n::<MAX_WINDOWS, B, K>(table, key, of, now),
        }
    }

    /// [`peek_run`](Self::peek_run) for a class of exactly `N` windows.
    #[inline(always)]
    fn peek_n<const N: usize, B: Bucket, K: Hash + ?Sized>(
        &self,
        table: &Table<B>,
        key: &K,
        of: Of<'_>,
        now: u64,
    ) -> Decision {
        let Some(windows) = of.cp.windows.first_chunk::<N>() else {
            return Decision::unknown_class(now);
        };
        let hash = self.hash(key, of.class);
        let limits = self.limits::<N>(of.class, hash);
        let home = table.home(hash, of.class.0);
        self.read::<N, B, Decision>(table, &home, windows, &limits, &of.plan.stamp, 0, now)
    }

    /// A peek, or a cost no window can ever take: reads, counts nothing.
    #[inline(always)]
    #[expect(
        clippy::too_many_arguments,
        reason = "the table, the key's home, its windows and limits, the layout, the cost \
                  and the time: the read path's own inputs, passed on as they are"
    )]
    fn read<const N: usize, B: Bucket, O: Report>(
        &self,
        table: &Table<B>,
        home: &Home,
        windows: &[Window; N],
        limits: &[u32; N],
        stamp: &Stamp,
        cost: u32,
        now: u64,
    ) -> O {
        let seen = loop {
            let Some(slot) = table.find(home) else {
                break Tally::fresh(windows, now);
            };
            let seen = word::observe(slot.word, stamp, now);
            if slot.owns() {
                break seen;
            }
        };
        O::report(Decision::judge(windows, limits, &seen, cost, now), &seen)
    }

    /// [`read`](Self::read) out of line, so that the counting path keeps
    /// its registers.
    #[inline(never)]
    #[expect(
        clippy::too_many_arguments,
        reason = "as `read`, whose arguments it passes on"
    )]
    fn read_only<const N: usize, B: Bucket, O: Report>(
        &self,
        table: &Table<B>,
        home: &Home,
        windows: &[Window; N],
        limits: &[u32; N],
        stamp: &Stamp,
        cost: u32,
        now: u64,
    ) -> O {
        self.read(table, home, windows, limits, stamp, cost, now)
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
