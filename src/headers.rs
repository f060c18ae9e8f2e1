//! Response header fields rendered from a decision, without
//! touching the heap.
//!
//! [`Decision::headers`] gives `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
//! `X-RateLimit-Reset` and, on a denial, `Retry-After`, each value a decimal
//! number in a small inline buffer. [`Decision::ietf_headers`] gives the
//! `RateLimit` field of the IETF draft (draft-ietf-httpapi-ratelimit-headers)
//! and [`policy_field`] its `RateLimit-Policy` field, offered beside the
//! `X-` fields, never instead of them.
//!
//! Field names are given in their usual spelling; HTTP field names are
//! case-insensitive, and [`Field::lowercase_name`] gives the form HTTP/2
//! and the `http` crate's `HeaderName::from_static` require.

use std::fmt::{self, Write as _};

use crate::decision::Decision;
use crate::window::Window;

/// `X-RateLimit-Limit`.
pub const X_RATELIMIT_LIMIT: &str = "X-RateLimit-Limit";
/// `X-RateLimit-Remaining`.
pub const X_RATELIMIT_REMAINING: &str = "X-RateLimit-Remaining";
/// `X-RateLimit-Reset`.
pub const X_RATELIMIT_RESET: &str = "X-RateLimit-Reset";
/// `Retry-After`.
pub const RETRY_AFTER: &str = "Retry-After";
/// `RateLimit` (IETF draft).
pub const RATELIMIT: &str = "RateLimit";
/// `RateLimit-Policy` (IETF draft).
pub const RATELIMIT_POLICY: &str = "RateLimit-Policy";

/// A field value in an inline buffer of `N` bytes: always ASCII.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldValue<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FieldValue<N> {
    const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (see `write_str`), so this never fails.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The value as bytes, for header APIs that take bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> fmt::Write for FieldValue<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s.is_ascii() {
            return Err(fmt::Error);
        }
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dest = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> fmt::Display for FieldValue<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for FieldValue<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> AsRef<str> for FieldValue<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<[u8]> for FieldValue<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A decimal number: 20 bytes hold any `u64`.
pub type Number = FieldValue<20>;

fn number(n: u64) -> Number {
    let mut v = Number::new();
    // 20 digits fit every u64: the write cannot fail.
    let _ = write!(v, "{n}");
    v
}

/// One header field: a name and a value of up to `N` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<const N: usize = 20> {
    /// The field name, in its usual spelling (`X-RateLimit-Limit`).
    pub name: &'static str,
    /// The field value.
    pub value: FieldValue<N>,
}

impl<const N: usize> Field<N> {
    /// The name in lowercase (`x-ratelimit-limit`), as HTTP/2 sends it.
    pub fn lowercase_name(&self) -> &'static str {
        match self.name {
            X_RATELIMIT_LIMIT => "x-ratelimit-limit",
            X_RATELIMIT_REMAINING => "x-ratelimit-remaining",
            X_RATELIMIT_RESET => "x-ratelimit-reset",
            RETRY_AFTER => "retry-after",
            RATELIMIT => "ratelimit",
            RATELIMIT_POLICY => "ratelimit-policy",
            other => other,
        }
    }
}

/// The `X-RateLimit-*` fields of a decision, and `Retry-After` on a
/// denial; iterate to get them in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    fields: [Field; 4],
    len: usize,
}

impl Headers {
    /// The fields, in order: limit, remaining, reset, then retry-after if any.
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
        self.fields.get(..self.len).unwrap_or(&[]).iter()
    }

    /// The value of the field called `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_str())
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Longest `RateLimit` value: a quoted policy name (class name up to 32
/// bytes, a dash and a window length up to 11 bytes) and two parameters.
const RATELIMIT_LEN: usize = 96;
/// Longest `RateLimit-Policy` value: four such items with `q` and `w`.
const POLICY_LEN: usize = 384;

/// The IETF `RateLimit` field of a decision.
pub type RateLimitField = Field<RATELIMIT_LEN>;
/// The IETF `RateLimit-Policy` field of a class.
pub type PolicyField = Field<POLICY_LEN>;

/// Writes the policy name of one window: `"<class>-<length>"`.
fn write_name<W: fmt::Write>(out: &mut W, class: &str, window: &Window) -> fmt::Result {
    // Class names are validated to [A-Za-z0-9_.-], safe inside quotes.
    write!(out, "\"{class}-{}\"", window.length())
}

impl Decision {
    /// The `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` fields, and `Retry-After` when the decision has
    /// a [`retry_after`](Decision::retry_after). No allocation.
    pub fn headers(&self) -> Headers {
        let field = |name, n| Field {
            name,
            value: number(n),
        };
        let mut fields = [
            field(X_RATELIMIT_LIMIT, self.limit().into()),
            field(X_RATELIMIT_REMAINING, self.remaining().into()),
            field(X_RATELIMIT_RESET, self.reset()),
            field(RETRY_AFTER, 0),
        ];
        let len = match self.retry_after() {
            Some(secs) => {
                fields[3].value = number(secs);
                4
            }
            None => 3,
        };
        Headers { fields, len }
    }

    /// The IETF draft `RateLimit` field: `"<class>-<window>";r=<remaining>;t=<seconds to reset>`,
    /// naming the window that binds (see [`Decision::binding`]); `class` is
    /// the class's name. `None` for an unknown class. No allocation.
    pub fn ietf_headers(&self, class: &str) -> Option<RateLimitField> {
        let window = self.binding()?;
        let mut value = FieldValue::new();
        write_name(&mut value, class, &window).ok()?;
        write!(value, ";r={};t={}", self.remaining(), self.reset_after()).ok()?;
        Some(Field {
            name: RATELIMIT,
            value,
        })
    }
}

/// The IETF draft `RateLimit-Policy` field for a class with the given
/// windows (with the key's limits: see
/// [`Limiter::limits_for`](crate::Limiter::limits_for)):
/// `"<class>-<window>";q=<limit>;w=<seconds>` per window, comma-separated.
/// `None` if a name is too long for the inline buffer (class names are at
/// most 32 bytes, so never for a validated policy). No allocation.
pub fn policy_field(class: &str, windows: &[Window]) -> Option<PolicyField> {
    let mut value = FieldValue::new();
    for (i, w) in windows.iter().enumerate() {
        if i > 0 {
            value.write_str(", ").ok()?;
        }
        write_name(&mut value, class, w).ok()?;
        write!(value, ";q={};w={}", w.limit(), w.length().as_secs()).ok()?;
    }
    Some(Field {
        name: RATELIMIT_POLICY,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_in_full() {
        assert_eq!(number(0).as_str(), "0");
        assert_eq!(number(u64::MAX).as_str(), "18446744073709551615");
    }

    #[test]
    fn a_full_buffer_refuses_rather_than_truncates() {
        let mut v = FieldValue::<4>::new();
        assert!(v.write_str("abcd").is_ok());
        assert!(v.write_str("e").is_err());
        assert_eq!(v.as_str(), "abcd");
        let mut v = FieldValue::<8>::new();
        assert!(v.write_str("é").is_err());
    }

    #[test]
    fn lowercase_names() {
        let f = Field {
            name: X_RATELIMIT_REMAINING,
            value: number(1),
        };
        assert_eq!(f.lowercase_name(), "x-ratelimit-remaining");
    }
}
