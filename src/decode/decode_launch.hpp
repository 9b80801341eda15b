// Host-visible description of one decode call and of the compiled decode configurations.
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA instantiation TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/kernel_cache.hpp"

namespace baracuda::flashinfer::decode {

struct DecodeProblem {
  int32_t batch_size, page_size, head_dim, num_qo_heads, num_kv_heads;
  float sm_scale;
  void* k_data;
  void* v_data;
  const int32_t* indices;
  const int32_t* indptr;
  const int32_t* last_page_len;
  const void* q;
  void* o;
  float* lse;
  // Fused cascade only (cascade_decode_run): each request's suffix pages, indexing `indices` too.
  const int32_t* suffix_indptr;
  const int32_t* suffix_last_page_len;
  // Fused cascade over a dense prefix (cascade_decode_dense_prefix_run): the prefix's K and V,
  // prefix_tokens rows per KV head at element strides (token, head), D contiguous. prefix_k NULL:
  // the prefix is paged (indices[indptr[0] .. indptr[1]), last_page_len).
  const void* prefix_k;
  const void* prefix_v;
  int32_t prefix_tokens;
  int64_t prefix_stride_token, prefix_stride_head;
};

// Where the device-planned work items and split partial states live (all inside the caller's
// workspace). The CUDA-core path without split needs none of it (all pointers NULL).
struct DecodeSchedule {
  bool split;
  bool single_request;   // CUDA cores, batch 1, split: chunks from the length, no planner
  int32_t padded_items;  // grid.x of the kernel when planned
  int32_t qo_tiles;      // query tiles per request (tensor-core path; 1 on CUDA cores)
  int32_t* request_indices;
  int32_t* qo_tile_indices;  // tensor-core path only
  int32_t* kv_tile_indices;
  int32_t* o_indptr;
  int32_t* q_indptr;      // tensor-core path only: qo_len query rows per request
  int32_t* merge_indptr;  // tensor-core path: which partial rows each query row merges
  int32_t qo_len;
  int32_t* kv_chunk_tokens;
  bool* block_valid_mask;
  void* tmp_o;
  float* tmp_lse;
};

// What the on-device planner reads and writes (see decode_plan.cu).
struct PlanArgs {
  const int32_t* indptr;
  int32_t batch_size, page_size, min_chunk_pages, padded_items, qo_tiles;
  int32_t qo_len;  // query rows per request: 1 for decode, the batch for a shared prefix
  bool split;
  int32_t* request_indices;
  int32_t* qo_tile_indices;  // may be NULL
  int32_t* kv_tile_indices;
  int32_t* o_indptr;
  int32_t* q_indptr;      // may be NULL
  int32_t* merge_indptr;  // may be NULL; shared prefix (one request, split): row r merges
                          // partial rows r*n .. (r+1)*n-1
  int32_t* kv_chunk_tokens;
  bool* block_valid_mask;
};

// One compiled configuration: (element, head_dim, group) -> kernels and launcher. `group` is
// the number of query heads one CTA serves per KV head (the kernel's compile-time GQA group).
struct DecodeVariant {
  int32_t element;
  int32_t head_dim;
  int32_t group;
  KernelInfo decode;
  cudaError_t (*launch)(const DecodeProblem&, const DecodeSchedule&, cudaStream_t);
};

// Smallest chunk (tokens) of a single request split without the planner (CUDA cores).
constexpr uint32_t kMinSingleRequestChunk = 32;

// Tensor-core path: query rows (packed query heads of one KV head) per CTA: the smallest FA2
// tile for decode, a larger one for a shared prefix (fewer KV re-reads across tiles).
constexpr uint32_t kTensorCoreTileQ = 16;
constexpr uint32_t kSharedPrefixTileQ = 64;

// One compiled tensor-core configuration (element f16 or bf16, head_dim): any GQA group.
// `launch` packs one query row per request into 16-row tiles (decode); `launch_shared_prefix`
// runs every query of the batch against one request's pages (a shared prefix: the problem's
// batch_size is the number of queries, its page table has one request) in 64-row tiles.
struct TensorCoreVariant {
  int32_t element;
  int32_t head_dim;
  cudaError_t (*launch)(const DecodeProblem&, const DecodeSchedule&, cudaStream_t);
  cudaError_t (*launch_shared_prefix)(const DecodeProblem&, const DecodeSchedule&, cudaStream_t);
};
// nullptr if (element, head_dim) has no tensor-core build.
const TensorCoreVariant* find_tensor_core_variant(int32_t element, int32_t head_dim);

// Shared prefix on sm_90a (prefix_sm90.cuh): FlashInfer's FA3 kernel over a work table of our
// own — (KV chunk, KV head, query tile of batch_size * group rows) items on a persistent grid —
// then a merge of the chunks. Built for f16 / bf16 at the head dims in CMakeLists.txt.
constexpr int32_t kPrefixSm90TileQ = 128;  // query rows per FA3 tile (two consumer warpgroups)
constexpr int32_t kPrefixSm90MaxChunks = 64;
constexpr int32_t kPrefixSm90MinChunkTokens = 512;

struct PrefixSm90Plan {
  int32_t rows;         // query rows per KV head: batch_size * group
  int32_t q_tiles;      // ceil(rows / kPrefixSm90TileQ)
  int32_t chunks;       // KV chunks (split-KV)
  int32_t chunk_shift;  // m = ceil(q_tiles * kPrefixSm90TileQ / chunks): see prefix_sm90.cuh
  int32_t items;        // chunks * num_kv_heads * q_tiles
  int32_t ctas;         // persistent FA3 grid
  int32_t suffix_ctas;  // fused cascade: the suffix grid beside the FA3 grid (0 without suffixes)
  size_t q_packed, o_part, lse_part, table;  // workspace offsets (bytes)
  size_t o_suffix, lse_suffix, suffix_done;  // fused cascade: the suffix states, its CTA count
  size_t workspace;                          // bytes needed
};

// The fused cascade leaves at least 1/8 of the SMs to the suffix grid (measured on H100 at the
// benchmark's shape, B = 64, prefix 32768, suffixes 256: FA3 on 112 SMs beside the suffixes on
// 16-20 took 88.4-90.8 us, against 100.0 for the two one after the other on all SMs).
constexpr int32_t kCascadeSuffixSmShare = 8;
// The cascade's suffix kernel (cascade_suffix.cuh): warps per CTA and pipeline stages per warp,
// each stage 16 tokens of K and V (4, 8, 16 KB at head dim 64, 128, 256), in at most 224 KB of
// shared memory. Measured on H100 for the benchmark's suffixes on 16 SMs
// (bench/experiments/suffix_speed.cu): hd64 16 x 3 29.8 us (24 x 2: 39.2, 12 x 4: 35.1); hd128
// 12 x 2 48.5 (8 x 3: 51.8, 14 x 2: 61.2); hd256 7 x 2 95.5 (4 x 3: 125.1, 6 x 2: 110.4).
constexpr int32_t cascade_suffix_stages(int32_t head_dim) {
  return head_dim <= 64 ? 3 : 2;
}
constexpr int32_t cascade_suffix_warps(int32_t head_dim) {
  return head_dim <= 64 ? 16 : (head_dim <= 128 ? 12 : 7);
}
// Rounds of suffix items beyond the fewest the spare SMs allow: one more, on fewer CTAs, where the
// suffix grid then still ends before the FA3 grid beside it (its DRAM traffic, spread thinner,
// slows FA3 less). Measured on H100 at the benchmark's shape (B = 64, 32/8, prefix 32768,
// suffixes 256; bench/experiments/cascade_overlap.cu chain, back-to-back replays of the call):
// beside a paged prefix at every head dim (hd128: 11 CTAs 90.9-91.5 us against 94.8-96.2 for 16;
// hd64: 11, 60.7-61.0 against 62.0-62.1 for 16; hd256: 15 no slower than 16, 18 or 20 in each of
// two sweeps that drifted by 8 us); beside a dense prefix at hd64 (11: 55.5-55.7 against 57.3
// for 16) and hd256 (15: 158.6-159.7 against 161.3-163.1 for 16), but not at hd128, where that
// FA3 grid is fast enough that the suffix grid would end last (11 CTAs: 94.6 against 84.3-84.8
// for the fewest rounds' 15). A heuristic for suffixes much shorter than the prefix: the host
// does not see the suffixes' lengths.
constexpr int32_t cascade_suffix_extra_rounds(int32_t head_dim, bool dense_prefix) {
  return dense_prefix && head_dim == 128 ? 0 : 1;
}
// Query heads per work item of the cascade's suffix kernel (the 8 columns of its mma's B
// operand), and the items per (request, KV head).
constexpr int32_t kCascadeSuffixQueryBlock = 8;
constexpr int32_t cascade_suffix_row_blocks(int32_t group) {
  return (group + kCascadeSuffixQueryBlock - 1) / kCascadeSuffixQueryBlock;
}

// The schedule and workspace layout for these sizes on a GPU of `sm_count` SMs (layouts in
// prefix_sm90.cuh). Inline: the FA3 experiments in bench/experiments use it too. With suffixes
// (the fused cascade) the FA3 grid takes a whole number of chunks' items on at most 7/8 of the
// SMs and the suffix grid the rest; `dense_prefix`: the prefix is a dense tensor
// (cascade_decode_dense_prefix_run), not pages.
inline PrefixSm90Plan make_prefix_sm90_plan(int32_t batch_size, int32_t group, int32_t num_kv_heads,
                                            int32_t head_dim, size_t element_bytes,
                                            int32_t sm_count, bool with_suffixes = false,
                                            bool dense_prefix = false) {
  PrefixSm90Plan plan{};
  plan.rows = batch_size * group;
  plan.q_tiles = (plan.rows + kPrefixSm90TileQ - 1) / kPrefixSm90TileQ;
  const int32_t per_chunk = num_kv_heads * plan.q_tiles;
  const int32_t fa3_sms =
      with_suffixes ? std::max(sm_count - std::max(sm_count / kCascadeSuffixSmShare, 1), 1)
                    : sm_count;
  // Enough chunks that the items fill the FA3 grid once (each CTA then walks about one item).
  plan.chunks = std::min(std::max(fa3_sms / per_chunk, 1), kPrefixSm90MaxChunks);
  plan.items = plan.chunks * per_chunk;
  plan.ctas = with_suffixes ? std::min(plan.items, fa3_sms) : sm_count;
  if (with_suffixes) {
    // The suffix items (a warp each) take `rounds` rounds on the SMs left over, plus
    // cascade_suffix_extra_rounds; the fewest CTAs that still take that many rounds leave the
    // rest idle, which lowers the two grids' contention for memory bandwidth.
    const int64_t items = int64_t(batch_size) * num_kv_heads * cascade_suffix_row_blocks(group);
    const int64_t warps = cascade_suffix_warps(head_dim);
    const int64_t spare = std::max(sm_count - plan.ctas, 1);
    const int64_t rounds = (items + spare * warps - 1) / (spare * warps) +
                           cascade_suffix_extra_rounds(head_dim, dense_prefix);
    plan.suffix_ctas =
        static_cast<int32_t>(std::max<int64_t>((items + rounds * warps - 1) / (rounds * warps), 1));
  }
  const size_t rows_pad = size_t(plan.q_tiles) * kPrefixSm90TileQ;
  plan.chunk_shift = static_cast<int32_t>((rows_pad + plan.chunks - 1) / plan.chunks);
  // The FA3 kernel's q and o bases sit `shift` rows before the packed q and the partial o: both
  // buffers get that much workspace in front of them.
  const size_t row_bytes = size_t(head_dim) * element_bytes;
  const size_t shift = size_t(plan.chunks - 1) * plan.chunk_shift * row_bytes;
  const size_t hkv = size_t(num_kv_heads), chunks = size_t(plan.chunks), m = plan.chunk_shift;
  constexpr size_t kAlign = 16;
  size_t at = 0;
  const auto take = [&at](size_t front, size_t bytes) {
    const size_t offset = (at + front + kAlign - 1) / kAlign * kAlign;
    at = (offset + bytes + kAlign - 1) / kAlign * kAlign;
    return offset;
  };
  plan.o_part = take(shift, hkv * chunks * (m + rows_pad) * row_bytes);
  plan.q_packed = take(shift, hkv * chunks * m * row_bytes + rows_pad * row_bytes);
  plan.lse_part = take(0, ((chunks - 1) * m + rows_pad) * hkv * chunks * sizeof(float));
  plan.table = take(0, (7 * size_t(plan.items) + size_t(plan.ctas) + 1) * sizeof(int32_t));
  if (with_suffixes) {
    const size_t qo_rows = size_t(batch_size) * group * hkv;
    plan.o_suffix = take(0, qo_rows * head_dim * sizeof(float));
    plan.lse_suffix = take(0, qo_rows * sizeof(float));
    plan.suffix_done = take(0, sizeof(int32_t));
  }
  plan.workspace = at;
  return plan;
}

struct PrefixSm90Variant {
  int32_t element;
  int32_t head_dim;
  KernelInfo fa3;        // the FA3 kernel that `launch` and `launch_cascade` run (paged prefix)
  KernelInfo fa3_dense;  // the same over a dense prefix (TMA loads; problem.prefix_k set)
  KernelInfo suffix;     // the cascade's suffix kernel
  cudaError_t (*launch)(const DecodeProblem&, const PrefixSm90Plan&, void* workspace, cudaStream_t);
  // The fused cascade (a plan made with suffixes; the problem's suffix pointers set).
  cudaError_t (*launch_cascade)(const DecodeProblem&, const PrefixSm90Plan&, void* workspace,
                                cudaStream_t);
};
// nullptr if (element, head_dim) has no sm_90a shared-prefix build.
const PrefixSm90Variant* find_prefix_sm90_variant(int32_t element, int32_t head_dim);

// The compiled configurations (decode_table.cpp, from the lists in CMakeLists.txt).
// The variant for (element, head_dim) whose group is the largest compiled group dividing
// `gqa_group` and not above `max_group`; nullptr if that (element, head_dim) is not compiled.
const DecodeVariant* find_decode_variant(int32_t element, int32_t head_dim, int32_t gqa_group,
                                         int32_t max_group);
// Writes the compiled head dims (ascending) of `element`; returns how many.
int32_t decode_head_dims(int32_t element, int32_t* out, int32_t capacity);

// The planner kernel (decode_plan.cu): lays out work items on the device.
KernelInfo plan_kernel_info();
cudaError_t launch_plan(const PlanArgs& args, cudaStream_t stream);

}  // namespace baracuda::flashinfer::decode
