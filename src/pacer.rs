//! The client side (SPEC §6): how long to wait before the next call, from
//! a response's status, its rate-limit headers and the current time.
//!
//! Pure functions of their arguments, like the limiter: no I/O, no
//! allocation, no clock read, no panic.

mod headers;
mod http_date;

pub use headers::{RateLimitInfo, RetryAfter};
