#!/usr/bin/env bash
# Loom models of the window counters and the key table
# (src/counter/loom_tests.rs, src/table/loom_tests.rs): clippy on the loom
# cfg, then every model, in release with debug assertions.
#
#   LOOM_MAX_PREEMPTIONS  preemption bound (default 2, as in CI)
#   LOOM_TEST_THREADS     models run at once (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom -C debug-assertions -C overflow-checks ${RUSTFLAGS:-}"
# Its own target dir: these flags would otherwise rebuild the normal one.
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"

cargo clippy -p tollgate --lib --tests -- -D warnings
cargo test -p tollgate --release --lib loom_tests -- --test-threads="${LOOM_TEST_THREADS:-2}"
