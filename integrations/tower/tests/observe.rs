//! What the layer reports, over loopback sockets: the `tracing` events
//! (captured by a subscriber of the test's own, on the test's thread,
//! which also serves: each test runs on a current-thread runtime) and the
//! metrics (a recorder of the test's own, in place while the layer is
//! built, which is when the layer registers its handles). Checked:
//!
//! - a denial is one `DEBUG` event with every field of the decision, the
//!   path without its query, and a fingerprint of the key that is the
//!   same for one key and differs between keys; an admission is none;
//! - a full table's answers: one `WARN` a second, the others at `DEBUG`,
//!   and the next warning counts them;
//! - Redis down under a `RedisLimiter`: the degraded decisions (one `WARN`
//!   a second), the circuit breaker opening and, once Redis is back,
//!   closing, each once;
//! - no captured event holds a key, nor the query, in any field;
//! - the counters by class and outcome, the full-table and degraded
//!   counters, and the gauge of tracked states, set once a second.
//!
//! Needs the crate's `tracing`, `metrics` and `redis` features (its
//! dev-dependency on itself turns them on). The Redis test skips where
//! `redis-server` is missing, but under CI.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small counts and times"
)]

#[path = "../examples/support/mod.rs"]
mod support;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use tollgate::{Limiter, ManualClock, OnFull, Policy, WindowLength};
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::RedisServer;
use tollgate_tower::TollgateLayer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Metadata as EventMetadata, Subscriber};

use support::app;
use support::client::Connection;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// Keys that no event may hold, in any field.
const KEY_A: &str = "sk_live_SECRET_alpha_3f9c2e17";
const KEY_B: &str = "sk_live_SECRET_bravo_77d0a4b1";
/// A query that no event may hold either.
const QUERY: &str = "token=QUERY_SECRET_5521";

/// One captured event.
#[derive(Debug, Clone)]
struct Event {
    target: String,
    level: Level,
    fields: Vec<(String, String)>,
}

impl Event {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn message(&self) -> &str {
        self.field("message").unwrap_or_default()
    }
}

/// A subscriber that keeps every event, whatever its level or target.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Vec<Event>>>);

impl Capture {
    /// A capture in place on this thread until the guard drops.
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let guard = tracing::subscriber::set_default(capture.clone());
        (capture, guard)
    }

    fn events(&self) -> Vec<Event> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The events of `target`.
    fn of(&self, target: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.target == target)
            .collect()
    }

    /// Fails if any event of any target holds a key or the query.
    fn assert_no_secret(&self) {
        let events = self.events();
        for event in &events {
            for (name, value) in &event.fields {
                for secret in [KEY_A, KEY_B, "SECRET", QUERY, "QUERY_SECRET"] {
                    assert!(
                        !value.contains(secret) && !name.contains(secret),
                        "{secret:?} in field {name} of {event:?}"
                    );
                }
            }
        }
    }
}

/// An event's fields as text: strings as they are, the rest as `Debug`
/// renders them.
struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &EventMetadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let captured = Event {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(captured);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A recorder that keeps every counter and gauge by name and labels.
#[derive(Debug, Default)]
struct Metrics {
    counters: Mutex<Vec<(Key, Arc<AtomicU64>)>>,
    /// Gauges hold the bits of an `f64`.
    gauges: Mutex<Vec<(Key, Arc<AtomicU64>)>>,
}

impl Metrics {
    fn handle(list: &Mutex<Vec<(Key, Arc<AtomicU64>)>>, key: &Key) -> Arc<AtomicU64> {
        let mut list = list.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, value)) = list.iter().find(|(k, _)| k == key) {
            return Arc::clone(value);
        }
        let value = Arc::new(AtomicU64::new(0));
        list.push((key.clone(), Arc::clone(&value)));
        value
    }

    fn find(list: &Mutex<Vec<(Key, Arc<AtomicU64>)>>, name: &str, labels: &[(&str, &str)]) -> u64 {
        let list = list.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, value) = list
            .iter()
            .find(|(k, _)| {
                k.name() == name
                    && k.labels().count() == labels.len()
                    && labels
                        .iter()
                        .all(|(n, v)| k.labels().any(|l| l.key() == *n && l.value() == *v))
            })
            .unwrap_or_else(|| panic!("{name} {labels:?} is not registered"));
        value.load(Ordering::Relaxed)
    }

    /// The counter `name` with exactly `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        Self::find(&self.counters, name, labels)
    }

    /// The gauge `name` (without labels).
    fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(Self::find(&self.gauges, name, &[]))
    }

    /// `tollgate_decisions_total` for `class` and `outcome`.
    fn decisions(&self, class: &str, outcome: &str) -> u64 {
        self.counter(
            "tollgate_decisions_total",
            &[("class", class), ("outcome", outcome)],
        )
    }
}

