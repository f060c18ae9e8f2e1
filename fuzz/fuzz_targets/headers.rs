//! Header fields from the outside world: the pacer's parsing of any bytes
//! never panics and never waits past its cap plus jitter; and the fields
//! the limiter renders for any decision parse back to the same figures.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tollgate::{Class, Limiter, Policy};
use tollgate_client::{Pacer, RateLimitInfo};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    fields: Vec<(&'a [u8], &'a [u8])>,
    status: u16,
    now_secs: u64,
    now_nanos: u32,
    random: u64,
    shared: bool,
    cost: u32,
    check_secs: u64,
}

fuzz_target!(|input: Input<'_>| {
    // Parsing: any names and values, in any order and repetition.
    let mut info = RateLimitInfo::new();
    for (name, value) in input.fields.iter().take(16) {
        info.record(name, value);
    }
    let max_wait = Duration::from_secs(3_600);
    let jitter = Duration::from_millis(500);
    let pacer = Pacer::builder()
        .shared_key(input.shared)
        .max_wait(max_wait)
        .jitter(jitter)
        .build();
    let now = Duration::new(input.now_secs, input.now_nanos % 1_000_000_000);
    let pace = pacer.pace_with(input.status, &info, now, input.random);
    assert!(pace.wait() <= max_wait + jitter, "{pace:?}");
    assert!(pace.base() <= max_wait, "{pace:?}");
    if !input.shared {
        assert_eq!(pace.jitter(), Duration::ZERO);
    }

    // Rendering: whatever the decision, its fields read back exactly.
    let limiter = Limiter::builder(Policy::default())
        .capacity(16)
        .seed(1)
        .build()
        .unwrap();
    let at = Duration::from_secs(input.check_secs);
    let _ = limiter.check_n_at("k", Class::WRITE, 20, at);
    let d = limiter.check_n_at("k", Class::WRITE, input.cost, at);
    let mut back = RateLimitInfo::new();
    for field in &d.headers() {
        assert!(back.record(field.name, field.value.as_bytes()), "{field:?}");
        assert!(field.value.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    assert_eq!(back.limit(), Some(u64::from(d.limit())));
    assert_eq!(back.remaining(), Some(u64::from(d.remaining())));
    assert_eq!(back.reset(), Some(d.reset()));
    assert_eq!(
        back.retry_after().and_then(|r| r.delay_secs()),
        d.retry_after()
    );
    if let Some(body) = d.error_body("req_fuzz") {
        let json = body.to_json();
        assert!(json.starts_with("{\"error\":{\"code\":"), "{json}");
    }
});
