// GPU tests of the attention options (sliding window, logits soft-cap, k/v scales, sinks, NHD
// pages) against the float64 reference of tests/attention_check.hpp on fresh random data, every
// output, workspace and stale cache slot NaN-poisoned:
//  - paged decode (paged_decode_run_ex) on every forced path (auto, CUDA cores with and without
//    split, tensor cores with and without split, no split), every element type, head dims 64 /
//    128 / 256 and several GQA ratios, batch 1 (the single-request split) and batch 7;
//  - batch prefill, paged and ragged, causal and not, on the default kernels (FA3 on sm_90) and
//    on FA2 (options.flags), split and not;
//  - each option alone and combined (window + sinks as gpt-oss, window + soft-cap as Gemma 2),
//    windows of 0, shorter than a page, spanning split chunks, equal to a sequence and longer
//    than all; NHD pages give the HND result bit for bit (the kernels are deterministic);
//  - rows that keep no key with sinks, graph replay with changed lengths, window and sinks, the
//    workspace the finalize pass needs, and the model shapes (Mistral-7B, Gemma-2-9B,
//    gpt-oss-20b, Llama-3-8B with an fp8 cache) scaled down in batch and length only.
// Nothing is timed: that the window limits the work is the benchmark's business.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "build_config.hpp"
#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

using COptions = baracuda_flashinfer_attention_options;
constexpr int32_t kNoSplit = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
constexpr int32_t kFa2 = BARACUDA_FLASHINFER_ATTENTION_FA2;

// --- the options of a run ----------------------------------------------------------------------

struct Variant {
  const char* name;
  int32_t window_left = -1;
  float soft_cap = 0.f, k_scale = 1.f, v_scale = 1.f;
  bool sinks = false;
};

bool is_plain(const Variant& v) {
  return v.window_left < 0 && v.soft_cap == 0.f && !v.sinks && v.k_scale == 1.f && v.v_scale == 1.f;
}

// Sinks are drawn in [kSinkLow, kSinkHigh]: from a few percent of a long row's denominator to
// most of a short one's (the scores are about N(0, 1)).
constexpr float kSinkLow = 0.5f, kSinkHigh = 5.5f;

// A variant with its sinks drawn (on the device, [Hq] floats) and its C options.
struct RunOptions {
  Variant v;
  std::vector<float> sinks;
  DeviceBuffer d_sinks;

  RunOptions(const Variant& variant, int32_t hq) : v(variant) {
    if (!v.sinks) return;
    sinks.resize(size_t(hq));
    redraw_sinks();
    d_sinks = to_device(sinks);
  }
  // New sink values, in place (a captured graph keeps the address).
  void redraw_sinks() {
    for (float& s : sinks) s = uniform(kSinkLow, kSinkHigh);
    if (d_sinks.ptr != nullptr) copy_to(d_sinks, sinks);
  }
  COptions c(int32_t flags = 0, bool nhd = false) const {
    COptions o;
    baracuda_kernels_flashinfer_attention_options_init(&o);
    o.window_left = v.window_left;
    o.logits_soft_cap = v.soft_cap;
    o.k_scale = v.k_scale;
    o.v_scale = v.v_scale;
    o.sinks = v.sinks ? d_sinks.as<const float>() : nullptr;
    o.kv_layout = nhd ? BARACUDA_FLASHINFER_KV_LAYOUT_NHD : BARACUDA_FLASHINFER_KV_LAYOUT_HND;
    o.flags = flags;
    return o;
  }
  AttentionOptions reference() const {
    AttentionOptions a;
    a.window_left = v.window_left;
    a.soft_cap = v.soft_cap;
    a.k_scale = v.k_scale;
    a.v_scale = v.v_scale;
    a.sinks.assign(sinks.begin(), sinks.end());
    return a;
  }
  // v_scale and sinks need a pass over the finished rows (their lse: the workspace's without one).
  bool finalize() const { return v.sinks || v.v_scale != 1.f; }
};

// The same K or V cache in NHD order ([pages, page_size, Hkv, D]) from its HND buffer.
DeviceBuffer nhd_copy(const DeviceBuffer& hnd, int32_t pages, int32_t hkv, int32_t page,
                      size_t row_bytes) {
  const size_t bytes = size_t(pages) * hkv * page * row_bytes;
  const std::vector<uint8_t> src = to_host<uint8_t>(hnd, bytes);
  std::vector<uint8_t> dst(bytes);
  for (int32_t pg = 0; pg < pages; ++pg) {
    for (int32_t h = 0; h < hkv; ++h) {
      for (int32_t slot = 0; slot < page; ++slot) {
        std::memcpy(&dst[((size_t(pg) * page + slot) * hkv + h) * row_bytes],
                    &src[((size_t(pg) * hkv + h) * page + slot) * row_bytes], row_bytes);
      }
    }
  }
  return to_device(dst);
}

std::vector<uint8_t> bytes_of(const DeviceBuffer& d, size_t n) {
  return to_host<uint8_t>(d, n);
}
bool all_poisoned(const DeviceBuffer& d, size_t n) {
  const std::vector<uint8_t> b = bytes_of(d, n);
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0xFF; });
}

// Runs body(i) for i in [0, n) on every core: the float64 references of prefill rows would
// otherwise take most of this file's runtime.
template <class Body>
void parallel_for(int64_t n, Body body) {
  const int64_t threads =
      std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), (n + 63) / 64));
  std::atomic<int64_t> next{0};
  const auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) body(i);
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

// --- decode ------------------------------------------------------------------------------------

