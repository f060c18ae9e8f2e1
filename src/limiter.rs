//! The limiter: checks keyed by (key, class) against a policy.

use std::hash::{BuildHasher, Hash, Hasher};
use std::time::Duration;

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;

use crate::class::Class;
use crate::clock::{Clock, CoarseClock};
use crate::counter::{self, Admission, Observed, Tally};
use crate::decision::{Decision, Outcome};
use crate::error::{BuildError, OverrideError};
use crate::headers::{policy_field, PolicyField};
use crate::overrides::Overrides;
use crate::packed::Packing;
use crate::policy::{ClassPolicy, Policy, MAX_WINDOWS};
use crate::sync::AtomicU64;
use crate::table::{Home, Layout, Slot, Table};
use crate::window::{Divisor, Window};

/// What a check of a new key does when every slot it may use holds live
/// state.
///
/// Tracked keys are never affected: their state is never evicted while
/// any of its windows is live, so a full table can never make the limiter
/// forget a key's count and over-admit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Fail closed: deny the new key with [`Outcome::TableFull`] and a
    /// `retry_after` of the time until one of its slots frees up.
    #[default]
    Deny,
    /// Fail open: admit the new key without counting it
    /// ([`Outcome::AllowedUntracked`]). Only for deployments where
    /// availability matters more than the limit.
    Allow,
}

/// Tracked states a limiter holds when no capacity is given.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Run-time overrides a limiter holds when no override capacity is given.
pub const DEFAULT_OVERRIDE_CAPACITY: usize = 1024;

/// Configures a [`Limiter`]; from [`Limiter::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct LimiterBuilder<C = CoarseClock> {
    policy: Policy,
    clock: C,
    capacity: usize,
    override_capacity: usize,
    on_full: OnFull,
    seed: Option<u64>,
    pack: bool,
}

impl<C: Clock> LimiterBuilder<C> {
    /// The clock checks read when not given a time (default: [`CoarseClock`]).
    pub fn clock<D: Clock>(self, clock: D) -> LimiterBuilder<D> {
        LimiterBuilder {
            policy: self.policy,
            clock,
            capacity: self.capacity,
            override_capacity: self.override_capacity,
            on_full: self.on_full,
            seed: self.seed,
            pack: self.pack,
        }
    }

    /// How many (key, class) states the limiter tracks at once (default
    /// [`DEFAULT_CAPACITY`]). Memory is allocated once, at build time, and
    /// never grows.
    pub fn capacity(mut self, states: usize) -> Self {
        self.capacity = states;
        self
    }

    /// How many distinct (key, class) overrides the limiter can hold, on
    /// top of those in the policy (default [`DEFAULT_OVERRIDE_CAPACITY`]).
    pub fn override_capacity(mut self, overrides: usize) -> Self {
        self.override_capacity = overrides;
        self
    }

    /// What to do with a new key when the table is full (default:
    /// [`OnFull::Deny`]).
    pub fn on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = on_full;
        self
    }

    /// Fixes the hash seed, for reproducible tests and fuzzing. By default
    /// each limiter draws its own random seed, so that clients cannot
    /// choose keys that collide.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether a class of two nested windows (the short length divides the
    /// long one, as in the reference policy) keeps both counts in one word
    /// (default: `true`).
    ///
    /// One word makes a check one atomic exchange instead of two, and
    /// every check linearizable. The word's count fields are sized when
    /// the limiter is built, from the class's limits and the policy's
    /// overrides, with the spare bits shared out (for the reference policy:
    /// 262,143 per minute, 65,535 per 10 seconds; see
    /// [`Limiter::max_limits`]); a run-time override above them is refused
    /// with [`OverrideError::TooLarge`]. With `false`, every window has its
    /// own word and any limit up to `u32::MAX` can be set at run time.
    pub fn pack_windows(mut self, pack: bool) -> Self {
        self.pack = pack;
        self
    }

    /// Allocates the table and returns the limiter.
    ///
    /// # Errors
    ///
    /// [`BuildError::Capacity`] for a capacity of 0 or above
    /// [`MAX_CAPACITY`](crate::MAX_CAPACITY); [`BuildError::Overrides`] if
    /// the policy's overrides cannot be installed.
    pub fn build(self) -> Result<Limiter<C>, BuildError> {
        let plans: Box<[Plan]> = self
            .policy
            .classes
            .iter()
            .enumerate()
            .map(|(c, cp)| Plan::new(cp, c, &self.policy, self.pack))
            .collect();
        // Words per slot: a packed class needs one, any other class one per
        // window.
        let width = self
            .policy
            .classes
            .iter()
            .zip(&plans)
            .map(|(cp, p)| {
                if p.packing.is_some() {
                    1
                } else {
                    cp.windows.len()
                }
            })
            .max()
            .unwrap_or(1);
        let table = Table::new(self.capacity, width).ok_or(BuildError::Capacity(self.capacity))?;
        let hasher = match self.seed {
            Some(seed) => SeedableRandomState::with_seed(seed, SharedSeed::global_fixed()),
            None => {
                // std's RandomState is keyed from the operating system's
                // randomness; finishing an empty hasher yields a random u64.
                let seed = std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish();
                SeedableRandomState::with_seed(seed, SharedSeed::global_random())
            }
        };
        let overrides = Overrides::new(
            self.override_capacity
                .saturating_add(self.policy.overrides.len()),
        );
        let limiter = Limiter {
            clock: self.clock,
            plans,
            hasher,
            table,
            overrides,
            on_full: self.on_full,
            policy: self.policy,
        };
        for o in &limiter.policy.overrides {
            let hash = limiter.hash(o.key.as_str(), o.class);
            limiter.overrides.set(hash, &o.limits).map_err(|()| {
                BuildError::Overrides(OverrideError::Full {
                    capacity: limiter.overrides.capacity(),
                })
            })?;
        }
        Ok(limiter)
    }
}

