// Host-visible description of one decode call and of the compiled decode configurations.
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA instantiation TUs.
#pragma once

#include <cuda_runtime_api.h>

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
constexpr int32_t kPrefixSm90TileQ = 128;   // query rows per FA3 tile (two consumer warpgroups)
constexpr int32_t kPrefixSm90MaxChunks = 64;
constexpr int32_t kPrefixSm90MinChunkTokens = 512;

struct PrefixSm90Plan {
  int32_t rows;         // query rows per KV head: batch_size * group
  int32_t q_tiles;      // ceil(rows / kPrefixSm90TileQ)
  int32_t chunks;       // KV chunks (split-KV)
  int32_t chunk_shift;  // m = ceil(q_tiles * kPrefixSm90TileQ / chunks): see prefix_sm90.cuh
  int32_t items;        // chunks * num_kv_heads * q_tiles
  int32_t ctas;         // persistent grid: the SM count
  int32_t min_chunk_pages;
  size_t q_packed, o_part, lse_part, table;  // workspace offsets (bytes)
  size_t workspace;                          // bytes needed
};

struct PrefixSm90Variant {
  int32_t element;
  int32_t head_dim;
  cudaError_t (*launch)(const DecodeProblem&, const PrefixSm90Plan&, void* workspace, cudaStream_t);
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
