//! Window lengths, as people write them: "10s", "1m", "1h", "1d".
//!
//! A window is a whole number of seconds, at least one. The same
//! text form is used for reading policy files and for the `window` field of
//! the 429 body, so `"1m"` read from a file renders back as `"1m"`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// The length of a fixed window: a whole number of seconds, at least 1.
///
/// Renders as the largest unit that divides it exactly — `"10s"`, `"1m"`,
/// `"1h"`, `"1d"`, otherwise seconds (`"90s"`) — and parses from one or
/// more `<integer><unit>` parts with units `d`, `h`, `m`, `s` in that order
/// (`"1h30m"`, `" 90s "`). With the `serde` feature it is written in
/// that text form and read from it or from a whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowLength(NonZeroU32);

impl WindowLength {
    /// The longest window accepted: 100 years of 365 days, in seconds. A
    /// limit over a longer window is indistinguishable from a quota that
    /// never resets, and the bound keeps every `reset` far from overflow.
    pub const MAX_SECS: u64 = 100 * 365 * 86_400;

    /// A window of `secs` seconds, or `None` when `secs` is 0 or above
    /// [`MAX_SECS`](Self::MAX_SECS).
    pub const fn from_secs(secs: u64) -> Option<Self> {
        if secs > Self::MAX_SECS {
            return None;
        }
        // MAX_SECS is below 2^32, so the narrowing is exact; held in 32
        // bits (with 0 as the niche), a `Window` is 8 bytes and an
        // `Option<Window>` too, which keeps a `Decision` small.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked above: secs is at most MAX_SECS, below 2^32"
        )]
        match NonZeroU32::new(secs as u32) {
            Some(secs) => Some(Self(secs)),
            None => None,
        }
    }

    /// The length in seconds (at least 1).
    pub const fn as_secs(self) -> u64 {
        self.0.get() as u64
    }

    /// The length as a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.as_secs())
    }
}

// Every accepted length fits the 32-bit representation.
const _: () = assert!(WindowLength::MAX_SECS <= u32::MAX as u64);

impl fmt::Display for WindowLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.as_secs();
        let (n, unit) = if secs % 86_400 == 0 {
            (secs / 86_400, 'd')
        } else if secs % 3_600 == 0 {
            (secs / 3_600, 'h')
        } else if secs % 60 == 0 {
            (secs / 60, 'm')
        } else {
            (secs, 's')
        };
        write!(f, "{n}{unit}")
    }
}

/// Why a window length did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LengthError {
    /// The text is empty.
    Empty,
    /// A part has no digits or no unit, or an unknown unit.
    Syntax {
        /// The text, cut to 64 characters.
        text: String,
    },
    /// Sub-second units (`ms`, `us`, `ns`) are not windows.
    SubSecond,
    /// Units out of order or repeated, as in `"1m1h"` or `"1m1m"`.
    UnitOrder,
    /// Zero seconds in all.
    Zero,
    /// Longer than [`WindowLength::MAX_SECS`].
    TooLong,
}

impl fmt::Display for LengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty window length (expected e.g. \"10s\", \"1m\", \"1h\")"),
            Self::Syntax { text } => write!(
                f,
                "invalid window length {text:?} (expected <integer><unit> with unit d, h, m or s, e.g. \"10s\")"
            ),
            Self::SubSecond => f.write_str("window lengths are whole seconds; sub-second units are not allowed"),
            Self::UnitOrder => f.write_str("window length units must go from largest to smallest, each once (e.g. \"1h30m\")"),
            Self::Zero => f.write_str("window length must be at least 1 second"),
            Self::TooLong => write!(f, "window length must be at most {} seconds (100 years)", WindowLength::MAX_SECS),
        }
    }
}

impl std::error::Error for LengthError {}

