//! A `Policy` within an application's own configuration, through serde
//! (the `serde` feature):
//!
//! - it reads as a field from TOML and JSON, in the policy file's shape;
//! - it writes as exactly the policy file (`to_toml_string`,
//!   `to_json_string`), and every policy reads back equal, in both formats,
//!   alone and nested (a proptest over generated valid policies);
//! - a policy that fails a check of the file is the format's error with
//!   the message of the `PolicyError` that `from_toml_str` gives, never a
//!   panic; an unknown field is named.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tollgate::{Class, Policy, PolicyError, WindowLength};

/// An application's configuration with policies among its fields.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Config {
    listen: String,
    limits: Policy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admin_limits: Option<Policy>,
}

const REFERENCE_TOML: &str = r#"
[classes.read]
methods = ["GET", "HEAD", "OPTIONS"]
limit = 1000
window = "1m"
burst = { multiplier = 2, window = "10s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 60
window = "1m"
burst = { multiplier = 2, window = "10s" }

[[overrides]]
key = "key_enterprise_42"
class = "write"
limit = 600
burst = { limit = 200, window = "10s" }
"#;

#[test]
fn a_policy_is_a_field_of_a_toml_config() {
    let text = r#"
        listen = "127.0.0.1:8080"

        [limits.classes.read]
        methods = ["GET", "HEAD", "OPTIONS"]
        limit = 1000
        window = "1m"
        burst = { multiplier = 2, window = "10s" }

        [limits.classes.write]
        methods = ["POST", "PUT", "PATCH", "DELETE"]
        limit = 60
        window = "1m"
        burst = { multiplier = 2, window = "10s" }

        [[limits.overrides]]
        key = "key_enterprise_42"
        class = "write"
        limit = 600
        burst = { limit = 200, window = "10s" }

        [admin_limits.classes.all]
        windows = [{ limit = 10, window = "1s" }]
    "#;
    let config: Config = toml::from_str(text).unwrap();
    assert_eq!(config.listen, "127.0.0.1:8080");
    assert_eq!(
        config.limits,
        Policy::from_toml_str(REFERENCE_TOML).unwrap()
    );
    let admin = config.admin_limits.unwrap();
    let all = admin.class("all").unwrap();
    assert_eq!(all, Class::READ);
    let window = admin.class_policy(all).unwrap().primary();
    assert_eq!((window.limit(), window.length().as_secs()), (10, 1));
}

#[test]
fn a_policy_is_a_field_of_a_json_config() {
    let text = r#"{
        "listen": "127.0.0.1:8080",
        "limits": {
            "classes": {
                "read": {"methods": ["GET", "HEAD", "OPTIONS"], "limit": 1000, "window": "1m", "burst": {"multiplier": 2, "window": "10s"}},
                "write": {"methods": ["POST", "PUT", "PATCH", "DELETE"], "limit": 60, "window": "1m", "burst": {"multiplier": 2, "window": "10s"}}
            },
            "overrides": [{"key": "key_enterprise_42", "class": "write", "limit": 600, "burst": {"limit": 200, "window": "10s"}}]
        }
    }"#;
    let config: Config = serde_json::from_str(text).unwrap();
    assert_eq!(
        config.limits,
        Policy::from_toml_str(REFERENCE_TOML).unwrap()
    );
    assert_eq!(config.admin_limits, None);
    // From a `serde_json::Value` too: a deserializer that owns its data.
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::from_value::<Config>(value).unwrap(), config);
}

#[test]
fn a_policy_serializes_as_the_policy_file() {
    let p = Policy::from_toml_str(REFERENCE_TOML).unwrap();
    assert_eq!(toml::to_string(&p).unwrap(), p.to_toml_string());
    assert_eq!(
        serde_json::to_string_pretty(&p).unwrap(),
        p.to_json_string()
    );
}

/// Invalid policy files, each failing a different check of the file.
const INVALID: &[&str] = &[
    "",
    "[classes.write]\nlimit = 0\nwindow = \"1m\"\n",
    "[classes.write]\nlimit = 4294967296\nwindow = \"1m\"\n",
    "[classes.write]\nlimit = 1.5\nwindow = \"1m\"\n",
    "[classes.write]\nlimit = 60\n",
    "[classes.write]\nlimit = 60\nwindow = \"1m\"\nburst = { limit = 5, window = \"2m\" }\n",
    "[classes.write]\nlimit = 60\nwindow = \"1m\"\nburst = { limit = 5, multiplier = 2, window = \"10s\" }\n",
    "[classes.write]\nwindows = [{ limit = 1, window = \"1m\" }, { limit = 2, window = \"60s\" }]\n",
    "[classes.\"bad name\"]\nlimit = 1\nwindow = \"1s\"\n",
    "[classes.a]\nmethods = [\"GET\"]\nlimit = 1\nwindow = \"1s\"\n[classes.b]\nmethods = [\"GET\"]\nlimit = 1\nwindow = \"1s\"\n",
    "[classes.write]\nlimit = 60\nwindow = \"1m\"\n[[overrides]]\nkey = \"k\"\nclass = \"writes\"\nlimit = 5\n",
    "[classes.write]\nlimit = 60\nwindow = \"1m\"\n[[overrides]]\nkey = \"k\"\nclass = \"write\"\n",
];

