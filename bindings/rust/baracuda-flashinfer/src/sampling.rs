//! Sort-free sampling: one token id per row of a `[batch, vocab]` matrix.
//!
//! - [`SamplingPlan`]: from probabilities (f32, rows summing to 1), with no filter or a top-k,
//!   top-p, min-p or joint top-k + top-p filter; thresholds for every row or per row
//!   ([`PerRow`]).
//! - [`LogitsSamplingPlan`]: from logits (f32, f16, bf16; softmax implied, Gumbel-max).
//! - [`SpeculativePlan`]: chain speculative sampling (verification of draft tokens).
//! - [`FilterPlan`]: top-k / top-p renormalisation of probabilities and top-k masking of
//!   logits.
//!
//! Randomness ([`Rng`]): Philox with a `seed` and an `offset` counted in 32-bit draws. The
//! kernels never advance a host offset: between calls that must draw fresh numbers, advance it
//! by at least the plan's [`offset_step`](SamplingPlan::offset_step). For CUDA graphs pass
//! the offset in device memory ([`Offset::Device`]): the call reads it when it runs and
//! advances it by the step itself, so every replay draws fresh tokens and resetting it replays
//! the same sequence. A host value is baked into a captured graph (every replay repeats the
//! same draws).
//!
//! The C header's "Sort-free sampling" section has the exact target distributions, the
//! handling of malformed rows and of per-row thresholds outside their range (defined for
//! every value: never an out-of-range token or a hang).
use crate::check::{row_alignment, to_i32, Check, Expect};
use crate::dtype::{float_variant, DType};
use crate::error::{ffi, Error, ErrorKind, Result};
use crate::memory::{DeviceSlice, DeviceSliceMut};
use crate::stream::Stream;
use crate::sys;
use crate::tensor::{TensorMut, TensorRef};

use core::ffi::c_void;
use core::ptr;

/// The seed of a draw: a value, or a device `u64` read when the kernel runs (element 0).
#[derive(Copy, Clone, Debug)]
pub enum Seed<'a> {
    /// A host value (baked into a captured graph).
    Value(u64),
    /// A device `u64` (8-byte aligned), read when the work runs.
    Device(DeviceSlice<'a, u64>),
}

/// The Philox offset of a draw: a value, or a device `u64` that the call reads when it runs
/// and then advances by the plan's offset step (graph replays draw fresh numbers).
#[derive(Debug)]
pub enum Offset<'a> {
    /// A host value (baked into a captured graph); advance it yourself between calls.
    Value(u64),
    /// A device `u64` (8-byte aligned): read, then advanced by the step, by the same enqueue.
    Device(DeviceSliceMut<'a, u64>),
}

/// Where a sampler's random numbers come from.
///
/// ```
/// use baracuda_flashinfer::{Offset, Rng, Seed};
///
/// let eager = Rng::new(42, 0); // host seed and offset
/// assert!(matches!(eager.seed, Seed::Value(42)));
/// assert!(matches!(eager.offset, Offset::Value(0)));
/// ```
#[derive(Debug)]
pub struct Rng<'a> {
    /// The seed.
    pub seed: Seed<'a>,
    /// The offset.
    pub offset: Offset<'a>,
}

impl Rng<'static> {
    /// Host seed and offset.
    pub fn new(seed: u64, offset: u64) -> Self {
        Rng {
            seed: Seed::Value(seed),
            offset: Offset::Value(offset),
        }
    }
}

/// The C arguments of an [`Rng`]: (seed_val, seed_ptr, offset_val, offset_ptr).
struct RngArgs(u64, *const c_void, u64, *mut c_void);

impl Rng<'_> {
    fn check(&self, c: &Check) -> Result<()> {
        if let Seed::Device(seed) = &self.seed {
            c.min_len("rng.seed", seed, 1, "one u64")?;
        }
        if let Offset::Device(offset) = &self.offset {
            c.min_len("rng.offset", &offset.as_slice(), 1, "one u64")?;
        }
        Ok(())
    }

    fn args(&self) -> RngArgs {
        let (seed_val, seed_ptr) = match &self.seed {
            Seed::Value(v) => (*v, ptr::null()),
            Seed::Device(s) => (0, s.as_ptr()),
        };
        let (offset_val, offset_ptr) = match &self.offset {
            Offset::Value(v) => (*v, ptr::null_mut()),
            Offset::Device(o) => (0, o.as_slice().as_ptr() as *mut c_void),
        };
        RngArgs(seed_val, seed_ptr, offset_val, offset_ptr)
    }
}

