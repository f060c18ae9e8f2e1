//! Redis key names: `<prefix>{<api key>}:<class>`.
//!
//! The braces make the API key the name's hash tag, so that in a Redis
//! Cluster every class (and every window, which share one value) of one
//! API key lives in one slot; names never depend on the clock. The
//! API key's bytes go in as they are (binary-safe), up to a bounded
//! length. An API key that itself holds a `}` moves the end of the hash
//! tag, but every class of that key still shares its tag, and distinct
//! keys still get distinct names: only the slot changes.

use std::io::Write as _;

use redis::{RedisWrite, ToRedisArgs};
use tollgate::Class;

/// The default prefix of every name.
pub const DEFAULT_PREFIX: &str = "tollgate:";

/// The longest API key accepted by default, in bytes.
pub const DEFAULT_MAX_KEY_LEN: usize = 512;

/// The name of (`key`, `class`) under `prefix`, written straight into a
/// command's argument (`cmd.arg(name)`): no buffer of its own, no
/// formatting machinery, since every decision sends one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Name<'a> {
    prefix: &'a [u8],
    key: &'a [u8],
    class: Class,
}

impl<'a> Name<'a> {
    /// The name of (`key`, `class`) under `prefix`.
    pub(crate) fn new(prefix: &'a [u8], key: &'a [u8], class: Class) -> Self {
        Self { prefix, key, class }
    }

    /// Its length in bytes, at most: for sizing the command it goes in.
    pub(crate) fn max_len(&self) -> usize {
        // `{`, `}:`, and the class's digits (a usize has at most 20).
        self.prefix
            .len()
            .saturating_add(self.key.len())
            .saturating_add(23)
    }

    /// Writes the name, piece by piece, to `put`.
    fn write_to(&self, mut put: impl FnMut(&[u8])) {
        put(self.prefix);
        put(b"{");
        put(self.key);
        put(b"}:");
        put(itoa::Buffer::new().format(self.class.index()).as_bytes());
    }
}

impl ToRedisArgs for Name<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let mut arg = out.writer_for_next_arg();
        self.write_to(|bytes| {
            // A command's arguments are a Vec: writing to it cannot fail.
            let _ = arg.write_all(bytes);
        });
    }
}

/// The name of (`key`, `class`) under `prefix`, as bytes.
#[cfg(test)]
pub(crate) fn name(prefix: &[u8], key: &[u8], class: Class) -> Vec<u8> {
    let mut out = Vec::new();
    Name::new(prefix, key, class).write_to(|bytes| out.extend_from_slice(bytes));
    out
}

/// The part of a name Redis Cluster hashes to pick its slot: the bytes
/// between the first `{` and the next `}`, when there are any.
#[cfg(test)]
pub(crate) fn hash_tag(name: &[u8]) -> &[u8] {
    let Some(open) = name.iter().position(|&b| b == b'{') else {
        return name;
    };
    let rest = name.get(open.saturating_add(1)..).unwrap_or(&[]);
    match rest.iter().position(|&b| b == b'}') {
        Some(0) | None => name,
        Some(close) => &rest[..close],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_into_a_command() {
        let key = b"\x00key}\xff";
        let n = Name::new(b"tg:", key, Class::WRITE);
        let mut cmd = redis::cmd("GET");
        cmd.arg(n).arg("next");
        let args: Vec<_> = cmd
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => b.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(
            args,
            [
                b"GET".to_vec(),
                name(b"tg:", key, Class::WRITE),
                b"next".to_vec()
            ]
        );
        assert!(n.max_len() >= args[1].len());
    }

    #[test]
    fn names() {
        let n = |key: &[u8], class| name(b"tg:", key, class);
        assert_eq!(n(b"key_1", Class::READ), b"tg:{key_1}:0");
        assert_eq!(n(b"key_1", Class::WRITE), b"tg:{key_1}:1");
        // Binary bytes go in as they are.
        assert_eq!(n(b"\x00\xff\r\n", Class::READ), b"tg:{\x00\xff\r\n}:0");
    }

    #[test]
    fn every_class_of_a_key_shares_its_tag() {
        for key in [&b"key_1"[..], b"a}b", b"}", b"", b"{x}"] {
            let read = name(b"tg:", key, Class::READ);
            let write = name(b"tg:", key, Class::WRITE);
            if hash_tag(&read) != read.as_slice() {
                assert_eq!(hash_tag(&read), hash_tag(&write), "{key:?}");
            }
        }
        assert_eq!(hash_tag(&name(b"tg:", b"key_1", Class::READ)), b"key_1");
        assert_eq!(hash_tag(&name(b"tg:", b"a}b", Class::READ)), b"a");
    }

    #[test]
    fn class_numbers() {
        let policy = tollgate::Policy::default();
        let (class, _) = policy.classes().last().unwrap();
        assert_eq!(name(b"", b"k", class), b"{k}:1");
        for (class, _) in policy.classes() {
            let out = name(b"p", b"k", class);
            assert_eq!(out, format!("p{{k}}:{}", class.index()).as_bytes());
        }
    }
}
