// Experiment (not built by default: -DBFI_BUILD_EXPERIMENTS=ON, sm_90a only): how fast FlashInfer's
// FA3 kernel runs the cascade benchmark's shared-prefix work (B=64, 32/8 heads, hd128, bf16, prefix
// 32768) with the library's schedule (8 chunks x 8 KV heads x 2 query tiles), comparing its two
// KV loaders on the same items:
//   paged  - the sparse mainloop (cp.async gather of 16-token pages, CTA_KV 96), what
//            shared_prefix_decode_run uses;
//   dense  - the TMA mainloop over a contiguous copy of the prefix (CTA_KV 128 and 192).
// The gap bounds what a TMA-per-page loader could gain. Prints µs and TFLOP/s per kernel.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include <flashinfer/attention/hopper/default_params.cuh>
#include <flashinfer/attention/hopper/prefill_sm90.cuh>
#include <flashinfer/attention/hopper/variants.cuh>
#include <flashinfer/cutlass_utils.cuh>

namespace fi = ::flashinfer;
using T = fi::cutlass_dtype_t<__nv_bfloat16>;

#define CK(x)                                                                      \
  do {                                                                             \
    cudaError_t e_ = (x);                                                          \
    if (e_ != cudaSuccess) {                                                       \
      std::printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));       \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

constexpr int B = 64, Hq = 32, Hkv = 8, D = 128, P = 16, L = 32768, G = Hq / Hkv;
constexpr int C = 8, Rows = B * G, TileQ = 128, Tiles = Rows / TileQ, M = Rows / C;
constexpr int Items = C * Hkv * Tiles;

struct Table {
  int32_t *qo_tile, *qo_indptr, *kv_indptr, *qo_lens, *kv_lens, *heads, *batch, *work;
};

Table upload_table(bool pages, int ctas) {
  std::vector<int32_t> h(7 * Items + ctas + 1);
  for (int i = 0; i < Items; ++i) {
    const int t = i % Tiles, hh = (i / Tiles) % Hkv, c = i / (Tiles * Hkv);
    h[i] = t;
    h[Items + i] = (C - 1 - c) * M;
    h[2 * Items + i] = pages ? c * (L / C / P) : c * (L / C);
    h[3 * Items + i] = Rows;
    h[4 * Items + i] = L / C;
    h[5 * Items + i] = hh * C + c;
    h[6 * Items + i] = c;
  }
  for (int j = 0; j <= ctas; ++j) h[7 * Items + j] = int(int64_t(j) * Items / ctas);
  int32_t* d;
  CK(cudaMalloc(&d, h.size() * 4));
  CK(cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
  return {d, d + Items, d + 2 * Items, d + 3 * Items, d + 4 * Items, d + 5 * Items, d + 6 * Items, d + 7 * Items};
}

template <typename Params>
void common(Params& p, const Table& t, T* q, T* o, float* lse) {
  const int64_t shift = int64_t(C - 1) * M * D;
  p.q_ptr = q - shift;
  p.o_ptr = o - shift;
  p.lse_ptr = lse;
  p.qo_tile_indices = t.qo_tile;
  p.qo_indptr = t.qo_indptr;
  p.kv_indptr = t.kv_indptr;
  p.qo_lens = t.qo_lens;
  p.kv_lens = t.kv_lens;
  p.head_indices = t.heads;
  p.work_indptr = t.work;
  p.batch_indices = t.batch;
  p.additional_params.sm_scale = 0.0884f;
  p.q_stride_n = p.o_stride_n = D;
  p.q_stride_h = int64_t(M) * D;
  p.o_stride_h = int64_t(M + Rows) * D;
  p.nnz_qo = int64_t(C - 1) * M + Rows;
  p.num_qo_heads = Hkv * C;
  p.num_kv_heads = Hkv;
  p.group_size = C;
  p.window_left = -1;
  p.causal = false;
}

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
  return ms * 1000.0 / 50;
}

