//! What the layer checks requests with: something that decides.
//!
//! The in-process [`Limiter`] decides at once, synchronously, and the
//! layer takes exactly the path it took before there was a choice: no
//! future, no box, no allocation. A limiter that keeps its counts in Redis
//! (`tollgate_redis::RedisLimiter`, with this crate's `redis` feature)
//! decides later: the layer awaits its decision before it calls the inner
//! service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tollgate::headers::PolicyField;
use tollgate::{Class, Clock, Decision, Limiter, Policy};

use crate::rate_key::RateKey;

/// Something that decides checks for the layer: a policy, and a decision
/// per (key, class), now or later.
///
/// Implemented for the in-process [`Limiter`] (always [`Decided::Now`])
/// and, with the `redis` feature, for `tollgate_redis::RedisLimiter`
/// (always [`Decided::Later`]).
pub trait Decide: Send + Sync + 'static {
    /// The decision of a check that is not decided at once.
    type Future: Future<Output = Decision> + Send + 'static;

    /// The policy whose classes the layer maps methods to.
    fn policy(&self) -> &Policy;

    /// Checks a request of `key` in `class` that costs `cost` (0: a
    /// peek).
    fn decide<Q: RateKey + ?Sized>(
        &self,
        key: &Q,
        class: Class,
        cost: u32,
    ) -> Decided<Self::Future>;

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`.
    fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField>;

    /// The (key, class) states held in this process, for the
    /// `tollgate_tracked_states` gauge (the `metrics` feature); `None`,
    /// the default, for a decider that holds none. Read at most once a
    /// second per layer: it should be cheap, and must not block.
    fn tracked(&self) -> Option<usize> {
        None
    }
}

/// A decision now, or a future of one.
#[derive(Debug)]
pub enum Decided<F> {
    /// Decided at once.
    Now(Decision),
    /// To be awaited.
    Later(F),
}

/// The future of a decision that is always made at once: it has no
/// values, so the layer's path for it compiles to nothing.
#[derive(Debug)]
pub enum Immediate {}

impl Future for Immediate {
    type Output = Decision;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Decision> {
        match *self {}
    }
}

impl<C: Clock + 'static> Decide for Limiter<C> {
    type Future = Immediate;

    #[inline]
    fn policy(&self) -> &Policy {
        Limiter::policy(self)
    }

    #[inline]
    fn decide<Q: RateKey + ?Sized>(&self, key: &Q, class: Class, cost: u32) -> Decided<Immediate> {
        Decided::Now(self.check_n(key, class, cost))
    }

    fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField> {
        Limiter::policy_field(self, key, class)
    }

    /// The limiter's [`tracked`](Limiter::tracked): one atomic load.
    fn tracked(&self) -> Option<usize> {
        Some(Limiter::tracked(self))
    }
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use tollgate_redis::RedisLimiter;

    /// The future of a Redis-backed decision: boxed, as the layer keeps it
    /// beside the request while it waits.
    pub(crate) type RedisFuture = Pin<Box<dyn Future<Output = Decision> + Send>>;

    impl<C: Clock + 'static> Decide for RedisLimiter<C> {
        type Future = RedisFuture;

        fn policy(&self) -> &Policy {
            RedisLimiter::policy(self)
        }

        fn decide<Q: RateKey + ?Sized>(
            &self,
            key: &Q,
            class: Class,
            cost: u32,
        ) -> Decided<RedisFuture> {
            let limiter = self.clone();
            let key = key.key_bytes().into_owned();
            Decided::Later(Box::pin(
                async move { limiter.check_n(&key, class, cost).await },
            ))
        }

        fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField> {
            RedisLimiter::policy_field(self, &key.key_bytes(), class)
        }

        /// The states of the in-process limiter that decides while Redis
        /// cannot ([`FailurePolicy::Local`](tollgate_redis::FailurePolicy::Local)):
        /// none until an outage, then the keys seen during it. The
        /// fleet's states, in Redis, are not counted.
        fn tracked(&self) -> Option<usize> {
            Some(self.local().tracked())
        }
    }
}