impl Recorder for Metrics {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Self::handle(&self.counters, key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Self::handle(&self.gauges, key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// A policy of one write and five reads a minute.
fn small_policy() -> Policy {
    let minute = WindowLength::from_secs(60).unwrap();
    Policy::builder()
        .class("read", &["GET", "HEAD"], 5, minute)
        .class("write", &["POST", "PUT", "PATCH", "DELETE"], 1, minute)
        .build()
        .unwrap()
}

fn bearer(key: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {key}"))]
}

/// Sends `POST /v1/companies?QUERY` with `key`; the status.
async fn post(conn: &mut Connection, key: &str) -> u16 {
    let [(name, value)] = bearer(key);
    let path = format!("/v1/companies?{QUERY}");
    let r = conn.send("POST", &path, &[(name, &value)]).await.unwrap();
    r.status.as_u16()
}

/// Sends `GET /v1/companies` with `key`; the status.
async fn get(conn: &mut Connection, key: &str) -> u16 {
    let [(name, value)] = bearer(key);
    let r = conn
        .send("GET", "/v1/companies", &[(name, &value)])
        .await
        .unwrap();
    r.status.as_u16()
}

fn assert_fingerprint(event: &Event) -> String {
    let fingerprint = event.field("key_fingerprint").expect("a fingerprint");
    assert_eq!(fingerprint.len(), 16, "{event:?}");
    assert!(
        fingerprint.bytes().all(|b| b.is_ascii_hexdigit()),
        "{event:?}"
    );
    fingerprint.to_owned()
}

#[tokio::test]
async fn a_denial_is_a_debug_event_with_a_fingerprint_and_no_key() {
    let (capture, _guard) = Capture::install();
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Limiter::builder(small_policy())
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = TollgateLayer::builder(limiter).inner_body().build();
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();

    assert_eq!(post(&mut conn, KEY_A).await, 201);
    assert_eq!(post(&mut conn, KEY_B).await, 201);
    assert!(
        capture.of("tollgate_tower").is_empty(),
        "{:?}",
        capture.events()
    );
    assert_eq!(post(&mut conn, KEY_A).await, 429);
    assert_eq!(post(&mut conn, KEY_A).await, 429);
    assert_eq!(post(&mut conn, KEY_B).await, 429);

    let events = capture.of("tollgate_tower");
    assert_eq!(events.len(), 3, "{events:?}");
    for event in &events {
        assert_eq!(event.level, Level::DEBUG, "{event:?}");
        assert_eq!(event.message(), "request refused by the rate limit");
        for (name, value) in [
            ("class", "write"),
            ("outcome", "denied"),
            ("limit", "1"),
            ("remaining", "0"),
            ("retry_after", "60"),
            ("degraded", "false"),
            ("method", "POST"),
            ("path", "/v1/companies"),
        ] {
            assert_eq!(event.field(name), Some(value), "{name} of {event:?}");
        }
    }
    let fingerprints: Vec<String> = events.iter().map(assert_fingerprint).collect();
    // One key, one fingerprint; another key, another.
    assert_eq!(fingerprints[0], fingerprints[1]);
    assert_ne!(fingerprints[0], fingerprints[2]);
    capture.assert_no_secret();
}

#[tokio::test]
async fn a_full_table_warns_once_a_second_and_counts_the_rest() {
    let (capture, _guard) = Capture::install();
    let clock = ManualClock::new(Duration::from_secs(T));
    // Nothing evicted: the table stays full for the minute.
    let limiter = Limiter::builder(small_policy())
        .clock(clock.clone())
        .capacity(1)
        .evict_at_most(0)
        .build()
        .unwrap();
    let slots = limiter.slots();
    let layer = TollgateLayer::builder(limiter).inner_body().build();
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();

    // New keys until one is refused, then three more refused.
    let mut refused = 0;
    for n in 0..=4 * slots {
        if get(&mut conn, &format!("{KEY_A}_{n}")).await == 429 {
            refused += 1;
            if refused == 4 {
                break;
            }
        }
    }
    assert_eq!(refused, 4, "a table of capacity 1 fills");
    let full = |capture: &Capture| -> Vec<Event> {
        capture
            .of("tollgate_tower")
            .into_iter()
            .filter(|e| e.field("outcome") == Some("table_full"))
            .collect()
    };
    let events = full(&capture);
    let levels: Vec<Level> = events.iter().map(|e| e.level).collect();
    assert_eq!(
        levels,
        [Level::WARN, Level::DEBUG, Level::DEBUG, Level::DEBUG]
    );
    assert_eq!(events[0].field("suppressed"), Some("0"));
    for event in &events {
        assert_eq!(
            event.message(),
            "the limiter's table is full: a new key was refused"
        );
        assert_eq!(event.field("class"), Some("read"));
        assert_eq!(event.field("retry_after"), Some("60"));
        assert_fingerprint(event);
    }
    // The next second's first: a warning that counts the three.
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&mut conn, &format!("{KEY_B}_late")).await, 429);
    let events = full(&capture);
    assert_eq!(events.len(), 5);
    assert_eq!(events[4].level, Level::WARN);
    assert_eq!(events[4].field("suppressed"), Some("3"));
    // Nothing else was an event: the admissions were not.
    assert_eq!(capture.of("tollgate_tower").len(), 5);
    capture.assert_no_secret();
}

#[tokio::test]
async fn a_fail_open_table_warns_of_uncounted_admissions() {
    let (capture, _guard) = Capture::install();
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Limiter::builder(small_policy())
        .clock(clock.clone())
        .capacity(1)
        .evict_at_most(0)
        .on_full(OnFull::Allow)
        .build()
        .unwrap();
    let slots = limiter.slots();
    let layer = TollgateLayer::builder(limiter).inner_body().build();
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();
    for n in 0..=4 * slots {
        assert_eq!(get(&mut conn, &format!("{KEY_A}_{n}")).await, 200);
    }
    let events = capture.of("tollgate_tower");
    assert!(!events.is_empty(), "a table of capacity 1 fills");
    assert_eq!(events[0].level, Level::WARN);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.field("outcome"), Some("allowed_untracked"));
        assert_eq!(
            event.message(),
            "the limiter's table is full: a new key was admitted uncounted"
        );
        if i > 0 {
            assert_eq!(event.level, Level::DEBUG);
        }
    }
    capture.assert_no_secret();
}

