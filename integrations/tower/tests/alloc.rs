//! What the layer allocates per request (crate docs, "Cost"), counted by
//! a global allocator: nothing of its own for an admitted request once
//! the thread has warmed up when the figures are small (the reference
//! policy), and two allocations per many requests when a figure is a new
//! large number every time (an arena of rendered digits: its buffer and
//! the reference count `bytes` adds to it).
//!
//! Each count compares the same requests through the layer and straight
//! to the inner service, so the allocations of building a request, of the
//! inner service's response and of polling cancel out.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "counts of a few thousand allocations"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, AUTHORIZATION};
use http::{Request, Response};
use tollgate::{Limiter, ManualClock, Policy};
use tollgate_test_support::counting::{allocations, Counting};
use tollgate_test_support::tower::handler::Handler;
use tollgate_test_support::tower::poll::{body_of, now_or_never};
use tollgate_tower::{ApiKey, Tollgate, TollgateLayer};
use tower_layer::Layer;
use tower_service::Service;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// A GET with a bearer key, as a client sends it.
fn request() -> Request<()> {
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer key_1"));
    request
}

/// Allocations of `n` requests through `service`, each answered 200 with
/// the fields `fields` expects (none without the layer) and its body
/// read, after `warm` requests not counted; `tick(i)` runs before the
/// `i`th counted request.
fn allocations_of<S, B>(
    service: &mut S,
    warm: usize,
    n: usize,
    fields: impl Fn(&http::HeaderMap) -> bool,
    mut tick: impl FnMut(usize),
) -> usize
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    S::Future: Future<Output = Result<Response<B>, S::Error>>,
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: std::fmt::Debug,
{
    let one = |service: &mut S| {
        let response = now_or_never(service.call(request())).unwrap();
        assert_eq!(response.status(), 200);
        let (parts, body) = response.into_parts();
        drop(body_of(body));
        assert!(fields(&parts.headers), "{:?}", parts.headers);
    };
    for _ in 0..warm {
        one(service);
    }
    let before = allocations();
    for i in 0..n {
        tick(i);
        one(service);
    }
    allocations() - before
}

/// Only the handler's field.
fn bare(headers: &http::HeaderMap) -> bool {
    headers.len() == 1
}

/// The handler's field and the three of the layer, their values numbers.
fn limited(headers: &http::HeaderMap) -> bool {
    let number = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.parse::<u64>().is_ok())
    };
    headers.len() == 4
        && number("x-ratelimit-limit")
        && number("x-ratelimit-remaining")
        && number("x-ratelimit-reset")
}

fn layered(policy: Policy, clock: ManualClock) -> Tollgate<Handler, Limiter<ManualClock>, ApiKey> {
    let limiter = Limiter::builder(policy)
        .clock(clock)
        .capacity(16)
        .build()
        .unwrap();
    TollgateLayer::new(Arc::new(limiter)).layer(Handler::default())
}

#[test]
fn an_admitted_request_allocates_nothing_of_the_layers_own() {
    // The reference policy: a limit of 1000, a remaining count below it,
    // and a Reset that repeats from request to request.
    let clock = ManualClock::new(Duration::from_secs(T));
    let bare = allocations_of(&mut Handler::default(), 5, 200, bare, |_| {});
    let with = allocations_of(
        &mut layered(Policy::default(), clock),
        5,
        200,
        limited,
        |_| {},
    );
    assert!(bare > 0, "the count sees the handler's own allocations");
    assert_eq!(
        with, bare,
        "200 requests: {with} allocations with the layer, {bare} without"
    );
}

#[test]
fn new_large_numbers_share_an_allocation_per_arena() {
    // Limits no request spends: every Remaining is a new ten-digit
    // number, carved out of the thread's arena of 512 bytes.
    let policy = Policy::from_toml_str(
        r#"
        [classes.read]
        methods = ["GET"]
        limit = 4294967295
        window = "1m"
        burst = { limit = 4294967295, window = "10s" }
        "#,
    )
    .unwrap();
    let n = 1_000;
    let clock = ManualClock::new(Duration::from_secs(T));
    let bare = allocations_of(&mut Handler::default(), 5, n, bare, |_| {});
    let with = allocations_of(&mut layered(policy, clock), 5, n, limited, |_| {});
    let extra = with - bare;
    // Ten digits a value, 51 to an arena of 512 bytes: 20 arenas for
    // 1,000 values, two allocations each. (`HeaderValue::from(u64)` would
    // make two per value.)
    let arenas = (n * 10).div_ceil(512) + 1;
    assert!(
        (1..=2 * arenas).contains(&extra),
        "{extra} allocations of the layer's own for {n} requests"
    );
}

#[test]
fn a_new_windows_reset_is_rendered_once() {
    // The reference policy with the clock moving on by a 10-second window
    // every 50 requests: 20 new Reset values in 1,000 requests, each
    // rendered once (ten digits, into the arena) and then cloned. Were
    // each request to render its own, 1,000 values would take some 40
    // arenas.
    let n = 1_000;
    let clock = ManualClock::new(Duration::from_secs(T));
    let bare = allocations_of(&mut Handler::default(), 5, n, bare, |_| {});
    let mut service = layered(Policy::default(), clock.clone());
    let with = allocations_of(&mut service, 5, n, limited, |i| {
        if i % 50 == 0 {
            clock.advance(Duration::from_secs(10));
        }
    });
    let extra = with - bare;
    // 200 bytes of digits: at most one new arena, two allocations.
    assert!(
        extra <= 2,
        "{extra} allocations of the layer's own for {n} requests in 20 windows"
    );
}