/// A rate limiter: per (key, class) fixed-window counters in a table of
/// fixed capacity.
///
/// `Send + Sync`: share it by reference or in an `Arc`. Every check of a
/// key already tracked is lock-free, allocates nothing and never panics;
/// see the crate docs for the exact semantics and constraints.
#[derive(Debug)]
pub struct Limiter<C = CoarseClock> {
    clock: C,
    hasher: SeedableRandomState,
    table: Table,
    overrides: Overrides,
    on_full: OnFull,
    /// Per class (by index), what a check needs of it.
    plans: Box<[Plan]>,
    policy: Policy,
}

impl Limiter<CoarseClock> {
    /// Starts configuring a limiter for `policy`.
    pub fn builder(policy: Policy) -> LimiterBuilder<CoarseClock> {
        LimiterBuilder {
            policy,
            clock: CoarseClock,
            capacity: DEFAULT_CAPACITY,
            override_capacity: DEFAULT_OVERRIDE_CAPACITY,
            on_full: OnFull::Deny,
            seed: None,
            pack: true,
        }
    }
}

/// What a check returns: the decision alone (the public checks), or with
/// the windows it was made on (the models and the differential tests).
trait Report {
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

/// How a check reads and counts the window words of one state of a class
/// of `N` windows: one word per window ([`Separate`]), or two nested
/// windows in one word ([`Packing`]).
trait State<const N: usize>: Copy {
    /// The windows at `now` (see `counter::observe`).
    fn observe(self, slot: Slot<'_>, windows: &[Window; N], now: u64) -> Tally<N>;
    /// Admits `cost` in every window or none, while `owned`, releasing
    /// earlier reservations while `mine` (see `counter::admit_while`).
    #[allow(
        clippy::too_many_arguments,
        reason = "the two ownership tests are the check's own closures over its slot and floor"
    )]
    fn admit(
        self,
        slot: Slot<'_>,
        windows: &[Window; N],
        limits: &[u32; N],
        now: u64,
        cost: u32,
        owned: impl Fn() -> bool,
        mine: impl Fn() -> bool,
    ) -> Admission<Tally<N>>;
    /// Takes back an admission counted in a slot whose floor was raised,
    /// while `mine`.
    fn undo(self, slot: Slot<'_>, admitted: &Tally<N>, cost: u32, mine: impl Fn() -> bool);
}

/// Lengths for a class the limiter has none for (never used: every class
/// of the policy has its lengths).
const UNIT_LENGTHS: [Divisor; MAX_WINDOWS] = [Divisor::new(1); MAX_WINDOWS];

/// One word per window, with the class's window lengths.
#[derive(Debug, Clone, Copy)]
struct Separate<'l>(&'l [Divisor; MAX_WINDOWS]);

