//! Requests from the outside world through the tower layer: any method,
//! any header fields (valid `HeaderValue`s, as a server hands them on),
//! a peer address or none, a clock that moves either way. Every answer is
//! checked against the model the layer's property test uses
//! (`tollgate-test-support`'s `tower` module): never a panic, and the
//! key, class, status, body, request id and fields the documentation
//! promises.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use arbitrary::Arbitrary;
use http::header::{HeaderName, HeaderValue};
use http::Method;
use libfuzzer_sys::fuzz_target;

use tollgate_test_support::tower::model::METHODS;
use tollgate_test_support::tower::oracle::{Call, Harness, Settings};

#[derive(Debug, Arbitrary)]
enum RawMethod<'a> {
    Standard(u8),
    Other(&'a [u8]),
}

/// A start for a field value that the fuzzer would take long to spell;
/// `Key` is one of two usable keys (with `Bearer ` in an `Authorization`
/// field), so that keys repeat and spend their limits.
#[derive(Debug, Arbitrary)]
enum Prefix {
    None,
    Bearer,
    BearerTab,
    Basic,
    Key(bool),
}

#[derive(Debug, Arbitrary)]
struct RawCall<'a> {
    method: RawMethod<'a>,
    fields: Vec<(u8, Prefix, &'a [u8])>,
    peer: Option<u8>,
    advance_secs: i8,
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    peer_ip: bool,
    unknown: u8,
    ietf: bool,
    max_len: u8,
    x_token: bool,
    inner_body: bool,
    calls: Vec<RawCall<'a>>,
}

const NAMES: [&str; 5] = [
    "authorization",
    "x-api-key",
    "x-token",
    "x-request-id",
    "accept",
];

fn call(raw: &RawCall<'_>) -> Option<Call> {
    let method = match raw.method {
        RawMethod::Standard(i) => METHODS[usize::from(i) % METHODS.len()].clone(),
        RawMethod::Other(bytes) => Method::from_bytes(bytes).ok()?,
    };
    let mut fields = Vec::new();
    for (name, prefix, value) in raw.fields.iter().take(6) {
        let name = NAMES[usize::from(*name) % NAMES.len()];
        let mut bytes = match prefix {
            Prefix::None => Vec::new(),
            Prefix::Bearer => b"Bearer ".to_vec(),
            Prefix::BearerTab => b"bearer\t".to_vec(),
            Prefix::Basic => b"Basic ".to_vec(),
            Prefix::Key(second) => {
                let scheme = if name == "authorization" {
                    "Bearer "
                } else {
                    ""
                };
                format!("{scheme}k{}", if *second { 2 } else { 1 }).into_bytes()
            }
        };
        bytes.extend_from_slice(value);
        // A server never hands on a value with control characters.
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            continue;
        };
        fields.push((HeaderName::from_static(name), value));
    }
    Some(Call {
        method,
        fields,
        peer: raw.peer.map(|n| IpAddr::V4(Ipv4Addr::new(10, 0, 0, n % 4))),
        advance_secs: i16::from(raw.advance_secs),
    })
}

fuzz_target!(|input: Input<'_>| {
    let mut harness = Harness::new(Settings {
        peer_ip: input.peer_ip,
        unknown: input.unknown,
        ietf: input.ietf,
        max_len: input.max_len,
        x_token: input.x_token,
        inner_body: input.inner_body,
    });
    for raw in input.calls.iter().take(64) {
        if let Some(call) = call(raw) {
            harness.run(&call);
        }
    }
});
