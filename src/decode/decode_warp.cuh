// The warp-tile decode path: our own kernel for 16-bit KV, built on the warp-tile core
// (common/warp_tile_attention.cuh) that the fused cascade's suffix kernel uses.
//
// Why: FlashInfer's CUDA-core decode kernel keeps about 8 KB in flight per CTA and widens every
// KV element once per query head; its FA2 kernel gives a GQA group of 4 a 16-row tile (3/4 of the
// mma wasted) and needs the device planner. Here a CTA takes one (request, KV head, block of 8
// query heads, KV chunk); its warps take contiguous tile ranges of the chunk, each through its
// own cp.async ring (tens of KB in flight per SM), and the warps' states are merged in shared
// memory. The chunk count is static (schedule_warp_tiles: as many chunks as fill one wave of
// CTAs), so the split needs no planner: a CTA finds its range from the request's length, and a
// captured graph stays right when lengths change. Split: partial states [B, chunks, Hq, D] and
// a stacked merge, launched as a programmatic dependent of the kernel.
// A sliding window starts the range at the first kept key; NHD pages are a token stride.
#pragma once

#include <cuda_runtime.h>

#include "common/launch.cuh"
#include "common/warp_tile_attention.cuh"
#include "decode/decode_launch.hpp"
#include "merge/merge_kernels.cuh"

