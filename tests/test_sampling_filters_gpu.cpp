// GPU tests of top-k / top-p renormalisation and top-k logits masking,
// against a float64 reference of the kept set computed on the host from the same float rows:
//  - every row distinct and freshly drawn (uniform, heavy-tailed Zipf, and rows with ties at the
//    cut-off), vocab {7, 1000, 32000, 128256, 200000}; outputs NaN-poisoned before every call;
//  - renorm: kept entries equal p / (sum of kept p) to 1e-5 relative, every other entry exactly
//    0; top-p entries within 1e-5 of the mass boundary may fall on either side (the kernel
//    sums in 2^-40 fixed point, the reference in double);
//  - mask: kept logits bit-identical to the input, every other entry -inf; f32, f16, bf16;
//  - per-row arrays (k = 0 / < 0 / >= vocab, p <= 0 / NaN / > 1), in place, malformed rows
//    (NaN, negative, all zero), and graph capture.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

#define FI(NAME) baracuda_kernels_flashinfer_##NAME

constexpr double kRelTol = 1e-5, kEdge = 1e-5;
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

enum class Shape { kUniform, kHeavy, kTies };
const char* shape_name(Shape s) {
  return s == Shape::kUniform ? "uniform" : s == Shape::kHeavy ? "heavy" : "ties";
}

// Positive weights of one row (not normalised: renorm must not need it).
std::vector<float> weights(Shape shape, int vocab) {
  std::vector<float> w(vocab);
  if (shape == Shape::kUniform) {
    for (float& x : w) x = uniform(1e-3f, 1.f);
  } else if (shape == Shape::kHeavy) {
    std::vector<int> rank(vocab);
    std::iota(rank.begin(), rank.end(), 0);
    std::shuffle(rank.begin(), rank.end(), rng());
    for (int i = 0; i < vocab; ++i) w[i] = static_cast<float>(std::pow(rank[i] + 1.0, -1.2));
  } else {  // a handful of distinct levels: long runs of exact ties everywhere
    for (float& x : w) x = 0.125f * static_cast<float>(uniform_int(1, 6));
  }
  return w;
}

// For each entry: how many entries of the row are strictly greater, and their sum (double).
void above(const std::vector<float>& x, std::vector<int64_t>* count, std::vector<double>* mass) {
  const int n = static_cast<int>(x.size());
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return x[a] > x[b]; });
  count->assign(n, 0);
  mass->assign(n, 0.0);
  double m = 0;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && x[order[j]] == x[order[i]]) ++j;
    for (int t = i; t < j; ++t) {
      (*count)[order[t]] = i;
      (*mass)[order[t]] = m;
    }
    for (int t = i; t < j; ++t) m += x[order[t]];
    i = j;
  }
}

struct RowCheck {
  int bad = 0;
  std::string first;
  void fail(const char* fmt, int row, int i, double got, double want) {
    if (bad++ == 0) {
      char buf[256];
      std::snprintf(buf, sizeof buf, fmt, row, i, got, want);
      first = buf;
    }
  }
};

// Renorm row check. use_p: the top-p rule with threshold p (edge entries may go either way);
// else top-k with k (k as the kernel reads it: unsigned).
void check_renorm_row(const std::vector<float>& x, const float* out, bool use_p, uint32_t k,
                      float p, int row, RowCheck* rc) {
  std::vector<int64_t> cnt;
  std::vector<double> mass;
  above(x, &cnt, &mass);
  const int n = static_cast<int>(x.size());
  const bool nothing = use_p ? !(p > 0.f) : k == 0;
  double kept = 0;  // the kernel's own kept set (its edge decisions), checked below
  for (int i = 0; i < n; ++i) {
    const bool want = !nothing && (use_p ? mass[i] < p : uint64_t(cnt[i]) < k);
    const bool edge = use_p && !nothing && std::fabs(mass[i] - p) < kEdge;
    const bool got = out[i] != 0.f;
    if (std::isnan(out[i])) {
      rc->fail("row %d entry %d: NaN (unwritten?) got %g want %g", row, i, out[i], want);
      continue;
    }
    if (got != want && !edge) rc->fail("row %d entry %d: kept %g, reference %g", row, i, got, want);
    if (got) kept += x[i];
  }
  for (int i = 0; i < n && kept > 0; ++i) {
    if (out[i] == 0.f) continue;
    const double ref = x[i] / kept;
    if (std::fabs(out[i] - ref) > kRelTol * ref) {
      rc->fail("row %d entry %d: %.9g, want %.9g", row, i, out[i], ref);
    }
  }
}

