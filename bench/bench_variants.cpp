// The attention options beside plain attention at the same shape: decode (paged_decode_run_ex)
// at B = 64 x 4096 and 1 x 32768, prefill at 8 x 4096 (bf16, 32/8, hd128, page 16). Variants:
//   plain         options NULL (the baseline of every x_vs_plain)
//   soft_cap      logits soft-cap 50 (Gemma 2)
//   sinks         one sink logit per query head (gpt-oss)
//   window        window_left 4095: the last 4096 keys (decode 1 x 32768: reads only those)
//   nhd           the same cache as NHD pages (same bytes, other strides)
//   fp8_scales    an e4m3 cache with k_scale 0.5, v_scale 2: decode (frac of its own bytes) and
//                 paged prefill (TFLOP/s, beside the bf16 cache's plain row)
// Targets (issue 22): soft-cap and sinks cost <= 5%; the window at 1 x 32768 <= 0.2x the full
// context; fp8 >= 0.85 of the copy bandwidth on its bytes at B >= 64; NHD within 5% of HND.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kPage = 16, kHq = 32, kHkv = 8, kD = 128;

baracuda_flashinfer_attention_options options_for(const std::string& variant) {
  baracuda_flashinfer_attention_options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  if (variant == "soft_cap") o.logits_soft_cap = 50.f;
  if (variant == "window") o.window_left = 4095;
  if (variant == "nhd") o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
  if (variant == "fp8_scales") o.k_scale = 0.5f, o.v_scale = 2.f;
  return o;
}

// One decode shape's cache (bf16 or e4m3 KV) with the sinks the "sinks" variant points at.
class VariantDecodeCase : public Case {
 public:
  VariantDecodeCase(int32_t batch, int32_t len, int32_t element) : batch_(batch), element_(element) {
    const int32_t ppr = (len + kPage - 1) / kPage;
    const int kv_bytes = element == BARACUDA_FLASHINFER_BF16 ? 2 : 1;
    std::vector<int32_t> pages(size_t(batch) * ppr), indptr(batch + 1);
    std::iota(pages.begin(), pages.end(), 0);
    std::shuffle(pages.begin(), pages.end(), std::mt19937(7));
    for (int32_t b = 0; b <= batch; ++b) indptr[b] = b * ppr;
    indices_ = upload(pages);
    indptr_ = upload(indptr);
    last_ = upload(std::vector<int32_t>(batch, len - (ppr - 1) * kPage));
    const size_t kv = pages.size() * kPage * kHkv * kD * kv_bytes;
    k_ = DeviceBuffer(kv);
    v_ = DeviceBuffer(kv);
    q_ = DeviceBuffer(size_t(batch) * kHq * kD * 2);
    o_ = DeviceBuffer(q_.bytes());
    lse_ = DeviceBuffer(size_t(batch) * kHq * 4);
    sinks_ = DeviceBuffer(kHq * 4);
    fill_random(k_.get(), kv, kv_bytes, 81);
    fill_random(v_.get(), kv, kv_bytes, 82);
    fill_random(q_.get(), q_.bytes(), 2, 83);
    fill_random(sinks_.get(), sinks_.bytes(), 4, 84);
    kv_bytes_ = 2.0 * kv;
  }
  std::function<void()> call(const std::string& variant) {
    baracuda_flashinfer_attention_options o = options_for(variant);
    if (variant == "sinks") o.sinks = sinks_.as<float>();
    size_t bytes = 0;
    check_status(baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
                     element_, 0, batch_, kPage, kD, kHq, kHkv, &o, &bytes),
                 "paged_decode_ex_get_workspace_size");
    workspaces_.emplace_back(bytes);
    void* ws = workspaces_.back().get();
    return [this, o, ws, bytes] {
      check_status(baracuda_kernels_flashinfer_paged_decode_run_ex(
                       element_, 0, batch_, kPage, kD, kHq, kHkv, 1.f / std::sqrt(float(kD)), &o,
                       k_.get(), v_.get(), indices_.get(), indptr_.get(), last_.get(), q_.get(),
                       o_.get(), lse_.get(), ws, bytes,
                       reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream)),
                   "paged_decode_run_ex");
    };
  }
  double kv_bytes() const { return kv_bytes_; }

 private:
  int32_t batch_, element_;
  DeviceBuffer indices_, indptr_, last_, k_, v_, q_, o_, lse_, sinks_;
  std::vector<DeviceBuffer> workspaces_;
  double kv_bytes_ = 0;
};