namespace baracuda::flashinfer::decode {

struct WarpTileArgs {
  const void* q;  // [B, Hq, D]
  const void* k_data;
  const void* v_data;
  const int32_t* indices;
  const int32_t* indptr;         // [B + 1]
  const int32_t* last_page_len;  // [B]
  void* o;                       // chunks == 1: [B, Hq, D]; else partial [B, chunks, Hq, D]
  float* lse;                    // the same rows (may be NULL when chunks == 1)
  int32_t num_kv_heads, group, page_size, row_blocks, chunks, window_left;
  float scale_log2;  // sm_scale * k_scale * log2(e)
};

// Warps per CTA and ring stages per warp, per head dim (each stage 16 tokens of K and V: 4, 8,
// 16 KB at head dim 64, 128, 256).
constexpr int kWarpTileWarps[3] = {16, 12, 7};   // head dim 64, 128, 256
constexpr int kWarpTileStages[3] = {3, 2, 2};
template <int D>
struct WarpTileConfig {
  static constexpr int kIndex = D <= 64 ? 0 : (D <= 128 ? 1 : 2);
  static constexpr int kWarps = kWarpTileWarps[kIndex];
  static constexpr int kStages = kWarpTileStages[kIndex];
  template <typename T>
  static constexpr size_t smem_bytes() {
    return kWarps * warp_tile::ring_bytes<T, D, kStages>();
  }
};

static_assert(warp_tile::kQueryBlock == kWarpTileQueryBlock,
              "the schedule's query block is the kernel's");

template <typename T, int D, bool kNhd, typename C = WarpTileConfig<D>>
__global__ void __launch_bounds__(C::kWarps * 32, 1) warp_tile_decode_kernel(WarpTileArgs a) {
  constexpr int kWarps = C::kWarps, kStages = C::kStages, kTile = warp_tile::kTile;
  constexpr size_t kRingBytes = warp_tile::ring_bytes<T, D, kStages>();
  // A warp's state in its ring after the loop: o [8][D], m [8], l [8] (floats).
  static_assert((8 * D + 16) * sizeof(float) <= kRingBytes, "the merge buffer fits a ring");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // The split's merge may launch now: it waits for this grid to complete before reading.
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  T* stages = reinterpret_cast<T*>(smem + size_t(warp) * kRingBytes);

  // CTA = (request b, KV head h, chunk, row block rb), row blocks innermost (they share KV).
  int32_t unit = static_cast<int32_t>(blockIdx.x);
  const int32_t rb = unit % a.row_blocks;
  unit /= a.row_blocks;
  const int32_t chunk = unit % a.chunks;
  unit /= a.chunks;
  const int32_t hkv = a.num_kv_heads;
  const int32_t h = unit % hkv, b = unit / hkv;
  const int32_t num_qo_heads = hkv * a.group;
  const int32_t first = a.indptr[b], pages = a.indptr[b + 1] - first;
  const int32_t len = pages > 0 ? (pages - 1) * a.page_size + a.last_page_len[b] : 0;
  const int32_t kv_begin = a.window_left >= 0 ? max(len - a.window_left - 1, 0) : 0;
  // Tiles [t0, t1) hold the kept keys; chunk `chunk` takes its share, warp `warp` a share of that.
  const int32_t t0 = kv_begin / kTile, t1 = (len + kTile - 1) / kTile;
  const int32_t per_chunk = (t1 - t0 + a.chunks - 1) / a.chunks;
  const int32_t c_begin = min(t0 + chunk * per_chunk, t1), c_end = min(c_begin + per_chunk, t1);
  const int32_t per_warp = (c_end - c_begin + kWarps - 1) / kWarps;
  const int32_t w_begin = min(c_begin + warp * per_warp, c_end);
  const int32_t w_end = min(w_begin + per_warp, c_end);

  const int32_t queries = min(a.group - rb * warp_tile::kQueryBlock, warp_tile::kQueryBlock);
  const int32_t head0 = h * a.group + rb * warp_tile::kQueryBlock;  // first query head
  warp_tile::QueryFragment<T, D> qf;
  qf.load(static_cast<const T*>(a.q) + (int64_t(b) * num_qo_heads + head0) * D, queries);
  warp_tile::WarpState<D> st;
  st.init();
  const int64_t page_stride = int64_t(hkv) * a.page_size * D;
  const warp_tile::KvPages<T> kv{static_cast<const T*>(a.k_data),
                                 static_cast<const T*>(a.v_data),
                                 a.indices + first,
                                 pages,
                                 a.page_size,
                                 page_stride,
                                 kNhd ? int64_t(h) * D : int64_t(h) * a.page_size * D,
                                 kNhd ? hkv * D : D};
  warp_tile::attend_tiles<T, D, kStages, kNhd>(st, qf, stages, kv, kv_begin, len, w_begin, w_end,
                                               a.scale_log2, warp_tile::evict_normal_policy());
  st.sum_lanes();

  // The warps' states into their own rings, then merged per (query, dim) by the whole CTA.
  float* mine = reinterpret_cast<float*>(stages);
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
    mine[(2 * t) * D + 16 * mt + g] = st.acc[mt][0];
    mine[(2 * t + 1) * D + 16 * mt + g] = st.acc[mt][1];
    mine[(2 * t) * D + 16 * mt + g + 8] = st.acc[mt][2];
    mine[(2 * t + 1) * D + 16 * mt + g + 8] = st.acc[mt][3];
  }
  if (g == 0) {
    mine[8 * D + 2 * t] = st.m0;
    mine[8 * D + 2 * t + 1] = st.m1;
    mine[8 * D + 8 + 2 * t] = st.l0;
    mine[8 * D + 8 + 2 * t + 1] = st.l1;
  }
  __syncthreads();
  const bool split = a.chunks > 1;
  T* out = static_cast<T*>(a.o);
  for (int idx = threadIdx.x; idx < queries * D; idx += kWarps * 32) {
    const int q = idx / D, d = idx % D;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float* ws = reinterpret_cast<const float*>(smem + size_t(w) * kRingBytes);
      if (ws[8 * D + 8 + q] > 0.f) m = fmaxf(m, ws[8 * D + q]);
    }
    float sum = 0.f, acc = 0.f;
    if (m != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float* ws = reinterpret_cast<const float*>(smem + size_t(w) * kRingBytes);
        const float l = ws[8 * D + 8 + q];
        if (l > 0.f) {
          const float f = warp_tile::exp2_approx(ws[8 * D + q] - m);
          sum += l * f;
          acc += ws[q * D + d] * f;
        }
      }
    }
    // An empty range (an empty request, or a chunk past the end): o = 0, lse = -inf.
    const int64_t row = split ? (int64_t(b) * a.chunks + chunk) * num_qo_heads + head0 + q
                              : int64_t(b) * num_qo_heads + head0 + q;
    out[row * D + d] = T(sum > 0.f ? acc / sum : 0.f);
    if (d == 0 && a.lse != nullptr) a.lse[row] = sum > 0.f ? m + log2f(sum) : -INFINITY;
  }
}

