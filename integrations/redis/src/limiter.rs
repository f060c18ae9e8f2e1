//! The Redis-backed limiter: the core's checks, with the counts in Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tollgate::store::{self, decide};
use tollgate::{Class, Clock, CoarseClock, Decision, Limiter, OverrideError, Policy, Window};

use crate::breaker::{Breaker, Gate};
use crate::builder::RedisLimiterBuilder;
use crate::connection::Connection;
use crate::error::Error;
use crate::events;
use crate::failure::{FailurePolicy, TimeSource};
use crate::lease::Leases;
use crate::name::Name;
use crate::reply::Reply;
use crate::script::{self, Ask, MAX_NOW_MS};

/// A rate limiter whose windows live in Redis, shared by every server
/// that uses the same Redis and prefix: the core [`Limiter`]'s checks,
/// asynchronous, each one script run (one round trip).
///
/// Cloning is cheap (a reference count); every clone shares the
/// connection, the circuit breaker and the in-process limiter. Checks
/// never panic and never fail: when Redis cannot decide, the
/// [`FailurePolicy`] does, within the per-decision timeout, and the
/// decision is marked [`is_degraded`](Decision::is_degraded). The `try_`
/// form reports why instead.
pub struct RedisLimiter<C = CoarseClock> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for RedisLimiter<C> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C> std::fmt::Debug for RedisLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.shared;
        f.debug_struct("RedisLimiter")
            .field("connection", &s.connection)
            .field("time", &s.time)
            .field("timeout", &s.timeout)
            .field("on_failure", &s.on_failure)
            .field("leases", &s.leases.as_ref().map(Leases::units))
            .finish_non_exhaustive()
    }
}

/// An API key as the in-process limiter hashes it: as a `str` when its
/// bytes are UTF-8 (as the policy's overrides and string keys are), as
/// bytes otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LocalKey<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> LocalKey<'a> {
    pub(crate) fn of(key: &'a [u8]) -> Self {
        match std::str::from_utf8(key) {
            Ok(s) => Self::Str(s),
            Err(_) => Self::Bytes(key),
        }
    }
}

impl std::hash::Hash for LocalKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Self::Str(s) => s.hash(state),
            Self::Bytes(b) => b.hash(state),
        }
    }
}

/// What every clone of a limiter shares.
pub(crate) struct Shared<C> {
    pub(crate) connection: Connection,
    pub(crate) prefix: Box<[u8]>,
    pub(crate) max_key_len: usize,
    pub(crate) time: TimeSource,
    pub(crate) timeout: Duration,
    pub(crate) margin: Duration,
    pub(crate) breaker: Breaker,
    pub(crate) on_failure: FailurePolicy,
    pub(crate) local: Limiter<C>,
    pub(crate) leases: Option<Leases>,
    /// Load the scripts again before the next call (a call failed: the
    /// connection may come back to a server without them).
    pub(crate) reload: Arc<AtomicBool>,
}

impl RedisLimiter<CoarseClock> {
    /// Starts configuring a limiter for `policy`.
    pub fn builder(policy: Policy) -> RedisLimiterBuilder<CoarseClock> {
        RedisLimiterBuilder::new(policy)
    }
}

impl<C: Clock> RedisLimiter<C> {
    pub(crate) fn from_shared(shared: Shared<C>) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The limiter's policy.
    pub fn policy(&self) -> &Policy {
        self.shared.local.policy()
    }

    /// The in-process limiter that decides under [`FailurePolicy::Local`]
    /// and holds the run-time overrides.
    pub fn local(&self) -> &Limiter<C> {
        &self.shared.local
    }

