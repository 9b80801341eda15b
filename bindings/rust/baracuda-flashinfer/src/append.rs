//! Paged-KV append: new K/V tokens written into the paged cache decode reads (the same HND
//! pages). Only each new token's slot is written; the page metadata is never modified (the
//! caller owns it). A token whose position falls outside its request's pages is skipped:
//! bad positions never write outside the pages the table names.
//!
//! - [`AppendPlan`]: one new token per request, at the end of its sequence. The page table
//!   must already count it: grow `last_page_len[b]` (or add a page with `last_page_len = 1`)
//!   first, then append.
//! - [`AppendTokensPlan`]: any number of tokens, token `i` to request `batch_indices[i]` at
//!   absolute position `positions[i]` (prefill chunks, speculative tokens).
use crate::attention::check_paged_caches;
use crate::check::{to_i32, Check, Expect};
use crate::dtype::{float_variant, DType};
use crate::error::{ffi, Result};
use crate::memory::DeviceSlice;
use crate::paged::PageTable;
use crate::stream::Stream;
use crate::tensor::{TensorMut, TensorRef};

/// What an append plan is for. Name the fields and end with `..AppendDesc::default()`.
///
/// ```
/// use baracuda_flashinfer::{AppendDesc, AppendPlan, DType};
///
/// let plan = AppendPlan::new(&AppendDesc {
///     batch_size: 8,
///     num_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     dtype: DType::Bf16,
/// })?;
/// assert_eq!(plan.desc().num_heads, 8);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendDesc {
    /// B: requests.
    pub batch_size: usize,
    /// H: KV heads.
    pub num_heads: usize,
    /// D: 64, 128 or 256.
    pub head_dim: usize,
    /// P: tokens per page.
    pub page_size: usize,
    /// Of the cache and of the new tokens: f16, bf16 or f32.
    pub dtype: DType,
}

impl Default for AppendDesc {
    /// Zero sizes (set them) and f16.
    fn default() -> Self {
        AppendDesc {
            batch_size: 0,
            num_heads: 0,
            head_dim: 0,
            page_size: 0,
            dtype: DType::F16,
        }
    }
}

/// The sizes of an append in the C ABI's types, and the cache checks both plans share.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Sizes {
    batch: i32,
    page_size: i32,
    num_heads: i32,
    head_dim: i32,
    variant: usize,
}

impl Sizes {
    fn new(function: &'static str, d: &AppendDesc) -> Result<Sizes> {
        Ok(Sizes {
            batch: to_i32(function, "batch_size", d.batch_size)?,
            page_size: to_i32(function, "page_size", d.page_size)?,
            num_heads: to_i32(function, "num_heads", d.num_heads)?,
            head_dim: to_i32(function, "head_dim", d.head_dim)?,
            variant: float_variant(d.dtype, function)?,
        })
    }

    /// key and value `[tokens, H, D]`, the caches `[num_pages, H, P, D]`.
    fn check_tensors(
        &self,
        c: &Check,
        dtype: DType,
        tokens: usize,
        [key, value]: [&TensorRef<'_, 3>; 2],
        [k_cache, v_cache]: [&TensorMut<'_, 4>; 2],
    ) -> Result<()> {
        let (h, d, p) = (
            self.num_heads as usize,
            self.head_dim as usize,
            self.page_size as usize,
        );
        let rows = Expect {
            dtype,
            shape: [tokens, h, d],
            dims: ["tokens", "num_heads", "head_dim"],
            align: 16,
            dense_from: 0,
        };
        c.tensor("key", &key.raw, &rows)?;
        c.tensor("value", &value.raw, &rows)?;
        let caches = [&k_cache.raw, &v_cache.raw];
        check_paged_caches(c, caches, dtype, ("num_heads", h), [p, d], false)
    }
}

/// The tensors of one decode-time append.
#[derive(Debug)]
pub struct AppendArgs<'a> {
    /// `[B, H, D]`: each request's new key.
    pub key: TensorRef<'a, 3>,
    /// `[B, H, D]`: each request's new value.
    pub value: TensorRef<'a, 3>,
    /// `[num_pages, H, P, D]`, written at the new tokens' slots.
    pub k_cache: TensorMut<'a, 4>,
    /// `[num_pages, H, P, D]`, written at the new tokens' slots.
    pub v_cache: TensorMut<'a, 4>,
    /// The page lists, already counting the new token; `last_page_len` required.
    pub pages: PageTable<'a>,
}

/// A validated decode-time append (one token per request, the C
/// `paged_kv_append_decode_<dtype>_*`). Needs no workspace and no GPU to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendPlan {
    desc: AppendDesc,
    sizes: Sizes,
}

