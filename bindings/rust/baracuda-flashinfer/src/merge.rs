//! Attention-state merge (cascade / split-KV). An attention state over a set of KV tokens is
//! `(v, s)`: `v` the softmax-weighted sum of V, `s` the base-2 log-sum-exp (as decode writes
//! it). States over disjoint sets merge exactly into the state over their union:
//!
//! ```text
//! m = max_i s_i,  w_i = 2^(s_i - m),  v = sum_i w_i v_i / sum_i w_i,  s = m + log2 sum_i w_i
//! ```
//!
//! The empty state `(0, -inf)` is the identity. Natural-log LSEs (FlashAttention, vLLM)
//! convert with `s2 = s_e / ln 2`. Rows `(position, head)` are independent; `v` tensors are
//! `[.., H, D]` of the plan's dtype (f16, bf16, f32), `s` tensors `[.., H]` f32; the math runs
//! in f32 and `v` is rounded once, on the final store.
//!
//! - [`MergeInPlacePlan`]: `(v, s) <- merge((v, s), (v_other, s_other))`.
//! - [`MergeStatesPlan`]: N states per position, `[seq, N, H, D] -> [seq, H, D]`.
//! - [`MergeVarlenPlan`]: a variable number of state rows per position, through an `indptr`.
use crate::check::{to_i32, Check, Expect, ANY};
use crate::dtype::{float_variant, DType};
use crate::error::{ffi, Result};
use crate::memory::DeviceSlice;
use crate::stream::Stream;
use crate::tensor::{TensorMut, TensorRef};

/// What a merge plan is for: `seq_len` positions of `num_heads` heads of `head_dim` values.
///
/// ```
/// use baracuda_flashinfer::{DType, MergeDesc, MergeInPlacePlan, MergeStatesPlan};
///
/// let desc = MergeDesc { seq_len: 64, num_heads: 32, head_dim: 128, dtype: DType::Bf16 };
/// let in_place = MergeInPlacePlan::new(&desc)?;
/// let four_way = MergeStatesPlan::new(&desc, 4)?;
/// assert_eq!(four_way.num_states(), 4);
/// # let _ = in_place;
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeDesc {
    /// Positions (rows of states).
    pub seq_len: usize,
    /// H.
    pub num_heads: usize,
    /// D: 64, 128 or 256.
    pub head_dim: usize,
    /// Of the `v` tensors: f16, bf16 or f32 (`s` is always f32).
    pub dtype: DType,
}

impl Default for MergeDesc {
    /// Zero sizes (set them) and f16.
    fn default() -> Self {
        MergeDesc {
            seq_len: 0,
            num_heads: 0,
            head_dim: 0,
            dtype: DType::F16,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Sizes {
    seq_len: i32,
    num_heads: i32,
    head_dim: i32,
    variant: usize,
}

impl Sizes {
    fn new(function: &'static str, d: &MergeDesc) -> Result<Sizes> {
        Ok(Sizes {
            seq_len: to_i32(function, "seq_len", d.seq_len)?,
            num_heads: to_i32(function, "num_heads", d.num_heads)?,
            head_dim: to_i32(function, "head_dim", d.head_dim)?,
            variant: float_variant(d.dtype, function)?,
        })
    }
}

/// The expectation for a `v` tensor of shape `shape` and an `s` tensor of `shape` minus D.
fn v_expect<'n, const N: usize>(
    dtype: DType,
    shape: [usize; N],
    dims: [&'n str; N],
) -> Expect<'n, N> {
    Expect {
        dtype,
        shape,
        dims,
        align: 16,
        dense_from: 0,
    }
}

fn s_expect<'n, const N: usize>(shape: [usize; N], dims: [&'n str; N]) -> Expect<'n, N> {
    Expect {
        dtype: DType::F32,
        shape,
        dims,
        align: 4,
        dense_from: 0,
    }
}

const ROW_DIMS: [&str; 3] = ["seq_len", "num_heads", "head_dim"];
const LSE_DIMS: [&str; 2] = ["seq_len", "num_heads"];

