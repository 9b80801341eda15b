// Paged-KV decode problems for GPU tests: a cache of random values in shuffled pages, its
// float64 reference (o and base-2 lse), runs of the decode symbols with NaN-poisoned outputs, and
// the comparison with the per-dtype error bounds below.
//
// Every output is NaN-poisoned before each run, so an unwritten element fails the comparison.
//
// Error bounds (|out - ref| on o, whose values are convex combinations of V in [-1, 1]; the
// reference uses the exact stored K/V/Q values, so only the kernel's arithmetic is measured):
//   f32 KV and output: 2e-5 (f32 accumulation, exp2.approx)
//   f16 output:        2e-3 (output rounding 2^-11, plus one more for split partials)
//   bf16 output:       1.6e-2 (output rounding 2^-8, plus one more for split partials)
//   lse, relative to max(1, |lse|): f32 2e-4; f16 1e-3; bf16 4e-3. The CUDA-core kernel keeps q
//   in f32 (measured <= 2e-6); the tensor-core (FA2) kernel scales q by sm_scale in its input
//   type before the MMA, one rounding of q: 2^-11 (f16), 2^-8 (bf16) relative on the scores.
// fp8 KV variants use the f16/bf16 bound of their output type: fp8 quantisation is in the
// reference's inputs, not in the error.
#pragma once

#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "decode_symbols.hpp"
#include "gpu_util.hpp"