/// Per-row thresholds, replacing the plan's scalar ones for every row (device arrays of
/// `[batch]`; read when the kernel runs, never range-checked: the C header says what each
/// out-of-range value does). `Default`: none.
///
/// ```
/// use baracuda_flashinfer::{DeviceSlice, PerRow};
///
/// // SAFETY: (in real code) a live device array of 32 i32 values.
/// let k = unsafe { DeviceSlice::<i32>::from_raw(0x7000_0000, 32) };
/// let per_row = PerRow { top_k: Some(k), ..PerRow::default() };
/// assert!(per_row.p.is_none());
/// ```
#[derive(Copy, Clone, Debug, Default)]
pub struct PerRow<'a> {
    /// Each row's `k` (top-k samplers and filters).
    pub top_k: Option<DeviceSlice<'a, i32>>,
    /// Each row's `p`: top-p for the top-p and top-k + top-p samplers and the top-p filter,
    /// min-p for the min-p sampler.
    pub p: Option<DeviceSlice<'a, f32>>,
}

impl PerRow<'_> {
    /// Checks the arrays against `batch`; `takes_k` / `takes_p` say which `what` accepts.
    fn check(
        &self,
        c: &Check,
        batch: usize,
        what: &str,
        takes_k: bool,
        takes_p: bool,
    ) -> Result<()> {
        for (given, takes, name, kind) in [
            (self.top_k.is_some(), takes_k, "per_row.top_k", "k"),
            (self.p.is_some(), takes_p, "per_row.p", "p"),
        ] {
            if given && !takes {
                return Err(c.fail(
                    ErrorKind::InvalidProblem,
                    format!("{name}: {what} takes no per-row {kind}"),
                ));
            }
        }
        if let Some(k) = &self.top_k {
            c.len("per_row.top_k", k, batch, "batch")?;
        }
        if let Some(p) = &self.p {
            c.len("per_row.p", p, batch, "batch")?;
        }
        Ok(())
    }

    fn k_ptr(&self) -> *const c_void {
        self.top_k.map_or(ptr::null(), |k| k.as_ptr())
    }

    fn p_ptr(&self) -> *const c_void {
        self.p.map_or(ptr::null(), |p| p.as_ptr())
    }
}

/// A `k` as the C ABI's `int32_t`: any `k` at or above 2^31 keeps every entry, as `i32::MAX`
/// does (vocabularies are below 2^31).
fn k_value(k: u32) -> i32 {
    k.min(i32::MAX as u32) as i32
}

/// The filter of a [`SamplingPlan`], with its scalar thresholds (checked by the C library:
/// `k >= 1`, `p` in (0, 1]).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Sampler {
    /// `p(i) / sum(p)`: no filter.
    FromProbs,
    /// The `k` most probable entries (ties at the cut-off all kept), renormalised.
    TopK {
        /// `k >= 1`; `k >= vocab` keeps everything.
        k: u32,
    },
    /// The smallest head of the sorted row whose mass reaches `p` (plus ties), renormalised.
    TopP {
        /// In (0, 1].
        p: f32,
    },
    /// The entries with `p(i) >= max(p) * p`, renormalised.
    MinP {
        /// In (0, 1].
        p: f32,
    },
    /// Both top-k and top-p at once (FlashInfer's joint order), renormalised.
    TopKTopP {
        /// `k >= 1`.
        k: u32,
        /// In (0, 1].
        p: f32,
    },
}

impl Sampler {
    fn name(&self) -> &'static str {
        match self {
            Sampler::FromProbs => "the from_probs sampler",
            Sampler::TopK { .. } => "the top_k sampler",
            Sampler::TopP { .. } => "the top_p sampler",
            Sampler::MinP { .. } => "the min_p sampler",
            Sampler::TopKTopP { .. } => "the top_k_top_p sampler",
        }
    }
}

/// What a [`SamplingPlan`] is for.
///
/// ```
/// use baracuda_flashinfer::{Sampler, SamplingDesc, SamplingPlan};
///
/// let plan = SamplingPlan::new(&SamplingDesc {
///     batch_size: 32,
///     vocab_size: 128_256,
///     sampler: Sampler::TopKTopP { k: 50, p: 0.9 },
///     ..SamplingDesc::default()
/// })?;
/// assert_eq!(plan.offset_step(), 256); // rejection samplers draw up to 256 numbers a row
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingDesc {
    /// Rows.
    pub batch_size: usize,
    /// Entries per row.
    pub vocab_size: usize,
    /// The filter and its scalar thresholds.
    pub sampler: Sampler,
    /// FlashInfer's fixed-order block scan for the running CDF (default): the same draws
    /// across CUB versions too. Either way the same call repeats bit-exactly on the same build
    /// and GPU model.
    pub deterministic: bool,
}

