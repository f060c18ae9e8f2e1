//! The worked example of `docs/behaviour.md` ("What a check decides"),
//! decision by decision: the write class of
//! the reference policy (60 a minute, 20 per 10 seconds) on one key, from
//! a minute boundary T.
//!
//! Run with `cargo run --example worked_example`.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "small offsets from a fixed time"
)]

use std::time::Duration;

use tollgate::{Class, Decision, Limiter, ManualClock, Policy};

/// A minute boundary: 2025-05-06T00:00:00Z.
const T: u64 = 1_746_489_600;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(Duration::from_secs(T));
    let limiter = Limiter::builder(Policy::default())
        .clock(clock.clone())
        .capacity(1_000)
        .build()?;

    println!("tollgate: the worked example (write class: 60 per minute, 20 per 10 s)");
    println!("T = {T} (a minute boundary)\n");
    println!(
        "{:>6}  {:>3}  {:<8} {:>5} {:>9} {:>10} {:>11}",
        "time", "n", "outcome", "limit", "remaining", "reset", "retry-after"
    );

    let mut n = 0;
    let mut last_denial = None;
    for offset in [0u64, 10, 20, 30] {
        clock.set(Duration::from_secs(T + offset));
        // Fire until denied, as a client that ignores the headers would.
        loop {
            n += 1;
            let d = limiter.check("key_1", Class::WRITE);
            print_row(offset, n, &d);
            if !d.is_allowed() {
                last_denial = Some((offset, d));
                break;
            }
        }
        if offset == 0 {
            if let Some((_, d)) = &last_denial {
                show_response(d, "req_0001");
            }
        }
    }
    if let Some((offset, d)) = last_denial {
        println!("\nat T+{offset} the minute's 60 are spent:");
        show_response(&d, "req_0002");
    }
    clock.set(Duration::from_secs(T + 60));
    let d = limiter.check("key_1", Class::WRITE);
    println!("\nat T+60 a new minute opens:");
    print_row(60, n + 1, &d);
    Ok(())
}

fn print_row(offset: u64, n: u32, d: &Decision) {
    let retry = d
        .retry_after()
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    println!(
        "{:>6}  {n:>3}  {:<8} {:>5} {:>9} {:>10} {:>11}",
        format!("T+{offset}"),
        format!("{:?}", d.outcome()),
        d.limit(),
        d.remaining(),
        format!("T+{}", d.reset().saturating_sub(T)),
        retry,
    );
}

/// Prints the response a server sends for a denial: status, headers, body.
fn show_response(d: &Decision, request_id: &str) {
    println!("\n  HTTP/1.1 429 Too Many Requests");
    for field in &d.headers() {
        println!("  {}: {}", field.name, field.value);
    }
    println!("  Content-Type: application/json\n");
    if let Some(body) = d.error_body(request_id) {
        println!("  {}\n", body.to_json());
    }
}