void add_decode_variant(int32_t batch, int32_t len, const std::string& variant,
                        const std::string& label) {
  const int32_t element =
      variant == "fp8_scales" ? BARACUDA_FLASHINFER_BF16_E4M3 : BARACUDA_FLASHINFER_BF16;
  const std::string name = "decode 32/8 hd128 p16 B=" + std::to_string(batch) +
                           " L=" + std::to_string(len) +
                           (element == BARACUDA_FLASHINFER_BF16 ? "" : " e4m3");
  add_benchmark("variants", name, variant, 40, [=](benchmark::State& state) {
    auto& c = shared_case<VariantDecodeCase>("variants/" + name, [&] {
      return std::make_unique<VariantDecodeCase>(batch, len, element);
    });
    const double us = c.run(state, variant, [&] {
      return std::make_unique<GpuTimer>(c.call(variant), GpuTimer::Mode::graph, 5);
    });
    set_bandwidth(state, c.kv_bytes(), us);
    if (variant != "plain" && element == BARACUDA_FLASHINFER_BF16) set_ratio(state, c, "plain", us);
    if (!label.empty()) state.SetLabel(label);
  });
}

// Prefill 8 x 4096, causal: ragged (plain, soft-cap, sinks, window) and paged (plain, NHD; an
// e4m3 cache with its scales).
class VariantPrefillCase : public Case {
 public:
  VariantPrefillCase(bool paged, int32_t element) : paged_(paged), element_(element) {
    std::vector<int32_t> q_indptr(kBatch + 1), kv_indptr(kBatch + 1);
    const int32_t units = paged ? kLen / kPage : kLen;
    for (int32_t b = 0; b <= kBatch; ++b) q_indptr[b] = b * kLen, kv_indptr[b] = b * units;
    q_indptr_ = upload(q_indptr);
    kv_indptr_ = upload(kv_indptr);
    std::vector<int32_t> pages(size_t(kBatch) * units);
    std::iota(pages.begin(), pages.end(), 0);
    std::shuffle(pages.begin(), pages.end(), std::mt19937(9));
    indices_ = upload(pages);
    last_ = upload(std::vector<int32_t>(kBatch, kPage));
    const int kv_bytes = element == BARACUDA_FLASHINFER_BF16 ? 2 : 1;
    const size_t kv = size_t(kBatch) * kLen * kHkv * kD * kv_bytes;
    k_ = DeviceBuffer(kv);
    v_ = DeviceBuffer(kv);
    q_ = DeviceBuffer(size_t(kBatch) * kLen * kHq * kD * 2);
    o_ = DeviceBuffer(q_.bytes());
    lse_ = DeviceBuffer(size_t(kBatch) * kLen * kHq * 4);
    sinks_ = DeviceBuffer(kHq * 4);
    fill_random(k_.get(), kv, kv_bytes, 91);
    fill_random(v_.get(), kv, kv_bytes, 92);
    fill_random(q_.get(), q_.bytes(), 2, 93);
    fill_random(sinks_.get(), sinks_.bytes(), 4, 94);
  }
  std::function<void()> call(const std::string& variant) {
    baracuda_flashinfer_attention_options o = options_for(variant);
    if (variant == "window") o.window_left = 1023;  // a quarter of each prompt
    if (variant == "sinks") o.sinks = sinks_.as<float>();
    const int32_t rows = kBatch * kLen;
    size_t bytes = 0;
    check_status(paged_ ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                              element_, kBatch, rows, kPage, kD, kHq, kHkv, 1, &o, &bytes)
                        : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                              element_, kBatch, rows, rows, kD, kHq, kHkv, 1, &o, &bytes),
                 "prefill_*_get_workspace_size");
    workspaces_.emplace_back(bytes);
    void* ws = workspaces_.back().get();
    return [this, o, ws, bytes, rows] {
      const float scale = 1.f / std::sqrt(float(kD));
      const auto stream = reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream);
      check_status(paged_
                       ? baracuda_kernels_flashinfer_prefill_paged_run(
                             element_, kBatch, rows, kPage, kD, kHq, kHkv, scale, 1, &o, q_.get(),
                             q_indptr_.as<int32_t>(), k_.get(), v_.get(), indices_.as<int32_t>(),
                             kv_indptr_.as<int32_t>(), last_.as<int32_t>(), o_.get(),
                             lse_.as<float>(), ws, bytes, stream)
                       : baracuda_kernels_flashinfer_prefill_ragged_run(
                             element_, kBatch, rows, rows, kD, kHq, kHkv, scale, 1, &o, q_.get(),
                             q_indptr_.as<int32_t>(), k_.get(), v_.get(), kv_indptr_.as<int32_t>(),
                             o_.get(), lse_.as<float>(), ws, bytes, stream),
                   "prefill_*_run");
    };
  }
  static double flop(const std::string& variant) {
    const double L = kLen;
    const double pairs = variant == "window" ? 1024.0 * L - 1024.0 * 1023.0 / 2 : L * (L + 1) / 2;
    return 4.0 * kHq * kD * kBatch * pairs;
  }

 private:
  static constexpr int32_t kBatch = 8, kLen = 4096;
  bool paged_;
  int32_t element_;
  DeviceBuffer q_indptr_, kv_indptr_, indices_, last_, k_, v_, q_, o_, lse_, sinks_;
  std::vector<DeviceBuffer> workspaces_;
};