impl Default for SamplingDesc {
    /// Zero sizes (set them), no filter, deterministic.
    fn default() -> Self {
        SamplingDesc {
            batch_size: 0,
            vocab_size: 0,
            sampler: Sampler::FromProbs,
            deterministic: true,
        }
    }
}

/// The tensors of one sampling run.
#[derive(Debug)]
pub struct SamplingArgs<'a> {
    /// `[batch, vocab]` f32, each row a distribution; aligned to `4 * gcd(4, vocab)` bytes.
    pub probs: TensorRef<'a, 2>,
    /// `[batch]`: the drawn token ids, always in `[0, vocab)`.
    pub output: DeviceSliceMut<'a, i32>,
    /// `[batch]` byte flags, written: 0 when no entry of the row could be drawn (then the
    /// token is 0); `None`: not written.
    pub valid: Option<DeviceSliceMut<'a, u8>>,
    /// Per-row thresholds replacing the plan's scalars; `PerRow::default()` for none.
    pub per_row: PerRow<'a>,
    /// Seed and offset.
    pub rng: Rng<'a>,
}

/// A validated sampler over probabilities (the C `*_sampling_f32_*`; runs go through the
/// `_ex` entry points, which take every option). Needs no workspace and no GPU to build.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingPlan {
    desc: SamplingDesc,
    batch: i32,
    vocab: i32,
}

impl SamplingPlan {
    /// Validates `desc` (sizes and scalar thresholds) with the sampler's C `_can_implement`.
    pub fn new(desc: &SamplingDesc) -> Result<Self> {
        const F: &str = "SamplingPlan::new";
        let b = to_i32(F, "batch_size", desc.batch_size)?;
        let v = to_i32(F, "vocab_size", desc.vocab_size)?;
        // SAFETY: pure queries of sizes and thresholds.
        unsafe {
            match desc.sampler {
                Sampler::FromProbs => {
                    ffi!(baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(b, v))
                }
                Sampler::TopK { k } => ffi!(
                    baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(b, v, k_value(k))
                ),
                Sampler::TopP { p } => {
                    ffi!(baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(b, v, p))
                }
                Sampler::MinP { p } => {
                    ffi!(baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(b, v, p))
                }
                Sampler::TopKTopP { k, p } => {
                    ffi!(
                        baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(
                            b,
                            v,
                            k_value(k),
                            p
                        )
                    )
                }
            }?;
        }
        Ok(SamplingPlan {
            desc: desc.clone(),
            batch: b,
            vocab: v,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &SamplingDesc {
        &self.desc
    }

    /// 0: samplers need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// The 32-bit draws per row one run may consume: the least a host offset must advance
    /// between runs that must draw fresh numbers (a device offset is advanced by this).
    pub fn offset_step(&self) -> u64 {
        u64::from(match self.desc.sampler {
            Sampler::FromProbs | Sampler::MinP { .. } => {
                sys::BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE
            }
            _ => sys::BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION,
        })
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &SamplingArgs<'_>) -> Result<()> {
        let c = Check {
            function: "SamplingPlan::run",
        };
        let (b, v) = (self.desc.batch_size, self.desc.vocab_size);
        let probs = Expect {
            dtype: DType::F32,
            shape: [b, v],
            dims: ["batch", "vocab"],
            align: row_alignment(DType::F32, v),
            dense_from: 0,
        };
        c.tensor("probs", &args.probs.raw, &probs)?;
        c.len_mut("output", &args.output, b, "batch")?;
        if let Some(valid) = &args.valid {
            c.len_mut("valid", valid, b, "batch")?;
        }
        let (takes_k, takes_p) = match self.desc.sampler {
            Sampler::FromProbs => (false, false),
            Sampler::TopK { .. } => (true, false),
            Sampler::TopP { .. } | Sampler::MinP { .. } => (false, true),
            Sampler::TopKTopP { .. } => (true, true),
        };
        args.per_row
            .check(&c, b, self.desc.sampler.name(), takes_k, takes_p)?;
        args.rng.check(&c)
    }

    /// Checks ([`check`](Self::check)), then enqueues the sampler on `stream`.
    /// Graph-capturable (with [`Offset::Device`] for fresh draws on every replay).
    pub fn run(&self, stream: Stream<'_>, mut args: SamplingArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &mut args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &mut SamplingArgs<'_>) -> Result<()> {
        let (b, v, det) = (self.batch, self.vocab, i32::from(self.desc.deterministic));
        let RngArgs(seed, seed_ptr, offset, offset_ptr) = args.rng.args();
        let probs = args.probs.raw.as_ptr();
        let out = args.output.as_mut_ptr();
        let valid = args
            .valid
            .as_mut()
            .map_or(ptr::null_mut(), |f| f.as_mut_ptr());
        let (k_arr, p_arr, s) = (args.per_row.k_ptr(), args.per_row.p_ptr(), stream.as_raw());
        // SAFETY: the checks (views fit their allocations; per-row arrays hold `batch` values);
        // the C function validates again before launching.
        unsafe {
            match self.desc.sampler {
                Sampler::FromProbs => ffi!(baracuda_kernels_flashinfer_sampling_from_probs_f32_ex(
                    b, v, det, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s
                )),
                Sampler::TopK { k } => ffi!(baracuda_kernels_flashinfer_top_k_sampling_f32_ex(
                    b,
                    v,
                    k_value(k),
                    k_arr,
                    det,
                    seed,
                    seed_ptr,
                    offset,
                    offset_ptr,
                    probs,
                    out,
                    valid,
                    s
                )),
                Sampler::TopP { p } => ffi!(baracuda_kernels_flashinfer_top_p_sampling_f32_ex(
                    b, v, p, p_arr, det, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s
                )),
                Sampler::MinP { p } => ffi!(baracuda_kernels_flashinfer_min_p_sampling_f32_ex(
                    b, v, p, p_arr, det, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s
                )),
                Sampler::TopKTopP { k, p } => {
                    ffi!(baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
                        b,
                        v,
                        k_value(k),
                        k_arr,
                        p,
                        p_arr,
                        det,
                        seed,
                        seed_ptr,
                        offset,
                        offset_ptr,
                        probs,
                        out,
                        valid,
                        s
                    ))
                }
            }
        }
    }
}

/// What a [`LogitsSamplingPlan`] is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogitsSamplingDesc {
    /// Rows.
    pub batch_size: usize,
    /// Entries per row.
    pub vocab_size: usize,
    /// Of the logits: f32 (exact up to float rounding), f16 or bf16 (the noise is added in
    /// that precision, which biases draws near ties: see the C header).
    pub dtype: DType,
}

impl Default for LogitsSamplingDesc {
    /// Zero sizes (set them), f32.
    fn default() -> Self {
        LogitsSamplingDesc {
            batch_size: 0,
            vocab_size: 0,
            dtype: DType::F32,
        }
    }
}

/// The tensors of one sampling-from-logits run.
#[derive(Debug)]
pub struct LogitsSamplingArgs<'a> {
    /// `[batch, vocab]` of the plan's dtype (no NaN); aligned to
    /// `size * gcd(16 / size, vocab)` bytes.
    pub logits: TensorRef<'a, 2>,
    /// `[batch]`: the drawn token ids, always in `[0, vocab)`.
    pub output: DeviceSliceMut<'a, i32>,
    /// Seed and offset.
    pub rng: Rng<'a>,
}

