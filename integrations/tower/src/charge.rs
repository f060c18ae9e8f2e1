//! What a request is charged: its class and its cost, when not the
//! defaults (its method's class, and 1), or nothing (exempt).
//!
//! Three places can say, the first that does wins:
//!
//! 1. a [`RequestClass`] or [`RequestCost`] in the request's extensions,
//!    put there by anything that runs before the layer (a middleware of
//!    the application's, `tower_http::add_extension`, an axum
//!    `middleware::map_request`);
//! 2. the layer's closures,
//!    [`class_by`](crate::TollgateLayerBuilder::class_by) and
//!    [`cost_by`](crate::TollgateLayerBuilder::cost_by), which see the
//!    request's head (with axum's `MatchedPath` under `Router::layer`);
//! 3. the defaults: the class of the request's method under the limiter's
//!    policy (or [`UnknownMethod`](crate::UnknownMethod)), and cost 1.

use std::fmt;
use std::sync::Arc;

use http::Method;
use tollgate::Class;

use crate::head::RequestHead;

/// The cost of a request, in the units of its class's limits, when it is
/// not 1: a batch endpoint that does the work of five requests costs 5.
///
/// The first of these that says gives the cost: this extension, put in
/// a request's extensions by anything that runs before the layer (a
/// middleware of the application's, `tower_http::add_extension`, axum's
/// `middleware::map_request`); the layer's
/// [`cost_by`](crate::TollgateLayerBuilder::cost_by); 1. The class is
/// found the same way: [`RequestClass`], then
/// [`class_by`](crate::TollgateLayerBuilder::class_by), then the method's.
///
/// A cost above a window's limit is never admitted (429 with `code`
/// `cost_exceeds_limit`). A cost of 0 is a peek: the request passes if a
/// cost of 1 would, counts nothing, and its answer carries the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestCost(pub u32);

/// The class a request is counted in, whatever its method: a `POST` that
/// only reads (a search) counted as a read.
///
/// Put in a request's extensions before the layer sees it, it overrides
/// the layer's [`class_by`](crate::TollgateLayerBuilder::class_by) and the
/// method's class. A class the limiter's policy lacks is answered 500
/// (`internal_error`): a misconfiguration, not the client's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestClass(pub Class);

/// A setting computed from a request's head.
pub(crate) type ByHead<T> = Arc<dyn Fn(&RequestHead<'_>) -> T + Send + Sync>;

/// The layer's closures for class and cost, if set.
#[derive(Clone, Default)]
pub(crate) struct Charges {
    pub(crate) class_by: Option<ByHead<Option<Class>>>,
    pub(crate) cost_by: Option<ByHead<u32>>,
}

impl fmt::Debug for Charges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Charges")
            .field("class_by", &self.class_by.is_some())
            .field("cost_by", &self.cost_by.is_some())
            .finish()
    }
}

impl Charges {
    /// The class `request` names, by extension or closure; `None` for its
    /// method's.
    #[inline]
    pub(crate) fn class(&self, request: &RequestHead<'_>) -> Option<Class> {
        if let Some(RequestClass(class)) = request.extensions().get() {
            return Some(*class);
        }
        self.class_by.as_ref().and_then(|by| by(request))
    }

    /// The cost of `request`: by extension, by closure, or 1.
    #[inline]
    pub(crate) fn cost(&self, request: &RequestHead<'_>) -> u32 {
        if let Some(RequestCost(cost)) = request.extensions().get() {
            return *cost;
        }
        self.cost_by.as_ref().map_or(1, |by| by(request))
    }
}

/// The requests the layer passes unchecked: by method, or by closure.
#[derive(Clone, Default)]
pub(crate) struct Exempt {
    pub(crate) methods: Vec<Method>,
    pub(crate) by: Option<ByHead<bool>>,
}

impl fmt::Debug for Exempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exempt")
            .field("methods", &self.methods)
            .field("by", &self.by.is_some())
            .finish()
    }
}

impl Exempt {
    /// Whether `request` passes unchecked.
    #[inline]
    pub(crate) fn covers(&self, request: &RequestHead<'_>) -> bool {
        (!self.methods.is_empty() && self.methods.contains(request.method()))
            || self.by.as_ref().is_some_and(|by| by(request))
    }
}
