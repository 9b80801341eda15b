//! Safe Rust API of baracuda-flashinfer: [FlashInfer]'s LLM-inference kernels (paged-KV
//! decode, KV append, attention-state merge, shared-prefix cascades, sort-free sampling)
//! through typed plans and checked tensor views. It depends on the raw
//! [`baracuda-flashinfer-sys`](sys) crate alone, and on no CUDA crate: cudarc and candle users
//! hand their streams and buffers over as raw handles.
//!
//! # Plans
//!
//! Each kernel family has a plan, built once from a descriptor with named fields and
//! validated by the C library's `_can_implement` (the single source of truth of what is
//! supported), and a `run` that checks every tensor view against the plan (dtype, shape,
//! strides, alignment, and that each view fits its allocation) before anything is enqueued.
//! A failed check names the tensor and the dimension:
//!
//! | family | plans |
//! |---|---|
//! | decode | [`DecodePlan`] (every [`Element`], [`DecodeKernel`] to force a path) |
//! | append | [`AppendPlan`] (one token per request), [`AppendTokensPlan`] (any tokens) |
//! | merge | [`MergeInPlacePlan`], [`MergeStatesPlan`] (N-way), [`MergeVarlenPlan`] |
//! | cascades | [`SharedPrefixPlan`], [`CascadePlan`], [`DensePrefixCascadePlan`] |
//! | sampling | [`SamplingPlan`] ([`Sampler`], [`PerRow`] thresholds, [`Rng`]), [`LogitsSamplingPlan`], [`SpeculativePlan`], [`FilterPlan`] |
//! | prefill | [`PrefillPlan`] (paged or ragged keys, [`AttentionOptions`]: window, soft-cap, K/V scales, sinks, NHD pages; also taken by [`DecodePlan`]) |
//!
//! Plans are plain data (`Clone + Send + Sync`, no handle, no memory): build one per batch
//! bucket and layer shape at start-up and use it from any thread. Plans that need a
//! workspace ([`DecodePlan`] with split-KV, the cascades) size it for the device current when
//! they are built; see `workspace_size()`.
//!
//! ```
//! use baracuda_flashinfer::{DecodeDesc, DecodePlan, Element, ErrorKind};
//!
//! let desc = DecodeDesc {
//!     batch_size: 8,
//!     num_qo_heads: 32,
//!     num_kv_heads: 8,
//!     head_dim: 128,
//!     page_size: 16,
//!     element: Element::Bf16,
//!     split_kv: false, // no workspace: builds without a GPU
//!     ..DecodeDesc::default()
//! };
//! let plan = DecodePlan::new(&desc)?;
//! assert_eq!(plan.workspace_size(), 0);
//!
//! // What the library cannot run is an error to fall back on, with the library's reason.
//! let err = DecodePlan::new(&DecodeDesc { head_dim: 96, ..desc }).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Unsupported);
//! assert!(err.message().contains("head_dim 96"));
//! # Ok::<(), baracuda_flashinfer::Error>(())
//! ```
//!
//! `examples/engine_step.rs` runs one engine step on a GPU: append the new tokens' K/V,
//! decode, sample.
//!
//! # Device memory
//!
//! The crate never allocates, frees or reads device memory. [`DeviceSlice`] and
//! [`DeviceSliceMut`] borrow the caller's memory (a `CUdeviceptr` and a length, from
//! `from_raw`, or from an owner implementing [`DeviceAllocation`]); tensors
//! ([`TensorRef`], [`TensorMut`]) add a dtype, a shape and strides. Lifetimes keep a view from
//! outliving a borrowed buffer and an output from aliasing an input of the same call.
//!
//! Device contents cannot be checked on the host. Where a kernel trusts them for memory
//! safety, the type that carries them is `unsafe` to build ([`PageTable::new`]: page ids
//! within the cache) or the run is `unsafe` ([`MergeVarlenPlan::run`]: its `indptr`;
//! [`SpeculativePlan::run`]: the draft token ids). Everything else is safe: the kernels
//! define their behaviour for every value they read (lengths, per-row thresholds, NaNs).
//!
//! # Streams
//!
//! [`Stream`] never holds NULL, because NULL means the *legacy* default stream to CUDA,
//! cudarc and candle, and the *per-thread* default stream to this library's C ABI: choose
//! [`Stream::legacy`], [`Stream::per_thread`], [`Stream::from_raw`] (a created stream; NULL
//! refused) or [`Stream::from_raw_or_legacy`] (CUDA's convention). Work runs on the device
//! current on the calling thread.
//!
//! # CUDA graphs
//!
//! Every `run` only enqueues: no allocation, no synchronisation, no device-to-host read, and
//! no event recorded. It can be captured into a CUDA graph on a created stream, and one
//! capture stays correct when lengths and page tables change in device memory between
//! replays (the grids depend on the sizes only). The crate deliberately records no CUDA event
//! and keeps no guard: borrow guards that record events on use (as cudarc's per-buffer event
//! tracking does) break capture. With cudarc, keep its event tracking off while capturing,
//! and hold the memory of every captured view for as long as the graph is replayed (the
//! contract of the `unsafe` view constructors says so). Samplers draw fresh tokens on each
//! replay with an [`Offset::Device`]; [`FilterPlan`] must run once on a device before a
//! capture.
//!
//! # Threads
//!
//! Plans are `Send + Sync`; views and streams are `Send + Sync` (addresses and handles the
//! host never dereferences; see each type). Two concurrent runs must not share a workspace or
//! an output: `&mut` prevents that on the host; across streams keep one [`Workspace`] per
//! stream.
//!
//! # Errors
//!
//! [`Error`] carries an [`ErrorKind`] (a `#[non_exhaustive]` enum with an
//! [`Other`](ErrorKind::Other) for codes this crate does not know), the failing function (the
//! C symbol, or the plan method whose check failed) and the message.
//!
//! # Adding a kernel family
//!
//! A family is one module: its descriptor, its plan (built through the C `_can_implement`,
//! checking views with the crate's checks and calling the C `_run` through `ffi!`), and one
//! `pub use` line below. Shared pieces: [`PageTable`] and the q / cache / o / lse checks for
//! paged attention, [`Workspace`], [`Rng`] and [`PerRow`] for samplers.
//!
//! [FlashInfer]: https://github.com/flashinfer-ai/flashinfer
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub use baracuda_flashinfer_sys as sys;

