//! The fleet demo, in one command:
//!
//! ```text
//! cargo run --release -p tollgate-tower --example fleet_demo
//! ```
//!
//! It starts a `redis-server` of its own on a free loopback port (when
//! one is installed; otherwise it says so and exits), two example API
//! servers sharing it (this program run twice more, each serving the
//! example API behind a `tollgate_redis::RedisLimiter` on the reference
//! policy: writes 60 a minute and 20 in any 10 seconds, per key), and two
//! clients that spread their writes over both servers:
//!
//! - a naive client (key `key_naive`): one connection to each server,
//!   each firing as fast as it can;
//! - the pacing client (key `key_paced`): two workers on each server,
//!   pre-pacing on `X-RateLimit-Remaining` and honouring `Retry-After`.
//!
//! Each key's writes, summed over both servers, must stay within what
//! the policy allows one key over the span: the limit held across the
//! fleet (two servers with limiters of their own would have admitted up
//! to twice as much). The demo exits non-zero if a key went over, or if
//! the naive client got less than 90% of its allowance.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "a demo's sums of today's seconds and of small counts"
)]

mod support;

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tollgate::{Class, Clock, CoarseClock, Policy};
use tollgate_test_support::redis::RedisServer;

use support::client::{self, Tally, CLOCK_ALLOWANCE, CREATE};
use support::fleet::{self, Server};
use support::span::{allowed, clock_time};

const NAIVE_KEY: &str = "key_naive";
const PACED_KEY: &str = "key_paced";
/// The run lasts at least this long, then to the middle of a window.
const MIN_RUN_SECS: u64 = 10;
/// A run does not start in a window with this little time left.
const MIN_WINDOW_LEFT_SECS: u64 = 2;
/// The share of its allowance the naive client must get.
const TARGET: f64 = 0.9;

#[tokio::main]
async fn main() -> ExitCode {
    fleet::serve_if_asked().await;
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("fleet_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let Some(redis) = RedisServer::start("fleet_demo") else {
        println!("fleet_demo: no redis-server here; install one (apt-get install redis-server) to run the fleet demo.");
        return Ok(true);
    };
    let a = Server::start(&redis.url(), "demo:", &[])?;
    let b = Server::start(&redis.url(), "demo:", &[])?;
    let servers = [a.addr, b.addr];

    let policy = Policy::default();
    let write = Class::WRITE;
    let shortest = 10;
    let now = CoarseClock.now();
    let into = now.as_secs() % shortest;
    if shortest - into <= MIN_WINDOW_LEFT_SECS {
        let wait = Duration::from_secs(now.as_secs() + shortest - into).saturating_sub(now)
            + CLOCK_ALLOWANCE;
        tokio::time::sleep(wait).await;
    }
    let start = CoarseClock.now();
    let start_secs = start.as_secs();
    let end_secs = (start_secs + MIN_RUN_SECS).div_ceil(shortest) * shortest + shortest / 2;
    let span = Duration::from_secs(end_secs).saturating_sub(start);
    let began = Instant::now();
    let until = began + span;

    println!(
        "tollgate fleet demo: Redis at {}, API servers at http://{} and http://{}, sharing every key's windows.",
        redis.url(),
        servers[0],
        servers[1]
    );
    println!(
        "Writes are limited to 60 per minute and 20 per 10 seconds per key, across the fleet. Running {:.1} s, until {} UTC.\n",
        span.as_secs_f64(),
        clock_time(end_secs)
    );

    let naive = Arc::new(Mutex::new(Tally::default()));
    let paced = Arc::new(Mutex::new(Tally::default()));
    let mut tasks = Vec::new();
    for &addr in &servers {
        tasks.push(tokio::spawn(client::naive(
            addr,
            NAIVE_KEY,
            CREATE,
            until,
            Arc::clone(&naive),
        )));
        tasks.push(tokio::spawn(client::paced_workers(
            addr,
            PACED_KEY,
            CREATE,
            2,
            until,
            Arc::clone(&paced),
        )));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = began.elapsed();
    let allowed = allowed(&policy, write, start_secs, end_secs);
    let naive = naive.lock().unwrap_or_else(PoisonError::into_inner);
    let paced = paced.lock().unwrap_or_else(PoisonError::into_inner);

    println!(
        "== Over {:.1} s, both servers together ==\n",
        elapsed.as_secs_f64()
    );
    println!(
        "{:<40} {:>9} {:>7} {:>9} {:>7}",
        "client", "requests", "2xx", "429", "other"
    );
    for (name, t) in [
        ("naive  (one connection per server)", &*naive),
        ("pacing (two workers per server)", &*paced),
    ] {
        println!(
            "{:<40} {:>9} {:>7} {:>9} {:>7}",
            name,
            t.requests,
            t.success,
            t.limited,
            t.other + t.transport_errors
        );
    }
    println!(
        "{:<40} {:>9} {:>7}",
        "allowed to one key in this span", "", allowed
    );
    let held = naive.success <= allowed && paced.success <= allowed;
    let share = naive.success as f64 / allowed.max(1) as f64;
    println!(
        "\nThe policy allows one key {allowed} writes between {} and {} UTC; two servers counting on their own would have allowed {}.",
        clock_time(start_secs),
        clock_time(end_secs),
        2 * allowed
    );
    println!(
        "key_naive: {} admitted across the fleet ({:.0}% of its allowance); key_paced: {} admitted, {} refused with 429.",
        naive.success,
        share * 100.0,
        paced.success,
        paced.limited
    );
    if let Some(sample) = &naive.sample_limited {
        println!("\n-- A 429 the naive client got --\n{sample}");
    }
    if held {
        println!("The limit held across the fleet: no key got more than one key's allowance.");
    } else {
        println!("The limit did NOT hold across the fleet.");
    }
    Ok(held && share >= TARGET)
}