struct DecodePath {
  const char* name;
  int32_t flags;
};
const DecodePath kDecodePaths[] = {
    {"auto", 0},
    {"cuda-cores", BARACUDA_FLASHINFER_DECODE_CUDA_CORES},
    {"cuda-cores no-split",
     BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
    {"tensor-cores", BARACUDA_FLASHINFER_DECODE_TENSOR_CORES},
    {"tensor-cores no-split",
     BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
    {"warp-tiles", BARACUDA_FLASHINFER_DECODE_WARP_TILES},
    {"warp-tiles no-split",
     BARACUDA_FLASHINFER_DECODE_WARP_TILES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
    {"no-split", BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
};

// A decode cache with its NHD copy (stale slots NaN in both).
struct DecodeCache {
  PagedProblem p;
  DeviceBuffer k_nhd, v_nhd;
  void make_nhd() {
    const size_t row = size_t(p.s.head_dim) * kv_bytes(p.s.element);
    k_nhd = nhd_copy(p.d_k, p.num_pages, p.s.hkv, p.s.page, row);
    v_nhd = nhd_copy(p.d_v, p.num_pages, p.s.hkv, p.s.page, row);
  }
};

// One paged_decode_run_ex over table `t` with the workspace _ex_get_workspace_size reports for
// these flags and options (reallocated if smaller, NaN-poisoned with the outputs).
int32_t run_decode_ex(const PagedProblem& p, const PageTable& t, const void* k, const void* v,
                      float sm_scale, int32_t flags, const COptions* options, Outputs* out,
                      DeviceBuffer* ws, cudaStream_t stream, bool poison_all = true,
                      bool with_lse = true) {
  const Shape& s = p.s;
  out->allocate(s);
  if (poison_all) out->poison_all();
  size_t bytes = 0;
  const int32_t st = baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
      s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, options, &bytes);
  if (st != 0) return st;
  if (ws->ptr == nullptr || ws->bytes < bytes) *ws = DeviceBuffer(bytes);
  if (bytes != 0 && poison_all) poison(*ws);
  return baracuda_kernels_flashinfer_paged_decode_run_ex(
      s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, options,
      const_cast<void*>(k), const_cast<void*>(v), t.d_indices.ptr, t.d_indptr.ptr, t.d_lpl.ptr,
      p.d_q.ptr, out->o.ptr, with_lse ? out->lse.ptr : nullptr, bytes ? ws->ptr : nullptr, bytes,
      abi_stream(stream));
}

DecodeCache make_decode_cache(const Shape& s, const std::vector<int32_t>& lens,
                              float q_range = 3.f) {
  DecodeCache c{make_problem_with_lengths(s, lens), {}, {}};
  if (q_range != 3.f) {
    fill_values(s.element, false, size_t(s.batch) * s.hq * s.head_dim, &c.p.q, &c.p.d_q, -q_range,
                q_range);
  }
  poison_stale_slots(c.p);
  c.make_nhd();
  return c;
}

// Every variant on every decode path: each run matches the reference; the NHD cache gives the
// HND result bit for bit; options->flags NO_SPLIT is the decode flag NO_SPLIT; with a finalize
// pass a NULL lse is not written and o is right. The plain variant: NULL options, the defaults
// and paged_decode_run_with agree bit for bit.
void check_decode_variants(DecodeCache& c, const std::vector<Variant>& variants,
                           float sm_scale = 0.f) {
  const PagedProblem& p = c.p;
  const Shape& s = p.s;
  SCOPED_TRACE(describe(s));
  if (sm_scale == 0.f) sm_scale = 1.f / std::sqrt(float(s.head_dim));
  const size_t o_bytes = size_t(s.batch) * s.hq * s.head_dim * element_bytes(qo_element(s.element));
  const size_t lse_bytes = size_t(s.batch) * s.hq * sizeof(float);
  Outputs out, nhd, other;
  DeviceBuffer ws;
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    const RunOptions ro(variant, s.hq);
    const AttentionReference ref = reference(p, p.table, sm_scale, ro.reference());
    for (const DecodePath& path : kDecodePaths) {
      SCOPED_TRACE(path.name);
      const COptions hnd_options = ro.c(), nhd_options = ro.c(0, true);
      const int32_t st = run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, path.flags,
                                       &hnd_options, &out, &ws, nullptr);
      if ((path.flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES) && !has_tensor_cores(s.element)) {
        EXPECT_EQ(st, BARACUDA_FLASHINFER_UNSUPPORTED) << baracuda_kernels_flashinfer_last_error();
        continue;
      }
      // The warp-tile path: f16/bf16 KV without a soft-cap.
      if ((path.flags & BARACUDA_FLASHINFER_DECODE_WARP_TILES) &&
          (!has_warp_tiles(s.element) || variant.soft_cap != 0.f)) {
        EXPECT_EQ(st, BARACUDA_FLASHINFER_UNSUPPORTED) << baracuda_kernels_flashinfer_last_error();
        continue;
      }
      ASSERT_EQ(st, 0) << baracuda_kernels_flashinfer_last_error();
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_TRUE(outputs_match(s, out, ref));
      ASSERT_ST_OK(run_decode_ex(p, p.table, c.k_nhd.ptr, c.v_nhd.ptr, sm_scale, path.flags,
                                 &nhd_options, &nhd, &ws, nullptr));
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_EQ(bytes_of(nhd.o, o_bytes), bytes_of(out.o, o_bytes)) << "NHD o differs from HND";
      EXPECT_EQ(bytes_of(nhd.lse, lse_bytes), bytes_of(out.lse, lse_bytes))
          << "NHD lse differs from HND";
      if (path.flags == 0) {
        // options->flags NO_SPLIT is the decode flag NO_SPLIT.
        const COptions no_split = ro.c(kNoSplit);
        ASSERT_ST_OK(run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, 0, &no_split, &nhd,
                                   &ws, nullptr));
        ASSERT_ST_OK(run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale,
                                   BARACUDA_FLASHINFER_DECODE_NO_SPLIT, &hnd_options, &other, &ws,
                                   nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        EXPECT_EQ(bytes_of(nhd.o, o_bytes), bytes_of(other.o, o_bytes))
            << "options->flags NO_SPLIT differs from the decode flag";
        if (ro.finalize()) {  // the finalize pass's lse in the workspace
          ASSERT_ST_OK(run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, 0, &hnd_options,
                                     &nhd, &ws, nullptr, true, /*with_lse=*/false));
          CUDA_OK(cudaDeviceSynchronize());
          EXPECT_TRUE(outputs_match(s, nhd, ref, /*with_lse=*/false)) << "lse NULL";
          EXPECT_TRUE(all_poisoned(nhd.lse, lse_bytes)) << "the lse not passed was written";
        }
      }
    }
    if (is_plain(variant)) {
      // Plain: NULL options, the defaults and run_with agree bit for bit.
      ASSERT_ST_OK(run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, 0, nullptr, &out, &ws,
                                 nullptr));
      const COptions d = ro.c();
      ASSERT_ST_OK(
          run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, 0, &d, &nhd, &ws, nullptr));
      ASSERT_ST_OK(run_decode(p, sm_scale, &other, WorkspaceMode::kFull, &ws, nullptr, true, 0));
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_EQ(bytes_of(out.o, o_bytes), bytes_of(nhd.o, o_bytes)) << "NULL != defaults";
      EXPECT_EQ(bytes_of(out.o, o_bytes), bytes_of(other.o, o_bytes)) << "run_ex != run_with";
      EXPECT_EQ(bytes_of(out.lse, lse_bytes), bytes_of(other.lse, lse_bytes));
    }
  }
}

