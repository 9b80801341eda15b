#!/usr/bin/env bash
# Checks the C signatures and stability tiers of the ABI against its baseline:
#   check_signatures.sh <cc> <include dir> <abi dir>
# 1. abi/signatures.h has one function-pointer type per symbol of abi/exports.txt, no more.
# 2. Every function the header declares is assigned to its type in signatures.h, compiled as C99
#    with -Werror: a changed return type, parameter type, qualifier or count does not compile.
# 3. The tiers the header marks (BARACUDA_FLASHINFER_EXPERIMENTAL, BARACUDA_FLASHINFER_DEPRECATED)
#    are the tiers abi/exports.txt lists.
# 4. The check can fail: incompatible edits of a copy of signatures.h must not compile.
set -euo pipefail
cc=$1
include=$(cd "$2" && pwd) abi=$(cd "$3" && pwd)
header=$include/baracuda/flashinfer.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
prefix=baracuda_kernels_flashinfer_

grep -E '^baracuda_' "$abi/exports.txt" | awk '{ print $1 }' | sed "s/^$prefix//" | sort \
  >"$tmp/exported"
grep -o '(\*bfi_abi_[A-Za-z0-9_]*)' "$abi/signatures.h" | sed 's/^(\*bfi_abi_//; s/)$//' | sort \
  >"$tmp/baseline"
if ! diff -u "$tmp/exported" "$tmp/baseline" >"$tmp/d1"; then
  echo "FAIL: abi/exports.txt and abi/signatures.h disagree ('-': exported without a baseline"
  echo "      signature, '+': a baseline signature of no exported symbol)"
  tail -n +3 "$tmp/d1" | grep '^[-+]'
  status=1
fi

# One assignment per symbol: an incompatible pointer type is a constraint violation in C.
check_c() {  # <signatures.h> <output>
  {
    echo '#include <baracuda/flashinfer.h>'
    echo "#include \"$1\""
    while read -r name; do
      echo "const bfi_abi_$name bfi_abi_check_$name = &$prefix$name;"
    done <"$tmp/baseline"
  } >"$tmp/check.c"
  $cc -std=c99 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only \
    -DBARACUDA_FLASHINFER_DISABLE_DEPRECATE_WARNINGS -I"$include" "$tmp/check.c" >"$2" 2>&1
}
if ! check_c "$abi/signatures.h" "$tmp/compile.log"; then
  echo "FAIL: a function of $header differs from its baseline signature in abi/signatures.h:"
  grep -E 'error|note' "$tmp/compile.log" | head -40
  status=1
fi

# Tiers: preprocess with the tier macros replaced by markers, one declaration per line.
tiers() {  # <marker>
  $cc -E -P -x c -DBARACUDA_FLASHINFER_EXPERIMENTAL=bfi_tier_experimental \
    '-DBARACUDA_FLASHINFER_DEPRECATED(msg)=bfi_tier_deprecated' "$header" | tr '\n' ' ' |
    tr ';' '\n' | grep "$1" | grep -o "$prefix[A-Za-z0-9_]*[[:space:]]*(" |
    sed "s/^$prefix//; s/[[:space:]]*($//" | sort
}
for tier in experimental deprecated; do
  tiers "bfi_tier_$tier" >"$tmp/header_$tier"
  awk -v t="$tier" '/^baracuda_/ && $2 == t { print $1 }' "$abi/exports.txt" |
    sed "s/^$prefix//" | sort >"$tmp/listed_$tier"
  if ! diff -u "$tmp/listed_$tier" "$tmp/header_$tier" >"$tmp/d_$tier"; then
    echo "FAIL: $tier symbols: abi/exports.txt and the header's marks disagree"
    echo "      ('-': listed $tier, not marked; '+': marked, not listed)"
    tail -n +3 "$tmp/d_$tier" | grep '^[-+]'
    status=1
  fi
done
if grep -E '^baracuda_' "$abi/exports.txt" | awk 'NF > 1 && $2 != "experimental" && $2 != "deprecated"' |
  grep .; then
  echo "FAIL: abi/exports.txt: a tier other than experimental or deprecated"
  status=1
fi

# The check must reject incompatible changes: each pair (old text, new text) edits the first
# match of a copy of signatures.h.
mutations=(
  'float sm_scale' 'double sm_scale'                                      # a parameter's type
  'const void* q,' 'void* q,'                                             # a qualifier
  'int32_t element, int32_t flags,' 'int32_t element,'                    # a parameter less
  'typedef uint32_t (*bfi_abi_version)' 'typedef int32_t (*bfi_abi_version)'  # the result
  'size_t* workspace_bytes' 'uint32_t* workspace_bytes'                   # a pointee
)
baseline=$(<"$abi/signatures.h")
for ((i = 0; i < ${#mutations[@]}; i += 2)); do
  from=${mutations[i]} to=${mutations[i + 1]}
  if [[ "$baseline" != *"$from"* ]]; then
    echo "FAIL: self-test: '$from' is not in abi/signatures.h"
    status=1
    continue
  fi
  printf '%s\n' "${baseline/"$from"/"$to"}" >"$tmp/mutated.h"
  if check_c "$tmp/mutated.h" "$tmp/mutated.log"; then
    echo "FAIL: self-test: the check accepts the incompatible edit '$from' -> '$to'"
    status=1
  fi
done

if [ $status -eq 0 ]; then
  echo "OK: $(wc -l <"$tmp/baseline") signatures match abi/signatures.h;" \
    "$(wc -l <"$tmp/header_experimental") experimental, $(wc -l <"$tmp/header_deprecated")" \
    "deprecated as listed; $((${#mutations[@]} / 2)) incompatible edits rejected"
fi
exit $status
