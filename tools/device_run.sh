#!/usr/bin/env bash
# One scripted GPU run: build with all cores, run every test (GPU ones included), the example
# and the benchmark; logs, the benchmark's JSON and its markdown tables go to $OUT (or ./out).
# Usage:
#   tools/device_run.sh [families] [bfi_bench arguments: sections, --benchmark_filter=...]
# families: BFI_FAMILIES value (default "append;merge;sampling").
# The benchmark needs Google Benchmark: installed, or its source tree at .deps/benchmark
# (tools/fetch_benchmark.py, carried along like .deps/flashinfer).
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
families=${1-append;merge;sampling}
shift || true
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
root=${BARACUDA_FLASHINFER_ROOT:-$PWD/.deps/flashinfer}
cmake -S . -B build-dev -G Ninja -DCMAKE_CUDA_ARCHITECTURES="${BFI_ARCHS:-90}" \
  -DBARACUDA_FLASHINFER_ROOT="$root" -DBFI_FAMILIES="$families" > "$OUT/configure.log" 2>&1 \
  || { tail -30 "$OUT/configure.log"; exit 1; }
start=$(date +%s)
ninja -C build-dev -j"$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A3 "$OUT/build.log" | head -60; exit 1; }
echo "build: $(( $(date +%s) - start )) s"
# BFI_CTEST_REGEX narrows the tests (and skips the examples) for a quick iteration.
(cd build-dev && ctest --output-on-failure --timeout 300 -R "${BFI_CTEST_REGEX:-.}" 2>&1) \
  | tee "$OUT/ctest.log" | tail -40
if [ -z "${BFI_CTEST_REGEX:-}" ]; then
  ./build-dev/examples/decode_example 2>&1 | tee "$OUT/example.log"
  ./build-dev/examples/cpp_decode_step 2>&1 | tee -a "$OUT/example.log"
fi
if [ -x build-dev/bench/bfi_bench ]; then
  ./build-dev/bench/bfi_bench --benchmark_out="$OUT/bench.json" --benchmark_out_format=json "$@" \
    2>&1 | tee "$OUT/bench.log"
  python3 tools/perf_table.py "$OUT/bench.json" > "$OUT/bench.md"
else
  echo "bfi_bench was not built (no Google Benchmark: see bench/CMakeLists.txt)" | tee "$OUT/bench.log"
fi
