// Experiment (-DBFI_BUILD_EXPERIMENTS=ON, sm_90a only): how fast the fused cascade's suffix grid
// (decode/cascade_suffix.cuh) streams the benchmark's suffixes from a few SMs (the fused call
// gives it 13-16). The cascade benchmark's suffixes (B=64, 32/8 heads, hd128, bf16, 256 tokens
// each on shuffled 16-token HND pages, 67 MB of K/V). Times, on 16 and on all SMs:
//   the library's kernel, and its pipeline shaped other ways (warps x stages);
//   a kernel that only loads the same 16-byte chunks, each after its page id (8 in flight per
//   thread, 1024 threads per SM);
//   the library kernel and that load-only kernel with each request's pages in order (what the
//   shuffle costs).
// Every variant's o and lse are compared with the library kernel's, and that with float64 on
// three requests (one ends mid-page, its stale slots NaN). `suffix_speed library`: the library
// kernel only (for ncu). Results: docs/PERFORMANCE.md (cascade, tenth session).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "decode/cascade_suffix.cuh"
#include "experiment.hpp"

namespace cas = baracuda::flashinfer::decode::cascade;
using namespace experiment;
using T = __nv_bfloat16;
constexpr int G = Hq / Hkv, S = 256;  // GQA group, suffix tokens
constexpr int kPoolPages = 3072;

template <int W, int St>
struct Ring {
  static constexpr int kTile = 16, kStages = St, kWarps = W;
  static constexpr size_t kStageElems = size_t(2) * kTile * D;
};

// ---- the ceiling: the same rows, only loaded ----------------------------------------------------
// Thread i of the grid loads 16-byte chunks of the suffixes' (request, head) blocks, 8 in flight.
__global__ void __launch_bounds__(1024, 1) gather_kernel(cas::SuffixArgs a, unsigned* sink) {
  const T* k_data = static_cast<const T*>(a.k_data);
  const T* v_data = static_cast<const T*>(a.v_data);
  constexpr int kChunksPerBlock = P * D / 8;  // one (page, head) block of K: 256 chunks
  const int64_t blocks = int64_t(B) * (S / P) * Hkv * 2;
  const int64_t chunks = blocks * kChunksPerBlock;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  unsigned acc = 0;
  for (int64_t i0 = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i0 < chunks; i0 += 8 * stride) {
    uint4 v[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      const int64_t i = i0 + u * stride;
      v[u] = make_uint4(0, 0, 0, 0);
      if (i < chunks) {
        const int64_t blk = i / kChunksPerBlock, c = i % kChunksPerBlock;
        const int64_t kv = blk & 1, h = (blk / 2) % Hkv, page = blk / (2 * Hkv);
        const T* base = kv ? v_data : k_data;
        v[u] =
            __ldcs(reinterpret_cast<const uint4*>(base + (a.indices[page] * Hkv + h) * P * D) + c);
      }
    }
#pragma unroll
    for (int u = 0; u < 8; ++u) acc ^= v[u].x ^ v[u].w;
  }
  if (acc == 0x12345678u) *sink = acc;
}

