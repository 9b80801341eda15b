// The attention comparison of tests/attention_check.hpp must fail a kernel that loses part of
// the KV and pass a correct one. Host only: a float64 reference of one 32768-token request (16
// query heads on 4 KV heads, head dim 128, K/V/q stored in f16 or bf16) against
//  - the reference rounded to the output type, and a same-precision model of a split tensor-core
//    kernel (q * sm_scale rounded to the input type, the softmax weights rounded before P V,
//    256-token chunk partials stored in the output type, the merged result rounded): accepted;
//  - the same model with one 16-token tile left out, or one chunk of 512 tokens (1/64): refused;
//  - o scaled by 0.2 with the right lse, a NaN, an empty row with an output: refused.
// And the attention options of the reference: each follows its formula, a row with a sink and
// no key is (o = 0, lse = sink / ln 2), and the comparison refuses a kernel that ignores any
// option (or counts a sink twice, or keeps one key too many or too few in its window).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "attention_check.hpp"
#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

constexpr int32_t kTokens = 32768, kHq = 16, kHkv = 4, kD = 128, kChunk = 256;

float round_to(int32_t element, float x) {
  if (element == 0) return __half2float(__float2half_rn(x));
  if (element == 1) return __bfloat162float(__float2bfloat16_rn(x));
  return x;
}

// One request: K and V [Hkv, tokens, D], q [Hq, D], stored in `element` (the exact stored values).
struct LongRequest {
  int32_t element;
  float sm_scale = 1.f / std::sqrt(float(kD));
  std::vector<float> k, v, q;
  AttentionReference ref{kHq, kD};

  explicit LongRequest(int32_t e) : element(e) {
    k.resize(size_t(kHkv) * kTokens * kD);
    v.resize(k.size());
    q.resize(size_t(kHq) * kD);
    for (float& x : k) x = round_to(e, uniform(-1.f, 1.f));
    for (float& x : v) x = round_to(e, uniform(-1.f, 1.f));
    for (float& x : q) x = round_to(e, uniform(-3.f, 3.f));
    for (int32_t h = 0; h < kHq; ++h) {
      const std::vector<double> qd(q.begin() + size_t(h) * kD, q.begin() + size_t(h + 1) * kD);
      const size_t base = size_t(h / (kHq / kHkv)) * kTokens * kD;
      attend<float>(
          qd.data(), kTokens, sm_scale,
          [&](int32_t t, const float** kr, const float** vr) {
            *kr = &k[base + size_t(t) * kD];
            *vr = &v[base + size_t(t) * kD];
          },
          &ref, h);
    }
  }

