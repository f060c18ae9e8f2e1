#!/usr/bin/env python3
"""Turn criterion's output into the BENCHMARKS.md tables, docs/bench.svg and
docs/keys.svg.

Reads target/criterion/**/new/estimates.json (the median of each row, in
nanoseconds per iteration) and target/criterion/memory.json (written by the
`memory` bench), prints the Markdown tables with their ratios and the
speed targets met or missed, and writes two SVG charts: horizontal bars of
every row, the headline rows first (docs/bench.svg), and ns per check
against the number of keys on a log scale (docs/keys.svg, from the `keys`
bench). Python 3 standard library only.

    cargo bench                     # every row, in one run
    python3 scripts/bench_chart.py  # tables on stdout, docs/bench.svg, docs/keys.svg

The HTTP layer's target comes from scripts/layer_vs_governor.sh, not
from criterion: save its output and pass it with --layer-log to see it
among the targets:

    scripts/layer_vs_governor.sh | tee target/layer_vs_governor.txt
    python3 scripts/bench_chart.py --layer-log target/layer_vs_governor.txt

`cargo bench` also runs the plain_loop target (tollgate and governor in
alternating rounds of one process), which prints its own table.

On a shared machine, run the whole suite several times into named
baselines and keep, for each row, the lowest median (the run that other
work disturbed least):

    for r in 1 2 3; do cargo bench -p tollgate-bench -- --save-baseline run$r; done
    python3 scripts/bench_chart.py --baselines run1,run2,run3
"""

import argparse
import glob
import json
import math
import os
import re
import sys
from xml.sax.saxutils import escape

