#!/usr/bin/env bash
# Formatting (the library's workspace and the fuzz crate, its own
# workspace), clippy on every target with warnings as errors, and docs
# that build without a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
