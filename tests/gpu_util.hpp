// Shared helpers for GPU tests: the fixture that skips without a GPU, checked CUDA calls, device
// buffers, random data, element conversion and NaN poisoning.
#pragma once

#include <baracuda/flashinfer.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "device_probe.hpp"

namespace bfi_test {

// Base fixture of every GPU test: without a usable CUDA device the test is skipped (reported as
// skipped by GoogleTest and ctest), never passed.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
  }
};
template <class Param>
class GpuTestWithParam : public GpuTest, public ::testing::WithParamInterface<Param> {};

// A CUDA runtime call that must succeed. Throws on failure: GoogleTest reports the exception as
// this test's failure and goes on with the next test (usable in helpers that return values).
inline void cuda_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call +
                           " failed: " + cudaGetErrorString(e));
}
#define CUDA_OK(call) ::bfi_test::cuda_check((call), #call, __FILE__, __LINE__)
// A host-side write to device memory (cudaMemset, cudaMemcpy to the device): it runs on the legacy
// stream, which the tests' non-blocking streams are not ordered after, and cudaMemset (and a copy
// from pageable memory) may return before the write lands. So it waits for the legacy stream:
// else a kernel enqueued next on a test stream can race with it (seen as NaN outputs and illegal
// addresses when other processes share the GPU and slow the write).
#define CUDA_WRITE(call)                                   \
  do {                                                     \
    CUDA_OK(call);                                         \
    CUDA_OK(cudaStreamSynchronize(cudaStreamLegacy));      \
  } while (0)

// A library call that must succeed (status 0), with the library's message on failure.
#define ASSERT_ST_OK(call) \
  ASSERT_EQ((call), 0) << #call << ": " << baracuda_kernels_flashinfer_last_error()
#define EXPECT_ST_OK(call) \
  EXPECT_EQ((call), 0) << #call << ": " << baracuda_kernels_flashinfer_last_error()

inline baracuda_flashinfer_stream_t abi_stream(cudaStream_t s) {
  return reinterpret_cast<baracuda_flashinfer_stream_t>(s);
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
  CUDA_WRITE(cudaMemcpy(d.ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// Overwrites the start of `d` with `host` (a captured graph keeps the buffer's address).
template <typename T>
void copy_to(const DeviceBuffer& d, const std::vector<T>& host) {
  if (host.size() * sizeof(T) > d.bytes) throw std::runtime_error("copy_to: buffer too small");
  CUDA_WRITE(cudaMemcpy(d.ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
}

template <typename T>
std::vector<T> to_host(const DeviceBuffer& d, size_t count) {
  std::vector<T> h(count);
  CUDA_OK(cudaMemcpy(h.data(), d.ptr, count * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

// Fills a device buffer with 0xFF bytes: NaN for f16/bf16/f32 (and fp8 e4m3/e5m2), -1 for ints.
inline void poison(const DeviceBuffer& d) {
  CUDA_WRITE(cudaMemset(d.ptr, 0xFF, d.bytes));
}

// Element storage types by code (0 f16, 1 bf16, 2 f32), with float conversion on the host.
inline size_t element_bytes(int32_t element) {
  return element == 2 ? 4 : 2;
}
inline const char* element_name(int32_t element) {
  static const char* const kNames[] = {"f16",      "bf16",      "f32",      "f16_e4m3",
                                       "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};
  return element >= 0 && element < 7 ? kNames[element] : "?";
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

// q / o element type of an element code, fp8 kind of its KV (-1: none), KV bytes.
inline int32_t qo_element(int32_t element) {
  return element <= 2 ? element : (element <= 4 ? 0 : 1);
}
inline int fp8_kind(int32_t element) {
  return element <= 2 ? -1 : (element - 3) % 2;
}
inline size_t kv_bytes(int32_t element) {
  return element <= 2 ? element_bytes(element) : 1;
}
// One value of an element code's K/V (is_kv) or q / o storage: store a float, read back the exact
// stored value.
inline size_t value_bytes(int32_t element, bool is_kv) {
  return is_kv ? kv_bytes(element) : element_bytes(qo_element(element));
}
inline void store_value(int32_t element, bool is_kv, void* base, size_t i, float v) {
  const int kind = is_kv ? fp8_kind(element) : -1;
  if (kind >= 0) {
    static_cast<uint8_t*>(base)[i] = to_fp8(kind, v);
  } else {
    store_element(qo_element(element), base, i, v);
  }
}
inline double load_value(int32_t element, bool is_kv, const void* base, size_t i) {
  const int kind = is_kv ? fp8_kind(element) : -1;
  return kind >= 0 ? from_fp8(kind, static_cast<const uint8_t*>(base)[i])
                   : load_element(qo_element(element), base, i);
}

// A fresh random engine per process (each ctest entry is one process; the seed is printed so a
// failure can be replayed with BFI_SEED=...).
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

// A stream of its own, destroyed on scope exit.
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (s) cudaStreamDestroy(s);
  }
  operator cudaStream_t() const { return s; }
};

// One stream capture turned into an executable graph; both destroyed on scope exit.
struct Graph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph() {
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
  }
  void launch(cudaStream_t s) const { CUDA_OK(cudaGraphLaunch(exec, s)); }
};

// Captures what `enqueue` puts on `stream` (global capture mode, the strictest) and instantiates
// it; returns enqueue's status (a failed capture leaves `graph` empty).
template <class Enqueue>
int32_t capture(cudaStream_t stream, Graph* graph, Enqueue enqueue) {
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  const int32_t status = enqueue();
  const cudaError_t end = cudaStreamEndCapture(stream, &graph->graph);
  if (status != 0) {
    cudaGetLastError();  // an invalidated capture's error: not this test's next call's
    return status;
  }
  CUDA_OK(end);
  CUDA_OK(cudaGraphInstantiate(&graph->exec, graph->graph, 0));
  return status;
}

}  // namespace bfi_test
