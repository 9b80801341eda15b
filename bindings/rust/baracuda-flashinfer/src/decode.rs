//! Batched paged-KV decode: one query token per request attends that request's pages.
//!
//! ```text
//! o[b, h]   = sum_j softmax_j(sm_scale * q[b, h] . k[b, h / g, j]) * v[b, h / g, j],  g = Hq / Hkv
//! lse[b, h] = log2 sum_j exp(sm_scale * q[b, h] . k[b, h / g, j])                       (base 2)
//! ```
//!
//! A request with no KV token gets `o = 0`, `lse = -inf`. Tensors (all dense row-major):
//! `q`, `o` `[B, Hq, D]` in [`Element::query_dtype`]; `k_cache`, `v_cache`
//! `[num_pages, Hkv, P, D]` in [`Element::kv_dtype`]; the [`PageTable`]; `lse` `[B, Hq]` f32
//! (optional). The C header's "Batched paged-KV decode" section has the full contract.
use crate::attention::{lse_ptr, AttentionSizes};
use crate::check::{resolve_sm_scale, Check};
use crate::dtype::Element;
use crate::error::{ffi, Result};
use crate::memory::DeviceSlice;
use crate::paged::PageTable;
use crate::prefill::{AttentionOptions, KvLayout, SINKS_PLACEHOLDER};
use crate::stream::Stream;
use crate::sys;
use crate::tensor::{TensorMut, TensorRef};
use crate::workspace::Workspace;

/// Which decode kernel runs (the C flags of `paged_decode_run_with`).
///
/// ```
/// use baracuda_flashinfer::{DecodeDesc, DecodeKernel, DecodePlan, Element};
///
/// // Force FlashInfer's CUDA-core kernel, without split-KV (no workspace, no GPU to build).
/// let plan = DecodePlan::new(&DecodeDesc {
///     batch_size: 4,
///     num_qo_heads: 8,
///     num_kv_heads: 8,
///     head_dim: 64,
///     page_size: 32,
///     element: Element::F16KvE4m3,
///     kernel: DecodeKernel::CudaCores,
///     split_kv: false,
///     ..DecodeDesc::default()
/// })?;
/// assert_eq!(plan.desc().kernel, DecodeKernel::CudaCores);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum DecodeKernel {
    /// The library's measured choice (tensor cores for GQA groups of 4 or more with 16-bit KV,
    /// of 2 or more with fp8 KV; CUDA cores for f32).
    #[default]
    Auto,
    /// FlashInfer's batch-decode kernel on CUDA cores (suits short contexts, such as a
    /// cascade's suffixes).
    CudaCores,
    /// The FA2 prefill kernel with one query row per request; f16 or bf16 queries (16-bit or
    /// fp8 KV), not f32; needs the workspace.
    TensorCores,
    /// The library's warp-tile kernel: f16 or bf16 KV, no soft-cap; splits long KV without a
    /// planner when given the workspace.
    WarpTiles,
}

/// What a [`DecodePlan`] is for. Name the fields and end with `..DecodeDesc::default()`:
/// options added later get defaults that keep today's behaviour.
///
/// ```
/// use baracuda_flashinfer::{DecodeDesc, DecodeKernel, Element};
///
/// let desc = DecodeDesc {
///     batch_size: 64,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     element: Element::Bf16,
///     kernel: DecodeKernel::CudaCores,
///     ..DecodeDesc::default()
/// };
/// assert!(desc.split_kv);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeDesc {
    /// B: requests, one query token each.
    pub batch_size: usize,
    /// Hq: query (and output) heads.
    pub num_qo_heads: usize,
    /// Hkv: KV heads; `num_qo_heads % num_kv_heads == 0`.
    pub num_kv_heads: usize,
    /// D: 64, 128 or 256.
    pub head_dim: usize,
    /// P: tokens per KV page.
    pub page_size: usize,
    /// Q / O and KV-cache types.
    pub element: Element,
    /// The softmax scale; `None`: `1 / sqrt(head_dim)`.
    pub sm_scale: Option<f32>,
    /// Split long KV across CTAs when the batch cannot fill the GPU (default; needs the
    /// device-sized workspace). With `false` (and not [`DecodeKernel::TensorCores`]) the plan
    /// needs no workspace and no GPU to be built.
    pub split_kv: bool,
    /// The kernel.
    pub kernel: DecodeKernel,
    /// The attention options (window, soft-cap, K/V scales, sinks, NHD pages); the default is
    /// plain attention. Other options run through `paged_decode_run_ex` and always take the
    /// device-sized workspace.
    pub options: AttentionOptions,
}

