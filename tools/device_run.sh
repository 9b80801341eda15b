#!/usr/bin/env bash
# One scripted GPU run: build with all cores, run every test (GPU ones included), the example
# and the benchmark; logs, the benchmark's JSON and its markdown tables go to $OUT (or ./out).
# GoogleTest: installed, or a copy of its sources in .deps/googletest; Google Benchmark:
# installed, or its source tree at .deps/benchmark (tools/fetch_benchmark.py). Usage:
#   tools/device_run.sh [bfi_bench arguments: sections, --benchmark_filter=...]
# Every build has every kernel family (the library always exports the whole ABI).
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
root=${BARACUDA_FLASHINFER_ROOT:-$PWD/.deps/flashinfer}
cmake -S . -B build-dev -G Ninja -DCMAKE_CUDA_ARCHITECTURES="${BFI_ARCHS:-90}" \
  -DBARACUDA_FLASHINFER_ROOT="$root" > "$OUT/configure.log" 2>&1 \
  || { tail -30 "$OUT/configure.log"; exit 1; }
start=$(date +%s)
ninja -C build-dev -j"$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A3 "$OUT/build.log" | head -60; exit 1; }
echo "build: $(( $(date +%s) - start )) s"
# BFI_CTEST_REGEX narrows the tests (and skips the examples) for a quick iteration. The fuzz
# label (the host-only ABI fuzzer, which hides the GPU) runs in CI, not on device time; the
# compute-sanitizer entries run only with BFI_SANITIZER=1 (they take far longer).
(cd build-dev && ctest --output-on-failure --timeout 300 -LE "fuzz|sanitizer" -R "${BFI_CTEST_REGEX:-.}" 2>&1) \
  | tee "$OUT/ctest.log" | tail -40
if [ "${BFI_SANITIZER:-0}" = 1 ]; then
  (cd build-dev && ctest --output-on-failure -L sanitizer -R "${BFI_CTEST_REGEX:-.}" 2>&1) \
    | tee "$OUT/sanitizer.log" | tail -40
fi
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
