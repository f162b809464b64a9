#!/usr/bin/env python3
"""Turns bench/run's raw figures into medians, prints `name value unit ratio-to-baseline` per figure, and
rewrites the generated part of docs/performance.md (between its bench markers) and docs/performance.svg.
Standard library only."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

BEGIN, END = "<!-- bench:begin (written by bench/run) -->", "<!-- bench:end -->"

parser = argparse.ArgumentParser()
parser.add_argument("--results", required=True)
parser.add_argument("--e2e", required=True)
parser.add_argument("--e2e-smtp", required=True)
parser.add_argument("--rounds", type=int, required=True)
parser.add_argument("--seconds", type=int, required=True)
parser.add_argument("--connections", type=int, required=True)
parser.add_argument("--growth-count", type=int, required=True)
parser.add_argument("--doc")
parser.add_argument("--svg")
args = parser.parse_args()

raw = {}
with open(args.results, encoding="utf-8") as f:
    for line in f:
        figure, target, _round, value = line.rstrip("\n").split("\t")
        raw.setdefault((figure, target), []).append(float(value))
with open(args.e2e, encoding="utf-8") as f:
    e2e = json.load(f)
with open(args.e2e_smtp, encoding="utf-8") as f:
    e2e_smtp = json.load(f)


def median(figure, target):
    values = raw.get((figure, target))
    if not values:
        sys.exit(f"report: no figures for {figure} / {target}")
    return statistics.median(values)


def spread(figure, target):
    values = raw[(figure, target)]
    return f"{min(values):.0f}–{max(values):.0f}" if len(values) > 1 else ""


status_rps, base_status_rps = median("status_rps", "broker"), median("status_rps", "baseline")
status_p99, base_status_p99 = median("status_p99_ms", "broker"), median("status_p99_ms", "baseline")
submit_rps, base_submit_rps = median("submit_rps", "broker"), median("submit_rps", "baseline")
submit_p99, base_submit_p99 = median("submit_p99_ms", "broker"), median("submit_p99_ms", "baseline")
smtp_submit_rps, smtp_submit_p99 = median("submit_rps", "broker_smtp"), median("submit_p99_ms", "broker_smtp")
large_rps = median("status_rps", "broker_large")
startup, base_startup = median("startup_ms", "broker"), median("startup_ms", "baseline")
rss, base_rss = median("peak_rss_mb", "broker"), median("peak_rss_mb", "baseline")
smtp_rss = median("peak_rss_mb", "broker_smtp")


def bounded(run):
    """The queue drained after the run and did not grow with it: it never held more than a second's submissions, or
    its second half peaked under 1.5 times its first. (Twice, the rule before, passes a queue growing steadily from
    empty: its second half's peak is exactly twice its first's.)"""
    return run["drainedAfterRun"] and (run["maxQueueDepth"] <= max(10, run["rate"])
                                       or run["maxQueueDepthSecondHalf"] <= 1.5 * run["maxQueueDepthFirstHalf"])


def e2e_figures(suffix, run, rate_of):
    return [
        (f"e2e{suffix}_rate", run["rate"], "req/s", None, f"half of {rate_of}", None),
        (f"e2e{suffix}_p50", run["p50Ms"], "ms", None, "", None),
        (f"e2e{suffix}_p99", run["p99Ms"], "ms", None, "< 25 ms", run["p99Ms"] < 25),
        (f"e2e{suffix}_queue_max", run["maxQueueDepth"], "messages", None, "bounded and drained", bounded(run)),
    ]


# The targets of issue 15. name, value, unit, ratio, target text, met
figures = [
    ("status_rps", status_rps, "req/s", status_rps / base_status_rps, "≥ 0.7 × baseline", status_rps / base_status_rps >= 0.7),
    ("status_p99", status_p99, "ms", status_p99 / base_status_p99, "≤ 2 × baseline", status_p99 / base_status_p99 <= 2),
    ("submit_rps", submit_rps, "req/s", submit_rps / base_submit_rps, "≥ 0.25 × baseline", submit_rps / base_submit_rps >= 0.25),
    ("submit_p99", submit_p99, "ms", submit_p99 / base_submit_p99, "", None),
    *e2e_figures("", e2e, "submit_rps"),
    ("submit_smtp_rps", smtp_submit_rps, "req/s", smtp_submit_rps / base_submit_rps, "≥ 0.25 × baseline", smtp_submit_rps / base_submit_rps >= 0.25),
    ("submit_smtp_p99", smtp_submit_p99, "ms", smtp_submit_p99 / base_submit_p99, "", None),
    *e2e_figures("_smtp", e2e_smtp, "submit_smtp_rps"),
    ("startup", startup, "ms", startup / base_startup, "≤ 1.5 × baseline", startup / base_startup <= 1.5),
    ("peak_rss", rss, "MB", rss / base_rss, "≤ 2 × baseline", rss / base_rss <= 2),
    ("peak_rss_smtp", smtp_rss, "MB", smtp_rss / base_rss, "≤ 2 × baseline", smtp_rss / base_rss <= 2),
    ("growth_status_rps_1k", status_rps, "req/s", None, "", None),
    ("growth_status_rps_1m", large_rps, "req/s", large_rps / status_rps, "≥ 0.9 (1M / 1k)", large_rps / status_rps >= 0.9),
]


def number(value):
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


for name, value, unit, ratio, _target, _met in figures:
    print(f"{name} {number(value)} {unit} {'-' if ratio is None else f'{ratio:.2f}'}")
baselines = {"status_rps": base_status_rps, "status_p99": base_status_p99, "submit_rps": base_submit_rps,
             "submit_p99": base_submit_p99, "submit_smtp_rps": base_submit_rps, "submit_smtp_p99": base_submit_p99,
             "startup": base_startup, "peak_rss": base_rss, "peak_rss_smtp": base_rss}
missed = [name for name, *_rest, met in figures if met is False]
print(f"targets missed: {', '.join(missed)}" if missed else "all targets met", file=sys.stderr)

if not args.doc:
    sys.exit(0)


def machine():
    memory = "?"
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0:1]
    return (f"`nproc` {os.cpu_count()}, {memory} memory, {cpu}; {platform.system()} {platform.release()}; "
            f".NET SDK {dotnet}; {wrk[0].split(' [')[0] if wrk else 'wrk'}")


def e2e_text(label, run):
    drained = "yes" if run["drainedAfterRun"] else "no"
    if "drainSeconds" in run:
        drained += f" (in {run['drainSeconds']:.1f} s)"
    return (f"{label}: {run['submitted']} submissions at {run['rate']:.0f}/s over {run['seconds']} s; queue depth peaked "
            f"at {run['maxQueueDepthFirstHalf']} (first half) and {run['maxQueueDepthSecondHalf']} (second half), "
            f"drained after the run: {drained}.")


rows = []
for name, value, unit, ratio, target, met in figures:
    base = baselines.get(name)
    rows.append(f"| `{name}` | {number(value)} {unit} | {'' if base is None else f'{number(base)} {unit}'} | "
                f"{'' if ratio is None else f'{ratio:.2f}'} | {target} | {'' if met is None else 'met' if met else '**missed**'} |")
generated = "\n".join([
    BEGIN,
    f"Latest run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}.",
    f"Medians of {args.rounds} interleaved rounds of {args.seconds} s, `wrk -t2 -c{args.connections}`; "
    f"growth store: {args.growth_count:,} referrals. Mail modes: the development outbox (sealed files) and, `_smtp`, "
    f"SMTP to the bench's sink on loopback (`bench/smtp-sink.js`). {e2e_text('End to end', e2e)} {e2e_text('By SMTP', e2e_smtp)}",
    "",
    "| Figure | Broker | Baseline | Ratio | Target | |",
    "|---|---|---|---|---|---|",
    *rows,
    "",
    "Per-round spread (min–max req/s): status broker " + spread("status_rps", "broker") + ", baseline "
    + spread("status_rps", "baseline") + "; 1M store " + spread("status_rps", "broker_large")
    + "; submissions broker " + spread("submit_rps", "broker") + ", by SMTP " + spread("submit_rps", "broker_smtp")
    + ", baseline " + spread("submit_rps", "baseline") + ".",
    "",
    "![Throughput and p99 latency of the broker next to the bare baseline](performance.svg)",
    END,
])

try:
    with open(args.doc, encoding="utf-8") as f:
        document = f.read()
except FileNotFoundError:
    document = f"# Performance\n\n{BEGIN}\n{END}\n"
if BEGIN not in document or END not in document:
    sys.exit(f"report: {args.doc} lacks the bench markers")
head, rest = document.split(BEGIN, 1)
with open(args.doc, "w", encoding="utf-8") as f:
    f.write(head + generated + rest.split(END, 1)[1])

# --- The chart: req/s and p99 for each endpoint, broker next to baseline ----------------------------------------
panels = [
    ("Throughput (req/s, higher is better)", [("status", status_rps, base_status_rps), ("submission", submit_rps, base_submit_rps),
                                               ("by SMTP", smtp_submit_rps, base_submit_rps)]),
    ("p99 latency (ms, lower is better)", [("status", status_p99, base_status_p99), ("submission", submit_p99, base_submit_p99),
                                            ("by SMTP", smtp_submit_p99, base_submit_p99)]),
]
width, height, panel_width = 900, 300, 430
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
       'font-family="sans-serif" font-size="12" role="img" aria-label="Broker versus baseline: throughput and p99 latency">',
       f'<rect width="{width}" height="{height}" fill="#fff"/>']
for p, (title, groups) in enumerate(panels):
    x0, top, bottom = 20 + p * (panel_width + 20), 40, height - 50
    peak = max(max(b, a) for _, b, a in groups) or 1
    svg.append(f'<text x="{x0}" y="22" font-weight="bold">{title}</text>')
    svg.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + panel_width}" y2="{bottom}" stroke="#333"/>')
    for g, (label, broker_value, base_value) in enumerate(groups):
        gx = x0 + 10 + g * (panel_width // len(groups))
        for k, (who, value, colour) in enumerate([("broker", broker_value, "#1f6feb"), ("baseline", base_value, "#8b949e")]):
            bar_height = (bottom - top) * value / peak
            bx = gx + k * 62
            svg.append(f'<rect x="{bx}" y="{bottom - bar_height:.1f}" width="56" height="{bar_height:.1f}" fill="{colour}"/>')
            svg.append(f'<text x="{bx + 28}" y="{bottom - bar_height - 4:.1f}" text-anchor="middle">{number(value)}</text>')
        svg.append(f'<text x="{gx + 59}" y="{bottom + 18}" text-anchor="middle">{label}</text>')
legend_y = height - 12
svg.append(f'<rect x="20" y="{legend_y - 10}" width="12" height="12" fill="#1f6feb"/><text x="38" y="{legend_y}">broker</text>')
svg.append(f'<rect x="100" y="{legend_y - 10}" width="12" height="12" fill="#8b949e"/><text x="118" y="{legend_y}">bare ASP.NET Core baseline</text>')
svg.append("</svg>")
with open(args.svg, "w", encoding="utf-8") as f:
    f.write("\n".join(svg) + "\n")
print(f"report: wrote {args.doc} and {args.svg}", file=sys.stderr)
