#!/usr/bin/env python3
"""The scale curve: kitroom-bench figures at several sizes, as a table and a chart.

Usage: python3 docs/scale/chart.py RUN.json [RUN.json ...]
Writes docs/scale/figures.json (the figures kept), docs/scale/curve.svg (the chart)
and prints the Markdown table for docs/performance.md. Plain Python: no packages.
"""
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).parent

# (key, label, unit, charted)
FIGURES = [
    ("list_p99_ms_at_200", "list page p99 at 200/s, deep pages by key", "ms", True),
    ("list_api_p99_ms_at_200", "API list p99 at 200/s", "ms", False),
    ("write_p99_ms_at_200", "write p99 at 200/s", "ms", True),
    ("search_p99_ms", "search p99", "ms", True),
    ("device_page_ms_p50", "device page p50", "ms", True),
    ("desk_ms_p50", "manager's desk p50", "ms", True),
    ("http_txn_per_s", "check-outs+returns a second, 50 clients", "/s", False),
    ("http_to_raw_ratio", "that / raw, one transaction each", "", False),
    ("http_to_raw_batched_ratio", "that / raw batched (the ceiling)", "", False),
    ("export_s", "whole activity-log export", "s", False),
    ("export_to_raw_ratio", "export / raw scan", "", False),
    ("checkout_max_ms_during_export", "slowest write during the export", "ms", False),
    ("checkout_p99_ms_during_logins", "write p99 during 100 sign-ins/s", "ms", False),
    ("startup_ms", "start-up", "ms", False),
    ("rss_idle_mib", "memory idle", "MiB", False),
    ("rss_load_mib", "memory under load", "MiB", False),
]

RAW_PHASES = ["raw_writes_1_task", "raw_writes_50_tasks_one_writer", "raw_writes_50_tasks_batched"]

COLOURS = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92"]


def load(paths):
    runs = []
    for p in paths:
        j = json.loads(Path(p).read_text())
        figures = {k: j.get(k) for k, *_ in FIGURES}
        # A ratio to raw SQLite means nothing when raw's own transactions failed
        # (its device left on loan, the write lock held past the busy timeout).
        raw_failed = [k for k in RAW_PHASES if (j["details"].get(k) or {}).get("errors")]
        if raw_failed:
            for k in ("http_to_raw_ratio", "http_to_raw_batched_ratio"):
                figures[k] = None
        runs.append({"devices": j["sizes"]["devices"], "events": j["sizes"]["events"],
                     "db_mib": j["sizes"].get("db_mib"), "raw_failed": raw_failed,
                     "figures": figures})
    runs.sort(key=lambda r: r["devices"])
    return runs


def table(runs):
    head = "| figure | " + " | ".join(f"{r['devices']:,} devices, {r['events']:,} events" for r in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]
    for key, label, unit, _ in FIGURES:
        cells = []
        for r in runs:
            v = r["figures"].get(key)
            if v is None and r.get("raw_failed") and key.startswith("http_to_raw"):
                cells.append("— (raw's transactions failed)")
                continue
            cells.append("" if v is None else f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}")
        u = f" ({unit})" if unit else ""
        lines.append(f"| `{key}`: {label}{u} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def svg(runs):
    w, h, left, right, top, bottom = 820, 420, 70, 300, 30, 60
    xs = [math.log10(r["devices"]) for r in runs]
    series = [(k, l) for k, l, _, charted in FIGURES if charted]
    values = [r["figures"].get(k) or 0.01 for r in runs for k, _ in series]
    ymin = math.floor(math.log10(max(min(values), 0.1)))
    ymax = math.ceil(math.log10(max(values) * 1.2))
    xmin, xmax = min(xs) - 0.2, max(xs) + 0.2

    def px(x):
        return left + (x - xmin) / (xmax - xmin) * (w - left - right)

    def py(v):
        return top + (ymax - math.log10(max(v, 10 ** ymin))) / (ymax - ymin) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18" font-weight="bold">How page times grow with the register (log scales; '
           'events are ten times the devices)</text>']
    for e in range(ymin, ymax + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g} ms</text>')
    for r, x in zip(runs, xs):
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 18}" text-anchor="middle">{r["devices"]:,}</text>')
    out.append(f'<text x="{(left + w - right) / 2:.1f}" y="{h - 18}" text-anchor="middle">devices</text>')
    for i, (key, label) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        pts = [(px(x), py(r["figures"].get(key) or 0.01)) for r, x in zip(runs, xs)]
        out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            c, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for a, b in pts:
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>')
        ly = top + 20 + i * 20
        out.append(f'<line x1="{w - right + 12}" x2="{w - right + 32}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 38}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    runs = load(sys.argv[1:])
    (HERE / "figures.json").write_text(json.dumps(runs, indent=1) + "\n")
    (HERE / "curve.svg").write_text(svg(runs) + "\n")
    print(table(runs))


if __name__ == "__main__":
    main()
