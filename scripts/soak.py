#!/usr/bin/env python3
"""Soak test: a flood of invented keys against the example API server.

Starts `api_server` with the reference policy (reads 1,000 a minute and
333 per 10 s, writes 60 a minute and 20 per 10 s, per API key) and a
table of CAPACITY (key, class) states, then for DURATION seconds runs at
once:

- the flood: `wrk` with scripts/soak-flood.lua, one GET per invented key
  (`Bearer flood_<thread>_<n>`, never repeated), at least 10x CAPACITY
  keys in all. Each key sends once, so a 429 can only be a full table
  (code `rate_limited`, with `Retry-After`); every 200 must show a fresh
  state (Remaining 332).
- the steady keys (`steady_1`...), tracked before the flood starts: one
  client thread each (Python's http.client, one keep-alive connection),
  which sends a pair of GETs PHASE seconds into every second (both land
  in one second, so the state holds 2 or more from its first second in
  each minute: by the table's rule, never evictable) and, in seconds 7,
  22, 37 and 52 of each minute, a burst of 25 writes (PATCH of company
  2, which leaves the store's size alone). Each burst meets the 10 s
  limit (20 admitted, 5 denied); the fourth of a minute meets the
  minute's (60). Every answer's status, `X-RateLimit-*`, `Retry-After`
  and 429 body is recorded. At each minute's start every window of a
  key's GET state ends, and so does its write state between the bursts
  of two minutes: the table may then give the slot to another key, and
  the steady key's next request is a new key's.
- a sampler of the server's resident memory (VmRSS) every few seconds.

Checks (any failure exits 1):
- wrk saw no connect, read, write or timeout error, and sent at least
  10x CAPACITY keys; no 5xx and no status but 200 and 429; every 200 of
  the flood from a fresh state, every 429 the layer's.
- Every steady answer is the one the fixed-window rule gives, replayed
  from the key's own log: per class, windows of 60 s and 10 s aligned to
  the unix epoch, a request admitted if both have room, a denial counting
  nothing; Limit is the minute's limit, Remaining the least room after
  the request, Reset the end of the longest window with that least room,
  a denial's Retry-After and `details` its window that ends last. The
  server's clock and the client's agree only to about a second, so a
  request is placed in the window the server's Reset names (among those
  within SLACK seconds of the client's send and receive times), not in
  the one of the client's clock. A key whose state held 1, which the
  table may evict for a new key (`LimiterBuilder::evict_at_most`), and
  whose answer then is a fresh state's, is reported apart and does not
  fail the run; every other difference does, and so does a steady
  request refused as by a full table (429, Remaining 0, `details` the
  longest window, Reset = the server's second + Retry-After), reported
  with what the key's state held (ended, or live counts).
- A steady request that gets no answer fails the run, except one sent
  on a connection the server closed after a 429 to a write: the layer
  refuses on the head alone, and the server then closes the connection
  (without `Connection: close`) if the body, which http.client writes
  separately, has not arrived. Those are counted and listed.
- RSS flat after warm-up: max - min over the second half of the run at
  most RSS_TOLERANCE_KB.

The flood keeps to about --flood-rate new keys a second (default
CAPACITY). The table takes a slot for a new key only from a state that
ended or that was last counted in an earlier second, so it admits about
as many new keys a second as it has slots (a little over CAPACITY); a
faster flood (--flood-rate 0: as fast as wrk goes) also gets full-table
refusals for the steady keys' new states, which the run then reports.

Usage: scripts/soak.py [--capacity N] [--duration S] [--steady-keys N]
                       [--phase S] [--connections N] [--threads N]
                       [--flood-rate N] [--sample S] [--rss-tolerance-kb KB]
Environment: SOAK_CAPACITY, SOAK_DURATION, SOAK_FLOOD_RATE (the options'
defaults).
Logs (server, wrk, every steady answer as JSON lines) go to target/soak/.
Installs wrk with apt-get when it is missing; builds the example server.
"""

import argparse
import http.client
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "examples", "api_server")
LOGS = os.path.join(ROOT, "target", "soak")
FLOOD_PATH = "/v1/companies/1"
WRITE_PATH = "/v1/companies/2"
WRITE_BODY = b'{"name":"Globex"}'

