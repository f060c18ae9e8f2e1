use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn info(remaining: &str, reset: &str, retry_after: &str) -> RateLimitInfo {
    RateLimitInfo::from_values(
        None,
        (!remaining.is_empty()).then_some(remaining.as_bytes()),
        (!reset.is_empty()).then_some(reset.as_bytes()),
        (!retry_after.is_empty()).then_some(retry_after.as_bytes()),
    )
}

#[test]
fn clones_draw_their_own_sequence() {
    let a = Pacer::builder().seed(7).build();
    let b = a.clone();
    let (x, y) = (a.generator.next(), b.generator.next());
    assert_ne!(x, y);
}

#[test]
fn jitter_only_for_shared_keys_and_only_when_waiting() {
    let now = Duration::from_secs(1_000);
    let solo = Pacer::builder().build();
    let shared = Pacer::builder().shared_key(true).build();
    let limited = info("", "", "2");
    assert_eq!(
        solo.pace_with(429, &limited, now, u64::MAX).jitter(),
        Duration::ZERO
    );
    let p = shared.pace_with(429, &limited, now, u64::MAX);
    assert_eq!((p.base(), p.jitter()), (2 * SECOND, Pacer::DEFAULT_JITTER));
    // Reset has passed: a zero wait, but still spread out.
    let p = shared.pace_with(200, &info("0", "900", ""), now, u64::MAX);
    assert_eq!(
        (p.reason(), p.wait()),
        (PaceReason::LowRemaining, Pacer::DEFAULT_JITTER)
    );
    let p = shared.pace_with(200, &info("10", "1100", ""), now, u64::MAX);
    assert_eq!(
        (p.reason(), p.wait()),
        (PaceReason::Proceed, Duration::ZERO)
    );
}

#[test]
fn the_cap_applies_before_the_jitter() {
    let pacer = Pacer::builder()
        .shared_key(true)
        .max_wait(10 * SECOND)
        .build();
    let p = pacer.pace_with(429, &info("", "", "3600"), SECOND, u64::MAX);
    assert!(p.is_capped());
    assert_eq!(p.wait(), 10 * SECOND + Pacer::DEFAULT_JITTER);
    let p = pacer.pace_with(429, &info("", "", "10"), SECOND, 0);
    assert!(!p.is_capped());
    assert_eq!(p.wait(), 10 * SECOND);
}

#[test]
fn a_missing_reset_or_remaining_means_no_pre_pacing() {
    let pacer = Pacer::new();
    let now = Duration::from_secs(1_000);
    for i in [
        info("0", "", ""),
        info("", "2000", ""),
        info("x", "2000", ""),
    ] {
        let p = pacer.pace(200, &i, now);
        assert_eq!(
            (p.reason(), p.wait()),
            (PaceReason::Proceed, Duration::ZERO)
        );
    }
    let off = Pacer::builder().threshold(0).build();
    assert_eq!(off.delay(200, &info("0", "2000", ""), now), Duration::ZERO);
}
