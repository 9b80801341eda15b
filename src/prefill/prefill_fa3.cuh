// Batch prefill on sm_90a: FlashInfer's FA3 kernel (wgmma, warp-specialised; paged K/V gathered by
// cp.async, ragged K/V loaded by TMA) over the device-planned work table of prefill_plan.cu.
//
// One kernel per (element, head dim, paged or ragged) serves causal and non-causal calls, any
// chunking and (later) sliding windows: the kernel is FlashInfer's non-causal one, and each work
// item carries its own mask (Fa3Item: keep key j when j <= qo_idx + mask_right, and when
// j >= qo_idx + mask_left), applied by the attention variant below to every score. The planner
// cuts each (request, query tile) to the keys its rows can see, so a causal call skips the masked
// tiles as FlashInfer's causal kernel does. Items of a tile split over several chunks write their
// partial states to workspace slots (the epilogue routes by item); merge_kernel combines them.
// Included by the generated prefill_fa3_<element>_hd<D>.cu TUs (compiled for sm_90a only).
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include <flashinfer/attention/hopper/attention_updater.cuh>
#include <flashinfer/attention/hopper/epilogue.cuh>
#include <flashinfer/attention/hopper/kernel_traits.cuh>
#include <flashinfer/attention/hopper/prefill_sm90.cuh>
#include <flashinfer/attention/hopper/variant_helper.cuh>
#include <flashinfer/cutlass_utils.cuh>

#include "common/launch.cuh"
#include "prefill/prefill_launch.hpp"

namespace baracuda::flashinfer::prefill::fa3 {

namespace fi = ::flashinfer;

// The mainloop's per-call parameters (FlashInfer's AdditionalParams slot).
struct ItemParams {
  float sm_scale;         // with k_scale folded in
  float logits_soft_cap;  // 0: off
  float v_scale;
  const float* sinks;  // [Hq] natural-log logits, or NULL
  const Fa3Item* items;
};

// FlashInfer's online softmax with one more term in each row's denominator: the query head's sink
// (an extra logit that carries no value), when the item adds it. A row that keeps no key then has
// o = 0 and lse = the sink; otherwise o is normalised over its keys and the sink, and lse counts
// both.
template <int NUM_ROWS_PER_THREAD>
struct SinkSoftmax : fi::OnlineSoftmax<NUM_ROWS_PER_THREAD, /*WITH_SCALE=*/true> {
  using Base = fi::OnlineSoftmax<NUM_ROWS_PER_THREAD, true>;
  float sink_log2;  // -inf: no sink
  __device__ SinkSoftmax(float sm_scale_log2, float sink) : Base(sm_scale_log2), sink_log2(sink) {}

  template <typename Tensor0>
  __forceinline__ __device__ void finalize(Tensor0& acc_s, float pv_scale = 1.f) {
    if (sink_log2 == -fi::math::inf) {
      Base::finalize(acc_s, pv_scale);
      return;
    }
    fi::SumOp<float> sum_op;
    fi::quad_allreduce_(this->row_sum, this->row_sum, sum_op);
#pragma unroll
    for (int mi = 0; mi < size(this->row_max); ++mi) {
      // Scores are exp2(s * scale - m) with m = row_max * scale; m2 the larger of m and the sink.
      const float sum = this->row_sum(mi);
      const float m = sum > 0.f ? this->row_max(mi) * this->sm_scale_log2 : -fi::math::inf;
      const float m2 = fmaxf(m, sink_log2);
      const float keys = sum > 0.f ? exp2f(m - m2) : 0.f;
      const float den = sum * keys + exp2f(sink_log2 - m2);
      this->scores_scale(mi) = pv_scale * keys / den;
      this->row_sum(mi) = m2 + fi::math::ptx_log2(den);
    }
  }
};

// Softmax attention with each work item's mask (see the top), the logits soft-cap
// (cap * tanh(score / cap), applied before the mask), the V scale and the sinks.
struct ItemMaskedAttention {
  float sm_scale_log2, pre_tanh_scale, scale_pv, sink_log2;
  int32_t mask_right, mask_left;
  bool soft_cap, check_right, check_left;

