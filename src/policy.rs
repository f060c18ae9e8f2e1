//! Policies: the classes, their windows and the per-key overrides.
//!
//! A [`Policy`] is plain, validated data. It is built from the reference
//! table ([`Policy::default`]), from a TOML or JSON file
//! ([`Policy::from_toml_str`], [`Policy::from_json_str`]), or in code with
//! [`Policy::builder`]. Every path goes through the same validation, so a
//! `Policy` that exists is one the limiter can run. With the `serde`
//! feature, a `Policy` is also `Serialize` and `Deserialize` in the
//! file's shape, so that it nests in an application's own configuration
//! (see [`Policy`]).
//!
//! # The file format
//!
//! ```toml
//! [classes.read]
//! methods = ["GET", "HEAD", "OPTIONS"]
//! limit = 1000
//! window = "1m"
//! burst = { multiplier = 2, window = "10s" }     # or: { limit = 333, window = "10s" }
//!
//! [classes.write]
//! methods = ["POST", "PUT", "PATCH", "DELETE"]
//! limit = 60
//! window = "1m"
//! burst = { multiplier = 2, window = "10s" }
//!
//! [[overrides]]
//! key = "key_enterprise_42"
//! class = "write"
//! limit = 600
//! burst = { limit = 200, window = "10s" }
//! ```
//!
//! A class gives `limit` and `window` (its primary window) with an optional
//! `burst`, and/or a list `windows = [{ limit = 1000, window = "1m" }, ...]`;
//! at most [`ClassPolicy::MAX_WINDOWS`] windows in all, of distinct lengths. A burst
//! `multiplier` gives `floor(multiplier * limit * burst_window / window)`,
//! at least 1. The primary window of a class is its longest.
//!
//! An override names a `key` and a `class` and gives the key a new `limit`
//! for the class's longest window (a multiplier burst scales with it), a
//! `burst` for the class's burst window, or all limits as `windows` (an
//! entry without `window` applies to the class's window at the same
//! position, longest first). Window lengths of an override must be the
//! class's: an override changes limits, not windows.
//!
//! Classes are numbered in file order: the first is `Class` 0. Unknown
//! fields are errors; so are limits of 0 or above `u32::MAX`.

mod builder;
mod file;
#[cfg(feature = "serde")]
mod render;
mod spec;
mod validate;

pub use builder::PolicyBuilder;

use crate::class::Class;
use crate::length::WindowLength;
use crate::window::Window;

/// The most classes a policy may have.
pub(crate) const MAX_CLASSES: usize = 64;
/// The most windows a class may have.
pub(crate) const MAX_WINDOWS: usize = 4;
/// The longest class name or method, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 32;
/// The longest override key accepted in a policy, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 1024;

/// The rate limits a [`Limiter`](crate::Limiter) enforces: named method
/// classes, each with one or more fixed windows, and per-key overrides.
///
/// Immutable once built; overrides can still be changed at run time on the
/// limiter ([`Limiter::set_override`](crate::Limiter::set_override)).
///
/// # In an application's configuration
///
/// With the `serde` feature (on with `toml` or `json`), a `Policy` is
/// `Serialize` and `Deserialize` in the shape of the [policy
/// file](crate::policy#the-file-format), so that it can be a field of a
/// configuration read with serde. Reading it runs every check of a policy
/// file: a policy that fails one is the format's error, with the same
/// message, never a panic. Give it a field of its own: under
/// `#[serde(flatten)]`, serde does not reject unknown fields, so a
/// misspelt one would pass unnoticed. Reading needs a format that names
/// its fields and types (TOML, JSON, YAML and the like), as a policy
/// file does.
///
/// ```
/// # #[cfg(feature = "toml")]
/// # fn main() -> Result<(), toml::de::Error> {
/// #[derive(serde::Deserialize)]
/// struct Config {
///     listen: String,
///     limits: tollgate::Policy,
/// }
///
/// let config: Config = toml::from_str(
///     r#"
///     listen = "127.0.0.1:8080"
///
///     [limits.classes.write]
///     methods = ["POST", "PUT", "PATCH", "DELETE"]
///     limit = 60
///     window = "1m"
///     burst = { multiplier = 2, window = "10s" }
///     "#,
/// )?;
/// assert_eq!(config.listen, "127.0.0.1:8080");
/// let write = config.limits.class("write").unwrap();
/// assert_eq!(config.limits.class_policy(write).unwrap().windows()[1].limit(), 20);
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "toml"))]
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) classes: Vec<ClassPolicy>,
    pub(crate) overrides: Vec<Override>,
}

/// One method class: its name, its methods and its windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassPolicy {
    pub(crate) name: String,
    pub(crate) methods: Vec<String>,
    /// Longest first; lengths strictly decrease.
    pub(crate) windows: Vec<Window>,
    /// A burst window given as a multiple of the pro-rated limit of
    /// another window: an override of that window's limit scales it too.
    pub(crate) burst: Option<BurstRule>,
}

