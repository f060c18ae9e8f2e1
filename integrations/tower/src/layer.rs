//! The layer and its settings.

use std::marker::PhantomData;
use std::sync::Arc;

use http::HeaderValue;
use tollgate::{Class, Clock, CoarseClock, Limiter};
use tower_layer::Layer;

use crate::body::{InnerBody, WrapBody};
use crate::decide::Decide;
use crate::key::{ApiKey, KeyExtractor};
use crate::method::MethodClasses;
use crate::service::Tollgate;

/// What the layer does with a request that carries no key at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissingKey {
    /// Answer 401 with a JSON error (`code` `missing_api_key`) and
    /// `WWW-Authenticate: Bearer`; the inner service is not called.
    #[default]
    Reject,
    /// Count the request against the client's IP address (a
    /// [`PeerKey`](crate::PeerKey)), taken from axum's
    /// `ConnectInfo<SocketAddr>` (with the `axum` feature), or a
    /// `SocketAddr` or `IpAddr` in the request's extensions. A request with
    /// none of them is rejected as with [`Reject`](Self::Reject).
    PeerIp,
}

/// What the layer does with a request whose method is in none of the
/// policy's classes (`CONNECT`, `TRACE`, extension methods, or a method
/// the policy leaves out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownMethod {
    /// Answer 405 with a JSON error (`code` `method_not_allowed`) and an
    /// `Allow` field listing the policy's methods; the inner service is not
    /// called. The default: a method the policy does not rate is one the
    /// API does not serve, and passing it through unlimited would open a
    /// way around every limit.
    #[default]
    Reject,
    /// Pass the request to the inner service unchecked and uncounted; its
    /// response gets no rate-limit fields.
    Unlimited,
    /// Count the request in this class of the limiter's policy.
    Class(Class),
}

/// The settings every clone of the service shares.
#[derive(Debug)]
pub(crate) struct Config<L, K> {
    pub(crate) limiter: Arc<L>,
    pub(crate) keys: K,
    pub(crate) missing_key: MissingKey,
    pub(crate) unknown_method: UnknownMethod,
    pub(crate) ietf: bool,
    /// The class of each standard method under the limiter's policy.
    pub(crate) methods: MethodClasses,
    /// The `Allow` field of a 405: the policy's methods, in policy order.
    pub(crate) allow: HeaderValue,
}

/// A [`Layer`] that rate-limits `http` requests with a tollgate
/// [`Limiter`] (or another [`Decide`]r, such as a limiter that keeps its
/// counts in Redis): see the crate docs for what it answers.
///
/// Cloning is cheap (one reference count); every clone and every service
/// it makes share one limiter. `M` sets the type of the responses' bodies
/// (see [`TollgateLayerBuilder::inner_body`]).
#[derive(Debug)]
pub struct TollgateLayer<L = Limiter<CoarseClock>, K = ApiKey, M = WrapBody> {
    config: Arc<Config<L, K>>,
    mode: PhantomData<fn() -> M>,
}

impl<L, K, M> Clone for TollgateLayer<L, K, M> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            mode: PhantomData,
        }
    }
}

impl<C: Clock + 'static> TollgateLayer<Limiter<C>, ApiKey> {
    /// A layer with every default: [`ApiKey`] keys,
    /// [`MissingKey::Reject`], [`UnknownMethod::Reject`], no IETF fields.
    pub fn new(limiter: impl Into<Arc<Limiter<C>>>) -> Self {
        Self::builder(limiter).build()
    }

    /// Starts configuring a layer around `limiter`.
    pub fn builder(
        limiter: impl Into<Arc<Limiter<C>>>,
    ) -> TollgateLayerBuilder<Limiter<C>, ApiKey> {
        Self::decided_by(limiter.into())
    }
}

impl<L: Decide> TollgateLayer<L, ApiKey> {
    /// Starts configuring a layer around any [`Decide`]r: an in-process
    /// [`Limiter`] (as [`builder`](Self::builder)), or with the `redis`
    /// feature a `tollgate_redis::RedisLimiter`, whose decisions the
    /// layer awaits before calling the inner service.
    pub fn decided_by(limiter: Arc<L>) -> TollgateLayerBuilder<L, ApiKey> {
        TollgateLayerBuilder {
            limiter,
            keys: ApiKey::new(),
            missing_key: MissingKey::default(),
            unknown_method: UnknownMethod::default(),
            ietf: false,
            mode: PhantomData,
        }
    }
}