/// A validated sampler over logits: `softmax(logits)` without a softmax pass (Gumbel-max; the
/// C `sampling_from_logits_<dtype>_*`). Needs no workspace and no GPU to build.
///
/// ```
/// use baracuda_flashinfer::{DType, LogitsSamplingDesc, LogitsSamplingPlan};
///
/// let plan = LogitsSamplingPlan::new(&LogitsSamplingDesc {
///     batch_size: 16,
///     vocab_size: 32_000,
///     dtype: DType::Bf16,
/// })?;
/// assert_eq!(plan.offset_step(), 4);
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogitsSamplingPlan {
    desc: LogitsSamplingDesc,
    batch: i32,
    vocab: i32,
    variant: usize,
}

impl LogitsSamplingPlan {
    /// Validates `desc` with the C `_can_implement` of its dtype.
    pub fn new(desc: &LogitsSamplingDesc) -> Result<Self> {
        const F: &str = "LogitsSamplingPlan::new";
        let b = to_i32(F, "batch_size", desc.batch_size)?;
        let v = to_i32(F, "vocab_size", desc.vocab_size)?;
        let variant = float_variant(desc.dtype, F)?;
        // SAFETY: pure queries of sizes.
        unsafe {
            match variant {
                0 => ffi!(baracuda_kernels_flashinfer_sampling_from_logits_f16_can_implement(b, v)),
                1 => {
                    ffi!(baracuda_kernels_flashinfer_sampling_from_logits_bf16_can_implement(b, v))
                }
                _ => ffi!(baracuda_kernels_flashinfer_sampling_from_logits_f32_can_implement(b, v)),
            }?;
        }
        Ok(LogitsSamplingPlan {
            desc: desc.clone(),
            batch: b,
            vocab: v,
            variant,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &LogitsSamplingDesc {
        &self.desc
    }

    /// 0: samplers need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// The 32-bit draws per row one run may consume (see [`SamplingPlan::offset_step`]).
    pub fn offset_step(&self) -> u64 {
        u64::from(sys::BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE)
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &LogitsSamplingArgs<'_>) -> Result<()> {
        let c = Check {
            function: "LogitsSamplingPlan::run",
        };
        let (b, v) = (self.desc.batch_size, self.desc.vocab_size);
        let logits = Expect {
            dtype: self.desc.dtype,
            shape: [b, v],
            dims: ["batch", "vocab"],
            align: row_alignment(self.desc.dtype, v),
            dense_from: 0,
        };
        c.tensor("logits", &args.logits.raw, &logits)?;
        c.len_mut("output", &args.output, b, "batch")?;
        args.rng.check(&c)
    }

    /// Checks ([`check`](Self::check)), then enqueues the sampler on `stream`.
    /// Graph-capturable.
    pub fn run(&self, stream: Stream<'_>, mut args: LogitsSamplingArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &mut args)
    }

    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        args: &mut LogitsSamplingArgs<'_>,
    ) -> Result<()> {
        let (b, v) = (self.batch, self.vocab);
        let RngArgs(seed, seed_ptr, offset, offset_ptr) = args.rng.args();
        let (logits, out, s) = (
            args.logits.raw.as_ptr(),
            args.output.as_mut_ptr(),
            stream.as_raw(),
        );
        // SAFETY: the checks (views fit their allocations); the C function validates again.
        unsafe {
            match self.variant {
                0 => ffi!(baracuda_kernels_flashinfer_sampling_from_logits_f16_ex(
                    b, v, seed, seed_ptr, offset, offset_ptr, logits, out, s
                )),
                1 => ffi!(baracuda_kernels_flashinfer_sampling_from_logits_bf16_ex(
                    b, v, seed, seed_ptr, offset, offset_ptr, logits, out, s
                )),
                _ => ffi!(baracuda_kernels_flashinfer_sampling_from_logits_f32_ex(
                    b, v, seed, seed_ptr, offset, offset_ptr, logits, out, s
                )),
            }
        }
    }
}

/// What a [`SpeculativePlan`] is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeculativeDesc {
    /// Rows (requests).
    pub batch_size: usize,
    /// S: draft tokens per row.
    pub num_speculative_tokens: usize,
    /// Entries per distribution.
    pub vocab_size: usize,
    /// Fixed-order CDF scan (see [`SamplingDesc::deterministic`]).
    pub deterministic: bool,
}

impl Default for SpeculativeDesc {
    /// Zero sizes (set them), deterministic.
    fn default() -> Self {
        SpeculativeDesc {
            batch_size: 0,
            num_speculative_tokens: 0,
            vocab_size: 0,
            deterministic: true,
        }
    }
}

/// The tensors of one speculative verification.
#[derive(Debug)]
pub struct SpeculativeArgs<'a> {
    /// `[batch, S, vocab]` f32: the draft model's distributions.
    pub draft_probs: TensorRef<'a, 3>,
    /// `[batch * S]` (row-major `[batch, S]`): the draft tokens, each in `[0, vocab)`.
    pub draft_token_ids: DeviceSlice<'a, i32>,
    /// `[batch, S + 1, vocab]` f32: the target model's distributions.
    pub target_probs: TensorRef<'a, 3>,
    /// `[batch * (S + 1)]`, written: accepted tokens, the correction or bonus token, then -1.
    pub output_token_ids: DeviceSliceMut<'a, i32>,
    /// `[batch]`, written: the accepted count plus the later draft tokens that would also
    /// have passed.
    pub accepted_token_num: DeviceSliceMut<'a, i32>,
    /// `[batch]`, written: the accepted count.
    pub emitted_draft_token_num: DeviceSliceMut<'a, i32>,
    /// Seed and offset.
    pub rng: Rng<'a>,
}

