// Host-visible description of one validated sampling call, and the launchers each sampler TU
// provides. Plain C++: included by the C-ABI layer (host compiler) and by the CUDA TUs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/kernel_cache.hpp"

namespace baracuda::flashinfer::sampling {

// Every sampling kernel runs one CTA of kThreads threads per row (FlashInfer's choice for
// compute capability >= 8; the library is built for sm_80 and newer only).
constexpr uint32_t kThreads = 1024;

// Rows a call may have: the bound of the static `valid` sink used when the caller passes NULL.
constexpr int64_t kMaxBatch = int64_t(1) << 20;

// Where the Philox seed and offset come from: a device pointer when non-null (element 0 is
// read by every row), else the value.
struct Rng {
  uint64_t seed;
  uint64_t offset;
  const uint64_t* seed_ptr;
  uint64_t* offset_ptr;
};

// One validated call of a probability / logits sampler.
struct SampleCall {
  uint32_t batch, vocab;
  bool deterministic;
  const void* input;  // probs (f32) or logits (f32 / f16 / bf16, by the launcher)
  int32_t* output;
  bool* valid;  // never null here: the static sink stands in when the caller passes NULL
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

// The samplers, one CUDA TU each (<name>.cu): NAME_kernel() is the kernel a call will launch
// (for the cached residency and shared-memory attribute), launch_NAME() launches it.
#define BFI_SAMPLERS(X) \
  X(from_probs)         \
  X(top_k)              \
  X(top_p)              \
  X(min_p)              \
  X(top_k_top_p)        \
  X(from_logits_f32)    \
  X(from_logits_f16)    \
  X(from_logits_bf16)
#define BFI_DECLARE_SAMPLER(NAME)                               \
  KernelInfo NAME##_kernel(uint32_t vocab, bool deterministic); \
  cudaError_t launch_##NAME(const SampleCall& call, cudaStream_t stream);
BFI_SAMPLERS(BFI_DECLARE_SAMPLER)
#undef BFI_DECLARE_SAMPLER

KernelInfo speculative_kernel(uint32_t vocab, bool deterministic);
cudaError_t launch_speculative(const SpeculativeCall& call, cudaStream_t stream);

// sampling_common.cu: the static `valid` sink of kMaxBatch bytes on the current device
// (module memory, nothing allocated), and the 1-thread kernel that advances a device offset.
cudaError_t valid_sink(bool** out);
cudaError_t launch_advance_offset(uint64_t* offset_ptr, uint64_t step, cudaStream_t stream);

}  // namespace baracuda::flashinfer::sampling
