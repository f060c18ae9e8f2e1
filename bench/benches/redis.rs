//! The Redis-backed limiter under load, against a local `redis-server` of
//! its own (started on a free loopback port, persistence off): decisions
//! per second and latency (p50, p99) at 1, 16 and 64 concurrent tasks;
//! Redis commands and server CPU per decision (from `INFO commandstats`
//! and `INFO cpu`), and this program's CPU per decision (the client's,
//! from `/proc/self/task/*/schedstat`, on Linux); beside the anchor pattern of envoyproxy/ratelimit (a
//! pipelined `INCRBY` + `EXPIRE` per window, one round trip, which counts
//! denied requests too) and beside lease mode.
//!
//! ```text
//! cargo bench -p tollgate-bench --bench redis            # every row, 3 s each
//! cargo bench -p tollgate-bench --bench redis -- 10      # 10 s each
//! cargo bench -p tollgate-bench --bench redis -- 5 direct anchor 64
//! ```
//!
//! Words after the seconds pick rows: modes (`direct`, `anchor`, `lease`)
//! and task counts (`1`, `16`, `64`), each list all of its kind when it
//! names none; the over-admission phase runs only when no mode is named.
//! Criterion's options and their values (which `cargo bench --
//! --save-baseline NAME` hands every target) are ignored.
//!
//! Every task checks its own key of the write class of a policy whose
//! limits are never reached (so that every row measures admissions), and
//! then an over-admission phase runs lease mode and the direct mode on one
//! key with a small limit from 64 tasks, and counts what was admitted.
//! Client and server share the machine's cores: the figures are the
//! pair's, on loopback.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "a load program's counts, rates and percentiles"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tollgate::{Class, Policy};
use tollgate_redis::RedisLimiter;
use tollgate_test_support::redis::RedisServer;

/// Writes: limits no row reaches.
const WIDE: &str = r#"
[classes.read]
methods = ["GET"]
limit = 4000000000
window = "1m"
burst = { limit = 4000000000, window = "10s" }

[classes.write]
methods = ["POST"]
limit = 4000000000
window = "1m"
burst = { limit = 4000000000, window = "10s" }
"#;

/// Writes: 20,000 a minute and 5,000 per 10 seconds, for the
/// over-admission phase.
const NARROW: &str = r#"
[classes.read]
methods = ["GET"]
limit = 1000
window = "1m"

[classes.write]
methods = ["POST"]
limit = 20000
window = "1m"
burst = { limit = 5000, window = "10s" }
"#;

/// One row's figures.
struct Row {
    name: String,
    tasks: usize,
    decisions: u64,
    secs: f64,
    p50_us: f64,
    p99_us: f64,
    commands: f64,
    ran: f64,
    cpu_us: f64,
    client_us: Option<f64>,
}

/// What one way of deciding does for one check of `key`.
#[derive(Clone)]
enum Mode {
    Direct(RedisLimiter),
    Lease(RedisLimiter),
    Anchor(redis::aio::MultiplexedConnection),
}

impl Mode {
    async fn check(&mut self, key: &str) -> bool {
        match self {
            Self::Direct(l) | Self::Lease(l) => {
                let d = l.check(key, Class::WRITE).await;
                assert!(!d.is_degraded(), "a degraded decision: {d:?}");
                d.is_allowed()
            }
            Self::Anchor(c) => anchor(c, key).await,
        }
    }
}

/// envoyproxy/ratelimit's pattern: per window, `INCRBY` the window's
/// counter (named by the window's start) and `EXPIRE` it, pipelined in one
/// round trip; admitted if every counter is within its limit. Denied
/// requests are counted too.
async fn anchor(c: &mut redis::aio::MultiplexedConnection, key: &str) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut pipe = redis::pipe();
    for (len, _) in [(60u64, 0), (10, 1)] {
        let name = format!("anchor:{{{key}}}:{len}:{}", now / len * len);
        pipe.cmd("INCRBY")
            .arg(&name)
            .arg(1)
            .cmd("EXPIRE")
            .arg(&name)
            .arg(len)
            .ignore();
    }
    let counts: Vec<u64> = pipe.query_async(c).await.expect("the pipeline runs");
    counts.iter().all(|&n| n <= 4_000_000_000)
}

