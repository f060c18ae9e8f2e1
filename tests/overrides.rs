//! Per-key limits: from the policy file, and changed at run time.

use std::time::Duration;

use tollgate::{Class, Limiter, OverrideError, Policy, Window, WindowLength};

const T: u64 = 1_746_489_600;
const POLICY: &str = r#"
[classes.read]
methods = ["GET"]
limit = 1000
window = "1m"
burst = { multiplier = 2, window = "10s" }

[classes.write]
methods = ["POST"]
limit = 60
window = "1m"
burst = { multiplier = 2, window = "10s" }

[[overrides]]
key = "key_enterprise_42"
class = "write"
limit = 600
burst = { limit = 200, window = "10s" }
"#;

fn at(s: u64) -> Duration {
    Duration::from_secs(T.saturating_add(s))
}

fn limiter() -> Limiter {
    Limiter::builder(Policy::from_toml_str(POLICY).unwrap())
        .capacity(100)
        .override_capacity(2)
        .seed(9)
        .build()
        .unwrap()
}

#[test]
fn a_policy_override_applies_to_its_key_only() {
    let l = limiter();
    let d = l.check_at("key_enterprise_42", Class::WRITE, at(0));
    assert_eq!((d.limit(), d.remaining(), d.reset()), (600, 199, T + 10));
    assert!(l
        .check_n_at("key_enterprise_42", Class::WRITE, 199, at(0))
        .is_allowed());
    let d = l.check_at("key_enterprise_42", Class::WRITE, at(0));
    assert_eq!(
        d.denied_by(),
        Some(Window::new(200, WindowLength::from_secs(10).unwrap()))
    );
    // Other keys, and the same key's other class, keep the class limits.
    assert_eq!(l.check_at("key_1", Class::WRITE, at(0)).limit(), 60);
    assert_eq!(
        l.check_at("key_enterprise_42", Class::READ, at(0)).limit(),
        1000
    );
}

#[test]
fn overrides_change_at_run_time() {
    let l = limiter();
    assert!(l.check_n_at("k", Class::WRITE, 20, at(0)).is_allowed());
    assert!(!l.check_at("k", Class::WRITE, at(0)).is_allowed());
    // Raise the limit: the burst scales with it (multiplier 2) at once.
    l.set_override("k", Class::WRITE, 600).unwrap();
    let d = l.check_at("k", Class::WRITE, at(0));
    assert_eq!((d.is_allowed(), d.limit(), d.remaining()), (true, 600, 179));
    assert_eq!(
        l.limits_for("k", Class::WRITE).unwrap(),
        [
            Window::new(600, WindowLength::from_secs(60).unwrap()),
            Window::new(200, WindowLength::from_secs(10).unwrap())
        ]
    );
    // Lower it below what is spent: denied until the windows end; the
    // counts are kept.
    l.set_override_limits("k", Class::WRITE, &[30, 10]).unwrap();
    let d = l.check_at("k", Class::WRITE, at(1));
    assert_eq!(
        (d.is_allowed(), d.limit(), d.remaining(), d.retry_after()),
        (false, 30, 0, Some(9))
    );
    // Remove it: back to the class limits.
    assert!(l.remove_override("k", Class::WRITE));
    assert!(!l.remove_override("k", Class::WRITE));
    let d = l.check_at("k", Class::WRITE, at(10));
    assert_eq!((d.is_allowed(), d.limit(), d.remaining()), (true, 60, 19));
}