impl Default for DecodeDesc {
    /// Zero sizes (which no plan accepts: set them), f16, the default scale, split-KV on, the
    /// automatic kernel.
    fn default() -> Self {
        DecodeDesc {
            batch_size: 0,
            num_qo_heads: 0,
            num_kv_heads: 0,
            head_dim: 0,
            page_size: 0,
            element: Element::F16,
            sm_scale: None,
            split_kv: true,
            kernel: DecodeKernel::Auto,
            options: AttentionOptions::default(),
        }
    }
}

/// The tensors of one decode run.
#[derive(Debug)]
pub struct DecodeArgs<'a> {
    /// `[B, Hq, D]`, query dtype.
    pub q: TensorRef<'a, 3>,
    /// `[num_pages, Hkv, P, D]`, KV dtype.
    pub k_cache: TensorRef<'a, 4>,
    /// `[num_pages, Hkv, P, D]`, KV dtype.
    pub v_cache: TensorRef<'a, 4>,
    /// Each request's pages; `last_page_len` required.
    pub pages: PageTable<'a>,
    /// `[B, Hq, D]`, query dtype, written.
    pub o: TensorMut<'a, 3>,
    /// `[B, Hq]` f32, base-2 log-sum-exp, written; `None`: not computed.
    pub lse: Option<TensorMut<'a, 2>>,
    /// `[Hq]` f32 sink logits, when the plan's options have sinks.
    pub sinks: Option<DeviceSlice<'a, f32>>,
}

type RunFn = unsafe extern "C" fn(
    i32,
    i32,
    i32,
    i32,
    i32,
    f32,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *const core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    *mut core::ffi::c_void,
    usize,
    sys::baracuda_flashinfer_stream_t,
) -> i32;
type CanFn = unsafe extern "C" fn(i32, i32, i32, i32, i32, f32) -> i32;

/// The per-element C entry points (`paged_decode_<element>_run` / `_can_implement`).
fn per_element(element: Element) -> (RunFn, CanFn, &'static str, &'static str) {
    macro_rules! entry {
        ($run:ident, $can:ident) => {
            (
                sys::$run as RunFn,
                sys::$can as CanFn,
                stringify!($run),
                stringify!($can),
            )
        };
    }
    match element {
        Element::F16 => entry!(
            baracuda_kernels_flashinfer_paged_decode_f16_run,
            baracuda_kernels_flashinfer_paged_decode_f16_can_implement
        ),
        Element::Bf16 => entry!(
            baracuda_kernels_flashinfer_paged_decode_bf16_run,
            baracuda_kernels_flashinfer_paged_decode_bf16_can_implement
        ),
        Element::F32 => entry!(
            baracuda_kernels_flashinfer_paged_decode_f32_run,
            baracuda_kernels_flashinfer_paged_decode_f32_can_implement
        ),
        Element::F16KvE4m3 => entry!(
            baracuda_kernels_flashinfer_paged_decode_f16_e4m3_run,
            baracuda_kernels_flashinfer_paged_decode_f16_e4m3_can_implement
        ),
        Element::F16KvE5m2 => entry!(
            baracuda_kernels_flashinfer_paged_decode_f16_e5m2_run,
            baracuda_kernels_flashinfer_paged_decode_f16_e5m2_can_implement
        ),
        Element::Bf16KvE4m3 => entry!(
            baracuda_kernels_flashinfer_paged_decode_bf16_e4m3_run,
            baracuda_kernels_flashinfer_paged_decode_bf16_e4m3_can_implement
        ),
        Element::Bf16KvE5m2 => entry!(
            baracuda_kernels_flashinfer_paged_decode_bf16_e5m2_run,
            baracuda_kernels_flashinfer_paged_decode_bf16_e5m2_can_implement
        ),
    }
}

