#!/usr/bin/env python3
"""Turn bfi_bench's JSON (Google Benchmark's --benchmark_out format) into markdown tables.

    bfi_bench --benchmark_out=bench.json --benchmark_out_format=json [SECTION...]
    python3 tools/perf_table.py bench.json > tables.md

The tables are those bfi_bench prints at the end of its run (bench/bench_report.cpp): one per
section, a row per case, and for each variant in the order they ran its median time and the
counters worth a column (frac, tflops, x_vs_<variant>); the notes check the targets that the
variants' labels state ("target <counter> >= <value>"; "us" is the time).
"""
import json
import re
import sys

TABLE_COUNTERS = ("frac", "tflops", "x_vs_")
GB_SUFFIX = re.compile(r"(/(iterations|repeats|min_time|min_warmup_time|threads):[^/]+"
                       r"|/(manual_time|real_time|process_time))+$")
TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def header(variant, counter):
    if counter == "us":
        return f"{variant} µs"
    if counter == "tflops":
        return f"{variant} TFLOP/s"
    if counter.startswith("x_vs_"):
        return f"{variant} × vs {counter[5:]}"
    return f"{variant} {counter}"


def fmt(counter, v):
    if counter == "frac" or counter.startswith("x_vs_"):
        return f"{v:.2f}"
    return f"{v:.0f}" if counter == "tflops" else f"{v:.1f}"


def chosen_runs(benchmarks):
    """The median aggregate of each benchmark, or its one run where it has no aggregates."""
    medians = {b["run_name"]: b for b in benchmarks
               if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"}
    chosen, seen = [], set()
    for b in benchmarks:
        name = b["run_name"]
        if name in seen or b.get("error_occurred"):
            continue
        if name in medians:
            chosen.append(medians[name])
            seen.add(name)
        elif b.get("run_type") == "iteration":
            chosen.append(b)
            seen.add(name)
    return chosen


def notes(variant, result):
    out = []
    for part in filter(None, result.get("label", "").split("; ")):
        m = re.fullmatch(r"target (\S+) (>=|<=) (\S+)", part)
        if not m:
            out.append(f"{variant}: {part}")
            continue
        counter, op, goal = m.group(1), m.group(2), float(m.group(3))
        value = result["us"] if counter == "us" else result.get(counter)
        verdict = ("not measured" if value is None else
                   "PASS" if (value >= goal if op == ">=" else value <= goal) else "FAIL")
        out.append(f"{variant} {counter} {op} {fmt(counter, goal)}: {verdict}")
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    ctx = data["context"]
    print(f"Card: {ctx.get('bfi_device', '?')}, {ctx.get('bfi_sm_count', '?')} SMs, copy bandwidth "
          f"{float(ctx.get('bfi_copy_gbps', 0)):.0f} GB/s (read + write); {ctx.get('date', '')}; "
          f"library {ctx.get('bfi_library', '?')}; timer {ctx.get('bfi_timer', '?')}.")
    tables = {}  # section -> (cases, variants, results[case][variant])
    for b in chosen_runs(data["benchmarks"]):
        parts = GB_SUFFIX.sub("", b["run_name"]).split("/")
        if len(parts) < 3:
            continue
        section, case, variant = parts[0], "/".join(parts[1:-1]), parts[-1]
        cases, variants, results = tables.setdefault(section, ([], [], {}))
        if case not in cases:
            cases.append(case)
        if variant not in variants:
            variants.append(variant)
        r = {k: v for k, v in b.items() if isinstance(v, (int, float))}
        r["us"] = b["real_time"] * TO_US[b.get("time_unit", "ns")]
        r["label"] = b.get("label", "")
        results.setdefault(case, {})[variant] = r
    for section, (cases, variants, results) in tables.items():
        columns = []
        for v in variants:
            columns.append((v, "us"))
            for kind in TABLE_COUNTERS:
                names = []
                for by_variant in results.values():
                    for k in sorted(by_variant.get(v, {})):
                        shown = k.startswith(kind) if kind == "x_vs_" else k == kind
                        if shown and k not in names:
                            names.append(k)
                columns += [(v, n) for n in sorted(names)]
        print(f"\n### {section}\n")
        print("| case | " + " | ".join(header(v, c) for v, c in columns) + " | notes |")
        print("|---|" + "---|" * len(columns) + "---|")
        for case in cases:
            by_variant = results[case]
            cells = [fmt(c, by_variant[v][c]) if c in by_variant.get(v, {}) else ""
                     for v, c in columns]
            note = "; ".join(n for v in variants if v in by_variant
                             for n in notes(v, by_variant[v]))
            print(f"| {case} | " + " | ".join(cells) + f" | {note} |")


if __name__ == "__main__":
    main()
