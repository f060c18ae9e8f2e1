//! Decisions through a real redis-server: the worked example, peeks,
//! costs, what a key holds in Redis and when its expiry moves, servers
//! that disagree on a class's windows, one command per decision, a lost
//! script, Redis's clock, and bad input.
//!
//! Each test starts its own server (skipped, with a message, when
//! `redis-server` is not installed outside CI).

use std::time::Duration;

use tollgate::{Class, Limiter, ManualClock, Outcome, Policy};
use tollgate_redis::{Error, RedisLimiter, TimeSource};
use tollgate_test_support::redis::RedisServer;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

async fn limiter(server: &RedisServer, clock: &ManualClock) -> RedisLimiter<ManualClock> {
    RedisLimiter::builder(Policy::default())
        .url(server.url())
        .prefix("t:")
        .clock(clock.clone())
        .build()
        .await
        .expect("the limiter connects")
}

#[tokio::test]
async fn the_worked_example() {
    let Some(server) = RedisServer::start("the_worked_example") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = limiter(&server, &clock).await;
    for n in 1..=20 {
        let d = limiter.check("key_1", Class::WRITE).await;
        assert!(d.is_allowed() && !d.is_degraded(), "{d:?}");
        assert_eq!((d.limit(), d.remaining(), d.reset()), (60, 20 - n, T + 10));
    }
    let d = limiter.check("key_1", Class::WRITE).await;
    assert_eq!(d.outcome(), Outcome::Denied);
    assert_eq!(d.retry_after(), Some(10));
    let w = d.denied_by().unwrap();
    assert_eq!((w.limit(), w.length().as_secs()), (20, 10));
    // Twenty more in each of the next two 10-second windows spend the
    // minute's 60: denied until the minute ends.
    for step in 1..=2 {
        clock.set(Duration::from_secs(T + 10 * step));
        for _ in 0..20 {
            assert!(limiter.check("key_1", Class::WRITE).await.is_allowed());
        }
    }
    let d = limiter.check("key_1", Class::WRITE).await;
    assert_eq!(d.outcome(), Outcome::Denied);
    assert_eq!(d.retry_after(), Some(40));
    let w = d.denied_by().unwrap();
    assert_eq!((w.limit(), w.length().as_secs()), (60, 60));
}

#[tokio::test]
async fn peeks_costs_and_denials_write_nothing() {
    let Some(server) = RedisServer::start("peeks_costs_and_denials_write_nothing") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T + 3));
    let limiter = limiter(&server, &clock).await;
    let core = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .build()
        .unwrap();
    // A peek of a key never seen, a cost too large, a denial: no key.
    let d = limiter.peek("k", Class::WRITE).await;
    assert_eq!(d, core.peek("k", Class::WRITE));
    let d = limiter.check_n("k", Class::WRITE, 21).await;
    assert_eq!(d.outcome(), Outcome::CostTooLarge);
    assert_eq!(d, core.check_n("k", Class::WRITE, 21));
    assert_eq!(server.cli(&["exists", "t:{k}:1"]).trim(), "0");
    // Admitted: one string, the time and each window's length and count,
    // and an expiry past the longest window's end (57 s) plus the margin
    // (60 s).
    let d = limiter.check_n("k", Class::WRITE, 20).await;
    assert_eq!(d, core.check_n("k", Class::WRITE, 20));
    assert_eq!(stored(&server, "t:{k}:1"), [T + 3, 60, 20, 10, 20]);
    let ttl: u64 = server.cli(&["pttl", "t:{k}:1"]).trim().parse().unwrap();
    assert!((116_000..=117_000).contains(&ttl), "{ttl}");
    // A denial and a peek change nothing, the expiry included.
    server.cli(&["pexpire", "t:{k}:1", "500000"]);
    let d = limiter.check("k", Class::WRITE).await;
    assert_eq!(
        (d.outcome(), d),
        (Outcome::Denied, core.check("k", Class::WRITE))
    );
    assert_eq!(
        limiter.peek("k", Class::WRITE).await,
        core.peek("k", Class::WRITE)
    );
    let ttl: u64 = server.cli(&["pttl", "t:{k}:1"]).trim().parse().unwrap();
    assert!(ttl > 490_000, "{ttl}");
    assert_eq!(stored(&server, "t:{k}:1"), [T + 3, 60, 20, 10, 20]);
}

/// What Redis holds under `name`: the time stamp, then each window's
/// length and count.
fn stored(server: &RedisServer, name: &str) -> Vec<u64> {
    const READ: &str = "local v = redis.call('GET', KEYS[1]) \
        local out = {struct.unpack('>I8' .. string.rep('I4', (#v - 8) / 4), v)} \
        out[#out] = nil return out";
    server
        .cli(&["eval", READ, "1", name])
        .lines()
        .map(|l| l.trim().parse().expect("a number"))
        .collect()
}

