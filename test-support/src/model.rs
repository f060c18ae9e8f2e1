//! A sequential reference model of a check, and a harness that
//! replays one sequence of operations against it and against a real
//! [`Limiter`], comparing every field of every decision.
//!
//! Shared by `tests/model.rs` (proptest) and the fuzz crate's
//! `differential` target. It uses
//! only the public API and std: no atomics, no table, no hashing; the
//! state is one plain `HashMap` of (key, class, window, window index) to
//! the cost admitted there.
//!
//! # Where the model follows the limiter's documented bounds
//!
//! The model is unbounded; the limiter holds state in a table of fixed
//! capacity. Three documented behaviours follow from that, and the model
//! accounts for them exactly rather than skipping comparisons:
//!
//! - **Taken state.** A state whose windows have all ended may be
//!   reclaimed for another key; when the table is full, a state holding
//!   at most the eviction bound in every current window and last counted
//!   in an earlier second may be evicted. After every check that inserted
//!   a key, the harness asks the limiter which keys it still holds
//!   ([`Limiter::untracked_floor`]); for each state it dropped, the model
//!   asserts that the drop was allowed at that time (ended, or evictable,
//!   and for the smallest tables the state the limiter must choose), and
//!   forgets the state. An evicted key that comes back starts again in
//!   the same windows from zero: the model records what the eviction let
//!   it have again (its allowance).
//! - **Floors.** A key inserted again starts at `max(now, floor)`, where
//!   the floor is what the limiter reports before the check; the model
//!   asserts that it is at least the floor of the key's own last drop (the
//!   end of its last window, or the stamp of an evicted state: no window
//!   it counted in is ever reopened) and at most the highest floor any
//!   drop left (a future time seen by one key never reaches past what
//!   dropped states left behind). For the smallest tables, where every key
//!   shares one pair of buckets, it keeps the ghosts and the catch-all as
//!   the table does and predicts the floor exactly.
//! - **A full table.** A new key gets [`Outcome::TableFull`] (or
//!   [`Outcome::AllowedUntracked`]) only when no slot of its two buckets
//!   is free, ended or evictable. When the table has exactly two buckets
//!   (the smallest capacities), every key's buckets are the whole table,
//!   so the model predicts the outcome and the `retry_after` exactly; for
//!   a larger table it asserts that at least two buckets' worth of states
//!   are live and compares every field except the time a slot frees up,
//!   which depends on which buckets the key hashes to.
//!
//! Times stay within 2^31 seconds of each other (the state word's
//! documented horizon).

#![expect(
    clippy::arithmetic_side_effects,
    reason = "a model in plain arithmetic: sums are checked in u64 against u32 limits, times stay far from u64::MAX"
)]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tollgate::{
    Class, Decision, Limiter, ManualClock, OnFull, Outcome, OverrideError, Policy, Window,
};

/// Ghosts the table keeps per pair of buckets (its documented shape).
const GHOSTS: usize = 3;

/// One operation of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `check_n` of `cost` (`check` when the cost is 1, a peek when 0).
    Check { key: u32, class: usize, cost: u32 },
    /// `peek`.
    Peek { key: u32, class: usize },
    /// Moves the clock forward by this many milliseconds.
    Advance(u64),
    /// Moves the clock back by this many milliseconds.
    Rewind(u64),
    /// `set_override_limits`.
    SetOverride {
        key: u32,
        class: usize,
        limits: Vec<u32>,
    },
    /// `remove_override`.
    RemoveOverride { key: u32, class: usize },
}

/// How a limiter is built for one sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Which of [`policies`].
    pub policy: usize,
    pub capacity: usize,
    pub override_capacity: usize,
    pub on_full: OnFull,
    pub seed: u64,
    /// Start time, milliseconds after 2025-05-06T00:00:00Z.
    pub start_ms: u64,
    /// Whether every state takes a 128-bit word
    /// (`LimiterBuilder::wide_states`).
    pub wide: bool,
    /// How much a live state may hold and be evicted
    /// (`LimiterBuilder::evict_at_most`).
    pub evict_at_most: u32,
}

