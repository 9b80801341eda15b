//! Decode over a KV prefix shared by the whole batch (a system prompt), the cascade:
//! `decode(prefix + suffix) = merge(decode(prefix), decode(suffix))`.
//!
//! - [`SharedPrefixPlan`]: every request's query against ONE shared page list, reading that
//!   KV once per tile of packed rows; merge the result with a [`DecodePlan`](crate::DecodePlan)
//!   over each request's own suffix using [`MergeInPlacePlan`](crate::MergeInPlacePlan).
//! - [`CascadePlan`]: the fused cascade, prefix and suffixes in one call (compute capability
//!   9.0 with the sm_90a build; elsewhere `new` answers
//!   [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): use the three plans above).
//! - [`DensePrefixCascadePlan`]: the fused cascade with the prefix's K and V in one strided
//!   tensor each (one buffer per layer) instead of pages; the suffixes stay paged.
//!
//! All three query the current device when built (workspace size, and for the fused ones
//! whether the device can run them): build them where a GPU is present. Tensors as decode's:
//! `q`, `o` `[B, Hq, D]` (f16 or bf16), the caches `[num_pages, Hkv, P, D]`, `lse` `[B, Hq]`.
use crate::attention::{lse_ptr, AttentionSizes};
use crate::check::{resolve_sm_scale, to_i32, Check, Expect, ANY};
use crate::dtype::Element;
use crate::error::{ffi, status, Result};
use crate::paged::PageTable;
use crate::stream::Stream;
use crate::sys;
use crate::tensor::{TensorMut, TensorRef};
use crate::workspace::Workspace;

/// What a prefix plan is for. Name the fields and end with `..PrefixDesc::default()`.
///
/// ```no_run
/// use baracuda_flashinfer::{Element, PrefixDesc, SharedPrefixPlan};
///
/// // Building a prefix plan asks the current device for the workspace size.
/// let plan = SharedPrefixPlan::new(&PrefixDesc {
///     batch_size: 64,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     element: Element::Bf16,
///     ..PrefixDesc::default()
/// })?;
/// println!("workspace: {} bytes", plan.workspace_size());
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PrefixDesc {
    /// B: requests (queries), one token each.
    pub batch_size: usize,
    /// Hq.
    pub num_qo_heads: usize,
    /// Hkv; `num_qo_heads % num_kv_heads == 0`.
    pub num_kv_heads: usize,
    /// D: 64, 128 or 256.
    pub head_dim: usize,
    /// P: tokens per page.
    pub page_size: usize,
    /// [`Element::F16`] or [`Element::Bf16`].
    pub element: Element,
    /// The softmax scale; `None`: `1 / sqrt(head_dim)`.
    pub sm_scale: Option<f32>,
}

impl Default for PrefixDesc {
    /// Zero sizes (set them), f16, the default scale.
    fn default() -> Self {
        PrefixDesc {
            batch_size: 0,
            num_qo_heads: 0,
            num_kv_heads: 0,
            head_dim: 0,
            page_size: 0,
            element: Element::F16,
            sm_scale: None,
        }
    }
}

type CanFn = unsafe extern "C" fn(i32, i32, i32, i32, i32, i32) -> i32;
type WorkspaceFn = unsafe extern "C" fn(i32, i32, i32, i32, i32, i32, *mut usize) -> i32;

/// What the three plans share: the sizes, the resolved scale and the workspace size; their
/// `new` differ only in the C `_can_implement` and `_get_workspace_size` asked.
#[derive(Clone, Debug, PartialEq)]
struct PrefixCore {
    desc: PrefixDesc,
    sizes: AttentionSizes,
    sm_scale: f32,
    workspace_bytes: usize,
}

