//! Policies: the reference table, files in TOML and JSON, and every way a
//! policy can be wrong — each an error naming the field, none a panic.

use tollgate::{Class, Limiter, Policy, PolicyError, WindowLength};

const REFERENCE_TOML: &str = r#"
[classes.read]
methods = ["GET", "HEAD", "OPTIONS"]
limit = 1000
window = "1m"
burst = { multiplier = 2, window = "10s" }     # or: burst = { limit = 333, window = "10s" }

[classes.write]
methods = ["POST", "PUT", "PATCH", "DELETE"]
limit = 60
window = "1m"
burst = { multiplier = 2, window = "10s" }

[[overrides]]                                  # a workspace that asked for more
key = "key_enterprise_42"
class = "write"
limit = 600
burst = { limit = 200, window = "10s" }
"#;

fn limits(policy: &Policy, class: &str) -> Vec<(u32, u64)> {
    let c = policy.class(class).unwrap();
    policy
        .class_policy(c)
        .unwrap()
        .windows()
        .iter()
        .map(|w| (w.limit(), w.length().as_secs()))
        .collect()
}

#[test]
fn the_default_is_the_reference_table() {
    let p = Policy::default();
    assert_eq!(p.class("read"), Some(Class::READ));
    assert_eq!(p.class("write"), Some(Class::WRITE));
    assert_eq!(limits(&p, "read"), [(1000, 60), (333, 10)]);
    assert_eq!(limits(&p, "write"), [(60, 60), (20, 10)]);
    for (m, c) in [
        ("GET", Class::READ),
        ("HEAD", Class::READ),
        ("OPTIONS", Class::READ),
        ("POST", Class::WRITE),
        ("PUT", Class::WRITE),
        ("PATCH", Class::WRITE),
        ("DELETE", Class::WRITE),
    ] {
        assert_eq!(p.class_for_method(m), Some(c));
        assert_eq!(Class::from_method(m), Some(c));
    }
    assert_eq!(p.class_for_method("TRACE"), None);
    assert!(p.overrides().is_empty());
}

#[test]
fn the_spec_file_loads_with_its_override() {
    let p = Policy::from_toml_str(REFERENCE_TOML).unwrap();
    let mut without = p.clone();
    assert_eq!(limits(&p, "read"), [(1000, 60), (333, 10)]);
    assert_eq!(p.overrides().len(), 1);
    let o = &p.overrides()[0];
    assert_eq!(
        (o.key(), o.class(), o.limits()),
        ("key_enterprise_42", Class::WRITE, &[600, 200][..])
    );
    // Apart from the override it is the default policy.
    without =
        Policy::from_toml_str(&REFERENCE_TOML[..REFERENCE_TOML.find("[[overrides]]").unwrap()])
            .unwrap_or(without);
    assert_eq!(without, Policy::default());
}

#[test]
fn json_has_the_same_shape() {
    let json = r#"{
        "classes": {
            "read": {"methods": ["GET", "HEAD", "OPTIONS"], "limit": 1000, "window": "1m", "burst": {"limit": 333, "window": "10s"}},
            "write": {"methods": ["POST", "PUT", "PATCH", "DELETE"], "windows": [{"limit": 20, "window": "10s"}, {"limit": 60, "window": "1m"}]}
        },
        "overrides": [{"key": "k", "class": "read", "limit": 2000}]
    }"#;
    let p = Policy::from_json_str(json).unwrap();
    assert_eq!(limits(&p, "read"), [(1000, 60), (333, 10)]);
    assert_eq!(limits(&p, "write"), [(60, 60), (20, 10)]);
    // A burst given as a fixed limit does not scale with an override.
    assert_eq!(p.overrides()[0].limits(), [2000, 333]);
}

#[test]
fn a_multiplier_burst_scales_with_an_override() {
    let p = Policy::from_toml_str(
        r#"
        [classes.write]
        methods = ["POST"]
        limit = 60
        window = "1m"
        burst = { multiplier = 2, window = "10s" }
        [[overrides]]
        key = "big"
        class = "write"
        limit = 600
        "#,
    )
    .unwrap();
    assert_eq!(p.overrides()[0].limits(), [600, 200]);
}

#[test]
fn policies_round_trip_through_both_formats() {
    let policies = [
        Policy::default(),
        Policy::from_toml_str(REFERENCE_TOML).unwrap(),
        Policy::builder()
            .class(
                "a",
                &["GET"],
                u32::MAX,
                WindowLength::from_secs(86_400).unwrap(),
            )
            .burst_multiplier(3, WindowLength::from_secs(90).unwrap())
            .window(7, WindowLength::from_secs(1).unwrap())
            .class("b", &[], 1, WindowLength::from_secs(1).unwrap())
            .override_limits("x", "a", &[5, 4, 3])
            .build()
            .unwrap(),
    ];
    for p in policies {
        assert_eq!(
            Policy::from_toml_str(&p.to_toml_string()).unwrap(),
            p,
            "{}",
            p.to_toml_string()
        );
        assert_eq!(
            Policy::from_json_str(&p.to_json_string()).unwrap(),
            p,
            "{}",
            p.to_json_string()
        );
    }
}

