#!/usr/bin/env python3
"""Place Google Benchmark's C++ source tree at .deps/benchmark, for machines without the package.

bfi_bench is built on Google Benchmark. Where the library is installed (Debian: libbenchmark-dev)
CMake finds it; elsewhere, for example on a GPU machine with no package and no network, CMake
builds it from a source tree: .deps/benchmark when it exists, or -DBFI_BENCHMARK_SOURCE_DIR=<dir>.
This script makes that tree on a machine that reaches the package registries, and the folder is
carried to the other machine with the work tree (it is ignored by git, like .deps/flashinfer).

    python3 tools/fetch_benchmark.py                    # Debian's source package, pinned below
    python3 tools/fetch_benchmark.py --tarball FILE     # an upstream release archive instead

The source comes from Debian's source package of Google Benchmark (the upstream release tarball,
its sha256 checked), fetched with apt-get against a private copy of this machine's apt sources
turned into deb-src entries: the machine's apt configuration is not changed, nothing is
installed. PyPI has no usable alternative: its google-benchmark sdists (1.8.3, 1.9.4 and 1.9.5
checked) hold only the Python bindings, no C++ sources.

A file <dest>/VERSION records what was placed; an existing complete copy is reused.
"""
import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

DEBIAN_SOURCE = "benchmark"
DEBIAN_VERSION = "1.7.1-1"
ORIG_TARBALL = "benchmark_1.7.1.orig.tar.gz"
ORIG_SHA256 = "6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7"
REQUIRED = ["CMakeLists.txt", "include/benchmark/benchmark.h", "src/benchmark.cc"]


def deb_src_entries():
    """This machine's apt sources (deb822 .sources files and one-line lists) as deb-src entries."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", open(path).read()):
            lines = [l for l in stanza.splitlines() if l.strip() and not l.lstrip().startswith("#")]
            if any(re.match(r"Types:.*\bdeb\b", l) for l in lines):
                entries.append("\n".join("Types: deb-src" if l.startswith("Types:") else l
                                         for l in lines))
    one_line = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            for line in open(path):
                if re.match(r"\s*deb\s", line):
                    one_line.append(re.sub(r"^\s*deb\s", "deb-src ", line.rstrip()))
    return entries, one_line


def fetch_debian_source(work):
    """Downloads the pinned source package into `work` and returns the orig tarball's path."""
    stanzas, lines = deb_src_entries()
    if not stanzas and not lines:
        sys.exit("fetch_benchmark: no apt sources on this machine; use --tarball")
    parts = os.path.join(work, "sources.list.d")
    lists = os.path.join(work, "lists")
    os.makedirs(os.path.join(lists, "partial"))
    os.makedirs(parts)
    with open(os.path.join(parts, "src.sources"), "w") as f:
        f.write("\n\n".join(stanzas) + "\n")
    with open(os.path.join(work, "src.list"), "w") as f:
        f.write("\n".join(lines) + "\n")
    apt = ["apt-get", "-q", "-o", f"Dir::Etc::SourceList={work}/src.list",
           "-o", f"Dir::Etc::SourceParts={parts}", "-o", f"Dir::State::Lists={lists}",
           "-o", "APT::Sandbox::User=root"]
    download = os.path.join(work, "download")
    os.makedirs(download)
    for cmd in (apt + ["update"],
                apt + ["source", "--download-only", f"{DEBIAN_SOURCE}={DEBIAN_VERSION}"]):
        print("fetch_benchmark: apt-get", " ".join(cmd[len(apt):]), flush=True)
        subprocess.check_call(cmd, cwd=download, stdout=subprocess.DEVNULL)
    return os.path.join(download, ORIG_TARBALL)


def extract(tarball, dest):
    """Extracts the archive's single top folder as `dest` (through a staging folder)."""
    staging = dest + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as tf:
        members = tf.getmembers()
        tops = {m.name.split("/", 1)[0] for m in members}
        if len(tops) != 1:
            sys.exit(f"fetch_benchmark: {tarball} does not have one top folder")
        if hasattr(tarfile, "data_filter"):  # refuses links and paths out of the folder
            tf.extractall(staging, filter="data")
        else:
            tf.extractall(staging)
    root = os.path.join(staging, tops.pop())
    missing = [f for f in REQUIRED if not os.path.exists(os.path.join(root, f))]
    if missing:
        shutil.rmtree(staging)
        sys.exit(f"fetch_benchmark: {tarball} is not Google Benchmark's C++ source: no {missing}")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.rename(root, dest)
    shutil.rmtree(staging)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest", nargs="?", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".deps", "benchmark"),
        help="folder to place the source tree in (default: .deps/benchmark)")
    ap.add_argument("--tarball", help="use this Google Benchmark source archive instead")
    args = ap.parse_args()
    dest = os.path.abspath(args.dest)
    stamp = os.path.join(dest, "VERSION")
    if all(os.path.exists(os.path.join(dest, f)) for f in REQUIRED) and os.path.exists(stamp):
        print(open(stamp).read().strip())
        return 0
    with tempfile.TemporaryDirectory() as work:
        tarball = args.tarball or fetch_debian_source(work)
        digest = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
        if not args.tarball and digest != ORIG_SHA256:
            sys.exit(f"fetch_benchmark: {tarball} has sha256 {digest}, expected {ORIG_SHA256}")
        extract(tarball, dest)
    origin = (f"Debian source package {DEBIAN_SOURCE} {DEBIAN_VERSION}" if not args.tarball
              else os.path.basename(args.tarball))
    with open(stamp, "w") as f:
        f.write(f"google-benchmark from {origin} sha256 {digest}\n")
    print(open(stamp).read().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
