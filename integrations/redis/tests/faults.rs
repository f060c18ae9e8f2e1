//! Redis paused (`SIGSTOP`), killed, restarted, its scripts flushed: the
//! limiter answers every check within its timeout under its failure
//! policy, marked degraded, then recovers on its own.
//!
//! The bounds on time here are the behaviour under test (a check never
//! hangs past the timeout), with a wide allowance for a busy machine.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small counts and times: an overflow is a failed test"
)]

use std::time::{Duration, Instant};

use tollgate::{Class, Decision, ManualClock, Outcome, Policy};
use tollgate_redis::{FailurePolicy, RedisLimiter};
use tollgate_test_support::redis::RedisServer;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

const TIMEOUT: Duration = Duration::from_millis(50);
/// What a busy machine may add to a check that gives up at the timeout.
const ALLOWANCE: Duration = Duration::from_millis(400);

async fn limiter(server: &RedisServer, policy: FailurePolicy) -> RedisLimiter<ManualClock> {
    RedisLimiter::builder(Policy::default())
        .url(server.url())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(300))
        .breaker(3, Duration::from_millis(200))
        .on_failure(policy)
        .build()
        .await
        .expect("the limiter connects")
}

/// One check, and how long it took.
async fn timed(limiter: &RedisLimiter<ManualClock>, key: &str) -> (Decision, Duration) {
    let start = Instant::now();
    let d = limiter.check(key, Class::READ).await;
    (d, start.elapsed())
}

/// Checks while Redis is out of reach: each within the timeout, each
/// degraded.
async fn degraded_while_down(limiter: &RedisLimiter<ManualClock>, what: &str) -> Decision {
    let mut last = None;
    for i in 0..10 {
        let (d, took) = timed(limiter, "k").await;
        assert!(took <= TIMEOUT + ALLOWANCE, "{what}, check {i}: {took:?}");
        assert!(d.is_degraded(), "{what}, check {i}: {d:?}");
        last = Some(d);
    }
    assert!(limiter.is_circuit_open(), "{what}");
    last.unwrap()
}

/// Checks until one is decided by Redis again (within 15 seconds), each
/// within the timeout.
async fn recovers(limiter: &RedisLimiter<ManualClock>, what: &str) {
    let start = Instant::now();
    loop {
        let (d, took) = timed(limiter, "k").await;
        assert!(took <= TIMEOUT + ALLOWANCE, "{what}: a check took {took:?}");
        if !d.is_degraded() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what}: no recovery in 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_killed_restarted_flushed() {
    let Some(mut server) = RedisServer::start("paused_killed_restarted_flushed") else {
        return;
    };
    let limiter = limiter(&server, FailurePolicy::Local).await;
    assert!(!limiter.check("k", Class::READ).await.is_degraded());

    server.pause();
    let d = degraded_while_down(&limiter, "paused").await;
    // The in-process limiter decides: per-server limits.
    assert_eq!(d.outcome(), Outcome::Allowed);
    server.resume();
    recovers(&limiter, "resumed").await;

    server.kill();
    degraded_while_down(&limiter, "killed").await;
    server.restart();
    // The restarted server has no scripts: EVAL sends it within a call.
    recovers(&limiter, "restarted").await;

    server.cli(&["script", "flush"]);
    let (d, took) = timed(&limiter, "k").await;
    assert!(
        !d.is_degraded() && took <= TIMEOUT + ALLOWANCE,
        "{d:?} {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_and_deny_while_down() {
    let Some(server) = RedisServer::start("allow_and_deny_while_down") else {
        return;
    };
    let allow = limiter(&server, FailurePolicy::Allow).await;
    let deny = limiter(&server, FailurePolicy::Deny).await;
    server.pause();
    let d = degraded_while_down(&allow, "paused, allow").await;
    assert_eq!(d.outcome(), Outcome::AllowedUntracked);
    assert_eq!((d.limit(), d.remaining()), (1000, 332));
    let d = degraded_while_down(&deny, "paused, deny").await;
    assert_eq!(d.outcome(), Outcome::Denied);
    // The breaker's 200 ms, rounded up.
    assert_eq!(d.retry_after(), Some(1));
    assert!(d.error_body("req_1").is_some());
    server.resume();
    recovers(&allow, "resumed, allow").await;
    recovers(&deny, "resumed, deny").await;
}
