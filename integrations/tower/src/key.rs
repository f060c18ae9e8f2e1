//! Which key a request counts against: the API key it carries.

use std::fmt;
use std::net::IpAddr;

use http::header::{HeaderName, AUTHORIZATION};
use http::{HeaderMap, StatusCode};

use crate::head::RequestHead;
use crate::rate_key::RateKey;

/// The longest API key [`ApiKey`] accepts by default, in bytes.
pub const DEFAULT_MAX_KEY_LEN: usize = 256;

/// `X-API-Key`, the second place [`ApiKey`] looks.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Finds the rate-limit key of a request.
///
/// `Ok(Some(key))` counts the request against `key`; `Ok(None)` means the
/// request carries no key at all, which the layer answers as its
/// [`MissingKey`](crate::MissingKey) setting says; `Err` means it carries
/// one that cannot be used, which the layer answers with
/// [`KeyError::status`] and a JSON error. An extractor must not panic on
/// any input.
///
/// The default is [`ApiKey`]. A closure is one through
/// [`key_by`](crate::TollgateLayerBuilder::key_by); another source of keys
/// that can refuse what it finds, or borrow its key from the request, is a
/// few lines:
///
/// ```
/// use http::Request;
/// use tollgate_tower::{KeyError, KeyExtractor, RequestHead};
///
/// /// The tenant is the first path segment: `/acme/v1/companies`.
/// #[derive(Debug)]
/// struct Tenant;
///
/// impl KeyExtractor for Tenant {
///     type Key<'r> = &'r str;
///
///     fn extract<'r>(&self, request: &RequestHead<'r>) -> Result<Option<&'r str>, KeyError> {
///         match request.uri().path().split('/').nth(1) {
///             None | Some("") => Ok(None),
///             Some(t) if t.len() > 64 => Err(KeyError::TooLong),
///             Some(t) => Ok(Some(t)),
///         }
///     }
/// }
///
/// let request = Request::get("/acme/v1/companies").body(()).unwrap();
/// assert_eq!(Tenant.extract(&RequestHead::of(&request)), Ok(Some("acme")));
/// ```
pub trait KeyExtractor: Send + Sync + 'static {
    /// The key: borrowed from the request (`&'r str`, as [`ApiKey`]'s), or
    /// owned (a user id, a `String`).
    type Key<'r>: RateKey;

    /// The key of `request`.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] when the request carries a key that cannot be used.
    fn extract<'r>(&self, request: &RequestHead<'r>) -> Result<Option<Self::Key<'r>>, KeyError>;
}

/// A closure as a [`KeyExtractor`]: the key it returns, or no key
/// (`None`: the layer answers as its [`MissingKey`](crate::MissingKey)
/// setting says). Made by [`key_by`](crate::TollgateLayerBuilder::key_by).
#[derive(Clone)]
pub struct KeyFn<F>(pub(crate) F);

impl<F> fmt::Debug for KeyFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFn")
    }
}

impl<F, T> KeyExtractor for KeyFn<F>
where
    F: Fn(&RequestHead<'_>) -> Option<T> + Send + Sync + 'static,
    T: RateKey,
{
    type Key<'r> = T;

    fn extract<'r>(&self, request: &RequestHead<'r>) -> Result<Option<T>, KeyError> {
        Ok((self.0)(request))
    }
}

/// Why a request's key was refused. Each has a status and a fixed message
/// for the JSON error body; none allocates.
///
/// | variant | status | `code` | `message` |
/// |---|---|---|---|
/// | [`Empty`](Self::Empty) | 401 | `invalid_api_key` | `The API key is empty.` |
/// | [`TooLong`](Self::TooLong) | 401 | `invalid_api_key` | `The API key is too long.` |
/// | [`Malformed`](Self::Malformed) | 401 | `invalid_api_key` | `The API key must be printable ASCII without spaces.` |
/// | [`Ambiguous`](Self::Ambiguous) | 400 | `ambiguous_api_key` | `More than one API key was given.` |
///
/// Two fields of the name being read are `Ambiguous` whatever they hold.
/// A single value is judged `Empty`, then `TooLong`, then `Malformed`: a
/// key over the length limit is `TooLong` whatever bytes it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyError {
    /// `Authorization: Bearer` with nothing after it, or an empty
    /// `X-API-Key`.
    Empty,
    /// Longer than the extractor's limit ([`DEFAULT_MAX_KEY_LEN`] bytes by
    /// default).
    TooLong,
    /// Bytes other than visible ASCII (`!` to `~`): spaces inside the key,
    /// control characters, non-ASCII or non-UTF-8 bytes.
    Malformed,
    /// More than one `Authorization` or `X-API-Key` field: which key
    /// counts would be a guess.
    Ambiguous,
}

