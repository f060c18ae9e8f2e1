//! The policy file's shape: every field as written, before validation
//! (see `validate`). The builder fills it in code; with the `serde`
//! feature, serde reads and writes it (TOML and JSON alike, or any other
//! self-describing format).

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::length::WindowLength;

/// An integer as written in the file, kept wide so that a value out of
/// range is reported with its field rather than as a type error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amount(pub(crate) Option<i128>);

impl From<u32> for Amount {
    fn from(v: u32) -> Self {
        Self(Some(i128::from(v)))
    }
}

/// The whole file.
#[derive(Debug, Default, Clone)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub(crate) struct PolicySpec {
    #[cfg_attr(feature = "serde", serde(default, with = "ordered"))]
    pub(crate) classes: Vec<(String, ClassSpec)>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub(crate) overrides: Vec<OverrideSpec>,
}

/// `[classes.NAME]`.
#[derive(Debug, Default, Clone)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub(crate) struct ClassSpec {
    #[cfg_attr(feature = "serde", serde(default))]
    pub(crate) methods: Vec<String>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) limit: Option<Amount>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) window: Option<WindowLength>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) burst: Option<BurstSpec>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) windows: Option<Vec<WindowSpec>>,
}

/// `burst = { multiplier = 2, window = "10s" }` or `{ limit = 333, ... }`.
#[derive(Debug, Default, Clone)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub(crate) struct BurstSpec {
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) multiplier: Option<Amount>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) limit: Option<Amount>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) window: Option<WindowLength>,
}

/// `{ limit = 1000, window = "1m" }`.
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub(crate) struct WindowSpec {
    pub(crate) limit: Amount,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) window: Option<WindowLength>,
}

/// `[[overrides]]`.
#[derive(Debug, Default, Clone)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize, Deserialize),
    serde(deny_unknown_fields)
)]
pub(crate) struct OverrideSpec {
    pub(crate) key: String,
    pub(crate) class: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) limit: Option<Amount>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) burst: Option<BurstSpec>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub(crate) windows: Option<Vec<WindowSpec>>,
}

/// Classes as a map in file order, rejecting duplicate names (JSON allows
/// them; TOML does not).
#[cfg(feature = "serde")]
mod ordered {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use super::ClassSpec;
    use crate::policy::MAX_CLASSES;

    pub(crate) fn serialize<S: Serializer>(
        classes: &[(String, ClassSpec)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(classes.len()))?;
        for (name, class) in classes {
            map.serialize_entry(name, class)?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, ClassSpec)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, ClassSpec)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of classes by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, ClassSpec)> = Vec::new();
                while let Some((name, class)) = map.next_entry::<String, ClassSpec>()? {
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate class name {name:?}"
                        )));
                    }
                    if out.len() >= MAX_CLASSES {
                        return Err(serde::de::Error::custom(format!(
                            "more than {MAX_CLASSES} classes"
                        )));
                    }
                    out.push((name, class));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// An `Amount` reads any integer as written and a float as no whole
/// number (an error that validation names with its field); it writes as
/// an `i64`.
#[cfg(feature = "serde")]
mod amount {
    use std::fmt;

    use serde::de::Visitor;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Amount;

    impl Serialize for Amount {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.0.and_then(|v| i64::try_from(v).ok()) {
                Some(v) => s.serialize_i64(v),
                None => Err(serde::ser::Error::custom("not a whole number")),
            }
        }
    }

    impl<'de> Deserialize<'de> for Amount {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Amount;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a whole number")
                }
                fn visit_i64<E>(self, v: i64) -> Result<Amount, E> {
                    Ok(Amount(Some(i128::from(v))))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Amount, E> {
                    Ok(Amount(Some(i128::from(v))))
                }
                fn visit_i128<E>(self, v: i128) -> Result<Amount, E> {
                    Ok(Amount(Some(v)))
                }
                fn visit_u128<E>(self, v: u128) -> Result<Amount, E> {
                    Ok(Amount(Some(i128::try_from(v).unwrap_or(i128::MAX))))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Amount, E> {
                    Ok(Amount(None))
                }
            }
            d.deserialize_any(V)
        }
    }
}
