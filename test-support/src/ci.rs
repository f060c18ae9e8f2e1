//! Whether a run is CI's, where a test that needs a program the machine
//! lacks fails instead of skipping.

/// Whether this run is CI's: `CI` set to anything but `0` or `false`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}
