//! Whether a run is CI's, where a test that needs a program the machine
//! lacks fails instead of skipping.

use std::process::{Command, Stdio};

/// Whether this run is CI's: `CI` set to anything but `0` or `false`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `program --version` runs here, for `test`. Without it, the
/// test is skipped with a message naming `package` and `script` (what
/// installs it), or, under CI, fails.
pub fn available(test: &str, program: &str, package: &str, script: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !under_ci(),
            "{test}: {program} is not installed, and CI needs it ({script} installs it)"
        );
        eprintln!(
            "{test}: SKIPPED: {program} is not installed (apt-get install {package}, or {script})"
        );
    }
    found
}
