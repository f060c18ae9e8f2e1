#!/usr/bin/env bash
# Formatting, clippy on every target with warnings as errors, and docs
# that build without a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
