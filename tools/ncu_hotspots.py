#!/usr/bin/env python3
"""Top SASS lines of an `ncu --page source --csv --print-source sass` dump (stdin), by warp-stall
samples and by instructions executed. A profiling aid for runs on the GPU machine."""
import csv
import sys

rows = [r for r in csv.reader(line for line in sys.stdin if not line.startswith("=="))]
header = next((i for i, r in enumerate(rows) if "Source" in r), None)
if header is None:
    sys.exit("no source table in the input")
cols = rows[header]
body = [r for r in rows[header + 1:] if len(r) == len(cols)]


def col(name):
    return next((i for i, c in enumerate(cols) if name in c), None)


src = col("Source")
for metric in ("Warp Stall Sampling (All", "Instructions Executed"):
    m = col(metric)
    if m is None:
        continue

    def value(r):
        try:
            return float(r[m].replace(",", ""))
        except ValueError:
            return 0.0

    total = sum(value(r) for r in body) or 1.0
    print(f"== top lines by {cols[m]} (total {total:.0f})")
    for r in sorted(body, key=value, reverse=True)[:18]:
        print(f"{100 * value(r) / total:5.1f}%  {r[src].strip()[:110]}")
