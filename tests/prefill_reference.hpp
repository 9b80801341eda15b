// The float64 reference of batch prefill and the comparison of a kernel's output with it. Plain
// C++ (no CUDA), so the host tests can prove that the comparison fails a wrong kernel.
//
// Bounds, per (query row, query head), with u the unit roundoff of the output type (2^-8 bf16,
// 2^-11 f16) and the reference computed in float64 from the exact stored inputs:
//   ||o - ref|| / ||ref|| <= 5u    (2e-2 bf16, 2.4e-3 f16)
//   |lse - ref_lse|      <= 5u    (base 2)
// The kernels' error budget is about 4u, all of it from roundings to the output type: the output
// itself (<= u per element), split-KV partial outputs stored in the output type (<= u more), the
// softmax weights P rounded to the input type before the P.V MMA (relative <= u per weight,
// independent, so about u / sqrt(3) on the norm), and FA2's rounding of q * sm_scale to the input
// type (relative <= u on each score: about 0.7u on o and on lse for this data, q in [-3, 3] and
// K, V in [-1, 1]). f32 accumulation and exp2.approx add ~1e-6.
// A kernel that drops n of a row's L keys (one KV tile) moves o by about sqrt(n / L) of its norm
// (o is a weighted mean of independent random V rows): 0.06 for a 128-key tile at L = 32768, the
// longest KV the GPU tests use, three times the bf16 bound. test_prefill_host checks both sides
// of that claim on this data.
// Rows that keep no key must be exact: o == 0 and lse == -inf.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace bfi_test {

// A batch of attention problems: request b has q_indptr[b+1] - q_indptr[b] query rows and
// kv_len[b] keys.
struct AttentionBatch {
  int32_t num_qo_heads = 0, num_kv_heads = 0, head_dim = 0;
  bool causal = false;
  float sm_scale = 0.f;
  std::vector<int32_t> q_indptr;  // [B + 1]
  std::vector<int32_t> kv_len;    // [B]
  const float* q = nullptr;       // [rows, Hq, D]: the exact stored values
  const float* k = nullptr;
  const float* v = nullptr;
  // Element offset in k / v of key j of request b at KV head 0; KV head h adds h * kv_head_stride.
  std::function<size_t(int32_t b, int32_t j)> key_offset;
  size_t kv_head_stride = 0;

  int32_t batch() const { return static_cast<int32_t>(kv_len.size()); }
  int32_t rows() const { return q_indptr.empty() ? 0 : q_indptr.back(); }
};

// Keys [0, keys_kept) that query i (0-based in its request) keeps: causal is bottom-right aligned.
inline int32_t keys_kept(bool causal, int32_t q_len, int32_t kv_len, int32_t i) {
  if (!causal) return kv_len;
  return std::clamp(i + kv_len - q_len + 1, 0, kv_len);
}

// The reference of some rows of a batch.
struct Reference {
  std::vector<int32_t> rows;  // global query rows, ascending
  std::vector<int32_t> kept;  // keys each row keeps
  std::vector<double> o;      // [rows.size(), Hq, D]
  std::vector<double> lse;    // [rows.size(), Hq], base 2; -inf where the row keeps no key
};

inline std::vector<int32_t> all_rows(const AttentionBatch& a) {
  std::vector<int32_t> rows(a.rows());
  for (int32_t r = 0; r < a.rows(); ++r) rows[r] = r;
  return rows;
}

// Runs body(i) for i in [0, n) on every hardware thread.
template <class Body>
void parallel_for(int64_t n, Body body) {
  const int64_t threads =
      std::min<int64_t>(std::max(1u, std::thread::hardware_concurrency()), std::max<int64_t>(n, 1));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) body(i);
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

