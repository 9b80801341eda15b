#!/usr/bin/env python3
"""Fetch the pinned FlashInfer wheel and extract the headers and CCCL this library compiles against.

FlashInfer is a build dependency, never committed. The wheel is downloaded with pip (download only:
nothing is installed, no torch), its sha256 is checked, and only these subtrees are extracted:

    flashinfer/data/include/flashinfer      -> <dest>/include/flashinfer
    flashinfer/data/cccl/{cub,thrust}       -> <dest>/cccl/{cub,thrust}
    flashinfer/data/cccl/libcudacxx/include -> <dest>/cccl/libcudacxx/include
    flashinfer/data/cutlass/include         -> <dest>/cutlass/include  (the sm_90a FA3 kernels)
    flashinfer/data/cutlass/tools/util/include -> <dest>/cutlass/util/include

A file <dest>/VERSION records what was extracted; an existing complete copy is reused.
Offline machines: extract a copy elsewhere and configure with -DBARACUDA_FLASHINFER_ROOT=<dir>.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

PINNED_VERSION = "0.7.2.post1"
PINNED_SHA256 = "bfdc18b9e1e4d8d0730fe4343dc0e284cd0c160086de80f99888bc4867922d49"
SUBTREES = {
    "flashinfer/data/include/flashinfer/": "include/flashinfer/",
    "flashinfer/data/cccl/cub/cub/": "cccl/cub/cub/",
    "flashinfer/data/cccl/thrust/thrust/": "cccl/thrust/thrust/",
    "flashinfer/data/cccl/libcudacxx/include/": "cccl/libcudacxx/include/",
    "flashinfer/data/cutlass/include/": "cutlass/include/",
    "flashinfer/data/cutlass/tools/util/include/": "cutlass/util/include/",
}
# One file per subtree: a copy lacking any of them (an older extraction) is extracted again.
REQUIRED = ["include/flashinfer/attention/decode.cuh", "cccl/cub/cub/cub.cuh",
            "cccl/libcudacxx/include/cuda/std/__cccl/version.h", "cccl/thrust/thrust/version.h",
            "cutlass/include/cute/tensor.hpp", "cutlass/util/include/cutlass/util/command_line.h"]


def cccl_version(dest):
    path = os.path.join(dest, "cccl/libcudacxx/include/cuda/std/__cccl/version.h")
    with open(path) as f:
        m = re.search(r"#define CCCL_VERSION (\d+)", f.read())
    v = int(m.group(1))
    return f"{v // 1000000}.{(v // 1000) % 1000}.{v % 1000}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest", help="folder to extract into")
    ap.add_argument("--wheel", help="use this already-downloaded wheel instead of pip")
    args = ap.parse_args()
    dest = os.path.abspath(args.dest)
    stamp = os.path.join(dest, "VERSION")
    complete = all(os.path.exists(os.path.join(dest, f)) for f in REQUIRED)
    if complete and os.path.exists(stamp) and open(stamp).read().startswith(f"flashinfer-python {PINNED_VERSION}"):
        print(open(stamp).read().strip())
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", tmp,
                   f"flashinfer-python=={PINNED_VERSION}"]
            print("fetch_flashinfer:", " ".join(cmd), flush=True)
            subprocess.check_call(cmd)
            wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
        digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
        if digest != PINNED_SHA256:
            sys.exit(f"fetch_flashinfer: {wheel} has sha256 {digest}, expected {PINNED_SHA256}")
        staging = dest + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                for src, dst in SUBTREES.items():
                    if name.startswith(src) and not name.endswith("/"):
                        out = os.path.join(staging, dst, name[len(src):])
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with zf.open(name) as fi, open(out, "wb") as fo:
                            shutil.copyfileobj(fi, fo)
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(staging, dest)
    with open(stamp, "w") as f:
        f.write(f"flashinfer-python {PINNED_VERSION} sha256 {PINNED_SHA256} CCCL {cccl_version(dest)}\n")
    print(open(stamp).read().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
