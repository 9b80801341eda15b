// Tensor-core decode: FlashInfer's FA2 paged prefill kernel with one query row per request (its
// "use_tensor_cores" decode). The GQA group is packed into the query rows of a tile, so any
// Hq / Hkv runs at one KV read per (request, KV head, query tile). fp8 KV is widened to the query
// type once per tile in the kernel, not once per query head as on CUDA cores. Work items come from
// the on-device planner (decode_plan.cu); FlashInfer's dispatcher picks the KV tile from the
// device's shared memory and, when split, merges the partial states. Included by
// decode_tc_<element>_hd<D>.cu.
#pragma once

#include <cuda_runtime.h>

#include <type_traits>

#include <flashinfer/attention/default_prefill_params.cuh>
#include <flashinfer/attention/mask.cuh>
#include <flashinfer/attention/prefill.cuh>
#include <flashinfer/attention/variants.cuh>
#include <flashinfer/page.cuh>

#include "common/runtime_variant.cuh"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode {

namespace fi = ::flashinfer;

// Request 0's KV chunk in tokens, from its page count on the device: the smallest chunk of at
// least min_chunk_pages pages that splits it into at most `chunks` chunks (the planner's choice
// for one request). The kernel reads it as *params.kv_chunk_size_ptr.
struct SingleRequestChunk {
  const int32_t* indptr;
  int32_t page_size, chunks, min_chunk_pages;
  __device__ __forceinline__ int32_t operator*() const {
    const int32_t pages = indptr[1] - indptr[0];
    const int32_t per_chunk = (pages + chunks - 1) / chunks;
    return (per_chunk > min_chunk_pages ? per_chunk : min_chunk_pages) * page_size;
  }
};
// FlashInfer's parameters with the chunk size computed in the kernel: a single request split
// without the planner (its work items come from constant tables, single_request_tables).
template <typename T, typename TKV>
struct SingleRequestParams : fi::BatchPrefillPagedParams<T, TKV, T, int32_t> {
  using fi::BatchPrefillPagedParams<T, TKV, T, int32_t>::BatchPrefillPagedParams;
  SingleRequestChunk kv_chunk_size_ptr;  // hides the base's pointer
};

// The FA2 kernel over the work items: `rows_per_request` query rows per request of the page table
// (1 for decode; the whole batch of queries for a shared prefix, whose page table has one
// request), CTA_TILE_Q packed (row, query head) pairs per CTA. Params: FlashInfer's (the planner's
// chunk size in the workspace) or SingleRequestParams.
template <typename T, typename TKV, uint32_t HEAD_DIM, uint32_t CTA_TILE_Q, typename Variant,
          typename Params = fi::BatchPrefillPagedParams<T, TKV, T, int32_t>>
cudaError_t launch_tc(const DecodeProblem& p, const DecodeBuffers& s, uint32_t requests,
                      cudaStream_t stream) {
  fi::paged_kv_t<TKV, int32_t> kv(
      static_cast<uint32_t>(p.num_kv_heads), static_cast<uint32_t>(p.page_size), HEAD_DIM, requests,
      p.attn.nhd ? fi::QKVLayout::kNHD : fi::QKVLayout::kHND, static_cast<TKV*>(p.k_data),
      static_cast<TKV*>(p.v_data),
      const_cast<int32_t*>(p.indices), const_cast<int32_t*>(p.indptr),
      const_cast<int32_t*>(p.last_page_len));
  Params params(static_cast<T*>(const_cast<void*>(p.q)), kv, /*custom_mask=*/nullptr, s.q_indptr,
                /*mask_indptr=*/nullptr, /*q_rope_offset=*/nullptr, static_cast<T*>(p.o), p.lse,
                /*alibi=*/nullptr, static_cast<uint32_t>(p.num_qo_heads),
                p.num_qo_heads * static_cast<int32_t>(HEAD_DIM), static_cast<int32_t>(HEAD_DIM),
                p.attn.window_left, p.attn.logits_soft_cap, p.sm_scale * p.attn.k_scale,
                /*rope_scale=*/1.f,
                /*rope_theta=*/1e4f);
  params.request_indices = s.request_indices;
  params.qo_tile_indices = s.qo_tile_indices;
  params.kv_tile_indices = s.kv_tile_indices;
  params.merge_indptr = s.merge_indptr;
  params.o_indptr = s.o_indptr;
  params.block_valid_mask = s.block_valid_mask;
  if constexpr (std::is_same_v<Params, SingleRequestParams<T, TKV>>) {
    params.kv_chunk_size_ptr =
        SingleRequestChunk{p.indptr, p.page_size, s.padded_items, s.min_chunk_pages};
  } else {
    params.kv_chunk_size_ptr = s.kv_chunk_tokens;
  }
  params.max_total_num_rows = static_cast<uint32_t>(p.batch_size);
  params.total_num_rows = nullptr;
  params.padded_batch_size = static_cast<uint32_t>(s.padded_items);
  return fi::BatchPrefillWithPagedKVCacheDispatched<
      /*SAME_KV_STRIDES=*/true, CTA_TILE_Q, HEAD_DIM, HEAD_DIM, fi::PosEncodingMode::kNone,
      /*USE_FP16_QK_REDUCTION=*/false, fi::MaskMode::kNone, Variant, Params>(
      params, s.split ? static_cast<T*>(s.tmp_o) : nullptr, s.split ? s.tmp_lse : nullptr,
      /*enable_pdl=*/false, stream);
}

