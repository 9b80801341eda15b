// Joint top-k + top-p sampling (FlashInfer dual-pivot rejection sampling).
// Its own TU because sampling.cuh is heavy: the samplers compile in parallel.
#include "sampling/sampling_kernels.cuh"

namespace baracuda::flashinfer::sampling {

BFI_DEFINE_FLASHINFER_SAMPLER(
    kFlashInferTopKTopP, float, kProbSmem,
    (fis::TopKTopPSamplingFromProbKernel<kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO, VEC,
                                         DET, float, int32_t>),
    as_mutable(static_cast<const float*>(c.input)), as_mutable(c.top_k_arr), as_mutable(c.p_arr),
    tokens(c), c.valid, static_cast<int32_t*>(nullptr), static_cast<int32_t>(c.top_k), c.p, c.vocab,
    as_mutable(c.rng.seed_ptr), c.rng.seed, c.rng.offset_ptr, c.rng.offset, 0u, 0u)

}  // namespace baracuda::flashinfer::sampling
