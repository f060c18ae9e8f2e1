//! The jitter of a pacer for a shared key: a splitmix64 generator for
//! callers that bring no randomness of their own, and the even mapping of
//! a random `u64` onto zero to the largest jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// splitmix64 (Steele, Lea and Flood, 2014) over an atomic counter: each
/// call takes the next value of the counter, so threads sharing one
/// generator never draw the same output twice. Not for cryptography.
#[derive(Debug)]
pub(crate) struct Generator {
    state: AtomicU64,
}

/// splitmix64's increment: 2^64 divided by the golden ratio, made odd.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Generator {
    /// A generator whose sequence is fixed by `seed`.
    pub(crate) fn with_seed(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// A generator with a random seed: std's `RandomState` is keyed from
    /// the operating system's randomness, and finishing an empty hasher
    /// yields a random `u64`.
    pub(crate) fn random() -> Self {
        Self::with_seed(RandomState::new().build_hasher().finish())
    }

    /// The next output.
    pub(crate) fn next(&self) -> u64 {
        // Relaxed: each call needs only its own value of the counter, which
        // the read-modify-write guarantees; the generator publishes no
        // other memory.
        let previous = self.state.fetch_add(GOLDEN_GAMMA, Ordering::Relaxed);
        mix(previous.wrapping_add(GOLDEN_GAMMA))
    }
}

/// splitmix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps `random` evenly onto zero to `max` inclusive, at nanosecond
/// resolution: `random * (max + 1) / 2^64` nanoseconds. A `max` above
/// `u64::MAX` nanoseconds (584 years) counts as that.
pub(crate) fn scale(random: u64, max: Duration) -> Duration {
    let span = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    // At most (2^64 - 1) * 2^64: fits in a u128.
    let nanos = u128::from(random)
        .checked_mul(u128::from(span).saturating_add(1))
        .and_then(|product| product.checked_shr(64))
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_covers_zero_to_max_inclusive() {
        let max = Duration::from_millis(500);
        assert_eq!(scale(0, max), Duration::ZERO);
        assert_eq!(scale(u64::MAX, max), max);
        assert_eq!(scale(1 << 63, max), max / 2);
        assert_eq!(scale(u64::MAX, Duration::ZERO), Duration::ZERO);
        assert_eq!(
            scale(u64::MAX, Duration::MAX),
            Duration::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn splitmix64_reference_outputs() {
        // The reference sequence for seed 1234567 (Vigna's splitmix64.c).
        let g = Generator::with_seed(1_234_567);
        for expected in [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
        ] {
            assert_eq!(g.next(), expected);
        }
    }

    #[test]
    fn random_seeds_differ() {
        assert_ne!(Generator::random().next(), Generator::random().next());
    }
}