// Without a window or a soft-cap, the kernel is FlashInfer's DefaultAttention with both off at
// compile time: the run-time variant made tensor-core decodes up to 5 % slower on the H200
// (docs/notes/tuning-history.md, 2026-12-02 and 2026-12-04).
template <typename T, typename TKV, uint32_t HEAD_DIM, uint32_t CTA_TILE_Q>
cudaError_t launch_tc_for_options(const DecodeProblem& p, const DecodeBuffers& s,
                                  uint32_t requests, cudaStream_t stream) {
  if (p.attn.plain_logits()) {
    return launch_tc<T, TKV, HEAD_DIM, CTA_TILE_Q, PlainAttention>(p, s, requests, stream);
  }
  return launch_tc<T, TKV, HEAD_DIM, CTA_TILE_Q, RuntimeAttention>(p, s, requests, stream);
}

// The schedule's tile: 16 rows, or 64 for groups above 16 with 16-bit KV (the shared prefix's
// kernels).
template <typename T, typename TKV, uint32_t HEAD_DIM>
cudaError_t launch_decode_tc(const DecodeProblem& p, const DecodeBuffers& s, cudaStream_t stream) {
  const auto requests = static_cast<uint32_t>(p.batch_size);
  if (s.single_request) {  // the schedule's promise: one 16-row tile, plain logits
    if (s.tile_rows != kTensorCoreTileQ || !p.attn.plain_logits()) {
      return cudaErrorInvalidConfiguration;
    }
    return launch_tc<T, TKV, HEAD_DIM, kTensorCoreTileQ, PlainAttention,
                     SingleRequestParams<T, TKV>>(p, s, requests, stream);
  }
  if constexpr (std::is_same_v<T, TKV>) {
    if (s.tile_rows == kSharedPrefixTileQ) {
      return launch_tc_for_options<T, TKV, HEAD_DIM, kSharedPrefixTileQ>(p, s, requests, stream);
    }
  }
  if (s.tile_rows != kTensorCoreTileQ) return cudaErrorInvalidConfiguration;
  return launch_tc_for_options<T, TKV, HEAD_DIM, kTensorCoreTileQ>(p, s, requests, stream);
}

template <typename T, uint32_t HEAD_DIM>
cudaError_t launch_shared_prefix_tc(const DecodeProblem& p, const DecodeBuffers& s,
                                    cudaStream_t stream) {
  return launch_tc_for_options<T, T, HEAD_DIM, kSharedPrefixTileQ>(p, s, /*requests=*/1, stream);
}

// The table entry of one (element, head dim): the shared prefix has 16-bit KV only.
template <typename T, typename TKV, uint32_t HEAD_DIM>
constexpr TensorCoreVariant tensor_core_variant(int32_t element) {
  if constexpr (std::is_same_v<T, TKV>) {
    return {element, HEAD_DIM, &launch_decode_tc<T, TKV, HEAD_DIM>,
            &launch_shared_prefix_tc<T, HEAD_DIM>};
  } else {
    return {element, HEAD_DIM, &launch_decode_tc<T, TKV, HEAD_DIM>, nullptr};
  }
}

}  // namespace baracuda::flashinfer::decode

#define BFI_TC_ARRAY_NAME_(NAME, D) kTensorCoreVariant_##NAME##_hd##D
#define BFI_TC_ARRAY_NAME(NAME, D) BFI_TC_ARRAY_NAME_(NAME, D)
namespace baracuda::flashinfer::decode {
extern const TensorCoreVariant BFI_TC_ARRAY_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM);
const TensorCoreVariant BFI_TC_ARRAY_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM) =
    tensor_core_variant<BFI_DTYPE_Q, BFI_DTYPE_KV, BFI_HEAD_DIM>(BFI_ELEMENT_CODE);
}  // namespace baracuda::flashinfer::decode