  template <typename MainloopParams, typename BlockCoord>
  __device__ ItemMaskedAttention(const MainloopParams& params, const BlockCoord& block_coord) {
    const ItemParams& p = params.additional_params;
    const int32_t qo_head = static_cast<int32_t>(cute::get<1>(block_coord));
    const int32_t item = static_cast<int32_t>(cute::get<7>(block_coord));  // batch_idx: the item
    soft_cap = p.logits_soft_cap > 0.f;
    pre_tanh_scale = soft_cap ? p.sm_scale / p.logits_soft_cap : 0.f;
    sm_scale_log2 = (soft_cap ? p.logits_soft_cap : p.sm_scale) * fi::math::log2e;
    scale_pv = p.v_scale;
    const Fa3Item info = p.items[item];
    mask_right = info.mask_right;
    mask_left = info.mask_left;
    check_right = (info.flags & kFa3MaskRight) != 0;
    check_left = (info.flags & kFa3MaskLeft) != 0;
    sink_log2 =
        (info.flags & kFa3AddSink) != 0 ? p.sinks[qo_head] * fi::math::log2e : -fi::math::inf;
  }

  template <int NUM_ROWS_PER_THREAD>
  __device__ auto GetAttentionUpdater() {
    return SinkSoftmax<NUM_ROWS_PER_THREAD>(sm_scale_log2, sink_log2);
  }

  REGISTER_LOGITS_TRANSFORM(params, logits, batch_idx, qo_idx, kv_idx, qo_head_idx, kv_head_idx, {
    if (soft_cap) logits = T(fi::math::tanh(float(logits) * pre_tanh_scale));
    const int32_t q = static_cast<int32_t>(qo_idx), k = static_cast<int32_t>(kv_idx);
    const bool dropped = (check_right && k > q + mask_right) || (check_left && k < q + mask_left);
    return dropped ? T(-fi::math::inf) : logits;
  })
};

// FlashInfer's epilogue, writing each item to o / lse (slot -1) or to its partial-state slot:
// rows slot * CTA_Q .. of o_part [slots * CTA_Q, D] and lse_part.
template <typename Ktraits>
struct RoutedEpilogue {
  using Base = fi::CollectiveEpilogue<Ktraits>;
  static constexpr int CTA_Q = Ktraits::CTA_Q;
  struct Params {
    typename Base::Params direct;
    typename Base::Params partial;
    const Fa3Item* items;
  };

  CUTLASS_DEVICE static void prefetch_tma_descriptors(Params const&) {}

  template <typename BlockCoord, typename SharedStorage, typename FrgTensorO, typename FrgTensorLSE,
            typename TiledMma>
  CUTLASS_DEVICE void store(Params const& p, FrgTensorO const& tOrO, FrgTensorLSE const& lse,
                            SharedStorage& shared_storage, TiledMma tiled_mma, int thread_idx,
                            BlockCoord const& block_coord) {
    auto [q_tile, qo_head, kv_head, qo_indptr, kv_indptr, qo_len, kv_len, item] = block_coord;
    const int32_t slot = p.items[item].slot;
    if (slot < 0) {
      base.store(p.direct, tOrO, lse, shared_storage, tiled_mma, thread_idx, block_coord);
      return;
    }
    const int32_t rows = min(CTA_Q, int32_t(qo_len) - int32_t(q_tile) * CTA_Q);
    const auto partial = cute::tuple{0,
                                     0,
                                     int32_t(kv_head),
                                     slot * CTA_Q,
                                     int32_t(kv_indptr),
                                     rows,
                                     int32_t(kv_len),
                                     int32_t(item)};
    base.store(p.partial, tOrO, lse, shared_storage, tiled_mma, thread_idx, partial);
  }