/// A validated chain speculative sampling (the C `chain_speculative_sampling_f32_*`): row `b`
/// accepts draft token `i` while `u * draft(i) < target(i)`, then draws the correction from
/// `relu(target - draft)` renormalised (or the bonus token from `target[S]`). The output
/// distribution equals the target's. Needs no workspace and no GPU to build.
///
/// ```
/// use baracuda_flashinfer::{SpeculativeDesc, SpeculativePlan};
///
/// let plan = SpeculativePlan::new(&SpeculativeDesc {
///     batch_size: 8,
///     num_speculative_tokens: 4,
///     vocab_size: 32_000,
///     ..SpeculativeDesc::default()
/// })?;
/// assert_eq!(plan.offset_step(), 8); // 4 * ceil((4 + 2) / 4)
/// # Ok::<(), baracuda_flashinfer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeculativePlan {
    desc: SpeculativeDesc,
    batch: i32,
    num_speculative: i32,
    vocab: i32,
}

impl SpeculativePlan {
    /// Validates `desc` with the C `_can_implement`.
    pub fn new(desc: &SpeculativeDesc) -> Result<Self> {
        const F: &str = "SpeculativePlan::new";
        let b = to_i32(F, "batch_size", desc.batch_size)?;
        let n = to_i32(F, "num_speculative_tokens", desc.num_speculative_tokens)?;
        let v = to_i32(F, "vocab_size", desc.vocab_size)?;
        // SAFETY: a pure query of sizes.
        unsafe {
            ffi!(
                baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement(b, n, v)
            )?;
        }
        Ok(SpeculativePlan {
            desc: desc.clone(),
            batch: b,
            num_speculative: n,
            vocab: v,
        })
    }