impl FromStr for WindowLength {
    type Err = LengthError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        if s.is_empty() {
            return Err(LengthError::Empty);
        }
        let syntax = || LengthError::Syntax {
            text: text.chars().take(64).collect(),
        };
        let mut total: u64 = 0;
        // Rank of the last unit seen: units must strictly decrease.
        let mut last_rank = u8::MAX;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(syntax());
            }
            let (number, after) = rest.split_at(digits);
            let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
            let (unit, after) = after.split_at(letters);
            let (rank, scale) = match unit {
                "d" => (3, 86_400),
                "h" => (2, 3_600),
                "m" => (1, 60),
                "s" => (0, 1),
                "ms" | "us" | "µs" | "ns" => return Err(LengthError::SubSecond),
                _ => return Err(syntax()),
            };
            if rank >= last_rank {
                return Err(LengthError::UnitOrder);
            }
            last_rank = rank;
            let n: u64 = number.parse().map_err(|_| LengthError::TooLong)?;
            total = n
                .checked_mul(scale)
                .and_then(|part| total.checked_add(part))
                .ok_or(LengthError::TooLong)?;
            rest = after;
        }
        if total == 0 {
            return Err(LengthError::Zero);
        }
        Self::from_secs(total).ok_or(LengthError::TooLong)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for WindowLength {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for WindowLength {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WindowLength;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a window length such as \"10s\", \"1m\" or \"1h\", or a whole number of seconds")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                match v {
                    0 => Err(E::custom(LengthError::Zero)),
                    _ => WindowLength::from_secs(v).ok_or_else(|| E::custom(LengthError::TooLong)),
                }
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(LengthError::Zero)),
                }
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom(LengthError::SubSecond))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(s: &str) -> Result<u64, LengthError> {
        s.parse::<WindowLength>().map(WindowLength::as_secs)
    }

    #[test]
    fn renders_in_the_largest_exact_unit() {
        let cases = [
            (10, "10s"),
            (60, "1m"),
            (3_600, "1h"),
            (86_400, "1d"),
            (90, "90s"),
            (120, "2m"),
            (5_400, "90m"),
            (1, "1s"),
            (172_800, "2d"),
        ];
        for (secs, text) in cases {
            assert_eq!(WindowLength::from_secs(secs).unwrap().to_string(), text);
        }
    }

    #[test]
    fn parses_human_forms() {
        assert_eq!(len("10s"), Ok(10));
        assert_eq!(len("1m"), Ok(60));
        assert_eq!(len(" 1h "), Ok(3_600));
        assert_eq!(len("1d"), Ok(86_400));
        assert_eq!(len("1h30m"), Ok(5_400));
        assert_eq!(len("1d2h3m4s"), Ok(93_784));
        assert_eq!(len("0m30s"), Ok(30));
    }

    #[test]
    fn rejects_bad_lengths_with_a_reason() {
        assert_eq!(len(""), Err(LengthError::Empty));
        assert_eq!(len("   "), Err(LengthError::Empty));
        assert_eq!(len("0s"), Err(LengthError::Zero));
        assert_eq!(len("500ms"), Err(LengthError::SubSecond));
        assert_eq!(len("1m1h"), Err(LengthError::UnitOrder));
        assert_eq!(len("1m1m"), Err(LengthError::UnitOrder));
        assert!(matches!(len("10"), Err(LengthError::Syntax { .. })));
        assert!(matches!(len("s"), Err(LengthError::Syntax { .. })));
        assert!(matches!(len("1w"), Err(LengthError::Syntax { .. })));
        assert!(matches!(len("-1s"), Err(LengthError::Syntax { .. })));
        assert!(matches!(len("1 m"), Err(LengthError::Syntax { .. })));
        assert_eq!(len("99999999999999999999999s"), Err(LengthError::TooLong));
        assert_eq!(len("18446744073709551615d"), Err(LengthError::TooLong));
        assert_eq!(len("101000d"), Err(LengthError::TooLong));
    }

    #[test]
    fn every_rendering_parses_back() {
        for secs in [
            1,
            9,
            10,
            59,
            60,
            61,
            3_599,
            3_600,
            86_399,
            86_400,
            WindowLength::MAX_SECS,
        ] {
            let w = WindowLength::from_secs(secs).unwrap();
            assert_eq!(w.to_string().parse::<WindowLength>(), Ok(w));
        }
    }
}
