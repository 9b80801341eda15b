//! Batch prefill: each request's query rows (a prompt, a chunk on a cached prefix, or a decode
//! token) attend that request's keys, over a paged cache or a ragged K/V, with the attention
//! options (sliding window, soft-cap, K/V scales, sinks, NHD pages).
//!
//! ```text
//! o[r, h]   = sum_j softmax_j(s(r, h, j)) * v_scale * v[j, h / g],   g = Hq / Hkv
//! s(r, h, j) = sm_scale * k_scale * q[r, h] . k[j, h / g]   (soft-capped when asked)
//! ```
//!
//! Row `r` of request `b` is query `i = r - q_indptr[b]`; with `causal` it keeps key `j` when
//! `j <= i + kv_len - qo_len` (aligned bottom-right). A row that keeps no key gets `o = 0`,
//! `lse = -inf` (with sinks: `lse = sink / ln 2`). Tensors (dense row-major): `q`, `o`
//! `[max_q_rows, Hq, D]`; paged caches `[num_pages, Hkv, P, D]` (NHD: `[num_pages, P, Hkv, D]`);
//! ragged `k`, `v` `[max_kv_rows, Hkv, D]`; `lse` `[max_q_rows, Hq]` f32 (optional); `sinks`
//! `[Hq]` f32. The C header's "Batch prefill" section has the full contract.
use crate::attention::{check_lse, check_paged_caches, lse_ptr};
use crate::check::{resolve_sm_scale, to_i32, Check, Expect};
use crate::dtype::Element;
use crate::error::{ffi, Error, ErrorKind, Result};
use crate::memory::DeviceSlice;
use crate::paged::PageTable;
use crate::stream::Stream;
use crate::sys;
use crate::tensor::{TensorMut, TensorRef};
use crate::workspace::Workspace;

/// Where the keys live.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrefillKeys {
    /// The paged cache decode and append use, `page_size` tokens per page.
    Paged {
        /// P: tokens per page.
        page_size: usize,
    },
    /// One contiguous K/V of `max_kv_rows` rows for the batch (request `b`'s keys are rows
    /// `kv_indptr[b] .. kv_indptr[b + 1]`).
    Ragged {
        /// Rows of `k` and `v`; bounds `kv_indptr[B]`.
        max_kv_rows: usize,
    },
}

/// The order of a paged cache's dimensions.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvLayout {
    /// `[num_pages, Hkv, P, D]` (the library's default).
    #[default]
    Hnd,
    /// `[num_pages, P, Hkv, D]` (vLLM- and SGLang-style caches).
    Nhd,
}

/// The attention options (the C `baracuda_flashinfer_attention_options`). The default is plain
/// attention; name the fields you change and end with `..AttentionOptions::default()`.
///
/// ```
/// use baracuda_flashinfer::AttentionOptions;
///
/// // gpt-oss's alternate layers: a 128-token window and a sink per query head.
/// let o = AttentionOptions { window_left: Some(128), sinks: true, ..AttentionOptions::default() };
/// assert_eq!(o.logits_soft_cap, None);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AttentionOptions {
    /// Paged caches' layout (ragged calls ignore it).
    pub kv_layout: KvLayout,
    /// Sliding window: query `i` keeps key `j` when `j + qo_len + window_left >= kv_len + i`.
    pub window_left: Option<u32>,
    /// `cap * tanh(s / cap)` on each scaled score (Gemma 2: 50).
    pub logits_soft_cap: Option<f32>,
    /// The stored K times `k_scale` is the real K (fp8 caches' quantisation scale).
    pub k_scale: f32,
    /// The stored V times `v_scale` is the real V.
    pub v_scale: f32,
    /// Each run passes one sink logit per query head (`PrefillArgs::sinks`,
    /// `DecodeArgs::sinks`).
    pub sinks: bool,
}

impl Default for AttentionOptions {
    fn default() -> Self {
        AttentionOptions {
            kv_layout: KvLayout::Hnd,
            window_left: None,
            logits_soft_cap: None,
            k_scale: 1.0,
            v_scale: 1.0,
            sinks: false,
        }
    }
}

