//! Leases: a server takes up to `L` units of a (key, class) at once,
//! counted in every window by the same script as a check, and admits
//! checks from them locally until they are spent or the first of the
//! lease's windows ends.
//!
//! Every unit a server admits was counted in Redis first, in every window
//! of the class, so leases never over-admit. What they may lose is units
//! counted in Redis but never admitted: a server holds at most `L` unused
//! units of a (key, class) at any time (a new lease is asked for only
//! when the one held cannot cover a check, and asks for `L` less what it
//! still holds), and unused units are lost when the lease's window ends,
//! so a fleet of N servers under-admits at most `N * L` per shortest
//! window. A server holds one lease per (key, class), and one task at a
//! time takes it: others wait for it (within the timeout).
//!
//! A decision from a lease reports the counts as this server knows them:
//! Redis's counts when the lease was taken, less the units it still
//! holds, plus what it admitted since. Other servers' admissions since
//! then are not in its `remaining`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tollgate::store::{decide, WindowCount};
use tollgate::{Class, Decision, Window};

use crate::error::Error;
use crate::reply::Reply;

/// One server's lease of one (key, class).
#[derive(Debug, Default)]
struct Lease {
    /// Units counted in Redis and not admitted yet.
    left: u32,
    /// The windows as Redis counted them when the lease was taken (the
    /// lease included).
    counted: Vec<WindowCount>,
    /// The limits the lease was taken under.
    limits: Vec<Window>,
    /// When the first of its windows ends, on this server's clock.
    expires: Duration,
}

impl Lease {
    /// Whether the lease still stands at `now` for `windows`.
    fn live(&self, windows: &[Window], now: Duration) -> bool {
        now < self.expires && self.limits == windows
    }

    /// The counts this server knows of: Redis's less the unused units.
    fn known(&self) -> Vec<WindowCount> {
        self.counted
            .iter()
            .map(|w| WindowCount {
                index: w.index,
                count: w.count.saturating_sub(self.left),
            })
            .collect()
    }

    /// A check of `cost` from the lease, if it covers it.
    fn local(&mut self, windows: &[Window], cost: u32, now: Duration) -> Option<Decision> {
        if self.left < cost || !self.live(windows, now) {
            return None;
        }
        let d = decide(windows, &self.known(), cost, now);
        if !d.is_allowed() {
            return None;
        }
        self.left = self.left.saturating_sub(cost);
        Some(d)
    }

    /// Takes the lease Redis granted with `reply` for a check of `cost`
    /// admitted at `now` (this server's clock); the check's decision.
    fn renew(&mut self, reply: &Reply, windows: &[Window], cost: u32, now: Duration) -> Decision {
        let same = self.live(windows, now)
            && self.counted.len() == reply.counts.len()
            && self
                .counted
                .iter()
                .zip(&reply.counts)
                .all(|(a, b)| a.index == b.index);
        let held = if same { self.left } else { 0 };
        let before: Vec<WindowCount> = reply
            .counts
            .iter()
            .map(|w| WindowCount {
                index: w.index,
                count: w.count.saturating_sub(held),
            })
            .collect();
        let d = decide(windows, &before, cost, now);
        self.counted = reply
            .counts
            .iter()
            .map(|w| WindowCount {
                index: w.index,
                count: w.count.saturating_add(reply.granted),
            })
            .collect();
        self.left = held.saturating_add(reply.granted).saturating_sub(cost);
        self.limits = windows.to_vec();
        // The first window to end, in Redis's time, moved to ours.
        let ends = windows
            .iter()
            .zip(&reply.counts)
            .map(|(w, c)| {
                c.index
                    .saturating_add(1)
                    .saturating_mul(w.length().as_secs())
            })
            .min()
            .unwrap_or(0);
        let ahead = Duration::from_secs(ends).saturating_sub(reply.now);
        self.expires = now.saturating_add(ahead);
        d
    }
}

/// Every lease of one server.
pub(crate) struct Leases {
    units: u32,
    /// Per class (by index): leases by key.
    classes: Vec<Mutex<Table>>,
}

/// The leases of one class.
#[derive(Default)]
struct Table {
    leases: HashMap<Box<[u8]>, Arc<tokio::sync::Mutex<Lease>>>,
    /// Drop ended leases when the table grows past this.
    prune_at: usize,
}

/// Tables are pruned of ended leases when they reach this many entries.
const PRUNE_FLOOR: usize = 1024;

impl Leases {
    /// Leases of up to `units` for a policy of `classes` classes.
    pub(crate) fn new(units: u32, classes: usize) -> Self {
        Self {
            units,
            classes: (0..classes).map(|_| Mutex::new(Table::default())).collect(),
        }
    }