    /// The descriptor.
    pub fn desc(&self) -> &SpeculativeDesc {
        &self.desc
    }

    /// 0: samplers need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    /// The 32-bit draws per row one run may consume: `4 * ceil((S + 2) / 4)`.
    pub fn offset_step(&self) -> u64 {
        4 * ((self.desc.num_speculative_tokens as u64 + 2 + 3) / 4)
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &SpeculativeArgs<'_>) -> Result<()> {
        let c = Check {
            function: "SpeculativePlan::run",
        };
        let x = &self.desc;
        let (b, n, v) = (x.batch_size, x.num_speculative_tokens, x.vocab_size);
        let probs = |rows: usize| Expect {
            dtype: DType::F32,
            shape: [b, rows, v],
            dims: ["batch", "tokens", "vocab"],
            align: row_alignment(DType::F32, v),
            dense_from: 0,
        };
        c.tensor("draft_probs", &args.draft_probs.raw, &probs(n))?;
        c.len("draft_token_ids", &args.draft_token_ids, b * n, "batch * S")?;
        c.tensor("target_probs", &args.target_probs.raw, &probs(n + 1))?;
        c.len_mut(
            "output_token_ids",
            &args.output_token_ids,
            b * (n + 1),
            "batch * (S + 1)",
        )?;
        c.len_mut("accepted_token_num", &args.accepted_token_num, b, "batch")?;
        c.len_mut(
            "emitted_draft_token_num",
            &args.emitted_draft_token_num,
            b,
            "batch",
        )?;
        args.rng.check(&c)
    }

    /// Checks ([`check`](Self::check)), then enqueues the verification on `stream`.
    /// Graph-capturable.
    ///
    /// # Safety
    ///
    /// When the work runs, every `draft_token_ids` value is in `[0, vocab)` (device memory,
    /// which no host check can read; an id outside reads out of bounds).
    pub unsafe fn run(&self, stream: Stream<'_>, mut args: SpeculativeArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(stream, &mut args)
    }

    pub(crate) fn launch(&self, stream: Stream<'_>, args: &mut SpeculativeArgs<'_>) -> Result<()> {
        let (b, n, v) = (self.batch, self.num_speculative, self.vocab);
        let det = i32::from(self.desc.deterministic);
        let RngArgs(seed, seed_ptr, offset, offset_ptr) = args.rng.args();
        // SAFETY: the checks, and `run`'s contract on the draft ids; the C function validates
        // again before launching.
        unsafe {
            ffi!(
                baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex(
                    b,
                    n,
                    v,
                    det,
                    seed,
                    seed_ptr,
                    offset,
                    offset_ptr,
                    args.draft_probs.raw.as_ptr(),
                    args.draft_token_ids.as_ptr(),
                    args.target_probs.raw.as_ptr(),
                    args.output_token_ids.as_mut_ptr(),
                    args.accepted_token_num.as_mut_ptr(),
                    args.emitted_draft_token_num.as_mut_ptr(),
                    stream.as_raw(),
                )
            )
        }
    }
}

/// The filter of a [`FilterPlan`], with its scalar threshold (checked by the C library). Kept
/// sets are the samplers' (ties at the cut-off all kept).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Filter {
    /// `out(i) = p(i) / (sum of kept p)` for the top-k entries, else 0 (f32).
    TopKRenormProbs {
        /// `k >= 1` (pass 1 when per-row values will be used).
        k: u32,
    },
    /// `out(i) = p(i) / (sum of kept p)` for the top-p head, else 0 (f32).
    TopPRenormProbs {
        /// In (0, 1].
        p: f32,
    },
    /// `out(i) = logits(i)` for the top-k entries, else `-inf` (f32, f16 or bf16).
    TopKMaskLogits {
        /// `k >= 1`.
        k: u32,
    },
}

