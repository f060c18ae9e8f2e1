#!/usr/bin/env bash
# The README's test command: the whole test suite of the workspace. The
# Redis tests need redis-server, which ci/redis.sh installs when it is
# missing; without it they skip with a message, or fail under CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/redis.sh
cargo test --workspace
