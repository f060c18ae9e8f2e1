//! What the layer adds to a response, and the responses it makes itself.

use bytes::Bytes;
use http::header::{
    ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Version};
use serde::Serialize;
use tollgate::headers::{PolicyField, RateLimitField};
use tollgate::{Decision, Outcome};

use crate::head::RequestHead;
use crate::number;
use crate::request_id::{RequestId, X_REQUEST_ID};

/// The fields the layer may add, in the order it adds them: the
/// lowercase forms of the core's `tollgate::headers` names.
const NAMES: [HeaderName; 6] = [
    HeaderName::from_static("x-ratelimit-limit"),
    HeaderName::from_static("x-ratelimit-remaining"),
    HeaderName::from_static("x-ratelimit-reset"),
    HeaderName::from_static("retry-after"),
    HeaderName::from_static("ratelimit"),
    HeaderName::from_static("ratelimit-policy"),
];

/// The rate-limit fields of one decision, kept as numbers until the
/// response they go on exists: the response future holds this (40 bytes,
/// so the future stays small), and nothing is rendered for an inner
/// service that fails.
#[derive(Debug, Clone)]
pub(crate) struct RateFields {
    limit: u32,
    remaining: u32,
    reset: u64,
    retry_after: Option<u64>,
    /// The IETF `RateLimit` and `RateLimit-Policy` values, when enabled.
    ietf: Option<Box<[Option<HeaderValue>; 2]>>,
}

impl RateFields {
    /// `X-RateLimit-*`, and `Retry-After` on a denial: the fields of
    /// [`Decision::headers`], taken from the decision's numbers rather than
    /// through its text so that small values need no heap (a test checks
    /// that the two agree).
    pub(crate) fn of(decision: &Decision) -> Self {
        Self {
            limit: decision.limit(),
            remaining: decision.remaining(),
            reset: decision.reset(),
            retry_after: decision.retry_after(),
            ietf: None,
        }
    }

    /// Adds the IETF draft `RateLimit` and `RateLimit-Policy` fields.
    pub(crate) fn with_ietf(
        mut self,
        ratelimit: Option<RateLimitField>,
        policy: Option<PolicyField>,
    ) -> Self {
        // The core renders quoted tokens and digits: always valid values.
        self.ietf = Some(Box::new([
            ratelimit.and_then(|f| HeaderValue::from_bytes(f.value.as_bytes()).ok()),
            policy.and_then(|f| HeaderValue::from_bytes(f.value.as_bytes()).ok()),
        ]));
        self
    }

    /// Puts the fields on `headers`, replacing any of the same name.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        let [limit, remaining, reset, retry_after, ratelimit, policy] = NAMES;
        // The limit and the reset repeat from request to request; the
        // remaining count seldom does.
        headers.insert(limit, number::recent(self.limit.into()));
        headers.insert(remaining, number::value(self.remaining.into()));
        headers.insert(reset, number::recent(self.reset));
        if let Some(secs) = self.retry_after {
            headers.insert(retry_after, number::value(secs));
        }
        if let Some(ietf) = self.ietf {
            let [r, p] = *ietf;
            for (name, value) in [(ratelimit, r), (policy, p)] {
                if let Some(value) = value {
                    headers.insert(name, value);
                }
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'static str,
    message: &'static str,
    request_id: &'a str,
}

/// `{"error":{"code":..,"message":..,"request_id":..}}`: the shape of the
/// 429 body without `details`.
fn error_json(code: &'static str, message: &'static str, id: &RequestId) -> Bytes {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            request_id: id.as_str(),
        },
    };
    // Serializing strings to JSON cannot fail.
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// A JSON response of the layer's own, echoing the request id.
pub(crate) fn json(status: StatusCode, body: Bytes, id: &RequestId) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(id) = id.header_value() {
        headers.insert(X_REQUEST_ID, id);
    }
    response
}

/// An error without rate-limit figures: a missing or bad key, a method
/// outside the policy. A 401 says `WWW-Authenticate: Bearer`, as RFC 9110
/// requires of it.
pub(crate) fn error(
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    id: &RequestId,
) -> Response<Bytes> {
    let mut r = json(status, error_json(code, message, id), id);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// 401 for a request without a key.
pub(crate) fn missing_key(id: &RequestId) -> Response<Bytes> {
    error(
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
        "An API key is required: send Authorization: Bearer <key> or X-API-Key.",
        id,
    )
}

/// 405 for a method outside the policy.
pub(crate) fn method_not_allowed(allow: &HeaderValue, id: &RequestId) -> Response<Bytes> {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "The method is not allowed.",
        id,
    );
    r.headers_mut().insert(ALLOW, allow.clone());
    r
}

/// The answer to a decision that does not admit the request: 429 with
/// the core's 429 body for a denial, a full table or a cost that can never
/// fit; 500 for a class the limiter does not know (a misconfiguration,
/// not the client's doing). The caller sets the rate-limit fields.
pub(crate) fn refused(decision: &Decision, id: &RequestId) -> Response<Bytes> {
    match (decision.outcome(), decision.error_body(id.as_str())) {
        (_, Some(body)) => json(
            StatusCode::TOO_MANY_REQUESTS,
            Bytes::from(body.to_json()),
            id,
        ),
        (Outcome::UnknownClass, None) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The rate limiter has no class for this request.",
            id,
        ),
        (_, None) => error(
            StatusCode::TOO_MANY_REQUESTS,
            tollgate::body::ErrorBody::RATE_LIMITED,
            "Rate limit exceeded.",
            id,
        ),
    }
}

/// `Connection: close` on an answer to an HTTP/1 request whose body the
/// layer leaves unread (it answers on the head alone). The server
/// cannot tell where the next request on the connection would start, so
/// it closes it after the answer (hyper does); saying so lets the client
/// open a new one instead of sending its next request into a closed
/// connection.
pub(crate) fn close_if_unread(request: &RequestHead<'_>, headers: &mut HeaderMap) {
    let fields = request.headers();
    let has_body = fields.contains_key(TRANSFER_ENCODING)
        || fields
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body && request.version() <= Version::HTTP_11 {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tollgate::{Class, Limiter, ManualClock, Policy};

    use super::*;

    /// The fields agree with the core's rendering, names and values, for
    /// admitted and denied decisions.
    #[test]
    fn fields_match_the_cores_headers() {
        let clock = ManualClock::new(Duration::from_secs(1_746_489_600));
        let limiter = Limiter::builder(Policy::default())
            .clock(clock)
            .capacity(16)
            .build()
            .unwrap();
        for _ in 0..21 {
            let decision = limiter.check("k", Class::WRITE);
            let mut ours = HeaderMap::new();
            RateFields::of(&decision).apply(&mut ours);
            let core = decision.headers();
            assert_eq!(ours.len(), core.iter().count());
            for field in &core {
                assert_eq!(ours[field.lowercase_name()], field.value.as_str());
            }
        }
    }
}