/// The policies sequences run under: nested and non-nested windows, one
/// to three windows per class, the reference policy, and the extremes of
/// limits and window lengths.
pub fn policies() -> Vec<Policy> {
    let len = |s: u64| tollgate::WindowLength::from_secs(s).expect("valid length");
    vec![
        Policy::builder()
            .class("read", &["GET"], 6, len(60))
            .burst_limit(3, len(10))
            .class("write", &["POST"], 3, len(7))
            .build()
            .expect("policy 0"),
        Policy::builder()
            .class("mixed", &["GET"], 5, len(60))
            .window(3, len(45))
            .window(2, len(7))
            .build()
            .expect("policy 1"),
        Policy::default(),
        Policy::builder()
            .class(
                "wide",
                &["GET"],
                u32::MAX,
                len(tollgate::WindowLength::MAX_SECS),
            )
            .window(u32::MAX - 1, len(1))
            .class("one", &["POST"], 1, len(1))
            .window(1, len(3600))
            .build()
            .expect("policy 3"),
    ]
}

/// Class tokens for indexes 0 to 4: the limiter's classes are indexes,
/// and one past a policy's last is an unknown class.
fn class_tokens() -> Vec<Class> {
    let len = tollgate::WindowLength::from_secs(1).expect("1s");
    let names = ["c0", "c1", "c2", "c3", "c4"];
    let mut b = Policy::builder();
    for n in names {
        b = b.class(n, &[], 1, len);
    }
    let tokens = b.build().expect("token policy");
    names
        .iter()
        .map(|n| tokens.class(n).expect("token"))
        .collect()
}

/// Every field of a decision, comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub outcome: Outcome,
    pub limit: u32,
    pub remaining: u32,
    pub reset: u64,
    pub retry_after: Option<u64>,
    /// (limit, length in seconds) of the denying window.
    pub denied_by: Option<(u32, u64)>,
    pub now: u64,
}

impl From<&Decision> for Figures {
    fn from(d: &Decision) -> Self {
        Figures {
            outcome: d.outcome(),
            limit: d.limit(),
            remaining: d.remaining(),
            reset: d.reset(),
            retry_after: d.retry_after(),
            denied_by: d.denied_by().map(|w| (w.limit(), w.length().as_secs())),
            now: d.now(),
        }
    }
}

fn index_at(w: &Window, now: u64) -> u64 {
    now / w.length().as_secs()
}

fn end_of(w: &Window, index: u64) -> u64 {
    index.saturating_add(1).saturating_mul(w.length().as_secs())
}

/// The figures of a decision for windows whose (effective) indexes and counts are
/// given: counts after the check when admitted, as found otherwise.
fn figures(
    outcome: Outcome,
    windows: &[Window],
    limits: &[u32],
    index: &[u64],
    count: &[u32],
    now: u64,
    cost: u32,
) -> Figures {
    let room: Vec<u32> = limits
        .iter()
        .zip(count)
        .map(|(l, c)| l.saturating_sub(*c))
        .collect();
    let remaining = room.iter().copied().min().unwrap_or(u32::MAX);
    // The longest window among those with the least room (windows are
    // longest first).
    let least = room.iter().position(|&r| r == remaining).unwrap_or(0);
    let mut f = Figures {
        outcome,
        limit: limits[0],
        remaining,
        reset: end_of(&windows[least], index[least]),
        retry_after: None,
        denied_by: None,
        now,
    };
    match outcome {
        Outcome::Denied => {
            // The latest end among the windows that deny; on a tie, the
            // longest of them.
            let denying = (0..windows.len())
                .filter(|&i| u64::from(count[i]) + u64::from(cost) > u64::from(limits[i]));
            let mut best: Option<usize> = None;
            for i in denying {
                if best
                    .is_none_or(|b| end_of(&windows[i], index[i]) > end_of(&windows[b], index[b]))
                {
                    best = Some(i);
                }
            }
            let b = best.expect("a denial has a denying window");
            f.retry_after = Some(end_of(&windows[b], index[b]).saturating_sub(now).max(1));
            f.denied_by = Some((limits[b], windows[b].length().as_secs()));
        }
        Outcome::CostTooLarge => {
            // The smallest limit below the cost: the largest cost that can
            // ever pass.
            let mut best: Option<usize> = None;
            for i in (0..windows.len()).filter(|&i| limits[i] < cost) {
                if best.is_none_or(|b| limits[i] < limits[b]) {
                    best = Some(i);
                }
            }
            f.denied_by = best.map(|b| (limits[b], windows[b].length().as_secs()));
        }
        _ => {}
    }
    f
}