  // A same-precision model of a split tensor-core kernel, tokens [skip_begin, skip_end) left out
  // (none when equal). Returns o (rounded to the element type) and lse (float).
  void model(int32_t skip_begin, int32_t skip_end, std::vector<double>* o,
             std::vector<float>* lse) const {
    o->assign(size_t(kHq) * kD, 0.0);
    lse->assign(kHq, 0.f);
    std::vector<float> qs(kD), s(kChunk), partial(kD);
    std::vector<double> acc(kD);
    for (int32_t h = 0; h < kHq; ++h) {
      for (int32_t d = 0; d < kD; ++d) qs[d] = round_to(element, q[size_t(h) * kD + d] * sm_scale);
      const float* kh = &k[size_t(h / (kHq / kHkv)) * kTokens * kD];
      const float* vh = &v[size_t(h / (kHq / kHkv)) * kTokens * kD];
      double m = -INFINITY, sum = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int32_t c0 = 0; c0 < kTokens; c0 += kChunk) {
        float cm = -INFINITY;
        for (int32_t t = c0; t < c0 + kChunk; ++t) {
          float dot = 0;
          for (int32_t d = 0; d < kD; ++d) dot += qs[d] * kh[size_t(t) * kD + d];
          s[t - c0] = dot;
          if (t < skip_begin || t >= skip_end) cm = std::max(cm, dot);
        }
        if (cm == -INFINITY) continue;  // the whole chunk left out
        float csum = 0;
        std::fill(partial.begin(), partial.end(), 0.f);
        for (int32_t t = c0; t < c0 + kChunk; ++t) {
          if (t >= skip_begin && t < skip_end) continue;
          const float w = std::exp(s[t - c0] - cm);
          csum += w;
          const float wr = round_to(element, w);  // P in the input type for the P V product
          for (int32_t d = 0; d < kD; ++d) partial[d] += wr * vh[size_t(t) * kD + d];
        }
        const double nm = std::max(m, double(cm));
        const double a = std::exp(m - nm), b = std::exp(cm - nm);
        for (int32_t d = 0; d < kD; ++d) {
          const double stored = round_to(element, partial[d] / csum);  // split partial, stored
          acc[d] = acc[d] * a + stored * csum * b;
        }
        sum = sum * a + csum * b;
        m = nm;
      }
      for (int32_t d = 0; d < kD; ++d) (*o)[size_t(h) * kD + d] = round_to(element, acc[d] / sum);
      (*lse)[h] = static_cast<float>((m + std::log(sum)) / std::log(2.0));
    }
  }

  AttentionPrecision precision() const { return attention_precision(element, element); }
};

// One problem per element type, built once (a float64 reference over 32768 tokens takes a second).
const LongRequest& request(int32_t element) {
  if (element == 0) {
    static const LongRequest f16(0);
    return f16;
  }
  static const LongRequest bf16(1);
  return bf16;
}

class AttentionCheck : public ::testing::TestWithParam<int32_t> {
 protected:
  const LongRequest& r() const { return request(GetParam()); }
};

TEST_P(AttentionCheck, accepts_the_reference_rounded_to_the_output_type) {
  std::vector<double> o(r().ref.o.size());
  std::vector<float> lse(r().ref.rows);
  for (size_t i = 0; i < o.size(); ++i) o[i] = round_to(r().element, float(r().ref.o[i]));
  for (int32_t i = 0; i < r().ref.rows; ++i) lse[i] = float(r().ref.lse[i]);
  EXPECT_TRUE(matches_reference(r().ref, o, lse.data(), r().precision(), kHq));
}

TEST_P(AttentionCheck, accepts_a_same_precision_model_of_a_split_kernel) {
  std::vector<double> o;
  std::vector<float> lse;
  r().model(0, 0, &o, &lse);
  const ::testing::AssertionResult result =
      matches_reference(r().ref, o, lse.data(), r().precision(), kHq);
  EXPECT_TRUE(result);
  std::printf("  %s model: %s\n", element_name(r().element), result.message());
}

TEST_P(AttentionCheck, refuses_a_kernel_that_drops_one_16_token_tile) {
  std::vector<double> o;
  std::vector<float> lse;
  const int32_t tile = kTokens / 2 + 16 * uniform_int(0, 63);
  r().model(tile, tile + 16, &o, &lse);
  const ::testing::AssertionResult result =
      matches_reference(r().ref, o, lse.data(), r().precision(), kHq);
  EXPECT_FALSE(result) << "tokens [" << tile << ", " << tile + 16 << ") dropped";
  std::printf("  %s, tokens [%d, %d) dropped: %s\n", element_name(r().element), tile, tile + 16,
              result.message());
}

TEST_P(AttentionCheck, refuses_a_kernel_that_drops_one_chunk_of_64) {
  std::vector<double> o;
  std::vector<float> lse;
  const int32_t chunk = kTokens / 64, first = chunk * uniform_int(0, 63);
  r().model(first, first + chunk, &o, &lse);
  EXPECT_FALSE(matches_reference(r().ref, o, lse.data(), r().precision(), kHq));
  // The lse bound alone catches it too at f16 (one chunk of 64 moves lse by about 0.02 bits).
  if (r().element == 0) {
    std::vector<double> exact_o(r().ref.o.begin(), r().ref.o.end());
    for (double& x : exact_o) x = round_to(0, float(x));
    EXPECT_FALSE(matches_reference(r().ref, exact_o, lse.data(), r().precision(), kHq));
  }
}

