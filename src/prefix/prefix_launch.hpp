// Host-visible description of one shared-prefix or fused-cascade launch and of the compiled
// sm_90a configurations. Plain C++: included by the C-ABI layer and by the CUDA TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/device_context.hpp"
#include "decode/decode_launch.hpp"
#include "prefix/prefix_schedule.hpp"

namespace baracuda::flashinfer::prefix {

// The paged tensors of decode (q, o, lse, the cache and the prefix's page list in `paged`), plus
// what the fused cascades add.
struct PrefixProblem {
  decode::DecodeProblem paged;
  // Fused cascade only (cascade_decode_run): each request's suffix pages, indexing `indices` too.
  const int32_t* suffix_indptr = nullptr;
  const int32_t* suffix_last_page_len = nullptr;
  // Fused cascade over a dense prefix (cascade_decode_dense_prefix_run): the prefix's K and V,
  // prefix_tokens rows per KV head at element strides (token, head), D contiguous. prefix_k NULL:
  // the prefix is paged (indices[indptr[0] .. indptr[1]), last_page_len).
  const void* prefix_k = nullptr;
  const void* prefix_v = nullptr;
  int32_t prefix_tokens = 0;
  int64_t prefix_stride_token = 0, prefix_stride_head = 0;
};

struct PrefixSm90Variant {
  int32_t element;
  int32_t head_dim;
  KernelInfo fa3;        // the FA3 kernel that `launch` and `launch_cascade` run (paged prefix)
  KernelInfo fa3_dense;  // the same over a dense prefix (TMA loads; problem.prefix_k set)
  KernelInfo suffix;     // the cascade's suffix kernel
  cudaError_t (*launch)(const PrefixProblem&, const PrefixSchedule&, void* workspace,
                        cudaStream_t);
  // The fused cascade (a schedule made with suffixes; the problem's suffix pointers set).
  cudaError_t (*launch_cascade)(const PrefixProblem&, const PrefixSchedule&, void* workspace,
                                cudaStream_t);
};
// nullptr if (element, head_dim) has no sm_90a shared-prefix build.
const PrefixSm90Variant* find_prefix_sm90_variant(int32_t element, int32_t head_dim);

}  // namespace baracuda::flashinfer::prefix
