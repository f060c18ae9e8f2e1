//! The middleware: pacing around each call, and retrying a 429 once its
//! `Retry-After` has passed.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use http::Extensions;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next, Result};
use tollgate_client::Pacer;

use crate::clock;
use crate::fields;
use crate::key::KeyFn;
use crate::keys::{Keys, Waited};
use crate::state::Settings;
use crate::Paced;

/// `reqwest-middleware` middleware that paces calls to a rate-limited API
/// with a [`Pacer`], per API key.
///
/// For each call, on the state of its key (shared by every clone of the
/// middleware and of the client it is in):
///
/// 1. **Before sending**, it waits while the key's latest
///    `X-RateLimit-Remaining`, less the key's requests still in flight,
///    is under the pacer's [threshold](tollgate_client::PacerBuilder::threshold):
///    until `X-RateLimit-Reset` plus the [reset margin](PacingMiddlewareBuilder::reset_margin).
///    After a window has ended, one request goes first and the others
///    wait for its answer, which tells the new window's room. After a
///    429 on the key, it waits out that 429's `Retry-After`.
/// 2. **On a 429**, it waits what `Retry-After` says, literally, counted
///    from the 429's arrival, and sends the request again, up to
///    [`max_retries`](PacingMiddlewareBuilder::max_retries) times (3 by
///    default). It gives the 429 back, as the server sent it, when the
///    retries are spent, when the request cannot be sent twice (its body
///    is a stream: `Request::try_clone` gives `None`), or when the wait
///    would pass the pacer's [`max_wait`](tollgate_client::PacerBuilder::max_wait)
///    (the server asks for longer than the caller allowed: no retry
///    before it).
/// 3. **Jitter**: the pacer's, on top of every wait, only if it is built
///    for a [shared key](tollgate_client::PacerBuilder::shared_key).
///
/// No wait exceeds the pacer's `max_wait` plus its jitter (1 hour by
/// default). The response returned (2xx, 429 or any other) carries a
/// [`Paced`] in its extensions. Transport errors are returned as they
/// are, without a retry: retrying them is another middleware's work.
/// A response without rate-limit fields leaves the pacing state alone;
/// malformed fields count as missing, and no header value makes the
/// middleware panic. Which requests share a key: see
/// [`key_fn`](PacingMiddlewareBuilder::key_fn).
///
/// # Runtime
///
/// The middleware sleeps on tokio's timer: calls must run inside a tokio
/// runtime with its time driver enabled (`#[tokio::main]` and
/// `Runtime::new` enable it; a `Builder` needs `enable_time` or
/// `enable_all`), as reqwest's own calls must. Without one, tokio panics
/// on the first wait.
#[derive(Clone)]
pub struct PacingMiddleware {
    inner: Arc<Inner>,
}

struct Inner {
    pacer: Pacer,
    settings: Settings,
    max_retries: u32,
    key: KeyFn,
    keys: Keys,
}

impl PacingMiddleware {
    /// The default number of times a 429 is retried.
    pub const DEFAULT_MAX_RETRIES: u32 = 3;
    /// The default [reset margin](PacingMiddlewareBuilder::reset_margin):
    /// 50 milliseconds.
    pub const DEFAULT_RESET_MARGIN: Duration = Duration::from_millis(50);

    /// A middleware with `pacer` and every other setting at its default.
    pub fn new(pacer: Pacer) -> Self {
        Self::builder(pacer).build()
    }

    /// Configures a middleware around `pacer`, which sets the threshold,
    /// the jitter and the longest wait.
    pub fn builder(pacer: Pacer) -> PacingMiddlewareBuilder {
        PacingMiddlewareBuilder {
            pacer,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            reset_margin: Self::DEFAULT_RESET_MARGIN,
            key: None,
        }
    }

    /// How many keys hold pacing state now. Keys whose state has nothing
    /// to wait for are dropped as new keys come.
    pub fn tracked_keys(&self) -> usize {
        self.inner.keys.len()
    }
}

/// Shows the configuration and the number of keys tracked; never a key.
impl fmt::Debug for PacingMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacingMiddleware")
            .field("pacer", &self.inner.pacer)
            .field("max_retries", &self.inner.max_retries)
            .field("reset_margin", &self.inner.settings.reset_margin)
            .field("tracked_keys", &self.inner.keys.len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`PacingMiddleware`]; from [`PacingMiddleware::builder`].
/// Every setting has a default, so building cannot fail.
#[must_use = "a builder does nothing until .build()"]
pub struct PacingMiddlewareBuilder {
    pacer: Pacer,
    max_retries: u32,
    reset_margin: Duration,
    key: Option<KeyFn>,
}

