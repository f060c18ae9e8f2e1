//! Key fingerprints: what the layer's events say of a key, since an API
//! key is a credential and never appears in a log.
//!
//! A fingerprint is a keyed hash of the key's bytes (as
//! [`RateKey::key_bytes`] gives them), under a hash key drawn at random
//! when the layer is built (std's `RandomState`): 64 bits, rendered as 16
//! hex digits. The same key has the same fingerprint for the life of the
//! layer, so an operator can follow one caller through the events, and
//! different keys almost always differ (two of a million keys share one
//! with a probability of about 3 in 100 million).
//!
//! It cannot be turned back into the key: the hash key never leaves the
//! process, so whoever reads the logs cannot compute the fingerprint of a
//! guessed key to compare, and a fingerprint holds 64 bits of keys of up
//! to 256 bytes. For the same reason it is not stable across restarts (or
//! across layers): a new layer draws a new hash key.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use crate::rate_key::RateKey;

/// The hash key of one layer's fingerprints.
#[derive(Debug)]
pub(crate) struct Fingerprints(RandomState);

/// A key's fingerprint: displayed as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64);

impl Fingerprints {
    /// Fingerprints under a hash key of their own.
    pub(crate) fn new() -> Self {
        Self(RandomState::new())
    }

    /// The fingerprint of `key`.
    pub(crate) fn of<Q: RateKey + ?Sized>(&self, key: &Q) -> Fingerprint {
        let mut hasher = self.0.build_hasher();
        hasher.write(&key.key_bytes());
        Fingerprint(hasher.finish())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_one_fingerprint_per_layer() {
        let layer = Fingerprints::new();
        let a = layer.of("sk_live_alpha");
        assert_eq!(a, layer.of(&String::from("sk_live_alpha")));
        assert_ne!(a, layer.of("sk_live_beta"));
        // Keys of other types name themselves apart: 42 is not "42".
        assert_ne!(layer.of(&42_u64), layer.of("42"));
        // Another layer, another hash key.
        assert_ne!(a, Fingerprints::new().of("sk_live_alpha"));
    }

    #[test]
    fn sixteen_hex_digits() {
        for f in [Fingerprint(0), Fingerprint(0xab), Fingerprint(u64::MAX)] {
            let text = f.to_string();
            assert_eq!(text.len(), 16, "{text}");
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        assert_eq!(Fingerprint(0xab).to_string(), "00000000000000ab");
    }
}