#[test]
fn bad_overrides_are_errors() {
    let l = limiter();
    assert_eq!(
        l.set_override("k", Class::WRITE, 0),
        Err(OverrideError::ZeroLimit)
    );
    assert_eq!(
        l.set_override_limits("k", Class::WRITE, &[5]),
        Err(OverrideError::WindowCount {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        l.set_override_limits("k", Class::WRITE, &[5, 0]),
        Err(OverrideError::ZeroLimit)
    );
    // The capacity (2 beyond the policy's one) is of distinct (key, class).
    l.set_override("a", Class::WRITE, 5).unwrap();
    l.set_override("b", Class::WRITE, 5).unwrap();
    l.set_override("a", Class::WRITE, 7).unwrap();
    let err = l.set_override("c", Class::WRITE, 5).unwrap_err();
    assert!(matches!(err, OverrideError::Full { .. }), "{err}");
    assert!(err.to_string().contains("override"));
}

#[test]
fn override_keys_match_string_keys_of_any_form() {
    let l = limiter();
    let owned = String::from("key_enterprise_42");
    assert_eq!(l.check_at(&owned, Class::WRITE, at(0)).limit(), 600);
    assert_eq!(l.check_at(owned.as_str(), Class::WRITE, at(0)).limit(), 600);
}

#[test]
fn a_class_refuses_overrides_its_word_cannot_hold() {
    let l = limiter();
    // Read and write classes each keep a minute and its burst in 64 bits.
    let max = l.max_limits(Class::WRITE).unwrap();
    assert_eq!(max, vec![65_535, 65_535]);
    l.set_override_limits("big", Class::WRITE, &max).unwrap();
    assert_eq!(
        l.set_override_limits("k", Class::WRITE, &[max[0] + 1, 20]),
        Err(OverrideError::TooLarge {
            window: 0,
            max: max[0]
        })
    );
    let err = l
        .set_override_limits("k", Class::WRITE, &[600, u32::MAX])
        .unwrap_err();
    assert_eq!(
        err,
        OverrideError::TooLarge {
            window: 1,
            max: max[1]
        }
    );
    assert!(err.to_string().contains("wide_states(true)"), "{err}");
    // A key at the largest override counts up to it, and no further: both
    // windows are full, and the minute ends last.
    for n in 1..=u64::from(max[1]) {
        assert!(l.check_at("big", Class::WRITE, at(0)).is_allowed(), "{n}");
    }
    let d = l.check_at("big", Class::WRITE, at(0));
    assert!(!d.is_allowed());
    assert_eq!(d.remaining(), 0);
    assert_eq!(d.retry_after(), Some(60));
    let d = l.check_at("big", Class::WRITE, at(60));
    assert_eq!((d.is_allowed(), d.remaining()), (true, max[1] - 1));
    // The largest primary limit is accepted with its scaled burst.
    l.set_override("big2", Class::WRITE, max[0]).unwrap();
    assert_eq!(
        l.set_override("big3", Class::WRITE, max[0] + 1),
        Err(OverrideError::TooLarge {
            window: 0,
            max: max[0]
        })
    );
}

#[test]
fn wide_states_take_any_override() {
    let l = Limiter::builder(Policy::from_toml_str(POLICY).unwrap())
        .capacity(100)
        .override_capacity(2)
        .wide_states(true)
        .build()
        .unwrap();
    assert_eq!(l.max_limits(Class::WRITE), Some(vec![u32::MAX, u32::MAX]));
    l.set_override_limits("k", Class::WRITE, &[u32::MAX, u32::MAX])
        .unwrap();
    let d = l.check_n_at("k", Class::WRITE, u32::MAX, at(0));
    assert!(d.is_allowed());
    assert_eq!(d.remaining(), 0);
}

#[test]
fn every_class_accepts_the_largest_limits_it_advertises() {
    // Regression: max_limits(WRITE) said [262143, 65535], and
    // set_override(k, WRITE, 262143) was refused because the scaled burst
    // (87,381) did not fit; the largest primary accepted was 196,607.
    for wide in [false, true] {
        let l = Limiter::builder(Policy::default())
            .capacity(16)
            .wide_states(wide)
            .build()
            .unwrap();
        for class in [Class::READ, Class::WRITE] {
            let max = l.max_limits(class).unwrap();
            l.set_override("primary", class, max[0]).unwrap();
            l.set_override_limits("every", class, &max).unwrap();
            let scaled = l.limits_for("primary", class).unwrap();
            assert_eq!(scaled[0].limit(), max[0]);
            assert!(scaled[1].limit() <= max[1]);
            if max[0] < u32::MAX {
                assert_eq!(
                    l.set_override("k", class, max[0] + 1),
                    Err(OverrideError::TooLarge {
                        window: 0,
                        max: max[0]
                    })
                );
            }
        }
    }
}
