//! The core limiter's own headers pace a `tollgate-client` pacer: a
//! client that waits as the pacer says after each response is admitted on
//! its next call.
//!
//! The client crate does not depend on the core; this crate depends on
//! both (its examples serve with one and call with the other), so the test
//! that joins them lives here.

use std::time::Duration;

use tollgate::{Class, Limiter, Policy};
use tollgate_client::{PaceReason, Pacer, RateLimitInfo};

/// 2025-05-06T00:00:00Z, a Tuesday and a minute boundary.
const T: u64 = 1_746_489_600;
const SEC: Duration = Duration::from_secs(1);

#[test]
fn the_limiters_own_headers_pace_a_client() {
    // The worked example of examples/worked_example.rs: writes from an
    // empty key at a minute boundary; the 10-second burst window of 20
    // binds first.
    let limiter = Limiter::builder(Policy::default())
        .capacity(100)
        .build()
        .unwrap();
    let pacer = Pacer::new();
    let start = Duration::from_secs(T);
    let read = |decision: &tollgate::Decision| {
        let mut info = RateLimitInfo::new();
        for field in &decision.headers() {
            assert!(info.record(field.name, field.value));
        }
        info
    };
    for n in 1..=20u32 {
        let d = limiter.check_n_at("key_1", Class::WRITE, 1, start);
        assert!(d.is_allowed());
        let pace = pacer.pace(200, &read(&d), start);
        if 20 - n < 5 {
            // Under 5 left: wait for the burst window to turn over at T + 10.
            assert_eq!(
                (pace.reason(), pace.wait()),
                (PaceReason::LowRemaining, 10 * SEC)
            );
        } else {
            assert_eq!(
                (pace.reason(), pace.wait()),
                (PaceReason::Proceed, Duration::ZERO)
            );
        }
    }
    let denied = limiter.check_n_at("key_1", Class::WRITE, 1, start + 3 * SEC);
    assert_eq!(denied.retry_after(), Some(7));
    let pace = pacer.pace(429, &read(&denied), start + 3 * SEC);
    assert_eq!(
        (pace.reason(), pace.wait()),
        (PaceReason::RetryAfter, 7 * SEC)
    );
    // Waiting that long is enough: the next call is admitted.
    let after = start + 3 * SEC + pace.wait();
    assert!(limiter
        .check_n_at("key_1", Class::WRITE, 1, after)
        .is_allowed());
}
