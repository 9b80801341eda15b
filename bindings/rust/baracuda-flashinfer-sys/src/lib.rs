//! Raw C-ABI FFI for baracuda-flashinfer: [FlashInfer]'s paged-KV decode, paged-KV append,
//! cascade attention-state merge and sort-free sampling kernels behind a stable C ABI
//! (`include/baracuda/flashinfer.h`, every symbol `baracuda_kernels_flashinfer_*`).
//!
//! This crate declares every public C symbol (`src/bindings.rs`, generated from the header by
//! `gen_bindings.py` and checked in; a test fails when the two disagree) and links
//! `libbaracuda_flashinfer` (found through `BARACUDA_FLASHINFER_LIB_DIR` or `pkg-config`).
//! Status and element codes are plain `i32` constants, never Rust enums: a newer library may
//! return a code this crate does not know.
//!
//! Each kernel has a `*_can_implement` companion that returns 0 ("supported") without touching
//! the GPU or any pointer, exactly what the matching `*_run` would answer for those sizes.
//!
//! ```
//! use baracuda_flashinfer_sys::baracuda_kernels_flashinfer_paged_decode_can_implement;
//!
//! let ok = unsafe {
//!     baracuda_kernels_flashinfer_paged_decode_can_implement(
//!         /* batch_size   */ 8,
//!         /* num_qo_heads */ 32,
//!         /* num_kv_heads */ 8,
//!         /* head_dim     */ 128,
//!         /* page_size    */ 16,
//!         /* element      */ 0, // 0=f16, 1=bf16, 2=f32
//!     )
//! };
//! assert_eq!(ok, 0);
//! ```
//!
//! Failures leave a message for the calling thread:
//!
//! ```
//! use baracuda_flashinfer_sys as sys;
//! use std::ffi::CStr;
//!
//! let status = unsafe { sys::baracuda_kernels_flashinfer_paged_decode_can_implement(8, 32, 8, 100, 16, 0) };
//! assert_eq!(status, sys::BARACUDA_FLASHINFER_UNSUPPORTED);
//! let message = unsafe { CStr::from_ptr(sys::baracuda_kernels_flashinfer_last_error()) };
//! assert!(message.to_str().unwrap().contains("head_dim"));
//! ```
//!
//! The `*_run` functions take raw device pointers and a `cudaStream_t`
//! ([`baracuda_flashinfer_stream_t`]); their contracts (shapes, alignment, graph capture) are
//! in the C header. Real call sites should go through a safe layer with typed plans and checked
//! dimensions (the C++ one is `baracuda/flashinfer.hpp`).
//!
//! [FlashInfer]: https://github.com/flashinfer-ai/flashinfer
#![no_std]
#![allow(non_upper_case_globals)]

mod bindings;
pub use bindings::*;

/// `BARACUDA_FLASHINFER_VERSION`: MAJOR * 10000 + MINOR * 100 + PATCH of the header these
/// bindings were generated from (compare with `baracuda_kernels_flashinfer_version()`).
pub const BARACUDA_FLASHINFER_VERSION: u32 = BARACUDA_FLASHINFER_VERSION_MAJOR * 10000
    + BARACUDA_FLASHINFER_VERSION_MINOR * 100
    + BARACUDA_FLASHINFER_VERSION_PATCH;
