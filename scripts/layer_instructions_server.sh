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
# one key, "key_load". callgrind_control reaches the server through
# ptrace: run as root, or where kernel.yama.ptrace_scope is 0.
set -euo pipefail
cd "$(dirname "$0")/.."

WARMUP=${WARMUP:-2}
SECONDS_COUNTED=${SECONDS_COUNTED:-6}
PATH_UNDER_TEST=/v1/companies/1

for tool in valgrind callgrind_control; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
source scripts/servers.sh
need_wrk
api=$(api_server_binary)
gov=$(governor_server_binary)

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Counts one server: $1 a name, the rest its command. Sets `per_request`
# (instructions per request) and `requests` (requests counted).
count() {
    local name=$1 addr out dump total
    shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" "$@" --listen 127.0.0.1:0 \
        >/dev/null 2>"$work/$name.log" &
    server=$!
    # Valgrind takes some seconds to start a server.
    addr=$(address "$work/$name.log" 300)
    wrk -t1 -c1 -d"$WARMUP"s -H 'Authorization: Bearer key_load' "http://$addr$PATH_UNDER_TEST" >/dev/null
    callgrind_control -z "$server" >/dev/null
    out=$(wrk -t1 -c1 -d"$SECONDS_COUNTED"s -H 'Authorization: Bearer key_load' "http://$addr$PATH_UNDER_TEST")
    callgrind_control -d "$server" >/dev/null
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "non-2xx answers from $name" >&2
        exit 1
    fi
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    # The first dump callgrind_control asks for: the out-file's name (the
    # server's pid: valgrind runs it in its own process) and ".1".
    dump="$work/$name.$server.1"
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    server=
    [ -f "$dump" ] || { echo "no callgrind dump from $name" >&2; exit 1; }
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    per_request=$(awk -v i="$total" -v n="$requests" 'BEGIN { printf "%.0f", i / n }')
}

count bare "$api" --no-limit --system-clock
bare=$per_request n_bare=$requests
count tollgate "$api" --system-clock --policy scripts/load-policy.toml
tollgate=$per_request n_tollgate=$requests
count gov-bare "$gov" --no-limit
gov_bare=$per_request n_gov_bare=$requests
count governor "$gov"
governor=$per_request n_governor=$requests

echo "| server | instructions per request | requests counted | added by the layer |"
echo "|---|---:|---:|---:|"
echo "| api_server --no-limit | $bare | $n_bare | |"
echo "| api_server, tollgate-tower | $tollgate | $n_tollgate | $((tollgate - bare)) |"
echo "| governor_server --no-limit | $gov_bare | $n_gov_bare | |"
echo "| governor_server, tower_governor | $governor | $n_governor | $((governor - gov_bare)) |"
awk -v t="$((tollgate - bare))" -v g="$((governor - gov_bare))" \
    'BEGIN { r = t / g; printf "\nin instructions, the tollgate-tower layer adds %.2fx what tower_governor adds (target: <= 0.5x): %s\n", r, (r <= 0.5 ? "met" : "missed") }'
