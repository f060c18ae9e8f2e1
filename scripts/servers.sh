# Sourced by scripts/load.sh, scripts/layer_vs_governor.sh and
# scripts/layer_instructions_server.sh: what they share about the servers
# they start and the load they drive. Run one build after the other:
# never two cargo builds at once.

# The address http://ADDR a server logged to file $1 ("listening on
# http://ADDR"), waiting up to $2 tenths of a second (default 100); exits
# with the log when the server did not start.
address() {
    local log=$1 tries=${2:-100}
    for _ in $(seq "$tries"); do
        if grep -q 'listening on http://' "$log"; then
            sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$log" | head -n1
            return
        fi
        sleep 0.1
    done
    echo "server did not start: $(cat "$log")" >&2
    exit 1
}

# Installs wrk (Debian's package) when it is missing.
need_wrk() {
    if ! command -v wrk >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
}

# Builds the example API server (integrations/tower/examples/api_server.rs)
# and prints its binary's path.
api_server_binary() {
    cargo build --quiet --release -p tollgate-tower --example api_server
    echo target/release/examples/api_server
}

# Builds bench/benches/governor_server.rs (the example's routes behind
# tower_governor) and prints its binary's path.
governor_server_binary() {
    local gov
    gov=$(cargo bench -p tollgate-bench --bench governor_server --no-run 2>&1 |
        sed -n 's/.*Executable .*(\(.*governor_server-[0-9a-f]*\)).*/\1/p')
    [ -x "$gov" ] || { echo "no governor_server binary" >&2; exit 1; }
    echo "$gov"
}