impl PacingMiddlewareBuilder {
    /// How many times a call that met a 429 is sent again (default
    /// [`PacingMiddleware::DEFAULT_MAX_RETRIES`], 3); 0 gives every 429
    /// back at once, its `Retry-After` still holding the key's other
    /// calls.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// How long after `X-RateLimit-Reset` a request held by pre-pacing
    /// goes (default [`PacingMiddleware::DEFAULT_RESET_MARGIN`], 50 ms).
    /// The server's clock may run a little behind the caller's (tollgate's
    /// coarse clock ticks every 1–10 ms; clocks kept by NTP agree within a
    /// few): a request that arrives just before the reset by the server's
    /// clock is refused, and costs a whole second of `Retry-After`.
    /// `Retry-After` itself is honoured as sent, without a margin.
    pub fn reset_margin(mut self, margin: Duration) -> Self {
        self.reset_margin = margin;
        self
    }

    /// Which requests share a pacing state: those for which `key` gives
    /// equal values. It replaces the whole default rule, which is the
    /// request's origin (scheme, host, port), whether its method is safe
    /// (a read) or not, and its `Authorization` and `X-API-Key` values;
    /// so a key function should keep whatever the server limits by (the
    /// host, the class of method).
    ///
    /// The value is hashed with a seed of the middleware's own and then
    /// dropped: only the 64-bit fingerprint is kept, so that no
    /// credential stays in the middleware's memory, its `Debug` output or
    /// anything it could log.
    ///
    /// ```
    /// use tollgate_client::Pacer;
    /// use tollgate_reqwest::PacingMiddleware;
    ///
    /// // The API key travels in the query string: `?api_key=...`.
    /// let middleware = PacingMiddleware::builder(Pacer::new())
    ///     .key_fn(|request: &reqwest::Request| {
    ///         let url = request.url();
    ///         let key = url.query_pairs().find(|(name, _)| name == "api_key");
    ///         (url.host_str().map(str::to_owned), request.method().is_safe(), key.map(|(_, v)| v.into_owned()))
    ///     })
    ///     .build();
    /// ```
    pub fn key_fn<K, F>(mut self, key: F) -> Self
    where
        F: Fn(&Request) -> K + Send + Sync + 'static,
        K: Hash,
    {
        self.key = Some(KeyFn::new(key));
        self
    }

    /// The middleware.
    pub fn build(self) -> PacingMiddleware {
        let settings = Settings::new(&self.pacer, self.reset_margin);
        PacingMiddleware {
            inner: Arc::new(Inner {
                pacer: self.pacer,
                settings,
                max_retries: self.max_retries,
                key: self
                    .key
                    .unwrap_or_else(KeyFn::by_origin_class_and_credentials),
                keys: Keys::new(),
            }),
        }
    }
}

impl fmt::Debug for PacingMiddlewareBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacingMiddlewareBuilder")
            .field("pacer", &self.pacer)
            .field("max_retries", &self.max_retries)
            .field("reset_margin", &self.reset_margin)
            .field("key_fn", &self.key.is_some())
            .finish()
    }
}

#[async_trait::async_trait]
impl Middleware for PacingMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let inner = &*self.inner;
        let key = inner.keys.get(inner.key.fingerprint(&request));
        let mut waited = Waited::default();
        let mut attempts: u32 = 0;
        let mut request = request;
        loop {
            let spare = if attempts < inner.max_retries {
                request.try_clone()
            } else {
                None
            };
            let flight = key.admit(&inner.pacer, inner.settings, &mut waited).await;
            attempts = attempts.saturating_add(1);
            // An error ends the flight (dropped) and is returned as it is.
            let mut response = next.clone().run(request, extensions).await?;
            let now = clock::now();
            let status = response.status();
            let info = fields::info(response.headers());
            let pace = flight.answer(status.as_u16(), &info, &inner.pacer, inner.settings, now);
            match spare {
                Some(spare) if status == StatusCode::TOO_MANY_REQUESTS && !pace.is_capped() => {
                    drop(response);
                    waited.jitter = waited.jitter.saturating_add(pace.jitter());
                    tokio::time::sleep_until(clock::after(now.instant, pace.wait()).into()).await;
                    waited.total = waited.total.saturating_add(
                        clock::now().instant.saturating_duration_since(now.instant),
                    );
                    request = spare;
                }
                _ => {
                    response.extensions_mut().insert(Paced {
                        attempts,
                        waited: waited.total,
                        jitter: waited.jitter,
                    });
                    return Ok(response);
                }
            }
        }
    }
}
