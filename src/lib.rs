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
//! ## Features
//!
//! - `toml` (default): [`Policy::from_toml_str`] and
//!   [`Policy::to_toml_string`]; turns on `serde`.
//! - `json` (default): [`Policy::from_json_str`],
//!   [`Policy::to_json_string`], and the 429 body as JSON
//!   ([`body::ErrorBody::to_json`]); turns on `serde`.
//! - `serde`: `Serialize` and `Deserialize` for [`Policy`] in the policy
//!   file's shape, so that a policy is a field of an application's own
//!   configuration, with the file's checks; `Serialize` and `Deserialize`
//!   for [`WindowLength`], and `Serialize` for [`Window`] and the 429 body.
//!
//! With none of them the crate has no serde dependency; everything else,
//! [`Policy::builder`] included, is there without features.
//!
//! ## Constraints
//!
//! - **Limits and costs**: up to `u32::MAX` (4,294,967,295) per window;
//!   costs are `u32`. A cost of 0 is a peek.
//! - **One word per state**: a key's state in a class is one atomic word
//!   holding the time of its latest admission and a count per window, so
//!   that a check is one compare-exchange and takes effect at one instant
//!   (a denied check writes nothing, and no check is denied by another's
//!   passing work). The count fields are sized when the limiter is built,
//!   from the class's limits and the policy's overrides: in 64 bits, the
//!   reference policy's classes hold up to 65,535 per window, which is
//!   what run-time overrides may set ([`Limiter::max_limits`]);
//!   [`LimiterBuilder::wide_states`] takes 128 bits, where every class of
//!   up to three windows holds any limit. A class whose limits cannot fit
//!   128 bits (four windows of very large limits) is a build error.
//! - **Windows**: whole seconds, from 1 second to 100 years; up to
//!   [`ClassPolicy::MAX_WINDOWS`](policy::ClassPolicy::MAX_WINDOWS) per
//!   class and [`Policy::MAX_CLASSES`] classes.
//! - **Horizon**: the time of a state's latest admission is kept in
//!   seconds modulo 2^32 (2^33 for a class with a window longer than 68
//!   years) and compared with `now` by wrapping difference: a state
//!   untouched for more than 2^31 seconds (68 years) may read as holding
//!   counts once, unless the table has reclaimed it first. The horizon
//!   always exceeds the class's longest window, so a key that is denied
//!   throughout a window is admitted when it ends.
//! - **Memory**: fixed when the limiter is built, never grows with the
//!   number of keys seen. A bucket of four slots is one 64-byte line of
//!   four tags and four state words; a lock and the floors of taken states
//!   (40 bytes) serve four buckets; a table has 5/2 slots per unit of
//!   capacity: about 47 bytes per tracked state (19 per slot:
//!   [`Limiter::bytes_per_slot`]). With 128-bit states, buckets of eight
//!   slots in three lines and 3/2 slots per unit: about 39 bytes.
//! - **A full table**: a new key takes a free slot, then one whose state
//!   has ended; when both of its buckets hold only live state, it evicts
//!   the state holding least, if that holds at most
//!   [`LimiterBuilder::evict_at_most`] (1 by default) in every current
//!   window and was last counted in an earlier second. An evicted key that
//!   comes back starts again in its windows from zero: eviction admits it
//!   at most what it held, once per eviction; a state holding more is
//!   never taken while a window of it is live. Otherwise the new key gets
//!   [`Outcome::TableFull`] (fail closed, the default) or is admitted
//!   untracked ([`OnFull::Allow`]).
//! - **Collisions**: keys are hashed with a per-limiter random seed. Two
//!   distinct (key, class) pairs share state only if they share a bucket
//!   and a 48-bit fingerprint: for a new key, a probability of at most
//!   8 / 2^48 (about 3 * 10^-14).
//! - **Clocks that step back**: a window once opened for a key is never
//!   reopened or reset by an earlier time; checks at an earlier time count
//!   in the newest window the key has seen. A time far in the future thus
//!   holds that key's counts until the real time catches up, and only that
//!   key's: a key whose state was taken starts again no earlier than the
//!   end of its last window (or, evicted, its last admission), and keys
//!   that never saw that time count at their own.
//! - **Progress**: checks of tracked keys take no lock, allocate nothing,
//!   and never panic; only inserting a new key takes the locks of its
//!   buckets. Building a limiter asks for its memory without aborting:
//!   too much is [`BuildError::Memory`].
//!
//! The repository's `docs/design.md` explains why the core is shaped this
//! way; the bit layout and the ordering argument are in the module docs
//! of `stamp`, `word` and `table`.

// The library itself has no unsafe code at all. The lint table in
// Cargo.toml denies it everywhere; test files that install a counting
// global allocator allow it locally.
#![forbid(unsafe_code)]
// On docs.rs, items that need a feature say which.
#![cfg_attr(docsrs, feature(doc_cfg))]

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
