//! The layer behind tower-http's `CorsLayer`, over loopback sockets: the
//! example API served by axum on an ephemeral port, called by hyper's
//! HTTP/1.1 client with an `Origin`, as a browser calls it.
//!
//! Both ways of putting the CORS layer outside the limiter (added after it
//! with `Router::layer`, or wrapping the layer that wraps the whole
//! router) are checked for:
//!
//! - preflights answered 200 without a key, and not counted: the next
//!   write's and read's `X-RateLimit-Remaining` are what they would have
//!   been without them (under the reference policy `OPTIONS` is a read);
//! - `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`
//!   on admitted responses and on the layer's own answers, the 429 and
//!   the 401 included, and every field the layer writes listed in
//!   [`EXPOSE_HEADERS`].
//!
//! And the opposite order, to show what it breaks: the limiter refuses
//! preflights with a 401 (unless `OPTIONS` is exempt), and its 429
//! carries no CORS field.
//!
//! Time comes from a `ManualClock` that never moves.

#[path = "../examples/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use tollgate::{Limiter, ManualClock, Policy};
use tollgate_tower::{TollgateLayer, EXPOSE_HEADERS, X_API_KEY, X_REQUEST_ID};
use tower::{Layer, ServiceBuilder};
use tower_http::cors::CorsLayer;

use support::app;
use support::client::{Connection, Reply};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

/// The origin of the page that calls the API.
const ORIGIN: &str = "https://app.example";

/// Where the CORS layer goes.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// `routes.layer(tollgate).layer(cors)`: CORS outside, through axum.
    RouterLayers,
    /// `cors.layer(tollgate.layer(routes))`: CORS outside, the limiter
    /// wrapping the whole router (as the example server does).
    WholeRouter,
    /// `routes.layer(cors).layer(tollgate)`: the limiter outside.
    LimiterOutside,
    /// The same, with `OPTIONS` exempt from the limiter.
    LimiterOutsideOptionsExempt,
}

/// The two orders that work.
const CORS_OUTSIDE: [Order; 2] = [Order::RouterLayers, Order::WholeRouter];

/// The CORS settings a deployment of the example API would use.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(HeaderValue::from_static(ORIGIN))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, X_API_KEY, X_REQUEST_ID])
        .expose_headers(EXPOSE_HEADERS)
}

/// The example API with the reference policy, the IETF fields and the
/// clock at `T`, composed with CORS in `order`, on a loopback port.
async fn serve(order: Order) -> SocketAddr {
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Arc::new(
        Limiter::builder(Policy::default())
            .clock(clock)
            .capacity(100)
            .build()
            .unwrap(),
    );
    let routes: Router = app::routes();
    let spawned = match order {
        Order::RouterLayers => {
            let layer = TollgateLayer::builder(limiter).ietf_headers(true).build();
            app::spawn(routes.layer(layer).layer(cors())).await
        }
        Order::WholeRouter => {
            let layer = TollgateLayer::builder(limiter)
                .ietf_headers(true)
                .inner_body()
                .build();
            let service = ServiceBuilder::new()
                .layer(cors())
                .service(layer.layer(routes));
            app::spawn(service).await
        }
        Order::LimiterOutside => {
            let layer = TollgateLayer::builder(limiter).ietf_headers(true).build();
            app::spawn(routes.layer(cors()).layer(layer)).await
        }
        Order::LimiterOutsideOptionsExempt => {
            let layer = TollgateLayer::builder(limiter)
                .ietf_headers(true)
                .exempt_method(Method::OPTIONS)
                .build();
            app::spawn(routes.layer(cors()).layer(layer)).await
        }
    };
    spawned.unwrap()
}

/// One request on a connection of its own, with `Origin`.
async fn send(addr: SocketAddr, method: &str, fields: &[(&str, &str)]) -> Reply {
    let mut all = vec![("origin", ORIGIN)];
    all.extend_from_slice(fields);
    Connection::open(addr)
        .await
        .unwrap()
        .send(method, "/v1/companies", &all)
        .await
        .unwrap()
}

/// A browser's preflight for `method` with `Authorization` and JSON: no
/// key, no body.
async fn preflight(addr: SocketAddr, method: &str) -> Reply {
    send(
        addr,
        "OPTIONS",
        &[
            ("access-control-request-method", method),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ],
    )
    .await
}

async fn post(addr: SocketAddr, fields: &[(&str, &str)]) -> Reply {
    let mut all = vec![("authorization", "Bearer key_1")];
    all.extend_from_slice(fields);
    send(addr, "POST", &all).await
}

async fn get(addr: SocketAddr) -> Reply {
    send(addr, "GET", &[("authorization", "Bearer key_1")]).await
}

/// The value of `name`, which must be there once.
fn header<'r>(r: &'r Reply, name: &str) -> &'r str {
    let mut values = r.headers.get_all(name).iter();
    let value = values.next().unwrap_or_else(|| panic!("no {name}: {r:?}"));
    assert!(values.next().is_none(), "{name} twice: {r:?}");
    value.to_str().unwrap()
}

