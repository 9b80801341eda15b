#!/usr/bin/env python3
"""PyTorch baselines for bfi_bench, measured on the same card in one run.

This script needs PyTorch with CUDA (the GPU machines have it); it is not a dependency of the
library or of its tests, and nothing imports it. It times:

1. decode: for each decode shape of issue 19's table (bf16, head dim 128), SDPA on a contiguous
   (unpaged) cache: q [B, Hq, 1, D], k and v [B, Hkv, L, D]. Two ways of running GQA:
     enable_gqa  F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
     folded      the group's query heads as the query rows of their KV head:
                 F.scaled_dot_product_attention(q.view(B, Hkv, Hq // Hkv, D), k, v)
                 (one token per request sees every key, so no mask; the same function, checked
                 against enable_gqa on every shape)
   repeat_interleave of K/V to Hq heads is not timed: it copies the cache Hq/Hkv times, so it
   cannot be faster than either. The faster of the two is "best"; frac = K and V bytes / time /
   the device-to-device copy bandwidth measured in the same run (1 GiB, bytes read + written),
   the definition bfi_bench's decode frac uses.
2. prefill: causal SDPA, 32 query / 8 KV heads, bf16, (B x L) = (1 x 16384), (8 x 4096),
   (64 x 512), (1 x 4096), head dims 64, 128 and 256, with the cuDNN backend and the
   FlashAttention backend forced separately (torch.nn.attention.sdpa_kernel). GQA through
   enable_gqa where the backend takes it, else K/V repeated to Hq heads before the timing (the
   JSON says which). TFLOP/s counted on the causal work: 4 * B * Hq * D * L * L / 2 FLOP (QK^T
   and PV, 2 FLOP per multiply-add, over the half of the L x L scores the mask keeps; the
   diagonal's extra L / 2 per row is not counted, as FlashAttention's benchmarks count).
3. matmul: bf16 8192 x 8192 x 8192 through torch.matmul (cuBLAS), 2 * 8192^3 FLOP.

Method: each call is captured once in a CUDA graph (after eager warm-up calls on a side stream,
so that library plans and workspaces exist before the capture) and the graph's replays are timed
with torch.cuda.Event, one replay per sample, median of many samples after untimed warm-up
replays. Before each timed replay a spin kernel (torch.cuda._sleep) holds the stream until the
events and the replay are queued, so the events time the GPU's work, not the host's submission
(bfi_bench's hold timer does the same). Inputs are random (never zeros); a problem whose inputs
are smaller than 4x the L2 (60 MB on H200) is rotated over enough copies that no replay finds
its inputs in the L2 from the previous one.

    python3 bench/sdpa_baseline.py --json out/sdpa.json [--markdown out/sdpa.md] [--quick]
    python3 bench/sdpa_baseline.py --only decode,matmul

--quick: fewer samples and a few shapes of each part, to check that everything runs.
"""
import argparse
import datetime
import json
import math
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# Issue 19's decode table: (Hq, Hkv, B, L), bf16, head dim 128.
DECODE_SHAPES = [(32, 8, 1, 32768), (32, 8, 1, 4096), (32, 8, 8, 8192), (32, 8, 16, 4096),
                 (32, 8, 64, 2048), (32, 8, 256, 1024), (32, 8, 128, 8192), (28, 4, 64, 2048),
                 (32, 2, 64, 2048), (32, 1, 64, 2048), (40, 8, 1, 32768)]
PREFILL_SHAPES = [(1, 16384), (8, 4096), (64, 512), (1, 4096)]  # (B, L), 32/8 heads
PREFILL_HEAD_DIMS = [128, 64, 256]
PREFILL_BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}
MATMUL_SIZE = 8192
HOLD_CYCLES = 200_000  # about 100 µs at the H200's 1.98 GHz: longer than queueing a replay


def rotated_copies(input_bytes):
    """Copies of the inputs to rotate over so that together they exceed 4x the L2."""
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    return 1 if input_bytes >= 4 * l2 else math.ceil(4 * l2 / input_bytes)


