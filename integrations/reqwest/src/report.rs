//! What pacing did to one call, for the caller to read.

use std::time::Duration;

/// What the middleware did to one call: found in the extensions of the
/// response it returns (`response.extensions().get::<Paced>()`), a 429
/// given back included. An error has none.
///
/// ```
/// # async fn call(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use tollgate_reqwest::Paced;
///
/// let response = client.get("http://127.0.0.1:8080/v1/companies").send().await?;
/// if let Some(paced) = response.extensions().get::<Paced>() {
///     println!("{} attempt(s), held {:?}", paced.attempts(), paced.waited());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paced {
    pub(crate) attempts: u32,
    pub(crate) waited: Duration,
    pub(crate) jitter: Duration,
}

impl Paced {
    /// How many times the request was sent: 1, plus one per 429 retried.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long the middleware held the call in all, before its first
    /// attempt and between attempts: pre-pacing, `Retry-After` waits and
    /// jitter. Measured on the monotonic clock; timers fire late, never
    /// early.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The random part of [`waited`](Self::waited): zero unless the
    /// pacer is for a [shared key](tollgate_client::PacerBuilder::shared_key).
    pub fn jitter(&self) -> Duration {
        self.jitter
    }
}
