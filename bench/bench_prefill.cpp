// Prefill: batch prefill per shape (the default path, FA2 forced, the mixed batch beside two calls)
// and the ceiling its TFLOP/s are read against, in the same run.
//
// gemm_ceiling: a bf16 matrix product 8192 x 8192 x 8192 through cuBLAS (f32 accumulation,
// random inputs), 2 * 8192^3 FLOP per call.
#include <baracuda/flashinfer.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

#define BENCH_CUBLAS(call)                                                                       \
  do {                                                                                           \
    cublasStatus_t s_ = (call);                                                                  \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                           \
      std::fprintf(stderr, "%s:%d: %s: cuBLAS status %d\n", __FILE__, __LINE__, #call, int(s_)); \
      std::exit(2);                                                                              \
    }                                                                                            \
  } while (0)

constexpr int kGemmSize = 8192;

class GemmCase : public Case {
 public:
  GemmCase()
      : a_(size_t(kGemmSize) * kGemmSize * 2),
        b_(size_t(kGemmSize) * kGemmSize * 2),
        c_(size_t(kGemmSize) * kGemmSize * 2) {
    fill_random(a_.get(), a_.bytes(), 2, 51);
    fill_random(b_.get(), b_.bytes(), 2, 52);
    BENCH_CUBLAS(cublasCreate(&handle_));
    BENCH_CUBLAS(cublasSetStream(handle_, device().stream));
  }
  ~GemmCase() override { cublasDestroy(handle_); }
  std::function<void()> call() const {
    return [this] {
      const float alpha = 1.f, beta = 0.f;
      BENCH_CUBLAS(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize,
                                &alpha, a_.get(), CUDA_R_16BF, kGemmSize, b_.get(), CUDA_R_16BF,
                                kGemmSize, &beta, c_.get(), CUDA_R_16BF, kGemmSize,
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    };
  }

 private:
  DeviceBuffer a_, b_, c_;
  cublasHandle_t handle_ = nullptr;
};

void add_gemm_ceiling() {
  const std::string name = "bf16 GEMM 8192x8192x8192";
  add_benchmark("prefill", name, "cublas", 20, [name](benchmark::State& state) {
    auto& c = shared_case<GemmCase>("prefill/" + name, [] { return std::make_unique<GemmCase>(); });
    const double us = c.run(state, "cublas", [&] {
      return std::make_unique<GpuTimer>(c.call(), GpuTimer::Mode::eager, 3);
    });
    set_tflops(state, 2.0 * kGemmSize * kGemmSize * double(kGemmSize), us);
  });
}

// Batch prefill, bf16, 32 query / 8 KV heads by default. A case is a batch of requests, each with
// `q_len` new query rows on `kv_len` keys (its cache), causal unless said otherwise; ragged K/V
// are dense [rows, Hkv, D], paged K/V random pages of 16 tokens. TFLOP/s count the work the mask
// keeps: 4 * Hq * D per (query, key) pair.
struct PrefillShape {
  bool paged;
  int32_t batch, q_len, kv_len, head_dim, hq = 32, hkv = 8;
  bool causal = true;
  const char* labels = "";
  // Decode tokens beside the chunks (the mixed case): `decodes` requests of one query row on
  // `decode_len` keys.
  int32_t decodes = 0, decode_len = 0;

  std::string name() const {
    std::string n = std::string(paged ? "paged p16 " : "ragged ") + std::to_string(hq) + "/" +
                    std::to_string(hkv) + " hd" + std::to_string(head_dim) + " " +
                    std::to_string(batch) + "x" + std::to_string(q_len);
    if (kv_len != q_len) n += " on " + std::to_string(kv_len);
    if (decodes) n += " + " + std::to_string(decodes) + " decodes on " + std::to_string(decode_len);
    return n + (causal ? " causal" : "");
  }
  int32_t requests() const { return batch + decodes; }
  int32_t q_rows() const { return batch * q_len + decodes; }
  double pairs() const {
    const double q = q_len, k = kv_len;
    const double one = causal ? (k >= q ? q * (k - q) + q * (q + 1) / 2 : k * (k + 1) / 2) : q * k;
    return batch * one + double(decodes) * decode_len;
  }
  double flop() const { return 4.0 * hq * head_dim * pairs(); }
};

constexpr int32_t kPrefillPage = 16;

class PrefillCase : public Case {
 public:
  explicit PrefillCase(const PrefillShape& s) : s_(s) {
    std::vector<int32_t> q_indptr{0}, kv_indptr{0}, last;
    std::vector<int32_t> q_lens, kv_lens;
    for (int32_t b = 0; b < s.batch; ++b) q_lens.push_back(s.q_len), kv_lens.push_back(s.kv_len);
    for (int32_t b = 0; b < s.decodes; ++b) q_lens.push_back(1), kv_lens.push_back(s.decode_len);
    int64_t kv_units = 0;
    for (size_t b = 0; b < q_lens.size(); ++b) {
      q_indptr.push_back(q_indptr.back() + q_lens[b]);
      const int32_t units = s.paged ? (kv_lens[b] + kPrefillPage - 1) / kPrefillPage : kv_lens[b];
      kv_indptr.push_back(kv_indptr.back() + units);
      last.push_back(kv_lens[b] - (units - 1) * kPrefillPage);
      kv_units += units;
    }
    q_indptr_ = upload(q_indptr);
    kv_indptr_ = upload(kv_indptr);
    const size_t row = size_t(s.hkv) * s.head_dim * 2;
    if (s.paged) {
      std::vector<int32_t> pages(kv_units);
      std::iota(pages.begin(), pages.end(), 0);
      std::shuffle(pages.begin(), pages.end(), std::mt19937(1234));
      indices_ = upload(pages);
      last_page_len_ = upload(last);
      k_ = DeviceBuffer(size_t(kv_units) * kPrefillPage * row);
    } else {
      k_ = DeviceBuffer(size_t(kv_units) * row);
    }
    v_ = DeviceBuffer(k_.bytes());
    const size_t q_bytes = size_t(s.q_rows()) * s.hq * s.head_dim * 2;
    q_ = DeviceBuffer(q_bytes);
    o_ = DeviceBuffer(q_bytes);
    lse_ = DeviceBuffer(size_t(s.q_rows()) * s.hq * 4);
    fill_random(k_.get(), k_.bytes(), 2, 61);
    fill_random(v_.get(), v_.bytes(), 2, 62);
    fill_random(q_.get(), q_bytes, 2, 63);
    max_kv_rows_ = int32_t(kv_units);
  }

