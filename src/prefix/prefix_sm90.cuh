// Shared-prefix attention on sm_90a: FlashInfer's FA3 (wgmma, warp-specialised) paged prefill
// kernel, or its ragged (TMA) one for a dense prefix (cascade_decode_dense_prefix_run), scheduled
// by us. Included by the generated prefix_sm90_<element>_hd<D>.cu TUs, which
// compile for sm_90a only.
//
// Why a schedule of our own: FlashInfer 0.7.2's SM90 planner has no split-KV and no GQA packing,
// so a shared prefix (batch_size queries x group heads against one long page list per KV head)
// would run on a few dozen CTAs. Instead:
//   1. prepare: the queries are packed "MHA style" — for KV head h, rows r = b * group + g hold
//      q[b][h * group + g] — and the work table is written: one item per (chunk c, KV head h,
//      128-row query tile), the chunk's pages and token count read from the prefix's indptr /
//      last_page_len on the device (no host read, graph-capturable).
//   2. FA3: a persistent grid of one CTA per SM walks its share of the items, writing one partial
//      state (o, base-2 lse) per (chunk, row, KV head). An empty chunk writes o = 0, lse = -inf.
//   3. merge: one warp per (request, query head) combines its chunks into the caller's o / lse,
//      launched as a programmatic dependent of the FA3 grid (it waits on griddepcontrol).
// The fused cascade (cascade_decode_run) launches the suffix kernel (cascade_suffix.cuh) between
// 1 and 2 on a few CTAs; it triggers the FA3 grid's launch as it starts, so FA3 runs on the other
// SMs meanwhile. The merge folds each row's suffix state in with its chunks, once the suffix grid
// has counted all its CTAs done.
//
// Chunks without copies of q: the kernel addresses q and o as ptr + (qo_indptr + row) * stride_n
// + qo_head * stride_h with one qo_indptr per item, and finds the KV head as qo_head / group.
// Item (c, h) uses qo_head = h * C + c (group = C) and qo_indptr = (C - 1 - c) * m, with
// q_stride_h = m * q_stride_n: the chunk terms cancel in q's address (every chunk reads the one
// packed copy) but not in o's (o_stride_h = (m + rows_pad) * D, so chunk c lands rows_pad rows
// further), and the lse index (qo_indptr + row) * (H * C) + h * C + c is distinct per (c, row, h).
#pragma once

#include <cuda_runtime.h>

#include <type_traits>

#include <flashinfer/attention/hopper/default_params.cuh>
#include <flashinfer/attention/hopper/prefill_sm90.cuh>
#include <flashinfer/attention/hopper/variants.cuh>
#include <flashinfer/cutlass_utils.cuh>

#include "common/launch.cuh"
#include "prefix/cascade_suffix.cuh"
#include "prefix/prefix_launch.hpp"

