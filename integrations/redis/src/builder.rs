//! Configuring and connecting a [`RedisLimiter`].

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tollgate::{Clock, CoarseClock, Limiter, Policy};

use crate::breaker::Breaker;
use crate::connection::{Connection, Target};
use crate::error::BuildError;
use crate::failure::{FailurePolicy, TimeSource};
use crate::lease::Leases;
use crate::limiter::{RedisLimiter, Shared};
use crate::name::{DEFAULT_MAX_KEY_LEN, DEFAULT_PREFIX};

/// Configures a [`RedisLimiter`]; from [`RedisLimiter::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct RedisLimiterBuilder<C = CoarseClock> {
    policy: Policy,
    clock: C,
    target: Option<Target>,
    prefix: String,
    max_key_len: usize,
    time: TimeSource,
    timeout: Duration,
    connect_timeout: Duration,
    margin: Duration,
    breaker_threshold: u32,
    breaker_open_for: Duration,
    on_failure: FailurePolicy,
    local_capacity: usize,
    lease: Option<u32>,
}

impl RedisLimiterBuilder<CoarseClock> {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            clock: CoarseClock,
            target: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            max_key_len: DEFAULT_MAX_KEY_LEN,
            time: TimeSource::Clock,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            margin: Self::DEFAULT_EXPIRY_MARGIN,
            breaker_threshold: Self::DEFAULT_BREAKER_THRESHOLD,
            breaker_open_for: Self::DEFAULT_BREAKER_OPEN_FOR,
            on_failure: FailurePolicy::Local,
            local_capacity: Limiter::DEFAULT_CAPACITY,
            lease: None,
        }
    }

    /// How long a decision waits for Redis before the failure policy
    /// decides it: 50 milliseconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);
    /// How long connecting waits: 1 second.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long a key is kept past the end of its latest window: 60
    /// seconds, the clock skew between servers tolerated.
    pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
    /// Consecutive failures that open the circuit breaker: 3.
    pub const DEFAULT_BREAKER_THRESHOLD: u32 = 3;
    /// How long the breaker stays open before a probe: 1 second.
    pub const DEFAULT_BREAKER_OPEN_FOR: Duration = Duration::from_secs(1);
}