/// A tracked state: the newest window index of each window, and its stamp
/// (the latest time it counted at, or the time it started at).
#[derive(Debug, Clone)]
struct State {
    newest: Vec<u64>,
    stamp: u64,
}

/// The floors the table keeps for one pair of buckets, as it documents
/// them: three ghosts and a catch-all.
#[derive(Debug, Default)]
struct Floors {
    catch_all: u64,
    /// (key, class, floor).
    ghosts: Vec<(u32, usize, u64)>,
}

impl Floors {
    fn floor_for(&self, key: u32, class: usize) -> u64 {
        self.ghosts
            .iter()
            .filter(|&&(k, c, _)| (k, c) == (key, class))
            .map(|&(_, _, f)| f)
            .fold(self.catch_all, u64::max)
    }

    fn forget(&mut self, key: u32, class: usize) {
        self.ghosts.retain(|&(k, c, _)| (k, c) != (key, class));
    }

    fn remember(&mut self, key: u32, class: usize, floor: u64) {
        if floor == 0 {
            return;
        }
        if floor > u64::from(u32::MAX) {
            self.catch_all = self.catch_all.max(floor);
            return;
        }
        if self.ghosts.len() < GHOSTS {
            self.ghosts.push((key, class, floor));
            return;
        }
        let lowest = (0..self.ghosts.len())
            .min_by_key(|&i| self.ghosts[i].2)
            .filter(|&i| self.ghosts[i].2 < floor);
        match lowest {
            Some(i) => {
                self.catch_all = self.catch_all.max(self.ghosts[i].2);
                self.ghosts[i] = (key, class, floor);
            }
            None => self.catch_all = self.catch_all.max(floor),
        }
    }
}

/// What the model knows of the smallest tables, whose every key's two
/// buckets are the whole table.
#[derive(Debug)]
struct Exact {
    slots: usize,
    floors: Floors,
}

/// The reference model.
#[derive(Debug)]
pub struct Model {
    /// Windows of each class, longest first.
    classes: Vec<Vec<Window>>,
    /// The counts the limiter's states hold, per (key, class, window,
    /// window index).
    counts: HashMap<(u32, usize, usize, u64), u32>,
    /// What evictions let each window admit again, per (key, class,
    /// window, window index): everything admitted there is its count plus
    /// this.
    allowance: HashMap<(u32, usize, usize, u64), u32>,
    /// Tracked states.
    states: HashMap<(u32, usize), State>,
    /// The floor of each key's last drop.
    dropped: HashMap<(u32, usize), u64>,
    /// The highest floor any drop left.
    highest_floor: u64,
    overrides: HashMap<(u32, usize), Vec<u32>>,
    /// (key, class) pairs that ever had an override: each keeps its entry.
    override_entries: HashSet<(u32, usize)>,
    override_capacity: usize,
    on_full: OnFull,
    evict_at_most: u32,
    exact: Option<Exact>,
}

/// What a state allows a new key at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Every window with a count has ended: reclaimable, leaving this
    /// floor; (the largest count it held, the floor).
    Ended(u32, u64),
    /// Live but evictable: (largest current count, stamp).
    Evictable(u32, u64),
    /// Live until then.
    Live(u64),
}

impl Model {
    fn limits(&self, key: u32, class: usize) -> Vec<u32> {
        match self.overrides.get(&(key, class)) {
            Some(l) => l.clone(),
            None => self.classes[class].iter().map(Window::limit).collect(),
        }
    }

    fn count(&self, key: u32, class: usize, i: usize, index: u64) -> u32 {
        self.counts
            .get(&(key, class, i, index))
            .copied()
            .unwrap_or(0)
    }

