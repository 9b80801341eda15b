// Top-k sampling (FlashInfer dual-pivot rejection sampling; per-row k read as int32).
// Its own TU because sampling.cuh is heavy: the samplers compile in parallel.
#include "sampling/sampling_kernels.cuh"

namespace baracuda::flashinfer::sampling {

BFI_DEFINE_FLASHINFER_SAMPLER(
    kFlashInferTopK, float, kProbSmem,
    (fis::TopKSamplingFromProbKernel<kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO, VEC, DET,
                                     float, int32_t>),
    as_mutable(static_cast<const float*>(c.input)), tokens(c), c.valid,
    static_cast<int32_t*>(nullptr), as_mutable(c.top_k_arr), c.top_k, c.vocab,
    as_mutable(c.rng.seed_ptr), c.rng.seed, c.rng.offset_ptr, c.rng.offset, 0u, 0u)

}  // namespace baracuda::flashinfer::sampling
