//! A fleet of example API servers sharing one Redis, for the fleet demo
//! and its end-to-end test: each server is this same program run again
//! with `TOLLGATE_FLEET_SERVE` set to the Redis URL, serving the example
//! API behind a `RedisLimiter` on an ephemeral loopback port, which it
//! prints on its first line of output.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use tollgate::Policy;
use tollgate_redis::RedisLimiter;
use tollgate_tower::TollgateLayer;

use super::app;

/// The variable that makes this program a fleet server.
pub(crate) const SERVE: &str = "TOLLGATE_FLEET_SERVE";

/// The first line a fleet server prints: `listening on ADDR`.
const LISTENING: &str = "listening on ";

/// Serves the example API behind a `RedisLimiter` on `url` (the
/// reference policy, the key prefix `prefix`) until the process is
/// killed; prints its address first.
pub(crate) async fn serve(url: &str, prefix: &str) -> Result<(), String> {
    let limiter = RedisLimiter::builder(Policy::default())
        .url(url)
        .prefix(prefix)
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let layer = TollgateLayer::decided_by(Arc::new(limiter))
        .inner_body()
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("{LISTENING}{addr}");
    app::serve(listener, app::app(layer))
        .await
        .map_err(|e| e.to_string())
}

/// A fleet server process: killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Runs this program again as a fleet server on `url` with `prefix`,
    /// with `args` (a test harness's filter), and waits for its address.
    pub(crate) fn start(url: &str, prefix: &str, args: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(args)
            .env(SERVE, format!("{url} {prefix}"))
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no output")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = lines
            .find_map(|l| l.ok()?.strip_prefix(LISTENING)?.trim().parse().ok())
            .ok_or("the server did not start")?;
        Ok(Self { child, addr })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// If this process was started as a fleet server, serves (never
/// returns); otherwise returns.
pub(crate) async fn serve_if_asked() {
    let Ok(spec) = std::env::var(SERVE) else {
        return;
    };
    let (url, prefix) = spec.split_once(' ').unwrap_or((spec.as_str(), "tollgate:"));
    if let Err(e) = serve(url, prefix).await {
        eprintln!("fleet server: {e}");
        std::process::exit(1);
    }
    std::process::exit(0);
}
