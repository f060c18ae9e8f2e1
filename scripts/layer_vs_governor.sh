#!/usr/bin/env bash
# The HTTP layer beside tower_governor: the server CPU time per request
# that tollgate-tower and tower_governor each add to the example API
# server, under the same wrk load.
#
#   scripts/layer_vs_governor.sh                      # RUNS=5 DURATION=5: about 2 minutes after the builds
#   RUNS=2 DURATION=3 scripts/layer_vs_governor.sh    # a quick look
#   KEYS=1000 scripts/layer_vs_governor.sh            # requests rotating over 1,000 keys
#
# Four servers run side by side on ephemeral 127.0.0.1 ports:
# - bare:     api_server --no-limit (integrations/tower/examples);
# - tollgate: api_server --policy scripts/load-policy.toml (limits no run
#   reaches; the key from `Authorization: Bearer` or `X-API-Key`);
# - gov-bare: governor_server --no-limit (bench/benches/governor_server.rs:
#   the same routes, built in the bench crate, where tower_governor turns
#   on axum's default features: its own bare server, so that each layer
#   is measured against a server built like it);
# - governor: governor_server: tower_governor keyed by the same headers,
#   x-ratelimit fields on, one quota per key as open as it goes.
# Each run measures all four in turn, starting one server later every
# run, so that changes in the machine's load hit all alike. For each
# server it records requests per second and the server's CPU time per
# request (user + system, from /proc, as scripts/load.sh does). A run with
# any non-2xx answer fails the script: no request may be limited.
#
# Reported: the medians over the runs of each server's CPU per request,
# and of each layer's added CPU per request in a run (the layer's server
# less its bare server), and the ratio of the two added medians (the
# target: tollgate's at most half of tower_governor's).
#
# Settings (environment): RUNS (5), DURATION seconds per run (5),
# CONNECTIONS (32), THREADS of wrk (1), WARMUP seconds (2), KEYS (1: one
# key, "key_load"; N > 1: scripts/load-keys.lua, key_1 .. key_N in turn),
# PIN (1, the default: the servers run on the last CPU and wrk on the
# others, through taskset, so that wrk does not take the servers' CPU
# and the runs spread less; each server then runs one tokio worker; 0:
# servers and wrk share every CPU, two workers each on two CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
KEYS=${KEYS:-1}
PIN=${PIN:-1}
PATH_UNDER_TEST=/v1/companies/1

source scripts/servers.sh
need_wrk
api=$(api_server_binary)
gov=$(governor_server_binary)

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# With PIN=1: the servers on the last CPU this script may use, wrk on
# the others. tokio sizes a server's pool of workers from the CPUs it may
# use, so each pinned server runs one worker thread.
server_cpus=()
WRK_PREFIX=
if [ "$PIN" = 1 ]; then
    mapfile -t cpus < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
    [ "${#cpus[@]}" -ge 2 ] || { echo "PIN=1 needs two CPUs; run with PIN=0" >&2; exit 1; }
    server_cpus=(taskset -c "${cpus[-1]}")
    others=$(IFS=,; echo "${cpus[*]:0:${#cpus[@]}-1}")
    WRK_PREFIX="taskset -c $others"
fi
# Starts binary $2 with the remaining arguments, logging to $work/$1.log.
start() {
    local name=$1 bin=$2
    shift 2
    "${server_cpus[@]}" "$bin" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$work/$name.log" &
    pids+=($!)
}


names=(bare tollgate gov-bare governor)
start bare "$api" --no-limit
start tollgate "$api" --policy scripts/load-policy.toml --capacity "$((KEYS > 100000 ? KEYS : 100000))"
start gov-bare "$gov" --no-limit
start governor "$gov"
declare -A pid addr
for i in "${!names[@]}"; do
    pid[${names[$i]}]=${pids[$i]}
    addr[${names[$i]}]=$(address "$work/${names[$i]}.log")
done

if [ "$KEYS" -gt 1 ]; then
    export KEYS
    wrk_keys=(-s scripts/load-keys.lua)
    workload="$KEYS keys in turn"