  template <typename BlockCoord, typename SharedStorage>
  CUTLASS_DEVICE void store_zero(Params const& p, SharedStorage& shared_storage, int thread_idx,
                                 BlockCoord const& block_coord) {
    auto [q_tile, qo_head, kv_head, qo_indptr, kv_indptr, qo_len, kv_len, item] = block_coord;
    const int32_t slot = p.items[item].slot;
    if (slot < 0) {
      base.store_zero(p.direct, shared_storage, thread_idx, block_coord);
      return;
    }
    const int32_t rows = min(CTA_Q, int32_t(qo_len) - int32_t(q_tile) * CTA_Q);
    const auto partial = cute::tuple{0,
                                     0,
                                     int32_t(kv_head),
                                     slot * CTA_Q,
                                     int32_t(kv_indptr),
                                     rows,
                                     int32_t(kv_len),
                                     int32_t(item)};
    base.store_zero(p.partial, shared_storage, thread_idx, partial);
  }

  CUTLASS_DEVICE void store_tail() { base.store_tail(); }

  Base base;
};

template <int D>
constexpr int kStages = 2;

// The kernel and its parameter types for one configuration.
template <typename T, int D, bool PAGED>
struct Kernel {
  using DType = fi::cutlass_dtype_t<T>;
  static constexpr int kCtaQ = fa3_cta_q(D);
  static constexpr int kCtaKv = fa3_cta_kv(D, PAGED);
  using Traits =
      fi::AttentionKernelTraits</*USE_TMA_LOAD_KV=*/!PAGED, D, D, kCtaQ, kCtaKv, kStages<D>, DType,
                                DType, DType, int32_t, ItemMaskedAttention>;
  using Mainloop =
      std::conditional_t<PAGED, fi::SparseCollectiveMainloop<ItemParams, Traits, /*CAUSAL=*/false>,
                         fi::CollectiveMainloop<ItemParams, Traits, /*CAUSAL=*/false>>;
  using Epilogue = RoutedEpilogue<Traits>;
  using Scheduler = fi::BatchPrefillPersistentTileScheduler<int32_t>;
  static constexpr auto kernel() {
    return fi::PrefillWithKVCacheKernel<Mainloop, Epilogue, Traits, /*LEFT_SLIDING_WINDOW=*/false,
                                        /*CAUSAL=*/false, Scheduler>;
  }
  static KernelInfo info() {
    return KernelInfo{reinterpret_cast<const void*>(kernel()), uint32_t(Traits::NUM_WARPS * 32),
                      uint32_t(sizeof(typename Traits::SharedStorage))};
  }
};

// The work table's arrays in the workspace (the FA3 scheduler's inputs).
struct WorkTable {
  int32_t *qo_tile_indices, *qo_indptr, *kv_indptr, *qo_lens, *kv_lens, *head_indices,
      *batch_indices, *work_indptr;
};

inline WorkTable work_table(const PrefillSchedule& s, void* workspace) {
  auto* base = reinterpret_cast<int32_t*>(static_cast<char*>(workspace) + s.fa3.table);
  const int64_t n = s.item_cap;
  return {base,         base + n,     base + 2 * n, base + 3 * n,
          base + 4 * n, base + 5 * n, base + 6 * n, base + 7 * n};
}

constexpr int kMergeWarps = 8;

// One warp per (merge unit, row): the unit's partial states of that row combined (base-2 LSEs)
// into o / lse. Units past the planner's count, and rows past the unit's, exit.
template <typename T, int D>
__global__ void __launch_bounds__(kMergeWarps * 32)
    merge_kernel(const T* __restrict__ o_part, const float* __restrict__ lse_part,
                 const MergeUnit* __restrict__ units, const PlanCounters* __restrict__ counters,
                 int32_t cta_q, int32_t num_qo_heads, T* __restrict__ o, float* __restrict__ lse) {
  constexpr int kPerLane = D / 32;
  const int64_t warp = int64_t(blockIdx.x) * kMergeWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int64_t u = warp / cta_q;
  const int32_t r = int32_t(warp % cta_q);
  if (u >= counters->units) return;
  const MergeUnit unit = units[u];
  if (r >= unit.rows) return;
  float m = -INFINITY, d = 0.f, acc[kPerLane] = {};
  for (int32_t k = 0; k < unit.slots; ++k) {
    const int64_t row = int64_t(unit.first_slot + k) * cta_q + r;
    const float l = lse_part[row];
    if (l == -INFINITY) continue;
    const float m_new = fmaxf(m, l);
    const float scale = exp2f(m - m_new), w = exp2f(l - m_new);
    const T* src = o_part + row * D + lane * kPerLane;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) acc[i] = acc[i] * scale + w * float(src[i]);
    d = d * scale + w;
    m = m_new;
  }
  const float inv = d > 0.f ? 1.f / d : 0.f;
  const int64_t out_row = int64_t(unit.row0 + r) * num_qo_heads + unit.head;
  T* dst = o + out_row * D + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dst[i] = T(acc[i] * inv);
  if (lse != nullptr && lane == 0) lse[out_row] = d > 0.f ? m + log2f(d) : -INFINITY;
}

