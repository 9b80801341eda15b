// What the sm_90a experiments share (see the comment at the top of each program): the cascade
// benchmark's shape, a CUDA error check that exits, random data, page tables and their device
// copies, event timing.
// experiment_fa3.hpp adds the library's FA3 work table.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "common/device_context.hpp"
#include "decode/decode_launch.hpp"

#define CK(x)                                                                \
  do {                                                                       \
    cudaError_t e_ = (x);                                                    \
    if (e_ != cudaSuccess) {                                                 \
      std::printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)

namespace experiment {

// B requests, Hq/Hkv heads, head dim D, page size P, a shared prefix of L tokens. The head dim
// is 128 unless the build defines BFI_EXPERIMENT_HEAD_DIM (bench/CMakeLists.txt: the _hd64
// programs).
#ifndef BFI_EXPERIMENT_HEAD_DIM
#define BFI_EXPERIMENT_HEAD_DIM 128
#endif
constexpr int B = 64, Hq = 32, Hkv = 8, D = BFI_EXPERIMENT_HEAD_DIM, P = 16, L = 32768;

// The cascade shape's problem over a paged cache (k, v, indices); scale 1 / sqrt(D).
inline baracuda::flashinfer::decode::DecodeProblem make_problem(void* k, void* v,
                                                                const int32_t* indices) {
  baracuda::flashinfer::decode::DecodeProblem problem{};
  problem.batch_size = B;
  problem.page_size = P;
  problem.head_dim = D;
  problem.num_qo_heads = Hq;
  problem.num_kv_heads = Hkv;
  problem.sm_scale = 1.f / std::sqrt(float(D));
  problem.k_data = k;
  problem.v_data = v;
  problem.indices = indices;
  return problem;
}

// The library opts its kernels into their shared memory through DeviceContext::residency (not
// linked here): an experiment does it itself before it launches one.
inline void opt_in(const baracuda::flashinfer::KernelInfo& kernel) {
  CK(cudaFuncSetAttribute(kernel.func, cudaFuncAttributeMaxDynamicSharedMemorySize,
                          int(kernel.smem_bytes)));
}

// n random bf16 values in [-1, 1).
inline std::vector<__nv_bfloat16> random_bf16(size_t n, std::mt19937& gen) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<__nv_bfloat16> values(n);
  for (auto& x : values) x = __float2bfloat16(u(gen));
  return values;
}

// Page ids 0 .. n - 1, shuffled with `gen` (in order without it).
inline std::vector<int32_t> page_ids(int32_t n, std::mt19937* gen = nullptr) {
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  if (gen != nullptr) std::shuffle(ids.begin(), ids.end(), *gen);
  return ids;
}

// A device copy of `bytes` host bytes (never freed: the experiments exit).
inline void* upload(const void* host, size_t bytes) {
  void* device;
  CK(cudaMalloc(&device, bytes));
  CK(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice));
  return device;
}

// Mean µs per call of f over 50 calls, after 5 warm-ups, timed by events on `stream`.
template <typename F>
double time_us(F&& f, cudaStream_t stream = 0) {
  for (int i = 0; i < 5; ++i) f();
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  CK(cudaEventRecord(a, stream));
  for (int i = 0; i < 50; ++i) f();
  CK(cudaEventRecord(b, stream));
  CK(cudaEventSynchronize(b));
  float ms = 0;
  CK(cudaEventElapsedTime(&ms, a, b));
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return ms * 1000.0 / 50;
}

// A CUDA graph of what enqueue() puts on `stream`.
template <typename F>
cudaGraphExec_t capture(cudaStream_t stream, F&& enqueue) {
  cudaGraph_t g;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  enqueue();
  CK(cudaStreamEndCapture(stream, &g));
  CK(cudaGraphInstantiate(&exec, g, 0));
  return exec;
}

// Mean µs per replay of `exec`, replayed back to back (time_us).
inline double replay_us(cudaGraphExec_t exec, cudaStream_t stream) {
  return time_us([&] { CK(cudaGraphLaunch(exec, stream)); }, stream);
}

}  // namespace experiment