/// A comma-separated list, lowercase.
fn list(value: &str) -> BTreeSet<String> {
    value
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

/// The response is readable by a page on `ORIGIN`, with every field the
/// layer writes: CORS lets the origin in, exposes exactly
/// [`EXPOSE_HEADERS`], and every field present is exposed, CORS's own,
/// safelisted, the server's `Date`, the connection's `Connection`
/// (which `fetch` never shows), or the 401's `WWW-Authenticate` (left
/// out of the list on purpose: the body says the same).
fn assert_readable(r: &Reply) {
    assert_eq!(header(r, "access-control-allow-origin"), ORIGIN, "{r:?}");
    let exposed = list(header(r, "access-control-expose-headers"));
    let expected: BTreeSet<String> = EXPOSE_HEADERS.iter().map(|n| n.to_string()).collect();
    assert_eq!(exposed, expected);
    for name in r.headers.keys() {
        let name = name.as_str();
        assert!(
            exposed.contains(name)
                || name.starts_with("access-control-")
                || [
                    "vary",
                    "date",
                    "connection",
                    "content-type",
                    "content-length"
                ]
                .contains(&name)
                || (r.status == 401 && name == "www-authenticate"),
            "{name} is not exposed: {r:?}"
        );
    }
}

#[tokio::test]
async fn preflights_are_answered_and_not_counted() {
    for order in CORS_OUTSIDE {
        let addr = serve(order).await;
        let r = post(addr, &[]).await;
        assert_eq!(r.status, 201, "{order:?}: {r:?}");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "19");

        for method in ["POST", "GET", "PATCH", "DELETE", "POST"] {
            let r = preflight(addr, method).await;
            // Answered by CORS, without a key: not the limiter's 401.
            assert_eq!(r.status, 200, "{order:?}: {r:?}");
            assert_eq!(header(&r, "access-control-allow-origin"), ORIGIN);
            let methods = list(header(&r, "access-control-allow-methods"));
            assert!(methods.contains(&method.to_ascii_lowercase()), "{r:?}");
            let allowed = list(header(&r, "access-control-allow-headers"));
            assert!(allowed.contains("authorization") && allowed.contains("content-type"));
            for name in ["www-authenticate", "x-ratelimit-limit", "x-request-id"] {
                assert!(!r.headers.contains_key(name), "{order:?}: {r:?}");
            }
        }

        // Neither class counted the preflights: the write class has one
        // write, the read class (OPTIONS's) nothing.
        let r = post(addr, &[]).await;
        assert_eq!(r.status, 201, "{order:?}: {r:?}");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "18", "{order:?}");
        let r = get(addr).await;
        assert_eq!(r.status, 200, "{order:?}: {r:?}");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "332", "{order:?}");
    }
}

#[tokio::test]
async fn every_answer_is_readable_cross_origin() {
    for order in CORS_OUTSIDE {
        let addr = serve(order).await;
        for n in 1..=20 {
            let r = post(addr, &[]).await;
            assert_eq!(r.status, 201, "{order:?}: {r:?}");
            assert_eq!(header(&r, "x-ratelimit-remaining"), (20 - n).to_string());
            assert_readable(&r);
        }

        // The layer's 429: CORS fields on it, and every field it has
        // exposed.
        let r = post(addr, &[("x-request-id", "page-21")]).await;
        assert_eq!(r.status, 429, "{order:?}: {r:?}");
        assert_readable(&r);
        assert_eq!(header(&r, "retry-after"), "10");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
        assert_eq!(header(&r, "x-request-id"), "page-21");
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-reset",
            "ratelimit",
            "ratelimit-policy",
        ] {
            header(&r, name);
        }

        // The layer's 401 for a request without a key, too.
        let r = send(addr, "POST", &[]).await;
        assert_eq!(r.status, 401, "{order:?}: {r:?}");
        assert_readable(&r);
        header(&r, "x-request-id");
    }
}

/// What the opposite order breaks: the documented reason for the order.
/// Exempting `OPTIONS` lets preflights through, but the 429 still has
/// no CORS field.
#[tokio::test]
async fn the_limiter_outside_cors_hides_its_429() {
    for order in [Order::LimiterOutside, Order::LimiterOutsideOptionsExempt] {
        let addr = serve(order).await;
        let r = preflight(addr, "POST").await;
        if let Order::LimiterOutside = order {
            assert_eq!(r.status, 401, "{r:?}");
            assert!(!r.headers.contains_key("access-control-allow-origin"));
        } else {
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(header(&r, "access-control-allow-origin"), ORIGIN);
        }

        for _ in 0..20 {
            assert_eq!(post(addr, &[]).await.status, 201);
        }
        let r = post(addr, &[]).await;
        assert_eq!(r.status, 429, "{order:?}: {r:?}");
        // A browser hides this 429 from the page: no Allow-Origin.
        assert!(!r.headers.contains_key("access-control-allow-origin"));
        assert!(!r.headers.contains_key("access-control-expose-headers"));
    }
}
