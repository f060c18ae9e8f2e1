//! Policies: the classes, their windows and the per-key overrides.
//!
//! A [`Policy`] is plain, validated data. It is built from the reference
//! table ([`Policy::default`]), from a TOML or JSON file (see the
//! [`policy_file`](crate::policy_file) module for the format), or in code
//! with [`Policy::builder`]. Every path goes through the same validation,
//! so a `Policy` that exists is one the limiter can run.

use crate::class::Class;
use crate::error::PolicyError;
use crate::length::WindowLength;
use crate::policy_file::{BurstSpec, ClassSpec, OverrideSpec, PolicySpec, WindowSpec};
use crate::window::Window;

/// The most classes a policy may have.
pub const MAX_CLASSES: usize = 64;
/// The most windows a class may have (its primary window and up to three
/// shorter ones). Every tracked state holds this many counters of the
/// policy's widest class, so the bound keeps memory per key small.
pub const MAX_WINDOWS: usize = 4;

/// The rate limits a [`Limiter`](crate::Limiter) enforces: named method
/// classes, each with one or more fixed windows, and per-key overrides.
///
/// Immutable once built; overrides can still be changed at run time on the
/// limiter ([`Limiter::set_override`](crate::Limiter::set_override)).
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
/// a longer window (SPEC §2).
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

impl Default for Policy {
    /// The reference policy (SPEC §2): reads (`GET`, `HEAD`, `OPTIONS`)
    /// 1000 per minute and 333 per 10 seconds; writes (`POST`, `PUT`,
    /// `PATCH`, `DELETE`) 60 per minute and 20 per 10 seconds.
    fn default() -> Self {
        let class = |methods: &[&str], limit: u32| ClassSpec {
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            limit: Some(limit.into()),
            window: WindowLength::from_secs(60),
            burst: Some(BurstSpec {
                multiplier: Some(2u32.into()),
                limit: None,
                window: WindowLength::from_secs(10),
            }),
            windows: None,
        };
        let spec = PolicySpec {
            classes: vec![
                ("read".to_owned(), class(&["GET", "HEAD", "OPTIONS"], 1000)),
                (
                    "write".to_owned(),
                    class(&["POST", "PUT", "PATCH", "DELETE"], 60),
                ),
            ],
            overrides: Vec::new(),
        };
        // The reference table is valid by construction; a test checks it.
        spec.into_policy().unwrap_or_else(|_| Policy {
            classes: Vec::new(),
            overrides: Vec::new(),
        })
    }
}

impl Policy {
    /// Starts a policy in code; see [`PolicyBuilder`].
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Reads a policy from TOML (SPEC §2.1).
    ///
    /// # Errors
    ///
    /// [`PolicyError::Syntax`] when the text is not TOML of the policy's
    /// shape (unknown fields included), [`PolicyError::Invalid`] naming the
    /// field when a value is out of range.
    #[cfg(feature = "toml")]
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let spec: PolicySpec = toml::from_str(text).map_err(|e| PolicyError::Syntax {
            format: "TOML",
            message: e.message().to_owned() + &toml_location(text, e.span()),
        })?;
        spec.into_policy()
    }

    /// Reads a policy from JSON, in the same shape as the TOML form.
    ///
    /// # Errors
    ///
    /// As [`from_toml_str`](Self::from_toml_str).
    #[cfg(feature = "json")]
    pub fn from_json_str(text: &str) -> Result<Policy, PolicyError> {
        let spec: PolicySpec = serde_json::from_str(text).map_err(|e| PolicyError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        spec.into_policy()
    }

    /// Writes the policy as TOML that [`from_toml_str`](Self::from_toml_str)
    /// reads back to an equal policy.
    #[cfg(feature = "toml")]
    pub fn to_toml_string(&self) -> String {
        // A PolicySpec holds only strings, integers, arrays and tables, all
        // of which TOML represents; serialization cannot fail.
        toml::to_string(&self.to_spec()).unwrap_or_default()
    }

    /// Writes the policy as JSON that [`from_json_str`](Self::from_json_str)
    /// reads back to an equal policy.
    #[cfg(feature = "json")]
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.to_spec()).unwrap_or_default()
    }

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
/// `u32::MAX` (SPEC §2).
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

