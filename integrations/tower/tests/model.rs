//! Sequences of requests, odd ones included, through the layer, each
//! answer checked against the model in `tollgate-test-support`'s `tower`: the key and class it
//! counts under, the fields it renders, the status, body and request id
//! of its own answers, and whether the inner service is called. The fuzz
//! target `tower` runs the same model on libFuzzer's inputs.
//!
//! 256 sequences by default, 10,000 in CI (`ci/model.sh` sets
//! `PROPTEST_CASES`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{HeaderName, HeaderValue};
use http::Method;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tollgate_test_support::tower::model::{Refusal, METHODS};
use tollgate_test_support::tower::oracle::{Answer, Call, Harness, Settings};
use tollgate_tower::{KeyError, DEFAULT_MAX_KEY_LEN, MAX_REQUEST_ID_LEN, X_REQUEST_ID};

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        6 => prop::sample::select(&METHODS[..6]),
        1 => prop::sample::select(&METHODS[6..]),
        1 => "[A-Za-z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// Bytes a field value may hold, weighted towards the separators the
/// parser cares about.
fn value_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(b"key_1".to_vec()),
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
        // Around the length limits of keys (4, 16, 256).
        1 => prop::sample::select(vec![
            3, 4, 5, 15, 16, 17,
            DEFAULT_MAX_KEY_LEN - 1, DEFAULT_MAX_KEY_LEN, DEFAULT_MAX_KEY_LEN + 1,
        ])
        .prop_map(|n| vec![b'k'; n]),
    ];
    (prefix, body).prop_map(|(prefix, body)| {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(body);
        HeaderValue::from_bytes(&bytes).unwrap()
    })
}

/// A field and its value: often a usable key from a pool of two, so that
/// keys repeat and spend their limits; sometimes a request id around its
/// length limits; otherwise a key field with any value.
fn field() -> impl Strategy<Value = (HeaderName, HeaderValue)> {
    let usable = (
        // A bearer key counts under every setting; each fallback header
        // under one of the two.
        prop::sample::select(vec![
            ("authorization", "Bearer "),
            ("authorization", "Bearer "),
            ("x-api-key", ""),
            ("x-token", ""),
        ]),
        prop::sample::select(vec!["k1", "k2"]),
    )
        .prop_map(|((name, scheme), key)| {
            let value = HeaderValue::from_str(&format!("{scheme}{key}")).unwrap();
            (HeaderName::from_static(name), value)
        });
    let id_len = prop::sample::select(vec![
        0,
        1,
        2,
        MAX_REQUEST_ID_LEN - 1,
        MAX_REQUEST_ID_LEN,
        MAX_REQUEST_ID_LEN + 1,
    ]);
    let request_id = (id_len, prop::sample::select(b"r-r r\xe9".to_vec())).prop_map(|(n, odd)| {
        // Visible ASCII, or with one other byte in the middle.
        let mut id = vec![b'r'; n];
        if let Some(mid) = id.get_mut(n / 2) {
            *mid = odd;
        }
        (X_REQUEST_ID, HeaderValue::from_bytes(&id).unwrap())
    });
    let name = prop::sample::select(vec![
        "authorization",
        "authorization",
        "x-api-key",
        "x-token",
        "accept",
    ]);
    let any = (name, value()).prop_map(|(name, value)| (HeaderName::from_static(name), value));
    prop_oneof![6 => usable, 1 => request_id, 3 => any]
}

