//! The end-to-end demo, in one command:
//!
//! ```text
//! cargo run --release -p tollgate-tower --example demo
//! ```
//!
//! It serves the example API (reference policy: writes 60 a minute and 20
//! in any 10-second window, per key) on an ephemeral loopback port, and
//! runs two clients against it side by side, each with its own key, both
//! creating companies (`POST /v1/companies`):
//!
//! - a naive client that fires as fast as one connection allows and
//!   ignores every rate-limit field;
//! - the pacing client: four workers sharing one key and one
//!   `tollgate_client::Pacer`, pre-pacing on `X-RateLimit-Remaining`, honouring
//!   `Retry-After`, with jitter.
//!
//! The run lasts 20 to 30 seconds and ends in the middle of a 10-second
//! window; it starts at once, or at the next window when the current one
//! has 2 seconds or less left, so that every window it touches is open
//! long enough to be used. The allowed figure is what the policy admits to a fresh key over
//! exactly this span, computed with the same policy on a limiter of its
//! own (fixed windows: a window the run only partly covers still allows
//! its full burst). The demo exits non-zero if the pacing client achieves
//! less than 90% of it.

mod support;

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tollgate::{Class, Clock, CoarseClock, Limiter, Policy};
use tollgate_tower::TollgateLayer;

use support::app;
use support::client::{self, Tally, CLOCK_ALLOWANCE, CREATE};
use support::span::{allowed, clock_time};

