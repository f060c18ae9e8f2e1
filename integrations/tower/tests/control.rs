//! The layer's settings that shape what it counts and answers, over
//! loopback sockets: keys from a closure (and keys that are not strings),
//! per-route class and cost (by closure over axum's `MatchedPath`, and by
//! request extension), exempt methods and paths, the rejection hook, the
//! decision in the request's extensions, and `Connection: close` on a
//! refused request whose body was not read.
//!
//! Each test serves a small router behind the layer (`Router::layer`, so
//! that closures see the matched route) on an ephemeral port, with the
//! reference policy and a `ManualClock` at a minute boundary.

#[path = "../examples/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;
use tollgate::{Class, Decision, Limiter, ManualClock, Outcome, Policy};
use tollgate_tower::{
    ApiKey, KeyExtractor, Reason, RequestCost, TollgateLayer, TollgateLayerBuilder,
};

use support::client::{Connection, Reply};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

type Builder = TollgateLayerBuilder<Limiter<ManualClock>, ApiKey>;

/// The routes: writes of one company and of a batch, a search (a `POST`
/// that reads), a health check, an `OPTIONS` answered by the handler, and
/// a read that echoes the decision in its extensions, if any.
fn routes() -> Router {
    Router::new()
        .route(
            "/v1/companies",
            get(|| async { "[]" }).post(|| async { "{}" }),
        )
        .route("/v1/companies/batch", post(|| async { "[]" }))
        .route("/v1/search", post(|| async { "[]" }))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/preflight",
            axum::routing::options(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            "/v1/decision",
            get(|decision: Option<Extension<Decision>>| async move {
                match decision {
                    Some(Extension(d)) => format!("{:?} {}", d.outcome(), d.remaining()),
                    None => "none".to_owned(),
                }
            }),
        )
}

/// Serves `routes` (passed through `around`, which runs before the
/// layer) behind a layer from `configure`, on a limiter of `capacity`.
async fn serve_with<K: KeyExtractor>(
    capacity: usize,
    configure: impl FnOnce(Builder) -> TollgateLayer<Limiter<ManualClock>, K>,
    around: impl FnOnce(Router) -> Router,
) -> SocketAddr {
    let limiter = Limiter::builder(Policy::default())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .capacity(capacity)
        .build()
        .unwrap();
    let layer = configure(TollgateLayer::builder(Arc::new(limiter)));
    let app = around(routes().layer(layer));
    support::app::spawn(app).await.unwrap()
}

async fn serve<K: KeyExtractor>(
    configure: impl FnOnce(Builder) -> TollgateLayer<Limiter<ManualClock>, K>,
) -> SocketAddr {
    serve_with(1_000, configure, |r| r).await
}

/// One request on a connection of its own.
async fn send(addr: SocketAddr, method: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    let mut conn = Connection::open(addr).await.unwrap();
    conn.send(method, path, fields).await.unwrap()
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn field<'r>(r: &'r Reply, name: &str) -> Option<&'r str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

/// Limit and Remaining, as numbers.
fn figures(r: &Reply) -> (u64, u64) {
    let n = |name| {
        field(r, name)
            .unwrap_or_else(|| panic!("{name} in {r:?}"))
            .parse()
            .unwrap()
    };
    (n("x-ratelimit-limit"), n("x-ratelimit-remaining"))
}

fn json(r: &Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// An authentication stand-in that runs before the layer: `X-User: 42`
/// becomes a `UserId(42)` extension.
#[derive(Debug, Clone, Copy)]
struct UserId(u64);

async fn authenticate(mut request: Request, next: Next) -> axum::response::Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if let Some(user) = user {
        request.extensions_mut().insert(UserId(user));
    }
    next.run(request).await
}

