//! Helpers shared by the side-by-side benchmarks in `benches/`: key sets,
//! precomputed visiting orders, the benchmark policies, the headline
//! rows' limiter (`reference`) and the multi-thread timing harness.
//!
//! Nothing here depends on a peer crate, so `cargo test` at the workspace
//! root builds this library without building governor or criterion.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "benchmark bookkeeping: counts and indexes far below their types' limits"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tollgate::{CachedClock, Clock, Limiter, Policy, WindowLength};

mod reference;

pub use reference::{reference_limiter, reference_open_policy, Renewing, OPEN_MINUTE_LIMIT};

/// A thread that keeps a `CachedClock` moving, as a server embedding the
/// limiter would, until dropped: the `CachedClock` rows run beside one.
#[derive(Debug)]
pub struct Refresher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Refresher {
    /// Refreshes `clock` from the coarse clock every millisecond.
    ///
    /// # Panics
    ///
    /// If the thread cannot be spawned.
    pub fn start(clock: &CachedClock) -> Self {
        Self::every(clock, Duration::from_millis(1), CachedClock::refresh)
    }

    /// Sets `clock` to [`T0`], then moves it on by 10 seconds every half
    /// millisecond of real time: one time for every thread of a row, as a
    /// server's threads read one clock, fast enough that checks spread
    /// over 1,000 keys stay far below [`packed_policy`]'s limits (at 50
    /// million checks a second, about 25 per key in each 10-second window).
    ///
    /// # Panics
    ///
    /// If the thread cannot be spawned.
    pub fn fast(clock: &CachedClock) -> Self {
        clock.set(Duration::from_secs(T0));
        Self::every(clock, Duration::from_micros(500), |c| {
            c.set(c.now().saturating_add(Duration::from_secs(10)));
        })
    }

