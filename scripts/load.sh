#!/usr/bin/env bash
# HTTP middleware overhead: requests per second of the example API server
# with and without the rate-limit layer, under wrk on loopback.
#
# Three servers run side by side on ephemeral 127.0.0.1 ports: without the
# layer, with it, and a control that adds three constant X-RateLimit-*
# fields and nothing else (`--fields-only`: what setting the fields
# costs any middleware). Runs cycle through them in a fixed order
# (without, fields, with, without, ...) so that changes in the machine's
# load hit all alike, and the median of RUNS runs each is reported. Beside requests per second, each run records the server's CPU
# time per request (user + system, from /proc), which depends less on how
# much of a shared machine the server was given. A run with any non-2xx
# answer fails: no request may be denied, so the figure is the layer's cost.
#
# Two workloads (KEYS):
# - KEYS=1 (default): every request carries one key ("key_load") under
#   scripts/load-policy.toml, whose limits no run reaches: all requests go
#   through the same counter word (the most contended case), and the three
#   header values are 10-digit numbers, Remaining a new one each request.
# - KEYS=N > 1: the server's default, the reference policy (1,000 reads a
#   minute, 333 in 10 seconds), and requests rotating over N keys
#   (scripts/load-keys.lua), spread thin enough that none is limited: the
#   values are those a client of the reference policy sees. N must leave
#   each key under 1,000 requests a minute (and 333 in 10 seconds):
#   50,000 keys allow about 833,000 requests per second.
#
# Settings (environment): RUNS (5), DURATION seconds per run (5),
# CONNECTIONS (32), THREADS of wrk (1), WARMUP seconds (2), KEYS (1).
# Takes about 3 * (RUNS * DURATION + WARMUP) seconds after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
KEYS=${KEYS:-1}
PATH_UNDER_TEST=/v1/companies/1

source scripts/servers.sh
need_wrk
bin=$(api_server_binary)

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the server with the given arguments, logging to $1.
start() {
    local log=$1
    shift
    "$bin" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$log" &
    pids+=($!)
}

if [ "$KEYS" -gt 1 ]; then
    # The reference policy; room for every key.
    start "$work/with.log" --capacity "$((KEYS > 100000 ? KEYS : 100000))"
    expected_limit=1000
    wrk_keys=(-s scripts/load-keys.lua)
    workload="$KEYS keys in turn, reference policy"
else
    start "$work/with.log" --policy scripts/load-policy.toml
    expected_limit=4294967295
    wrk_keys=(-H 'Authorization: Bearer key_load')
    workload="one key, scripts/load-policy.toml"
fi
export KEYS
start "$work/without.log" --no-limit
start "$work/fields.log" --fields-only
with_pid=${pids[0]}
without_pid=${pids[1]}
fields_pid=${pids[2]}
with=$(address "$work/with.log")
without=$(address "$work/without.log")
fields=$(address "$work/fields.log")

# The header fields of one answer from server $1 (curl fails the script
# on an error; the fields are read whole before any grep).
fields_of() { curl -fsS -o /dev/null -D - -H 'Authorization: Bearer key_load' "http://$1$PATH_UNDER_TEST"; }

# The layer is there: its fields are on the answers.
h=$(fields_of "$with")
grep -qiE "^x-ratelimit-limit: $expected_limit[[:space:]]*$" <<<"$h" || { echo "no X-RateLimit-Limit from $with" >&2; exit 1; }
# The control sets the fields too; the bare server does not.
h=$(fields_of "$fields")
grep -qiE "^x-ratelimit-limit: 4294967295[[:space:]]*$" <<<"$h" || { echo "no X-RateLimit-Limit from $fields" >&2; exit 1; }
h=$(fields_of "$without")
if grep -qi "^x-ratelimit-" <<<"$h"; then
    echo "X-RateLimit-* fields from the server without the layer, $without" >&2
    exit 1
fi

# measure ADDR PID SECONDS: requests/s and server CPU µs per request.
source scripts/wrk-measure.sh

measure "$with" "$with_pid" "$WARMUP" >/dev/null
measure "$without" "$without_pid" "$WARMUP" >/dev/null
measure "$fields" "$fields_pid" "$WARMUP" >/dev/null

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rps_with=()
rps_without=()
rps_fields=()
cpu_with=()
cpu_without=()
cpu_fields=()
for i in $(seq "$RUNS"); do
    read -r r0 c0 < <(measure "$without" "$without_pid" "$DURATION")
    read -r rf cf < <(measure "$fields" "$fields_pid" "$DURATION")
    read -r r1 c1 < <(measure "$with" "$with_pid" "$DURATION")
    echo "run $i: without $r0 req/s ($c0 us CPU/request), fields only $rf ($cf us), with $r1 ($c1 us)"
    rps_without+=("$r0")
    rps_fields+=("$rf")
    rps_with+=("$r1")
    cpu_without+=("$c0")
    cpu_fields+=("$cf")
    cpu_with+=("$c1")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
r0=$(median "${rps_without[@]}")
r1=$(median "${rps_with[@]}")
rf=$(median "${rps_fields[@]}")
c0=$(median "${cpu_without[@]}")
c1=$(median "${cpu_with[@]}")
cf=$(median "${cpu_fields[@]}")
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", (b - a) * 100 / a }'; }
echo
echo "| server | requests/s | server CPU per request |"
echo "|---|---|---|"
echo "| without the layer | $r0 | $c0 us |"
echo "| three constant fields only | $rf | $cf us |"
echo "| with the layer | $r1 | $c1 us |"
echo
echo "throughput change: $(pct "$r0" "$r1")%; CPU per request change: $(pct "$c0" "$c1")%"
echo "the constant fields alone: $(pct "$r0" "$rf")% throughput, $(pct "$c0" "$cf")% CPU per request"
echo "the layer against the constant fields: $(pct "$rf" "$r1")% throughput, $(pct "$cf" "$c1")% CPU per request"
echo "(medians of $RUNS runs of $DURATION s each, in turn; wrk -t$THREADS -c$CONNECTIONS, GET $PATH_UNDER_TEST, $workload; $(nproc) cores)"
