//! The class of a request's method, looked up without comparing strings.

use http::Method;
use tollgate::{Class, Policy};

/// The standard methods, most frequent first.
const STANDARD: [Method; 9] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

/// The policy's class of each standard method, found once when the layer
/// is built: `http`'s standard methods compare as one-byte tags, where
/// [`Policy::class_for_method`] compares the method's name with every
/// name of every class. Extension methods still go through the policy.
#[derive(Debug, Clone)]
pub(crate) struct MethodClasses {
    standard: [Option<Class>; STANDARD.len()],
}

impl MethodClasses {
    /// The classes of the standard methods under `policy`.
    pub(crate) fn new(policy: &Policy) -> Self {
        Self {
            standard: STANDARD.map(|m| policy.class_for_method(m.as_str())),
        }
    }

    /// The class of `method` under `policy`, the policy these classes were
    /// found in: what `policy.class_for_method(method.as_str())` answers.
    pub(crate) fn class(&self, policy: &Policy, method: &Method) -> Option<Class> {
        for (m, class) in STANDARD.iter().zip(&self.standard) {
            if m == method {
                return *class;
            }
        }
        policy.class_for_method(method.as_str())
    }
}

#[cfg(test)]
mod tests {
    use tollgate::WindowLength;

    use super::*;

    /// The same class as the policy's own lookup, for standard and
    /// extension methods, under the reference policy and one that leaves
    /// methods out and lists an extension method.
    #[test]
    fn same_as_the_policys_lookup() {
        let minute = WindowLength::from_secs(60).unwrap();
        let other = Policy::builder()
            .class("read", &["GET"], 10, minute)
            .class("purge", &["PURGE", "DELETE"], 1, minute)
            .build()
            .unwrap();
        for policy in [Policy::default(), other] {
            let classes = MethodClasses::new(&policy);
            let methods = STANDARD.iter().cloned().chain(
                ["PURGE", "get", "PROPFIND"].map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
            );
            for m in methods {
                assert_eq!(
                    classes.class(&policy, &m),
                    policy.class_for_method(m.as_str()),
                    "{m}"
                );
            }
        }
    }
}