    fn every(clock: &CachedClock, interval: Duration, tick: fn(&CachedClock)) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (clock, stop) = (clock.clone(), Arc::clone(&stop));
            move || {
                // Relaxed: the flag publishes nothing; `join` orders the rest.
                while !stop.load(Ordering::Relaxed) {
                    tick(&clock);
                    std::thread::park_timeout(interval);
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        // Relaxed: as in the thread's loop.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The key-hashing seed of [`open_limiter`].
pub const OPEN_SEED: u64 = 0x7011_6a7e;

/// A fixed time for the `check_at` rows: a minute boundary,
/// 2025-05-06T00:00:00Z, in unix seconds.
pub const T0: u64 = 1_746_489_600;

/// The policy of the admitted-path rows: one class of two windows, like
/// each class of the reference policy, with limits no benchmark run can
/// spend (`u32::MAX` per minute and per 10 seconds), so that every check
/// takes the admission path.
///
/// # Panics
///
/// Never for these constants.
pub fn open_policy() -> Policy {
    let minute = WindowLength::from_secs(60).expect("60 s is a valid window");
    let ten = WindowLength::from_secs(10).expect("10 s is a valid window");
    Policy::builder()
        .class("read", &["GET"], u32::MAX, minute)
        .burst_limit(u32::MAX, ten)
        .build()
        .expect("a valid policy")
}

/// [`open_policy`] with its primary window only: the one-window class
/// whose admission is a single compare-exchange, the floor the
/// `baseline_packed_cas` row measures.
///
/// # Panics
///
/// Never for these constants.
pub fn open_policy_one_window() -> Policy {
    let minute = WindowLength::from_secs(60).expect("60 s is a valid window");
    Policy::builder()
        .class("read", &["GET"], u32::MAX, minute)
        .build()
        .expect("a valid policy")
}

/// The policy of the deny-path row: one class of two windows, one check a
/// day and one per 10 seconds. After one admitted check a key is denied
/// by the daily window for the rest of the day.
///
/// # Panics
///
/// Never for these constants.
pub fn spent_policy() -> Policy {
    let day = WindowLength::from_secs(86_400).expect("1 d is a valid window");
    let ten = WindowLength::from_secs(10).expect("10 s is a valid window");
    Policy::builder()
        .class("read", &["GET"], 1, day)
        .burst_limit(1, ten)
        .build()
        .expect("a valid policy")
}

/// The reference policy's shape (a minute and its 10-second burst) with
/// the largest limits whose counts fit a 64-bit state (65,535 each: see
/// `LimiterBuilder::wide_states`), for the rows of the 64-bit layout. Those rows move their time on with a [`Ticker`] so
/// that no key reaches the limits.
///
/// # Panics
///
/// Never for these constants.
pub fn packed_policy() -> Policy {
    let minute = WindowLength::from_secs(60).expect("60 s is a valid window");
    let ten = WindowLength::from_secs(10).expect("10 s is a valid window");
    Policy::builder()
        .class("read", &["GET"], 65_535, minute)
        .burst_limit(65_535, ten)
        .build()
        .expect("a valid policy")
}

/// A limiter over [`packed_policy`] sized for `keys` tracked states.
///
/// # Panics
///
/// If the limiter cannot be built, or its class's state does not fit
/// 64 bits.
pub fn packed_limiter(keys: usize) -> Limiter {
    packed_limiter_on(keys, tollgate::CoarseClock)
}

/// [`packed_limiter`] with `clock` as the limiter's clock.
///
/// # Panics
///
/// As [`packed_limiter`].
pub fn packed_limiter_on<C: Clock>(keys: usize, clock: C) -> Limiter<C> {
    let limiter = Limiter::builder(packed_policy())
        .clock(clock)
        .capacity(keys)
        .seed(0x7011_6a7e)
        .build()
        .expect("a valid capacity");
    assert_eq!(
        limiter.max_limits(tollgate::Class::READ),
        Some(vec![65_535, 65_535]),
        "the class's state fits 64 bits"
    );
    limiter
}

/// A time for `check_at` that moves on by 10 seconds every 2^13 calls,
/// starting at [`T0`]: at most 8,192 checks of one key fall in one
/// 10-second window (and 49,152 in a minute), under [`packed_policy`]'s
/// limits.
#[derive(Debug)]
pub struct Ticker {
    calls: u64,
}

impl Ticker {
    /// A ticker at [`T0`].
    pub const fn new() -> Self {
        Self { calls: 0 }
    }

    /// The time of the next check.
    #[inline(always)]
    #[expect(
        clippy::should_implement_trait,
        reason = "an endless clock: never `None`"
    )]
    pub fn next(&mut self) -> std::time::Duration {
        self.calls = self.calls.wrapping_add(1);
        std::time::Duration::from_secs(T0 + (self.calls >> 13) * 10)
    }
}

impl Default for Ticker {
    fn default() -> Self {
        Self::new()
    }
}

/// A limiter over [`open_policy`] sized for `keys` tracked states, with a
/// fixed seed so that runs are comparable.
///
/// # Panics
///
/// If the limiter cannot be built (a capacity of 0).
pub fn open_limiter(keys: usize) -> Limiter {
    Limiter::builder(open_policy())
        .capacity(keys)
        .seed(OPEN_SEED)
        .build()
        .expect("a valid capacity")
}

/// After a row: the limiter was still admitting `key`, so the row measured
/// the admission path throughout.
///
/// # Panics
///
/// If the row ran into its limit.
pub fn still_admitting<C: Clock, K: std::hash::Hash + ?Sized>(limiter: &Limiter<C>, key: &K) {
    assert!(
        limiter.peek(key, tollgate::Class::READ).is_allowed(),
        "the row ran into its limit"
    );
}

/// Keeps a row's result alive without copying it: every row of every
/// crate passes its check's result here.
///
/// Returning the result to the harness would copy it into an opaque slot,
/// and for a result of several words that copy reads back with wide loads
/// what the check has just written with narrow stores, a store-forwarding
/// stall of ~15 cycles that no caller reading the result's fields pays.
#[inline(always)]
pub fn consume<T>(result: T) {
    std::hint::black_box(&result);
}

/// The floor rows' step: one compare-exchange counting 1 in a word that
/// packs (window index << 32 | count), opening `window` if the word holds
/// another. What a one-window admission cannot go below, without its
/// clock read.
#[inline(always)]
pub fn packed_cas(word: &std::sync::atomic::AtomicU64, window: u64) -> Result<u64, u64> {
    use std::sync::atomic::Ordering;
    let index = std::hint::black_box(window) & 0xFFFF_FFFF;
    // Relaxed: the compare-exchange validates it.
    let seen = word.load(Ordering::Relaxed);
    let next = if seen >> 32 == index {
        seen.wrapping_add(1)
    } else {
        (index << 32) | 1
    };
    // Acquire on success, as tollgate's counter does; Relaxed on failure:
    // the row moves on.
    word.compare_exchange(seen, next, Ordering::Acquire, Ordering::Relaxed)
}

/// SplitMix64: a bijection on `u64` that scatters consecutive inputs.
pub const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A permutation of `0..n`, shuffled with a fixed `seed` (Fisher–Yates
/// driven by SplitMix64), computed once before a benchmark so that no
/// random number is drawn per iteration.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = splitmix64(state);
        let bound = u64::try_from(i + 1).unwrap_or(u64::MAX);
        let j = usize::try_from(state % bound).unwrap_or(0);
        order.swap(i, j);
    }
    order
}