impl PrefixCore {
    fn new(
        desc: &PrefixDesc,
        function: &'static str,
        (can, can_name): (CanFn, &'static str),
        (workspace, workspace_name): (WorkspaceFn, &'static str),
    ) -> Result<Self> {
        let dims = [
            desc.batch_size,
            desc.num_qo_heads,
            desc.num_kv_heads,
            desc.head_dim,
            desc.page_size,
        ];
        let z = AttentionSizes::new(function, dims, desc.element)?;
        let args = (
            z.batch,
            z.num_qo_heads,
            z.num_kv_heads,
            z.head_dim,
            z.page_size,
        );
        // SAFETY: a query of sizes (it may ask the current device).
        let code = unsafe { can(args.0, args.1, args.2, args.3, args.4, z.element.code()) };
        status(code, can_name)?;
        let sm_scale = resolve_sm_scale(function, desc.sm_scale, desc.head_dim)?;
        let mut workspace_bytes = 0usize;
        // SAFETY: sizes and a valid out-pointer.
        let code = unsafe {
            workspace(
                args.0,
                args.1,
                args.2,
                args.3,
                args.4,
                z.element.code(),
                &mut workspace_bytes,
            )
        };
        status(code, workspace_name)?;
        Ok(PrefixCore {
            desc: PrefixDesc {
                sm_scale: Some(sm_scale),
                ..desc.clone()
            },
            sizes: z,
            sm_scale,
            workspace_bytes,
        })
    }

    /// The core without asking the C library or the device (host tests).
    #[cfg(test)]
    fn without_device(desc: &PrefixDesc, workspace_bytes: usize) -> Self {
        let dims = [
            desc.batch_size,
            desc.num_qo_heads,
            desc.num_kv_heads,
            desc.head_dim,
            desc.page_size,
        ];
        let sm_scale = resolve_sm_scale("test", desc.sm_scale, desc.head_dim).unwrap();
        PrefixCore {
            desc: desc.clone(),
            sizes: AttentionSizes::new("test", dims, desc.element).unwrap(),
            sm_scale,
            workspace_bytes,
        }
    }

    /// The prefix's page list: one "request" (`indptr [2]`, `last_page_len [1]`).
    fn check_prefix(&self, c: &Check, prefix: &PageTable<'_>) -> Result<()> {
        let names = ["prefix.indices", "prefix.indptr", "prefix.last_page_len"];
        prefix.check(c, names, 1, true)
    }

    /// The suffixes' page lists: `indptr [B + 1]`, `last_page_len [B]`.
    fn check_suffixes(&self, c: &Check, suffixes: &PageTable<'_>) -> Result<()> {
        let names = [
            "suffixes.indices",
            "suffixes.indptr",
            "suffixes.last_page_len",
        ];
        suffixes.check(c, names, self.desc.batch_size, true)
    }
}

macro_rules! prefix_plan_accessors {
    () => {
        /// The descriptor, with the resolved `sm_scale`.
        pub fn desc(&self) -> &PrefixDesc {
            &self.core.desc
        }

        /// The softmax scale the runs use.
        pub fn sm_scale(&self) -> f32 {
            self.core.sm_scale
        }

        /// Bytes the workspace passed to `run` must have (for the device the plan was built on).
        pub fn workspace_size(&self) -> usize {
            self.core.workspace_bytes
        }
    };
}

/// The tensors of one shared-prefix run.
#[derive(Debug)]
pub struct SharedPrefixArgs<'a> {
    /// `[B, Hq, D]`.
    pub q: TensorRef<'a, 3>,
    /// `[num_pages, Hkv, P, D]`: the cache holding the prefix's pages.
    pub k_cache: TensorRef<'a, 4>,
    /// `[num_pages, Hkv, P, D]`.
    pub v_cache: TensorRef<'a, 4>,
    /// The shared prefix as a one-request table (`indptr = [0, pages]`,
    /// `last_page_len [1]`).
    pub prefix: PageTable<'a>,
    /// `[B, Hq, D]`, written: the state over the prefix.
    pub o: TensorMut<'a, 3>,
    /// `[B, Hq]` f32, written (the merge with the suffixes needs it); `None`: not computed.
    pub lse: Option<TensorMut<'a, 2>>,
}

/// A validated shared-prefix problem (the C `shared_prefix_decode_*`): FA3 on compute
/// capability 9.0, FA2 elsewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedPrefixPlan {
    core: PrefixCore,
}

