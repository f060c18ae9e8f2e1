//! Sequences of requests, odd ones included, through the layer, each
//! answer checked against the model in `support/oracle.rs`: the key and
//! class it counts under, the fields it renders, the status, body and
//! request id of its own answers, and whether the inner service is
//! called. The fuzz target `tower` runs the same model on libFuzzer's
//! inputs.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{HeaderName, HeaderValue};
use http::Method;
use proptest::prelude::*;
use support::oracle::{Call, Harness, Settings};
use tollgate_tower::DEFAULT_MAX_KEY_LEN;

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => prop::sample::select(vec![
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]),
        1 => prop::sample::select(vec![Method::OPTIONS, Method::TRACE, Method::CONNECT]),
        1 => "[A-Za-z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// Bytes a field value may hold, weighted towards a few key characters
/// (so that keys repeat) and the separators the parser cares about.
fn value_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => prop::sample::select(b"key_1".to_vec()),
        2 => Just(b' '),
        1 => Just(b'\t'),
        1 => 0x21u8..=0x7e,
        1 => 0x80u8..=0xff,
    ]
}

fn value() -> impl Strategy<Value = HeaderValue> {
    let prefix = prop::sample::select(vec![
        "",
        "",
        "Bearer ",
        "bearer\t",
        "  BEARER  ",
        "Bearer",
        "Basic ",
        "Bearerx",
        "Bear ",
    ]);
    let body = prop_oneof![
        8 => prop::collection::vec(value_byte(), 0..12),
        1 => (DEFAULT_MAX_KEY_LEN - 2..DEFAULT_MAX_KEY_LEN + 3).prop_map(|n| vec![b'k'; n]),
    ];
    (prefix, body).prop_map(|(prefix, body)| {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(body);
        HeaderValue::from_bytes(&bytes).unwrap()
    })
}

fn name() -> impl Strategy<Value = HeaderName> {
    prop::sample::select(vec![
        HeaderName::from_static("authorization"),
        HeaderName::from_static("authorization"),
        HeaderName::from_static("x-api-key"),
        HeaderName::from_static("x-api-key"),
        HeaderName::from_static("x-request-id"),
        HeaderName::from_static("accept"),
    ])
}

fn call() -> impl Strategy<Value = Call> {
    let peer = prop::option::of(prop::sample::select(vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]));
    let advance = prop_oneof![4 => Just(0i16), 3 => 1i16..12, 1 => Just(60i16), 1 => -20i16..0];
    (
        method(),
        prop::collection::vec((name(), value()), 0..4),
        peer,
        advance,
    )
        .prop_map(|(method, fields, peer, advance_secs)| Call {
            method,
            fields,
            peer,
            advance_secs,
        })
}

fn settings() -> impl Strategy<Value = Settings> {
    (any::<bool>(), 0u8..3, any::<bool>(), 0u8..3).prop_map(|(peer_ip, unknown, ietf, max_len)| {
        Settings {
            peer_ip,
            unknown,
            ietf,
            max_len,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_layer_answers_as_the_model_says(
        settings in settings(),
        calls in prop::collection::vec(call(), 1..40),
    ) {
        let mut harness = Harness::new(settings);
        for call in &calls {
            harness.run(call);
        }
    }
}

/// The model itself on the cases the key extractor's own tests spell
/// out, so that a wrong model cannot agree with a wrong layer unnoticed.
#[test]
fn the_model_reads_keys_as_documented() {
    use support::oracle::model_key;
    use tollgate_tower::KeyError;

    let key = |fields: &[(&str, &[u8])], max: usize| {
        let fields: Vec<_> = fields
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_bytes(v).unwrap(),
                )
            })
            .collect();
        model_key(&fields, max)
    };
    let ok = |k: &str| Ok(Some(k.to_owned()));
    let auth = |v: &[u8]| key(&[("authorization", v)], 256);
    assert_eq!(auth(b"Bearer key_1"), ok("key_1"));
    assert_eq!(auth(b"  bEaReR\t\tkey_1\t"), ok("key_1"));
    assert_eq!(auth(b"Bearerkey_1"), Ok(None));
    assert_eq!(auth(b"Basic abc"), Ok(None));
    assert_eq!(auth(b"Bearer"), Err(KeyError::Empty));
    assert_eq!(auth(b"Bearer a b"), Err(KeyError::Malformed));
    assert_eq!(auth(b"Bearer \xff"), Err(KeyError::Malformed));
    assert_eq!(
        key(&[("authorization", b"Bearer abcde")], 4),
        Err(KeyError::TooLong)
    );
    assert_eq!(
        key(&[("authorization", b"Basic x"), ("x-api-key", b" k ")], 256),
        ok("k")
    );
    assert_eq!(
        key(&[("authorization", b"Bearer a"), ("x-api-key", b"b")], 256),
        ok("a")
    );
    assert_eq!(
        key(&[("x-api-key", b"a"), ("x-api-key", b"a")], 256),
        Err(KeyError::Ambiguous)
    );
    assert_eq!(
        key(
            &[
                ("authorization", b"Basic a"),
                ("authorization", b"Bearer b")
            ],
            256
        ),
        Err(KeyError::Ambiguous)
    );
    assert_eq!(key(&[("accept", b"*/*")], 256), Ok(None));
}
