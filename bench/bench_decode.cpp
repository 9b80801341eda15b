// Paged decode: time and achieved bandwidth (KV bytes read / time, as a fraction of the card's
// copy bandwidth) of the library's choice (eager and graph-replayed), of each path forced (CUDA
// cores, tensor cores; graph-replayed), and with split-KV off (the schedule of the ABI this
// library replaces; graph-replayed, so launch overhead does not flatter the comparison).
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

// Fills `bytes` of device memory with random 16-bit values in [-1, 1] (as bf16) by repeating a
// 16 MiB random block: random data, not zeros, without a device RNG.
void fill_random_bf16(void* dst, size_t bytes, std::mt19937& gen) {
  static std::vector<uint16_t> block;
  if (block.empty()) {
    block.resize(size_t(8) << 20);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (auto& x : block) {
      const float f = u(gen);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      x = static_cast<uint16_t>(bits >> 16);
    }
  }
  const size_t chunk = block.size() * 2;
  for (size_t off = 0; off < bytes; off += chunk) {
    BENCH_CUDA(cudaMemcpy(static_cast<char*>(dst) + off, block.data(), std::min(chunk, bytes - off),
                          cudaMemcpyHostToDevice));
  }
}

struct DecodeCase {
  int32_t batch, kv_len, hq, hkv;
  const char* target;  // the target for this row, if any
};

void run_case(Context& ctx, const DecodeCase& c) {
  const int32_t D = 128, P = 16, element = BARACUDA_FLASHINFER_BF16;
  char name[96];
  std::snprintf(name, sizeof(name), "bf16 %d/%d hd128 p16 B=%d L=%d", c.hq, c.hkv, c.batch,
                c.kv_len);
  // BFI_BENCH_CASE=substring runs only the matching cases (for profiling one shape).
  if (const char* only = std::getenv("BFI_BENCH_CASE")) {
    if (std::strstr(name, only) == nullptr) return;
  }
  const int32_t pages_per_req = (c.kv_len + P - 1) / P;
  const int32_t num_pages = c.batch * pages_per_req;
  const size_t kv_bytes_each = size_t(num_pages) * c.hkv * P * D * 2;
  std::mt19937 gen(1234);
  std::vector<int32_t> indptr(c.batch + 1), lpl(c.batch, c.kv_len - (pages_per_req - 1) * P),
      indices(num_pages);
  for (int32_t b = 0; b <= c.batch; ++b) indptr[b] = b * pages_per_req;
  std::iota(indices.begin(), indices.end(), 0);
  std::shuffle(indices.begin(), indices.end(), gen);  // random page order, as a real cache
  void *k, *v, *q, *o, *lse, *d_indptr, *d_indices, *d_lpl, *ws = nullptr;
  BENCH_CUDA(cudaMalloc(&k, kv_bytes_each));
  BENCH_CUDA(cudaMalloc(&v, kv_bytes_each));
  BENCH_CUDA(cudaMalloc(&q, size_t(c.batch) * c.hq * D * 2));
  BENCH_CUDA(cudaMalloc(&o, size_t(c.batch) * c.hq * D * 2));
  BENCH_CUDA(cudaMalloc(&lse, size_t(c.batch) * c.hq * 4));
  BENCH_CUDA(cudaMalloc(&d_indptr, indptr.size() * 4));
  BENCH_CUDA(cudaMalloc(&d_indices, indices.size() * 4));
  BENCH_CUDA(cudaMalloc(&d_lpl, lpl.size() * 4));
  fill_random_bf16(k, kv_bytes_each, gen);
  fill_random_bf16(v, kv_bytes_each, gen);
  fill_random_bf16(q, size_t(c.batch) * c.hq * D * 2, gen);
  BENCH_CUDA(cudaMemcpy(d_indptr, indptr.data(), indptr.size() * 4, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(d_indices, indices.data(), indices.size() * 4, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(d_lpl, lpl.data(), lpl.size() * 4, cudaMemcpyHostToDevice));
  size_t ws_bytes = 0;
  check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(c.batch, c.hq, c.hkv, D,
                                                                           P, element, &ws_bytes),
               "paged_decode_get_workspace_size");
  if (ws_bytes) BENCH_CUDA(cudaMalloc(&ws, ws_bytes));
  const float sm_scale = 0.0884f;
  auto stream = reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream);
  auto split = [&] {
    check_status(baracuda_kernels_flashinfer_paged_decode_bf16_run(
                     c.batch, P, D, c.hq, c.hkv, sm_scale, k, v, d_indices, d_indptr, d_lpl, q, o,
                     lse, ws, ws_bytes, stream),
                 "paged_decode_bf16_run");
  };
  auto run_with = [&](int32_t flags) {
    return [&, flags] {
      check_status(baracuda_kernels_flashinfer_paged_decode_run_with(
                       element, flags, c.batch, P, D, c.hq, c.hkv, sm_scale, k, v, d_indices,
                       d_indptr, d_lpl, q, o, lse, ws, ws_bytes, stream),
                   "paged_decode_run_with");
    };
  };
  const double bytes = 2.0 * c.batch * c.kv_len * c.hkv * D * 2;  // K and V actually read
  auto frac = [&](double us) { return bytes / (us * 1e-6) / 1e9 / ctx.copy_gbps; };
  const double us = time_us(ctx, split, 40, 5);
  const double us_graph = time_us(ctx, split, 40, 5, /*graph=*/true);
  const double us_cuda = time_us(ctx, run_with(BARACUDA_FLASHINFER_DECODE_CUDA_CORES), 40, 5, true);
  const double us_tc = time_us(ctx, run_with(BARACUDA_FLASHINFER_DECODE_TENSOR_CORES), 40, 5, true);
  const double us_nosplit = time_us(
      ctx, run_with(BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT),
      20, 3, true);
  ctx.add({"decode",
           name,
           {{"us", us},
            {"frac", frac(us)},
            {"us_graph", us_graph},
            {"frac_graph", frac(us_graph)},
            {"frac_cuda_cores", frac(us_cuda)},
            {"frac_tensor_cores", frac(us_tc)},
            {"us_nosplit", us_nosplit},
            {"frac_nosplit", frac(us_nosplit)},
            {"speedup_vs_nosplit", us_nosplit / us_graph},
            {"workspace_mb", ws_bytes / 1e6}},
           c.target});
  for (void* p : {k, v, q, o, lse, d_indptr, d_indices, d_lpl, ws}) {
    if (p) BENCH_CUDA(cudaFree(p));
  }
}

}  // namespace