impl AttentionOptions {
    /// Plain attention (the defaults).
    pub fn is_plain(&self) -> bool {
        *self == AttentionOptions::default()
    }

    /// The C struct with the kernel-choice `flags`, and `sinks` as the run's pointer (or a
    /// placeholder the size queries never read: they only ask whether there are sinks).
    pub(crate) fn to_c(
        self,
        function: &'static str,
        flags: i32,
        sinks: *const f32,
    ) -> Result<sys::baracuda_flashinfer_attention_options> {
        // SAFETY: fills a struct we own.
        let mut o = unsafe {
            let mut o = core::mem::zeroed::<sys::baracuda_flashinfer_attention_options>();
            sys::baracuda_kernels_flashinfer_attention_options_init(&mut o);
            o
        };
        o.kv_layout = match self.kv_layout {
            KvLayout::Hnd => sys::BARACUDA_FLASHINFER_KV_LAYOUT_HND,
            KvLayout::Nhd => sys::BARACUDA_FLASHINFER_KV_LAYOUT_NHD,
        };
        o.window_left = match self.window_left {
            None => -1,
            // The library reads any window of 2^30 keys or more as none.
            Some(w) => i32::try_from(w).unwrap_or(i32::MAX),
        };
        o.logits_soft_cap = self.logits_soft_cap.unwrap_or(0.0);
        if self.logits_soft_cap == Some(0.0) {
            return Err(Error::new(
                ErrorKind::InvalidProblem,
                function,
                "options.logits_soft_cap: Some(0.0) is no cap; use None".to_string(),
            ));
        }
        o.k_scale = self.k_scale;
        o.v_scale = self.v_scale;
        o.sinks = if self.sinks { sinks } else { core::ptr::null() };
        o.flags = flags;
        Ok(o)
    }
}

/// What a [`PrefillPlan`] is for. Name the fields and end with `..PrefillDesc::default()`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrefillDesc {
    /// Paged or ragged keys.
    pub keys: PrefillKeys,
    /// B: requests (each with its own query rows and keys).
    pub batch_size: usize,
    /// Rows of `q` and `o`; bounds `q_indptr[B]` (a CUDA graph's bucket).
    pub max_q_rows: usize,
    /// Hq: query (and output) heads.
    pub num_qo_heads: usize,
    /// Hkv: KV heads; `num_qo_heads % num_kv_heads == 0`.
    pub num_kv_heads: usize,
    /// D: 64, 128 or 256.
    pub head_dim: usize,
    /// f16 or bf16 (Q, K, V and O of one type).
    pub element: Element,
    /// The softmax scale; `None`: `1 / sqrt(head_dim)`.
    pub sm_scale: Option<f32>,
    /// Causal, aligned bottom-right (default).
    pub causal: bool,
    /// The attention options.
    pub options: AttentionOptions,
    /// Split long KV across CTAs when the batch cannot fill the GPU (default).
    pub split_kv: bool,
    /// The kernel.
    pub kernel: PrefillKernel,
}

/// Which prefill kernels run.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum PrefillKernel {
    /// FA3 (wgmma, TMA) on sm_90 when built, FA2 elsewhere.
    #[default]
    Auto,
    /// FlashInfer's FA2 kernels also on sm_90 (for A/B checks).
    Fa2,
}

impl PrefillDesc {
    /// The C options' flags: NO_SPLIT without split-KV, FA2 when forced.
    fn flags(&self) -> i32 {
        let split = if self.split_kv {
            0
        } else {
            sys::BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT
        };
        let kernel = match self.kernel {
            PrefillKernel::Auto => 0,
            PrefillKernel::Fa2 => sys::BARACUDA_FLASHINFER_ATTENTION_FA2,
        };
        split | kernel
    }
}