impl KeyError {
    /// The response status: 400 for [`Ambiguous`](Self::Ambiguous), 401
    /// otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Ambiguous => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The `code` of the JSON error body.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ambiguous => "ambiguous_api_key",
            _ => "invalid_api_key",
        }
    }

    /// The `message` of the JSON error body.
    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "The API key is empty.",
            Self::TooLong => "The API key is too long.",
            Self::Malformed => "The API key must be printable ASCII without spaces.",
            Self::Ambiguous => "More than one API key was given.",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for KeyError {}

/// The default extractor: `Authorization: Bearer <key>`, else
/// `X-API-Key: <key>`.
///
/// - The scheme `Bearer` is matched case-insensitively, after any spaces
///   or tabs, and must be followed by one or more spaces or tabs (RFC 6750
///   allows `1*SP`) or end the value: `Bearerkey_1` is another scheme.
///   Spaces and tabs after the key, and around an `X-API-Key` value, are
///   ignored.
/// - An `Authorization` field with another scheme (`Basic ...`) is not a
///   rate-limit key: the extractor goes on to `X-API-Key`.
/// - A bearer key wins over `X-API-Key` when a request has both.
/// - A key is 1 to [`max_len`](Self::max_len) bytes of visible ASCII
///   (`!` to `~`). Anything else is a [`KeyError`]: `Bearer` alone is
///   [`Empty`](KeyError::Empty), a key with inner spaces or non-ASCII bytes
///   is [`Malformed`](KeyError::Malformed), two `Authorization` fields
///   (or two `X-API-Key` fields, when it gets that far) are
///   [`Ambiguous`](KeyError::Ambiguous).
///
/// The key is borrowed from the request: extraction never allocates.
#[derive(Debug, Clone)]
pub struct ApiKey {
    header: HeaderName,
    max_len: usize,
}

impl Default for ApiKey {
    fn default() -> Self {
        Self {
            header: X_API_KEY,
            max_len: DEFAULT_MAX_KEY_LEN,
        }
    }
}

impl ApiKey {
    /// `Authorization: Bearer`, then `X-API-Key`, keys of up to
    /// [`DEFAULT_MAX_KEY_LEN`] bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the fallback key from `header` instead of `X-API-Key`.
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Refuses keys longer than `bytes` (default [`DEFAULT_MAX_KEY_LEN`]).
    #[must_use]
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// The key of a set of request headers; see the type's docs.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] for a key that is present but unusable.
    pub fn from_headers<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, KeyError> {
        if let Some(value) = single(headers, &AUTHORIZATION)? {
            if let Some(token) = bearer_token(value) {
                return self.validate(token).map(Some);
            }
        }
        match single(headers, &self.header)? {
            Some(value) => self.validate(value).map(Some),
            None => Ok(None),
        }
    }

    fn validate<'v>(&self, key: &'v [u8]) -> Result<&'v str, KeyError> {
        let key = key.trim_ascii();
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if key.len() > self.max_len {
            return Err(KeyError::TooLong);
        }
        // Every byte, without stopping at the first bad one: the loop
        // vectorizes, and keys are short.
        if !key.iter().fold(true, |ok, b| ok & b.is_ascii_graphic()) {
            return Err(KeyError::Malformed);
        }
        // Visible ASCII is UTF-8; the error arm is unreachable.
        std::str::from_utf8(key).map_err(|_| KeyError::Malformed)
    }
}

impl KeyExtractor for ApiKey {
    type Key<'r> = &'r str;

    #[inline]
    fn extract<'r>(&self, request: &RequestHead<'r>) -> Result<Option<&'r str>, KeyError> {
        self.from_headers(request.headers())
    }
}

/// The value of `name` if it appears once, `None` if not at all.
fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h [u8]>, KeyError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v.as_bytes())),
        (Some(_), Some(_)) => Err(KeyError::Ambiguous),
    }
}

/// The credentials after a `Bearer` scheme (case-insensitive), untrimmed;
/// `None` for another scheme.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    // The scheme is the six bytes of `bearer` in any case, followed by a
    // space, a tab or nothing: no need to find where a longer one ends.
    let (scheme, rest) = value.trim_ascii_start().split_at_checked(6)?;
    let ends = matches!(rest.first(), None | Some(b' ' | b'\t'));
    (ends && scheme.eq_ignore_ascii_case(b"bearer")).then_some(rest)
}

