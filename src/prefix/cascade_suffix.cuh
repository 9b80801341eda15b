// The suffix half of the fused cascade (cascade_decode_run): each request's own pages, decoded by
// a small persistent grid that runs BESIDE the FA3 grid of the shared prefix.
//
// Why a kernel of our own rather than the decode kernel: the prefix's FA3 grid is compute-bound
// (tensor cores) and the suffixes are memory-bound, so they overlap well only if the suffixes
// stay on a few SMs and still pull the memory bandwidth they need. FlashInfer's decode kernel
// keeps about 8 KB in flight per 128-thread CTA and reaches its bandwidth only by filling every
// SM (and it waits on griddepcontrol first). This kernel runs one CTA per SM, 96-112 KB in flight
// (a cp.async ring per warp: cascade_suffix_warps / _stages) and triggers the programmatic
// launch of the FA3 grid as it starts (once the prepare kernel before it is complete), so FA3
// takes the SMs it leaves free.
//
// Work: one warp per item (request b, KV head h, block of 8 query heads of h's group), the whole
// suffix through the warp-tile core (common/warp_tile_attention.cuh: mma.sync with the queries as
// the 8-wide operand, a cp.async ring per warp). The kernel is bound by instruction issue, not
// by memory (docs/notes/tuning-history.md#cascade-suffix-kernel).
// The state (float o, base-2 lse) goes to the workspace for the cascade's merge. An empty suffix
// gives o = 0, lse = -inf. Each CTA adds 1 to `done` when its warps are finished.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "common/device_context.hpp"
#include "common/launch.cuh"
#include "common/warp_tile_attention.cuh"
#include "prefix/prefix_schedule.hpp"

namespace baracuda::flashinfer::prefix::cascade {

struct SuffixArgs {
  const void* q;  // [B, Hq, D]
  const void* k_data;
  const void* v_data;  // HND pages [pages][Hkv][page_size][D]
  const int32_t* indices;
  const int32_t* indptr;         // [B + 1]
  const int32_t* last_page_len;  // [B]
  float* o;                      // [B, Hq, D] float
  float* lse;                    // [B, Hq] base 2
  int32_t* done;                 // CTAs finished (zeroed before the launch)
  int32_t batch, num_kv_heads, group, page_size;
  int32_t row_blocks;  // cascade_suffix_row_blocks(group)
  float scale_log2;    // sm_scale * log2(e)
};

template <int D>
struct SuffixConfig {
  static constexpr int kStages = cascade_suffix_stages(D);
  static constexpr int kWarps = cascade_suffix_warps(D);
  template <typename T>
  static constexpr size_t smem_bytes() {
    return kWarps * warp_tile::ring_bytes<T, D, kStages>();
  }
};

template <typename T, int D, typename C = SuffixConfig<D>>
__global__ void __launch_bounds__(C::kWarps * 32, 1) suffix_kernel(SuffixArgs a) {
  // Launched as a programmatic dependent of the prepare kernel, so these CTAs are resident when
  // it ends. The wait makes its writes (q packed, the work table, `done` zeroed) complete and
  // visible; then the FA3 grid that follows may start, on the SMs this grid leaves free.
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");

  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // mma fragment coordinates
  T* stages = reinterpret_cast<T*>(smem + size_t(warp) * warp_tile::ring_bytes<T, D, C::kStages>());
  const int32_t hkv = a.num_kv_heads, num_qo_heads = hkv * a.group;
  const int32_t items = a.batch * hkv * a.row_blocks;
  const uint64_t policy = warp_tile::evict_first_policy();

  for (int32_t item = blockIdx.x * C::kWarps + warp; item < items; item += gridDim.x * C::kWarps) {
    const int32_t rb = item % a.row_blocks;
    const int32_t h = (item / a.row_blocks) % hkv;
    const int32_t b = item / (a.row_blocks * hkv);
    const int32_t first = a.indptr[b], pages = a.indptr[b + 1] - first;
    const int32_t len = pages > 0 ? (pages - 1) * a.page_size + a.last_page_len[b] : 0;
    const int64_t qo_head0 =
        int64_t(b) * num_qo_heads + h * a.group + rb * kCascadeSuffixQueryBlock;
    warp_tile::QueryFragment<T, D> qf;
    qf.load(static_cast<const T*>(a.q) + qo_head0 * D, a.group - rb * kCascadeSuffixQueryBlock);
    warp_tile::WarpState<D> st;
    st.init();
    const warp_tile::KvPages<T> kv{static_cast<const T*>(a.k_data),
                                   static_cast<const T*>(a.v_data),
                                   a.indices + first,
                                   pages,
                                   a.page_size,
                                   int64_t(hkv) * a.page_size * D,
                                   int64_t(h) * a.page_size * D,
                                   D};
    warp_tile::attend_tiles<T, D, C::kStages, /*kNhd=*/false>(
        st, qf, stages, kv, 0, len, 0, (len + warp_tile::kTile - 1) / warp_tile::kTile, a.scale_log2, policy);
    st.sum_lanes();
#pragma unroll
    for (int col = 0; col < 2; ++col) {
      const int32_t query = rb * kCascadeSuffixQueryBlock + 2 * t + col;
      if (query >= a.group) continue;
      const float sum = col == 0 ? st.l0 : st.l1;
      const float inv = sum > 0.f ? 1.f / sum : 0.f;
      const int64_t qo_row = qo_head0 + 2 * t + col;
      float* out = a.o + qo_row * D + g;
#pragma unroll
      for (int mt = 0; mt < D / 16; ++mt) {
        out[mt * 16] = st.acc[mt][col] * inv;
        out[mt * 16 + 8] = st.acc[mt][2 + col] * inv;
      }
      if (g == 0) a.lse[qo_row] = sum > 0.f ? (col == 0 ? st.m0 : st.m1) + log2f(sum) : -INFINITY;
    }
  }
  // Publish this CTA's states before counting it done (the merge reads them after the count).
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(a.done, 1);
  }
}

// The suffix kernel and the resources it launches with (DeviceContext::residency opts it into its
// shared memory once per device, before the first launch).
template <typename T, int D>
KernelInfo suffix_kernel_info() {
  return KernelInfo{reinterpret_cast<const void*>(suffix_kernel<T, D>),
                    SuffixConfig<D>::kWarps * 32,
                    uint32_t(SuffixConfig<D>::template smem_bytes<T>())};
}

// The suffix grid: `ctas` CTAs of one per SM (its shared memory allows no more), a programmatic
// dependent of the kernel before it.
template <typename T, int D>
cudaError_t launch_suffix(const SuffixArgs& args, int32_t ctas, cudaStream_t stream) {
  const KernelInfo info = suffix_kernel_info<T, D>();
  return launch_kernel(suffix_kernel<T, D>, dim3(unsigned(ctas)), dim3(info.threads),
                       info.smem_bytes, stream, LaunchOptions{/*programmatic=*/true}, args);
}

}  // namespace baracuda::flashinfer::prefix::cascade
