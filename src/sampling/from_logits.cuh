// Sampling from logits by Gumbel-max (argmax of logits + Philox Gumbel noise; no softmax pass).
// Included by from_logits_{f32,f16,bf16}.cu, one element type each.
#pragma once

#include "sampling/sampling_kernels.cuh"

namespace baracuda::flashinfer::sampling {

template <typename T>
constexpr uint32_t logits_smem() {
  return sizeof(typename cub::BlockReduce<fis::DataAndIndex<T, int32_t>, kFlashInferThreads,
                                          fis::REDUCE_ALGO>::TempStorage);
}

// `deterministic` has no effect on this kernel (the reduction order is fixed); both variants
// are the same code, so only DET = false is instantiated.
#define BFI_DEFINE_FROM_LOGITS(OBJECT, T)                                                         \
  BFI_DEFINE_FLASHINFER_SAMPLER(                                                                  \
      OBJECT, T, logits_smem<T>(),                                                                \
      (fis::SamplingFromLogitsKernel < kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO, VEC, \
       DET && false, T, int32_t >),                                                               \
      as_mutable(static_cast<const T*>(c.input)), tokens(c), static_cast<int32_t*>(nullptr),      \
      c.vocab, as_mutable(c.rng.seed_ptr), c.rng.seed, c.rng.offset_ptr, c.rng.offset, 0u, 0u)

}  // namespace baracuda::flashinfer::sampling
