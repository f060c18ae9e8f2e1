//! Unit tests of the state word: how `Stamp::new` sizes the fields, what a
//! word stands for at a time (`view`), what `admit` does to it, and what
//! the key table reads from it (`end`, `evictable`); then a differential
//! proptest against a plain model of one (index, count) pair per window,
//! which the word must agree with check for check.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small window indexes and counts, far from overflow"
)]

use proptest::prelude::*;

use super::*;
use crate::length::WindowLength;

/// A minute boundary (2025-05-06T00:00:00Z): windows of 60 and 10 s start
/// at `T`.
const T: u64 = 1_746_489_600;

fn windows(spec: &[(u32, u64)]) -> Vec<Window> {
    spec.iter()
        .map(|&(l, s)| Window::new(l, WindowLength::from_secs(s).expect("valid length")))
        .collect()
}

/// The reference read class: 1000 per minute, 333 per 10 seconds, the
/// burst twice the pro-rated minute.
fn read() -> Stamp {
    let burst = Scaled {
        base: 0,
        burst: 1,
        multiplier: 2,
    };
    Stamp::new(
        &windows(&[(1000, 60), (333, 10)]),
        &[1000, 333],
        Some(burst),
        Width::Narrow,
    )
    .expect("fits")
}

fn tally<const N: usize>(index: [u64; N], count: [u32; N]) -> Tally<N> {
    Tally { index, count }
}

/// Admits and returns the word after, panicking on a denial.
fn admitted<B: Bits, const N: usize>(
    s: &Stamp,
    word: B,
    limits: &[u32; N],
    now: u64,
    cost: u32,
) -> B {
    match s.admit(word, limits, now, cost) {
        Ok((next, _)) => next,
        Err(found) => panic!("denied at {now}: {found:?}"),
    }
}

#[test]
fn sizes_the_reference_classes() {
    let r = read();
    assert_eq!(r.width(), Width::Narrow);
    assert_eq!(r.horizon(), 1 << 31);
    // 32 bits of counts: two 16-bit fields, and the burst of the largest
    // minute limit fits its field.
    assert_eq!(r.max_limits()[..2], [65_535, 65_535]);
    let burst = crate::policy::burst_limit(
        2,
        r.max_limits()[0],
        WindowLength::from_secs(60).unwrap(),
        WindowLength::from_secs(10).unwrap(),
    );
    assert!(burst <= r.max_limits()[1]);
}

#[test]
fn a_burst_window_takes_bits_before_the_others() {
    // A base whose burst is nearly as large as itself: without the rule,
    // the two fields would be shared evenly and the base's largest limit
    // could not be set with its scaled burst.
    let w = windows(&[(60, 60), (55, 50)]);
    let scaled = Scaled {
        base: 0,
        burst: 1,
        multiplier: 1,
    };
    let s = Stamp::new(&w, &[60, 55], Some(scaled), Width::Narrow).unwrap();
    let max = s.max_limits();
    let burst = u32::try_from(burst_of(scaled, max[0].into(), &w)).unwrap();
    assert!(burst <= max[1], "{max:?}: burst {burst}");
}

#[test]
fn widens_when_the_counts_need_it_and_refuses_what_never_fits() {
    // Two full 32-bit limits need 64 bits of counts: a 128-bit word.
    let big = windows(&[(u32::MAX, 60), (u32::MAX, 10)]);
    let s = Stamp::new(&big, &[u32::MAX, u32::MAX], None, Width::Narrow).unwrap();
    assert_eq!(s.width(), Width::Wide);
    assert_eq!(s.max_limits()[..2], [u32::MAX, u32::MAX]);
    // Three still fit 96 bits.
    let three = windows(&[(u32::MAX, 3600), (u32::MAX, 60), (u32::MAX, 1)]);
    assert!(Stamp::new(&three, &[u32::MAX; 3], None, Width::Narrow).is_ok());
    // Four do not.
    let four = windows(&[
        (u32::MAX, 86_400),
        (u32::MAX, 3600),
        (u32::MAX, 60),
        (u32::MAX, 1),
    ]);
    assert_eq!(
        Stamp::new(&four, &[u32::MAX; 4], None, Width::Narrow),
        Err(TooWide {
            needed: 128,
            available: 96
        })
    );
    // A wide word asked for gives every window of a small class 32 bits.
    let s = Stamp::new(
        &windows(&[(60, 60), (20, 10)]),
        &[60, 20],
        None,
        Width::Wide,
    )
    .unwrap();
    assert_eq!(s.width(), Width::Wide);
    assert_eq!(s.max_limits()[..2], [u32::MAX, u32::MAX]);
    // One window of a full limit fits 64 bits.
    let one = Stamp::new(
        &windows(&[(u32::MAX, 60)]),
        &[u32::MAX],
        None,
        Width::Narrow,
    )
    .unwrap();
    assert_eq!(one.width(), Width::Narrow);
    assert_eq!(one.max_limits()[0], u32::MAX);
}