TEST_P(AttentionCheck, refuses_o_scaled_by_a_constant_with_the_right_lse) {
  std::vector<double> o(r().ref.o.size());
  std::vector<float> lse(r().ref.rows);
  for (size_t i = 0; i < o.size(); ++i) o[i] = round_to(r().element, float(0.98 * r().ref.o[i]));
  for (int32_t i = 0; i < r().ref.rows; ++i) lse[i] = float(r().ref.lse[i]);
  EXPECT_FALSE(matches_reference(r().ref, o, lse.data(), r().precision(), kHq));
}

INSTANTIATE_TEST_SUITE_P(Elements, AttentionCheck, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int32_t>& i) {
                           return std::string(element_name(i.param));
                         });

// Small rows: a NaN, a row without tokens that has an output, an lse that is not -inf there.
TEST(AttentionCheckRows, refuses_nan_and_outputs_of_rows_without_tokens) {
  AttentionReference ref(3, 4);
  const std::vector<double> q = {1, 0.5, -1, 2}, k = {0.5, 0.5, 0.5, 0.5, -1, 0, 1, 0},
                            v = {1, 2, 3, 4, -1, -2, -3, -4};
  for (int32_t r = 0; r < 2; ++r) {
    attend(
        q.data(), 2, 0.5,
        [&](int32_t t, const double** kr, const double** vr) {
          *kr = &k[size_t(t) * 4];
          *vr = &v[size_t(t) * 4];
        },
        &ref, r);
  }
  attend(
      q.data(), 0, 0.5, [](int32_t, const double**, const double**) {}, &ref, 2);
  const AttentionPrecision p = attention_precision(2, 2);
  std::vector<float> lse = {float(ref.lse[0]), float(ref.lse[1]), -INFINITY};
  std::vector<double> o = ref.o;
  EXPECT_TRUE(matches_reference(ref, o, lse.data(), p));
  o[5] = NAN;
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  o = ref.o;
  o[9] = 1e-30;  // the empty row must be exactly zero
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  o = ref.o;
  lse[2] = 0.f;
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  lse[2] = -INFINITY;
  lse[1] = NAN;
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  EXPECT_TRUE(matches_reference(ref, o, nullptr, p));  // lse not compared
}

// --- the attention options -------------------------------------------------------------------

TEST(AttentionCheckOptions, kept_keys_follow_the_window_and_causal_rules) {
  struct Case {
    int32_t qo_len, kv_len, i;
    bool causal;
    int32_t window_left, first, end;
  };
  const Case cases[] = {
      {1, 100, 0, false, -1, 0, 100},  // decode, no window
      {1, 100, 0, false, 0, 99, 100},  // decode, window 0: the last key
      {1, 100, 0, true, 9, 90, 100},   // decode: the last window_left + 1 keys
      {1, 5, 0, false, 9, 0, 5},       // a window longer than the request
      {1, 0, 0, false, 3, 0, 0},       // no keys
      {10, 10, 0, true, -1, 0, 1},     // causal square: the diagonal
      {10, 10, 9, true, -1, 0, 10},    //
      {10, 10, 9, true, 3, 6, 10},     // causal + window: window_left + 1 keys at the diagonal
      {4, 20, 1, true, 2, 15, 18},     // chunked prefill: diagonal at 16 + 1
      {4, 20, 1, false, 2, 15, 20},    // non-causal + window: from the window's start on
      {8, 3, 2, true, -1, 0, 0},       // qo_len > kv_len: the first rows keep nothing
      {8, 3, 5, true, -1, 0, 1},       //
      {8, 3, 7, false, 0, 2, 3},       //
      {8, 3, 0, false, 0, 0, 3},       // non-causal window starting before key 0
  };
  for (const Case& c : cases) {
    const KeyRange k = kept_keys(c.qo_len, c.kv_len, c.i, c.causal, c.window_left);
    EXPECT_EQ(k.first, c.first) << c.qo_len << " " << c.kv_len << " " << c.i << " " << c.causal
                                << " " << c.window_left;
    EXPECT_EQ(k.end, c.end) << c.qo_len << " " << c.kv_len << " " << c.i << " " << c.causal << " "
                            << c.window_left;
    // The rule of the header, key by key.
    for (int32_t j = 0; j < c.kv_len; ++j) {
      const bool kept = (!c.causal || j <= c.i + c.kv_len - c.qo_len) &&
                        (c.window_left < 0 || j + c.qo_len + c.window_left >= c.kv_len + c.i);
      EXPECT_EQ(kept, j >= k.first && j < k.end) << "key " << j;
    }
  }
}