namespace baracuda::flashinfer::prefix::sm90 {

namespace fi = ::flashinfer;

// The work table, 8 int32 arrays in the workspace (the FA3 scheduler's inputs, see
// hopper/tile_scheduler.cuh): per item, then work_indptr per CTA.
struct WorkTable {
  int32_t *qo_tile_indices, *qo_indptr, *kv_indptr, *qo_lens, *kv_lens, *head_indices,
      *batch_indices, *work_indptr;
};

inline WorkTable work_table(const PrefixSchedule& plan, void* workspace) {
  auto* base = reinterpret_cast<int32_t*>(static_cast<char*>(workspace) + plan.table);
  const int32_t n = plan.items;
  static_assert(kWorkTableItemArrays == 7, "seven per-item arrays, then work_indptr");
  return {base,         base + n,     base + 2 * n, base + 3 * n,
          base + 4 * n, base + 5 * n, base + 6 * n, base + 7 * n};
}

// FA3 tiles, per head dim (measurements: docs/notes/tuning-history.md#shared-prefix-fa3-tiles).
// Paged prefix: KV tokens per pipeline stage, FlashInfer's paged choices at D = 128 / 256 and 128
// at D = 64; three stages rather than FlashInfer's two, because the cascade's suffix grid beside
// it lengthens the memory latency a deeper pipeline hides.
template <int D>
constexpr int kCtaKv = D == 256 ? 32 : (D == 128 ? 96 : 128);
constexpr int kFa3Stages = 3;
// A dense prefix (cascade_decode_dense_prefix_run): FlashInfer's TMA mainloop, two stages of 192,
// 128 and 64 tokens at D = 64, 128, 256, the fastest measured beside the suffix grid.
template <int D>
constexpr int kDenseCtaKv = D == 64 ? 192 : (D == 128 ? 128 : 64);
template <int D>
constexpr int kDenseStages = 2;

// The prefix as the prepare kernel cuts it into chunks: runs of `granule` tokens (the cache's
// pages, or CTA_KV-token runs of a dense prefix, so that no chunk but the last ends mid-tile).
struct PrefixSource {
  const int32_t* indptr;         // paged: the prefix's range of page ids [2]; NULL: dense
  const int32_t* last_page_len;  // paged: [1]
  int32_t granule;
  int32_t dense_tokens;  // dense: the prefix's length
};

constexpr int kPrepareThreads = 256;

// Blocks [0, gridDim.x - 1): pack q, 16 bytes per thread: q_packed[h][row][D], rows_pad rows per
// head slot of chunk_shift * chunks rows (rows past `rows` zeroed: the last tile reads them).
// The last block: the work table.
template <typename T, int D>
__global__ void __launch_bounds__(kPrepareThreads)
    prepare_kernel(const T* __restrict__ q, T* __restrict__ q_packed, int32_t batch, int32_t group,
                   int32_t num_kv_heads, PrefixSchedule plan, PrefixSource prefix, WorkTable table,
                   int32_t* suffix_done) {
  constexpr int kVec = 16 / sizeof(T);
  constexpr int kVecsPerRow = D / kVec;
  const int32_t rows = plan.rows, rows_pad = plan.q_tiles * kPrefixSm90TileQ;
  const int32_t chunks = plan.chunks;
  // The cascade's suffix grid may start now (it waits for this grid before triggering FA3 and
  // before counting itself done); FA3 after the shared-prefix call's plain launch ignores this.
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  if (blockIdx.x + 1 < gridDim.x) {
    const int64_t vec = int64_t(blockIdx.x) * kPrepareThreads + threadIdx.x;
    if (vec >= int64_t(rows_pad) * num_kv_heads * kVecsPerRow) return;
    const int32_t d_vec = int32_t(vec % kVecsPerRow);
    const int32_t row = int32_t((vec / kVecsPerRow) % rows_pad);
    const int32_t h = int32_t(vec / (int64_t(kVecsPerRow) * rows_pad));
    uint4 value = make_uint4(0, 0, 0, 0);
    if (row < rows) {
      const int32_t b = row / group, g = row % group;
      value = reinterpret_cast<const uint4*>(
          q + (int64_t(b) * group * num_kv_heads + int64_t(h) * group + g) * D)[d_vec];
    }
    const int64_t slot = int64_t(plan.chunk_shift) * chunks;  // rows per head slot
    reinterpret_cast<uint4*>(q_packed + (h * slot + row) * D)[d_vec] = value;
    return;
  }
  if (suffix_done != nullptr && threadIdx.x == 0) *suffix_done = 0;  // the cascade's CTA count
  // Chunk c covers granules [c * chunk_units, ...) of the prefix; an item past the end is empty.
  // The paged kernel's kv_indptr counts pages (of `indices`), the dense one's tokens.
  const int32_t g = prefix.granule;
  const bool paged = prefix.indptr != nullptr;
  const int32_t first = paged ? prefix.indptr[0] : 0;
  const int32_t units = paged ? prefix.indptr[1] - first : (prefix.dense_tokens + g - 1) / g;
  const int32_t last = paged ? prefix.last_page_len[0] : prefix.dense_tokens - (units - 1) * g;
  const int32_t chunk_units =
      max((units + chunks - 1) / chunks, max(kPrefixSm90MinChunkTokens / g, 1));
  for (int32_t i = threadIdx.x; i < plan.items; i += blockDim.x) {
    const int32_t t = i % plan.q_tiles;
    const int32_t h = (i / plan.q_tiles) % num_kv_heads;
    const int32_t c = i / (plan.q_tiles * num_kv_heads);
    const int32_t begin = min(c * chunk_units, units);
    const int32_t end = min(begin + chunk_units, units);
    int32_t tokens = (end - begin) * g;
    if (end == units && end > begin) tokens -= g - last;
    table.qo_tile_indices[i] = t;
    table.qo_indptr[i] = (chunks - 1 - c) * plan.chunk_shift;
    table.kv_indptr[i] = paged ? first + begin : begin * g;
    table.qo_lens[i] = rows;
    table.kv_lens[i] = tokens;
    table.head_indices[i] = h * chunks + c;
    table.batch_indices[i] = c;
  }
  // CTA j walks items [j * items / ctas, (j + 1) * items / ctas).
  for (int32_t j = threadIdx.x; j <= plan.ctas; j += blockDim.x) {
    table.work_indptr[j] = int32_t(int64_t(j) * plan.items / plan.ctas);
  }
}

// Where the FA3 kernel puts the partial state of (chunk c, row r, KV head h); see the top.
struct PartialLayout {
  int32_t chunks, chunk_shift, rows_pad, num_kv_heads, head_dim;
  __host__ __device__ int64_t o_row(int32_t c, int32_t r, int32_t h) const {  // in rows of D
    return r + int64_t(c) * rows_pad + int64_t(h) * chunks * (chunk_shift + rows_pad);
  }
  __host__ __device__ int64_t lse(int32_t c, int32_t r, int32_t h) const {
    return (int64_t(chunks - 1 - c) * chunk_shift + r) * num_kv_heads * chunks + h * chunks + c;
  }
};

inline PartialLayout partial_layout(const PrefixSchedule& plan, int32_t num_kv_heads,
                                    int32_t head_dim) {
  return {plan.chunks, plan.chunk_shift, plan.q_tiles * kPrefixSm90TileQ, num_kv_heads, head_dim};
}

// The fused cascade's suffix states ([batch * num_qo_heads] rows) and when they are complete.
struct SuffixStates {
  const float* o;  // NULL: no suffixes (shared_prefix_decode_run)
  const float* lse;
  const int32_t* done;  // the suffix grid's finished CTAs ...
  int32_t ctas;         // ... out of this many
};

// One warp per (request b, query head h * group + g): merges the chunks' partial states of row
// b * group + g, KV head h (and the row's suffix state in the fused cascade). Base-2 LSEs; every
// state empty -> o = 0, lse = -inf. Launched as a programmatic dependent of the FA3 kernel: it
// waits for that grid before reading anything.
template <typename T, int D>
__global__ void __launch_bounds__(256)
    merge_kernel(const T* __restrict__ o_part, const float* __restrict__ lse_part,
                 T* __restrict__ o, float* __restrict__ lse, int32_t batch, int32_t group,
                 PartialLayout layout, SuffixStates suffix) {
  constexpr int kPerLane = D / 32;  // 2, 4 or 8 elements: one 4-, 8- or 16-byte load
  using Vec = std::conditional_t<kPerLane * sizeof(T) == 16, uint4,
                                 std::conditional_t<kPerLane * sizeof(T) == 8, uint2, uint32_t>>;
  asm volatile("griddepcontrol.wait;" ::: "memory");
  const int32_t num_qo_heads = group * layout.num_kv_heads;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= int64_t(batch) * num_qo_heads) return;
  const int32_t b = int32_t(warp / num_qo_heads), qo_head = int32_t(warp % num_qo_heads);
  const int32_t h = qo_head / group, r = b * group + qo_head % group;
  const int64_t qo_row = int64_t(b) * num_qo_heads + qo_head;
  // Batches of kBatch chunks: every load of a batch is issued before its weights are known.
  constexpr int kBatch = 8;
  Vec v[kBatch];
  const auto load_batch = [&](int32_t c0) {
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int32_t c = min(c0 + u, layout.chunks - 1);
      v[u] = reinterpret_cast<const Vec*>(o_part + layout.o_row(c, r, h) * D)[lane];
    }
  };
  load_batch(0);
  // Lane c (and c + 32) holds chunk c's lse, then its weight: at most 64 chunks.
  static_assert(kPrefixSm90MaxChunks <= 64, "the merge holds two chunk lse values per lane");
  const float l0 = lane < layout.chunks ? lse_part[layout.lse(lane, r, h)] : -INFINITY;
  const float l1 = lane + 32 < layout.chunks ? lse_part[layout.lse(lane + 32, r, h)] : -INFINITY;
  // The suffix state, read once the suffix grid has counted all its CTAs done (while the loads
  // above are in flight). That grid started before the FA3 grid (it triggered FA3's launch), so
  // its CTAs are resident and finish without waiting on anything: this wait ends.
  float suffix_lse = -INFINITY, suffix_o[kPerLane] = {};
  if (suffix.o != nullptr) {
    if (lane == 0) {
      int32_t finished = 0;
      do {
        asm volatile("ld.acquire.gpu.global.b32 %0, [%1];"
                     : "=r"(finished)
                     : "l"(suffix.done)
                     : "memory");
      } while (finished < suffix.ctas);
    }
    __syncwarp();
    suffix_lse = suffix.lse[qo_row];
    const float* so = suffix.o + qo_row * D + lane * kPerLane;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) suffix_o[k] = so[k];
  }
  float m = fmaxf(l0, l1);
  for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
  m = fmaxf(m, suffix_lse);
  const bool empty = m == -INFINITY;
  const float w0 = empty ? 0.f : exp2f(l0 - m), w1 = empty ? 0.f : exp2f(l1 - m);
  float denom = w0 + w1;
  for (int off = 16; off > 0; off /= 2) denom += __shfl_xor_sync(0xffffffffu, denom, off);
  float acc[kPerLane] = {};
  if (suffix.o != nullptr && !empty) {
    const float ws = exp2f(suffix_lse - m);
    denom += ws;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) acc[k] = ws * suffix_o[k];
  }
  for (int32_t c0 = 0; c0 < layout.chunks; c0 += kBatch) {
    if (c0 > 0) load_batch(c0);
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int32_t c = c0 + u;
      const float wc = __shfl_sync(0xffffffffu, c < 32 ? w0 : w1, c % 32);
      const float w = c < layout.chunks ? wc : 0.f;
      const T* e = reinterpret_cast<const T*>(&v[u]);
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) acc[k] += w * float(e[k]);
    }
  }
  const float inv = denom > 0.f ? 1.f / denom : 0.f;
  Vec out;
  T* e = reinterpret_cast<T*>(&out);
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) e[k] = T(acc[k] * inv);
  reinterpret_cast<Vec*>(o + qo_row * D)[lane] = out;
  if (lane == 0 && lse != nullptr) lse[qo_row] = denom > 0.f ? m + log2f(denom) : -INFINITY;
}