#[test]
fn an_invalid_nested_policy_is_the_formats_error_with_the_files_message() {
    for text in INVALID {
        let expected = match Policy::from_toml_str(text) {
            Err(e @ PolicyError::Invalid { .. }) => e.to_string(),
            other => panic!("{text:?} should fail a check of the file, got {other:?}"),
        };
        // The same policy as a field, in TOML and in JSON.
        let policy: toml::Table = toml::from_str(text).unwrap();
        let mut config = toml::Table::new();
        config.insert("listen".into(), "127.0.0.1:8080".into());
        config.insert("limits".into(), policy.into());
        let as_toml = toml::to_string(&config).unwrap();
        let as_json = serde_json::to_string(&config).unwrap();

        let err = toml::from_str::<Config>(&as_toml).unwrap_err().to_string();
        assert!(
            err.contains(&expected),
            "{as_toml}\n{err}\nexpected {expected}"
        );
        let err = serde_json::from_str::<Config>(&as_json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&expected),
            "{as_json}\n{err}\nexpected {expected}"
        );
        // And alone, as the whole document.
        let err = toml::from_str::<Policy>(text).unwrap_err().to_string();
        assert!(
            err.contains(&expected),
            "{text}\n{err}\nexpected {expected}"
        );
    }
}

#[test]
fn unknown_fields_and_wrong_types_are_named() {
    let cases = [
        ("[limits.classes.write]\nlimt = 60\n", "limt"),
        (
            "[limits.classes.write]\nlimit = 60\nwindow = \"500ms\"\n",
            "sub-second",
        ),
        (
            "[limits.classes.write]\nlimit = \"60\"\nwindow = \"1m\"\n",
            "whole number",
        ),
        ("[limits.policy]\n", "policy"),
        (
            "[[limits.overrides]]\nkey = \"k\"\nclass = \"write\"\nextra = 1\n",
            "extra",
        ),
        ("limits = 5\n", "invalid type"),
    ];
    for (text, needle) in cases {
        let text = format!("listen = \"x\"\n{text}");
        let err = toml::from_str::<Config>(&text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}\n{err}");
    }
    let err = serde_json::from_str::<Config>(
        r#"{"listen": "x", "limits": {"classes": {"a": {"limit": 1, "window": "1s"}, "a": {"limit": 2, "window": "1s"}}}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("duplicate class name"), "{err}");
}

#[test]
fn hostile_nested_text_never_panics() {
    let long = "9".repeat(10_000);
    let deep = "[".repeat(5_000);
    let texts = [
        format!("listen = \"x\"\n[limits.classes.a]\nlimit = {long}\nwindow = \"1s\""),
        format!("listen = \"x\"\n[limits.classes.a]\nlimit = 1\nwindow = \"{long}d\""),
        format!("listen = \"x\"\nlimits = {deep}"),
        "listen = \"x\"\n[limits.classes.a]\nlimit = 1\nwindow = \"1s\"\nmethods = [1, 2]"
            .to_owned(),
    ];
    for t in &texts {
        assert!(toml::from_str::<Config>(t).is_err());
        assert!(serde_json::from_str::<Config>(t).is_err());
    }
    let json = format!(r#"{{"listen": "x", "limits": {deep}}}"#);
    assert!(serde_json::from_str::<Config>(&json).is_err());
}

// --- Generated valid policies -------------------------------------------

const METHODS: &[&str] = &[
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PURGE", "x-batch",
];

/// One class: its name, its windows' lengths (distinct, in seconds) and
/// limits, which of them is the class's `window`, and a burst over it.
#[derive(Debug, Clone)]
struct ClassShape {
    name: String,
    windows: Vec<(u32, u64)>,
    main: usize,
    burst: Option<(bool, u32, usize)>,
    overrides: Vec<(String, Option<u32>, Vec<u32>)>,
}

fn limit() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 1u32..=100, 1 => 1u32..=u32::MAX]
}

fn length() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => prop::sample::select(vec![1u64, 7, 10, 60, 90, 3_600, 5_400, 86_400]),
        1 => 1u64..=WindowLength::MAX_SECS,
    ]
}

