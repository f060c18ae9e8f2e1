//! An example API server behind the rate-limit layer.
//!
//! ```text
//! cargo run --release -p tollgate-tower --example api_server -- --listen 127.0.0.1:8080
//! curl -i -H 'Authorization: Bearer key_1' http://127.0.0.1:8080/v1/companies
//! curl -i -X POST -H 'X-API-Key: key_1' -H 'Content-Type: application/json' \
//!      -d '{"name":"Initech"}' http://127.0.0.1:8080/v1/companies
//! ```
//!
//! Options:
//!
//! - `--listen ADDR`: where to listen (default `127.0.0.1:8080`).
//! - `--policy FILE`: a policy in TOML (or JSON, for a `.json` name);
//!   default: the reference policy (reads 1000/min and 333/10 s, writes
//!   60/min and 20/10 s, per API key).
//! - `--ietf`: add the IETF draft `RateLimit` and `RateLimit-Policy`
//!   fields.
//! - `--peer-ip`: count requests without a key against the client's IP
//!   address instead of answering 401.
//! - `--capacity N`: tracked (key, class) states (default 100000).
//! - `--no-limit`: serve the same routes without the layer (to measure
//!   its cost).
//! - `--fields-only`: serve the same routes without the layer, adding
//!   three constant `X-RateLimit-*` fields to every answer (the values
//!   the load test's policy gives, ten digits each): what setting the
//!   fields costs on its own, without a key, a check or a rendered value,
//!   for any middleware that sets them.
//! - `--redis URL`: share every key's windows with every server that
//!   uses the same Redis (`redis://127.0.0.1:6379`), through a
//!   `tollgate_redis::RedisLimiter`; several URLs, comma-separated, name
//!   the nodes of a Redis Cluster. While Redis is out of reach, each
//!   server limits on its own (marked degraded), and comes back to Redis
//!   by itself.
//! - `--redis-prefix P`: the start of every Redis key name (default
//!   `tollgate:`).
//! - `--lease N`: with `--redis`, take up to N units of a key at once and
//!   admit from them locally (lease mode).
//! - `--system-clock`: read the time with `SystemClock` rather than the
//!   default `CoarseClock`, whose vDSO lookup crashes under valgrind (to
//!   count the server's instructions per request with callgrind).

mod support;

use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tollgate::{Clock, Limiter, LimiterBuilder, Policy, SystemClock};
use tollgate_redis::RedisLimiter;
use tollgate_tower::{MissingKey, TollgateLayer};

use support::app;
use support::args::{self, ArgError, Args};

struct Options {
    listen: String,
    policy: Option<String>,
    ietf: bool,
    peer_ip: bool,
    capacity: usize,
    limit: bool,
    fields_only: bool,
    system_clock: bool,
    redis: Option<String>,
    redis_prefix: Option<String>,
    lease: Option<u32>,
}

const USAGE: &str = "usage: api_server [--listen ADDR] [--policy FILE] [--ietf] [--peer-ip] [--capacity N] [--no-limit] [--fields-only] [--redis URL[,URL...]] [--redis-prefix P] [--lease N] [--system-clock]";

fn options() -> Result<Options, ArgError> {
    let mut o = Options {
        listen: "127.0.0.1:8080".to_owned(),
        policy: None,
        ietf: false,
        peer_ip: false,
        capacity: tollgate::Limiter::DEFAULT_CAPACITY,
        limit: true,
        fields_only: false,
        system_clock: false,
        redis: None,
        redis_prefix: None,
        lease: None,
    };
    let mut args = Args::new();
    while let Some(arg) = args.next_flag() {
        match arg.as_str() {
            "--listen" => o.listen = args.value("--listen")?,
            "--policy" => o.policy = Some(args.value("--policy")?),
            "--capacity" => o.capacity = args.parsed("--capacity")?,
            "--ietf" => o.ietf = true,
            "--peer-ip" => o.peer_ip = true,
            "--no-limit" => o.limit = false,
            "--fields-only" => {
                o.limit = false;
                o.fields_only = true;
            }
            "--system-clock" => o.system_clock = true,
            "--redis" => o.redis = Some(args.value("--redis")?),
            "--redis-prefix" => o.redis_prefix = Some(args.value("--redis-prefix")?),
            "--lease" => o.lease = Some(args.parsed("--lease")?),
            other => return args::unknown(other),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match args::options_or_usage("api_server", USAGE, options) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match run(o).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api_server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The routes behind the layer, with the limiter `builder` makes.
fn limited<C: Clock + 'static>(
    o: &Options,
    builder: LimiterBuilder<C>,
) -> Result<impl app::App, String> {
    let limiter = builder.build().map_err(|e| e.to_string())?;
    let layer = TollgateLayer::builder(Arc::new(limiter))
        .missing_key(missing(o))
        .ietf_headers(o.ietf)
        .inner_body()
        .build();
    Ok(app::app(layer))
}

/// What the layer does with a request without a key.
fn missing(o: &Options) -> MissingKey {
    if o.peer_ip {
        MissingKey::PeerIp
    } else {
        MissingKey::Reject
    }
}

/// The limiter of `--redis`: one server, or the nodes of a cluster.
async fn shared(o: &Options, policy: Policy, url: &str) -> Result<RedisLimiter, String> {
    let mut builder = RedisLimiter::builder(policy)
        .local_capacity(o.capacity)
        .lease(o.lease);
    if let Some(prefix) = &o.redis_prefix {
        builder = builder.prefix(prefix.as_str());
    }
    builder = if url.contains(',') {
        builder.cluster(url.split(','))
    } else {
        builder.url(url)
    };
    builder
        .build()
        .await
        .map_err(|e| format!("--redis {url}: {e}"))
}

async fn run(o: Options) -> Result<(), String> {
    let policy = match &o.policy {
        Some(path) => app::load_policy(path)?,
        None => Policy::default(),
    };
    if o.fields_only {
        serve(&o, app::with_constant_fields(app::routes())).await
    } else if let (true, Some(url)) = (o.limit, &o.redis) {
        let limiter = shared(&o, policy, url).await?;
        let layer = TollgateLayer::decided_by(Arc::new(limiter))
            .missing_key(missing(&o))
            .ietf_headers(o.ietf)
            .inner_body()
            .build();
        serve(&o, app::app(layer)).await
    } else if !o.limit {
        serve(&o, app::routes()).await
    } else if o.system_clock {
        let limiter = Limiter::builder(policy).clock(SystemClock);
        serve(&o, limited(&o, limiter.capacity(o.capacity))?).await
    } else {
        serve(
            &o,
            limited(&o, Limiter::builder(policy).capacity(o.capacity))?,
        )
        .await
    }
}

/// Listens on `--listen` and serves `app` until Ctrl-C.
async fn serve(o: &Options, app: impl app::App) -> Result<(), String> {
    let listener = TcpListener::bind(&o.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let limited = if o.limit && o.redis.is_some() {
        "rate-limited, windows shared through Redis"
    } else if o.limit {
        "rate-limited"
    } else if o.fields_only {
        "NOT rate-limited, constant X-RateLimit-* fields"
    } else {
        "NOT rate-limited"
    };
    eprintln!("api_server: listening on http://{addr} ({limited}); stop with Ctrl-C");
    tokio::select! {
        served = app::serve(listener, app) => served.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
