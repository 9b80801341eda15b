// Paged-KV append: single-token (decode) append latency at batch {1, 64, 256, 1024} and
// multi-token append bandwidth (>= 256 MB moved), bf16, 8 KV heads, head dim 128, page 16.
// Bandwidth counts bytes read + written (key/value read, cache slots written), as copy_gbps does.
#include <baracuda/flashinfer.h>

#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kHeads = 8, kHeadDim = 128, kPage = 16;
constexpr size_t kRowBytes = size_t(kHeads) * kHeadDim * 2;  // one token's K (or V), bf16

void* device_copy(const std::vector<int32_t>& host) {
  void* p = nullptr;
  BENCH_CUDA(cudaMalloc(&p, host.size() * sizeof(int32_t)));
  BENCH_CUDA(cudaMemcpy(p, host.data(), host.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
  return p;
}
void* device_filled(size_t bytes) {  // nonzero, finite bf16 / f32 pattern
  void* p = nullptr;
  BENCH_CUDA(cudaMalloc(&p, bytes));
  BENCH_CUDA(cudaMemset(p, 0x3C, bytes));
  return p;
}

// `batch` requests of `pages_per_request` pages each; pages of the requests interleaved.
struct PagedCache {
  int32_t batch, pages_per_request;
  void *k, *v, *indices, *indptr, *lpl;
  PagedCache(int32_t batch_, int32_t pages_per_request_)
      : batch(batch_), pages_per_request(pages_per_request_) {
    std::vector<int32_t> indices_h, indptr_h{0}, lpl_h(batch, kPage / 2);
    for (int32_t b = 0; b < batch; ++b) {
      for (int32_t i = 0; i < pages_per_request; ++i) indices_h.push_back(i * batch + b);
      indptr_h.push_back(indptr_h.back() + pages_per_request);
    }
    const size_t bytes = size_t(batch) * pages_per_request * kPage * kRowBytes;
    k = device_filled(bytes);
    v = device_filled(bytes);
    indices = device_copy(indices_h);
    indptr = device_copy(indptr_h);
    lpl = device_copy(lpl_h);
  }
  ~PagedCache() {
    for (void* p : {k, v, indices, indptr, lpl}) BENCH_CUDA(cudaFree(p));
  }
};

}  // namespace

BENCH_SECTION(append) {
  for (const int32_t batch : {1, 64, 256, 1024}) {
    PagedCache c(batch, 2);
    void* key = device_filled(batch * kRowBytes);
    void* value = device_filled(batch * kRowBytes);
    const auto run = [&] {
      check_status(baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run(
                       batch, kPage, kHeads, kHeadDim, c.k, c.v, c.indices, c.indptr, c.lpl, key,
                       value, reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream)),
                   "paged_kv_append_decode_bf16_run");
    };
    const double us = time_us(ctx, run, 200, 20);
    const double us_graph = time_us(ctx, run, 200, 20, /*graph=*/true);
    const double bytes = 4.0 * batch * kRowBytes;  // K and V: read once, written once
    char name[96];
    std::snprintf(name, sizeof(name), "decode append bf16 8 heads hd128 p16 B=%d", batch);
    ctx.add(
        {"append",
         name,
         {{"us", us}, {"us_graph", us_graph}, {"frac", bytes / (us * 1e-6) / 1e9 / ctx.copy_gbps}},
         std::string("target us<=10: ") + (us <= 10 ? "PASS" : "FAIL")});
    BENCH_CUDA(cudaFree(key));
    BENCH_CUDA(cudaFree(value));
  }

  // Multi-token append: 64 requests x 1024 new tokens (a prefill chunk each), 512 MiB moved.
  const int32_t batch = 64, tokens_per_request = 1024, nnz = batch * tokens_per_request;
  PagedCache c(batch, tokens_per_request / kPage);
  std::vector<int32_t> bidx_h, pos_h;
  for (int32_t b = 0; b < batch; ++b) {
    for (int32_t t = 0; t < tokens_per_request; ++t) {
      bidx_h.push_back(b);
      pos_h.push_back(t);
    }
  }
  void* bidx = device_copy(bidx_h);
  void* pos = device_copy(pos_h);
  void* key = device_filled(size_t(nnz) * kRowBytes);
  void* value = device_filled(size_t(nnz) * kRowBytes);
  const auto run = [&] {
    check_status(baracuda_kernels_flashinfer_paged_kv_append_bf16_run(
                     nnz, batch, kPage, kHeads, kHeadDim, c.k, c.v, c.indices, c.indptr, bidx, pos,
                     key, value, reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream)),
                 "paged_kv_append_bf16_run");
  };
  const double us = time_us(ctx, run, 30, 3);
  const double bytes = 4.0 * nnz * kRowBytes;
  const double frac = bytes / (us * 1e-6) / 1e9 / ctx.copy_gbps;
  char name[96];
  std::snprintf(name, sizeof(name), "multi-token append bf16 8 heads hd128 p16 %d tokens %.0f MB",
                nnz, bytes / 1e6);
  ctx.add({"append",
           name,
           {{"us", us}, {"gbps", bytes / (us * 1e-6) / 1e9}, {"frac", frac}},
           std::string("target frac>=0.8: ") + (frac >= 0.8 ? "PASS" : "FAIL")});
  for (void* p : {bidx, pos, key, value}) BENCH_CUDA(cudaFree(p));
}
