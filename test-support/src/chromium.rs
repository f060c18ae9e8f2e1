//! A headless Chromium of the test's own, opened on one URL and killed,
//! with every process it started, on drop.
//!
//! Outside CI, a machine without `chromium` (Debian's package) gets `None`
//! from [`Chromium::open`] and a message on standard error, so that the
//! tests that need one skip; under CI it panics instead, so that a missing
//! browser fails the run. `ci/chromium.sh` installs it.
//!
//! Chromium runs under `timeout`, in a process group of its own: drop
//! kills the group (the browser, its zygotes, renderers and utility
//! processes), and `timeout` ends it by itself should the test process die
//! before drop runs. Its profile, cache and crash database live in a
//! temporary directory (its `HOME`, removed on drop), so nothing outside
//! it is written; its standard error goes to a file there, which
//! [`Chromium::log`] returns for a failing test to print.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The browser binary, as Debian's `chromium` package installs it.
pub const BINARY: &str = "chromium";

/// How long `timeout` lets the browser run at most, in seconds: longer
/// than any test that uses it waits.
const LIFETIME_SECS: u32 = 300;

/// The flags, with why each is there.
const FLAGS: &[&str] = &[
    // The current headless mode: the full browser without a window.
    "--headless=new",
    // Chromium's sandbox refuses to start as root, as tests in a VM or a
    // container often run; the pages it loads are the test's own.
    "--no-sandbox",
    // No GPU in a VM: software rendering, without probing for one.
    "--disable-gpu",
    // /dev/shm is often small in containers; Chromium crashes when it
    // fills up.
    "--disable-dev-shm-usage",
    // Nothing but the test's own traffic: no first-run page, no default
    // browser prompt, no component updates, sync or other requests to
    // Google's services.
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Timers run on time in a page that is not in front, so that a page
    // that sleeps until a deadline wakes at it.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
];

/// Whether [`BINARY`] runs here; under CI, panics if not.
pub fn available(test: &str) -> bool {
    crate::ci::available(test, BINARY, "chromium", "ci/chromium.sh")
}

/// A headless Chromium showing one page.
#[derive(Debug)]
pub struct Chromium {
    child: Option<Child>,
    dir: PathBuf,
}

impl Chromium {
    /// Starts Chromium on `url`; `None` (after a message) when it is not
    /// installed outside CI.
    pub fn open(test: &str, url: &str) -> Option<Self> {
        if !available(test) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "tollgate-chromium-{}-{}",
            std::process::id(),
            unique()
        ));
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).expect("a directory for chromium");
        let log = File::create(dir.join("stderr.log")).expect("chromium's log file");
        let child = Command::new("timeout")
            .args(["--signal=KILL", &LIFETIME_SECS.to_string(), BINARY])
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .env("HOME", &dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // A group of its own, which drop kills whole.
            .process_group(0)
            .spawn()
            .expect("timeout and chromium run");
        Some(Self {
            child: Some(child),
            dir,
        })
    }

    /// The last 40 lines of the browser's standard error.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills every process of the browser's group and reaps its leader.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The group's id is its leader's, `timeout`'s.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.kill();
        // Chromium's crash handler, outside the group, exits once the
        // browser has; until then it may still hold the directory.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A number no other browser of this process has had.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Relaxed: only uniqueness matters; the counter publishes nothing.
    NEXT.fetch_add(1, Ordering::Relaxed)
}