impl Default for PrefillDesc {
    /// Zero sizes (which no plan accepts: set them), paged keys of 16-token pages, f16, the
    /// default scale, causal, plain attention.
    fn default() -> Self {
        PrefillDesc {
            keys: PrefillKeys::Paged { page_size: 16 },
            batch_size: 0,
            max_q_rows: 0,
            num_qo_heads: 0,
            num_kv_heads: 0,
            head_dim: 0,
            element: Element::F16,
            sm_scale: None,
            causal: true,
            options: AttentionOptions::default(),
            split_kv: true,
            kernel: PrefillKernel::Auto,
        }
    }
}

/// The keys of one run, as the plan's [`PrefillKeys`] says.
#[derive(Debug)]
pub enum PrefillKv<'a> {
    /// `k_cache`, `v_cache` `[num_pages, Hkv, P, D]` (NHD: `[num_pages, P, Hkv, D]`) and each
    /// request's pages (`last_page_len` required).
    Paged {
        /// The K pages.
        k_cache: TensorRef<'a, 4>,
        /// The V pages.
        v_cache: TensorRef<'a, 4>,
        /// Each request's pages.
        pages: PageTable<'a>,
    },
    /// `k`, `v` `[max_kv_rows, Hkv, D]` (every row finite: FA3 weights whole key tiles) and
    /// `kv_indptr` `[B + 1]`.
    Ragged {
        /// The keys.
        k: TensorRef<'a, 3>,
        /// The values.
        v: TensorRef<'a, 3>,
        /// Request `b`'s keys are rows `kv_indptr[b] .. kv_indptr[b + 1]`.
        kv_indptr: DeviceSlice<'a, i32>,
    },
}

/// The tensors of one prefill run.
#[derive(Debug)]
pub struct PrefillArgs<'a> {
    /// `[max_q_rows, Hq, D]`.
    pub q: TensorRef<'a, 3>,
    /// `[B + 1]`: request `b`'s query rows are `q_indptr[b] .. q_indptr[b + 1]`.
    pub q_indptr: DeviceSlice<'a, i32>,
    /// The keys.
    pub kv: PrefillKv<'a>,
    /// `[Hq]` f32 sink logits, when the plan's options have sinks.
    pub sinks: Option<DeviceSlice<'a, f32>>,
    /// `[max_q_rows, Hq, D]`, written for rows below `q_indptr[B]`.
    pub o: TensorMut<'a, 3>,
    /// `[max_q_rows, Hq]` f32, base-2 log-sum-exp; `None`: not computed.
    pub lse: Option<TensorMut<'a, 2>>,
}

/// The sizes of a plan in the C ABI's types.
#[derive(Copy, Clone, Debug, PartialEq)]
struct PrefillSizes {
    batch: i32,
    max_q_rows: i32,
    page_size: i32,   // paged
    max_kv_rows: i32, // ragged
    head_dim: i32,
    num_qo_heads: i32,
    num_kv_heads: i32,
    causal: i32,
}

/// A validated prefill problem: sizes, element, scale and options checked once by the C
/// library's `_can_implement`, the workspace sized for the current device. Plain data
/// (`Clone + Send + Sync`): build one per (batch bucket, `max_q_rows` bucket, layer shape).
///
/// ```
/// use baracuda_flashinfer::{Element, ErrorKind, PrefillDesc, PrefillKeys, PrefillPlan};
///
/// // Head dim 96 has no kernel: refused by the library's own can_implement (status 3).
/// let err = PrefillPlan::new(&PrefillDesc {
///     keys: PrefillKeys::Ragged { max_kv_rows: 4096 },
///     batch_size: 4,
///     max_q_rows: 4096,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 96,
///     element: Element::Bf16,
///     ..PrefillDesc::default()
/// })
/// .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PrefillPlan {
    desc: PrefillDesc,
    sizes: PrefillSizes,
    sm_scale: f32,
    workspace_bytes: usize,
}

/// A placeholder sinks pointer for the size queries, which only test it against NULL.
pub(crate) const SINKS_PLACEHOLDER: *const f32 = core::ptr::NonNull::<f32>::dangling().as_ptr();

