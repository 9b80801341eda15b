//! src/bindings.rs must be exactly what gen_bindings.py makes of include/baracuda/flashinfer.h
//! (a symbol, a signature or a comment on one side only fails), the generator must refuse what it
//! cannot read, and the file must be rustfmt-clean. These need the repository's header, python3
//! and a C preprocessor ($CC or cc), or rustfmt; build.rs enables them where those exist and they
//! are reported as ignored elsewhere (a packaged copy of the crate, a machine without python3).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header() -> PathBuf {
    crate_dir().join("../../../include/baracuda/flashinfer.h")
}

fn generator(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(crate_dir().join("gen_bindings.py"))
        .args(args)
        .output()
        .expect("python3 runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[cfg_attr(
    not(bfi_header_sync),
    ignore = "needs the repository's header and python3"
)]
fn bindings_match_the_c_header() {
    let out = generator(&["--check"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A header copy with one declaration added before the closing `extern "C"` brace.
fn header_with(declaration: &str, name: &str) -> PathBuf {
    let raw = std::fs::read_to_string(header()).unwrap();
    let end = raw.rfind("#ifdef __cplusplus").unwrap();
    let dir = std::env::temp_dir().join(format!("bfi-header-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flashinfer.h");
    std::fs::write(
        &path,
        format!("{}{declaration}\n\n{}", &raw[..end], &raw[end..]),
    )
    .unwrap();
    path
}

#[test]
#[cfg_attr(
    not(bfi_header_sync),
    ignore = "needs the repository's header and python3"
)]
fn generator_fails_on_declarations_it_cannot_read() {
    let cases = [
        (
            "callback",
            "BARACUDA_FLASHINFER_API int32_t \
             baracuda_kernels_flashinfer_set_logger(void (*cb)(const char*));",
            "cannot parse this declaration",
        ),
        (
            "prefix",
            "BARACUDA_FLASHINFER_API int32_t bfi_other_prefix(int32_t x);",
            "bfi_other_prefix",
        ),
        (
            "attribute",
            "BARACUDA_FLASHINFER_API __attribute__((cold)) int32_t \
             baracuda_kernels_flashinfer_y(int32_t x);",
            "unknown attribute",
        ),
        (
            "type",
            "BARACUDA_FLASHINFER_API int32_t baracuda_kernels_flashinfer_x(long double* p);",
            "unsupported",
        ),
    ];
    for (name, declaration, expected) in cases {
        let copy = header_with(declaration, name);
        // The copy is still a valid C header: only the generator may object to it.
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
        let syntax = Command::new(&cc)
            .args(["-std=c99", "-fsyntax-only", "-x", "c"])
            .arg(&copy)
            .output()
            .expect("a C compiler runs");
        assert!(syntax.status.success(), "{name}: {}", text(&syntax));
        let out = generator(&["--check", "--header", copy.to_str().unwrap()]);
        assert!(
            !out.status.success(),
            "{name}: the generator accepted {declaration}"
        );
        assert!(text(&out).contains(expected), "{name}: {}", text(&out));
        std::fs::remove_dir_all(copy.parent().unwrap()).unwrap();
    }
}

#[test]
#[cfg_attr(not(bfi_rustfmt), ignore = "needs rustfmt")]
fn bindings_are_rustfmt_clean() {
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    let out = Command::new(rustfmt)
        .args(["--check", "--edition", "2021"])
        .arg(crate_dir().join("src/bindings.rs"))
        .output()
        .expect("rustfmt runs");
    assert!(out.status.success(), "{}", text(&out));
}