impl<L, K, M> TollgateLayer<L, K, M> {
    /// The limiter the layer checks requests with.
    pub fn limiter(&self) -> &Arc<L> {
        &self.config.limiter
    }
}

impl<S, L, K, M> Layer<S> for TollgateLayer<L, K, M> {
    type Service = Tollgate<S, L, K, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Tollgate::new(inner, Arc::clone(&self.config))
    }
}

/// Configures a [`TollgateLayer`]; from [`TollgateLayer::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .build()"]
pub struct TollgateLayerBuilder<L, K, M = WrapBody> {
    limiter: Arc<L>,
    keys: K,
    missing_key: MissingKey,
    unknown_method: UnknownMethod,
    ietf: bool,
    mode: PhantomData<fn() -> M>,
}

impl<L: Decide, K: KeyExtractor, M> TollgateLayerBuilder<L, K, M> {
    /// Where keys come from (default [`ApiKey`]).
    pub fn key_extractor<K2: KeyExtractor>(self, keys: K2) -> TollgateLayerBuilder<L, K2, M> {
        self.retype(|_| keys)
    }

    /// Responses keep the inner service's body type `B` (which must be
    /// `From<Bytes>`: the layer's own answers are built with it), instead
    /// of the default [`ResponseBody<B>`](crate::ResponseBody) wrapper.
    ///
    /// For axum: a response body that is not axum's `Body` is boxed into
    /// one, once per response; with this, the layer's responses are
    /// `Response<Body>` already and nothing is boxed.
    pub fn inner_body(self) -> TollgateLayerBuilder<L, K, InnerBody> {
        self.retype(|keys| keys)
    }

    /// The same settings with keys from `keys(self.keys)`, in mode `M2`.
    fn retype<K2, M2>(self, keys: impl FnOnce(K) -> K2) -> TollgateLayerBuilder<L, K2, M2> {
        TollgateLayerBuilder {
            limiter: self.limiter,
            keys: keys(self.keys),
            missing_key: self.missing_key,
            unknown_method: self.unknown_method,
            ietf: self.ietf,
            mode: PhantomData,
        }
    }

    /// What to do with a request without a key (default
    /// [`MissingKey::Reject`]).
    pub fn missing_key(mut self, missing_key: MissingKey) -> Self {
        self.missing_key = missing_key;
        self
    }

    /// What to do with a method outside the policy (default
    /// [`UnknownMethod::Reject`]).
    pub fn unknown_method(mut self, unknown_method: UnknownMethod) -> Self {
        self.unknown_method = unknown_method;
        self
    }

    /// Whether to add the IETF draft `RateLimit` and `RateLimit-Policy`
    /// fields beside the `X-RateLimit-*` ones (default `false`).
    pub fn ietf_headers(mut self, on: bool) -> Self {
        self.ietf = on;
        self
    }

    /// The layer.
    pub fn build(self) -> TollgateLayer<L, K, M> {
        let allow = allow_field(&*self.limiter);
        let methods = MethodClasses::new(self.limiter.policy());
        TollgateLayer {
            config: Arc::new(Config {
                limiter: self.limiter,
                keys: self.keys,
                missing_key: self.missing_key,
                unknown_method: self.unknown_method,
                ietf: self.ietf,
                methods,
                allow,
            }),
            mode: PhantomData,
        }
    }
}

/// The policy's methods as an `Allow` field value: `GET, HEAD, ...`.
fn allow_field<L: Decide>(limiter: &L) -> HeaderValue {
    let mut methods: Vec<&str> = Vec::new();
    for (_, class) in limiter.policy().classes() {
        for m in class.methods() {
            if !methods.contains(&m.as_str()) {
                methods.push(m);
            }
        }
    }
    // Method names in a valid policy are tokens; should one not be, an
    // empty `Allow` ("no method") is still a well-formed answer.
    HeaderValue::from_str(&methods.join(", ")).unwrap_or(HeaderValue::from_static(""))
}
