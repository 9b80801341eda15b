// Host-visible description of one paged-decode launch and of the compiled decode configurations.
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA instantiation TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/attention_options.hpp"
#include "common/device_context.hpp"
#include "decode/decode_schedule.hpp"

namespace baracuda::flashinfer {
struct FinalizeArgs;
}

namespace baracuda::flashinfer::decode {

// The tensors of one call (HND pages, see the header).
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
  AttentionVariant attn;  // window, soft-cap, scales, sinks, layout (plain by default)
};

// The schedule's workspace offsets as pointers (all NULL where the schedule uses none).
struct DecodeBuffers {
  bool split;
  bool single_request;   // batch 1, split: chunks from the length, no planner
  int32_t padded_items;  // grid.x of the kernel when split or planned
  int32_t min_chunk_pages;
  int32_t chunks;        // warp-tile path: KV chunks per (request, KV head)
  int32_t qo_tiles;      // query tiles per request (tensor-core path; 1 on CUDA cores)
  int32_t tile_rows;     // query rows per CTA (tensor-core path)
  int32_t* request_indices;
  int32_t* qo_tile_indices;  // tensor-core path only
  int32_t* kv_tile_indices;
  int32_t* o_indptr;
  int32_t* q_indptr;      // tensor-core path only: qo_len query rows per request
  int32_t* merge_indptr;  // tensor-core path: which partial rows each query row merges
  int32_t* kv_chunk_tokens;
  bool* block_valid_mask;
  void* tmp_o;
  float* tmp_lse;
};

// What the on-device planner reads and writes (decode_plan.cu).
struct PlannerArgs {
  const int32_t* indptr;
  // A sliding window (window_left >= 0): the CUDA-core kernel reads a request's pages from the one
  // holding its first kept key (window_tile_rows 0); FlashInfer's FA2 kernel lays out the chunks
  // of min(kv_len, window_left + window_tile_rows) keys (its query tile's rows).
  const int32_t* last_page_len;
  int32_t window_left, window_tile_rows;
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

// The schedule's buffers inside `workspace`.
DecodeBuffers decode_buffers(const DecodeSchedule& schedule, void* workspace);
// A single request on tensor cores without the planner: the work-item arrays point at constant
// tables in device memory (request and query tile 0, kv tile i for item i, o_indptr [0],
// q_indptr [0, 1], merge_indptr [0, padded_items]); the kernel derives its chunk from the length.
Status single_request_tables(const char* fn, DeviceContext& context, DecodeBuffers* buffers);
// Enqueues the planner when the schedule needs it (nothing otherwise).
cudaError_t enqueue_planner(const DecodeSchedule& schedule, const DecodeBuffers& buffers,
                            const DecodeProblem& problem, cudaStream_t stream);

// One compiled configuration: (element, head_dim, group) -> kernel and launcher. `group` is
// the number of query heads one CTA serves per KV head (the kernel's compile-time GQA group).
struct DecodeVariant {
  int32_t element;
  int32_t head_dim;
  int32_t group;
  KernelInfo decode;
  // The same kernel with window and soft-cap off at compile time, for calls with
  // AttentionVariant::plain_logits() (func NULL where none is built: fp8 KV).
  KernelInfo decode_plain;
  cudaError_t (*launch)(const DecodeProblem&, const DecodeBuffers&, cudaStream_t);
  // The options' pass over the finished rows (v_scale, sinks: common/attention_finalize.cuh).
  cudaError_t (*finalize)(const FinalizeArgs&, cudaStream_t);
};

// Smallest chunk (tokens) of a single request split without the planner (CUDA cores).
constexpr uint32_t kMinSingleRequestChunk = 32;

// One compiled tensor-core configuration (an element with f16 or bf16 queries, head_dim): any
// GQA group. `launch` packs one query row per request into 16-row tiles (decode);
// `launch_shared_prefix` (nullptr for fp8 KV) runs every query of the batch against one
// request's pages (a shared prefix: the problem's batch_size is the number of queries, its page
// table has one request) in 64-row tiles.
struct TensorCoreVariant {
  int32_t element;
  int32_t head_dim;
  cudaError_t (*launch)(const DecodeProblem&, const DecodeBuffers&, cudaStream_t);
  cudaError_t (*launch_shared_prefix)(const DecodeProblem&, const DecodeBuffers&, cudaStream_t);
};
// nullptr if (element, head_dim) has no tensor-core build.
const TensorCoreVariant* find_tensor_core_variant(int32_t element, int32_t head_dim);

// One compiled warp-tile configuration (f16 or bf16 Q and KV, head_dim; decode_warp.cuh): the
// kernel for HND and for NHD pages, and the launcher (kernel, then the split's merge).
struct WarpTileVariant {
  int32_t element;
  int32_t head_dim;
  KernelInfo hnd, nhd;
  cudaError_t (*launch)(const DecodeProblem&, const DecodeBuffers&, cudaStream_t);
};
// nullptr if (element, head_dim) has no warp-tile build.
const WarpTileVariant* find_warp_tile_variant(int32_t element, int32_t head_dim);

// The compiled configurations (decode_table.cpp, from the lists in CMakeLists.txt).
// The variant for (element, head_dim) whose group is the largest compiled group dividing
// `gqa_group`; nullptr if that (element, head_dim) is not compiled.
const DecodeVariant* find_decode_variant(int32_t element, int32_t head_dim, int32_t gqa_group);
// Writes the compiled head dims (ascending) of `element`; returns how many.
int32_t decode_head_dims(int32_t element, int32_t* out, int32_t capacity);

// The CUDA-core kernel that serves a call with these options.
inline const KernelInfo& cuda_core_kernel(const DecodeVariant& v, const AttentionVariant& attn) {
  return attn.plain_logits() && v.decode_plain.func != nullptr ? v.decode_plain : v.decode;
}

// The schedule's facts about `context`'s device for this shape: the residency of the CUDA-core
// kernel that serves `attn`, or with `attn` NULL (a workspace size for any options) the larger of
// both kernels'. The first query per kernel and device also opts it into its shared memory.
Status decode_facts(const char* fn, DeviceContext& context, const DecodeShape& s,
                    const DecodeVariant& v, const AttentionVariant* attn, DecodeFacts* out);

// The planner kernel (decode_plan.cu).
cudaError_t launch_planner(const PlannerArgs& args, cudaStream_t stream);

}  // namespace baracuda::flashinfer::decode
