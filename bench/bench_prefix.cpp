// Shared-prefix attention and the cascade decode built on it, graph-replayed throughout.
//
// cascade: 64 requests share a 32768-token prefix and own 256-token suffixes (bf16, 32/8, page
// 16), at head dims 128 (every variant), 64 and 256 (the first four). Variants:
//   plain         one decode over each request's prefix + suffix pages (the prefix read once per
//                 request): the baseline of x_vs_plain
//   three_calls   shared_prefix_decode_run, a decode of the suffixes on CUDA cores (the recipe of
//                 docs/append-merge.md: the auto rule, which cannot see lengths, picks tensor
//                 cores for group 4) and merge_state_in_place
//   fused         cascade_decode_run over the prefix's pages (where it runs: sm_90)
//   dense_prefix  cascade_decode_dense_prefix_run over a dense [L][Hkv][D] copy of the prefix
//   hd128 only: each step alone (prefix with tflops, suffix, merge), the shared prefix on the FA2
//   kernel, the suffix decode per path, the plain decode per path, the three calls with the
//   auto-rule suffix.
// frac counts the bytes the cascade must read: the prefix once plus every suffix.
//
// shared_prefix: shared-prefix attention alone (B = 64, 32/8, prefix 16384) per head dim: the
// default path (the sm_90a FA3 kernel where built and the card is sm_90) against the FA2 kernel.
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

constexpr int32_t kBatch = 64, kHq = 32, kHkv = 8, kPage = 16, kElement = BARACUDA_FLASHINFER_BF16;
constexpr int32_t kCascadePrefix = 32768, kCascadeSuffix = 256, kSharedPrefixLen = 16384;

baracuda_flashinfer_stream_t stream() {
  return reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream);
}

// The flags every shared-prefix call passes (shared_prefix_decode_run_with), read when a call is
// made (a GpuTimer makes its calls, and captures them, as it is built).
int32_t g_shared_prefix_flags = BARACUDA_FLASHINFER_SHARED_PREFIX_AUTO;

// The FA2 shared-prefix kernel (what runs below sm_90), forced for an A/B run on the same card.
struct ForcedSharedPrefixFa2 {
  ForcedSharedPrefixFa2() { g_shared_prefix_flags = BARACUDA_FLASHINFER_SHARED_PREFIX_FA2; }
  ~ForcedSharedPrefixFa2() { g_shared_prefix_flags = BARACUDA_FLASHINFER_SHARED_PREFIX_AUTO; }
};
std::unique_ptr<ForcedSharedPrefixFa2> force_shared_prefix_fa2() {
  return std::make_unique<ForcedSharedPrefixFa2>();
}

std::string cascade_case_name(int32_t head_dim) {
  return "bf16 32/8 hd" + std::to_string(head_dim) + " p16 B=64 prefix 32768 + suffix 256";
}