fn call() -> impl Strategy<Value = Call> {
    let peer = prop::option::weighted(
        0.8,
        prop::sample::select(vec![
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
    );
    let advance = prop_oneof![8 => Just(0i16), 3 => 1i16..12, 1 => Just(60i16), 1 => -20i16..0];
    // Mostly one field, so that two of a name (ambiguous) stay a minority.
    let fields = prop_oneof![
        2 => prop::collection::vec(field(), 0..1),
        6 => prop::collection::vec(field(), 1..2),
        2 => prop::collection::vec(field(), 2..4),
    ];
    (method(), fields, peer, advance).prop_map(|(method, fields, peer, advance_secs)| Call {
        method,
        fields,
        peer,
        advance_secs,
    })
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(peer_ip, unknown, ietf, max_len, x_token, inner_body)| Settings {
                peer_ip,
                unknown,
                ietf,
                max_len,
                x_token,
                inner_body,
            },
        )
}

fn sequence() -> impl Strategy<Value = (Settings, Vec<Call>)> {
    (settings(), prop::collection::vec(call(), 1..40))
}

proptest! {
    #[test]
    fn the_layer_answers_as_the_model_says((settings, calls) in sequence()) {
        let mut harness = Harness::new(settings);
        for call in &calls {
            harness.run(call);
        }
    }
}

/// The inputs above reach every kind of answer, often enough to matter:
/// a model test whose requests never reach a 429 under an API key would
/// pass whatever the layer did there. Counted over 200 sequences from a
/// fixed seed.
#[test]
fn the_sequences_reach_every_kind_of_answer() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut seen: HashMap<Answer, usize> = HashMap::new();
    for _ in 0..200 {
        let (settings, calls) = sequence().new_tree(&mut runner).unwrap().current();
        let mut harness = Harness::new(settings);
        for call in &calls {
            *seen.entry(harness.run(call)).or_default() += 1;
        }
    }
    let count = |a: Answer| seen.get(&a).copied().unwrap_or(0);
    for (answer, least) in [
        (Answer::Admitted { peer: false }, 500),
        (Answer::RateLimited { peer: false }, 100),
        (Answer::Admitted { peer: true }, 200),
        (Answer::RateLimited { peer: true }, 40),
        (Answer::Unlimited, 100),
        (Answer::Refused(Refusal::Method), 100),
        (Answer::Refused(Refusal::NoKey), 200),
        (Answer::Refused(Refusal::Key(KeyError::Empty)), 10),
        (Answer::Refused(Refusal::Key(KeyError::TooLong)), 50),
        (Answer::Refused(Refusal::Key(KeyError::Malformed)), 80),
        (Answer::Refused(Refusal::Key(KeyError::Ambiguous)), 100),
    ] {
        assert!(
            count(answer) >= least,
            "{answer:?}: {} of {seen:?}",
            count(answer)
        );
    }
}

/// The model itself on cases spelled out from `ApiKey`'s documentation,
/// so that a wrong model cannot agree with a wrong layer unnoticed.
#[test]
fn the_model_reads_keys_as_documented() {
    use tollgate_test_support::tower::model::key;

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
        key(&fields, "x-api-key", max)
    };
    let ok = |k: &str| Ok(Some(k.to_owned()));
    let auth = |v: &[u8]| key(&[("authorization", v)], 256);
    // "matched case-insensitively, after any spaces or tabs"
    assert_eq!(auth(b"Bearer key_1"), ok("key_1"));
    assert_eq!(auth(b"  bEaReR\t\tkey_1\t"), ok("key_1"));
    // "followed by one or more spaces or tabs or end the value"
    assert_eq!(auth(b"Bearerkey_1"), Ok(None));
    assert_eq!(auth(b"Bearer"), Err(KeyError::Empty));
    // "another scheme ... goes on to X-API-Key"
    assert_eq!(auth(b"Basic abc"), Ok(None));
    assert_eq!(
        key(&[("authorization", b"Basic x"), ("x-api-key", b" k ")], 256),
        ok("k")
    );
    // "A bearer key wins over X-API-Key"
    assert_eq!(
        key(&[("authorization", b"Bearer a"), ("x-api-key", b"b")], 256),
        ok("a")
    );
    // "visible ASCII (! to ~)", judged after the length
    assert_eq!(auth(b"Bearer a b"), Err(KeyError::Malformed));
    assert_eq!(auth(b"Bearer \xff"), Err(KeyError::Malformed));
    assert_eq!(
        key(&[("authorization", b"Bearer abcde")], 4),
        Err(KeyError::TooLong)
    );
    assert_eq!(
        key(&[("authorization", b"Bearer ab de")], 4),
        Err(KeyError::TooLong)
    );
    assert_eq!(key(&[("authorization", b"Bearer abcd")], 4), ok("abcd"));
    // "two Authorization fields (or two X-API-Key fields, when it gets
    // that far) are Ambiguous"
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
    assert_eq!(
        key(&[("x-api-key", b"a"), ("x-api-key", b"a")], 256),
        Err(KeyError::Ambiguous)
    );
    assert_eq!(
        key(
            &[
                ("authorization", b"Bearer a"),
                ("x-api-key", b"b"),
                ("x-api-key", b"c")
            ],
            256
        ),
        ok("a")
    );
    assert_eq!(key(&[("accept", b"*/*")], 256), Ok(None));
}
