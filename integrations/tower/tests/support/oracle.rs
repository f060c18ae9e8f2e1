//! A model of what the layer answers to any request, checked against the
//! layer itself request by request.
//!
//! The model is written from the crate's documentation, not from its code:
//! which key a request carries (`ApiKey`), which class its method falls
//! in, which request id an error echoes, and which answer follows from
//! each. What a counted request's fields say comes from a second limiter
//! with the same policy and clock, checked with the key and class the
//! model found (the core is checked against its own model elsewhere), so
//! any request the layer counts under another key or class, or counts when
//! it should not, or renders differently, shows as a difference.
//!
//! Two drivers use it: a property test (`tests/model.rs`, in the test
//! suite) and a fuzz target (`fuzz/fuzz_targets/tower.rs`).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tollgate::{Class, Clock, Limiter, ManualClock, Policy};
use tollgate_tower::{
    ApiKey, KeyError, MissingKey, PeerKey, RateLimit, RateLimitLayer, UnknownMethod,
    DEFAULT_MAX_KEY_LEN, MAX_REQUEST_ID_LEN,
};
use tower_layer::Layer;
use tower_service::Service;

use super::poll::{body_of, now_or_never};

/// Limits small enough that a few requests spend them.
pub(crate) const POLICY: &str = r#"
[classes.read]
methods = ["GET", "HEAD"]
limit = 6
window = "1m"
burst = { limit = 3, window = "10s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 4
window = "1m"
burst = { limit = 2, window = "10s" }
"#;

/// The class of each method under [`POLICY`]; `None` for the rest.
fn class_of(method: &Method) -> Option<&'static str> {
    match method.as_str() {
        "GET" | "HEAD" => Some("read"),
        "POST" | "PUT" | "PATCH" | "DELETE" => Some("write"),
        _ => None,
    }
}

/// A minute boundary: 2025-05-06T00:00:00Z.
pub(crate) const T0: u64 = 1_746_489_600;

/// The layer's settings under test.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Count keyless requests against the peer's address.
    pub(crate) peer_ip: bool,
    /// 0: reject unknown methods, 1: pass them unlimited, 2: count them as reads.
    pub(crate) unknown: u8,
    /// Add the IETF fields.
    pub(crate) ietf: bool,
    /// The key length limit: 4, 16 or the default.
    pub(crate) max_len: u8,
}

/// One request: a method, header fields in order, a peer address in the
/// extensions, and how far the clock moves (backwards when negative)
/// before it is made.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) fields: Vec<(HeaderName, HeaderValue)>,
    pub(crate) peer: Option<IpAddr>,
    pub(crate) advance_secs: i16,
}

/// The inner service: answers 200 with a fixed body and counts its calls.
#[derive(Clone)]
struct Inner {
    calls: Arc<AtomicUsize>,
}

impl Service<Request<()>> for Inner {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::Relaxed);
        std::future::ready(Ok(Response::new(String::from("inner"))))
    }
}

/// The layer around [`Inner`], a shadow limiter with the same policy and
/// clock, and the settings.
pub(crate) struct Harness {
    service: RateLimit<Inner, ManualClock, ApiKey>,
    shadow: Limiter<ManualClock>,
    clock: ManualClock,
    calls: Arc<AtomicUsize>,
    settings: Settings,
    max_len: usize,
    policy: Policy,
}

/// What a request's fields say its key is, by `ApiKey`'s documentation:
/// a single `Authorization` field with the scheme `Bearer` (any case,
/// after optional spaces or tabs, followed by a space, a tab or nothing)
/// gives its credentials; otherwise a single `X-API-Key` field gives its
/// value; either trimmed of spaces and tabs must be 1 to `max_len` bytes
/// of `!`..=`~`. Two fields of the name in use are ambiguous.
pub(crate) fn model_key(
    fields: &[(HeaderName, HeaderValue)],
    max_len: usize,
) -> Result<Option<String>, KeyError> {
    let values = |name: &str| -> Vec<&[u8]> {
        fields
            .iter()
            .filter(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_bytes())
            .collect()
    };
    let usable = |raw: &[u8]| -> Result<Option<String>, KeyError> {
        let start = raw.iter().position(|b| !matches!(b, b' ' | b'\t'));
        let end = raw.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
        let key = match (start, end) {
            (Some(s), Some(e)) => &raw[s..=e],
            _ => return Err(KeyError::Empty),
        };
        if key.len() > max_len {
            Err(KeyError::TooLong)
        } else if key.iter().any(|b| !(b'!'..=b'~').contains(b)) {
            Err(KeyError::Malformed)
        } else {
            Ok(Some(String::from_utf8(key.to_vec()).unwrap()))
        }
    };
    let auth = values("authorization");
    if auth.len() > 1 {
        return Err(KeyError::Ambiguous);
    }
    if let Some(value) = auth.first() {
        let lead = value
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let rest = &value[lead..];
        if rest.len() >= 6
            && rest[..6].eq_ignore_ascii_case(b"bearer")
            && matches!(rest.get(6), None | Some(b' ' | b'\t'))
        {
            return usable(&rest[6..]);
        }
    }
    let keys = values("x-api-key");
    match keys.as_slice() {
        [] => Ok(None),
        [one] => usable(one),
        _ => Err(KeyError::Ambiguous),
    }
}