#[tokio::test]
async fn the_expiry_moves_only_with_a_later_window_end() {
    let Some(server) = RedisServer::start("the_expiry_moves_only_with_a_later_window_end") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T + 3));
    let limiter = limiter(&server, &clock).await;
    let ttl = || -> u64 { server.cli(&["pttl", "t:{k}:1"]).trim().parse().unwrap() };
    assert!(limiter.check("k", Class::WRITE).await.is_allowed());
    assert!((116_000..=117_000).contains(&ttl()), "{}", ttl());
    // Within the same windows, and when the 10 s window opens again
    // within the minute, the expiry stays where it was.
    server.cli(&["pexpire", "t:{k}:1", "500000"]);
    clock.set(Duration::from_secs(T + 5));
    assert!(limiter.check("k", Class::WRITE).await.is_allowed());
    clock.set(Duration::from_secs(T + 12));
    assert!(limiter.check("k", Class::WRITE).await.is_allowed());
    assert!(ttl() > 490_000, "{}", ttl());
    assert_eq!(stored(&server, "t:{k}:1"), [T + 12, 60, 3, 10, 1]);
    // A new minute ends later: 60 s from now, plus the margin.
    clock.set(Duration::from_millis((T + 60) * 1_000 + 400));
    assert!(limiter.check("k", Class::WRITE).await.is_allowed());
    assert!((119_000..=119_600).contains(&ttl()), "{}", ttl());
    assert_eq!(stored(&server, "t:{k}:1"), [T + 60, 60, 1, 10, 1]);
    // A clock behind counts in the newest windows, and moves nothing.
    clock.set(Duration::from_secs(T + 50));
    let d = limiter.check("k", Class::WRITE).await;
    assert_eq!((d.remaining(), d.reset()), (18, T + 70));
    assert_eq!(stored(&server, "t:{k}:1"), [T + 60, 60, 2, 10, 2]);
}

#[tokio::test]
async fn servers_that_disagree_on_windows_share_those_of_one_length() {
    let Some(server) =
        RedisServer::start("servers_that_disagree_on_windows_share_those_of_one_length")
    else {
        return;
    };
    // The reference policy's writes (60 a minute, 20 per 10 s) and a
    // policy whose writes are 60 a minute and 5 per 7 s.
    let other = Policy::from_toml_str(
        "[classes.read]\nmethods=['GET']\nlimit=1000\nwindow='1m'\n\
         [classes.write]\nmethods=['POST']\nwindows=[{limit=60, window='1m'}, {limit=5, window='7s'}]\n",
    )
    .unwrap();
    // 7 s windows start at multiples of 7: T + 5 is one.
    assert_eq!((T + 5) % 7, 0);
    let clock = ManualClock::new(Duration::from_secs(T + 5));
    let a = limiter(&server, &clock).await;
    let b = RedisLimiter::builder(other)
        .url(server.url())
        .prefix("t:")
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    assert!(a.check_n("k", Class::WRITE, 3).await.is_allowed());
    assert_eq!(stored(&server, "t:{k}:1"), [T + 5, 60, 3, 10, 3]);
    // The minute is shared; B's 7 s window starts, A's 10 s window stays.
    let d = b.check_n("k", Class::WRITE, 2).await;
    assert_eq!((d.remaining(), d.limit()), (3, 60));
    assert_eq!(stored(&server, "t:{k}:1"), [T + 5, 60, 5, 7, 2, 10, 3]);
    let d = a.check("k", Class::WRITE).await;
    assert_eq!(d.remaining(), 16);
    assert_eq!(stored(&server, "t:{k}:1"), [T + 5, 60, 6, 10, 4, 7, 2]);
    // A window of another length that has ended is dropped.
    clock.set(Duration::from_secs(T + 12));
    let d = a.check("k", Class::WRITE).await;
    assert_eq!(d.remaining(), 19);
    assert_eq!(stored(&server, "t:{k}:1"), [T + 12, 60, 7, 10, 1]);
    // A value of no state's size is an error.
    server.cli(&["set", "t:{x}:1", "12345678abc"]);
    let e = a
        .try_check_n_at("x", Class::WRITE, 1, Duration::from_secs(T))
        .await;
    assert!(matches!(e, Err(Error::Redis(_))), "{e:?}");
}

