//! End to end over loopback sockets: the example API behind the layer,
//! served by axum on an ephemeral port, called by hyper's HTTP/1.1 client
//! (and by hand-written bytes where a client would refuse to send them).
//!
//! Time comes from a `ManualClock` in the server's limiter, so nothing
//! sleeps and no assertion depends on how fast the machine is. Checked:
//!
//! - every field of admitted and denied requests, and the 429
//!   body field by field, request id included;
//! - `Retry-After` honoured: the retry is admitted exactly then, and
//!   denied one second earlier;
//! - the worked example's minute limit after three bursts;
//! - 64 concurrent connections on one key admit exactly the burst limit
//!   per window, and nothing once the minute is spent;
//! - keys and classes are independent; overrides apply;
//! - missing, empty, garbage, over-long, doubled and non-UTF-8 keys, and
//!   methods outside the policy, get their defined answers;
//! - the IETF fields and the peer-address fallback, when enabled;
//! - a full limiter table refuses new keys as a 429 with `Retry-After`,
//!   and a class the limiter lacks is a 500 without figures.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "expected values are small sums"
)]

#[path = "../examples/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tollgate::{Limiter, ManualClock, Policy};
use tollgate_tower::{MissingKey, TollgateLayer, TollgateLayerBuilder, UnknownMethod};

use support::app;
use support::client::{Connection, Reply};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// A server on a loopback port whose limiter reads `clock`.
struct Server {
    addr: SocketAddr,
    clock: ManualClock,
}

impl Server {
    /// The reference policy, default settings, the clock at `T`.
    async fn start() -> Self {
        Self::with(Policy::default(), |b| b).await
    }

    async fn with(
        policy: Policy,
        configure: impl FnOnce(
            TollgateLayerBuilder<Limiter<ManualClock>, tollgate_tower::ApiKey>,
        )
            -> TollgateLayerBuilder<Limiter<ManualClock>, tollgate_tower::ApiKey>,
    ) -> Self {
        let clock = ManualClock::new(Duration::from_secs(T));
        let limiter = Limiter::builder(policy)
            .clock(clock.clone())
            .capacity(1_000)
            .build()
            .unwrap();
        let layer = configure(TollgateLayer::builder(Arc::new(limiter)))
            .inner_body()
            .build();
        let addr = app::spawn(app::app(layer)).await.unwrap();
        Self { addr, clock }
    }

    fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    async fn connect(&self) -> Connection {
        Connection::open(self.addr).await.unwrap()
    }

    /// One request on a connection of its own.
    async fn send(&self, method: &str, path: &str, fields: Fields<'_>) -> Reply {
        self.connect()
            .await
            .send(method, path, fields)
            .await
            .unwrap()
    }

    /// `POST /v1/companies` with `key` as a bearer token.
    async fn post(&self, key: &str) -> Reply {
        let auth = format!("Bearer {key}");
        self.send("POST", "/v1/companies", &[("authorization", &auth)])
            .await
    }

    /// `GET /v1/companies` with `key` as a bearer token.
    async fn get(&self, key: &str) -> Reply {
        let auth = format!("Bearer {key}");
        self.send("GET", "/v1/companies", &[("authorization", &auth)])
            .await
    }

    /// Sends raw bytes and reads the answer until the server closes.
    async fn raw(&self, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        parse(&answer)
    }
}

/// Request fields: (name, value).
type Fields<'a> = &'a [(&'a str, &'a str)];

/// What the tests read off a response.
trait Check {
    /// The value of `name`; fails the test when absent or repeated.
    fn header(&self, name: &str) -> &str;
    fn has(&self, name: &str) -> bool;
    fn json(&self) -> Value;
    /// The three X-RateLimit fields, as numbers.
    fn figures(&self) -> (u64, u64, u64);
    /// Asserts a JSON error of the layer's own: no `details`, no figures.
    fn assert_error(&self, status: u16, code: &str);
}