/// A validated decode problem: sizes, element, scale and kernel checked once by the C
/// library's `_can_implement`, the workspace sized for the current device. Plain data
/// (`Clone + Send + Sync`): build one per batch bucket and layer shape at start-up and use it
/// from any thread and stream, each run with its own workspace and outputs.
///
/// ```
/// use baracuda_flashinfer::{DecodeDesc, DecodePlan, Element};
///
/// // Without split-KV the plan needs no workspace, so no GPU is needed to build it.
/// let plan = DecodePlan::new(&DecodeDesc {
///     batch_size: 8,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     element: Element::Bf16,
///     split_kv: false,
///     ..DecodeDesc::default()
/// })?;
/// assert_eq!(plan.workspace_size(), 0);
/// assert!((plan.sm_scale() - 128f32.sqrt().recip()).abs() < 1e-7);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
///
/// A run (needs a GPU and device buffers; see `examples/engine_step.rs`):
///
/// ```no_run
/// # use baracuda_flashinfer::*;
/// # fn step(plan: &DecodePlan, stream: Stream<'_>, q: DeviceSlice<'_, Bf16>,
/// #         k: DeviceSlice<'_, Bf16>, v: DeviceSlice<'_, Bf16>, pages: PageTable<'_>,
/// #         o: DeviceSliceMut<'_, Bf16>, ws: DeviceSliceMut<'_, u8>, num_pages: usize)
/// #         -> Result<()> {
/// let (b, hq, hkv, d, p) = (8, 32, 8, 128, 16);
/// plan.run(
///     stream,
///     DecodeArgs {
///         q: q.tensor([b, hq, d]),
///         k_cache: k.tensor([num_pages, hkv, p, d]),
///         v_cache: v.tensor([num_pages, hkv, p, d]),
///         pages,
///         o: o.tensor([b, hq, d]),
///         lse: None,
///         sinks: None,
///     },
///     &mut Workspace::new(ws),
/// )
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DecodePlan {
    desc: DecodeDesc,
    sizes: AttentionSizes,
    sm_scale: f32,
    workspace_bytes: usize,
}