// The variants every decode case runs, for requests of 0, 1, 16 (a full page), 38, 701, 2999 and
// some hundreds of tokens: windows of 0 and 5 (inside a page), 15 (exactly a page), 37 and 700
// (equal to a request: 38 and 701 tokens; inside and across the split chunks of the longer ones)
// and 4000 (longer than every request).
std::vector<Variant> decode_variants() {
  return {
      {"plain"},
      {"window 0", 0},
      {"window 5 (inside a page)", 5},
      {"window 15 (one page)", 15},
      {"window 37 (= a request)", 37},
      {"window 700 (= a request, across chunks)", 700},
      {"window 4000 (longer than all)", 4000},
      {"soft-cap 1.5", -1, 1.5f},
      {"k_scale 0.5 v_scale 3", -1, 0.f, 0.5f, 3.f},
      {"sinks", -1, 0.f, 1.f, 1.f, true},
      {"sinks + window 37 (gpt-oss)", 37, 0.f, 1.f, 1.f, true},
      {"soft-cap 1.5 + window 700 (Gemma 2)", 700, 1.5f},
      {"everything", 700, 2.f, 0.5f, 3.f, true},
  };
}

struct DecodeCase {
  const char* name;
  int32_t element, hq, hkv, head_dim;
  std::vector<int32_t> lens;  // empty: the standard seven requests
};

class DecodeVariants : public GpuTestWithParam<DecodeCase> {};

TEST_P(DecodeVariants, every_option_on_every_path_matches_float64) {
  const DecodeCase& dc = GetParam();
  if (!decode_head_dim_built(dc.head_dim)) GTEST_SKIP() << "head dim not built";
  const std::vector<int32_t> lens =
      dc.lens.empty() ? std::vector<int32_t>{0, 1, 16, 38, 701, 2999, uniform_int(100, 2500)}
                      : dc.lens;
  const Shape s{dc.element, int32_t(lens.size()), dc.hq, dc.hkv, dc.head_dim, 16, 0, false};
  DecodeCache c = make_decode_cache(s, lens);
  check_decode_variants(c, decode_variants());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DecodeVariants,
    ::testing::Values(DecodeCase{"f16_hd64_group1", 0, 8, 8, 64, {}},
                      DecodeCase{"bf16_hd128_group4", 1, 32, 8, 128, {}},
                      DecodeCase{"f16_hd256_group5", 0, 10, 2, 256, {}},
                      DecodeCase{"bf16_hd64_group8", 1, 64, 8, 64, {}},
                      DecodeCase{"f32_hd128_group4", 2, 8, 2, 128, {}},
                      DecodeCase{"bf16_e4m3_hd128_group4", 5, 32, 8, 128, {}},
                      DecodeCase{"f16_e5m2_hd256_group3", 4, 6, 2, 256, {}},
                      // Groups above 16: a 64-row tensor-core tile (16-bit KV), 16-row tiles (fp8).
                      DecodeCase{"bf16_hd128_group32", 1, 32, 1, 128, {}},
                      DecodeCase{"bf16_e4m3_hd64_group20", 5, 40, 2, 64, {}},
                      // One request: the CUDA-core split without the planner.
                      DecodeCase{"bf16_batch1_hd128_group4", 1, 32, 8, 128, {5000}},
                      DecodeCase{"f16_batch1_hd64_group8", 0, 16, 2, 64, {3001}}),
    [](const auto& i) { return std::string(i.param.name); });

// --- prefill -----------------------------------------------------------------------------------

struct PrefillCase {
  const char* name;
  int32_t element, hq, hkv, head_dim;
  int32_t page;  // 0: ragged K / V
  bool causal;
};

// The problem of a prefill call: queries [max_q_rows, Hq, D] (rows q_indptr[B] of them used),
// the paged cache (HND and its NHD copy, stale slots NaN) or ragged K / V [max_kv_rows, Hkv, D]
// (a few rows past the last request's, finite), the exact stored values of all.
struct PrefillData {
  PrefillCase c;
  std::vector<int32_t> q_lens, kv_lens, q_indptr;
  int32_t rows = 0, max_q_rows = 0;
  float q_range = 3.f;
  std::vector<double> q;
  DeviceBuffer d_q, d_q_indptr;
  PagedProblem cache;  // paged (its own q unused)
  DeviceBuffer k_nhd, v_nhd;
  std::vector<int32_t> kv_indptr;  // ragged
  int32_t max_kv_rows = 0;
  std::vector<double> k, v;
  DeviceBuffer d_k, d_v, d_kv_indptr;

  bool paged() const { return c.page > 0; }
  int32_t batch() const { return int32_t(q_lens.size()); }
  // Token `tok` of request b at KV head h: its K (or V) row in the exact values.
  size_t kv_row(int32_t b, int32_t tok, int32_t h) const {
    if (!paged()) return ((size_t(kv_indptr[b]) + tok) * c.hkv + h) * c.head_dim;
    const PageTable& t = cache.table;
    const size_t page = size_t(t.indices[t.indptr[b] + tok / c.page]);
    return ((page * c.hkv + h) * c.page + tok % c.page) * c.head_dim;
  }
  const double* key(int32_t b, int32_t tok, int32_t h) const {
    return &(paged() ? cache.k : k)[kv_row(b, tok, h)];
  }
  const double* value(int32_t b, int32_t tok, int32_t h) const {
    return &(paged() ? cache.v : v)[kv_row(b, tok, h)];
  }

  // New lengths (paged: a new page table in the same device buffers) and new values of
  // everything, in place where the buffers exist (a captured graph keeps their addresses).
  // `new_cache_values` false: the paged cache keeps its values (fresh from make_prefill).
  void set_lengths(const std::vector<int32_t>& ql, const std::vector<int32_t>& kl,
                   bool new_cache_values = true) {
    q_lens = ql;
    kv_lens = kl;
    q_indptr.assign(1, 0);
    for (int32_t n : q_lens) q_indptr.push_back(q_indptr.back() + n);
    rows = q_indptr.back();
    if (rows > max_q_rows) throw std::runtime_error("set_lengths: more rows than max_q_rows");
    if (d_q_indptr.ptr == nullptr) {
      d_q_indptr = to_device(q_indptr);
    } else {
      copy_to(d_q_indptr, q_indptr);
    }
    fill_values(c.element, false, size_t(max_q_rows) * c.hq * c.head_dim, &q, &d_q, -q_range,
                q_range);
    if (paged()) {
      const PageTable next = random_page_table(kv_lens, c.page, cache.num_pages);
      cache.table.assign_host(next);
      cache.table.write_in_place();
      if (new_cache_values) cache.refill();
      poison_stale_slots(cache);
      const size_t row = size_t(c.head_dim) * kv_bytes(c.element);
      k_nhd = nhd_copy(cache.d_k, cache.num_pages, c.hkv, c.page, row);
      v_nhd = nhd_copy(cache.d_v, cache.num_pages, c.hkv, c.page, row);
      return;
    }
    kv_indptr.assign(1, 0);
    for (int32_t n : kv_lens) kv_indptr.push_back(kv_indptr.back() + n);
    if (kv_indptr.back() > max_kv_rows) throw std::runtime_error("set_lengths: too many KV rows");
    if (d_kv_indptr.ptr == nullptr) {
      d_kv_indptr = to_device(kv_indptr);
    } else {
      copy_to(d_kv_indptr, kv_indptr);
    }
    const size_t count = size_t(max_kv_rows) * c.hkv * c.head_dim;
    fill_values(c.element, true, count, &k, &d_k, -1.f, 1.f);
    fill_values(c.element, true, count, &v, &d_v, -1.f, 1.f);
  }
};