    /// The (index, count) of every window of a state at `now`.
    fn observe(&self, key: u32, class: usize, now: u64) -> (Vec<u64>, Vec<u32>) {
        let windows = &self.classes[class];
        let state = self.states.get(&(key, class));
        let index: Vec<u64> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| state.map_or(0, |s| s.newest[i]).max(index_at(w, now)))
            .collect();
        let count = index
            .iter()
            .enumerate()
            .map(|(i, &x)| match state {
                Some(_) => self.count(key, class, i, x),
                None => 0,
            })
            .collect();
        (index, count)
    }

    /// What the state of (key, class) allows a new key at `at`.
    fn fate(&self, key: u32, class: usize, at: u64) -> Fate {
        let state = &self.states[&(key, class)];
        let windows = &self.classes[class];
        let mut live_until = None;
        let mut last_end = 0;
        let mut largest = 0;
        let mut held = 0;
        for (i, w) in windows.iter().enumerate() {
            let count = self.count(key, class, i, state.newest[i]);
            held = held.max(count);
            if count > 0 {
                let end = end_of(w, state.newest[i]);
                last_end = last_end.max(end);
                if end > at {
                    live_until = live_until.max(Some(end));
                    largest = largest.max(count);
                }
            }
        }
        match live_until {
            None => Fate::Ended(held, last_end),
            Some(_) if largest <= self.evict_at_most && state.stamp < at => {
                Fate::Evictable(largest, state.stamp)
            }
            // Evictable from the next second.
            Some(until)
                if self.evict_at_most > 0 && largest <= self.evict_at_most && state.stamp == at =>
            {
                Fate::Live(until.min(at + 1))
            }
            Some(until) => Fate::Live(until),
        }
    }

    /// Forgets a state the limiter dropped at `at`, after checking that it
    /// could drop it then.
    fn drop_state(&mut self, key: u32, class: usize, at: u64) {
        let fate = self.fate(key, class, at);
        let floor = match fate {
            Fate::Ended(count, floor) => {
                if self.exact.is_some() {
                    // The state that held least goes first, then the
                    // oldest.
                    let smaller = self
                        .states
                        .keys()
                        .filter(|&&(k, c)| (k, c) != (key, class))
                        .any(|&(k, c)| match self.fate(k, c, at) {
                            Fate::Ended(n, f) => (n, f) < (count, floor),
                            _ => false,
                        });
                    assert!(
                        !smaller,
                        "key {key} class {class} reclaimed while a smaller ended state was there"
                    );
                }
                floor
            }
            Fate::Evictable(_, stamp) => {
                if let Some(exact) = &self.exact {
                    // Reclaiming comes before evicting, and the state
                    // holding least (counted longest ago on a tie) goes.
                    let others: Vec<Fate> = self
                        .states
                        .keys()
                        .filter(|&&(k, c)| (k, c) != (key, class))
                        .map(|&(k, c)| self.fate(k, c, at))
                        .collect();
                    assert!(
                        self.states.len() >= exact.slots,
                        "key {key} class {class} evicted from a table with a free slot"
                    );
                    assert!(
                        others.iter().all(|f| !matches!(f, Fate::Ended(..))),
                        "key {key} class {class} evicted where an ended state could be reclaimed"
                    );
                    if let Fate::Evictable(count, stamp) = fate {
                        assert!(
                            others.iter().all(|f| match *f {
                                Fate::Evictable(c, s) => (c, s) >= (count, stamp),
                                _ => true,
                            }),
                            "key {key} class {class} evicted while a smaller state was evictable"
                        );
                    }
                }
                // Its key starts again in the same windows: what it held
                // there it may have again.
                let state = &self.states[&(key, class)];
                for (i, &x) in state.newest.iter().enumerate() {
                    if let Some(c) = self.counts.remove(&(key, class, i, x)) {
                        *self.allowance.entry((key, class, i, x)).or_default() += c;
                    }
                }
                stamp
            }
            Fate::Live(until) => panic!(
                "the limiter dropped the live state of key {key} class {class} at {at} \
                 (live until {until}, evictable only at most {} and from an earlier second)",
                self.evict_at_most
            ),
        };
        self.states.remove(&(key, class));
        self.dropped.insert((key, class), floor);
        self.highest_floor = self.highest_floor.max(floor);
        if let Some(exact) = &mut self.exact {
            exact.floors.remember(key, class, floor);
        }
    }

    /// Checks the floor the limiter reports for a key it does not track.
    fn check_floor(&self, key: u32, class: usize, floor: u64) {
        if let Some(&own) = self.dropped.get(&(key, class)) {
            assert!(
                floor >= own,
                "key {key} class {class} would start at floor {floor}, below {own}, its own"
            );
        }
        assert!(
            floor <= self.highest_floor,
            "key {key} class {class} would start at floor {floor}, above every dropped \
             state's ({})",
            self.highest_floor
        );
        if let Some(exact) = &self.exact {
            assert_eq!(
                floor,
                exact.floors.floor_for(key, class),
                "key {key} class {class}: the floor of the table's ghosts"
            );
        }
    }

    /// The figures of a check of `cost` (0: a peek) at `now` (seconds),
    /// given what the limiter answered (for the one choice the model
    /// cannot make alone: whether a larger table found a slot), updating
    /// the model.
    fn check(
        &mut self,
        key: u32,
        class: usize,
        cost: u32,
        now: u64,
        untracked: Option<u64>,
        actual: &Figures,
    ) -> Figures {
        let Some(windows) = self.classes.get(class).cloned() else {
            return Figures {
                outcome: Outcome::UnknownClass,
                limit: 0,
                remaining: 0,
                reset: now,
                retry_after: None,
                denied_by: None,
                now,
            };
        };
        match untracked {
            Some(_) => assert!(
                !self.states.contains_key(&(key, class)),
                "the limiter dropped key {key} class {class} unseen"
            ),
            None => assert!(
                self.states.contains_key(&(key, class)),
                "the limiter holds state for key {key} class {class}, which was never admitted"
            ),
        }
        let limits = self.limits(key, class);
        let (index, count) = self.observe(key, class, now);
        if cost == 0 {
            let fits = limits
                .iter()
                .zip(&count)
                .all(|(&l, &c)| u64::from(c) < u64::from(l));
            let outcome = if fits {
                Outcome::Allowed
            } else {
                Outcome::Denied
            };
            return figures(outcome, &windows, &limits, &index, &count, now, 1);
        }
        if limits.iter().any(|&l| l < cost) {
            return figures(
                Outcome::CostTooLarge,
                &windows,
                &limits,
                &index,
                &count,
                now,
                cost,
            );
        }
        if let Some(floor) = untracked {
            let fates: Vec<Fate> = self
                .states
                .keys()
                .map(|&(k, c)| self.fate(k, c, now))
                .collect();
            let live: Vec<u64> = fates
                .iter()
                .filter_map(|f| match *f {
                    Fate::Live(until) => Some(until),
                    _ => None,
                })
                .collect();
            let full = match &self.exact {
                Some(exact) => fates.len() >= exact.slots && live.len() == fates.len(),
                None => {
                    let full = matches!(
                        actual.outcome,
                        Outcome::TableFull | Outcome::AllowedUntracked
                    );
                    assert!(
                        !full || live.len() >= 8,
                        "table full with only {} live states",
                        live.len()
                    );
                    full
                }
            };
            if full {
                return match self.on_full {
                    OnFull::Deny => {
                        let frees_at = match self.exact {
                            Some(_) => live.iter().copied().min().unwrap_or(u64::MAX),
                            // Which slots the key may use is the table's
                            // business: take the limiter's figure.
                            None => actual.retry_after.unwrap_or(1).saturating_add(now),
                        };
                        let retry = frees_at.saturating_sub(now).max(1);
                        Figures {
                            outcome: Outcome::TableFull,
                            limit: limits[0],
                            remaining: 0,
                            reset: now.saturating_add(retry),
                            retry_after: Some(retry),
                            denied_by: Some((limits[0], windows[0].length().as_secs())),
                            now,
                        }
                    }
                    _ => {
                        let index: Vec<u64> = windows.iter().map(|w| index_at(w, now)).collect();
                        let count = vec![cost; windows.len()];
                        figures(
                            Outcome::AllowedUntracked,
                            &windows,
                            &limits,
                            &index,
                            &count,
                            now,
                            cost,
                        )
                    }
                };
            }
            // A new state, from its floor.
            let at = now.max(floor);
            let index: Vec<u64> = windows.iter().map(|w| index_at(w, at)).collect();
            let mut count = Vec::with_capacity(windows.len());
            for (i, &x) in index.iter().enumerate() {
                let c = self.counts.entry((key, class, i, x)).or_default();
                assert_eq!(
                    *c, 0,
                    "key {key} class {class}: window {i} index {x} reopened after a drop"
                );
                *c = cost;
                count.push(cost);
            }
            self.states.insert(
                (key, class),
                State {
                    newest: index.clone(),
                    stamp: at,
                },
            );
            if let Some(exact) = &mut self.exact {
                exact.floors.forget(key, class);
            }
            return figures(
                Outcome::Allowed,
                &windows,
                &limits,
                &index,
                &count,
                now,
                cost,
            );
        }
        let fits = limits
            .iter()
            .zip(&count)
            .all(|(&l, &c)| u64::from(c) + u64::from(cost) <= u64::from(l));
        if !fits {
            return figures(
                Outcome::Denied,
                &windows,
                &limits,
                &index,
                &count,
                now,
                cost,
            );
        }
        let mut after = Vec::with_capacity(windows.len());
        for (i, &x) in index.iter().enumerate() {
            let c = self.counts.entry((key, class, i, x)).or_default();
            *c += cost;
            after.push(*c);
        }
        if let Some(state) = self.states.get_mut(&(key, class)) {
            state.newest.clone_from(&index);
            state.stamp = state.stamp.max(now);
        }
        figures(
            Outcome::Allowed,
            &windows,
            &limits,
            &index,
            &after,
            now,
            cost,
        )
    }

    /// Sets an override; `max` is what the limiter reports each window
    /// can hold (`Limiter::max_limits`).
    fn set_override(
        &mut self,
        key: u32,
        class: usize,
        limits: &[u32],
        max: &[u32],
    ) -> Result<(), OverrideError> {
        let windows = self.classes.get(class).ok_or(OverrideError::UnknownClass)?;
        if limits.len() != windows.len() {
            return Err(OverrideError::WindowCount {
                expected: windows.len(),
                got: limits.len(),
            });
        }
        if limits.contains(&0) {
            return Err(OverrideError::ZeroLimit);
        }
        if let Some((window, (_, &max))) = limits
            .iter()
            .zip(max)
            .enumerate()
            .find(|(_, (&l, &m))| l > m)
        {
            return Err(OverrideError::TooLarge { window, max });
        }
        if !self.override_entries.contains(&(key, class)) {
            if self.override_entries.len() >= self.override_capacity {
                return Err(OverrideError::Full {
                    capacity: self.override_capacity,
                });
            }
            self.override_entries.insert((key, class));
        }
        self.overrides.insert((key, class), limits.to_vec());
        Ok(())
    }

    fn remove_override(&mut self, key: u32, class: usize) -> bool {
        class < self.classes.len() && self.overrides.remove(&(key, class)).is_some()
    }
}

