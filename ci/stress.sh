#!/usr/bin/env bash
# Real threads (tests/threads.rs): eight threads on one key, and many
# threads on many keys while a driver thread moves the clock across
# window boundaries. In release, where the races are tightest.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test -p tollgate --release --test threads