impl Check for Reply {
    fn header(&self, name: &str) -> &str {
        let mut values = self.headers.get_all(name).iter();
        let value = values
            .next()
            .unwrap_or_else(|| panic!("no {name}: {self:?}"));
        assert!(values.next().is_none(), "{name} twice: {self:?}");
        value.to_str().unwrap()
    }

    fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn figures(&self) -> (u64, u64, u64) {
        let n = |name| self.header(name).parse::<u64>().unwrap();
        (
            n("x-ratelimit-limit"),
            n("x-ratelimit-remaining"),
            n("x-ratelimit-reset"),
        )
    }

    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("content-type"), "application/json");
        let body = self.json();
        let error = body["error"].as_object().unwrap();
        let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "message", "request_id"], "{body}");
        assert_eq!(error["code"], code, "{body}");
        assert_eq!(error["request_id"], self.header("x-request-id"));
        assert!(!self.has("x-ratelimit-limit"), "{self:?}");
    }
}

/// A raw HTTP/1.1 response: status line, fields, body.
fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head: {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    Reply {
        status: http::StatusCode::from_u16(status).unwrap(),
        headers,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    }
}

#[tokio::test]
async fn admitted_writes_carry_every_field() {
    let server = Server::start().await;
    for n in 1..=20 {
        let r = server.post("key_1").await;
        assert_eq!(r.status.as_u16(), 201, "{r:?}");
        assert_eq!(r.figures(), (60, 20 - n, T + 10));
        assert!(!r.has("retry-after"));
        assert_eq!(r.json()["name"], "Initech");
    }
}

#[tokio::test]
async fn admitted_reads_carry_the_read_figures() {
    let server = Server::start().await;
    let r = server.get("key_1").await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.figures(), (1000, 332, T + 10));
    assert_eq!(r.header("content-type"), "application/json");
    // Every route, whatever the handler answers, HEAD included.
    let auth = [("authorization", "Bearer key_1")];
    let cases = [
        ("GET", "/v1/companies/1", 200, 1000, 331),
        ("GET", "/v1/companies/999", 404, 1000, 330),
        ("HEAD", "/v1/companies", 200, 1000, 329),
        ("PATCH", "/v1/companies/1", 200, 60, 19),
        ("DELETE", "/v1/companies/2", 204, 60, 18),
        ("DELETE", "/v1/companies/2", 404, 60, 17),
        // A path no route matches is counted too, and its 404 carries the
        // fields.
        ("GET", "/v1/nothing-here", 404, 1000, 328),
        ("POST", "/v2/companies", 404, 60, 16),
    ];
    for (method, path, status, limit, remaining) in cases {
        let r = server.send(method, path, &auth).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {r:?}");
        assert_eq!(r.figures(), (limit, remaining, T + 10), "{method} {path}");
    }
}

