//! The connection to Redis (one server, or a cluster) and the script's
//! runs on it.
//!
//! One server is reached through a `ConnectionManager`: one multiplexed
//! connection, re-established in the background when it drops. A cluster
//! is reached through redis-rs's cluster connection, which routes each
//! run by its key's hash tag and follows `MOVED` and failovers.
//!
//! The scripts (one per number of windows) are loaded (`SCRIPT LOAD`)
//! when the limiter connects and again after a failed call (a reconnect
//! may reach a server that has lost its scripts: restarted, or a replica
//! promoted in a failover), in the background. A run that still finds no
//! script (`NOSCRIPT`) sends the script itself (`EVAL`, which also loads
//! it), within the same call.
//!
//! A decision's run is bounded by the limiter's per-decision timeout,
//! which drops it when Redis is slow; on one server it carries no timer
//! of redis-rs's own besides, which would cost every decision a second
//! timer. Every other command (loading the scripts, the caller's own) is
//! bounded by the connect timeout there. A cluster connection keeps
//! redis-rs's own response timeout and retries.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, RedisResult, ServerErrorKind};

use crate::name::Name;
use crate::script::{self, Ask, Script};

/// Where Redis is.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// One server (or a primary behind a proxy), by URL.
    Server(String),
    /// A cluster, by the URLs of some of its nodes.
    Cluster(Vec<String>),
}

/// A connection to one server or to a cluster: cheap to clone, every
/// clone shares it.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server, and the bound on a command that is not a decision's.
    Server(ConnectionManager, Duration),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects, each attempt bounded by `connect_timeout`.
    pub(crate) async fn open(target: &Target, connect_timeout: Duration) -> RedisResult<Self> {
        match target {
            Target::Server(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(connect_timeout))
                    .set_response_timeout(None)
                    .set_max_delay(connect_timeout)
                    .set_number_of_retries(3);
                Ok(Self::Server(
                    ConnectionManager::new_with_config(client, config).await?,
                    connect_timeout,
                ))
            }
            Target::Cluster(urls) => {
                let client = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(connect_timeout)
                    .response_timeout(connect_timeout)
                    .retries(3)
                    .min_retry_wait(10)
                    .max_retry_wait(200)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
        }
    }

    /// Sends one command that is not a decision's, bounded by the
    /// connect timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        match self {
            Self::Server(_, bound) => match tokio::time::timeout(*bound, self.decide(cmd)).await {
                Ok(reply) => reply,
                Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
            },
            // redis-rs's own response timeout bounds it.
            Self::Cluster(_) => self.decide(cmd).await,
        }
    }

    /// Sends one command with no bound of its own: a decision's caller
    /// bounds it with the per-decision timeout, `query` with the connect
    /// timeout on one server (a cluster's own response timeout does).
    async fn decide<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        match self.clone() {
            Self::Server(mut c, _) => cmd.query_async(&mut c).await,
            Self::Cluster(mut c) => cmd.query_async(&mut c).await,
        }
    }

    /// Loads the scripts (on every primary of a cluster).
    pub(crate) async fn load(&self) -> RedisResult<()> {
        for script in script::all() {
            let mut cmd = redis::cmd("SCRIPT");
            cmd.arg("LOAD").arg(script.code.as_str());
            self.query::<redis::Value>(&cmd).await?;
        }
        Ok(())
    }

    /// Runs `script` on the Redis key `name`: `EVALSHA`, or `EVAL` when
    /// the server has lost the script; the caller bounds it (with the
    /// per-decision timeout).
    pub(crate) async fn run(
        &self,
        script: &Script,
        name: Name<'_>,
        ask: &Ask<'_>,
    ) -> RedisResult<Vec<u8>> {
        let cmd = command("EVALSHA", &script.sha, name, ask);
        match self.decide(&cmd).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.decide(&command("EVAL", &script.code, name, ask)).await
            }
            reply => reply,
        }
    }

    /// One command of the caller's, for its tests and tools (`TIME`,
    /// `INFO`).
    pub(crate) async fn command<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        self.query(cmd).await
    }
}

/// `verb` (`EVALSHA` or `EVAL`) of `script` (its SHA-1 or its source) on
/// the key `name`, with `ask`'s arguments: built in one buffer sized up
/// front, since every decision builds one.
fn command(verb: &str, script: &str, name: Name<'_>, ask: &Ask<'_>) -> Cmd {
    // The verb, the script, the key count, the name, the numbers and the
    // time to live.
    let bytes = verb
        .len()
        .saturating_add(script.len())
        .saturating_add(1)
        .saturating_add(name.max_len())
        .saturating_add(ask.max_len());
    let mut cmd = Cmd::with_capacity(6, bytes);
    cmd.arg(verb).arg(script).arg(1).arg(name);
    ask.args(&mut cmd);
    cmd
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Server(..) => "Connection::Server",
            Self::Cluster(_) => "Connection::Cluster",
        })
    }
}