# (criterion id, label, kind, threads). kind: tollgate | peer | floor.
# The headline rows: the limiter as users build it (check, the default
# clock, the reference policy's shape with limits no run reaches) over
# 1,000 u64 keys, at four load factors of its table, beside governor keyed.
HEADLINE = [
    ("keyed/governor_keyed/u64_1k", "governor keyed, 1,000 u64 keys", "peer", 1),
    ("keyed/tollgate_check_load/95pct_1k", "tollgate as built: 1,000 keys, table 95% full", "tollgate", 1),
    ("keyed/tollgate_check_load/50pct_1k", "tollgate as built: 1,000 keys, table 50% full", "tollgate", 1),
    ("keyed/tollgate_check_load/10pct_1k", "tollgate as built: 1,000 keys, table 10% full", "tollgate", 1),
    ("keyed/tollgate_check_load/default_1k", "tollgate as built: 1,000 keys, default capacity", "tollgate", 1),
]
KEYED = HEADLINE + [
    ("keyed/tollgate_check/u64_1", "tollgate check, 1 u64 key", "tollgate", 1),
    ("keyed/tollgate_check/u64_1k", "tollgate check, 1,000 u64 keys", "tollgate", 1),
    ("keyed/tollgate_check/u64_1M", "tollgate check, 1,000,000 u64 keys", "tollgate", 1),
    ("keyed/tollgate_check/str_1k", "tollgate check, 1,000 &str keys", "tollgate", 1),
    ("keyed/tollgate_check_at/u64_1", "tollgate check_at, 1 u64 key", "tollgate", 1),
    ("keyed/tollgate_check_at/u64_1k", "tollgate check_at, 1,000 u64 keys", "tollgate", 1),
    ("keyed/tollgate_check_at_one_window/u64_1", "tollgate check_at, 1 key, one-window class", "tollgate", 1),
    ("keyed/tollgate_check_one_window/u64_1k", "tollgate check, 1,000 keys, one-window class", "tollgate", 1),
    ("keyed/tollgate_check_cached_clock/u64_1k", "tollgate check, 1,000 u64 keys, CachedClock", "tollgate", 1),
    ("keyed/tollgate_check_cached_clock_one_window/u64_1k", "tollgate check, 1,000 keys, one-window class, CachedClock", "tollgate", 1),
    ("keyed/tollgate_check_at_packed/u64_1", "tollgate check_at, 1 key, windows in one word", "tollgate", 1),
    ("keyed/tollgate_check_at_packed/u64_1k", "tollgate check_at, 1,000 keys, one word", "tollgate", 1),
    ("keyed/tollgate_check_at_packed/u64_1M", "tollgate check_at, 1,000,000 keys, one word", "tollgate", 1),
    ("keyed/tollgate_check_at_packed_chained/u64_1M", "tollgate check_at, 1,000,000 keys, one word, chained", "tollgate", 1),
    ("keyed/tollgate_check_at_packed/str_1k", "tollgate check_at, 1,000 &str keys, one word", "tollgate", 1),
    ("keyed/tollgate_check_denied/u64_1", "tollgate check, denied (spent key)", "tollgate", 1),
    ("keyed/tollgate_peek/u64_1k", "tollgate peek, 1,000 u64 keys", "tollgate", 1),
    ("keyed/governor_keyed/u64_1M", "governor keyed, 1,000,000 u64 keys", "peer", 1),
    ("keyed/governor_keyed_chained/u64_1M", "governor keyed, 1,000,000 u64 keys, chained", "peer", 1),
    ("keyed/governor_keyed/string_1k", "governor keyed, 1,000 String keys", "peer", 1),
    ("keyed/governor_direct/1", "governor direct (no key)", "peer", 1),
    ("keyed/pingora_rate/u64_1k", "pingora-limits Rate::observe, 1,000 u64 keys", "peer", 1),
    ("keyed/baseline_packed_cas/1", "floor: one packed compare-exchange", "floor", 1),
    ("keyed/baseline_packed_cas_x2/1", "floor: two packed compare-exchanges", "floor", 1),
    ("keyed/baseline_fetch_add/1", "floor: one fetch_add", "floor", 1),
    ("keyed/baseline_packed_cas/u64_1M", "floor: one packed compare-exchange, 1,000,000 words", "floor", 1),
    ("keyed/baseline_packed_cas_chained/u64_1M", "floor: one packed compare-exchange, 1,000,000 words, chained", "floor", 1),
]
THREADS = [
    ("threads/tollgate_check_reference/distinct_1k/1t", "tollgate as built, 1 thread, its 1,000 keys", "tollgate", 1),
    ("threads/tollgate_check_reference/distinct_1k/2t", "tollgate as built, 2 threads, 1,000 keys each", "tollgate", 2),
    ("threads/tollgate_check_reference/distinct_1k_95pct/1t", "tollgate as built, table 95% full, 1 thread, its 1,000 keys", "tollgate", 1),
    ("threads/tollgate_check_reference/distinct_1k_95pct/2t", "tollgate as built, table 95% full, 2 threads, 1,000 keys each", "tollgate", 2),
    ("threads/tollgate_check/distinct_1k/1t", "tollgate, 1 thread, its 1,000 keys of 2,000", "tollgate", 1),
    ("threads/tollgate_check/shared_1k/1t", "tollgate, 1 thread, 1,000 keys", "tollgate", 1),
    ("threads/tollgate_check/shared_1k/2t", "tollgate, 2 threads, 1,000 shared keys", "tollgate", 2),
    ("threads/tollgate_check/distinct_1k/2t", "tollgate, 2 threads, 1,000 keys each", "tollgate", 2),
    ("threads/tollgate_check/hot_1/2t", "tollgate, 2 threads, 1 hot key", "tollgate", 2),
    ("threads/tollgate_check_packed_shared_clock/shared_1k/1t", "tollgate one word, one clock, 1 thread, 1,000 keys", "tollgate", 1),
    ("threads/tollgate_check_packed_shared_clock/shared_1k/2t", "tollgate one word, one clock, 2 threads, 1,000 shared keys", "tollgate", 2),
    ("threads/governor_keyed/shared_1k/1t", "governor keyed, 1 thread, 1,000 keys", "peer", 1),
    ("threads/governor_keyed/shared_1k/2t", "governor keyed, 2 threads, 1,000 shared keys", "peer", 2),
    ("threads/governor_keyed/hot_1/2t", "governor keyed, 2 threads, 1 hot key", "peer", 2),
]
# The keys chart: (label, key count) of the `keys` bench's rows, each with
# keys/tollgate_check/<label> and keys/governor_keyed/<label>.
KEYS = [("1k", 1_000), ("10k", 10_000), ("100k", 100_000), ("1M", 1_000_000), ("10M", 10_000_000)]
KEYS_SERIES = [
    ("keys/tollgate_check", "tollgate as built (check, default clock, capacity = keys)", "tollgate"),
    ("keys/governor_keyed", "governor keyed (u64 keys)", "peer"),
]
# Two threads on keys of their own over one thread's same work: (label,
# one-thread row, two-thread row).
AGGREGATE = [
    ("tollgate as built, 1,000 keys each", "threads/tollgate_check_reference/distinct_1k/1t", "threads/tollgate_check_reference/distinct_1k/2t"),
    ("tollgate as built, table 95% full, 1,000 keys each", "threads/tollgate_check_reference/distinct_1k_95pct/1t", "threads/tollgate_check_reference/distinct_1k_95pct/2t"),
    ("tollgate (open_policy, capacity 2,000), 1,000 keys each", "threads/tollgate_check/distinct_1k/1t", "threads/tollgate_check/distinct_1k/2t"),
]