// The FA3 parameters that come from the schedule (the work table, the shifted q / o bases, the
// partial lse, the MHA view of the heads), in FlashInfer's paged or ragged (dense prefix)
// parameter struct.
template <int D, typename Params>
void set_schedule(Params& params, const PrefixSchedule& plan, void* workspace, int32_t num_kv_heads,
                  float sm_scale) {
  using DType = std::remove_pointer_t<decltype(params.q_ptr)>;
  char* ws = static_cast<char*>(workspace);
  const WorkTable table = work_table(plan, workspace);
  const int64_t rows_pad = int64_t(plan.q_tiles) * kPrefixSm90TileQ;
  // Both bases sit (chunks - 1) * chunk_shift rows before their buffers (see the top); the plan
  // leaves that much workspace in front of each.
  const int64_t shift = int64_t(plan.chunks - 1) * plan.chunk_shift * D;
  params.q_ptr = reinterpret_cast<DType*>(ws + plan.q_packed) - shift;
  params.o_ptr = reinterpret_cast<DType*>(ws + plan.o_part) - shift;
  params.lse_ptr = reinterpret_cast<float*>(ws + plan.lse_part);
  params.qo_tile_indices = table.qo_tile_indices;
  params.qo_indptr = table.qo_indptr;
  params.kv_indptr = table.kv_indptr;
  params.qo_lens = table.qo_lens;
  params.kv_lens = table.kv_lens;
  params.head_indices = table.head_indices;
  params.work_indptr = table.work_indptr;
  params.batch_indices = table.batch_indices;
  params.additional_params.logits_soft_cap = 0.f;
  params.additional_params.sm_scale = sm_scale;
  params.q_stride_n = params.o_stride_n = D;
  params.q_stride_h = int64_t(plan.chunk_shift) * D;
  params.o_stride_h = (plan.chunk_shift + rows_pad) * D;
  params.nnz_qo = int64_t(plan.chunks - 1) * plan.chunk_shift + rows_pad;
  params.num_qo_heads = num_kv_heads * plan.chunks;
  params.num_kv_heads = num_kv_heads;
  params.group_size = plan.chunks;
  params.window_left = -1;
  params.causal = false;
}