class CascadeCase : public Case {
 public:
  explicit CascadeCase(int32_t head_dim) : d_(head_dim) {
    const int32_t prefix_pages = kCascadePrefix / kPage, suffix_pages = kCascadeSuffix / kPage;
    const int32_t num_pages = prefix_pages + kBatch * suffix_pages;
    const size_t row = size_t(d_) * 2, page_bytes = size_t(kHkv) * kPage * row;
    std::mt19937 gen(99);
    std::vector<int32_t> perm(num_pages);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), gen);
    // Plain: request b = prefix pages + its suffix pages. Suffix-only and prefix-only tables.
    std::vector<int32_t> full_indices, full_indptr{0}, suffix_indices, suffix_indptr{0};
    for (int32_t b = 0; b < kBatch; ++b) {
      full_indices.insert(full_indices.end(), perm.begin(), perm.begin() + prefix_pages);
      const auto own = perm.begin() + prefix_pages + b * suffix_pages;
      full_indices.insert(full_indices.end(), own, own + suffix_pages);
      suffix_indices.insert(suffix_indices.end(), own, own + suffix_pages);
      full_indptr.push_back(int32_t(full_indices.size()));
      suffix_indptr.push_back(int32_t(suffix_indices.size()));
    }
    // The fused cascade takes one indices array: the prefix's pages, then every suffix's.
    std::vector<int32_t> fused_indices(perm.begin(), perm.begin() + prefix_pages),
        fused_suffix_indptr;
    fused_indices.insert(fused_indices.end(), suffix_indices.begin(), suffix_indices.end());
    for (int32_t x : suffix_indptr) fused_suffix_indptr.push_back(prefix_pages + x);
    full_indices_ = upload(full_indices);
    full_indptr_ = upload(full_indptr);
    suffix_indices_ = upload(suffix_indices);
    suffix_indptr_ = upload(suffix_indptr);
    last_page_len_ = upload(std::vector<int32_t>(kBatch, kPage));
    prefix_indptr_ = upload({0, prefix_pages});
    fused_indices_ = upload(fused_indices);
    fused_suffix_indptr_ = upload(fused_suffix_indptr);
    k_ = DeviceBuffer(size_t(num_pages) * page_bytes);
    v_ = DeviceBuffer(size_t(num_pages) * page_bytes);
    const size_t q_bytes = size_t(kBatch) * kHq * row;
    q_ = DeviceBuffer(q_bytes);
    o_ = DeviceBuffer(q_bytes);
    o2_ = DeviceBuffer(q_bytes);
    lse_ = DeviceBuffer(size_t(kBatch) * kHq * 4);
    lse2_ = DeviceBuffer(size_t(kBatch) * kHq * 4);
    fill_random(k_.get(), k_.bytes(), 2, 11);
    fill_random(v_.get(), v_.bytes(), 2, 12);
    fill_random(q_.get(), q_bytes, 2, 13);
    check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                     kBatch, kHq, kHkv, d_, kPage, kElement, &ws_decode_bytes_),
                 "paged_decode_get_workspace_size");
    check_status(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
                     kBatch, kHq, kHkv, d_, kPage, kElement, &ws_prefix_bytes_),
                 "shared_prefix_decode_get_workspace_size");
    ws_decode_ = DeviceBuffer(ws_decode_bytes_);
    ws_prefix_ = DeviceBuffer(ws_prefix_bytes_);
    if (fused_runs(d_)) {
      check_status(baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
                       kBatch, kHq, kHkv, d_, kPage, kElement, &ws_fused_bytes_),
                   "cascade_decode_get_workspace_size");
      ws_fused_ = DeviceBuffer(ws_fused_bytes_);
    }
    if (dense_runs(d_)) {
      check_status(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
                       kBatch, kHq, kHkv, d_, kPage, kElement, &ws_dense_bytes_),
                   "cascade_decode_dense_prefix_get_workspace_size");
      ws_dense_ = DeviceBuffer(ws_dense_bytes_);
      // The dense prefix: token t of head h at (t * Hkv + h) * D, copied from the prefix's pages.
      const size_t prefix_bytes = size_t(kCascadePrefix) * kHkv * row;
      k_prefix_ = DeviceBuffer(prefix_bytes);
      v_prefix_ = DeviceBuffer(prefix_bytes);
      for (int32_t i = 0; i < prefix_pages; ++i) {
        for (int32_t h = 0; h < kHkv; ++h) {
          const size_t src = (size_t(perm[i]) * kHkv + h) * kPage * row,
                       dst = (size_t(i) * kPage * kHkv + h) * row;
          for (auto [to, from] : {std::pair{&k_prefix_, &k_}, std::pair{&v_prefix_, &v_}}) {
            BENCH_CUDA(cudaMemcpy2D(static_cast<char*>(to->get()) + dst, kHkv * row,
                                    static_cast<char*>(from->get()) + src, row, row, kPage,
                                    cudaMemcpyDeviceToDevice));
          }
        }
      }
    }
  }

  static bool fused_runs(int32_t d) {
    return baracuda_kernels_flashinfer_cascade_decode_can_implement(kBatch, kHq, kHkv, d, kPage,
                                                                    kElement) == 0;
  }
  static bool dense_runs(int32_t d) {
    return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement(
               kBatch, kHq, kHkv, d, kPage, kElement) == 0;
  }
  // Bytes a cascade must read: the prefix once, every suffix once, K and V.
  double cascade_bytes() const {
    return 2.0 * (kCascadePrefix + double(kBatch) * kCascadeSuffix) * kHkv * d_ * 2;
  }
  double prefix_flop() const { return 4.0 * double(kBatch) * kHq * kCascadePrefix * d_; }

  // paged_decode_run_with over the full lists (plain) or the suffixes.
  std::function<void()> decode(int32_t flags, bool suffixes) const {
    return [this, flags, suffixes] {
      check_status(baracuda_kernels_flashinfer_paged_decode_run_with(
                       kElement, flags, kBatch, kPage, d_, kHq, kHkv, scale(), k_.get(), v_.get(),
                       (suffixes ? suffix_indices_ : full_indices_).get(),
                       (suffixes ? suffix_indptr_ : full_indptr_).get(), last_page_len_.get(),
                       q_.get(), (suffixes ? o2_ : o_).get(), (suffixes ? lse2_ : lse_).get(),
                       ws_decode_.get(), ws_decode_bytes_, stream()),
                   "paged_decode_run_with");
    };
  }
  std::function<void()> prefix() const {
    return [this] {
      check_status(
          baracuda_kernels_flashinfer_shared_prefix_decode_run_with(
              kElement, g_shared_prefix_flags, kBatch, kPage, d_, kHq, kHkv, scale(), k_.get(),
              v_.get(), full_indices_.get(), prefix_indptr_.get(), last_page_len_.get(), q_.get(),
              o_.get(), lse_.get(), ws_prefix_.get(), ws_prefix_bytes_, stream()),
          "shared_prefix_decode_run_with");
    };
  }
  std::function<void()> merge() const {
    return [this] {
      check_status(baracuda_kernels_flashinfer_merge_state_in_place_bf16_run(
                       kBatch, kHq, d_, o_.get(), lse_.get(), o2_.get(), lse2_.get(), stream()),
                   "merge_state_in_place_bf16_run");
    };
  }
  // prefix, suffix decode with `suffix_flags`, merge.
  std::function<void()> three_calls(int32_t suffix_flags) const {
    return [p = prefix(), s = decode(suffix_flags, true), m = merge()] {
      p();
      s();
      m();
    };
  }
  std::function<void()> fused() const {
    return [this] {
      check_status(baracuda_kernels_flashinfer_cascade_decode_run(
                       kElement, kBatch, kPage, d_, kHq, kHkv, scale(), k_.get(), v_.get(),
                       fused_indices_.get(), prefix_indptr_.get(), last_page_len_.get(),
                       fused_suffix_indptr_.get(), last_page_len_.get(), q_.get(), o_.get(),
                       lse_.get(), ws_fused_.get(), ws_fused_bytes_, stream()),
                   "cascade_decode_run");
    };
  }
  std::function<void()> dense_prefix() const {
    return [this] {
      check_status(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
                       kElement, kBatch, kPage, d_, kHq, kHkv, scale(), k_prefix_.get(),
                       v_prefix_.get(), kCascadePrefix, int64_t(kHkv) * d_, d_, k_.get(), v_.get(),
                       suffix_indices_.get(), suffix_indptr_.get(), last_page_len_.get(), q_.get(),
                       o_.get(), lse_.get(), ws_dense_.get(), ws_dense_bytes_, stream()),
                   "cascade_decode_dense_prefix_run");
    };
  }

 private:
  float scale() const { return 1.f / std::sqrt(float(d_)); }
  int32_t d_;
  DeviceBuffer full_indices_, full_indptr_, suffix_indices_, suffix_indptr_, last_page_len_,
      prefix_indptr_, fused_indices_, fused_suffix_indptr_;
  DeviceBuffer k_, v_, q_, o_, o2_, lse_, lse2_, k_prefix_, v_prefix_;
  DeviceBuffer ws_decode_, ws_prefix_, ws_fused_, ws_dense_;
  size_t ws_decode_bytes_ = 0, ws_prefix_bytes_ = 0, ws_fused_bytes_ = 0, ws_dense_bytes_ = 0;
};