void add_prefill_variant(bool paged, const std::string& variant, const std::string& label) {
  const int32_t element =
      variant == "fp8_scales" ? BARACUDA_FLASHINFER_BF16_E4M3 : BARACUDA_FLASHINFER_BF16;
  const std::string name = std::string(paged ? "prefill paged p16" : "prefill ragged") +
                           " 32/8 hd128 8x4096 causal" +
                           (element == BARACUDA_FLASHINFER_BF16 ? "" : " e4m3");
  add_benchmark("variants", name, variant, 20, [=](benchmark::State& state) {
    auto& c = shared_case<VariantPrefillCase>(
        "variants/" + name, [&] { return std::make_unique<VariantPrefillCase>(paged, element); });
    const double us = c.run(state, variant, [&] {
      return std::make_unique<GpuTimer>(c.call(variant), GpuTimer::Mode::graph, 3);
    });
    set_tflops(state, VariantPrefillCase::flop(variant), us);
    if (variant != "plain" && element == BARACUDA_FLASHINFER_BF16) set_ratio(state, c, "plain", us);
    if (!label.empty()) state.SetLabel(label);
  });
}

}  // namespace

BFI_BENCH_SECTION(variants, 80, "attention options beside plain attention (decode and prefill)") {
  for (const auto& [batch, len] : {std::pair<int32_t, int32_t>{64, 4096}, {1, 32768}}) {
    add_decode_variant(batch, len, "plain", "");
    add_decode_variant(batch, len, "soft_cap", "target x_vs_plain >= 0.95");
    add_decode_variant(batch, len, "sinks", "target x_vs_plain >= 0.95");
    if (len > 4096) add_decode_variant(batch, len, "window", "target x_vs_plain >= 5");
    add_decode_variant(batch, len, "nhd", "target x_vs_plain >= 0.95");
    if (batch >= 64) add_decode_variant(batch, len, "fp8_scales", "target frac >= 0.85");
  }
  add_prefill_variant(false, "plain", "");
  add_prefill_variant(false, "soft_cap", "target x_vs_plain >= 0.95");
  add_prefill_variant(false, "sinks", "target x_vs_plain >= 0.95");
  add_prefill_variant(false, "window", "");
  add_prefill_variant(true, "plain", "");
  add_prefill_variant(true, "nhd", "target x_vs_plain >= 0.95");
  add_prefill_variant(true, "fp8_scales", "");
}
