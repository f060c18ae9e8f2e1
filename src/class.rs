//! Method classes: which limits a request counts against.

/// A method class of a [`Policy`](crate::Policy): a small index, cheap to
/// copy, resolved once (from a name with [`Policy::class`](crate::Policy::class)
/// or from a method with [`Policy::class_for_method`](crate::Policy::class_for_method))
/// and then passed to every check.
///
/// A `Class` is only meaningful for the policy it came from. Checking with
/// a class the limiter's policy does not have is not an error that panics:
/// the decision's outcome is [`Outcome::UnknownClass`](crate::Outcome::UnknownClass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Class(pub(crate) u8);

impl Class {
    /// The read class of [`Policy::default()`](crate::Policy::default):
    /// `GET`, `HEAD`, `OPTIONS`; 1000 per minute, 333 per 10 seconds.
    pub const READ: Class = Class(0);
    /// The write class of [`Policy::default()`](crate::Policy::default):
    /// `POST`, `PUT`, `PATCH`, `DELETE`; 60 per minute, 20 per 10 seconds.
    pub const WRITE: Class = Class(1);

    /// Maps an HTTP method to its class under [`Policy::default()`](crate::Policy::default).
    ///
    /// Methods are case-sensitive (RFC 9110 §9.1): `"GET"` is a read,
    /// `"get"` is no known method and gives `None`, as does any method
    /// outside the table (`CONNECT`, `TRACE`, extensions). For another
    /// policy use [`Policy::class_for_method`](crate::Policy::class_for_method).
    pub fn from_method(method: &str) -> Option<Class> {
        match method {
            "GET" | "HEAD" | "OPTIONS" => Some(Class::READ),
            "POST" | "PUT" | "PATCH" | "DELETE" => Some(Class::WRITE),
            _ => None,
        }
    }

    /// The class's position in its policy, from 0.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_reference_methods() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert_eq!(Class::from_method(m), Some(Class::READ));
        }
        for m in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(Class::from_method(m), Some(Class::WRITE));
        }
        for m in ["get", "CONNECT", "TRACE", "", "GET ", "\u{0}"] {
            assert_eq!(Class::from_method(m), None);
        }
    }
}
