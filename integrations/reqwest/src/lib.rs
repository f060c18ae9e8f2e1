//! # tollgate-reqwest
//!
//! [`reqwest-middleware`](https://docs.rs/reqwest-middleware) middleware
//! that keeps a client of a rate-limited HTTP API under its limits, with
//! [tollgate-client](https://docs.rs/tollgate-client)'s [`Pacer`]: it
//! holds a request while the key's `X-RateLimit-Remaining` is low, until
//! `X-RateLimit-Reset`; on a 429 it waits what `Retry-After` says and
//! sends the request again; and it does so per API key, for every task
//! that uses the client, the way `reqwest-retry` adds retries to a
//! client.
//!
//! ```no_run
//! use std::time::Duration;
//! use reqwest_middleware::ClientBuilder;
//! use tollgate_reqwest::{Paced, Pacer, PacingMiddleware};
//!
//! # async fn run() -> reqwest_middleware::Result<()> {
//! let pacer = Pacer::builder()
//!     .shared_key(true)                     // other processes use the key too: add jitter
//!     .max_wait(Duration::from_secs(60))    // hold a call at most a minute at a time
//!     .build();
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(PacingMiddleware::builder(pacer).max_retries(3).build())
//!     .build();
//!
//! // Clones share the pacing state: tasks using them pace together.
//! let response = client
//!     .post("http://127.0.0.1:8080/v1/companies")
//!     .bearer_auth("key_1")
//!     .body(r#"{"name":"Initech"}"#)
//!     .send()
//!     .await?;
//! let paced = response.extensions().get::<Paced>();
//! println!("{} after {:?}", response.status(), paced.map(Paced::waited));
//! # Ok(())
//! # }
//! ```
//!
//! ## What it does
//!
//! - **Pre-pacing**: each key's state holds its latest
//!   `X-RateLimit-Remaining` and `X-RateLimit-Reset`, less the key's
//!   requests still in flight. When the pacer would pre-pace on that
//!   (fewer than its threshold left, 5 by default), a request waits
//!   until the reset, plus a [margin](PacingMiddlewareBuilder::reset_margin)
//!   of 50 ms for the server's clock. Once a window has ended, one
//!   request goes first and the others wait for its answer, which tells
//!   the new window's room.
//! - **429**: the request waits `Retry-After`, literally (seconds or an
//!   HTTP-date; 1 s when missing), from the 429's arrival, and is sent
//!   again, up to [`max_retries`](PacingMiddlewareBuilder::max_retries)
//!   times. Meanwhile the key's other requests wait too. The 429 itself
//!   is returned, never turned into an error, when the retries are spent,
//!   when the body cannot be sent twice (a stream) or when the wait
//!   would pass the pacer's `max_wait`.
//! - **Jitter**: only with `shared_key(true)` on the pacer, the pacer's
//!   random 0–500 ms on top of every wait. The tasks of one middleware
//!   already pace together; jitter is for a key that other clients
//!   (processes, machines) use as well.
//! - **Keys**: by default a state per origin, method class (reads, the
//!   safe methods, apart from writes) and `Authorization`/`X-API-Key`
//!   value; any rule through
//!   [`key_fn`](PacingMiddlewareBuilder::key_fn). Keys are hashed with a
//!   random seed and never kept, shown or logged.
//!
//! A response without rate-limit fields leaves a key's pacing alone, and
//! no header value makes the middleware panic: malformed fields count as
//! missing, as [`RateLimitInfo`](tollgate_client::RateLimitInfo) reads
//! them. [`PacingMiddleware`] has the exact rules.
//!
//! ## Runtime
//!
//! Waits sleep on tokio's timer: calls must run inside a tokio runtime
//! with its time driver enabled (as `#[tokio::main]` sets up, and as
//! reqwest itself needs tokio). The wall clock is read for
//! `X-RateLimit-Reset` (unix seconds) and HTTP-dates; every wait, once
//! computed, is a deadline on the monotonic clock, so a wall clock that
//! steps does not stretch a wait already begun.
//!
//! ## Constraints
//!
//! - No wait exceeds the pacer's `max_wait` (1 hour by default) plus its
//!   jitter, and the reset margin for pre-pacing. A call waits before
//!   each of its attempts (pre-pacing, or another call's 429), and before
//!   each of its at most `max_retries` retries (its own 429's
//!   `Retry-After`).
//! - Memory: about 250 bytes per key with live state. A key's state is
//!   dropped once it holds nothing to wait for, when the table of keys
//!   next doubles; there is no background task.
//! - Two keys share a state only if their 64-bit fingerprints collide:
//!   probability about k² / 2^65 for k keys in use.
//! - The wall clocks of client and server should agree: a client whose
//!   clock runs ahead sends at the reset too early and meets a 429, then
//!   waits its `Retry-After`; one whose clock runs behind waits longer
//!   than needed (up to `max_wait`).
//! - Pacing state is per middleware, in one process. Processes that share
//!   a key learn of each other only through the server's fields and 429s;
//!   give them `shared_key(true)`.

// No unsafe code at all; the lint table in Cargo.toml denies it too.
#![forbid(unsafe_code)]

mod clock;
mod fields;
mod key;
mod keys;
mod middleware;
mod report;
mod state;

pub use middleware::{PacingMiddleware, PacingMiddlewareBuilder};
pub use report::Paced;

/// The pacer the middleware drives, re-exported from tollgate-client so
/// that one dependency is enough.
pub use tollgate_client::{Pacer, PacerBuilder};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
