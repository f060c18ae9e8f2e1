#!/usr/bin/env bash
# The limiter against the sequential reference model (tests/model.rs):
# 10,000 proptest cases of random operation sequences, every decision
# compared field by field. Failures are saved to
# tests/model.proptest-regressions, which is committed and replayed first.
set -euo pipefail
cd "$(dirname "$0")/.."

export PROPTEST_CASES="${PROPTEST_CASES:-10000}"
cargo test -p tollgate --release --test model