/// `n` distinct `u64` keys.
pub fn u64_keys(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| splitmix64(i ^ 0x5EED)).collect()
}

/// `n` distinct API-key-like strings of 24 bytes (`key_` and 20 hex
/// digits).
pub fn str_keys(n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|i| format!("key_{:020x}", splitmix64(i) >> 4))
        .collect()
}

/// `keys` rearranged in the order of `permutation(keys.len(), seed)`.
pub fn visiting_order<T: Clone>(keys: &[T], seed: u64) -> Vec<T> {
    permutation(keys.len(), seed)
        .into_iter()
        .map(|i| keys[i].clone())
        .collect()
}

/// An endless walk over a slice, one element per call.
#[derive(Debug)]
pub struct Cycle<'a, T> {
    items: &'a [T],
    at: usize,
}

impl<'a, T> Cycle<'a, T> {
    /// A walk starting at the first element.
    ///
    /// # Panics
    ///
    /// If `items` is empty.
    pub fn new(items: &'a [T]) -> Self {
        assert!(!items.is_empty(), "nothing to walk over");
        Self { items, at: 0 }
    }

    /// The next element, wrapping around at the end.
    #[inline(always)]
    #[expect(
        clippy::should_implement_trait,
        reason = "an endless walk: never `None`, and returns references into the slice"
    )]
    pub fn next(&mut self) -> &'a T {
        let item = &self.items[self.at];
        self.at += 1;
        if self.at == self.items.len() {
            self.at = 0;
        }
        item
    }

    /// Skips `n` elements (`n` at most the length), wrapping around: used
    /// with `n` taken from a check's result, so that the next key depends
    /// on the last check and checks cannot overlap.
    #[inline(always)]
    pub fn skip(&mut self, n: usize) {
        self.at += n;
        if self.at >= self.items.len() {
            self.at -= self.items.len();
        }
    }
}

/// Runs `work(thread, iters)` on `threads` threads started together, and
/// returns the longest time one of them took from the common start: the
/// time `threads * iters` operations took in aggregate. Thread start-up is
/// outside the measured time.
///
/// # Panics
///
/// If a worker panics.
pub fn run_threads<F>(threads: usize, iters: u64, work: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(t, iters);
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .max()
            .unwrap_or_default()
    })
}
