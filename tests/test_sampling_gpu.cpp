// GPU tests of the sort-free sampling family:
//  - statistics: for every sampler, random and heavy-tailed rows at vocab {7, 1000, 32000,
//    128256}, >= 1e5 draws per case (many identical rows, each row its own Philox subsequence,
//    several offsets), chi-square against the exact renormalised target distribution, cells
//    pooled (in decreasing target order) until each expects >= 10 draws. Each case fails when its
//    p-value is below kAlphaPerCase = 1e-8; with at most kMaxCases = 100 cases (the registered
//    *Distribution tests, counted by StatisticalBudget) the probability that a correct
//    implementation fails anywhere is <= 1e-6 (Bonferroni).
//    Logits on FlashInfer's kernel (below sm_90, or forced: tests/forced_paths.hpp): it adds
//    the Gumbel noise in the logits' own precision (f16/bf16: coarse rounding of logit + noise)
//    and draws it from curand_uniform, whose 1.0 makes the noise +inf (at vocab 128256 about
//    0.4 % of draws go to a token picked by index: a chi-square failure at p = 3e-10 was seen
//    for f32); those cases check a total-variation bound instead (cells of >= 1000 expected
//    draws; 0.03, bf16 0.06) and print the measured value. On sm_90 the library's threshold
//    kernel draws logits exactly (noise in float from all 32 random bits): chi-square.
//  - support: no draw outside the top-k / top-p / min-p set (ties at the threshold included);
//  - chain speculative sampling: the first output token is distributed as the target;
//  - determinism (both `deterministic` settings), graph capture/replay with a device offset
//    that the call advances, invalid rows (all zero / NaN / negative), valid = NULL, per-row k;
//  - sampling_run_with: AUTO is the sampler's own symbol, the forced kernels differ.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "chi_square.hpp"
#include "forced_paths.hpp"
#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

constexpr double kAlphaPerCase = 1e-8;
constexpr int kMaxCases = 100;
constexpr int64_t kDraws = 100000;
constexpr size_t kBudgetBytes = size_t(1) << 30;  // device bytes for replicated input rows

#define FI(NAME) baracuda_kernels_flashinfer_##NAME

struct Fit {
  double chi2 = 0, p_value = 1, tv = 0;
  int bins = 0;
};

// Pools cells in decreasing target order until each expects >= min_expected draws; chi-square
// and total variation over the pooled cells. (Total variation is only meaningful with coarse
// cells: with 1e5 draws and cells of 1000 expected draws its sampling noise is about 0.013.)
Fit goodness_of_fit(const std::vector<double>& target, const std::vector<int64_t>& counts,
                    double min_expected = 10) {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  std::vector<int> order(target.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return target[a] > target[b]; });
  std::vector<double> expected, observed;
  double e = 0, o = 0;
  for (int i : order) {
    if (target[i] <= 0) break;
    e += target[i] * n;
    o += counts[i];
    if (e >= min_expected) {
      expected.push_back(e);
      observed.push_back(o);
      e = o = 0;
    }
  }
  if (e > 0) {
    if (expected.empty()) {
      expected.push_back(e);
      observed.push_back(o);
    } else {
      expected.back() += e;
      observed.back() += o;
    }
  }
  Fit f;
  f.bins = static_cast<int>(expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    f.chi2 += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
    f.tv += 0.5 * std::fabs(observed[i] - expected[i]) / n;
  }
  f.p_value = f.bins > 1 ? gamma_q(0.5 * (f.bins - 1), 0.5 * f.chi2) : 1.0;
  return f;
}

// ---- samplers under test ----
enum class Kind { kFromProbs, kTopK, kTopP, kMinP, kTopKTopP, kLogitsF32, kLogitsF16, kLogitsBF16 };
const char* kind_name(Kind k) {
  static const char* const names[] = {"from_probs",  "top_k",      "top_p",      "min_p",
                                      "top_k_top_p", "logits_f32", "logits_f16", "logits_bf16"};
  return names[static_cast<int>(k)];
}
bool is_logits(Kind k) {
  return k >= Kind::kLogitsF32;
}
static_assert(static_cast<int32_t>(Kind::kLogitsBF16) ==
                  BARACUDA_FLASHINFER_SAMPLER_FROM_LOGITS_BF16,
              "Kind follows the library's sampler codes");
// Whether the logits samplers run FlashInfer's kernel here: below sm_90, or forced (else the
// library's threshold kernel draws them).
bool flashinfer_logits_kernel() {
  return sampling_flags() == BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL ||
         device_facts().major < 9;
}
int32_t logits_element(Kind k) {
  return k == Kind::kLogitsF16 ? 0 : k == Kind::kLogitsBF16 ? 1 : 2;
}

struct Filter {
  int32_t k = 0;
  float p = 0;  // top-p or min-p
};