  // One prefill call with `options` (NULL: plain).
  std::function<void()> call(const baracuda_flashinfer_attention_options* options) {
    size_t bytes = 0;
    const int32_t B = s_.requests(), rows = s_.q_rows(), D = s_.head_dim;
    check_status(s_.paged ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                                kBf16, B, rows, kPrefillPage, D, s_.hq, s_.hkv, s_.causal,
                                options, &bytes)
                          : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                                kBf16, B, rows, max_kv_rows_, D, s_.hq, s_.hkv, s_.causal,
                                options, &bytes),
                 "prefill_*_get_workspace_size");
    workspaces_.emplace_back(bytes);
    void* ws = workspaces_.back().get();
    const baracuda_flashinfer_attention_options o =
        options != nullptr ? *options : default_options();
    return [this, o, ws, bytes] {
      const int32_t B = s_.requests(), rows = s_.q_rows(), D = s_.head_dim;
      const float scale = 1.f / std::sqrt(float(D));
      check_status(
          s_.paged
              ? baracuda_kernels_flashinfer_prefill_paged_run(
                    kBf16, B, rows, kPrefillPage, D, s_.hq, s_.hkv, scale, s_.causal, &o, q_.get(),
                    q_indptr_.as<int32_t>(), k_.get(), v_.get(), indices_.as<int32_t>(),
                    kv_indptr_.as<int32_t>(), last_page_len_.as<int32_t>(), o_.get(),
                    lse_.as<float>(), ws, bytes, stream())
              : baracuda_kernels_flashinfer_prefill_ragged_run(
                    kBf16, B, rows, max_kv_rows_, D, s_.hq, s_.hkv, scale, s_.causal, &o, q_.get(),
                    q_indptr_.as<int32_t>(), k_.get(), v_.get(), kv_indptr_.as<int32_t>(),
                    o_.get(), lse_.as<float>(), ws, bytes, stream()),
          "prefill_*_run");
    };
  }
  static baracuda_flashinfer_attention_options default_options() {
    baracuda_flashinfer_attention_options o;
    baracuda_kernels_flashinfer_attention_options_init(&o);
    return o;
  }
  const PrefillShape& shape() const { return s_; }

 private:
  static constexpr int32_t kBf16 = BARACUDA_FLASHINFER_BF16;
  static baracuda_flashinfer_stream_t stream() {
    return reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream);
  }
  PrefillShape s_;
  DeviceBuffer q_indptr_, kv_indptr_, indices_, last_page_len_, k_, v_, q_, o_, lse_;
  std::vector<DeviceBuffer> workspaces_;
  int32_t max_kv_rows_ = 0;
};

PrefillCase& prefill_case(const PrefillShape& s) {
  return shared_case<PrefillCase>("prefill/" + s.name(),
                                  [&] { return std::make_unique<PrefillCase>(s); });
}

// A variant of shape `s` with options `o` (`flags` on the defaults when o is NULL).
void add_prefill_variant(const PrefillShape& s, const std::string& variant, int32_t flags,
                         const std::string& label, const std::string& baseline = "default",
                         int repeats = 20) {
  add_benchmark("prefill", s.name(), variant, repeats, [=](benchmark::State& state) {
    PrefillCase& c = prefill_case(s);
    baracuda_flashinfer_attention_options o = PrefillCase::default_options();
    o.flags = flags;
    const double us = c.run(state, variant, [&] {
      return std::make_unique<GpuTimer>(c.call(&o), GpuTimer::Mode::graph, 3);
    });
    set_tflops(state, s.flop(), us);
    if (variant != baseline) set_ratio(state, c, baseline, us);
    if (!label.empty()) state.SetLabel(label);
  });
}

