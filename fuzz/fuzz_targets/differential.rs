//! Differential operation sequences: arbitrary checks, peeks, clock moves
//! and override changes, replayed against the limiter and the sequential
//! reference model of `tollgate-test-support`, with every decision
//! compared at every step (the harness panics on the first difference).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tollgate::OnFull;
use tollgate_test_support::model::{policies, Config, Harness, Op};

#[derive(Debug, Arbitrary)]
struct Input {
    policy: u8,
    capacity: u8,
    override_capacity: u8,
    allow_when_full: bool,
    seed: u64,
    start_ms: u32,
    wide: bool,
    evict_at_most: u8,
    ops: Vec<FuzzOp>,
}

#[derive(Debug, Arbitrary)]
enum FuzzOp {
    Check {
        key: u8,
        class: u8,
        cost: u32,
    },
    SmallCheck {
        key: u8,
        class: u8,
        cost: u8,
    },
    Peek {
        key: u8,
        class: u8,
    },
    Advance(u16),
    Jump(u32),
    Rewind(u16),
    SetOverride {
        key: u8,
        class: u8,
        limits: Vec<u32>,
    },
    RemoveOverride {
        key: u8,
        class: u8,
    },
}

impl FuzzOp {
    fn op(&self) -> Op {
        // Few keys and classes, so that limits are reached and the table
        // fills; one class index past every policy's last is unknown.
        let key = |k: u8| u32::from(k % 32);
        let class = |c: u8| usize::from(c % 4);
        match *self {
            FuzzOp::Check {
                key: k,
                class: c,
                cost,
            } => Op::Check {
                key: key(k),
                class: class(c),
                cost,
            },
            FuzzOp::SmallCheck {
                key: k,
                class: c,
                cost,
            } => Op::Check {
                key: key(k),
                class: class(c),
                cost: u32::from(cost % 8),
            },
            FuzzOp::Peek { key: k, class: c } => Op::Peek {
                key: key(k),
                class: class(c),
            },
            FuzzOp::Advance(ms) => Op::Advance(u64::from(ms)),
            // Up to ~50 days forward: far inside the counters' horizon.
            FuzzOp::Jump(ms) => Op::Advance(u64::from(ms)),
            FuzzOp::Rewind(ms) => Op::Rewind(u64::from(ms) * 100),
            FuzzOp::SetOverride {
                key: k,
                class: c,
                ref limits,
            } => Op::SetOverride {
                key: key(k),
                class: class(c),
                limits: limits.iter().take(5).copied().collect(),
            },
            FuzzOp::RemoveOverride { key: k, class: c } => Op::RemoveOverride {
                key: key(k),
                class: class(c),
            },
        }
    }
}

fuzz_target!(|input: Input| {
    let config = Config {
        policy: usize::from(input.policy) % policies().len(),
        capacity: usize::from(input.capacity % 48).max(1),
        override_capacity: usize::from(input.override_capacity % 5),
        on_full: if input.allow_when_full {
            OnFull::Allow
        } else {
            OnFull::Deny
        },
        seed: input.seed,
        start_ms: u64::from(input.start_ms),
        wide: input.wide,
        evict_at_most: u32::from(input.evict_at_most % 4),
    };
    let mut harness = Harness::new(&config);
    for op in input.ops.iter().take(512) {
        harness.apply(&op.op());
    }
});
