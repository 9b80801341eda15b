// Batch prefill on FlashInfer's FA2 kernel (every architecture; on sm_90 when asked for): its
// paged batch-prefill kernel with the GQA group packed into the query rows of a tile, over the
// work items of the device planner (prefill_plan.cu), split-KV merged by FlashInfer's
// variable-length merge. A ragged K/V is the same kernel over one-token pages: [rows, Hkv, D] is
// the HND layout of pages of one token, with identity page ids written by the planner. K/V are
// the query type or fp8 (the kernel widens each K/V tile to the query type in registers; k_scale
// folds into sm_scale, v_scale is the finalize pass). Included by the generated prefill_fa2_<element>_hd<D>.cu TUs.
#pragma once

#include <cuda_runtime.h>

#include <type_traits>

#include <flashinfer/attention/default_prefill_params.cuh>
#include <flashinfer/attention/mask.cuh>
#include <flashinfer/attention/prefill.cuh>
#include <flashinfer/attention/variants.cuh>
#include <flashinfer/page.cuh>

#include "common/attention_finalize.cuh"
#include "common/runtime_variant.cuh"
#include "prefill/prefill_launch.hpp"

namespace baracuda::flashinfer::prefill::fa2 {

namespace fi = ::flashinfer;

template <typename T, typename TKV, uint32_t D, uint32_t TILE_Q, fi::MaskMode MASK>
cudaError_t launch(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                   const int32_t* kv_indices, int32_t page_size, float* lse, cudaStream_t stream) {
  using Params = fi::BatchPrefillPagedParams<T, TKV, T, int32_t>;
  using Variant = RuntimeAttention;
  const PrefillShape& shape = p.shape;
  char* ws = static_cast<char*>(workspace);
  const Fa2Layout& l = s.fa2;
  const auto at = [ws](size_t offset) { return reinterpret_cast<int32_t*>(ws + offset); };
  // The kernel's requests are the planner's 2B (Fa2Layout::split_q_indptr).
  int32_t* const q_indptr = at(l.split_q_indptr);
  fi::paged_kv_t<TKV, int32_t> kv(
      static_cast<uint32_t>(shape.num_kv_heads), static_cast<uint32_t>(page_size), D,
      2 * static_cast<uint32_t>(shape.batch_size),
      p.attn.nhd && shape.paged ? fi::QKVLayout::kNHD : fi::QKVLayout::kHND,
      static_cast<TKV*>(const_cast<void*>(p.k)), static_cast<TKV*>(const_cast<void*>(p.v)),
      const_cast<int32_t*>(kv_indices), at(l.split_kv_indptr), at(l.split_last_page_len));
  Params params(static_cast<T*>(const_cast<void*>(p.q)), kv, /*custom_mask=*/nullptr, q_indptr,
                /*mask_indptr=*/nullptr,
                /*q_rope_offset=*/nullptr, static_cast<T*>(p.o), lse, /*alibi=*/nullptr,
                static_cast<uint32_t>(shape.num_qo_heads),
                shape.num_qo_heads * static_cast<int32_t>(D), static_cast<int32_t>(D),
                p.attn.window_left, p.attn.logits_soft_cap, p.sm_scale * p.attn.k_scale,
                /*rope_scale=*/1.f, /*rope_theta=*/1e4f);
  params.request_indices = at(l.request_indices);
  params.qo_tile_indices = at(l.qo_tile_indices);
  params.kv_tile_indices = at(l.kv_tile_indices);
  params.merge_indptr = at(l.merge_indptr);
  params.o_indptr = at(l.o_indptr);
  params.block_valid_mask = reinterpret_cast<bool*>(ws + l.valid_mask);
  params.kv_chunk_size_ptr = at(l.kv_chunk_size);
  params.max_total_num_rows = static_cast<uint32_t>(shape.max_q_rows);
  // The merge covers the rows the call has, q_indptr[B], read on the device.
  params.total_num_rows =
      reinterpret_cast<uint32_t*>(const_cast<int32_t*>(p.q_indptr + shape.batch_size));
  params.padded_batch_size = static_cast<uint32_t>(s.padded_items);
  // With split allowed the kernel writes partial states for every item and FlashInfer's merge
  // combines them; the planner decides per call whether to split (kv_chunk_size 0: no split).
  T* tmp_o = s.fa2_split ? reinterpret_cast<T*>(ws + l.tmp_o) : nullptr;
  float* tmp_lse = s.fa2_split ? reinterpret_cast<float*>(ws + l.tmp_lse) : nullptr;
  return fi::BatchPrefillWithPagedKVCacheDispatched<
      /*SAME_KV_STRIDES=*/true, TILE_Q, D, D, fi::PosEncodingMode::kNone,
      /*USE_FP16_QK_REDUCTION=*/false, MASK, Variant, Params>(params, tmp_o, tmp_lse,
                                                              /*enable_pdl=*/false, stream);
}

// The FA2 path's call, or the FA3 path's launch of its short requests (s.short_packed_rows > 0:
// unsplit, and never with the options' finalize pass).
template <typename T, typename TKV, uint32_t D, bool PAGED>
cudaError_t run(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                cudaStream_t stream) {
  const PrefillShape& shape = p.shape;
  char* ws = static_cast<char*>(workspace);
  const Fa2Layout& l = s.fa2;
  const auto at = [ws](size_t offset) { return reinterpret_cast<int32_t*>(ws + offset); };
  Fa2PlanArgs plan{};
  plan.q_indptr = p.q_indptr;
  plan.kv_indptr = p.kv_indptr;
  plan.last_page_len = PAGED ? p.last_page_len : nullptr;
  plan.batch_size = shape.batch_size;
  plan.max_q_rows = shape.max_q_rows;
  plan.max_kv_rows = shape.max_kv_rows;
  plan.page_size = PAGED ? shape.page_size : 1;
  plan.group = shape.group();
  plan.cta_q = s.fa2_tile_q;
  plan.padded_items = s.padded_items;
  plan.min_chunk_pages = std::max(s.min_chunk_tokens / plan.page_size, 1);
  plan.split_items = s.fa2_split ? s.split_items : 0;
  plan.window_left = p.attn.window_left;
  plan.allow_split = s.fa2_split;
  plan.causal = shape.causal;
  plan.short_requests = {s.short_packed_rows, s.short_min_ctas, shape.group(), shape.num_kv_heads};
  plan.request_indices = at(l.request_indices);
  plan.qo_tile_indices = at(l.qo_tile_indices);
  plan.kv_tile_indices = at(l.kv_tile_indices);
  plan.valid_mask = reinterpret_cast<bool*>(ws + l.valid_mask);
  plan.o_indptr = at(l.o_indptr);
  plan.merge_indptr = at(l.merge_indptr);
  plan.kv_chunk_size = at(l.kv_chunk_size);
  plan.identity_indices = PAGED ? nullptr : at(l.kv_indices);
  plan.split_q_indptr = at(l.split_q_indptr);
  plan.split_kv_indptr = at(l.split_kv_indptr);
  plan.split_last_page_len = at(l.split_last_page_len);
  cudaError_t err = launch_fa2_planner(plan, stream);
  if (err != cudaSuccess) return err;
  const int32_t* indices = PAGED ? p.kv_indices : at(l.kv_indices);
  // v_scale and sinks: a pass over the finished rows, from their lse (in the workspace when the
  // caller passes none).
  const bool finalize = p.attn.v_scale != 1.f || p.attn.sinks != nullptr;
  float* lse = finalize && p.lse == nullptr ? reinterpret_cast<float*>(ws + l.lse_scratch) : p.lse;
  const auto launch_tile = [&](auto tile_q) {
    constexpr uint32_t kTile = decltype(tile_q)::value;
    return shape.causal ? launch<T, TKV, D, kTile, fi::MaskMode::kCausal>(
                              p, s, workspace, indices, plan.page_size, lse, stream)
                        : launch<T, TKV, D, kTile, fi::MaskMode::kNone>(
                              p, s, workspace, indices, plan.page_size, lse, stream);
  };
  err = s.fa2_tile_q == kShortTileQ ? launch_tile(std::integral_constant<uint32_t, kShortTileQ>{})
                                    : launch_tile(std::integral_constant<uint32_t, kFa2TileQ>{});
  if (err != cudaSuccess || !finalize) return err;
  FinalizeArgs fin{p.o,
                   lse,
                   p.lse,
                   p.attn.sinks,
                   p.attn.v_scale,
                   shape.max_q_rows,
                   p.q_indptr + shape.batch_size,
                   shape.num_qo_heads};
  return launch_finalize<T, D>(fin, stream);
}

template <typename T, typename TKV, uint32_t D>
cudaError_t run_paged(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                      cudaStream_t stream) {
  return run<T, TKV, D, true>(p, s, workspace, stream);
}

template <typename T, typename TKV, uint32_t D>
cudaError_t run_ragged(const PrefillProblem& p, const PrefillSchedule& s, void* workspace,
                       cudaStream_t stream) {
  return run<T, TKV, D, false>(p, s, workspace, stream);
}

}  // namespace baracuda::flashinfer::prefill::fa2