// The mixed batch beside the same work as two calls: the chunks alone (prefill) and the decodes
// alone (paged decode, the library's auto path).
void add_mixed(const PrefillShape& mixed) {
  PrefillShape chunks = mixed;
  chunks.decodes = 0;
  const int32_t decodes = mixed.decodes, decode_len = mixed.decode_len, D = mixed.head_dim;
  add_benchmark("prefill", mixed.name(), "two_calls", 20, [=](benchmark::State& state) {
    PrefillCase& c = prefill_case(mixed);
    const double us = c.run(state, "two_calls", [&] {
      auto prefill = std::make_shared<PrefillCase>(chunks);
      auto first = prefill->call(nullptr);
      // The decode half: its own cache of `decodes` requests of decode_len keys.
      const int32_t ppr = (decode_len + kPrefillPage - 1) / kPrefillPage;
      std::vector<int32_t> ind(size_t(decodes) * ppr), indptr(decodes + 1);
      std::iota(ind.begin(), ind.end(), 0);
      std::shuffle(ind.begin(), ind.end(), std::mt19937(99));
      for (int32_t b = 0; b <= decodes; ++b) indptr[b] = b * ppr;
      struct Decode {
        DeviceBuffer indices, indptr, lpl, k, v, q, o, lse, ws;
        size_t ws_bytes = 0;
      };
      auto d = std::make_shared<Decode>();
      d->indices = upload(ind);
      d->indptr = upload(indptr);
      d->lpl = upload(std::vector<int32_t>(decodes, decode_len - (ppr - 1) * kPrefillPage));
      const size_t kv = size_t(decodes) * ppr * kPrefillPage * mixed.hkv * D * 2;
      d->k = DeviceBuffer(kv);
      d->v = DeviceBuffer(kv);
      d->q = DeviceBuffer(size_t(decodes) * mixed.hq * D * 2);
      d->o = DeviceBuffer(d->q.bytes());
      d->lse = DeviceBuffer(size_t(decodes) * mixed.hq * 4);
      fill_random(d->k.get(), kv, 2, 71);
      fill_random(d->v.get(), kv, 2, 72);
      fill_random(d->q.get(), d->q.bytes(), 2, 73);
      check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                       decodes, mixed.hq, mixed.hkv, D, kPrefillPage, BARACUDA_FLASHINFER_BF16,
                       &d->ws_bytes),
                   "paged_decode_get_workspace_size");
      d->ws = DeviceBuffer(d->ws_bytes);
      const int32_t hq = mixed.hq, hkv = mixed.hkv;
      return std::make_unique<GpuTimer>(
          [prefill, first, d, decodes, hq, hkv, D] {
            first();
            check_status(baracuda_kernels_flashinfer_paged_decode_bf16_run(
                             decodes, kPrefillPage, D, hq, hkv, 1.f / std::sqrt(float(D)),
                             d->k.get(), d->v.get(), d->indices.get(), d->indptr.get(),
                             d->lpl.get(), d->q.get(), d->o.get(), d->lse.get(), d->ws.get(),
                             d->ws_bytes,
                             reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream)),
                         "paged_decode_bf16_run");
          },
          GpuTimer::Mode::graph, 3);
    });
    set_tflops(state, mixed.flop(), us);
  });
  add_prefill_variant(mixed, "default", 0, "target x_vs_two_calls >= 1", "two_calls");
}

void add_prefill_attention() {
  const int32_t fa2 = BARACUDA_FLASHINFER_ATTENTION_FA2;
  for (const int32_t d : {128, 64, 256}) {
    const bool main_dim = d == 128;
    const PrefillShape ragged[] = {
        {false, 1, 16384, 16384, d, 32, 8, true, main_dim ? "target tflops >= 580" : ""},
        {false, 8, 4096, 4096, d, 32, 8, true,
         main_dim ? "target tflops >= 620; target x_vs_fa2 >= 1.5" : ""},
        {false, 64, 512, 512, d, 32, 8, true, main_dim ? "target tflops >= 400" : ""},
    };
    for (const PrefillShape& s : ragged) {
      add_prefill_variant(s, "default", 0, s.labels);
      add_prefill_variant(s, "fa2", fa2, "");
    }
    const PrefillShape paged{true, 16, 512, 4096 + 512, d, 32, 8, true,
                             main_dim ? "target tflops >= 500" : ""};
    add_prefill_variant(paged, "default", 0, paged.labels);
    add_prefill_variant(paged, "fa2", fa2, "");
  }
  PrefillShape mixed{true, 4, 1024, 8192, 128};
  mixed.decodes = 60;
  mixed.decode_len = 4096;
  add_mixed(mixed);
}

}  // namespace

BFI_BENCH_SECTION(prefill, 70, "batch prefill per shape (default path and FA2) and the bf16 GEMM ceiling") {
  add_gemm_ceiling();
  add_prefill_attention();
}
