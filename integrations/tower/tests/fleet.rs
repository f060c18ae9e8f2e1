//! Two API server processes on one Redis: writes of one key alternating
//! between them are admitted exactly 20 per 10 seconds (the reference
//! policy's burst), and `X-RateLimit-Remaining` counts down across both.
//!
//! And a Redis that fails under the layer: never a 5xx.
//!
//! The servers are this test program run again as fleet servers (see
//! `examples/support/fleet.rs`), each with its own `RedisLimiter` on the
//! system clock. The test starts at the beginning of a 10-second window,
//! waiting for the next one when less than 7 seconds are left.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small counts and times"
)]

#[path = "../examples/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::app;
use support::client::{Connection, CREATE};
use support::fleet::{self, Server};
use tollgate::Policy;
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::RedisServer;
use tollgate_tower::TollgateLayer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_limit() {
    fleet::serve_if_asked().await;
    let Some(redis) = RedisServer::start("two_servers_share_one_limit") else {
        return;
    };
    let args = ["--exact", "two_servers_share_one_limit", "--nocapture"];
    let a = Server::start(&redis.url(), "fleet:", &args).unwrap();
    let b = Server::start(&redis.url(), "fleet:", &args).unwrap();
    let mut conns = [
        Connection::open(a.addr).await.unwrap(),
        Connection::open(b.addr).await.unwrap(),
    ];

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = 10_000 - u64::try_from(now.as_millis() % 10_000).unwrap();
    if left < 7_000 {
        tokio::time::sleep(Duration::from_millis(left + 50)).await;
    }
    let auth = [("authorization", "Bearer key_fleet")];
    let mut admitted = 0;
    for i in 0..30u32 {
        let conn = &mut conns[(i % 2) as usize];
        let r = conn.send(CREATE.method, CREATE.path, &auth).await.unwrap();
        let field = |name: &str| {
            r.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        if i < 20 {
            assert_eq!(r.status, 201, "write {i}");
            assert_eq!(
                field("x-ratelimit-remaining"),
                (19 - i).to_string(),
                "write {i}"
            );
            assert_eq!(field("x-ratelimit-limit"), "60");
            admitted += 1;
        } else {
            assert_eq!(r.status, 429, "write {i}");
            assert_eq!(field("x-ratelimit-remaining"), "0");
            let retry: u64 = field("retry-after").parse().unwrap();
            assert!((1..=10).contains(&retry), "{retry}");
            assert!(String::from_utf8_lossy(&r.body)
                .contains(r#""details":{"limit":20,"window":"10s"}"#));
        }
    }
    assert_eq!(admitted, 20);
}

/// Redis paused, then gone: the layer answers within the limiter's
/// timeout from its failure policy (the server's own limits), never with
/// a 5xx, and comes back to Redis on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_failure_is_never_a_5xx() {
    let Some(mut redis) = RedisServer::start("a_redis_failure_is_never_a_5xx") else {
        return;
    };
    let limiter = RedisLimiter::builder(Policy::default())
        .url(redis.url())
        .prefix("down:")
        .timeout(Duration::from_millis(50))
        .connect_timeout(Duration::from_millis(300))
        .breaker(3, Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let layer = TollgateLayer::decided_by(Arc::new(limiter))
        .inner_body()
        .build();
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();
    read(&mut conn, "up").await;
    redis.pause();
    for _ in 0..5 {
        read(&mut conn, "paused").await;
    }
    redis.resume();
    redis.kill();
    for _ in 0..5 {
        read(&mut conn, "killed").await;
    }
    redis.restart();
    tokio::time::sleep(Duration::from_millis(300)).await;
    read(&mut conn, "restarted").await;
}

/// One read of `key_down`: a 200 with the fields, within half a second.
async fn read(conn: &mut Connection, what: &str) {
    let start = Instant::now();
    let auth = [("authorization", "Bearer key_down")];
    let r = conn.send("GET", "/v1/companies", &auth).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(500), "{what}");
    assert_eq!(r.status, 200, "{what}");
    assert_eq!(r.headers["x-ratelimit-limit"], "1000", "{what}");
}

/// The layer's settings hold for a limiter that decides later: a typed
/// key from a closure, a cost from a closure, the decision in the
/// extensions, and the rejection hook, with the fields on its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_hold_for_a_redis_limiter() {
    use axum::routing::post;
    use axum::{Extension, Router};
    use tollgate::Decision;

    let Some(redis) = RedisServer::start("settings_hold_for_a_redis_limiter") else {
        return;
    };
    let limiter = RedisLimiter::builder(Policy::default())
        .url(redis.url())
        .prefix("settings:")
        .build()
        .await
        .unwrap();
    let layer = TollgateLayer::decided_by(Arc::new(limiter))
        .key_by(|request| {
            let user = request.headers().get("x-user")?;
            user.to_str().ok()?.parse::<u64>().ok()
        })
        .cost_by(|_| 5)
        .decision_extension(true)
        .on_rejection(|rejection| {
            let mut response = rejection.into_response();
            response
                .headers_mut()
                .insert("x-hook", http::HeaderValue::from_static("1"));
            response
        })
        .build();
    let routes = Router::new().route(
        "/v1/batch",
        post(|Extension(d): Extension<Decision>| async move { d.remaining().to_string() }),
    );
    let addr = app::spawn(routes.layer(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = 10_000 - u64::try_from(now.as_millis() % 10_000).unwrap();
    if left < 5_000 {
        tokio::time::sleep(Duration::from_millis(left + 50)).await;
    }
    let user = [("x-user", "42")];
    for remaining in [15, 10, 5, 0] {
        let r = conn.send("POST", "/v1/batch", &user).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, remaining.to_string());
        assert_eq!(r.headers["x-ratelimit-remaining"], remaining.to_string());
    }
    let r = conn.send("POST", "/v1/batch", &user).await.unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["x-hook"], "1");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("retry-after"));
    // Another user is another key.
    let r = conn
        .send("POST", "/v1/batch", &[("x-user", "7")])
        .await
        .unwrap();
    assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"15"[..]));
    // No user: no key.
    let r = conn.send("POST", "/v1/batch", &[]).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["x-hook"], "1");
}