CLOCKS = [
    ("clock/tollgate_coarse/now", "CoarseClock::now (default)"),
    ("clock/tollgate_cached/now", "CachedClock::now (a thread refreshing it every ms)"),
    ("clock/tollgate_system/now", "SystemClock::now"),
    ("clock/tollgate_manual/now", "ManualClock::now"),
    ("clock/std_instant/now", "std::time::Instant::now"),
    ("clock/quanta/now", "quanta::Clock::now (governor's clock)"),
]

COLORS = {"tollgate": "#2f6fb3", "peer": "#d9822b", "floor": "#8a8a8a"}


def load(criterion_dir, baselines=("new",)):
    """Map each criterion full id to its median in ns per iteration: the
    lowest median among `baselines` (criterion's saved runs)."""
    medians = {}
    SPREAD.clear()
    for baseline in baselines:
        pattern = os.path.join(criterion_dir, "**", baseline, "estimates.json")
        for path in glob.glob(pattern, recursive=True):
            run_dir = os.path.dirname(path)
            bench_json = os.path.join(run_dir, "benchmark.json")
            if os.path.exists(bench_json):
                with open(bench_json) as f:
                    full_id = json.load(f)["full_id"]
            else:
                full_id = os.path.relpath(os.path.dirname(run_dir), criterion_dir)
            with open(path) as f:
                median = json.load(f)["median"]["point_estimate"]
            medians[full_id] = min(median, medians.get(full_id, median))
            SPREAD.setdefault(full_id, []).append(median)
    return medians


# Every run's median of each row, when several baselines are read.
SPREAD = {}


def spread(key, threads):
    """'low–high' over the runs read, in ns per check, or '' for one run."""
    values = SPREAD.get(key, [])
    if len(values) < 2:
        return ""
    return f"{min(values) / threads:,.0f}–{max(values) / threads:,.0f}"


def per_check(medians, key, threads):
    """Nanoseconds per check, aggregated over all threads."""
    ns = medians.get(key)
    return None if ns is None else ns / threads


def fmt(x, digits=1):
    return "—" if x is None else f"{x:,.{digits}f}"


def tables(medians, memory):
    out = []
    out.append("### One thread\n")
    out.append("| row | ns/check (median) | range over runs | governor keyed 1,000 u64 ÷ row |")
    out.append("|---|---:|---:|---:|")
    gov1k = medians.get("keyed/governor_keyed/u64_1k")
    for key, label, _, threads in KEYED:
        ns = per_check(medians, key, threads)
        ratio = None if ns is None or gov1k is None else gov1k / ns
        out.append(f"| {label} | {fmt(ns)} | {spread(key, threads)} | {fmt(ratio, 2)} |")
    out.append("\n### Two threads (aggregate)\n")
    out.append("| row | ns/check, aggregate | range over runs | M checks/s |")
    out.append("|---|---:|---:|---:|")
    for key, label, _, threads in THREADS:
        ns = per_check(medians, key, threads)
        rate = None if ns is None else 1e3 / ns
        out.append(f"| {label} | {fmt(ns)} | {spread(key, threads)} | {fmt(rate, 1)} |")
    out.append("\n### Two threads on keys of their own against one thread's same work\n")
    out.append("| rows | 1 thread, ns/check | 2 threads, ns/check aggregate | 2 threads ÷ 1 thread |")
    out.append("|---|---:|---:|---:|")
    for label, one, two in AGGREGATE:
        a, b = per_check(medians, one, 1), per_check(medians, two, 2)
        ratio = None if a is None or b is None else b / a
        out.append(f"| {label} | {fmt(a)} | {fmt(b)} | {fmt(ratio, 2)} |")
    out.append("\n### Keys (docs/keys.svg)\n")
    out.append("| keys | tollgate as built, ns/check | range over runs | governor keyed, ns/check | range over runs | governor ÷ tollgate |")
    out.append("|---:|---:|---:|---:|---:|---:|")
    for label, n in KEYS:
        t_key, g_key = f"keys/tollgate_check/{label}", f"keys/governor_keyed/{label}"
        t, g = medians.get(t_key), medians.get(g_key)
        ratio = None if t is None or g is None else g / t
        out.append(f"| {n:,} | {fmt(t)} | {spread(t_key, 1)} | {fmt(g)} | {spread(g_key, 1)} | {fmt(ratio, 2)} |")
    out.append("\n### Clocks\n")
    out.append("| clock | ns/read (median) | range over runs |")
    out.append("|---|---:|---:|")
    for key, label in CLOCKS:
        out.append(f"| {label} | {fmt(medians.get(key))} | {spread(key, 1)} |")
    if memory:
        out.append("\n### Memory (counting allocator, heap bytes held)\n")
        out.append("| structure | keys | heap bytes | bytes/key |")
        out.append("|---|---:|---:|---:|")
        for row in memory:
            out.append(f"| {row['name']} | {row['keys']:,} | {row['bytes']:,} | {row['bytes'] / row['keys']:.1f} |")
    return "\n".join(out)


