//! The response fields a cross-origin browser client needs to read.

use http::HeaderName;

use crate::request_id::X_REQUEST_ID;

/// The response fields the layer writes that a browser hides from a
/// cross-origin page unless CORS exposes them: `X-RateLimit-Limit`,
/// `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `Retry-After`,
/// `X-Request-Id`, and the IETF draft `RateLimit` and `RateLimit-Policy`
/// (written only with [`TollgateLayerBuilder::ietf_headers`]; exposing a
/// field a response lacks is harmless).
///
/// For the `Access-Control-Expose-Headers` of a CORS layer, such as
/// tower-http's: `CorsLayer::new().expose_headers(EXPOSE_HEADERS)`. Without
/// it, `fetch` from another origin reads `null` for every rate-limit
/// field, and a client that paces on them cannot pace. The list leaves out
/// what browsers always expose (`Content-Type`) and the `Allow` and
/// `WWW-Authenticate` fields of the layer's 405 and 401, whose JSON bodies
/// say the same. The crate docs' "Browsers" section shows where the CORS
/// layer goes.
///
/// [`TollgateLayerBuilder::ietf_headers`]: crate::TollgateLayerBuilder::ietf_headers
pub const EXPOSE_HEADERS: [HeaderName; 7] = [
    HeaderName::from_static("x-ratelimit-limit"),
    HeaderName::from_static("x-ratelimit-remaining"),
    HeaderName::from_static("x-ratelimit-reset"),
    HeaderName::from_static("retry-after"),
    X_REQUEST_ID,
    HeaderName::from_static("ratelimit"),
    HeaderName::from_static("ratelimit-policy"),
];