#[cfg(feature = "toml")]
fn toml_location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count().saturating_add(1);
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

impl ClassPolicy {
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

/// Builds a [`Policy`] in code, with the same validation as a file.
///
/// ```
/// use tollgate::{Policy, WindowLength};
/// let minute = WindowLength::from_secs(60).unwrap();
/// let ten = WindowLength::from_secs(10).unwrap();
/// let policy = Policy::builder()
///     .class("read", &["GET", "HEAD"], 1000, minute)
///     .burst_multiplier(2, ten)
///     .class("write", &["POST", "PUT", "PATCH", "DELETE"], 60, minute)
///     .burst_multiplier(2, ten)
///     .override_limit("key_enterprise_42", "write", 600)
///     .build()?;
/// assert_eq!(policy.class_policy(policy.class("write").unwrap()).unwrap().windows()[1].limit(), 20);
/// # Ok::<(), tollgate::PolicyError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct PolicyBuilder {
    spec: PolicySpec,
}

impl PolicyBuilder {
    /// Adds a class with its primary window.
    pub fn class(mut self, name: &str, methods: &[&str], limit: u32, window: WindowLength) -> Self {
        self.spec.classes.push((
            name.to_owned(),
            ClassSpec {
                methods: methods.iter().map(|m| (*m).to_owned()).collect(),
                limit: Some(limit.into()),
                window: Some(window),
                burst: None,
                windows: None,
            },
        ));
        self
    }

    /// Gives the last class a burst window of `multiplier` times the
    /// pro-rated primary limit.
    pub fn burst_multiplier(mut self, multiplier: u32, window: WindowLength) -> Self {
        if let Some((_, class)) = self.spec.classes.last_mut() {
            class.burst = Some(BurstSpec {
                multiplier: Some(multiplier.into()),
                limit: None,
                window: Some(window),
            });
        }
        self
    }

    /// Gives the last class a burst window with its own limit.
    pub fn burst_limit(mut self, limit: u32, window: WindowLength) -> Self {
        if let Some((_, class)) = self.spec.classes.last_mut() {
            class.burst = Some(BurstSpec {
                multiplier: None,
                limit: Some(limit.into()),
                window: Some(window),
            });
        }
        self
    }

    /// Adds another window to the last class (beyond the primary and the
    /// burst), for example a daily quota.
    pub fn window(mut self, limit: u32, window: WindowLength) -> Self {
        if let Some((_, class)) = self.spec.classes.last_mut() {
            class.windows.get_or_insert_with(Vec::new).push(WindowSpec {
                limit: limit.into(),
                window: Some(window),
            });
        }
        self
    }

    /// Gives `key` its own primary limit for `class` (by name); a burst
    /// given as a multiplier scales with it.
    pub fn override_limit(mut self, key: &str, class: &str, limit: u32) -> Self {
        self.spec.overrides.push(OverrideSpec {
            key: key.to_owned(),
            class: class.to_owned(),
            limit: Some(limit.into()),
            burst: None,
            windows: None,
        });
        self
    }

    /// Gives `key` its own limits for `class` (by name), one per window of
    /// the class, longest window first.
    pub fn override_limits(mut self, key: &str, class: &str, limits: &[u32]) -> Self {
        self.spec.overrides.push(OverrideSpec {
            key: key.to_owned(),
            class: class.to_owned(),
            limit: None,
            burst: None,
            windows: Some(
                limits
                    .iter()
                    .map(|&l| WindowSpec {
                        limit: l.into(),
                        window: None,
                    })
                    .collect(),
            ),
        });
        self
    }

    /// Validates and returns the policy.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] naming the first field that is out of range.
    pub fn build(self) -> Result<Policy, PolicyError> {
        self.spec.into_policy()
    }
}