else
    wrk_keys=(-H 'Authorization: Bearer key_load')
    workload="one key"
fi

# The layers are there: their fields are on the answers; the bare
# servers set none.
for name in "${names[@]}"; do
    h=$(curl -fsS -o /dev/null -D - -H 'Authorization: Bearer key_load' "http://${addr[$name]}$PATH_UNDER_TEST")
    case $name in
    tollgate | governor)
        grep -qi '^x-ratelimit-limit:' <<<"$h" || { echo "no x-ratelimit-limit from $name" >&2; exit 1; }
        ;;
    *)
        if grep -qi '^x-ratelimit-' <<<"$h"; then
            echo "x-ratelimit fields from $name, which has no layer" >&2
            exit 1
        fi
        ;;
    esac
done

# measure ADDR PID SECONDS: requests/s and server CPU µs per request.
source scripts/wrk-measure.sh

for name in "${names[@]}"; do
    measure "${addr[$name]}" "${pid[$name]}" "$WARMUP" >/dev/null
done

cpuinfo() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n1; }
echo "machine: $(cpuinfo 'model name') (family $(cpuinfo 'cpu family'), model $(cpuinfo model)), $(grep -c ^processor /proc/cpuinfo) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A rps cpu
added_tollgate=()
added_governor=()
for run in $(seq "$RUNS"); do
    line="run $run:"
    for k in 0 1 2 3; do
        name=${names[$(((run - 1 + k) % 4))]}
        read -r r c < <(measure "${addr[$name]}" "${pid[$name]}" "$DURATION")
        rps[$name]="${rps[$name]:-} $r"
        cpu[$name]="${cpu[$name]:-} $c"
        eval "c_${name//-/_}=$c"
        line="$line $name $r req/s $c us;"
    done
    echo "$line"
    added_tollgate+=("$(awk -v a="$c_tollgate" -v b="$c_bare" 'BEGIN { printf "%.3f", a - b }')")
    added_governor+=("$(awk -v a="$c_governor" -v b="$c_gov_bare" 'BEGIN { printf "%.3f", a - b }')")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo " to " hi }'; }
echo
echo "| server | requests/s | server CPU per request | added by the layer: median of runs | range over runs |"
echo "|---|---:|---:|---:|---:|"
# shellcheck disable=SC2086 # the lists are space-separated numbers
{
    echo "| api_server --no-limit | $(median ${rps[bare]}) | $(median ${cpu[bare]}) us | | |"
    echo "| api_server, tollgate-tower | $(median ${rps[tollgate]}) | $(median ${cpu[tollgate]}) us | $(median "${added_tollgate[@]}") us | $(range "${added_tollgate[@]}") us |"
    echo "| governor_server --no-limit | $(median ${rps[gov-bare]}) | $(median ${cpu[gov-bare]}) us | | |"
    echo "| governor_server, tower_governor | $(median ${rps[governor]}) | $(median ${cpu[governor]}) us | $(median "${added_governor[@]}") us | $(range "${added_governor[@]}") us |"
}
t=$(median "${added_tollgate[@]}")
g=$(median "${added_governor[@]}")
echo
awk -v t="$t" -v g="$g" 'BEGIN {
    if (g <= 0) { print "tower_governor added no CPU per request in the median run: no ratio"; exit }
    r = t / g
    printf "tollgate-tower adds %.2fx the CPU per request that tower_governor adds (target: <= 0.5x): %s\n", r, (r <= 0.5 ? "met" : "missed")
}'
echo "(medians of $RUNS runs of $DURATION s each, in turn; $( [ "$PIN" = 1 ] && echo "servers on CPU ${cpus[-1]} (one worker each), wrk on CPUs $others" || echo "servers and wrk on every CPU"); wrk -t$THREADS -c$CONNECTIONS, GET $PATH_UNDER_TEST, $workload; tollgate: scripts/load-policy.toml; tower_governor: a cell a nanosecond, bursts of 4294967295)"
