// What the kernels that cannot apply them themselves (FlashInfer's FA2 and CUDA-core decode
// kernels) leave to a pass over their finished rows: the V scale (o times v_scale) and the
// attention sinks (one logit per query head joining each row's softmax denominator, carrying no
// value: o times 2^lse / (2^lse + e^sink), lse of both). One warp per (row, head); rows past
// *rows (when given) are not touched.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "common/attention_finalize.hpp"
#include "common/launch.cuh"

namespace baracuda::flashinfer {

constexpr int kFinalizeWarps = 8;

template <typename T, int D>
__global__ void __launch_bounds__(kFinalizeWarps * 32) finalize_rows_kernel(FinalizeArgs a) {
  constexpr int kPerLane = D / 32;
  const int64_t warp = int64_t(blockIdx.x) * kFinalizeWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int64_t rows = a.rows != nullptr ? *a.rows : a.max_rows;
  if (warp >= rows * a.num_heads) return;
  const int32_t head = int32_t(warp % a.num_heads);
  const float lse = a.lse_in[warp];
  float scale = a.v_scale, out_lse = lse;
  if (a.sinks != nullptr) {
    constexpr float kLog2e = 1.4426950408889634f;
    const float sink = a.sinks[head] * kLog2e;
    const float m = fmaxf(lse, sink);
    const float keys = lse == -INFINITY ? 0.f : exp2f(lse - m);
    const float den = keys + exp2f(sink - m);
    scale *= keys / den;
    out_lse = m + log2f(den);
  }
  T* row = static_cast<T*>(a.o) + warp * D + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) row[i] = T(float(row[i]) * scale);
  if (a.lse_out != nullptr && lane == 0) a.lse_out[warp] = out_lse;
}

template <typename T, int D>
cudaError_t launch_finalize(const FinalizeArgs& a, cudaStream_t stream) {
  const int64_t warps = a.max_rows * a.num_heads;
  if (warps == 0) return cudaSuccess;
  return launch_kernel(finalize_rows_kernel<T, D>,
                       dim3(unsigned((warps + kFinalizeWarps - 1) / kFinalizeWarps)),
                       dim3(kFinalizeWarps * 32), 0, stream, a);
}

}  // namespace baracuda::flashinfer
