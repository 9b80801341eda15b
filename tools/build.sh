#!/usr/bin/env bash
# The two set-up commands of the README:
#   bash tools/build.sh example   # fetch FlashInfer, build, run the end-to-end decode example
#   bash tools/build.sh test      # fetch FlashInfer, build, run every test (GPU tests skip without a GPU;
#                                 # the compute-sanitizer runs: ctest -L sanitizer)
# Environment: BUILD_DIR (default build), CUDA_ARCHS (default: the compute capabilities of this
#              machine's GPUs, or 90 when it has none -- see below),
#              BARACUDA_FLASHINFER_ROOT (an extracted FlashInfer copy, for offline machines),
#              JOBS (default: all cores).
# The tests need GoogleTest: an installed one, else a source tree in .deps/googletest (copied
# from /usr/src/googletest here, or carried to a machine that has neither).
set -euo pipefail
mode=${1:-test}
cd "$(dirname "$0")/.."

# Tools a fresh machine may lack (Debian): install them if missing and we are allowed to.
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v g++ >/dev/null || need+=(g++)
# GoogleTest: installed (libgtest-dev), or its sources (/usr/src/googletest, Debian's googletest)
# copied into .deps/googletest for tests/CMakeLists.txt; with neither, install libgtest-dev.
gtest_installed() {
  compgen -G "/usr/lib/*/cmake/GTest/GTestConfig.cmake" >/dev/null ||
    compgen -G "/usr/lib/cmake/GTest/GTestConfig.cmake" >/dev/null ||
    compgen -G "/usr/local/lib*/cmake/GTest/GTestConfig.cmake" >/dev/null
}
if ! gtest_installed && [ ! -f .deps/googletest/CMakeLists.txt ] && [ ! -d /usr/src/googletest ]; then
  need+=(libgtest-dev)
fi
# The ABI fuzzer (fuzz/, tests labelled fuzz): clang with libFuzzer and the sanitizer runtimes.
command -v clang++ >/dev/null || need+=(clang)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null ||
  need+=(libclang-rt-dev)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing tools: ${need[*]} (install them and rerun)" >&2
    exit 1
  fi
fi
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
if ! gtest_installed && [ ! -f .deps/googletest/CMakeLists.txt ] && [ -d /usr/src/googletest ]; then
  mkdir -p .deps && cp -r /usr/src/googletest .deps/googletest
fi

# Both commands run what they build on this machine, so they compile for its GPUs. Without a GPU
# (CI) they compile for sm_90 alone: 90 is the one list entry that also builds the sm_90a (FA3)
# library, so every source file still compiles; sm_80 machine code would about double the device
# compile (docs/notes/tuning-history.md, build times) for code no test here runs. A package build
# keeps CMake's default, 80-real;90.
detected_archs() {
  command -v nvidia-smi >/dev/null || return 0
  nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null |
    awk -F. '/^[0-9]+\.[0-9]+$/ && $1 >= 8 {print $1 $2}' | sort -u | paste -sd';'
}
archs=${CUDA_ARCHS:-$(detected_archs)}
archs=${archs:-90}

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" \
  ${BARACUDA_FLASHINFER_ROOT:+-DBARACUDA_FLASHINFER_ROOT="$BARACUDA_FLASHINFER_ROOT"}
cmake --build "$build" -j "${JOBS:-$(nproc)}"

case "$mode" in
  example) "$build/examples/decode_example" ;;
  test) ctest --test-dir "$build" --output-on-failure -LE sanitizer ;;
  *) echo "usage: $0 example|test" >&2; exit 2 ;;
esac
