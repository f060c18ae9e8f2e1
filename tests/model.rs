//! Single-threaded use behaves exactly like the sequential reference model
//! of a check (`tollgate-test-support`'s `model`): random sequences of checks,
//! peeks, clock moves and override changes, with every field of every
//! decision compared.
//!
//! Sequences are biased the way real traffic and real clocks are: mostly
//! small steps forward, a few large jumps, and a few steps back (NTP
//! corrections, lagging threads); few keys most of the time so that limits
//! are reached, and more keys than the table holds so that states are
//! reclaimed and the table fills. Costs run from 0 (a peek) to one past
//! the largest limit. See the support module for the two places where the
//! bounded limiter legitimately differs from an unbounded model and how
//! the model accounts for them.
//!
//! 10,000 cases in CI (`ci/model.sh` sets `PROPTEST_CASES`); 256 by default.

use proptest::prelude::*;
use tollgate::OnFull;
use tollgate_test_support::model::{policies, Config, Harness, Op};

fn config() -> impl Strategy<Value = Config> {
    (
        0..policies().len(),
        prop_oneof![3 => 1usize..=12, 1 => Just(40usize)],
        0usize..4,
        any::<bool>(),
        any::<u64>(),
        0u64..120_000,
        any::<bool>(),
        prop_oneof![1 => Just(0u32), 3 => Just(1u32), 1 => 2u32..=4],
    )
        .prop_map(
            |(policy, capacity, override_capacity, allow, seed, start_ms, wide, evict_at_most)| {
                Config {
                    policy,
                    capacity,
                    override_capacity,
                    on_full: if allow { OnFull::Allow } else { OnFull::Deny },
                    seed,
                    start_ms,
                    wide,
                    evict_at_most,
                }
            },
        )
}

fn key() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..3, 1 => 0u32..24]
}

/// A class index: mostly the policy's, sometimes one it lacks.
fn class() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0usize..2, 1 => 0usize..4]
}

/// Costs from 0 to one past the largest limit of the policies' windows.
fn cost() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => Just(1u32),
        3 => 0u32..=7,
        1 => prop_oneof![Just(332u32), Just(333), Just(334), Just(999), Just(1000), Just(1001)],
        1 => prop_oneof![Just(u32::MAX - 1), Just(u32::MAX)],
    ]
}

fn limits() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(
        prop_oneof![6 => 1u32..=8, 1 => Just(0u32), 1 => any::<u32>()],
        0..=4,
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (key(), class(), cost()).prop_map(|(key, class, cost)| Op::Check { key, class, cost }),
        4 => (key(), class()).prop_map(|(key, class)| Op::Peek { key, class }),
        12 => (0u64..3_000).prop_map(Op::Advance),
        1 => (60_000u64..100_000_000).prop_map(Op::Advance),
        2 => (0u64..30_000).prop_map(Op::Rewind),
        1 => (30_000u64..7_200_000).prop_map(Op::Rewind),
        2 => (key(), class(), limits()).prop_map(|(key, class, limits)| Op::SetOverride { key, class, limits }),
        1 => (key(), class()).prop_map(|(key, class)| Op::RemoveOverride { key, class }),
    ]
}

/// Operations per sequence: a few under Miri, which runs a case about a
/// thousand times slower.
const OPS: usize = if cfg!(miri) { 30 } else { 200 };

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { ProptestConfig::default().cases },
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_limiter_agrees_with_the_model(config in config(), ops in prop::collection::vec(op(), 1..OPS)) {
        let mut harness = Harness::new(&config);
        for op in &ops {
            harness.apply(op);
        }
    }
}