impl DecodePlan {
    /// Validates `desc` with the C `_can_implement` (the per-element one, which checks the
    /// scale too, and for an explicit kernel the `run_with` one for the flags)
    /// and, when the plan needs a workspace, sizes it for the current device (a GPU query:
    /// [`ErrorKind::Cuda`](crate::ErrorKind::Cuda) without one).
    pub fn new(desc: &DecodeDesc) -> Result<Self> {
        const F: &str = "DecodePlan::new";
        let dims = [
            desc.batch_size,
            desc.num_qo_heads,
            desc.num_kv_heads,
            desc.head_dim,
            desc.page_size,
        ];
        let z = AttentionSizes::new(F, dims, desc.element)?;
        let scale = resolve_sm_scale(F, desc.sm_scale, desc.head_dim)?;
        let (_, can, _, can_name) = per_element(desc.element);
        // SAFETY: a pure query of sizes and a scale.
        let code = unsafe {
            can(
                z.batch,
                z.page_size,
                z.head_dim,
                z.num_qo_heads,
                z.num_kv_heads,
                scale,
            )
        };
        crate::error::status(code, can_name)?;
        let flags = flags(desc);
        if !desc.options.is_plain() {
            let options = desc.options.to_c(F, 0, SINKS_PLACEHOLDER)?;
            let mut workspace_bytes = 0usize;
            // SAFETY: pure queries of sizes, flags and options (the sinks pointer is never
            // read), and a valid out-pointer.
            unsafe {
                ffi!(baracuda_kernels_flashinfer_paged_decode_ex_can_implement(
                    z.element.code(),
                    flags,
                    z.batch,
                    z.page_size,
                    z.head_dim,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    scale,
                    &options,
                ))?;
                ffi!(
                    baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
                        z.element.code(),
                        flags,
                        z.batch,
                        z.page_size,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                        &options,
                        &mut workspace_bytes,
                    )
                )?;
            }
            return Ok(DecodePlan {
                desc: DecodeDesc {
                    sm_scale: Some(scale),
                    ..desc.clone()
                },
                sizes: z,
                sm_scale: scale,
                workspace_bytes,
            });
        }
        if flags != sys::BARACUDA_FLASHINFER_DECODE_AUTO {
            // SAFETY: a pure query of sizes and flags.
            unsafe {
                ffi!(
                    baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(
                        z.element.code(),
                        flags,
                        z.batch,
                        z.page_size,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                    )
                )?;
            }
        }
        let mut workspace_bytes = 0usize;
        if needs_workspace(desc) {
            // SAFETY: sizes and a valid out-pointer.
            unsafe {
                ffi!(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                    z.batch,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    z.head_dim,
                    z.page_size,
                    z.element.code(),
                    &mut workspace_bytes,
                ))?;
            }
        }
        Ok(DecodePlan {
            desc: DecodeDesc {
                sm_scale: Some(scale),
                ..desc.clone()
            },
            sizes: z,
            sm_scale: scale,
            workspace_bytes,
        })
    }

    /// The descriptor, with the resolved `sm_scale`.
    pub fn desc(&self) -> &DecodeDesc {
        &self.desc
    }

    /// The softmax scale the runs use.
    pub fn sm_scale(&self) -> f32 {
        self.sm_scale
    }

    /// Bytes the workspace passed to [`run`](Self::run) must have (0: none needed). Depends on
    /// the device the plan was built on; for CUDA-graph batch buckets sharing one workspace,
    /// take the largest.
    pub fn workspace_size(&self) -> usize {
        self.workspace_bytes
    }

    /// Checks the tensors and the workspace against the plan; enqueues nothing.
    pub fn check(&self, args: &DecodeArgs<'_>, workspace: &Workspace<'_>) -> Result<()> {
        let c = Check {
            function: "DecodePlan::run",
        };
        let z = &self.sizes;
        z.check_tensors(
            &c,
            &args.q,
            &args.k_cache,
            &args.v_cache,
            &args.o,
            &args.lse,
            self.desc.options.kv_layout == KvLayout::Nhd,
        )?;
        let names = ["pages.indices", "pages.indptr", "pages.last_page_len"];
        args.pages.check(&c, names, self.desc.batch_size, true)?;
        crate::prefill::check_sinks(
            &c,
            &args.sinks,
            self.desc.options.sinks,
            self.desc.num_qo_heads,
        )?;
        c.workspace(workspace, self.workspace_bytes, "DecodePlan")
    }

    /// Checks everything ([`check`](Self::check)), then enqueues the decode on `stream`.
    /// Never allocates, synchronises or reads device memory back; graph-capturable (the grid
    /// depends on the sizes only, so one capture stays correct when lengths and page tables
    /// change between replays).
    pub fn run(
        &self,
        stream: Stream<'_>,
        args: DecodeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        self.check(&args, workspace)?;
        self.launch(stream, &args, workspace)
    }

    /// The C call, without the host checks.
    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        args: &DecodeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        let z = &self.sizes;
        // A plan without a workspace passes none: the automatic run then never splits.
        let (ws, ws_bytes) = if needs_workspace(&self.desc) {
            (workspace.as_mut_ptr(), workspace.bytes())
        } else {
            (core::ptr::null_mut(), 0)
        };
        let flags = flags(&self.desc);
        let k = args.k_cache.raw.as_ptr() as *mut _;
        let v = args.v_cache.raw.as_ptr() as *mut _;
        let indices = args.pages.indices_ptr() as *mut _;
        let indptr = args.pages.indptr_ptr() as *mut _;
        let lpl = args.pages.last_page_len_ptr() as *mut _;
        let (q, o, lse) = (
            args.q.raw.as_ptr(),
            args.o.raw.as_mut_ptr(),
            lse_ptr(&args.lse),
        );
        if !self.desc.options.is_plain() {
            let sinks = args
                .sinks
                .as_ref()
                .map_or(core::ptr::null(), |s| s.as_ptr() as *const f32);
            let options = self.desc.options.to_c("DecodePlan::run", 0, sinks)?;
            // SAFETY: the checks above (views fit their allocations, the page table's contract);
            // the C function validates again before launching.
            return unsafe {
                ffi!(baracuda_kernels_flashinfer_paged_decode_run_ex(
                    z.element.code(),
                    flags,
                    z.batch,
                    z.page_size,
                    z.head_dim,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    self.sm_scale,
                    &options,
                    k,
                    v,
                    indices,
                    indptr,
                    lpl,
                    q,
                    o,
                    lse,
                    workspace.as_mut_ptr(),
                    workspace.bytes(),
                    stream.as_raw(),
                ))
            };
        }
        if flags != sys::BARACUDA_FLASHINFER_DECODE_AUTO {
            // SAFETY: the checks above (views fit their allocations, the page table's contract);
            // the C function validates again before launching.
            return unsafe {
                ffi!(baracuda_kernels_flashinfer_paged_decode_run_with(
                    z.element.code(),
                    flags,
                    z.batch,
                    z.page_size,
                    z.head_dim,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    self.sm_scale,
                    k,
                    v,
                    indices,
                    indptr,
                    lpl,
                    q,
                    o,
                    lse,
                    ws,
                    ws_bytes,
                    stream.as_raw(),
                ))
            };
        }
        let (run, _, run_name, _) = per_element(z.element);
        // SAFETY: as above.
        let code = unsafe {
            run(
                z.batch,
                z.page_size,
                z.head_dim,
                z.num_qo_heads,
                z.num_kv_heads,
                self.sm_scale,
                k,
                v,
                indices,
                indptr,
                lpl,
                q,
                o,
                lse,
                ws,
                ws_bytes,
                stream.as_raw(),
            )
        };
        crate::error::status(code, run_name)
    }
}

