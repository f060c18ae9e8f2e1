#!/usr/bin/env bash
# Instructions per request that tollgate-tower and tower_governor each add
# to the example API server, counted by callgrind: the same four servers
# as scripts/layer_vs_governor.sh (bare, tollgate, gov-bare, governor),
# each in turn under valgrind, driven by `wrk -t1 -c1` (one connection,
# so that every request is a full turn of each server's event loop).
# User space only: the kernel's share of a request is not counted.
#
#   scripts/layer_instructions_server.sh            # about 2 minutes after the builds
#   SECONDS_COUNTED=10 scripts/layer_instructions_server.sh
#
# For each server: start it under callgrind, warm it up for WARMUP
# seconds, zero the counters (callgrind_control -z), run wrk for
# SECONDS_COUNTED seconds, and dump (callgrind_control -d): the dump's
# instructions divided by the requests wrk completed are the server's
# instructions per request, start-up and warm-up left out. The tollgate
# server reads SystemClock (`--system-clock`: the default CoarseClock's
# vDSO lookup faults under valgrind); tower_governor reads its own clock
# (quanta). Both layers admit every request (limits no run reaches), on
# one key, "key_load".
set -euo pipefail
cd "$(dirname "$0")/.."

WARMUP=${WARMUP:-2}
SECONDS_COUNTED=${SECONDS_COUNTED:-6}
PATH_UNDER_TEST=/v1/companies/1

for tool in valgrind callgrind_control wrk; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
cargo build --quiet --release -p tollgate-tower --example api_server
api=target/release/examples/api_server
gov=$(cargo bench -p tollgate-bench --bench governor_server --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*governor_server-[0-9a-f]*\)).*/\1/p')
[ -x "$gov" ] || { echo "no governor_server binary" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Instructions per request of one server: $1 a name, the rest its command.
count() {
    local name=$1 addr out requests dump instructions
    shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" "$@" --listen 127.0.0.1:0 \
        >/dev/null 2>"$work/$name.log" &
    server=$!
    for _ in $(seq 300); do
        grep -q 'listening on http://' "$work/$name.log" && break
        sleep 0.1
    done
    addr=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$work/$name.log" | head -n1)
    [ -n "$addr" ] || { echo "server $name did not start: $(cat "$work/$name.log")" >&2; exit 1; }
    wrk -t1 -c1 -d"$WARMUP"s -H 'Authorization: Bearer key_load' "http://$addr$PATH_UNDER_TEST" >/dev/null
    callgrind_control -z "$server" >/dev/null 2>&1
    out=$(wrk -t1 -c1 -d"$SECONDS_COUNTED"s -H 'Authorization: Bearer key_load' "http://$addr$PATH_UNDER_TEST")
    callgrind_control -d "$server" >/dev/null 2>&1
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "non-2xx answers from $name" >&2
        exit 1
    fi
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    server=
    # The dump made by `-d` (its file name ends in a dump number).
    dump=$(ls "$work/$name".*.1 2>/dev/null | head -n1)
    [ -n "$dump" ] || { echo "no callgrind dump from $name" >&2; exit 1; }
    instructions=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    awk -v i="$instructions" -v n="$requests" 'BEGIN { printf "%.0f %d\n", i / n, n }'
}

read -r bare n_bare < <(count bare "$api" --no-limit --system-clock)
read -r tollgate n_tollgate < <(count tollgate "$api" --system-clock --policy scripts/load-policy.toml)
read -r gov_bare n_gov_bare < <(count gov-bare "$gov" --no-limit)
read -r governor n_governor < <(count governor "$gov")

echo "| server | instructions per request | requests counted | added by the layer |"
echo "|---|---:|---:|---:|"
echo "| api_server --no-limit | $bare | $n_bare | |"
echo "| api_server, tollgate-tower | $tollgate | $n_tollgate | $((tollgate - bare)) |"
echo "| governor_server --no-limit | $gov_bare | $n_gov_bare | |"
echo "| governor_server, tower_governor | $governor | $n_governor | $((governor - gov_bare)) |"
awk -v t="$((tollgate - bare))" -v g="$((governor - gov_bare))" \
    'BEGIN { r = t / g; printf "\ntollgate-tower adds %.2fx the instructions per request that tower_governor adds (target: <= 0.5x): %s\n", r, (r <= 0.5 ? "met" : "missed") }'