int32_t sample(Kind kind, const Filter& f, int32_t batch, int32_t vocab, int32_t det, uint64_t seed,
               uint64_t offset, const void* input, int32_t* out, void* valid, cudaStream_t s) {
  auto st = reinterpret_cast<baracuda_flashinfer_stream_t>(s);
  // A forced kernel (tests/forced_paths.hpp): every sampler through sampling_run_with.
  if (sampling_flags() != BARACUDA_FLASHINFER_SAMPLING_AUTO) {
    return FI(sampling_run_with)(static_cast<int32_t>(kind), sampling_flags(), batch, vocab, f.k,
                                 nullptr, f.p, nullptr, det, seed, nullptr, offset, nullptr, input,
                                 out, valid, st);
  }
  switch (kind) {
    case Kind::kFromProbs:
      return FI(sampling_from_probs_f32_run)(batch, vocab, det, seed, offset, input, out, valid,
                                             st);
    case Kind::kTopK:
      return FI(top_k_sampling_f32_run)(batch, vocab, f.k, det, seed, offset, input, out, valid,
                                        st);
    case Kind::kTopP:
      return FI(top_p_sampling_f32_run)(batch, vocab, f.p, det, seed, offset, input, out, valid,
                                        st);
    case Kind::kMinP:
      return FI(min_p_sampling_f32_run)(batch, vocab, f.p, det, seed, offset, input, out, valid,
                                        st);
    case Kind::kTopKTopP:
      return FI(top_k_top_p_sampling_f32_run)(batch, vocab, f.k, f.p, det, seed, offset, input, out,
                                              valid, st);
    case Kind::kLogitsF32:
      return FI(sampling_from_logits_f32_run)(batch, vocab, seed, offset, input, out, st);
    case Kind::kLogitsF16:
      return FI(sampling_from_logits_f16_run)(batch, vocab, seed, offset, input, out, st);
    case Kind::kLogitsBF16:
      return FI(sampling_from_logits_bf16_run)(batch, vocab, seed, offset, input, out, st);
  }
  return -1;
}

// ---- rows ----
std::vector<float> normalised(const std::vector<double>& w) {
  double sum = 0;
  for (double x : w) sum += x;
  std::vector<float> p(w.size());
  for (size_t i = 0; i < w.size(); ++i) p[i] = static_cast<float>(w[i] / sum);
  return p;
}
std::vector<float> random_probs(int vocab) {
  std::vector<double> w(vocab);
  for (double& x : w) x = uniform(0.f, 1.f);
  return normalised(w);
}
// Zipf(1.2) over a random permutation: a few large entries and a long tail of tiny ones.
std::vector<float> heavy_probs(int vocab) {
  std::vector<int> rank(vocab);
  std::iota(rank.begin(), rank.end(), 0);
  std::shuffle(rank.begin(), rank.end(), rng());
  std::vector<double> w(vocab);
  for (int i = 0; i < vocab; ++i) w[i] = std::pow(rank[i] + 1.0, -1.2);
  return normalised(w);
}
// Logits: N(0, 3^2) ("random") or log of the heavy-tailed probabilities.
std::vector<float> logits_of(bool heavy, int vocab) {
  std::vector<float> l(vocab);
  if (heavy) {
    const std::vector<float> p = heavy_probs(vocab);
    for (int i = 0; i < vocab; ++i) l[i] = std::log(p[i]);
  } else {
    std::normal_distribution<float> normal(0.f, 3.f);
    for (float& x : l) x = normal(rng());
  }
  return l;
}

// Target of a probability sampler, computed from the float row in double. `allowed` marks the
// tokens a correct kernel may draw: the target's support plus tokens within float rounding of a
// top-p boundary (the kernel sums in float).
std::vector<double> probs_target(Kind kind, const Filter& f, const std::vector<float>& p,
                                 std::vector<char>* allowed) {
  const int v = static_cast<int>(p.size());
  std::vector<int> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  std::vector<double> mass_above(v), count_above(v);
  double mass = 0;
  for (int i = 0; i < v;) {
    int j = i;
    while (j < v && p[order[j]] == p[order[i]]) ++j;  // a group of ties
    for (int t = i; t < j; ++t) {
      mass_above[order[t]] = mass;
      count_above[order[t]] = i;
    }
    for (int t = i; t < j; ++t) mass += p[order[t]];
    i = j;
  }
  const float pmax = p[order[0]];
  const float min_p_pivot = pmax * f.p;  // the kernel's float product
  std::vector<double> t(v, 0.0);
  allowed->assign(v, 0);
  double sum = 0;
  for (int i = 0; i < v; ++i) {
    if (!(p[i] > 0)) continue;
    bool keep = true, edge = false;
    if (kind == Kind::kTopK || kind == Kind::kTopKTopP) keep = keep && count_above[i] < f.k;
    if (kind == Kind::kTopP || kind == Kind::kTopKTopP) {
      keep = keep && mass_above[i] < f.p;
      edge = std::fabs(mass_above[i] - f.p) < 2e-5;
    }
    if (kind == Kind::kMinP) keep = p[i] >= min_p_pivot;
    if (keep) {
      t[i] = p[i];
      sum += p[i];
    }
    (*allowed)[i] = keep || edge;
  }
  for (double& x : t) x /= sum;
  return t;
}

