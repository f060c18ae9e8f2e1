//! The script's reply, read back: whether it counted, the time it used,
//! what it counted and every window as it found it (the layout is in
//! [`script`](crate::script)'s docs).

use std::time::Duration;

use tollgate::policy::ClassPolicy;
use tollgate::store::WindowCount;
use tollgate::Window;

use crate::script::Ask;

/// What a run of the script answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// Whether it counted.
    pub(crate) admitted: bool,
    /// The time it used.
    pub(crate) now: Duration,
    /// What it counted in every window: the cost and the surplus granted.
    pub(crate) granted: u32,
    /// Each window before the check, longest first, as
    /// [`WindowCount::at`] reads it at [`now`](Self::now).
    pub(crate) counts: Counts,
}

/// Each window's count, longest window first: at most a class's
/// [`MAX_WINDOWS`](ClassPolicy::MAX_WINDOWS), held inline, since every
/// decision reads one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    len: usize,
    items: [WindowCount; ClassPolicy::MAX_WINDOWS],
}

impl Counts {
    /// `counts`, or `None` for more than a class may have.
    #[cfg(test)]
    pub(crate) fn of(counts: &[WindowCount]) -> Option<Self> {
        Self::collect(counts.iter().copied().map(Some))
    }

    /// The counts of an iterator, or `None` when one is `None` or there
    /// are more than a class may have.
    fn collect(counts: impl Iterator<Item = Option<WindowCount>>) -> Option<Self> {
        let mut items = [WindowCount::default(); ClassPolicy::MAX_WINDOWS];
        let mut len = 0;
        for count in counts {
            *items.get_mut(len)? = count?;
            len = len.checked_add(1)?;
        }
        Some(Self { len, items })
    }
}

impl std::ops::Deref for Counts {
    type Target = [WindowCount];