def time_graph_replays(calls, warmup, repeats, hold=True):
    """Median µs of one replay of each call's CUDA graph, rotating through `calls`."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for call in calls:
            for _ in range(3):
                call()
    torch.cuda.current_stream().wait_stream(side)
    graphs = []
    for call in calls:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            call()
        graphs.append(g)
    for i in range(warmup):
        graphs[i % len(graphs)].replay()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for i in range(repeats):
        if hold:
            torch.cuda._sleep(HOLD_CYCLES)
        start.record()
        graphs[i % len(graphs)].replay()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop) * 1e3)
    return statistics.median(samples)


def random_bf16(*shape):
    return torch.empty(shape, dtype=torch.bfloat16, device="cuda").uniform_(-1, 1)


def copy_bandwidth_gbps(args):
    n = 1 << 29  # bf16 elements: 1 GiB
    src, dst = random_bf16(n), torch.empty(n, dtype=torch.bfloat16, device="cuda")
    us = time_graph_replays([lambda: dst.copy_(src)], 3, args.repeats_large, args.hold)
    return 2.0 * (n * 2) / (us * 1e-6) / 1e9


def bench_decode(args, copy_gbps):
    rows = []
    shapes = DECODE_SHAPES[:3] if args.quick else DECODE_SHAPES
    d = 128
    for hq, hkv, b, length in shapes:
        g = hq // hkv
        kv_bytes = 2 * b * hkv * length * d * 2
        copies = rotated_copies(kv_bytes)
        sets = [(random_bf16(b, hq, 1, d), random_bf16(b, hkv, length, d),
                 random_bf16(b, hkv, length, d)) for _ in range(copies)]
        q0, k0, v0 = sets[0]
        gqa = F.scaled_dot_product_attention(q0, k0, v0, enable_gqa=True)
        folded = F.scaled_dot_product_attention(q0.view(b, hkv, g, d), k0, v0).view(b, hq, 1, d)
        diff = (gqa.float() - folded.float()).abs().max().item()
        if not diff < 2e-2:
            sys.exit(f"decode {hq}/{hkv} {b}x{length}: folded GQA differs from enable_gqa by {diff}")
        ways = {
            "enable_gqa": [lambda q=q, k=k, v=v: F.scaled_dot_product_attention(
                q, k, v, enable_gqa=True) for q, k, v in sets],
            "folded": [lambda q=q, k=k, v=v: F.scaled_dot_product_attention(
                q.view(b, hkv, g, d), k, v) for q, k, v in sets],
        }
        row = {"hq": hq, "hkv": hkv, "batch": b, "kv_len": length, "head_dim": d,
               "kv_bytes": kv_bytes, "rotated_copies": copies}
        for way, calls in ways.items():
            row[f"us_{way}"] = time_graph_replays(calls, args.warmup, args.repeats, args.hold)
        best = min(ways, key=lambda w: row[f"us_{w}"])
        row["best"], row["us"] = best, row[f"us_{best}"]
        row["frac"] = kv_bytes / (row["us"] * 1e-6) / 1e9 / copy_gbps
        rows.append(row)
        print(f"decode {hq}/{hkv} {b}x{length}: enable_gqa {row['us_enable_gqa']:.1f} µs, "
              f"folded {row['us_folded']:.1f} µs, frac {row['frac']:.2f}", flush=True)
        del sets, gqa, folded
    return rows


def bench_prefill(args):
    rows = []
    hq, hkv = 32, 8
    shapes = PREFILL_SHAPES[:2] if args.quick else PREFILL_SHAPES
    head_dims = PREFILL_HEAD_DIMS[:1] if args.quick else PREFILL_HEAD_DIMS
    for d in head_dims:
        for b, length in shapes:
            flop = 4.0 * b * hq * d * length * length / 2
            input_bytes = (b * hq * length * d + 2 * b * hkv * length * d) * 2
            copies = rotated_copies(input_bytes)
            sets = [(random_bf16(b, hq, length, d), random_bf16(b, hkv, length, d),
                     random_bf16(b, hkv, length, d)) for _ in range(copies)]
            row = {"hq": hq, "hkv": hkv, "batch": b, "len": length, "head_dim": d,
                   "causal_flop": flop, "rotated_copies": copies}
            for name, backend in PREFILL_BACKENDS.items():
                with sdpa_kernel(backend):
                    try:
                        calls = [lambda q=q, k=k, v=v: F.scaled_dot_product_attention(
                            q, k, v, is_causal=True, enable_gqa=True) for q, k, v in sets]
                        calls[0]()
                        row[f"gqa_{name}"] = "enable_gqa"
                    except RuntimeError:
                        # K/V as Hq heads, made before the timing
                        wide = [(q, k.repeat_interleave(hq // hkv, 1),
                                 v.repeat_interleave(hq // hkv, 1)) for q, k, v in sets]
                        calls = [lambda q=q, k=k, v=v: F.scaled_dot_product_attention(
                            q, k, v, is_causal=True) for q, k, v in wide]
                        row[f"gqa_{name}"] = "K/V repeated to Hq heads before timing"
                    try:
                        us = time_graph_replays(calls, args.warmup_large, args.repeats_large,
                                                args.hold)
                    except RuntimeError as e:
                        row[f"error_{name}"] = str(e).splitlines()[0]
                        print(f"prefill hd{d} {b}x{length} {name}: {row[f'error_{name}']}")
                        continue
                row[f"us_{name}"] = us
                row[f"tflops_{name}"] = flop / (us * 1e-6) / 1e12
                print(f"prefill hd{d} {b}x{length} {name}: {us:.1f} µs, "
                      f"{row[f'tflops_{name}']:.0f} TFLOP/s ({row[f'gqa_{name}']})", flush=True)
            rows.append(row)
            del sets
    return rows


def bench_matmul(args):
    n = MATMUL_SIZE
    a, b = random_bf16(n, n), random_bf16(n, n)
    c = torch.empty(n, n, dtype=torch.bfloat16, device="cuda")
    us = time_graph_replays([lambda: torch.matmul(a, b, out=c)], args.warmup_large,
                            args.repeats_large, args.hold)
    row = {"m": n, "n": n, "k": n, "us": us, "tflops": 2.0 * n ** 3 / (us * 1e-6) / 1e12}
    print(f"matmul bf16 {n}^3: {us:.1f} µs, {row['tflops']:.0f} TFLOP/s", flush=True)
    return row


def markdown(result):
    ctx = result["context"]
    out = [f"Card: {ctx['device']} ({ctx['sm_count']} SMs, L2 {ctx['l2_bytes'] / 1e6:.0f} MB), "
           f"copy bandwidth {result['copy_gbps']:.0f} GB/s (read + write); {ctx['date']}; "
           f"PyTorch {ctx['torch']}, CUDA {ctx['cuda']}, cuDNN {ctx['cudnn']}; "
           f"CUDA-graph replay, median of {ctx['repeats']} (decode) / {ctx['repeats_large']}.", ""]
    if result.get("decode"):
        out += ["### PyTorch SDPA decode, contiguous cache, bf16, hd128", "",
                "| Hq/Hkv, B x L | KV MB | enable_gqa µs | folded µs | best µs | frac |",
                "|---|---|---|---|---|---|"]
        for r in result["decode"]:
            out.append(f"| {r['hq']}/{r['hkv']}, {r['batch']} x {r['kv_len']} | "
                       f"{r['kv_bytes'] / 1e6:.1f} | {r['us_enable_gqa']:.1f} | "
                       f"{r['us_folded']:.1f} | {r['us']:.1f} ({r['best']}) | {r['frac']:.2f} |")
        out.append("")
    if result.get("prefill"):
        out += ["### PyTorch SDPA prefill, causal, 32/8 heads, bf16 (TFLOP/s on the causal work)",
                "", "| head dim | B x L | cuDNN µs | cuDNN TFLOP/s | FlashAttention µs | "
                "FlashAttention TFLOP/s |", "|---|---|---|---|---|---|"]
        for r in result["prefill"]:
            cells = []
            for name in PREFILL_BACKENDS:
                if f"us_{name}" in r:
                    cells += [f"{r[f'us_{name}']:.1f}", f"{r[f'tflops_{name}']:.0f}"]
                else:
                    cells += ["error", ""]
            out.append(f"| {r['head_dim']} | {r['batch']} x {r['len']} | " + " | ".join(cells)
                       + " |")
        out.append("")
    if result.get("matmul"):
        m = result["matmul"]
        out += [f"bf16 matmul {m['m']}^3 (torch.matmul): {m['us']:.1f} µs, "
                f"{m['tflops']:.0f} TFLOP/s", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--markdown", help="write the markdown tables here (they are printed too)")
    ap.add_argument("--only", default="decode,prefill,matmul",
                    help="comma-separated parts to run: decode, prefill, matmul")
    ap.add_argument("--quick", action="store_true", help="few samples, a few shapes")
    ap.add_argument("--no-hold", dest="hold", action="store_false",
                    help="no spin kernel before each timed replay")
    args = ap.parse_args()
    parts = args.only.split(",")
    unknown = [p for p in parts if p not in ("decode", "prefill", "matmul")]
    if unknown:
        ap.error(f"unknown part(s) {unknown}")
    if not torch.cuda.is_available():
        sys.exit("sdpa_baseline: no CUDA device")
    args.warmup, args.repeats = (3, 10) if args.quick else (10, 100)
    args.warmup_large, args.repeats_large = (2, 5) if args.quick else (5, 30)
    torch.manual_seed(0)
    prop = torch.cuda.get_device_properties(0)
    result = {"context": {
        "device": prop.name, "sm_count": prop.multi_processor_count,
        "l2_bytes": prop.L2_cache_size, "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "repeats": args.repeats, "repeats_large": args.repeats_large, "hold": args.hold,
        "quick": args.quick}}
    result["copy_gbps"] = copy_bandwidth_gbps(args)
    print(f"{prop.name}: copy bandwidth {result['copy_gbps']:.0f} GB/s (read + write)", flush=True)
    if "decode" in parts:
        result["decode"] = bench_decode(args, result["copy_gbps"])
    if "prefill" in parts:
        result["prefill"] = bench_prefill(args)
    if "matmul" in parts:
        result["matmul"] = bench_matmul(args)
    table = markdown(result)
    print("\n" + table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
