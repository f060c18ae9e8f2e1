//! The layer held to the model of `model.rs`, request by request.
//!
//! What a counted request's fields say comes from a second limiter with
//! the same policy, seed and clock, checked with the key and class the
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
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tollgate::{Class, Clock, Decision, Limiter, ManualClock, Policy};
use tollgate_tower::{
    ApiKey, InnerBody, MissingKey, PeerKey, Tollgate, TollgateLayer, UnknownMethod, WrapBody,
    DEFAULT_MAX_KEY_LEN,
};
use tower_layer::Layer;
use tower_service::Service;

use super::handler::{self, Handler};
use super::model::{self, Refusal};
use super::poll::{body_of, now_or_never};

/// A minute boundary: 2025-05-06T00:00:00Z.
pub const T0: u64 = 1_746_489_600;

/// The layer's settings under test.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Count keyless requests against the peer's address.
    pub peer_ip: bool,
    /// 0: reject unknown methods, 1: pass them unlimited, 2: count them as reads.
    pub unknown: u8,
    /// Add the IETF fields.
    pub ietf: bool,
    /// The key length limit: 4, 16 or the default.
    pub max_len: u8,
    /// Read the fallback key from `X-Token` instead of `X-API-Key`.
    pub x_token: bool,
    /// Answer in the handler's body type (`inner_body`).
    pub inner_body: bool,
}

/// The fallback key header under `Settings::x_token`.
pub const X_TOKEN: &str = "x-token";

/// The layer around the handler, in either body mode.
enum Layered {
    Wrap(Tollgate<Handler, Limiter<ManualClock>, ApiKey, WrapBody>),
    Inner(Tollgate<Handler, Limiter<ManualClock>, ApiKey, InnerBody>),
}

impl Layered {
    /// The answer to `request`, its body read.
    fn answer(&mut self, request: Request<()>) -> (Response<()>, Vec<u8>) {
        fn read<S, B>(service: &mut S, request: Request<()>) -> (Response<()>, Vec<u8>)
        where
            S: Service<Request<()>, Response = Response<B>, Error = Infallible>,
            B: http_body::Body<Data = bytes::Bytes>,
            B::Error: std::fmt::Debug,
        {
            let Ok(()) = now_or_never(std::future::poll_fn(|cx| service.poll_ready(cx)));
            let Ok(response) = now_or_never(service.call(request));
            let (parts, body) = response.into_parts();
            (Response::from_parts(parts, ()), body_of(body))
        }
        match self {
            Self::Wrap(service) => read(service, request),
            Self::Inner(service) => read(service, request),
        }
    }
}

/// One request: a method, header fields in order, a peer address in the
/// extensions, and how far the clock moves (backwards when negative)
/// before it is made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub fields: Vec<(HeaderName, HeaderValue)>,
    pub peer: Option<IpAddr>,
    pub advance_secs: i16,
}

/// How the layer answered a request, once checked: what the drivers
/// count to see that their inputs reach every kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Passed on without counting (`UnknownMethod::Unlimited`).
    Unlimited,
    /// Counted and admitted, under an API key or a peer address.
    Admitted { peer: bool },
    /// Counted and refused with a 429.
    RateLimited { peer: bool },
    /// Refused without counting.
    Refused(Refusal),
}

/// What the layer must do with a request.
#[derive(Debug)]
enum Expected {
    /// Call the inner service and add no fields.
    Unlimited,
    /// Count the request against `key` in `class`.
    Count { key: Key, class: Class },
    /// Answer itself.
    Refuse(Refusal),
}

#[derive(Debug)]
enum Key {
    Api(String),
    Peer(IpAddr),
}

/// The names of every rate-limit field the layer may add.
const FIELDS: [&str; 6] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
];

fn field<'r, B>(response: &'r Response<B>, name: &str) -> Option<&'r str> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("the layer's fields are visible ASCII"))
}

