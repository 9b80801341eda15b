//! Raw C-ABI FFI for baracuda-flashinfer: [FlashInfer]'s paged-KV decode, paged-KV append,
//! attention-state merge, shared-prefix cascades and sort-free sampling kernels behind a stable
//! C ABI (`include/baracuda/flashinfer.h`, every symbol `baracuda_kernels_flashinfer_*`).
//!
//! **Use the safe crate `baracuda-flashinfer`** (typed plans, checked tensor views, a stream
//! type, a real error type) unless you need a symbol it does not wrap yet or are bridging the C
//! ABI into another runtime.
//!
//! This crate declares every public C symbol (`src/bindings.rs`, generated from the header by
//! `gen_bindings.py` and checked in, with the header's comments as docs; a test fails when the
//! two disagree) and links `libbaracuda_flashinfer`. Status and element codes are plain `i32`
//! constants, never Rust enums: a newer library may return a code this crate does not know.
//! Every function returning a status is `#[must_use]`.
//!
//! # Finding the library
//!
//! `build.rs` looks, in order, at the feature `build-from-source` (CMake builds it from the
//! repository), `BARACUDA_FLASHINFER_LIB_DIR`, then `pkg-config baracuda_flashinfer` (a build
//! tree's `baracuda_flashinfer-uninstalled.pc` or an installed `.pc`). With `DOCS_RS` set it
//! links nothing. `cargo run` and `cargo test` find the library without `LD_LIBRARY_PATH`;
//! a deployed binary needs an rpath (see `docs/rust.md`). Dependents read
//! `DEP_BARACUDA_FLASHINFER_LIB_DIR`, `DEP_BARACUDA_FLASHINFER_INCLUDE` and
//! `DEP_BARACUDA_FLASHINFER_VERSION` in their build scripts.
//!
//! # Examples
//!
//! The seed crate's quick example, unchanged but for the call that runs it (the feature
//! `flashinfer` it was gated on is a no-op now):
//!
//! ```
//! # unsafe fn raw_can_check() {
//! use baracuda_flashinfer_sys::baracuda_kernels_flashinfer_paged_decode_can_implement;
//!
//! let ok = baracuda_kernels_flashinfer_paged_decode_can_implement(
//!     /* batch_size   */ 8,
//!     /* num_qo_heads */ 32,
//!     /* num_kv_heads */ 8,
//!     /* head_dim     */ 128,
//!     /* page_size    */ 16,
//!     /* element      */ 0, // 0=f16, 1=bf16, 2=f32
//! );
//! debug_assert_eq!(ok, 0);
//! # assert_eq!(ok, 0);
//! # }
//! # unsafe { raw_can_check() }
//! ```
//!
//! Failures leave a message for the calling thread, valid until its next call into the
//! library (copy it at once):
//!
//! ```
//! use baracuda_flashinfer_sys as sys;
//! use std::ffi::CStr;
//!
//! let status =
//!     unsafe { sys::baracuda_kernels_flashinfer_paged_decode_can_implement(8, 32, 8, 100, 16, 0) };
//! assert_eq!(status, sys::BARACUDA_FLASHINFER_UNSUPPORTED);
//! let message = unsafe { CStr::from_ptr(sys::baracuda_kernels_flashinfer_last_error()) };
//! assert!(message.to_str().unwrap().contains("head_dim"));
//! ```
//!
//! The `*_run` functions take raw device pointers and a `cudaStream_t`
//! ([`baracuda_flashinfer_stream_t`]; NULL is the per-thread default stream); their contracts
//! (shapes, alignment, graph capture) are in the C header and on each item here.
//!
//! [FlashInfer]: https://github.com/flashinfer-ai/flashinfer
#![no_std]
#![allow(non_upper_case_globals)]
#![warn(missing_docs)]

mod bindings;
pub use bindings::*;

/// `BARACUDA_FLASHINFER_VERSION`: MAJOR * 10000 + MINOR * 100 + PATCH of the header these
/// bindings were generated from (compare with `baracuda_kernels_flashinfer_version()`).
pub const BARACUDA_FLASHINFER_VERSION: u32 = BARACUDA_FLASHINFER_VERSION_MAJOR * 10000
    + BARACUDA_FLASHINFER_VERSION_MINOR * 100
    + BARACUDA_FLASHINFER_VERSION_PATCH;

/// The crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
