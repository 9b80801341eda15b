#!/usr/bin/env bash
# Runs the ABI fuzzer for a bounded time (docs/TESTING.md, "ABI fuzzing"):
#   run_fuzzer.sh <bfi_abi_fuzzer> <seconds> <work dir> [libFuzzer flags...]
# New inputs go to <work dir>/corpus (kept between runs), crashes to <work dir>/artifacts; the
# committed corpus fuzz/corpus (regression inputs) is read first.
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$here/corpus"