// planner, FA3, merge.
template <typename T, int D, bool PAGED>
cudaError_t run(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                cudaStream_t stream) {
  using K = Kernel<T, D, PAGED>;
  using DType = typename K::DType;
  const PrefillShape& shape = p.shape;
  char* ws = static_cast<char*>(workspace);
  const WorkTable table = work_table(s, workspace);
  auto* items = reinterpret_cast<Fa3Item*>(ws + s.fa3.items);
  auto* units = reinterpret_cast<MergeUnit*>(ws + s.fa3.units);
  auto* counters = reinterpret_cast<PlanCounters*>(ws + s.fa3.counters);
  auto* o_part = reinterpret_cast<DType*>(ws + s.fa3.o_part);
  auto* lse_part = reinterpret_cast<float*>(ws + s.fa3.lse_part);

  Fa3PlanArgs plan{};
  plan.q_indptr = p.q_indptr;
  plan.kv_indptr = p.kv_indptr;
  plan.last_page_len = PAGED ? p.last_page_len : nullptr;
  plan.batch_size = shape.batch_size;
  plan.num_qo_heads = shape.num_qo_heads;
  plan.page_size = shape.page_size;
  plan.cta_q = s.cta_q;
  plan.cta_kv = s.cta_kv;
  plan.window_left = p.attn.window_left;
  plan.causal = shape.causal;
  plan.sinks = p.attn.sinks != nullptr;
  plan.allow_split = s.split_allowed;
  plan.sm_count = s.ctas;
  plan.tile_cap = s.tile_cap;
  plan.item_cap = s.item_cap;
  plan.split_items = s.split_items;
  plan.min_chunk_tokens = s.min_chunk_tokens;
  plan.ctas = s.ctas;
  plan.unit_cap = s.unit_cap;
  plan.short_requests = {s.short_packed_rows, s.short_min_ctas, shape.group(), shape.num_kv_heads};
  plan.qo_tile_indices = table.qo_tile_indices;
  plan.qo_indptr = table.qo_indptr;
  plan.kv_indptr_out = table.kv_indptr;
  plan.qo_lens = table.qo_lens;
  plan.kv_lens = table.kv_lens;
  plan.head_indices = table.head_indices;
  plan.batch_indices = table.batch_indices;
  plan.work_indptr = table.work_indptr;
  plan.items = items;
  plan.tiles = reinterpret_cast<int4*>(ws + s.fa3.tiles);
  plan.scratch = reinterpret_cast<int32_t*>(ws + s.fa3.scratch);
  plan.units = units;
  plan.counters = counters;
  cudaError_t err = launch_fa3_planner(plan, stream);
  if (err != cudaSuccess) return err;

  const int64_t nnz_q = shape.max_q_rows;
  const int32_t hq = shape.num_qo_heads, hkv = shape.num_kv_heads;
  const auto layout_q = fi::get_gmem_layout(nnz_q, hq, D, int64_t(hq) * D, D);
  const ItemParams additional{p.sm_scale * p.attn.k_scale, p.attn.logits_soft_cap, p.attn.v_scale,
                              p.attn.sinks, items};
  const typename K::Mainloop::Params mainloop = [&] {
    if constexpr (PAGED) {
      // HND pages [Hkv][P][D], NHD pages [P][Hkv][D]: the same page stride, other strides.
      const int64_t page_stride = int64_t(hkv) * shape.page_size * D;
      const int64_t token_stride = p.attn.nhd ? int64_t(hkv) * D : D;
      const int64_t head_stride = p.attn.nhd ? D : int64_t(shape.page_size) * D;
      const auto layout_kv = fi::get_gmem_layout(0, hkv, D, token_stride, head_stride);
      return K::Mainloop::to_underlying_arguments(
          {static_cast<const DType*>(p.q), layout_q, static_cast<DType*>(const_cast<void*>(p.k)),
           layout_kv, static_cast<DType*>(const_cast<void*>(p.v)), layout_kv,
           const_cast<int32_t*>(p.kv_indices), /*window_left=*/-1, page_stride, page_stride,
           static_cast<uint32_t>(shape.page_size), additional});
    } else {
      const auto layout_kv = fi::get_gmem_layout(shape.max_kv_rows, hkv, D, int64_t(hkv) * D, D);
      return K::Mainloop::to_underlying_arguments(
          {static_cast<const DType*>(p.q), layout_q, static_cast<const DType*>(p.k), layout_kv,
           static_cast<const DType*>(p.v), layout_kv, /*window_left=*/-1, additional});
    }
  }();
  const int64_t slot_rows = int64_t(s.slot_cap) * s.cta_q;
  const typename K::Epilogue::Params epilogue{
      K::Epilogue::Base::to_underlying_arguments(
          {static_cast<DType*>(p.o), fi::get_gmem_layout(nnz_q, hq, D, int64_t(hq) * D, D), p.lse,
           fi::get_lse_gmem_layout(nnz_q, hq)}),
      K::Epilogue::Base::to_underlying_arguments(
          {o_part, fi::get_gmem_layout(std::max<int64_t>(slot_rows, 1), 1, D, D, D), lse_part,
           fi::get_lse_gmem_layout(std::max<int64_t>(slot_rows, 1), 1)}),
      items};
  const typename K::Scheduler::Arguments scheduler_args = {table.work_indptr,
                                                           table.head_indices,
                                                           table.qo_tile_indices,
                                                           table.qo_indptr,
                                                           table.kv_indptr,
                                                           table.qo_lens,
                                                           table.kv_lens,
                                                           table.batch_indices,
                                                           cutlass::FastDivmod(hq / hkv),
                                                           hq};
  const typename K::Scheduler::Params scheduler =
      K::Scheduler::to_underlying_arguments(scheduler_args);
  const KernelInfo info = K::info();
  err = launch_kernel(K::kernel(), dim3(unsigned(s.ctas)), dim3(info.threads), info.smem_bytes,
                      stream, mainloop, epilogue, scheduler);
  if (err != cudaSuccess || s.unit_cap == 0) return err;
  const int64_t warps = int64_t(s.unit_cap) * s.cta_q;
  return launch_kernel(merge_kernel<DType, D>,
                       dim3(unsigned((warps + kMergeWarps - 1) / kMergeWarps)),
                       dim3(kMergeWarps * 32), 0, stream, o_part, lse_part, units, counters,
                       s.cta_q, hq, static_cast<DType*>(p.o), p.lse);
}

template <typename T, int D>
cudaError_t run_paged(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                      cudaStream_t stream) {
  return run<T, D, true>(p, s, workspace, stream);
}

template <typename T, int D>
cudaError_t run_ragged(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                       cudaStream_t stream) {
  return run<T, D, false>(p, s, workspace, stream);
}

}  // namespace baracuda::flashinfer::prefill::fa3
