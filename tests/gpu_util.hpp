// Shared helpers for GPU tests: device detection (skip without a GPU), checked CUDA calls,
// device buffers, random data, dtype conversion and NaN poisoning.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "harness.hpp"

namespace bfi_test {

#define CUDA_OK(call)                                                                           \
  do {                                                                                          \
    cudaError_t e_ = (call);                                                                    \
    if (e_ != cudaSuccess) {                                                                    \
      std::printf("%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(2);                                                                             \
    }                                                                                           \
  } while (0)

// A library call that must succeed (status 0); otherwise prints the status and last_error and
// exits. The test must include <baracuda/flashinfer.h>.
#define ST_OK(call)                                                       \
  do {                                                                    \
    const int32_t st_ = (call);                                           \
    if (st_ != 0) {                                                       \
      std::printf("%s:%d: %s = %d: %s\n", __FILE__, __LINE__, #call, st_, \
                  baracuda_kernels_flashinfer_last_error());              \
      std::exit(2);                                                       \
    }                                                                     \
  } while (0)

// Exits with kSkipExitCode (ctest: skipped) and a clear message when no CUDA device is usable.
inline void require_gpu_or_skip(const char* program) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    std::printf("SKIP %s: no CUDA device (%s)\n", program,
                err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    std::exit(kSkipExitCode);
  }
}

// A device buffer of `bytes` bytes, freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : bytes(n) { CUDA_OK(cudaMalloc(&ptr, n ? n : 1)); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr(o.ptr), bytes(o.bytes) { o.ptr = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr, o.ptr);
    std::swap(bytes, o.bytes);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

template <typename T>
DeviceBuffer to_device(const std::vector<T>& host) {
  DeviceBuffer d(host.size() * sizeof(T));
  CUDA_OK(cudaMemcpy(d.ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <typename T>
std::vector<T> to_host(const DeviceBuffer& d, size_t count) {
  std::vector<T> h(count);
  CUDA_OK(cudaMemcpy(h.data(), d.ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// Fills a device buffer with 0xFF bytes: NaN for f16/bf16/f32 (and fp8 e4m3/e5m2), -1 for ints.
inline void poison(const DeviceBuffer& d) {
  CUDA_OK(cudaMemset(d.ptr, 0xFF, d.bytes));
}

// Element storage types by code (0 f16, 1 bf16, 2 f32), with float conversion on the host.
inline size_t element_bytes(int32_t element) {
  return element == 2 ? 4 : 2;
}
inline void store_element(int32_t element, void* base, size_t i, float v) {
  switch (element) {
    case 0:
      static_cast<__half*>(base)[i] = __float2half_rn(v);
      break;
    case 1:
      static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v);
      break;
    default:
      static_cast<float*>(base)[i] = v;
      break;
  }
}
inline double load_element(int32_t element, const void* base, size_t i) {
  switch (element) {
    case 0:
      return __half2float(static_cast<const __half*>(base)[i]);
    case 1:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
    default:
      return static_cast<const float*>(base)[i];
  }
}
// fp8 KV storage (kind 0: e4m3, 1: e5m2): store a float, read back the exact stored value.
inline uint8_t to_fp8(int kind, float v) {
  if (kind == 0) {
    __nv_fp8_e4m3 x(v);
    return x.__x;
  }
  __nv_fp8_e5m2 x(v);
  return x.__x;
}
inline double from_fp8(int kind, uint8_t bits) {
  if (kind == 0) {
    __nv_fp8_e4m3 x;
    x.__x = bits;
    return static_cast<float>(x);
  }
  __nv_fp8_e5m2 x;
  x.__x = bits;
  return static_cast<float>(x);
}

// A fresh random engine per run (seed printed so a failure can be replayed with BFI_SEED=...).
inline std::mt19937_64& rng() {
  static std::mt19937_64 engine([] {
    const char* env = std::getenv("BFI_SEED");
    const uint64_t seed = env ? std::strtoull(env, nullptr, 0) : std::random_device{}();
    std::printf("BFI_SEED=%llu\n", static_cast<unsigned long long>(seed));
    return seed;
  }());
  return engine;
}
inline float uniform(float lo, float hi) {
  return std::uniform_real_distribution<float>(lo, hi)(rng());
}
inline int uniform_int(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng());
}

}  // namespace bfi_test