#[tokio::test]
async fn a_closure_keys_requests_by_a_user_id_extension() {
    let addr = serve_with(
        1_000,
        |b| {
            b.key_by(|request| request.extensions().get::<UserId>().map(|u| u.0))
                .build()
        },
        |r| r.layer(middleware::from_fn(authenticate)),
    )
    .await;
    // User 42 spends its burst of 20 writes whatever token it sends.
    for n in 0..20u64 {
        let token = bearer(&format!("token_{n}"));
        let r = send(
            addr,
            "POST",
            "/v1/companies",
            &[("x-user", "42"), ("authorization", &token)],
        )
        .await;
        assert_eq!((r.status, figures(&r)), (StatusCode::OK, (60, 19 - n)));
    }
    let r = send(addr, "POST", "/v1/companies", &[("x-user", "42")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // User 7 is another key.
    let r = send(addr, "POST", "/v1/companies", &[("x-user", "7")]).await;
    assert_eq!((r.status, figures(&r)), (StatusCode::OK, (60, 19)));
    // No user: no key, refused as missing.
    let r = send(
        addr,
        "POST",
        "/v1/companies",
        &[("authorization", &bearer("k"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&r)["error"]["code"], "missing_api_key");
}

#[tokio::test]
async fn cost_and_class_by_route() {
    let addr = serve(|b| {
        b.cost_by(|request| match request.extensions().get::<MatchedPath>() {
            Some(path) if path.as_str() == "/v1/companies/batch" => 5,
            _ => 1,
        })
        .class_by(|request| {
            let search = request
                .extensions()
                .get::<MatchedPath>()
                .is_some_and(|p| p.as_str() == "/v1/search");
            search.then_some(Class::READ)
        })
        .build()
    })
    .await;
    let auth = bearer("key_1");
    // Batches cost 5 of the 20 writes per 10 s.
    for left in [15, 10, 5, 0] {
        let r = send(
            addr,
            "POST",
            "/v1/companies/batch",
            &[("authorization", &auth)],
        )
        .await;
        assert_eq!((r.status, figures(&r)), (StatusCode::OK, (60, left)));
    }
    let r = send(
        addr,
        "POST",
        "/v1/companies/batch",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // The writes are spent, and a single write is refused too.
    let r = send(addr, "POST", "/v1/companies", &[("authorization", &auth)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A search is a POST counted as a read: the reads' limits.
    let r = send(addr, "POST", "/v1/search", &[("authorization", &auth)]).await;
    assert_eq!((r.status, figures(&r)), (StatusCode::OK, (1000, 332)));
}

#[tokio::test]
async fn a_cost_extension_set_before_the_layer_wins() {
    let addr = serve_with(
        1_000,
        |b| b.cost_by(|_| 2).build(),
        |r| {
            r.layer(middleware::from_fn(
                |mut request: Request, next: Next| async move {
                    if request.headers().contains_key("x-heavy") {
                        request.extensions_mut().insert(RequestCost(10));
                    }
                    next.run(request).await
                },
            ))
        },
    )
    .await;
    let auth = bearer("key_1");
    let r = send(addr, "POST", "/v1/companies", &[("authorization", &auth)]).await;
    assert_eq!(figures(&r), (60, 18));
    let r = send(
        addr,
        "POST",
        "/v1/companies",
        &[("authorization", &auth), ("x-heavy", "1")],
    )
    .await;
    assert_eq!(figures(&r), (60, 8));
    // A cost above every window's room can never be admitted.
    let r = send(
        addr,
        "POST",
        "/v1/companies",
        &[("authorization", &auth), ("x-heavy", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(figures(&r), (60, 8));
}

#[tokio::test]
async fn exempt_methods_and_paths_pass_unchecked_and_uncounted() {
    let addr = serve(|b| {
        b.exempt_method(Method::OPTIONS)
            .exempt_by(|request| request.uri().path() == "/healthz")
            .build()
    })
    .await;
    // No key, yet not refused; no fields.
    for (method, path) in [("OPTIONS", "/v1/preflight"), ("GET", "/healthz")] {
        let r = send(addr, method, path, &[]).await;
        assert!(r.status.is_success(), "{method} {path}: {r:?}");
        assert!(field(&r, "x-ratelimit-limit").is_none(), "{r:?}");
    }
    // With a key, exempt requests count nothing against it.
    let auth = bearer("key_1");
    for _ in 0..5 {
        send(addr, "GET", "/healthz", &[("authorization", &auth)]).await;
        send(
            addr,
            "OPTIONS",
            "/v1/preflight",
            &[("authorization", &auth)],
        )
        .await;
    }
    let r = send(addr, "GET", "/v1/companies", &[("authorization", &auth)]).await;
    assert_eq!(figures(&r), (1000, 332));
    // Without the exemption, the reference policy counts OPTIONS as a
    // read, and a preflight, which carries no credentials, is refused.
    let plain = serve(|b| b.build()).await;
    let r = send(
        plain,
        "OPTIONS",
        "/v1/preflight",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(figures(&r), (1000, 332));
    let r = send(plain, "OPTIONS", "/v1/preflight", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_rejection_hook_shapes_answers_and_keeps_the_fields() {
    let hook = |b: Builder| {
        b.on_rejection(|rejection| {
            let id = rejection.request_id().to_owned();
            match rejection.reason() {
                Reason::Limited(d) if d.outcome() == Outcome::TableFull => {
                    let mut r = rejection.into_response();
                    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    r
                }
                // A plain-text answer of the hook's own: the layer still
                // sets the figures on it.
                Reason::Limited(_) => http::Response::builder()
                    .status(StatusCode::TOO_MANY_REQUESTS)
                    .header("x-hook", "limited")
                    .body(bytes::Bytes::from("slow down"))
                    .unwrap(),
                Reason::MissingKey => {
                    let mut r = rejection.into_response();
                    r.headers_mut()
                        .insert("x-hook", HeaderValue::from_str(&id).unwrap());
                    r
                }
                _ => rejection.into_response(),
            }
        })
        .build()
    };
    let addr = serve(hook).await;
    let auth = bearer("key_1");
    for _ in 0..20 {
        send(addr, "POST", "/v1/companies", &[("authorization", &auth)]).await;
    }
    let r = send(addr, "POST", "/v1/companies", &[("authorization", &auth)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(&r.body[..], b"slow down");
    assert_eq!(field(&r, "x-hook"), Some("limited"));
    assert_eq!(figures(&r), (60, 0));
    assert_eq!(field(&r, "retry-after"), Some("10"));
    // The default answer, changed: the request id is the one it carries.
    let r = send(addr, "GET", "/v1/companies", &[("x-request-id", "req_abc")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(field(&r, "x-hook"), Some("req_abc"));
    assert_eq!(json(&r)["error"]["request_id"], "req_abc");
    // A full table: 503, with the figures.
    let full = serve_with(1, hook, |r| r).await;
    let mut refused = None;
    for n in 0..64 {
        let r = send(
            full,
            "POST",
            "/v1/companies",
            &[("authorization", &bearer(&format!("k{n}")))],
        )
        .await;
        if r.status != StatusCode::OK {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a table of capacity 1 fills");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&r)["error"]["code"], "rate_limited");
    assert_eq!(field(&r, "retry-after"), Some("1"));
}

#[tokio::test]
async fn the_decision_reaches_the_handler_when_asked() {
    let auth = bearer("key_1");
    let on = serve(|b| b.decision_extension(true).build()).await;
    let r = send(on, "GET", "/v1/decision", &[("authorization", &auth)]).await;
    assert_eq!(&r.body[..], b"Allowed 332");
    let off = serve(|b| b.build()).await;
    let r = send(off, "GET", "/v1/decision", &[("authorization", &auth)]).await;
    assert_eq!(&r.body[..], b"none");
}

#[tokio::test]
async fn a_refused_request_with_an_unread_body_closes_its_connection() {
    let addr = serve(|b| b.build()).await;
    let auth = bearer("key_1");
    let mut conn = Connection::open(addr).await.unwrap();
    for _ in 0..20 {
        let r = conn
            .send("POST", "/v1/companies", &[("authorization", &auth)])
            .await
            .unwrap();
        assert_eq!(field(&r, "connection"), None);
    }
    // The 21st write is refused on its head; its body is unread.
    let r = conn
        .send("POST", "/v1/companies", &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(field(&r, "connection"), Some("close"));
    // A refused request without a body keeps its connection.
    let r = conn.send("GET", "/v1/companies", &[]).await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(field(&r, "connection"), None);
}
