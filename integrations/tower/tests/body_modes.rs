//! Both body modes give the same answers: the default wrapper
//! (`ResponseBody`) and the inner service's own body type
//! (`TollgateLayerBuilder::inner_body`), for the inner service's
//! responses and for the layer's own.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tollgate::{Limiter, ManualClock, Policy};
use tollgate_tower::TollgateLayer;
use tower::{service_fn, Layer, ServiceExt};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

fn limiter() -> Arc<Limiter<ManualClock>> {
    let clock = ManualClock::new(Duration::from_secs(T));
    Arc::new(
        Limiter::builder(Policy::default())
            .clock(clock)
            .build()
            .unwrap(),
    )
}

fn post(key: &str) -> Request<Full<Bytes>> {
    Request::post("/v1/companies")
        .header("authorization", format!("Bearer {key}"))
        .header("x-request-id", "req-1")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn handler(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"{\"id\":3}"))))
}

/// Status, the rate-limit and content fields, and the body of a response.
type Seen = (StatusCode, Vec<(String, String)>, Bytes);

async fn seen<B>(response: Response<B>) -> Seen
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let mut fields: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    fields.sort();
    (
        parts.status,
        fields,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn the_inner_body_mode_answers_as_the_wrapper_does() {
    let wrapped = TollgateLayer::new(limiter()).layer(service_fn(handler));
    let inner = TollgateLayer::builder(limiter())
        .inner_body()
        .build()
        .layer(service_fn(handler));
    // 20 writes pass (the 10-second burst), the 21st is refused; then a
    // request with no key.
    for n in 0..21 {
        let a = seen(wrapped.clone().oneshot(post("key_1")).await.unwrap()).await;
        // The response type itself is the inner service's.
        let b: Response<Full<Bytes>> = inner.clone().oneshot(post("key_1")).await.unwrap();
        let b = seen(b).await;
        assert_eq!(a, b, "request {n}");
        let expected = if n < 20 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(a.0, expected, "request {n}: {a:?}");
    }
    let anonymous = || {
        Request::get("/v1/companies")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let a = seen(wrapped.oneshot(anonymous()).await.unwrap()).await;
    let b = seen(inner.oneshot(anonymous()).await.unwrap()).await;
    assert_eq!(a.0, StatusCode::UNAUTHORIZED);
    // Request ids are generated per request: compare the rest.
    let strip = |s: &Seen| {
        let body: serde_json::Value = serde_json::from_slice(&s.2).unwrap();
        let fields: Vec<_> =
            s.1.iter()
                .filter(|(n, _)| n != "x-request-id")
                .cloned()
                .collect();
        (s.0, fields, body["error"]["code"].clone())
    };
    assert_eq!(strip(&a), strip(&b));
}
