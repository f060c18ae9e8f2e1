//! What a policy allows over a span of time, and times of day: shared by
//! the demos.

use std::time::Duration;

use tollgate::{Class, Limiter, Policy};

/// The most checks of `class` a fresh key gets admitted at any times
/// within whole unix seconds `from..=to`: every second, as many as the
/// policy admits (with fixed windows, taking each window's room as early
/// as possible never costs a later window any).
pub(crate) fn allowed(policy: &Policy, class: Class, from: u64, to: u64) -> u64 {
    let Ok(limiter) = Limiter::builder(policy.clone()).capacity(1).build() else {
        return 0;
    };
    let mut admitted: u64 = 0;
    for second in from..=to {
        let now = Duration::from_secs(second);
        while limiter.check_at("fresh", class, now).is_allowed() {
            admitted = admitted.saturating_add(1);
        }
    }
    admitted
}

/// `HH:MM:SS` of a unix time, UTC.
pub(crate) fn clock_time(unix: u64) -> String {
    let day = unix % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3_600, day % 3_600 / 60, day % 60)
}
