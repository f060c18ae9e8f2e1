//! What the tollgate workspace's tests and fuzz targets share (not
//! published):
//!
//! - [`model`]: the sequential reference model of a check and the harness
//!   that replays an operation sequence against it and a real limiter
//!   (the core's property test and the `differential` fuzz target);
//! - [`counting`]: a per-thread counting global allocator (the core's
//!   memory test, the layer's allocation test);
//! - `tower` (feature `tower`): the model of the HTTP layer's answers and
//!   its harness (the layer's property test and the `tower` fuzz target);
//! - `redis` (feature `redis`): a `redis-server`, or a cluster of six, of
//!   the tests' own (the Redis limiter's tests, the fleet's end-to-end
//!   test and its demo);
//! - `chromium` (feature `chromium`, on Unix): a headless Chromium of the
//!   tests' own (the tower layer's browser test);
//! - [`ci`]: whether the run is CI's, where a missing program fails the
//!   tests that need it rather than skipping them.

#![expect(
    missing_docs,
    reason = "test support: each item is described by the tests that use it"
)]
#![expect(
    clippy::missing_panics_doc,
    reason = "test support: a harness panics on the first difference it finds"
)]

#[cfg(all(feature = "chromium", unix))]
pub mod chromium;
pub mod ci;
pub mod counting;
pub mod model;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "tower")]
pub mod tower;
