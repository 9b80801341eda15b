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
// Work: one warp per item (request b, KV head h, block of 8 query heads of h's group), on tensor
// cores (mma.sync m16n8k16, f32 accumulation), transposed: S^T = K Q^T with 16 KV tokens as the
// A operand's rows (ldmatrix from the stage) and the item's queries as the B operand's 8 columns
// (registers; columns past the group are zero and ignored); online softmax in base 2 per column;
// then O^T = V^T P^T with V^T as the A operand (ldmatrix .trans) and P^T from movmatrix of the
// score fragment. With the queries in the 8-wide operand a GQA group of up to 8 wastes half an
// mma rather than 3/4 of one (16 query rows), so a tile takes half the mma, ldmatrix and softmax
// instructions. K/V tiles sit in shared memory with 16-byte chunks XOR-swizzled by token so that
// ldmatrix is conflict-free.
// The kernel is bound by instruction issue, not by memory: each change above was measured by
// its instruction count and time (docs/notes/tuning-history.md#cascade-suffix-kernel).
// The state (float o, base-2 lse) goes to the workspace for the cascade's merge. An empty suffix
// gives o = 0, lse = -inf. Each CTA adds 1 to `done` when its warps are finished.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "common/device_context.hpp"
#include "common/launch.cuh"
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
  static constexpr int kTile = 16;  // tokens per pipeline stage
  static constexpr int kStages = cascade_suffix_stages(D);
  static constexpr int kWarps = cascade_suffix_warps(D);
  static constexpr size_t kStageElems = size_t(2) * kTile * D;  // K then V
  template <typename T>
  static constexpr size_t smem_bytes() {
    return kWarps * kStages * kStageElems * sizeof(T);
  }
};

namespace detail {

// An L2 policy for data read once: evicted first, so the suffixes streaming through L2 do not push
// out the prefix KV that the FA3 grid's query tiles share.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// dst: a shared-memory address (__cvta_generic_to_shared). The L2 policy costs the suffix grid
// little (H100, the benchmark's suffixes on 16 SMs: 51.6 us with it, 52.5 without).
__device__ __forceinline__ void cp_async_16(unsigned dst, const void* src, bool valid,
                                            uint64_t policy) {
  // src-size 0 zero-fills without reading: tokens past the end never touch the cache.
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(dst),
               "l"(src), "r"(valid ? 16 : 0), "l"(policy));
}
// 2^x in one instruction (exp2f adds a range fix-up for results below 2^-126, which the online
// softmax does not need: they round to 0 against the row's sum either way).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t out;
  if constexpr (std::is_same<T, __half>::value) {
    const __half2 v = __floats2half2_rn(lo, hi);
    out = *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    out = *reinterpret_cast<const uint32_t*>(&v);
  }
  return out;
}

// d += a * b, m16n8k16, f32 accumulators.
template <typename T>
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                    uint32_t b1) {
  if constexpr (std::is_same<T, __half>::value) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(row));
  if constexpr (kTrans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
  }
}

// The transpose of an 8 x 8 matrix of 16-bit elements held as an mma fragment (lane g * 4 + t:
// row g, columns 2t and 2t + 1).
__device__ __forceinline__ uint32_t movmatrix_trans(uint32_t x) {
  uint32_t y;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(y) : "r"(x));
  return y;
}

// Element offset of 16-byte chunk c of token row i in a [kTile][D] tile: chunks XOR-swizzled by
// i % 8, so the 8 rows an ldmatrix reads at one logical chunk hit 8 different bank groups.
template <int D>
__device__ __forceinline__ int swizzled(int i, int c) {
  return i * D + ((c ^ (i & 7)) * 8);
}

}  // namespace detail

