//! What a request can be counted against: any key that hashes, and that a
//! store can name.

use std::borrow::Cow;
use std::hash::Hash;
use std::rc::Rc;
use std::sync::Arc;

use crate::key::PeerKey;

/// A key the layer counts requests against: hashed by the in-process
/// limiter (as [`Limiter::check`](tollgate::Limiter::check) hashes any
/// key), named by its bytes in a store such as Redis.
///
/// Implemented for strings and byte strings (borrowed or owned), the
/// integer types and [`PeerKey`] (an address: `PeerKey(ip)`), and
/// references to any of them. Implement it for a key type of your own with the same rule as
/// these: two keys that hash alike must have the same bytes, and keys of
/// different types that could be mistaken for each other in a store
/// should not: the integer types and addresses name themselves with a
/// leading NUL byte and their type (`\0u64:42`, `\0peer:192.0.2.1`), which no text key a
/// client presents through [`ApiKey`](crate::ApiKey) can start with.
pub trait RateKey: Hash {
    /// The key's bytes, for a store's key names.
    fn key_bytes(&self) -> Cow<'_, [u8]>;
}

impl<T: RateKey + ?Sized> RateKey for &T {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        (**self).key_bytes()
    }
}

impl RateKey for str {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl RateKey for [u8] {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

/// Owned and shared forms hash as what they hold (`String` as `str`), so
/// they name the same state as the borrowed form.
macro_rules! as_borrowed {
    ($($owner:ty => $borrowed:ty),* $(,)?) => {$(
        impl RateKey for $owner {
            fn key_bytes(&self) -> Cow<'_, [u8]> {
                <$borrowed as RateKey>::key_bytes(self)
            }
        }
    )*};
}

as_borrowed!(
    String => str,
    Box<str> => str,
    Arc<str> => str,
    Rc<str> => str,
    Cow<'_, str> => str,
    Vec<u8> => [u8],
    Box<[u8]> => [u8],
    Arc<[u8]> => [u8],
    Cow<'_, [u8]> => [u8],
);

/// Integers name themselves `\0`, their type and their decimal digits:
/// `42u64` is `\0u64:42`, another key than the text `42`, and than `42u32`
/// (which the in-process limiter hashes differently too).
macro_rules! integer {
    ($($t:ty),* $(,)?) => {$(
        impl RateKey for $t {
            fn key_bytes(&self) -> Cow<'_, [u8]> {
                Cow::Owned(format!(concat!("\0", stringify!($t), ":{}"), self).into_bytes())
            }
        }
    )*};
}

integer!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// A peer address is named `\0peer:` and its text (`\0peer:192.0.2.1`):
/// no API key [`ApiKey`](crate::ApiKey) accepts starts with a NUL byte,
/// so no client can present another's address as its key.
impl RateKey for PeerKey {
    fn key_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(format!("\0peer:{}", self.0).into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// The hash of `key` under a fixed hasher, as the limiter would see it.
    fn hash<K: Hash + ?Sized>(key: &K) -> u64 {
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(key)
    }

    /// Owned, shared and borrowed forms of one key hash alike and name
    /// the same bytes: they are one key to either limiter.
    #[test]
    fn every_form_of_a_string_is_one_key() {
        let forms: [&dyn Fn() -> (u64, Vec<u8>); 6] = [
            &|| (hash("key_1"), "key_1".key_bytes().into_owned()),
            &|| (hash(&"key_1"), (&"key_1").key_bytes().into_owned()),
            &|| {
                let s = String::from("key_1");
                (hash(&s), s.key_bytes().into_owned())
            },
            &|| {
                let s: Arc<str> = Arc::from("key_1");
                (hash(&s), s.key_bytes().into_owned())
            },
            &|| {
                let s: Cow<'_, str> = Cow::Owned("key_1".into());
                (hash(&s), s.key_bytes().into_owned())
            },
            &|| {
                let s: Box<str> = "key_1".into();
                (hash(&s), s.key_bytes().into_owned())
            },
        ];
        let first = forms[0]();
        assert_eq!(first.1, b"key_1");
        for form in forms {
            assert_eq!(form(), first);
        }
    }

    /// Typed keys are named apart from text and from each other.
    #[test]
    fn typed_keys_name_their_type() {
        assert_eq!(42u64.key_bytes().as_ref(), b"\0u64:42");
        assert_eq!((-7i32).key_bytes().as_ref(), b"\0i32:-7");
        let ip = "192.0.2.1".parse().unwrap();
        assert_eq!(PeerKey(ip).key_bytes().as_ref(), b"\0peer:192.0.2.1");
        assert_ne!(42u32.key_bytes(), 42u64.key_bytes());
    }
}
