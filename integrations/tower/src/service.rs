//! The service: one check per request, before the inner service is
//! called.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, Request, Response};
use tollgate::headers::PolicyField;
use tollgate::{Class, Clock, Decision, Limiter, Outcome};
use tower_service::Service;

use crate::body::{BodyMode, WrapBody};
use crate::decide::{Decide, Decided, RateKey};
use crate::future::ResponseFuture;
use crate::key::{KeyExtractor, PeerKey};
use crate::layer::{Config, MissingKey, UnknownMethod};
use crate::request_id::RequestId;
use crate::response::{self, RateFields};

/// The rate-limiting service made by [`TollgateLayer`](crate::TollgateLayer).
///
/// `poll_ready` is the inner service's; `call` checks the request and
/// either calls the inner service (adding the rate-limit fields to its
/// response) or answers itself. It never panics; see the crate docs'
/// "Cost" for what it allocates.
///
/// `M` ([`WrapBody`] or [`InnerBody`](crate::InnerBody)) sets the type of
/// its responses' bodies.
#[derive(Debug)]
pub struct Tollgate<S, L, K, M = WrapBody> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config<L, K>>,
    mode: PhantomData<fn() -> M>,
}

impl<S: Clone, L, K, M> Clone for Tollgate<S, L, K, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            mode: PhantomData,
        }
    }
}

impl<S, L, K, M> Tollgate<S, L, K, M> {
    pub(crate) fn new(inner: S, config: Arc<Config<L, K>>) -> Self {
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
pub(crate) enum Verdict<F> {
    /// Call the inner service and add these fields (if any) to its answer.
    Pass(Option<RateFields>),
    /// Answer without calling the inner service.
    Answer(Response<bytes::Bytes>),
    /// Await the decision, then pass or answer.
    Later(Pending<F>),
}

/// A decision to await, and what rendering it needs. Small: for the
/// in-process limiter it never exists, but its size still counts in the
/// verdict's.
#[cfg_attr(
    not(feature = "redis"),
    expect(dead_code, reason = "only a limiter that decides later reads them")
)]
pub(crate) struct Pending<F> {
    pub(crate) future: F,
    pub(crate) class: Class,
    /// With the IETF fields: the key's `RateLimit-Policy` field.
    pub(crate) policy_field: Option<Box<Option<PolicyField>>>,
}

/// A checked request: decided, or to be awaited.
enum Checked<F> {
    Now(Decision, Option<RateFields>),
    Later(Pending<F>),
}

impl<L: Decide, K: KeyExtractor> Config<L, K> {
    pub(crate) fn judge<B>(&self, request: &Request<B>) -> Verdict<L::Future> {
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
        let checked = match self.keys.extract(request) {
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
        match checked {
            Checked::Now(decision, fields) => verdict(&decision, fields, id),
            Checked::Later(pending) => Verdict::Later(pending),
        }
    }

    /// Checks one request of `key` and renders the decision's fields.
    #[inline]
    fn check<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Checked<L::Future> {
        match self.limiter.decide(key, class) {
            Decided::Now(decision) => {
                let fields =
                    self.fields(&decision, class, || self.limiter.policy_field(key, class));
                Checked::Now(decision, fields)
            }
            Decided::Later(future) => Checked::Later(Pending {
                future,
                class,
                policy_field: self
                    .ietf
                    .then(|| Box::new(self.limiter.policy_field(key, class))),
            }),
        }
    }

    /// The rate-limit fields of `decision` for a check in `class`, with the
    /// IETF fields (and the key's `policy_field`) when enabled; none for a
    /// class the limiter lacks.
    #[inline]
    pub(crate) fn fields(
        &self,
        decision: &Decision,
        class: Class,
        policy_field: impl FnOnce() -> Option<PolicyField>,
    ) -> Option<RateFields> {
        if decision.outcome() == Outcome::UnknownClass {
            // No figures to report for a class the limiter lacks.
            return None;
        }
        let mut fields = RateFields::of(decision);
        if self.ietf {
            let name = self
                .limiter
                .policy()
                .class_policy(class)
                .map_or("", |c| c.name());
            fields = fields.with_ietf(decision.ietf_headers(name), policy_field());
        }
        Some(fields)
    }
}

/// What to do with a decision made: pass with `fields`, or answer.
pub(crate) fn verdict<F>(
    decision: &Decision,
    fields: Option<RateFields>,
    id: impl FnOnce() -> RequestId,
) -> Verdict<F> {
    if decision.is_allowed() {
        Verdict::Pass(fields)
    } else {
        Verdict::Answer(response::refused(decision, fields, &id()))
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

/// The in-process limiter decides at once: the layer checks in `call` and
/// returns the inner service's future (or its own answer), as it always
/// has.
impl<S, C, K, M, ReqBody, ResBody> Service<Request<ReqBody>> for Tollgate<S, Limiter<C>, K, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Clock + 'static,
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
            // `Immediate` has no values: this arm is never taken.
            Verdict::Later(pending) => match pending.future {},
        }
    }
}
