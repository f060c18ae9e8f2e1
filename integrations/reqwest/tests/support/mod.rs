//! What the middleware's tests share: the example API server on a
//! loopback port with a policy of short windows and the system clock,
//! a log of what it answered, and a client middleware that logs every
//! attempt the pacing middleware lets through.

#![allow(dead_code, reason = "each test file uses part of the support")]

/// The example API of `integrations/tower` (what `api_server` serves),
/// included from beside the examples rather than copied, so that these
/// tests call the very server the examples run. It stays beside the
/// examples, which a reader of `api_server.rs` opens, rather than in the
/// unpublished `tollgate-test-support`, where the examples would have to
/// import it from; the tower crate's own end-to-end tests include it the
/// same way.
#[path = "../../../tower/examples/support/app.rs"]
mod app;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use http::Extensions;
use reqwest::Response;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use tollgate::{Limiter, Policy, SystemClock};
use tollgate_reqwest::PacingMiddleware;
use tollgate_tower::TollgateLayer;
use tower::ServiceExt;

/// The reference policy's shape (a long window and a burst window per
/// class), in seconds rather than minutes so that a test sees several
/// windows in a few seconds.
pub(crate) const SHORT_WINDOWS: &str = r#"
[classes.read]
methods = ["GET", "HEAD", "OPTIONS"]
limit = 12
window = "2s"
burst = { limit = 8, window = "1s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 6
window = "2s"
burst = { limit = 4, window = "1s" }
"#;

/// Two writes a day: a key runs out at once and stays out.
pub(crate) const TWO_A_DAY: &str = r#"
[classes.read]
methods = ["GET", "HEAD", "OPTIONS"]
limit = 1000
window = "1m"

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 2
window = "1d"
"#;

/// How long each answer of the example server takes to reach the
/// client, after the limiter has counted the request: loopback answers
/// in microseconds, faster than a client's tasks wake, which would hide
/// what pacing does about calls in flight.
pub(crate) const LATENCY: Duration = Duration::from_millis(20);

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) key: String,
    pub(crate) method: String,
    pub(crate) status: u16,
    /// The wall clock just before the request entered the layer and just
    /// after it was answered: the limiter decided between the two.
    pub(crate) before: Duration,
    pub(crate) after: Duration,
}

/// The example API behind the tollgate layer, on 127.0.0.1 and an
/// ephemeral port, served until the test's runtime ends.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) policy: Policy,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn wall() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    /// Serves the example API under `policy` (TOML), with a limiter on the
    /// system clock, so that the server and the client agree on every
    /// window boundary to the microsecond.
    pub(crate) async fn start(policy: &str) -> Self {
        let policy = Policy::from_toml_str(policy).expect("a valid policy");
        let limiter = Limiter::builder(policy.clone())
            .clock(SystemClock)
            .build()
            .expect("a limiter");
        let layer = TollgateLayer::builder(Arc::new(limiter))
            .inner_body()
            .build();
        let api = app::app(layer);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let logged = tower::service_fn(move |request: Request| {
            let (api, log) = (api.clone(), Arc::clone(&log));
            async move {
                let key = request
                    .headers()
                    .get("x-api-key")
                    .or_else(|| request.headers().get("authorization"))
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default();
                let method = request.method().to_string();
                let before = wall();
                let response = api.oneshot(request).await?;
                let after = wall();
                // The answer takes a network's time to come back, so that
                // the tasks of a client have calls in flight.
                tokio::time::sleep(LATENCY).await;
                lock(&log).push(Seen {
                    key,
                    method,
                    status: response.status().as_u16(),
                    before,
                    after,
                });
                Ok::<_, Infallible>(response)
            }
        });
        let addr = app::spawn(logged).await.expect("a loopback port");
        Self { addr, policy, seen }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request the server answered so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    /// Checks that, for `key` and the class of `method`, no window of the
    /// policy admitted more than its limit, counting each admitted
    /// request in the window the limiter surely decided it in (both ends
    /// of its time in the server fall in that window; a request that
    /// straddles a boundary is not counted). Returns the admitted count
    /// per window of the longest length.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "window indices of today's time, and counts of a few calls"
    )]
    pub(crate) fn assert_windows_held(&self, key: &str, method: &str) -> BTreeMap<u64, u32> {
        let class = self
            .policy
            .class_for_method(method)
            .expect("a class for the method");
        let windows: Vec<(u64, u32)> = self
            .policy
            .class_policy(class)
            .expect("the class's policy")
            .windows()
            .iter()
            .map(|w| (w.length().as_secs(), w.limit()))
            .collect();
        let mut longest = BTreeMap::new();
        for (length, limit) in &windows {
            let mut count: BTreeMap<u64, u32> = BTreeMap::new();
            for s in self.seen() {
                if s.key != key || s.method != method || s.status == 429 {
                    continue;
                }
                let (a, b) = (s.before.as_secs() / length, s.after.as_secs() / length);
                if a == b {
                    *count.entry(a).or_default() += 1;
                }
            }
            for (window, admitted) in &count {
                assert!(
                    admitted <= limit,
                    "{admitted} admitted in window {window} of {length} s (limit {limit})"
                );
            }
            if Some(*length) == windows.iter().map(|w| w.0).max() {
                longest = count;
            }
        }
        longest
    }
}

/// One attempt that the pacing middleware let through, as the middleware
/// under it saw it.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The call it belongs to (its `x-call` header); retries share it.
    pub(crate) call: String,
    pub(crate) key: String,
    pub(crate) sent: Instant,
    pub(crate) answered: Instant,
    pub(crate) status: u16,
    /// `Retry-After` in seconds, when the answer had one.
    pub(crate) retry_after: Option<u64>,
}

/// A middleware placed under the pacing middleware: it logs each attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts(Arc<Mutex<Vec<Attempt>>>);

impl Attempts {
    pub(crate) fn all(&self) -> Vec<Attempt> {
        lock(&self.0).clone()
    }
}

#[async_trait::async_trait]
impl Middleware for Attempts {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        let (call, key) = (header("x-call"), header("x-api-key"));
        let sent = Instant::now();
        let response = next.run(request, extensions).await?;
        let answered = Instant::now();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        lock(&self.0).push(Attempt {
            call,
            key,
            sent,
            answered,
            status: response.status().as_u16(),
            retry_after,
        });
        Ok(response)
    }
}

/// A client with `pacing` over an attempt log.
pub(crate) fn client(pacing: PacingMiddleware, attempts: &Attempts) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(pacing)
        .with(attempts.clone())
        .build()
}

/// Sleeps until 50 ms after the next boundary of the windows of
/// `length`, so that what follows has the rest of a fresh window.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "the remainder is less than the length"
)]
pub(crate) async fn start_of_window(length: Duration) {
    let now = wall();
    let length = length.as_nanos().max(1);
    let into = now.as_nanos() % length;
    let left = u64::try_from(length - into).unwrap_or(0);
    tokio::time::sleep(Duration::from_nanos(left) + Duration::from_millis(50)).await;
}

/// Writes with a plain client (no middleware) on `key` until the server
/// refuses one; returns how many it admitted.
pub(crate) async fn spend(server: &Server, key: &str) -> usize {
    let plain = reqwest::Client::new();
    for admitted in 0..100 {
        let response = plain
            .post(server.url("/v1/companies"))
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(r#"{"name":"Spent"}"#)
            .send()
            .await
            .expect("an answer");
        if response.status() == 429 {
            return admitted;
        }
    }
    panic!("the server never refused {key}");
}
