//! Finds (or builds) libbaracuda_flashinfer and tells cargo how to link it, in this order:
//!
//! 1. `DOCS_RS` set (docs.rs; also `DOCS_RS=1 cargo doc` on a machine without the library):
//!    nothing is linked; the checked-in bindings are all rustdoc needs.
//! 2. Feature `build-from-source`: CMake builds the library from the repository this crate sits
//!    in (or `BARACUDA_FLASHINFER_SOURCE_DIR`) into `BARACUDA_FLASHINFER_BUILD_DIR` (default: a
//!    folder under `OUT_DIR`). `BARACUDA_FLASHINFER_CUDA_ARCHS` and `BARACUDA_FLASHINFER_ROOT`
//!    (an extracted FlashInfer, for machines without network) are passed on to CMake.
//! 3. `BARACUDA_FLASHINFER_LIB_DIR`: the directory holding `libbaracuda_flashinfer.so` (a CMake
//!    build tree or `<prefix>/lib`).
//! 4. `pkg-config baracuda_flashinfer` (`$PKG_CONFIG` names the command), unless
//!    `BARACUDA_FLASHINFER_NO_PKG_CONFIG` is set: `PKG_CONFIG_PATH=<build tree>` finds the
//!    build tree's `baracuda_flashinfer-uninstalled.pc`, `PKG_CONFIG_PATH=<prefix>/lib/pkgconfig`
//!    an installed copy. Not used when cross-compiling unless `PKG_CONFIG_ALLOW_CROSS` is set.
//!
//! Every variable is also read with the target triple as prefix, as openssl-sys does
//! (`X86_64_UNKNOWN_LINUX_GNU_BARACUDA_FLASHINFER_LIB_DIR`). The library is linked through
//! symlinks in `OUT_DIR`, which cargo puts on the loader path of `cargo run` and `cargo test`
//! (so they need no `LD_LIBRARY_PATH`), and this crate's own tests get an rpath. Dependents
//! receive `DEP_BARACUDA_FLASHINFER_LIB_DIR`, `_INCLUDE` and `_VERSION` (`links`).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LIB: &str = "baracuda_flashinfer";
const SO: &str = "libbaracuda_flashinfer.so";

/// Where the library was found and what it is.
struct Found {
    lib_dir: PathBuf,
    include_dir: Option<PathBuf>,
    version: Option<String>,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(bfi_header_sync)");
    println!("cargo:rustc-check-cfg=cfg(bfi_rustfmt)");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    enable_sync_tests(&manifest);
    if var("DOCS_RS").is_some() {
        return;
    }
    let header_version = header_version(&manifest);
    if var("BARACUDA_FLASHINFER_STATIC").is_some() {
        fail(
            "BARACUDA_FLASHINFER_STATIC is set, but the library is built as a shared library \
             only; unset it",
        );
    }
    let found = if env::var_os("CARGO_FEATURE_BUILD_FROM_SOURCE").is_some() {
        build_from_source(&manifest)
    } else if let Some(dir) = var("BARACUDA_FLASHINFER_LIB_DIR") {
        from_lib_dir(PathBuf::from(dir))
    } else if var("BARACUDA_FLASHINFER_NO_PKG_CONFIG").is_some() {
        not_found("BARACUDA_FLASHINFER_NO_PKG_CONFIG is set and BARACUDA_FLASHINFER_LIB_DIR is not")
    } else {
        from_pkg_config().unwrap_or_else(|why| not_found(&why))
    };
    let version = found
        .version
        .clone()
        .unwrap_or_else(|| header_version.clone());
    check_version(&version, &header_version, &found.lib_dir);
    link(&found.lib_dir);
    let include = found
        .include_dir
        .clone()
        .unwrap_or_else(|| manifest.join("include"));
    println!("cargo:lib_dir={}", found.lib_dir.display());
    println!("cargo:include={}", include.display());
    println!("cargo:version={version}");
}

/// An environment variable, target-prefixed first; registered for reruns.
fn var(name: &str) -> Option<String> {
    let target = env::var("TARGET").unwrap_or_default();
    let prefixed = format!("{}_{name}", target.to_uppercase().replace('-', "_"));
    for key in [prefixed.as_str(), name] {
        println!("cargo:rerun-if-env-changed={key}");
    }
    for key in [prefixed.as_str(), name] {
        if let Some(value) = env::var_os(key) {
            return Some(value.to_string_lossy().into_owned());
        }
    }
    None
}