template <int CTA_KV>
double run_dense(const Table& t, T* q, T* o, float* lse, T* k, T* v) {
  using Params = fi::BatchPrefillRaggedParams<T, T, T, int32_t>;
  using Traits = fi::AttentionKernelTraits<true, D, D, TileQ, CTA_KV, 2, T, T, T, int32_t, fi::StandardAttention>;
  Params p{};
  common(p, t, q, o, lse);
  p.k_ptr = k;
  p.v_ptr = v;
  p.k_stride_n = p.v_stride_n = D;  // [Hkv][L][D]
  p.k_stride_h = p.v_stride_h = int64_t(L) * D;
  p.nnz_kv = L;
  return time_us([&] {
    CK((fi::BatchPrefillWithRaggedKVCacheKernelTraitsDispatched<Traits, false, false, false, Params>(p, 0)));
  });
}

double run_paged(const Table& t, T* q, T* o, float* lse, T* k, T* v, int32_t* indices) {
  using Params = fi::BatchPrefillPagedParams<T, T, T, int32_t>;
  using Traits = fi::AttentionKernelTraits<false, D, D, TileQ, 96, 2, T, T, T, int32_t, fi::StandardAttention>;
  Params p{};
  common(p, t, q, o, lse);
  p.k_ptr = k;
  p.v_ptr = v;
  p.kv_indices = indices;
  p.k_stride_n = p.v_stride_n = D;  // HND pages [Hkv][P][D]
  p.k_stride_h = p.v_stride_h = int64_t(P) * D;
  p.k_page_stride = p.v_page_stride = int64_t(Hkv) * P * D;
  p.page_size = P;
  return time_us([&] {
    CK((fi::BatchPrefillWithPagedKVCacheKernelTraitsDispatched<Traits, false, false, false, Params>(p, 0)));
  });
}

int main() {
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const size_t kv = size_t(L) * Hkv * D, qn = size_t(Hkv) * C * M * D + size_t(Rows) * D;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto random_buffer = [&](size_t n) {
    std::vector<__nv_bfloat16> h(n);
    for (auto& x : h) x = __float2bfloat16(u(gen));
    T* d;
    CK(cudaMalloc(&d, n * sizeof(T)));
    CK(cudaMemcpy(d, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    return d;
  };
  T *k = random_buffer(kv), *v = random_buffer(kv), *q = random_buffer(qn) + size_t(C - 1) * M * D;
  T* o;
  float* lse;
  CK(cudaMalloc(&o, (size_t(Hkv) * C * (M + Rows) + size_t(C) * M) * D * sizeof(T)));
  CK(cudaMalloc(&lse, size_t(C * M + Rows) * Hkv * C * sizeof(float)));
  o += size_t(C - 1) * M * D;
  std::vector<int32_t> perm(L / P);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), gen);
  int32_t* indices;
  CK(cudaMalloc(&indices, perm.size() * 4));
  CK(cudaMemcpy(indices, perm.data(), perm.size() * 4, cudaMemcpyHostToDevice));
  const Table paged = upload_table(true, sms), dense = upload_table(false, sms);
  const double flop = 4.0 * B * Hq * double(L) * D;
  const double us_paged = run_paged(paged, q, o, lse, k, v, indices);
  const double us_dense128 = run_dense<128>(dense, q, o, lse, k, v);
  const double us_dense192 = run_dense<192>(dense, q, o, lse, k, v);
  std::printf("fa3 paged (cp.async gather, CTA_KV 96): %.1f us  %.0f TFLOP/s\n", us_paged, flop / us_paged / 1e6);
  std::printf("fa3 dense (TMA, CTA_KV 128):            %.1f us  %.0f TFLOP/s\n", us_dense128, flop / us_dense128 / 1e6);
  std::printf("fa3 dense (TMA, CTA_KV 192):            %.1f us  %.0f TFLOP/s\n", us_dense192, flop / us_dense192 / 1e6);
  return 0;
}
