// Device side of paged decode: FlashInfer's CUDA-core batch-decode kernel, driven by our own
// Params type, plus the on-device split-KV planner. Included only by the generated
// instantiation TUs (decode_<element>_hd<D>.cu) and decode_plan.cu.
#pragma once

#include <cuda_runtime.h>

#include <flashinfer/attention/decode.cuh>
#include <flashinfer/attention/variants.cuh>
#include <flashinfer/page.cuh>

#include "common/launch.cuh"
#include "common/runtime_variant.cuh"
#include "decode/decode_launch.hpp"
#include "merge/merge_kernels.cuh"

namespace baracuda::flashinfer::decode {

namespace fi = ::flashinfer;

// The kernel reads `params.request_indices[bx]`, `params.kv_tile_indices[bx]` and
// `*params.kv_chunk_size_ptr` unconditionally. These accessors read the planner's arrays when it
// ran, and otherwise answer without a workspace and without an init kernel:
//   no split:              request = bx, tile = 0, chunk unused;
//   one request, split:    request = 0, tile = bx, chunk = max(ceil(kv_len / grid), 32) for
//                          CTAs that start inside the sequence, 0 past its end (no planner).
struct WorkIndex {
  const int32_t* ptr;
  bool identity;  // without ptr: i (true) or 0 (false)
  __device__ __forceinline__ int32_t operator[](uint32_t i) const {
    return ptr != nullptr ? ptr[i] : (identity ? static_cast<int32_t>(i) : 0);
  }
};
// The keys a request's window keeps, from the page holding its first one: with a sliding window
// (window_left >= 0) the kernel reads the pages from that one on, as a request of the trimmed
// length (the window's mask is the same in trimmed positions: the cut is whole pages).
struct WindowPages {
  const int32_t* indptr;
  const int32_t* last_page_len;
  int32_t page_size;
  int32_t window_left;  // -1: none
  __host__ __device__ __forceinline__ int32_t skipped_pages(int32_t b) const {
    const int32_t pages = indptr[b + 1] - indptr[b];
    if (window_left < 0 || pages == 0) return 0;
    const int32_t len = (pages - 1) * page_size + last_page_len[b];
    return max(len - window_left - 1, 0) / page_size;
  }
  __host__ __device__ __forceinline__ uint32_t length(int32_t b) const {
    const int32_t pages = indptr[b + 1] - indptr[b];
    if (pages == 0) return 0;
    return uint32_t((pages - 1 - skipped_pages(b)) * page_size + last_page_len[b]);
  }
};

struct ChunkTokens {
  const int32_t* ptr;  // the planner's chunk size, or NULL
  WindowPages pages;   // one request without planner: its pages ...
  uint32_t num_chunks;  // ... split into this many chunks (0: no split)
  __device__ __forceinline__ int32_t operator*() const {
    if (ptr != nullptr) return *ptr;
    if (num_chunks == 0) return 0;
    const uint32_t kv_len = pages.length(0);
    uint32_t chunk = (kv_len + num_chunks - 1) / num_chunks;
    chunk = chunk < kMinSingleRequestChunk ? kMinSingleRequestChunk : chunk;
    // The kernel computes its range as [bx * chunk, min((bx + 1) * chunk, kv_len)): a CTA whose
    // start lies past the end gets chunk 0 (an empty range, an empty partial state) rather than
    // an unsigned underflow.
    return blockIdx.x * chunk < kv_len ? static_cast<int32_t>(chunk) : 0;
  }
};

// A request's page ids as the kernel indexes them (paged_kv.indptr[b]): the first page it reads
// (past the pages a window skips), and indptr[batch] unchanged (the kernel's bound on page ids).
struct WindowIndptr {
  WindowPages pages;
  int32_t batch_size;
  __device__ __forceinline__ int32_t operator[](int32_t b) const {
    return b >= batch_size ? pages.indptr[b] : pages.indptr[b] + pages.skipped_pages(b);
  }
};

// FlashInfer's kernel addresses K/V with its block's kv-head index. We launch one "virtual" KV
// head per `group_per_virtual` query heads (a group size the kernel is compiled for), so any
// GQA ratio works: virtual head v reads real KV head v / virtual_per_kv_head.
template <typename DType>
struct GroupedPagedKV : fi::paged_kv_t<DType, int32_t> {
  using Base = fi::paged_kv_t<DType, int32_t>;
  fi::uint_fastdiv virtual_per_kv_head;
  // Hides the base's indptr and get_length for the kernel (it copies params.paged_kv as this
  // type): a window's trimmed view.
  WindowIndptr indptr;