/// The version of the header the bindings were generated from (src/bindings.rs).
fn header_version(manifest: &Path) -> String {
    let bindings = fs::read_to_string(manifest.join("src/bindings.rs")).unwrap_or_default();
    let part = |name: &str| {
        let key = format!("pub const BARACUDA_FLASHINFER_VERSION_{name}: u32 = ");
        bindings
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|rest| rest.strip_suffix(';'))
            .unwrap_or_else(|| fail(&format!("src/bindings.rs has no VERSION_{name}")))
            .to_string()
    };
    format!("{}.{}.{}", part("MAJOR"), part("MINOR"), part("PATCH"))
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// The library must have the bindings' major version and be at least as new.
fn check_version(found: &str, bindings: &str, lib_dir: &Path) {
    let (have, want) = match (parse_version(found), parse_version(bindings)) {
        (Some(have), Some(want)) => (have, want),
        _ => fail(&format!(
            "cannot read the version '{found}' of the library in {}",
            lib_dir.display()
        )),
    };
    if have.0 != want.0 || have < want {
        fail(&format!(
            "the library in {} is version {found}; these bindings need {}.x, at least {bindings}",
            lib_dir.display(),
            want.0
        ));
    }
}

fn from_lib_dir(dir: PathBuf) -> Found {
    if !dir.join(SO).exists() {
        not_found(&format!(
            "BARACUDA_FLASHINFER_LIB_DIR={} does not contain {SO}",
            dir.display()
        ));
    }
    let include_dir = var("BARACUDA_FLASHINFER_INCLUDE_DIR").map(PathBuf::from);
    let version = versioned_file(&dir);
    Found {
        lib_dir: dir,
        include_dir,
        version,
    }
}