/// The tensors of one in-place merge.
#[derive(Debug)]
pub struct MergeInPlaceArgs<'a> {
    /// `[seq, H, D]`: the first state's `v`, read and overwritten with the merged one.
    pub v: TensorMut<'a, 3>,
    /// `[seq, H]` f32: the first state's `s`, read and overwritten.
    pub s: TensorMut<'a, 2>,
    /// `[seq, H, D]`: the second state's `v`.
    pub v_other: TensorRef<'a, 3>,
    /// `[seq, H]` f32: the second state's `s`.
    pub s_other: TensorRef<'a, 2>,
}

/// A validated in-place merge of two states (the C `merge_state_in_place_<dtype>_*`); no
/// workspace, no GPU needed to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeInPlacePlan {
    desc: MergeDesc,
    sizes: Sizes,
}

impl MergeInPlacePlan {
    /// Validates `desc` with the C `_can_implement` of its dtype.
    pub fn new(desc: &MergeDesc) -> Result<Self> {
        let z = Sizes::new("MergeInPlacePlan::new", desc)?;
        let (n, h, d) = (z.seq_len, z.num_heads, z.head_dim);
        // SAFETY: pure queries of sizes.
        unsafe {
            match z.variant {
                0 => ffi!(
                    baracuda_kernels_flashinfer_merge_state_in_place_f16_can_implement(n, h, d)
                ),
                1 => ffi!(
                    baracuda_kernels_flashinfer_merge_state_in_place_bf16_can_implement(n, h, d)
                ),
                _ => ffi!(
                    baracuda_kernels_flashinfer_merge_state_in_place_f32_can_implement(n, h, d)
                ),
            }?;
        }
        Ok(MergeInPlacePlan {
            desc: desc.clone(),
            sizes: z,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &MergeDesc {
        &self.desc
    }

    /// 0: merges need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &MergeInPlaceArgs<'_>) -> Result<()> {
        let c = Check {
            function: "MergeInPlacePlan::run",
        };
        let x = &self.desc;
        let rows = v_expect(x.dtype, [x.seq_len, x.num_heads, x.head_dim], ROW_DIMS);
        let lse = s_expect([x.seq_len, x.num_heads], LSE_DIMS);
        c.tensor("v", &args.v.raw, &rows)?;
        c.tensor("s", &args.s.raw, &lse)?;
        c.tensor("v_other", &args.v_other.raw, &rows)?;
        c.tensor("s_other", &args.s_other.raw, &lse)
    }

    /// Checks ([`check`](Self::check)), then enqueues the merge on `stream`. Graph-capturable.
    pub fn run(&self, stream: Stream<'_>, args: MergeInPlaceArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &MergeInPlaceArgs<'_>) -> Result<()> {
        let z = &self.sizes;
        let (n, h, d) = (z.seq_len, z.num_heads, z.head_dim);
        let (v, s) = (args.v.raw.as_mut_ptr(), args.s.raw.as_mut_ptr());
        let (vo, so, st) = (
            args.v_other.raw.as_ptr(),
            args.s_other.raw.as_ptr(),
            stream.as_raw(),
        );
        // SAFETY: the checks (every view fits its allocation); the C function validates again.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_merge_state_in_place_f16_run(
                    n, h, d, v, s, vo, so, st
                )),
                1 => ffi!(baracuda_kernels_flashinfer_merge_state_in_place_bf16_run(
                    n, h, d, v, s, vo, so, st
                )),
                _ => ffi!(baracuda_kernels_flashinfer_merge_state_in_place_f32_run(
                    n, h, d, v, s, vo, so, st
                )),
            }
        }
    }
}

/// The tensors of one N-way merge.
#[derive(Debug)]
pub struct MergeStatesArgs<'a> {
    /// `[seq, N, H, D]`: the states' `v`.
    pub v: TensorRef<'a, 4>,
    /// `[seq, N, H]` f32: the states' `s`.
    pub s: TensorRef<'a, 3>,
    /// `[seq, H, D]`, written.
    pub v_merged: TensorMut<'a, 3>,
    /// `[seq, H]` f32, written; `None`: not computed.
    pub s_merged: Option<TensorMut<'a, 2>>,
}

/// A validated merge of N states per position (the C `merge_states_<dtype>_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeStatesPlan {
    desc: MergeDesc,
    sizes: Sizes,
    num_states: i32,
}

