//! The layer over a limiter that decides later (a `RedisLimiter`): `call`
//! starts the check, and the response future awaits the decision before
//! it calls the inner service or answers.
//!
//! `call` keeps the inner service that `poll_ready` readied and leaves a
//! clone in its place (the usual way for a middleware that calls its
//! inner service from its future), so the inner service must be `Clone`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tollgate::headers::PolicyField;
use tollgate::{Class, Clock};
use tollgate_redis::RedisLimiter;
use tower_service::Service;

use crate::body::BodyMode;
use crate::decide::Decide;
use crate::future::ResponseFuture;
use crate::head::RequestHead;
use crate::key::KeyExtractor;
use crate::layer::Config;
use crate::observe::Seen;
use crate::rejection::Reason;
use crate::service::{Pending, Tollgate, Verdict};

/// The response future of the layer over a limiter that decides later:
/// the decision, then the inner service's response (with the rate-limit
/// fields) or the layer's own answer.
pub struct DeferredFuture<S, B, L, K, M>
where
    S: Service<Request<B>>,
    L: Decide,
{
    state: State<S, B, L, K, M>,
}

enum State<S, B, L, K, M>
where
    S: Service<Request<B>>,
    L: Decide,
{
    Deciding(Box<Deciding<S, B, L, K>>),
    Responding(Pin<Box<ResponseFuture<S::Future, M>>>),
    Done,
}

/// What waits for a decision: boxed once, so that the future stays small
/// while the request, the service and the settings wait beside it.
struct Deciding<S, B, L: Decide, K> {
    decision: L::Future,
    service: S,
    request: Request<B>,
    config: Arc<Config<L, K>>,
    class: Class,
    policy_field: Option<Box<Option<PolicyField>>>,
    seen: Seen,
}

// Nothing is pinned in place: the decision is `Unpin` (a box, for a
// `RedisLimiter`), the response future is boxed, and the service and the
// request are moved out before use.
impl<S, B, L, K, M> Unpin for DeferredFuture<S, B, L, K, M>
where
    S: Service<Request<B>>,
    L: Decide,
{
}

impl<S, B, L, K, M> fmt::Debug for DeferredFuture<S, B, L, K, M>
where
    S: Service<Request<B>>,
    L: Decide,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.state {
            State::Deciding(_) => "DeferredFuture::Deciding",
            State::Responding(_) => "DeferredFuture::Responding",
            State::Done => "DeferredFuture::Done",
        })
    }
}

impl<S, B, L, K, M> DeferredFuture<S, B, L, K, M>
where
    S: Service<Request<B>>,
    L: Decide,
{
    fn responding(future: ResponseFuture<S::Future, M>) -> Self {
        Self {
            state: State::Responding(Box::pin(future)),
        }
    }
}

impl<S, B, L, K, M, ResBody> Future for DeferredFuture<S, B, L, K, M>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    L: Decide<Future: Unpin>,
    K: KeyExtractor,
    M: BodyMode<ResBody>,
{
    type Output = Result<Response<M::Body>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Deciding(waiting) => {
                    let decision = match Pin::new(&mut waiting.decision).poll(cx) {
                        Poll::Ready(d) => d,
                        Poll::Pending => return Poll::Pending,
                    };
                    let State::Deciding(waiting) = std::mem::replace(&mut this.state, State::Done)
                    else {
                        continue;
                    };
                    let Deciding {
                        mut service,
                        mut request,
                        config,
                        class,
                        policy_field,
                        seen,
                        ..
                    } = *waiting;
                    config.observer.decided(
                        &*config.limiter,
                        &decision,
                        class,
                        &RequestHead::of(&request),
                        || seen,
                    );
                    let fields = config.fields(&decision, class, || policy_field.and_then(|f| *f));
                    let future = if decision.is_allowed() {
                        if config.settings.decision_extension {
                            request.extensions_mut().insert(decision);
                        }
                        ResponseFuture::inner(service.call(request), fields)
                    } else {
                        let head = RequestHead::of(&request);
                        let answer = config.answer(Reason::Limited(decision), &head, fields);
                        ResponseFuture::ready(answer)
                    };
                    this.state = State::Responding(Box::pin(future));
                }
                State::Responding(future) => return future.as_mut().poll(cx),
                State::Done => {
                    // Polled again after completion: an empty response
                    // rather than a panic.
                    let empty = ResponseFuture::ready(Response::default());
                    this.state = State::Responding(Box::pin(empty));
                }
            }
        }
    }
}

/// A limiter that keeps its counts in Redis decides later: the layer's
/// future awaits the decision (within the limiter's timeout, after which
/// its failure policy decides), then calls the inner service or answers.
impl<S, C, K, M, ReqBody, ResBody> Service<Request<ReqBody>> for Tollgate<S, RedisLimiter<C>, K, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: Clock + 'static,
    K: KeyExtractor,
    M: BodyMode<ResBody>,
{
    type Response = Response<M::Body>;
    type Error = S::Error;
    type Future = DeferredFuture<S, ReqBody, RedisLimiter<C>, K, M>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.config.judge(&mut request) {
            Verdict::Pass(fields) => {
                DeferredFuture::responding(ResponseFuture::inner(self.inner.call(request), fields))
            }
            Verdict::Answer(response) => {
                DeferredFuture::responding(ResponseFuture::ready(response))
            }
            Verdict::Later(Pending {
                future,
                class,
                policy_field,
                seen,
            }) => {
                // The readied service goes with the request; its clone
                // waits for the next `poll_ready`.
                let clone = self.inner.clone();
                let service = std::mem::replace(&mut self.inner, clone);
                DeferredFuture {
                    state: State::Deciding(Box::new(Deciding {
                        decision: future,
                        service,
                        request,
                        config: Arc::clone(&self.config),
                        class,
                        policy_field,
                        seen,
                    })),
                }
            }
        }
    }
}
