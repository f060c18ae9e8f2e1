//! Which requests share a pacing state: the pacing key, and its
//! fingerprint.
//!
//! A server limits per API key and, usually, per class of method
//! (`X-RateLimit-Remaining` of a write says nothing of reads). By default
//! two requests share a state when they go to the same origin (scheme,
//! host and port), are both safe methods (`GET`, `HEAD`, `OPTIONS`,
//! `TRACE`: the reads) or both not (the writes), and carry the same
//! `Authorization` and `X-API-Key` values. A key function given to the
//! builder replaces that whole rule.
//!
//! Keys are credentials. The middleware keeps none: it keeps a 64-bit
//! fingerprint, a SipHash of the key under a random seed of its own
//! (std's `RandomState`), which never leaves it; the same key gives
//! another fingerprint in another middleware. Two keys share a state
//! only if their fingerprints collide: with k keys in use, probability
//! about k² / 2^65.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Request;

/// Maps a request to the fingerprint of its pacing key.
#[derive(Clone)]
pub(crate) struct KeyFn {
    fingerprint: Arc<dyn Fn(&Request) -> u64 + Send + Sync>,
}

impl KeyFn {
    /// The default rule (see the module docs). Hashes the request's own
    /// bytes: nothing is copied.
    pub(crate) fn by_origin_class_and_credentials() -> Self {
        let seed = RandomState::new();
        Self {
            fingerprint: Arc::new(move |request: &Request| {
                let url = request.url();
                let headers = request.headers();
                seed.hash_one((
                    url.scheme(),
                    url.host_str(),
                    url.port_or_known_default(),
                    request.method().is_safe(),
                    headers.get(AUTHORIZATION).map(HeaderValue::as_bytes),
                    headers.get("x-api-key").map(HeaderValue::as_bytes),
                ))
            }),
        }
    }

    /// A rule from the user's key function.
    pub(crate) fn new<K, F>(key: F) -> Self
    where
        F: Fn(&Request) -> K + Send + Sync + 'static,
        K: Hash,
    {
        let seed = RandomState::new();
        Self {
            fingerprint: Arc::new(move |request: &Request| seed.hash_one(key(request))),
        }
    }

    /// The fingerprint of `request`'s key.
    pub(crate) fn fingerprint(&self, request: &Request) -> u64 {
        (self.fingerprint)(request)
    }
}

impl fmt::Debug for KeyFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFn")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    fn request(method: Method, url: &str, headers: &[(&'static str, &'static str)]) -> Request {
        let mut r = Request::new(method, url.parse().unwrap());
        for (name, value) in headers {
            r.headers_mut().insert(*name, value.parse().unwrap());
        }
        r
    }

    #[test]
    fn default_key_separates_origins_classes_and_credentials() {
        let key = KeyFn::by_origin_class_and_credentials();
        let a = |method, url, headers| key.fingerprint(&request(method, url, headers));
        let base = a(
            Method::GET,
            "http://api.test/v1/x",
            &[("authorization", "Bearer k1")],
        );
        // Same origin, class and key: one state, whatever the path.
        assert_eq!(
            base,
            a(
                Method::HEAD,
                "http://api.test:80/v2?q=1",
                &[("authorization", "Bearer k1")]
            )
        );
        assert_eq!(
            a(Method::POST, "http://api.test/", &[]),
            a(Method::DELETE, "http://api.test/other", &[])
        );
        for other in [
            a(
                Method::POST,
                "http://api.test/v1/x",
                &[("authorization", "Bearer k1")],
            ),
            a(
                Method::GET,
                "https://api.test/v1/x",
                &[("authorization", "Bearer k1")],
            ),
            a(
                Method::GET,
                "http://api.test:8080/v1/x",
                &[("authorization", "Bearer k1")],
            ),
            a(
                Method::GET,
                "http://other.test/v1/x",
                &[("authorization", "Bearer k1")],
            ),
            a(
                Method::GET,
                "http://api.test/v1/x",
                &[("authorization", "Bearer k2")],
            ),
            a(
                Method::GET,
                "http://api.test/v1/x",
                &[("x-api-key", "Bearer k1")],
            ),
            a(Method::GET, "http://api.test/v1/x", &[]),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn seeds_differ_between_middlewares() {
        let r = request(Method::GET, "http://api.test/", &[("x-api-key", "k1")]);
        let (a, b) = (
            KeyFn::by_origin_class_and_credentials(),
            KeyFn::by_origin_class_and_credentials(),
        );
        assert_ne!(a.fingerprint(&r), b.fingerprint(&r));
        assert_eq!(format!("{a:?}"), "KeyFn");
    }
}
