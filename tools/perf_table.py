#!/usr/bin/env python3
"""Turn bfi_bench's JSON into the markdown tables of docs/PERFORMANCE.md.

    python3 tools/perf_table.py bench.json > tables.md
"""
import json
import sys

COLUMNS = {
    "decode": [("us_graph", "µs (graph)", "{:.1f}"), ("frac_graph", "frac", "{:.2f}"),
               ("us", "µs (eager)", "{:.1f}"), ("frac_cuda_cores", "CUDA cores", "{:.2f}"),
               ("frac_tensor_cores", "tensor cores", "{:.2f}"), ("us_nosplit", "µs split off", "{:.0f}"),
               ("frac_nosplit", "frac split off", "{:.2f}"), ("speedup_vs_nosplit", "× vs split off", "{:.1f}")],
    "append": [("us_graph", "µs (graph)", "{:.1f}"), ("us", "µs (eager)", "{:.1f}"),
               ("gbps", "GB/s", "{:.0f}"), ("frac", "frac", "{:.2f}")],
    "merge": [("us", "µs", "{:.1f}"), ("gbps", "GB/s", "{:.0f}"), ("frac", "frac", "{:.2f}")],
    "cascade": [("us_plain", "µs plain decode", "{:.0f}"), ("us_cascade_fused", "µs cascade_decode_run", "{:.1f}"),
                ("us_cascade", "µs cascade, three calls", "{:.1f}"),
                ("speedup", "× faster", "{:.1f}"),
                ("us_cascade_dense_prefix", "µs cascade_decode_dense_prefix_run", "{:.1f}"),
                ("speedup_dense_prefix", "× faster, dense prefix", "{:.1f}"),
                ("cascade_frac_of_one_prefix_read", "frac (prefix read once)", "{:.2f}"),
                ("us_prefix", "µs shared prefix", "{:.1f}"),
                ("us_suffix_cuda_cores", "µs suffix decode (CUDA cores)", "{:.1f}"),
                ("us_merge", "µs merge", "{:.1f}"), ("us_prefix_fa2", "µs shared prefix (FA2)", "{:.1f}"),
                ("us_suffix", "µs suffix, auto rule", "{:.1f}"),
                ("us_cascade_auto_suffix", "µs cascade, auto-rule suffix", "{:.1f}"),
                ("us_plain_cuda_cores", "µs plain, CUDA cores", "{:.0f}")],
    "shared_prefix": [("us", "µs", "{:.1f}"), ("tflops", "TFLOP/s", "{:.0f}"), ("us_fa2", "µs FA2", "{:.1f}"),
                      ("tflops_fa2", "TFLOP/s FA2", "{:.0f}"), ("speedup_vs_fa2", "× vs FA2", "{:.2f}")],
    "sampling": [("us", "µs (graph)", "{:.1f}"), ("us_no_graph", "µs (eager)", "{:.1f}"),
                 ("us_flashinfer_kernel", "µs FlashInfer kernel", "{:.1f}"), ("us_sort", "µs sort-based", "{:.0f}"),
                 ("speedup_vs_sort", "× vs sort", "{:.1f}")],
}


def main():
    data = json.load(open(sys.argv[1]))
    print(f"Card: {data['device']}, copy bandwidth {data['copy_gbps']:.0f} GB/s (read + write); "
          f"date {data['date']}; library {data['library']}; timer {data.get('timer', 'submit')}.\n")
    for section, cols in COLUMNS.items():
        rows = [r for r in data["rows"] if r["section"] == section]
        if not rows:
            continue
        used = [c for c in cols if any(c[0] in r for r in rows)]
        print(f"### {section}\n")
        print("| case | " + " | ".join(c[1] for c in used) + " | note |")
        print("|---|" + "---|" * len(used) + "---|")
        for r in rows:
            cells = [c[2].format(r[c[0]]) if c[0] in r else "" for c in used]
            print(f"| {r['name']} | " + " | ".join(cells) + f" | {r.get('note', '')} |")
        print()


if __name__ == "__main__":
    main()