BENCH_SECTION(decode) {
  const DecodeCase cases[] = {
      {1, 32768, 32, 8, "target frac>=0.75, >=5x vs nosplit"},
      {16, 4096, 32, 8, ""},
      {64, 2048, 32, 8, "target frac>=0.85"},
      {256, 1024, 32, 8, "target frac>=0.85"},
      {128, 8192, 32, 8, "target frac>=0.85"},
      {1, 4096, 32, 8, ""},
      {8, 8192, 32, 8, ""},
      // GQA ratios outside FlashInfer's compiled set run on virtual KV heads.
      {64, 2048, 32, 32, "group 1"},
      {64, 2048, 32, 16, "group 2"},
      {1, 32768, 32, 32, "group 1"},
      {64, 2048, 28, 4, "group 7"},
      {64, 2048, 32, 2, "group 16"},
      {64, 2048, 32, 1, "group 32 (MQA)"},
      {1, 32768, 40, 8, "group 5"},
  };
  for (const DecodeCase& c : cases) run_case(ctx, c);
}

// Cascade (shared-prefix) decode: 64 requests share a 32768-token prefix and own 256-token
// suffixes. Plain: one decode over each request's prefix + suffix pages (the prefix is read once
// per request). Cascade: shared-prefix attention (the prefix read once per 64 packed rows), a
// decode over the suffixes, and merge_state_in_place; the fused cascade_decode_run (sm_90); and
// the fused call over a dense copy of the prefix, cascade_decode_dense_prefix_run ([L][Hkv][D]).
// `details`: also each step alone and the paths not taken (the head dim, 128).
static void run_cascade_case(Context& ctx, const int32_t D, const bool details) {
  const int32_t B = 64, Hq = 32, Hkv = 8, P = 16, prefix_len = 32768, suffix_len = 256;
  const int32_t element = BARACUDA_FLASHINFER_BF16;
  const int32_t prefix_pages = prefix_len / P, suffix_pages = suffix_len / P;
  const int32_t num_pages = prefix_pages + B * suffix_pages;
  const size_t kv_bytes_each = size_t(num_pages) * Hkv * P * D * 2;
  std::mt19937 gen(99);
  std::vector<int32_t> perm(num_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), gen);
  // Plain: request b = prefix pages + its suffix pages. Suffix-only and prefix-only tables.
  std::vector<int32_t> full_indices, full_indptr{0}, suffix_indices, suffix_indptr{0};
  for (int32_t b = 0; b < B; ++b) {
    full_indices.insert(full_indices.end(), perm.begin(), perm.begin() + prefix_pages);
    const auto own = perm.begin() + prefix_pages + b * suffix_pages;
    full_indices.insert(full_indices.end(), own, own + suffix_pages);
    suffix_indices.insert(suffix_indices.end(), own, own + suffix_pages);
    full_indptr.push_back(int32_t(full_indices.size()));
    suffix_indptr.push_back(int32_t(suffix_indices.size()));
  }
  const std::vector<int32_t> lpl(B, P), prefix_indptr{0, prefix_pages};
  // The fused cascade takes one indices array: the prefix's pages, then every suffix's.
  std::vector<int32_t> fused_indices(perm.begin(), perm.begin() + prefix_pages),
      fused_suffix_indptr;
  fused_indices.insert(fused_indices.end(), suffix_indices.begin(), suffix_indices.end());
  for (int32_t x : suffix_indptr) fused_suffix_indptr.push_back(prefix_pages + x);
  auto upload = [](const std::vector<int32_t>& h) {
    void* d = nullptr;
    BENCH_CUDA(cudaMalloc(&d, h.size() * 4));
    BENCH_CUDA(cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
    return d;
  };
  void *k, *v, *q, *o, *lse, *o2, *lse2;
  BENCH_CUDA(cudaMalloc(&k, kv_bytes_each));
  BENCH_CUDA(cudaMalloc(&v, kv_bytes_each));
  BENCH_CUDA(cudaMalloc(&q, size_t(B) * Hq * D * 2));
  BENCH_CUDA(cudaMalloc(&o, size_t(B) * Hq * D * 2));
  BENCH_CUDA(cudaMalloc(&o2, size_t(B) * Hq * D * 2));
  BENCH_CUDA(cudaMalloc(&lse, size_t(B) * Hq * 4));
  BENCH_CUDA(cudaMalloc(&lse2, size_t(B) * Hq * 4));
  fill_random_bf16(k, kv_bytes_each, gen);
  fill_random_bf16(v, kv_bytes_each, gen);
  fill_random_bf16(q, size_t(B) * Hq * D * 2, gen);
  void* d_full_indices = upload(full_indices);
  void* d_full_indptr = upload(full_indptr);
  void* d_suffix_indices = upload(suffix_indices);
  void* d_suffix_indptr = upload(suffix_indptr);
  void* d_lpl = upload(lpl);
  void* d_prefix_indptr = upload(prefix_indptr);
  void* d_fused_indices = upload(fused_indices);
  void* d_fused_suffix_indptr = upload(fused_suffix_indptr);
  size_t ws_decode = 0, ws_prefix = 0;
  check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(B, Hq, Hkv, D, P,
                                                                           element, &ws_decode),
               "paged_decode_get_workspace_size");
  check_status(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
                   B, Hq, Hkv, D, P, element, &ws_prefix),
               "shared_prefix_decode_get_workspace_size");
  size_t ws_fused = 0;  // the fused cascade runs on sm_90 only (can_implement says where)
  const bool fused_runs =
      baracuda_kernels_flashinfer_cascade_decode_can_implement(B, Hq, Hkv, D, P, element) == 0 &&
      baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(B, Hq, Hkv, D, P, element,
                                                                    &ws_fused) == 0;
  size_t ws_dense = 0;
  const bool dense_runs =
      baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement(B, Hq, Hkv, D, P,
                                                                            element) == 0 &&
      baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
          B, Hq, Hkv, D, P, element, &ws_dense) == 0;
  // The dense prefix: token t of head h at (t * Hkv + h) * D, copied from the prefix's pages.
  void *k_prefix = nullptr, *v_prefix = nullptr, *ws4 = nullptr;
  if (dense_runs) {
    const size_t prefix_bytes = size_t(prefix_len) * Hkv * D * 2, row = size_t(D) * 2;
    BENCH_CUDA(cudaMalloc(&k_prefix, prefix_bytes));
    BENCH_CUDA(cudaMalloc(&v_prefix, prefix_bytes));
    if (ws_dense) BENCH_CUDA(cudaMalloc(&ws4, ws_dense));
    for (int32_t i = 0; i < prefix_pages; ++i) {
      for (int32_t h = 0; h < Hkv; ++h) {
        const size_t src = (size_t(perm[i]) * Hkv + h) * P * row,
                     dst = (size_t(i) * P * Hkv + h) * row;
        BENCH_CUDA(cudaMemcpy2D(static_cast<char*>(k_prefix) + dst, Hkv * row,
                                static_cast<char*>(k) + src, row, row, P,
                                cudaMemcpyDeviceToDevice));
        BENCH_CUDA(cudaMemcpy2D(static_cast<char*>(v_prefix) + dst, Hkv * row,
                                static_cast<char*>(v) + src, row, row, P,
                                cudaMemcpyDeviceToDevice));
      }
    }
  }
  void *ws = nullptr, *ws2 = nullptr, *ws3 = nullptr;
  if (ws_decode) BENCH_CUDA(cudaMalloc(&ws, ws_decode));
  if (ws_prefix) BENCH_CUDA(cudaMalloc(&ws2, ws_prefix));
  if (ws_fused) BENCH_CUDA(cudaMalloc(&ws3, ws_fused));
  const float sm_scale = 0.0884f;
  auto stream = reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream);
  auto plain = [&] {
    check_status(baracuda_kernels_flashinfer_paged_decode_bf16_run(
                     B, P, D, Hq, Hkv, sm_scale, k, v, d_full_indices, d_full_indptr, d_lpl, q, o,
                     lse, ws, ws_decode, stream),
                 "paged_decode_bf16_run");
  };
  auto prefix = [&] {
    check_status(baracuda_kernels_flashinfer_shared_prefix_decode_run(
                     element, B, P, D, Hq, Hkv, sm_scale, k, v, d_full_indices, d_prefix_indptr,
                     d_lpl, q, o, lse, ws2, ws_prefix, stream),
                 "shared_prefix_decode_run");
  };
  auto suffix = [&] {
    check_status(baracuda_kernels_flashinfer_paged_decode_bf16_run(
                     B, P, D, Hq, Hkv, sm_scale, k, v, d_suffix_indices, d_suffix_indptr, d_lpl, q,
                     o2, lse2, ws, ws_decode, stream),
                 "paged_decode_bf16_run");
  };
  // paged_decode_run_with over one page table (the full lists or the suffixes) into (out, out_lse).
  auto decode_with = [&](int32_t flags, void* indices, void* indptr, void* out, void* out_lse) {
    return [&, flags, indices, indptr, out, out_lse] {
      check_status(baracuda_kernels_flashinfer_paged_decode_run_with(
                       element, flags, B, P, D, Hq, Hkv, sm_scale, k, v, indices, indptr, d_lpl, q,
                       out, out_lse, ws, ws_decode, stream),
                   "paged_decode_run_with");
    };
  };
  auto suffix_with = [&](int32_t flags) {
    return decode_with(flags, d_suffix_indices, d_suffix_indptr, o2, lse2);
  };
  auto plain_with = [&](int32_t flags) {
    return decode_with(flags, d_full_indices, d_full_indptr, o, lse);
  };
  auto merge = [&] {
    check_status(baracuda_kernels_flashinfer_merge_state_in_place_bf16_run(B, Hq, D, o, lse, o2,
                                                                           lse2, stream),
                 "merge_state_in_place_bf16_run");
  };
  // The recipe of docs/append-merge.md: the suffixes are short, so the suffix decode asks for the
  // CUDA-core kernel (the auto rule, which cannot see lengths, picks tensor cores for group 4).
  auto cascade = [&] {
    prefix();
    suffix_with(BARACUDA_FLASHINFER_DECODE_CUDA_CORES)();
    merge();
  };
  auto fused = [&] {
    check_status(baracuda_kernels_flashinfer_cascade_decode_run(
                     element, B, P, D, Hq, Hkv, sm_scale, k, v, d_fused_indices, d_prefix_indptr,
                     d_lpl, d_fused_suffix_indptr, d_lpl, q, o, lse, ws3, ws_fused, stream),
                 "cascade_decode_run");
  };
  auto fused_dense = [&] {
    check_status(
        baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
            element, B, P, D, Hq, Hkv, sm_scale, k_prefix, v_prefix, prefix_len, int64_t(Hkv) * D,
            D, k, v, d_suffix_indices, d_suffix_indptr, d_lpl, q, o, lse, ws4, ws_dense, stream),
        "cascade_decode_dense_prefix_run");
  };
  auto cascade_auto_suffix = [&] {
    prefix();
    suffix();
    merge();
  };
  const double us_plain = time_us(ctx, plain, 10, 2, /*graph=*/true);
  const double us_cascade = time_us(ctx, cascade, 40, 5, /*graph=*/true);
  const double us_fused = fused_runs ? time_us(ctx, fused, 40, 5, /*graph=*/true) : 0.0;
  const double us_dense = dense_runs ? time_us(ctx, fused_dense, 40, 5, /*graph=*/true) : 0.0;
  // The faster of the ways the library offers over a paged prefix (the fused call where it runs),
  // and the fused call over a dense prefix.
  const double speedup = us_plain / (fused_runs ? std::min(us_cascade, us_fused) : us_cascade);
  const double speedup_dense = dense_runs ? us_plain / us_dense : 0.0;
  Row row{"cascade",
          "bf16 32/8 hd" + std::to_string(D) + " p16 B=64 prefix 32768 + suffix 256",
          {{"us_plain", us_plain},
           {"us_cascade", us_cascade},
           {"speedup", speedup},
           {"us_cascade_fused", us_fused},
           {"us_cascade_dense_prefix", us_dense},
           {"speedup_dense_prefix", speedup_dense},
           {"cascade_frac_of_one_prefix_read",
            (2.0 * (prefix_len + double(B) * suffix_len) * Hkv * D * 2) / (us_cascade * 1e-6) /
                1e9 / ctx.copy_gbps}},
          ""};
  if (details) {
    const double us_prefix = time_us(ctx, prefix, 40, 5, /*graph=*/true);
    // The FA2 shared-prefix kernel (what runs below sm_90), for comparison on the same card.
    setenv("BFI_SHARED_PREFIX_PATH", "fa2", 1);
    const double us_prefix_fa2 = time_us(ctx, prefix, 20, 3, /*graph=*/true);
    unsetenv("BFI_SHARED_PREFIX_PATH");
    const double prefix_flop = 4.0 * double(B) * Hq * prefix_len * D;
    row.values.insert(
        {{"us_plain_cuda_cores",
          time_us(ctx, plain_with(BARACUDA_FLASHINFER_DECODE_CUDA_CORES), 10, 2, true)},
         {"us_plain_tensor_cores",
          time_us(ctx, plain_with(BARACUDA_FLASHINFER_DECODE_TENSOR_CORES), 10, 2, true)},
         {"us_cascade_auto_suffix", time_us(ctx, cascade_auto_suffix, 40, 5, /*graph=*/true)},
         {"us_prefix", us_prefix},
         {"us_suffix", time_us(ctx, suffix, 40, 5, /*graph=*/true)},
         {"us_merge", time_us(ctx, merge, 40, 5, /*graph=*/true)},
         {"prefix_tflops", prefix_flop / (us_prefix * 1e-6) / 1e12},
         {"us_prefix_fa2", us_prefix_fa2},
         {"us_suffix_cuda_cores",
          time_us(ctx, suffix_with(BARACUDA_FLASHINFER_DECODE_CUDA_CORES), 40, 5, true)},
         {"us_suffix_tensor_cores",
          time_us(ctx, suffix_with(BARACUDA_FLASHINFER_DECODE_TENSOR_CORES), 40, 5, true)}});
    row.note = std::string("target >= 10x: paged prefix ") + (speedup >= 10 ? "PASS" : "FAIL") +
               ", dense prefix " + (speedup_dense >= 10 ? "PASS" : "FAIL");
  }
  ctx.add(row);
  for (void* p : {k,
                  v,
                  q,
                  o,
                  lse,
                  o2,
                  lse2,
                  d_full_indices,
                  d_full_indptr,
                  d_suffix_indices,
                  d_suffix_indptr,
                  d_lpl,
                  d_prefix_indptr,
                  d_fused_indices,
                  d_fused_suffix_indptr,
                  ws,
                  ws2,
                  ws3,
                  k_prefix,
                  v_prefix,
                  ws4}) {
    if (p) BENCH_CUDA(cudaFree(p));
  }
}