// Mask row check: kept logits bit-identical, others -inf.
void check_mask_row(const std::vector<float>& x, const float* out, uint32_t k, int row,
                    RowCheck* rc) {
  std::vector<int64_t> cnt;
  std::vector<double> mass;
  above(x, &cnt, &mass);
  for (size_t i = 0; i < x.size(); ++i) {
    const bool keep = uint64_t(cnt[i]) < k;
    const float want = keep ? x[i] : -kInf;
    if (!(out[i] == want)) rc->fail("row %d entry %d: %g, want %g", row, int(i), out[i], want);
  }
}

const int kVocabs[] = {7, 1000, 32000, 128256, 200000};

class SamplingFiltersGpu : public GpuTest {};

TEST_F(SamplingFiltersGpu, top_k_renorm_matches_the_reference) {
  for (int vocab : kVocabs)
    for (Shape shape : {Shape::kUniform, Shape::kHeavy, Shape::kTies}) {
      const int rows = 6;
      std::vector<float> host(size_t(rows) * vocab);
      for (int r = 0; r < rows; ++r) {
        const std::vector<float> w = weights(shape, vocab);
        std::copy(w.begin(), w.end(), host.begin() + size_t(r) * vocab);
      }
      // Per-row k: 1, 50, vocab - 1, vocab + 5, 0 (nothing), -1 (no truncation).
      const std::vector<int32_t> ks = {1, 50, std::max(1, vocab - 1), vocab + 5, 0, -1};
      DeviceBuffer in = to_device(host), out(host.size() * 4), karr = to_device(ks);
      for (int form = 0; form < 3; ++form) {  // 0 scalar k = 50, 1 per-row, 2 per-row in place
        DeviceBuffer& dst = form == 2 ? in : out;
        if (form == 2)
          CUDA_WRITE(cudaMemcpy(in.ptr, host.data(), host.size() * 4, cudaMemcpyHostToDevice));
        else
          poison(out);
        ASSERT_ST_OK(FI(top_k_renorm_probs_f32_run)(rows, vocab, 50, form ? karr.ptr : nullptr,
                                                    in.ptr, dst.ptr, nullptr));
        const std::vector<float> got = to_host<float>(dst, host.size());
        RowCheck rc;
        for (int r = 0; r < rows; ++r) {
          const std::vector<float> x(host.begin() + size_t(r) * vocab,
                                     host.begin() + size_t(r + 1) * vocab);
          const uint32_t k = form ? static_cast<uint32_t>(ks[r]) : 50u;
          check_renorm_row(x, &got[size_t(r) * vocab], false, k, 0.f, r, &rc);
        }
        EXPECT_EQ(rc.bad, 0) << "top_k_renorm V=" << vocab << " " << shape_name(shape) << " form "
                             << form << ", first: " << rc.first;
      }
    }
}

TEST_F(SamplingFiltersGpu, top_p_renorm_matches_the_reference) {
  for (int vocab : kVocabs)
    for (Shape shape : {Shape::kUniform, Shape::kHeavy, Shape::kTies}) {
      const int rows = 6;
      std::vector<float> host(size_t(rows) * vocab);
      for (int r = 0; r < rows; ++r) {
        const std::vector<float> f = weights(shape, vocab);
        double sum = 0;
        for (float v : f) sum += v;
        for (int i = 0; i < vocab; ++i)
          host[size_t(r) * vocab + i] = static_cast<float>(f[i] / sum);
      }
      const std::vector<float> ps = {0.5f, 0.9f, 1.f, 1e-6f, kNaN, 2.f};
      DeviceBuffer in = to_device(host), out(host.size() * 4), parr = to_device(ps);
      for (int form = 0; form < 2; ++form) {  // 0 scalar p = 0.9, 1 per-row
        poison(out);
        ASSERT_ST_OK(FI(top_p_renorm_probs_f32_run)(rows, vocab, 0.9f, form ? parr.ptr : nullptr,
                                                    in.ptr, out.ptr, nullptr));
        const std::vector<float> got = to_host<float>(out, host.size());
        RowCheck rc;
        for (int r = 0; r < rows; ++r) {
          const std::vector<float> x(host.begin() + size_t(r) * vocab,
                                     host.begin() + size_t(r + 1) * vocab);
          check_renorm_row(x, &got[size_t(r) * vocab], true, 0, form ? ps[r] : 0.9f, r, &rc);
        }
        EXPECT_EQ(rc.bad, 0) << "top_p_renorm V=" << vocab << " " << shape_name(shape) << " form "
                             << form << ", first: " << rc.first;
      }
    }
}