impl AppendPlan {
    /// Validates `desc` with the C `_can_implement` of its dtype.
    pub fn new(desc: &AppendDesc) -> Result<Self> {
        let z = Sizes::new("AppendPlan::new", desc)?;
        let (b, p, h, d) = (z.batch, z.page_size, z.num_heads, z.head_dim);
        // SAFETY: pure queries of sizes.
        unsafe {
            match z.variant {
                0 => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_decode_f16_can_implement(
                        b, p, h, d
                    )
                ),
                1 => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_can_implement(
                        b, p, h, d
                    )
                ),
                _ => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_decode_f32_can_implement(
                        b, p, h, d
                    )
                ),
            }?;
        }
        Ok(AppendPlan {
            desc: desc.clone(),
            sizes: z,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &AppendDesc {
        &self.desc
    }

    /// 0: appends need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &AppendArgs<'_>) -> Result<()> {
        let c = Check {
            function: "AppendPlan::run",
        };
        let b = self.desc.batch_size;
        let z = &self.sizes;
        let caches = [&args.k_cache, &args.v_cache];
        z.check_tensors(&c, self.desc.dtype, b, [&args.key, &args.value], caches)?;
        let names = ["pages.indices", "pages.indptr", "pages.last_page_len"];
        args.pages.check(&c, names, b, true)
    }

    /// Checks ([`check`](Self::check)), then enqueues the append on `stream`. Graph-capturable.
    pub fn run(&self, stream: Stream<'_>, args: AppendArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &AppendArgs<'_>) -> Result<()> {
        let z = &self.sizes;
        let (b, p, h, d) = (z.batch, z.page_size, z.num_heads, z.head_dim);
        let (k, v) = (args.k_cache.raw.as_mut_ptr(), args.v_cache.raw.as_mut_ptr());
        let indices = args.pages.indices_ptr() as *mut _;
        let indptr = args.pages.indptr_ptr() as *mut _;
        let lpl = args.pages.last_page_len_ptr() as *mut _;
        let (key, value, s) = (
            args.key.raw.as_ptr(),
            args.value.raw.as_ptr(),
            stream.as_raw(),
        );
        // SAFETY: the checks (views fit their allocations, the page table's contract); the C
        // function validates again before launching.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run(
                    b, p, h, d, k, v, indices, indptr, lpl, key, value, s
                )),
                1 => ffi!(baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run(
                    b, p, h, d, k, v, indices, indptr, lpl, key, value, s
                )),
                _ => ffi!(baracuda_kernels_flashinfer_paged_kv_append_decode_f32_run(
                    b, p, h, d, k, v, indices, indptr, lpl, key, value, s
                )),
            }
        }
    }
}

/// The tensors of one multi-token append.
#[derive(Debug)]
pub struct AppendTokensArgs<'a> {
    /// `[T, H, D]`: the new keys, `1 <= T <= max_tokens`.
    pub key: TensorRef<'a, 3>,
    /// `[T, H, D]`: the new values.
    pub value: TensorRef<'a, 3>,
    /// `[num_pages, H, P, D]`, written at the new tokens' slots.
    pub k_cache: TensorMut<'a, 4>,
    /// `[num_pages, H, P, D]`, written at the new tokens' slots.
    pub v_cache: TensorMut<'a, 4>,
    /// The page lists, already holding room for the new tokens (`last_page_len` not read).
    pub pages: PageTable<'a>,
    /// `[T]`: token `i`'s request (`0 <= batch_indices[i] < B`; others are skipped).
    pub batch_indices: DeviceSlice<'a, i32>,
    /// `[T]`: token `i`'s absolute position in its request (positions past its pages are
    /// skipped).
    pub positions: DeviceSlice<'a, i32>,
}

