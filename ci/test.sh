#!/usr/bin/env bash
# The README's test command: the whole test suite of the workspace. The
# Redis tests need redis-server, which ci/redis.sh installs when it is
# missing, and the browser test chromium, which ci/chromium.sh installs;
# without them they skip with a message, or fail under CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/redis.sh
ci/chromium.sh
cargo test --workspace