/// The layer around a [`Handler`], a shadow limiter with the same policy,
/// seed and clock, and the settings.
#[expect(
    missing_debug_implementations,
    reason = "the layered service has no Debug worth printing; failures print the calls"
)]
pub struct Harness {
    service: Layered,
    shadow: Limiter<ManualClock>,
    clock: ManualClock,
    calls: Arc<AtomicUsize>,
    settings: Settings,
    max_len: usize,
    policy: Policy,
}

impl Harness {
    pub fn new(settings: Settings) -> Self {
        let policy = Policy::from_toml_str(model::POLICY).unwrap();
        let clock = ManualClock::new(Duration::from_secs(T0));
        // One seed for both: a table that fills must fill alike.
        let limiter = || {
            Limiter::builder(policy.clone())
                .clock(clock.clone())
                .capacity(64)
                .seed(7)
                .build()
                .unwrap()
        };
        let (limiter, shadow) = (limiter(), limiter());
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
        let keys = if settings.x_token {
            ApiKey::new().header(HeaderName::from_static(X_TOKEN))
        } else {
            ApiKey::new()
        };
        let layer = TollgateLayer::builder(limiter)
            .key_extractor(keys.max_len(max_len))
            .missing_key(if settings.peer_ip {
                MissingKey::PeerIp
            } else {
                MissingKey::Reject
            })
            .unknown_method(unknown)
            .ietf_headers(settings.ietf);
        let handler = Handler::default();
        let calls = Arc::clone(&handler.calls);
        let service = if settings.inner_body {
            Layered::Inner(layer.inner_body().build().layer(handler))
        } else {
            Layered::Wrap(layer.build().layer(handler))
        };
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
        // The method first: a 405 whatever the key.
        let class = match model::class_of(&call.method) {
            Some(name) => self.policy.class(name).unwrap(),
            None => match self.settings.unknown % 3 {
                0 => return Expected::Refuse(Refusal::Method),
                1 => return Expected::Unlimited,
                _ => self.policy.class("read").unwrap(),
            },
        };
        let fallback = if self.settings.x_token {
            X_TOKEN
        } else {
            "x-api-key"
        };
        match model::key(&call.fields, fallback, self.max_len) {
            Ok(Some(key)) => Expected::Count {
                key: Key::Api(key),
                class,
            },
            Ok(None) => match call.peer {
                Some(ip) if self.settings.peer_ip => Expected::Count {
                    key: Key::Peer(ip),
                    class,
                },
                _ => Expected::Refuse(Refusal::NoKey),
            },
            Err(e) => Expected::Refuse(Refusal::Key(e)),
        }
    }

    /// The shadow's decision for a counted request, and the IETF fields
    /// the layer must add with it.
    fn shadow_check(&self, key: &Key, class: Class) -> (Decision, [Option<String>; 2]) {
        let now = self.clock.now();
        let (decision, policy) = match key {
            Key::Api(k) => (
                self.shadow.check_at(k.as_str(), class, now),
                self.shadow.policy_field(k.as_str(), class),
            ),
            Key::Peer(ip) => (
                self.shadow.check_at(&PeerKey(*ip), class, now),
                self.shadow.policy_field(&PeerKey(*ip), class),
            ),
        };
        let ietf = if self.settings.ietf {
            let name = self.policy.class_policy(class).unwrap().name();
            let ratelimit = decision.ietf_headers(name).expect("a known class");
            let policy = policy.expect("a known class");
            [
                Some(ratelimit.value.as_str().to_owned()),
                Some(policy.value.as_str().to_owned()),
            ]
        } else {
            [None, None]
        };
        (decision, ietf)
    }

