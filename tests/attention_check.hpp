// The one float64 attention reference and the one comparison of attention outputs (o, lse) with
// it, shared by every attention test (decode, shared prefix, cascades, merges). Host code only:
// tests/test_attention_check_host.cpp proves on the host that the comparison rejects a kernel
// that drops one 16-token tile of a 32768-token request and accepts a correct one.
//
// The bounds, per output row r (one request and query head):
//   o:   ||o_r - ref_r|| / ||ref_r|| <= 3 u_out + u_q * score_rms_r + 2^-14
//   lse: |lse_r - ref_r|            <= 2 u_q * lse_q_bound_r * log2(e) + 2^-14 (1 + |ref_r|)
// u_out, u_q: unit roundoff of the output and query types (2^-11 f16, 2^-8 bf16, 2^-24 f32).
//  - 3 u_out: the roundings of a correct kernel to the output type (the tensor-core kernels round
//    the softmax weights before P V, split partials are stored in the output type, the result is
//    rounded); each contributes about 0.4 u_out to the row's relative norm, so a same-precision
//    model of the kernel measures about 1 u_out (test_attention_check_host.cpp).
//  - u_q * score_rms_r: the tensor-core kernels round q * sm_scale to the query type, which moves
//    every score by about u_q times score_rms_r = sm_scale * sqrt(sum_t w_t sum_d q_d^2 k_td^2)
//    (w: the softmax weights); o moves by about as much, relatively.
//  - the same rounding moves lse by sm_scale * sum_d dq_d kbar_d (kbar = sum_t w_t k_t), at most
//    u_q * lse_q_bound_r with lse_q_bound_r = sm_scale * sum_d |q_d| |kbar_d| (nats).
//  - 2^-14 and 2^-14 (1 + |lse|): float32 arithmetic with ex2/lg2.approx (decode measured about
//    1e-6 relative; a merge of n states adds up to n float32 roundings to its sum).
// A kernel that drops a fraction f of a row's tokens moves o by about sqrt(f) relatively (one
// 16-token tile of 32768: 2%, above bf16's bound of 1.6% in most heads) and lse by f / ln 2.
// A row without tokens must give o = 0 exactly and lse = -inf (with a sink: lse = sink / ln 2);
// NaN anywhere fails.
//
// The attention options (baracuda_flashinfer_attention_options) are applied here, in attend():
// scores s = sm_scale * k_scale * q.k, soft-capped to s' = cap * tanh(s / cap), a sink adding
// e^sink to the denominator and nothing to o, o scaled by v_scale; the sliding window and the
// causal mask choose a row's keys (kept_keys()). The bounds change in two places:
//  - score_rms and lse_q_bound are the scores' sensitivity to q, so the soft-cap's slope
//    1 - tanh^2 enters them (the rounding of q moves a capped score by less);
//  - the kernels' tanh is tanh.approx.f32 (relative error <= 2^-10.987), which moves each capped
//    score by up to that fraction of itself: o by about kTanhApproxError * soft_cap_rms_r
//    relatively (soft_cap_rms_r = sqrt(sum_t w_t s'_t^2)) and lse by at most
//    kTanhApproxError * soft_cap_abs_r / ln 2 (soft_cap_abs_r = sum_t w_t |s'_t|).
// v_scale multiplies o (relative errors unchanged); the sink is an exact term of the sum.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace bfi_test {

// Unit roundoff of an element type by code (0 f16, 1 bf16, 2 f32).
inline double unit_roundoff(int32_t element) {
  return element == 0   ? std::ldexp(1.0, -11)
         : element == 1 ? std::ldexp(1.0, -8)
                        : std::ldexp(1.0, -24);
}

