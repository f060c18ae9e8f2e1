//! Building a policy in code.

use super::spec::{BurstSpec, ClassSpec, OverrideSpec, PolicySpec, WindowSpec};
use super::Policy;
use crate::error::PolicyError;
use crate::length::WindowLength;

impl Policy {
    /// Starts a policy in code; see [`PolicyBuilder`].
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
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