// A top-p threshold with margin: the midpoint of the mass step of the first token (in
// decreasing order) at which the cumulative mass reaches `level`.
float top_p_for(const std::vector<float>& p, double level) {
  std::vector<float> s(p);
  std::sort(s.begin(), s.end(), std::greater<float>());
  double c = 0;
  for (float x : s) {
    if (c + x >= level) return static_cast<float>(c + 0.5 * x);
    c += x;
  }
  return 1.f;
}

// `rows` copies of `row` (of `esize`-byte elements) on the device, by doubling copies.
DeviceBuffer replicate(const void* row, size_t row_bytes, int rows) {
  DeviceBuffer d(row_bytes * rows);
  CUDA_WRITE(cudaMemcpy(d.ptr, row, row_bytes, cudaMemcpyHostToDevice));
  for (int have = 1; have < rows;) {
    const int n = std::min(have, rows - have);
    CUDA_WRITE(cudaMemcpy(static_cast<char*>(d.ptr) + row_bytes * have, d.ptr, row_bytes * n,
                       cudaMemcpyDeviceToDevice));
    have += n;
  }
  return d;
}

std::vector<uint8_t> encode(Kind kind, const std::vector<float>& values,
                            std::vector<double>* rounded) {
  const int32_t element = is_logits(kind) ? logits_element(kind) : 2;
  std::vector<uint8_t> bytes(values.size() * element_bytes(element));
  rounded->resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    store_element(element, bytes.data(), i, values[i]);
    (*rounded)[i] = load_element(element, bytes.data(), i);
  }
  return bytes;
}

// Draws kDraws tokens of one case and tests them.
void statistical_case(Kind kind, int vocab, bool heavy, int32_t det) {
  std::vector<float> values = is_logits(kind) ? logits_of(heavy, vocab)
                                              : (heavy ? heavy_probs(vocab) : random_probs(vocab));
  Filter f;
  f.k = vocab <= 8 ? 3 : 50;
  if (kind == Kind::kTopP || kind == Kind::kTopKTopP)
    f.p = top_p_for(values, vocab <= 8 ? 0.5 : 0.6);
  if (kind == Kind::kMinP) f.p = vocab <= 8 ? 0.3f : 0.05f;

  std::vector<double> rounded;
  const std::vector<uint8_t> bytes = encode(kind, values, &rounded);
  std::vector<double> target;
  std::vector<char> allowed;
  if (is_logits(kind)) {
    const double mx = *std::max_element(rounded.begin(), rounded.end());
    double sum = 0;
    target.resize(vocab);
    for (int i = 0; i < vocab; ++i) sum += target[i] = std::exp(rounded[i] - mx);
    for (double& x : target) x /= sum;
    allowed.assign(vocab, 1);
  } else {
    target = probs_target(kind, f, values, &allowed);
  }

  const size_t row_bytes = bytes.size();
  const int rows =
      static_cast<int>(std::min<size_t>(kDraws, std::max<size_t>(1, kBudgetBytes / row_bytes)));
  const int calls = static_cast<int>((kDraws + rows - 1) / rows);
  DeviceBuffer input = replicate(bytes.data(), row_bytes, rows);
  DeviceBuffer out(rows * sizeof(int32_t)), valid(rows);
  std::vector<int64_t> counts(vocab, 0);
  int64_t invalid = 0, out_of_range = 0, outside = 0;
  const uint64_t seed = rng()();
  for (int c = 0; c < calls; ++c) {
    poison(out);
    CUDA_WRITE(cudaMemset(valid.ptr, 0x55, rows));
    ASSERT_ST_OK(sample(kind, f, rows, vocab, det, seed,
                        uint64_t(c) * BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION, input.ptr,
                        out.as<int32_t>(), is_logits(kind) ? nullptr : valid.ptr, nullptr));
    const std::vector<int32_t> tokens = to_host<int32_t>(out, rows);
    const std::vector<uint8_t> ok = to_host<uint8_t>(valid, rows);
    for (int r = 0; r < rows; ++r) {
      if (!is_logits(kind) && ok[r] != 1) ++invalid;
      const int32_t t = tokens[r];
      if (t < 0 || t >= vocab) {
        ++out_of_range;
        continue;
      }
      ++counts[t];
      if (!allowed[t]) ++outside;
    }
  }
  const Fit fit = goodness_of_fit(target, counts);
  const Fit coarse = goodness_of_fit(target, counts, 1000);
  // FlashInfer's logits kernel is biased (see the header): total variation bounds there; the
  // threshold kernel's race is exact for every logits type: chi-square.
  const bool half = is_logits(kind) && flashinfer_logits_kernel();
  const double tv_bound = kind == Kind::kLogitsBF16 ? 0.06 : 0.03;  // estimates, see header
  std::printf(
      "  %-12s V=%-6d %-6s det=%d k=%d p=%.6g: %lld draws, %d cells, chi2=%.1f p=%.3g tv=%.4f%s\n",
      kind_name(kind), vocab, heavy ? "heavy" : "random", det, f.k, static_cast<double>(f.p),
      static_cast<long long>(int64_t(rows) * calls), fit.bins, fit.chi2, fit.p_value, coarse.tv,
      half ? " (tv-bounded)" : "");
  EXPECT_EQ(out_of_range, 0) << "tokens outside [0, " << vocab << ")";
  EXPECT_EQ(invalid, 0) << "rows flagged invalid";
  EXPECT_EQ(outside, 0) << "draws outside the filter's support";
  if (half) {
    EXPECT_LE(coarse.tv, tv_bound) << "total variation";
  } else {
    EXPECT_GE(fit.p_value, kAlphaPerCase)
        << "chi-square " << fit.chi2 << " over " << fit.bins << " cells";
  }
}

