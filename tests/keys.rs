//! Keys come from clients: any bytes, any length, any `Hash` type.

use std::sync::Arc;
use std::time::Duration;

use tollgate::{Class, Limiter, Outcome, Policy};

const T: Duration = Duration::from_secs(1_746_489_600);

fn limiter() -> Limiter {
    Limiter::builder(Policy::default())
        .capacity(1_000)
        .seed(4)
        .build()
        .unwrap()
}

#[test]
fn odd_keys_are_keys_like_any_other() {
    let l = limiter();
    // Miri interprets every instruction: a shorter "huge" key there.
    let huge = "k".repeat(if cfg!(miri) { 1 << 12 } else { 1 << 20 });
    let binary: &[u8] = &[0, 0xFF, 0xFE, b'\n', 0];
    let odd: [&dyn Fn(&Limiter) -> tollgate::Decision; 5] = [
        &|l| l.check_n_at("", Class::WRITE, 20, T),
        &|l| l.check_n_at(huge.as_str(), Class::WRITE, 20, T),
        &|l| l.check_n_at(binary, Class::WRITE, 20, T),
        &|l| l.check_n_at("\u{0}\u{fffd}é", Class::WRITE, 20, T),
        &|l| l.check_n_at(&(42u64, "tenant"), Class::WRITE, 20, T),
    ];
    for (i, check) in odd.iter().enumerate() {
        let d = check(&l);
        assert_eq!(
            (d.outcome(), d.remaining()),
            (Outcome::Allowed, 0),
            "key {i}"
        );
        // Each is its own key: spent now, the others untouched.
        let again = check(&l);
        assert_eq!(again.outcome(), Outcome::Denied, "key {i}");
    }
    assert_eq!(l.tracked(), odd.len());
}

#[test]
fn keys_of_different_types_or_classes_do_not_share_state() {
    let l = limiter();
    assert!(l.check_n_at(&42u64, Class::WRITE, 20, T).is_allowed());
    assert!(l.check_n_at("42", Class::WRITE, 20, T).is_allowed());
    assert!(l.check_n_at(&42u32, Class::WRITE, 20, T).is_allowed());
    assert!(l.check_n_at(&42u64, Class::READ, 333, T).is_allowed());
    assert!(!l.check_at(&42u64, Class::WRITE, T).is_allowed());
    // &str and String hash alike, so they are one key.
    assert!(!l
        .check_at(&String::from("42"), Class::WRITE, T)
        .is_allowed());
}

#[test]
fn limiters_are_shared_across_threads() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<Limiter>();
    assert_send_sync::<Limiter<tollgate::ManualClock>>();
    let l = Arc::new(limiter());
    let admitted: usize = (0..4)
        .map(|t| {
            let l = Arc::clone(&l);
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| l.check_at(&t, Class::WRITE, T).is_allowed())
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(admitted, 40);
}

#[test]
fn seeds_are_per_limiter() {
    // Two limiters with random seeds place the same keys differently, so
    // the keys that fill one limiter's buckets do not fill the other's.
    let a = Limiter::builder(Policy::default())
        .capacity(64)
        .build()
        .unwrap();
    let b = Limiter::builder(Policy::default())
        .capacity(64)
        .build()
        .unwrap();
    let fill = |l: &Limiter| {
        (0..400u64)
            .filter(|k| l.check_at(k, Class::WRITE, T).outcome() == Outcome::Allowed)
            .collect::<Vec<_>>()
    };
    assert_ne!(fill(&a), fill(&b));
    // A fixed seed reproduces placement.
    let c = Limiter::builder(Policy::default())
        .capacity(64)
        .seed(99)
        .build()
        .unwrap();
    let d = Limiter::builder(Policy::default())
        .capacity(64)
        .seed(99)
        .build()
        .unwrap();
    assert_eq!(fill(&c), fill(&d));
}