int main(int argc, char** argv) {
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  std::mt19937 gen(11);
  const size_t kv = size_t(kPoolPages) * Hkv * P * D;
  std::vector<T> hk = random_bf16(kv, gen), hv = random_bf16(kv, gen);
  const std::vector<T> hq = random_bf16(size_t(B) * Hq * D, gen);
  const std::vector<int32_t> perm = page_ids(kPoolPages, &gen);
  // Request b's pages: perm[b * 16 ...]; the last request ends 5 tokens into its last page.
  std::vector<int32_t> indptr(B + 1), last(B, P);
  for (int b = 0; b <= B; ++b) indptr[b] = b * (S / P);
  last[B - 1] = 5;
  // Stale slots of the short page are NaN: a variant that lets them into P V fails.
  const int stale_page = perm[indptr[B] - 1];
  for (int h = 0; h < Hkv; ++h)
    for (int slot = last[B - 1]; slot < P; ++slot)
      for (int d = 0; d < D; ++d)
        hv[((size_t(stale_page) * Hkv + h) * P + slot) * D + d] = __float2bfloat16(NAN);
  void* k = upload(hk.data(), kv * 2);
  void* v = upload(hv.data(), kv * 2);
  void* q = upload(hq.data(), hq.size() * 2);
  auto* indices = static_cast<int32_t*>(upload(perm.data(), perm.size() * 4));
  auto* d_indptr = static_cast<int32_t*>(upload(indptr.data(), indptr.size() * 4));
  auto* d_last = static_cast<int32_t*>(upload(last.data(), last.size() * 4));
  const size_t rows = size_t(B) * Hq;
  float *o, *lse;
  int32_t* done;
  unsigned* sink;
  CK(cudaMalloc(&o, rows * D * 4));
  CK(cudaMalloc(&lse, rows * 4));
  CK(cudaMalloc(&done, 4));
  CK(cudaMalloc(&sink, 4));
  const cas::SuffixArgs args{q,
                             k,
                             v,
                             indices,
                             d_indptr,
                             d_last,
                             o,
                             lse,
                             done,
                             B,
                             Hkv,
                             G,
                             P,
                             baracuda::flashinfer::decode::cascade_suffix_row_blocks(G),
                             (1.f / std::sqrt(float(D))) * 1.4426950408889634f};
  std::vector<float> ref_o(rows * D), ref_lse(rows), got_o(rows * D), got_lse(rows);
  auto fetch = [&](std::vector<float>& ho, std::vector<float>& hl) {
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(ho.data(), o, ho.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hl.data(), lse, hl.size() * 4, cudaMemcpyDeviceToHost));
  };
  auto poison = [&] {
    CK(cudaMemset(o, 0xff, rows * D * 4));
    CK(cudaMemset(lse, 0xff, rows * 4));
  };

  // The library kernel, checked against float64 on requests 0, 17, 63 (63: the short page).
  CK(cudaFuncSetAttribute(cas::suffix_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                          int(cas::SuffixConfig<D>::smem_bytes<T>())));
  poison();
  cas::suffix_kernel<T, D>
      <<<16, cas::SuffixConfig<D>::kWarps * 32, cas::SuffixConfig<D>::smem_bytes<T>()>>>(args);
  CK(cudaGetLastError());
  fetch(ref_o, ref_lse);
  double worst = 0, worst_lse = 0;
  for (int b : {0, 17, 63}) {
    const int len = (S / P - 1) * P + last[b];
    for (int qh = 0; qh < Hq; ++qh) {
      const int h = qh / G;
      std::vector<double> s(len), acc(D, 0.0);
      double mx = -1e300, den = 0;
      auto row = [&](const std::vector<T>& kvv, int tok) {
        return &kvv[((size_t(perm[indptr[b] + tok / P]) * Hkv + h) * P + tok % P) * D];
      };
      for (int tok = 0; tok < len; ++tok) {
        double dot = 0;
        for (int d = 0; d < D; ++d)
          dot += double(__bfloat162float(hq[(size_t(b) * Hq + qh) * D + d])) *
                 __bfloat162float(row(hk, tok)[d]);
        s[tok] = dot / std::sqrt(double(D));
        mx = std::max(mx, s[tok]);
      }
      for (int tok = 0; tok < len; ++tok) {
        const double w = std::exp(s[tok] - mx);
        den += w;
        for (int d = 0; d < D; ++d) acc[d] += w * __bfloat162float(row(hv, tok)[d]);
      }
      for (int d = 0; d < D; ++d)
        worst = std::max(worst, std::fabs(acc[d] / den - ref_o[(size_t(b) * Hq + qh) * D + d]));
      worst_lse = std::max(worst_lse, std::fabs((mx + std::log(den)) / std::log(2.0) -
                                                ref_lse[size_t(b) * Hq + qh]));
    }
  }
  const bool ref_ok = worst < 2e-3 && worst_lse < 1e-3;
  std::printf("library suffix kernel vs float64: max |o| err %.2e, |lse| err %.2e (%s)\n", worst,
              worst_lse, ref_ok ? "ok" : "WRONG");

  // One variant: correctness against the library kernel, then time on 16 and on all SMs.
  auto report = [&](const char* name, auto launch) {
    poison();
    launch(16);
    CK(cudaGetLastError());
    fetch(got_o, got_lse);
    double diff = 0;
    for (size_t i = 0; i < got_o.size(); ++i)
      diff = std::max(diff, double(std::fabs(got_o[i] - ref_o[i])));
    for (size_t i = 0; i < got_lse.size(); ++i)
      diff = std::max(diff, double(std::fabs(got_lse[i] - ref_lse[i])));
    const bool ok = diff < 1e-3;  // NaN fails
    std::printf("%-28s 16 CTAs %6.1f us, %3d CTAs %6.1f us   max diff vs library %.1e %s\n", name,
                time_us([&] { launch(16); }), sms, time_us([&] { launch(sms); }), diff,
                ok ? "ok" : "WRONG");
  };
  auto ring = [&](auto cfg, const char* name) {
    using C = decltype(cfg);
    const auto kern = cas::suffix_kernel<T, D, C>;
    const int smem = int(C::kWarps * C::kStages * C::kStageElems * sizeof(T));
    CK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    report(name, [&](int ctas) { kern<<<ctas, C::kWarps * 32, smem>>>(args); });
  };
  const bool only_library = argc > 1 && std::string(argv[1]) == "library";  // for ncu
  std::printf("library: %d warps x %d stages\n", cas::SuffixConfig<D>::kWarps,
              cas::SuffixConfig<D>::kStages);
  ring(cas::SuffixConfig<D>{}, "library");
  if (only_library) return 0;
  // Other shapes of the per-warp rings (warps x stages) in at most 227 KB of shared memory.
  if constexpr (D == 64) {
    ring(Ring<16, 3>{}, "16 warps x 3 stages");
    ring(Ring<24, 2>{}, "24 warps x 2 stages");
    ring(Ring<20, 2>{}, "20 warps x 2 stages");
    ring(Ring<12, 4>{}, "12 warps x 4 stages");
  } else if constexpr (D == 128) {
    ring(Ring<8, 3>{}, "8 warps x 3 stages");
    ring(Ring<6, 4>{}, "6 warps x 4 stages");
    ring(Ring<4, 7>{}, "4 warps x 7 stages");
    ring(Ring<12, 2>{}, "12 warps x 2 stages");
    ring(Ring<9, 3>{}, "9 warps x 3 stages");
    ring(Ring<10, 2>{}, "10 warps x 2 stages");
    ring(Ring<14, 2>{}, "14 warps x 2 stages");
  } else {
    ring(Ring<4, 3>{}, "4 warps x 3 stages");
    ring(Ring<6, 2>{}, "6 warps x 2 stages");
    ring(Ring<7, 2>{}, "7 warps x 2 stages");
    ring(Ring<5, 2>{}, "5 warps x 2 stages");
  }
  for (int ctas : {16, 132}) {
    std::printf("gather only (loads, 8 x 16 B per thread in flight), %3d CTAs: %.1f us\n", ctas,
                time_us([&] { gather_kernel<<<ctas, 1024>>>(args, sink); }));
  }
  // The same with every request's pages in order (the pool's first 1024 pages): what the
  // shuffle itself costs.
  const std::vector<int32_t> in_order = page_ids(kPoolPages);
  CK(cudaMemcpy(indices, in_order.data(), in_order.size() * 4, cudaMemcpyHostToDevice));
  const auto lib = cas::suffix_kernel<T, D>;
  constexpr int kLibSmem = int(cas::SuffixConfig<D>::smem_bytes<T>());
  for (int ctas : {16, 132}) {
    std::printf("pages in order, %3d CTAs: library kernel %.1f us, gather only %.1f us\n", ctas,
                time_us([&] { lib<<<ctas, cas::SuffixConfig<D>::kWarps * 32, kLibSmem>>>(args); }),
                time_us([&] { gather_kernel<<<ctas, 1024>>>(args, sink); }));
  }
  CK(cudaGetLastError());
  std::printf("suffix K/V bytes: %.1f MB\n", 2.0 * B * S * Hkv * D * 2 / 1e6);
  return ref_ok ? 0 : 1;
}
