//! The differential test: random sequences of checks, peeks, costs,
//! overrides and times stepping forward and back, through the core
//! `Limiter` and a `RedisLimiter` on one `ManualClock`, give identical
//! decisions, every field.
//!
//! The core limiter's table is far larger than the keys used, so that
//! its capacity (a full table, reclaimed slots) never shows: Redis has no
//! such limit. 1,000 cases by default (`PROPTEST_CASES` sets another
//! number); each case gets limiters of its own, under a prefix of its own.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tollgate::{Class, Limiter, ManualClock, Policy};
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::RedisServer;

/// Five classes, one script each for one to four windows: the reference
/// policy's two (with a policy override), three windows that do not
/// nest, one short window alone, and four windows.
const POLICY: &str = r#"
[classes.read]
methods = ["GET"]
limit = 1000
window = "1m"
burst = { multiplier = 2, window = "10s" }

[classes.write]
methods = ["POST"]
limit = 60
window = "1m"
burst = { multiplier = 2, window = "10s" }

[classes.bulk]
methods = ["PUT"]
windows = [{ limit = 50, window = "1h" }, { limit = 12, window = "1m" }, { limit = 4, window = "7s" }]

[classes.single]
methods = ["DELETE"]
limit = 5
window = "3s"

[classes.quad]
methods = ["PATCH"]
windows = [{ limit = 40, window = "1h" }, { limit = 20, window = "5m" }, { limit = 9, window = "1m" }, { limit = 3, window = "4s" }]

[[overrides]]
key = "k0"
class = "write"
limit = 30
"#;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

const KEYS: [&str; 4] = ["k0", "k1", "k2", "k3"];

#[derive(Debug, Clone)]
enum Op {
    Check { key: usize, class: u8, cost: u32 },
    Peek { key: usize, class: u8 },
    Advance { millis: u64 },
    Back { secs: u64 },
    Jump { secs: u64 },
    Override { key: usize, class: u8, limit: u32 },
    Remove { key: usize, class: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let class = 0u8..5;
    let cost = prop_oneof![
        8 => Just(1u32),
        2 => 2u32..7,
        1 => Just(0u32),
        1 => 13u32..70,
    ];
    prop_oneof![
        40 => (key.clone(), class.clone(), cost).prop_map(|(key, class, cost)| Op::Check { key, class, cost }),
        4 => (key.clone(), class.clone()).prop_map(|(key, class)| Op::Peek { key, class }),
        12 => (0u64..3_000).prop_map(|millis| Op::Advance { millis }),
        2 => (1u64..40).prop_map(|secs| Op::Back { secs }),
        1 => (60u64..7_200).prop_map(|secs| Op::Jump { secs }),
        2 => (key.clone(), class.clone(), 1u32..40).prop_map(|(key, class, limit)| Op::Override { key, class, limit }),
        1 => (key, class).prop_map(|(key, class)| Op::Remove { key, class }),
    ]
}

fn class(policy: &Policy, index: u8) -> Class {
    policy
        .classes()
        .nth(usize::from(index))
        .map(|(c, _)| c)
        .unwrap()
}

async fn run(server: &RedisServer, case: u64, start: u64, ops: &[Op]) -> Result<(), String> {
    let policy = Policy::from_toml_str(POLICY).unwrap();
    let clock = ManualClock::new(Duration::from_millis(start));
    let core = Limiter::builder(policy.clone())
        .clock(clock.clone())
        .capacity(4_096)
        .build()
        .unwrap();
    let redis = RedisLimiter::builder(policy.clone())
        .url(server.url())
        .prefix(format!("m{case}:"))
        .clock(clock.clone())
        .timeout(Duration::from_secs(5))
        .build()
        .await
        .map_err(|e| e.to_string())?;
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Check {
                key,
                class: c,
                cost,
            } => {
                let c = class(&policy, c);
                let expected = core.check_n(KEYS[key], c, cost);
                let got = redis.check_n(KEYS[key], c, cost).await;
                if expected != got {
                    return Err(format!("op {i} {op:?}:\n core {expected:?}\nredis {got:?}"));
                }
            }
            Op::Peek { key, class: c } => {
                let c = class(&policy, c);
                let expected = core.peek(KEYS[key], c);
                let got = redis.peek(KEYS[key], c).await;
                if expected != got {
                    return Err(format!("op {i} {op:?}:\n core {expected:?}\nredis {got:?}"));
                }
            }
            Op::Advance { millis } => clock.advance(Duration::from_millis(millis)),
            Op::Back { secs } => {
                let now = clock.now_duration();
                clock.set(now.saturating_sub(Duration::from_secs(secs)));
            }
            Op::Jump { secs } => clock.advance(Duration::from_secs(secs)),
            Op::Override {
                key,
                class: c,
                limit,
            } => {
                let c = class(&policy, c);
                let a = core.set_override(KEYS[key], c, limit);
                let b = redis.set_override(KEYS[key], c, limit);
                if a != b {
                    return Err(format!("op {i} {op:?}: core {a:?}, redis {b:?}"));
                }
            }
            Op::Remove { key, class: c } => {
                let c = class(&policy, c);
                let a = core.remove_override(KEYS[key], c);
                let b = redis.remove_override(KEYS[key], c);
                if a != b {
                    return Err(format!("op {i} {op:?}: core {a}, redis {b}"));
                }
            }
        }
    }
    Ok(())
}

/// `ManualClock`'s time as a `Duration`.
trait Now {
    fn now_duration(&self) -> Duration;
}

impl Now for ManualClock {
    fn now_duration(&self) -> Duration {
        tollgate::Clock::now(self)
    }
}

#[test]
fn redis_decides_as_the_core_does() {
    let Some(server) = RedisServer::start("redis_decides_as_the_core_does") else {
        return;
    };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU64::new(0);
    let strategy = (0u64..120_000, prop::collection::vec(op(), 1..80));
    runner
        .run(&strategy, |(offset, ops)| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(run(&server, n, T * 1_000 + offset, &ops))
                .map_err(TestCaseError::fail)
        })
        .unwrap();
}