def targets_as_built(medians, layer_log):
    """The targets for the limiter as users build it, met or missed."""
    m = lambda k, t=1: per_check(medians, k, t)  # noqa: E731
    rows = []

    def ratio(name, num, den, bound, at_least):
        if num is None or den is None:
            rows.append(f"| {name} | — | {'≥' if at_least else '≤'} {bound}x | not measured |")
            return
        r = num / den
        ok = r >= bound if at_least else r <= bound
        rows.append(f"| {name} | {r:.2f}x | {'≥' if at_least else '≤'} {bound}x | {'met' if ok else 'missed'} |")

    gov = m("keyed/governor_keyed/u64_1k")
    for key, label, _, _ in HEADLINE[1:]:
        ratio(f"governor keyed ÷ {label}", gov, m(key), 3, True)
    ratio("1,000,000 keys: governor keyed ÷ tollgate as built", m("keys/governor_keyed/1M"), m("keys/tollgate_check/1M"), 2, True)
    for label, one, two in AGGREGATE[:1]:
        ratio(f"2 threads ÷ 1 thread per check, {label}", m(two, 2), m(one), 0.6, False)
    layer = None
    if layer_log:
        with open(layer_log) as f:
            found = re.search(r"tollgate-tower adds ([0-9.]+)x", f.read())
        layer = float(found.group(1)) if found else None
    if layer is None:
        why = f"no ratio in {layer_log}" if layer_log else "not measured (scripts/layer_vs_governor.sh, --layer-log)"
        rows.append(f"| HTTP layer: tollgate-tower's added CPU per request ÷ tower_governor's | — | ≤ 0.5x | {why} |")
    else:
        rows.append(f"| HTTP layer: tollgate-tower's added CPU per request ÷ tower_governor's | {layer:.2f}x | ≤ 0.5x | {'met' if layer <= 0.5 else 'missed'} |")
    head = ["| target | measured | goal | |", "|---|---:|---:|---|"]
    return "\n".join(head + rows)


