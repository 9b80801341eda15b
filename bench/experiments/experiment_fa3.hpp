// What the FA3 experiments (cascade_overlap, fa3_ceiling) add to experiment.hpp: the library's
// shared-prefix FA3 path and its work table.
#pragma once

#include <cuda_bf16.h>

#include <vector>

#include "decode/prefix_sm90.cuh"
#include "experiment.hpp"

namespace experiment {

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
