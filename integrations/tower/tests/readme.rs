//! The workspace README's first example is `examples/minimal.rs`, which
//! `cargo test` builds: the copy a user sees must be that file, word for
//! word (after its `//!` header), so that it compiles as shown.

#[test]
fn the_readme_shows_examples_minimal() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/minimal.rs"))
            .unwrap();
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        readme.contains(&format!("```rust,ignore\n{code}```")),
        "README.md's axum example differs from examples/minimal.rs:\n{code}"
    );
    // It is the first Rust code of the README.
    let first = readme.find("```rust").unwrap();
    assert_eq!(readme[first..].find(&code), Some("```rust,ignore\n".len()));
}