    /// The most units one lease takes.
    pub(crate) fn units(&self) -> u32 {
        self.units
    }

    /// The lease of (`key`, `class`), made if there is none.
    fn entry(&self, key: &[u8], class: Class, now: Duration) -> Arc<tokio::sync::Mutex<Lease>> {
        let Some(table) = self.classes.get(class.index()) else {
            return Arc::default();
        };
        let mut table = table.lock();
        if let Some(lease) = table.leases.get(key) {
            return Arc::clone(lease);
        }
        if table.leases.len() >= table.prune_at.max(PRUNE_FLOOR) {
            // Ended leases hold nothing: drop them (a lease in use stays).
            table
                .leases
                .retain(|_, l| l.try_lock().map_or(true, |l| now < l.expires));
            table.prune_at = table.leases.len().saturating_mul(2);
        }
        let lease = Arc::<tokio::sync::Mutex<Lease>>::default();
        table.leases.insert(key.into(), Arc::clone(&lease));
        lease
    }

    /// A check of `cost` (at least 1) at `now` on this server's clock:
    /// from the lease, or through `take(surplus)`, the script's run for
    /// the cost and `surplus` more units.
    pub(crate) async fn check<F, Fut>(
        &self,
        key: &[u8],
        class: Class,
        windows: &[Window],
        cost: u32,
        now: Duration,
        take: F,
    ) -> Result<Decision, Error>
    where
        F: FnOnce(u32) -> Fut,
        Fut: Future<Output = Result<(Decision, Reply), Error>>,
    {
        let entry = self.entry(key, class, now);
        let mut lease = entry.lock().await;
        if let Some(d) = lease.local(windows, cost, now) {
            return Ok(d);
        }
        let held = if lease.live(windows, now) {
            lease.left
        } else {
            0
        };
        let surplus = self.units.saturating_sub(cost.saturating_add(held));
        let (d, reply) = take(surplus).await?;
        if !reply.admitted {
            return Ok(d);
        }
        Ok(lease.renew(&reply, windows, cost, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Counts;
    use tollgate::WindowLength;

    fn write() -> [Window; 2] {
        [
            Window::new(60, WindowLength::from_secs(60).unwrap()),
            Window::new(20, WindowLength::from_secs(10).unwrap()),
        ]
    }

    const T: u64 = 1_746_489_600;

    fn reply(now: u64, minute: u32, burst: u32, granted: u32) -> Reply {
        Reply {
            admitted: true,
            now: Duration::from_secs(now),
            granted,
            counts: Counts::of(&[
                WindowCount {
                    index: now / 60,
                    count: minute,
                },
                WindowCount {
                    index: now / 10,
                    count: burst,
                },
            ])
            .unwrap(),
        }
    }

    #[test]
    fn a_lease_admits_locally_until_spent_or_ended() {
        let now = Duration::from_secs(T + 3);
        let mut lease = Lease::default();
        // Redis held 4 and 2; the lease took 5 for a check of 1.
        let d = lease.renew(&reply(T + 3, 4, 2, 5), &write(), 1, now);
        assert_eq!((d.is_allowed(), d.remaining()), (true, 17));
        assert_eq!(lease.left, 4);
        assert_eq!(lease.expires, Duration::from_secs(T + 10));
        for left in (0..4).rev() {
            let d = lease.local(&write(), 1, now).unwrap();
            assert_eq!(d.remaining(), 17 - (4 - left));
            assert_eq!(lease.left, left);
        }
        assert!(lease.local(&write(), 1, now).is_none());
        // Ended with its burst window.
        let mut lease = Lease::default();
        lease.renew(&reply(T + 3, 0, 0, 5), &write(), 1, now);
        assert!(lease
            .local(&write(), 1, Duration::from_secs(T + 10))
            .is_none());
        // Other limits (an override) end it too.
        let other = [
            write()[0],
            Window::new(5, WindowLength::from_secs(10).unwrap()),
        ];
        assert!(lease.local(&other, 1, now).is_none());
    }

    #[test]
    fn a_new_lease_in_the_same_windows_keeps_what_is_held() {
        let now = Duration::from_secs(T + 3);
        let mut lease = Lease::default();
        lease.renew(&reply(T + 3, 0, 0, 3), &write(), 1, now);
        assert_eq!(lease.left, 2);
        // A check of 3 does not fit in 2: the next lease's counts include
        // the 2 held, which the decision does not count as admitted.
        let d = lease.renew(&reply(T + 3, 3, 3, 4), &write(), 3, now);
        assert_eq!(d.remaining(), 20 - 1 - 3);
        assert_eq!(lease.left, 2 + 4 - 3);
    }
}