impl SharedPrefixPlan {
    /// Validates `desc` with the C `_can_implement` and sizes the workspace for the current
    /// device.
    pub fn new(desc: &PrefixDesc) -> Result<Self> {
        let core = PrefixCore::new(
            desc,
            "SharedPrefixPlan::new",
            (
                sys::baracuda_kernels_flashinfer_shared_prefix_decode_can_implement,
                "baracuda_kernels_flashinfer_shared_prefix_decode_can_implement",
            ),
            (
                sys::baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size,
                "baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size",
            ),
        )?;
        Ok(SharedPrefixPlan { core })
    }

    /// The plan without asking the C library or the device (host tests).
    #[cfg(test)]
    pub(crate) fn without_device(desc: &PrefixDesc, workspace_bytes: usize) -> Self {
        SharedPrefixPlan {
            core: PrefixCore::without_device(desc, workspace_bytes),
        }
    }

    prefix_plan_accessors!();

    /// Checks the tensors and the workspace against the plan; enqueues nothing.
    pub fn check(&self, args: &SharedPrefixArgs<'_>, workspace: &Workspace<'_>) -> Result<()> {
        let c = Check {
            function: "SharedPrefixPlan::run",
        };
        let z = &self.core.sizes;
        z.check_tensors(
            &c,
            &args.q,
            &args.k_cache,
            &args.v_cache,
            &args.o,
            &args.lse,
            false,
        )?;
        self.core.check_prefix(&c, &args.prefix)?;
        c.workspace(workspace, self.core.workspace_bytes, "SharedPrefixPlan")
    }

    /// Checks ([`check`](Self::check)), then enqueues on `stream`. Graph-capturable.
    pub fn run(
        &self,
        stream: Stream<'_>,
        args: SharedPrefixArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        self.check(&args, workspace)?;
        self.launch(stream, &args, workspace)
    }

    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        args: &SharedPrefixArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        let z = &self.core.sizes;
        // SAFETY: the checks (views fit their allocations, the page table's contract); the C
        // function validates again before launching.
        unsafe {
            ffi!(baracuda_kernels_flashinfer_shared_prefix_decode_run(
                z.element.code(),
                z.batch,
                z.page_size,
                z.head_dim,
                z.num_qo_heads,
                z.num_kv_heads,
                self.core.sm_scale,
                args.k_cache.raw.as_ptr() as *mut _,
                args.v_cache.raw.as_ptr() as *mut _,
                args.prefix.indices_ptr() as *mut _,
                args.prefix.indptr_ptr() as *mut _,
                args.prefix.last_page_len_ptr() as *mut _,
                args.q.raw.as_ptr(),
                args.o.raw.as_mut_ptr(),
                lse_ptr(&args.lse),
                workspace.as_mut_ptr(),
                workspace.bytes(),
                stream.as_raw(),
            ))
        }
    }
}

/// The tensors of one fused cascade.
#[derive(Debug)]
pub struct CascadeArgs<'a> {
    /// `[B, Hq, D]`.
    pub q: TensorRef<'a, 3>,
    /// `[num_pages, Hkv, P, D]`: the cache of the prefix's and the suffixes' pages.
    pub k_cache: TensorRef<'a, 4>,
    /// `[num_pages, Hkv, P, D]`.
    pub v_cache: TensorRef<'a, 4>,
    /// The shared prefix as a one-request table (`indptr [2]`, `last_page_len [1]`).
    pub prefix: PageTable<'a>,
    /// Each request's own pages (`indptr [B + 1]`, `last_page_len [B]`), over the SAME
    /// `indices` array as `prefix` (the C call takes one).
    pub suffixes: PageTable<'a>,
    /// `[B, Hq, D]`, written: the state over prefix and suffix.
    pub o: TensorMut<'a, 3>,
    /// `[B, Hq]` f32, written; `None`: not computed.
    pub lse: Option<TensorMut<'a, 2>>,
}