namespace bfi_test {

inline int32_t qo_element(int32_t element) {
  return element <= 2 ? element : (element <= 4 ? 0 : 1);
}
inline int fp8_kind(int32_t element) {
  return element <= 2 ? -1 : (element - 3) % 2;
}
inline size_t kv_bytes(int32_t element) {
  return element <= 2 ? element_bytes(element) : 1;
}

struct Shape {
  int32_t element, batch, hq, hkv, head_dim, page;
  int32_t max_len;          // lengths drawn in [0, max_len]
  bool force_edge_lengths;  // include 0, exactly-full pages and 1-token requests
};

// A paged KV cache with shuffled physical pages, filled with random values; the host keeps the
// exact stored values (as double) for the reference.
struct PagedProblem {
  Shape s;
  std::vector<int32_t> lens, indptr, indices, last_page_len;
  int32_t num_pages = 0;
  std::vector<double> k, v, q;  // dequantised stored values
  DeviceBuffer d_k, d_v, d_q, d_indices, d_indptr, d_lpl;
};

inline void fill_values(int32_t element, bool is_kv, size_t count, std::vector<double>* exact,
                        DeviceBuffer* dev, float lo, float hi) {
  const int kind = is_kv ? fp8_kind(element) : -1;
  const int32_t e = qo_element(element);
  const size_t bytes = is_kv ? kv_bytes(element) : element_bytes(e);
  std::vector<unsigned char> host(count * bytes);
  exact->resize(count);
  for (size_t i = 0; i < count; ++i) {
    const float x = uniform(lo, hi);
    if (kind >= 0) {
      host[i] = to_fp8(kind, x);
      (*exact)[i] = from_fp8(kind, host[i]);
    } else {
      store_element(e, host.data(), i, x);
      (*exact)[i] = load_element(e, host.data(), i);
    }
  }
  *dev = to_device(host);
}

// Page-table layout for the given lengths: `lens` (tokens) -> indptr / shuffled indices / lpl.
inline void build_page_table(PagedProblem& p) {
  const int32_t P = p.s.page;
  p.indptr.assign(1, 0);
  p.last_page_len.clear();
  for (int32_t len : p.lens) {
    const int32_t pages = (len + P - 1) / P;
    p.indptr.push_back(p.indptr.back() + pages);
    p.last_page_len.push_back(pages == 0 ? 1 : len - (pages - 1) * P);  // 1..P; unused if empty
  }
  p.num_pages = p.indptr.back() + 3;  // a few pages nobody references
  std::vector<int32_t> perm(p.num_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  p.indices.assign(perm.begin(), perm.begin() + p.indptr.back());
}

inline void upload_page_table(PagedProblem& p) {
  p.d_indices = to_device(p.indices.empty() ? std::vector<int32_t>{0} : p.indices);
  p.d_indptr = to_device(p.indptr);
  p.d_lpl = to_device(p.last_page_len);
}

inline std::vector<int32_t> draw_lengths(const Shape& s) {
  std::vector<int32_t> lens(s.batch);
  for (int32_t b = 0; b < s.batch; ++b) lens[b] = uniform_int(0, s.max_len);
  if (s.force_edge_lengths && s.batch >= 3) {
    lens[0] = 0;                                         // empty request
    lens[1] = std::max(1, s.max_len / s.page) * s.page;  // last page exactly full
    lens[s.batch - 1] = 1;                               // a single token
  }
  return lens;
}

// A problem with the given request lengths (tokens), K/V/q filled with fresh random values.
inline PagedProblem make_problem_with_lengths(const Shape& s, std::vector<int32_t> lens) {
  PagedProblem p;
  p.s = s;
  p.lens = std::move(lens);
  build_page_table(p);
  const size_t kv_count = size_t(p.num_pages) * s.hkv * s.page * s.head_dim;
  fill_values(s.element, true, kv_count, &p.k, &p.d_k, -1.f, 1.f);
  fill_values(s.element, true, kv_count, &p.v, &p.d_v, -1.f, 1.f);
  fill_values(s.element, false, size_t(s.batch) * s.hq * s.head_dim, &p.q, &p.d_q, -3.f, 3.f);
  upload_page_table(p);
  return p;
}

// NaN (all-ones bytes) into every cache slot no request owns: the slots of each request's last page
// past last_page_len and the unreferenced pages, K and V. A kernel that lets a stale slot reach
// its output fails the comparison (attention must never read past a request's length).
inline void poison_stale_slots(const PagedProblem& p) {
  const Shape& s = p.s;
  const size_t row_bytes = size_t(s.head_dim) * kv_bytes(s.element);
  const size_t page_bytes = size_t(s.hkv) * s.page * row_bytes;
  std::vector<bool> owned(p.num_pages, false);
  for (int32_t i : p.indices) owned[i] = true;
  for (const DeviceBuffer* cache : {&p.d_k, &p.d_v}) {
    char* base = static_cast<char*>(cache->ptr);
    for (int32_t page = 0; page < p.num_pages; ++page) {
      if (!owned[page]) CUDA_OK(cudaMemset(base + page * page_bytes, 0xFF, page_bytes));
    }
    for (int32_t b = 0; b < s.batch; ++b) {
      if (p.indptr[b + 1] == p.indptr[b] || p.last_page_len[b] == s.page) continue;
      const size_t page = size_t(p.indices[p.indptr[b + 1] - 1]);
      for (int32_t h = 0; h < s.hkv; ++h) {
        const size_t slot = (page * s.hkv + h) * s.page + p.last_page_len[b];
        CUDA_OK(
            cudaMemset(base + slot * row_bytes, 0xFF, (s.page - p.last_page_len[b]) * row_bytes));
      }
    }
  }
}

inline PagedProblem make_problem(const Shape& s) {
  return make_problem_with_lengths(s, draw_lengths(s));
}

// float64 reference for request b, query head h: returns o (head_dim values) and lse (base 2).
inline void reference(const PagedProblem& p, float sm_scale, std::vector<double>* o,
                      std::vector<double>* lse) {
  const Shape& s = p.s;
  const int32_t D = s.head_dim, P = s.page, g = s.hq / s.hkv;
  o->assign(size_t(s.batch) * s.hq * D, 0.0);
  lse->assign(size_t(s.batch) * s.hq, -std::numeric_limits<double>::infinity());
  std::vector<double> scores;
  for (int32_t b = 0; b < s.batch; ++b) {
    const int32_t len = p.lens[b];
    if (len == 0) continue;
    for (int32_t h = 0; h < s.hq; ++h) {
      const int32_t kvh = h / g;
      const double* qv = &p.q[(size_t(b) * s.hq + h) * D];
      scores.resize(len);
      double m = -std::numeric_limits<double>::infinity();
      for (int32_t t = 0; t < len; ++t) {
        const int32_t page = p.indices[p.indptr[b] + t / P];
        const double* kv = &p.k[((size_t(page) * s.hkv + kvh) * P + t % P) * D];
        double dot = 0;
        for (int32_t d = 0; d < D; ++d) dot += qv[d] * kv[d];
        scores[t] = dot * sm_scale;
        m = std::max(m, scores[t]);
      }
      double sum = 0;
      for (int32_t t = 0; t < len; ++t) sum += (scores[t] = std::exp(scores[t] - m));
      double* out = &(*o)[(size_t(b) * s.hq + h) * D];
      for (int32_t t = 0; t < len; ++t) {
        const int32_t page = p.indices[p.indptr[b] + t / P];
        const double* vv = &p.v[((size_t(page) * s.hkv + kvh) * P + t % P) * D];
        const double w = scores[t] / sum;
        for (int32_t d = 0; d < D; ++d) out[d] += w * vv[d];
      }
      (*lse)[size_t(b) * s.hq + h] = (m + std::log(sum)) / std::log(2.0);
    }
  }
}

inline double lse_tolerance(int32_t element) {
  const int32_t e = qo_element(element);
  return e == 2 ? 2e-4 : (e == 0 ? 1e-3 : 4e-3);
}

inline double o_tolerance(int32_t element) {
  const int32_t e = qo_element(element);
  return e == 2 ? 2e-5 : (e == 0 ? 2e-3 : 1.6e-2);
}

enum class WorkspaceMode { kFull, kNone, kLegacy };

inline bool has_tensor_cores(int32_t element) {
  return element == 0 || element == 1;
}

struct Outputs {
  DeviceBuffer o, lse;
};

// Runs decode on `p` (outputs NaN-poisoned first) and returns the status.
// flags < 0: the element's _run symbol; otherwise paged_decode_run_with(element, flags, ...).
inline int32_t run_decode(const PagedProblem& p, float sm_scale, Outputs* out, WorkspaceMode mode,
                          DeviceBuffer* workspace, cudaStream_t stream, bool poison_outputs = true,
                          int32_t flags = -1) {
  const Shape& s = p.s;
  if (out->o.ptr == nullptr) {
    out->o =
        DeviceBuffer(size_t(s.batch) * s.hq * s.head_dim * element_bytes(qo_element(s.element)));
    out->lse = DeviceBuffer(size_t(s.batch) * s.hq * sizeof(float));
  }
  if (poison_outputs) {
    poison(out->o);
    poison(out->lse);
  }
  size_t ws_bytes = 0;
  if (mode == WorkspaceMode::kFull) {
    const int32_t st = baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
        s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes);
    if (st != 0) return st;
  } else if (mode == WorkspaceMode::kLegacy) {
    ws_bytes = baracuda_kernels_flashinfer_paged_decode_workspace_size(s.batch);
  }
  if (workspace->bytes < ws_bytes || workspace->ptr == nullptr) *workspace = DeviceBuffer(ws_bytes);
  if (ws_bytes) poison(*workspace);  // stale workspace must never matter
  if (flags >= 0) {
    return baracuda_kernels_flashinfer_paged_decode_run_with(
        s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
        p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr,
        ws_bytes ? workspace->ptr : nullptr, ws_bytes,
        reinterpret_cast<baracuda_flashinfer_stream_t>(stream));
  }
  return kDecodeRun[s.element](s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr,
                               p.d_v.ptr, p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr,
                               out->o.ptr, out->lse.ptr, ws_bytes ? workspace->ptr : nullptr,
                               ws_bytes, reinterpret_cast<baracuda_flashinfer_stream_t>(stream));
}

// Compares device outputs with the reference; returns the max o error (NaN -> infinity).
inline double compare(const PagedProblem& p, const Outputs& out, const std::vector<double>& ref_o,
                      const std::vector<double>& ref_lse, const char* label) {
  const Shape& s = p.s;
  const int32_t e = qo_element(s.element);
  std::vector<unsigned char> o = to_host<unsigned char>(out.o, out.o.bytes);
  std::vector<float> lse = to_host<float>(out.lse, size_t(s.batch) * s.hq);
  double max_err = 0, max_lse_err = 0;
  size_t bad_lse = 0;
  for (size_t i = 0; i < ref_o.size(); ++i) {
    const double x = load_element(e, o.data(), i);
    const double err = std::isfinite(x) ? std::fabs(x - ref_o[i]) : INFINITY;
    max_err = std::max(max_err, err);
  }
  for (size_t i = 0; i < ref_lse.size(); ++i) {
    const double r = ref_lse[i];
    if (std::isinf(r)) {
      if (!(std::isinf(lse[i]) && lse[i] < 0)) ++bad_lse;
      continue;
    }
    const double err =
        std::isfinite(lse[i]) ? std::fabs(lse[i] - r) / std::max(1.0, std::fabs(r)) : INFINITY;
    max_lse_err = std::max(max_lse_err, err);
  }
  const double tol = o_tolerance(s.element);
  CHECK_MSG(max_err <= tol && max_lse_err <= lse_tolerance(s.element) && bad_lse == 0,
            "%s %s B=%d Hq=%d Hkv=%d D=%d P=%d: max|o-ref|=%.3g (tol %.3g) max lse rel err=%.3g, "
            "%zu empty rows without lse=-inf",
            label, kDecodeElementNames[s.element], s.batch, s.hq, s.hkv, s.head_dim, s.page,
            max_err, tol, max_lse_err, bad_lse);
  return max_err;
}

}  // namespace bfi_test
