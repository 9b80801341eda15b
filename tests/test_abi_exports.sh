#!/usr/bin/env bash
# Keeps the C header, abi/exports.txt and the built library's dynamic symbols in step.
#   test_abi_exports.sh <libbaracuda_flashinfer.so> <flashinfer.h> <abi/exports.txt> <cc>
# 1. Every function the header declares (after preprocessing, so macro-generated declarations
#    count) is listed in exports.txt, and every listed symbol is declared.
# 2. The library exports exactly the listed symbols: nothing more (a leak of static cudart /
#    libstdc++ / an internal helper) and nothing less (every build has every family).
# 3. SONAME is libbaracuda_flashinfer.so.<N>, and cudart is not a NEEDED entry (it is static).
set -euo pipefail
lib=$1 header=$2 list=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# shellcheck disable=SC2086
$cc -E -P -x c "$header" |
  grep -o 'baracuda_kernels_flashinfer_[A-Za-z0-9_]*[[:space:]]*(' |
  sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
grep -E '^baracuda_' "$list" | awk '{ print $1 }' | sort >"$tmp/listed_raw"
sort -u "$tmp/listed_raw" >"$tmp/listed"
if ! cmp -s "$tmp/listed_raw" "$tmp/listed"; then
  echo "FAIL: $list lists a symbol twice:"
  uniq -d "$tmp/listed_raw"
  status=1
fi
if [ ! -s "$tmp/declared" ]; then
  echo "FAIL: found no declaration in $header (preprocessor: $cc)"
  exit 1
fi
if ! diff -u "$tmp/listed" "$tmp/declared" >"$tmp/d1"; then
  echo "FAIL: $header and $list disagree ('+': declared but not listed, '-': listed but not declared)."
  echo "      A symbol added or removed must be added or removed in both."
  tail -n +3 "$tmp/d1" | grep '^[-+]'
  status=1
fi

nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"
if ! diff -u "$tmp/listed" "$tmp/exported" >"$tmp/d2"; then
  echo "FAIL: $lib exports differ from $list"
  echo "      ('+': exported but not listed: a leak or an undeclared symbol; '-': listed but missing)"
  tail -n +3 "$tmp/d2" | grep '^[-+]'
  status=1
fi

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [[ ! "$soname" =~ ^libbaracuda_flashinfer\.so\.[0-9]+$ ]]; then
  echo "FAIL: SONAME is '$soname', expected libbaracuda_flashinfer.so.<ABI>"
  status=1
fi
if readelf -d "$lib" | grep '(NEEDED)' | grep -q 'libcudart'; then
  echo "FAIL: $lib needs a shared cudart (it is linked statically):"
  readelf -d "$lib" | grep '(NEEDED)'
  status=1
fi

if [ $status -eq 0 ]; then
  echo "OK: $(wc -l <"$tmp/declared") declared = listed = exported; SONAME $soname"
fi
exit $status