// FlashInfer's FA3 prefill kernel with CTA_KV KV tokens per pipeline stage and STAGES stages,
// and the types its parameters are built from: the paged one (a producer warpgroup gathers the
// pages with cp.async) or, DENSE, the ragged one (TMA loads of a contiguous prefix).
template <typename T, int D, int CTA_KV, int STAGES = kFa3Stages, bool DENSE = false>
struct Fa3 {
  static constexpr bool kDense = DENSE;
  using DType = fi::cutlass_dtype_t<T>;
  using Params =
      std::conditional_t<DENSE, fi::BatchPrefillRaggedParams<DType, DType, DType, int32_t>,
                         fi::BatchPrefillPagedParams<DType, DType, DType, int32_t>>;
  using Traits =
      fi::AttentionKernelTraits</*USE_TMA_LOAD_KV=*/DENSE, D, D, kPrefixSm90TileQ, CTA_KV, STAGES,
                                DType, DType, DType, int32_t, fi::StandardAttention>;
  using Mainloop = std::conditional_t<
      DENSE, fi::CollectiveMainloop<typename Params::AdditionalParams, Traits, /*CAUSAL=*/false>,
      fi::SparseCollectiveMainloop<typename Params::AdditionalParams, Traits, /*CAUSAL=*/false>>;
  using Epilogue = fi::CollectiveEpilogue<Traits>;
  using Scheduler = fi::BatchPrefillPersistentTileScheduler<int32_t>;
  static constexpr auto kernel() {
    return fi::PrefillWithKVCacheKernel<Mainloop, Epilogue, Traits, /*LEFT_SLIDING_WINDOW=*/false,
                                        /*CAUSAL=*/false, Scheduler>;
  }
  // DeviceContext::residency opts the kernel into this much shared memory once per device.
  static KernelInfo info() {
    return KernelInfo{reinterpret_cast<const void*>(kernel()), uint32_t(Traits::NUM_WARPS * 32),
                      uint32_t(sizeof(typename Traits::SharedStorage))};
  }
};

