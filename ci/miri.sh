#!/usr/bin/env bash
# Miri over the unit tests and the integration tests that exercise the
# concurrent core and the unsafe allocator hook (sized down under
# cfg(miri)), then several real-thread schedules of the threads test, and
# over tollgate-client's unit tests.
#
# The other integration tests (decisions, clock, http, policy, keys,
# memory, overrides, and tollgate-client's pacer) drive the same safe code
# single-threaded and take a quarter of an hour under Miri; MIRI_ALL=1
# runs them too.
#
#   MIRI_SEEDS   schedules of tests/threads.rs (default 0..4)
#   MIRI_ALL     1 to run every integration test
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
    rustup +nightly component add miri rust-src
fi
cargo +nightly miri setup

if [ "${MIRI_ALL:-0}" = 1 ]; then
    tests=(--tests)
    client_tests=(--tests)
else
    tests=(--lib --test model --test alloc)
    client_tests=(--lib)
fi
# Isolation off: proptest reads PROPTEST_CASES and its regressions file.
MIRIFLAGS="-Zmiri-disable-isolation ${MIRIFLAGS:-}" cargo +nightly miri test -p tollgate "${tests[@]}"
MIRIFLAGS="-Zmiri-many-seeds=${MIRI_SEEDS:-0..4} ${MIRIFLAGS:-}" cargo +nightly miri test -p tollgate --test threads
MIRIFLAGS="-Zmiri-disable-isolation ${MIRIFLAGS:-}" cargo +nightly miri test -p tollgate-client "${client_tests[@]}"
