//! The example API server's routes behind `tower_governor`, for
//! `scripts/layer_vs_governor.sh`: the company endpoints of
//! `integrations/tower/examples/api_server.rs` (its `support/app.rs`,
//! included here), with the layer around the whole router as there,
//! served the same way (axum, with the peer address).
//!
//! tower_governor is configured as close to tollgate-tower as it allows:
//! one key per request, read from `Authorization: Bearer <key>` or else
//! `X-API-Key` (`support/governor_setup.rs`: tower_governor's own
//! extractors read only IP addresses), the `x-ratelimit-limit` and
//! `-remaining` fields on every answer (`use_headers`), and one GCRA
//! quota per key for every method (a tower_governor layer has one quota;
//! the reference policy's classes would take a layer per class). The
//! default quota is as open as it goes (one cell a nanosecond, a burst of
//! `u32::MAX`), so no run is limited.
//!
//! ```text
//! cargo bench -p tollgate-bench --bench governor_server --no-run   # prints the binary's path
//! $bin --listen 127.0.0.1:0                  # logs "listening on http://ADDR"
//! $bin --period-ns 1000000000 --burst 20     # the write class's rate: 60/min, bursts of 20
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:8080`), `--no-limit` (the
//! same routes, no layer: this binary's own bare server), `--no-headers`
//! (no `x-ratelimit-*` fields on admitted answers), `--period-ns N` and
//! `--burst N` (the quota). Under `cargo bench` (argument `--bench`) it
//! returns at once.

#[path = "support/governor_setup.rs"]
mod governor_setup;

#[path = "../../integrations/tower/examples/support/app.rs"]
#[allow(dead_code, reason = "only the routes are served here")]
mod app;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use app::routes;
use axum::extract::Request;
use tokio::net::TcpListener;
use tower::Layer;
use tower_governor::GovernorLayer;

const USAGE: &str = "usage: governor_server [--listen ADDR] [--no-limit] [--no-headers] [--period-ns N] [--burst N]";

struct Options {
    listen: String,
    limit: bool,
    headers: bool,
    period: Duration,
    burst: u32,
}

fn options(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        listen: "127.0.0.1:8080".to_owned(),
        limit: true,
        headers: true,
        period: Duration::from_nanos(1),
        burst: u32::MAX,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => o.listen = value()?,
            "--no-limit" => o.limit = false,
            "--no-headers" => o.headers = false,
            "--period-ns" => {
                let ns = value()?.parse().map_err(|e| format!("--period-ns: {e}"))?;
                o.period = Duration::from_nanos(ns);
            }
            "--burst" => o.burst = value()?.parse().map_err(|e| format!("--burst: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        println!(
            "governor_server: a server for scripts/layer_vs_governor.sh; nothing to time here"
        );
        return ExitCode::SUCCESS;
    }
    let o = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("governor_server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("governor_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("governor_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(o: Options) -> Result<(), String> {
    let listener = TcpListener::bind(&o.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let what = if o.limit {
        format!(
            "tower_governor, a cell every {:?}, bursts of {}{}",
            o.period,
            o.burst,
            if o.headers {
                ", x-ratelimit fields"
            } else {
                ""
            }
        )
    } else {
        "NOT rate-limited".to_owned()
    };
    eprintln!("governor_server: listening on http://{addr} ({what}); stop with Ctrl-C");
    let mut builder = governor_setup::config(o.period, o.burst);
    if !o.limit {
        serve(listener, routes()).await
    } else if o.headers {
        let config = builder.use_headers().finish().ok_or("a zero quota")?;
        serve(listener, GovernorLayer::new(config).layer(routes())).await
    } else {
        let config = builder.finish().ok_or("a zero quota")?;
        serve(listener, GovernorLayer::new(config).layer(routes())).await
    }
}

/// Serves `app` until Ctrl-C, with the peer address, as the example does.
async fn serve<S>(listener: TcpListener, app: S) -> Result<(), String>
where
    S: tower::Service<
            Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    let app = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    tokio::select! {
        served = axum::serve(listener, app) => served.map_err(|e| e.to_string()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

// The example's routes and handlers, as in
// integrations/tower/examples/support/app.rs.
