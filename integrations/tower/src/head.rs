//! What the layer's settings see of a request: its head, without the body.

use http::{request::Parts, Extensions, HeaderMap, Method, Request, Uri, Version};

/// A request's method, URI, version, header fields and extensions, borrowed
/// from it: what a [`KeyExtractor`](crate::KeyExtractor) and the layer's
/// closures ([`key_by`](crate::TollgateLayerBuilder::key_by),
/// [`cost_by`](crate::TollgateLayerBuilder::cost_by), ...) are given.
///
/// It has no body type, so that one closure serves a layer whatever body
/// its requests carry, and no body, which the layer never reads. Under
/// axum's `Router::layer` the extensions hold the route's `MatchedPath`
/// and the path parameters; around a whole router they do not yet.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'r> {
    method: &'r Method,
    uri: &'r Uri,
    version: Version,
    headers: &'r HeaderMap,
    extensions: &'r Extensions,
}

impl<'r> RequestHead<'r> {
    /// The head of `request`.
    pub fn of<B>(request: &'r Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The request method.
    pub fn method(&self) -> &'r Method {
        self.method
    }

    /// The request target.
    pub fn uri(&self) -> &'r Uri {
        self.uri
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &'r HeaderMap {
        self.headers
    }

    /// The extensions: what the server and earlier layers attached to the
    /// request (the peer address, an authenticated user, ...).
    pub fn extensions(&self) -> &'r Extensions {
        self.extensions
    }
}

impl<'r> From<&'r Parts> for RequestHead<'r> {
    fn from(parts: &'r Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }
}
