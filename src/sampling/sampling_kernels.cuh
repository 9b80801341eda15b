// Device side of the sampling family's FlashInfer path: FlashInfer's sampling kernels, launched
// directly with launch_kernel (type-checked arguments, the launch's own error returned, nothing
// thrown). Included only by the per-sampler CUDA TUs. Never build these with -use_fast_math.
#pragma once

#include <cuda_runtime.h>

#include <flashinfer/sampling.cuh>
#include <type_traits>

#include "common/launch.cuh"
#include "sampling/sampling_launch.hpp"

namespace baracuda::flashinfer::sampling {

namespace fis = ::flashinfer::sampling;

// Dynamic shared memory of every probability sampler (and of chain speculative sampling).
constexpr uint32_t kProbSmem =
    sizeof(fis::SamplingTempStorage<kFlashInferThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO>);

// Calls f(std::integral_constant<uint32_t, VEC>, std::bool_constant<DET>) for the runtime
// (vec, det) pair, VEC = vector_elements(sizeof(T), vocab) in {1, 2, 4, 8} (8 only for 2-byte
// elements).
template <typename T, typename F>
decltype(auto) dispatch_vec_det(uint32_t vocab, bool det, F&& f) {
  const uint32_t vec = vector_elements(sizeof(T), vocab);
  auto with_det = [&](auto v) -> decltype(auto) {
    return det ? f(v, std::true_type{}) : f(v, std::false_type{});
  };
  if constexpr (16 / sizeof(T) >= 8) {
    if (vec == 8) return with_det(std::integral_constant<uint32_t, 8>{});
  }
  if (vec == 4) return with_det(std::integral_constant<uint32_t, 4>{});
  if (vec == 2) return with_det(std::integral_constant<uint32_t, 2>{});
  return with_det(std::integral_constant<uint32_t, 1>{});
}

// FlashInfer's kernels take non-const pointers to inputs they only read.
template <typename T>
T* as_mutable(const T* p) {
  return const_cast<T*>(p);
}

// The tokens a sampler writes (Call::output of a sampler call).
inline int32_t* tokens(const Call& c) {
  return static_cast<int32_t*>(c.output);
}

// Defines the FlashInferSampler OBJECT for a sampler whose kernel is KERNEL_EXPR (a kernel
// template instance using VEC and DET) with element type T and dynamic shared memory SMEM, one
// CTA of kFlashInferThreads per row; the remaining arguments are the kernel's, read from the
// call `c`.
#define BFI_DEFINE_FLASHINFER_SAMPLER(OBJECT, T, SMEM, KERNEL_EXPR, ...)                     \
  const FlashInferSampler OBJECT{                                                            \
      [](uint32_t vocab, bool deterministic) {                                               \
        return dispatch_vec_det<T>(vocab, deterministic, [&](auto V, auto D) {               \
          constexpr uint32_t VEC = decltype(V)::value;                                       \
          constexpr bool DET = decltype(D)::value;                                           \
          return KernelInfo{reinterpret_cast<const void*>(KERNEL_EXPR), kFlashInferThreads,  \
                            (SMEM)};                                                         \
        });                                                                                  \
      },                                                                                     \
      [](const Call& c, cudaStream_t stream) {                                               \
        return dispatch_vec_det<T>(c.vocab, c.deterministic, [&](auto V, auto D) {           \
          constexpr uint32_t VEC = decltype(V)::value;                                       \
          constexpr bool DET = decltype(D)::value;                                           \
          return launch_kernel(KERNEL_EXPR, dim3(c.batch), dim3(kFlashInferThreads), (SMEM), \
                               stream, __VA_ARGS__);                                         \
        });                                                                                  \
      }};

}  // namespace baracuda::flashinfer::sampling