struct StatisticalCase {
  Kind kind;
  int vocab;
  bool heavy;
};
std::vector<StatisticalCase> statistical_cases() {
  std::vector<StatisticalCase> cases;
  for (Kind kind : {Kind::kFromProbs, Kind::kTopK, Kind::kTopP, Kind::kMinP, Kind::kTopKTopP,
                    Kind::kLogitsF32, Kind::kLogitsF16, Kind::kLogitsBF16}) {
    for (int vocab : {7, 1000, 32000, 128256}) {
      for (bool heavy : {false, true}) cases.push_back({kind, vocab, heavy});
    }
  }
  return cases;
}

class SamplingGpu : public GpuTest {};
class SamplerDistribution : public GpuTestWithParam<StatisticalCase> {};

// Random rows draw with deterministic = 0, heavy-tailed ones with deterministic = 1.
TEST_P(SamplerDistribution, matches_the_target) {
  const StatisticalCase& c = GetParam();
  statistical_case(c.kind, c.vocab, c.heavy, c.heavy ? 1 : 0);
}
INSTANTIATE_TEST_SUITE_P(Samplers, SamplerDistribution, ::testing::ValuesIn(statistical_cases()),
                         [](const auto& i) {
                           return std::string(kind_name(i.param.kind)) + "_V" +
                                  std::to_string(i.param.vocab) +
                                  (i.param.heavy ? "_heavy" : "_random");
                         });

// Entries: 0.3, then six ties at 0.1, then a tail. top-k with k = 3 must keep all six ties
// (fewer than 3 entries are strictly greater), each with the same probability.
class TiesDistribution : public GpuTest {};
TEST_F(TiesDistribution, ties_at_the_threshold_are_kept) {
  const int vocab = 1000, rows = 100000;
  std::vector<double> w(vocab, 0.1 / (vocab - 7));
  w[500] = 0.3;
  for (int i = 0; i < 6; ++i) w[100 * i + 7] = 0.1;
  const std::vector<float> p = normalised(w);
  Filter f;
  f.k = 3;
  std::vector<char> allowed;
  const std::vector<double> target = probs_target(Kind::kTopK, f, p, &allowed);
  DeviceBuffer input = replicate(p.data(), vocab * sizeof(float), rows);
  DeviceBuffer out(rows * sizeof(int32_t));
  ASSERT_ST_OK(sample(Kind::kTopK, f, rows, vocab, 1, 123, 0, input.ptr, out.as<int32_t>(), nullptr,
                      nullptr));
  std::vector<int64_t> counts(vocab, 0);
  int64_t outside = 0;
  for (int32_t t : to_host<int32_t>(out, rows)) {
    if (t < 0 || t >= vocab || !allowed[t])
      ++outside;
    else
      ++counts[t];
  }
  const Fit fit = goodness_of_fit(target, counts);
  EXPECT_EQ(outside, 0) << "draws outside {0.3, six ties}";
  EXPECT_GE(fit.p_value, kAlphaPerCase) << "ties: chi-square " << fit.chi2;
  for (int i = 0; i < 6; ++i) EXPECT_GT(counts[100 * i + 7], 0) << "tie " << i << " never drawn";
}

