#!/usr/bin/env bash
# install -> move the tree -> configure + build + run the consumer with CMake, then with
# pkg-config. Moving the installed tree before using it proves it is relocatable.
#   run.sh <build dir> <consumer source dir> <work dir> <cmake> <generator> <cc> <cxx>
set -euo pipefail
build=$1 src=$2 work=$3 cmake=$4 generator=$5 cc=$6 cxx=$7

rm -rf "$work"
mkdir -p "$work"
echo "== install $build"
"$cmake" --install "$build" --prefix "$work/staged" >"$work/install.log"
mv "$work/staged" "$work/prefix"  # relocate: nothing may point at the original prefix
prefix=$work/prefix

echo "== no absolute path in the package files"
if grep -rl -e "$work/staged" -e "$build" "$prefix" --include='*.cmake' --include='*.pc'; then
  echo "FAIL: the files above embed an absolute build or install path"
  exit 1
fi
for f in include/baracuda/flashinfer.h include/baracuda/flashinfer.hpp; do
  [ -f "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
lib=$(find "$prefix" -name 'libbaracuda_flashinfer.so.*.*.*' | head -1)
[ -n "$lib" ] || { echo "FAIL: versioned library not installed"; exit 1; }
libdir=$(dirname "$lib")
for l in libbaracuda_flashinfer.so libbaracuda_flashinfer.so.[0-9]*; do
  ls "$libdir"/$l >/dev/null 2>&1 || { echo "FAIL: $l not installed"; exit 1; }
done
pcdir=$(dirname "$(find "$prefix" -name baracuda_flashinfer.pc | head -1)")
[ -f "$pcdir/baracuda_flashinfer.pc" ] || { echo "FAIL: baracuda_flashinfer.pc not installed"; exit 1; }

echo "== CMake consumer (find_package from $prefix)"
"$cmake" -S "$src" -B "$work/build" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
"$work/build/consumer_c"
"$work/build/consumer_cpp"

echo "== pkg-config consumer"
export PKG_CONFIG_PATH=$pcdir
pc_version=$(pkg-config --modversion baracuda_flashinfer)
pc_libdir=$(pkg-config --variable=libdir baracuda_flashinfer)
[ "$(cd "$pc_libdir" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] ||
  { echo "FAIL: pkg-config libdir $pc_libdir is not $libdir"; exit 1; }
# shellcheck disable=SC2046
"$cc" -std=c99 -pedantic -Wall -Werror "$src/consumer.c" -o "$work/consumer_pc" \
  $(pkg-config --cflags --libs baracuda_flashinfer) -Wl,-rpath,"$pc_libdir"
"$work/consumer_pc"
echo "OK: CMake and pkg-config (version $pc_version) consumers built and ran against $prefix"