#[cfg(test)]
impl DecodePlan {
    /// The plan as if the device had asked for `bytes` of workspace (host tests).
    pub(crate) fn with_workspace_bytes(mut self, bytes: usize) -> Self {
        self.desc.split_kv = true;
        self.workspace_bytes = bytes;
        self
    }
}

/// The C flags of a descriptor: the kernel's, plus NO_SPLIT without split-KV. The automatic
/// kernel with split-KV is flags 0 (the per-element `_run`); without split-KV it still runs
/// the per-element `_run`, with no workspace (which never splits).
fn flags(d: &DecodeDesc) -> i32 {
    let kernel = match d.kernel {
        DecodeKernel::Auto => sys::BARACUDA_FLASHINFER_DECODE_AUTO,
        DecodeKernel::CudaCores => sys::BARACUDA_FLASHINFER_DECODE_CUDA_CORES,
        DecodeKernel::TensorCores => sys::BARACUDA_FLASHINFER_DECODE_TENSOR_CORES,
        DecodeKernel::WarpTiles => sys::BARACUDA_FLASHINFER_DECODE_WARP_TILES,
    };
    if d.kernel == DecodeKernel::Auto {
        return kernel;
    }
    kernel
        | if d.split_kv {
            0
        } else {
            sys::BARACUDA_FLASHINFER_DECODE_NO_SPLIT
        }
}

/// Split-KV and the tensor-core kernel (split or not) need the device-sized workspace.
fn needs_workspace(d: &DecodeDesc) -> bool {
    d.split_kv || d.kernel == DecodeKernel::TensorCores
}
