#!/usr/bin/env python3
"""Medians of repeated spool-bench runs, as Markdown tables.

Usage:
  for i in 1 2 3; do
    spool-bench --scenario batched --json > batched-$i.json
  done
  python3 bench/summarize_spool_bench.py batched-*.json [other-*.json ...]

Files are grouped by scenario and the flags that change what is measured;
within a group, runs with the same position in the document (a sweep's
runs) are combined. Every figure is the median over the files, followed by
the smallest and largest value in brackets; the target verdicts are
recomputed from the median ratio. Standard library only.
"""

import argparse
import json
import statistics
import sys
from collections import defaultdict

PRODUCE_ROWS = [
    ("produce records/s", ("produce", "records_per_second"), "rate"),
    ("produce MB/s (payload)", ("produce", "payload_mb_per_second"), "f1"),
    ("produce CPU s/GB", ("produce", "cpu_seconds_per_gb"), "f2"),
    ("append p50 us", ("produce", "latency_ns", "p50"), "us"),
    ("append p99 us", ("produce", "latency_ns", "p99"), "us"),
    ("append p99.9 us", ("produce", "latency_ns", "p999"), "us"),
    ("fdatasync calls", ("fsyncs",), "f0"),
]
CONSUME_ROWS = [
    ("consume records/s", ("consume", "records_per_second"), "rate"),
    ("consume MB/s (payload)", ("consume", "payload_mb_per_second"), "f1"),
    ("consume CPU s/GB", ("consume", "cpu_seconds_per_gb"), "f2"),
    ("zero-copy / read() MB/s", ("stream", "io_mb_per_second"), "f0"),
]
DISK_ROWS = [
    ("bytes on disk / payload", ("disk", "ratio_to_payload"), "x3"),
]
RATIOS = [
    ("produce spool/raw", "produce_spool_to_raw"),
    ("produce spool/rocksdb", "produce_spool_to_rocksdb"),
    ("append p50 spool/raw", "append_p50_spool_to_raw"),
    ("consume spool/raw read+parse", "consume_spool_to_raw_parse"),
    ("consume spool/rocksdb", "consume_spool_to_rocksdb"),
    ("zero-copy / page-cache read", "zero_copy_to_page_cache_read"),
]
SYSTEMS = ("spool", "raw", "rocksdb")


def fmt(v, kind):
    if v is None:
        return "-"
    if kind == "rate":
        if v >= 1e6:
            return f"{v / 1e6:.2f} M"
        if v >= 1e3:
            return f"{v / 1e3:.1f} k"
        return f"{v:.0f}"
    if kind == "us":
        us = v / 1e3
        return f"{us:.1f}" if us < 100 else f"{us:.0f}"
    if kind == "x3":
        return f"{v:.3f}x"
    if kind == "x2":
        return f"{v:.2f}x"
    return f"{v:.{kind[1]}f}"


def dig(doc, path):
    for key in path:
        if not isinstance(doc, dict) or doc.get(key) is None:
            return None
        doc = doc[key]
    return doc


def cell(values, kind):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, kind)
    return f"{fmt(med, kind)} [{fmt(min(values), kind)}–{fmt(max(values), kind)}]"


def describe(cfg):
    return (f'{cfg["records"]:,} x {cfg["record_size"]} B, batch {cfg["batch"]}, '
            f'{cfg["producers"]} producer(s), {cfg["partitions"]} partition(s), '
            f'{cfg["consumers"]} consumer(s), durability {cfg["durability"]}, '
            f'compression {cfg["compression"]}, api {cfg["api"]}'
            + (f', preallocate {cfg["preallocate_bytes"]}'
               if cfg.get("preallocate_bytes", -1) >= 0 else ""))


def table(runs, rows):
    out = ["| | spool | raw | rocksdb |", "|---|---:|---:|---:|"]
    for label, path, kind in rows:
        cells = [cell([dig(r.get(s), path) for r in runs], kind)
                 for s in SYSTEMS]
        if all(c == "-" for c in cells):
            continue
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def summarize_group(name, docs):
    out = [f"### {name} ({len(docs)} runs)", ""]
    loads = [d["machine"]["load_average"] for d in docs]
    out.append(f"Load average at start: {', '.join(f'{l:.1f}' for l in loads)}.")
    out.append("")
    n_runs = min(len(d["runs"]) for d in docs)
    for i in range(n_runs):
        runs = [d["runs"][i] for d in docs]
        cfg = runs[0]["config"]
        out.append(f"Run {i + 1}: {describe(cfg)}")
        out.append("")
        rows = []
        if cfg["measure_produce"]:
            rows += PRODUCE_ROWS
        if cfg["consume"]:
            rows += CONSUME_ROWS
        rows += DISK_ROWS
        out += table(runs, rows)
        ratio_cells = []
        for label, key in RATIOS:
            c = cell([dig(r, ("ratios", key)) for r in runs], "x2")
            if c != "-":
                ratio_cells.append(f"{label} {c}")
        if ratio_cells:
            out += ["", "Ratios (median [min–max]): " + "; ".join(ratio_cells)]
        out.append("")
    targets = defaultdict(list)
    rules = {}
    for d in docs:
        for t in d.get("targets", []):
            targets[t["name"]].append(t)
            rules[t["name"]] = t
    if targets:
        out += ["| target | rule | median | verdict |", "|---|---|---:|---|"]
        for name, ts in targets.items():
            values = [t["value"] for t in ts if t["value"] is not None]
            t = rules[name]
            if not values:
                out.append(f"| {name} | {t['rule']} | - | not measured |")
                continue
            med = statistics.median(values)
            met = med <= t["threshold"] if t["at_most"] else med >= t["threshold"]
            miss = abs(med - t["threshold"]) / t["threshold"] * 100
            verdict = "met" if met else f"missed by {miss:.0f}%"
            out.append(f"| {name} | {t['rule']} | {cell(values, 'x2')} | "
                       f"{verdict} ({sum(1 for x in ts if x['met'])}/{len(ts)}"
                       " runs met) |")
        out.append("")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="spool-bench --json output")
    args = parser.parse_args()
    groups = defaultdict(list)
    for path in args.json:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        cfg = doc["runs"][0]["config"]
        key = (doc.get("scenario") or "custom", cfg["api"], cfg["durability"],
               cfg["compression"], cfg.get("preallocate_bytes", -1),
               cfg.get("raw_preallocate", False))
        groups[key].append(doc)
    if not groups:
        sys.exit("summarize_spool_bench.py: no input")
    out = []
    for (scenario, api, durability, compression, pre, raw_pre), docs in \
            groups.items():
        name = (f"{scenario} (api {api}, durability {durability}, "
                f"compression {compression}"
                + (f", preallocate {pre}" if pre >= 0 else "")
                + (", raw file preallocated" if raw_pre else "") + ")")
        out += summarize_group(name, docs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