// The FA3 mainloop's parameters: K / V from the paged cache or, DENSE, from the problem's dense
// prefix (its TMA descriptors bound at prefix_tokens rows: a tile's rows past the prefix load as
// zeros, never whatever follows it in memory).
template <typename K>
typename K::Mainloop::Params fa3_mainloop(const PrefixProblem& pp, const typename K::Params& params,
                                          int32_t head_dim) {
  const decode::DecodeProblem& p = pp.paged;
  using DType = typename K::DType;
  const auto layout_q = fi::get_gmem_layout(params.nnz_qo, params.num_qo_heads, head_dim,
                                            params.q_stride_n, params.q_stride_h);
  if constexpr (K::kDense) {
    const auto layout_kv = fi::get_gmem_layout(pp.prefix_tokens, p.num_kv_heads, head_dim,
                                               pp.prefix_stride_token, pp.prefix_stride_head);
    return K::Mainloop::to_underlying_arguments({params.q_ptr, layout_q,
                                                 static_cast<const DType*>(pp.prefix_k), layout_kv,
                                                 static_cast<const DType*>(pp.prefix_v), layout_kv,
                                                 params.window_left, params.additional_params});
  } else {
    // The cache is HND: page [num_kv_heads][page_size][D].
    const int64_t head_stride = int64_t(p.page_size) * head_dim;
    const int64_t page_stride = int64_t(p.num_kv_heads) * head_stride;
    const auto layout_kv = fi::get_gmem_layout(0, p.num_kv_heads, head_dim, head_dim, head_stride);
    return K::Mainloop::to_underlying_arguments(
        {params.q_ptr, layout_q, static_cast<DType*>(p.k_data), layout_kv,
         static_cast<DType*>(p.v_data), layout_kv, const_cast<int32_t*>(p.indices),
         params.window_left, page_stride, page_stride, static_cast<uint32_t>(p.page_size),
         params.additional_params});
  }
}

