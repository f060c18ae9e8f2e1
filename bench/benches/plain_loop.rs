//! A plain loop, no harness: tollgate as users build it beside governor
//! keyed, in alternating rounds in one process, with the medians of the
//! rounds and their ratio.
//!
//! Each round times M checks of tollgate (`check`, the default clock, the
//! reference policy's shape with limits no run reaches:
//! `tollgate_bench::Renewing`) and M checks of governor keyed (its
//! default clock, a quota as open as governor allows), both over the same
//! N `u64` keys in the same pseudo-random order (`visiting_order`), every
//! key tracked before the first round. The two take turns going first,
//! round by round, so that a drift in the machine's speed hits both alike.
//!
//! ```text
//! cargo bench -p tollgate-bench --bench plain_loop            # the default sweep
//! cargo bench -p tollgate-bench --bench plain_loop -- --keys 1000000 --capacity keys
//! cargo bench -p tollgate-bench --bench plain_loop -- --capacity 1053 --check-at
//! ```
//!
//! Options (lists are comma-separated; every key count runs with every
//! capacity):
//!
//! - `--keys N,..`: key counts (default 1000).
//! - `--capacity C,..`: tollgate's capacities (tracked states), each a
//!   number, `keys` (as many as keys) or `default` (`DEFAULT_CAPACITY`).
//!   Default: `keys,1053,2000,10000,default`, which for 1,000 keys are
//!   the load factors of the headline rows (100%, 95%, 50%, 10%, 1%).
//! - `--rounds R` (default 7), `--checks M` per round and crate (default
//!   2000000).
//! - `--check-at`: tollgate's `check_at` with a time read once per round,
//!   no clock read per check (governor keeps its clock).
//!
//! Run by `cargo bench` (which passes `--bench`) with none of these, it
//! runs the defaults (five capacities, some seconds); run with no argument at all (as
//! `cargo test --benches` does) it runs one short round as a smoke test.
//! Other arguments that `cargo bench` hands every target (criterion's
//! options, a filter) are ignored, and a filter that does not match
//! `plain_loop` skips the program.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use governor::{Quota, RateLimiter};
use tollgate::{Class, Clock, Limiter};
use tollgate_bench::{consume, u64_keys, visiting_order, Cycle, Renewing, OPEN_MINUTE_LIMIT};

/// The visiting order's seed: the keyed rows'.
const SEED: u64 = 0xB0_0C4E;

/// What the program runs.
struct Settings {
    keys: Vec<usize>,
    capacities: Vec<Capacity>,
    rounds: usize,
    checks: u64,
    check_at: bool,
}

#[derive(Clone, Copy)]
enum Capacity {
    Keys,
    Default,
    States(usize),
}

impl Capacity {
    fn of(self, keys: usize) -> usize {
        match self {
            Self::Keys => keys,
            Self::Default => Limiter::DEFAULT_CAPACITY,
            Self::States(n) => n,
        }
    }
}

/// Criterion's options that take a value, which `cargo bench -- ..` also
/// hands this program.
const CRITERION_VALUED: &[&str] = &[
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--measurement-time",
    "--warm-up-time",
    "--sample-size",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--profile-time",
    "--plotting-backend",
    "--output-format",
    "--format",
    "--color",
    "-c",
];

/// The settings the arguments ask for; `Ok(None)` to skip the program.
fn settings() -> Result<Option<Settings>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut s = Settings {
        keys: vec![1_000],
        capacities: vec![
            Capacity::Keys,
            Capacity::States(1_053),
            Capacity::States(2_000),
            Capacity::States(10_000),
            Capacity::Default,
        ],
        rounds: 7,
        checks: 2_000_000,
        check_at: false,
    };
    if args.is_empty() {
        // `cargo test --benches`: one short round.
        s.capacities = vec![Capacity::Default];
        s.rounds = 1;
        s.checks = 10_000;
        return Ok(Some(s));
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--keys" => s.keys = list(&value()?, |v| v.parse().map_err(|e| format!("{e}")))?,
            "--capacity" => {
                s.capacities = list(&value()?, |v| match v {
                    "keys" => Ok(Capacity::Keys),
                    "default" => Ok(Capacity::Default),
                    n => n.parse().map(Capacity::States).map_err(|e| format!("{e}")),
                })?;
            }
            "--rounds" => s.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--checks" => s.checks = value()?.parse().map_err(|e| format!("--checks: {e}"))?,
            "--check-at" => s.check_at = true,
            "-h" | "--help" => return Err(String::new()),
            flag if CRITERION_VALUED.contains(&flag) => {
                value()?;
            }
            flag if flag.starts_with('-') => {}
            filter => {
                if !"plain_loop".contains(filter) && !filter.contains("plain_loop") {
                    return Ok(None);
                }
            }
        }
    }
    if s.rounds == 0 || s.checks == 0 || s.keys.contains(&0) {
        return Err("rounds, checks and key counts must be positive".to_owned());
    }
    Ok(Some(s))
}

/// `text` split at commas, each part parsed.
fn list<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    text.split(',').map(|v| parse(v.trim())).collect()
}