CascadeCase& cascade_case(int32_t d) {
  return shared_case<CascadeCase>("cascade/" + cascade_case_name(d),
                                  [d] { return std::make_unique<CascadeCase>(d); });
}

enum Counters { kTimeOnly = 0, kCascadeFrac = 1, kVsPlain = 2, kPrefixTflops = 4 };

// A cascade variant: the call `make_call` builds from the case, graph-replayed.
void add_cascade(int32_t d, const std::string& variant, int repeats, int warmup, int counters,
                 std::function<std::function<void()>(const CascadeCase&)> make_call,
                 bool fa2 = false, const std::string& label = "") {
  add_benchmark("cascade", cascade_case_name(d), variant, repeats, [=](benchmark::State& state) {
    CascadeCase& c = cascade_case(d);
    const double us = c.run(state, variant, [&] {
      const auto env = fa2 ? force_shared_prefix_fa2() : nullptr;
      return std::make_unique<GpuTimer>(make_call(c), GpuTimer::Mode::graph, warmup);
    });
    if (counters & kCascadeFrac) set_bandwidth(state, c.cascade_bytes(), us);
    if (counters & kVsPlain) set_ratio(state, c, "plain", us);
    if (counters & kPrefixTflops) set_tflops(state, c.prefix_flop(), us);
    if (!label.empty()) state.SetLabel(label);
  });
}