/// A validated fused cascade over a paged prefix (the C `cascade_decode_*`).
///
/// ```no_run
/// use baracuda_flashinfer::{CascadePlan, Element, ErrorKind, PrefixDesc, SharedPrefixPlan};
///
/// let desc = PrefixDesc {
///     batch_size: 64,
///     num_qo_heads: 32,
///     num_kv_heads: 8,
///     head_dim: 128,
///     page_size: 16,
///     element: Element::Bf16,
///     ..PrefixDesc::default()
/// };
/// match CascadePlan::new(&desc) {
///     Ok(fused) => println!("fused cascade, {} bytes of workspace", fused.workspace_size()),
///     // Not on this device: shared prefix + decode over the suffixes + merge.
///     Err(e) if e.kind() == ErrorKind::Unsupported => {
///         let _prefix = SharedPrefixPlan::new(&desc)?;
///     }
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CascadePlan {
    core: PrefixCore,
}

impl CascadePlan {
    /// Validates `desc` with the C `_can_implement` (which asks the current device: without a
    /// compute-capability 9.0 GPU and the sm_90a build the answer is
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)) and sizes the workspace.
    pub fn new(desc: &PrefixDesc) -> Result<Self> {
        let core = PrefixCore::new(
            desc,
            "CascadePlan::new",
            (
                sys::baracuda_kernels_flashinfer_cascade_decode_can_implement,
                "baracuda_kernels_flashinfer_cascade_decode_can_implement",
            ),
            (
                sys::baracuda_kernels_flashinfer_cascade_decode_get_workspace_size,
                "baracuda_kernels_flashinfer_cascade_decode_get_workspace_size",
            ),
        )?;
        Ok(CascadePlan { core })
    }

    /// The plan without asking the C library or the device (host tests).
    #[cfg(test)]
    pub(crate) fn without_device(desc: &PrefixDesc, workspace_bytes: usize) -> Self {
        CascadePlan {
            core: PrefixCore::without_device(desc, workspace_bytes),
        }
    }

    prefix_plan_accessors!();

    /// Checks the tensors and the workspace against the plan; enqueues nothing.
    pub fn check(&self, args: &CascadeArgs<'_>, workspace: &Workspace<'_>) -> Result<()> {
        let c = Check {
            function: "CascadePlan::run",
        };
        let z = &self.core.sizes;
        z.check_tensors(
            &c,
            &args.q,
            &args.k_cache,
            &args.v_cache,
            &args.o,
            &args.lse,
            false,
        )?;
        self.core.check_prefix(&c, &args.prefix)?;
        self.core.check_suffixes(&c, &args.suffixes)?;
        let (prefix, suffixes) = (args.prefix.indices(), args.suffixes.indices());
        if prefix.device_ptr() != suffixes.device_ptr() || prefix.len() != suffixes.len() {
            return Err(c.fail(
                crate::ErrorKind::InvalidProblem,
                format!(
                    "suffixes.indices ({:#x}, {} ids) must be the prefix's indices ({:#x}, {} \
                     ids): the fused cascade reads both page lists from one array",
                    suffixes.device_ptr(),
                    suffixes.len(),
                    prefix.device_ptr(),
                    prefix.len()
                ),
            ));
        }
        c.workspace(workspace, self.core.workspace_bytes, "CascadePlan")
    }

    /// Checks ([`check`](Self::check)), then enqueues on `stream`. Graph-capturable.
    pub fn run(
        &self,
        stream: Stream<'_>,
        args: CascadeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        self.check(&args, workspace)?;
        self.launch(stream, &args, workspace)
    }

    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        args: &CascadeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        let z = &self.core.sizes;
        // SAFETY: the checks (views fit their allocations, the page tables' contract); the C
        // function validates again before launching.
        unsafe {
            ffi!(baracuda_kernels_flashinfer_cascade_decode_run(
                z.element.code(),
                z.batch,
                z.page_size,
                z.head_dim,
                z.num_qo_heads,
                z.num_kv_heads,
                self.core.sm_scale,
                args.k_cache.raw.as_ptr() as *mut _,
                args.v_cache.raw.as_ptr() as *mut _,
                args.prefix.indices_ptr() as *mut _,
                args.prefix.indptr_ptr() as *mut _,
                args.prefix.last_page_len_ptr() as *mut _,
                args.suffixes.indptr_ptr() as *mut _,
                args.suffixes.last_page_len_ptr() as *mut _,
                args.q.raw.as_ptr(),
                args.o.raw.as_mut_ptr(),
                lse_ptr(&args.lse),
                workspace.as_mut_ptr(),
                workspace.bytes(),
                stream.as_raw(),
            ))
        }
    }
}