/// What a [`FilterPlan`] is for.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterDesc {
    /// Rows.
    pub batch_size: usize,
    /// Entries per row.
    pub vocab_size: usize,
    /// The filter and its scalar threshold.
    pub filter: Filter,
    /// Of input and output: f32 for the renormalisations; f32, f16 or bf16 for the mask.
    pub dtype: DType,
}

impl Default for FilterDesc {
    /// Zero sizes (set them), top-k renormalisation with k = 1, f32.
    fn default() -> Self {
        FilterDesc {
            batch_size: 0,
            vocab_size: 0,
            filter: Filter::TopKRenormProbs { k: 1 },
            dtype: DType::F32,
        }
    }
}

/// The tensors of one filter run.
#[derive(Debug)]
pub struct FilterArgs<'a> {
    /// `[batch, vocab]` of the plan's dtype.
    pub input: TensorRef<'a, 2>,
    /// `[batch, vocab]` of the plan's dtype, written (see [`FilterPlan::run_in_place`] to
    /// filter the input itself).
    pub output: TensorMut<'a, 2>,
    /// Per-row `k` (top-k filters) or `p` (top-p), replacing the scalar.
    pub per_row: PerRow<'a>,
}

/// A validated top-k / top-p renormalisation or top-k logits mask (one radix select per row).
/// Building it asks the current device whether a row fits its shared memory (about 450k
/// entries on H100, 40k on A100): build it where a GPU is present. Before capturing a graph,
/// run it once on that device (the first run sets the kernel's shared-memory attribute).
///
/// ```no_run
/// use baracuda_flashinfer::{DType, Filter, FilterDesc, FilterPlan, PerRow, Stream, TensorMut};
///
/// # fn mask(logits: TensorMut<'_, 2>) -> baracuda_flashinfer::Result<()> {
/// let plan = FilterPlan::new(&FilterDesc {
///     batch_size: 16,
///     vocab_size: 128_256,
///     filter: Filter::TopKMaskLogits { k: 50 },
///     dtype: DType::Bf16,
/// })?;
/// plan.run_in_place(Stream::per_thread(), logits, PerRow::default())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FilterPlan {
    desc: FilterDesc,
    batch: i32,
    vocab: i32,
}