/// A limiter and the model, run side by side.
#[derive(Debug)]
pub struct Harness {
    pub limiter: Limiter<ManualClock>,
    clock: ManualClock,
    model: Model,
    tokens: Vec<Class>,
    /// Operations applied so far, for failure messages.
    step: usize,
    /// Whether every state takes a 128-bit word.
    wide: bool,
}

/// 2025-05-06T00:00:00Z, in milliseconds.
const EPOCH_MS: u64 = 1_746_489_600_000;

impl Harness {
    /// A limiter built from `config` and an empty model.
    ///
    /// # Panics
    ///
    /// When `config` names no policy or cannot build.
    pub fn new(config: &Config) -> Self {
        let policy = policies().swap_remove(config.policy);
        let classes = policy
            .classes()
            .map(|(_, c)| c.windows().to_vec())
            .collect();
        let clock = ManualClock::new(Duration::from_millis(EPOCH_MS + config.start_ms));
        let limiter = Limiter::builder(policy)
            .clock(clock.clone())
            .capacity(config.capacity)
            .override_capacity(config.override_capacity)
            .on_full(config.on_full)
            .seed(config.seed)
            .wide_states(config.wide)
            .evict_at_most(config.evict_at_most)
            .build()
            .expect("limiter");
        // Two buckets are the smallest table: every key's buckets are all
        // of it.
        let exact = (limiter.buckets() == 2).then(|| Exact {
            slots: limiter.slots(),
            floors: Floors::default(),
        });
        let model = Model {
            classes,
            counts: HashMap::new(),
            allowance: HashMap::new(),
            states: HashMap::new(),
            dropped: HashMap::new(),
            highest_floor: 0,
            overrides: HashMap::new(),
            override_entries: HashSet::new(),
            override_capacity: config.override_capacity,
            on_full: config.on_full,
            evict_at_most: config.evict_at_most,
            exact,
        };
        Harness {
            limiter,
            clock,
            model,
            tokens: class_tokens(),
            step: 0,
            wide: config.wide,
        }
    }

