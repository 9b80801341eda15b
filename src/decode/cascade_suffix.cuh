// The suffix half of the fused cascade (cascade_decode_run): each request's own pages, decoded by
// a small persistent grid that runs BESIDE the FA3 grid of the shared prefix.
//
// Why a kernel of our own rather than the decode kernel: the prefix's FA3 grid is compute-bound
// (tensor cores) and the suffixes are memory-bound, so they overlap well only if the suffixes
// stay on a few SMs and still pull the memory bandwidth they need. FlashInfer's decode kernel
// keeps about 8 KB in flight per 128-thread CTA and reaches its bandwidth only by filling every
// SM (and it waits on griddepcontrol first). This kernel runs one CTA per SM with up to 128 KB in
// flight (a cp.async ring per warp) and triggers the programmatic launch of the FA3 grid as it
// starts (once the prepare kernel before it is complete), so FA3 takes the SMs it leaves free.
//
// Work: one warp per item (request b, KV head h, block of 16 query heads of h's group), on tensor
// cores (mma.sync m16n8k16, f32 accumulation): the group's query rows are the 16-row A operand
// (rows past the group are zero and ignored), 16 KV tokens per tile, online softmax in base 2 on
// the accumulator fragments, P reused from registers as the A operand of PV. K/V tiles sit in
// shared memory with 16-byte chunks XOR-swizzled by token so that ldmatrix is conflict-free.
// Measured on H100 for the benchmark's suffixes on 20 SMs (bench/experiments/cascade_overlap.cu):
// a CUDA-core version (a lane per dimension slice) 317 us, latency-bound; this one 63 us; with
// 32-token tiles (4 or 6 warps) 115-139 us.
// The state (float o, base-2 lse) goes to the workspace for the cascade's merge. An empty suffix
// gives o = 0, lse = -inf. Each CTA adds 1 to `done` when its warps are finished.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "common/kernel_cache.hpp"
#include "common/launch.cuh"
#include "decode/decode_launch.hpp"

namespace baracuda::flashinfer::decode::cascade {

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
  int32_t row_blocks;  // ceil(group / 16)
  float scale_log2;    // sm_scale * log2(e)
};

template <int D>
struct SuffixConfig {
  static constexpr int kTile = 16;          // tokens per pipeline stage
  static constexpr int kStages = 3;
  static constexpr int kWarps = cascade_suffix_warps(D);  // 16, 8, 4: 192 KB of K/V stages
  static constexpr size_t kStageElems = size_t(2) * kTile * D;  // K then V
  template <typename T>
  static constexpr size_t smem_bytes() { return kWarps * kStages * kStageElems * sizeof(T); }
};

namespace detail {

// An L2 policy for data read once: evicted first, so the suffixes streaming through L2 do not push
// out the prefix KV that the FA3 grid's query tiles share.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid, uint64_t policy) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  // src-size 0 zero-fills without reading: tokens past the end never touch the cache.
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(s),
               "l"(src), "r"(valid ? 16 : 0), "l"(policy));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
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
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
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
  constexpr int kSteps = D / 16;                  // k-steps of QK, n-tile pairs of PV
  constexpr int kTokenTiles = kTile / 8;          // n-tiles of QK
  static_assert(sizeof(T) == 2 && kCopies % 32 == 0 && D % 64 == 0 && D <= 256,
                "16-bit elements, D in 64, 128, 192, 256");
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
  // The copies of one lane: chunk c of token rows i0 + u * kRowStep (kChunksPerRow <= 32).
  constexpr int kLanesPerRow = kChunksPerRow < 32 ? kChunksPerRow : 32;
  constexpr int kRowStep = 32 / kLanesPerRow;
  const int32_t c = lane % kLanesPerRow, i0 = lane / kLanesPerRow;
  int32_t smem_offset[kCopies / 32];