  GroupedPagedKV() = default;
  __host__ GroupedPagedKV(const Base& base, uint32_t virtual_per_kv_head_, WindowPages window)
      : Base(base),
        virtual_per_kv_head(virtual_per_kv_head_),
        indptr{window, static_cast<int32_t>(base.batch_size)} {}

  __host__ __device__ __forceinline__ uint32_t get_length(uint32_t batch_idx) const {
    return indptr.pages.length(static_cast<int32_t>(batch_idx));
  }

  __device__ __forceinline__ size_t protective_get_kv_offset(int32_t page_iter, uint32_t head_idx,
                                                             uint32_t entry_idx, uint32_t feat_idx,
                                                             int32_t last_indptr) const {
    return Base::protective_get_kv_offset(page_iter, head_idx / virtual_per_kv_head, entry_idx,
                                          feat_idx, last_indptr);
  }
};

template <typename DTypeQ_, typename DTypeKV_, typename DTypeO_>
struct DecodeParams {
  using DTypeQ = DTypeQ_;
  using DTypeKV = DTypeKV_;
  using DTypeO = DTypeO_;
  using IdType = int32_t;

  DTypeQ* q;
  GroupedPagedKV<DTypeKV> paged_kv;
  DTypeO* o;
  float* lse;
  float* maybe_alibi_slopes;
  uint32_t padded_batch_size;
  uint32_t num_qo_heads;
  int32_t q_stride_n;
  int32_t q_stride_h;
  int32_t window_left;
  float logits_soft_cap;
  float sm_scale;
  float rope_rcp_scale;
  float rope_rcp_theta;
  WorkIndex request_indices;
  WorkIndex kv_tile_indices;
  int32_t* o_indptr;
  ChunkTokens kv_chunk_size_ptr;
  bool* block_valid_mask;
  bool partition_kv;

  __host__ __device__ __forceinline__ int32_t get_qo_len(int32_t) const { return 1; }
  __host__ __device__ __forceinline__ int32_t get_kv_len(int32_t b) const {
    return paged_kv.get_length(b);
  }
};

// Without a window or a soft-cap, 16-bit and f32 KV run FlashInfer's DefaultAttention with both
// off at compile time: the run-time variant made CUDA-core decode 1-10 % slower on the H200
// (docs/notes/tuning-history.md#cuda-core-plain-kernel). fp8 KV keeps the run-time kernel alone:
// the auto rule sends it to tensor cores above group 1, and its TUs are the costliest.
template <typename DTypeKV>
constexpr bool kHasPlainDecodeKernel = sizeof(DTypeKV) > 1;

// Launch geometry of FlashInfer's batch-decode kernel for one configuration, computed exactly
// as BatchDecodeWithPagedKVCacheDispatched does (sm80+: two shared-memory stages).
template <typename DTypeQ, typename DTypeKV, uint32_t HEAD_DIM, uint32_t GROUP,
          typename Variant = RuntimeAttention>
struct DecodeKernelTraits {
  using DTypeO = DTypeQ;
  using Params = DecodeParams<DTypeQ, DTypeKV, DTypeO>;
  static constexpr uint32_t kVecSize = std::max<uint32_t>(16 / sizeof(DTypeKV), HEAD_DIM / 32);
  static constexpr uint32_t kBdx = HEAD_DIM / kVecSize;
  static constexpr uint32_t kBdy = GROUP;
  static constexpr uint32_t kThreads = std::max<uint32_t>(128, kBdx* kBdy);
  static constexpr uint32_t kBdz = kThreads / (kBdx * kBdy);
  static constexpr uint32_t kTilePerBdx = GROUP == 1 ? (sizeof(DTypeKV) == 1 ? 2 : 4) : 1;
  static constexpr uint32_t kStages = 2;
  static constexpr uint32_t kSmem =
      std::max<uint32_t>(2 * kStages * kTilePerBdx * kBdy * kBdz * HEAD_DIM * sizeof(DTypeKV),
                         kBdz* kBdy* HEAD_DIM * sizeof(float)) +
      std::max<uint32_t>(kTilePerBdx * kThreads * sizeof(DTypeKV*),
                         2 * kBdy * kBdz * sizeof(float));
  static_assert(kBdx <= 32, "head_dim / vec_size must fit a warp");

