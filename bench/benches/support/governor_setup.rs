//! tower_governor as the rows beside tollgate-tower set it up (the
//! `governor_server` program and the `layer_instructions` rows): keyed by
//! what tollgate-tower's `ApiKey` reads, as a tower_governor extractor
//! (tower_governor's own read only IP addresses), with a quota given by
//! its period and burst.

use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::GovernorError;

/// A configuration of one cell every `period`, bursts of `burst`, keyed
/// by [`ApiKey`]; `use_headers` adds the `x-ratelimit-*` fields.
pub(crate) fn config(
    period: Duration,
    burst: u32,
) -> GovernorConfigBuilder<ApiKey, NoOpMiddleware> {
    let mut builder = GovernorConfigBuilder::default();
    builder.period(period).burst_size(burst);
    builder.key_extractor(ApiKey)
}

/// The key of a request: the token of `Authorization: Bearer <token>`
/// (the scheme in any case), else the `X-API-Key` value; requests
/// without one are refused with tower_governor's error for an
/// unextractable key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiKey;

impl KeyExtractor for ApiKey {
    type Key = String;

    fn extract<T>(&self, req: &http::Request<T>) -> Result<String, GovernorError> {
        let headers = req.headers();
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim_start().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        bearer
            .or_else(|| {
                headers
                    .get("x-api-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
            })
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}