template <typename T, int D, typename C = SuffixConfig<D>>
__global__ void __launch_bounds__(C::kWarps * 32, 1) suffix_kernel(SuffixArgs a) {
  constexpr int kTile = C::kTile, kStages = C::kStages;
  constexpr int kChunksPerRow = D / 8;            // 16-byte chunks (8 elements) per token row
  constexpr int kCopies = kTile * kChunksPerRow;  // per tile, per K (and V)
  constexpr int kSteps = D / 16;  // k-steps of S^T = K Q^T, m-tiles of O^T = V^T P^T
  static_assert(sizeof(T) == 2 && kTile == 16 && kCopies % 32 == 0 && D % 64 == 0 && D <= 256,
                "16-bit elements, 16-token tiles, D in 64, 128, 192, 256");
  // Launched as a programmatic dependent of the prepare kernel, so these CTAs are resident when
  // it ends. The wait makes its writes (q packed, the work table, `done` zeroed) complete and
  // visible; then the FA3 grid that follows may start, on the SMs this grid leaves free.
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");

  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // mma fragment coordinates
  T* stages = reinterpret_cast<T*>(smem) + size_t(warp) * kStages * C::kStageElems;
  const T* k_data = static_cast<const T*>(a.k_data);
  const T* v_data = static_cast<const T*>(a.v_data);
  const int32_t hkv = a.num_kv_heads, num_qo_heads = hkv * a.group;
  const int32_t items = a.batch * hkv * a.row_blocks;
  const int32_t page_size = a.page_size;
  const int32_t* __restrict__ indices = a.indices;
  const bool whole_tiles = page_size % kTile == 0;
  const int32_t page_shift = (page_size & (page_size - 1)) == 0 ? __ffs(page_size) - 1 : -1;
  const uint64_t policy = detail::evict_first_policy();
  const int64_t page_stride = int64_t(hkv) * page_size * D;
  const float scale = a.scale_log2;
  // The copies of one lane: chunk c of token rows i0 + u * kRowStep (kChunksPerRow <= 32).
  constexpr int kLanesPerRow = kChunksPerRow < 32 ? kChunksPerRow : 32;
  constexpr int kRowStep = 32 / kLanesPerRow;
  const int32_t c = lane % kLanesPerRow, i0 = lane / kLanesPerRow;
  // Byte offsets of this lane's copies in a stage (K; V follows kTile * D elements later), and
  // its element offset in a tile's first page: a copy u then reads base + u * kRowStep * D, an
  // immediate offset from one pointer per tile.
  uint32_t smem_offset[kCopies / 32];
#pragma unroll
  for (int u = 0; u < kCopies / 32; ++u)
    smem_offset[u] = uint32_t(detail::swizzled<D>(i0 + u * kRowStep, c) * sizeof(T));
  const int32_t lane_offset = i0 * D + c * 8;
  const uint32_t smem_stages = static_cast<uint32_t>(__cvta_generic_to_shared(stages));
  // ldmatrix rows of this lane: K as the A operand (token lane % 16, chunk + lane / 16), V as
  // the transposed A operand (token (lane / 16) * 8 + lane % 8, chunk + (lane / 8) % 2).
  const int32_t k_row = lane % 16, k_chunk = lane / 16;
  const int32_t v_row = (lane / 16) * 8 + lane % 8, v_chunk = (lane / 8) % 2;

  for (int32_t item = blockIdx.x * C::kWarps + warp; item < items; item += gridDim.x * C::kWarps) {
    const int32_t rb = item % a.row_blocks;
    const int32_t h = (item / a.row_blocks) % hkv;
    const int32_t b = item / (a.row_blocks * hkv);
    const int32_t first = a.indptr[b], pages = a.indptr[b + 1] - first;
    const int32_t len = pages > 0 ? (pages - 1) * a.page_size + a.last_page_len[b] : 0;
    const int32_t tiles = (len + kTile - 1) / kTile;
    const int64_t head_offset = int64_t(h) * page_size * D + c * 8;
    const int64_t qo_head0 =
        int64_t(b) * num_qo_heads + h * a.group + rb * kCascadeSuffixQueryBlock;
    // Q^T as the B operand of every k-step: column g is query rb * 8 + g of the group (zero past
    // the group); this lane holds dims 16 ks + 2t, +1 and 16 ks + 2t + 8, +9.
    const bool has_query = rb * kCascadeSuffixQueryBlock + g < a.group;
    const T* q = static_cast<const T*>(a.q) + (qo_head0 + g) * D;
    uint32_t qf[kSteps][2];
#pragma unroll
    for (int ks = 0; ks < kSteps; ++ks) {
      const int d = ks * 16 + 2 * t;
      qf[ks][0] = has_query ? *reinterpret_cast<const uint32_t*>(q + d) : 0u;
      qf[ks][1] = has_query ? *reinterpret_cast<const uint32_t*>(q + d + 8) : 0u;
    }
    // O^T, m-tile mt: [0] (dim 16 mt + g, query 2t), [1] (same dim, query 2t + 1), [2] and [3]
    // the same for dim 16 mt + g + 8. Row maxima m and sums l per query 2t (0) and 2t + 1 (1).
    float acc[kSteps][4];
#pragma unroll
    for (int mt = 0; mt < kSteps; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;

    const auto copy = [&](uint32_t dst, int u, const T* k_src, const T* v_src, bool valid) {
      detail::cp_async_16(dst + smem_offset[u], k_src, valid, policy);
      detail::cp_async_16(dst + kTile * D * sizeof(T) + smem_offset[u], v_src, valid, policy);
    };
    // The item's page ids, 32 at a time: lane l holds the id of page window + l. A page id read
    // from memory just before a tile's copies would stall the warp for a memory round trip per
    // tile; a shuffle from this window costs nothing. `window` moves (warp-uniform) when a tile
    // needs pages past it: once per 32 pages.
    int32_t window = 0;
    int32_t window_page = lane < pages ? indices[first + lane] : 0;
    const auto cover = [&](int32_t pos_first, int32_t pos_last) {
      if (pos_last - window >= 32) {
        window = pos_first;
        window_page = window + lane < pages ? indices[first + window + lane] : 0;
      }
    };
    // Lane copies chunk c of token rows i0 + u * kRowStep of each tile. Where the page size is a
    // multiple of the tile, a tile lies in one page: one page lookup per tile, then fixed
    // offsets. Otherwise one lookup per copy (shifts for a power-of-two page size); a tile then
    // spans at most kTile pages, which one window holds.
    const auto load_tile = [&](int32_t j) {
      const uint32_t dst = smem_stages + uint32_t((j % kStages) * C::kStageElems * sizeof(T));
      const int32_t tok0 = j * kTile;
      if (whole_tiles) {
        const int32_t pos = tok0 / page_size;
        cover(pos, pos);
        const int32_t page = __shfl_sync(0xffffffffu, window_page, pos - window);
        const int64_t base = page * page_stride +
                             (int64_t(h) * page_size + (tok0 - pos * page_size)) * D + lane_offset;
        const T* k_src = k_data + base;
        const T* v_src = v_data + base;
        if (tok0 + kTile <= len) {  // all but the last tile: no predicates
#pragma unroll
          for (int u = 0; u < kCopies / 32; ++u)
            copy(dst, u, k_src + u * kRowStep * D, v_src + u * kRowStep * D, true);
        } else {
#pragma unroll
          for (int u = 0; u < kCopies / 32; ++u)
            copy(dst, u, k_src + u * kRowStep * D, v_src + u * kRowStep * D,
                 tok0 + i0 + u * kRowStep < len);
        }
      } else {
        const auto page_pos = [&](int32_t tok) {
          return page_shift >= 0 ? tok >> page_shift : tok / page_size;
        };
        cover(page_pos(tok0), page_pos(min(tok0 + kTile, len) - 1));
#pragma unroll
        for (int u = 0; u < kCopies / 32; ++u) {
          const int32_t tok = tok0 + i0 + u * kRowStep;
          const bool valid = tok < len;
          const int32_t pos = page_pos(valid ? tok : tok0);
          const int32_t page = __shfl_sync(0xffffffffu, window_page, pos - window);
          const int64_t offset =
              valid ? page * page_stride + head_offset + int64_t(tok - pos * page_size) * D : 0;
          copy(dst, u, k_data + offset, v_data + offset, valid);
        }
      }
    };
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < tiles) load_tile(s);
      detail::cp_async_commit();
    }

    for (int32_t j = 0; j < tiles; ++j) {
      if (j + kStages - 1 < tiles) load_tile(j + kStages - 1);
      detail::cp_async_commit();
      detail::cp_async_wait<kStages - 1>();
      __syncwarp();
      const T* kt = stages + (j % kStages) * C::kStageElems;
      const T* vt = kt + kTile * D;

      // S^T = K Q^T (tokens x queries): s[0], s[1] token g, queries 2t and 2t + 1; s[2], s[3]
      // token g + 8. Two accumulator chains (even and odd k-steps) halve the mma latency chain.
      float chain[2][4] = {};
#pragma unroll
      for (int ks = 0; ks < kSteps; ++ks) {
        uint32_t kf[4];
        detail::ldmatrix_x4<false>(kf, kt + detail::swizzled<D>(k_row, 2 * ks + k_chunk));
        detail::mma<T>(chain[ks % 2], kf, qf[ks][0], qf[ks][1]);
      }
      float s[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) s[e] = chain[0][e] + chain[1][e];
      // Online softmax in base 2 per query (a column: the 8 lanes of one t hold its 16 tokens).
      // Only the last tile has tokens past the end. The scores stay unscaled: the maxima are
      // scaled (sm_scale > 0 keeps their order), and each p is one fma and one ex2.
      if ((j + 1) * kTile > len) {
        if (j * kTile + g >= len) s[0] = s[1] = -INFINITY;
        if (j * kTile + g + 8 >= len) s[2] = s[3] = -INFINITY;
      }
      float max0 = fmaxf(s[0], s[2]), max1 = fmaxf(s[1], s[3]);
#pragma unroll
      for (int o = 4; o < 32; o *= 2) {
        max0 = fmaxf(max0, __shfl_xor_sync(0xffffffffu, max0, o));
        max1 = fmaxf(max1, __shfl_xor_sync(0xffffffffu, max1, o));
      }
      max0 *= scale;
      max1 *= scale;
      // The reference maximum m moves only when a score exceeds it by 2^kRescaleSlack (p stays
      // <= 2^8, exact in f32 and in range for the f16/bf16 P): most tiles skip the rescale of
      // the accumulators. o / l and m + log2(l) do not depend on which m was used.
      constexpr float kRescaleSlack = 8.f;
      const bool grow0 = max0 > m0 + kRescaleSlack, grow1 = max1 > m1 + kRescaleSlack;
      if (__any_sync(0xffffffffu, grow0 || grow1)) {
        const float new0 = grow0 ? max0 : m0, new1 = grow1 ? max1 : m1;
        const float r0 = detail::exp2_approx(m0 - new0), r1 = detail::exp2_approx(m1 - new1);
        m0 = new0;
        m1 = new1;
        l0 *= r0;
        l1 *= r1;
#pragma unroll
        for (int mt = 0; mt < kSteps; ++mt) {
          acc[mt][0] *= r0;
          acc[mt][1] *= r1;
          acc[mt][2] *= r0;
          acc[mt][3] *= r1;
        }
      }
      const float p0 = detail::exp2_approx(fmaf(s[0], scale, -m0));
      const float p1 = detail::exp2_approx(fmaf(s[1], scale, -m1));
      const float p2 = detail::exp2_approx(fmaf(s[2], scale, -m0));
      const float p3 = detail::exp2_approx(fmaf(s[3], scale, -m1));
      l0 += p0 + p2;  // this lane's tokens; summed over g at the end
      l1 += p1 + p3;
      // P^T as the B operand of O^T += V^T P^T: the transposes of the two 8 x 8 blocks of S^T's
      // fragment (tokens 0-7 and 8-15) put tokens 2t, 2t + 1 of query g in this lane.
      const uint32_t pb0 = detail::movmatrix_trans(detail::pack2<T>(p0, p1));
      const uint32_t pb1 = detail::movmatrix_trans(detail::pack2<T>(p2, p3));
#pragma unroll
      for (int mt = 0; mt < kSteps; ++mt) {
        uint32_t vf[4];
        detail::ldmatrix_x4<true>(vf, vt + detail::swizzled<D>(v_row, 2 * mt + v_chunk));
        detail::mma<T>(acc[mt], vf, pb0, pb1);
      }
      __syncwarp();  // the stage is rewritten by the next iteration's load (kStages - 1 tiles on)
    }
    detail::cp_async_wait<0>();

#pragma unroll
    for (int o = 4; o < 32; o *= 2) {
      l0 += __shfl_xor_sync(0xffffffffu, l0, o);
      l1 += __shfl_xor_sync(0xffffffffu, l1, o);
    }
#pragma unroll
    for (int col = 0; col < 2; ++col) {
      const int32_t query = rb * kCascadeSuffixQueryBlock + 2 * t + col;
      if (query >= a.group) continue;
      const float sum = col == 0 ? l0 : l1;
      const float inv = sum > 0.f ? 1.f / sum : 0.f;
      const int64_t qo_row = qo_head0 + 2 * t + col;
      float* out = a.o + qo_row * D + g;
#pragma unroll
      for (int mt = 0; mt < kSteps; ++mt) {
        out[mt * 16] = acc[mt][col] * inv;
        out[mt * 16 + 8] = acc[mt][2 + col] * inv;
      }
      if (g == 0) a.lse[qo_row] = sum > 0.f ? (col == 0 ? m0 : m1) + log2f(sum) : -INFINITY;
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