TEST_F(SamplingFiltersGpu, top_k_mask_logits_matches_the_reference) {
  for (int32_t element : {2, 0, 1})  // f32, f16, bf16
    for (int vocab : kVocabs)
      for (bool ties : {false, true}) {
        const int rows = 5;
        const size_t n = size_t(rows) * vocab, eb = element_bytes(element);
        std::vector<unsigned char> host(n * eb);
        std::vector<float> values(n);  // the stored values, read back as float
        std::normal_distribution<float> normal(0.f, 3.f);
        for (size_t i = 0; i < n; ++i) {
          float v = ties ? static_cast<float>(uniform_int(-4, 4)) : normal(rng());
          if (i % 97 == 5) v = -kInf;  // -inf logits are legal (already masked)
          store_element(element, host.data(), i, v);
          values[i] = static_cast<float>(load_element(element, host.data(), i));
        }
        const std::vector<int32_t> ks = {1, 50, vocab + 5, 0, -1};
        DeviceBuffer in = to_device(host), out(n * eb), karr = to_device(ks);
        for (int form = 0; form < 2; ++form) {
          poison(out);
          const void* k_arr = form ? karr.ptr : nullptr;
          if (element == 2)
            ASSERT_ST_OK(
                FI(top_k_mask_logits_f32_run)(rows, vocab, 50, k_arr, in.ptr, out.ptr, nullptr));
          if (element == 0)
            ASSERT_ST_OK(
                FI(top_k_mask_logits_f16_run)(rows, vocab, 50, k_arr, in.ptr, out.ptr, nullptr));
          if (element == 1)
            ASSERT_ST_OK(
                FI(top_k_mask_logits_bf16_run)(rows, vocab, 50, k_arr, in.ptr, out.ptr, nullptr));
          const std::vector<unsigned char> raw = to_host<unsigned char>(out, n * eb);
          std::vector<float> got(n);
          for (size_t i = 0; i < n; ++i)
            got[i] = static_cast<float>(load_element(element, raw.data(), i));
          RowCheck rc;
          for (int r = 0; r < rows; ++r) {
            const std::vector<float> x(values.begin() + size_t(r) * vocab,
                                       values.begin() + size_t(r + 1) * vocab);
            check_mask_row(x, &got[size_t(r) * vocab], form ? static_cast<uint32_t>(ks[r]) : 50u, r,
                           &rc);
          }
          EXPECT_EQ(rc.bad, 0) << "mask element " << element << " V=" << vocab << " ties " << ties
                               << " form " << form << ", first: " << rc.first;
        }
      }
}

