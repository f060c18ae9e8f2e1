//! Instructions per request of the layer, for `valgrind --tool=callgrind`:
//! the layer's service and response future around a trivial inner service,
//! against the same inner service called directly.
//!
//! ```text
//! bin=$(cargo bench -p tollgate-bench --bench layer_instructions --no-run 2>&1 |
//!     sed -n 's/.*(\(.*layer_instructions-[0-9a-f]*\)).*/\1/p')
//! for row in bare reference_1k load_1 bare_body governor_1k governor_1k_no_headers; do
//!     for n in 0 100000; do
//!         valgrind --tool=callgrind --callgrind-out-file=/dev/null $bin $row $n 2>&1 |
//!             awk -v row=$row -v n=$n '/Collected/ { print row, n, $NF }'
//!     done
//! done
//! ```
//!
//! A row's instructions per request are `(I(100000) - I(0)) / 100000`, so
//! the setup is not counted; the layer's cost is a layer row's figure less
//! the `bare` row's (which builds, serves and drops the same requests
//! without the layer). Rows:
//!
//! - `bare`: no layer.
//! - `reference_1k`: the reference policy, 1,000 keys visited in turn
//!   (`X-RateLimit-Limit: 1000`, small `Remaining`).
//! - `load_1`: `scripts/load-policy.toml`, the one key of `scripts/load.sh` (every
//!   value a 10-digit number, as in the load test).
//! - `bare_body`: no layer, the same answer with axum's body type, which
//!   tower_governor needs (its error answer is made from it).
//! - `governor_1k`: tower_governor over `bare_body`'s service, configured
//!   as `governor_server` serves it (the same key, an open quota, the
//!   `x-ratelimit-limit` and `-remaining` fields), 1,000 keys visited in
//!   turn; its cost is this row less `bare_body`.
//! - `governor_1k_no_headers`: the same without the fields.
//!
//! With the `tower-tracing` or `tower-metrics` feature of this crate
//! (`cargo bench ... --features tower-metrics --no-run`), the rows measure
//! the layer with that feature of tollgate-tower on: no subscriber, and no
//! recorder unless `recorder` follows the count (`$bin load_1 100000
//! recorder`), which installs one of counters and gauges on atomics
//! before the layer is built. The rows admit every request, so no event
//! is ever made: they measure what the features cost an admission.
//!
//! At most 333 requests per key in 10 seconds are admitted under the
//! reference policy: keep ITERATIONS at or below 300,000 for `reference_1k`
//! so that every request is admitted. The limiter reads `SystemClock`:
//! the default `CoarseClock` reads the vDSO through rustix, which crashes
//! under valgrind.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use tollgate::{Limiter, Policy, SystemClock};
use tollgate_tower::TollgateLayer;
use tower::{service_fn, Layer, Service};
use tower_governor::GovernorLayer;

#[path = "support/governor_setup.rs"]
mod governor_setup;

/// A waker for futures that are always ready.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// What the example server's handlers answer, less the body's bytes: a
/// response with a JSON body and its content type.
fn handler(_: Request<()>) -> Ready<Result<Response<Bytes>, Infallible>> {
    let mut response = Response::new(Bytes::from_static(br#"{"id":1,"name":"Acme"}"#));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    ready(Ok(response))
}

/// [`handler`]'s answer with axum's body type.
fn handler_body(request: Request<()>) -> Ready<Result<Response<Body>, Infallible>> {
    let response = handler(request).into_inner().map(|r| r.map(Body::from));
    ready(response)
}

/// Calls `service` once per key, `iterations` times in all, polling each
/// response future to completion and dropping the response.
fn run<S, B>(mut service: S, keys: &[HeaderValue], iterations: u64)
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
{
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    for key in keys
        .iter()
        .cycle()
        .take(usize::try_from(iterations).unwrap())
    {
        let mut request = Request::get("/v1/companies/1").body(()).unwrap();
        request.headers_mut().insert(AUTHORIZATION, key.clone());
        assert!(service.poll_ready(&mut cx).is_ready());
        let mut future = pin!(service.call(black_box(request)));
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(response)) => drop(black_box(response)),
            _ => unreachable!("the inner service is always ready"),
        }
    }
}

/// [`run`] after one request of every key, so that the layer tracks
/// every key before counting starts.
fn run_tracked<S, B>(service: S, keys: &[HeaderValue], iterations: u64)
where
    S: Service<Request<()>, Response = Response<B>, Error = Infallible> + Clone,
{
    run(service.clone(), keys, u64::try_from(keys.len()).unwrap());
    run(service, keys, iterations);
}

fn keys(n: usize) -> Vec<HeaderValue> {
    (0..n)
        .map(|i| HeaderValue::try_from(format!("Bearer key_{i}")).unwrap())
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(row), Some(iterations)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        // `cargo bench` passes `--bench`: list the rows and return.
        println!(
            "layer_instructions: run under callgrind with ROW ITERATIONS (rows: bare, reference_1k, load_1, bare_body, governor_1k, governor_1k_no_headers)"
        );
        return;
    };
    if args.get(2).is_some_and(|a| a == "recorder") {
        #[cfg(feature = "tower-metrics")]
        recorder::install();
        #[cfg(not(feature = "tower-metrics"))]
        {
            eprintln!("a recorder needs the tower-metrics feature");
            std::process::exit(2);
        }
    }
    let inner = service_fn(handler);
    let limited = |policy: Policy| {
        let limiter = Limiter::builder(policy)
            .clock(SystemClock)
            .capacity(4096)
            .build()
            .unwrap();
        TollgateLayer::new(limiter).layer(inner)
    };
    match row.as_str() {
        "bare" => run(inner, &keys(1_000), iterations),
        "reference_1k" => {
            run_tracked(limited(Policy::default()), &keys(1_000), iterations);
        }
        "load_1" => {
            let policy =
                Policy::from_toml_str(include_str!("../../scripts/load-policy.toml")).unwrap();
            let keys = vec![HeaderValue::from_static("Bearer key_load")];
            run_tracked(limited(policy), &keys, iterations);
        }
        "bare_body" => run(service_fn(handler_body), &keys(1_000), iterations),
        "governor_1k" => {
            let config = governor_setup::config(Duration::from_nanos(1), u32::MAX)
                .use_headers()
                .finish()
                .unwrap();
            let service = GovernorLayer::new(config).layer(service_fn(handler_body));
            run_tracked(service, &keys(1_000), iterations);
        }
        "governor_1k_no_headers" => {
            let config = governor_setup::config(Duration::from_nanos(1), u32::MAX)
                .finish()
                .unwrap();
            let service = GovernorLayer::new(config).layer(service_fn(handler_body));
            run_tracked(service, &keys(1_000), iterations);
        }
        other => {
            eprintln!("unknown row {other:?}");
            std::process::exit(2);
        }
    }
}

/// A recorder whose counters and gauges are atomics, as a metrics
/// exporter's are.
#[cfg(feature = "tower-metrics")]
mod recorder {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    struct Atomics;

    impl Recorder for Atomics {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(AtomicU64::new(0)))
        }

        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(Arc::new(AtomicU64::new(0)))
        }

        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    /// Installs the recorder for the whole process.
    pub(crate) fn install() {
        metrics::set_global_recorder(Atomics).expect("the first recorder");
    }
}