// Three keys, every option at once, against the formulas written out.
TEST(AttentionCheckOptions, attend_applies_soft_cap_scales_and_sink) {
  const std::vector<double> q = {1, 2}, k = {0.5, 0, -1, 1, 0.25, 0.75}, v = {1, 0, 0, 1, 2, -2};
  RowOptions opt;
  opt.soft_cap = 1.0;
  opt.k_scale = 2.0;
  opt.v_scale = 3.0;
  opt.has_sink = true;
  opt.sink = 0.3;
  AttentionReference ref(2, 2);
  const auto rows = [&](int32_t t, const double** kr, const double** vr) {
    *kr = &k[size_t(t) * 2];
    *vr = &v[size_t(t) * 2];
  };
  attend(q.data(), 3, 0.5, rows, &ref, 0, opt);
  // Raw scores 0.5 * 2 * q.k = 0.5, 1, 1.75; capped tanh(s); the sink e^0.3 in the sum.
  const double e[3] = {std::exp(std::tanh(0.5)), std::exp(std::tanh(1.0)),
                       std::exp(std::tanh(1.75))};
  const double den = e[0] + e[1] + e[2] + std::exp(0.3);
  EXPECT_NEAR(ref.o[0], 3 * (e[0] * 1 + e[2] * 2) / den, 1e-12);
  EXPECT_NEAR(ref.o[1], 3 * (e[1] * 1 + e[2] * -2) / den, 1e-12);
  EXPECT_NEAR(ref.lse[0], std::log2(den), 1e-12);
  EXPECT_EQ(ref.keys[0], 3);
  EXPECT_GT(ref.soft_cap_rms[0], 0.0);
  // No key: the sink alone.
  attend(q.data(), 0, 0.5, rows, &ref, 1, opt);
  EXPECT_EQ(ref.o[2], 0.0);
  EXPECT_EQ(ref.o[3], 0.0);
  EXPECT_NEAR(ref.lse[1], 0.3 / std::log(2.0), 1e-15);
  EXPECT_EQ(ref.keys[1], 0);
}

TEST(AttentionCheckOptions, a_row_without_keys_but_a_sink_is_o_zero_and_the_sink_lse) {
  AttentionReference ref(1, 4);
  RowOptions opt;
  opt.has_sink = true;
  opt.sink = 1.7;
  attend(
      static_cast<const double*>(nullptr), 0, 0.1, [](int32_t, const double**, const double**) {},
      &ref, 0, opt);
  const AttentionPrecision p = attention_precision(1, 1);
  std::vector<double> o(4, 0.0);
  std::vector<float> lse = {float(1.7 / std::log(2.0))};
  EXPECT_TRUE(matches_reference(ref, o, lse.data(), p));
  lse[0] = -INFINITY;  // the plain kernel's answer: the sink is missing
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  lse[0] = NAN;
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
  lse[0] = float(1.7 / std::log(2.0));
  o[2] = 1e-30;  // o must be exactly zero
  EXPECT_FALSE(matches_reference(ref, o, lse.data(), p));
}