# The reference policy, windows longest first: {class: ((seconds, limit), ...)}.
POLICY = {"GET": ((60, 1000), (10, 333)), "PATCH": ((60, 60), (10, 20))}
# Seconds of each minute at which a steady key sends a write burst, and
# its size: one burst in each of four 10 s windows, each above 20.
BURST_SECONDS = (7, 22, 37, 52)
BURST = 25
# How far (seconds) the server's clock may be from the client's when
# placing a request in a window (the Reset settles it), and when checking
# a Retry-After, whose value names the server's second (both clocks are
# this machine's; the server's coarse clock lags by a tick, a few ms).
SLACK = 2.0
SKEW = 0.25
# The most a state may hold and be evicted (the builder's default).
EVICT_AT_MOST = 1


def main():
    o = options()
    if shutil.which("wrk") is None:
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                       "apt-get install -y -qq wrk >/dev/null", shell=True, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "tollgate-tower",
                    "--example", "api_server"], check=True, cwd=ROOT)
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "server.log"), "w+") as server_log:
        server, address = start_server(o.capacity, server_log)
        try:
            run = soak(o, server, address)
        finally:
            server.terminate()
            server.wait()
        server_log.seek(0)
        run["server_log"] = server_log.read()
    sys.exit(report(o, run))


def options():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--capacity", type=int, default=int(os.environ.get("SOAK_CAPACITY", 10_000)),
                   help="the table's capacity in (key, class) states (10000)")
    p.add_argument("--duration", type=int, default=int(os.environ.get("SOAK_DURATION", 150)),
                   help="seconds of load (150)")
    p.add_argument("--steady-keys", type=int, default=5, help="steady keys (5)")
    p.add_argument("--phase", type=float, default=0.5,
                   help="seconds into each second at which the steady keys send (0.5)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    p.add_argument("--flood-rate", type=int, default=os.environ.get("SOAK_FLOOD_RATE"),
                   help="new keys a second the flood keeps to, about (default: CAPACITY; "
                        "0: as fast as wrk goes)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    p.add_argument("--sample", type=float, default=5, help="seconds between RSS samples (5)")
    p.add_argument("--rss-tolerance-kb", type=int, default=1024,
                   help="largest RSS spread over the second half, KB (1024)")
    o = p.parse_args()
    if o.flood_rate is None:
        o.flood_rate = o.capacity
    return o


def start_server(capacity, log):
    server = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--capacity", str(capacity)],
                              stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(100):
        log.seek(0)
        found = re.search(r"listening on http://([0-9.:]+)", log.read())
        if found:
            return server, found.group(1)
        time.sleep(0.1)
    server.kill()
    sys.exit("server did not start")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def soak(o, server, address):
    """Runs the flood, the steady keys and the sampler; returns what they saw."""
    host, port = address.rsplit(":", 1)
    rss = [(0.0, rss_kb(server.pid))]
    stop = threading.Event()
    logs = {f"steady_{i}": [] for i in range(1, o.steady_keys + 1)}
    late = {key: 0 for key in logs}
    start = time.time()
    clients = [threading.Thread(target=steady, args=(host, int(port), key, o.phase + 0.02 * i,
                                                     logs[key], late, stop))
               for i, key in enumerate(logs)]
    for c in clients:
        c.start()
    # Each steady key is tracked before the flood starts: its first pair
    # of GETs comes within 1.7 s.
    deadline = time.time() + 5
    while time.time() < deadline and not all(len(log) >= 2 for log in logs.values()):
        time.sleep(0.1)
    # Each connection waits this long between requests: the flood keeps to
    # about --flood-rate keys a second.
    wait_ms = o.connections * 1000 // o.flood_rate if o.flood_rate > 0 else 0
    flood = subprocess.Popen(
        ["wrk", f"-t{o.threads}", f"-c{o.connections}", f"-d{o.duration}s",
         "-s", os.path.join(ROOT, "scripts", "soak-flood.lua"), f"http://{address}{FLOOD_PATH}",
         "--", str(wait_ms)],
        stdout=subprocess.PIPE, text=True)
    while True:
        flood_done = wait_or(flood, o.sample)
        if server.poll() is None:
            rss.append((time.time() - start, rss_kb(server.pid)))
        if flood_done:
            break
    out, _ = flood.communicate()
    stop.set()
    for c in clients:
        c.join()
    elapsed = time.time() - start
    with open(os.path.join(LOGS, "wrk.out"), "w") as f:
        f.write(out)
    with open(os.path.join(LOGS, "steady.jsonl"), "w") as f:
        for key, records in logs.items():
            for r in records:
                f.write(json.dumps({"key": key, **r}) + "\n")
    figures = {m.group(1): int(m.group(2)) for m in re.finditer(r"^soak-flood (\w+) (-?\d+)$", out, re.M)}
    return {"wrk": out, "flood": figures, "steady": logs, "late": late, "rss": rss,
            "elapsed": elapsed, "server_alive": server.poll() is None}


def wait_or(process, seconds):
    """Waits up to `seconds` for `process`; whether it has ended."""
    try:
        process.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def steady(host, port, key, phase, log, late, stop):
    """One steady key: a pair of GETs `phase` seconds into every second,
    and a burst of writes in the seconds of BURST_SECONDS, until `stop`."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    auth = {"Authorization": f"Bearer {key}"}
    write = {**auth, "Content-Type": "application/json"}
    tick = math.floor(time.time()) + 1
    previous = None
    while not stop.is_set():
        at = tick + phase
        delay = at - time.time()
        if delay < 0:
            # Behind by more than the pace allows: skip to the next second.
            late[key] += 1
            tick = math.floor(time.time()) + 1
            continue
        if stop.wait(delay):
            break
        requests = [("GET", FLOOD_PATH, None, auth)] * 2
        if tick % 60 in BURST_SECONDS:
            requests += [("PATCH", WRITE_PATH, WRITE_BODY, write)] * BURST
        for request in requests:
            record = exchange(conn, *request)
            if "error" in record:
                # What the connection answered last, before it failed.
                record["after"] = previous
                previous = None
            else:
                previous = [record["method"], record["status"]]
            log.append(record)
        tick += 1
    conn.close()


def exchange(conn, method, path, body, headers):
    """One request on `conn`; its record: times, status and fields."""
    sent = time.time()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
    except (OSError, http.client.HTTPException) as e:
        conn.close()  # reconnects on the next request
        return {"method": method, "sent": sent, "received": time.time(), "error": repr(e)}
    received = time.time()
    record = {"method": method, "sent": sent, "received": received, "status": response.status}
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"):
        value = response.getheader(name)
        record[name.lower()] = int(value) if value is not None else None
    if response.status == 429:
        try:
            error = json.loads(text)["error"]
            record["code"] = error.get("code")
            details = error.get("details") or {}
            record["details"] = [details.get("limit"), details.get("window")]
        except (ValueError, KeyError, TypeError):
            record["code"] = None
    return record


# The fixed-window rule, replayed.

def window_name(seconds):
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def predict(state, ten, windows):
    """The answer to a check of cost 1 counted at a time in 10 s window
    `ten` (unix seconds // 10), given `state` {length: (index, count)};
    and the state after it."""
    start = ten * 10
    found = []
    for length, limit in windows:
        index = start // length
        held = state.get(length)
        found.append((length, limit, index, held[1] if held and held[0] == index else 0))
    admitted = all(count + 1 <= limit for _, limit, _, count in found)
    after = [(length, limit, index, count + 1 if admitted else count)
             for length, limit, index, count in found]
    # Longest first: the first with the least room binds.
    remaining = min(limit - count for _, limit, _, count in after)
    length, _, index, _ = next(w for w in after if w[1] - w[3] == remaining)
    answer = {"status": 200 if admitted else 429, "x-ratelimit-limit": windows[0][1],
              "x-ratelimit-remaining": remaining, "x-ratelimit-reset": (index + 1) * length}
    if not admitted:
        # The denying window that ends last; on a tie, the longest.
        denying = [w for w in found if w[3] + 1 > w[1]]
        length, limit, index, _ = max(denying, key=lambda w: ((w[2] + 1) * w[0], w[0]))
        end = (index + 1) * length
        answer["code"] = "rate_limited"
        answer["details"] = [limit, window_name(length)]
        # The server's second is somewhere in the 10 s window.
        answer["retry_range"] = (max(1, end - start - 9), max(1, end - start))
        answer["end"] = end
    new_state = {length: (index, count) for length, _, index, count in after}
    return answer, new_state


def differences(answer, record):
    """The fields in which `record` differs from the predicted `answer`."""
    diff = [name for name in ("status", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
            if record.get(name) != answer[name]]
    if answer["status"] == 429:
        low, high = answer["retry_range"]
        retry = record.get("retry-after")
        # Unless it is the floor of 1, Retry-After is the window's end
        # minus the server's second.
        if retry is None or not low <= retry <= high or retry > 1 and not \
                math.floor(record["sent"] - SKEW) <= answer["end"] - retry <= math.floor(record["received"] + SKEW):
            diff.append("retry-after")
        for name in ("code", "details"):
            if record.get(name) != answer[name]:
                diff.append(name)
    elif record.get("retry-after") is not None:
        diff.append("retry-after")
    return diff


def held(state, ten, windows):
    """The most `state` holds in a window current in 10 s window `ten`."""
    return max((state[length][1] for length, _ in windows
                if length in state and state[length][0] == ten * 10 // length), default=0)


def table_full(r, windows):
    """Whether `r` has the shape of a full table's refusal: a 429 with
    Remaining 0, the class's longest window in `details`, and Reset at
    the server's time plus Retry-After."""
    primary = [windows[0][1], window_name(windows[0][0])]
    return r.get("status") == 429 and r.get("x-ratelimit-remaining") == 0 \
        and r.get("details") == primary and r.get("retry-after") is not None \
        and r["sent"] - SLACK <= r["x-ratelimit-reset"] - r["retry-after"] <= r["received"] + SLACK


def replay(key, records, windows):
    """Checks one (key, class) log against the rule; returns
    (mismatches, evictions, refusals, ambiguous): descriptions of answers
    the rule does not give, of answers a fresh state gives after an
    eviction the table allows, of refusals as by a full table, and the
    number of requests whose window the Reset alone did not settle."""
    state, newest = {}, None
    mismatches, evictions, refusals, ambiguous = [], [], [], 0
    for n, r in enumerate(records):
        where = f"{key} {r['method']} #{n}"
        if table_full(r, windows):
            now = r["x-ratelimit-reset"] - r["retry-after"]
            answer, _ = predict(state, now // 10, windows)
            if answer["status"] == 200:
                # Nothing counted: the state stays as it was.
                had = held(state, now // 10, windows)
                refusals.append((where, now, had, r["retry-after"]))
                continue
        # The 10 s windows within SLACK of the client's times; windows
        # never go back for a key; the one counted in must give the Reset
        # the server sent.
        tens = range(math.floor((r["sent"] - SLACK) / 10), math.floor((r["received"] + SLACK) / 10) + 1)
        fits = [(ten, *predict(state, ten, windows)) for ten in tens if newest is None or ten >= newest]
        fits = [f for f in fits if f[1]["x-ratelimit-reset"] == r.get("x-ratelimit-reset")] or fits
        if len(fits) > 1:
            ambiguous += 1
            exact = [f for f in fits if not differences(f[1], r)]
            mid = (r["sent"] + r["received"]) / 2
            fits = sorted(exact or fits, key=lambda f: abs(f[0] * 10 + 5 - mid))
        if not fits:
            mismatches.append(f"{where} {describe(r)}: no window at or after the key's newest")
            continue
        ten, answer, after = fits[0]
        diff = differences(answer, r)
        if diff:
            had = held(state, ten, windows)
            fresh, fresh_after = predict({}, ten, windows)
            if 0 < had <= EVICT_AT_MOST and not differences(fresh, r):
                evictions.append(f"{where} {describe(r)}: a fresh state's answer; the state held {had}")
                after = fresh_after
            else:
                expected = {k: v for k, v in answer.items() if k not in ("retry_range", "end")}
                mismatches.append(f"{where} {describe(r)}: {', '.join(diff)} differ; "
                                  f"the rule gives {expected}")
        # After a mismatch too, the rule's state: one wrong answer is one
        # mismatch, a count the server lost or added shows in every answer
        # until its windows end.
        state, newest = after, ten
    return mismatches, evictions, refusals, ambiguous


def describe(r):
    fields = {k: r.get(k) for k in ("status", "x-ratelimit-remaining", "x-ratelimit-reset",
                                    "retry-after", "details") if r.get(k) is not None}
    return f"{r['method']} at {r['sent']:.3f}-{r['received']:.3f} {fields}"


# The report.

def report(o, run):
    failures = []
    f = run["flood"]
    print(run["wrk"], end="")
    if "requests" not in f:
        failures.append("wrk printed no figures")
    requests = f.get("requests", 0)
    statuses = {int(k[7:]): v for k, v in f.items() if k.startswith("status_")}
    errors = {k[6:]: v for k, v in f.items() if k.startswith("error_")}
    n429, n5xx = statuses.get(429, 0), sum(v for s, v in statuses.items() if s >= 500)
    other = {s: v for s, v in statuses.items() if s not in (200, 429) and s < 500}
    if any(errors.values()):
        failures.append(f"wrk errors: {errors}")
    if requests < 10 * o.capacity:
        failures.append(f"flood of {requests} keys, under 10x the capacity ({10 * o.capacity})")
    if n5xx:
        failures.append(f"flood: {n5xx} answers 5xx")
    if other:
        failures.append(f"flood: statuses other than 200 and 429: {other}")
    if f.get("stale_200"):
        failures.append(f"flood: {f['stale_200']} answers 200 not from a fresh state (Remaining != 332)")
    if f.get("bad_429"):
        failures.append(f"flood: {f['bad_429']} answers 429 without Retry-After or code rate_limited")

    steady_total = steady_admitted = 0
    errors_steady, closed, mismatches, evictions, refusals, ambiguous = [], [], [], [], [], 0
    for key, records in run["steady"].items():
        for r in records:
            if "error" not in r:
                continue
            # A request the server never read: its connection was closed
            # after a 429 to a write whose body the layer left unread.
            line = f"{key}: {describe(r)}: {r['error']} after {r['after']}"
            (closed if r["after"] == ["PATCH", 429] else errors_steady).append(line)
        answered = [r for r in records if "error" not in r]
        steady_total += len(records)
        steady_admitted += sum(r["status"] < 300 for r in answered)
        for method, windows in POLICY.items():
            m, e, f_, a = replay(key, [r for r in answered if r["method"] == method], windows)
            mismatches += m
            evictions += e
            refusals += f_
            ambiguous += a
    steady_denied = sum(r.get("status") == 429 for rs in run["steady"].values() for r in rs) - len(refusals)
    if errors_steady:
        failures.append(f"steady keys: {len(errors_steady)} requests failed")
    if mismatches:
        failures.append(f"steady keys: {len(mismatches)} answers differ from the rule")
    live = [x for x in refusals if x[2] > EVICT_AT_MOST]
    if refusals:
        failures.append(f"steady keys: {len(refusals)} refused as by a full table "
                        f"({len(refusals) - len(live)} whose state had ended or held at most "
                        f"{EVICT_AT_MOST}, {len(live)} with live counts above that)")
    refusal_lines = [f"{where} at :{now % 60:02d} of the minute ({now}), Retry-After {retry}: the state "
                     + ("had ended" if had == 0 else f"held {had}") for where, now, had, retry in refusals]
    late = sum(run["late"].values())

    rss = [(t, kb) for t, kb in run["rss"] if kb is not None]
    print("\nRSS (seconds, KB): " + ", ".join(f"{t:.0f} {kb}" for t, kb in rss))
    half = [kb for t, kb in rss if t >= run["elapsed"] / 2]
    spread = max(half) - min(half) if half else 0
    after_warmup = half[0] if half else None
    if not half:
        failures.append("no RSS samples in the second half")
    elif spread > o.rss_tolerance_kb:
        failures.append(f"RSS spread {spread} KB over the second half, above {o.rss_tolerance_kb} KB")
    if not run["server_alive"]:
        failures.append("the server exited during the run")
    if "panicked" in run["server_log"]:
        failures.append("the server panicked: see target/soak/server.log")

    for title, lines in (("steady request errors", errors_steady), ("steady mismatches", mismatches),
                         ("steady refusals as by a full table", refusal_lines),
                         ("steady evictions the table allows (state held 1)", evictions),
                         ("steady requests lost to a connection closed after a refused write", closed)):
        if lines:
            print(f"\n{title} ({len(lines)}):")
            print("\n".join(f"  {x}" for x in lines[:20]))
            if len(lines) > 20:
                print(f"  ... {len(lines) - 20} more in target/soak/steady.jsonl")

    exact = "yes" if not mismatches and not evictions and not errors_steady else \
        f"no ({len(mismatches)} mismatches, {len(evictions)} allowed evictions, {len(errors_steady)} errors)"
    refused = [f"{len(refusals)}"]
    for m in POLICY:
        seconds = [now % 60 for where, now, _, _ in refusals if where.split()[1] == m]
        if seconds:
            refused.append(f"{len(seconds)} {m} (at :{min(seconds):02d} to :{max(seconds):02d} of a minute)")
    refused = ": ".join([refused[0], ", ".join(refused[1:])]) if refusals else "0"
    admitted_per_second = statuses.get(200, 0) / max(f.get("duration_us", 1) / 1e6, 1)
    model = cpu_model()
    rows = [
        ("machine", f"{model}, {os.cpu_count()} CPUs"),
        ("duration", f"{o.duration} s of flood; steady keys {run['elapsed']:.0f} s"),
        ("flood requests", f"{requests:,} ({requests / max(run['elapsed'], 1):,.0f}/s), wrk -t{o.threads} -c{o.connections}, GET {FLOOD_PATH}, "
                           f"{f'paced to ~{o.flood_rate:,}/s' if o.flood_rate else 'unpaced'}"),
        ("keys", f"{f.get('keys_sent', 0):,} invented (each sent once) + {o.steady_keys} steady"),
        ("capacity", f"{o.capacity:,} states; flood = {requests / o.capacity:.0f}x capacity"),
        ("steady requests", f"{steady_total:,}: {steady_admitted:,} admitted, {steady_denied:,} denied by a window, "
                            f"{len(refusals):,} refused as by a full table, {len(closed) + len(errors_steady)} unanswered; "
                            f"{late} late ticks"),
        ("RSS start / after warm-up / end", f"{rss[0][1]:,} / {after_warmup or 0:,} / {rss[-1][1]:,} KB"
         if rss else "none"),
        ("RSS spread, second half", f"{spread:,} KB ({100 * spread / max(after_warmup or 1, 1):.1f}%)"),
        ("wrk errors (connect/read/write/timeout)", "/".join(str(errors.get(k, "?")) for k in ("connect", "read", "write", "timeout"))),
        ("flood 429s (full table)", f"{n429:,} ({100 * n429 / max(requests, 1):.1f}%); "
                                    f"{admitted_per_second:,.0f} new keys admitted per second"),
        ("5xx", f"{n5xx}"),
        ("flood 200s from a fresh state", "all" if not f.get("stale_200") else f"no: {f['stale_200']} not"),
        ("steady keys exact", exact + (f"; {ambiguous} placed by Remaining" if ambiguous else "")),
        ("steady keys refused by a full table", refused),
        ("steady requests lost to connections closed after a refused write", f"{len(closed)}"),
        ("result", "pass" if not failures else "FAIL"),
    ]
    print(f"\n| soak: `scripts/soak.py --capacity {o.capacity} --duration {o.duration} "
          f"--phase {o.phase} --flood-rate {o.flood_rate}` | |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return re.search(r"^Model name:\s*(.+)$", out, re.M).group(1).strip()
    except (OSError, AttributeError):
        return "unknown CPU"


if __name__ == "__main__":
    main()