// float64 attention of `rows` (global row ids, ascending), every query head.
inline Reference reference(const AttentionBatch& a, std::vector<int32_t> rows) {
  const int32_t hq = a.num_qo_heads, D = a.head_dim, group = hq / a.num_kv_heads;
  Reference ref;
  ref.rows = std::move(rows);
  const size_t n = ref.rows.size();
  ref.kept.assign(n, 0);
  ref.o.assign(n * hq * D, 0.0);
  ref.lse.assign(n * hq, -std::numeric_limits<double>::infinity());
  // Each request's key offsets, once.
  std::vector<std::vector<size_t>> offsets(a.batch());
  parallel_for(a.batch(), [&](int64_t b) {
    offsets[b].resize(a.kv_len[b]);
    for (int32_t j = 0; j < a.kv_len[b]; ++j) offsets[b][j] = a.key_offset(int32_t(b), j);
  });
  parallel_for(int64_t(n), [&](int64_t i) {
    const int32_t row = ref.rows[i];
    const int32_t b =
        int32_t(std::upper_bound(a.q_indptr.begin(), a.q_indptr.end(), row) - a.q_indptr.begin()) -
        1;
    const int32_t q_len = a.q_indptr[b + 1] - a.q_indptr[b];
    const int32_t kept = keys_kept(a.causal, q_len, a.kv_len[b], row - a.q_indptr[b]);
    ref.kept[i] = kept;
    if (kept == 0) return;
    std::vector<double> scores(kept);
    for (int32_t h = 0; h < hq; ++h) {
      const float* q = a.q + (size_t(row) * hq + h) * D;
      const size_t head = size_t(h / group) * a.kv_head_stride;
      double m = -std::numeric_limits<double>::infinity();
      for (int32_t j = 0; j < kept; ++j) {
        const float* k = a.k + offsets[b][j] + head;
        double s[4] = {0, 0, 0, 0};  // independent sums: the loop pipelines
        for (int32_t d = 0; d < D; d += 4) {
          for (int32_t l = 0; l < 4; ++l) s[l] += double(q[d + l]) * double(k[d + l]);
        }
        scores[j] = (s[0] + s[1] + s[2] + s[3]) * double(a.sm_scale);
        m = std::max(m, scores[j]);
      }
      double sum = 0;
      for (int32_t j = 0; j < kept; ++j) sum += (scores[j] = std::exp(scores[j] - m));
      double* o = &ref.o[(i * hq + h) * D];
      for (int32_t j = 0; j < kept; ++j) {
        const float* v = a.v + offsets[b][j] + head;
        const double w = scores[j] / sum;
        for (int32_t d = 0; d < D; ++d) o[d] += w * double(v[d]);
      }
      ref.lse[i * hq + h] = (m + std::log(sum)) / std::log(2.0);
    }
  });
  return ref;
}

// Rows `whole_rows` (global rows of whole's batch, each computed in `whole`) renumbered 0, 1, ...:
// the reference of a run whose rows are some of the batch's, in the run's own order.
inline Reference select_rows(const Reference& whole, int32_t hq, int32_t D,
                             const std::vector<int32_t>& whole_rows) {
  Reference r;
  for (size_t i = 0; i < whole_rows.size(); ++i) {
    const size_t at = size_t(std::lower_bound(whole.rows.begin(), whole.rows.end(), whole_rows[i]) -
                             whole.rows.begin());
    r.rows.push_back(int32_t(i));
    r.kept.push_back(whole.kept[at]);
    r.o.insert(r.o.end(), whole.o.begin() + at * hq * D, whole.o.begin() + (at + 1) * hq * D);
    r.lse.insert(r.lse.end(), whole.lse.begin() + at * hq, whole.lse.begin() + (at + 1) * hq);
  }
  return r;
}

// Unit roundoff of the output type: bf16 (element 1) 2^-8, f16 (element 0) 2^-11.
inline double unit_roundoff(int32_t element) {
  return element == 1 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
}

