//! The keys a middleware paces: each key's state behind a lock, the
//! waiting for it, and the table that finds a key's state by its
//! fingerprint.
//!
//! A key's state is locked only to decide or to take in an answer, never
//! across an `.await`. A request that must wait sleeps on tokio's timer
//! or, while another request on the key is out to learn a fresh window,
//! waits for that request to finish; every finish wakes the waiters, who
//! decide again.
//!
//! The table holds the states of the keys seen; a state that holds
//! nothing a fresh one would not is dropped when the table next grows to
//! twice the size it had after its last sweep, so that memory follows the
//! keys in use, not every key ever seen.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tollgate_client::{Pace, Pacer, RateLimitInfo};

use crate::clock::{self, Now};
use crate::state::{Admit, KeyState, Settings};

/// The table is swept when it reaches this many keys, at the least.
const FIRST_SWEEP: usize = 64;

/// One key: its state and the requests waiting on it.
#[derive(Debug)]
pub(crate) struct Key {
    state: Mutex<KeyState>,
    answered: Notify,
}

/// What a request waited before it went.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Waited {
    /// The whole time it was held, as measured between the decisions.
    pub(crate) total: Duration,
    /// The random part of the sleeps it was given.
    pub(crate) jitter: Duration,
}

impl Key {
    fn new() -> Self {
        Self {
            state: Mutex::new(KeyState::new()),
            answered: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, KeyState> {
        // The state is whole after every statement that changes it: a
        // panic elsewhere while it was held leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request may go, then counts it in flight; adds what
    /// it waited to `waited`. Needs a tokio runtime with the time driver.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        pacer: &Pacer,
        settings: Settings,
        waited: &mut Waited,
    ) -> InFlight {
        let start = clock::now().instant;
        loop {
            // Registered before the state is read, so that an answer taken
            // in between still wakes this request.
            let mut answered = pin!(self.answered.notified());
            answered.as_mut().enable();
            let decision = self.lock().admit(pacer, settings, clock::now());
            match decision {
                Admit::Go => break,
                Admit::Sleep { until, jitter } => {
                    waited.jitter = waited.jitter.saturating_add(jitter);
                    tokio::time::sleep_until(until.into()).await;
                }
                Admit::AwaitAnswer => answered.await,
            }
        }
        let held = clock::now().instant.saturating_duration_since(start);
        waited.total = waited.total.saturating_add(held);
        InFlight {
            key: Arc::clone(self),
        }
    }
}

/// A request that went: in flight on its key until answered or dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    key: Arc<Key>,
}

impl InFlight {
    /// Takes in the request's answer; returns the pacer's pace for it.
    pub(crate) fn answer(
        self,
        status: u16,
        info: &RateLimitInfo,
        pacer: &Pacer,
        settings: Settings,
        now: Now,
    ) -> Pace {
        self.key.lock().answer(status, info, pacer, settings, now)
        // Dropping `self` ends the flight and wakes the waiters.
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.key.lock().finished();
        self.key.answered.notify_waiters();
    }
}

/// The keys of one middleware, by fingerprint.
#[derive(Debug)]
pub(crate) struct Keys {
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    keys: HashMap<u64, Arc<Key>>,
    sweep_at: usize,
}

impl Keys {
    pub(crate) fn new() -> Self {
        Self {
            table: Mutex::new(Table {
                keys: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of the key with this fingerprint; a new one for a key
    /// not seen (or swept).
    pub(crate) fn get(&self, fingerprint: u64) -> Arc<Key> {
        let mut table = self.lock();
        if let Some(key) = table.keys.get(&fingerprint) {
            return Arc::clone(key);
        }
        if table.keys.len() >= table.sweep_at {
            let now = clock::now().instant;
            // A key that a request holds (count above one) is kept whatever
            // its state: the table's lock is held, so none is taken now.
            table
                .keys
                .retain(|_, key| Arc::strong_count(key) > 1 || !key.lock().is_idle(now));
            table.sweep_at = table.keys.len().saturating_mul(2).max(FIRST_SWEEP);
        }
        let key = Arc::new(Key::new());
        table.keys.insert(fingerprint, Arc::clone(&key));
        key
    }

    /// How many keys the table holds.
    pub(crate) fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_keys_are_swept_once_the_table_doubles() {
        let keys = Keys::new();
        let held: Vec<_> = (0..10).map(|i| keys.get(i)).collect();
        for i in 10..FIRST_SWEEP as u64 {
            keys.get(i);
        }
        assert_eq!(keys.len(), FIRST_SWEEP);
        keys.get(1_000);
        // The ten held keys stay, the idle ones went, the new one is in.
        assert_eq!(keys.len(), 11);
        assert!(Arc::ptr_eq(&keys.get(3), &held[3]));
    }
}