/// `INFO` section `section` as (field, value) pairs.
fn info(server: &RedisServer, section: &str) -> Vec<(String, String)> {
    server
        .cli(&["info", section])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Commands the clients sent (every command but the harness's own and
/// those a script ran), commands Redis ran (those a script ran included),
/// and the server's CPU seconds.
fn counters(server: &RedisServer) -> (u64, u64, f64) {
    // The script's own commands; the anchor pattern sends none of them.
    let inside = ["get", "set", "setrange", "time"];
    let mut sent = 0;
    let mut all = 0;
    for (k, v) in info(server, "commandstats") {
        let Some(name) = k.strip_prefix("cmdstat_") else {
            continue;
        };
        if name == "info" || name.starts_with("config") {
            continue;
        }
        let n: u64 = v
            .split("calls=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        all += n;
        if !inside.contains(&name) {
            sent += n;
        }
    }
    let cpu = info(server, "cpu")
        .iter()
        .filter(|(k, _)| k == "used_cpu_sys" || k == "used_cpu_user")
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum();
    (sent, all, cpu)
}

/// This process's CPU time so far, every thread's (Linux only).
fn client_cpu() -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

async fn row(server: &RedisServer, name: &str, mode: Mode, tasks: usize, run: Duration) -> Row {
    // Warm up: the connection, the script, each key.
    for t in 0..tasks {
        mode.clone().check(&format!("{name}_{t}")).await;
    }
    server.cli(&["config", "resetstat"]);
    let (sent0, ran0, cpu0) = counters(server);
    let client0 = client_cpu();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let mut mode = mode.clone();
            let key = format!("{name}_{t}");
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1 << 16);
                while start.elapsed() < run {
                    let t0 = Instant::now();
                    mode.check(&key).await;
                    latencies.push(t0.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await.expect("a task ends"));
    }
    let secs = start.elapsed().as_secs_f64();
    let client1 = client_cpu();
    let (sent1, ran1, cpu1) = counters(server);
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let decisions = latencies.len() as u64;
    Row {
        name: name.to_owned(),
        tasks,
        decisions,
        secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        commands: (sent1.saturating_sub(sent0)) as f64 / decisions.max(1) as f64,
        ran: (ran1.saturating_sub(ran0)) as f64 / decisions.max(1) as f64,
        cpu_us: (cpu1 - cpu0) * 1e6 / decisions.max(1) as f64,
        client_us: client0
            .zip(client1)
            .map(|(a, b)| b.saturating_sub(a).as_secs_f64() * 1e6 / decisions.max(1) as f64),
    }
}

async fn limiter(
    server: &RedisServer,
    policy: &str,
    prefix: &str,
    lease: Option<u32>,
) -> RedisLimiter {
    RedisLimiter::builder(Policy::from_toml_str(policy).expect("the policy parses"))
        .url(server.url())
        .prefix(prefix)
        // The load may queue checks: measure them, not the failure policy.
        .timeout(Duration::from_secs(10))
        .lease(lease)
        .build()
        .await
        .expect("the limiter connects")
}

/// 64 tasks check one key of the narrow policy until each has been denied
/// `denials` times in a row; what was admitted, against the 10-second
/// window's 5,000 (run at the start of a window so that it ends in it).
async fn over_admission(mode: Mode) -> u64 {
    let admitted = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let mut mode = mode.clone();
            let admitted = Arc::clone(&admitted);
            tokio::spawn(async move {
                let mut denied = 0;
                while denied < 3 {
                    if mode.check("narrow").await {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        denied = 0;
                    } else {
                        denied += 1;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.expect("a task ends");
    }
    admitted.load(Ordering::Relaxed)
}

/// Sleeps until just after the next 10-second boundary.
async fn next_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let into = Duration::from_millis((now.as_millis() % 10_000) as u64);
    tokio::time::sleep(Duration::from_secs(10) - into + Duration::from_millis(20)).await;
}

/// Criterion's options that take a value as the next word: `cargo bench`
/// hands every target the options given after `--`.
const CRITERION_VALUED: [&str; 16] = [
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
    "--color",
    "--profile-time",
    "--format",
];

/// The modes a row can run.
const MODES: [&str; 3] = ["direct", "anchor", "lease"];

/// The command line: seconds per row, then the modes and task counts to
/// run (all of each kind when none is named). `cargo bench` adds
/// `--bench`, which is skipped.
struct Args {
    secs: u64,
    modes: Vec<String>,
    tasks: Vec<usize>,
}

impl Args {
    fn parse() -> Self {
        let mut words = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if CRITERION_VALUED.contains(&arg.as_str()) {
                // Its value is criterion's, not a row's.
                args.next();
            } else if !arg.starts_with('-') {
                words.push(arg);
            }
        }
        let mut numbers = words.iter().filter_map(|w| w.parse::<u64>().ok());
        let secs = numbers.next().unwrap_or(3);
        let tasks: Vec<usize> = numbers.map(|n| n as usize).collect();
        let modes: Vec<String> = words
            .iter()
            .filter(|w| MODES.contains(&w.as_str()))
            .cloned()
            .collect();
        Self {
            secs,
            modes,
            tasks: if tasks.is_empty() {
                vec![1, 16, 64]
            } else {
                tasks
            },
        }
    }

    /// Whether the rows of `mode` run.
    fn runs(&self, mode: &str) -> bool {
        self.modes.is_empty() || self.modes.iter().any(|m| m == mode)
    }
}

fn main() {
    let args = Args::parse();
    let secs = args.secs;
    let Some(server) = RedisServer::start("redis bench") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let run = Duration::from_secs(secs);
        let direct = Mode::Direct(limiter(&server, WIDE, "d:", None).await);
        let lease = Mode::Lease(limiter(&server, WIDE, "l:", Some(1_000)).await);
        let client = redis::Client::open(server.url()).expect("a client");
        let anchor = Mode::Anchor(
            client
                .get_multiplexed_async_connection()
                .await
                .expect("a connection"),
        );
        let mut rows = Vec::new();
        for &tasks in &args.tasks {
            if args.runs("direct") {
                rows.push(row(&server, "direct", direct.clone(), tasks, run).await);
            }
            if args.runs("anchor") {
                rows.push(row(&server, "anchor", anchor.clone(), tasks, run).await);
            }
            if args.runs("lease") {
                rows.push(row(&server, "lease_1000", lease.clone(), tasks, run).await);
            }
        }
        println!("| mode | tasks | decisions/s | p50 µs | p99 µs | commands sent per decision | commands run per decision | Redis CPU µs per decision | client CPU µs per decision |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &rows {
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.2} | {} |",
                r.name,
                r.tasks,
                r.decisions as f64 / r.secs,
                r.p50_us,
                r.p99_us,
                r.commands,
                r.ran,
                r.cpu_us,
                r.client_us.map_or("n/a".to_owned(), |us| format!("{us:.2}")),
            );
        }
        if !args.modes.is_empty() {
            return;
        }
        next_window().await;
        let direct = Mode::Direct(limiter(&server, NARROW, "od:", None).await);
        let n = over_admission(direct).await;
        println!("\nover-admission, 64 tasks on one key, 5,000 per 10 s: direct admitted {n}");
        next_window().await;
        let lease = Mode::Lease(limiter(&server, NARROW, "ol:", Some(100)).await);
        let n = over_admission(lease).await;
        println!("over-admission, 64 tasks on one key, 5,000 per 10 s: lease (L = 100) admitted {n}");
    });
}