const NAIVE_KEY: &str = "key_naive";
const PACED_KEY: &str = "key_paced";
const WORKERS: u64 = 4;
/// The run lasts at least this long, then to the middle of a window.
const MIN_RUN_SECS: u64 = 15;
/// A run does not start in a window with this little time left.
const MIN_WINDOW_LEFT_SECS: u64 = 2;
/// The share of the allowed writes the pacing client must achieve.
const TARGET: f64 = 0.9;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let policy = Policy::default();
    let write = Class::WRITE;
    let windows = policy
        .class_policy(write)
        .map(|c| c.windows().to_vec())
        .ok_or("the policy has no write class")?;
    let shortest = windows.last().map_or(1, |w| w.length().as_secs());
    let limiter = Limiter::builder(policy.clone()).build()?;
    let addr = app::spawn(app::app(
        TollgateLayer::builder(Arc::new(limiter))
            .inner_body()
            .build(),
    ))
    .await?;

    // A window about to end would count its whole allowance while leaving
    // a client no time to use it: start in the next one instead.
    let now = CoarseClock.now();
    let into = now.as_secs().checked_rem(shortest).unwrap_or(0);
    let left = shortest.saturating_sub(into);
    if left <= MIN_WINDOW_LEFT_SECS {
        let boundary = Duration::from_secs(now.as_secs().saturating_add(left));
        let wait = boundary.saturating_sub(now).saturating_add(CLOCK_ALLOWANCE);
        println!(
            "(Waiting {:.1} s for the next window to begin.)",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }

    // The span, on the server's clock: from now to the middle of the
    // shortest window that is open MIN_RUN_SECS from now.
    let start = CoarseClock.now();
    let start_secs = start.as_secs();
    let end_secs = start_secs
        .saturating_add(MIN_RUN_SECS)
        .div_ceil(shortest)
        .saturating_mul(shortest)
        .saturating_add(shortest / 2);
    let run = Duration::from_secs(end_secs).saturating_sub(start);
    let began = Instant::now();
    let until = began.checked_add(run).unwrap_or(began);

    let limits: Vec<String> = windows
        .iter()
        .map(|w| format!("{} per {}", w.limit(), w.length()))
        .collect();
    println!(
        "tollgate demo: the example API at http://{addr}, writes limited to {} per key.",
        limits.join(" and ")
    );
    println!(
        "Running {:.1} s, until {} UTC: a naive client (key {NAIVE_KEY:?}, one connection, no pacing)",
        run.as_secs_f64(),
        clock_time(end_secs)
    );
    println!("and the pacing client (key {PACED_KEY:?}, {WORKERS} workers sharing one tollgate_client::Pacer), both POST /v1/companies.\n");

    let naive = Arc::new(Mutex::new(Tally::default()));
    let paced = Arc::new(Mutex::new(Tally::default()));
    let naive_task = tokio::spawn(client::naive(
        addr,
        NAIVE_KEY,
        CREATE,
        until,
        Arc::clone(&naive),
    ));
    let paced_task = tokio::spawn(client::paced_workers(
        addr,
        PACED_KEY,
        CREATE,
        WORKERS,
        until,
        Arc::clone(&paced),
    ));
    progress(began, until, &naive, &paced).await;
    naive_task.await?;
    paced_task.await?;
    let elapsed = began.elapsed();

    let allowed = allowed(&policy, write, start_secs, end_secs);
    let naive = naive.lock().unwrap_or_else(PoisonError::into_inner);
    let paced = paced.lock().unwrap_or_else(PoisonError::into_inner);
    let per_min = |n| client::per_minute(n, elapsed);

    println!("\n== Summary over {:.1} s ==\n", elapsed.as_secs_f64());
    println!(
        "{:<34} {:>9} {:>7} {:>9} {:>7} {:>13}",
        "client", "requests", "2xx", "429", "other", "2xx per min"
    );
    for (name, t) in [
        ("naive  (1 connection, no pacing)", &*naive),
        ("pacing (4 workers, shared Pacer)", &*paced),
    ] {
        println!(
            "{:<34} {:>9} {:>7} {:>9} {:>7} {:>13.1}",
            name,
            t.requests,
            t.success,
            t.limited,
            t.other.saturating_add(t.transport_errors),
            per_min(t.success)
        );
    }
    println!(
        "{:<34} {:>9} {:>7} {:>9} {:>7} {:>13.1}",
        "allowed by the policy in this span",
        "",
        allowed,
        "",
        "",
        per_min(allowed)
    );
    println!(
        "\nThe policy admits {allowed} writes to a fresh key between {} and {} UTC: {} in each {}-second window the run touches, at most {} per minute.",
        clock_time(start_secs),
        clock_time(end_secs),
        windows.last().map_or(0, |w| w.limit()),
        shortest,
        windows.first().map_or(0, |w| w.limit()),
    );
    println!(
        "(Over a whole minute that is {} writes; over a shorter span the {}-second bursts allow a higher rate, and the fair yardstick is the allowance of the windows the span touches.)",
        windows.first().map_or(0, |w| w.limit()),
        shortest,
    );
    let share = if allowed > 0 {
        paced.success as f64 / allowed as f64
    } else {
        0.0
    };
    println!(
        "Pacing client: {} of {allowed} allowed writes ({:.1}%), {} refused with 429; {} pre-pacing waits, {} Retry-After waits.",
        paced.success,
        share * 100.0,
        paced.limited,
        paced.low_remaining_waits,
        paced.retry_after_waits
    );
    let wasted = if naive.requests > 0 {
        naive.limited as f64 * 100.0 / naive.requests as f64
    } else {
        0.0
    };
    println!(
        "Naive client: {} admitted, {} refused with 429 ({wasted:.3}% of its calls wasted).",
        naive.success, naive.limited
    );
    if paced.limited > 0 {
        println!("\nThe pacing client's 429s (a call landed before the server's window turned over; each was retried after Retry-After):");
        for line in &paced.limited_log {
            println!("  {line}");
        }
    }
    if let Some(sample) = &paced.sample_success {
        println!("\n-- An admitted response of the pacing client --\n{sample}");
    }
    if let Some(sample) = &naive.sample_limited {
        println!("-- A 429 the naive client got --\n{sample}");
    }
    let met = share >= TARGET;
    println!(
        "Target: the pacing client achieves at least {:.0}% of the allowed write rate: {}.",
        TARGET * 100.0,
        if met { "met" } else { "NOT met" }
    );
    Ok(met)
}

/// Prints the clients' counts every 5 seconds until `until`.
async fn progress(began: Instant, until: Instant, naive: &client::Shared, paced: &client::Shared) {
    let mut tick = began;
    loop {
        tick = tick.checked_add(Duration::from_secs(5)).unwrap_or(until);
        if tick >= until {
            tokio::time::sleep_until(until).await;
            return;
        }
        tokio::time::sleep_until(tick).await;
        let counts = |t: &client::Shared| {
            let t = t.lock().unwrap_or_else(PoisonError::into_inner);
            (t.requests, t.success, t.limited)
        };
        let (n, p) = (counts(naive), counts(paced));
        println!(
            "  t={:>4.1}s  naive: {:>7} requests, {:>3} 2xx, {:>7} 429 | pacing: {:>3} requests, {:>3} 2xx, {} 429",
            tick.duration_since(began).as_secs_f64(),
            n.0,
            n.1,
            n.2,
            p.0,
            p.1,
            p.2
        );
    }
}
