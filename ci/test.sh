#!/usr/bin/env bash
# The README's test command: the whole test suite of the workspace. The
# Redis tests need redis-server (ci/redis.sh installs it); without it they
# skip with a message, or fail under CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
