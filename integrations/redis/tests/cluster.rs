//! Redis Cluster: three primaries and three replicas on loopback ports.
//! Decisions route by the API key's hash tag (every class of a key in the
//! slot of its tag, on that slot's primary), and a `CLUSTER FAILOVER`
//! during a run is survived: no count is lost, and decisions come from
//! Redis again once the cluster has its new primary.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small counts and times: an overflow is a failed test"
)]

use std::time::{Duration, Instant};

use tollgate::{Class, ManualClock, Policy};
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::{cli, RedisCluster};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_hash_tag_and_survives_a_failover() {
    let Some(cluster) = RedisCluster::start("redis_cluster") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T + 1));
    let limiter = RedisLimiter::builder(Policy::default())
        .cluster(cluster.urls())
        .prefix("cl:")
        .clock(clock.clone())
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .expect("the limiter connects to the cluster");

    // Keys in every slot range: each class of a key on its tag's primary.
    let seed = cluster.nodes()[0].port();
    for i in 0..30 {
        let key = format!("key_{i}");
        for class in [Class::READ, Class::WRITE] {
            let d = limiter.check(&key, class).await;
            assert!(d.is_allowed() && !d.is_degraded(), "{key}: {d:?}");
        }
        let slot: u16 = cli(seed, &["cluster", "keyslot", &key])
            .trim()
            .parse()
            .unwrap();
        let (primary, _) = cluster.owners(slot);
        for class in ["0", "1"] {
            let name = format!("cl:{{{key}}}:{class}");
            assert_eq!(cli(primary, &["exists", &name]).trim(), "1", "{name}");
            let tag_slot: u16 = cli(seed, &["cluster", "keyslot", &name])
                .trim()
                .parse()
                .unwrap();
            assert_eq!(tag_slot, slot);
        }
    }

    // A failover of the primary of "failing"'s slot, during a run of
    // writes (20 per 10 seconds at one time: 20 admitted in all).
    let slot: u16 = cli(seed, &["cluster", "keyslot", "failing"])
        .trim()
        .parse()
        .unwrap();
    let (primary, replica) = cluster.owners(slot);
    let mut admitted = 0;
    let mut degraded = 0;
    for i in 0..40 {
        if i == 8 {
            let out = cli(replica, &["cluster", "failover"]);
            assert!(out.contains("OK"), "{out}");
        }
        let d = limiter.check("failing", Class::WRITE).await;
        if d.is_degraded() {
            degraded += 1;
        } else if d.is_allowed() {
            admitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The replica took over the slot, and the old primary follows it (it
    // learns so from the cluster bus, a moment after the replica's
    // promotion).
    let start = Instant::now();
    while !(cli(replica, &["role"]).starts_with("master")
        && cli(primary, &["role"]).starts_with("slave"))
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no failover");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Decided by Redis again, and nothing was lost: the new primary holds
    // every write Redis admitted (a manual failover waits for the replica
    // to catch up).
    let start = Instant::now();
    let peek = loop {
        let d = limiter.peek("failing", Class::WRITE).await;
        if !d.is_degraded() {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Every write Redis admitted is still counted on the new primary; a
    // check that timed out during the failover may have been counted
    // without its client hearing so (the failure policy answered), never
    // the other way round.
    let counted = 20 - u64::from(peek.remaining());
    assert!(
        admitted <= counted && counted <= 20,
        "{admitted} admitted, {counted} counted, {degraded} degraded"
    );
    // The state: the time, then the minute's length and count, then the
    // 10 s window's.
    const READ: &str = "local v = redis.call('GET', KEYS[1]) \
        return {struct.unpack('>I8I4I4I4I4', v)}";
    let state: Vec<u64> = cli(replica, &["eval", READ, "1", "cl:{failing}:1"])
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(state[..5], [T + 1, 60, counted, 10, counted]);
    // And it goes on counting there: what is left is admitted, no more.
    let mut more = 0;
    while limiter.check("failing", Class::WRITE).await.is_allowed() {
        more += 1;
        assert!(more <= 20);
    }
    assert_eq!(counted + more, 20);
}
