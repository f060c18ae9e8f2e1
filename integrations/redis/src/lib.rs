//! # tollgate-redis
//!
//! One rate limit across a fleet of servers. Each server that checks with
//! an in-process [`tollgate::Limiter`] keeps its own counts, so a key
//! whose requests spread over N servers gets N times its limit. A
//! [`RedisLimiter`] keeps every key's windows in Redis (one server, or a
//! Redis Cluster) instead: the servers that share a Redis and a prefix
//! share every key's counts, and each decision is the one the in-process
//! limiter would make if it saw every server's checks in the order Redis
//! ran them — the same [`Policy`](tollgate::Policy), classes and
//! overrides, the same [`Decision`](tollgate::Decision), headers and 429
//! body.
//!
//! ```no_run
//! use std::time::Duration;
//! use tollgate::{Class, ManualClock, Policy};
//! use tollgate_redis::RedisLimiter;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A minute boundary: 2025-05-06T00:00:00Z.
//! let t = 1_746_489_600;
//! let clock = ManualClock::new(Duration::from_secs(t));
//! let limiter = RedisLimiter::builder(Policy::default())
//!     .url("redis://127.0.0.1:6379")
//!     .prefix("example:")
//!     .clock(clock.clone())
//!     .build()
//!     .await?;
//!
//! // Writes: 60 a minute, at most 20 in any 10 seconds — across every
//! // server that uses this Redis and prefix.
//! for n in 1..=20 {
//!     let d = limiter.check("key_1", Class::WRITE).await;
//!     assert!(d.is_allowed() && !d.is_degraded());
//!     assert_eq!((d.limit(), d.remaining(), d.reset()), (60, 20 - n, t + 10));
//! }
//! let d = limiter.check("key_1", Class::WRITE).await;
//! assert_eq!(d.retry_after(), Some(10));
//! # Ok(())
//! # }
//! ```
//!
//! ## What it promises
//!
//! - **The core's decisions.** The script that runs in Redis reads every
//!   window of the key's class, admits only if every one has room for the
//!   cost, and counts it in all of them or none; a denial writes nothing,
//!   and a cost of 0 is a peek. The decision itself is made in Rust from
//!   the counts the script found, by [`tollgate::store::decide`], the rule
//!   the in-process limiter applies: on one [`ManualClock`](tollgate::ManualClock),
//!   a `RedisLimiter` and a `Limiter` given the same checks give the same
//!   decisions, every field (the test suite checks this on random
//!   sequences). A clock that steps back never reopens a window: a
//!   server whose clock lags counts in the newest window any server has
//!   opened for the key.
//! - **One round trip per decision**: one `EVALSHA` (an `EVAL` when the
//!   server has lost the script). Lease mode takes fewer.
//! - **Bounded time.** Each decision waits at most the timeout (50 ms by
//!   default) for Redis. When Redis is down, slow, or the circuit breaker
//!   is open (after 3 consecutive failures, probing once a second), the
//!   [`FailurePolicy`] decides — by default the in-process limiter, so an
//!   outage degrades to per-server limits rather than none or all — and
//!   the decision is marked [`is_degraded`](tollgate::Decision::is_degraded).
//!   Checks never fail and never panic; the connection comes back on its
//!   own. [`RedisLimiter::try_check_n_at`] reports the error instead.
//!
//! ## Events
//!
//! With the `tracing` feature, the limiter reports its transitions as
//! `tracing` events under the target `tollgate_redis`:
//!
//! | event | level | fields |
//! |---|---|---|
//! | the circuit breaker opened (from closed) | `WARN` | `error`, `consecutive_failures`, `open_for_ms`, `on_failure` |
//! | it closed: a call succeeded | `INFO` | `open_ms`, how long it was open |
//! | a call to Redis failed (or timed out) | `DEBUG` | `error`, `probe`, `consecutive_failures` |
//! | loading the script failed | `DEBUG` | `error` |
//!
//! Calls go to Redis only while the breaker is closed, and then one probe
//! per `open_for` ([`RedisLimiterBuilder::breaker`]): an outage gives as
//! many failed calls as the breaker's `failures` (and the checks already
//! waiting on Redis), then one per probe, not one per check. Degraded decisions themselves
//! are not events here; tollgate-tower's `tracing` feature reports them
//! per layer. No event carries an API key, nor a key name in Redis
//! (which holds one).
//!
//! ## Keys in Redis
//!
//! One string per (API key, class), named `<prefix>{<api key>}:<class
//! index>`: the time of the key's latest admission and each window's
//! length and count, 8 bytes and 8 more per window, written whole by each
//! admission. The braces make the API key the hash tag, so every class of
//! a key lives in one cluster slot; names never depend on the clock. API
//! keys are binary-safe and at most 512 bytes by default
//! ([`RedisLimiterBuilder::max_key_len`]); a longer one is decided by the
//! failure policy. A key expires (relative `PX`) a margin after its
//! latest window ends: 60 seconds by default
//! ([`RedisLimiterBuilder::expiry_margin`]), which is the clock skew
//! between servers that never makes a lagging server find a live window
//! gone.
//!
//! ## Time
//!
//! By default each check reads the limiter's [`Clock`](tollgate::Clock)
//! (the servers' clocks then set the windows; keep them in sync with NTP).
//! [`TimeSource::Redis`] makes the script read Redis's `TIME` instead:
//! one clock for the fleet. Either way, a window never moves backwards.
//!
//! ## Overrides
//!
//! Overrides in the policy apply on every server that loads the policy.
//! Run-time overrides ([`RedisLimiter::set_override`]) are per server:
//! limits reach the script as arguments of each check, so every server
//! must be given the same change to agree (servers that disagree each
//! apply their own limits to the shared counts).
//!
//! ## What a failover or restart can lose
//!
//! Redis replicates asynchronously. A primary that fails (or restarts
//! without persistence) loses the writes its replica (or its disk) had
//! not received: the counts of the last moments before the failure, up
//! to whole windows for a restart without persistence. The counts only
//! go down, never up, so the loss can only admit more: for each key, up
//! to what was admitted in the lost moments, once more, in the windows
//! that were live. Nothing is ever admitted twice by one decision, and no
//! window of a key that survived is reopened. A check that times out may
//! still have been counted in Redis: its client got the failure policy's
//! decision, and the unit counted is lost to the key (never more than the
//! checks that timed out).
//!
//! ## Lease mode
//!
//! With [`RedisLimiterBuilder::lease`]`(Some(L))`, a server takes up to
//! `L` units of a (key, class) at once — through the same script, in
//! every window, fewer when less is left — and admits checks from them
//! locally until they are spent or the lease's shortest window ends. It
//! never over-admits (every unit was counted in Redis before it was
//! used); a fleet of N servers under-admits at most `N * L` units per
//! shortest window (units leased and not used when the window ends). A
//! decision from a lease reports the counts this server knows of: the
//! other servers' admissions since it took the lease are not in its
//! `remaining`. Peeks always ask Redis.
//!
//! ## Constraints
//!
//! - Limits and costs as in the core: up to `u32::MAX` per window.
//! - Times up to 2^53 milliseconds after the unix epoch (285,000 years);
//!   a later one is decided by the failure policy.
//! - Memory in Redis: one string of 8 + 8 bytes per window per
//!   (key, class) with a live window.
//! - Redis 5 or later (scripts that call `TIME` before writing); the tests
//!   run against Redis 7.

#![forbid(unsafe_code)]
// On docs.rs, items that need a feature say which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod builder;
mod connection;
mod error;
mod events;
mod failure;
mod lease;
mod limiter;
mod name;
mod reply;
mod script;

pub use builder::RedisLimiterBuilder;
pub use error::{BuildError, Error};
pub use failure::{FailurePolicy, TimeSource};
pub use limiter::RedisLimiter;
pub use name::{DEFAULT_MAX_KEY_LEN, DEFAULT_PREFIX};
/// The tollgate core, re-exported so that its version always matches this crate's.
pub use tollgate;