/// The request id an answer of the layer's own must echo: the caller's
/// when it sent a single `X-Request-Id` of 1 to 128 visible ASCII bytes.
fn model_request_id(fields: &[(HeaderName, HeaderValue)]) -> Option<String> {
    let ids: Vec<&[u8]> = fields
        .iter()
        .filter(|(n, _)| n.as_str() == "x-request-id")
        .map(|(_, v)| v.as_bytes())
        .collect();
    match ids.as_slice() {
        [id] if (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
            && id.iter().all(|b| (b'!'..=b'~').contains(b)) =>
        {
            Some(String::from_utf8(id.to_vec()).unwrap())
        }
        _ => None,
    }
}

/// What the layer must do with a request.
#[derive(Debug)]
enum Expected {
    /// Call the inner service and add no fields.
    Unlimited,
    /// Count the request against `key` in `class`.
    Count { key: Key, class: Class },
    /// Answer itself, with this status and JSON `code`.
    Refuse {
        status: StatusCode,
        code: &'static str,
    },
}

#[derive(Debug)]
enum Key {
    Api(String),
    Peer(IpAddr),
}

fn field<'r, B>(response: &'r Response<B>, name: &str) -> Option<&'r str> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("the layer's fields are visible ASCII"))
}

impl Harness {
    pub(crate) fn new(settings: Settings) -> Self {
        let policy = Policy::from_toml_str(POLICY).unwrap();
        let clock = ManualClock::new(Duration::from_secs(T0));
        let limiter = Limiter::builder(policy.clone())
            .clock(clock.clone())
            .capacity(64)
            .build()
            .unwrap();
        let shadow = Limiter::builder(policy.clone())
            .clock(clock.clone())
            .capacity(64)
            .build()
            .unwrap();
        let max_len = match settings.max_len % 3 {
            0 => 4,
            1 => 16,
            _ => DEFAULT_MAX_KEY_LEN,
        };
        let read = policy.class("read").unwrap();
        let unknown = match settings.unknown % 3 {
            0 => UnknownMethod::Reject,
            1 => UnknownMethod::Unlimited,
            _ => UnknownMethod::Class(read),
        };
        let layer = RateLimitLayer::builder(limiter)
            .key_extractor(ApiKey::new().max_len(max_len))
            .missing_key(if settings.peer_ip {
                MissingKey::PeerIp
            } else {
                MissingKey::Reject
            })
            .unknown_method(unknown)
            .ietf_headers(settings.ietf)
            .build();
        let calls = Arc::new(AtomicUsize::new(0));
        let service = layer.layer(Inner {
            calls: Arc::clone(&calls),
        });
        Self {
            service,
            shadow,
            clock,
            calls,
            settings,
            max_len,
            policy,
        }
    }

    fn expected(&self, call: &Call) -> Expected {
        let class = match class_of(&call.method) {
            Some(name) => self.policy.class(name).unwrap(),
            None => match self.settings.unknown % 3 {
                0 => {
                    return Expected::Refuse {
                        status: StatusCode::METHOD_NOT_ALLOWED,
                        code: "method_not_allowed",
                    }
                }
                1 => return Expected::Unlimited,
                _ => self.policy.class("read").unwrap(),
            },
        };
        match model_key(&call.fields, self.max_len) {
            Ok(Some(key)) => Expected::Count {
                key: Key::Api(key),
                class,
            },
            Ok(None) => match call.peer {
                Some(ip) if self.settings.peer_ip => Expected::Count {
                    key: Key::Peer(ip),
                    class,
                },
                _ => Expected::Refuse {
                    status: StatusCode::UNAUTHORIZED,
                    code: "missing_api_key",
                },
            },
            Err(e) => Expected::Refuse {
                status: e.status(),
                code: e.code(),
            },
        }
    }

