//! A client that stays under the API's limits with tollgate-client's `Pacer`:
//! it pre-paces when `X-RateLimit-Remaining` runs low (waiting until
//! `X-RateLimit-Reset`), honours `Retry-After` on a 429, and, with several
//! workers sharing one key, adds a random jitter of up to 500 ms.
//!
//! ```text
//! cargo run --release -p tollgate-tower --example api_server &
//! cargo run --release -p tollgate-tower --example pacing_client -- --workers 4 --duration 30
//! ```
//!
//! Options: `--addr HOST:PORT` (default `127.0.0.1:8080`), `--key KEY`
//! (default `key_paced`), `--workers N` (default 4), `--duration SECS`
//! (default 30), `--reads` (call `GET /v1/companies` instead of
//! `POST /v1/companies`).

mod support;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use support::args::{self, ArgError, Args};
use support::client::{self, Call, Tally, CREATE};

struct Options {
    addr: String,
    key: String,
    workers: u64,
    duration: u64,
    call: Call,
}

const USAGE: &str =
    "usage: pacing_client [--addr HOST:PORT] [--key KEY] [--workers N] [--duration SECS] [--reads]";

fn options() -> Result<Options, ArgError> {
    let mut o = Options {
        addr: "127.0.0.1:8080".to_owned(),
        key: "key_paced".to_owned(),
        workers: 4,
        duration: 30,
        call: CREATE,
    };
    let mut args = Args::new();
    while let Some(arg) = args.next_flag() {
        match arg.as_str() {
            "--addr" => o.addr = args.value("--addr")?,
            "--key" => o.key = args.value("--key")?,
            "--workers" => o.workers = args.parsed("--workers")?,
            "--duration" => o.duration = args.parsed("--duration")?,
            "--reads" => {
                o.call = Call {
                    method: "GET",
                    path: "/v1/companies",
                }
            }
            other => return args::unknown(other),
        }
    }
    if o.workers == 0 {
        return Err(ArgError::Bad("--workers must be at least 1".to_owned()));
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match args::options_or_usage("pacing_client", USAGE, options) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let addr = match tokio::net::lookup_host(&o.addr).await.map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        _ => {
            eprintln!("pacing_client: cannot resolve {}", o.addr);
            return ExitCode::FAILURE;
        }
    };
    let Call { method, path } = o.call;
    println!(
        "pacing_client: {} worker(s) on key {:?}, {method} {path} at http://{addr} for {} s",
        o.workers, o.key, o.duration
    );
    let out = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let until = start
        .checked_add(Duration::from_secs(o.duration))
        .unwrap_or(start);
    client::paced_workers(addr, &o.key, o.call, o.workers, until, Arc::clone(&out)).await;
    let elapsed = start.elapsed();
    let t = out
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    println!(
        "requests {}, 2xx {}, 429 {}, other {}, transport errors {}",
        t.requests, t.success, t.limited, t.other, t.transport_errors
    );
    println!(
        "admitted {:.1}/min over {:.1} s; pre-pacing waits {}, Retry-After waits {}",
        client::per_minute(t.success, elapsed),
        elapsed.as_secs_f64(),
        t.low_remaining_waits,
        t.retry_after_waits
    );
    if let Some(sample) = &t.sample_success {
        println!("\nfirst admitted response:\n{sample}");
    }
    for line in &t.limited_log {
        println!("{line}");
    }
    if t.transport_errors > 0 && t.requests == 0 {
        eprintln!("pacing_client: no request went through; is the server at {addr}?");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
