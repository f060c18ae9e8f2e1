//! Request ids for error bodies: the caller's `X-Request-Id`, or one made
//! here.

use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Request-Id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller's `X-Request-Id` used as given, in bytes; a longer
/// one is replaced by a generated id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request id: `req_` and 28 hex digits at most when generated, or the
/// caller's, in an inline buffer.
#[derive(Clone, Copy)]
pub(crate) struct RequestId {
    buf: [u8; MAX_REQUEST_ID_LEN],
    len: usize,
}

impl RequestId {
    /// The caller's `X-Request-Id` when it is a single field of 1 to
    /// [`MAX_REQUEST_ID_LEN`] visible ASCII bytes, otherwise a new id.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(&X_REQUEST_ID).iter();
        if let (Some(value), None) = (values.next(), values.next()) {
            let bytes = value.as_bytes();
            if (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len())
                && bytes.iter().all(u8::is_ascii_graphic)
            {
                let mut id = Self::empty();
                if id
                    .write_str(std::str::from_utf8(bytes).unwrap_or(""))
                    .is_ok()
                    && id.len > 0
                {
                    return id;
                }
            }
        }
        Self::generate()
    }

    /// `req_` and a per-process random prefix (16 hex digits) followed by
    /// a counter (12 hex digits, wrapping after 2^48 ids).
    pub(crate) fn generate() -> Self {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            // std's RandomState is keyed from the operating system's
            // randomness; finishing an empty hasher yields a random u64.
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        // Relaxed: ids only need to be distinct, which the read-modify-write
        // guarantees; no other memory hangs on the counter.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff;
        let mut id = Self::empty();
        // 4 + 16 + 12 bytes fit the buffer: the write cannot fail.
        let _ = write!(id, "req_{prefix:016x}{n:012x}");
        id
    }

    fn empty() -> Self {
        Self {
            buf: [0; MAX_REQUEST_ID_LEN],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only visible ASCII is ever written.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }

    /// The id as a header value, to echo it.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(self.as_str()).ok()
    }
}

impl fmt::Write for RequestId {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dest = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_prefixed() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert!(a.as_str().starts_with("req_"), "{a:?}");
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str()[..20], b.as_str()[..20]);
    }

    #[test]
    fn the_callers_id_is_used_when_sane() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(RequestId::of(&h).as_str(), "abc-123");

        for bad in [&b""[..], b"has space", b"\xff\xfe", &[b'a'; 129][..]] {
            let mut h = HeaderMap::new();
            h.insert(X_REQUEST_ID, HeaderValue::from_bytes(bad).unwrap());
            assert!(RequestId::of(&h).as_str().starts_with("req_"), "{bad:?}");
        }
        let mut h = HeaderMap::new();
        h.append(X_REQUEST_ID, HeaderValue::from_static("one"));
        h.append(X_REQUEST_ID, HeaderValue::from_static("two"));
        assert!(RequestId::of(&h).as_str().starts_with("req_"));
    }
}
