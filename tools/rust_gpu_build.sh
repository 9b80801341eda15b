#!/usr/bin/env bash
# Builds the Rust GPU tests and the engine-step example here (where cargo is) for a GPU machine
# that has no cargo, and copies them into <folder> with run.sh:
#   bash tools/rust_gpu_build.sh <folder>
# then, on the GPU machine, against the library built there:
#   bash <folder>/run.sh <directory holding the libbaracuda_flashinfer.so built there>
# Linking here needs a library (BARACUDA_FLASHINFER_LIB_DIR, default ./build); the binaries load
# the one run.sh names (LD_LIBRARY_PATH overrides the rpath baked in here), and the CUDA runtime
# from $CUDA_PATH/lib64 (default /usr/local/cuda). Without a GPU the tests fail loudly: run.sh
# passes --ignored, which is how the GPU tests are selected.
set -euo pipefail
dest=${1:?usage: tools/rust_gpu_build.sh <folder>}
cd "$(dirname "$0")/.."
repo=$PWD
export BARACUDA_FLASHINFER_LIB_DIR=${BARACUDA_FLASHINFER_LIB_DIR:-$repo/build}
if [ ! -e "$BARACUDA_FLASHINFER_LIB_DIR/libbaracuda_flashinfer.so" ]; then
  echo "no libbaracuda_flashinfer.so in $BARACUDA_FLASHINFER_LIB_DIR: build the library" \
    "(bash tools/build.sh) or set BARACUDA_FLASHINFER_LIB_DIR" >&2
  exit 1
fi
cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
manifest=$repo/bindings/rust/Cargo.toml
executables() {  # the executables cargo's JSON messages name, one per line
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])'
}
# Release: the float64 references of the tests run on the host; optimised, they take seconds.
test_exe=$("$cargo" test --offline --release --no-run --manifest-path "$manifest" \
  -p baracuda-flashinfer --test gpu --message-format=json | executables)
example_exe=$("$cargo" build --offline --release --manifest-path "$manifest" \
  -p baracuda-flashinfer --example engine_step --message-format=json | executables)
[ -n "$test_exe" ] && [ -n "$example_exe" ] || { echo "cargo built no executable" >&2; exit 1; }
mkdir -p "$dest"
cp "$test_exe" "$dest/gpu_tests"
cp "$example_exe" "$dest/engine_step"
if command -v strip >/dev/null; then strip --strip-debug "$dest/gpu_tests" "$dest/engine_step"; fi
cat >"$dest/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the Rust GPU tests (every one: they are #[ignore]d by default, --ignored selects them)
# and the engine-step example against the library in <lib dir>. Exit status: non-zero if
# either failed.
#   bash run.sh <directory holding libbaracuda_flashinfer.so>
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib=$(cd "${1:?usage: run.sh <directory holding libbaracuda_flashinfer.so>}" && pwd)
export LD_LIBRARY_PATH=$lib:${CUDA_PATH:-/usr/local/cuda}/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
"$here/gpu_tests" --ignored --test-threads=1 --nocapture
tests=$?
"$here/engine_step"
example=$?
echo "rust GPU tests: exit $tests; engine_step: exit $example"
[ "$tests" = 0 ] && [ "$example" = 0 ]
EOF
chmod +x "$dest/run.sh"
echo "built into $dest; on the GPU machine run:"
echo "  bash $dest/run.sh <directory holding the libbaracuda_flashinfer.so built there>"
