//! # tollgate-tower
//!
//! A [tower](https://docs.rs/tower) middleware that rate-limits `http`
//! requests with a [`tollgate::Limiter`]: per API key and per method class,
//! with `X-RateLimit-Limit`, `-Remaining` and `-Reset` on every checked
//! response (the handler's included), and a 429 with `Retry-After` and a
//! JSON body when a limit is reached. It works with axum 0.8 and hyper 1
//! (http 1.x, tower 0.5).
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use http::{Request, StatusCode};
//! use tollgate::{Limiter, ManualClock, Policy};
//! use tollgate_tower::TollgateLayer;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // A minute boundary: 2025-05-06T00:00:00Z.
//! let clock = ManualClock::new(Duration::from_secs(1_746_489_600));
//! let limiter = Limiter::builder(Policy::default()).clock(clock).build().unwrap();
//! let app = Router::new()
//!     .route("/v1/companies", get(|| async { "[]" }).post(|| async { "{}" }))
//!     .layer(TollgateLayer::new(limiter));
//!
//! let post = || Request::post("/v1/companies")
//!     .header("authorization", "Bearer key_1")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! // Writes: 60 a minute, at most 20 in any 10 seconds.
//! for n in 1..=20 {
//!     let response = app.clone().oneshot(post()).await.unwrap();
//!     assert_eq!(response.status(), StatusCode::OK);
//!     assert_eq!(response.headers()["x-ratelimit-limit"], "60");
//!     assert_eq!(response.headers()["x-ratelimit-remaining"], (20 - n).to_string());
//!     assert_eq!(response.headers()["x-ratelimit-reset"], "1746489610");
//! }
//! let response = app.clone().oneshot(post()).await.unwrap();
//! assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(response.headers()["retry-after"], "10");
//! assert_eq!(response.headers()["content-type"], "application/json");
//! # });
//! ```
//!
//! ## What the layer answers
//!
//! For each request, the class comes from its method through the
//! limiter's policy ([`Policy::class_for_method`](tollgate::Policy::class_for_method)),
//! the key from the request ([`KeyExtractor`], by default [`ApiKey`]), and
//! then one [`Limiter::check`](tollgate::Limiter::check):
//!
//! | request | status | body `code` | rate-limit fields |
//! |---|---|---|---|
//! | admitted | the inner service's | the inner service's | `X-RateLimit-*` |
//! | over a limit (or the limiter's table is full) | 429 | `rate_limited` | `X-RateLimit-*`, `Retry-After` |
//! | a cost above a window's limit (never with cost 1) | 429 | `cost_exceeds_limit` | `X-RateLimit-*` |
//! | no key | 401, `WWW-Authenticate: Bearer` ([`MissingKey::Reject`], the default) | `missing_api_key` | none |
//! | an unusable key (see [`KeyError`]) | 401 with `WWW-Authenticate: Bearer`, or 400 for two keys | `invalid_api_key`, `ambiguous_api_key` | none |
//! | a method in no class | 405 with `Allow` ([`UnknownMethod::Reject`], the default) | `method_not_allowed` | none |
//! | a class the limiter's policy lacks ([`UnknownMethod::Class`] with another policy's class) | 500 | `internal_error` | none |
//!
//! The method is judged before the key: a method in no class gets its 405
//! whatever key the request carries.
//!
//! The 429 body is the core's, from [`Decision::error_body`](tollgate::Decision::error_body):
//!
//! ```json
//! {"error":{"code":"rate_limited","message":"Rate limit exceeded.",
//!  "details":{"limit":60,"window":"1m"},"request_id":"req_..."}}
//! ```
//!
//! The layer's other errors have the same shape without `details`, with
//! these messages: `An API key is required: send Authorization: Bearer
//! <key> or X-API-Key.` (`missing_api_key`), `The method is not allowed.`
//! (`method_not_allowed`), and those of [`KeyError`]. Every
//! answer of the layer's own has `Content-Type: application/json` and
//! echoes the request id in `X-Request-Id`: the caller's `X-Request-Id`
//! when it is one field of 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII bytes,
//! otherwise `req_` followed by a per-process random prefix and a counter.
//!
//! With [`TollgateLayerBuilder::ietf_headers`], every response that
//! carries `X-RateLimit-*` also carries the IETF draft `RateLimit` and
//! `RateLimit-Policy` fields (with the key's own limits).
//!
//! ## Keys
//!
//! [`ApiKey`] reads `Authorization: Bearer <key>`, then `X-API-Key: <key>`.
//! Keys are 1 to 256 bytes ([`DEFAULT_MAX_KEY_LEN`], configurable) of
//! visible ASCII; the scheme is case-insensitive and followed by one or
//! more spaces or tabs. Non-UTF-8 or non-ASCII bytes, a key that is too long,
//! `Bearer` with nothing after it, and two `Authorization` fields all get
//! a defined JSON error, never a panic. A request with no key is rejected
//! by default, or counted against its peer IP address with
//! [`MissingKey::PeerIp`] (serve axum with
//! `into_make_service_with_connect_info::<SocketAddr>()`, or put a
//! `SocketAddr` or `IpAddr` in the request's extensions).
//!
//! Any other source of keys is a closure over the request's head
//! ([`TollgateLayerBuilder::key_by`]: a user id that authentication put in
//! the extensions, a tenant from the path), or a [`KeyExtractor`] of your
//! own. Keys need not be strings: any [`RateKey`] (integers, byte strings,
//! your own types) is counted as the limiter counts it.
//!
//! The layer limits callers by the key they present; it does not check
//! that the key is valid. Every new key takes a slot of the limiter's
//! table, and when the table is full new keys are refused (the limiter's
//! default, which never over-admits keys already tracked). Where keys come
//! from untrusted clients, authenticate before this layer (an axum layer
//! added after this one runs before it) or size the table for the keys
//! that may appear in two minutes.
//!
//! ## Class, cost and exemptions
//!
//! A request is counted in its method's class, at cost 1, unless a
//! [`RequestClass`] or [`RequestCost`] in its extensions (put there by
//! anything that runs before the layer), or the layer's
//! [`class_by`](TollgateLayerBuilder::class_by) and
//! [`cost_by`](TollgateLayerBuilder::cost_by) closures, say otherwise: a
//! batch endpoint that costs 5, a search `POST` counted as a read. Under
//! `Router::layer` the closures see axum's `MatchedPath`.
//!
//! [`exempt_method`](TollgateLayerBuilder::exempt_method) and
//! [`exempt_by`](TollgateLayerBuilder::exempt_by) pass requests unchecked
//! and uncounted: `OPTIONS` preflights, which carry no credentials, a
//! health check.
//!
//! ## Changing the answers
//!
//! [`on_rejection`](TollgateLayerBuilder::on_rejection) sees each answer
//! of the layer's own (a [`Rejection`], with its [`Reason`]) and returns
//! the one to send: a 503 for a full table, a body in the API's own error
//! format. The rate-limit fields are set on whatever it returns for a
//! request the limiter refused. With
//! [`decision_extension`](TollgateLayerBuilder::decision_extension), an
//! admitted request carries its [`tollgate::Decision`] to the handler.
//!
//! The layer answers on the request's head and never reads its body. A
//! refused HTTP/1 request that has one gets `Connection: close` on its
//! answer: the server closes a connection whose request body was left
//! unread, and the field tells the client to open another rather than send
//! its next request into a closed one.
//!
//! ## Observability
//!
//! Two features report the layer's decisions; with neither, the request
//! path is unchanged.
//!
//! **`tracing`**: an event per decision that is not a plain admission,
//! under the target `tollgate_tower` (`RUST_LOG=tollgate_tower=debug`):
//!
//! | decision | level | message |
//! |---|---|---|
//! | denied (`Outcome::Denied`), a cost above a limit, a class the limiter lacks | `DEBUG` | `request refused by the rate limit` |
//! | the table is full: a new key refused (`TableFull`) or admitted uncounted (`AllowedUntracked`) | `WARN` once a second, else `DEBUG` | `the limiter's table is full: ...` |
//! | made without the store ([`Decision::is_degraded`](tollgate::Decision::is_degraded): Redis slow or down) | `WARN` once a second, else `DEBUG` | `decided without the store, ...` |
//!
//! A denial is the limiter at work, one event per refused request, so it
//! is detail for whoever turns `DEBUG` on. A full table (often a flood of
//! invented keys, which is otherwise seen nowhere) and a missing store
//! are the operator's business, but come in floods: each layer lets one
//! warning of each kind through per second of the decisions' time, with
//! a field `suppressed` that counts those of that kind since the last
//! warning, which went out at `DEBUG` only. The log then holds at most
//! two warnings a second per layer however large the flood, and still
//! says how large it was.
//!
//! Every event has the fields `class` (the class's name; `(unknown)` for
//! a class the policy lacks), `outcome` (`denied`, `cost_too_large`,
//! `table_full`, `allowed_untracked`, `unknown_class`, or `allowed` for a
//! degraded admission), `limit`, `remaining`, `retry_after` (seconds,
//! when the decision has one), `degraded`, `method`, `path` (without the
//! query, which may hold secrets) and `key_fingerprint`.
//!
//! Keys are credentials, and no event holds one. `key_fingerprint` is a
//! hash of the key's bytes, 16 hex digits, under a seed that the layer
//! draws at random when it is built (std's `RandomState`) and never
//! shows: one key has one fingerprint for the life of the layer, so that
//! an operator can follow a caller through the events. It is not
//! reversible: without the seed, the logs neither give a key back nor let
//! their reader test a guessed key against a fingerprint (std does not
//! promise a cryptographic hash: it is a pseudonym for logs). It is not
//! stable across restarts, nor between two layers built separately.
//!
//! With the `redis` feature too, `tollgate_redis` reports its circuit
//! breaker opening (`WARN`) and closing (`INFO`) and each failed call to
//! Redis (`DEBUG`), under the target `tollgate_redis`.
//!
//! **`metrics`**: through the [`metrics`](https://docs.rs/metrics) facade,
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `tollgate_decisions_total` | counter | `class`, `outcome` (as in the events, and `allowed`) |
//! | `tollgate_table_full_total` | counter | `class`: decisions that found the table full (`table_full` and `allowed_untracked`) |
//! | `tollgate_degraded_decisions_total` | counter | `class`: decisions made without the store |
//! | `tollgate_tracked_states` | gauge | none: the limiter's tracked (key, class) states ([`Decide::tracked`]) |
//!
//! The layer registers one handle per class and outcome when it is built,
//! so that a decision costs an increment of the recorder's counter, not a
//! look-up by name. **Install the recorder before building the layer**: a
//! layer built earlier holds handles of no recorder and records nothing.
//! The gauge is set at most once a second per layer, by the first
//! decision of each second, so that checks on many threads do not all
//! write one shared value; for a `RedisLimiter` it counts the in-process
//! table that decides during an outage. Several layers over different
//! limiters in one process share the names: their counters add up, and
//! the gauge is the last one set.
//!
//! The features' cost per admitted request, measured in instructions, is
//! in the repository's `BENCHMARKS.md`.
//!
//! ## Where to put the layer
//!
//! `Router::layer`, as above, checks every request (axum applies it to
//! the fallback too, so a 404 for an unknown path carries the fields). It
//! also boxes each layered route and clones it for every request, and a
//! response body other than axum's own `Body` (the default
//! [`ResponseBody`]) is boxed into one. Wrapping the whole router, with
//! responses that keep axum's `Body` ([`TollgateLayerBuilder::inner_body`]),
//! checks the same requests and does none of that:
//!
//! ```no_run
//! # use std::{net::SocketAddr, sync::Arc};
//! # use axum::{extract::Request, routing::get, Router};
//! # use tollgate::{Limiter, Policy};
//! # use tollgate_tower::TollgateLayer;
//! use tower::Layer;
//! # async fn serve() -> std::io::Result<()> {
//! # let limiter = Limiter::builder(Policy::default()).build().unwrap();
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let routes = Router::new().route("/v1/companies", get(|| async { "[]" }));
//! let layer = TollgateLayer::builder(Arc::new(limiter)).inner_body().build();
//! let app = layer.layer(routes);
//! axum::serve(
//!     listener,
//!     axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
//! )
//! .await
//! # }
//! ```
//!
//! Two things differ from `Router::layer`: layers added to the router
//! (with `Router::layer`) now run after the limiter, so a layer that must
//! run first, such as authentication, wraps the limited service in turn;
//! and a [`KeyExtractor`] runs before routing, so it does not see axum's
//! `MatchedPath` or path parameters. The example API server wraps the
//! router; see `docs/http-load.md` for what each placement costs per
//! request.
//!
//! ## A fleet: limits shared through Redis
//!
//! The layer checks requests with any [`Decide`]r. The in-process
//! [`tollgate::Limiter`] decides at once, on the path described here. With
//! the `redis` feature, a `tollgate_redis::RedisLimiter` (every key's
//! windows shared by the servers that use one Redis) is served by the same
//! layer through [`TollgateLayer::decided_by`]: `call` starts the check,
//! and the response future (`DeferredFuture`, with the feature)
//! awaits the decision, then calls the inner service (which must be
//! `Clone`: the readied service goes with the request) or answers, with
//! the same fields and bodies. A decision made without Redis (it was slow
//! or down) comes from the limiter's failure policy, never as a 5xx.
//! Keys are named in Redis by their bytes; a peer address
//! ([`MissingKey::PeerIp`]) as `\0peer:` and its text ([`RateKey`]).
//!
//! ## Browsers
//!
//! A page served from another origin calls the API through CORS, and two
//! things follow. The browser first sends a preflight, an `OPTIONS`
//! request with `Access-Control-Request-Method` and without the key (it
//! sends one before any request with `Authorization`); this layer would
//! answer it 401, and under the reference policy `OPTIONS` is a read that
//! counts. And `fetch` shows a cross-origin page only a few safelisted
//! response fields: `X-RateLimit-*`, `Retry-After` and `X-Request-Id` read
//! as `null` unless `Access-Control-Expose-Headers` names them, as
//! [`EXPOSE_HEADERS`] does.
//!
//! So the CORS layer goes outside this one. It then answers preflights
//! itself, before they reach the limiter, and puts its fields on every
//! response of the limiter's own, the 429 included; without them the
//! browser hides the whole response, and the page sees a failed `fetch`
//! instead of a 429 it can honour. With tower-http's `CorsLayer`:
//!
//! ```
//! # use std::time::Duration;
//! use axum::{routing::post, Router};
//! use http::{header, HeaderValue, Method, Request, StatusCode};
//! # use tollgate::{Limiter, ManualClock, Policy};
//! use tollgate_tower::{TollgateLayer, EXPOSE_HEADERS, X_API_KEY, X_REQUEST_ID};
//! use tower::ServiceExt;
//! use tower_http::cors::CorsLayer;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! # let clock = ManualClock::new(Duration::from_secs(1_746_489_600));
//! # let limiter = Limiter::builder(Policy::default()).clock(clock).build().unwrap();
//! let cors = CorsLayer::new()
//!     .allow_origin(HeaderValue::from_static("https://app.example"))
//!     .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
//!     .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, X_API_KEY, X_REQUEST_ID])
//!     .expose_headers(EXPOSE_HEADERS);
//! let app = Router::new()
//!     .route("/v1/companies", post(|| async { "{}" }))
//!     .layer(TollgateLayer::new(limiter))
//!     .layer(cors); // added last, so it runs first
//!
//! let preflight = Request::options("/v1/companies")
//!     .header("origin", "https://app.example")
//!     .header("access-control-request-method", "POST")
//!     .header("access-control-request-headers", "authorization, content-type")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.clone().oneshot(preflight).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK); // not 401, and not counted
//! assert!(!response.headers().contains_key("x-ratelimit-limit"));
//!
//! let post = || Request::post("/v1/companies")
//!     .header("origin", "https://app.example")
//!     .header("authorization", "Bearer key_1")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! for _ in 0..20 {
//!     app.clone().oneshot(post()).await.unwrap();
//! }
//! let response = app.clone().oneshot(post()).await.unwrap();
//! assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
//! let headers = response.headers();
//! assert_eq!(headers["access-control-allow-origin"], "https://app.example");
//! let exposed = headers["access-control-expose-headers"].to_str().unwrap();
//! assert!(exposed.contains("x-ratelimit-remaining") && exposed.contains("retry-after"));
//! # });
//! ```
//!
//! `Router::layer` wraps what is already there, so the CORS layer is
//! added after this one. When this layer wraps the whole router, the CORS
//! layer wraps the result in turn: `cors.layer(tollgate.layer(routes))`,
//! or `ServiceBuilder::new().layer(cors).layer(tollgate).service(routes)`
//! (a `ServiceBuilder` runs its first layer first). In the other order the
//! preflight meets the limiter (401, and the browser refuses the request
//! it was for) unless `OPTIONS` is exempt
//! ([`exempt_method`](TollgateLayerBuilder::exempt_method)), and exempt
//! or not, the limiter's 429 leaves without CORS fields. tower-http's
//! `CorsLayer` answers every `OPTIONS` request as a preflight, so with it
//! outside, no `OPTIONS` request is counted.
//! The layer's own answers echo `X-Request-Id`; an admitted response
//! carries whatever the inner service sets.
//!
//! ## With hyper
//!
//! The service is a `tower::Service`; hyper 1 serves one through
//! `hyper_util::service::TowerToHyperService`. The response body,
//! [`ResponseBody`], is an `http_body::Body` with `Bytes` data that wraps
//! any inner body (a proxy's `Incoming` included); with
//! [`TollgateLayerBuilder::inner_body`] it is the inner service's own
//! body type, for types built `From<Bytes>` (`Full<Bytes>`, for one).
//!
//! ## Cost
//!
//! `call` checks synchronously and never panics. Once the thread has
//! warmed up, an admitted request whose remaining count is below 1024
//! costs no allocation of the layer's own (the limit and `Reset` may be
//! large), provided the inner service's response has room in its field
//! map for three more: header values of numbers below 1024 are made once
//! per process, and a `Reset` or a large limit is a clone of the thread's
//! recent rendering of it. Each thread keeps its last four; a new
//! window's `Reset` is rendered once per thread, into the arena below. A
//! remaining count of 1024 or more is carved out of a per-thread arena:
//! two allocations per 512 bytes of digits, the buffer and its reference
//! count, about one per 25 requests for ten-digit counts. `tests/alloc.rs`
//! counts these cases. The layer's own answers allocate their JSON body,
//! and the IETF fields, when enabled, their values. The response future
//! holds the inner future inline (no box). Under axum, a response body
//! other than axum's `Body` is boxed into one by axum, once per response:
//! [`TollgateLayerBuilder::inner_body`] avoids that.

