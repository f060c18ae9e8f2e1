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
//! capacity. Two documented behaviours follow from that, and the model
//! accounts for them exactly rather than skipping comparisons:
//!
//! - **Reclaimed state.** A state whose windows have all ended may be
//!   reclaimed for another key. Before every operation the harness asks
//!   the limiter whether it still holds the key's state
//!   ([`Limiter::untracked_floor`]). When it does not, but the model
//!   does, the harness asserts that the reclaim was allowed — every window
//!   with a count ended no later than the floor the key's buckets now
//!   carry, which is at least the reclaim time — and the model forgets
//!   the state. A key that is tracked again counts from `max(now, floor)`
//!   (the table's "Floors": a clock stepping back below the reclaim time
//!   must not reopen windows whose counts were dropped), so the model
//!   takes that floor as the time of the inserting check. Past counts stay
//!   in the map: they are the ledger that a reopened window would exceed.
//! - **A full table.** A new key gets [`Outcome::TableFull`] (or
//!   [`Outcome::AllowedUntracked`]) only when every slot of its two buckets
//!   holds live state. The model knows which states are live. When the
//!   table has exactly two buckets (the smallest capacities), every key's
//!   buckets are the whole table, so the model predicts the outcome and
//!   the `retry_after` exactly; for a larger table it asserts that at
//!   least two buckets' worth of states are live and compares every field
//!   except the time a slot frees up, which depends on which buckets the
//!   key hashes to.
//!
//! Times stay within 2^31 windows of each other (the counters' documented
//! horizon).

#![expect(
    clippy::arithmetic_side_effects,
    reason = "a model in plain arithmetic: sums are checked in u64 against u32 limits, times stay far from u64::MAX"
)]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tollgate::{
    Class, Decision, Limiter, ManualClock, OnFull, Outcome, OverrideError, Policy, Window,
};

/// Slots per bucket of the limiter's table (its documented shape).
const BUCKET_SLOTS: usize = 8;

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
    /// Whether classes of two nested windows share one word
    /// (`LimiterBuilder::pack_windows`).
    pub pack: bool,
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

/// The reference model.
#[derive(Debug)]
pub struct Model {
    /// Windows of each class, longest first.
    classes: Vec<Vec<Window>>,
    /// Cost admitted per (key, class, window, window index). Never
    /// forgotten: it is also the ledger of everything admitted.
    counts: HashMap<(u32, usize, usize, u64), u32>,
    /// Per tracked (key, class): the newest window index each window has
    /// counted in. A check at an earlier time counts in that window (a
    /// clock that steps back never reopens an older one).
    newest: HashMap<(u32, usize), Vec<u64>>,
    overrides: HashMap<(u32, usize), Vec<u32>>,
    /// (key, class) pairs that ever had an override: each keeps its entry.
    override_entries: HashSet<(u32, usize)>,
    override_capacity: usize,
    on_full: OnFull,
    /// Slots of the table, when every key's two buckets are the whole table.
    exact_slots: Option<usize>,
}

impl Model {
    fn limits(&self, key: u32, class: usize) -> Vec<u32> {
        match self.overrides.get(&(key, class)) {
            Some(l) => l.clone(),
            None => self.classes[class].iter().map(Window::limit).collect(),
        }
    }