#[tokio::test]
async fn decisions_are_counted_by_class_and_outcome() {
    let metrics = Arc::new(Metrics::default());
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Limiter::builder(small_policy())
        .clock(clock.clone())
        .capacity(1)
        .evict_at_most(0)
        .build()
        .unwrap();
    let slots = limiter.slots();
    let layer = metrics::with_local_recorder(&*metrics, || {
        TollgateLayer::builder(limiter).inner_body().build()
    });
    let limiter = Arc::clone(layer.limiter());
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();

    // Registered at build, by class and outcome, all at 0.
    for class in ["read", "write"] {
        for outcome in [
            "allowed",
            "denied",
            "cost_too_large",
            "table_full",
            "allowed_untracked",
        ] {
            assert_eq!(metrics.decisions(class, outcome), 0);
        }
    }
    assert_eq!(metrics.gauge("tollgate_tracked_states"), 0.0);

    assert_eq!(post(&mut conn, KEY_A).await, 201);
    assert_eq!(post(&mut conn, KEY_A).await, 429);
    assert_eq!(get(&mut conn, KEY_A).await, 200);
    assert_eq!(metrics.decisions("write", "allowed"), 1);
    assert_eq!(metrics.decisions("write", "denied"), 1);
    assert_eq!(metrics.decisions("read", "allowed"), 1);
    // Set by the second's first decision, with the key tracked.
    assert_eq!(metrics.gauge("tollgate_tracked_states"), 1.0);

    // New keys until two are refused.
    let mut admitted = 0;
    let mut refused = 0;
    for n in 0..=4 * slots {
        match get(&mut conn, &format!("{KEY_B}_{n}")).await {
            200 => admitted += 1,
            429 => refused += 1,
            other => panic!("{other}"),
        }
        if refused == 2 {
            break;
        }
    }
    assert_eq!(refused, 2, "a table of capacity 1 fills");
    assert_eq!(metrics.decisions("read", "allowed"), 1 + admitted);
    assert_eq!(metrics.decisions("read", "table_full"), 2);
    assert_eq!(
        metrics.counter("tollgate_table_full_total", &[("class", "read")]),
        2
    );
    assert_eq!(
        metrics.counter("tollgate_table_full_total", &[("class", "write")]),
        0
    );
    assert_eq!(
        metrics.counter("tollgate_degraded_decisions_total", &[("class", "read")]),
        0
    );
    // Still this second's figure; the next second's first decision sets
    // the gauge to what the limiter holds.
    assert_eq!(metrics.gauge("tollgate_tracked_states"), 1.0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&mut conn, KEY_A).await, 200);
    let tracked = limiter.tracked();
    assert!(tracked > 1, "{tracked}");
    assert_eq!(metrics.gauge("tollgate_tracked_states"), tracked as f64);
}

