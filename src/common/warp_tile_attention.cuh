// One warp's attention over a range of 16-token KV tiles of one paged request, for up to 8 query
// heads of one KV head: the core of the fused cascade's suffix kernel (prefix/cascade_suffix.cuh)
// and of the warp-tile decode path (decode/decode_warp.cuh).
//
// Tensor cores (mma.sync m16n8k16, f32 accumulation), transposed: S^T = K Q^T with 16 KV tokens
// as the A operand's rows (ldmatrix from the stage) and the queries as the B operand's 8 columns
// (registers; columns past the group are zero and ignored); online softmax in base 2 per column;
// then O^T = V^T P^T with V^T as the A operand (ldmatrix .trans) and P^T from movmatrix of the
// score fragment. With the queries in the 8-wide operand a GQA group of up to 8 wastes half an
// mma rather than 3/4 of one (16 query rows). K/V tiles stream through a cp.async ring of
// kStages stages per warp, 16-byte chunks XOR-swizzled by token so that ldmatrix is conflict-free.
// The loop is bound by instruction issue on a few SMs: each choice here was measured by its
// instruction count and time (docs/notes/tuning-history.md#cascade-suffix-kernel).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

namespace baracuda::flashinfer::warp_tile {

constexpr int kTile = 16;       // tokens per pipeline stage
constexpr int kQueryBlock = 8;  // query heads per warp (the mma's 8-wide operand)

// Shared memory of one warp's ring: kStages stages of 16 tokens of K then V.
template <typename T, int D, int kStages>
constexpr size_t ring_bytes() {
  return size_t(kStages) * 2 * kTile * D * sizeof(T);
}

// An L2 policy for data read once: evicted first (beside the cascade's FA3 grid, the prefix KV
// its query tiles share stays in L2).
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// An L2 policy for decode's KV: evict normally (the row blocks of a group above 8 read the same KV
// in neighbouring CTAs).
__device__ __forceinline__ uint64_t evict_normal_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// dst: a shared-memory address (__cvta_generic_to_shared).
__device__ __forceinline__ void cp_async_16(unsigned dst, const void* src, bool valid,
                                            uint64_t policy) {
  // src-size 0 zero-fills without reading: tokens outside the range never touch the cache, and
  // stale slots (NaN in the tests) never reach the P V product.
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

// Q^T as the B operand of every k-step: column g is query g of the block (zero where the block
// has no such query); lane (g, t) holds dims 16 ks + 2t, +1 and 16 ks + 2t + 8, +9. `q` points at
// the block's first query row, `queries` of its 8 exist.
template <typename T, int D>
struct QueryFragment {
  uint32_t b[D / 16][2];
  __device__ __forceinline__ void load(const T* q, int32_t queries) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const bool has_query = g < queries;
    const T* row = q + int64_t(has_query ? g : 0) * D;
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      const int d = ks * 16 + 2 * t;
      b[ks][0] = has_query ? *reinterpret_cast<const uint32_t*>(row + d) : 0u;
      b[ks][1] = has_query ? *reinterpret_cast<const uint32_t*>(row + d + 8) : 0u;
    }
  }
};

// A warp's running attention state for its 8 query columns. O^T, m-tile mt: acc[mt][0] (dim
// 16 mt + g, query 2t), [1] (same dim, query 2t + 1), [2] and [3] the same for dim 16 mt + g + 8.
// m: the reference maximum per query 2t (0) and 2t + 1 (1), scaled to base 2; l: this lane's part
// of the sum until sum_lanes().
template <int D>
struct WarpState {
  float acc[D / 16][4];
  float m0, m1, l0, l1;
  __device__ __forceinline__ void init() {
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.f;
    m0 = m1 = -INFINITY;
    l0 = l1 = 0.f;
  }
  // The sums over the 8 lanes of one t (each held its own tokens' terms).
  __device__ __forceinline__ void sum_lanes() {
#pragma unroll
    for (int o = 4; o < 32; o *= 2) {
      l0 += __shfl_xor_sync(0xffffffffu, l0, o);
      l1 += __shfl_xor_sync(0xffffffffu, l1, o);
    }
  }
};

