//! Errors of policy loading and of run-time changes.

use std::fmt;

/// Why a policy was rejected. Nothing about a policy file panics: every
/// problem is one of these, and [`Invalid`](Self::Invalid) names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not TOML or JSON of the policy's shape: a syntax error,
    /// a wrong type or an unknown field. `message` comes from the parser and
    /// names the field or the line.
    Syntax {
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The parser's description, with the field or line it concerns.
        message: String,
    },
    /// A value is out of range or contradicts another.
    Invalid {
        /// Where, as a path: `classes.write.burst.window`, `overrides[2].class`.
        field: String,
        /// What is wrong, and what is expected.
        message: String,
    },
}

impl PolicyError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field the error names, for [`Invalid`](Self::Invalid) errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { format, message } => write!(f, "invalid {format} policy: {message}"),
            Self::Invalid { field, message } => write!(f, "invalid policy: {field}: {message}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// Why a [`LimiterBuilder`](crate::LimiterBuilder) could not build.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The capacity was 0 or above the largest a limiter accepts.
    Capacity {
        /// The capacity asked for, in tracked states.
        requested: usize,
        /// The largest capacity accepted.
        max: usize,
    },
    /// The policy's overrides could not be installed (more than the
    /// override capacity).
    Overrides {
        /// Why.
        source: OverrideError,
    },
    /// The memory for the table or the overrides could not be had: the
    /// allocator refused it, or its size does not fit the address space.
    Memory {
        /// Bytes asked for (`usize::MAX` when the size itself overflows).
        bytes: usize,
    },
    /// A class's limits, with the policy's overrides of it, need more bits
    /// than a state word holds.
    Limits {
        /// The class's name.
        class: String,
        /// Bits its largest limits need.
        needed: u32,
        /// Bits a 128-bit state has for counts.
        available: u32,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capacity { requested, max } => write!(
                f,
                "capacity must be between 1 and {max} tracked states, got {requested}"
            ),
            Self::Overrides { source } => {
                write!(f, "cannot install the policy's overrides: {source}")
            }
            Self::Memory { bytes } => write!(
                f,
                "cannot allocate the limiter's memory ({bytes} bytes): lower the capacity or \
                 the override capacity"
            ),
            Self::Limits {
                class,
                needed,
                available,
            } => write!(
                f,
                "the limits of class {class:?} need {needed} bits of counts, and a state holds \
                 {available}: lower its limits or the policy's overrides of it"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Overrides { source } => Some(source),
            _ => None,
        }
    }
}

/// Why a per-key override could not be set at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverrideError {
    /// The class is not in the limiter's policy.
    UnknownClass,
    /// The number of limits differs from the class's number of windows.
    WindowCount {
        /// Windows of the class.
        expected: usize,
        /// Limits given.
        got: usize,
    },
    /// A limit of 0: a key that may do nothing is better refused before
    /// the limiter (a zero limit would also make every cost "never fits").
    ZeroLimit,
    /// Every override slot is taken (see `override_capacity`).
    Full {
        /// The number of overrides the limiter holds.
        capacity: usize,
    },
    /// A limit above what the class's counters hold. A state's counts
    /// share one word, sized when the limiter is built (see
    /// [`Limiter::max_limits`](crate::Limiter::max_limits)); build with
    /// [`wide_states(true)`](crate::LimiterBuilder::wide_states) for
    /// limits up to `u32::MAX` on every class of up to three windows.
    TooLarge {
        /// Position of the window (0 is the longest).
        window: usize,
        /// The largest limit that window holds.
        max: u32,
    },
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownClass => f.write_str("the class is not in the limiter's policy"),
            Self::WindowCount { expected, got } => {
                write!(
                    f,
                    "the class has {expected} windows but {got} limits were given"
                )
            }
            Self::ZeroLimit => f.write_str("limits must be at least 1"),
            Self::Full { capacity } => write!(f, "all {capacity} override slots are in use"),
            Self::TooLarge { window, max } => write!(
                f,
                "window {window} of the class holds limits up to {max}; \
                 build the limiter with wide_states(true) for larger ones"
            ),
        }
    }
}

impl std::error::Error for OverrideError {}