/// Redis killed under the layer: the degraded decisions and the breaker
/// opening; restarted: the breaker closing. Each once.
#[tokio::test]
async fn a_redis_outage_is_reported_at_its_transitions() {
    let Some(mut redis) = RedisServer::start("a_redis_outage_is_reported_at_its_transitions")
    else {
        return;
    };
    let (capture, _guard) = Capture::install();
    let metrics = Arc::new(Metrics::default());
    let limiter = RedisLimiter::builder(Policy::default())
        .url(redis.url())
        .prefix("observe:")
        .timeout(Duration::from_millis(50))
        .connect_timeout(Duration::from_millis(300))
        .breaker(2, Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let layer = metrics::with_local_recorder(&*metrics, || {
        TollgateLayer::decided_by(Arc::new(limiter))
            .inner_body()
            .build()
    });
    let addr = app::spawn(app::app(layer)).await.unwrap();
    let mut conn = Connection::open(addr).await.unwrap();
    assert_eq!(get(&mut conn, KEY_A).await, 200);
    assert!(capture.of("tollgate_tower").is_empty());

    redis.kill();
    let degraded = 6;
    for _ in 0..degraded {
        assert_eq!(get(&mut conn, KEY_A).await, 200);
    }
    let events = capture.of("tollgate_tower");
    assert_eq!(events.len(), degraded, "{events:?}");
    for event in &events {
        assert_eq!(event.field("degraded"), Some("true"), "{event:?}");
        assert_eq!(event.field("outcome"), Some("allowed"));
        assert_eq!(event.field("class"), Some("read"));
        assert_eq!(
            event.message(),
            "decided without the store, by the limiter's failure policy"
        );
        assert_fingerprint(event);
    }
    // One warning a second: the checks took less than two.
    let warnings = events.iter().filter(|e| e.level == Level::WARN).count();
    assert!((1..=2).contains(&warnings), "{events:?}");
    assert_eq!(
        metrics.counter("tollgate_degraded_decisions_total", &[("class", "read")]),
        6
    );
    assert_eq!(metrics.decisions("read", "allowed"), 7);
    let opened: Vec<Event> = capture
        .of("tollgate_redis")
        .into_iter()
        .filter(|e| e.message().starts_with("circuit breaker opened"))
        .collect();
    assert_eq!(opened.len(), 1, "{:?}", capture.of("tollgate_redis"));
    assert_eq!(opened[0].level, Level::WARN);
    assert_eq!(opened[0].field("consecutive_failures"), Some("2"));
    assert_eq!(opened[0].field("open_for_ms"), Some("200"));

    // Back: a probe after the breaker's 200 ms finds Redis and closes it.
    redis.restart();
    let closed = |capture: &Capture| -> Vec<Event> {
        capture
            .of("tollgate_redis")
            .into_iter()
            .filter(|e| e.message().starts_with("circuit breaker closed"))
            .collect()
    };
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(get(&mut conn, KEY_A).await, 200);
        if !closed(&capture).is_empty() {
            break;
        }
    }
    let closed = closed(&capture);
    assert_eq!(closed.len(), 1, "{:?}", capture.of("tollgate_redis"));
    assert_eq!(closed[0].level, Level::INFO);
    let open_ms: u64 = closed[0].field("open_ms").unwrap().parse().unwrap();
    assert!(open_ms >= 200, "{open_ms}");
    capture.assert_no_secret();
}