#[test]
fn windows_longer_than_the_horizon_take_a_wider_stamp() {
    let century = WindowLength::MAX_SECS;
    let s = Stamp::new(
        &windows(&[(10, century), (2, 1)]),
        &[10, 2],
        None,
        Width::Narrow,
    )
    .unwrap();
    assert_eq!(s.horizon(), 1 << 32);
    assert!(s.horizon() > century);
    // A key denied for the whole window keeps a stamp the horizon reads
    // as past: the window ends and the key is admitted again.
    let limits = [10, 2];
    let mut word = 0u64;
    for _ in 0..2 {
        word = admitted(&s, word, &limits, T, 1);
    }
    assert!(s.admit(word, &limits, T, 1).is_err());
    let late = T + century - 1;
    assert!(s.admit(word, &limits, late, 1).is_ok());
    let next = (T / century + 1) * century;
    let d: Tally<2> = s.view(word, next);
    assert_eq!(d.count, [0, 0]);
}

#[test]
fn view_of_the_neutral_word_is_empty_and_current() {
    let r = read();
    for now in [0, 1, T, (1 << 31) + 5, (1 << 32) + 7, u64::MAX / 2] {
        assert_eq!(
            r.view(0u64, now),
            tally([now / 60, now / 10], [0, 0]),
            "{now}"
        );
    }
}

#[test]
fn view_reads_current_ended_and_newer_windows() {
    let r = read();
    let limits = [1000, 333];
    let word = admitted(&r, 0u64, &limits, T + 15, 3);
    // Same second, same 10 seconds, same minute.
    assert_eq!(r.view(word, T + 15), tally([T / 60, T / 10 + 1], [3, 3]));
    assert_eq!(r.view(word, T + 19), tally([T / 60, T / 10 + 1], [3, 3]));
    // The next 10 seconds: the burst window ended.
    assert_eq!(r.view(word, T + 20), tally([T / 60, T / 10 + 2], [3, 0]));
    // The next minute: both ended.
    assert_eq!(
        r.view(word, T + 60),
        tally([T / 60 + 1, T / 10 + 6], [0, 0])
    );
    // An earlier time (a clock stepped back) reads the newer windows.
    assert_eq!(r.view(word, T + 2), tally([T / 60, T / 10 + 1], [3, 3]));
    assert_eq!(r.view(word, T - 100), tally([T / 60, T / 10 + 1], [3, 3]));
}

#[test]
fn admission_is_all_or_nothing_and_moves_the_stamp_forward_only() {
    let r = read();
    let limits = [60, 20];
    let mut word = 0u64;
    for n in 1..=20 {
        let (next, after) = r.admit(word, &limits, T + 1, 1).unwrap();
        assert_eq!(after.count, [n, n]);
        word = next;
    }
    assert_eq!(
        r.admit(word, &limits, T + 1, 1),
        Err(tally([T / 60, T / 10], [20, 20]))
    );
    // Ten seconds later, the burst window is empty again.
    let (next, after) = r.admit(word, &limits, T + 10, 1).unwrap();
    assert_eq!(after, tally([T / 60, T / 10 + 1], [21, 1]));
    // A straggler at T + 1 counts in the newer windows, and the stamp
    // stays at T + 10.
    let (later, after) = r.admit(next, &limits, T + 1, 1).unwrap();
    assert_eq!(after, tally([T / 60, T / 10 + 1], [22, 2]));
    assert_eq!(r.time(later, T + 1), T + 10);
    // Many windows behind: the same.
    let (_, after) = r.admit(later, &limits, T - 3600, 1).unwrap();
    assert_eq!(after, tally([T / 60, T / 10 + 1], [23, 3]));
}