impl FilterPlan {
    /// Validates `desc` with the filter's C `_can_implement` (a device query).
    pub fn new(desc: &FilterDesc) -> Result<Self> {
        const F: &str = "FilterPlan::new";
        let b = to_i32(F, "batch_size", desc.batch_size)?;
        let v = to_i32(F, "vocab_size", desc.vocab_size)?;
        let renorm = !matches!(desc.filter, Filter::TopKMaskLogits { .. });
        if renorm && desc.dtype != DType::F32 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                F,
                format!(
                    "dtype {} is not supported (the renormalisations take f32)",
                    desc.dtype
                ),
            ));
        }
        let variant = float_variant(desc.dtype, F)?;
        // SAFETY: queries of sizes and thresholds (they ask the current device).
        unsafe {
            match desc.filter {
                Filter::TopKRenormProbs { k } => ffi!(
                    baracuda_kernels_flashinfer_top_k_renorm_probs_f32_can_implement(
                        b,
                        v,
                        k_value(k)
                    )
                ),
                Filter::TopPRenormProbs { p } => {
                    ffi!(baracuda_kernels_flashinfer_top_p_renorm_probs_f32_can_implement(b, v, p))
                }
                Filter::TopKMaskLogits { k } => match variant {
                    0 => ffi!(
                        baracuda_kernels_flashinfer_top_k_mask_logits_f16_can_implement(
                            b,
                            v,
                            k_value(k)
                        )
                    ),
                    1 => ffi!(
                        baracuda_kernels_flashinfer_top_k_mask_logits_bf16_can_implement(
                            b,
                            v,
                            k_value(k)
                        )
                    ),
                    _ => ffi!(
                        baracuda_kernels_flashinfer_top_k_mask_logits_f32_can_implement(
                            b,
                            v,
                            k_value(k)
                        )
                    ),
                },
            }?;
        }
        Ok(FilterPlan {
            desc: desc.clone(),
            batch: b,
            vocab: v,
        })
    }

    /// The plan without asking the C library or the device (host tests).
    #[cfg(test)]
    pub(crate) fn without_device(desc: &FilterDesc) -> Self {
        FilterPlan {
            desc: desc.clone(),
            batch: desc.batch_size as i32,
            vocab: desc.vocab_size as i32,
        }
    }

    /// The descriptor.
    pub fn desc(&self) -> &FilterDesc {
        &self.desc
    }

    /// 0: filters need no workspace.
    pub fn workspace_size(&self) -> usize {
        0
    }

    fn check_rows(&self, c: &Check, name: &str, t: &crate::tensor::RawTensor<2>) -> Result<()> {
        let x = &self.desc;
        let expect = Expect {
            dtype: x.dtype,
            shape: [x.batch_size, x.vocab_size],
            dims: ["batch", "vocab"],
            align: x.dtype.size(),
            dense_from: 0,
        };
        c.tensor(name, t, &expect)
    }

    fn check_per_row(&self, c: &Check, per_row: &PerRow<'_>) -> Result<()> {
        let (what, takes_k, takes_p) = match self.desc.filter {
            Filter::TopKRenormProbs { .. } => ("top_k_renorm_probs", true, false),
            Filter::TopPRenormProbs { .. } => ("top_p_renorm_probs", false, true),
            Filter::TopKMaskLogits { .. } => ("top_k_mask_logits", true, false),
        };
        per_row.check(c, self.desc.batch_size, what, takes_k, takes_p)
    }

    /// Checks the tensors against the plan; enqueues nothing.
    pub fn check(&self, args: &FilterArgs<'_>) -> Result<()> {
        let c = Check {
            function: "FilterPlan::run",
        };
        self.check_rows(&c, "input", &args.input.raw)?;
        self.check_rows(&c, "output", &args.output.raw)?;
        self.check_per_row(&c, &args.per_row)
    }

    /// Checks ([`check`](Self::check)), then enqueues the filter on `stream`.
    pub fn run(&self, stream: Stream<'_>, args: FilterArgs<'_>) -> Result<()> {
        self.check(&args)?;
        self.launch(
            stream,
            args.input.raw.as_ptr(),
            args.output.raw.as_mut_ptr(),
            &args.per_row,
        )
    }

    /// Filters `data` in place (the C kernels allow the output to be the input).
    pub fn run_in_place(
        &self,
        stream: Stream<'_>,
        data: TensorMut<'_, 2>,
        per_row: PerRow<'_>,
    ) -> Result<()> {
        let c = Check {
            function: "FilterPlan::run_in_place",
        };
        self.check_rows(&c, "data", &data.raw)?;
        self.check_per_row(&c, &per_row)?;
        self.launch(stream, data.raw.as_ptr(), data.raw.as_mut_ptr(), &per_row)
    }

    pub(crate) fn launch(
        &self,
        stream: Stream<'_>,
        input: *const c_void,
        output: *mut c_void,
        per_row: &PerRow<'_>,
    ) -> Result<()> {
        let (b, v, s) = (self.batch, self.vocab, stream.as_raw());
        let (k_arr, p_arr) = (per_row.k_ptr(), per_row.p_ptr());
        // SAFETY: the checks (views fit their allocations; per-row arrays hold `batch` values);
        // the C function validates again before launching.
        unsafe {
            match (self.desc.filter, self.desc.dtype) {
                (Filter::TopKRenormProbs { k }, _) => {
                    ffi!(baracuda_kernels_flashinfer_top_k_renorm_probs_f32_run(
                        b,
                        v,
                        k_value(k),
                        k_arr,
                        input,
                        output,
                        s
                    ))
                }
                (Filter::TopPRenormProbs { p }, _) => {
                    ffi!(baracuda_kernels_flashinfer_top_p_renorm_probs_f32_run(
                        b, v, p, p_arr, input, output, s
                    ))
                }
                (Filter::TopKMaskLogits { k }, DType::F16) => {
                    ffi!(baracuda_kernels_flashinfer_top_k_mask_logits_f16_run(
                        b,
                        v,
                        k_value(k),
                        k_arr,
                        input,
                        output,
                        s
                    ))
                }
                (Filter::TopKMaskLogits { k }, DType::Bf16) => {
                    ffi!(baracuda_kernels_flashinfer_top_k_mask_logits_bf16_run(
                        b,
                        v,
                        k_value(k),
                        k_arr,
                        input,
                        output,
                        s
                    ))
                }
                (Filter::TopKMaskLogits { k }, _) => {
                    ffi!(baracuda_kernels_flashinfer_top_k_mask_logits_f32_run(
                        b,
                        v,
                        k_value(k),
                        k_arr,
                        input,
                        output,
                        s
                    ))
                }
            }
        }
    }
}
