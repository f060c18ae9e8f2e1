//! What a server sends: header fields and the 429 body, byte for
//! byte, from decisions.

use std::time::Duration;

use tollgate::headers::{
    policy_field, RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER, X_RATELIMIT_LIMIT,
    X_RATELIMIT_REMAINING, X_RATELIMIT_RESET,
};
use tollgate::{Class, Limiter, ManualClock, Outcome, Policy, Window, WindowLength};

const T: u64 = 1_746_489_600;

fn limiter() -> Limiter<ManualClock> {
    Limiter::builder(Policy::default())
        .clock(ManualClock::new(Duration::from_secs(T)))
        .capacity(100)
        .seed(2)
        .build()
        .unwrap()
}

fn pairs(d: &tollgate::Decision) -> Vec<(String, String)> {
    d.headers()
        .iter()
        .map(|f| (f.name.to_owned(), f.value.as_str().to_owned()))
        .collect()
}

#[test]
fn an_admitted_request_carries_three_fields() {
    let l = limiter();
    let d = l.check("key_1", Class::WRITE);
    let want = [
        (X_RATELIMIT_LIMIT, "60"),
        (X_RATELIMIT_REMAINING, "19"),
        (X_RATELIMIT_RESET, "1746489610"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(pairs(&d), want);
    assert_eq!(d.headers().get("x-ratelimit-remaining"), Some("19"));
    assert_eq!(d.headers().get(RETRY_AFTER), None);
    assert!(d.error_body("req_1").is_none());
}

#[test]
fn a_denial_adds_retry_after_and_the_exact_body() {
    let l = limiter();
    for _ in 0..20 {
        l.check("key_1", Class::WRITE);
    }
    let d = l.check("key_1", Class::WRITE);
    assert_eq!(d.outcome(), Outcome::Denied);
    let headers = d.headers();
    let names: Vec<&str> = headers.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After"
        ]
    );
    let lower: Vec<&str> = headers.iter().map(|f| f.lowercase_name()).collect();
    assert_eq!(
        lower,
        [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after"
        ]
    );
    assert_eq!(headers.get("Retry-After"), Some("10"));
    assert_eq!(headers.get("X-RateLimit-Remaining"), Some("0"));

    let body = d.error_body("req_8f14e45f").unwrap();
    assert_eq!(
        body.to_json(),
        r#"{"error":{"code":"rate_limited","message":"Rate limit exceeded.","details":{"limit":20,"window":"10s"},"request_id":"req_8f14e45f"}}"#
    );
    let mut out = Vec::new();
    body.write_json(&mut out).unwrap();
    assert_eq!(out, body.to_json().as_bytes());
    assert_eq!(
        (body.code(), body.details().limit(), body.request_id()),
        ("rate_limited", 20, "req_8f14e45f")
    );

    // Spend the minute: the details name it.
    for s in [10, 20] {
        l.clock().set(Duration::from_secs(T + s));
        assert!(l.check_n("key_1", Class::WRITE, 20).is_allowed());
    }
    let d = l.check("key_1", Class::WRITE);
    assert_eq!(d.headers().get("Retry-After"), Some("40"));
    assert_eq!(
        d.error_body("req_...").unwrap().to_json(),
        r#"{"error":{"code":"rate_limited","message":"Rate limit exceeded.","details":{"limit":60,"window":"1m"},"request_id":"req_..."}}"#
    );
}

#[test]
fn request_ids_are_escaped_not_trusted() {
    let l = limiter();
    let d = l.check_n("k", Class::WRITE, 21);
    assert_eq!(d.outcome(), Outcome::CostTooLarge);
    let body = d.error_body("a\"b\\c\u{1}").unwrap();
    let json = body.to_json();
    assert_eq!(
        json,
        r#"{"error":{"code":"cost_exceeds_limit","message":"Request cost exceeds the rate limit.","details":{"limit":20,"window":"10s"},"request_id":"a\"b\\c\u0001"}}"#
    );
    // A cost that can never pass has no Retry-After.
    assert_eq!(d.headers().get("Retry-After"), None);
}

#[test]
fn window_lengths_render_in_human_units() {
    for (secs, text) in [
        (10, "10s"),
        (60, "1m"),
        (3_600, "1h"),
        (86_400, "1d"),
        (90, "90s"),
    ] {
        let w = Window::new(1, WindowLength::from_secs(secs).unwrap());
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            format!(r#"{{"limit":1,"window":"{text}"}}"#)
        );
    }
}

#[test]
fn ietf_fields_name_the_binding_window() {
    let l = limiter();
    let d = l.check("k", Class::WRITE);
    let f = d.ietf_headers("write").unwrap();
    assert_eq!(
        (f.name, f.value.as_str()),
        (RATELIMIT, r#""write-10s";r=19;t=10"#)
    );
    assert_eq!(f.lowercase_name(), "ratelimit");
    let p = l.policy_field("k", Class::WRITE).unwrap();
    assert_eq!(
        (p.name, p.value.as_str()),
        (
            RATELIMIT_POLICY,
            r#""write-1m";q=60;w=60, "write-10s";q=20;w=10"#
        )
    );
    // With an override, the key's own limits.
    l.set_override("vip", Class::WRITE, 600).unwrap();
    assert_eq!(
        l.policy_field("vip", Class::WRITE).unwrap().value.as_str(),
        r#""write-1m";q=600;w=60, "write-10s";q=200;w=10"#
    );
    // The largest figures fit the inline buffers.
    let w = Window::new(
        u32::MAX,
        WindowLength::from_secs(WindowLength::MAX_SECS).unwrap(),
    );
    let name = "c".repeat(32);
    let big = policy_field(&name, &[w; 4]).unwrap();
    assert_eq!(big.value.as_str().matches("q=4294967295").count(), 4);
}
