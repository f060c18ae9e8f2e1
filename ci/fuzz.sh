#!/usr/bin/env bash
# Fuzz smoke run: builds every target in fuzz/ (cargo-fuzz, nightly) and
# runs each for FUZZ_SECONDS (default 20), starting from its committed
# seeds in fuzz/seeds/<target>/ if any. A crash fails the script and
# leaves its input in fuzz/artifacts/<target>/; turn it into a named
# regression test in tests/.
#
# Targets are listed by `cargo fuzz list`, so a new file in
# fuzz/fuzz_targets/ with its [[bin]] in fuzz/Cargo.toml is picked up
# here without changes: today `policy` (policy files), `differential`
# (operation sequences against the reference model), `headers`
# (tollgate-client's header parsing, and the core's rendered fields read
# back by it) and `tower` (requests through the HTTP layer against its
# model).
#
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_TARGETS   space-separated subset to run (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"

cargo +nightly fuzz build
for target in $targets; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    if [ -d "fuzz/seeds/$target" ]; then
        seeds=("fuzz/seeds/$target")
    fi
    echo "fuzz: $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1
done