TEST_F(SamplingFiltersGpu, malformed_rows_are_defined) {
  // Renorm: rows 0 all zero, 1 one NaN, 2 one negative, 3 one +inf -> all zeros; row 4 good.
  // Mask: a row with a NaN -> all NaN; a row of +-inf logits is fine.
  for (int vocab : {7, 1000, 128256}) {
    const int rows = 5;
    std::vector<float> host(size_t(rows) * vocab);
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < vocab; ++i)
        host[size_t(r) * vocab + i] = r == 0 ? 0.f : uniform(0.1f, 1.f);
    host[size_t(1) * vocab + vocab / 2] = kNaN;
    host[size_t(2) * vocab + vocab - 1] = -0.25f;
    host[size_t(3) * vocab] = kInf;
    DeviceBuffer in = to_device(host), out(host.size() * 4);
    for (int which = 0; which < 2; ++which) {
      poison(out);
      if (which == 0)
        ASSERT_ST_OK(
            FI(top_k_renorm_probs_f32_run)(rows, vocab, 3, nullptr, in.ptr, out.ptr, nullptr));
      else
        ASSERT_ST_OK(
            FI(top_p_renorm_probs_f32_run)(rows, vocab, 0.5f, nullptr, in.ptr, out.ptr, nullptr));
      const std::vector<float> got = to_host<float>(out, host.size());
      int bad = 0;
      for (int r = 0; r < 4; ++r)
        for (int i = 0; i < vocab; ++i) bad += got[size_t(r) * vocab + i] != 0.f;
      double sum = 0;
      for (int i = 0; i < vocab; ++i) sum += got[size_t(4) * vocab + i];
      EXPECT_EQ(bad, 0) << "renorm " << which << " V=" << vocab
                        << ": non-zero entries in malformed rows";
      EXPECT_NEAR(sum, 1.0, 1e-5) << "renorm " << which << " V=" << vocab << ": the good row";
    }
    // Mask.
    std::vector<float> logits(size_t(2) * vocab);
    for (float& v : logits) v = uniform(-5.f, 5.f);
    logits[vocab / 3] = kNaN;
    logits[vocab] = kInf;
    logits[size_t(2) * vocab - 1] = -kInf;
    DeviceBuffer lin = to_device(logits), lout(logits.size() * 4);
    poison(lout);
    ASSERT_ST_OK(FI(top_k_mask_logits_f32_run)(2, vocab, 2, nullptr, lin.ptr, lout.ptr, nullptr));
    const std::vector<float> got = to_host<float>(lout, logits.size());
    int not_nan = 0;
    for (int i = 0; i < vocab; ++i) not_nan += !std::isnan(got[i]);
    EXPECT_EQ(not_nan, 0) << "mask V=" << vocab << ": entries of the NaN row that are not NaN";
    RowCheck rc;
    check_mask_row(std::vector<float>(logits.begin() + vocab, logits.end()), &got[vocab], 2, 1,
                   &rc);
    EXPECT_EQ(rc.bad, 0) << "mask V=" << vocab << " row with +-inf, first: " << rc.first;
  }
}

TEST_F(SamplingFiltersGpu, graph_capture_replays_the_renorm) {
  const int rows = 64, vocab = 128256;
  std::vector<float> host(size_t(rows) * vocab);
  for (float& v : host) v = uniform(0.f, 1.f);
  DeviceBuffer in = to_device(host), out(host.size() * 4);
  Stream s;
  const auto st = abi_stream(s);
  ASSERT_ST_OK(FI(top_k_renorm_probs_f32_run)(rows, vocab, 40, nullptr, in.ptr, out.ptr, st));
  CUDA_OK(cudaStreamSynchronize(s));  // a warm-up call first, as an engine does before capturing
  Graph graph;
  ASSERT_EQ(capture(s, &graph,
                    [&] {
                      return FI(top_k_renorm_probs_f32_run)(rows, vocab, 40, nullptr, in.ptr,
                                                            out.ptr, st);
                    }),
            0)
      << baracuda_kernels_flashinfer_last_error();
  for (float& v : host) v = uniform(0.f, 1.f);  // new data, same graph
  CUDA_WRITE(cudaMemcpy(in.ptr, host.data(), host.size() * 4, cudaMemcpyHostToDevice));
  poison(out);
  graph.launch(s);
  CUDA_OK(cudaStreamSynchronize(s));
  const std::vector<float> got = to_host<float>(out, host.size());
  RowCheck rc;
  for (int r = 0; r < rows; ++r) {
    const std::vector<float> x(host.begin() + size_t(r) * vocab,
                               host.begin() + size_t(r + 1) * vocab);
    check_renorm_row(x, &got[size_t(r) * vocab], false, 40, 0.f, r, &rc);
  }
  EXPECT_EQ(rc.bad, 0) << "graph replay, first: " << rc.first;
}

}  // namespace
