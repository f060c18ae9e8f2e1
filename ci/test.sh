#!/usr/bin/env bash
# The README's test command: the whole test suite of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