impl<C: Clock> RedisLimiterBuilder<C> {
    /// One Redis server, by URL (`redis://127.0.0.1:6379`, with a
    /// database as `redis://host:port/2`, `rediss://` for TLS when redis-rs
    /// is built with it).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.target = Some(Target::Server(url.into()));
        self
    }

    /// A Redis Cluster, by the URLs of one or more of its nodes.
    pub fn cluster<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.target = Some(Target::Cluster(urls.into_iter().map(Into::into).collect()));
        self
    }

    /// The clock checks read when not given a time (default
    /// [`CoarseClock`]), also the in-process limiter's.
    pub fn clock<D: Clock>(self, clock: D) -> RedisLimiterBuilder<D> {
        RedisLimiterBuilder {
            policy: self.policy,
            clock,
            target: self.target,
            prefix: self.prefix,
            max_key_len: self.max_key_len,
            time: self.time,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            margin: self.margin,
            breaker_threshold: self.breaker_threshold,
            breaker_open_for: self.breaker_open_for,
            on_failure: self.on_failure,
            local_capacity: self.local_capacity,
            lease: self.lease,
        }
    }

    /// Where checks not given a time read it (default
    /// [`TimeSource::Clock`]).
    pub fn time(mut self, time: TimeSource) -> Self {
        self.time = time;
        self
    }

    /// The start of every Redis key name (default `"tollgate:"`); limiters
    /// share counts exactly when they share Redis, prefix and policy. Must
    /// not hold `{` or `}`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest API key, in bytes (default 512). A longer key is
    /// decided by the failure policy, as if Redis were down.
    pub fn max_key_len(mut self, bytes: usize) -> Self {
        self.max_key_len = bytes;
        self
    }

    /// How long a decision waits for Redis (default
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting and reconnecting wait (default
    /// [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT)). On
    /// one server, it also bounds each command that is not a decision's
    /// (loading the scripts, [`RedisLimiter::command`]), and a decision
    /// waits the [`timeout`](Self::timeout) alone. On a cluster, it
    /// bounds each attempt of every command, and redis-rs retries a
    /// failed attempt up to three times within the decision's timeout; a
    /// script retried after a timeout may have run, so a key can be
    /// counted once more than it was answered (fewer admissions, never
    /// more).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a key is kept past the end of its latest window (default
    /// [`DEFAULT_EXPIRY_MARGIN`](Self::DEFAULT_EXPIRY_MARGIN)):
    /// at least the largest clock skew between servers, so that a server
    /// whose clock lags never finds a live window gone.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The circuit breaker: open after `failures` consecutive failed calls
    /// (at least 1), probe after `open_for` (defaults
    /// [`DEFAULT_BREAKER_THRESHOLD`](Self::DEFAULT_BREAKER_THRESHOLD),
    /// [`DEFAULT_BREAKER_OPEN_FOR`](Self::DEFAULT_BREAKER_OPEN_FOR)).
    pub fn breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.breaker_threshold = failures;
        self.breaker_open_for = open_for;
        self
    }

    /// How checks are decided when Redis cannot (default
    /// [`FailurePolicy::Local`]).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// The capacity of the in-process limiter, in (key, class) states
    /// (default [`Limiter::DEFAULT_CAPACITY`]); it decides only under
    /// [`FailurePolicy::Local`], so with another policy a small one will
    /// do.
    pub fn local_capacity(mut self, states: usize) -> Self {
        self.local_capacity = states;
        self
    }

    /// Lease mode: take up to `units` of a (key, class) per round trip and
    /// admit from them locally (see the crate docs); `None` or `Some(0)`
    /// (the default) asks Redis for every check.
    pub fn lease(mut self, units: Option<u32>) -> Self {
        self.lease = units.filter(|&u| u > 0);
        self
    }

    /// Connects (within the connect timeout), loads the scripts, and
    /// returns the limiter. Needs a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BuildError::NoServer`], [`BuildError::Prefix`],
    /// [`BuildError::Local`], [`BuildError::Redis`] when Redis cannot be
    /// reached or refuses the scripts, [`BuildError::Timeout`].
    pub async fn build(self) -> Result<RedisLimiter<C>, BuildError> {
        let target = self.target.ok_or(BuildError::NoServer)?;
        if self.prefix.contains(['{', '}']) {
            return Err(BuildError::Prefix);
        }
        let classes = self.policy.classes().len();
        // Any limit an override may set: the counts are in Redis, and the
        // in-process limiter takes 128-bit states, which hold them all.
        let local = Limiter::builder(self.policy)
            .clock(self.clock)
            .capacity(self.local_capacity)
            .wide_states(true)
            .build()
            .map_err(BuildError::Local)?;
        let connect = async {
            let connection = Connection::open(&target, self.connect_timeout).await?;
            connection.load().await?;
            Ok::<_, redis::RedisError>(connection)
        };
        // Connecting may try more than once; bound the whole of it.
        let bound = self.connect_timeout.saturating_mul(4);
        let connection = tokio::time::timeout(bound, connect)
            .await
            .map_err(|_| BuildError::Timeout)?
            .map_err(BuildError::Redis)?;
        Ok(RedisLimiter::from_shared(Shared {
            connection,
            prefix: self.prefix.into_bytes().into_boxed_slice(),
            max_key_len: self.max_key_len,
            time: self.time,
            timeout: self.timeout,
            margin: self.margin,
            breaker: Breaker::new(self.breaker_threshold, self.breaker_open_for),
            on_failure: self.on_failure,
            local,
            leases: self.lease.map(|units| Leases::new(units, classes)),
            reload: Arc::new(AtomicBool::new(false)),
        }))
    }
}
