// What the sm_90a experiments share (see the comment at the top of each program): the cascade
// benchmark's shape, a CUDA error check that exits, event timing, and the library's FA3 work
// table.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "decode/prefix_sm90.cuh"

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
inline baracuda::flashinfer::decode::DecodeProblem make_problem(void* k, void* v, const int32_t* indices) {
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

// The library opts its kernels into their shared memory through kernel_residency (not linked
// here): an experiment does it itself before it launches one.
inline void opt_in(const baracuda::flashinfer::KernelInfo& kernel) {
  CK(cudaFuncSetAttribute(kernel.func, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kernel.smem_bytes)));
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

// The library's work table (its prepare kernel, on the default stream) for the whole-page prefix
// of L tokens at pages [0, L / P) of `problem`'s indices (paged kernel) or for a dense prefix of L
// tokens (kv_indptr in tokens). The packed q is a fixed pattern.
inline void upload_table(const baracuda::flashinfer::decode::PrefixSm90Plan& plan, void* ws,
                         baracuda::flashinfer::decode::DecodeProblem problem, bool pages) {
  namespace ps = baracuda::flashinfer::decode::prefix_sm90;
  const std::vector<int32_t> indptr{0, L / P}, last{P};
  std::vector<uint16_t> q(size_t(B) * Hq * D);
  for (size_t i = 0; i < q.size(); ++i) q[i] = uint16_t(0x3c00 + (i * 2654435761u >> 22) % 512);
  void *d_indptr, *d_last, *d_q;
  CK(cudaMalloc(&d_indptr, 8));
  CK(cudaMalloc(&d_last, 4));
  CK(cudaMalloc(&d_q, q.size() * 2));
  CK(cudaMemcpy(d_indptr, indptr.data(), 8, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_last, last.data(), 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_q, q.data(), q.size() * 2, cudaMemcpyHostToDevice));
  problem.indptr = static_cast<int32_t*>(d_indptr);
  problem.last_page_len = static_cast<int32_t*>(d_last);
  problem.q = d_q;
  if (!pages) {  // only the dense prefix's presence and length matter to the prepare kernel
    problem.prefix_k = problem.k_data;
    problem.prefix_tokens = L;
  }
  CK((ps::launch_prepare<__nv_bfloat16, D>(problem, plan, ws, 0, /*suffixes=*/false)));
  CK(cudaDeviceSynchronize());
  CK(cudaFree(d_indptr));
  CK(cudaFree(d_last));
  CK(cudaFree(d_q));
}

}  // namespace experiment
