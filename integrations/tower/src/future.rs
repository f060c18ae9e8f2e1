//! The response future: the inner service's, with the rate-limit fields
//! added to its response, or the layer's own answer.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use crate::body::{BodyMode, WrapBody};
use crate::response::RateFields;

pin_project! {
    /// The future of [`Tollgate`](crate::Tollgate)'s responses. It does
    /// not allocate: the inner future is held inline.
    #[derive(Debug)]
    pub struct ResponseFuture<F, M = WrapBody> {
        #[pin]
        kind: Kind<F>,
        // How the response's body is typed (`BodyMode`): a type only.
        mode: PhantomData<fn() -> M>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Inner { #[pin] future: F, fields: Option<RateFields> },
        // Boxed: the layer's own answers are the rare path, and inline they
        // would make every response future as large as a whole response.
        Ready { response: Option<Box<Response<Bytes>>> },
    }
}

impl<F, M> ResponseFuture<F, M> {
    /// The inner service's response, with `fields` added (if any).
    pub(crate) fn inner(future: F, fields: Option<RateFields>) -> Self {
        Self {
            kind: Kind::Inner { future, fields },
            mode: PhantomData,
        }
    }

    /// The layer's own response; the inner service is not called.
    pub(crate) fn ready(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Ready {
                response: Some(Box::new(response)),
            },
            mode: PhantomData,
        }
    }
}

impl<F, B, E, M> Future for ResponseFuture<F, M>
where
    F: Future<Output = Result<Response<B>, E>>,
    M: BodyMode<B>,
{
    type Output = Result<Response<M::Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, fields } => {
                let mut response = match future.poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                };
                if let Some(fields) = fields.take() {
                    fields.apply(response.headers_mut());
                }
                Poll::Ready(Ok(response.map(M::inner)))
            }
            KindProj::Ready { response } => {
                // Polled again after completion: an empty response rather
                // than a panic.
                let response = response.take().map_or_else(Response::default, |r| *r);
                Poll::Ready(Ok(response.map(M::own)))
            }
        }
    }
}