// The float64 reference of `rows` attention rows of head_dim values, with the per-row facts
// the bounds need (above).
struct AttentionReference {
  int32_t rows = 0, head_dim = 0;
  std::vector<double> o;            // [rows, head_dim]
  std::vector<double> lse;          // [rows], base 2; -inf for a row without tokens (and sink)
  std::vector<double> score_rms;    // [rows]
  std::vector<double> lse_q_bound;  // [rows], nats
  std::vector<int32_t> keys;        // [rows]: keys the row attended (-1: not recorded)
  std::vector<double> soft_cap_rms, soft_cap_abs;  // [rows]: 0 without a soft-cap
  AttentionReference() = default;
  AttentionReference(int32_t r, int32_t d)
      : rows(r),
        head_dim(d),
        o(size_t(r) * d, 0.0),
        lse(r, -std::numeric_limits<double>::infinity()),
        score_rms(r, 0.0),
        lse_q_bound(r, 0.0),
        keys(r, -1),
        soft_cap_rms(r, 0.0),
        soft_cap_abs(r, 0.0) {}
};

// The relative error bound of tanh.approx.f32 (PTX ISA: 2^-10.987), the soft-cap's tanh.
inline const double kTanhApproxError = std::exp2(-10.987);

// The options attend() applies to one row (the library's attention options, per query head;
// the window and the layout choose which keys the row sees). Defaults: plain softmax attention.
struct RowOptions {
  double soft_cap = 0;  // > 0: s -> cap * tanh(s / cap)
  double k_scale = 1, v_scale = 1;
  bool has_sink = false;
  double sink = 0;  // natural-log logit in the scaled-score domain: e^sink joins the denominator
};

// The options of a call: the sliding window and RowOptions for each query head.
struct AttentionOptions {
  int32_t window_left = -1;  // -1: none
  double soft_cap = 0, k_scale = 1, v_scale = 1;
  std::vector<double> sinks;  // [Hq]; empty: no sinks
  RowOptions row(int32_t head) const {
    RowOptions r;
    r.soft_cap = soft_cap;
    r.k_scale = k_scale;
    r.v_scale = v_scale;
    r.has_sink = !sinks.empty();
    r.sink = r.has_sink ? sinks[size_t(head)] : 0.0;
    return r;
  }
};

// Keys [first, end) that query i (0-based) of a request with qo_len queries and kv_len keys
// keeps: causal is bottom-right aligned (key j <= i + kv_len - qo_len), a sliding window keeps
// key j when j + qo_len + window_left >= kv_len + i. Decode is qo_len = 1, query 0: the last
// window_left + 1 keys.
struct KeyRange {
  int32_t first, end;
  int32_t count() const { return end - first; }
};
inline KeyRange kept_keys(int32_t qo_len, int32_t kv_len, int32_t i, bool causal,
                          int32_t window_left) {
  const int64_t diagonal = int64_t(kv_len) - qo_len + i;  // the last key a causal row keeps
  const int32_t end = causal ? int32_t(std::clamp<int64_t>(diagonal + 1, 0, kv_len)) : kv_len;
  const int32_t first =
      window_left >= 0 ? int32_t(std::clamp<int64_t>(diagonal - window_left, 0, end)) : 0;
  return {first, end};
}

