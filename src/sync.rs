//! The one switch between std and loom.
//!
//! Every atomic and lock used by the counters and the key table comes from
//! here, so `RUSTFLAGS="--cfg loom" cargo test --release --lib` model-checks
//! exactly the code that ships. Embedders who build with `--cfg loom` for
//! their own models are unaffected: the switch also requires `cfg(test)`.

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// A mutual-exclusion lock for slow paths only (inserting a key, changing
/// an override): parking_lot's outside loom, loom's inside it.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(all(test, loom)))]
    inner: parking_lot::Mutex<T>,
    #[cfg(all(test, loom))]
    inner: loom::sync::Mutex<T>,
}

/// The guard of a [`Mutex`].
#[cfg(not(all(test, loom)))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
/// The guard of a [`Mutex`].
#[cfg(all(test, loom))]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(not(all(test, loom)))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(all(test, loom))]
            inner: loom::sync::Mutex::new(value),
        }
    }

    /// Blocks until the lock is held.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(all(test, loom)))]
        {
            self.inner.lock()
        }
        #[cfg(all(test, loom))]
        {
            // loom's mutex is poisoned only if a model thread panicked, in
            // which case the model has already failed.
            self.inner
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

/// Spins, then yields, between retries of a contended compare-exchange.
#[cfg(not(all(test, loom)))]
pub(crate) use crossbeam_utils::Backoff;

/// Under loom a retry must yield so the model explores other threads.
#[cfg(all(test, loom))]
#[derive(Debug, Default)]
pub(crate) struct Backoff;

#[cfg(all(test, loom))]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self
    }
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
}
