//! # tollgate
//!
//! A lock-free, embeddable, no-I/O rate-limiter core for servers and
//! proxies: per API key and per method class, fixed windows aligned to the
//! unix epoch, with the exact figures a server sends back
//! (`X-RateLimit-Limit`, `-Remaining`, `-Reset`, `Retry-After` and a 429
//! body).
//!
//! ```
//! use std::time::Duration;
//! use tollgate::{Class, Limiter, ManualClock, Outcome, Policy};
//!
//! // A minute boundary: 2025-05-06T00:00:00Z.
//! let t = 1_746_489_600;
//! let clock = ManualClock::new(Duration::from_secs(t));
//! let limiter = Limiter::builder(Policy::default())
//!     .clock(clock.clone())
//!     .capacity(10_000)
//!     .build()?;
//!
//! // Writes: 60 a minute, at most 20 in any 10-second window.
//! for n in 1..=20 {
//!     let d = limiter.check("key_1", Class::WRITE);
//!     assert!(d.is_allowed());
//!     assert_eq!((d.limit(), d.remaining(), d.reset()), (60, 20 - n, t + 10));
//! }
//! let d = limiter.check("key_1", Class::WRITE);
//! assert_eq!(d.outcome(), Outcome::Denied);
//! assert_eq!(d.retry_after(), Some(10));
//! let w = d.denied_by().unwrap();
//! assert_eq!((w.limit(), w.length().to_string().as_str()), (20, "10s"));
//!
//! // Ten seconds later the burst window has turned over.
//! clock.advance(Duration::from_secs(10));
//! assert!(limiter.check("key_1", Class::WRITE).is_allowed());
//! # Ok::<(), tollgate::BuildError>(())
//! ```
//!
//! ## What a check does
//!
//! [`Limiter::check_n`] admits a cost if and only if every window of the
//! class has room for it, and then counts it in all of them; a denied check
//! counts nothing. [`Limiter::peek`] reports the same figures
//! without counting. Every check also exists with an explicit time
//! ([`Limiter::check_n_at`]), which the clock-reading forms call.
//!
//! The [`Decision`] carries:
//!
//! | method | meaning | header |
//! |---|---|---|
//! | [`is_allowed`](Decision::is_allowed) | admitted or not | status 429 if not |
//! | [`limit`](Decision::limit) | the class's primary (longest-window) limit for this key | `X-RateLimit-Limit` |
//! | [`remaining`](Decision::remaining) | least room left over the class's windows, after this check | `X-RateLimit-Remaining` |
//! | [`reset`](Decision::reset) | unix seconds when `remaining` next grows: the end of the longest window among those with the least room | `X-RateLimit-Reset` |
//! | [`retry_after`](Decision::retry_after) | denied only: whole seconds (at least 1) until the same cost would pass with no other traffic — the latest end among the windows that denied it | `Retry-After` |
//! | [`denied_by`](Decision::denied_by) | denied only: that window's limit and length | the 429 body's `details` |
//!
//! A cost above some window's limit can never pass: its outcome is
//! [`Outcome::CostTooLarge`], with no `retry_after`.
//!
//! ## The crate's items
//!
//! At the root, what a server needs:
//!
//! - [`Limiter`], built by a [`LimiterBuilder`] from a [`Policy`], with
//!   [`OnFull`] for a full table;
//! - [`Class`], a method class of the policy; [`Window`] and
//!   [`WindowLength`], its windows;
//! - [`Decision`] and its [`Outcome`], what a check answers;
//! - the clocks: the [`Clock`] trait, [`CoarseClock`] (the default),
//!   [`CachedClock`], [`SystemClock`] and [`ManualClock`] (for tests);
//! - the errors: [`BuildError`], [`PolicyError`], [`OverrideError`] and
//!   [`LengthError`].
//!
//! In modules, what fewer users need: [`policy`] (a policy's classes and
//! overrides, building one in code, the file format), [`headers`] (the
//! response fields of a decision, without allocating), [`body`] (the 429
//! body) and [`store`] (the decision rule for counts kept outside the
//! limiter, for a store shared by a fleet).
//!
//! Callers of an API limited this way can pace themselves from these
//! headers with the [`tollgate-client`](https://docs.rs/tollgate-client) crate.
//!
//! ## Constraints
//!
//! - **Limits and costs**: up to `u32::MAX` (4,294,967,295) per window;
//!   costs are `u32`. A cost of 0 is a peek. A class of two nested windows
//!   (the short length divides the long one, as in the reference policy)
//!   keeps both counts in one word, so that a check is one
//!   compare-exchange; its count fields are sized when the limiter is
//!   built, and run-time overrides of that class go up to
//!   [`Limiter::max_limits`] (262,143 a minute and 65,535 per 10 seconds
//!   for the reference policy). [`LimiterBuilder::pack_windows`]`(false)`
//!   lifts that bound at the cost of a word and an exchange per window.
//! - **Windows**: whole seconds, from 1 second to 100 years; up to
//!   [`ClassPolicy::MAX_WINDOWS`](policy::ClassPolicy::MAX_WINDOWS) per
//!   class and [`Policy::MAX_CLASSES`] classes.
//! - **Horizon**: a window's index is kept modulo 2^32 and compared by
//!   wrapping difference, so a key's state stays exact as long as it is
//!   checked at least once every 2^31 windows (68 years for one-second
//!   windows) — or its state is reclaimed, which the table does to any
//!   state whose windows have all ended when it needs the slot. A class
//!   whose two windows share one word keeps its long window's index modulo
//!   2^I, I = 32 − log2(long length in seconds): at least 2^31 seconds
//!   (127 years for a minute).
//! - **Memory**: fixed when the limiter is built, never grows with the
//!   number of keys seen. Each slot takes 8 bytes of tag, 8 of floor and 8
//!   per counter word of the policy's widest class (one for a packed class,
//!   one per window otherwise), plus a 16-byte lock per eight slots (26
//!   bytes for the reference policy), and a table has 3/2 slots per unit of
//!   capacity: about 39 bytes per tracked state of the reference policy
//!   ([`Limiter::bytes_per_slot`]).
//! - **A full table**: a new key whose two buckets hold only live state
//!   gets [`Outcome::TableFull`] (fail closed, the default) or is admitted
//!   untracked ([`OnFull::Allow`]). State with a live window is never
//!   evicted, so tracked keys are never over-admitted.
//! - **Collisions**: keys are hashed with a per-limiter random seed. Two
//!   distinct (key, class) pairs share state only if they share a bucket
//!   and a 48-bit fingerprint: for a new key, a probability of at most
//!   16 / 2^48 (about 6 * 10^-14).
//! - **Clocks that step back**: a window once opened for a key is never
//!   reopened or reset by an earlier time; checks at an earlier time count
//!   in the newest window the key has seen. A time far in the future thus
//!   holds that key's counts until the real time catches up.
//! - **Progress**: checks of tracked keys take no lock, allocate nothing,
//!   and never panic; only inserting a new key takes the locks of its two
//!   buckets.
//!
//! The repository's `docs/design.md` explains the bit layouts and the
//! ordering argument.

// The library itself has no unsafe code at all. The lint table in
// Cargo.toml denies it everywhere; test files that install a counting
// global allocator allow it locally.
#![forbid(unsafe_code)]

pub mod body;
mod class;
mod clock;
mod decision;
mod error;
pub mod headers;
mod length;
mod limiter;
mod overrides;
pub mod policy;
mod stamp;
mod state;
pub mod store;
mod sync;
mod table;
mod window;
mod word;

pub use class::Class;
pub use clock::{CachedClock, Clock, CoarseClock, ManualClock, SystemClock};
pub use decision::{Decision, Outcome};
pub use error::{BuildError, OverrideError, PolicyError};
pub use length::{LengthError, WindowLength};
pub use limiter::{Limiter, LimiterBuilder, OnFull};
pub use policy::Policy;
pub use window::Window;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