    /// Applies `op` to both and asserts that they agree.
    ///
    /// # Panics
    ///
    /// On the first disagreement, naming the step.
    pub fn apply(&mut self, op: &Op) {
        self.step += 1;
        let step = self.step;
        match *op {
            Op::Check { key, class, cost } => {
                let c = self.class(class);
                let untracked = self.limiter.untracked_floor(&key, c);
                let d = match cost {
                    1 => self.limiter.check(&key, c),
                    _ => self.limiter.check_n(&key, c, cost),
                };
                let actual = Figures::from(&d);
                let now = self.clock_secs();
                if let (Some(floor), Some(_)) = (untracked, self.model.classes.get(class)) {
                    self.model.check_floor(key, class, floor);
                }
                if untracked.is_some() && d.outcome() == Outcome::Allowed {
                    // An insert: it may have taken another key's slot.
                    self.drops(now, (key, class));
                }
                let expected = self.model.check(key, class, cost, now, untracked, &actual);
                assert_eq!(actual, expected, "step {step}: {op:?} at {now}");
            }
            Op::Peek { key, class } => {
                let c = self.class(class);
                let untracked = self.limiter.untracked_floor(&key, c);
                let actual = Figures::from(&self.limiter.peek(&key, c));
                let now = self.clock_secs();
                if let (Some(floor), Some(_)) = (untracked, self.model.classes.get(class)) {
                    self.model.check_floor(key, class, floor);
                }
                let expected = self.model.check(key, class, 0, now, untracked, &actual);
                assert_eq!(actual, expected, "step {step}: {op:?} at {now}");
            }
            Op::Advance(ms) => self.clock.advance(Duration::from_millis(ms)),
            Op::Rewind(ms) => self.clock.rewind(Duration::from_millis(ms)),
            Op::SetOverride {
                key,
                class,
                ref limits,
            } => {
                let actual = self
                    .limiter
                    .set_override_limits(&key, self.class(class), limits);
                let max = self.max_limits(class);
                let expected = self.model.set_override(key, class, limits, &max);
                assert_eq!(actual, expected, "step {step}: {op:?}");
            }
            Op::RemoveOverride { key, class } => {
                let actual = self.limiter.remove_override(&key, self.class(class));
                let expected = self.model.remove_override(key, class);
                assert_eq!(actual, expected, "step {step}: {op:?}");
            }
        }
        if let Op::Check { class, .. } | Op::Peek { class, .. } | Op::SetOverride { class, .. } =
            *op
        {
            if let Some(windows) = self.model.classes.get(class) {
                let key = match *op {
                    Op::Check { key, .. } | Op::Peek { key, .. } | Op::SetOverride { key, .. } => {
                        key
                    }
                    _ => unreachable!(),
                };
                let limits: Vec<u32> = self
                    .limiter
                    .limits_for(&key, self.class(class))
                    .expect("known class")
                    .iter()
                    .map(Window::limit)
                    .collect();
                assert_eq!(
                    limits,
                    self.model.limits(key, class),
                    "step {step}: limits_for after {op:?}"
                );
                assert_eq!(windows.len(), limits.len());
            }
        }
    }