TEST_F(SamplingGpu, per_row_top_k_is_honoured) {
  // Row r has k = 1 + r % 4: rows with k = 1 always draw the argmax, others stay in their top-k.
  const int vocab = 1000, rows = 4096;
  const std::vector<float> p = random_probs(vocab);
  std::vector<int> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  std::vector<int> rank(vocab);
  for (int i = 0; i < vocab; ++i) rank[order[i]] = i;
  std::vector<int32_t> k(rows);
  for (int r = 0; r < rows; ++r) k[r] = 1 + r % 4;
  DeviceBuffer input = replicate(p.data(), vocab * sizeof(float), rows);
  DeviceBuffer karr = to_device(k), out(rows * 4), valid(rows);
  for (int path = 0; path < 2; ++path) {
    SCOPED_TRACE(path == 0 ? "top_k_sampling_f32_arr_run" : "top_k_sampling_f32_ex");
    poison(out);
    if (path == 0) {
      ASSERT_ST_OK(FI(top_k_sampling_f32_arr_run)(rows, vocab, karr.ptr, 1, 7, 0, input.ptr,
                                                  out.ptr, valid.ptr, nullptr));
    } else {
      ASSERT_ST_OK(FI(top_k_sampling_f32_ex)(rows, vocab, 1000, karr.ptr, 0, 7, nullptr, 0, nullptr,
                                             input.ptr, out.ptr, valid.ptr, nullptr));
    }
    const std::vector<int32_t> t = to_host<int32_t>(out, rows);
    const std::vector<uint8_t> ok = to_host<uint8_t>(valid, rows);
    int bad = 0, seen_rank3 = 0;
    for (int r = 0; r < rows; ++r) {
      if (ok[r] != 1 || t[r] < 0 || t[r] >= vocab || rank[t[r]] >= k[r]) ++bad;
      if (t[r] >= 0 && t[r] < vocab && rank[t[r]] == 3) ++seen_rank3;
    }
    EXPECT_EQ(bad, 0) << "rows outside their per-row top-k";
    EXPECT_GT(seen_rank3, 0) << "k = 4 rows never drew their 4th token";
  }
  // Per-row top-p and min-p arrays are read per row: p = 1e-6 rows draw only the argmax.
  std::vector<float> parr(rows);
  for (int r = 0; r < rows; ++r) parr[r] = r % 2 ? 1e-6f : 1.f;
  DeviceBuffer pdev = to_device(parr);
  std::vector<float> mp(rows);
  for (int r = 0; r < rows; ++r) mp[r] = r % 2 ? 1.f : 1e-6f;  // min-p 1: only the max
  DeviceBuffer mpdev = to_device(mp);
  for (int which = 0; which < 3; ++which) {
    SCOPED_TRACE(which == 0 ? "top_p arr" : which == 1 ? "min_p arr" : "top_k_top_p arr");
    if (which == 0) {
      ASSERT_ST_OK(FI(top_p_sampling_f32_arr_run)(rows, vocab, pdev.ptr, 1, 9, 0, input.ptr,
                                                  out.ptr, valid.ptr, nullptr));
    } else if (which == 1) {
      ASSERT_ST_OK(FI(min_p_sampling_f32_arr_run)(rows, vocab, mpdev.ptr, 1, 9, 0, input.ptr,
                                                  out.ptr, valid.ptr, nullptr));
    } else {
      ASSERT_ST_OK(FI(top_k_top_p_sampling_f32_arr_run)(rows, vocab, karr.ptr, pdev.ptr, 1, 9, 0,
                                                        input.ptr, out.ptr, valid.ptr, nullptr));
    }
    const std::vector<int32_t> t = to_host<int32_t>(out, rows);
    int bad = 0;
    for (int r = 1; r < rows; r += 2) bad += t[r] != order[0];
    EXPECT_EQ(bad, 0) << "restricted rows did not draw the argmax";
  }
}

// Same seed and offset: the same tokens. Identical rows draw from their own subsequences and a
// new offset draws afresh, so the number of equal draws is a binomial count: at most about
// what the target's collision probability gives (6 sigma above), never "all" or "none".
TEST_F(SamplingGpu, determinism_and_offsets) {
  const int vocab = 32000, rows = 512;
  const std::vector<float> p = heavy_probs(vocab);
  DeviceBuffer input = replicate(p.data(), vocab * sizeof(float), rows);
  DeviceBuffer a(rows * 4), b(rows * 4);
  for (int det = 0; det < 2; ++det) {
    for (Kind kind : {Kind::kFromProbs, Kind::kTopK, Kind::kTopP, Kind::kMinP, Kind::kTopKTopP}) {
      SCOPED_TRACE(std::string(kind_name(kind)) + " det=" + std::to_string(det));
      Filter f;
      f.k = 50;
      f.p = kind == Kind::kMinP ? 0.01f : 0.9f;
      std::vector<char> allowed;
      const std::vector<double> target = probs_target(kind, f, p, &allowed);
      double collision = 0;
      for (double x : target) collision += x * x;
      ASSERT_ST_OK(sample(kind, f, rows, vocab, det, 42, 1000, input.ptr, a.as<int32_t>(), nullptr,
                          nullptr));
      ASSERT_ST_OK(sample(kind, f, rows, vocab, det, 42, 1000, input.ptr, b.as<int32_t>(), nullptr,
                          nullptr));
      const auto ta = to_host<int32_t>(a, rows), tb = to_host<int32_t>(b, rows);
      EXPECT_EQ(ta, tb) << "same seed and offset, different tokens";
      ASSERT_ST_OK(sample(kind, f, rows, vocab, det, 42, 1000 + 256, input.ptr, b.as<int32_t>(),
                          nullptr, nullptr));
      const auto tc = to_host<int32_t>(b, rows);
      int same = 0;
      for (int r = 0; r < rows; ++r) same += ta[r] == tc[r];
      const double expected_same = rows * collision;
      EXPECT_LE(same, expected_same + 6 * std::sqrt(expected_same) + 6)
          << "a new offset repeated too many tokens (collision probability " << collision << ")";
      // Rows equal to row 0's draw: binomial with that token's probability.
      ASSERT_TRUE(ta[0] >= 0 && ta[0] < vocab);
      const double p0 = target[ta[0]];
      int equal_to_first = 0;
      for (int r = 1; r < rows; ++r) equal_to_first += ta[r] == ta[0];
      const double mean = (rows - 1) * p0;
      EXPECT_LE(equal_to_first, mean + 6 * std::sqrt(mean * (1 - p0)) + 6)
          << "identical rows drew the same token too often (p = " << p0 << ")";
    }
  }
}

