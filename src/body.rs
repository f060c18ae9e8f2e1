//! The 429 response body.
//!
//! ```json
//! {"error":{"code":"rate_limited","message":"Rate limit exceeded.",
//!  "details":{"limit":60,"window":"1m"},"request_id":"req_..."}}
//! ```
//!
//! Field names and nesting are exactly these; `details` is the window that
//! denied the request. The `json` feature writes it as JSON; the `serde`
//! feature serializes it with any serde format.

use crate::decision::{Decision, Outcome};
use crate::window::Window;

/// The body of a 429 response: written as JSON with the `json` feature
/// (`to_json`, `write_json`), or in any serde format with the `serde`
/// feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
struct ErrorDetail<'a> {
    code: &'static str,
    message: &'static str,
    details: Window,
    request_id: &'a str,
}

impl<'a> ErrorBody<'a> {
    /// The `code` of a denial by a window that has no room now, or of a
    /// full table.
    pub const RATE_LIMITED: &'static str = "rate_limited";
    /// The `code` of a cost above some window's limit: waiting will not
    /// help.
    pub const COST_EXCEEDS_LIMIT: &'static str = "cost_exceeds_limit";

    /// The machine-readable code: [`RATE_LIMITED`](Self::RATE_LIMITED) or
    /// [`COST_EXCEEDS_LIMIT`](Self::COST_EXCEEDS_LIMIT).
    pub fn code(&self) -> &'static str {
        self.error.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &'static str {
        self.error.message
    }

    /// The window in `details`.
    pub fn details(&self) -> Window {
        self.error.details
    }

    /// The caller's request id, as given.
    pub fn request_id(&self) -> &'a str {
        self.error.request_id
    }

    /// The body as compact JSON.
    #[cfg(feature = "json")]
    pub fn to_json(&self) -> String {
        // Serializing strings and integers to JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Writes the body as compact JSON to `out`, without building a
    /// `String` first.
    ///
    /// # Errors
    ///
    /// Only the writer's own errors.
    #[cfg(feature = "json")]
    pub fn write_json<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        serde_json::to_writer(out, self).map_err(std::io::Error::from)
    }
}

impl Decision {
    /// The 429 body for a refused request, with the caller's `request_id`
    /// (for example from its `X-Request-Id`); `None` when the request was
    /// admitted or the class is unknown (a server error, not a client's).
    ///
    /// A full table ([`Outcome::TableFull`]) reads as `rate_limited` with
    /// the class's primary window: to the client it is a limit with a
    /// `Retry-After`. A cost that can never fit reads as
    /// [`ErrorBody::COST_EXCEEDS_LIMIT`] with the window it exceeds.
    pub fn error_body<'a>(&self, request_id: &'a str) -> Option<ErrorBody<'a>> {
        let (code, message) = match self.outcome() {
            Outcome::Denied | Outcome::TableFull => {
                (ErrorBody::RATE_LIMITED, "Rate limit exceeded.")
            }
            Outcome::CostTooLarge => (
                ErrorBody::COST_EXCEEDS_LIMIT,
                "Request cost exceeds the rate limit.",
            ),
            _ => return None,
        };
        let details = self.denied_by()?;
        Some(ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
                request_id,
            },
        })
    }
}