/// A burst window whose limit is `multiplier` times the pro-rated limit of
/// a longer window: `floor(multiplier * limit * burst / window)`, at
/// least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BurstRule {
    pub(crate) multiplier: u32,
    /// Index in `windows` of the window the burst is pro-rated from.
    pub(crate) base: usize,
    /// Index in `windows` of the burst window.
    pub(crate) burst: usize,
}

/// Limits given to one key for one class, replacing the class's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub(crate) key: String,
    pub(crate) class: Class,
    /// One limit per window of the class, in the class's window order.
    pub(crate) limits: Vec<u32>,
}

impl Policy {
    /// The most classes a policy may have.
    pub const MAX_CLASSES: usize = MAX_CLASSES;

    /// The class called `name`, if the policy has one.
    pub fn class(&self, name: &str) -> Option<Class> {
        let index = self.classes.iter().position(|c| c.name == name)?;
        u8::try_from(index).ok().map(Class)
    }

    /// The class whose `methods` list `method` (case-sensitive, as HTTP
    /// methods are), if any.
    pub fn class_for_method(&self, method: &str) -> Option<Class> {
        let index = self
            .classes
            .iter()
            .position(|c| c.methods.iter().any(|m| m == method))?;
        u8::try_from(index).ok().map(Class)
    }

    /// The class's definition, or `None` for a class of another policy.
    pub fn class_policy(&self, class: Class) -> Option<&ClassPolicy> {
        self.classes.get(class.index())
    }

    /// Every class, in policy order (`Class` index order).
    pub fn classes(&self) -> impl ExactSizeIterator<Item = (Class, &ClassPolicy)> {
        // At most MAX_CLASSES (64) entries, so the index fits a u8.
        self.classes
            .iter()
            .enumerate()
            .map(|(i, c)| (Class(u8::try_from(i).unwrap_or(u8::MAX)), c))
    }

    /// The overrides set when the policy was built.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The per-window limits that `limit` as a new primary limit gives the
    /// class: fixed windows keep theirs, a burst given as a multiplier is
    /// recomputed from `limit`.
    pub(crate) fn scaled_limits(class: &ClassPolicy, limit: u32) -> Vec<u32> {
        let mut limits: Vec<u32> = class.windows.iter().map(Window::limit).collect();
        if let Some(first) = limits.first_mut() {
            *first = limit;
        }
        if let Some(rule) = class.burst {
            if let (Some(&base), Some(base_w), Some(burst_w)) = (
                limits.get(rule.base),
                class.windows.get(rule.base),
                class.windows.get(rule.burst),
            ) {
                let scaled = burst_limit(rule.multiplier, base, base_w.length(), burst_w.length());
                if let Some(slot) = limits.get_mut(rule.burst) {
                    *slot = scaled;
                }
            }
        }
        limits
    }
}

/// `floor(multiplier * limit * burst / window)`, at least 1, at most
/// `u32::MAX`.
pub(crate) fn burst_limit(
    multiplier: u32,
    limit: u32,
    window: WindowLength,
    burst: WindowLength,
) -> u32 {
    // u32 * u32 * (seconds < 2^32) < 2^96: no overflow in u128.
    let product = u128::from(multiplier)
        .saturating_mul(u128::from(limit))
        .saturating_mul(u128::from(burst.as_secs()));
    let quotient = product
        .checked_div(u128::from(window.as_secs()))
        .unwrap_or(0);
    u32::try_from(quotient).unwrap_or(u32::MAX).max(1)
}

impl ClassPolicy {
    /// The most windows a class may have (its primary window and up to
    /// three shorter ones). Every tracked state holds the counters of the
    /// policy's widest class, so the bound keeps memory per key small.
    pub const MAX_WINDOWS: usize = MAX_WINDOWS;
    /// The longest class name, and the longest method, in bytes; names
    /// appear in headers and logs.
    pub const MAX_NAME_LEN: usize = MAX_NAME_LEN;

    /// The class's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The HTTP methods that map to this class.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The class's windows, longest (primary) first.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The primary (longest) window: its limit is `X-RateLimit-Limit`.
    pub fn primary(&self) -> Window {
        // Validation guarantees at least one window.
        self.windows[0]
    }
}

impl Override {
    /// The longest key an override of a policy may name, in bytes.
    pub const MAX_KEY_LEN: usize = MAX_KEY_LEN;

    /// The key the override applies to.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The class the override applies to.
    pub fn class(&self) -> Class {
        self.class
    }

    /// One limit per window of the class, longest window first.
    pub fn limits(&self) -> &[u32] {
        &self.limits
    }
}
