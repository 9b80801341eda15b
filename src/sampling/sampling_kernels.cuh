// Device side of the sampling family: FlashInfer's sampling kernels, launched directly with
// cudaLaunchKernelEx (type-checked arguments, the launch error returned, nothing thrown).
// Included only by the per-sampler CUDA TUs. Never build these with -use_fast_math.
#pragma once

#include <cuda_runtime.h>

#include <flashinfer/sampling.cuh>
#include <type_traits>
#include <utility>

#include "sampling/sampling_launch.hpp"

namespace baracuda::flashinfer::sampling {

namespace fis = ::flashinfer::sampling;

// Dynamic shared memory of every probability sampler (and of chain speculative sampling).
constexpr uint32_t kProbSmem =
    sizeof(fis::SamplingTempStorage<kThreads, fis::SCAN_ALGO, fis::REDUCE_ALGO>);

// FlashInfer's vector width: gcd(16 / sizeof(T), vocab) elements per load.
template <typename T>
constexpr uint32_t vec_size(uint32_t vocab) {
  uint32_t a = 16 / sizeof(T), b = vocab;
  while (b != 0) {
    const uint32_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Calls f(std::integral_constant<uint32_t, VEC>, std::bool_constant<DET>) for the runtime
// (vec, det) pair; VEC in {1, 2, 4, 8} (8 only for 2-byte elements).
template <typename T, typename F>
decltype(auto) dispatch_vec_det(uint32_t vocab, bool det, F&& f) {
  const uint32_t vec = vec_size<T>(vocab);
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

// One CTA of kThreads per row.
template <typename... Params, typename... Args>
cudaError_t launch_rows(void (*kernel)(Params...), uint32_t rows, uint32_t smem,
                        cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(rows);
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = nullptr;
  config.numAttrs = 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

// FlashInfer's kernels take non-const pointers; they only read these.
template <typename T>
T* mut(const T* p) {
  return const_cast<T*>(p);
}

// Defines NAME_kernel() and launch_NAME() for a sampler whose kernel is KERNEL<VEC, DET> with
// element type T; LAUNCH_ARGS is the argument list after (kernel, rows, smem, stream).
#define BFI_DEFINE_SAMPLER(NAME, T, SMEM, KERNEL_EXPR, ...)                            \
  KernelInfo NAME##_kernel(uint32_t vocab, bool deterministic) {                       \
    return dispatch_vec_det<T>(vocab, deterministic, [&](auto V, auto D) {             \
      constexpr uint32_t VEC = decltype(V)::value;                                     \
      constexpr bool DET = decltype(D)::value;                                         \
      return KernelInfo{reinterpret_cast<const void*>(KERNEL_EXPR), kThreads, (SMEM)}; \
    });                                                                                \
  }                                                                                    \
  cudaError_t launch_##NAME(const SampleCall& c, cudaStream_t stream) {                \
    return dispatch_vec_det<T>(c.vocab, c.deterministic, [&](auto V, auto D) {         \
      constexpr uint32_t VEC = decltype(V)::value;                                     \
      constexpr bool DET = decltype(D)::value;                                         \
      return launch_rows(KERNEL_EXPR, c.batch, (SMEM), stream, __VA_ARGS__);           \
    });                                                                                \
  }

}  // namespace baracuda::flashinfer::sampling