#[test]
fn a_count_never_spills_into_the_next_field() {
    let r = read();
    let max = r.max_limits();
    // Limits above the fields' maxima are held to them.
    let limits = [u32::MAX, u32::MAX];
    let (word, _) = r.admit(0u64, &limits, T, max[1]).unwrap();
    assert_eq!(r.view(word, T), tally([T / 60, T / 10], [max[1], max[1]]));
    assert!(r.admit(word, &limits, T, 1).is_err());
    assert_eq!(r.time(word, T), T);
}

#[test]
fn the_horizon() {
    let r = read();
    let limits = [1000, 333];
    // A time with room on both sides.
    let t = T + (1 << 32);
    let word = admitted(&r, 0u64, &limits, t, 2);
    // Up to 2^31 seconds later, the stamp is read as the past...
    let late = t + (1 << 31);
    assert_eq!(r.time(word, late), t);
    assert_eq!(r.view(word, late).count, [0, 0]);
    // ...and up to 2^31 - 1 earlier, as the future: the counts stand.
    let early = t - ((1 << 31) - 1);
    assert_eq!(r.time(word, early), t);
    assert_eq!(r.view::<_, 2>(word, early).count, [2, 2]);
    // One second past the horizon and an untouched count reappears: the
    // documented limit.
    let beyond = t + (1 << 31) + 1;
    assert_eq!(r.time(word, beyond), t + (1 << 32));
}

#[test]
fn initial_words_start_at_their_time() {
    let r = read();
    let limits = [60, 20];
    let floor = T + 3600;
    let word: u64 = r.initial(floor);
    assert!(r.is_fresh(word));
    assert_ne!(word, 0);
    // A check before the floor counts in the floor's windows.
    let (_, after) = r.admit(word, &limits, T, 1).unwrap();
    assert_eq!(after, tally([floor / 60, floor / 10], [1, 1]));
    // A check after it counts at its own time.
    let (_, after) = r.admit(word, &limits, floor + 70, 1).unwrap();
    assert_eq!(after, tally([(floor + 70) / 60, (floor + 70) / 10], [1, 1]));
    // A start whose stamp field would be 0 is moved off the neutral word.
    let wrap = 1u64 << 32;
    let w: u64 = r.initial(wrap);
    assert_ne!(w, 0);
    assert_eq!(r.time(w, wrap), wrap + 1);
    assert_eq!(r.initial::<u64>(0), 0);
}

#[test]
fn ends_and_evictability() {
    let r = read();
    let limits = [1000, 333];
    let word = admitted(&r, 0u64, &limits, T + 15, 1);
    // Live until the minute ends; nothing to free once it has.
    assert_eq!(r.end(word, T + 15), Some(T + 60));
    assert_eq!(r.live_end(word, T + 30), Some(T + 60));
    assert_eq!(r.live_end(word, T + 60), None);
    assert_eq!(r.end(0u64, T), None);
    assert_eq!(r.end(r.initial::<u64>(T), T), None);
    // Evictable only once counted in, and only from a later second.
    assert_eq!(r.evictable(word, T + 15), None);
    assert_eq!(r.evictable(word, T + 16), Some(1));
    assert_eq!(r.evictable(word, T + 30), Some(1));
    assert_eq!(r.evictable(r.initial::<u64>(T), T + 30), None);
    let two = admitted(&r, word, &limits, T + 16, 1);
    assert_eq!(r.evictable(two, T + 17), Some(2));
    // Counts of ended windows are not counted.
    assert_eq!(r.evictable(two, T + 25), Some(2));
    assert_eq!(r.evictable(two, T + 60), Some(0));
}

/// Windows as (index, count), after an admission or as found on a denial.
type Outcome = Result<Vec<(u64, u32)>, Vec<(u64, u32)>>;

/// One (index, count) per window, as the per-window view reads them: the
/// plain model the word must agree with.
#[derive(Debug, Clone)]
struct Model {
    lengths: Vec<u64>,
    state: Vec<Option<(u64, u32)>>,
}

impl Model {
    fn new(spec: &[(u32, u64)]) -> Self {
        Self {
            lengths: spec.iter().map(|&(_, l)| l).collect(),
            state: vec![None; spec.len()],
        }
    }

    fn view(&self, now: u64) -> Vec<(u64, u32)> {
        self.lengths
            .iter()
            .zip(&self.state)
            .map(|(&l, s)| match *s {
                Some((index, count)) if index >= now / l => (index, count),
                _ => (now / l, 0),
            })
            .collect()
    }