// `max_q_rows` / `kv_capacity` (tokens per request) 0: exactly what these lengths need.
PrefillData make_prefill(const PrefillCase& c, const std::vector<int32_t>& q_lens,
                         const std::vector<int32_t>& kv_lens, float q_range = 3.f,
                         int32_t max_q_rows = 0, int32_t kv_capacity = 0) {
  PrefillData d;
  d.c = c;
  d.q_range = q_range;
  d.max_q_rows = max_q_rows > 0 ? max_q_rows : std::accumulate(q_lens.begin(), q_lens.end(), 0);
  const int32_t B = int32_t(q_lens.size());
  if (c.page > 0) {
    const Shape s{c.element, B, c.hq, c.hkv, c.head_dim, c.page, 0, false};
    std::vector<int32_t> capacity = kv_lens;
    if (kv_capacity > 0) capacity.assign(size_t(B), kv_capacity);
    d.cache = make_problem_with_lengths(s, kv_lens, pages_for(capacity, c.page) + 3);
    d.cache.table.upload_with_capacity(pages_for(capacity, c.page));
  } else {
    const int32_t total = std::accumulate(kv_lens.begin(), kv_lens.end(), 0);
    d.max_kv_rows = (kv_capacity > 0 ? kv_capacity * B : total) + 5;
  }
  d.set_lengths(q_lens, kv_lens, /*new_cache_values=*/false);
  return d;
}

// The float64 reference of every (row, query head) of the call: rows r * Hq + h.
AttentionReference prefill_reference(const PrefillData& d, float sm_scale,
                                     const AttentionOptions& options) {
  const PrefillCase& c = d.c;
  const int32_t group = c.hq / c.hkv;
  AttentionReference ref(d.rows * c.hq, c.head_dim);
  parallel_for(int64_t(d.rows) * c.hq, [&](int64_t index) {
    const int32_t row = int32_t(index / c.hq), h = int32_t(index % c.hq);
    const int32_t b =
        int32_t(std::upper_bound(d.q_indptr.begin(), d.q_indptr.end(), row) - d.q_indptr.begin()) -
        1;
    const KeyRange keys =
        kept_keys(d.q_lens[b], d.kv_lens[b], row - d.q_indptr[b], c.causal, options.window_left);
    attend(
        &d.q[size_t(index) * c.head_dim], keys.count(), sm_scale,
        [&](int32_t t, const double** kr, const double** vr) {
          *kr = d.key(b, keys.first + t, h / group);
          *vr = d.value(b, keys.first + t, h / group);
        },
        &ref, int32_t(index), options.row(h));
  });
  return ref;
}

struct PrefillOutputs {
  DeviceBuffer o, lse;
  size_t o_row_bytes = 0, lse_row_bytes = 0;  // per query row
  void allocate(const PrefillData& d) {
    if (o.ptr != nullptr) return;
    o_row_bytes = size_t(d.c.hq) * d.c.head_dim * element_bytes(qo_element(d.c.element));
    lse_row_bytes = size_t(d.c.hq) * sizeof(float);
    o = DeviceBuffer(size_t(d.max_q_rows) * o_row_bytes);
    lse = DeviceBuffer(size_t(d.max_q_rows) * lse_row_bytes);
  }
  void poison_all() const {
    poison(o);
    poison(lse);
  }
};

// One prefill_*_run (NHD pages when options->kv_layout says so) with get_workspace_size's
// workspace (reallocated if smaller, NaN-poisoned with the outputs).
int32_t run_prefill(const PrefillData& d, const COptions* options, float sm_scale,
                    PrefillOutputs* out, DeviceBuffer* ws, cudaStream_t stream,
                    bool poison_all = true, bool with_lse = true) {
  const PrefillCase& c = d.c;
  out->allocate(d);
  if (poison_all) out->poison_all();
  const int32_t causal = c.causal ? 1 : 0;
  size_t bytes = 0;
  const int32_t st = d.paged() ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                                     c.element, d.batch(), d.max_q_rows, c.page, c.head_dim, c.hq,
                                     c.hkv, causal, options, &bytes)
                               : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                                     c.element, d.batch(), d.max_q_rows, d.max_kv_rows, c.head_dim,
                                     c.hq, c.hkv, causal, options, &bytes);
  if (st != 0) return st;
  if (ws->ptr == nullptr || ws->bytes < bytes) *ws = DeviceBuffer(bytes);
  if (bytes != 0 && poison_all) poison(*ws);
  void* w = bytes ? ws->ptr : nullptr;
  float* lse = with_lse ? out->lse.as<float>() : nullptr;
  if (d.paged()) {
    const bool nhd = options != nullptr && options->kv_layout == BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
    const PageTable& t = d.cache.table;
    return baracuda_kernels_flashinfer_prefill_paged_run(
        c.element, d.batch(), d.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, sm_scale, causal,
        options, d.d_q.ptr, d.d_q_indptr.as<int32_t>(), nhd ? d.k_nhd.ptr : d.cache.d_k.ptr,
        nhd ? d.v_nhd.ptr : d.cache.d_v.ptr, t.d_indices.as<int32_t>(), t.d_indptr.as<int32_t>(),
        t.d_lpl.as<int32_t>(), out->o.ptr, lse, w, bytes, abi_stream(stream));
  }
  return baracuda_kernels_flashinfer_prefill_ragged_run(
      c.element, d.batch(), d.max_q_rows, d.max_kv_rows, c.head_dim, c.hq, c.hkv, sm_scale, causal,
      options, d.d_q.ptr, d.d_q_indptr.as<int32_t>(), d.d_k.ptr, d.d_v.ptr,
      d.d_kv_indptr.as<int32_t>(), out->o.ptr, lse, w, bytes, abi_stream(stream));
}