// Where one request's K/V for one KV head lie. Pages hold page_size tokens; token i of a page for
// this head starts at element `head_offset + i * token_stride` of the page (HND: head_offset =
// h * page_size * D, token_stride = D; NHD: h * D and Hkv * D).
template <typename T>
struct KvPages {
  const T* k_data;
  const T* v_data;
  const int32_t* page_ids;  // the request's pages (indices + indptr[b])
  int32_t pages;
  int32_t page_size;
  int64_t page_stride;  // elements per page
  int64_t head_offset;
  int32_t token_stride;
};

// Folds tiles [tile_begin, tile_end) of `kv` into `st`, keeping tokens [kv_begin, kv_end) (every
// tile of the range must hold at least one of them). `stages`: this warp's ring
// (ring_bytes<T, D, kStages>()). scale_log2: sm_scale * log2(e), positive. kNhd: token_stride is
// a run-time value; otherwise D (immediate offsets).
template <typename T, int D, int kStages, bool kNhd>
__device__ __forceinline__ void attend_tiles(WarpState<D>& st, const QueryFragment<T, D>& qf,
                                             T* stages, const KvPages<T>& kv, int32_t kv_begin,
                                             int32_t kv_end, int32_t tile_begin, int32_t tile_end,
                                             float scale_log2, uint64_t policy) {
  constexpr int kChunksPerRow = D / 8;            // 16-byte chunks (8 elements) per token row
  constexpr int kCopies = kTile * kChunksPerRow;  // per tile, per K (and V)
  constexpr int kSteps = D / 16;  // k-steps of S^T = K Q^T, m-tiles of O^T = V^T P^T
  constexpr size_t kStageElems = size_t(2) * kTile * D;  // K then V
  static_assert(sizeof(T) == 2 && kCopies % 32 == 0 && D % 64 == 0 && D <= 256,
                "16-bit elements, D in 64, 128, 192, 256");
  if (tile_begin >= tile_end) return;
  const int lane = threadIdx.x % 32;
  const int g = lane / 4;
  const int32_t page_size = kv.page_size;
  const bool whole_tiles = page_size % kTile == 0;
  const int32_t page_shift = (page_size & (page_size - 1)) == 0 ? __ffs(page_size) - 1 : -1;
  const int32_t token_stride = kNhd ? kv.token_stride : D;
  const float scale = scale_log2;
  // The copies of one lane: chunk c of token rows i0 + u * kRowStep (kChunksPerRow <= 32).
  constexpr int kLanesPerRow = kChunksPerRow < 32 ? kChunksPerRow : 32;
  constexpr int kRowStep = 32 / kLanesPerRow;
  const int32_t c = lane % kLanesPerRow, i0 = lane / kLanesPerRow;
  // Byte offsets of this lane's copies in a stage (K; V follows kTile * D elements later), and
  // its element offset in a tile's first page: a copy u then reads base + u * kRowStep rows on,
  // an immediate offset from one pointer per tile (HND).
  uint32_t smem_offset[kCopies / 32];
#pragma unroll
  for (int u = 0; u < kCopies / 32; ++u)
    smem_offset[u] = uint32_t(swizzled<D>(i0 + u * kRowStep, c) * sizeof(T));
  const int64_t lane_offset = int64_t(i0) * token_stride + c * 8;
  const int64_t head_offset = kv.head_offset + c * 8;
  const uint32_t smem_stages = static_cast<uint32_t>(__cvta_generic_to_shared(stages));
  // ldmatrix rows of this lane: K as the A operand (token lane % 16, chunk + lane / 16), V as
  // the transposed A operand (token (lane / 16) * 8 + lane % 8, chunk + (lane / 8) % 2).
  const int32_t k_row = lane % 16, k_chunk = lane / 16;
  const int32_t v_row = (lane / 16) * 8 + lane % 8, v_chunk = (lane / 8) % 2;
  const T* k_data = kv.k_data;
  const T* v_data = kv.v_data;
  const int32_t* __restrict__ page_ids = kv.page_ids;
  const int32_t pages = kv.pages;

  const auto page_pos = [&](int32_t tok) {
    return page_shift >= 0 ? tok >> page_shift : tok / page_size;
  };
  const auto copy = [&](uint32_t dst, int u, const T* k_src, const T* v_src, bool valid) {
    cp_async_16(dst + smem_offset[u], k_src, valid, policy);
    cp_async_16(dst + kTile * D * sizeof(T) + smem_offset[u], v_src, valid, policy);
  };
  // The range's page ids, 32 at a time: lane l holds the id of page window + l. A page id read
  // from memory just before a tile's copies would stall the warp for a memory round trip per
  // tile; a shuffle from this window costs nothing. `window` moves (warp-uniform) when a tile
  // needs pages past it: once per 32 pages (a tile spans at most kTile pages).
  int32_t window = page_pos(tile_begin * kTile);
  int32_t window_page = window + lane < pages ? page_ids[window + lane] : 0;
  const auto cover = [&](int32_t pos_first, int32_t pos_last) {
    if (pos_last - window >= 32) {
      window = pos_first;
      window_page = window + lane < pages ? page_ids[window + lane] : 0;
    }
  };
  // Where the page size is a multiple of the tile, a tile lies in one page: one page lookup per
  // tile, then fixed offsets. Otherwise one lookup per copy (shifts for a power-of-two page size).
  const auto load_tile = [&](int32_t j) {
    const uint32_t dst =
        smem_stages + uint32_t(((j - tile_begin) % kStages) * kStageElems * sizeof(T));
    const int32_t tok0 = j * kTile;
    if (whole_tiles) {
      const int32_t pos = tok0 / page_size;
      cover(pos, pos);
      const int32_t page = __shfl_sync(0xffffffffu, window_page, pos - window);
      const int64_t base = page * kv.page_stride + kv.head_offset +
                           int64_t(tok0 - pos * page_size) * token_stride + lane_offset;
      const T* k_src = k_data + base;
      const T* v_src = v_data + base;
      if (tok0 >= kv_begin && tok0 + kTile <= kv_end) {  // inner tiles: no predicates
#pragma unroll
        for (int u = 0; u < kCopies / 32; ++u)
          copy(dst, u, k_src + int64_t(u) * kRowStep * token_stride,
               v_src + int64_t(u) * kRowStep * token_stride, true);
      } else {
#pragma unroll
        for (int u = 0; u < kCopies / 32; ++u) {
          const int32_t tok = tok0 + i0 + u * kRowStep;
          copy(dst, u, k_src + int64_t(u) * kRowStep * token_stride,
               v_src + int64_t(u) * kRowStep * token_stride, tok >= kv_begin && tok < kv_end);
        }
      }
    } else {
      cover(page_pos(tok0), page_pos(min(tok0 + kTile, kv_end) - 1));
#pragma unroll
      for (int u = 0; u < kCopies / 32; ++u) {
        const int32_t tok = tok0 + i0 + u * kRowStep;
        const bool valid = tok >= kv_begin && tok < kv_end;
        const int32_t pos = page_pos(valid ? tok : tok0);
        const int32_t page = __shfl_sync(0xffffffffu, window_page, pos - window);
        const int64_t offset =
            valid ? page * kv.page_stride + head_offset + int64_t(tok - pos * page_size) * token_stride
                  : 0;
        copy(dst, u, k_data + offset, v_data + offset, valid);
      }
    }
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (tile_begin + s < tile_end) load_tile(tile_begin + s);
    cp_async_commit();
  }

  for (int32_t j = tile_begin; j < tile_end; ++j) {
    if (j + kStages - 1 < tile_end) load_tile(j + kStages - 1);
    cp_async_commit();
    cp_async_wait<kStages - 1>();
    __syncwarp();
    const T* kt = stages + ((j - tile_begin) % kStages) * kStageElems;
    const T* vt = kt + kTile * D;

    // S^T = K Q^T (tokens x queries): s[0], s[1] token g, queries 2t and 2t + 1; s[2], s[3]
    // token g + 8. Two accumulator chains (even and odd k-steps) halve the mma latency chain.
    float chain[2][4] = {};
#pragma unroll
    for (int ks = 0; ks < kSteps; ++ks) {
      uint32_t kf[4];
      ldmatrix_x4<false>(kf, kt + swizzled<D>(k_row, 2 * ks + k_chunk));
      mma<T>(chain[ks % 2], kf, qf.b[ks][0], qf.b[ks][1]);
    }
    float s[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) s[e] = chain[0][e] + chain[1][e];
    // Online softmax in base 2 per query (a column: the 8 lanes of one t hold its 16 tokens).
    // Only the first and last tiles hold tokens outside the range. The scores stay unscaled: the
    // maxima are scaled (sm_scale > 0 keeps their order), and each p is one fma and one ex2.
    if (j * kTile < kv_begin || (j + 1) * kTile > kv_end) {
      const int32_t tok = j * kTile + g;
      if (tok < kv_begin || tok >= kv_end) s[0] = s[1] = -INFINITY;
      if (tok + 8 < kv_begin || tok + 8 >= kv_end) s[2] = s[3] = -INFINITY;
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
    // <= 2^8, exact in f32 and in range for the f16/bf16 P): most tiles skip the rescale of the
    // accumulators. o / l and m + log2(l) do not depend on which m was used.
    constexpr float kRescaleSlack = 8.f;
    const bool grow0 = max0 > st.m0 + kRescaleSlack, grow1 = max1 > st.m1 + kRescaleSlack;
    if (__any_sync(0xffffffffu, grow0 || grow1)) {
      const float new0 = grow0 ? max0 : st.m0, new1 = grow1 ? max1 : st.m1;
      const float r0 = exp2_approx(st.m0 - new0), r1 = exp2_approx(st.m1 - new1);
      st.m0 = new0;
      st.m1 = new1;
      st.l0 *= r0;
      st.l1 *= r1;
#pragma unroll
      for (int mt = 0; mt < kSteps; ++mt) {
        st.acc[mt][0] *= r0;
        st.acc[mt][1] *= r1;
        st.acc[mt][2] *= r0;
        st.acc[mt][3] *= r1;
      }
    }
    const float p0 = exp2_approx(fmaf(s[0], scale, -st.m0));
    const float p1 = exp2_approx(fmaf(s[1], scale, -st.m1));
    const float p2 = exp2_approx(fmaf(s[2], scale, -st.m0));
    const float p3 = exp2_approx(fmaf(s[3], scale, -st.m1));
    st.l0 += p0 + p2;  // this lane's tokens; summed over g by sum_lanes()
    st.l1 += p1 + p3;
    // P^T as the B operand of O^T += V^T P^T: the transposes of the two 8 x 8 blocks of S^T's
    // fragment (tokens 0-7 and 8-15) put tokens 2t, 2t + 1 of query g in this lane.
    const uint32_t pb0 = movmatrix_trans(pack2<T>(p0, p1));
    const uint32_t pb1 = movmatrix_trans(pack2<T>(p2, p3));
#pragma unroll
    for (int mt = 0; mt < kSteps; ++mt) {
      uint32_t vf[4];
      ldmatrix_x4<true>(vf, vt + swizzled<D>(v_row, 2 * mt + v_chunk));
      mma<T>(st.acc[mt], vf, pb0, pb1);
    }
    __syncwarp();  // the stage is rewritten by the next iteration's load (kStages - 1 tiles on)
  }
  cp_async_wait<0>();
  __syncwarp();
}

}  // namespace baracuda::flashinfer::warp_tile