// Attention of one query row q[D] over n tokens: token_rows(t, &k, &v) gives token t's key and
// value rows (D values of type Value each, the exact stored values). Writes row `r` of `ref`.
// `options`: the soft-cap, the K / V scales and the sink of this row (defaults: none).
template <class Value = double, class TokenRows>
void attend(const double* q, int32_t n, double sm_scale, TokenRows token_rows,
            AttentionReference* ref, int32_t r, const RowOptions& options = RowOptions{}) {
  const int32_t D = ref->head_dim;
  double* o = &ref->o[size_t(r) * D];
  std::fill(o, o + D, 0.0);
  if (size_t(r) < ref->keys.size()) ref->keys[r] = n;
  if (size_t(r) < ref->soft_cap_rms.size()) ref->soft_cap_rms[r] = ref->soft_cap_abs[r] = 0;
  if (n == 0) {
    ref->lse[r] =
        options.has_sink ? options.sink / std::log(2.0) : -std::numeric_limits<double>::infinity();
    ref->score_rms[r] = ref->lse_q_bound[r] = 0;
    return;
  }
  const double scale = sm_scale * options.k_scale;
  const double cap = options.soft_cap;
  // slope: d(capped score) / d(raw score), 1 without a soft-cap.
  std::vector<double> scores(n), square(n), capped(cap > 0 ? n : 0), slope(cap > 0 ? n : 0);
  double m = options.has_sink ? options.sink : -std::numeric_limits<double>::infinity();
  for (int32_t t = 0; t < n; ++t) {
    const Value *k, *v;
    token_rows(t, &k, &v);
    double dot = 0, sq = 0;
    for (int32_t d = 0; d < D; ++d) {
      const double x = q[d] * k[d];
      dot += x;
      sq += x * x;
    }
    scores[t] = dot * scale;
    if (cap > 0) {
      const double th = std::tanh(scores[t] / cap);
      scores[t] = capped[t] = cap * th;
      slope[t] = 1 - th * th;
    }
    square[t] = sq;
    m = std::max(m, scores[t]);
  }
  double sum = 0;
  for (int32_t t = 0; t < n; ++t) sum += (scores[t] = std::exp(scores[t] - m));
  if (options.has_sink) sum += std::exp(options.sink - m);
  std::vector<double> kbar(D, 0.0);
  double second = 0, cap_second = 0, cap_abs = 0;
  for (int32_t t = 0; t < n; ++t) {
    const Value *k, *v;
    token_rows(t, &k, &v);
    const double w = scores[t] / sum;
    const double wk = cap > 0 ? w * slope[t] : w;  // the score's sensitivity to q, weighted
    for (int32_t d = 0; d < D; ++d) {
      o[d] += w * v[d];
      kbar[d] += wk * k[d];
    }
    second += cap > 0 ? wk * slope[t] * square[t] : w * square[t];
    if (cap > 0) {
      cap_second += w * capped[t] * capped[t];
      cap_abs += w * std::fabs(capped[t]);
    }
  }
  if (options.v_scale != 1) {
    for (int32_t d = 0; d < D; ++d) o[d] *= options.v_scale;
  }
  double bound = 0;
  for (int32_t d = 0; d < D; ++d) bound += std::fabs(q[d]) * std::fabs(kbar[d]);
  ref->lse[r] = (m + std::log(sum)) / std::log(2.0);
  ref->score_rms[r] = scale * std::sqrt(second);
  ref->lse_q_bound[r] = scale * bound;
  if (cap > 0 && size_t(r) < ref->soft_cap_rms.size()) {
    ref->soft_cap_rms[r] = std::sqrt(cap_second);
    ref->soft_cap_abs[r] = cap_abs;
  }
}

// What the bounds assume of the kernel: its output type and the type it rounds q to (the
// merges have no q: u_q = 0).
struct AttentionPrecision {
  double u_out, u_q;
};
inline AttentionPrecision attention_precision(int32_t out_element, int32_t q_element) {
  return {unit_roundoff(out_element), unit_roundoff(q_element)};
}
inline AttentionPrecision merge_precision(int32_t out_element) {
  return {unit_roundoff(out_element), 0.0};
}

inline double o_bound(const AttentionPrecision& p, double score_rms, double soft_cap_rms = 0) {
  return 3 * p.u_out + p.u_q * score_rms + kTanhApproxError * soft_cap_rms + std::ldexp(1.0, -14);
}
inline double lse_bound(const AttentionPrecision& p, double lse_q_bound, double ref_lse,
                        double soft_cap_abs = 0) {
  return (2 * p.u_q * lse_q_bound + kTanhApproxError * soft_cap_abs) / std::log(2.0) +
         std::ldexp(1.0, -14) * (1 + std::fabs(ref_lse));
}