def targets(medians, memory):
    m = lambda k, t=1: per_check(medians, k, t)  # noqa: E731
    rows = []

    def ratio(name, num, den, goal, at_least=True):
        if num is None or den is None:
            rows.append(f"| {name} | — | {goal} | not measured |")
            return
        r = num / den
        ok = r >= float(goal.split()[-1].rstrip("x")) if at_least else r <= float(goal.split()[-1].rstrip("x"))
        rows.append(f"| {name} | {r:.2f}x | {goal} | {'met' if ok else 'missed'} |")

    ratio("1,000 u64 keys: governor keyed ÷ tollgate check", m("keyed/governor_keyed/u64_1k"), m("keyed/tollgate_check/u64_1k"), "≥ 3x")
    ratio("1,000,000 u64 keys: governor keyed ÷ tollgate check", m("keyed/governor_keyed/u64_1M"), m("keyed/tollgate_check/u64_1M"), "≥ 4x")
    ratio("1,000 string keys: governor (String) ÷ tollgate (&str)", m("keyed/governor_keyed/string_1k"), m("keyed/tollgate_check/str_1k"), "≥ 3x")
    ratio("1 key: tollgate check_at ÷ one packed CAS", m("keyed/tollgate_check_at/u64_1"), m("keyed/baseline_packed_cas/1"), "≤ 2x", at_least=False)
    ratio("2 threads, 1,000 shared keys: tollgate ÷ governor throughput", m("threads/governor_keyed/shared_1k/2t", 2), m("threads/tollgate_check/shared_1k/2t", 2), "≥ 3x")
    ratio("tollgate 1,000 keys: 2 threads ÷ 1 thread throughput", m("threads/tollgate_check/shared_1k/1t"), m("threads/tollgate_check/shared_1k/2t", 2), "≥ 1x")
    # The same targets for the one-word layout of the reference policy's
    # shape, measured with check_at (an explicit, moving time: no clock read).
    ratio("one word, 1 key: check_at ÷ one packed CAS", m("keyed/tollgate_check_at_packed/u64_1"), m("keyed/baseline_packed_cas/1"), "≤ 2x", at_least=False)
    ratio("one word, 1,000 keys: governor keyed ÷ tollgate check_at", m("keyed/governor_keyed/u64_1k"), m("keyed/tollgate_check_at_packed/u64_1k"), "≥ 3x")
    ratio("one word, 1,000,000 keys: governor keyed ÷ tollgate check_at", m("keyed/governor_keyed/u64_1M"), m("keyed/tollgate_check_at_packed/u64_1M"), "≥ 4x")
    ratio("one word, 2 threads, 1,000 shared keys: tollgate ÷ governor throughput", m("threads/governor_keyed/shared_1k/2t", 2), m("threads/tollgate_check_packed_shared_clock/shared_1k/2t", 2), "≥ 3x")
    ratio("one word, 1,000 keys: 2 threads ÷ 1 thread throughput", m("threads/tollgate_check_packed_shared_clock/shared_1k/1t"), m("threads/tollgate_check_packed_shared_clock/shared_1k/2t", 2), "≥ 1x")
    ratio("one window, 1,000 keys: governor keyed ÷ tollgate check", m("keyed/governor_keyed/u64_1k"), m("keyed/tollgate_check_one_window/u64_1k"), "≥ 3x")
    ratio("one word, 1,000 string keys: governor (String) ÷ tollgate check_at (&str)", m("keyed/governor_keyed/string_1k"), m("keyed/tollgate_check_at_packed/str_1k"), "≥ 3x")
    ratio("one word, 1,000,000 keys, chained: governor ÷ tollgate", m("keyed/governor_keyed_chained/u64_1M"), m("keyed/tollgate_check_at_packed_chained/u64_1M"), "≥ 4x")
    # What the memory allows: governor's chained time over one bare
    # exchange on a random one of 1,000,000 words, chained the same way.
    # No limiter whose check touches a line of its key's state can reach
    # a larger ratio on this machine.
    num, den = m("keyed/governor_keyed_chained/u64_1M"), m("keyed/baseline_packed_cas_chained/u64_1M")
    if num is not None and den is not None:
        rows.append(f"| the most any limiter could reach on that row: governor chained ÷ one chained exchange on 1,000,000 words | {num / den:.2f}x | — | bound |")
    for row in memory or []:
        if row["name"].startswith("tollgate (capacity 1000000)") and "&str" not in row["name"]:
            ok = "met" if row["bytes"] / row["keys"] <= 64 else "missed"
            rows.append(f"| memory per tracked state, two-window class | {row['bytes'] / row['keys']:.1f} B | ≤ 64 B | {ok} |")
    head = ["| target | measured | goal | |", "|---|---:|---:|---|"]
    return "\n".join(head + rows)


