//! Makes this crate's tests and example run without LD_LIBRARY_PATH: an rpath to the library
//! the -sys crate found (`DEP_BARACUDA_FLASHINFER_LIB_DIR`, the pattern an engine's own build
//! script follows for its binaries), and for the GPU tests and the example the CUDA runtime
//! they declare a few functions of (`CUDA_PATH`, else /usr/local/cuda). The library itself
//! links nothing here.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CUDA_PATH");
    println!("cargo:rustc-check-cfg=cfg(bfi_cudart)");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        return;
    }
    if let Some(dir) = env::var_os("DEP_BARACUDA_FLASHINFER_LIB_DIR") {
        println!(
            "cargo:rustc-link-arg=-Wl,-rpath,{}",
            PathBuf::from(dir).display()
        );
    }
    let cuda =
        env::var_os("CUDA_PATH").map_or_else(|| PathBuf::from("/usr/local/cuda"), PathBuf::from);
    let lib = ["lib64", "lib", "targets/x86_64-linux/lib"]
        .iter()
        .map(|d| cuda.join(d))
        .find(|d| d.join("libcudart.so").exists());
    match lib {
        Some(dir) => {
            for kind in ["tests", "examples"] {
                println!("cargo:rustc-link-arg-{kind}=-L{}", dir.display());
                println!("cargo:rustc-link-arg-{kind}=-Wl,-rpath,{}", dir.display());
            }
            println!("cargo:rustc-cfg=bfi_cudart");
        }
        None => println!(
            "cargo:warning=no libcudart.so under {} (set CUDA_PATH): the GPU tests and the \
             example are built without it and report so",
            cuda.display()
        ),
    }
}