impl MergeStatesPlan {
    /// Validates `desc` for `num_states` states per position with the C `_can_implement` of
    /// its dtype.
    pub fn new(desc: &MergeDesc, num_states: usize) -> Result<Self> {
        const F: &str = "MergeStatesPlan::new";
        let z = Sizes::new(F, desc)?;
        let k = to_i32(F, "num_states", num_states)?;
        let (n, h, d) = (z.seq_len, z.num_heads, z.head_dim);
        // SAFETY: pure queries of sizes.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_merge_states_f16_can_implement(
                    k, n, h, d
                )),
                1 => ffi!(baracuda_kernels_flashinfer_merge_states_bf16_can_implement(
                    k, n, h, d
                )),
                _ => ffi!(baracuda_kernels_flashinfer_merge_states_f32_can_implement(
                    k, n, h, d
                )),
            }?;
        }
        Ok(MergeStatesPlan {
            desc: desc.clone(),
            sizes: z,
            num_states: k,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &MergeDesc {
        &self.desc
    }

    /// N: states merged per position.
    pub fn num_states(&self) -> usize {
        self.num_states as usize
    }

    /// 0: merges need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &MergeStatesArgs<'_>) -> Result<()> {
        let c = Check {
            function: "MergeStatesPlan::run",
        };
        let x = &self.desc;
        let (n, k, h, d) = (x.seq_len, self.num_states(), x.num_heads, x.head_dim);
        let dims4 = ["seq_len", "num_states", "num_heads", "head_dim"];
        c.tensor("v", &args.v.raw, &v_expect(x.dtype, [n, k, h, d], dims4))?;
        let dims3 = ["seq_len", "num_states", "num_heads"];
        c.tensor("s", &args.s.raw, &s_expect([n, k, h], dims3))?;
        c.tensor(
            "v_merged",
            &args.v_merged.raw,
            &v_expect(x.dtype, [n, h, d], ROW_DIMS),
        )?;
        if let Some(s_merged) = &args.s_merged {
            c.tensor("s_merged", &s_merged.raw, &s_expect([n, h], LSE_DIMS))?;
        }
        Ok(())
    }

    /// Checks ([`check`](Self::check)), then enqueues the merge on `stream`. Graph-capturable.
    pub fn run(&self, stream: Stream<'_>, args: MergeStatesArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &MergeStatesArgs<'_>) -> Result<()> {
        let z = &self.sizes;
        let (k, n, h, d) = (self.num_states, z.seq_len, z.num_heads, z.head_dim);
        let (v, s) = (args.v.raw.as_ptr(), args.s.raw.as_ptr());
        let vm = args.v_merged.raw.as_mut_ptr();
        let sm = crate::attention::lse_ptr(&args.s_merged);
        let st = stream.as_raw();
        // SAFETY: the checks (every view fits its allocation); the C function validates again.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_merge_states_f16_run(
                    k, n, h, d, v, s, vm, sm, st
                )),
                1 => ffi!(baracuda_kernels_flashinfer_merge_states_bf16_run(
                    k, n, h, d, v, s, vm, sm, st
                )),
                _ => ffi!(baracuda_kernels_flashinfer_merge_states_f32_run(
                    k, n, h, d, v, s, vm, sm, st
                )),
            }
        }
    }
}

/// The tensors of one variable-length merge.
#[derive(Debug)]
pub struct MergeVarlenArgs<'a> {
    /// `[rows, H, D]`: every state's `v`; position `p` merges rows `indptr[p] .. indptr[p+1]`.
    pub v: TensorRef<'a, 3>,
    /// `[rows, H]` f32: every state's `s`.
    pub s: TensorRef<'a, 2>,
    /// `[seq + 1]`: non-decreasing row offsets from 0.
    pub indptr: DeviceSlice<'a, i32>,
    /// `[seq, H, D]`, written (positions with no row get 0).
    pub v_merged: TensorMut<'a, 3>,
    /// `[seq, H]` f32, written (positions with no row get -inf); `None`: not computed.
    pub s_merged: Option<TensorMut<'a, 2>>,
}

