#!/usr/bin/env python3
"""Where the tollgate-tower layer's time goes, in CPU time per request.

Profiles the example API server without the layer (`--no-limit`) and with
it, each under the same `wrk` load on loopback, with `perf record -e
cpu-clock` sampling every 0.5 ms of the server's CPU time, and prints the
CPU nanoseconds per request spent in each category of symbol (the
limiter's check, the header map, the layer's own code, ...) for both
servers and their difference: the median over PAIRS alternating pairs of
runs, and each pair's difference.

A sample stands for 0.5 ms of CPU time; nanoseconds per request are
samples * 0.5 ms / the requests wrk completed while perf recorded (both
run for DURATION seconds, started together). Single runs on a shared
machine move by several hundred nanoseconds per request in the
categories that both servers share (the kernel's, "other user"); the
categories of the layer's own code move by tens.

Usage: scripts/layer_profile.py [--pairs N] [--keys N] [--duration S]

--keys 1 (the default) is ci/load.sh's one-key workload (ci/load-policy.toml,
every request on one key); --keys N > 1 its many-key workload (the
reference policy, requests rotating over N keys, ci/load-keys.lua). Needs
wrk and perf; run as a user allowed to profile the server.
"""

import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "examples", "api_server")
PATH = "/v1/companies/1"
# perf's sampling period: one sample per 0.5 ms of CPU time (cpu-clock
# counts nanoseconds).
PERIOD_NS = 500_000

# Categories, first match wins, by the symbol's name (user space) or its
# object ([kernel...]).
CATEGORIES = [
    (
        "limiter check and clock reads",
        lambda s: "tollgate::limiter" in s
        or "tollgate::table" in s
        or "clock_gettime" in s
        or "CoarseClock" in s,
    ),
    ("http header map", lambda s: "http::header::map" in s),
    (
        "bytes reference counts",
        lambda s: "bytes::bytes_mut::shared_v" in s or "bytes::bytes::shared_" in s,
    ),
    ("key extraction", lambda s: "tollgate_tower::key" in s or "core::str::converts::from_utf8" in s),
    ("the layer's other code", lambda s: "tollgate_tower" in s),
    ("service clone, call and drop", lambda s: "Oneshot" in s or "oneshot" in s),
    (
        "malloc, free, memmove",
        lambda s: s.startswith(("malloc", "_int_", "cfree", "free", "__memmove", "__memcpy", "realloc")),
    ),
]


def category(dso, symbol):
    if dso.startswith("[kernel"):
        return "kernel"
    for name, matches in CATEGORIES:
        if matches(symbol):
            return name
    return "other user space"


def start_server(args, log):
    server = subprocess.Popen(
        [BIN, "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    for _ in range(100):
        log.seek(0)
        found = re.search(r"listening on http://([0-9.:]+)", log.read())
        if found:
            return server, found.group(1)
        time.sleep(0.1)
    server.kill()
    sys.exit(f"server did not start: {args}")


def wrk(address, seconds, keys):
    load = ["-s", os.path.join(ROOT, "scripts", "load-keys.lua")] if keys > 1 else ["-H", "Authorization: Bearer key_load"]
    return subprocess.Popen(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", *load, f"http://{address}{PATH}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KEYS": str(keys)},
    )


def profile(server_args, keys, seconds, work):
    """CPU nanoseconds per request by category for one run."""
    data = os.path.join(work, "perf.data")
    with tempfile.TemporaryFile("w+") as log:
        server, address = start_server(server_args, log)
        try:
            wrk(address, 2, keys).communicate()  # warm-up
            load = wrk(address, seconds, keys)
            subprocess.run(
                ["perf", "record", "-q", "-e", "cpu-clock", "-c", str(PERIOD_NS),
                 "-p", str(server.pid), "-o", data, "--", "sleep", str(seconds)],
                check=True,
                stderr=subprocess.DEVNULL,
            )
            out, _ = load.communicate()
        finally:
            server.kill()
            server.wait()
    if "Non-2xx" in out:
        sys.exit(f"denied or failed requests under {server_args}: the profile would not be the layer's cost")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    report = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol",
         "-g", "none", "-F", "sample,dso,symbol", "--stdio"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    per_category = collections.Counter()
    for line in report.splitlines():
        parts = line.split(None, 2)
        if line.startswith("#") or len(parts) < 3 or not parts[0].isdigit():
            continue
        per_category[category(parts[1], parts[2].strip())] += int(parts[0]) * PERIOD_NS / requests
    per_category["total"] = sum(per_category.values())
    return per_category


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=1)
    parser.add_argument("--duration", type=int, default=8)
    o = parser.parse_args()
    for tool in ("wrk", "perf"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "-p", "tollgate-tower", "--example", "api_server"],
        check=True,
        cwd=ROOT,
    )
    if o.keys > 1:
        layer_args = ["--capacity", str(max(o.keys, 100_000))]
    else:
        layer_args = ["--policy", os.path.join(ROOT, "scripts", "load-policy.toml")]
    pairs = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(o.pairs):
            without = profile(["--no-limit"], o.keys, o.duration, work)
            with_layer = profile(layer_args, o.keys, o.duration, work)
            pairs.append((without, with_layer))
    names = sorted(
        {name for pair in pairs for run in pair for name in run},
        key=lambda n: (n == "total", -statistics.median(w[n] - b[n] for b, w in pairs)),
    )
    print(f"{o.keys} key(s), {o.pairs} pair(s) of {o.duration} s runs; CPU ns per request, medians")
    print("| category | without | with | difference | each pair |")
    print("|---|---:|---:|---:|---|")
    for n in names:
        diffs = [round(w[n] - b[n]) for b, w in pairs]
        print(
            f"| {n} | {statistics.median(b[n] for b, _ in pairs):.0f} "
            f"| {statistics.median(w[n] for _, w in pairs):.0f} "
            f"| {statistics.median(diffs):+.0f} | {', '.join(f'{d:+d}' for d in diffs)} |"
        )


if __name__ == "__main__":
    main()
