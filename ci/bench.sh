#!/usr/bin/env bash
# Compiles every benchmark of the workspace without running any: the
# library's targets in the bench profile and the side-by-side crate in
# bench/ (criterion, governor, pingora-limits). Benchmarks never run in CI
# or as tests: timings from a shared machine are noise. To measure, run
# `cargo bench` on a quiet machine (see BENCHMARKS.md).
#
# Usage: ci/bench.sh [extra cargo args]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench --workspace --no-run --locked "$@"
