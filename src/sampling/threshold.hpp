// Threshold kernel: one exact radix select of a row's cut-off value T (the smallest kept value of
// a top-k / top-p / joint filter), followed by one of three epilogues on the kept set {x >= T}:
// draw a token (exponential race), renormalise probabilities, or mask logits. The row is read
// from global memory once and kept in shared memory; on sm_90 a thread-block cluster of up to 8
// CTAs splits one row and exchanges histograms through distributed shared memory, so batch 1 uses
// 8 SMs instead of one. Plain C++ header: used by the C-ABI layer and by threshold.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.hpp"

namespace baracuda::flashinfer::sampling::threshold {

// kSample: a token from probabilities; kSampleLogits: a token from logits (no filter: every
// entry kept, no select); kRenorm / kMask: the row filters.
enum class Epilogue : uint32_t { kSample, kSampleLogits, kRenorm, kMask };
enum class Element : uint32_t { kF32, kF16, kBF16 };

// Which filter defines the kept set (see the header's sampling section for the exact rule).
struct Filter {
  bool use_k, use_p;
};

// One launch: every pointer already validated; per-row arrays replace the scalars when non-null.
struct Launch {
  Epilogue epilogue;
  Element element;
  Filter filter;
  uint32_t batch, vocab;
  const void* input;
  void* output;     // renorm / mask: the output rows (may equal input)
  int32_t* tokens;  // sample
  bool* valid;      // sample (never null: the caller substitutes the sink)
  const int32_t* top_k_arr;
  uint32_t top_k;
  const float* top_p_arr;
  float top_p;
  const uint64_t* seed_ptr;
  uint64_t seed;
  const uint64_t* offset_ptr;
  uint64_t offset;
};

// Cluster size and per-CTA chunk chosen for (vocab, current device); feasible == false when the
// row does not fit (reason says why).
struct Shape {
  bool feasible;
  uint32_t cluster, chunk, smem_bytes, smem_limit;
  uint32_t max_vocab;  // the largest row this device takes
  int compute_major;
  const char* reason;
};

// Shape of a call on the current device (queried once per device, then cached). Below sm_90
// there are no clusters: one CTA per row, so the row must fit one CTA's shared memory.
Status plan_shape(const char* fn, uint32_t vocab, Shape* out);

// Enqueues the kernel; no allocation, no synchronisation, graph-capturable. The first call per
// device and kernel variant sets the kernel's shared-memory attribute (make one call before
// capturing a graph, as for every sampler).
Status enqueue(const char* fn, const Launch& call, const Shape& shape, cudaStream_t stream);

}  // namespace baracuda::flashinfer::sampling::threshold
