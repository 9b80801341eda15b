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

// Where split-KV work items and partial states live (all inside the caller's workspace).
struct DecodeSchedule {
  bool split;
  int32_t padded_items;  // grid.x of the decode kernel when split
  int32_t* request_indices;
  int32_t* kv_tile_indices;
  int32_t* o_indptr;
  int32_t* kv_chunk_tokens;
  bool* block_valid_mask;
  void* tmp_o;
  float* tmp_lse;
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

// The compiled configurations (decode_table.cpp, from the lists in CMakeLists.txt).
// The variant for (element, head_dim) whose group is the largest compiled group dividing
// `gqa_group` and not above `max_group`; nullptr if that (element, head_dim) is not compiled.
const DecodeVariant* find_decode_variant(int32_t element, int32_t head_dim, int32_t gqa_group,
                                         int32_t max_group);
// Writes the compiled head dims (ascending) of `element`; returns how many.
int32_t decode_head_dims(int32_t element, int32_t* out, int32_t capacity);

// The planner kernel (decode_plan.cu): lays out split-KV work items on the device.
KernelInfo plan_kernel_info();
cudaError_t launch_plan(const int32_t* indptr, int32_t batch_size, int32_t page_size,
                        int32_t min_chunk_pages,
                        const DecodeSchedule& s, cudaStream_t stream);

}  // namespace baracuda::flashinfer::decode