/// The version in the name of the versioned library file (`libbaracuda_flashinfer.so.0.1.0`).
fn versioned_file(dir: &Path) -> Option<String> {
    let prefix = format!("{SO}.");
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_prefix(prefix.as_str()).map(str::to_string))
        .find(|v| parse_version(v).is_some())
}

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let exe = var("PKG_CONFIG").unwrap_or_else(|| "pkg-config".to_string());
    let out = Command::new(&exe)
        .args(args)
        .output()
        .map_err(|e| format!("could not run `{exe}`: {e}"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(format!(
            "`{exe} {}` failed: {}",
            args.join(" "),
            if why.is_empty() { "no message" } else { &why }
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn from_pkg_config() -> Result<Found, String> {
    for v in [
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
    ] {
        var(v);
    }
    let (host, target) = (env::var("HOST").unwrap(), env::var("TARGET").unwrap());
    if host != target && var("PKG_CONFIG_ALLOW_CROSS").is_none() {
        return Err(format!(
            "cross-compiling ({host} -> {target}): the host's pkg-config is not used unless \
             PKG_CONFIG_ALLOW_CROSS is set"
        ));
    }
    pkg_config(&["--print-errors", "--exists", LIB])?;
    let version = pkg_config(&["--modversion", LIB])?;
    let lib_dir = PathBuf::from(pkg_config(&["--variable=libdir", LIB])?);
    if !lib_dir.join(SO).exists() {
        return Err(format!(
            "pkg-config's {LIB}.pc (version {version}) names libdir {}, which does not contain \
             {SO} (a build tree's install-style .pc? Its {LIB}-uninstalled.pc is written by \
             CMake beside it)",
            lib_dir.display()
        ));
    }
    let include_dir = pkg_config(&["--variable=includedir", LIB])
        .ok()
        .map(PathBuf::from)
        .filter(|d| d.join("baracuda/flashinfer.h").exists());
    Ok(Found {
        lib_dir,
        include_dir,
        version: Some(version),
    })
}

fn build_from_source(manifest: &Path) -> Found {
    let source = var("BARACUDA_FLASHINFER_SOURCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../.."));
    let cmakelists = fs::read_to_string(source.join("CMakeLists.txt")).unwrap_or_default();
    if !cmakelists.contains("project(baracuda_flashinfer") {
        fail(&format!(
            "feature build-from-source: {} is not the baracuda-flashinfer source tree; set \
             BARACUDA_FLASHINFER_SOURCE_DIR to a checkout of it",
            source.display()
        ));
    }
    for dir in ["CMakeLists.txt", "cmake", "src", "include"] {
        println!("cargo:rerun-if-changed={}", source.join(dir).display());
    }
    let build = var("BARACUDA_FLASHINFER_BUILD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("cmake-build"));
    let cmake = var("CMAKE").unwrap_or_else(|| "cmake".to_string());
    let mut configure = Command::new(&cmake);
    configure.arg("-S").arg(&source).arg("-B").arg(&build);
    if !build.join("CMakeCache.txt").exists() {
        // A fresh tree: the library alone. An existing tree keeps its own settings.
        let ninja = Command::new("ninja")
            .arg("--version")
            .stdout(Stdio::null())
            .status();
        if ninja.map(|s| s.success()).unwrap_or(false) {
            configure.args(["-G", "Ninja"]);
        }
        configure.args([
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBFI_BUILD_TESTS=OFF",
            "-DBFI_BUILD_BENCH=OFF",
            "-DBFI_BUILD_EXAMPLES=OFF",
        ]);
    }
    if let Some(archs) = var("BARACUDA_FLASHINFER_CUDA_ARCHS") {
        configure.arg(format!("-DCMAKE_CUDA_ARCHITECTURES={archs}"));
    }
    if let Some(root) = var("BARACUDA_FLASHINFER_ROOT") {
        configure.arg(format!("-DBARACUDA_FLASHINFER_ROOT={root}"));
    }
    run(&mut configure, &cmake);
    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "1".to_string());
    let mut compile = Command::new(&cmake);
    compile
        .arg("--build")
        .arg(&build)
        .args(["--target", LIB, "-j", &jobs]);
    run(&mut compile, &cmake);
    let mut found = from_lib_dir(build);
    found.include_dir = Some(source.join("include"));
    found
}

fn run(command: &mut Command, name: &str) {
    // CMake's output goes to stderr: a build script's stdout is for cargo.
    let status = command
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .unwrap_or_else(|e| {
            fail(&format!(
                "feature build-from-source: could not run `{name}` ({e}); install CMake (>= \
                 3.25) or set CMAKE to it"
            ))
        });
    if !status.success() {
        fail(&format!(
            "feature build-from-source: `{command:?}` failed ({status}); its output is above"
        ));
    }
}

/// Links the library through symlinks in OUT_DIR (cargo adds build-script search paths inside
/// the target directory to the loader path of `cargo run` and `cargo test`) and gives this
/// crate's own tests and examples an rpath to the library's directory.
fn link(lib_dir: &Path) {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("lib");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    let entries =
        fs::read_dir(lib_dir).unwrap_or_else(|e| fail(&format!("{}: {e}", lib_dir.display())));
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(SO) {
            let target = fs::canonicalize(entry.path()).unwrap_or_else(|_| entry.path());
            symlink(&target, &out.join(&name));
        }
    }
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=dylib={LIB}");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| fail(&format!("symlink {}: {e}", link.display())));
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) {
    fs::copy(target, link).unwrap_or_else(|e| fail(&format!("copy to {}: {e}", link.display())));
}

/// The header-sync and rustfmt tests run where they can (in the repository, with python3 and
/// rustfmt); elsewhere they are reported as ignored rather than passed.
fn enable_sync_tests(manifest: &Path) {
    let header = manifest.join("../../../include/baracuda/flashinfer.h");
    let works = |exe: &str| {
        Command::new(exe)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if header.exists() && works("python3") {
        println!("cargo:rustc-cfg=bfi_header_sync");
    }
    let rustfmt = env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    if works(&rustfmt) {
        println!("cargo:rustc-cfg=bfi_rustfmt");
    }
}

fn not_found(why: &str) -> ! {
    fail(&format!(
        "cannot find lib{LIB}: {why}\n\n\
         Tell the build where it is, one of:\n  \
         BARACUDA_FLASHINFER_LIB_DIR=<directory holding {SO}> (a CMake build tree or <prefix>/lib)\n  \
         PKG_CONFIG_PATH=<CMake build tree> (its {LIB}-uninstalled.pc) or <prefix>/lib/pkgconfig\n  \
         the feature `build-from-source` (CMake builds the library from the repository)\n\
         docs/rust.md in the repository has the details."
    ))
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: baracuda-flashinfer-sys: {message}\n");
    std::process::exit(1)
}