constexpr int32_t kCudaCores = BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
constexpr int32_t kTensorCores = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;

}  // namespace

BFI_BENCH_SECTION(cascade, 20, "shared prefix 32768 + 64 suffixes of 256: plain vs cascades") {
  for (const int32_t d : {128, 64, 256}) {
    const std::string target = d == 128 ? "target x_vs_plain >= 10" : "";
    add_cascade(d, "plain", 10, 2, kTimeOnly,
                [](const CascadeCase& c) { return c.decode(0, false); });
    add_cascade(d, "three_calls", 40, 5, kCascadeFrac | kVsPlain,
                [](const CascadeCase& c) { return c.three_calls(kCudaCores); });
    if (CascadeCase::fused_runs(d)) {
      add_cascade(
          d, "fused", 40, 5, kCascadeFrac | kVsPlain,
          [](const CascadeCase& c) { return c.fused(); }, false, target);
    }
    if (CascadeCase::dense_runs(d)) {
      add_cascade(
          d, "dense_prefix", 40, 5, kCascadeFrac | kVsPlain,
          [](const CascadeCase& c) { return c.dense_prefix(); }, false, target);
    }
    if (d != 128) continue;
    add_cascade(d, "plain_cuda_cores", 10, 2, kVsPlain,
                [](const CascadeCase& c) { return c.decode(kCudaCores, false); });
    add_cascade(d, "plain_tensor_cores", 10, 2, kVsPlain,
                [](const CascadeCase& c) { return c.decode(kTensorCores, false); });
    add_cascade(d, "three_calls_auto_suffix", 40, 5, kVsPlain,
                [](const CascadeCase& c) { return c.three_calls(0); });
    add_cascade(d, "prefix", 40, 5, kPrefixTflops, [](const CascadeCase& c) { return c.prefix(); });
    add_cascade(
        d, "prefix_fa2", 20, 3, kPrefixTflops, [](const CascadeCase& c) { return c.prefix(); },
        /*fa2=*/true);
    add_cascade(d, "suffix", 40, 5, kTimeOnly,
                [](const CascadeCase& c) { return c.decode(0, true); });
    add_cascade(d, "suffix_cuda_cores", 40, 5, kTimeOnly,
                [](const CascadeCase& c) { return c.decode(kCudaCores, true); });
    add_cascade(d, "suffix_tensor_cores", 40, 5, kTimeOnly,
                [](const CascadeCase& c) { return c.decode(kTensorCores, true); });
    add_cascade(d, "merge", 40, 5, kTimeOnly, [](const CascadeCase& c) { return c.merge(); });
  }
}

