//! Code shared by the examples and the end-to-end tests. Each user takes
//! only some of it, hence the `dead_code` allowance on the modules.

#[allow(dead_code, reason = "each example uses only part of the app")]
pub(crate) mod app;
#[allow(
    dead_code,
    reason = "the demo and the end-to-end tests read no command line"
)]
pub(crate) mod args;
#[allow(dead_code, reason = "each example uses only part of the clients")]
pub(crate) mod client;
#[allow(dead_code, reason = "only the fleet demo and its test start a fleet")]
pub(crate) mod fleet;
#[allow(dead_code, reason = "only the demos count what a span allows")]
pub(crate) mod span;