/// A validated multi-token append (the C `paged_kv_append_<dtype>_*`): up to `max_tokens`
/// tokens per run, the number taken from the `key` tensor. Needs no workspace and no GPU to
/// build.
///
/// ```
/// use baracuda_flashinfer::{AppendDesc, AppendTokensPlan, DType};
///
/// let desc = AppendDesc {
///     batch_size: 4,
///     num_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     dtype: DType::F16,
/// };
/// let plan = AppendTokensPlan::new(&desc, 8192)?; // prefill chunks of up to 8192 tokens
/// assert_eq!(plan.max_tokens(), 8192);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendTokensPlan {
    desc: AppendDesc,
    sizes: Sizes,
    max_tokens: usize,
}

impl AppendTokensPlan {
    /// Validates `desc` for runs of 1 to `max_tokens` tokens with the C `_can_implement` of its
    /// dtype (whose limits grow with the token count: the largest count covers the others).
    pub fn new(desc: &AppendDesc, max_tokens: usize) -> Result<Self> {
        const F: &str = "AppendTokensPlan::new";
        let z = Sizes::new(F, desc)?;
        let t = to_i32(F, "max_tokens", max_tokens)?;
        let (b, p, h, d) = (z.batch, z.page_size, z.num_heads, z.head_dim);
        // SAFETY: pure queries of sizes.
        unsafe {
            match z.variant {
                0 => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_f16_can_implement(t, b, p, h, d)
                ),
                1 => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_bf16_can_implement(t, b, p, h, d)
                ),
                _ => ffi!(
                    baracuda_kernels_flashinfer_paged_kv_append_f32_can_implement(t, b, p, h, d)
                ),
            }?;
        }
        Ok(AppendTokensPlan {
            desc: desc.clone(),
            sizes: z,
            max_tokens,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &AppendDesc {
        &self.desc
    }

    /// The most tokens one run takes.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// 0: appends need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &AppendTokensArgs<'_>) -> Result<()> {
        let c = Check {
            function: "AppendTokensPlan::run",
        };
        let tokens = args.key.raw.shape[0];
        if tokens == 0 || tokens > self.max_tokens {
            return Err(c.fail(
                crate::ErrorKind::InvalidProblem,
                format!(
                    "key: dimension 0 (tokens) is {tokens}, must be in [1, {}] (the plan's \
                     max_tokens)",
                    self.max_tokens
                ),
            ));
        }
        let z = &self.sizes;
        let caches = [&args.k_cache, &args.v_cache];
        z.check_tensors(
            &c,
            self.desc.dtype,
            tokens,
            [&args.key, &args.value],
            caches,
        )?;
        let names = ["pages.indices", "pages.indptr", "pages.last_page_len"];
        args.pages.check(&c, names, self.desc.batch_size, false)?;
        c.len(
            "batch_indices",
            &args.batch_indices,
            tokens,
            "tokens, as key",
        )?;
        c.len("positions", &args.positions, tokens, "tokens, as key")
    }

    /// Checks ([`check`](Self::check)), then enqueues the append on `stream`. Graph-capturable
    /// for a fixed token count.
    pub fn run(&self, stream: Stream<'_>, args: AppendTokensArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &AppendTokensArgs<'_>) -> Result<()> {
        let z = &self.sizes;
        // The token count was checked against max_tokens, which fits an i32.
        let t = args.key.raw.shape[0] as i32;
        let (b, p, h, d) = (z.batch, z.page_size, z.num_heads, z.head_dim);
        let (k, v) = (args.k_cache.raw.as_mut_ptr(), args.v_cache.raw.as_mut_ptr());
        let (indices, indptr) = (args.pages.indices_ptr(), args.pages.indptr_ptr());
        let (rows, pos) = (args.batch_indices.as_ptr(), args.positions.as_ptr());
        let (key, value, s) = (
            args.key.raw.as_ptr(),
            args.value.raw.as_ptr(),
            stream.as_raw(),
        );
        // SAFETY: the checks (views fit their allocations, the page table's contract); the C
        // function validates again before launching.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_paged_kv_append_f16_run(
                    t, b, p, h, d, k, v, indices, indptr, rows, pos, key, value, s
                )),
                1 => ffi!(baracuda_kernels_flashinfer_paged_kv_append_bf16_run(
                    t, b, p, h, d, k, v, indices, indptr, rows, pos, key, value, s
                )),
                _ => ffi!(baracuda_kernels_flashinfer_paged_kv_append_f32_run(
                    t, b, p, h, d, k, v, indices, indptr, rows, pos, key, value, s
                )),
            }
        }
    }
}