    fn deref(&self) -> &[WindowCount] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

impl<'a> IntoIterator for &'a Counts {
    type Item = &'a WindowCount;
    type IntoIter = std::slice::Iter<'a, WindowCount>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Counts {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Counts {}

/// The reply's flag: the script counted.
const ADMITTED: u8 = 1;
/// The reply's flag: the time the script used follows.
const TIMED: u8 = 2;

impl Reply {
    /// Reads the script's reply to `ask`; `None` for a reply of another
    /// shape.
    pub(crate) fn parse(bytes: &[u8], ask: &Ask<'_>) -> Option<Self> {
        let (&flags, rest) = bytes.split_first()?;
        if flags & !(ADMITTED | TIMED) != 0 || (flags & TIMED != 0) != ask.now.is_none() {
            return None;
        }
        let (now, state) = match ask.now {
            Some(now) => (now, rest),
            None => {
                let (ms, state) = rest.split_first_chunk::<8>()?;
                (Duration::from_millis(u64::from_be_bytes(*ms)), state)
            }
        };
        let counts = read(state, ask.windows, now)?;
        let admitted = flags & ADMITTED != 0;
        let granted = if admitted {
            grant(ask.windows, &counts, ask.cost, ask.surplus)
        } else {
            0
        };
        Some(Self {
            admitted,
            now,
            granted,
            counts,
        })
    }
}

/// Each of `windows` in `state` (empty: no key), read at `now`: the count
/// stored for its length, or none; `None` for a state of another shape.
fn read(state: &[u8], windows: &[Window], now: Duration) -> Option<Counts> {
    let (stamp, pairs) = match state.split_first_chunk::<8>() {
        Some((stamp, pairs)) => (u64::from_be_bytes(*stamp), pairs),
        None if state.is_empty() => (0, state),
        None => return None,
    };
    if pairs.len() % 8 != 0 {
        return None;
    }
    let stored = |length: u64| {
        pairs.chunks_exact(8).find_map(|pair| {
            let len = u32::from_be_bytes(*pair.first_chunk::<4>()?);
            let count = u32::from_be_bytes(*pair.last_chunk::<4>()?);
            (u64::from(len) == length).then_some(count)
        })
    };
    Counts::collect(windows.iter().map(|w| {
        let length = w.length().as_secs();
        let found = WindowCount {
            index: stamp.checked_div(length)?,
            count: stored(length).unwrap_or(0),
        };
        Some(found.at(w.length(), now))
    }))
}

/// What the script counts when it admits `cost`: the cost, and as much of
/// the `surplus` as every window has room for.
fn grant(windows: &[Window], counts: &[WindowCount], cost: u32, surplus: u32) -> u32 {
    let room = windows
        .iter()
        .zip(counts)
        .map(|(w, c)| w.limit().saturating_sub(c.count))
        .min()
        .unwrap_or(0);
    cost.saturating_add(surplus.min(room.saturating_sub(cost)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate::WindowLength;

    fn write() -> [Window; 2] {
        [
            Window::new(60, WindowLength::from_secs(60).unwrap()),
            Window::new(20, WindowLength::from_secs(10).unwrap()),
        ]
    }

    /// A minute boundary: 2025-05-06T00:00:00Z.
    const T: u64 = 1_746_489_600;

    fn state(stamp: u64, pairs: &[(u32, u32)]) -> Vec<u8> {
        let mut out = stamp.to_be_bytes().to_vec();
        for (len, count) in pairs {
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    fn ask(windows: &[Window], cost: u32, surplus: u32, now: Option<Duration>) -> Ask<'_> {
        Ask {
            windows,
            cost,
            surplus,
            now,
            margin: Duration::from_secs(60),
        }
    }

    fn wc(index: u64, count: u32) -> WindowCount {
        WindowCount { index, count }
    }

    #[test]
    fn counts_as_found() {
        let w = write();
        let now = Duration::from_millis((T + 15) * 1_000 + 500);
        let a = ask(&w, 1, 0, Some(now));
        // No key: both windows empty and current.
        let r = Reply::parse(&[1], &a).unwrap();
        assert_eq!(
            r,
            Reply {
                admitted: true,
                now,
                granted: 1,
                counts: Counts::of(&[wc(T / 60, 0), wc((T + 15) / 10, 0)]).unwrap(),
            }
        );
        // Counted at T + 5: the minute goes on, the 10 s window has ended.
        let mut bytes = vec![0];
        bytes.extend(state(T + 5, &[(60, 7), (10, 3)]));
        let r = Reply::parse(&bytes, &a).unwrap();
        assert!(!r.admitted);
        assert_eq!(r.granted, 0);
        assert_eq!(*r.counts, [wc(T / 60, 7), wc((T + 15) / 10, 0)]);
        // A stamp ahead keeps its windows; lengths are matched, not places.
        let mut bytes = vec![1];
        bytes.extend(state(T + 71, &[(7, 9), (10, 2), (60, 4)]));
        let r = Reply::parse(&bytes, &a).unwrap();
        assert_eq!(*r.counts, [wc((T + 71) / 60, 4), wc((T + 71) / 10, 2)]);
    }

    #[test]
    fn leases_are_granted_what_every_window_has_room_for() {
        let w = write();
        let now = Duration::from_secs(T + 1);
        let mut bytes = vec![1];
        bytes.extend(state(T, &[(60, 50), (10, 4)]));
        // Room: 10 in the minute, 16 in the 10 s window.
        let r = Reply::parse(&bytes, &ask(&w, 2, 100, Some(now))).unwrap();
        assert_eq!(r.granted, 10);
        let r = Reply::parse(&bytes, &ask(&w, 2, 5, Some(now))).unwrap();
        assert_eq!(r.granted, 7);
    }

    #[test]
    fn redis_time() {
        let w = write();
        let mut bytes = vec![3];
        bytes.extend(((T + 2) * 1_000 + 7).to_be_bytes());
        bytes.extend(state(T + 1, &[(60, 1), (10, 1)]));
        let r = Reply::parse(&bytes, &ask(&w, 1, 0, None)).unwrap();
        assert_eq!(r.now, Duration::from_millis((T + 2) * 1_000 + 7));
        assert_eq!(*r.counts, [wc(T / 60, 1), wc(T / 10, 1)]);
        // The time without a TIME run, and none with one: not the script's.
        assert_eq!(
            Reply::parse(&bytes, &ask(&w, 1, 0, Some(Duration::ZERO))),
            None
        );
        assert_eq!(Reply::parse(&[1], &ask(&w, 1, 0, None)), None);
    }

    #[test]
    fn replies_of_other_shapes() {
        let w = write();
        let a = ask(&w, 1, 0, Some(Duration::from_secs(T)));
        assert_eq!(Reply::parse(&[], &a), None);
        assert_eq!(Reply::parse(&[4], &a), None);
        assert_eq!(Reply::parse(&[1, 0, 0, 0], &a), None);
        let mut bytes = vec![1];
        bytes.extend(state(T, &[(60, 1)]));
        bytes.push(0);
        assert_eq!(Reply::parse(&bytes, &a), None);
    }
}
