//! The layer's own answers, and the hook that may replace them.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use tollgate::Decision;

use crate::head::RequestHead;
use crate::key::KeyError;

/// Why the layer answers a request itself instead of calling the inner
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The limiter did not admit the request: a limit was reached
    /// ([`Outcome::Denied`](tollgate::Outcome::Denied)), the limiter's
    /// table was full ([`Outcome::TableFull`](tollgate::Outcome::TableFull)),
    /// the cost can never fit, or the class is not the limiter's. The
    /// decision says which.
    Limited(Decision),
    /// The request carries no key (and no peer address, with
    /// [`MissingKey::PeerIp`](crate::MissingKey::PeerIp)).
    MissingKey,
    /// The request carries a key that cannot be used.
    InvalidKey(KeyError),
    /// The request's method is in none of the policy's classes.
    MethodNotAllowed,
}

/// A request the layer answers itself, given to the
/// [`on_rejection`](crate::TollgateLayerBuilder::on_rejection) hook with
/// the answer the layer would send.
///
/// The hook returns the response to send: the default one, changed
/// ([`into_response`](Self::into_response)), or one of its own. For a
/// [`Reason::Limited`] request the layer then sets the rate-limit fields
/// (`X-RateLimit-*`, `Retry-After`, and the IETF ones when enabled) on
/// it, whatever the hook returned, since clients pace on them.
#[derive(Debug)]
pub struct Rejection<'r> {
    reason: Reason,
    head: RequestHead<'r>,
    request_id: &'r str,
    response: Response<Bytes>,
}

impl<'r> Rejection<'r> {
    pub(crate) fn new(
        reason: Reason,
        head: RequestHead<'r>,
        request_id: &'r str,
        response: Response<Bytes>,
    ) -> Self {
        Self {
            reason,
            head,
            request_id,
            response,
        }
    }

    /// Why the request is answered by the layer.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The request's head.
    pub fn request(&self) -> &RequestHead<'r> {
        &self.head
    }

    /// The request id of the default answer's body and `X-Request-Id`.
    pub fn request_id(&self) -> &'r str {
        self.request_id
    }

    /// The answer the layer would send: its status, fields and JSON body.
    pub fn response(&self) -> &Response<Bytes> {
        &self.response
    }

    /// The answer the layer would send, to send as it is or changed.
    pub fn into_response(self) -> Response<Bytes> {
        self.response
    }
}

/// The rejection hook, shared by every clone of the layer.
pub(crate) type Hook = Arc<dyn Fn(Rejection<'_>) -> Response<Bytes> + Send + Sync>;

/// The hook, if set.
#[derive(Clone, Default)]
pub(crate) struct OnRejection(pub(crate) Option<Hook>);

impl fmt::Debug for OnRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(hook)"
        } else {
            "None"
        })
    }
}