def svg(medians, path, runs):
    rows = []
    for key, label, kind, threads in KEYED + THREADS:
        ns = per_check(medians, key, threads)
        if ns is not None:
            if key.startswith("threads/"):
                label = label + " (aggregate)"
            rows.append((label, ns, kind))
    if not rows:
        return False
    bar_h, gap, left, right, top = 18, 6, 400, 90, 44
    width = 1000
    plot_w = width - left - right
    height = top + len(rows) * (bar_h + gap) + 54
    top_ns = max(ns for _, ns, _ in rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">'
        "Nanoseconds per check (criterion medians, lower is better)</text>",
        f'<text x="{width / 2}" y="{height - 26}" text-anchor="middle" fill="#555">{escape(runs)}</text>',
    ]
    legend_x = left
    for kind, text in (("tollgate", "tollgate"), ("peer", "peer crate"), ("floor", "bare atomic floor")):
        parts.append(f'<rect x="{legend_x}" y="28" width="10" height="10" fill="{COLORS[kind]}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="37">{text}</text>')
        legend_x += 130
    for i, (label, ns, kind) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, plot_w * ns / top_ns)
        parts.append(f'<text x="{left - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS[kind]}"/>')
        parts.append(f'<text x="{left + w + 5:.1f}" y="{y + bar_h - 5}">{ns:,.1f} ns</text>')
    parts.append(
        f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle" fill="#555">'
        "Two-thread rows: wall time per check over all threads. "
        "Generated by scripts/bench_chart.py from target/criterion.</text>"
    )
    parts.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def nice_step(top, ticks=5):
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks`
    gridlines up to `top`."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def keys_svg(medians, path, runs):
    """ns per check against the number of keys (log-scale x axis), one line
    per series of KEYS_SERIES; False if no row of the keys bench is there."""
    series = []
    for prefix, label, kind in KEYS_SERIES:
        points = [(n, medians[f"{prefix}/{tag}"]) for tag, n in KEYS if f"{prefix}/{tag}" in medians]
        if points:
            series.append((label, kind, points))
    if not series:
        return False
    width, height = 840, 460
    left, right, top, bottom = 80, 50, 70, 80
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = math.log10(KEYS[0][1]), math.log10(KEYS[-1][1])
    y_max = max(ns for _, _, points in series for _, ns in points) * 1.1
    step = nice_step(y_max)
    y_top = math.ceil(y_max / step) * step

    def x(n):
        return left + plot_w * (math.log10(n) - lo) / (hi - lo)

    def y(ns):
        return top + plot_h * (1 - ns / y_top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        "Nanoseconds per check against the number of keys (criterion medians, lower is better)</text>",
    ]
    tick = 0.0
    while tick <= y_top + 1e-9:
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:,.0f}</text>')
        tick += step
    for _, n in KEYS:
        parts.append(f'<line x1="{x(n):.1f}" y1="{top}" x2="{x(n):.1f}" y2="{top + plot_h}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{x(n):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{n:,}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 40}" text-anchor="middle">keys (log scale)</text>')
    parts.append(
        f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + plot_h / 2})">ns per check</text>'
    )
    legend_x = left
    for label, kind, points in series:
        color = COLORS[kind]
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{x(n):.1f},{y(ns):.1f}" for i, (n, ns) in enumerate(points))
        parts.append(f'<path d="{path_d}" fill="none" stroke="{color}" stroke-width="2"/>')
        for n, ns in points:
            parts.append(f'<circle cx="{x(n):.1f}" cy="{y(ns):.1f}" r="3.5" fill="{color}"/>')
            dy = -8 if kind == "tollgate" else 16
            parts.append(f'<text x="{x(n):.1f}" y="{y(ns) + dy:.1f}" text-anchor="middle" fill="{color}">{ns:,.0f}</text>')
        parts.append(f'<rect x="{legend_x}" y="36" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="45">{escape(label)}</text>')
        legend_x += 14 + 7 * len(label) + 24
    parts.append(
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle" fill="#555">'
        f"{escape(runs)}; u64 keys in a pseudo-random order. Generated by scripts/bench_chart.py from target/criterion.</text>"
    )
    parts.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", default=os.path.join(root, "target", "criterion"))
    ap.add_argument("--svg", default=os.path.join(root, "docs", "bench.svg"))
    ap.add_argument("--keys-svg", default=os.path.join(root, "docs", "keys.svg"))
    ap.add_argument("--layer-log", help="saved output of scripts/layer_vs_governor.sh, for the HTTP target")
    ap.add_argument("--baselines", default="new", help="comma-separated criterion baselines; the lowest median of each row is kept")
    args = ap.parse_args()
    medians = load(args.criterion, args.baselines.split(","))
    if not medians:
        sys.exit(f"no criterion estimates under {args.criterion}: run `cargo bench` first")
    memory = None
    mem_path = os.path.join(args.criterion, "memory.json")
    if os.path.exists(mem_path):
        with open(mem_path) as f:
            memory = json.load(f)
    print(tables(medians, memory))
    print("\n### Targets: the limiter as users build it\n")
    print(targets_as_built(medians, args.layer_log))
    print("\n### Targets: layouts and floors\n")
    print(targets(medians, memory))
    baselines = args.baselines.split(",")
    runs = "one run" if len(baselines) == 1 else f"each row: the lowest median of {len(baselines)} complete runs"
    if svg(medians, args.svg, runs):
        print(f"\nwrote {os.path.relpath(args.svg, root)}", file=sys.stderr)
    if keys_svg(medians, args.keys_svg, runs):
        print(f"wrote {os.path.relpath(args.keys_svg, root)}", file=sys.stderr)


if __name__ == "__main__":
    main()
