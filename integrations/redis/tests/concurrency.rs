//! Many checks of one key at once: 64 tasks over several connections, and
//! two OS processes, admit exactly the limit between them; in lease mode,
//! never more, and at most `N * L` less per shortest window.
//!
//! Every check is at one fixed time (a `ManualClock`), so the limit is the
//! burst window's, whatever the machine's speed.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small counts and times: an overflow is a failed test"
)]

use std::process::Command;
use std::time::Duration;

use tollgate::{Class, ManualClock, Policy};
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::RedisServer;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// Writes: 60 a minute, 20 per 10 seconds.
const WRITE_LIMIT: u64 = 20;

async fn limiter(url: &str, clock: &ManualClock, lease: Option<u32>) -> RedisLimiter<ManualClock> {
    RedisLimiter::builder(Policy::default())
        .url(url)
        .prefix("c:")
        .clock(clock.clone())
        // Generous: the machine has two cores for 64 tasks.
        .timeout(Duration::from_secs(5))
        .lease(lease)
        .build()
        .await
        .expect("the limiter connects")
}

/// `tasks` tasks spread over `limiters`, each checking `key` `checks`
/// times; the admitted count, and whether any decision was degraded.
async fn hammer(
    limiters: &[RedisLimiter<ManualClock>],
    key: &str,
    class: Class,
    tasks: usize,
    checks: usize,
) -> (u64, bool) {
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let limiter = limiters[t % limiters.len()].clone();
            let key = key.to_owned();
            tokio::spawn(async move {
                let mut admitted = 0u64;
                let mut degraded = false;
                for _ in 0..checks {
                    let d = limiter.check(&key, class).await;
                    degraded |= d.is_degraded();
                    admitted += u64::from(d.is_allowed());
                }
                (admitted, degraded)
            })
        })
        .collect();
    let mut total = (0, false);
    for h in handles {
        let (a, d) = h.await.unwrap();
        total = (total.0 + a, total.1 | d);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_over_four_connections_admit_exactly_the_limit() {
    let Some(server) = RedisServer::start("sixty_four_tasks") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T + 3));
    let mut limiters = Vec::new();
    for _ in 0..4 {
        limiters.push(limiter(&server.url(), &clock, None).await);
    }
    let (admitted, degraded) = hammer(&limiters, "one_key", Class::WRITE, 64, 4).await;
    assert!(!degraded);
    assert_eq!(admitted, WRITE_LIMIT);
    // Reads: 333 per 10 seconds, from 64 * 8 = 512 tries.
    let (admitted, degraded) = hammer(&limiters, "one_key", Class::READ, 64, 8).await;
    assert!(!degraded);
    assert_eq!(admitted, 333);
}

/// The child's side of the two-process test: checks as its parent says
/// and prints how many were admitted.
async fn child(url: &str, checks: usize) {
    let clock = ManualClock::new(Duration::from_secs(T + 3));
    let limiters = [limiter(url, &clock, None).await];
    // Both processes connected before either checks, so that their checks
    // overlap.
    let ready: u64 = limiters[0]
        .command(redis::cmd("INCR").arg("two_processes:ready"))
        .await
        .unwrap();
    let mut seen = ready;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
        seen = limiters[0]
            .command(redis::cmd("GET").arg("two_processes:ready"))
            .await
            .unwrap();
    }
    let (admitted, degraded) = hammer(&limiters, "two_processes", Class::READ, 16, checks).await;
    println!("admitted={admitted} degraded={degraded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_admit_exactly_the_limit() {
    if let Ok(url) = std::env::var("TOLLGATE_REDIS_CHILD") {
        child(&url, CHILD_CHECKS).await;
        return;
    }
    let Some(server) = RedisServer::start("two_processes") else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "two_processes_admit_exactly_the_limit",
                    "--nocapture",
                ])
                .env("TOLLGATE_REDIS_CHILD", server.url())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut admitted = 0u64;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("admitted="))
            .unwrap_or_else(|| panic!("no count in {text}"));
        assert!(line.ends_with("degraded=false"), "{line}");
        let n: u64 = line["admitted=".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Each tries 16 * 13 = 208 reads of the 333 per 10 seconds: the
        // other leaves it at least 333 - 208, whoever goes first.
        assert!(n >= 333 - 16 * CHILD_CHECKS as u64, "{line}");
        admitted += n;
    }
    // 2 * 208 tries; reads: 333 per 10 seconds between them.
    assert_eq!(admitted, 333);
}

/// Checks by each of the 16 tasks of each process.
const CHILD_CHECKS: usize = 13;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_never_over_admit_and_under_admit_at_most_n_l_per_window() {
    let Some(server) = RedisServer::start("leases") else {
        return;
    };
    const SERVERS: u64 = 4;
    const L: u32 = 16;
    let clock = ManualClock::new(Duration::from_secs(T));
    let mut limiters = Vec::new();
    for _ in 0..SERVERS {
        limiters.push(limiter(&server.url(), &clock, Some(L)).await);
    }
    // Reads: 1000 a minute, 333 per 10 seconds. Six 10-second windows
    // of one minute, then the next minute's first. What a window has
    // room for is what Redis has left at its start (units leased and lost
    // in earlier windows count against the minute).
    let mut under = Vec::new();
    let mut minute = 0;
    for window in 0..7u64 {
        clock.set(Duration::from_secs(T + 10 * window + 1));
        let room = u64::from(limiters[0].peek("leased", Class::READ).await.remaining());
        let (admitted, degraded) = hammer(&limiters, "leased", Class::READ, 64, 8).await;
        assert!(!degraded);
        assert!(admitted <= room, "window {window}: {admitted} > {room}");
        assert!(
            room - admitted <= SERVERS * u64::from(L),
            "window {window}: {admitted} of {room}"
        );
        under.push(room - admitted);
        minute = if window == 6 {
            admitted
        } else {
            minute + admitted
        };
        assert!(minute <= 1000);
    }
    println!("lease mode, {SERVERS} servers, L = {L}: under-admission per window {under:?}");
}