// Compares kernel outputs with the reference: o [rows, head_dim] (converted to double), lse
// [rows] (nullptr: not compared). `heads` names rows as (request, head) in the message. Reports
// the worst row of o and of lse against its bound.
inline ::testing::AssertionResult matches_reference(const AttentionReference& ref,
                                                    const std::vector<double>& o, const float* lse,
                                                    const AttentionPrecision& p,
                                                    int32_t heads = 1) {
  const int32_t D = ref.head_dim;
  if (o.size() != size_t(ref.rows) * D) {
    return ::testing::AssertionFailure()
           << "o has " << o.size() << " values, the reference " << size_t(ref.rows) * D;
  }
  double worst_o = 0, worst_o_bound = 0, worst_lse = 0, worst_lse_bound = 0;
  int32_t worst_o_row = -1, worst_lse_row = -1, failed_o = 0, failed_lse = 0, bad_empty = 0;
  int32_t first_bad_empty = -1;
  const auto recorded = [](const std::vector<double>& v, int32_t r) {
    return size_t(r) < v.size() ? v[r] : 0.0;
  };
  for (int32_t r = 0; r < ref.rows; ++r) {
    const double* want = &ref.o[size_t(r) * D];
    const double* got = &o[size_t(r) * D];
    const bool no_keys =
        size_t(r) < ref.keys.size() && ref.keys[r] >= 0 ? ref.keys[r] == 0 : std::isinf(ref.lse[r]);
    if (no_keys) {  // o = 0 exactly; lse = -inf, or the sink's lse
      bool ok = true;
      if (lse != nullptr && std::isinf(ref.lse[r])) ok = std::isinf(lse[r]) && lse[r] < 0;
      if (lse != nullptr && !std::isinf(ref.lse[r])) {
        ok = std::fabs(double(lse[r]) - ref.lse[r]) <= lse_bound(p, 0.0, ref.lse[r]);
      }
      for (int32_t d = 0; d < D; ++d) ok = ok && got[d] == 0.0;
      if (!ok && bad_empty++ == 0) first_bad_empty = r;
      continue;
    }
    double err = 0, norm = 0;
    for (int32_t d = 0; d < D; ++d) {
      err += (got[d] - want[d]) * (got[d] - want[d]);
      norm += want[d] * want[d];
    }
    const double bound = o_bound(p, ref.score_rms[r], recorded(ref.soft_cap_rms, r));
    double rel = norm > 0 ? std::sqrt(err / norm) : std::sqrt(err);
    if (!std::isfinite(rel)) rel = std::numeric_limits<double>::infinity();
    if (!(rel <= bound)) ++failed_o;
    if (worst_o_row < 0 || !(rel / bound <= worst_o / worst_o_bound)) {
      worst_o = rel, worst_o_bound = bound, worst_o_row = r;
    }
    if (lse == nullptr) continue;
    const double lb = lse_bound(p, ref.lse_q_bound[r], ref.lse[r], recorded(ref.soft_cap_abs, r));
    double e = std::fabs(double(lse[r]) - ref.lse[r]);
    if (!std::isfinite(e)) e = std::numeric_limits<double>::infinity();
    if (!(e <= lb)) ++failed_lse;
    if (worst_lse_row < 0 || !(e / lb <= worst_lse / worst_lse_bound)) {
      worst_lse = e, worst_lse_bound = lb, worst_lse_row = r;
    }
  }
  const auto where = [heads](int32_t r) {
    char s[64];
    std::snprintf(s, sizeof(s), "row %d (request %d, head %d)", r, r / heads, r % heads);
    return std::string(s);
  };
  char line[256];
  std::string report;
  if (worst_o_row >= 0) {
    std::snprintf(line, sizeof(line), "worst o: %s: |o - ref| / |ref| = %.3g, bound %.3g",
                  where(worst_o_row).c_str(), worst_o, worst_o_bound);
    report += line;
  }
  if (worst_lse_row >= 0) {
    std::snprintf(line, sizeof(line), "; worst lse: %s: |lse - ref| = %.3g (ref %.6g), bound %.3g",
                  where(worst_lse_row).c_str(), worst_lse, ref.lse[worst_lse_row], worst_lse_bound);
    report += line;
  }
  if (failed_o == 0 && failed_lse == 0 && bad_empty == 0) {
    return ::testing::AssertionSuccess() << report;
  }
  ::testing::AssertionResult fail = ::testing::AssertionFailure();
  fail << failed_o << " of " << ref.rows << " rows fail the o bound, " << failed_lse
       << " the lse bound";
  if (bad_empty) {
    fail << ", " << bad_empty
         << " rows without tokens are not (o = 0, lse = -inf or the sink's) (first: "
         << where(first_bad_empty) << ")";
  }
  return fail << "; " << report;
}

}  // namespace bfi_test