/// The table holds as many words per slot as the widest class has
/// windows, so the words are always there; were they not, the state would
/// read as empty and nothing would be counted.
impl<const N: usize> State<N> for Separate<'_> {
    #[inline(always)]
    fn observe(self, slot: Slot<'_>, windows: &[Window; N], now: u64) -> Tally<N> {
        match (slot.words_n::<N>(), self.0.first_chunk::<N>()) {
            (Some(words), Some(lengths)) => counter::observe(words, lengths, now),
            _ => Tally::fresh(windows, now),
        }
    }

    #[inline(always)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the two ownership tests are the check's own closures over its slot and floor"
    )]
    fn admit(
        self,
        slot: Slot<'_>,
        windows: &[Window; N],
        limits: &[u32; N],
        now: u64,
        cost: u32,
        owned: impl Fn() -> bool,
        mine: impl Fn() -> bool,
    ) -> Admission<Tally<N>> {
        match (slot.words_n::<N>(), self.0.first_chunk::<N>()) {
            (Some(words), Some(lengths)) => {
                counter::admit_while(words, lengths, limits, now, cost, owned, mine)
            }
            _ => Admission::Denied(Tally::fresh(windows, now)),
        }
    }

    #[inline(always)]
    fn undo(self, slot: Slot<'_>, admitted: &Tally<N>, cost: u32, mine: impl Fn() -> bool) {
        if let Some(words) = slot.words_n::<N>() {
            counter::undo(words, admitted, cost, mine);
        }
    }
}

impl State<2> for &Packing {
    #[inline(always)]
    fn observe(self, slot: Slot<'_>, windows: &[Window; 2], now: u64) -> Tally<2> {
        match first_word(slot) {
            Some(word) => Packing::observe(self, word, now),
            None => Tally::fresh(windows, now),
        }
    }

    #[inline(always)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the two ownership tests are the check's own closures over its slot and floor"
    )]
    fn admit(
        self,
        slot: Slot<'_>,
        windows: &[Window; 2],
        limits: &[u32; 2],
        now: u64,
        cost: u32,
        owned: impl Fn() -> bool,
        _mine: impl Fn() -> bool,
    ) -> Admission<Tally<2>> {
        // One exchange: nothing to release on the way.
        match first_word(slot) {
            Some(word) => Packing::admit_while(self, word, limits, now, cost, owned),
            None => Admission::Denied(Tally::fresh(windows, now)),
        }
    }

    #[inline(always)]
    fn undo(self, slot: Slot<'_>, admitted: &Tally<2>, cost: u32, mine: impl Fn() -> bool) {
        if let Some(word) = first_word(slot) {
            Packing::undo_while(self, word, admitted, cost, mine);
        }
    }
}

/// The first window word of a slot.
#[inline(always)]
fn first_word(slot: Slot<'_>) -> Option<&AtomicU64> {
    slot.words_n::<1>().map(|[word]| word)
}

/// What a check needs of one class, worked out when the limiter is built.
#[derive(Debug)]
struct Plan {
    /// Its windows' limits (longest first), zero-padded: the limits of a
    /// key with no override, ready to copy.
    limits: Limits,
    /// Its windows' lengths as divisors (longest first).
    lengths: [Divisor; MAX_WINDOWS],
    /// How its two windows share one word, if they do.
    packing: Option<Packing>,
}

impl Plan {
    /// The plan of `cp`, class index `c` of `policy`; packed if `pack`
    /// and its limits, the policy's overrides of it included, fit.
    fn new(cp: &ClassPolicy, c: usize, policy: &Policy, pack: bool) -> Self {
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
}

/// Limits of one check: one per window of the class.
type Limits = [u32; MAX_WINDOWS];

impl<C> Limiter<C> {
    /// The limiter's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The limiter's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The (key, class) states currently held, live or ended.
    pub fn tracked(&self) -> usize {
        self.table.occupied()
    }

    /// The number of state slots allocated (the capacity plus slack).
    pub fn slots(&self) -> usize {
        self.table.slots()
    }

    /// Bytes the key table takes per slot (tag, floor and counters).
    pub fn bytes_per_slot(&self) -> usize {
        self.table.bytes_per_slot()
    }
}

impl<C: Clock> Limiter<C> {
    /// Checks one request of `key` in `class` at the clock's time, and
    /// counts it if admitted.
    pub fn check<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.check_n_at(key, class, 1, self.clock.now())
    }

    /// Checks a request of `cost` units (a batch, a weighted call) at the
    /// clock's time. A cost of 0 is a [`peek`](Self::peek).
    pub fn check_n<K: Hash + ?Sized>(&self, key: &K, class: Class, cost: u32) -> Decision {
        self.check_n_at(key, class, cost, self.clock.now())
    }