template <typename T, int D, bool kNhd>
KernelInfo warp_tile_kernel_info() {
  return KernelInfo{reinterpret_cast<const void*>(warp_tile_decode_kernel<T, D, kNhd>),
                    uint32_t(WarpTileConfig<D>::kWarps * 32),
                    uint32_t(WarpTileConfig<D>::template smem_bytes<T>())};
}

// Enqueues the warp-tile kernel (and, when split, the stacked merge).
template <typename T, int D>
cudaError_t launch_warp_tiles(const DecodeProblem& p, const DecodeBuffers& s, cudaStream_t stream) {
  const int32_t group = p.num_qo_heads / p.num_kv_heads;
  const bool split = s.chunks > 1;
  const WarpTileArgs args{p.q,
                          p.k_data,
                          p.v_data,
                          p.indices,
                          p.indptr,
                          p.last_page_len,
                          split ? s.tmp_o : p.o,
                          split ? s.tmp_lse : p.lse,
                          p.num_kv_heads,
                          group,
                          p.page_size,
                          (group + warp_tile::kQueryBlock - 1) / warp_tile::kQueryBlock,
                          s.chunks,
                          p.attn.window_left,
                          p.sm_scale * p.attn.k_scale * 1.4426950408889634f};
  const KernelInfo info =
      p.attn.nhd ? warp_tile_kernel_info<T, D, true>() : warp_tile_kernel_info<T, D, false>();
  const cudaError_t err =
      p.attn.nhd
          ? launch_kernel(warp_tile_decode_kernel<T, D, true>, dim3(uint32_t(s.padded_items)),
                          dim3(info.threads), info.smem_bytes, stream, args)
          : launch_kernel(warp_tile_decode_kernel<T, D, false>, dim3(uint32_t(s.padded_items)),
                          dim3(info.threads), info.smem_bytes, stream, args);
  if (err != cudaSuccess || !split) return err;
  const merge::MergeProblem combine{s.chunks, p.batch_size, p.num_qo_heads, s.tmp_o, s.tmp_lse,
                                    nullptr,  nullptr,      nullptr,        p.o,     p.lse,
                                    /*after_kernel=*/true};
  return merge::launch_stacked<T, D>(combine, stream);
}

}  // namespace baracuda::flashinfer::decode

// The table entry of one generated TU (cmake/decode_warp_instance.cu.in).
#if defined(BFI_ELEMENT_NAME)
#define BFI_WARP_VARIANT_NAME_(NAME, D) kWarpTileVariant_##NAME##_hd##D
#define BFI_WARP_VARIANT_NAME(NAME, D) BFI_WARP_VARIANT_NAME_(NAME, D)
namespace baracuda::flashinfer::decode {
extern const WarpTileVariant BFI_WARP_VARIANT_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM);
const WarpTileVariant BFI_WARP_VARIANT_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM) = {
    BFI_ELEMENT_CODE, BFI_HEAD_DIM,
    warp_tile_kernel_info<BFI_DTYPE_Q, BFI_HEAD_DIM, false>(),
    warp_tile_kernel_info<BFI_DTYPE_Q, BFI_HEAD_DIM, true>(),
    &launch_warp_tiles<BFI_DTYPE_Q, BFI_HEAD_DIM>};
}  // namespace baracuda::flashinfer::decode
#endif
