#!/usr/bin/env bash
# Miri over the unit and integration tests (sized down under cfg(miri)),
# then several real-thread schedules of the threads test.
#
#   MIRI_SEEDS   schedules of tests/threads.rs (default 0..4)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
    rustup +nightly component add miri rust-src
fi
cargo +nightly miri setup

# Isolation off: proptest reads PROPTEST_CASES and its regressions file.
MIRIFLAGS="-Zmiri-disable-isolation ${MIRIFLAGS:-}" cargo +nightly miri test -p tollgate --lib --tests
MIRIFLAGS="-Zmiri-many-seeds=${MIRI_SEEDS:-0..4} ${MIRIFLAGS:-}" cargo +nightly miri test -p tollgate --test threads