    /// Checks one request of `key` in `class` now, and counts it if
    /// admitted.
    pub async fn check<K: AsRef<[u8]> + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.run(key.as_ref(), class, 1, self.now()).await
    }

    /// Checks a request of `cost` units now. A cost of 0 is a
    /// [`peek`](Self::peek).
    pub async fn check_n<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
    ) -> Decision {
        self.run(key.as_ref(), class, cost, self.now()).await
    }

    /// Reports what [`check`](Self::check) would, without counting.
    pub async fn peek<K: AsRef<[u8]> + ?Sized>(&self, key: &K, class: Class) -> Decision {
        self.run(key.as_ref(), class, 0, self.now()).await
    }

    /// [`check`](Self::check) at `now`, a duration since the unix epoch.
    pub async fn check_at<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        now: Duration,
    ) -> Decision {
        self.run(key.as_ref(), class, 1, Some(now)).await
    }

    /// [`check_n`](Self::check_n) at `now`, a duration since the unix
    /// epoch.
    pub async fn check_n_at<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> Decision {
        self.run(key.as_ref(), class, cost, Some(now)).await
    }

    /// [`peek`](Self::peek) at `now`, a duration since the unix epoch.
    pub async fn peek_at<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        now: Duration,
    ) -> Decision {
        self.run(key.as_ref(), class, 0, Some(now)).await
    }

    /// [`check_n_at`](Self::check_n_at) straight to Redis, within the
    /// per-decision timeout, without the circuit breaker, the failure
    /// policy or a lease: Redis's decision, or why there is none.
    ///
    /// # Errors
    ///
    /// [`Error::KeyTooLong`], [`Error::TimeOutOfRange`],
    /// [`Error::Timeout`], [`Error::Redis`] (the connection's or the
    /// server's), [`Error::Reply`] and [`Error::Disagreement`].
    pub async fn try_check_n_at<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        cost: u32,
        now: Duration,
    ) -> Result<Decision, Error> {
        let key = key.as_ref();
        let Some(windows) = self.shared.local.limits_for(&LocalKey::of(key), class) else {
            return Ok(decide(&[], &[], cost, now));
        };
        let call = self.store(key, class, &windows, cost, 0, Some(now));
        match tokio::time::timeout(self.shared.timeout, call).await {
            Ok(result) => result.map(|(d, _)| d),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// The time of a check not given one: the clock's, or `None` for
    /// Redis's `TIME`.
    fn now(&self) -> Option<Duration> {
        match self.shared.time {
            TimeSource::Clock => Some(self.shared.local.clock().now()),
            TimeSource::Redis => None,
        }
    }

    /// The check every public form calls.
    async fn run(&self, key: &[u8], class: Class, cost: u32, now: Option<Duration>) -> Decision {
        let s = &*self.shared;
        let local_now = || now.unwrap_or_else(|| s.local.clock().now());
        let Some(windows) = s.local.limits_for(&LocalKey::of(key), class) else {
            return decide(&[], &[], cost, local_now());
        };
        if key.len() > s.max_key_len || local_now().as_millis() > u128::from(MAX_NOW_MS) {
            return self.without_store(key, class, &windows, cost, local_now());
        }
        let probe = match s.breaker.gate() {
            Gate::Open => return self.without_store(key, class, &windows, cost, local_now()),
            Gate::Closed => None,
            Gate::Probe(guard) => Some(guard),
        };
        let call = async {
            match (&s.leases, cost) {
                (Some(leases), 1..) => {
                    leases
                        .check(key, class, &windows, cost, local_now(), |surplus| {
                            self.store(key, class, &windows, cost, surplus, now)
                        })
                        .await
                }
                _ => self
                    .store(key, class, &windows, cost, 0, now)
                    .await
                    .map(|(d, _)| d),
            }
        };
        let error = match tokio::time::timeout(s.timeout, call).await {
            Ok(Ok(d)) => {
                if let Some(open) = s.breaker.success() {
                    events::breaker_closed(open);
                }
                return d;
            }
            Ok(Err(e)) => e,
            Err(_) => Error::Timeout,
        };
        let failed = s.breaker.failure(probe.is_some());
        events::call_failed(
            &error,
            probe.is_some(),
            failed,
            s.breaker.open_for(),
            s.on_failure,
        );
        // Release: pairs with the Acquire of the swap that reads it.
        s.reload.store(true, Ordering::Release);
        drop(probe);
        self.without_store(key, class, &windows, cost, local_now())
    }

    /// One run of the script: the decision and what Redis answered.
    pub(crate) async fn store(
        &self,
        key: &[u8],
        class: Class,
        windows: &[Window],
        cost: u32,
        surplus: u32,
        now: Option<Duration>,
    ) -> Result<(Decision, Reply), Error> {
        let s = &*self.shared;
        if key.len() > s.max_key_len {
            return Err(Error::KeyTooLong {
                len: key.len(),
                max: s.max_key_len,
            });
        }
        if now.is_some_and(|t| t.as_millis() > u128::from(MAX_NOW_MS)) {
            return Err(Error::TimeOutOfRange);
        }
        // Never: a policy's classes have 1 to MAX_WINDOWS windows.
        let script = script::for_windows(windows.len()).ok_or(Error::Reply)?;
        self.reload_script();
        let name = Name::new(&s.prefix, key, class);
        let ask = Ask {
            windows,
            cost,
            surplus,
            now,
            margin: s.margin,
        };
        let bytes = s.connection.run(script, name, &ask).await?;
        let reply = Reply::parse(&bytes, &ask).ok_or(Error::Reply)?;
        let d = decide(windows, &reply.counts, cost, now.unwrap_or(reply.now));
        if reply.admitted != (cost > 0 && d.is_allowed()) {
            return Err(Error::Disagreement);
        }
        Ok((d, reply))
    }

    /// Loads the scripts in the background if a call failed since the
    /// last load.
    fn reload_script(&self) {
        // Relaxed: only a hint to try the swap, which every call would
        // otherwise make, writing a word that every thread shares; the
        // swap's Acquire orders what follows.
        if self.shared.reload.load(Ordering::Relaxed)
            // Acquire: pairs with the Release of the failure that set it.
            && self.shared.reload.swap(false, Ordering::Acquire)
        {
            let connection = self.shared.connection.clone();
            let reload = Arc::clone(&self.shared.reload);
            tokio::spawn(async move {
                if let Err(e) = connection.load().await {
                    events::script_load_failed(&e);
                    // Release: pairs with the Acquire above.
                    reload.store(true, Ordering::Release);
                }
            });
        }
    }

    /// The decision of the failure policy, marked degraded.
    fn without_store(
        &self,
        key: &[u8],
        class: Class,
        windows: &[Window],
        cost: u32,
        now: Duration,
    ) -> Decision {
        let s = &*self.shared;
        let d = match s.on_failure {
            FailurePolicy::Local => s.local.check_n_at(&LocalKey::of(key), class, cost, now),
            FailurePolicy::Allow => store::untracked(windows, cost, now),
            FailurePolicy::Deny => {
                let open = s.breaker.open_for();
                let secs = open
                    .as_secs()
                    .saturating_add(u64::from(open.subsec_nanos() > 0));
                store::unavailable(windows, cost, now, secs)
            }
        };
        d.degraded()
    }
}

impl<C> RedisLimiter<C> {
    /// Gives `key` its own primary limit for `class` on this server from
    /// now on (see [`Limiter::set_override`]). A key whose bytes are UTF-8
    /// is the same key as that string (as in the policy's overrides). Overrides are per server:
    /// every server of a fleet must be given the same ones (or the same
    /// policy file) to agree.
    ///
    /// # Errors
    ///
    /// As [`Limiter::set_override`].
    pub fn set_override<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limit: u32,
    ) -> Result<(), OverrideError> {
        self.shared
            .local
            .set_override(&LocalKey::of(key.as_ref()), class, limit)
    }

    /// Gives `key` its own limits for `class`, one per window, longest
    /// first (see [`Limiter::set_override_limits`]); per server, as
    /// [`set_override`](Self::set_override).
    ///
    /// # Errors
    ///
    /// As [`Limiter::set_override_limits`].
    pub fn set_override_limits<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
        limits: &[u32],
    ) -> Result<(), OverrideError> {
        self.shared
            .local
            .set_override_limits(&LocalKey::of(key.as_ref()), class, limits)
    }

    /// Returns `key` to the class's limits on this server; whether it had
    /// an override.
    pub fn remove_override<K: AsRef<[u8]> + ?Sized>(&self, key: &K, class: Class) -> bool {
        self.shared
            .local
            .remove_override(&LocalKey::of(key.as_ref()), class)
    }

    /// The limits `key` has in `class` now, longest window first; `None`
    /// for an unknown class.
    pub fn limits_for<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
    ) -> Option<Vec<Window>> {
        self.shared
            .local
            .limits_for(&LocalKey::of(key.as_ref()), class)
    }

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`.
    pub fn policy_field<K: AsRef<[u8]> + ?Sized>(
        &self,
        key: &K,
        class: Class,
    ) -> Option<tollgate::headers::PolicyField> {
        self.shared
            .local
            .policy_field(&LocalKey::of(key.as_ref()), class)
    }

    /// Whether the circuit breaker is open: checks are decided by the
    /// failure policy without asking Redis, but for one probe at a time.
    pub fn is_circuit_open(&self) -> bool {
        self.shared.breaker.is_open()
    }

    /// Sends one command of the caller's on the limiter's connection (for
    /// tests and tools: `TIME`, `INFO commandstats`), within the connect
    /// timeout on one server (see
    /// [`connect_timeout`](crate::RedisLimiterBuilder::connect_timeout)).
    ///
    /// # Errors
    ///
    /// The connection's or the server's.
    pub async fn command<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        Ok(self.shared.connection.command(cmd).await?)
    }
}
