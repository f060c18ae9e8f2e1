//! Key fingerprints: what the layer's events say of a key, since an API
//! key is a credential and never appears in a log.
//!
//! A fingerprint is a hash of the key's bytes (as [`RateKey::key_bytes`]
//! gives them) under a seed drawn at random when the layer is built
//! (std's `RandomState`): 64 bits, rendered as 16 hex digits. The same key
//! has the same fingerprint for the life of the layer, so an operator can
//! follow one caller through the events; two keys share one only if their
//! hashes collide (with k keys, probability about k² / 2^65).
//!
//! It is not reversible: the seed never leaves the process (no event or
//! method shows it), so the logs alone neither give a key back nor let
//! their reader test a guessed key against a fingerprint. std does not
//! promise a cryptographic hash: a fingerprint is a pseudonym for logs,
//! not a protection for keys that leak elsewhere. It is not stable
//! across restarts, nor between two layers: each draws its own seed.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use crate::rate_key::RateKey;

/// The seed of one layer's fingerprints.
#[derive(Debug)]
pub(crate) struct Fingerprints(RandomState);

/// A key's fingerprint: displayed as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u64);

impl Fingerprints {
    /// Fingerprints under a seed of their own.
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
        // Another layer, another seed.
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