    /// After an insert at `now` of `inserted`: the states the limiter
    /// dropped for it (at most one), checked and forgotten by the model.
    fn drops(&mut self, now: u64, inserted: (u32, usize)) {
        let gone: Vec<(u32, usize)> = self
            .model
            .states
            .keys()
            .copied()
            .filter(|&(k, c)| (k, c) != inserted)
            .filter(|&(k, c)| self.limiter.untracked_floor(&k, self.class(c)).is_some())
            .collect();
        assert!(
            gone.len() <= 1,
            "step {}: one insert dropped {} states",
            self.step,
            gone.len()
        );
        for (k, c) in gone {
            self.model.drop_state(k, c, now);
        }
    }

    /// What the limiter reports each window of class `i` can hold, checked
    /// against its documented contract: at least the class's limits, and
    /// `u32::MAX` for every window of a class of up to three windows in
    /// 128-bit states.
    fn max_limits(&self, i: usize) -> Vec<u32> {
        let Some(max) = self.limiter.max_limits(self.class(i)) else {
            return Vec::new();
        };
        if let Some(windows) = self.model.classes.get(i) {
            assert_eq!(max.len(), windows.len());
            for (&m, w) in max.iter().zip(windows) {
                assert!(
                    m >= w.limit(),
                    "max {m} below the class limit {}",
                    w.limit()
                );
                if self.wide && windows.len() <= 3 {
                    assert_eq!(m, u32::MAX);
                }
            }
        }
        max
    }

    fn class(&self, i: usize) -> Class {
        self.tokens[i.min(self.tokens.len() - 1)]
    }

    fn clock_secs(&self) -> u64 {
        use tollgate::Clock;
        self.clock.now().as_secs()
    }
}