#![forbid(unsafe_code)]
// On docs.rs, items that need a feature say which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod charge;
mod cors;
mod decide;
#[cfg(feature = "redis")]
mod deferred;
#[cfg(feature = "tracing")]
mod events;
#[cfg(feature = "tracing")]
mod fingerprint;
mod future;
mod head;
mod key;
mod layer;
#[cfg(feature = "metrics")]
mod meters;
mod method;
mod number;
mod observe;
mod rate_key;
mod rejection;
mod request_id;
mod response;
mod service;

pub use body::{BodyMode, InnerBody, ResponseBody, WrapBody};
pub use charge::{RequestClass, RequestCost};
pub use cors::EXPOSE_HEADERS;
pub use decide::{Decide, Decided, Immediate};
#[cfg(feature = "redis")]
pub use deferred::DeferredFuture;
pub use future::ResponseFuture;
pub use head::RequestHead;
pub use key::{ApiKey, KeyError, KeyExtractor, KeyFn, PeerKey, DEFAULT_MAX_KEY_LEN, X_API_KEY};
pub use layer::{MissingKey, TollgateLayer, TollgateLayerBuilder, UnknownMethod};
pub use rate_key::RateKey;
pub use rejection::{Reason, Rejection};
pub use request_id::{MAX_REQUEST_ID_LEN, X_REQUEST_ID};
pub use service::Tollgate;
/// The tollgate core, re-exported so that its version always matches this crate's.
pub use tollgate;