/// The tensors of one fused cascade over a dense prefix.
#[derive(Debug)]
pub struct DensePrefixCascadeArgs<'a> {
    /// `[B, Hq, D]`.
    pub q: TensorRef<'a, 3>,
    /// `[L, Hkv, D]` in the KV dtype, `1 <= L < 2^31`: the prefix's keys. `head_dim` dense;
    /// the strides of L and Hkv are free (`[L, Hkv, D]` contiguous is NHD; strides
    /// `[D, L * D, 1]` are HND) but must be the same as `v_prefix`'s; the C run adds TMA's rules
    /// (multiples of 8 elements, at least `head_dim`).
    pub k_prefix: TensorRef<'a, 3>,
    /// `[L, Hkv, D]`: the prefix's values, strided as `k_prefix`.
    pub v_prefix: TensorRef<'a, 3>,
    /// `[num_pages, Hkv, P, D]`: the suffixes' cache.
    pub k_cache: TensorRef<'a, 4>,
    /// `[num_pages, Hkv, P, D]`.
    pub v_cache: TensorRef<'a, 4>,
    /// Each request's own pages (`indptr [B + 1]`, `last_page_len [B]`).
    pub suffixes: PageTable<'a>,
    /// `[B, Hq, D]`, written.
    pub o: TensorMut<'a, 3>,
    /// `[B, Hq]` f32, written; `None`: not computed.
    pub lse: Option<TensorMut<'a, 2>>,
}

/// A validated fused cascade over a dense prefix (the C `cascade_decode_dense_prefix_*`).
///
/// The prefix's K and V as `[L, Hkv, D]` views, NHD (contiguous) or HND (strided):
///
/// ```
/// use baracuda_flashinfer::{DeviceSlice, F16};
///
/// let (len, hkv, d) = (1000, 8, 128);
/// // SAFETY: (in real code) a live allocation of len * hkv * d f16 values.
/// let k = unsafe { DeviceSlice::<F16>::from_raw(0x7000_0000, len * hkv * d) };
/// let nhd = k.tensor([len, hkv, d]);
/// let hnd = k.tensor_strided([len, hkv, d], [d, len * d, 1]);
/// assert_eq!(nhd.strides(), [hkv * d, d, 1]);
/// assert!(!hnd.is_contiguous());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DensePrefixCascadePlan {
    core: PrefixCore,
}

impl DensePrefixCascadePlan {
    /// Validates `desc` with the C `_can_implement` (which asks the current device, as
    /// [`CascadePlan::new`]) and sizes the workspace.
    pub fn new(desc: &PrefixDesc) -> Result<Self> {
        let core = PrefixCore::new(
            desc,
            "DensePrefixCascadePlan::new",
            (
                sys::baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement,
                "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement",
            ),
            (
                sys::baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size,
                "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size",
            ),
        )?;
        Ok(DensePrefixCascadePlan { core })
    }

    /// The plan without asking the C library or the device (host tests).
    #[cfg(test)]
    pub(crate) fn without_device(desc: &PrefixDesc, workspace_bytes: usize) -> Self {
        DensePrefixCascadePlan {
            core: PrefixCore::without_device(desc, workspace_bytes),
        }
    }

    prefix_plan_accessors!();

