#!/usr/bin/env bash
# One compute-sanitizer run over a GPU test executable, as a ctest entry (label sanitizer):
#   run_sanitizer.sh <gpu probe> <compute-sanitizer> <tool> <test executable> [test arguments...]
# Exits 77 (ctest: skipped) without a GPU; otherwise the sanitizer's status (1 on any error report,
# or the executable's own failure).
set -uo pipefail
probe=$1 sanitizer=$2 tool=$3
shift 3
"$probe" || exit 77
exec "$sanitizer" --tool "$tool" --error-exitcode 1 --print-limit 100 "$@"
