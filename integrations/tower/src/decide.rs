//! What the layer checks requests with: something that decides.
//!
//! The in-process [`Limiter`] decides at once, synchronously, and the
//! layer takes exactly the path it took before there was a choice: no
//! future, no box, no allocation. A limiter that keeps its counts in Redis
//! (`tollgate_redis::RedisLimiter`, with this crate's `redis` feature)
//! decides later: the layer awaits its decision before it calls the inner
//! service.

use std::borrow::Cow;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};

use tollgate::headers::PolicyField;
use tollgate::{Class, Clock, Decision, Limiter, Policy};

use crate::key::PeerKey;

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

    /// Checks one request of `key` in `class`.
    fn decide<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Decided<Self::Future>;

    /// The IETF draft `RateLimit-Policy` field for `key` in `class`.
    fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField>;
}

/// A decision now, or a future of one.
#[derive(Debug)]
pub enum Decided<F> {
    /// Decided at once.
    Now(Decision),
    /// To be awaited.
    Later(F),
}

/// A key the layer counts requests against: hashed as it is by the
/// in-process limiter, named by its bytes in a store.
pub trait RateKey: Hash {
    /// The key's bytes, for a store's key names.
    fn key_bytes(&self) -> Cow<'_, [u8]>;
}

impl RateKey for str {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

/// A peer address is named `\0peer:` and its text (`\0peer:192.0.2.1`):
/// no API key [`ApiKey`](crate::ApiKey) accepts starts with a NUL byte,
/// so no client can present another's address as its key.
impl RateKey for PeerKey {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(format!("\0peer:{}", self.0).into_bytes())
    }
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
    fn decide<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Decided<Immediate> {
        Decided::Now(self.check(key, class))
    }

    fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField> {
        Limiter::policy_field(self, key, class)
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

        fn decide<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Decided<RedisFuture> {
            let limiter = self.clone();
            let key = key.key_bytes().into_owned();
            Decided::Later(Box::pin(async move { limiter.check(&key, class).await }))
        }

        fn policy_field<Q: RateKey + ?Sized>(&self, key: &Q, class: Class) -> Option<PolicyField> {
            RedisLimiter::policy_field(self, &key.key_bytes(), class)
        }
    }
}
