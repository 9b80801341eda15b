// What the sampling family's host and device TUs share: the one description of a validated call,
// the FlashInfer samplers (one CUDA TU each), and the small device pieces every sampler uses.
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <numeric>

#include "common/device_context.hpp"
#include "common/status.hpp"

namespace baracuda::flashinfer::sampling {

// FlashInfer's samplers run one CTA of this many threads per row: its block size for compute
// capability >= 8 (DISPATCH_COMPUTE_CAP_NUM_THREADS in sampling.cuh; the library is built for
// sm_80 and newer only), which its shared-memory layouts (SamplingTempStorage) are sized for.
constexpr uint32_t kFlashInferThreads = 1024;

// Rows a call may have: the size of the static `valid` sink used when the caller passes NULL.
constexpr int64_t kMaxBatch = int64_t(1) << 20;

// Elements FlashInfer loads at a time from a row of `vocab` elements of `element_bytes` each:
// gcd(16 / element_bytes, vocab), so that every row (a multiple of vocab elements from the base)
// starts at a whole vector. The base pointer therefore needs that many elements' alignment.
// (include/baracuda/flashinfer.hpp keeps its own copy: a header-only layer over the C ABI cannot
// include this file.)
constexpr uint32_t vector_elements(uint32_t element_bytes, uint32_t vocab) {
  return std::gcd(16u / element_bytes, vocab);
}

// Where the Philox seed and offset come from: a device pointer when non-null (element 0 is
// read by every row), else the value.
struct Rng {
  uint64_t seed;
  uint64_t offset;
  const uint64_t* seed_ptr;
  uint64_t* offset_ptr;
};

// One validated call of a sampler or a row filter: what every kernel of the family is launched
// with (the threshold kernel takes it as its parameter).
struct Call {
  uint32_t batch, vocab;
  bool deterministic;
  const void* input;  // probs (f32) or logits (f32 / f16 / bf16)
  void* output;  // samplers: int32 tokens [batch]; row filters: [batch, vocab] of the input type
  bool* valid;   // samplers: never null (the sink stands in when the caller passes NULL); filters:
                 // null
  const int32_t* top_k_arr;  // per-row k, or null: top_k
  uint32_t top_k;
  const float* p_arr;  // per-row top-p / min-p, or null: p
  float p;
  Rng rng;
};

// One validated chain-speculative-sampling call.
struct SpeculativeCall {
  uint32_t batch, num_speculative_tokens, vocab;
  bool deterministic;
  const float* draft_probs;
  const int32_t* draft_token_ids;
  const float* target_probs;
  int32_t* output_token_ids;
  int32_t* output_accepted_token_num;
  int32_t* output_emitted_draft_token_num;
  Rng rng;
};

// FlashInfer's kernel for one sampler: the kernel a call will launch (for the per-device
// shared-memory opt-in and residency check) and its launcher.
struct FlashInferSampler {
  KernelInfo (*kernel)(uint32_t vocab, bool deterministic);
  cudaError_t (*launch)(const Call& call, cudaStream_t stream);
};
// Defined by from_probs.cu, top_k.cu, top_p.cu, min_p.cu, top_k_top_p.cu, from_logits_*.cu.
extern const FlashInferSampler kFlashInferFromProbs, kFlashInferTopK, kFlashInferTopP,
    kFlashInferMinP, kFlashInferTopKTopP, kFlashInferLogitsF32, kFlashInferLogitsF16,
    kFlashInferLogitsBF16;

// speculative.cu.
KernelInfo speculative_kernel(uint32_t vocab, bool deterministic);
cudaError_t launch_speculative(const SpeculativeCall& call, cudaStream_t stream);

// sampling_common.cu: the static `valid` sink of kMaxBatch bytes on the context's device (module
// memory, nothing allocated; that device must be current), and the 1-thread kernel that advances
// a device offset.
Status valid_sink(const char* fn, DeviceContext& context, bool** out);
cudaError_t launch_advance_offset(uint64_t* offset_ptr, uint64_t step, cudaStream_t stream);

}  // namespace baracuda::flashinfer::sampling