// The call's rows of o and lse (poisoned before the run) against the reference; the rows past
// q_indptr[B] must still hold the poison.
::testing::AssertionResult prefill_matches(const PrefillData& d, const PrefillOutputs& out,
                                           const AttentionReference& ref, bool with_lse = true) {
  const int32_t e = qo_element(d.c.element);
  const std::vector<uint8_t> raw = bytes_of(out.o, out.o.bytes);
  const size_t used = size_t(d.rows) * out.o_row_bytes;
  if (!std::all_of(raw.begin() + used, raw.end(), [](uint8_t x) { return x == 0xFF; })) {
    return ::testing::AssertionFailure() << "o written past q_indptr[B] = " << d.rows;
  }
  std::vector<double> o(size_t(ref.rows) * ref.head_dim);
  for (size_t i = 0; i < o.size(); ++i) o[i] = load_element(e, raw.data(), i);
  std::vector<float> lse;
  if (with_lse) {
    lse = to_host<float>(out.lse, out.lse.bytes / sizeof(float));
    if (!std::all_of(lse.begin() + ref.rows, lse.end(), [](float x) { return std::isnan(x); })) {
      return ::testing::AssertionFailure() << "lse written past q_indptr[B] = " << d.rows;
    }
  }
  return matches_reference(ref, o, with_lse ? lse.data() : nullptr, attention_precision(e, e),
                           d.c.hq);
}

struct PrefillPath {
  const char* name;
  int32_t flags;  // options->flags
};
// The default kernels (FA3 where the build and the GPU have sm_90a) and FA2.
const PrefillPath kPrefillPaths[] = {{"auto", 0}, {"FA2", kFa2}};

