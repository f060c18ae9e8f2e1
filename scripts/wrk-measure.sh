# Sourced by scripts/load.sh and scripts/layer_vs_governor.sh: one wrk run
# against a server, with the server's CPU time per request.
#
# Uses THREADS, CONNECTIONS, PATH_UNDER_TEST and the array wrk_keys (wrk's
# options that choose the keys) of the script that sources it, and
# WRK_PREFIX (a command wrk runs under, such as taskset, or empty).

# CPU time of process $1 so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# One wrk run against the server at address $1 (process $2) for $3
# seconds; prints requests per second and the server's CPU microseconds
# per request. A non-2xx answer fails the run.
measure() {
    local out c0 c1 n
    c0=$(cpu_ticks "$2")
    # shellcheck disable=SC2086 # WRK_PREFIX: a command and its arguments, or empty
    out=$(${WRK_PREFIX:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3"s "${wrk_keys[@]}" "http://$1$PATH_UNDER_TEST")
    c1=$(cpu_ticks "$2")
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "non-2xx answers from $1:" >&2
        echo "$out" >&2
        exit 1
    fi
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    awk -v rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" \
        -v c0="$c0" -v c1="$c1" -v n="$n" -v hz="$ticks_per_second" \
        'BEGIN { printf "%s %.3f\n", rps, (c1 - c0) / hz * 1e6 / n }'
}