/// This machine: the processor's model name (with its family and model
/// numbers, since a virtual machine may name only the brand) and the CPU
/// count, from `/proc/cpuinfo`.
fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let model = field("model name").unwrap_or_else(|| "unknown processor".to_owned());
    let numbers = match (field("cpu family"), field("model")) {
        (Some(f), Some(m)) => format!(" (family {f}, model {m})"),
        _ => String::new(),
    };
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    format!("{model}{numbers}, {cpus} CPUs")
}

/// The load average, from `/proc/loadavg`.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Nanoseconds per check.
fn per_check(time: Duration, checks: u64) -> f64 {
    time.as_secs_f64() * 1e9 / checks as f64
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid.saturating_sub(1)] + sorted[mid]) / 2.0
    }
}

/// One configuration's medians (tollgate, governor), after printing its
/// rounds.
fn run(s: &Settings, n: usize, capacity: usize) -> (f64, f64) {
    let keys = u64_keys(n);
    let order = visiting_order(&keys, SEED);
    let mut tollgate = Renewing::new(capacity, keys.clone());
    let governor =
        RateLimiter::keyed(Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX));
    for k in &keys {
        assert!(governor.check_key(k).is_ok(), "setup: governor admits");
    }
    drop(keys);
    let check_at = s.check_at;
    let mut time_tollgate = || {
        let time = tollgate.timed(s.checks, order.len(), |limiter, m| {
            let mut keys = Cycle::new(&order);
            if check_at {
                let now = limiter.clock().now();
                let start = Instant::now();
                for _ in 0..m {
                    consume(limiter.check_at(black_box(keys.next()), Class::READ, black_box(now)));
                }
                start.elapsed()
            } else {
                let start = Instant::now();
                for _ in 0..m {
                    consume(limiter.check(black_box(keys.next()), Class::READ));
                }
                start.elapsed()
            }
        });
        per_check(time, s.checks)
    };
    let time_governor = || {
        let mut keys = Cycle::new(&order);
        let start = Instant::now();
        for _ in 0..s.checks {
            consume(governor.check_key(black_box(keys.next())));
        }
        per_check(start.elapsed(), s.checks)
    };
    let load_factor = n as f64 * 100.0 / capacity as f64;
    println!(
        "\n{n} keys, capacity {capacity} ({load_factor:.0}% full), {} rounds of {} checks each",
        s.rounds, s.checks
    );
    println!("| round | first | tollgate ns/check | governor ns/check | governor ÷ tollgate |");
    println!("|---:|---|---:|---:|---:|");
    let (mut t, mut g) = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        let tollgate_first = round % 2 == 0;
        let (tn, gn) = if tollgate_first {
            let tn = time_tollgate();
            (tn, time_governor())
        } else {
            let gn = time_governor();
            (time_tollgate(), gn)
        };
        let first = if tollgate_first {
            "tollgate"
        } else {
            "governor"
        };
        println!(
            "| {} | {first} | {tn:.1} | {gn:.1} | {:.2} |",
            round.saturating_add(1),
            gn / tn
        );
        t.push(tn);
        g.push(gn);
    }
    let (tm, gm) = (median(&t), median(&g));
    println!("| median | | {tm:.1} | {gm:.1} | {:.2} |", gm / tm);
    tollgate.still_admitting(&order[0]);
    if tollgate.renewals() > 0 {
        println!(
            "(tollgate's limiter renewed {} times between timed stretches)",
            tollgate.renewals()
        );
    }
    (tm, gm)
}

fn main() -> ExitCode {
    let s = match settings() {
        Ok(Some(s)) => s,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("plain_loop: {e}");
            }
            eprintln!("usage: plain_loop [--keys N,..] [--capacity C|keys|default,..] [--rounds R] [--checks M] [--check-at]");
            return ExitCode::from(2);
        }
    };
    let mode = if s.check_at {
        "check_at (time read once per round)"
    } else {
        "check (default clock)"
    };
    println!("plain_loop: tollgate and governor keyed in alternating rounds, one process");
    println!("machine: {}; load average before: {}", machine(), load());
    println!(
        "tollgate: {mode}, Class::READ of the reference shape, {OPEN_MINUTE_LIMIT}/min and a 10 s burst at 2x; \
         governor: check_key, Quota::per_second(u32::MAX).allow_burst(u32::MAX); u64 keys, seed {SEED:#x}"
    );
    let mut summary = Vec::new();
    for &n in &s.keys {
        for &c in &s.capacities {
            let capacity = c.of(n);
            let (t, g) = run(&s, n, capacity);
            summary.push((n, capacity, t, g));
        }
    }
    println!("\nmedians (load average after: {})", load());
    println!(
        "| keys | capacity | full | tollgate ns/check | governor ns/check | governor ÷ tollgate |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (n, capacity, t, g) in summary {
        println!(
            "| {n} | {capacity} | {:.0}% | {t:.1} | {g:.1} | {:.2} |",
            n as f64 * 100.0 / capacity as f64,
            g / t
        );
    }
    ExitCode::SUCCESS
}