/// A validated variable-length merge (the C `merge_states_varlen_<dtype>_*`).
///
/// ```
/// use baracuda_flashinfer::{DType, MergeDesc, MergeVarlenPlan};
///
/// let plan = MergeVarlenPlan::new(&MergeDesc {
///     seq_len: 64,
///     num_heads: 8,
///     head_dim: 128,
///     dtype: DType::F16,
/// })?;
/// assert_eq!(plan.workspace_size(), 0);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeVarlenPlan {
    desc: MergeDesc,
    sizes: Sizes,
}

impl MergeVarlenPlan {
    /// Validates `desc` with the C `_can_implement` of its dtype.
    pub fn new(desc: &MergeDesc) -> Result<Self> {
        let z = Sizes::new("MergeVarlenPlan::new", desc)?;
        let (n, h, d) = (z.seq_len, z.num_heads, z.head_dim);
        // SAFETY: pure queries of sizes.
        unsafe {
            match z.variant {
                0 => {
                    ffi!(baracuda_kernels_flashinfer_merge_states_varlen_f16_can_implement(n, h, d))
                }
                1 => ffi!(
                    baracuda_kernels_flashinfer_merge_states_varlen_bf16_can_implement(n, h, d)
                ),
                _ => {
                    ffi!(baracuda_kernels_flashinfer_merge_states_varlen_f32_can_implement(n, h, d))
                }
            }?;
        }
        Ok(MergeVarlenPlan {
            desc: desc.clone(),
            sizes: z,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &MergeDesc {
        &self.desc
    }

    /// 0: merges need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &MergeVarlenArgs<'_>) -> Result<()> {
        let c = Check {
            function: "MergeVarlenPlan::run",
        };
        let x = &self.desc;
        let (n, h, d) = (x.seq_len, x.num_heads, x.head_dim);
        let rows = ["rows", "num_heads", "head_dim"];
        c.tensor("v", &args.v.raw, &v_expect(x.dtype, [ANY, h, d], rows))?;
        c.tensor("s", &args.s.raw, &s_expect([ANY, h], ["rows", "num_heads"]))?;
        c.same(
            "s",
            0,
            "rows",
            args.s.raw.shape[0],
            "v",
            args.v.raw.shape[0],
        )?;
        c.len("indptr", &args.indptr, n + 1, "seq_len + 1")?;
        c.tensor(
            "v_merged",
            &args.v_merged.raw,
            &v_expect(x.dtype, [n, h, d], ROW_DIMS),
        )?;
        if let Some(s_merged) = &args.s_merged {
            c.tensor("s_merged", &s_merged.raw, &s_expect([n, h], LSE_DIMS))?;
        }
        Ok(())
    }

    /// Checks ([`check`](Self::check)), then enqueues the merge on `stream`. Graph-capturable.
    ///
    /// # Safety
    ///
    /// When the work runs, `indptr` (device memory, which no host check can read) is
    /// non-decreasing from `indptr[0] = 0` with `indptr[seq_len] <= ` the rows of `v` and `s`,
    /// and `indptr[seq_len] * num_heads * head_dim < 2^32`.
    pub unsafe fn run(&self, stream: Stream<'_>, args: MergeVarlenArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &MergeVarlenArgs<'_>) -> Result<()> {
        let z = &self.sizes;
        let (n, h, d) = (z.seq_len, z.num_heads, z.head_dim);
        let (v, s, ip) = (
            args.v.raw.as_ptr(),
            args.s.raw.as_ptr(),
            args.indptr.as_ptr(),
        );
        let vm = args.v_merged.raw.as_mut_ptr();
        let sm = crate::attention::lse_ptr(&args.s_merged);
        let st = stream.as_raw();
        // SAFETY: the checks, and `run`'s contract on indptr; the C function validates again.
        unsafe {
            match z.variant {
                0 => ffi!(baracuda_kernels_flashinfer_merge_states_varlen_f16_run(
                    n, h, d, v, s, ip, vm, sm, st
                )),
                1 => ffi!(baracuda_kernels_flashinfer_merge_states_varlen_bf16_run(
                    n, h, d, v, s, ip, vm, sm, st
                )),
                _ => ffi!(baracuda_kernels_flashinfer_merge_states_varlen_f32_run(
                    n, h, d, v, s, ip, vm, sm, st
                )),
            }
        }
    }
}