    /// Makes `call` through the layer and checks the answer against the
    /// model; panics with the difference.
    pub fn run(&mut self, call: &Call) -> Answer {
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
        let (response, body) = self.service.answer(request);
        let called = self.calls.load(Ordering::Relaxed).wrapping_sub(before);
        let context = format!("{call:?}\nexpected {expected:?}\ngot {response:?}");

        let (answer, fields) = match &expected {
            Expected::Unlimited => (Answer::Unlimited, None),
            Expected::Refuse(refusal) => (Answer::Refused(*refusal), None),
            Expected::Count { key, class } => {
                let peer = matches!(key, Key::Peer(_));
                let (decision, ietf) = self.shadow_check(key, *class);
                let answer = if decision.is_allowed() {
                    Answer::Admitted { peer }
                } else {
                    Answer::RateLimited { peer }
                };
                (answer, Some((decision, ietf)))
            }
        };
        let passed = matches!(answer, Answer::Unlimited | Answer::Admitted { .. });
        assert_eq!(
            called,
            usize::from(passed),
            "inner service calls\n{context}"
        );

        if passed {
            // The handler's answer, with nothing of the layer's own.
            assert_eq!(response.status(), StatusCode::OK, "{context}");
            assert_eq!(body, handler::BODY.as_bytes(), "{context}");
            assert_eq!(
                field(&response, "content-type"),
                Some("application/json"),
                "{context}"
            );
            for name in ["x-request-id", "www-authenticate", "allow"] {
                assert_eq!(field(&response, name), None, "{name}\n{context}");
            }
        } else {
            self.check_own_answer(
                call,
                &answer,
                fields.as_ref().map(|f| &f.0),
                &response,
                &body,
                &context,
            );
        }

        // The rate-limit fields: exactly the shadow decision's, on admitted
        // and refused requests alike; none on anything not counted.
        let mut want: Vec<(&str, Option<String>)> = FIELDS.iter().map(|&n| (n, None)).collect();
        if let Some((decision, ietf)) = &fields {
            for f in &decision.headers() {
                let slot = want.iter_mut().find(|(n, _)| *n == f.lowercase_name());
                slot.expect("a known field").1 = Some(f.value.as_str().to_owned());
            }
            want[4].1.clone_from(&ietf[0]);
            want[5].1.clone_from(&ietf[1]);
        }
        for (name, value) in want {
            let ours = field(&response, name).map(str::to_owned);
            assert_eq!(ours, value, "{name}\n{context}");
        }
        answer
    }

    /// The status, fields and whole body of an answer of the layer's own.
    fn check_own_answer(
        &self,
        call: &Call,
        answer: &Answer,
        decision: Option<&Decision>,
        response: &Response<()>,
        body: &[u8],
        context: &str,
    ) {
        let status = match answer {
            Answer::Refused(refusal) => refusal.status(),
            _ => StatusCode::TOO_MANY_REQUESTS,
        };
        assert_eq!(response.status(), status, "{context}");
        assert_eq!(
            field(response, "content-type"),
            Some("application/json"),
            "{context}"
        );
        let json: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {body:?}\n{context}"));
        let id = json["error"]["request_id"].as_str().unwrap_or_default();
        match model::request_id(&call.fields) {
            Some(theirs) => assert_eq!(id, theirs, "{context}"),
            None => assert!(
                id.starts_with("req_") && id.len() > 4,
                "generated id {id:?}\n{context}"
            ),
        }
        assert_eq!(field(response, "x-request-id"), Some(id), "{context}");
        match (answer, decision) {
            (Answer::Refused(refusal), _) => {
                assert_eq!(json, refusal.body(id), "{context}");
            }
            (_, Some(d)) => {
                // The 429 body is the core's, byte for byte.
                let theirs = d.error_body(id).expect("a denial has a body").to_json();
                assert_eq!(body, theirs.as_bytes(), "{context}");
            }
            _ => unreachable!("only refusals and denials are answered by the layer"),
        }
        let challenge = field(response, "www-authenticate");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(challenge, Some("Bearer"), "{context}");
        } else {
            assert_eq!(challenge, None, "{context}");
        }
        let allow = field(response, "allow");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(allow, Some(model::ALLOW), "{context}");
        } else {
            assert_eq!(allow, None, "{context}");
        }
    }
}