struct Tolerance {
  double o_rel;    // on ||o - ref|| / ||ref|| per (row, head)
  double lse_abs;  // on |lse - ref| per (row, head), base 2
};
inline Tolerance prefill_tolerance(int32_t element) {
  const double u = unit_roundoff(element);
  return {5 * u, 5 * u};
}

// The outcome of comparing a kernel's o / lse with a Reference.
struct Comparison {
  int64_t checked = 0;      // (row, head) pairs compared
  int64_t o_over = 0;       // relative o error above the bound (NaN and inf count)
  int64_t lse_over = 0;     // lse error above the bound
  int64_t empty_wrong = 0;  // rows keeping no key without o == 0 exactly and lse == -inf
  double worst_o = 0, worst_lse = 0;
  int32_t worst_o_row = -1, worst_o_head = -1;
  std::string first_failure;

  bool ok() const { return o_over == 0 && lse_over == 0 && empty_wrong == 0; }
  std::string summary() const {
    char s[512];
    std::snprintf(s, sizeof(s),
                  "%lld (row, head) checked: %lld over the o bound, %lld over the lse bound, %lld "
                  "empty rows not (0, -inf); worst relative o error %.3g (row %d head %d), worst "
                  "lse error %.3g; first failure: %s",
                  static_cast<long long>(checked), static_cast<long long>(o_over),
                  static_cast<long long>(lse_over), static_cast<long long>(empty_wrong), worst_o,
                  worst_o_row, worst_o_head, worst_lse,
                  first_failure.empty() ? "none" : first_failure.c_str());
    return s;
  }
};

// Compares the reference's rows of o ([any rows, Hq, D], indexed by global row) and of lse
// ([any rows, Hq]; NULL: not compared) with the bounds.
inline Comparison compare(const Reference& ref, int32_t hq, int32_t D, const std::vector<double>& o,
                          const std::vector<double>* lse, const Tolerance& tol) {
  Comparison c;
  auto note = [&c](const char* what, int32_t row, int32_t h, double x) {
    if (!c.first_failure.empty()) return;
    char s[160];
    std::snprintf(s, sizeof(s), "%s at row %d head %d (%.6g)", what, row, h, x);
    c.first_failure = s;
  };
  for (size_t i = 0; i < ref.rows.size(); ++i) {
    const int32_t row = ref.rows[i];
    for (int32_t h = 0; h < hq; ++h) {
      ++c.checked;
      const double* got = &o[(size_t(row) * hq + h) * D];
      const double* want = &ref.o[(i * hq + h) * D];
      const double got_lse = lse ? (*lse)[size_t(row) * hq + h] : 0.0;
      if (ref.kept[i] == 0) {
        const bool zero = std::all_of(got, got + D, [](double x) { return x == 0.0; });
        if (!zero || (lse && !(std::isinf(got_lse) && got_lse < 0))) {
          ++c.empty_wrong;
          note("row keeping no key is not o = 0, lse = -inf", row, h, lse ? got_lse : got[0]);
        }
        continue;
      }
      double err2 = 0, ref2 = 0;
      for (int32_t d = 0; d < D; ++d) {
        err2 += (got[d] - want[d]) * (got[d] - want[d]);
        ref2 += want[d] * want[d];
      }
      const double rel = std::sqrt(err2 / ref2);
      if (!(rel <= tol.o_rel)) {  // NaN fails too
        ++c.o_over;
        note("relative o error", row, h, rel);
      }
      if (!(rel <= c.worst_o)) {
        c.worst_o = std::isnan(rel) ? INFINITY : rel;
        c.worst_o_row = row;
        c.worst_o_head = h;
      }
      if (lse) {
        const double e = std::fabs(got_lse - ref.lse[i * hq + h]);
        if (!(e <= tol.lse_abs)) {
          ++c.lse_over;
          note("lse error", row, h, got_lse);
        }
        c.worst_lse = std::max(c.worst_lse, std::isnan(e) ? INFINITY : e);
      }
    }
  }
  return c;
}

}  // namespace bfi_test
