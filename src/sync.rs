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

/// A 128-bit atomic word: one `cmpxchg16b` per exchange on x86_64
/// (portable-atomic detects it at run time), a load with one 16-byte move
/// where the processor has AVX.
#[cfg(not(all(test, loom)))]
pub(crate) use portable_atomic::AtomicU128;

/// Loom has no 128-bit atomics: the models stand one in with a mutex,
/// which makes every operation indivisible, as `cmpxchg16b` does, and lets
/// the model explore every order of them.
#[cfg(all(test, loom))]
#[derive(Debug)]
pub(crate) struct AtomicU128(loom::sync::Mutex<u128>);

#[cfg(all(test, loom))]
impl AtomicU128 {
    pub(crate) fn new(value: u128) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    fn value(&self) -> loom::sync::MutexGuard<'_, u128> {
        // Poisoned only if a model thread panicked: the model has failed.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn load(&self, _: Ordering) -> u128 {
        *self.value()
    }

    pub(crate) fn store(&self, value: u128, _: Ordering) {
        *self.value() = value;
    }

    pub(crate) fn compare_exchange(
        &self,
        current: u128,
        new: u128,
        _: Ordering,
        _: Ordering,
    ) -> Result<u128, u128> {
        let mut v = self.value();
        if *v == current {
            *v = new;
            Ok(current)
        } else {
            Err(*v)
        }
    }

    pub(crate) fn compare_exchange_weak(
        &self,
        current: u128,
        new: u128,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u128, u128> {
        self.compare_exchange(current, new, success, failure)
    }
}

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
}