    fn admit(&mut self, limits: &[u32], now: u64, cost: u32) -> Outcome {
        let seen = self.view(now);
        if seen
            .iter()
            .zip(limits)
            .any(|(&(_, c), &l)| u64::from(c) + u64::from(cost) > u64::from(l))
        {
            return Err(seen);
        }
        let after: Vec<(u64, u32)> = seen.iter().map(|&(i, c)| (i, c + cost)).collect();
        self.state = after.iter().map(|&p| Some(p)).collect();
        Ok(after)
    }
}

fn class() -> impl Strategy<Value = Vec<(u32, u64)>> {
    prop_oneof![
        Just(vec![(1000, 60), (333, 10)]),
        Just(vec![(60, 60), (20, 10)]),
        Just(vec![(5, 60), (2, 7)]),
        Just(vec![(3, 10)]),
        Just(vec![(9, 3600), (4, 60), (2, 1)]),
        Just(vec![(12, 86_400), (8, 3600), (5, 90), (3, 7)]),
        Just(vec![(u32::MAX, 60), (u32::MAX - 1, 10)]),
    ]
}

/// Time steps: mostly small, forward and back, sometimes across several
/// windows.
fn steps() -> impl Strategy<Value = Vec<(i64, u32)>> {
    prop::collection::vec(
        (
            prop_oneof![6 => -3i64..12, 2 => -120i64..400, 1 => -100_000i64..100_000],
            0u32..4,
        ),
        1..60,
    )
}

proptest! {
    // A few cases under Miri, which runs each about a thousand times
    // slower.
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { ProptestConfig::default().cases },
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_word_agrees_with_a_pair_per_window(spec in class(), steps in steps(), wide in any::<bool>()) {
        let limits: Vec<u32> = spec.iter().map(|&(l, _)| l).collect();
        let width = if wide { Width::Wide } else { Width::Narrow };
        let s = Stamp::new(&windows(&spec), &limits, None, width).unwrap();
        let mut model = Model::new(&spec);
        let mut narrow = 0u64;
        let mut broad = 0u128;
        let mut now = T as i64;
        for (step, cost) in steps {
            now += step;
            let at = u64::try_from(now).unwrap();
            let cost = cost.max(1).min(*limits.iter().min().unwrap());
            let expected = model.admit(&limits, at, cost);
            let got: Outcome = match s.width() {
                Width::Narrow => admit_any(&s, &mut narrow, &limits, at, cost),
                Width::Wide => admit_any(&s, &mut broad, &limits, at, cost),
            };
            prop_assert_eq!(&got, &expected, "at {} cost {}", at, cost);
            let viewed = match s.width() {
                Width::Narrow => view_any(&s, narrow, limits.len(), at),
                Width::Wide => view_any(&s, broad, limits.len(), at),
            };
            prop_assert_eq!(viewed, model.view(at));
        }
    }
}

/// `admit` for a class of any window count, in the model's form.
fn admit_any<B: Bits>(s: &Stamp, word: &mut B, limits: &[u32], now: u64, cost: u32) -> Outcome {
    fn pairs<const N: usize>(t: Tally<N>) -> Vec<(u64, u32)> {
        t.index.into_iter().zip(t.count).collect()
    }
    fn run<B: Bits, const N: usize>(
        s: &Stamp,
        word: &mut B,
        limits: &[u32],
        now: u64,
        cost: u32,
    ) -> Outcome {
        let limits: [u32; N] = limits.try_into().unwrap();
        match s.admit(*word, &limits, now, cost) {
            Ok((next, after)) => {
                *word = next;
                Ok(pairs(after))
            }
            Err(found) => Err(pairs(found)),
        }
    }
    match limits.len() {
        1 => run::<B, 1>(s, word, limits, now, cost),
        2 => run::<B, 2>(s, word, limits, now, cost),
        3 => run::<B, 3>(s, word, limits, now, cost),
        _ => run::<B, 4>(s, word, limits, now, cost),
    }
}

/// `view` for a class of any window count, in the model's form.
fn view_any<B: Bits>(s: &Stamp, word: B, n: usize, now: u64) -> Vec<(u64, u32)> {
    let t: Tally<MAX_WINDOWS> = s.view(word, now);
    t.index.into_iter().zip(t.count).take(n).collect()
}