// Eight query heads over 64 keys of head dim 64 (bf16 values) with a window of the last 16,
// soft-cap 2 on scores of standard deviation 2, k_scale 2, v_scale 3 and a sink per head about
// as heavy as the keys: the reference rounded to bf16 passes; a kernel that gets any option
// wrong does not.
class OptionsRefused : public ::testing::Test {
 protected:
  static constexpr int32_t kHeads = 8, kKeys = 64, kDim = 64;
  std::vector<double> q, k, v;
  AttentionOptions options;

  void SetUp() override {
    q.resize(size_t(kHeads) * kDim);
    k.resize(size_t(kKeys) * kDim);
    v.resize(k.size());
    for (double& x : q) x = round_to(1, uniform(-3.f, 3.f));
    for (double& x : k) x = round_to(1, uniform(-1.f, 1.f));
    for (double& x : v) x = round_to(1, uniform(-1.f, 1.f));
    options.window_left = 15;
    options.soft_cap = 2.0;
    options.k_scale = 2.0;
    options.v_scale = 3.0;
    for (int32_t h = 0; h < kHeads; ++h) options.sinks.push_back(std::log(16.0) + uniform(-1, 1));
  }
  AttentionReference reference(const AttentionOptions& o) const {
    AttentionReference ref(kHeads, kDim);
    const KeyRange keys = kept_keys(1, kKeys, 0, false, o.window_left);
    for (int32_t h = 0; h < kHeads; ++h) {
      attend(
          &q[size_t(h) * kDim], keys.count(), 0.125,
          [&](int32_t t, const double** kr, const double** vr) {
            *kr = &k[size_t(keys.first + t) * kDim];
            *vr = &v[size_t(keys.first + t) * kDim];
          },
          &ref, h, o.row(h));
    }
    return ref;
  }
  // A "kernel" that computed `got`, rounded to bf16, against the reference of `options`.
  ::testing::AssertionResult kernel_passes(const AttentionReference& got) const {
    std::vector<double> o(got.o.size());
    std::vector<float> lse(got.rows);
    for (size_t i = 0; i < o.size(); ++i) o[i] = round_to(1, float(got.o[i]));
    for (int32_t i = 0; i < got.rows; ++i) lse[i] = float(got.lse[i]);
    return matches_reference(reference(options), o, lse.data(), attention_precision(1, 1), kHeads);
  }
};

TEST_F(OptionsRefused, accepts_the_reference_and_refuses_each_option_gotten_wrong) {
  EXPECT_TRUE(kernel_passes(reference(options)));
  struct Wrong {
    const char* what;
    void (*spoil)(AttentionOptions&);
  };
  const Wrong wrongs[] = {
      {"no soft-cap", [](AttentionOptions& o) { o.soft_cap = 0; }},
      {"k_scale ignored", [](AttentionOptions& o) { o.k_scale = 1; }},
      {"v_scale ignored", [](AttentionOptions& o) { o.v_scale = 1; }},
      {"no sink", [](AttentionOptions& o) { o.sinks.clear(); }},
      {"each sink counted twice",
       [](AttentionOptions& o) {
         for (double& s : o.sinks) s += std::log(2.0);
       }},
      {"window one key short", [](AttentionOptions& o) { o.window_left = 14; }},
      {"window one key long", [](AttentionOptions& o) { o.window_left = 16; }},
      {"no window", [](AttentionOptions& o) { o.window_left = -1; }},
  };
  for (const Wrong& w : wrongs) {
    AttentionOptions spoiled = options;
    w.spoil(spoiled);
    EXPECT_FALSE(kernel_passes(reference(spoiled))) << w.what;
  }
}

}  // namespace