// Every variant on each path, split allowed and not: each run matches the reference; NHD pages
// (paged) give the HND result bit for bit, and a ragged call ignores kv_layout; with a finalize
// pass a NULL lse is not written; plain: NULL options and the defaults agree bit for bit.
void check_prefill_variants(const PrefillData& d, const std::vector<Variant>& variants,
                            const std::vector<PrefillPath>& paths = std::vector<PrefillPath>(
                                std::begin(kPrefillPaths), std::end(kPrefillPaths)),
                            float sm_scale = 0.f) {
  const PrefillCase& c = d.c;
  SCOPED_TRACE(std::string(c.name) + (d.paged() ? " paged" : " ragged") +
               (c.causal ? " causal" : " non-causal"));
  if (sm_scale == 0.f) sm_scale = 1.f / std::sqrt(float(c.head_dim));
  const size_t o_bytes =
      size_t(d.rows) * size_t(c.hq) * c.head_dim * element_bytes(qo_element(c.element));
  const size_t lse_bytes = size_t(d.rows) * c.hq * sizeof(float);
  PrefillOutputs out, other;
  DeviceBuffer ws;
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    const RunOptions ro(variant, c.hq);
    const AttentionReference ref = prefill_reference(d, sm_scale, ro.reference());
    for (const PrefillPath& path : paths) {
      for (int32_t split : {0, kNoSplit}) {
        SCOPED_TRACE(std::string(path.name) + (split ? " no-split" : ""));
        const COptions hnd = ro.c(path.flags | split), nhd = ro.c(path.flags | split, true);
        ASSERT_ST_OK(run_prefill(d, &hnd, sm_scale, &out, &ws, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        EXPECT_TRUE(prefill_matches(d, out, ref));
        ASSERT_ST_OK(run_prefill(d, &nhd, sm_scale, &other, &ws, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        EXPECT_EQ(bytes_of(other.o, o_bytes), bytes_of(out.o, o_bytes))
            << (d.paged() ? "NHD o differs from HND" : "kv_layout changed a ragged call");
        EXPECT_EQ(bytes_of(other.lse, lse_bytes), bytes_of(out.lse, lse_bytes));
        if (split == 0 && ro.finalize()) {
          ASSERT_ST_OK(run_prefill(d, &hnd, sm_scale, &other, &ws, nullptr, true, false));
          CUDA_OK(cudaDeviceSynchronize());
          EXPECT_TRUE(prefill_matches(d, other, ref, /*with_lse=*/false)) << "lse NULL";
          EXPECT_TRUE(all_poisoned(other.lse, lse_bytes)) << "the lse not passed was written";
        }
        if (is_plain(variant) && path.flags == 0 && split == 0) {
          ASSERT_ST_OK(run_prefill(d, nullptr, sm_scale, &other, &ws, nullptr));
          CUDA_OK(cudaDeviceSynchronize());
          EXPECT_EQ(bytes_of(other.o, o_bytes), bytes_of(out.o, o_bytes)) << "NULL != defaults";
          EXPECT_EQ(bytes_of(other.lse, lse_bytes), bytes_of(out.lse, lse_bytes));
        }
      }
    }
  }
}

// Requests: a decode token over 600 keys, a 200-token prompt, a chunk of 37 rows over 2000 keys
// (split into chunks of >= 512 keys), 64 rows over 364. Windows: 0, 5 (inside a page), 150
// (across query tiles), 700 (across split chunks), 1999 (= the longest request: keeps all).
const std::vector<int32_t> kPrefillQLens = {1, 200, 37, 64}, kPrefillKvLens = {600, 200, 2000, 364};

std::vector<Variant> prefill_variants() {
  return {
      {"plain"},
      {"window 0", 0},
      {"window 5 (inside a page)", 5},
      {"window 150", 150},
      {"window 700 (across split chunks)", 700},
      {"window 1999 (= the longest request)", 1999},
      {"soft-cap 2", -1, 2.f},
      {"k_scale 0.5 v_scale 3", -1, 0.f, 0.5f, 3.f},
      {"sinks", -1, 0.f, 1.f, 1.f, true},
      {"sinks + window 150 (gpt-oss)", 150, 0.f, 1.f, 1.f, true},
      {"soft-cap 2 + window 150 (Gemma 2)", 150, 2.f},
      {"everything", 150, 3.f, 0.5f, 3.f, true},
  };
}

class PrefillVariants : public GpuTestWithParam<PrefillCase> {};

TEST_P(PrefillVariants, every_option_on_both_kernels_matches_float64) {
  const PrefillCase& c = GetParam();
  if (!decode_head_dim_built(c.head_dim)) GTEST_SKIP() << "head dim not built";
  const PrefillData d = make_prefill(c, kPrefillQLens, kPrefillKvLens);
  check_prefill_variants(d, prefill_variants());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PrefillVariants,
    ::testing::Values(PrefillCase{"paged_causal_bf16_hd128_group4", 1, 8, 2, 128, 16, true},
                      PrefillCase{"paged_noncausal_f16_hd64_group8", 0, 16, 2, 64, 64, false},
                      PrefillCase{"ragged_causal_f16_hd256_group3", 0, 6, 2, 256, 0, true},
                      PrefillCase{"ragged_noncausal_bf16_hd128_group1", 1, 8, 8, 128, 0, false},
                      PrefillCase{"paged_causal_bf16_e4m3_hd128_group4", 5, 8, 2, 128, 16, true},
                      PrefillCase{"paged_noncausal_f16_e5m2_hd256_group2", 4, 4, 2, 256, 1, false},
                      PrefillCase{"ragged_causal_f16_e4m3_hd64_group8", 3, 16, 2, 64, 0, true}),
    [](const auto& i) { return std::string(i.param.name); });

class VariantsGpu : public GpuTest {};

// Rows that keep no key (causal): a request without keys, the first 30 of 50 rows over 20 keys
// (their query tile has keys), the first 180 of 200 rows over 20 keys (a whole 128-row query tile
// without keys). Without sinks they are o = 0, lse = -inf; with sinks o = 0, lse = sink / ln 2.
// On FA3 a work item without keys is written by FlashInfer's store_zero (lse = -inf, no sink):
// the library's sink pass over such rows (prefill_sink_rows.hpp) is what this case checks.
TEST_F(VariantsGpu, prefill_rows_that_keep_no_key_with_sinks) {
  for (int32_t page : {16, 0}) {
    const PrefillCase c{"bf16_hd128_group4", 1, 8, 2, 128, page, true};
    const PrefillData d = make_prefill(c, {5, 50, 200, 20}, {0, 20, 20, 300});
    check_prefill_variants(d, {{"plain"},
                               {"sinks", -1, 0.f, 1.f, 1.f, true},
                               {"sinks + window 10", 10, 0.f, 1.f, 1.f, true}});
  }
}

// Decode requests without keys with sinks: the empty request of every decode case gets
// (o = 0, lse = sink / ln 2) there (DecodeVariants); here a batch of empty requests only.
TEST_F(VariantsGpu, decode_requests_without_keys_with_sinks) {
  const Shape s{1, 5, 16, 4, 128, 16, 0, false};
  DecodeCache c = make_decode_cache(s, {0, 0, 0, 0, 0});
  check_decode_variants(
      c, {{"sinks", -1, 0.f, 1.f, 1.f, true}, {"sinks + window 0", 0, 0.f, 1.f, 1.f, true}});
}

// A window longer than every request keeps everything, up to window_left = INT32_MAX.
// The planners count a window's keys as window_left + a tile in int32: the library reads
// window_left >= 2^30 as no window, which keeps INT32_MAX from overflowing them.
TEST_F(VariantsGpu, decode_window_longer_than_every_request_equals_no_window) {
  const Shape s{1, 4, 32, 8, 128, 16, 0, false};
  DecodeCache c = make_decode_cache(s, {3000, 1, 0, 700});
  check_decode_variants(
      c, {{"window 3000", 3000}, {"window 2^30", 1 << 30}, {"window INT32_MAX", INT32_MAX}});
}

// The same in prefill, also where qo_len > kv_len.
// (The FA3 planner's base + t * cta_q - window_left, with base < 0 where qo_len > kv_len, and
// the FA2 planner's window_left + cta_q would overflow for INT32_MAX.)
TEST_F(VariantsGpu, prefill_window_longer_than_every_request_equals_no_window) {
  for (int32_t page : {16, 0}) {
    const PrefillCase c{"f16_hd64_group2", 0, 8, 4, 64, page, true};
    const PrefillData d = make_prefill(c, {50, 300, 1}, {20, 900, 77});
    check_prefill_variants(
        d, {{"window 900", 900}, {"window 2^30", 1 << 30}, {"window INT32_MAX", INT32_MAX}});
  }
}

// Non-causal with a window, query rows much longer than the window, on a schedule FA2 splits
// (one request, 1200 rows over 3000 keys, Hq = Hkv = 8): row i keeps keys 1700 + i .. 2999, so
// the first query tile needs 1300 keys.
// Split, FlashInfer's FA2 kernel lays out min(kv_len, window_left + CTA_TILE_Q) keys from each
// tile's window start (true only with causal), so the FA2 planner never splits a non-causal
// window; this case fails if it does.
TEST_F(VariantsGpu, prefill_noncausal_window_longer_rows_than_window_on_split_fa2) {
  for (int32_t page : {16, 0}) {
    const PrefillCase c{"f16_hd128_group1", 0, 8, 8, 128, page, false};
    const PrefillData d = make_prefill(c, {1200}, {3000});
    check_prefill_variants(d, {{"window 100", 100}, {"sinks + window 100", 100, 0, 1, 1, true}});
  }
}

// The finalize pass (v_scale, sinks) reads every row's lse: without the caller's lse it takes one
// from the workspace, which _get_workspace_size counts; a workspace without it is status 4 and
// nothing is written.
TEST_F(VariantsGpu, the_finalize_pass_takes_workspace_and_a_short_one_is_refused) {
  {  // decode, CUDA cores without split: no workspace without the options
    const Shape s{1, 3, 16, 4, 128, 16, 0, false};
    DecodeCache c = make_decode_cache(s, {100, 700, 33});
    const int32_t flags =
        BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT;
    const RunOptions ro({"sinks + v_scale 3", -1, 0.f, 1.f, 3.f, true}, s.hq);
    const COptions o = ro.c();
    size_t plain_bytes = 1, bytes = 0;
    ASSERT_ST_OK(baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
        s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, nullptr, &plain_bytes));
    ASSERT_ST_OK(baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
        s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, &o, &bytes));
    EXPECT_GE(bytes, plain_bytes + size_t(s.batch) * s.hq * sizeof(float));
    Outputs out;
    out.allocate(s);
    out.poison_all();
    const float sm_scale = 1.f / std::sqrt(128.f);
    EXPECT_EQ(baracuda_kernels_flashinfer_paged_decode_run_ex(
                  s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, &o,
                  c.p.d_k.ptr, c.p.d_v.ptr, c.p.table.d_indices.ptr, c.p.table.d_indptr.ptr,
                  c.p.table.d_lpl.ptr, c.p.d_q.ptr, out.o.ptr, nullptr, nullptr, 0, nullptr),
              BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL);
    EXPECT_NE(std::string(baracuda_kernels_flashinfer_last_error()).find("workspace"),
              std::string::npos)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(all_poisoned(out.o, out.o.bytes)) << "a refused run wrote o";
    DeviceBuffer ws;
    ASSERT_ST_OK(run_decode_ex(c.p, c.p.table, c.p.d_k.ptr, c.p.d_v.ptr, sm_scale, flags, &o, &out,
                               &ws, nullptr, true, /*with_lse=*/false));
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(outputs_match(s, out, reference(c.p, c.p.table, sm_scale, ro.reference()), false));
  }
  {  // prefill on FA2: the finalize pass's lse on top of the plain workspace
    const PrefillCase c{"bf16_hd128_group4", 1, 8, 2, 128, 16, true};
    const PrefillData d = make_prefill(c, {40, 3}, {100, 900});
    const RunOptions ro({"sinks", -1, 0.f, 1.f, 1.f, true}, c.hq);
    const COptions plain_fa2 = RunOptions({"plain"}, c.hq).c(kFa2), o = ro.c(kFa2);
    size_t plain_bytes = 0, bytes = 0;
    ASSERT_ST_OK(baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
        c.element, d.batch(), d.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, 1, &plain_fa2,
        &plain_bytes));
    ASSERT_ST_OK(baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
        c.element, d.batch(), d.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, 1, &o, &bytes));
    EXPECT_GE(bytes, plain_bytes + size_t(d.max_q_rows) * c.hq * sizeof(float));
    PrefillOutputs out;
    out.allocate(d);
    out.poison_all();
    DeviceBuffer ws(plain_bytes);
    const PageTable& t = d.cache.table;
    EXPECT_EQ(
        baracuda_kernels_flashinfer_prefill_paged_run(
            c.element, d.batch(), d.max_q_rows, c.page, c.head_dim, c.hq, c.hkv,
            1.f / std::sqrt(128.f), 1, &o, d.d_q.ptr, d.d_q_indptr.as<int32_t>(), d.cache.d_k.ptr,
            d.cache.d_v.ptr, t.d_indices.as<int32_t>(), t.d_indptr.as<int32_t>(),
            t.d_lpl.as<int32_t>(), out.o.ptr, nullptr, ws.ptr, plain_bytes, nullptr),
        BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(all_poisoned(out.o, out.o.bytes)) << "a refused run wrote o";
  }
}

