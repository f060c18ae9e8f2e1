#!/usr/bin/env bash
# Instructions per operation of each single-thread row, counted by
# valgrind's callgrind: independent of the machine's load, unlike the
# criterion timings. For each row, runs the `instructions` bench binary
# with 0 and with N iterations and reports (I_N - I_0) / N, so setup
# (building the limiter, tracking the keys) is not counted.
#
# Usage: scripts/instructions.sh [N] [ROW...]   (default N = 200000, all rows)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

n="${1:-200000}"
shift || true
bin=$(cargo bench -p tollgate-bench --bench instructions --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
rows=("$@")
if [ ${#rows[@]} -eq 0 ]; then
    rows=(tollgate_check_at_u64_1 tollgate_check_at_u64_1k tollgate_check_at_one_window_u64_1
        tollgate_check_at_one_window_u64_1k tollgate_check_at_packed_u64_1 tollgate_check_at_packed_u64_1k
        tollgate_check_at_packed_u64_1m tollgate_check_at_str_1k tollgate_check_at_packed_str_1k
        tollgate_check_system_clock_u64_1k tollgate_check_cached_clock_u64_1k tollgate_check_at_denied_u64_1 tollgate_peek_at_u64_1k
        governor_keyed_u64_1k governor_keyed_string_1k governor_direct_1 pingora_rate_u64_1k
        baseline_packed_cas_1 baseline_fetch_add_1)
fi

count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        awk '/Collected/ { print $NF }'
}

printf '| row | instructions per operation |\n|---|---:|\n'
for row in "${rows[@]}"; do
    base=$(count "$row" 0)
    full=$(count "$row" "$n")
    python3 -c "print('| $row | %.0f |' % (($full - $base) / $n))"
done
