//! The layer and its settings.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Response};
use tollgate::{Class, Clock, CoarseClock, Limiter};
use tower_layer::Layer;

use crate::body::{InnerBody, WrapBody};
use crate::charge::{Charges, Exempt};
#[cfg(doc)]
use crate::charge::{RequestClass, RequestCost};
use crate::decide::Decide;
use crate::head::RequestHead;
use crate::key::{ApiKey, KeyExtractor, KeyFn};
use crate::method::MethodClasses;
use crate::observe::Observer;
use crate::rate_key::RateKey;
use crate::rejection::{OnRejection, Rejection};
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
    pub(crate) settings: Settings,
    /// The class of each standard method under the limiter's policy.
    pub(crate) methods: MethodClasses,
    /// The `Allow` field of a 405: the policy's methods, in policy order.
    pub(crate) allow: HeaderValue,
    /// What reports the decisions (events, metrics), when enabled.
    pub(crate) observer: Observer,
}

/// The builder's settings but for the limiter and the keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) missing_key: MissingKey,
    pub(crate) unknown_method: UnknownMethod,
    pub(crate) ietf: bool,
    pub(crate) charges: Charges,
    pub(crate) exempt: Exempt,
    pub(crate) on_rejection: OnRejection,
    /// Whether an admitted request carries its [`Decision`](tollgate::Decision) in its
    /// extensions.
    pub(crate) decision_extension: bool,
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
            settings: Settings::default(),
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
    settings: Settings,
    mode: PhantomData<fn() -> M>,
}

impl<L: Decide, K: KeyExtractor, M> TollgateLayerBuilder<L, K, M> {
    /// Where keys come from (default [`ApiKey`]).
    pub fn key_extractor<K2: KeyExtractor>(self, keys: K2) -> TollgateLayerBuilder<L, K2, M> {
        self.retype(|_| keys)
    }

    /// Keys from a closure over the request's head: the key to count the
    /// request against, of any [`RateKey`] type (a user id an
    /// authentication layer put in the extensions, a tenant, ...), or
    /// `None` for no key, answered as [`missing_key`](Self::missing_key)
    /// says.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tollgate::{Limiter, Policy};
    /// use tollgate_tower::TollgateLayer;
    ///
    /// /// Set by the application's authentication, which runs first.
    /// #[derive(Clone, Copy)]
    /// struct UserId(u64);
    ///
    /// # let limiter = Limiter::builder(Policy::default()).build().unwrap();
    /// let layer = TollgateLayer::builder(limiter)
    ///     .key_by(|request| request.extensions().get::<UserId>().map(|u| u.0))
    ///     .build();
    /// ```
    pub fn key_by<F, T>(self, key: F) -> TollgateLayerBuilder<L, KeyFn<F>, M>
    where
        F: Fn(&RequestHead<'_>) -> Option<T> + Send + Sync + 'static,
        T: RateKey,
    {
        self.retype(|_| KeyFn(key))
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
            settings: self.settings,
            mode: PhantomData,
        }
    }

    /// What to do with a request without a key (default
    /// [`MissingKey::Reject`]).
    pub fn missing_key(mut self, missing_key: MissingKey) -> Self {
        self.settings.missing_key = missing_key;
        self
    }

    /// What to do with a method outside the policy (default
    /// [`UnknownMethod::Reject`]).
    pub fn unknown_method(mut self, unknown_method: UnknownMethod) -> Self {
        self.settings.unknown_method = unknown_method;
        self
    }

    /// Whether to add the IETF draft `RateLimit` and `RateLimit-Policy`
    /// fields beside the `X-RateLimit-*` ones (default `false`).
    pub fn ietf_headers(mut self, on: bool) -> Self {
        self.settings.ietf = on;
        self
    }

