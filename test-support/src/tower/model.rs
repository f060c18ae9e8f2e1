//! What the crate's documentation says the layer answers, written from
//! the docs rather than from the code: which key a request carries
//! (`ApiKey`), which class its method falls in under [`POLICY`], which
//! request id the layer's own answers echo, and the bodies of those
//! answers. `oracle.rs` holds the layer to it.

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde_json::json;
use tollgate_tower::{KeyError, MAX_REQUEST_ID_LEN};

/// Limits small enough that a few requests spend them.
pub const POLICY: &str = r#"
[classes.read]
methods = ["GET", "HEAD"]
limit = 5
window = "1m"
burst = { limit = 2, window = "10s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 3
window = "1m"
burst = { limit = 1, window = "10s" }
"#;

/// The `Allow` field of a 405 under [`POLICY`]: its methods in order.
pub const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";

/// The standard methods: those of [`POLICY`]'s classes first, then the
/// rest.
pub const METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

/// The class of each method under [`POLICY`]; `None` for the rest.
pub fn class_of(method: &Method) -> Option<&'static str> {
    match method.as_str() {
        "GET" | "HEAD" => Some("read"),
        "POST" | "PUT" | "PATCH" | "DELETE" => Some("write"),
        _ => None,
    }
}

/// The values of the fields named `name`, in order.
fn values<'f>(fields: &'f [(HeaderName, HeaderValue)], name: &str) -> Vec<&'f [u8]> {
    fields
        .iter()
        .filter(|(n, _)| n.as_str() == name)
        .map(|(_, v)| v.as_bytes())
        .collect()
}

/// Whether a byte is a space or a tab, the only whitespace a field value
/// holds.
fn blank(b: &u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// What a request's fields say its key is, by `ApiKey`'s documentation:
/// a single `Authorization` field whose scheme is `Bearer` (any case,
/// after optional spaces or tabs, and followed by at least one space or
/// tab or by nothing) gives its credentials; otherwise a single field
/// named `fallback` (`x-api-key` by default) gives its value. Either, trimmed of spaces and tabs,
/// must be 1 to `max_len` bytes of `!`..=`~`, judged in that order. Two
/// fields of the name in use are ambiguous.
pub fn key(
    fields: &[(HeaderName, HeaderValue)],
    fallback: &str,
    max_len: usize,
) -> Result<Option<String>, KeyError> {
    let usable = |raw: &[u8]| -> Result<Option<String>, KeyError> {
        let (Some(start), Some(end)) = (
            raw.iter().position(|b| !blank(b)),
            raw.iter().rposition(|b| !blank(b)),
        ) else {
            return Err(KeyError::Empty);
        };
        let key = &raw[start..=end];
        if key.len() > max_len {
            Err(KeyError::TooLong)
        } else if key.iter().any(|b| !(b'!'..=b'~').contains(b)) {
            Err(KeyError::Malformed)
        } else {
            Ok(Some(String::from_utf8(key.to_vec()).unwrap()))
        }
    };
    let auth = values(fields, "authorization");
    if auth.len() > 1 {
        return Err(KeyError::Ambiguous);
    }
    if let Some(value) = auth.first() {
        let lead = value.iter().take_while(|b| blank(b)).count();
        let rest = &value[lead..];
        if rest.len() >= 6
            && rest[..6].eq_ignore_ascii_case(b"bearer")
            && rest.get(6).is_none_or(blank)
        {
            return usable(&rest[6..]);
        }
    }
    match values(fields, fallback).as_slice() {
        [] => Ok(None),
        [one] => usable(one),
        _ => Err(KeyError::Ambiguous),
    }
}

/// The request id the layer's own answers echo: the caller's when it sent
/// a single `X-Request-Id` of 1 to 128 visible ASCII bytes; `None` when
/// the layer makes one up.
pub fn request_id(fields: &[(HeaderName, HeaderValue)]) -> Option<String> {
    match values(fields, "x-request-id").as_slice() {
        [id] if (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
            && id.iter().all(|b| (b'!'..=b'~').contains(b)) =>
        {
            Some(String::from_utf8(id.to_vec()).unwrap())
        }
        _ => None,
    }
}

/// Why the layer answers a request itself without counting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A method in no class, under `UnknownMethod::Reject`.
    Method,
    /// No key, and no peer address to count instead.
    NoKey,
    /// A key that cannot be used.
    Key(KeyError),
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::NoKey => StatusCode::UNAUTHORIZED,
            Self::Key(KeyError::Ambiguous) => StatusCode::BAD_REQUEST,
            Self::Key(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// The whole JSON body: the 429 body's shape without `details`, with the
    /// messages the crate docs give.
    pub fn body(self, request_id: &str) -> serde_json::Value {
        let (code, message) = match self {
            Self::Method => ("method_not_allowed", "The method is not allowed."),
            Self::NoKey => (
                "missing_api_key",
                "An API key is required: send Authorization: Bearer <key> or X-API-Key.",
            ),
            Self::Key(KeyError::Empty) => ("invalid_api_key", "The API key is empty."),
            Self::Key(KeyError::TooLong) => ("invalid_api_key", "The API key is too long."),
            Self::Key(KeyError::Malformed) => (
                "invalid_api_key",
                "The API key must be printable ASCII without spaces.",
            ),
            Self::Key(KeyError::Ambiguous) => {
                ("ambiguous_api_key", "More than one API key was given.")
            }
            Self::Key(e) => panic!("a key error the docs do not list: {e:?}"),
        };
        json!({"error": {"code": code, "message": message, "request_id": request_id}})
    }
}