#[tokio::test]
async fn one_command_per_decision() {
    let Some(server) = RedisServer::start("one_command_per_decision") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = limiter(&server, &clock).await;
    server.cli(&["config", "resetstat"]);
    for i in 0..100 {
        limiter.check(&format!("key_{}", i % 7), Class::READ).await;
        limiter.peek("key_1", Class::WRITE).await;
    }
    let stats = server.cli(&["info", "commandstats"]);
    let calls = |name: &str| -> u64 {
        stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .and_then(|l| l.split("calls=").nth(1))
            .and_then(|s| s.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    assert_eq!(calls("evalsha"), 200, "{stats}");
    assert_eq!(calls("eval"), 0, "{stats}");
}

#[tokio::test]
async fn a_flushed_script_is_sent_again_in_the_same_call() {
    let Some(server) = RedisServer::start("a_flushed_script_is_sent_again_in_the_same_call") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = limiter(&server, &clock).await;
    assert!(limiter.check("k", Class::WRITE).await.is_allowed());
    server.cli(&["script", "flush"]);
    let d = limiter.check("k", Class::WRITE).await;
    assert!(!d.is_degraded());
    assert_eq!(d.remaining(), 18);
    // EVAL loaded it again: the next call finds it.
    server.cli(&["config", "resetstat"]);
    limiter.check("k", Class::WRITE).await;
    let stats = server.cli(&["info", "commandstats"]);
    assert!(stats.contains("cmdstat_evalsha:calls=1,"), "{stats}");
    let t = limiter
        .try_check_n_at("k", Class::WRITE, 1, Duration::from_secs(T))
        .await
        .unwrap();
    assert_eq!(t.remaining(), 16);
}

#[tokio::test]
async fn redis_time() {
    let Some(server) = RedisServer::start("redis_time") else {
        return;
    };
    // The limiter's clock is a year off: Redis's clock sets the windows.
    let clock = ManualClock::new(Duration::from_secs(T - 31_536_000));
    let limiter = RedisLimiter::builder(Policy::default())
        .url(server.url())
        .clock(clock)
        .time(TimeSource::Redis)
        .build()
        .await
        .unwrap();
    let d = limiter.check("k", Class::WRITE).await;
    let time = server.cli(&["time"]);
    let redis_now: u64 = time.lines().next().unwrap().parse().unwrap();
    assert!(d.is_allowed());
    assert!(
        d.now().abs_diff(redis_now) <= 2,
        "{} vs {redis_now}",
        d.now()
    );
    assert_eq!(d.reset(), (d.now() / 10 + 1) * 10);
    // An explicit time is used as given.
    let d = limiter
        .check_at("k2", Class::WRITE, Duration::from_secs(T))
        .await;
    assert_eq!((d.now(), d.reset()), (T, T + 10));
}

#[tokio::test]
async fn bad_input_is_an_error_or_a_degraded_decision() {
    let Some(server) = RedisServer::start("bad_input_is_an_error_or_a_degraded_decision") else {
        return;
    };
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = RedisLimiter::builder(Policy::default())
        .url(server.url())
        .clock(clock.clone())
        .max_key_len(8)
        .build()
        .await
        .unwrap();
    let long = "k".repeat(9);
    let d = limiter.check(&long, Class::WRITE).await;
    assert!(d.is_allowed() && d.is_degraded());
    let e = limiter
        .try_check_n_at(&long, Class::WRITE, 1, Duration::from_secs(T))
        .await;
    assert!(
        matches!(e, Err(Error::KeyTooLong { len: 9, max: 8 })),
        "{e:?}"
    );
    // Binary keys are fine.
    let binary: &[u8] = b"\x00{}\xff";
    assert!(!limiter.check(binary, Class::WRITE).await.is_degraded());
    // A time past 2^53 ms.
    let far = Duration::from_secs(u64::MAX / 1000);
    let d = limiter.check_at("k", Class::WRITE, far).await;
    assert!(d.is_degraded());
    let e = limiter.try_check_n_at("k", Class::WRITE, 1, far).await;
    assert!(matches!(e, Err(Error::TimeOutOfRange)), "{e:?}");
    // An unknown class: no Redis, not degraded.
    let other = Policy::from_toml_str(
        "[classes.a]\nmethods=['GET']\nlimit=1\nwindow='1s'\n[classes.b]\nmethods=['POST']\nlimit=1\nwindow='1s'\n[classes.c]\nmethods=['PUT']\nlimit=1\nwindow='1s'\n",
    )
    .unwrap();
    let unknown = other.class("c").unwrap();
    let d = limiter.check("k", unknown).await;
    assert_eq!(
        (d.outcome(), d.is_degraded()),
        (Outcome::UnknownClass, false)
    );
    // Another program's value under the key: an error, then the failure
    // policy.
    server.cli(&["set", "t:{wrong}:1", "x"]);
    let limiter = RedisLimiter::builder(Policy::default())
        .url(server.url())
        .prefix("t:")
        .clock(clock)
        .build()
        .await
        .unwrap();
    let e = limiter
        .try_check_n_at("wrong", Class::WRITE, 1, Duration::from_secs(T))
        .await;
    assert!(matches!(e, Err(Error::Redis(_))), "{e:?}");
    assert!(limiter.check("wrong", Class::WRITE).await.is_degraded());
}

#[tokio::test]
async fn a_bad_prefix_or_no_server_is_a_build_error() {
    let e = RedisLimiter::builder(Policy::default())
        .prefix("a{b")
        .url("redis://127.0.0.1:1")
        .build()
        .await;
    assert!(
        matches!(e, Err(tollgate_redis::BuildError::Prefix)),
        "{e:?}"
    );
    let e = RedisLimiter::builder(Policy::default()).build().await;
    assert!(
        matches!(e, Err(tollgate_redis::BuildError::NoServer)),
        "{e:?}"
    );
    // Nothing listens on port 1.
    let e = RedisLimiter::builder(Policy::default())
        .url("redis://127.0.0.1:1")
        .connect_timeout(Duration::from_millis(200))
        .build()
        .await;
    assert!(e.is_err());
}
