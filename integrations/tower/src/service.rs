//! The service: one check per request, before the inner service is
//! called.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Extensions, Request, Response};
use tollgate::headers::PolicyField;
use tollgate::{Class, Clock, Decision, Limiter, Outcome};
use tower_service::Service;

use crate::body::{BodyMode, WrapBody};
use crate::decide::{Decide, Decided};
use crate::future::ResponseFuture;
use crate::head::RequestHead;
use crate::key::{KeyExtractor, PeerKey};
use crate::layer::{Config, MissingKey, UnknownMethod};
use crate::observe::Seen;
use crate::rate_key::RateKey;
use crate::rejection::{Reason, Rejection};
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
    /// What the observer keeps of the key (nothing, without `tracing`).
    pub(crate) seen: Seen,
}

/// A checked request: decided, to be awaited, passed unchecked, or
/// answered without a check.
enum Checked<F> {
    Now(Decision, Option<RateFields>),
    Later(Pending<F>),
    Unchecked,
    Answer(Response<Bytes>),
}

impl<L: Decide, K: KeyExtractor> Config<L, K> {
    /// What to do with `request`. An admitted request gets its decision
    /// in its extensions when the layer is set to.
    pub(crate) fn judge<B>(&self, request: &mut Request<B>) -> Verdict<L::Future> {
        match self.check_request(&RequestHead::of(request)) {
            Checked::Now(decision, fields) if decision.is_allowed() => {
                if self.settings.decision_extension {
                    request.extensions_mut().insert(decision);
                }
                Verdict::Pass(fields)
            }
            Checked::Now(decision, fields) => Verdict::Answer(self.answer(
                Reason::Limited(decision),
                &RequestHead::of(request),
                fields,
            )),
            Checked::Unchecked => Verdict::Pass(None),
            Checked::Later(pending) => Verdict::Later(pending),
            Checked::Answer(answer) => Verdict::Answer(answer),
        }
    }

    /// Finds the request's class, cost and key, and checks it, or answers
    /// a request that cannot be checked.
    #[inline]
    fn check_request(&self, head: &RequestHead<'_>) -> Checked<L::Future> {
        let settings = &self.settings;
        if settings.exempt.covers(head) {
            return Checked::Unchecked;
        }
        let class = match settings.charges.class(head) {
            Some(class) => class,
            None => match self.methods.class(self.limiter.policy(), head.method()) {
                Some(class) => class,
                None => match settings.unknown_method {
                    UnknownMethod::Class(class) => class,
                    UnknownMethod::Unlimited => return Checked::Unchecked,
                    UnknownMethod::Reject => {
                        return Checked::Answer(self.answer(Reason::MethodNotAllowed, head, None));
                    }
                },
            },
        };
        let cost = settings.charges.cost(head);
        match self.keys.extract(head) {
            Ok(Some(key)) => self.check(&key, class, cost, head),
            Ok(None) => match (settings.missing_key, peer_ip(head.extensions())) {
                (MissingKey::PeerIp, Some(ip)) => self.check(&PeerKey(ip), class, cost, head),
                _ => Checked::Answer(self.answer(Reason::MissingKey, head, None)),
            },
            Err(e) => Checked::Answer(self.answer(Reason::InvalidKey(e), head, None)),
        }
    }

    /// Checks a request of `key` and renders the decision's fields.
    #[inline]
    fn check<Q: RateKey + ?Sized>(
        &self,
        key: &Q,
        class: Class,
        cost: u32,
        head: &RequestHead<'_>,
    ) -> Checked<L::Future> {
        match self.limiter.decide(key, class, cost) {
            Decided::Now(decision) => {
                self.observer
                    .decided(&*self.limiter, &decision, class, head, || {
                        self.observer.see(key)
                    });
                let fields =
                    self.fields(&decision, class, || self.limiter.policy_field(key, class));
                Checked::Now(decision, fields)
            }
            Decided::Later(future) => Checked::Later(Pending {
                future,
                class,
                policy_field: self
                    .settings
                    .ietf
                    .then(|| Box::new(self.limiter.policy_field(key, class))),
                seen: self.observer.see(key),
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
        if self.settings.ietf {
            let name = self
                .limiter
                .policy()
                .class_policy(class)
                .map_or("", |c| c.name());
            fields = fields.with_ietf(decision.ietf_headers(name), policy_field());
        }
        Some(fields)
    }

    /// The layer's answer to a request it does not pass on: its own, or
    /// the rejection hook's, with `fields` (a refused decision's) set on
    /// it.
    #[cold]
    pub(crate) fn answer(
        &self,
        reason: Reason,
        head: &RequestHead<'_>,
        fields: Option<RateFields>,
    ) -> Response<Bytes> {
        let id = RequestId::of(head.headers());
        let mut response = match reason {
            Reason::Limited(decision) => response::refused(&decision, &id),
            Reason::MissingKey => response::missing_key(&id),
            Reason::InvalidKey(e) => response::error(e.status(), e.code(), e.message(), &id),
            Reason::MethodNotAllowed => response::method_not_allowed(&self.allow, &id),
        };
        if let Some(hook) = &self.settings.on_rejection.0 {
            response = hook(Rejection::new(reason, *head, id.as_str(), response));
        }
        if let Some(fields) = fields {
            fields.apply(response.headers_mut());
        }
        response::close_if_unread(head, response.headers_mut());
        response
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.config.judge(&mut request) {
            Verdict::Pass(fields) => ResponseFuture::inner(self.inner.call(request), fields),
            Verdict::Answer(response) => ResponseFuture::ready(response),
            // `Immediate` has no values: this arm is never taken.
            Verdict::Later(pending) => match pending.future {},
        }
    }
}