/// A client's IP address used as its key (see
/// [`MissingKey::PeerIp`](crate::MissingKey::PeerIp)).
///
/// It hashes differently from every string key, so no API key can spend
/// an address's budget, nor the other way round. To give an address its
/// own limits, set an override on the limiter with this type:
/// `limiter.set_override(&PeerKey(ip), class, limit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey(pub IpAddr);

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn key(fields: &[(&str, &[u8])]) -> Result<Option<String>, KeyError> {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.append(name, HeaderValue::from_bytes(value).unwrap());
        }
        ApiKey::new()
            .from_headers(&headers)
            .map(|k| k.map(str::to_owned))
    }

    fn ok(k: &str) -> Result<Option<String>, KeyError> {
        Ok(Some(k.to_owned()))
    }

    #[test]
    fn bearer_then_x_api_key() {
        assert_eq!(key(&[("authorization", b"Bearer key_1")]), ok("key_1"));
        assert_eq!(key(&[("x-api-key", b"key_2")]), ok("key_2"));
        assert_eq!(
            key(&[("authorization", b"Bearer key_1"), ("x-api-key", b"key_2")]),
            ok("key_1")
        );
        assert_eq!(
            key(&[
                ("authorization", b"Basic dXNlcjpwYXNz"),
                ("x-api-key", b"key_2")
            ]),
            ok("key_2")
        );
        assert_eq!(key(&[("authorization", b"Basic dXNlcjpwYXNz")]), Ok(None));
        assert_eq!(key(&[]), Ok(None));
    }

    #[test]
    fn bearer_spelling() {
        for value in [
            &b"bearer key_1"[..],
            b"BEARER key_1",
            b"Bearer   key_1",
            b"Bearer\tkey_1",
            b"Bearer key_1  ",
            b"  Bearer key_1",
        ] {
            assert_eq!(key(&[("authorization", value)]), ok("key_1"), "{value:?}");
        }
        // "Bearerkey_1" is a scheme of its own, not a bearer token; so are
        // schemes shorter than "Bearer".
        assert_eq!(key(&[("authorization", b"Bearerkey_1")]), Ok(None));
        for value in [&b"Bear"[..], b"Bear key_1", b"", b"  ", b"B"] {
            assert_eq!(key(&[("authorization", value)]), Ok(None), "{value:?}");
        }
        assert_eq!(key(&[("authorization", b"bEaReR\t\tkey_1\t")]), ok("key_1"));
    }

    #[test]
    fn unusable_keys() {
        let auth = |v: &'static [u8]| key(&[("authorization", v)]);
        assert_eq!(auth(b"Bearer"), Err(KeyError::Empty));
        assert_eq!(auth(b"Bearer    "), Err(KeyError::Empty));
        assert_eq!(auth(b"  Bearer\t"), Err(KeyError::Empty));
        assert_eq!(auth(b"Bearer a b"), Err(KeyError::Malformed));
        assert_eq!(auth(b"Bearer \xff\xfe"), Err(KeyError::Malformed));
        assert_eq!(auth("Bearer clé".as_bytes()), Err(KeyError::Malformed));
        assert_eq!(key(&[("x-api-key", b"")]), Err(KeyError::Empty));
        assert_eq!(key(&[("x-api-key", b"a\tb")]), Err(KeyError::Malformed));
        let long = [b'k'; DEFAULT_MAX_KEY_LEN];
        assert_eq!(
            key(&[("x-api-key", &long)]),
            ok(std::str::from_utf8(&long).unwrap())
        );
        let longer = [b'k'; DEFAULT_MAX_KEY_LEN + 1];
        assert_eq!(key(&[("x-api-key", &longer)]), Err(KeyError::TooLong));
        assert_eq!(
            key(&[
                ("authorization", b"Bearer a"),
                ("authorization", b"Bearer a")
            ]),
            Err(KeyError::Ambiguous)
        );
        assert_eq!(
            key(&[("x-api-key", b"a"), ("x-api-key", b"b")]),
            Err(KeyError::Ambiguous)
        );
    }

    #[test]
    fn statuses_and_codes() {
        assert_eq!(KeyError::Ambiguous.status(), StatusCode::BAD_REQUEST);
        for e in [KeyError::Empty, KeyError::TooLong, KeyError::Malformed] {
            assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(e.code(), "invalid_api_key");
        }
    }

    #[test]
    fn other_header_and_length() {
        let keys = ApiKey::new()
            .header(HeaderName::from_static("x-token"))
            .max_len(4);
        let mut headers = HeaderMap::new();
        headers.insert("x-token", HeaderValue::from_static("abcd"));
        assert_eq!(keys.from_headers(&headers), Ok(Some("abcd")));
        headers.insert("x-token", HeaderValue::from_static("abcde"));
        assert_eq!(keys.from_headers(&headers), Err(KeyError::TooLong));
    }
}