    /// The class of a request from a closure over its head, instead of its
    /// method's: `None` keeps the method's. A [`RequestClass`] extension
    /// overrides it (see [`RequestCost`] for the order).
    ///
    /// ```
    /// # use tollgate::{Class, Limiter, Policy};
    /// use tollgate_tower::TollgateLayer;
    ///
    /// # let limiter = Limiter::builder(Policy::default()).build().unwrap();
    /// // POST /v1/search only reads: count it as a read.
    /// let layer = TollgateLayer::builder(limiter)
    ///     .class_by(|request| (request.uri().path() == "/v1/search").then_some(Class::READ))
    ///     .build();
    /// ```
    pub fn class_by<F>(mut self, class: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> Option<Class> + Send + Sync + 'static,
    {
        self.settings.charges.class_by = Some(Arc::new(class));
        self
    }

    /// The cost of a request from a closure over its head, instead of 1.
    /// A [`RequestCost`] extension overrides it.
    ///
    /// Under axum's `Router::layer`, the closure sees the route's
    /// `MatchedPath`:
    ///
    /// ```
    /// # use tollgate::{Limiter, Policy};
    /// use axum::extract::MatchedPath;
    /// use tollgate_tower::TollgateLayer;
    ///
    /// # let limiter = Limiter::builder(Policy::default()).build().unwrap();
    /// // A batch of up to five writes costs 5.
    /// let layer = TollgateLayer::builder(limiter)
    ///     .cost_by(|request| match request.extensions().get::<MatchedPath>() {
    ///         Some(path) if path.as_str() == "/v1/companies/batch" => 5,
    ///         _ => 1,
    ///     })
    ///     .build();
    /// ```
    pub fn cost_by<F>(mut self, cost: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> u32 + Send + Sync + 'static,
    {
        self.settings.charges.cost_by = Some(Arc::new(cost));
        self
    }

    /// Passes requests of `method` to the inner service unchecked and
    /// uncounted, with no rate-limit fields, whatever their key (or lack
    /// of one). May be called for several methods.
    ///
    /// `OPTIONS` is the usual one: a CORS preflight carries no
    /// credentials, and must not be refused for want of a key nor count
    /// against one. (A `CorsLayer` outside this layer answers preflights
    /// before they reach it; this is for a service that answers them
    /// itself.)
    pub fn exempt_method(mut self, method: Method) -> Self {
        if !self.settings.exempt.methods.contains(&method) {
            self.settings.exempt.methods.push(method);
        }
        self
    }

    /// Passes requests for which `exempt` is true to the inner service
    /// unchecked and uncounted, with no rate-limit fields: a health check,
    /// a metrics endpoint.
    pub fn exempt_by<F>(mut self, exempt: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> bool + Send + Sync + 'static,
    {
        self.settings.exempt.by = Some(Arc::new(exempt));
        self
    }

    /// Replaces the layer's own answers (429, 401, 400, 405, 500): `hook`
    /// gets each [`Rejection`], with the answer the layer would send, and
    /// returns the one to send. For a request the limiter did not admit,
    /// the rate-limit fields are set on whatever it returns.
    ///
    /// ```
    /// # use tollgate::{Limiter, Policy, Outcome};
    /// use http::StatusCode;
    /// use tollgate_tower::{Reason, TollgateLayer};
    ///
    /// # let limiter = Limiter::builder(Policy::default()).build().unwrap();
    /// // A full table is the server's trouble, not the client's: 503.
    /// let layer = TollgateLayer::builder(limiter)
    ///     .on_rejection(|rejection| {
    ///         let full = matches!(rejection.reason(),
    ///             Reason::Limited(d) if d.outcome() == Outcome::TableFull);
    ///         let mut response = rejection.into_response();
    ///         if full {
    ///             *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    ///         }
    ///         response
    ///     })
    ///     .build();
    /// ```
    pub fn on_rejection<F>(mut self, hook: F) -> Self
    where
        F: Fn(Rejection<'_>) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.settings.on_rejection = OnRejection(Some(Arc::new(hook)));
        self
    }

    /// Whether an admitted request carries its [`Decision`](tollgate::Decision) in its
    /// extensions, for the handler to read (axum:
    /// `Extension<tollgate::Decision>`). Default `false`: it costs an
    /// allocation per request.
    pub fn decision_extension(mut self, on: bool) -> Self {
        self.settings.decision_extension = on;
        self
    }

    /// The layer.
    pub fn build(self) -> TollgateLayer<L, K, M> {
        let allow = allow_field(&*self.limiter);
        let methods = MethodClasses::new(self.limiter.policy());
        let observer = Observer::new(&*self.limiter);
        TollgateLayer {
            config: Arc::new(Config {
                limiter: self.limiter,
                keys: self.keys,
                settings: self.settings,
                methods,
                allow,
                observer,
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
