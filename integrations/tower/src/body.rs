//! The response body: the inner service's, or the layer's own JSON; and
//! how a layer builds it (`BodyMode`).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The body of a response from [`Tollgate`](crate::Tollgate): the
    /// inner service's body unchanged, or the JSON error the layer answered
    /// with in one frame.
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// The inner service's body.
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A body of the layer's own.
    pub(crate) fn full(data: Bytes) -> Self {
        Self {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { data } => SizeHint::with_exact(
                data.as_ref()
                    .map_or(0, |d| u64::try_from(d.len()).unwrap_or(u64::MAX)),
            ),
        }
    }
}

/// How a [`Tollgate`](crate::Tollgate) service types its responses'
/// bodies: the inner service's body `B`, or the JSON of an answer of the
/// layer's own. Chosen when the layer is built; the two modes are
/// [`WrapBody`] (the default) and [`InnerBody`].
pub trait BodyMode<B>: sealed::Sealed {
    /// The body of the service's responses.
    type Body;
    /// The inner service's body, as a response body.
    fn inner(body: B) -> Self::Body;
    /// The body of an answer of the layer's own.
    fn own(data: Bytes) -> Self::Body;
}

/// Responses carry a [`ResponseBody`]: works with any inner body type.
/// The default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrapBody;

/// Responses carry the inner service's own body type, which builds the
/// layer's answers from their bytes (`B: From<Bytes>`: axum's `Body` and
/// `http_body_util::Full<Bytes>`, among others; not `String`).
///
/// With axum this spares a box per response: axum keeps a response body
/// that is already its `Body` as it is, and boxes any other (see
/// [`TollgateLayerBuilder::inner_body`](crate::TollgateLayerBuilder::inner_body)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InnerBody;

impl<B> BodyMode<B> for WrapBody {
    type Body = ResponseBody<B>;

    fn inner(body: B) -> ResponseBody<B> {
        ResponseBody::inner(body)
    }

    fn own(data: Bytes) -> ResponseBody<B> {
        ResponseBody::full(data)
    }
}

impl<B: From<Bytes>> BodyMode<B> for InnerBody {
    type Body = B;

    fn inner(body: B) -> B {
        body
    }

    fn own(data: Bytes) -> B {
        B::from(data)
    }
}

/// Only this crate's modes implement [`BodyMode`], so that it can grow.
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::WrapBody {}
    impl Sealed for super::InnerBody {}
}
