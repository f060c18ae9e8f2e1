#!/usr/bin/env bash
# The limiter against the sequential reference model (tests/model.rs):
# 10,000 proptest cases of random operation sequences, every decision
# compared field by field; then the HTTP layer against its model
# (integrations/tower/tests/model.rs), 10,000 sequences of requests.
# Failures are saved beside each test as .proptest-regressions files,
# which are committed and replayed first.
set -euo pipefail
cd "$(dirname "$0")/.."

export PROPTEST_CASES="${PROPTEST_CASES:-10000}"
cargo test -p tollgate --release --test model
cargo test -p tollgate-tower --release --test model