// --- graph replay ------------------------------------------------------------------------------

// One capture of decode with a window and sinks, replayed after the lengths (longer and shorter
// than the window, empty), the page tables, the K/V/q values and the sink values change in
// place: each replay matches the reference and an eager run bit for bit.
TEST_F(VariantsGpu, decode_graph_replay_with_changed_lengths_window_and_sinks) {
  for (int32_t flags : {0, int32_t(BARACUDA_FLASHINFER_DECODE_CUDA_CORES)}) {
    const Shape s{1, 4, 32, 8, 128, 16, 3000, false};
    SCOPED_TRACE(flags ? "cuda-cores" : "auto (tensor cores)");
    const int32_t capacity = s.batch * ((s.max_len + s.page - 1) / s.page) + 3;
    PagedProblem p = make_problem_with_lengths(s, draw_lengths(s), capacity);
    p.table.upload_with_capacity(capacity);
    RunOptions ro({"sinks + window 300", 300, 0.f, 1.f, 1.f, true}, s.hq);
    const COptions o = ro.c();
    const float sm_scale = 1.f / std::sqrt(128.f);
    Stream stream;
    Outputs out, eager;
    DeviceBuffer ws, eager_ws;
    ASSERT_ST_OK(
        run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, flags, &o, &out, &ws, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    Graph graph;
    ASSERT_EQ(capture(stream, &graph,
                      [&] {
                        return run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, flags, &o,
                                             &out, &ws, stream, /*poison_all=*/false);
                      }),
              0)
        << baracuda_kernels_flashinfer_last_error();
    for (int replay = 0; replay < 4; ++replay) {
      SCOPED_TRACE("replay " + std::to_string(replay));
      Shape drawn = s;
      drawn.max_len = replay % 2 ? 250 : s.max_len;  // inside the window, or far longer
      drawn.force_edge_lengths = replay == 2;
      p.table.assign_host(random_page_table(draw_lengths(drawn), s.page, capacity));
      p.table.write_in_place();
      p.refill();
      poison_stale_slots(p);
      ro.redraw_sinks();
      const AttentionReference ref = reference(p, p.table, sm_scale, ro.reference());
      out.poison_all();
      poison(ws);
      graph.launch(stream);
      CUDA_OK(cudaStreamSynchronize(stream));
      EXPECT_TRUE(outputs_match(s, out, ref));
      ASSERT_ST_OK(run_decode_ex(p, p.table, p.d_k.ptr, p.d_v.ptr, sm_scale, flags, &o, &eager,
                                 &eager_ws, stream));
      CUDA_OK(cudaStreamSynchronize(stream));
      EXPECT_EQ(bytes_of(out.o, out.o.bytes), bytes_of(eager.o, eager.o.bytes))
          << "the replay and an eager run differ bitwise";
    }
  }
}

