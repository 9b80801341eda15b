//! src/bindings.rs must be exactly what gen_bindings.py makes of include/baracuda/flashinfer.h:
//! a symbol or a signature on one side only fails this test. Needs python3 and a C
//! preprocessor ($CC or cc); skipped (with a note) when the header is not beside the crate, as
//! in a packaged copy.
use std::path::Path;
use std::process::Command;

#[test]
fn bindings_match_the_c_header() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../../include/baracuda/flashinfer.h");
    if !header.exists() {
        eprintln!("note: {} not found; header sync not checked", header.display());
        return;
    }
    let out = Command::new("python3")
        .arg(crate_dir.join("gen_bindings.py"))
        .arg("--check")
        .output()
        .expect("python3 is needed to check the bindings against the header");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
