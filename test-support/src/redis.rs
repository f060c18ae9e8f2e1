//! A `redis-server` of the tests' own: started on a free loopback port
//! with persistence off, stopped (and its directory removed) on drop.
//!
//! Outside CI, a machine without `redis-server` gets `None` from
//! [`RedisServer::start`] and a message on standard error, so that the
//! tests that need one skip; under CI (`CI` set to anything but `0` or
//! `false`) it panics instead, so that a missing server fails the run.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "test harness: deadlines seconds from now and slot ranges"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::ci::under_ci;

/// Whether `redis-server` can be run here; under CI, panics if not.
pub fn available(test: &str) -> bool {
    crate::ci::available(test, "redis-server", "redis-server", "ci/redis.sh")
}

/// A free loopback port, as the system hands them out.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A `redis-server` process of the test's own.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port; `None` (after a message)
    /// when `redis-server` is not installed outside CI.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, &[])
    }

    /// [`start`](Self::start) with extra `redis-server` arguments
    /// (`["--cluster-enabled", "yes"]`).
    pub fn start_with(test: &str, extra: &[&str]) -> Option<Self> {
        if !available(test) {
            return None;
        }
        for _ in 0..10 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("tollgate-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a directory for redis-server");
            let mut server = Self {
                port,
                dir,
                extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                child: None,
            };
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("{test}: redis-server did not start on any of ten ports");
    }

    /// Runs the server process; whether it answers `PING`.
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(["--protected-mode", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return true;
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                // Exited: the port was taken after all.
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server answers `PING` within half a second.
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("+PONG")
    }

    /// Runs `redis-cli` against the server with `args`; its standard
    /// output.
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }

    /// Sends the process a signal by name (`STOP`, `CONT`, `KILL`).
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let status = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill -{signal} {pid}");
        }
    }

    /// Pauses the server (`SIGSTOP`): connections stay open, nothing is
    /// answered.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Resumes a paused server (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// Kills the server (`SIGKILL`) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (persistence is
    /// off).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not restart on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A paused server ignores SIGKILL's reaping until it runs again.
        self.signal("CONT");
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `redis-cli -p port args`; its standard output.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three primaries and three replicas on loopback ports, made into a
/// cluster with `redis-cli --cluster create`.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six nodes and joins them; `None` (after a message) when
    /// `redis-server` is not installed outside CI.
    pub fn start(test: &str) -> Option<Self> {
        if !available(test) {
            return None;
        }
        let mut nodes = Vec::new();
        for _ in 0..6 {
            nodes.push(RedisServer::start_with(
                test,
                &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
            )?);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
        let out = cli(nodes[0].port(), &args);
        assert!(out.contains("[OK]"), "cluster create: {out}");
        let cluster = Self { nodes };
        cluster.wait_ok();
        Some(cluster)
    }

    /// Waits until every node reports `cluster_state:ok` and the same
    /// view of the slots.
    pub fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = self.nodes.iter().all(|n| {
                n.cli(&["cluster", "info"]).contains("cluster_state:ok")
                    && !n.cli(&["cluster", "slots"]).is_empty()
            });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not reach cluster_state:ok in 30 s");
    }

    /// `redis://` URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The node serving `slot` as primary, and one of its replicas.
    pub fn owners(&self, slot: u16) -> (u16, u16) {
        let mut primary = None;
        let mut replica = None;
        for n in &self.nodes {
            if n.cli(&["role"]).starts_with("master") {
                let nodes = n.cli(&["cluster", "nodes"]);
                for line in nodes.lines().filter(|l| l.contains("myself")) {
                    if serves(line, slot) {
                        primary = Some(n.port());
                    }
                }
            }
        }
        let primary = primary.expect("a primary for the slot");
        for n in &self.nodes {
            let info = n.cli(&["info", "replication"]);
            if info.contains(&format!("master_port:{primary}")) {
                replica = Some(n.port());
            }
        }
        (primary, replica.expect("a replica of the slot's primary"))
    }
}

/// Whether a `CLUSTER NODES` line lists `slot` among its ranges.
fn serves(line: &str, slot: u16) -> bool {
    line.split_whitespace().skip(8).any(|range| {
        let mut ends = range.split('-');
        match (
            ends.next().and_then(|a| a.parse::<u16>().ok()),
            ends.next().map(str::parse::<u16>),
        ) {
            (Some(a), Some(Ok(b))) => (a..=b).contains(&slot),
            (Some(a), None) => a == slot,
            _ => false,
        }
    })
}
