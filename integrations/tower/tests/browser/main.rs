//! A page in headless Chromium calls the example API on another origin
//! with `fetch`, pacing itself on the rate-limit fields with the pacing
//! and retry code that the API's rate-limit documentation gives its
//! clients, as plain JavaScript (`tests/browser/pacing.js`).
//!
//! The page is served from `127.0.0.1:A`, the API from `127.0.0.1:B`:
//! another port, so another origin, and every call is a CORS request with
//! `Authorization`, so the browser sends preflights. The API is the
//! example routes, wrapped whole by the layer, which tower-http's
//! `CorsLayer` (with [`EXPOSE_HEADERS`]) wraps in turn. Its policy is the
//! reference policy with time divided by ten: writes 60 per 6 s and 20
//! per 1 s, per key. Two keys, four workers each: one group pre-pacing
//! under a Remaining of 5, as the rate-limit page's code does; the other
//! only once Remaining is 0, so that its workers meet 429s. The run starts
//! at a multiple of 6 s and lasts 7, so that each key spends a 6-second
//! window and sees the next open. Checked, from the page's report and the
//! server's counts:
//!
//! - the page read the fields: `X-RateLimit-Limit`, `-Remaining` and
//!   `-Reset` on every response, and `Retry-After`, `X-Request-Id` and
//!   the JSON body on every 429 (without CORS exposing them, `fetch`
//!   reads `null`);
//! - it paced: each key has waits until `X-RateLimit-Reset` when
//!   Remaining ran low, one of them for the 6-second window, and every
//!   such wait ended at or after the reset;
//! - the 429s it met were expected ones, each honoured. With several
//!   workers sharing a key, a worker whose last response left room can
//!   have a call in flight when another spends the window, and be
//!   refused; a worker that was refused waits out the window that refused
//!   it. So a worker meets at most one 429 per window (told apart by the
//!   429's `X-RateLimit-Reset`, the end of the window that refused it),
//!   and its next call leaves `Retry-After` seconds or more later, with
//!   at most 500 ms of jitter on top. Pre-pacing does not rule them out:
//!   `X-RateLimit-Reset` is the end of the window with the least room, and
//!   when that one opens, the 6-second window may have less room left than
//!   there are workers calling at once. Nothing else is expected: no other
//!   status, no failed `fetch`. The workers that pace only at 0 meet at
//!   least one 429;
//! - preflights reached the server and were answered by CORS: none
//!   reached the limiter.
//!
//! The limiter reads `SystemClock`, the wall clock the page's
//! `Date.now()` reads, so that a call made at `X-RateLimit-Reset` on the
//! page's clock arrives in the new window on the server's. (The default
//! `CoarseClock` may read a few milliseconds behind; the example clients
//! add 50 ms to such waits, the page's code nothing.)
//!
//! Without `chromium` the test skips with a message, or fails under CI
//! (`ci/chromium.sh` installs it). It runs for 7 to 13 seconds: up to 6
//! waiting for a 6-second boundary, then the run.

#[path = "../../examples/support/mod.rs"]
mod support;

mod report;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tollgate::{Limiter, Policy, SystemClock};
use tollgate_test_support::chromium::{self, Chromium};
use tollgate_tower::{TollgateLayer, EXPOSE_HEADERS, X_REQUEST_ID};
use tower::{Layer, ServiceBuilder};
use tower_http::cors::CorsLayer;

use report::{Expect, Findings, Report};
use support::app;