// FA3 over the work table on plan.ctas CTAs: FlashInfer's kernel and parameter builders with our
// own launch (its dispatcher launches one CTA per SM and plainly), once DeviceContext::residency has
// opted Fa3::info() into its shared memory. `programmatic` launches it as a programmatic
// dependent of the previous kernel (the cascade's suffix grid, which triggers at its start), so
// both run side by side. The kernel itself never waits on griddepcontrol: whatever it reads must
// be complete before the previous kernel started.
template <typename T, int D, int CTA_KV, int STAGES = kFa3Stages, bool DENSE = false>
cudaError_t launch_fa3(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                       cudaStream_t stream, bool programmatic = false) {
  const decode::DecodeProblem& p = pp.paged;
  using K = Fa3<T, D, CTA_KV, STAGES, DENSE>;
  typename K::Params params{};
  set_schedule<D>(params, plan, workspace, p.num_kv_heads, p.sm_scale);
  const typename K::Mainloop::Params mainloop = fa3_mainloop<K>(pp, params, D);
  const typename K::Epilogue::Params epilogue = K::Epilogue::to_underlying_arguments(
      {params.o_ptr,
       fi::get_gmem_layout(params.nnz_qo, params.num_qo_heads, D, params.o_stride_n,
                           params.o_stride_h),
       params.lse_ptr, fi::get_lse_gmem_layout(params.nnz_qo, params.num_qo_heads)});
  const typename K::Scheduler::Arguments scheduler_args = {
      params.work_indptr,
      params.head_indices,
      params.qo_tile_indices,
      params.qo_indptr,
      params.kv_indptr,
      params.qo_lens,
      params.kv_lens,
      params.batch_indices,
      cutlass::FastDivmod(params.num_qo_heads / params.num_kv_heads),
      params.num_qo_heads};
  const typename K::Scheduler::Params scheduler =
      K::Scheduler::to_underlying_arguments(scheduler_args);
  const KernelInfo info = K::info();
  return launch_kernel(K::kernel(), dim3(unsigned(plan.ctas)), dim3(info.threads), info.smem_bytes,
                       stream, LaunchOptions{programmatic}, mainloop, epilogue, scheduler);
}

// The prepare kernel (q packed, the work table, the cascade's CTA count zeroed): `suffixes`, the
// fused cascade's (the problem's suffix pointers set).
template <typename T, int D>
cudaError_t launch_prepare(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                           cudaStream_t stream, bool suffixes) {
  const decode::DecodeProblem& p = pp.paged;
  char* ws = static_cast<char*>(workspace);
  const PrefixSource prefix = pp.prefix_k != nullptr
                                  ? PrefixSource{nullptr, nullptr, kDenseCtaKv<D>, pp.prefix_tokens}
                                  : PrefixSource{p.indptr, p.last_page_len, p.page_size, 0};
  const int64_t vecs =
      int64_t(plan.q_tiles) * kPrefixSm90TileQ * p.num_kv_heads * (D * sizeof(T) / 16);
  const int64_t copy_blocks = (vecs + kPrepareThreads - 1) / kPrepareThreads;
  return launch_kernel(prepare_kernel<T, D>, dim3(unsigned(copy_blocks + 1)),
                       dim3(kPrepareThreads), 0, stream, static_cast<const T*>(p.q),
                       reinterpret_cast<T*>(ws + plan.q_packed), p.batch_size,
                       p.num_qo_heads / p.num_kv_heads, p.num_kv_heads, plan, prefix,
                       work_table(plan, workspace),
                       suffixes ? reinterpret_cast<int32_t*>(ws + plan.suffix_done) : nullptr);
}