impl PrefillPlan {
    /// Validates `desc` with the C `prefill_{paged,ragged}_can_implement` and sizes the
    /// workspace for the current device (a GPU query: [`ErrorKind::Cuda`] without one).
    pub fn new(desc: &PrefillDesc) -> Result<Self> {
        let mut plan = Self::validate(desc)?;
        let z = plan.sizes;
        let options = desc
            .options
            .to_c("PrefillPlan::new", desc.flags(), SINKS_PLACEHOLDER)?;
        let e = desc.element.code();
        // SAFETY: a size query with a valid out-pointer (the sinks pointer is never read).
        unsafe {
            if matches!(desc.keys, PrefillKeys::Paged { .. }) {
                ffi!(
                    baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                        e,
                        z.batch,
                        z.max_q_rows,
                        z.page_size,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                        z.causal,
                        &options,
                        &mut plan.workspace_bytes
                    )
                )?;
            } else {
                ffi!(
                    baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                        e,
                        z.batch,
                        z.max_q_rows,
                        z.max_kv_rows,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                        z.causal,
                        &options,
                        &mut plan.workspace_bytes
                    )
                )?;
            }
        }
        Ok(plan)
    }

    /// The plan without its workspace size: the checks of this crate and the C
    /// `_can_implement` (which needs no GPU).
    fn validate(desc: &PrefillDesc) -> Result<Self> {
        const F: &str = "PrefillPlan::new";
        if desc.element == Element::F32 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                F,
                format!(
                    "element {}: prefill takes f16 or bf16 queries over 16-bit or fp8 K/V",
                    desc.element.name()
                ),
            ));
        }
        let (page_size, max_kv_rows) = match desc.keys {
            PrefillKeys::Paged { page_size } => (to_i32(F, "page_size", page_size)?, 0),
            PrefillKeys::Ragged { max_kv_rows } => (1, to_i32(F, "max_kv_rows", max_kv_rows)?),
        };
        let z = PrefillSizes {
            batch: to_i32(F, "batch_size", desc.batch_size)?,
            max_q_rows: to_i32(F, "max_q_rows", desc.max_q_rows)?,
            page_size,
            max_kv_rows,
            head_dim: to_i32(F, "head_dim", desc.head_dim)?,
            num_qo_heads: to_i32(F, "num_qo_heads", desc.num_qo_heads)?,
            num_kv_heads: to_i32(F, "num_kv_heads", desc.num_kv_heads)?,
            causal: desc.causal as i32,
        };
        let scale = resolve_sm_scale(F, desc.sm_scale, desc.head_dim)?;
        let options = desc.options.to_c(F, desc.flags(), SINKS_PLACEHOLDER)?;
        let e = desc.element.code();
        // SAFETY: pure queries of sizes and options (the sinks pointer is never read).
        unsafe {
            if matches!(desc.keys, PrefillKeys::Paged { .. }) {
                ffi!(baracuda_kernels_flashinfer_prefill_paged_can_implement(
                    e,
                    z.batch,
                    z.max_q_rows,
                    z.page_size,
                    z.head_dim,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    scale,
                    z.causal,
                    &options
                ))?;
            } else {
                ffi!(baracuda_kernels_flashinfer_prefill_ragged_can_implement(
                    e,
                    z.batch,
                    z.max_q_rows,
                    z.max_kv_rows,
                    z.head_dim,
                    z.num_qo_heads,
                    z.num_kv_heads,
                    scale,
                    z.causal,
                    &options
                ))?;
            }
        }
        Ok(PrefillPlan {
            desc: PrefillDesc {
                sm_scale: Some(scale),
                ..desc.clone()
            },
            sizes: z,
            sm_scale: scale,
            workspace_bytes: 0,
        })
    }

    /// The descriptor, with the resolved `sm_scale`.
    pub fn desc(&self) -> &PrefillDesc {
        &self.desc
    }

    /// The softmax scale the runs use.
    pub fn sm_scale(&self) -> f32 {
        self.sm_scale
    }

    /// Bytes the workspace passed to [`run`](Self::run) must have. Depends on the device the
    /// plan was built on.
    pub fn workspace_size(&self) -> usize {
        self.workspace_bytes
    }

    /// Checks the tensors and the workspace against the plan; enqueues nothing.
    pub fn check(&self, args: &PrefillArgs<'_>, workspace: &Workspace<'_>) -> Result<()> {
        let c = Check {
            function: "PrefillPlan::run",
        };
        let d = &self.desc;
        let (b, rows, hq, hkv, dim) = (
            d.batch_size,
            d.max_q_rows,
            d.num_qo_heads,
            d.num_kv_heads,
            d.head_dim,
        );
        let (dtype, kv_dtype) = (d.element.query_dtype(), d.element.kv_dtype());
        let q_rows = Expect {
            dtype,
            shape: [rows, hq, dim],
            dims: ["max_q_rows", "num_qo_heads", "head_dim"],
            align: 16,
            dense_from: 0,
        };
        c.tensor("q", &args.q.raw, &q_rows)?;
        c.len("q_indptr", &args.q_indptr, b + 1, "batch + 1")?;
        match (&args.kv, d.keys) {
            (
                PrefillKv::Paged {
                    k_cache,
                    v_cache,
                    pages,
                },
                PrefillKeys::Paged { page_size },
            ) => {
                let nhd = d.options.kv_layout == KvLayout::Nhd;
                let caches = [&k_cache.raw, &v_cache.raw];
                let heads = ("num_kv_heads", hkv);
                check_paged_caches(&c, caches, kv_dtype, heads, [page_size, dim], nhd)?;
                let names = ["pages.indices", "pages.indptr", "pages.last_page_len"];
                pages.check(&c, names, b, true)?;
            }
            (PrefillKv::Ragged { k, v, kv_indptr }, PrefillKeys::Ragged { max_kv_rows }) => {
                let keys = Expect {
                    dtype: kv_dtype,
                    shape: [max_kv_rows, hkv, dim],
                    dims: ["max_kv_rows", "num_kv_heads", "head_dim"],
                    align: 16,
                    dense_from: 0,
                };
                c.tensor("k", &k.raw, &keys)?;
                c.tensor("v", &v.raw, &keys)?;
                c.len("kv_indptr", kv_indptr, b + 1, "batch + 1")?;
            }
            (PrefillKv::Paged { .. }, PrefillKeys::Ragged { .. }) => {
                return Err(c.fail(
                    ErrorKind::InvalidProblem,
                    "kv: paged keys, but the plan is for ragged keys".to_string(),
                ))
            }
            (PrefillKv::Ragged { .. }, PrefillKeys::Paged { .. }) => {
                return Err(c.fail(
                    ErrorKind::InvalidProblem,
                    "kv: ragged keys, but the plan is for a paged cache".to_string(),
                ))
            }
        }
        check_sinks(&c, &args.sinks, d.options.sinks, hq)?;
        c.tensor("o", &args.o.raw, &q_rows)?;
        check_lse(&c, &args.lse, ("max_q_rows", rows), hq)?;
        c.workspace(workspace, self.workspace_bytes, "PrefillPlan")
    }

    /// Checks everything ([`check`](Self::check)), then enqueues the prefill on `stream`,
    /// planned on the device from `q_indptr` and the key lengths. Never allocates,
    /// synchronises or reads device memory back; graph-capturable (lengths and page tables
    /// may change between replays within the plan's sizes).
    ///
    /// # Safety
    ///
    /// Whenever the work runs (each replay of a captured graph included), the device arrays
    /// hold `0 = q_indptr[0] <= q_indptr[b] <= q_indptr[b + 1] <= max_q_rows` and, for ragged
    /// keys, `0 <= kv_indptr[b] <= kv_indptr[b + 1] <= max_kv_rows` (the page table carries its
    /// own contract, [`PageTable::new`]).
    pub unsafe fn run(
        &self,
        stream: Stream<'_>,
        args: PrefillArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        self.check(&args, workspace)?;
        // SAFETY: the caller's contract above.
        unsafe { self.launch(stream, &args, workspace) }
    }

    /// The C call, without the host checks.
    pub(crate) unsafe fn launch(
        &self,
        stream: Stream<'_>,
        args: &PrefillArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        const F: &str = "PrefillPlan::run";
        let z = &self.sizes;
        let sinks = args
            .sinks
            .as_ref()
            .map_or(core::ptr::null(), |s| s.as_ptr() as *const f32);
        let options = self.desc.options.to_c(F, self.desc.flags(), sinks)?;
        let e = self.desc.element.code();
        let q = args.q.raw.as_ptr();
        let q_indptr = args.q_indptr.as_ptr() as *const i32;
        let o = args.o.raw.as_mut_ptr();
        let lse = lse_ptr(&args.lse) as *mut f32;
        let (ws, ws_bytes) = (workspace.as_mut_ptr(), workspace.bytes());
        match &args.kv {
            PrefillKv::Paged {
                k_cache,
                v_cache,
                pages,
            } => {
                // SAFETY: the checks (views fit their allocations) and the caller's contract;
                // the C function validates again before launching.
                unsafe {
                    ffi!(baracuda_kernels_flashinfer_prefill_paged_run(
                        e,
                        z.batch,
                        z.max_q_rows,
                        z.page_size,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                        self.sm_scale,
                        z.causal,
                        &options,
                        q,
                        q_indptr,
                        k_cache.raw.as_ptr(),
                        v_cache.raw.as_ptr(),
                        pages.indices_ptr() as *const i32,
                        pages.indptr_ptr() as *const i32,
                        pages.last_page_len_ptr() as *const i32,
                        o,
                        lse,
                        ws,
                        ws_bytes,
                        stream.as_raw()
                    ))
                }
            }
            PrefillKv::Ragged { k, v, kv_indptr } => {
                // SAFETY: as above.
                unsafe {
                    ffi!(baracuda_kernels_flashinfer_prefill_ragged_run(
                        e,
                        z.batch,
                        z.max_q_rows,
                        z.max_kv_rows,
                        z.head_dim,
                        z.num_qo_heads,
                        z.num_kv_heads,
                        self.sm_scale,
                        z.causal,
                        &options,
                        q,
                        q_indptr,
                        k.raw.as_ptr(),
                        v.raw.as_ptr(),
                        kv_indptr.as_ptr() as *const i32,
                        o,
                        lse,
                        ws,
                        ws_bytes,
                        stream.as_raw()
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
impl PrefillPlan {
    /// The plan validated by the C `_can_implement`, as if the device had asked for `bytes` of
    /// workspace (host tests: the size query needs a GPU).
    pub(crate) fn validated_with_workspace_bytes(desc: &PrefillDesc, bytes: usize) -> Result<Self> {
        let mut plan = Self::validate(desc)?;
        plan.workspace_bytes = bytes;
        Ok(plan)
    }
}

/// `sinks` is given exactly when the plan's options have sinks, with one logit per query head.
pub(crate) fn check_sinks(
    c: &Check,
    sinks: &Option<DeviceSlice<'_, f32>>,
    wanted: bool,
    num_qo_heads: usize,
) -> Result<()> {
    match (sinks, wanted) {
        (Some(s), true) => c.len("sinks", s, num_qo_heads, "num_qo_heads"),
        (None, false) => Ok(()),
        (None, true) => Err(c.fail(
            ErrorKind::InvalidProblem,
            "sinks: missing; the plan's options have sinks".to_string(),
        )),
        (Some(_), false) => Err(c.fail(
            ErrorKind::InvalidProblem,
            "sinks: given, but the plan's options have none (set options.sinks)".to_string(),
        )),
    }
}