mod error;

mod append;
mod attention;
mod cascade;
mod check;
mod decode;
mod dtype;
mod memory;
mod merge;
mod paged;
mod prefill;
mod sampling;
mod stream;
mod tensor;
mod workspace;

#[cfg(test)]
mod host_tests;

pub use append::{AppendArgs, AppendDesc, AppendPlan, AppendTokensArgs, AppendTokensPlan};
pub use cascade::{
    CascadeArgs, CascadePlan, DensePrefixCascadeArgs, DensePrefixCascadePlan, PrefixDesc,
    SharedPrefixArgs, SharedPrefixPlan,
};
pub use decode::{DecodeArgs, DecodeDesc, DecodeKernel, DecodePlan};
pub use dtype::{DType, Element};
pub use error::{Error, ErrorKind, Result};
pub use memory::{
    Bf16, DeviceAllocation, DeviceRepr, DeviceSlice, DeviceSliceMut, F8E4m3, F8E5m2, F16,
};
pub use merge::{
    MergeDesc, MergeInPlaceArgs, MergeInPlacePlan, MergeStatesArgs, MergeStatesPlan,
    MergeVarlenArgs, MergeVarlenPlan,
};
pub use paged::PageTable;
pub use prefill::{
    AttentionOptions, KvLayout, PrefillArgs, PrefillDesc, PrefillKernel, PrefillKeys, PrefillKv,
    PrefillPlan,
};
pub use sampling::{
    Filter, FilterArgs, FilterDesc, FilterPlan, LogitsSamplingArgs, LogitsSamplingDesc,
    LogitsSamplingPlan, Offset, PerRow, Rng, Sampler, SamplingArgs, SamplingDesc, SamplingPlan,
    Seed, SpeculativeArgs, SpeculativeDesc, SpeculativePlan,
};
pub use stream::Stream;
pub use tensor::{TensorMut, TensorRef};
pub use workspace::Workspace;

/// The library's version, `MAJOR * 10000 + MINOR * 100 + PATCH`.
pub fn version() -> u32 {
    // SAFETY: a pure query.
    unsafe { sys::baracuda_kernels_flashinfer_version() }
}

/// The library's version text: `"MAJOR.MINOR.PATCH (flashinfer-python X, CCCL Y, CUDA Z)"`.
pub fn version_string() -> &'static str {
    // SAFETY: static storage, never NULL, NUL-terminated.
    let text =
        unsafe { std::ffi::CStr::from_ptr(sys::baracuda_kernels_flashinfer_version_string()) };
    text.to_str().unwrap_or("(not UTF-8)")
}

/// Checks that the loaded library can serve these bindings: the same major version and not
/// older than the header they were generated from. Call it once at start-up.
///
/// ```
/// baracuda_flashinfer::ensure_compatible()?;
/// println!("{}", baracuda_flashinfer::version_string());
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
pub fn ensure_compatible() -> Result<()> {
    let (have, want) = (version(), sys::BARACUDA_FLASHINFER_VERSION);
    if have / 10000 != want / 10000 || have < want {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "ensure_compatible",
            format!(
                "the loaded library is version {have} ({}); these bindings need major {} and at \
                 least {want}",
                version_string(),
                want / 10000
            ),
        ));
    }
    Ok(())
}

/// The crate's README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
