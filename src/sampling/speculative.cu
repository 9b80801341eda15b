// Chain speculative sampling (draft-token verification). Its own TU: sampling.cuh is heavy.
#include "sampling/sampling_kernels.cuh"

namespace baracuda::flashinfer::sampling {

namespace {
template <uint32_t VEC, bool DET>
constexpr auto speculative_kernel_ptr() {
  return &fis::ChainSpeculativeSampling<kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO, VEC,
                                        DET, float, int32_t>;
}
}  // namespace

KernelInfo speculative_kernel(uint32_t vocab, bool deterministic) {
  return dispatch_vec_det<float>(vocab, deterministic, [](auto V, auto D) {
    return KernelInfo{reinterpret_cast<const void*>(
                          speculative_kernel_ptr<decltype(V)::value, decltype(D)::value>()),
                      kFlashInferThreads, kProbSmem};
  });
}

cudaError_t launch_speculative(const SpeculativeCall& c, cudaStream_t stream) {
  // The kernel accumulates (+=) into both counters; zeroing them in the same enqueue makes them
  // "written" (and stays a capturable memset node inside a CUDA graph).
  const size_t counter_bytes = size_t(c.batch) * sizeof(int32_t);
  cudaError_t err = cudaMemsetAsync(c.output_accepted_token_num, 0, counter_bytes, stream);
  if (err != cudaSuccess) return err;
  err = cudaMemsetAsync(c.output_emitted_draft_token_num, 0, counter_bytes, stream);
  if (err != cudaSuccess) return err;
  return dispatch_vec_det<float>(c.vocab, c.deterministic, [&](auto V, auto D) {
    return launch_kernel(
        speculative_kernel_ptr<decltype(V)::value, decltype(D)::value>(), dim3(c.batch),
        dim3(kFlashInferThreads), kProbSmem, stream, as_mutable(c.draft_probs),
        as_mutable(c.draft_token_ids), as_mutable(c.target_probs), c.output_token_ids,
        c.output_accepted_token_num, c.output_emitted_draft_token_num, c.num_speculative_tokens,
        c.vocab, as_mutable(c.rng.seed_ptr), c.rng.seed, c.rng.offset_ptr, c.rng.offset, 0u, 0u);
  });
}

}  // namespace baracuda::flashinfer::sampling