#[tokio::test]
async fn a_denial_has_every_field_and_the_spec_body() {
    let server = Server::start().await;
    for _ in 0..20 {
        assert_eq!(server.post("key_1").await.status.as_u16(), 201);
    }
    let r = server
        .send(
            "POST",
            "/v1/companies",
            &[
                ("authorization", "Bearer key_1"),
                ("x-request-id", "abc-123"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.figures(), (60, 0, T + 10));
    assert_eq!(r.header("retry-after"), "10");
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("x-request-id"), "abc-123");
    let body = r.json();
    assert_eq!(
        body,
        json!({"error": {
            "code": "rate_limited",
            "message": "Rate limit exceeded.",
            "details": {"limit": 20, "window": "10s"},
            "request_id": "abc-123",
        }})
    );
    // Byte for byte as docs/behaviour.md writes it.
    assert_eq!(
        r.body,
        r#"{"error":{"code":"rate_limited","message":"Rate limit exceeded.","details":{"limit":20,"window":"10s"},"request_id":"abc-123"}}"#
    );

    // Without X-Request-Id the layer makes one, and echoes it.
    let r = server.post("key_1").await;
    let id = r.json()["error"]["request_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    assert_eq!(r.header("x-request-id"), id);
    let other = server.post("key_1").await;
    assert_ne!(other.header("x-request-id"), id);
}

#[tokio::test]
async fn retry_after_is_honoured_to_the_second() {
    let server = Server::start().await;
    // 3.5 s into the burst window: Retry-After rounds the 6.5 s left up.
    server.advance_ms(3_500);
    for _ in 0..20 {
        assert_eq!(server.post("key_1").await.status.as_u16(), 201);
    }
    let r = server.post("key_1").await;
    assert_eq!(r.status.as_u16(), 429);
    let retry_after: u64 = r.header("retry-after").parse().unwrap();
    assert_eq!(retry_after, 7);
    assert_eq!(r.figures(), (60, 0, T + 10));

    // One second less than Retry-After: still denied, with 1 s to go.
    server.advance_ms((retry_after - 1) * 1_000);
    let r = server.post("key_1").await;
    assert_eq!(r.status.as_u16(), 429, "{r:?}");
    assert_eq!(r.header("retry-after"), "1");

    // Exactly Retry-After after the denial: admitted.
    server.advance_ms(1_000);
    let r = server.post("key_1").await;
    assert_eq!(r.status.as_u16(), 201, "{r:?}");
    assert_eq!(r.figures(), (60, 19, T + 20));
}

#[tokio::test]
async fn the_minute_limit_binds_after_three_bursts() {
    let server = Server::start().await;
    for burst in 0..3 {
        for n in 1..=20 {
            let r = server.post("key_1").await;
            assert_eq!(r.status.as_u16(), 201);
            let remaining = (20 - n).min(60 - 20 * burst - n);
            // In the third burst the minute has as little room as the
            // burst window, and the longer window's end is the reset.
            let reset = if burst == 2 {
                T + 60
            } else {
                T + 10 * (burst + 1)
            };
            assert_eq!(r.figures(), (60, remaining, reset), "burst {burst} n {n}");
        }
        server.advance_ms(10_000);
    }
    // T+30: the burst window is empty but the minute is spent.
    let r = server.post("key_1").await;
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.figures(), (60, 0, T + 60));
    assert_eq!(r.header("retry-after"), "30");
    assert_eq!(
        r.json()["error"]["details"],
        json!({"limit": 60, "window": "1m"})
    );
    server.advance_ms(30_000);
    assert_eq!(server.post("key_1").await.figures(), (60, 19, T + 70));
}

/// Sends one write of `key` on each of 64 connections at once; returns the
/// statuses and, for the admitted ones, `X-RateLimit-Remaining`.
async fn storm(server: &Server, key: &str) -> (Vec<u16>, Vec<u64>) {
    let mut clients = Vec::new();
    for _ in 0..64 {
        clients.push(server.connect().await);
    }
    let auth = format!("Bearer {key}");
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let auth = auth.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                client
                    .send("POST", "/v1/companies", &[("authorization", &auth)])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for task in tasks {
        let r = task.await.unwrap();
        if r.status.as_u16() == 201 {
            remaining.push(r.figures().1);
        } else {
            assert_eq!(r.status.as_u16(), 429, "{r:?}");
        }
        statuses.push(r.status.as_u16());
    }
    remaining.sort_unstable();
    (statuses, remaining)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_connections_admit_exactly_the_burst_per_window() {
    let server = Server::start().await;
    for window in 0..3 {
        let (statuses, remaining) = storm(&server, "key_shared").await;
        let admitted = statuses.iter().filter(|&&s| s == 201).count();
        assert_eq!(admitted, 20, "window {window}: {statuses:?}");
        assert_eq!(statuses.len(), 64);
        // Each admitted request saw a different count: 19, 18, ..., 0.
        assert_eq!(remaining, (0..20).collect::<Vec<u64>>(), "window {window}");
        server.advance_ms(10_000);
    }
    // The minute's 60 are spent: the fourth window admits nothing.
    let (statuses, _) = storm(&server, "key_shared").await;
    assert!(statuses.iter().all(|&s| s == 429), "{statuses:?}");
}

#[tokio::test]
async fn keys_and_classes_are_independent() {
    let server = Server::start().await;
    for _ in 0..20 {
        assert_eq!(server.post("key_a").await.status.as_u16(), 201);
    }
    assert_eq!(server.post("key_a").await.status.as_u16(), 429);
    // The same key's reads have their own budget...
    let r = server.get("key_a").await;
    assert_eq!((r.status.as_u16(), r.figures()), (200, (1000, 332, T + 10)));
    // ...and another key's writes are untouched.
    let r = server.post("key_b").await;
    assert_eq!((r.status.as_u16(), r.figures()), (201, (60, 19, T + 10)));
    // X-API-Key and a bearer token with the same key are the same key.
    let r = server
        .send("POST", "/v1/companies", &[("x-api-key", "key_b")])
        .await;
    assert_eq!((r.status.as_u16(), r.figures()), (201, (60, 18, T + 10)));
}

#[tokio::test]
async fn a_policy_override_sets_the_keys_limits() {
    let policy = Policy::from_toml_str(
        r#"
        [classes.read]
        methods = ["GET", "HEAD", "OPTIONS"]
        limit = 1000
        window = "1m"
        burst = { multiplier = 2, window = "10s" }

        [classes.write]
        methods = ["POST", "PUT", "PATCH", "DELETE"]
        limit = 60
        window = "1m"
        burst = { multiplier = 2, window = "10s" }

        [[overrides]]
        key = "key_enterprise_42"
        class = "write"
        limit = 600
        burst = { limit = 200, window = "10s" }
        "#,
    )
    .unwrap();
    let server = Server::with(policy, |b| b).await;
    let r = server.post("key_enterprise_42").await;
    assert_eq!(r.figures(), (600, 199, T + 10));
    let r = server.post("key_1").await;
    assert_eq!(r.figures(), (60, 19, T + 10));
}

#[tokio::test]
async fn keys_are_read_leniently_where_the_rfcs_allow() {
    let server = Server::start().await;
    for auth in ["Bearer key_1", "bearer key_1", "BEARER    key_1"] {
        let r = server
            .send("GET", "/v1/companies", &[("authorization", auth)])
            .await;
        assert_eq!(r.status.as_u16(), 200, "{auth}: {r:?}");
    }
    // Three requests on one key.
    assert_eq!(server.get("key_1").await.figures().1, 329);
    // Another scheme is no key of ours: X-API-Key decides.
    let r = server
        .send(
            "GET",
            "/v1/companies",
            &[
                ("authorization", "Basic dXNlcjpwYXNz"),
                ("x-api-key", "key_2"),
            ],
        )
        .await;
    assert_eq!((r.status.as_u16(), r.figures().1), (200, 332));
}

#[tokio::test]
async fn missing_and_unusable_keys_get_json_errors() {
    let server = Server::start().await;
    let long = format!("Bearer {}", "k".repeat(257));
    let longest = format!("Bearer {}", "k".repeat(256));
    let cases: [(Fields<'_>, u16, &str); 10] = [
        (&[], 401, "missing_api_key"),
        (
            &[("authorization", "Basic dXNlcjpwYXNz")],
            401,
            "missing_api_key",
        ),
        (&[("authorization", "Bearer")], 401, "invalid_api_key"),
        (&[("authorization", "Bearer    ")], 401, "invalid_api_key"),
        (&[("x-api-key", "")], 401, "invalid_api_key"),
        (
            &[("authorization", "Bearer two words")],
            401,
            "invalid_api_key",
        ),
        (&[("authorization", "Bearer {\"garbage\"}\t")], 0, ""),
        (&[("authorization", &long)], 401, "invalid_api_key"),
        (
            &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
            400,
            "ambiguous_api_key",
        ),
        (
            &[("x-api-key", "a"), ("x-api-key", "a")],
            400,
            "ambiguous_api_key",
        ),
    ];
    for (headers, status, code) in cases {
        let r = server.send("GET", "/v1/companies", headers).await;
        if status == 0 {
            // Printable garbage is a key like any other.
            assert_eq!(r.status.as_u16(), 200, "{headers:?}: {r:?}");
            continue;
        }
        r.assert_error(status, code);
        if status == 401 {
            assert_eq!(r.header("www-authenticate"), "Bearer");
        }
    }
    let r = server
        .send("GET", "/v1/companies", &[("authorization", &longest)])
        .await;
    assert_eq!(r.status.as_u16(), 200);
}

#[tokio::test]
async fn non_utf8_and_huge_fields_over_a_raw_socket() {
    let server = Server::start().await;
    let request = |fields: &[u8]| {
        let mut r =
            b"GET /v1/companies HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".to_vec();
        r.extend_from_slice(fields);
        r.extend_from_slice(b"\r\n");
        r
    };
    for fields in [
        &b"Authorization: Bearer \xff\xfe\xfd\r\n"[..],
        b"X-API-Key: caf\xc3\xa9\r\n",
        b"Authorization: Bearer k\x80y\r\n",
    ] {
        let r = server.raw(&request(fields)).await;
        r.assert_error(401, "invalid_api_key");
    }
    // A non-UTF-8 X-Request-Id is replaced by a generated one.
    let r = server.raw(&request(b"X-Request-Id: \xff\xff\r\n")).await;
    r.assert_error(401, "missing_api_key");
    assert!(r.header("x-request-id").starts_with("req_"));
    // A 32 KiB key: refused, without reading it as a key.
    let mut huge = b"X-API-Key: ".to_vec();
    huge.extend(std::iter::repeat_n(b'k', 32 * 1024));
    huge.extend_from_slice(b"\r\n");
    server
        .raw(&request(&huge))
        .await
        .assert_error(401, "invalid_api_key");
    // The server still serves well-formed requests.
    assert_eq!(server.get("key_1").await.status.as_u16(), 200);
}

#[tokio::test]
async fn methods_outside_the_policy() {
    let server = Server::start().await;
    let auth = [("authorization", "Bearer key_1")];
    for method in ["TRACE", "PURGE", "get"] {
        let r = server.send(method, "/v1/companies", &auth).await;
        r.assert_error(405, "method_not_allowed");
        assert_eq!(
            r.header("allow"),
            "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"
        );
    }

    // Counted as writes instead, when configured so.
    let server = Server::with(Policy::default(), |b| {
        b.unknown_method(UnknownMethod::Class(
            Policy::default().class("write").unwrap(),
        ))
    })
    .await;
    let r = server.send("PURGE", "/v1/companies", &auth).await;
    assert_eq!((r.status.as_u16(), r.figures()), (405, (60, 19, T + 10)));

    // A class the limiter's policy lacks is the server's mistake: 500,
    // and no figures.
    let other = Policy::from_toml_str(
        r#"
        [classes.a]
        methods = ["GET"]
        limit = 1
        window = "1m"
        [classes.b]
        methods = ["POST"]
        limit = 1
        window = "1m"
        [classes.c]
        methods = ["PURGE"]
        limit = 1
        window = "1m"
        "#,
    )
    .unwrap();
    let stranger = other.class("c").unwrap();
    let server = Server::with(Policy::default(), |b| {
        b.unknown_method(UnknownMethod::Class(stranger))
    })
    .await;
    let r = server.send("PURGE", "/v1/companies", &auth).await;
    r.assert_error(500, "internal_error");

    // Or passed through unchecked.
    let server = Server::with(Policy::default(), |b| {
        b.unknown_method(UnknownMethod::Unlimited)
    })
    .await;
    let r = server.send("PURGE", "/v1/companies", &[]).await;
    assert_eq!(r.status.as_u16(), 405);
    assert!(
        !r.has("x-ratelimit-limit") && !r.has("x-request-id"),
        "{r:?}"
    );
}

#[tokio::test]
async fn ietf_fields_beside_the_x_fields() {
    let server = Server::with(Policy::default(), |b| b.ietf_headers(true)).await;
    let r = server.post("key_1").await;
    assert_eq!(r.figures(), (60, 19, T + 10));
    assert_eq!(r.header("ratelimit"), "\"write-10s\";r=19;t=10");
    assert_eq!(
        r.header("ratelimit-policy"),
        "\"write-1m\";q=60;w=60, \"write-10s\";q=20;w=10"
    );
    for _ in 0..19 {
        server.post("key_1").await;
    }
    let r = server.post("key_1").await;
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.header("ratelimit"), "\"write-10s\";r=0;t=10");
}

#[tokio::test]
async fn keyless_callers_by_peer_address() {
    let server = Server::with(Policy::default(), |b| b.missing_key(MissingKey::PeerIp)).await;
    for n in 1..=20 {
        let r = server.send("POST", "/v1/companies", &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.figures()),
            (201, (60, 20 - n, T + 10))
        );
    }
    let r = server.send("POST", "/v1/companies", &[]).await;
    assert_eq!(r.status.as_u16(), 429);
    // A key named like the address is another key.
    let r = server.post("127.0.0.1").await;
    assert_eq!((r.status.as_u16(), r.figures().1), (201, 19));
    // A bad key is still refused, not counted by address.
    let r = server
        .send("POST", "/v1/companies", &[("authorization", "Bearer")])
        .await;
    r.assert_error(401, "invalid_api_key");
}

/// A table of `capacity` 1 behind the example app, filled with new keys
/// until one is refused; the refusal.
async fn fill_until_refused(evict_at_most: u32) -> Reply {
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .capacity(1)
        .evict_at_most(evict_at_most)
        .build()
        .unwrap();
    let slots = limiter.slots();
    let addr = app::spawn(app::app(
        TollgateLayer::builder(limiter).inner_body().build(),
    ))
    .await
    .unwrap();
    let server = Server { addr, clock };
    // Every slot can hold a key; some key past them finds no room.
    for n in 0..=4 * slots {
        let r = server.post(&format!("key_{n}")).await;
        if r.status == 429 {
            let body = r.json();
            assert_eq!(body["error"]["code"], "rate_limited");
            assert_eq!(
                body["error"]["details"],
                json!({"limit": 60, "window": "1m"})
            );
            return r;
        }
        assert_eq!(r.status, 201, "{r:?}");
    }
    panic!("a full table refuses a new key");
}

#[tokio::test]
async fn a_full_table_refuses_new_keys_with_a_retry_after() {
    // Every state holds 1, counted in this second: by default evictable
    // from the next second, which the refusal names.
    let r = fill_until_refused(1).await;
    assert_eq!(r.header("retry-after"), "1");
    assert_eq!(r.figures(), (60, 0, T + 1));
    // Without eviction: until the tracked keys' windows have all ended
    // (the minute's, at T+60) and free their slots.
    let r = fill_until_refused(0).await;
    assert_eq!(r.header("retry-after"), "60");
    assert_eq!(r.figures(), (60, 0, T + 60));
}

/// The load test's control (`api_server --fields-only`) answers with the
/// three fields at the constants it documents, and with nothing else the
/// layer would add.
#[tokio::test]
async fn the_load_tests_control_sets_the_constant_fields_only() {
    let addr = app::spawn(app::with_constant_fields(app::routes()))
        .await
        .unwrap();
    let r = Connection::open(addr)
        .await
        .unwrap()
        .send("GET", "/v1/companies/1", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.figures(), (4_294_967_295, 4_294_967_294, 1_764_374_460));
    assert!(!r.has("retry-after"));
    assert!(!r.has("ratelimit"));
    assert_eq!(r.json()["id"], 1);
}