// The same for paged prefill: the query lengths (within max_q_rows) and KV lengths change too.
TEST_F(VariantsGpu, prefill_graph_replay_with_changed_lengths_window_and_sinks) {
  for (const PrefillPath& path : kPrefillPaths) {
    SCOPED_TRACE(path.name);
    const PrefillCase c{"bf16_hd128_group4", 1, 32, 8, 128, 16, true};
    constexpr int32_t kMaxRows = 400, kMaxKv = 2500;
    PrefillData d = make_prefill(c, {100, 1, 50}, {2000, 700, 50}, 3.f, kMaxRows, kMaxKv);
    RunOptions ro({"sinks + window 150", 150, 0.f, 1.f, 1.f, true}, c.hq);
    const COptions o = ro.c(path.flags);
    const float sm_scale = 1.f / std::sqrt(128.f);
    Stream stream;
    PrefillOutputs out, eager;
    DeviceBuffer ws, eager_ws;
    ASSERT_ST_OK(run_prefill(d, &o, sm_scale, &out, &ws, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    Graph graph;
    ASSERT_EQ(capture(stream, &graph,
                      [&] {
                        return run_prefill(d, &o, sm_scale, &out, &ws, stream,
                                           /*poison_all=*/false);
                      }),
              0)
        << baracuda_kernels_flashinfer_last_error();
    const std::vector<std::vector<int32_t>> q_lens = {
        {300, 7, 93}, {1, 1, 1}, {0, 128, 129}, {37, 250, 0}};
    const std::vector<std::vector<int32_t>> kv_lens = {
        {2500, 7, 93}, {100, 2400, 1}, {0, 1000, 129}, {37, 2500, 600}};
    for (size_t replay = 0; replay < q_lens.size(); ++replay) {
      SCOPED_TRACE("replay " + std::to_string(replay));
      d.set_lengths(q_lens[replay], kv_lens[replay]);
      ro.redraw_sinks();
      const AttentionReference ref = prefill_reference(d, sm_scale, ro.reference());
      out.poison_all();
      poison(ws);
      graph.launch(stream);
      CUDA_OK(cudaStreamSynchronize(stream));
      EXPECT_TRUE(prefill_matches(d, out, ref));
      ASSERT_ST_OK(run_prefill(d, &o, sm_scale, &eager, &eager_ws, stream));
      CUDA_OK(cudaStreamSynchronize(stream));
      const size_t used = size_t(d.rows) * out.o_row_bytes;
      EXPECT_EQ(bytes_of(out.o, used), bytes_of(eager.o, used))
          << "the replay and an eager run differ bitwise";
    }
  }
}

// --- the models' shapes --------------------------------------------------------------------------
// Their head configurations and options; batch and lengths scaled down for the float64
// reference, windows longer than the pages and contexts longer than the windows.

// Mistral-7B: 32 query heads on 8 KV heads, head dim 128, sliding window 4096.
TEST_F(VariantsGpu, mistral_7b_decode) {
  DecodeCache c = make_decode_cache({1, 3, 32, 8, 128, 16, 0, false}, {6000, 4097, 5000});
  check_decode_variants(c, {{"window 4096", 4096}});
}
TEST_F(VariantsGpu, mistral_7b_prefill) {
  const PrefillCase c{"mistral-7b", 1, 32, 8, 128, 16, true};
  check_prefill_variants(make_prefill(c, {96, 33}, {5000, 4500}), {{"window 4096", 4096}});
}

// Gemma-2-9B: 16 on 8, head dim 256, soft-cap 50 on every layer, window 4096 on alternate ones
// (both layer kinds); scaling 1/sqrt(256). q in [-24, 24] gives scores of standard deviation 8,
// up to 30 and more, where cap 50 bends them (a kernel without the cap fails).
TEST_F(VariantsGpu, gemma_2_9b_decode) {
  DecodeCache c = make_decode_cache({1, 2, 16, 8, 256, 16, 0, false}, {5000, 6000}, 24.f);
  check_decode_variants(c,
                        {{"local layer: window 4096 + soft-cap 50", 4096, 50.f},
                         {"global layer: soft-cap 50", -1, 50.f}},
                        1.f / 16.f);
}
TEST_F(VariantsGpu, gemma_2_9b_prefill) {
  const PrefillCase c{"gemma-2-9b", 1, 16, 8, 256, 16, true};
  check_prefill_variants(
      make_prefill(c, {64, 16}, {5000, 4200}, 24.f),
      {{"local layer: window 4096 + soft-cap 50", 4096, 50.f},
       {"global layer: soft-cap 50", -1, 50.f}},
      std::vector<PrefillPath>(std::begin(kPrefillPaths), std::end(kPrefillPaths)), 1.f / 16.f);
}

// gpt-oss-20b: 64 on 8, head dim 64, a sink per query head on every layer, window 128 on
// alternate ones (both layer kinds).
TEST_F(VariantsGpu, gpt_oss_20b_decode) {
  DecodeCache c = make_decode_cache({1, 4, 64, 8, 64, 16, 0, false}, {3000, 129, 1000, 50});
  check_decode_variants(c, {{"sliding layer: window 128 + sinks", 128, 0.f, 1.f, 1.f, true},
                            {"full layer: sinks", -1, 0.f, 1.f, 1.f, true}});
}
TEST_F(VariantsGpu, gpt_oss_20b_prefill) {
  const PrefillCase c{"gpt-oss-20b", 1, 64, 8, 64, 16, true};
  check_prefill_variants(make_prefill(c, {200, 40}, {1500, 300}),
                         {{"sliding layer: window 128 + sinks", 128, 0.f, 1.f, 1.f, true},
                          {"full layer: sinks", -1, 0.f, 1.f, 1.f, true}});
}

// Llama-3-8B with an fp8 cache: 32 on 8, head dim 128, e4m3 K and V quantised on the host with
// per-tensor scales (stored = fp8(real / scale), real in [-1, 1]; k_scale 0.5, v_scale 3).
TEST_F(VariantsGpu, llama_3_8b_fp8_cache_decode) {
  constexpr float kKScale = 0.5f, kVScale = 3.f;
  for (int32_t element : {BARACUDA_FLASHINFER_BF16_E4M3, BARACUDA_FLASHINFER_F16_E4M3}) {
    DecodeCache c = make_decode_cache({element, 3, 32, 8, 128, 16, 0, false}, {4000, 2000, 1});
    fill_values(element, true, c.p.kv_count(), &c.p.k, &c.p.d_k, -1.f / kKScale, 1.f / kKScale);
    fill_values(element, true, c.p.kv_count(), &c.p.v, &c.p.d_v, -1.f / kVScale, 1.f / kVScale);
    poison_stale_slots(c.p);
    c.make_nhd();
    check_decode_variants(c, {{"fp8 e4m3, k_scale 0.5 v_scale 3", -1, 0.f, kKScale, kVScale}});
  }
}
// The same cache in prefill: a chunk on a cached prefix and a decode token, e4m3 K and V with the
// same per-tensor scales.
TEST_F(VariantsGpu, llama_3_8b_fp8_cache_prefill) {
  constexpr float kKScale = 0.5f, kVScale = 3.f;
  for (int32_t element : {BARACUDA_FLASHINFER_BF16_E4M3, BARACUDA_FLASHINFER_F16_E4M3}) {
    const PrefillCase c{"llama-3-8b fp8", element, 32, 8, 128, 16, true};
    PrefillData d = make_prefill(c, {128, 1}, {2048, 3000});
    PagedProblem& cache = d.cache;
    fill_values(element, true, cache.kv_count(), &cache.k, &cache.d_k, -1.f / kKScale,
                1.f / kKScale);
    fill_values(element, true, cache.kv_count(), &cache.v, &cache.d_v, -1.f / kVScale,
                1.f / kVScale);
    poison_stale_slots(cache);
    const size_t row = size_t(c.head_dim) * kv_bytes(element);
    d.k_nhd = nhd_copy(cache.d_k, cache.num_pages, c.hkv, c.page, row);
    d.v_nhd = nhd_copy(cache.d_v, cache.num_pages, c.hkv, c.page, row);
    check_prefill_variants(d, {{"fp8 e4m3, k_scale 0.5 v_scale 3", -1, 0.f, kKScale, kVScale}});
  }
}

}  // namespace
