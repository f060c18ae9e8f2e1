//! What the layer adds to a response, and the responses it makes itself.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde::Serialize;
use tollgate::headers::{
    PolicyField, RateLimitField, RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER, X_RATELIMIT_LIMIT,
    X_RATELIMIT_REMAINING, X_RATELIMIT_RESET,
};
use tollgate::{Decision, Outcome};

use crate::request_id::{RequestId, X_REQUEST_ID};

/// The fields the layer may add, in the order it adds them.
const NAMES: [HeaderName; 6] = [
    HeaderName::from_static("x-ratelimit-limit"),
    HeaderName::from_static("x-ratelimit-remaining"),
    HeaderName::from_static("x-ratelimit-reset"),
    HeaderName::from_static("retry-after"),
    HeaderName::from_static("ratelimit"),
    HeaderName::from_static("ratelimit-policy"),
];

/// The position in [`NAMES`] of a field the core renders.
fn slot(name: &str) -> Option<usize> {
    match name {
        X_RATELIMIT_LIMIT => Some(0),
        X_RATELIMIT_REMAINING => Some(1),
        X_RATELIMIT_RESET => Some(2),
        RETRY_AFTER => Some(3),
        RATELIMIT => Some(4),
        RATELIMIT_POLICY => Some(5),
        _ => None,
    }
}

/// The rate-limit fields of one decision, ready to go on its response.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateFields {
    values: [Option<HeaderValue>; 6],
}

impl RateFields {
    /// `X-RateLimit-*`, and `Retry-After` on a denial.
    pub(crate) fn of(decision: &Decision) -> Self {
        let mut fields = Self::default();
        for f in &decision.headers() {
            fields.set(f.name, f.value.as_bytes());
        }
        fields
    }

    /// Adds the IETF draft `RateLimit` and `RateLimit-Policy` fields.
    pub(crate) fn with_ietf(
        mut self,
        ratelimit: Option<RateLimitField>,
        policy: Option<PolicyField>,
    ) -> Self {
        if let Some(f) = ratelimit {
            self.set(f.name, f.value.as_bytes());
        }
        if let Some(f) = policy {
            self.set(f.name, f.value.as_bytes());
        }
        self
    }

    fn set(&mut self, name: &str, value: &[u8]) {
        if let Some(v) = slot(name).and_then(|i| self.values.get_mut(i)) {
            // The core renders ASCII digits and quoted tokens: always valid.
            *v = HeaderValue::from_bytes(value).ok();
        }
    }

    /// Puts the fields on `headers`, replacing any of the same name.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        for (name, value) in NAMES.iter().zip(self.values) {
            if let Some(value) = value {
                headers.insert(name.clone(), value);
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
/// 429 body (SPEC §5) without `details`.
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
/// the SPEC §5 body for a denial, a full table or a cost that can never
/// fit; 500 for a class the limiter does not know (a misconfiguration,
/// not the client's doing).
pub(crate) fn refused(decision: &Decision, fields: RateFields, id: &RequestId) -> Response<Bytes> {
    let mut response = match (decision.outcome(), decision.error_body(id.as_str())) {
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
            tollgate::RATE_LIMITED,
            "Rate limit exceeded.",
            id,
        ),
    };
    fields.apply(response.headers_mut());
    response
}