fn class_shape(index: usize) -> impl Strategy<Value = ClassShape> {
    (
        "[A-Za-z0-9_.-]{0,8}",
        prop::collection::btree_set(length(), 1..=4),
        prop::collection::vec(limit(), 4),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::option::of((any::<bool>(), 1u32..=u32::MAX)),
        prop::collection::vec(
            (
                "\\PC{0,12}",
                prop::option::of(limit()),
                prop::collection::vec(limit(), 4),
            ),
            0..=2,
        ),
    )
        .prop_map(
            move |(prefix, lengths, limits, main, burst_at, burst, overrides)| {
                let windows: Vec<(u32, u64)> = limits.into_iter().zip(lengths).collect();
                let main = main.index(windows.len());
                // A burst window is one shorter than the class's window.
                let shorter: Vec<usize> = (0..windows.len())
                    .filter(|&i| windows[i].1 < windows[main].1)
                    .collect();
                let burst = match (burst, shorter.is_empty()) {
                    (Some((multiplier, value)), false) => {
                        Some((multiplier, value, shorter[burst_at.index(shorter.len())]))
                    }
                    _ => None,
                };
                let overrides = overrides
                    .into_iter()
                    .enumerate()
                    .map(|(i, (key, one, mut all))| {
                        all.truncate(windows.len());
                        (format!("{key}#{i}"), one, all)
                    })
                    .collect();
                ClassShape {
                    name: format!("{prefix}{index}"),
                    windows,
                    main,
                    burst,
                    overrides,
                }
            },
        )
}

/// A valid policy of one to four classes, built in code: every way of
/// giving windows (a class's `window`, a burst as a multiplier or a limit,
/// further windows longer or shorter than the class's own), methods
/// spread over the classes, and overrides of one limit or of all.
fn policy() -> impl Strategy<Value = Policy> {
    (1usize..=4)
        .prop_flat_map(|n| {
            (
                (0..n).map(class_shape).collect::<Vec<_>>(),
                prop::collection::vec(prop::option::of(0..n), METHODS.len()),
            )
        })
        .prop_map(|(classes, owners)| {
            let mut builder = Policy::builder();
            for (c, class) in classes.iter().enumerate() {
                let methods: Vec<&str> = METHODS
                    .iter()
                    .zip(&owners)
                    .filter(|(_, owner)| **owner == Some(c))
                    .map(|(m, _)| *m)
                    .collect();
                let len = |secs: u64| WindowLength::from_secs(secs).unwrap();
                let (limit, secs) = class.windows[class.main];
                builder = builder.class(&class.name, &methods, limit, len(secs));
                for (i, &(limit, secs)) in class.windows.iter().enumerate() {
                    match class.burst {
                        _ if i == class.main => {}
                        Some((true, multiplier, at)) if at == i => {
                            builder = builder.burst_multiplier(multiplier, len(secs));
                        }
                        Some((false, _, at)) if at == i => {
                            builder = builder.burst_limit(limit, len(secs));
                        }
                        _ => builder = builder.window(limit, len(secs)),
                    }
                }
            }
            for class in &classes {
                for (key, one, all) in &class.overrides {
                    builder = match one {
                        Some(limit) => builder.override_limit(key, &class.name, *limit),
                        None => builder.override_limits(key, &class.name, all),
                    };
                }
            }
            builder.build().expect("generated policies are valid")
        })
}

/// The overrides of one class: keys and limits, in policy order.
fn overrides_of(p: &Policy, class: Class) -> Vec<(&str, &[u32])> {
    p.overrides()
        .iter()
        .filter(|o| o.class() == class)
        .map(|o| (o.key(), o.limits()))
        .collect()
}

proptest! {
    #[test]
    fn every_policy_reads_back_equal_alone_and_nested(p in policy()) {
        // Alone: serde's forms are the file's, and read back by either path.
        let toml_text = toml::to_string(&p).unwrap();
        let json_text = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(&toml_text, &p.to_toml_string());
        prop_assert_eq!(toml::from_str::<Policy>(&toml_text).unwrap(), p.clone());
        prop_assert_eq!(Policy::from_toml_str(&toml_text).unwrap(), p.clone());
        prop_assert_eq!(serde_json::from_str::<Policy>(&json_text).unwrap(), p.clone());
        prop_assert_eq!(Policy::from_json_str(&json_text).unwrap(), p.clone());
        // Through `serde_json::Value`, whose map sorts its keys, classes
        // come back in name order: the same classes, numbered anew.
        let value = serde_json::to_value(&p).unwrap();
        let sorted = serde_json::from_value::<Policy>(value).unwrap();
        let mut names: Vec<&str> = p.classes().map(|(_, c)| c.name()).collect();
        names.sort_unstable();
        for ((class, c), name) in sorted.classes().zip(names) {
            prop_assert_eq!(c.name(), name);
            prop_assert_eq!(Some(c), p.class(name).and_then(|k| p.class_policy(k)));
            prop_assert_eq!(overrides_of(&sorted, class), overrides_of(&p, p.class(name).unwrap()));
        }

        // Nested, beside other fields and in an `Option`.
        let config = Config {
            listen: "[::1]:8080".to_owned(),
            limits: p.clone(),
            admin_limits: Some(p),
        };
        let toml_text = toml::to_string(&config).unwrap();
        prop_assert_eq!(&toml::from_str::<Config>(&toml_text).unwrap(), &config);
        let json_text = serde_json::to_string(&config).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Config>(&json_text).unwrap(), &config);
    }
}