/// The reference policy with time divided by ten.
const POLICY: &str = r#"
[classes.read]
methods = ["GET", "HEAD", "OPTIONS"]
limit = 1000
window = "6s"
burst = { multiplier = 2, window = "1s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 60
window = "6s"
burst = { multiplier = 2, window = "1s" }
"#;

/// The write class's windows, in milliseconds.
const WINDOW_MS: u64 = 6_000;
const BURST_MS: u64 = 1_000;

/// How long the page's workers start calls, from a multiple of
/// `WINDOW_MS`.
const RUN_MS: u64 = 7_000;

/// What the run must show besides.
const EXPECT: Expect = Expect {
    limit: 60,
    burst_ms: BURST_MS,
    jitter_ms: 500.0,
    slack_ms: 2,
};

/// The key groups: key, workers, the Remaining under which they pre-pace.
const GROUPS: [(&str, u32, u32); 2] = [("key_pacing", 4, 5), ("key_at_zero", 4, 1)];

/// How long the test waits for the page's report.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// `OPTIONS` requests seen in front of the CORS layer and behind it.
#[derive(Debug, Default)]
struct Preflights {
    outside: AtomicU64,
    inside: AtomicU64,
}

/// The example API with the test's policy on the system clock: the
/// routes wrapped by the layer, wrapped by CORS for `page`, with
/// `OPTIONS` counted on both sides of CORS.
async fn serve_api(page: &str, preflights: &Arc<Preflights>) -> SocketAddr {
    let limiter = Limiter::builder(Policy::from_toml_str(POLICY).unwrap())
        .clock(SystemClock)
        .capacity(100)
        .build()
        .unwrap();
    let tollgate = TollgateLayer::builder(Arc::new(limiter))
        .inner_body()
        .build();
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(page).unwrap())
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, X_REQUEST_ID])
        .expose_headers(EXPOSE_HEADERS);
    let (outside, inside) = (Arc::clone(preflights), Arc::clone(preflights));
    let service = ServiceBuilder::new()
        .map_request(move |r: Request| {
            if r.method() == Method::OPTIONS {
                // Relaxed: a count read after the run; it orders nothing.
                outside.outside.fetch_add(1, Ordering::Relaxed);
            }
            r
        })
        .layer(cors)
        .map_request(move |r: Request| {
            if r.method() == Method::OPTIONS {
                // Relaxed: as above.
                inside.inside.fetch_add(1, Ordering::Relaxed);
            }
            r
        })
        .service(tollgate.layer(app::routes()));
    app::spawn(service).await.unwrap()
}

/// The page's origin: the page, its script, its configuration, and where
/// it posts its report (handed to `reports`).
fn page_routes(config: Value, reports: mpsc::UnboundedSender<Bytes>) -> Router {
    let html = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE);
    let js = ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT);
    Router::new()
        .route("/", get(move || async move { html }))
        .route("/pacing.js", get(move || async move { js }))
        .route("/config", get(move || async move { axum::Json(config) }))
        .route("/report", post(report))
        .with_state(reports)
}

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("pacing.js");

async fn report(State(reports): State<mpsc::UnboundedSender<Bytes>>, body: Bytes) -> StatusCode {
    let _ = reports.send(body);
    StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_paces_on_the_exposed_fields() {
    const TEST: &str = "a_page_on_another_origin_paces_on_the_exposed_fields";
    if !chromium::available(TEST) {
        return;
    }
    let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page = format!("http://{}", page_listener.local_addr().unwrap());
    let preflights = Arc::new(Preflights::default());
    let api = serve_api(&page, &preflights).await;
    let config = json!({
        "api": format!("http://{api}"),
        "align_ms": WINDOW_MS,
        "run_ms": RUN_MS,
        "groups": GROUPS.map(|(key, workers, threshold)| json!({
            "key": key, "workers": workers, "threshold": threshold,
        })),
    });
    let (reports, mut received) = mpsc::unbounded_channel();
    tokio::spawn(app::serve(page_listener, page_routes(config, reports)));

    let browser = Chromium::open(TEST, &format!("{page}/")).expect("chromium is available");
    let body = match tokio::time::timeout(REPORT_TIMEOUT, received.recv()).await {
        Ok(Some(body)) => body,
        _ => panic!(
            "no report from the page within {REPORT_TIMEOUT:?}; chromium's log:\n{}",
            browser.log()
        ),
    };
    drop(browser);
    let report: Report = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    assert_eq!(report.error, None, "the page failed");
    assert_eq!(report.start % WINDOW_MS, 0);

    assert_eq!(report.groups.len(), GROUPS.len());
    let mut problems = Vec::new();
    for group in &report.groups {
        let f = Findings::of(group, EXPECT);
        eprintln!(
            "{}: {} calls, {} admitted, {} refused (429), {} pre-pacing waits ({} for the 6 s window)",
            group.key,
            group.calls.len(),
            f.admitted,
            f.refused,
            f.pace_waits,
            f.window_waits
        );
        if f.window_waits == 0 {
            problems.push(format!("{}: never waited for the 6 s window", group.key));
        }
        if group.threshold == 1 && f.refused == 0 {
            problems.push(format!("{}: met no 429 to honour", group.key));
        }
        for (kind, calls) in &f.problems {
            let some = calls[..calls.len().min(3)].join(", ");
            problems.push(format!(
                "{}: {kind}: {} calls, {some}",
                group.key,
                calls.len()
            ));
        }
    }
    // Relaxed: the server's tasks are done with these counts by now.
    let outside = preflights.outside.load(Ordering::Relaxed);
    let inside = preflights.inside.load(Ordering::Relaxed);
    eprintln!("preflights: {outside} answered by CORS, {inside} past it");
    if outside == 0 || inside != 0 {
        problems.push(format!(
            "OPTIONS: {outside} in front of CORS, {inside} behind it"
        ));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