namespace {

std::string shared_prefix_case_name(int32_t d) {
  return "bf16 B=64 32/8 p16 prefix 16384 hd" + std::to_string(d);
}

class SharedPrefixCase : public Case {
 public:
  explicit SharedPrefixCase(int32_t head_dim) : d_(head_dim) {
    const int32_t pages = kSharedPrefixLen / kPage;
    std::mt19937 gen(7);
    std::vector<int32_t> indices(pages);
    std::iota(indices.begin(), indices.end(), 0);
    std::shuffle(indices.begin(), indices.end(), gen);
    indices_ = upload(indices);
    indptr_ = upload({0, pages});
    last_page_len_ = upload({kPage});
    const size_t kv_bytes = size_t(pages) * kHkv * kPage * d_ * 2;
    const size_t q_bytes = size_t(kBatch) * kHq * d_ * 2;
    k_ = DeviceBuffer(kv_bytes);
    v_ = DeviceBuffer(kv_bytes);
    q_ = DeviceBuffer(q_bytes);
    o_ = DeviceBuffer(q_bytes);
    lse_ = DeviceBuffer(size_t(kBatch) * kHq * 4);
    fill_random(k_.get(), kv_bytes, 2, 21);
    fill_random(v_.get(), kv_bytes, 2, 22);
    fill_random(q_.get(), q_bytes, 2, 23);
    check_status(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
                     kBatch, kHq, kHkv, d_, kPage, kElement, &ws_bytes_),
                 "shared_prefix_decode_get_workspace_size");
    ws_ = DeviceBuffer(ws_bytes_);
  }
  std::function<void()> call() const {
    return [this] {
      check_status(
          baracuda_kernels_flashinfer_shared_prefix_decode_run_with(
              kElement, g_shared_prefix_flags, kBatch, kPage, d_, kHq, kHkv,
              1.f / std::sqrt(float(d_)), k_.get(), v_.get(), indices_.get(), indptr_.get(),
              last_page_len_.get(), q_.get(), o_.get(), lse_.get(), ws_.get(), ws_bytes_, stream()),
          "shared_prefix_decode_run_with");
    };
  }
  double flop() const { return 4.0 * kBatch * kHq * double(kSharedPrefixLen) * d_; }

 private:
  int32_t d_;
  DeviceBuffer indices_, indptr_, last_page_len_, k_, v_, q_, o_, lse_, ws_;
  size_t ws_bytes_ = 0;
};

}  // namespace

BFI_BENCH_SECTION(shared_prefix, 30, "shared-prefix attention alone: default path vs FA2") {
  for (const int32_t d : {64, 128, 256}) {
    for (const bool fa2 : {true, false}) {
      const std::string variant = fa2 ? "fa2" : "default";
      add_benchmark("shared_prefix", shared_prefix_case_name(d), variant, 30,
                    [=](benchmark::State& state) {
                      auto& c = shared_case<SharedPrefixCase>(
                          "shared_prefix/" + shared_prefix_case_name(d),
                          [d] { return std::make_unique<SharedPrefixCase>(d); });
                      const double us = c.run(state, variant, [&] {
                        const auto env = fa2 ? force_shared_prefix_fa2() : nullptr;
                        return std::make_unique<GpuTimer>(c.call(), GpuTimer::Mode::graph, 3);
                      });
                      set_tflops(state, c.flop(), us);
                      if (!fa2) set_ratio(state, c, "fa2", us);
                    });
    }
  }
}