    /// Makes `call` through the layer and checks the answer against the
    /// model; panics with the difference.
    pub(crate) fn run(&mut self, call: &Call) {
        let secs = Duration::from_secs(u64::from(call.advance_secs.unsigned_abs()));
        if call.advance_secs >= 0 {
            self.clock.advance(secs);
        } else {
            self.clock.rewind(secs);
        }
        let mut request = Request::new(());
        *request.method_mut() = call.method.clone();
        for (name, value) in &call.fields {
            request.headers_mut().append(name.clone(), value.clone());
        }
        if let Some(ip) = call.peer {
            request.extensions_mut().insert(SocketAddr::new(ip, 4242));
        }
        let expected = self.expected(call);
        let before = self.calls.load(Ordering::Relaxed);
        assert!(now_or_never(std::future::poll_fn(|cx| self.service.poll_ready(cx))).is_ok());
        let response = now_or_never(self.service.call(request)).unwrap();
        let called = self.calls.load(Ordering::Relaxed).wrapping_sub(before);
        let (parts, body) = response.into_parts();
        let body = body_of(body);
        let response = Response::from_parts(parts, ());
        let context = format!("{call:?}\nexpected {expected:?}\ngot {response:?}");

        let decision = match &expected {
            Expected::Unlimited => None,
            Expected::Count { key, class } => {
                let now = self.clock.now();
                Some(match key {
                    Key::Api(k) => self.shadow.check_at(k.as_str(), *class, now),
                    Key::Peer(ip) => self.shadow.check_at(&PeerKey(*ip), *class, now),
                })
            }
            Expected::Refuse { .. } => None,
        };
        let passed = match (&expected, &decision) {
            (Expected::Unlimited, _) => true,
            (Expected::Count { .. }, Some(d)) => d.is_allowed(),
            _ => false,
        };
        assert_eq!(
            called,
            usize::from(passed),
            "inner service calls\n{context}"
        );

        if passed {
            assert_eq!(response.status(), StatusCode::OK, "{context}");
            assert_eq!(body, b"inner", "{context}");
        } else {
            let (status, code) = match (&expected, &decision) {
                (Expected::Refuse { status, code }, _) => (*status, *code),
                (_, Some(_)) => (StatusCode::TOO_MANY_REQUESTS, tollgate::RATE_LIMITED),
                _ => unreachable!(),
            };
            assert_eq!(response.status(), status, "{context}");
            assert_eq!(
                field(&response, "content-type"),
                Some("application/json"),
                "{context}"
            );
            let json: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("body is not JSON ({e}): {body:?}\n{context}"));
            assert_eq!(json["error"]["code"], code, "{context}");
            let id = json["error"]["request_id"].as_str().unwrap_or_default();
            match model_request_id(&call.fields) {
                Some(theirs) => assert_eq!(id, theirs, "{context}"),
                None => assert!(
                    id.starts_with("req_") && id.len() == 32,
                    "generated id {id:?}\n{context}"
                ),
            }
            assert_eq!(field(&response, "x-request-id"), Some(id), "{context}");
            let challenge = field(&response, "www-authenticate");
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(challenge, Some("Bearer"), "{context}");
            } else {
                assert_eq!(challenge, None, "{context}");
            }
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert_eq!(
                    field(&response, "allow"),
                    Some("GET, HEAD, POST, PUT, PATCH, DELETE"),
                    "{context}"
                );
            }
            if let Some(d) = &decision {
                let theirs = d.error_body(id).expect("a denial has a body").to_json();
                assert_eq!(body, theirs.as_bytes(), "{context}");
            }
        }

        // The rate-limit fields: exactly the shadow decision's, on admitted
        // and refused requests alike; none on anything not counted.
        let ours = |name: &str| -> Option<String> { field(&response, name).map(str::to_owned) };
        match &decision {
            Some(d) => {
                let mut want: Vec<(String, Option<String>)> = d
                    .headers()
                    .iter()
                    .map(|f| {
                        (
                            f.lowercase_name().to_owned(),
                            Some(f.value.as_str().to_owned()),
                        )
                    })
                    .collect();
                if d.retry_after().is_none() {
                    want.push(("retry-after".to_owned(), None));
                }
                let (ratelimit, policy) = match (&expected, self.settings.ietf) {
                    (Expected::Count { key, class }, true) => {
                        let name = self.policy.class_policy(*class).unwrap().name();
                        let policy = match key {
                            Key::Api(k) => self.shadow.policy_field(k.as_str(), *class),
                            Key::Peer(ip) => self.shadow.policy_field(&PeerKey(*ip), *class),
                        };
                        (
                            d.ietf_headers(name).map(|f| f.value.as_str().to_owned()),
                            policy.map(|f| f.value.as_str().to_owned()),
                        )
                    }
                    _ => (None, None),
                };
                want.push(("ratelimit".to_owned(), ratelimit));
                want.push(("ratelimit-policy".to_owned(), policy));
                for (name, value) in want {
                    assert_eq!(ours(&name), value, "{name}\n{context}");
                }
            }
            None => {
                for name in [
                    "x-ratelimit-limit",
                    "x-ratelimit-remaining",
                    "x-ratelimit-reset",
                    "retry-after",
                    "ratelimit",
                    "ratelimit-policy",
                ] {
                    assert_eq!(ours(name), None, "{name}\n{context}");
                }
            }
        }
    }
}
