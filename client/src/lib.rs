//! # tollgate-client
//!
//! Pacing for clients of rate-limited HTTP APIs: from a response's status,
//! its `X-RateLimit-Remaining`, `X-RateLimit-Reset` and `Retry-After`
//! fields and the current time, a [`Pacer`] says how long to wait before
//! the next call, so that a client stays under its limit instead of
//! collecting 429s. It does no I/O and reads no clock: the caller passes
//! the time in and sleeps however its runtime sleeps.
//!
//! ```
//! use std::time::Duration;
//! use tollgate_client::{PaceReason, Pacer, RateLimitInfo};
//!
//! // 3 requests left in a window that resets at 1746489660 (unix seconds).
//! let mut info = RateLimitInfo::new();
//! for (name, value) in [
//!     ("X-RateLimit-Limit", "60"),
//!     ("X-RateLimit-Remaining", "3"),
//!     ("X-RateLimit-Reset", "1746489660"),
//! ] {
//!     info.record(name, value); // any case; malformed values are ignored
//! }
//! let now = Duration::from_secs(1_746_489_650); // since the unix epoch
//! let pacer = Pacer::new();
//! let pace = pacer.pace(200, &info, now);
//! assert_eq!((pace.reason(), pace.wait()), (PaceReason::LowRemaining, Duration::from_secs(10)));
//!
//! // A 429 waits what Retry-After says (seconds or an HTTP date).
//! let mut limited = RateLimitInfo::new();
//! limited.record("retry-after", "18");
//! assert_eq!(pacer.delay(429, &limited, now), Duration::from_secs(18));
//! ```
//!
//! ## What a pacer does
//!
//! - **Pre-pacing**: when `X-RateLimit-Remaining` is under a threshold (5
//!   by default), wait until `X-RateLimit-Reset`.
//! - **429**: wait what `Retry-After` says, literally: its seconds, or
//!   the time until its date; 1 second by default when it is missing or
//!   malformed.
//! - **A cap**: no single wait the headers ask for exceeds `max_wait` (1
//!   hour by default), so that a broken or hostile server cannot park the
//!   client for good.
//! - **Jitter**: only when several workers share one key, a random 0–500
//!   ms (by default) on top of every wait, so that they do not all call
//!   again at the same instant.
//!
//! [`Pacer`] has the exact rules and [`RateLimitInfo`] what each kind of
//! header value gives. Missing or malformed fields never cause a panic:
//! they fall back to those documented defaults.
//!
//! ## Constraints
//!
//! - Header numbers are whole seconds or requests up to `u64::MAX`; longer
//!   numbers count as `u64::MAX`. HTTP dates have four-digit years, so
//!   the latest is the end of 9999; a date before 1970 counts as past.
//! - Nothing here does I/O, reads a clock, allocates or panics, whatever
//!   the header bytes and the time. A [`Pacer`] is `Send + Sync`; its only
//!   state is the generator of its jitter, which is not cryptographic.
//!
//! The pacer reads the fields that the
//! [`tollgate`](https://docs.rs/tollgate) rate limiter sends, but works
//! with any server that sends them, and does not depend on that crate.

// No unsafe code at all; the lint table in Cargo.toml denies it too.
#![forbid(unsafe_code)]

mod headers;
mod http_date;
mod jitter;
mod pace;
mod pacer;
mod retry_after;

pub use headers::RateLimitInfo;
pub use pace::{Pace, PaceReason};
pub use pacer::{Pacer, PacerBuilder};
pub use retry_after::RetryAfter;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