#[test]
fn the_burst_formula_floors_and_never_goes_below_one() {
    let p = Policy::builder()
        .class("slow", &[], 1, WindowLength::from_secs(3_600).unwrap())
        .burst_multiplier(2, WindowLength::from_secs(10).unwrap())
        .class("odd", &[], 100, WindowLength::from_secs(60).unwrap())
        .burst_multiplier(2, WindowLength::from_secs(7).unwrap())
        .class("huge", &[], u32::MAX, WindowLength::from_secs(60).unwrap())
        .burst_multiplier(u32::MAX, WindowLength::from_secs(59).unwrap())
        .build()
        .unwrap();
    assert_eq!(limits(&p, "slow")[1], (1, 10));
    assert_eq!(limits(&p, "odd")[1], (23, 7)); // floor(2 * 100 * 7 / 60) = 23
    assert_eq!(limits(&p, "huge")[1], (u32::MAX, 59)); // saturates
}

/// Each bad file, and the field its error must name.
#[test]
fn every_invalid_field_is_named() {
    let class = |body: &str| format!("[classes.write]\nmethods = [\"POST\"]\n{body}\n");
    let ok_class = class("limit = 60\nwindow = \"1m\"");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "classes"),
        (class("limit = 0\nwindow = \"1m\""), "classes.write.limit"),
        (class("limit = -5\nwindow = \"1m\""), "classes.write.limit"),
        (class("limit = 4294967296\nwindow = \"1m\""), "classes.write.limit"),
        (class("limit = 1.5\nwindow = \"1m\""), "classes.write.limit"),
        (class("limit = 60"), "classes.write.window"),
        (class("window = \"1m\""), "classes.write.limit"),
        (class(""), "classes.write"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { multiplier = 0, window = \"10s\" }"), "classes.write.burst.multiplier"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { limit = 0, window = \"10s\" }"), "classes.write.burst.limit"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { window = \"10s\" }"), "classes.write.burst"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { limit = 5, multiplier = 2, window = \"10s\" }"), "classes.write.burst"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { limit = 5 }"), "classes.write.burst.window"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { limit = 5, window = \"1m\" }"), "classes.write.burst.window"),
        (class("limit = 60\nwindow = \"1m\"\nburst = { limit = 5, window = \"2m\" }"), "classes.write.burst.window"),
        (class("windows = [{ limit = 1, window = \"1m\" }, { limit = 2, window = \"60s\" }]"), "classes.write"),
        (class("windows = [{ limit = 1 }]"), "classes.write.windows[0].window"),
        (class("windows = [{ limit = 0, window = \"1m\" }]"), "classes.write.windows[0].limit"),
        (class("windows = [{limit=1,window=\"1s\"},{limit=1,window=\"2s\"},{limit=1,window=\"3s\"},{limit=1,window=\"4s\"},{limit=1,window=\"5s\"}]"), "classes.write"),
        (class("windows = []"), "classes.write"),
        ("[classes.\"bad name\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes.bad name"),
        ("[classes.\"\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes."),
        ("[classes.a]\nmethods = [\"GET\"]\nlimit = 1\nwindow = \"1s\"\n[classes.b]\nmethods = [\"GET\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes.b.methods[0]"),
        ("[classes.a]\nmethods = [\"GET\", \"GET\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes.a.methods[1]"),
        ("[classes.a]\nmethods = [\"G T\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes.a.methods[0]"),
        ("[classes.a]\nmethods = [\"\"]\nlimit = 1\nwindow = \"1s\"\n".to_owned(), "classes.a.methods[0]"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"writes\"\nlimit = 5\n"), "overrides[0].class"),
        (format!("{ok_class}[[overrides]]\nkey = \"\"\nclass = \"write\"\nlimit = 5\n"), "overrides[0].key"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\nlimit = 0\n"), "overrides[0].limit"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\n"), "overrides[0]"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\nburst = {{ limit = 5, window = \"10s\" }}\n"), "overrides[0].burst"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\nwindows = [{{ limit = 5, window = \"1h\" }}]\n"), "overrides[0].windows[0].window"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\nwindows = [{{ limit = 5 }}, {{ limit = 5 }}]\n"), "overrides[0].windows"),
        (format!("{ok_class}[[overrides]]\nkey = \"k\"\nclass = \"write\"\nlimit = 5\n[[overrides]]\nkey = \"k\"\nclass = \"write\"\nlimit = 6\n"), "overrides[1]"),
    ];
    for (text, field) in cases {
        match Policy::from_toml_str(&text) {
            Err(PolicyError::Invalid {
                field: got,
                message,
            }) => {
                assert_eq!(got, field, "for:\n{text}\nmessage: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("expected an error naming {field} for:\n{text}\ngot {other:?}"),
        }
    }
}

#[test]
fn burst_windows_must_match_the_class_in_overrides() {
    let text = r#"
        [classes.write]
        limit = 60
        window = "1m"
        burst = { multiplier = 2, window = "10s" }
        [[overrides]]
        key = "k"
        class = "write"
        burst = { limit = 5, window = "5s" }
    "#;
    let err = Policy::from_toml_str(text).unwrap_err();
    assert_eq!(err.field(), Some("overrides[0].burst.window"), "{err}");
}

#[test]
fn syntax_errors_name_the_field_or_line() {
    let cases = [
        ("[classes.write]\nlimt = 60\n", "limt"),
        ("[classes.write]\nlimit = 60\nwindow = 60s\n", "line 3"),
        (
            "[classes.write]\nlimit = 60\nwindow = \"500ms\"\n",
            "sub-second",
        ),
        (
            "[classes.write]\nlimit = 60\nwindow = \"0s\"\n",
            "at least 1 second",
        ),
        (
            "[classes.write]\nlimit = 60\nwindow = \"soon\"\n",
            "invalid window length",
        ),
        (
            "[classes.write]\nlimit = 60\nwindow = 0\n",
            "at least 1 second",
        ),
        (
            "[classes.write]\nlimit = \"60\"\nwindow = \"1m\"\n",
            "whole number",
        ),
        (
            "[[overrides]]\nkey = \"k\"\nclass = \"write\"\nlimit = 5\nextra = 1\n",
            "extra",
        ),
        ("[classes]\n", "classes"),
        ("[policy]\n", "policy"),
    ];
    for (text, needle) in cases {
        let err = Policy::from_toml_str(text).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(needle), "{text:?}: {message}");
    }
    for (text, needle) in [
        ("{", "EOF"),
        ("{\"classes\": {\"a\": {\"limit\": 1, \"window\": \"1s\"}, \"a\": {\"limit\": 1, \"window\": \"1s\"}}}", "duplicate class name"),
        ("{\"classes\": {\"a\": {\"limit\": 1, \"window\": \"1s\", \"colour\": 1}}}", "colour"),
        ("{\"classes\": {\"a\": {\"limit\": 1e3, \"window\": \"1s\"}}}", "whole number"),
        ("[]", "at least one class"),
    ] {
        let err = Policy::from_json_str(text).unwrap_err();
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

#[test]
fn too_many_classes_is_an_error() {
    let mut text = String::new();
    for i in 0..=tollgate::Policy::MAX_CLASSES {
        text.push_str(&format!("[classes.c{i}]\nlimit = 1\nwindow = \"1s\"\n"));
    }
    let err = Policy::from_toml_str(&text).unwrap_err();
    assert!(err.to_string().contains("more than 64 classes"), "{err}");
    // Exactly the maximum is fine.
    let cut = text
        .find(&format!("[classes.c{}]", tollgate::Policy::MAX_CLASSES))
        .unwrap();
    let p = Policy::from_toml_str(&text[..cut]).unwrap();
    assert_eq!(p.classes().len(), tollgate::Policy::MAX_CLASSES);
    let last = p
        .class(&format!("c{}", tollgate::Policy::MAX_CLASSES - 1))
        .unwrap();
    let limiter = Limiter::builder(p).capacity(100).build().unwrap();
    assert!(limiter.check("k", last).is_allowed());
}

#[test]
fn hostile_text_never_panics() {
    let long = "9".repeat(10_000);
    let deep = "[".repeat(5_000);
    let texts = [
        "\u{0}".to_owned(),
        "\u{feff}[classes.a]".to_owned(),
        format!("[classes.a]\nlimit = {long}\nwindow = \"1s\""),
        format!("[classes.a]\nlimit = 1\nwindow = \"{long}d\""),
        format!("x = {deep}"),
        "[classes.a]\nlimit = 1\nwindow = \"1s\"\nmethods = [1, 2]".to_owned(),
    ];
    for t in &texts {
        assert!(Policy::from_toml_str(t).is_err());
        assert!(Policy::from_json_str(t).is_err());
    }
}

#[test]
fn class_names_are_ordered_as_written() {
    let p = Policy::from_toml_str(
        "[classes.z]\nlimit = 1\nwindow = \"1s\"\n[classes.a]\nlimit = 2\nwindow = \"1s\"\n",
    )
    .unwrap();
    assert_eq!(p.class("z").unwrap().index(), 0);
    assert_eq!(p.class("a").unwrap().index(), 1);
    let names: Vec<&str> = p.classes().map(|(_, c)| c.name()).collect();
    assert_eq!(names, ["z", "a"]);
}