    /// Checks the tensors and the workspace against the plan; enqueues nothing.
    pub fn check(
        &self,
        args: &DensePrefixCascadeArgs<'_>,
        workspace: &Workspace<'_>,
    ) -> Result<()> {
        let c = Check {
            function: "DensePrefixCascadePlan::run",
        };
        let z = &self.core.sizes;
        z.check_tensors(
            &c,
            &args.q,
            &args.k_cache,
            &args.v_cache,
            &args.o,
            &args.lse,
            false,
        )?;
        let x = &self.core.desc;
        let prefix = Expect {
            dtype: x.element.kv_dtype(),
            shape: [ANY, x.num_kv_heads, x.head_dim],
            dims: ["prefix_len", "num_kv_heads", "head_dim"],
            align: 16,
            dense_from: 2,
        };
        let (k, v) = (&args.k_prefix.raw, &args.v_prefix.raw);
        c.tensor("k_prefix", k, &prefix)?;
        c.tensor("v_prefix", v, &prefix)?;
        c.same(
            "v_prefix",
            0,
            "prefix_len",
            v.shape[0],
            "k_prefix",
            k.shape[0],
        )?;
        for i in 0..2 {
            // The C run takes one pair of strides for both.
            if k.shape[i] > 1 && v.strides[i] != k.strides[i] {
                return Err(c.fail(
                    crate::ErrorKind::InvalidProblem,
                    format!(
                        "v_prefix: stride of dimension {i} ({}) is {}, expected {} (as k_prefix)",
                        prefix.dims[i], v.strides[i], k.strides[i]
                    ),
                ));
            }
        }
        let len = k.shape[0];
        if len == 0 || to_i32(c.function, "prefix_len", len).is_err() {
            return Err(c.fail(
                crate::ErrorKind::InvalidProblem,
                format!("k_prefix: dimension 0 (prefix_len) is {len}, must be in [1, 2^31)"),
            ));
        }
        self.core.check_suffixes(&c, &args.suffixes)?;
        c.workspace(
            workspace,
            self.core.workspace_bytes,
            "DensePrefixCascadePlan",
        )
    }

    /// Checks ([`check`](Self::check)), then enqueues on `stream`. Graph-capturable (the
    /// prefix length is a host value a capture bakes in).
    pub fn run(
        &self,
        stream: Stream<'_>,
        args: DensePrefixCascadeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        self.check(&args, workspace)?;
        self.launch(stream, &args, workspace)
    }

    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        args: &DensePrefixCascadeArgs<'_>,
        workspace: &mut Workspace<'_>,
    ) -> Result<()> {
        let z = &self.core.sizes;
        let k = &args.k_prefix.raw;
        // prefix_len was checked to fit; a stride the view never steps along (a dimension of
        // size 1) is free, and the C run checks TMA's rules on both.
        let len = k.shape[0] as i32;
        let stride = |i: usize| i64::try_from(k.strides[i]).unwrap_or(i64::MAX);
        let (stride_token, stride_head) = (stride(0), stride(1));
        // SAFETY: the checks (views fit their allocations, the page table's contract); the C
        // function validates again (TMA's stride rules included) before launching.
        unsafe {
            ffi!(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
                z.element.code(),
                z.batch,
                z.page_size,
                z.head_dim,
                z.num_qo_heads,
                z.num_kv_heads,
                self.core.sm_scale,
                k.as_ptr(),
                args.v_prefix.raw.as_ptr(),
                len,
                stride_token,
                stride_head,
                args.k_cache.raw.as_ptr() as *mut _,
                args.v_cache.raw.as_ptr() as *mut _,
                args.suffixes.indices_ptr() as *mut _,
                args.suffixes.indptr_ptr() as *mut _,
                args.suffixes.last_page_len_ptr() as *mut _,
                args.q.raw.as_ptr(),
                args.o.raw.as_mut_ptr(),
                lse_ptr(&args.lse),
                workspace.as_mut_ptr(),
                workspace.bytes(),
                stream.as_raw(),
            ))
        }
    }
}