BENCH_SECTION(cascade) {
  run_cascade_case(ctx, 128, /*details=*/true);  // the case
  for (const int32_t D : {64, 256}) run_cascade_case(ctx, D, /*details=*/false);
}

// Shared-prefix attention alone per head dim: the default path (the sm_90a FA3 kernel where it is
// built and the card is sm_90) against the FA2 kernel, on the cascade case's shape.
BENCH_SECTION(shared_prefix) {
  const int32_t B = 64, Hq = 32, Hkv = 8, P = 16, prefix_len = 16384;
  const int32_t element = BARACUDA_FLASHINFER_BF16;
  const int32_t pages = prefix_len / P;
  std::mt19937 gen(7);
  std::vector<int32_t> indices(pages);
  std::iota(indices.begin(), indices.end(), 0);
  std::shuffle(indices.begin(), indices.end(), gen);
  const std::vector<int32_t> indptr{0, pages}, lpl{P};
  for (const int32_t D : {64, 128, 256}) {
    const size_t kv_bytes = size_t(pages) * Hkv * P * D * 2;
    void *k, *v, *q, *o, *lse, *d_indices, *d_indptr, *d_lpl, *ws = nullptr;
    BENCH_CUDA(cudaMalloc(&k, kv_bytes));
    BENCH_CUDA(cudaMalloc(&v, kv_bytes));
    BENCH_CUDA(cudaMalloc(&q, size_t(B) * Hq * D * 2));
    BENCH_CUDA(cudaMalloc(&o, size_t(B) * Hq * D * 2));
    BENCH_CUDA(cudaMalloc(&lse, size_t(B) * Hq * 4));
    BENCH_CUDA(cudaMalloc(&d_indices, indices.size() * 4));
    BENCH_CUDA(cudaMalloc(&d_indptr, 8));
    BENCH_CUDA(cudaMalloc(&d_lpl, 4));
    BENCH_CUDA(cudaMemcpy(d_indices, indices.data(), indices.size() * 4, cudaMemcpyHostToDevice));
    BENCH_CUDA(cudaMemcpy(d_indptr, indptr.data(), 8, cudaMemcpyHostToDevice));
    BENCH_CUDA(cudaMemcpy(d_lpl, lpl.data(), 4, cudaMemcpyHostToDevice));
    fill_random_bf16(k, kv_bytes, gen);
    fill_random_bf16(v, kv_bytes, gen);
    fill_random_bf16(q, size_t(B) * Hq * D * 2, gen);
    size_t ws_bytes = 0;
    check_status(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
                     B, Hq, Hkv, D, P, element, &ws_bytes),
                 "shared_prefix_decode_get_workspace_size");
    if (ws_bytes) BENCH_CUDA(cudaMalloc(&ws, ws_bytes));
    auto stream = reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream);
    auto prefix = [&] {
      check_status(baracuda_kernels_flashinfer_shared_prefix_decode_run(
                       element, B, P, D, Hq, Hkv, 1.f / std::sqrt(float(D)), k, v, d_indices,
                       d_indptr, d_lpl, q, o, lse, ws, ws_bytes, stream),
                   "shared_prefix_decode_run");
    };
    const double us = time_us(ctx, prefix, 30, 3, /*graph=*/true);
    setenv("BFI_SHARED_PREFIX_PATH", "fa2", 1);
    const double us_fa2 = time_us(ctx, prefix, 30, 3, /*graph=*/true);
    unsetenv("BFI_SHARED_PREFIX_PATH");
    const double flop = 4.0 * B * Hq * double(prefix_len) * D;
    ctx.add({"shared_prefix",
             "bf16 B=64 32/8 p16 prefix 16384 hd" + std::to_string(D),
             {{"us", us},
              {"us_fa2", us_fa2},
              {"tflops", flop / (us * 1e-6) / 1e12},
              {"tflops_fa2", flop / (us_fa2 * 1e-6) / 1e12},
              {"speedup_vs_fa2", us_fa2 / us}},
             ""});
    for (void* p : {k, v, q, o, lse, d_indices, d_indptr, d_lpl, ws}) {
      if (p) BENCH_CUDA(cudaFree(p));
    }
  }
}