// The fused cascade's suffix grid over the problem's suffixes, writing its states to the workspace.
inline cascade::SuffixArgs suffix_args(const PrefixProblem& pp, const PrefixSchedule& plan,
                                       void* workspace) {
  const decode::DecodeProblem& p = pp.paged;
  char* ws = static_cast<char*>(workspace);
  constexpr float kLog2e = 1.4426950408889634f;
  const int32_t group = p.num_qo_heads / p.num_kv_heads;
  return {p.q,
          p.k_data,
          p.v_data,
          p.indices,
          pp.suffix_indptr,
          pp.suffix_last_page_len,
          reinterpret_cast<float*>(ws + plan.o_suffix),
          reinterpret_cast<float*>(ws + plan.lse_suffix),
          reinterpret_cast<int32_t*>(ws + plan.suffix_done),
          p.batch_size,
          p.num_kv_heads,
          group,
          p.page_size,
          cascade_suffix_row_blocks(group),
          p.sm_scale * kLog2e};
}

// The same states, as the merge reads them once the suffix grid has counted itself done.
inline SuffixStates suffix_states(const PrefixSchedule& plan, void* workspace) {
  const char* ws = static_cast<const char*>(workspace);
  return {reinterpret_cast<const float*>(ws + plan.o_suffix),
          reinterpret_cast<const float*>(ws + plan.lse_suffix),
          reinterpret_cast<const int32_t*>(ws + plan.suffix_done), plan.suffix_ctas};
}

// The merge, as a programmatic dependent of the FA3 grid (measured on H100: 1-3 us less per call
// at head dim 64-256 than a plain launch). `states`: the cascade's suffix states, or {}.
template <typename T, int D>
cudaError_t launch_merge(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                         cudaStream_t stream, SuffixStates states) {
  const decode::DecodeProblem& p = pp.paged;
  const char* ws = static_cast<const char*>(workspace);
  const int64_t warps = int64_t(p.batch_size) * p.num_qo_heads;
  return launch_kernel(merge_kernel<T, D>, dim3(unsigned((warps * 32 + 255) / 256)), dim3(256), 0,
                       stream, LaunchOptions{/*programmatic=*/true},
                       reinterpret_cast<const T*>(ws + plan.o_part),
                       reinterpret_cast<const float*>(ws + plan.lse_part), static_cast<T*>(p.o),
                       p.lse, p.batch_size, p.num_qo_heads / p.num_kv_heads,
                       partial_layout(plan, p.num_kv_heads, D), states);
}

// prepare, [the cascade's suffix grid,] FA3, merge. `suffixes`: the fused cascade.
template <typename T, int D, int CTA_KV>
cudaError_t launch_all(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                       cudaStream_t stream, bool suffixes) {
  cudaError_t err = launch_prepare<T, D>(pp, plan, workspace, stream, suffixes);
  if (err != cudaSuccess) return err;
  SuffixStates states{};
  if (suffixes) {
    err = cascade::launch_suffix<T, D>(suffix_args(pp, plan, workspace), plan.suffix_ctas, stream);
    if (err != cudaSuccess) return err;
    states = suffix_states(plan, workspace);
  }
  err = pp.prefix_k != nullptr
            ? launch_fa3<T, D, kDenseCtaKv<D>, kDenseStages<D>, true>(pp, plan, workspace, stream,
                                                                      suffixes)
            : launch_fa3<T, D, CTA_KV>(pp, plan, workspace, stream, /*programmatic=*/suffixes);
  if (err != cudaSuccess) return err;
  return launch_merge<T, D>(pp, plan, workspace, stream, states);
}

template <typename T, int D, int CTA_KV>
cudaError_t launch(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                   cudaStream_t stream) {
  return launch_all<T, D, CTA_KV>(pp, plan, workspace, stream, /*suffixes=*/false);
}

template <typename T, int D, int CTA_KV>
cudaError_t launch_cascade(const PrefixProblem& pp, const PrefixSchedule& plan, void* workspace,
                           cudaStream_t stream) {
  return launch_all<T, D, CTA_KV>(pp, plan, workspace, stream, /*suffixes=*/true);
}

}  // namespace baracuda::flashinfer::prefix::sm90
