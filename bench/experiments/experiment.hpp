// What the sm_90a experiments share (see the comment at the top of each program): the cascade
// benchmark's shape, a CUDA error check that exits, event timing, and the library's FA3 work
// table uploaded from the host.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

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

// B requests, Hq/Hkv heads, head dim D, page size P, a shared prefix of L tokens.
constexpr int B = 64, Hq = 32, Hkv = 8, D = 128, P = 16, L = 32768;

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

// Mean µs per call of f over 50 calls, after 5 warm-ups, on the default stream.
template <typename F>
double time_us(F&& f) {
  for (int i = 0; i < 5; ++i) f();
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  CK(cudaEventRecord(a));
  for (int i = 0; i < 50; ++i) f();
  CK(cudaEventRecord(b));
  CK(cudaEventSynchronize(b));
  float ms = 0;
  CK(cudaEventElapsedTime(&ms, a, b));
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return ms * 1000.0 / 50;
}

// The work table of a whole-page prefix of L tokens, as the prepare kernel writes it, with
// kv_indptr in pages (paged kernel) or in tokens (a dense kernel over a contiguous copy). Item g
// goes to CTA g % ctas (with several items per CTA, the two query tiles of one KV chunk still run
// at the same time, on neighbouring CTAs); each CTA's items are contiguous.
inline void upload_table(const baracuda::flashinfer::decode::PrefixSm90Plan& plan, void* ws,
                         bool pages) {
  const int n = plan.items, chunk_pages = (L / P + plan.chunks - 1) / plan.chunks;
  const int per_cta = n / plan.ctas, extra = n % plan.ctas;
  auto cta_start = [&](int j) { return j * per_cta + std::min(j, extra); };
  std::vector<int32_t> h(7 * n + plan.ctas + 1);
  for (int g = 0; g < n; ++g) {
    const int t = g % plan.q_tiles, hh = (g / plan.q_tiles) % Hkv, c = g / (plan.q_tiles * Hkv);
    const int begin = std::min(c * chunk_pages, L / P), end = std::min(begin + chunk_pages, L / P);
    const int32_t row[7] = {t, (plan.chunks - 1 - c) * plan.chunk_shift, pages ? begin : begin * P,
                            plan.rows, (end - begin) * P, hh * plan.chunks + c, c};
    const int i = cta_start(g % plan.ctas) + g / plan.ctas;
    for (int f = 0; f < 7; ++f) h[f * n + i] = row[f];
  }
  for (int j = 0; j <= plan.ctas; ++j) h[7 * n + j] = cta_start(j);
  CK(cudaMemcpy(static_cast<char*>(ws) + plan.table, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
}

}  // namespace experiment
