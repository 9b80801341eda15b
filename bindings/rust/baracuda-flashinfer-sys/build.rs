//! Finds libbaracuda_flashinfer, in this order:
//!   1. BARACUDA_FLASHINFER_LIB_DIR: the directory holding libbaracuda_flashinfer.so
//!      (BARACUDA_FLASHINFER_INCLUDE_DIR optionally names the headers, passed on to dependents
//!      as DEP_BARACUDA_FLASHINFER_INCLUDE);
//!   2. `pkg-config baracuda_flashinfer` (the command; $PKG_CONFIG overrides its name), unless
//!      BARACUDA_FLASHINFER_NO_PKG_CONFIG is set.
//! BARACUDA_FLASHINFER_STATIC is not supported (the library is shared only).
use std::env;
use std::process::Command;

const LIB: &str = "baracuda_flashinfer";
const MIN_VERSION: &str = "0.1.0";

fn main() {
    for var in [
        "BARACUDA_FLASHINFER_LIB_DIR",
        "BARACUDA_FLASHINFER_INCLUDE_DIR",
        "BARACUDA_FLASHINFER_NO_PKG_CONFIG",
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    if let Some(dir) = env::var_os("BARACUDA_FLASHINFER_LIB_DIR") {
        let dir = dir.to_string_lossy().into_owned();
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-lib=dylib={LIB}");
        println!("cargo:lib_dir={dir}");
        if let Some(inc) = env::var_os("BARACUDA_FLASHINFER_INCLUDE_DIR") {
            println!("cargo:include={}", inc.to_string_lossy());
        }
        return;
    }
    if env::var_os("BARACUDA_FLASHINFER_NO_PKG_CONFIG").is_none() {
        match probe_pkg_config() {
            Ok(()) => return,
            Err(why) => fail(&why),
        }
    }
    fail("BARACUDA_FLASHINFER_NO_PKG_CONFIG is set and BARACUDA_FLASHINFER_LIB_DIR is not");
}

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(&exe)
        .args(args)
        .output()
        .map_err(|e| format!("could not run `{exe}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{exe} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn probe_pkg_config() -> Result<(), String> {
    let at_least = format!("--atleast-version={MIN_VERSION}");
    pkg_config(&[&at_least, LIB])?;
    let mut linked = false;
    for flag in pkg_config(&["--libs", LIB])?.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
            println!("cargo:lib_dir={dir}");
        } else if let Some(name) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={name}");
            linked |= name == LIB;
        }
    }
    if !linked {
        println!("cargo:rustc-link-lib=dylib={LIB}");
    }
    if let Ok(inc) = pkg_config(&["--variable=includedir", LIB]) {
        println!("cargo:include={inc}");
    }
    Ok(())
}

fn fail(why: &str) -> ! {
    panic!(
        "\nbaracuda-flashinfer-sys: cannot find lib{LIB} (>= {MIN_VERSION}): {why}\n\
         Set BARACUDA_FLASHINFER_LIB_DIR to the directory holding lib{LIB}.so, or install the \
         library (cmake --install) and add <prefix>/lib/pkgconfig to PKG_CONFIG_PATH.\n\
         At run time the loader must find it too (LD_LIBRARY_PATH or an rpath).\n"
    )
}
