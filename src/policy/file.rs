//! Reading and writing policies: as TOML and JSON text, through serde
//! in the same shape (so that a policy nests in an application's own
//! configuration), and the reference policy.

use super::spec::{BurstSpec, ClassSpec, PolicySpec};
use super::Policy;
#[cfg(any(feature = "toml", feature = "json"))]
use crate::error::PolicyError;
use crate::length::WindowLength;

impl Default for Policy {
    /// The reference policy: reads (`GET`, `HEAD`, `OPTIONS`)
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
    /// Reads a policy from TOML, in the format of the [module
    /// docs](crate::policy#the-file-format).
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

/// Writes the policy in the shape of the policy file: its TOML or JSON
/// form reads back (`Policy::from_toml_str`, `Policy::from_json_str`) to
/// an equal policy.
#[cfg(feature = "serde")]
impl serde::Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.to_spec(), serializer)
    }
}

/// Reads a policy in the shape of the policy file, from any
/// self-describing format (TOML, JSON, YAML, ...), with every check of
/// `Policy::from_toml_str`: a policy that fails one is the format's error,
/// carrying the message of its `PolicyError`, never a panic.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec: PolicySpec = serde::Deserialize::deserialize(deserializer)?;
        spec.into_policy().map_err(serde::de::Error::custom)
    }
}
