//! The inner service the layer's tests wrap: what a handler of the API
//! would do, without a runtime.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Request, Response};
use http_body_util::Full;
use tower_service::Service;

/// The body of every answer of the handler.
pub const BODY: &str = "{}";

/// Answers 200 with a JSON content type (so the response's field map
/// exists before the layer adds to it) and [`BODY`], and counts its calls.
/// Its body type is built `From<Bytes>`, so the layer can also answer in
/// it (`TollgateLayerBuilder::inner_body`).
#[derive(Debug, Clone, Default)]
pub struct Handler {
    pub calls: Arc<AtomicUsize>,
}

impl Service<Request<()>> for Handler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        std::future::ready(Ok(response))
    }
}