    /// Reports what [`check`](Self::check) would, without counting
    /// anything and without starting to track a new key.
    pub fn peek<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.peek_at(key, class, self.clock.now())
    }

    /// [`check`](Self::check) at `now`, a duration since the unix epoch.
    pub fn check_at<K: Hash + ?Sized>(&self, key: &K, class: Class, now: Duration) -> Decision {
        self.check_n_at(key, class, 1, now)
    }

    /// [`peek`](Self::peek) at `now`, a duration since the unix epoch.
    pub fn peek_at<K: Hash + ?Sized>(&self, key: &K, class: Class, now: Duration) -> Decision {
        self.decide(key, class, 0, now).0
    }

    /// [`check_n`](Self::check_n) at `now`, a duration since the unix
    /// epoch: the primitive every other check calls.
    pub fn check_n_at<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> Decision {
        self.run::<Decision, K>(key, class, cost, now)
    }

    /// Checks (or, for a cost of 0, peeks), returning the decision and the
    /// windows it was made on: their effective indexes, and their counts
    /// after an admission or as found otherwise.
    pub(crate) fn decide<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> (Decision, Observed) {
        self.run::<(Decision, Observed), K>(key, class, cost, now)
    }

    /// Checks (or peeks), reporting as `O` asks.
    #[inline]
    fn run<O: Report, K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> O {
        let now = now.as_secs();
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

    /// [`decide`](Self::decide) for a class of exactly `N` windows.
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
        if cost == 0 {
            let seen = self.observe(&home, windows, state, now);
            let outcome = if seen.fits_all(1, &limits) {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            let d = Decision::from_windows(outcome, windows, &limits, &seen, now, 1);
            return O::report(d, &seen);
        }
        if limits.iter().any(|&l| l < cost) {
            let seen = self.observe(&home, windows, state, now);
            let d =
                Decision::from_windows(Outcome::CostTooLarge, windows, &limits, &seen, now, cost);
            return O::report(d, &seen);
        }
        loop {
            let slot = match self.table.find(&home) {
                Some(slot) => slot,
                None => match self.table.insert(&home, now, |c| self.layout_of(c)) {
                    Ok(slot) => slot,
                    Err(full) => return self.full(windows, &limits, now, cost, full.frees_at),
                },
            };
            let floor = slot.floor();
            let admission = state.admit(
                slot,
                windows,
                &limits,
                now.max(floor),
                cost,
                || slot.still_owns(floor),
                || slot.same_tag(),
            );
            if matches!(admission, Admission::Lost) {
                // Reclaimed before anything was counted: look again.
                continue;
            }
            if !slot.still_owns(floor) {
                // Either the slot was reclaimed after this check counted
                // (its tag changed): the reclaim's reset discarded the
                // count, and the words may now hold another key's state,
                // which must not be touched. Or a reclaim that gave up
                // raised the slot's floor: the slot is still this key's,
                // and the count, made below the floor, is taken back.
                // Either way, look the key up again.
                if let Admission::Admitted(seen) = admission {
                    state.undo(slot, &seen, cost, || slot.same_tag());
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

    /// Gives `key` its own primary limit for `class` from now on; a burst
    /// given as a multiplier in the policy scales with it, other windows
    /// keep the class's limits.
    ///
    /// # Errors
    ///
    /// [`OverrideError::UnknownClass`], [`OverrideError::ZeroLimit`],
    /// [`OverrideError::TooLarge`] when a limit is above what the class's
    /// counters hold ([`max_limits`](Self::max_limits)), or
    /// [`OverrideError::Full`] when the override capacity is spent.
    pub fn set_override<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limit: u32,
    ) -> Result<(), OverrideError> {
        let cp = self
            .policy
            .class_policy(class)
            .ok_or(OverrideError::UnknownClass)?;
        self.set_override_limits(key, class, &Policy::scaled_limits(cp, limit))
    }

    /// Gives `key` its own limits for `class` from now on: one per window
    /// of the class, longest window first.
    ///
    /// Counts already made stay; a lower limit than the count denies until
    /// the window ends. A check racing with the change may use old limits
    /// for some windows and new ones for others, once.
    ///
    /// # Errors
    ///
    /// As [`set_override`](Self::set_override), and
    /// [`OverrideError::WindowCount`] when `limits` does not give one limit
    /// per window.
    pub fn set_override_limits<K: Hash + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limits: &[u32],
    ) -> Result<(), OverrideError> {
        let cp = self
            .policy
            .class_policy(class)
            .ok_or(OverrideError::UnknownClass)?;
        if limits.len() != cp.windows.len() {
            return Err(OverrideError::WindowCount {
                expected: cp.windows.len(),
                got: limits.len(),
            });
        }
        if limits.contains(&0) {
            return Err(OverrideError::ZeroLimit);
        }
        if let Some(packing) = self.packing(class.index()) {
            for (window, (&limit, max)) in limits.iter().zip(packing.max_limits()).enumerate() {
                if limit > max {
                    return Err(OverrideError::TooLarge { window, max });
                }
            }
        }
        self.overrides
            .set(self.hash(key, class), limits)
            .map_err(|()| OverrideError::Full {
                capacity: self.overrides.capacity(),
            })
    }

    /// Returns `key` to the class's limits; whether it had an override.
    pub fn remove_override<K: Hash + ?Sized>(&self, key: &K, class: Class) -> bool {
        self.policy.class_policy(class).is_some() && self.overrides.remove(self.hash(key, class))
    }

    /// The limits `key` has in `class` now (overridden or the class's),
    /// longest window first; `None` for an unknown class.
    pub fn limits_for<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<Vec<Window>> {
        let cp = self.policy.class_policy(class)?;
        let limits = self.limits::<MAX_WINDOWS>(class, self.hash(key, class));
        Some(
            cp.windows
                .iter()
                .zip(limits)
                .map(|(w, l)| Window::new(l, w.length()))
                .collect(),
        )
    }

    /// The largest limit each window of `class` can hold, longest window
    /// first: what [`set_override_limits`](Self::set_override_limits)
    /// accepts. `u32::MAX` unless the class keeps two nested windows in one
    /// word (see [`LimiterBuilder::pack_windows`]); `None` for an unknown
    /// class.
    pub fn max_limits(&self, class: Class) -> Option<Vec<u32>> {
        let cp = self.policy.class_policy(class)?;
        Some(match self.packing(class.index()) {
            Some(packing) => packing.max_limits().to_vec(),
            None => vec![u32::MAX; cp.windows.len()],
        })
    }

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`, with
    /// the key's own limits; `None` for an unknown class. No allocation.
    pub fn policy_field<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<PolicyField> {
        let cp = self.policy.class_policy(class)?;
        let limits = self.limits::<MAX_WINDOWS>(class, self.hash(key, class));
        let mut windows = [Window::new(0, cp.primary().length()); MAX_WINDOWS];
        for ((slot, w), l) in windows.iter_mut().zip(&cp.windows).zip(limits) {
            *slot = Window::new(l, w.length());
        }
        policy_field(&cp.name, windows.get(..cp.windows.len())?)
    }

    /// For the differential tests: `None` when the limiter holds state for
    /// `key` in `class`; otherwise the floor (unix seconds) a check that
    /// starts tracking it now would count from, at the earliest (see the
    /// key table's "Floors"). Takes the locks of the key's buckets. Not
    /// part of the stable API.
    #[doc(hidden)]
    pub fn untracked_floor<K: Hash + ?Sized>(&self, key: &K, class: Class) -> Option<u64> {
        self.table
            .untracked_floor(&self.table.home(self.hash(key, class), class.0))
    }

    fn hash<K: Hash + ?Sized>(&self, key: &K, class: Class) -> u64 {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        h.write_u8(class.0);
        h.finish()
    }

    /// How class index `c` keeps its two windows in one word, if it does.
    fn packing(&self, c: usize) -> Option<&Packing> {
        self.plans.get(c)?.packing.as_ref()
    }

    /// How the state of class index `class` sits in a slot's words.
    fn layout_of(&self, class: u8) -> Layout<'_> {
        let c = usize::from(class);
        match self.packing(c) {
            Some(packing) => Layout::Packed(packing),
            None => Layout::Words(self.policy.classes.get(c).map_or(&[], |cp| &cp.windows[..])),
        }
    }

    /// The limits of the first `N` windows of `class` for the key with
    /// hash `hash`: its override, or the class's.
    #[inline]
    fn limits<const N: usize>(&self, class: Class, hash: u64) -> [u32; N] {
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
            let Some(slot): Option<Slot<'_>> = self.table.find(home) else {
                return Tally::fresh(windows, now);
            };
            let floor = slot.floor();
            let seen = state.observe(slot, windows, now.max(floor));
            if slot.still_owns(floor) {
                return seen;
            }
        }
    }

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
        match self.on_full {
            OnFull::Deny => {
                let d = match (windows.first(), limits.first()) {
                    (Some(&primary), Some(&limit)) => {
                        Decision::table_full(primary, limit, now, frees_at)
                    }
                    _ => Decision::unknown_class(now),
                };
                O::report(d, &seen)
            }
            OnFull::Allow => {
                seen.count = [cost; N];
                let d = Decision::from_windows(
                    Outcome::AllowedUntracked,
                    windows,
                    limits,
                    &seen,
                    now,
                    cost,
                );
                O::report(d, &seen)
            }
        }
    }
}

#[cfg(all(test, loom))]
impl<C> Limiter<C> {
    /// Swaps in another table (a tiny one, for the loom models).
    pub(crate) fn with_table(mut self, table: Table) -> Self {
        self.table = table;
        self
    }
}