    /// The (index, count) of every window of a state at `now`.
    fn observe(&self, key: u32, class: usize, now: u64) -> (Vec<u64>, Vec<u32>) {
        let windows = &self.classes[class];
        let newest = self.newest.get(&(key, class));
        let index: Vec<u64> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| newest.map_or(0, |n| n[i]).max(index_at(w, now)))
            .collect();
        let count = index
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if newest.is_some() {
                    self.counts.get(&(key, class, i, x)).copied().unwrap_or(0)
                } else {
                    0
                }
            })
            .collect();
        (index, count)
    }

    /// When a state's live windows end, at `at`: `None` if none is live.
    fn live_until(&self, key: u32, class: usize, at: u64) -> Option<u64> {
        let newest = self.newest.get(&(key, class))?;
        let mut until = None;
        for (i, w) in self.classes[class].iter().enumerate() {
            let count = self
                .counts
                .get(&(key, class, i, newest[i]))
                .copied()
                .unwrap_or(0);
            if count > 0 && newest[i] >= index_at(w, at) {
                until = until.max(Some(end_of(w, newest[i])));
            }
        }
        until
    }

    /// Forgets a state the limiter no longer holds, after checking that it
    /// was allowed to drop it: every window with a count ended by `floor`.
    fn forget(&mut self, key: u32, class: usize, floor: u64) {
        let Some(newest) = self.newest.remove(&(key, class)) else {
            return;
        };
        for (i, w) in self.classes[class].iter().enumerate() {
            let count = self
                .counts
                .get(&(key, class, i, newest[i]))
                .copied()
                .unwrap_or(0);
            assert!(
                count == 0 || end_of(w, newest[i]) <= floor,
                "the limiter dropped the state of key {key} class {class} with {count} in window {i} \
                 ending at {} after its floor {floor}",
                end_of(w, newest[i])
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
            Some(floor) => self.forget(key, class, floor),
            None => assert!(
                self.newest.contains_key(&(key, class)),
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
            // A new state: counted from the floor its buckets carry.
            let at = now.max(floor);
            let live: Vec<u64> = self
                .newest
                .keys()
                .filter_map(|&(k, c)| self.live_until(k, c, at))
                .collect();
            let full = match self.exact_slots {
                Some(slots) => live.len() >= slots,
                None => {
                    let full = matches!(
                        actual.outcome,
                        Outcome::TableFull | Outcome::AllowedUntracked
                    );
                    assert!(
                        !full || live.len() >= 2 * BUCKET_SLOTS,
                        "table full with only {} live states",
                        live.len()
                    );
                    full
                }
            };
            if full {
                return match self.on_full {
                    OnFull::Deny => {
                        let frees_at = match self.exact_slots {
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
            let index: Vec<u64> = windows.iter().map(|w| index_at(w, at)).collect();
            let mut count = Vec::with_capacity(windows.len());
            for (i, &x) in index.iter().enumerate() {
                let c = self.counts.entry((key, class, i, x)).or_default();
                assert_eq!(
                    *c, 0,
                    "key {key} class {class}: window {i} index {x} reopened after a reclaim"
                );
                *c = cost;
                count.push(cost);
            }
            self.newest.insert((key, class), index.clone());
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
        self.newest.insert((key, class), index.clone());
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
    /// Whether the limiter packs two nested windows into one word.
    pack: bool,
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
            .pack_windows(config.pack)
            .build()
            .expect("limiter");
        let exact_slots = (limiter.slots() == 2 * BUCKET_SLOTS).then_some(2 * BUCKET_SLOTS);
        let model = Model {
            classes,
            counts: HashMap::new(),
            newest: HashMap::new(),
            overrides: HashMap::new(),
            override_entries: HashSet::new(),
            override_capacity: config.override_capacity,
            on_full: config.on_full,
            exact_slots,
        };
        Harness {
            limiter,
            clock,
            model,
            tokens: class_tokens(),
            step: 0,
            pack: config.pack,
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
                let expected = self.model.check(key, class, cost, now, untracked, &actual);
                assert_eq!(actual, expected, "step {step}: {op:?} at {now}");
            }
            Op::Peek { key, class } => {
                let c = self.class(class);
                let untracked = self.limiter.untracked_floor(&key, c);
                let actual = Figures::from(&self.limiter.peek(&key, c));
                let now = self.clock_secs();
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

    /// What the limiter reports each window of class `i` can hold, checked
    /// against its documented contract: `u32::MAX`, except for classes of
    /// two nested windows when packing, whose maxima are at least the
    /// class's limits.
    fn max_limits(&self, i: usize) -> Vec<u32> {
        let Some(max) = self.limiter.max_limits(self.class(i)) else {
            return Vec::new();
        };
        if let Some(windows) = self.model.classes.get(i) {
            assert_eq!(max.len(), windows.len());
            let nested = matches!(windows.as_slice(), [long, short]
                if long.length().as_secs() % short.length().as_secs() == 0);
            for (&m, w) in max.iter().zip(windows) {
                assert!(
                    m >= w.limit(),
                    "max {m} below the class limit {}",
                    w.limit()
                );
                if !(self.pack && nested) {
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