  static constexpr auto kernel =
      fi::BatchDecodeWithPagedKVCacheKernel<fi::PosEncodingMode::kNone, kStages, kTilePerBdx,
                                            kVecSize, kBdx, kBdy, kBdz, Variant, Params>;
};

// Threads actually launched: bdx * bdy * bdz (below kThreads when bdx * bdy does not divide it).
template <typename Traits>
KernelInfo kernel_info() {
  return KernelInfo{reinterpret_cast<const void*>(Traits::kernel),
                    Traits::kBdx * Traits::kBdy * Traits::kBdz, Traits::kSmem};
}

// The plain kernel of a configuration (a NULL func where none is built).
template <typename DTypeQ, typename DTypeKV, uint32_t HEAD_DIM, uint32_t GROUP>
KernelInfo plain_kernel_info() {
  if constexpr (kHasPlainDecodeKernel<DTypeKV>) {
    return kernel_info<DecodeKernelTraits<DTypeQ, DTypeKV, HEAD_DIM, GROUP, PlainAttention>>();
  } else {
    return KernelInfo{nullptr, 0, 0};
  }
}

// Enqueues decode (and, when split, the merge) for one compiled configuration.
template <typename DTypeQ, typename DTypeKV, uint32_t HEAD_DIM, uint32_t GROUP>
cudaError_t launch_decode(const DecodeProblem& p, const DecodeBuffers& s, cudaStream_t stream) {
  using T = DecodeKernelTraits<DTypeQ, DTypeKV, HEAD_DIM, GROUP>;
  using Params = typename T::Params;
  // Both variants share Params, the launch geometry and so the kernel's type.
  auto kernel = T::kernel;
  if constexpr (kHasPlainDecodeKernel<DTypeKV>) {
    if (p.attn.plain_logits()) {
      kernel = DecodeKernelTraits<DTypeQ, DTypeKV, HEAD_DIM, GROUP, PlainAttention>::kernel;
    }
  }
  const uint32_t group = static_cast<uint32_t>(p.num_qo_heads / p.num_kv_heads);
  const uint32_t virtual_heads = static_cast<uint32_t>(p.num_qo_heads) / GROUP;

  fi::paged_kv_t<DTypeKV, int32_t> base(
      static_cast<uint32_t>(p.num_kv_heads), static_cast<uint32_t>(p.page_size), HEAD_DIM,
      static_cast<uint32_t>(p.batch_size), p.attn.nhd ? fi::QKVLayout::kNHD : fi::QKVLayout::kHND, static_cast<DTypeKV*>(p.k_data),
      static_cast<DTypeKV*>(p.v_data), const_cast<int32_t*>(p.indices),
      const_cast<int32_t*>(p.indptr), const_cast<int32_t*>(p.last_page_len));

  Params params{};
  params.q = static_cast<DTypeQ*>(const_cast<void*>(p.q));
  const WindowPages window{p.indptr, p.last_page_len, p.page_size, p.attn.window_left};
  params.paged_kv = GroupedPagedKV<DTypeKV>(base, group / GROUP, window);
  params.lse = p.lse;
  params.maybe_alibi_slopes = nullptr;
  params.num_qo_heads = static_cast<uint32_t>(p.num_qo_heads);
  params.q_stride_n = p.num_qo_heads * static_cast<int32_t>(HEAD_DIM);
  params.q_stride_h = static_cast<int32_t>(HEAD_DIM);
  params.window_left = p.attn.window_left;
  params.logits_soft_cap = p.attn.logits_soft_cap;
  params.sm_scale = p.sm_scale * p.attn.k_scale;
  params.rope_rcp_scale = 1.f;
  params.rope_rcp_theta = 1e-4f;

  const dim3 block(T::kBdx, T::kBdy, T::kBdz);
  if (!s.split) {
    params.o = static_cast<DTypeQ*>(p.o);
    params.padded_batch_size = static_cast<uint32_t>(p.batch_size);
    params.request_indices = WorkIndex{nullptr, /*identity=*/true};
    params.kv_tile_indices = WorkIndex{nullptr, /*identity=*/false};
    params.o_indptr = nullptr;
    params.kv_chunk_size_ptr = ChunkTokens{nullptr, WindowPages{}, 0};
    params.block_valid_mask = nullptr;
    params.partition_kv = false;
    return launch_kernel(kernel, dim3(static_cast<uint32_t>(p.batch_size), virtual_heads), block,
                         T::kSmem, stream, params);
  }

  params.o = static_cast<DTypeQ*>(s.tmp_o);
  params.lse = s.tmp_lse;
  params.padded_batch_size = static_cast<uint32_t>(s.padded_items);
  if (s.single_request) {
    // Chunk bx of request 0, chunk size from its length on the device: no planner launch.
    params.request_indices = WorkIndex{nullptr, /*identity=*/false};
    params.kv_tile_indices = WorkIndex{nullptr, /*identity=*/true};
    params.kv_chunk_size_ptr = ChunkTokens{nullptr, window, static_cast<uint32_t>(s.padded_items)};
    params.block_valid_mask = nullptr;
  } else {
    params.request_indices = WorkIndex{s.request_indices, true};
    params.kv_tile_indices = WorkIndex{s.kv_tile_indices, false};
    params.kv_chunk_size_ptr = ChunkTokens{s.kv_chunk_tokens, WindowPages{}, 0};
    params.block_valid_mask = s.block_valid_mask;
  }
  params.o_indptr = s.o_indptr;
  params.partition_kv = true;
  {
    const cudaError_t err =
        launch_kernel(kernel, dim3(static_cast<uint32_t>(s.padded_items), virtual_heads), block,
                      T::kSmem, stream, params);
    if (err != cudaSuccess) return err;
  }
  if (s.single_request) {
    // Partial states are [1, padded_items, Hq, D]: a stacked merge (chunks past the end of the
    // sequence are empty states: o = 0, lse = -inf).
    const merge::MergeProblem combine{s.padded_items, 1,       p.num_qo_heads, s.tmp_o, s.tmp_lse,
                                      nullptr,        nullptr, nullptr,        p.o,     p.lse,
                                      /*after_kernel=*/true};
    return merge::launch_stacked<DTypeQ, HEAD_DIM>(combine, stream);
  }
  // Combine the partial states: request b merges work items o_indptr[b] .. o_indptr[b+1]-1
  // (none for an empty request: o = 0, lse = -inf). Both merges are programmatic dependents of
  // the decode kernel, which triggers them as each CTA ends (after its stores).
  const merge::MergeProblem combine{
      /*num_states=*/0, p.batch_size, p.num_qo_heads, s.tmp_o, s.tmp_lse,
      nullptr,          nullptr,      s.o_indptr,     p.o,     p.lse,
      /*after_kernel=*/true};
  return merge::launch_varlen<DTypeQ, HEAD_DIM>(combine, stream);
}

}  // namespace baracuda::flashinfer::decode
