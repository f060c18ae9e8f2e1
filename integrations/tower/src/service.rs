//! The service: one check per request, before the inner service is
//! called.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, Request, Response};
use tollgate::{Class, Clock, Decision, Outcome};
use tower_service::Service;

use crate::body::{BodyMode, WrapBody};
use crate::future::ResponseFuture;
use crate::key::{KeyExtractor, PeerKey};
use crate::layer::{Config, MissingKey, UnknownMethod};
use crate::request_id::RequestId;
use crate::response::{self, RateFields};

/// The rate-limiting service made by [`RateLimitLayer`](crate::RateLimitLayer).
///
/// `poll_ready` is the inner service's; `call` checks the request and
/// either calls the inner service (adding the rate-limit fields to its
/// response) or answers itself. It never panics; see the crate docs'
/// "Cost" for what it allocates.
///
/// `M` ([`WrapBody`] or [`InnerBody`](crate::InnerBody)) sets the type of
/// its responses' bodies.
#[derive(Debug)]
pub struct RateLimit<S, C, K, M = WrapBody> {
    inner: S,
    config: Arc<Config<C, K>>,
    mode: PhantomData<fn() -> M>,
}

impl<S: Clone, C, K, M> Clone for RateLimit<S, C, K, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            mode: PhantomData,
        }
    }
}

impl<S, C, K, M> RateLimit<S, C, K, M> {
    pub(crate) fn new(inner: S, config: Arc<Config<C, K>>) -> Self {
        Self {
            inner,
            config,
            mode: PhantomData,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// What to do with a request.
enum Verdict {
    /// Call the inner service and add these fields (if any) to its answer.
    Pass(Option<RateFields>),
    /// Answer without calling the inner service.
    Answer(Response<bytes::Bytes>),
}

impl<C: Clock, K: KeyExtractor> Config<C, K> {
    fn judge<B>(&self, request: &Request<B>) -> Verdict {
        // Only the layer's own answers need a request id.
        let id = || RequestId::of(request.headers());
        let class = match self.methods.class(self.limiter.policy(), request.method()) {
            Some(class) => class,
            None => match self.unknown_method {
                UnknownMethod::Class(class) => class,
                UnknownMethod::Unlimited => return Verdict::Pass(None),
                UnknownMethod::Reject => {
                    return Verdict::Answer(response::method_not_allowed(&self.allow, &id()));
                }
            },
        };
        let (decision, fields) = match self.keys.extract(request) {
            Ok(Some(key)) => self.check(&*key, class),
            Ok(None) => match (self.missing_key, peer_ip(request.extensions())) {
                (MissingKey::PeerIp, Some(ip)) => self.check(&PeerKey(ip), class),
                _ => return Verdict::Answer(response::missing_key(&id())),
            },
            Err(e) => {
                let answer = response::error(e.status(), e.code(), e.message(), &id());
                return Verdict::Answer(answer);
            }
        };
        if decision.is_allowed() {
            Verdict::Pass(fields)
        } else {
            Verdict::Answer(response::refused(&decision, fields, &id()))
        }
    }

    /// Checks one request of `key` and renders the decision's fields.
    fn check<Q: std::hash::Hash + ?Sized>(
        &self,
        key: &Q,
        class: Class,
    ) -> (Decision, Option<RateFields>) {
        let decision = self.limiter.check(key, class);
        if decision.outcome() == Outcome::UnknownClass {
            // No figures to report for a class the limiter lacks.
            return (decision, None);
        }
        let mut fields = RateFields::of(&decision);
        if self.ietf {
            let name = self
                .limiter
                .policy()
                .class_policy(class)
                .map_or("", |c| c.name());
            fields = fields.with_ietf(
                decision.ietf_headers(name),
                self.limiter.policy_field(key, class),
            );
        }
        (decision, Some(fields))
    }
}

/// The client's address from axum's `ConnectInfo`, or a `SocketAddr` or
/// `IpAddr` extension.
fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    extensions
        .get::<SocketAddr>()
        .map(SocketAddr::ip)
        .or_else(|| extensions.get::<IpAddr>().copied())
}

impl<S, C, K, M, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, C, K, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Clock,
    K: KeyExtractor,
    M: BodyMode<ResBody>,
{
    type Response = Response<M::Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, M>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.config.judge(&request) {
            Verdict::Pass(fields) => ResponseFuture::inner(self.inner.call(request), fields),
            Verdict::Answer(response) => ResponseFuture::ready(response),
        }
    }
}