#pragma unroll
  for (int u = 0; u < kCopies / 32; ++u) smem_offset[u] = detail::swizzled<D>(i0 + u * kRowStep, c);

  for (int32_t item = blockIdx.x * C::kWarps + warp; item < items; item += gridDim.x * C::kWarps) {
    const int32_t rb = item % a.row_blocks;
    const int32_t h = (item / a.row_blocks) % hkv;
    const int32_t b = item / (a.row_blocks * hkv);
    const int32_t first = a.indptr[b], pages = a.indptr[b + 1] - first;
    const int32_t len = pages > 0 ? (pages - 1) * a.page_size + a.last_page_len[b] : 0;
    const int32_t tiles = (len + kTile - 1) / kTile;
    const int64_t head_offset = int64_t(h) * page_size * D + c * 8;
    // This lane's two query rows (fragment rows g and g + 8) within the group, if they exist.
    const int32_t row_lo = rb * 16 + g, row_hi = row_lo + 8;
    const T* q_lo = static_cast<const T*>(a.q) + (int64_t(b) * num_qo_heads + h * a.group + row_lo) * D;
    const T* q_hi = q_lo + 8 * D;

    // Q as the A operand of every k-step: rows past the group are zero.
    uint32_t qf[kSteps][4];
#pragma unroll
    for (int ks = 0; ks < kSteps; ++ks) {
      const int d = ks * 16 + 2 * t;
      qf[ks][0] = row_lo < a.group ? *reinterpret_cast<const uint32_t*>(q_lo + d) : 0u;
      qf[ks][1] = row_hi < a.group ? *reinterpret_cast<const uint32_t*>(q_hi + d) : 0u;
      qf[ks][2] = row_lo < a.group ? *reinterpret_cast<const uint32_t*>(q_lo + d + 8) : 0u;
      qf[ks][3] = row_hi < a.group ? *reinterpret_cast<const uint32_t*>(q_hi + d + 8) : 0u;
    }
    float acc[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
    float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.f, l_hi = 0.f;

    // Lane copies chunk c of token rows i0 + u * kRowStep of each tile. Where the page size is a
    // multiple of the tile, a tile lies in one page: one page lookup per tile, then fixed
    // offsets. Otherwise one lookup per copy.
    const auto copy = [&](T* dst, int u, int64_t offset, bool valid) {
      detail::cp_async_16(dst + smem_offset[u], k_data + offset, valid, policy);
      detail::cp_async_16(dst + kTile * D + smem_offset[u], v_data + offset, valid, policy);
    };
    // Lane copies chunk c of token rows i0 + u * kRowStep of each tile. Where the page size is a
    // multiple of the tile, a tile lies in one page: one page lookup per tile, then fixed
    // offsets. Otherwise one lookup per copy (shifts for a power-of-two page size).
    const auto load_tile = [&](int32_t j) {
      T* dst = stages + (j % kStages) * C::kStageElems;
      const int32_t tok0 = j * kTile;
      if (whole_tiles) {
        const int32_t page = indices[first + tok0 / page_size];
        const int64_t base = page * page_stride + head_offset + int64_t(tok0 % page_size) * D;
#pragma unroll
        for (int u = 0; u < kCopies / 32; ++u) {
          const int32_t i = i0 + u * kRowStep;
          copy(dst, u, base + i * D, tok0 + i < len);
        }
      } else {
#pragma unroll
        for (int u = 0; u < kCopies / 32; ++u) {
          const int32_t tok = tok0 + i0 + u * kRowStep;
          const bool valid = tok < len;
          int64_t offset = 0;
          if (valid) {
            const int32_t pos = page_shift >= 0 ? tok >> page_shift : tok / page_size;
            const int32_t slot = tok - pos * page_size;
            offset = indices[first + pos] * page_stride + head_offset + int64_t(slot) * D;
          }
          copy(dst, u, offset, valid);
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

      // S = Q K^T: n-tile n covers tokens 8n .. 8n + 7; one ldmatrix.x4 gives two k-steps.
      float s[kTokenTiles][4];
#pragma unroll
      for (int n = 0; n < kTokenTiles; ++n) {
        s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
        for (int kp = 0; kp < kSteps / 2; ++kp) {
          uint32_t kf[4];
          detail::ldmatrix_x4<false>(kf, kt + detail::swizzled<D>(n * 8 + lane % 8, kp * 4 + lane / 8));
          detail::mma<T>(s[n], qf[2 * kp], kf[0], kf[1]);
          detail::mma<T>(s[n], qf[2 * kp + 1], kf[2], kf[3]);
        }
      }
      // Online softmax in base 2 for rows g (s[.][0..1]) and g + 8 (s[.][2..3]); the 4 lanes of
      // a row (t = 0..3) hold its tokens. Only the last tile has tokens past the end.
#pragma unroll
      for (int n = 0; n < kTokenTiles; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) s[n][e] *= a.scale_log2;
      }
      if ((j + 1) * kTile > len) {
#pragma unroll
        for (int n = 0; n < kTokenTiles; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            if (j * kTile + n * 8 + 2 * t + (e & 1) >= len) s[n][e] = -INFINITY;
          }
        }
      }
      float max_lo = -INFINITY, max_hi = -INFINITY;
#pragma unroll
      for (int n = 0; n < kTokenTiles; ++n) {
        max_lo = fmaxf(max_lo, fmaxf(s[n][0], s[n][1]));
        max_hi = fmaxf(max_hi, fmaxf(s[n][2], s[n][3]));
      }
#pragma unroll
      for (int o = 1; o <= 2; o *= 2) {
        max_lo = fmaxf(max_lo, __shfl_xor_sync(0xffffffffu, max_lo, o));
        max_hi = fmaxf(max_hi, __shfl_xor_sync(0xffffffffu, max_hi, o));
      }
      // The reference maximum m moves only when a score exceeds it by 2^kRescaleSlack (p stays
      // <= 2^8, exact in f32 and in range for the f16/bf16 P): most tiles skip the rescale of
      // the accumulators. o / l and m + log2(l) do not depend on which m was used.
      constexpr float kRescaleSlack = 8.f;
      const bool grow_lo = max_lo > m_lo + kRescaleSlack, grow_hi = max_hi > m_hi + kRescaleSlack;
      if (__any_sync(0xffffffffu, grow_lo || grow_hi)) {
        const float new_lo = grow_lo ? max_lo : m_lo, new_hi = grow_hi ? max_hi : m_hi;
        const float scale_lo = exp2f(m_lo - new_lo), scale_hi = exp2f(m_hi - new_hi);
        m_lo = new_lo;
        m_hi = new_hi;
        l_lo *= scale_lo;
        l_hi *= scale_hi;
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
          acc[n][0] *= scale_lo;
          acc[n][1] *= scale_lo;
          acc[n][2] *= scale_hi;
          acc[n][3] *= scale_hi;
        }
      }
      uint32_t pf[kTokenTiles][2];  // P as f16/bf16 pairs: [n][row g / row g + 8]
#pragma unroll
      for (int n = 0; n < kTokenTiles; ++n) {
        const float p0 = exp2f(s[n][0] - m_lo);
        const float p1 = exp2f(s[n][1] - m_lo);
        const float p2 = exp2f(s[n][2] - m_hi);
        const float p3 = exp2f(s[n][3] - m_hi);
        l_lo += p0 + p1;  // this lane's tokens; summed over t at the end
        l_hi += p2 + p3;
        pf[n][0] = detail::pack2<T>(p0, p1);
        pf[n][1] = detail::pack2<T>(p2, p3);
      }
      // O += P V: k-step ks covers tokens 16 ks .. 16 ks + 15 (QK n-tiles 2 ks and 2 ks + 1);
      // one ldmatrix.x4.trans gives the B operands of two dimension n-tiles.
#pragma unroll
      for (int ks = 0; ks < kTile / 16; ++ks) {
        const uint32_t pa[4] = {pf[2 * ks][0], pf[2 * ks][1], pf[2 * ks + 1][0], pf[2 * ks + 1][1]};
#pragma unroll
        for (int np = 0; np < kSteps; ++np) {
          uint32_t vf[4];
          detail::ldmatrix_x4<true>(
              vf, vt + detail::swizzled<D>(ks * 16 + (lane / 8 % 2) * 8 + lane % 8, np * 2 + lane / 16));
          detail::mma<T>(acc[2 * np], pa, vf[0], vf[1]);
          detail::mma<T>(acc[2 * np + 1], pa, vf[2], vf[3]);
        }
      }
      __syncwarp();  // the stage is rewritten by the load two tiles on
    }
    detail::cp_async_wait<0>();

#pragma unroll
    for (int o = 1; o <= 2; o *= 2) {
      l_lo += __shfl_xor_sync(0xffffffffu, l_lo, o);
      l_hi += __shfl_xor_sync(0xffffffffu, l_hi, o);
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int32_t row = half == 0 ? row_lo : row_hi;
      if (row >= a.group) continue;
      const float sum = half == 0 ? l_lo : l_hi;
      const float inv = sum > 0.f ? 1.f / sum : 0.f;
      const int64_t qo_row = int64_t(b) * num_qo_heads + h * a.group + row;
      float* out = a.o + qo_row * D + 2 * t;
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        *reinterpret_cast<float2*>(out + n * 8) =
            make_float2(acc[n][2 * half] * inv, acc[n][2 * half + 1] * inv);
      }
      if (t == 0) a.lse[qo_row] = sum > 0.f ? (half == 0 ? m_lo : m_hi) + log2f(sum) : -INFINITY;
    }
  }
  // Publish this CTA's states before counting it done (the merge reads them after the count).
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(a.done, 1);
  }
}

// The suffix kernel and the resources it launches with (kernel_residency opts it into its
// shared memory once per device, before the first launch).
template <typename T, int D>
KernelInfo suffix_kernel_info() {
  return KernelInfo{reinterpret_cast<const void*>(suffix_kernel<T, D>), SuffixConfig<D>::kWarps * 32,
                    uint32_t(SuffixConfig<D>::template smem_bytes<T>())};
}

// The suffix grid: `ctas` CTAs of one per SM (its shared memory allows no more), a programmatic
// dependent of the kernel before it.
template <typename T, int D>
cudaError_t launch_suffix(const SuffixArgs& args, int32_t ctas, cudaStream_t stream) {
  const KernelInfo info = suffix_kernel_info<T, D>();
  return launch_kernel(suffix_kernel<T, D>, dim3(unsigned(ctas)), dim3(info.threads), info.smem_bytes,
                       stream, /*programmatic=*/true, args);
}

}  // namespace baracuda::flashinfer::decode::cascade
