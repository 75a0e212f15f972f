#!/usr/bin/env python3
"""Draws produce throughput against batch size from spool-bench's JSON.

Usage:
  spool-bench --scenario sweep --json > sweep.json
  python3 bench/plot_batch_sweep.py sweep.json [more.json ...] \\
      -o docs/perf/batch-sweep.svg

Several JSON files (repeated runs of the same sweep) are combined by taking
the median records/s per system and batch size. Standard library only: the
SVG is written by hand (log-log axes, one line per system).
"""

import argparse
import json
import math
import statistics
import sys
from xml.sax.saxutils import escape

SYSTEMS = [
    # key in the JSON, label, colour, dash pattern
    ("raw", "raw write (limit)", "#555555", "6,4"),
    ("spool", "Spool", "#d62728", ""),
    ("rocksdb", "RocksDB (queue)", "#1f77b4", ""),
]

WIDTH, HEIGHT = 760, 480
LEFT, RIGHT, TOP, BOTTOM = 80, 170, 80, 60


def load(paths):
    """Returns ({system: {batch: [records/s, ...]}}, machine, config)."""
    series = {key: {} for key, _, _, _ in SYSTEMS}
    machine, config = {}, {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        machine = doc.get("machine", machine)
        for run in doc["runs"]:
            config = run["config"]
            batch = config["batch"]
            for key in series:
                produce = (run.get(key) or {}).get("produce")
                if produce:
                    rate = produce["records_per_second"]
                    series[key].setdefault(batch, []).append(rate)
    medians = {
        key: {b: statistics.median(v) for b, v in points.items()}
        for key, points in series.items()
    }
    return medians, machine, config


def log_range(values):
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    return lo, hi


class Axes:
    """Maps data to SVG coordinates on log-log axes."""

    def __init__(self, xs, ys):
        self.x0, self.x1 = log_range(xs)
        self.y0, self.y1 = log_range(ys)
        self.w = WIDTH - LEFT - RIGHT
        self.h = HEIGHT - TOP - BOTTOM

    def x(self, v):
        t = (math.log10(v) - math.log10(self.x0)) / (
            math.log10(self.x1) - math.log10(self.x0))
        return LEFT + t * self.w

    def y(self, v):
        t = (math.log10(v) - math.log10(self.y0)) / (
            math.log10(self.y1) - math.log10(self.y0))
        return TOP + self.h - t * self.h


def fmt_rate(v):
    if v >= 1e6:
        return f"{v / 1e6:.3g} M"
    if v >= 1e3:
        return f"{v / 1e3:.3g} k"
    return f"{v:.3g}"


def decades(lo, hi):
    out, v = [], lo
    while v <= hi * 1.0001:
        out.append(v)
        v *= 10
    return out


def grid(ax):
    out = []
    for v in decades(ax.y0, ax.y1):
        y = ax.y(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + ax.w}" '
                   f'y2="{y:.1f}" stroke="#dddddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{fmt_rate(v)}</text>')
    for v in decades(ax.x0, ax.x1):
        x = ax.x(v)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
                   f'y2="{TOP + ax.h}" stroke="#dddddd"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ax.h + 18}" '
                   f'text-anchor="middle">{v:g}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{ax.w}" height="{ax.h}" '
               'fill="none" stroke="#333333"/>')
    out.append(f'<text x="{LEFT + ax.w / 2}" y="{HEIGHT - 15}" '
               'text-anchor="middle">records per batch (log)</text>')
    out.append(f'<text transform="translate(18,{TOP + ax.h / 2}) '
               'rotate(-90)" text-anchor="middle">'
               'produce records/s (log)</text>')
    return out


def lines(ax, medians):
    out = []
    for i, (key, label, colour, dash) in enumerate(SYSTEMS):
        points = sorted(medians[key].items())
        if not points:
            continue
        path = " ".join(f"{ax.x(b):.1f},{ax.y(r):.1f}" for b, r in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for b, r in points:
            out.append(f'<circle cx="{ax.x(b):.1f}" cy="{ax.y(r):.1f}" '
                       f'r="3.5" fill="{colour}"/>')
            out.append(f'<text x="{ax.x(b) + 6:.1f}" y="{ax.y(r) - 6:.1f}" '
                       f'font-size="10" fill="{colour}">{fmt_rate(r)}</text>')
        ly = TOP + 10 + i * 22
        lx = LEFT + ax.w + 15
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{escape(label)}</text>')
    return out


def render(medians, machine, config):
    xs = [b for pts in medians.values() for b in pts]
    ys = [r for pts in medians.values() for r in pts.values()]
    if not xs:
        sys.exit("plot_batch_sweep.py: no produce results in the input")
    ax = Axes(xs, ys)
    title = (f'{config.get("records", "?")} records of '
             f'{config.get("record_size", "?")} B, durability '
             f'{config.get("durability", "?")}, compression '
             f'{config.get("compression", "?")}, '
             f'{config.get("producers", "?")} producer(s), '
             f'{config.get("partitions", "?")} partition(s), '
             f'api {config.get("api", "?")}')
    subtitle = (f'{machine.get("cpu_model", "")}, {machine.get("cores", "?")} '
                f'cores, {machine.get("kernel", "")}, '
                f'{machine.get("filesystem", "")}')
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">'
        'spool-bench: produce throughput vs batch size</text>',
        f'<text x="{LEFT}" y="44">{escape(title)}</text>',
        f'<text x="{LEFT}" y="62" fill="#555555">{escape(subtitle)}</text>',
    ]
    body += grid(ax) + lines(ax, medians)
    body.append("</svg>")
    return "\n".join(body) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="spool-bench --json output")
    parser.add_argument("-o", "--output", default="-",
                        help="SVG file to write (default: stdout)")
    args = parser.parse_args()
    svg = render(*load(args.json))
    if args.output == "-":
        sys.stdout.write(svg)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(svg)


if __name__ == "__main__":
    main()