TEST_F(SamplingGpu, graph_replay_advances_the_device_offset) {
  const int vocab = 32000, rows = 256, replays = 3;
  const std::vector<float> p = random_probs(vocab);
  DeviceBuffer input = replicate(p.data(), vocab * sizeof(float), rows);
  DeviceBuffer out(rows * 4), valid(rows);
  DeviceBuffer seed = to_device(std::vector<uint64_t>{1234}),
               offset = to_device(std::vector<uint64_t>{0});
  Stream s;
  const auto st = abi_stream(s);
  struct Case {
    const char* name;
    uint64_t step;
    std::function<int32_t()> call;
  };
  const std::vector<Case> cases = {
      {"top_k_top_p_ex", BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION,
       [&] {
         return FI(top_k_top_p_sampling_f32_ex)(rows, vocab, 50, nullptr, 0.9f, nullptr, 1, 0,
                                                seed.ptr, 0, offset.ptr, input.ptr, out.ptr,
                                                valid.ptr, st);
       }},
      {"min_p_ex", BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE,
       [&] {
         return FI(min_p_sampling_f32_ex)(rows, vocab, 0.05f, nullptr, 1, 0, seed.ptr, 0,
                                          offset.ptr, input.ptr, out.ptr, nullptr, st);
       }},
      {"logits_f32_ex", BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE,
       [&] {
         return FI(sampling_from_logits_f32_ex)(rows, vocab, 0, seed.ptr, 0, offset.ptr, input.ptr,
                                                out.ptr, st);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Warm-up outside the capture, as an engine's warm-up step does before capturing (the first
    // call inside a capture: test_first_call_in_capture_gpu).
    ASSERT_ST_OK(c.call());
    CUDA_OK(cudaStreamSynchronize(s));
    Graph graph;
    ASSERT_EQ(capture(s, &graph, c.call), 0) << baracuda_kernels_flashinfer_last_error();
    std::vector<std::vector<int32_t>> first, second;
    for (int pass = 0; pass < 2; ++pass) {
      CUDA_WRITE(cudaMemset(offset.ptr, 0, 8));
      for (int i = 0; i < replays; ++i) {
        graph.launch(s);
        CUDA_OK(cudaStreamSynchronize(s));
        (pass == 0 ? first : second).push_back(to_host<int32_t>(out, rows));
      }
      EXPECT_EQ(to_host<uint64_t>(offset, 1)[0], replays * c.step)
          << "the device offset after " << replays << " replays";
    }
    EXPECT_EQ(first, second) << "replays from the same offset differ";
    for (int i = 1; i < replays; ++i) {
      EXPECT_NE(first[i], first[i - 1]) << "replay " << i << " repeated the previous tokens";
    }
    // Replay i equals a value-seeded call at offset i * step; a new device seed changes tokens.
    if (std::string(c.name) == "min_p_ex") {
      DeviceBuffer ref(rows * 4);
      ASSERT_ST_OK(FI(min_p_sampling_f32_run)(rows, vocab, 0.05f, 1, 1234, c.step, input.ptr,
                                              ref.ptr, nullptr, nullptr));
      EXPECT_EQ(to_host<int32_t>(ref, rows), first[1]) << "replay 1 != run(offset = step)";
    }
    copy_to(seed, std::vector<uint64_t>{999});
    CUDA_WRITE(cudaMemset(offset.ptr, 0, 8));
    graph.launch(s);
    CUDA_OK(cudaStreamSynchronize(s));
    EXPECT_NE(to_host<int32_t>(out, rows), first[0]) << "a new device seed repeated the tokens";
    copy_to(seed, std::vector<uint64_t>{1234});
  }
}

TEST_F(SamplingGpu, invalid_rows_are_flagged) {
  // Rows: 0 all zero, 1 all NaN, 2 all negative, 3 a good row; valid must be 0 (token 0) for
  // rows 0-2 and 1 for row 3 with every sampler; never a hang or an out-of-range token.
  for (int vocab : {7, 1000, 128256}) {
    std::vector<float> rows(4 * size_t(vocab));
    const std::vector<float> good = random_probs(vocab);
    for (int i = 0; i < vocab; ++i) {
      rows[i] = 0.f;
      rows[vocab + i] = std::numeric_limits<float>::quiet_NaN();
      rows[2 * vocab + i] = -0.5f;
      rows[3 * vocab + i] = good[i];
    }
    DeviceBuffer input = to_device(rows), out(16), valid(4);
    for (Kind kind : {Kind::kFromProbs, Kind::kTopK, Kind::kTopP, Kind::kMinP, Kind::kTopKTopP}) {
      SCOPED_TRACE(std::string(kind_name(kind)) + " V=" + std::to_string(vocab));
      Filter f;
      f.k = 5;
      f.p = kind == Kind::kMinP ? 0.1f : 0.9f;
      poison(out);
      CUDA_WRITE(cudaMemset(valid.ptr, 0x55, 4));
      ASSERT_ST_OK(
          sample(kind, f, 4, vocab, 1, 5, 0, input.ptr, out.as<int32_t>(), valid.ptr, nullptr));
      CUDA_OK(cudaDeviceSynchronize());
      const auto t = to_host<int32_t>(out, 4);
      const auto ok = to_host<uint8_t>(valid, 4);
      for (int r = 0; r < 3; ++r) {
        EXPECT_TRUE(ok[r] == 0 && t[r] == 0)
            << "row " << r << ": valid " << int(ok[r]) << " token " << t[r] << ", want 0 0";
      }
      EXPECT_TRUE(ok[3] == 1 && t[3] >= 0 && t[3] < vocab)
          << "good row: valid " << int(ok[3]) << " token " << t[3];
      // valid = NULL: nothing allocated, same tokens.
      DeviceBuffer out2(16);
      ASSERT_ST_OK(
          sample(kind, f, 4, vocab, 1, 5, 0, input.ptr, out2.as<int32_t>(), nullptr, nullptr));
      EXPECT_EQ(to_host<int32_t>(out2, 4), t) << "valid = NULL changed the tokens";
    }
  }
}

TEST_F(SamplingGpu, run_with_forces_the_kernel) {
  // AUTO is what the sampler's own symbol does. On sm_90 that is the threshold kernel for top-k:
  // forcing it gives the same tokens, and forcing FlashInfer's rejection sampler (a different
  // algorithm) draws different tokens from the same seed in at least one of 256 rows. Below sm_90
  // the automatic choice is FlashInfer's kernel. A forced threshold kernel is refused (3) for a
  // sampler without that form and for a row larger than the device holds.
  const int major = device_facts().major;
  const int vocab = 16000, rows = 256;  // fits one CTA's shared memory on sm_80 and newer
  const std::vector<float> p = random_probs(vocab);
  DeviceBuffer input = replicate(p.data(), vocab * sizeof(float), rows);
  DeviceBuffer own(rows * 4), forced(rows * 4), valid(rows);
  const int32_t kTopK = BARACUDA_FLASHINFER_SAMPLER_TOP_K;
  auto run_with = [&](int32_t sampler, int32_t flags, int32_t batch, int32_t v, const void* in) {
    poison(forced);
    return FI(sampling_run_with)(sampler, flags, batch, v, 50, nullptr, 0.5f, nullptr, 1, 7,
                                 nullptr, 0, nullptr, in, forced.ptr, valid.ptr, nullptr);
  };
  ASSERT_ST_OK(
      FI(top_k_sampling_f32_run)(rows, vocab, 50, 1, 7, 0, input.ptr, own.ptr, valid.ptr, nullptr));
  const std::vector<int32_t> own_tokens = to_host<int32_t>(own, rows);
  ASSERT_ST_OK(run_with(kTopK, BARACUDA_FLASHINFER_SAMPLING_AUTO, rows, vocab, input.ptr));
  EXPECT_EQ(to_host<int32_t>(forced, rows), own_tokens) << "AUTO differs from top_k_sampling_run";
  ASSERT_ST_OK(
      run_with(kTopK, BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL, rows, vocab, input.ptr));
  const std::vector<int32_t> threshold_tokens = to_host<int32_t>(forced, rows);
  ASSERT_ST_OK(
      run_with(kTopK, BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL, rows, vocab, input.ptr));
  const std::vector<int32_t> flashinfer_tokens = to_host<int32_t>(forced, rows);
  EXPECT_NE(threshold_tokens, flashinfer_tokens) << "both forced kernels drew the same tokens";
  EXPECT_EQ(major >= 9 ? threshold_tokens : flashinfer_tokens, own_tokens)
      << "the automatic choice on compute capability " << major << " is not the expected kernel";
  for (int32_t sampler :
       {BARACUDA_FLASHINFER_SAMPLER_FROM_PROBS, BARACUDA_FLASHINFER_SAMPLER_MIN_P}) {
    EXPECT_EQ(
        run_with(sampler, BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL, rows, vocab, input.ptr), 3)
        << "sampler " << sampler << " has no threshold form";
  }
  const int32_t huge = 1 << 22;  // more than 8 CTAs' shared memory holds
  DeviceBuffer big(size_t(huge) * 4);
  EXPECT_EQ(FI(sampling_run_with_can_implement)(
                kTopK, BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL, 1, huge, 50, 1.f),
            3);
  EXPECT_EQ(run_with(kTopK, BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL, 1, huge, big.ptr), 3);
  EXPECT_EQ(FI(sampling_run_with_can_implement)(
                kTopK, BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL, 1, huge, 50, 1.f),
            0);
}

// S = 2 draft tokens per row, draft ids drawn on the host from the draft distribution; the first
// output token must be distributed as target[0]. Counters are written, not accumulated.
class SpeculativeDistribution : public GpuTestWithParam<int> {};
TEST_P(SpeculativeDistribution, first_output_follows_the_target) {
  const int spec = 2, vocab = GetParam();
  const std::vector<float> draft_row = random_probs(vocab), target_row = heavy_probs(vocab);
  const int rows = static_cast<int>(
      std::min<size_t>(kDraws, kBudgetBytes / (size_t(vocab) * 4 * (2 * spec + 1))));
  const int calls = static_cast<int>((kDraws + rows - 1) / rows);
  std::vector<float> draft(size_t(spec) * vocab), target(size_t(spec + 1) * vocab);
  for (int s = 0; s < spec; ++s)
    std::copy(draft_row.begin(), draft_row.end(), draft.begin() + size_t(s) * vocab);
  for (int s = 0; s <= spec; ++s)
    std::copy(target_row.begin(), target_row.end(), target.begin() + size_t(s) * vocab);
  DeviceBuffer d_draft = replicate(draft.data(), draft.size() * 4, rows);
  DeviceBuffer d_target = replicate(target.data(), target.size() * 4, rows);
  DeviceBuffer ids(size_t(rows) * spec * 4), out(size_t(rows) * (spec + 1) * 4), acc(rows * 4),
      emit(rows * 4);
  std::discrete_distribution<int> draft_dist(draft_row.begin(), draft_row.end());
  std::vector<int64_t> counts(vocab, 0);
  int bad = 0;
  for (int c = 0; c < calls; ++c) {
    std::vector<int32_t> h_ids(size_t(rows) * spec);
    for (int32_t& x : h_ids) x = draft_dist(rng());
    copy_to(ids, h_ids);
    CUDA_WRITE(cudaMemset(acc.ptr, 0x7F, rows * 4));  // garbage: the counters must be written
    CUDA_WRITE(cudaMemset(emit.ptr, 0x7F, rows * 4));
    ASSERT_ST_OK(FI(chain_speculative_sampling_f32_run)(
        rows, spec, vocab, c % 2, 77, uint64_t(c) * 4, d_draft.ptr, ids.ptr, d_target.ptr, out.ptr,
        acc.ptr, emit.ptr, nullptr));
    const auto o = to_host<int32_t>(out, size_t(rows) * (spec + 1));
    const auto a = to_host<int32_t>(acc, rows), e = to_host<int32_t>(emit, rows);
    for (int r = 0; r < rows; ++r) {
      const int32_t* row = &o[size_t(r) * (spec + 1)];
      const int em = e[r];
      bool ok = em >= 0 && em <= spec && a[r] >= em && a[r] <= spec;
      for (int i = 0; ok && i < em; ++i) ok = row[i] == h_ids[size_t(r) * spec + i];
      ok = ok && row[em] >= 0 && row[em] < vocab;
      for (int i = em + 1; ok && i <= spec; ++i) ok = row[i] == -1;
      bad += !ok;
      if (row[0] >= 0 && row[0] < vocab) ++counts[row[0]];
    }
  }
  std::vector<double> t(target_row.begin(), target_row.end());
  const double sum = std::accumulate(t.begin(), t.end(), 0.0);
  for (double& x : t) x /= sum;
  const Fit fit = goodness_of_fit(t, counts);
  std::printf("  speculative V=%d: %d cells chi2=%.1f p=%.3g\n", vocab, fit.bins, fit.chi2,
              fit.p_value);
  EXPECT_EQ(bad, 0) << "rows with inconsistent outputs or counters";
  EXPECT_GE(fit.p_value, kAlphaPerCase) << "chi-square " << fit.chi2;
}
INSTANTIATE_TEST_SUITE_P(Vocabularies, SpeculativeDistribution, ::testing::Values(7, 1000, 32000),
                         [](const auto& i) { return "V" + std::to_string(i.param); });

// Every statistical case (a *Distribution test) fails a correct kernel with probability at most
// kAlphaPerCase; the registered ones, whether run or not, must fit the Bonferroni budget.
TEST(StatisticalBudget, registered_cases_fit_the_bonferroni_budget) {
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  int cases = 0;
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    if (std::string(suite.name()).find("Distribution") != std::string::npos) {
      cases += suite.total_test_count();
    }
  }
  EXPECT_GT(cases, 0);
  EXPECT_LE(cases, kMaxCases) << "statistical cases exceed the Bonferroni budget";
}

}  // namespace
