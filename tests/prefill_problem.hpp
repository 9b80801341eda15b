// Batch-prefill problems for the GPU tests: random Q/K/V (exact stored values kept for the float64
// reference of tests/prefill_reference.hpp) in a paged cache of shuffled pages or a ragged K/V,
// runs of prefill_*_run with NaN-poisoned outputs and workspace, and the checks of a run's output.
#pragma once

#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "gpu_util.hpp"
#include "prefill_reference.hpp"

namespace bfi_test {

inline bool gpu_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct Request {
  int32_t q_len, kv_len;
};

// What a problem is: the static sizes, the requests and the spare capacity beyond them.
struct PrefillSetup {
  int32_t element = BARACUDA_FLASHINFER_BF16;  // f16 or bf16 queries, 16-bit or fp8 K/V
  bool paged = true;
  int32_t page_size = 16;  // paged
  int32_t num_qo_heads = 8, num_kv_heads = 2, head_dim = 128;
  bool causal = true;
  std::vector<Request> requests;
  int32_t spare_q_rows = 0;     // max_q_rows - q_indptr[B]: q rows there hold random values
  int32_t spare_kv_rows = 0;    // ragged: max_kv_rows - kv_indptr[B]
  float spare_kv_value = 50.f;  // ragged: what the spare K/V rows hold (weight 0 must keep it out)
  int32_t spare_pages = 3;      // paged: pages no request references
  // paged: 0 = every request its own pages; else every request draws its pages (with
  // repetition) from a pool of this many, so long batches need little memory.
  int32_t page_pool = 0;
};

// One problem on the device, with the exact stored values on the host.
struct PrefillProblem {
  PrefillSetup s;
  int32_t batch = 0, max_q_rows = 0, max_kv_rows = 0, num_pages = 0;
  float sm_scale = 0.f;
  std::vector<int32_t> q_indptr, kv_len;
  std::vector<int32_t> kv_indptr;                  // paged: pages; ragged: rows
  std::vector<int32_t> kv_indices, last_page_len;  // paged
  // Exact stored values: q [max_q_rows, Hq, D]; k, v paged [pages, Hkv, P, D], ragged [rows, Hkv, D].
  std::vector<float> q, k, v;
  DeviceBuffer d_q, d_q_indptr, d_k, d_v, d_kv_indices, d_kv_indptr, d_last_page_len;

  int32_t rows() const { return q_indptr.back(); }
  size_t q_row_elements() const { return size_t(s.num_qo_heads) * s.head_dim; }
  // The float64 reference's view of this problem.
  AttentionBatch attention() const {
    AttentionBatch a;
    a.num_qo_heads = s.num_qo_heads;
    a.num_kv_heads = s.num_kv_heads;
    a.head_dim = s.head_dim;
    a.causal = s.causal;
    a.sm_scale = sm_scale;
    a.q_indptr = q_indptr;
    a.kv_len = kv_len;
    a.q = q.data();
    a.k = k.data();
    a.v = v.data();
    const size_t D = s.head_dim, P = s.page_size, hkv = s.num_kv_heads;
    if (s.paged) {
      a.kv_head_stride = P * D;
      a.key_offset = [this, D, P, hkv](int32_t b, int32_t j) {
        const size_t page = size_t(kv_indices[kv_indptr[b] + j / P]);
        return ((page * hkv) * P + j % P) * D;
      };
    } else {
      a.kv_head_stride = D;
      a.key_offset = [this, D, hkv](int32_t b, int32_t j) {
        return (size_t(kv_indptr[b]) + j) * hkv * D;
      };
    }
    return a;
  }
};

// count random values in [lo, hi) stored as `element`'s K/V (is_kv) or query type: the device
// copy and the exact stored values.
inline std::vector<uint8_t> random_values(int32_t element, bool is_kv, size_t count, float lo,
                                          float hi, std::vector<float>* exact,
                                          DeviceBuffer* device) {
  std::vector<uint8_t> bytes(count * value_bytes(element, is_kv));
  exact->resize(count);
  for (size_t i = 0; i < count; ++i) {
    store_value(element, is_kv, bytes.data(), i, uniform(lo, hi));
    (*exact)[i] = static_cast<float>(load_value(element, is_kv, bytes.data(), i));
  }
  *device = to_device(bytes);
  return bytes;
}

// Overwrites values [first, first + count) of a device array of `element`'s K/V (is_kv) or query
// type and its exact copy with x.
inline void fill_elements(int32_t element, bool is_kv, DeviceBuffer& device,
                          std::vector<float>& exact, size_t first, size_t count, float x) {
  if (count == 0) return;
  const size_t width = value_bytes(element, is_kv);
  std::vector<uint8_t> bytes(count * width);
  for (size_t i = 0; i < count; ++i) store_value(element, is_kv, bytes.data(), i, x);
  CUDA_WRITE(cudaMemcpy(static_cast<uint8_t*>(device.ptr) + first * width, bytes.data(),
                        bytes.size(), cudaMemcpyHostToDevice));
  std::fill(exact.begin() + first, exact.begin() + first + count,
            static_cast<float>(load_value(element, is_kv, bytes.data(), 0)));
}

template <typename T>
void upload_into(DeviceBuffer& device, const std::vector<T>& host) {
  if (!host.empty()) {
    CUDA_WRITE(cudaMemcpy(device.ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
}

// Query rows, keys and pages (of `page_size` tokens) of the requests.
struct Totals {
  int64_t rows = 0, keys = 0, pages = 0;
};
inline Totals totals(const std::vector<Request>& requests, int32_t page_size) {
  Totals t;
  for (const Request& r : requests) {
    t.rows += r.q_len;
    t.keys += r.kv_len;
    t.pages += (r.kv_len + page_size - 1) / page_size;
  }
  return t;
}

// The index arrays of `requests` (q_indptr, kv_len, kv_indptr and the page table), within the
// problem's capacity, uploaded into the existing device arrays (their addresses do not change: a
// captured graph sees the new layout).
inline void set_requests(PrefillProblem& p, const std::vector<Request>& requests) {
  const PrefillSetup& s = p.s;
  p.s.requests = requests;
  p.q_indptr.assign(1, 0);
  p.kv_len.clear();
  p.kv_indptr.assign(1, 0);
  p.kv_indices.clear();
  p.last_page_len.clear();
  const Totals t = totals(requests, s.page_size);
  ASSERT_LE(t.rows, p.max_q_rows) << "more rows than the problem holds";
  if (s.paged) {
    ASSERT_LE(t.pages * 4, int64_t(p.d_kv_indices.bytes)) << "more pages than the page table holds";
    ASSERT_TRUE(s.page_pool > 0 || t.pages <= p.num_pages) << "more pages than the cache holds";
  } else {
    ASSERT_LE(t.keys, p.max_kv_rows) << "more keys than the K/V rows hold";
  }
  std::vector<int32_t> perm(p.num_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  for (const Request& r : requests) {
    p.q_indptr.push_back(p.q_indptr.back() + r.q_len);
    p.kv_len.push_back(r.kv_len);
    if (!s.paged) {
      p.kv_indptr.push_back(p.kv_indptr.back() + r.kv_len);
      continue;
    }
    const int32_t n = (r.kv_len + s.page_size - 1) / s.page_size;
    for (int32_t i = 0; i < n; ++i) {
      p.kv_indices.push_back(s.page_pool > 0 ? uniform_int(0, p.num_pages - 1)
                                             : perm[p.kv_indices.size()]);
    }
    p.kv_indptr.push_back(p.kv_indptr.back() + n);
    p.last_page_len.push_back(n == 0 ? 1 : r.kv_len - (n - 1) * s.page_size);
  }
  upload_into(p.d_q_indptr, p.q_indptr);
  upload_into(p.d_kv_indptr, p.kv_indptr);
  if (s.paged) {
    upload_into(p.d_kv_indices, p.kv_indices);
    upload_into(p.d_last_page_len, p.last_page_len);
  }
}

inline PrefillProblem make_problem(const PrefillSetup& s) {
  PrefillProblem p;
  p.s = s;
  p.batch = static_cast<int32_t>(s.requests.size());
  p.sm_scale = 1.f / std::sqrt(float(s.head_dim));
  const Totals t = totals(s.requests, s.page_size);
  const int64_t rows = t.rows, keys = t.keys, pages = t.pages;
  p.max_q_rows = static_cast<int32_t>(std::max<int64_t>(rows + s.spare_q_rows, 1));
  const size_t D = s.head_dim, hkv = s.num_kv_heads;
  random_values(s.element, false, size_t(p.max_q_rows) * p.q_row_elements(), -3.f, 3.f, &p.q,
                &p.d_q);
  size_t kv_count;
  if (s.paged) {
    p.num_pages = s.page_pool > 0 ? s.page_pool : static_cast<int32_t>(pages) + s.spare_pages;
    kv_count = size_t(p.num_pages) * hkv * s.page_size * D;
  } else {
    p.max_kv_rows = static_cast<int32_t>(std::max<int64_t>(keys + s.spare_kv_rows, 1));
    kv_count = size_t(p.max_kv_rows) * hkv * D;
  }
  random_values(s.element, true, kv_count, -1.f, 1.f, &p.k, &p.d_k);
  random_values(s.element, true, kv_count, -1.f, 1.f, &p.v, &p.d_v);
  if (!s.paged) {
    for (std::vector<float>* x : {&p.k, &p.v}) {
      fill_elements(s.element, true, x == &p.k ? p.d_k : p.d_v, *x, size_t(keys) * hkv * D,
                    size_t(p.max_kv_rows - keys) * hkv * D, s.spare_kv_value);
    }
  }
  p.d_q_indptr = DeviceBuffer(size_t(p.batch + 1) * 4);
  p.d_kv_indptr = DeviceBuffer(size_t(p.batch + 1) * 4);
  if (s.paged) {  // page ids: as many as the pages (distinct) or as the requests use (pool)
    p.d_kv_indices =
        DeviceBuffer(size_t(std::max<int64_t>(std::max<int64_t>(p.num_pages, pages), 1)) * 4);
    p.d_last_page_len = DeviceBuffer(size_t(std::max(p.batch, 1)) * 4);
  }
  set_requests(p, s.requests);
  return p;
}

// NaN into every paged K/V slot no request owns (the slots of a last page past last_page_len and
// the unreferenced pages), on the device and in the exact copy: attention must never read them.
inline void poison_unowned_slots(PrefillProblem& p) {
  const PrefillSetup& s = p.s;
  ASSERT_TRUE(s.paged && s.page_pool == 0) << "only distinct pages have unowned slots";
  const size_t D = s.head_dim, P = s.page_size, hkv = s.num_kv_heads;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<bool> owned(p.num_pages, false);
  for (int32_t i : p.kv_indices) owned[i] = true;
  for (bool is_k : {true, false}) {
    DeviceBuffer& d = is_k ? p.d_k : p.d_v;
    std::vector<float>& x = is_k ? p.k : p.v;
    for (int32_t page = 0; page < p.num_pages; ++page) {
      if (!owned[page]) {
        fill_elements(s.element, true, d, x, page * hkv * P * D, hkv * P * D, nan);
      }
    }
    for (int32_t b = 0; b < p.batch; ++b) {
      if (p.kv_indptr[b + 1] == p.kv_indptr[b] || p.last_page_len[b] == s.page_size) continue;
      const size_t page = size_t(p.kv_indices[p.kv_indptr[b + 1] - 1]);
      for (size_t h = 0; h < hkv; ++h) {
        fill_elements(s.element, true, d, x, ((page * hkv + h) * P + p.last_page_len[b]) * D,
                      (P - p.last_page_len[b]) * D, nan);
      }
    }
  }
}

// The rows the reference computes: every row of a request with at most `cap` rows; of a longer
// one its first 32 and last 64 rows (where the causal mask and the tiles change) and random rows
// up to `cap`.
inline std::vector<int32_t> sample_rows(const PrefillProblem& p, int32_t cap) {
  std::vector<int32_t> rows;
  for (int32_t b = 0; b < p.batch; ++b) {
    const int32_t first = p.q_indptr[b], n = p.q_indptr[b + 1] - first;
    if (n <= cap) {
      for (int32_t i = 0; i < n; ++i) rows.push_back(first + i);
      continue;
    }
    std::vector<int32_t> picked;
    for (int32_t i = 0; i < 32; ++i) picked.push_back(i);
    for (int32_t i = n - 64; i < n; ++i) picked.push_back(i);
    while (int32_t(picked.size()) < cap) picked.push_back(uniform_int(32, n - 65));
    std::sort(picked.begin(), picked.end());
    picked.erase(std::unique(picked.begin(), picked.end()), picked.end());
    for (int32_t i : picked) rows.push_back(first + i);
  }
  return rows;
}

// The kernel choices every problem runs on, each against the same reference.
struct Path {
  const char* name;
  int32_t flags;  // options.flags
};
constexpr Path kPaths[] = {
    {"default", BARACUDA_FLASHINFER_ATTENTION_AUTO},
    {"no-split", BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT},
    {"fa2", BARACUDA_FLASHINFER_ATTENTION_FA2},
    {"fa2 no-split", BARACUDA_FLASHINFER_ATTENTION_FA2 | BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT},
};

inline baracuda_flashinfer_attention_options options_with(int32_t flags) {
  baracuda_flashinfer_attention_options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  o.flags = flags;
  return o;
}

struct Outputs {
  DeviceBuffer o, lse;  // [max_q_rows, Hq, D] and [max_q_rows, Hq]
};
inline Outputs make_outputs(const PrefillProblem& p) {
  return {DeviceBuffer(size_t(p.max_q_rows) * p.q_row_elements() * 2),
          DeviceBuffer(size_t(p.max_q_rows) * p.s.num_qo_heads * 4)};
}

// prefill_*_get_workspace_size for the problem's static sizes.
inline int32_t workspace_size(const PrefillProblem& p, int32_t flags, size_t* bytes) {
  const PrefillSetup& s = p.s;
  const baracuda_flashinfer_attention_options o = options_with(flags);
  return s.paged ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                       s.element, p.batch, p.max_q_rows, s.page_size, s.head_dim, s.num_qo_heads,
                       s.num_kv_heads, s.causal, &o, bytes)
                 : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                       s.element, p.batch, p.max_q_rows, p.max_kv_rows, s.head_dim, s.num_qo_heads,
                       s.num_kv_heads, s.causal, &o, bytes);
}

// One prefill_*_run of the problem (nothing poisoned here); `lse` and `workspace` may be NULL.
inline int32_t run_prefill(const PrefillProblem& p, int32_t flags, void* o, float* lse,
                           void* workspace, size_t workspace_bytes, cudaStream_t stream,
                           float sm_scale) {
  const PrefillSetup& s = p.s;
  const baracuda_flashinfer_attention_options opt = options_with(flags);
  const auto st = reinterpret_cast<baracuda_flashinfer_stream_t>(stream);
  if (s.paged) {
    return baracuda_kernels_flashinfer_prefill_paged_run(
        s.element, p.batch, p.max_q_rows, s.page_size, s.head_dim, s.num_qo_heads, s.num_kv_heads,
        sm_scale, s.causal, &opt, p.d_q.ptr, p.d_q_indptr.as<int32_t>(), p.d_k.ptr, p.d_v.ptr,
        p.d_kv_indices.as<int32_t>(), p.d_kv_indptr.as<int32_t>(), p.d_last_page_len.as<int32_t>(),
        o, lse, workspace, workspace_bytes, st);
  }
  return baracuda_kernels_flashinfer_prefill_ragged_run(
      s.element, p.batch, p.max_q_rows, p.max_kv_rows, s.head_dim, s.num_qo_heads, s.num_kv_heads,
      sm_scale, s.causal, &opt, p.d_q.ptr, p.d_q_indptr.as<int32_t>(), p.d_k.ptr, p.d_v.ptr,
      p.d_kv_indptr.as<int32_t>(), o, lse, workspace, workspace_bytes, st);
}

inline int32_t run_prefill(const PrefillProblem& p, int32_t flags, const Outputs& out,
                           bool with_lse, const DeviceBuffer& ws, size_t ws_bytes,
                           cudaStream_t stream) {
  return run_prefill(p, flags, out.o.ptr, with_lse ? out.lse.as<float>() : nullptr,
                     ws_bytes ? ws.ptr : nullptr, ws_bytes, stream, p.sm_scale);
}

inline bool all_bytes_are(const DeviceBuffer& d, size_t offset, size_t bytes, uint8_t value) {
  if (bytes == 0) return true;
  std::vector<uint8_t> h(bytes);
  CUDA_OK(cudaMemcpy(h.data(), static_cast<const char*>(d.ptr) + offset, bytes,
                     cudaMemcpyDeviceToHost));
  return std::all_of(h.begin(), h.end(), [value](uint8_t x) { return x == value; });
}

// o and lse of a run as doubles ([max_q_rows, Hq, D], [max_q_rows, Hq]).
inline std::vector<double> download_o(const PrefillProblem& p, const DeviceBuffer& o) {
  const size_t n = size_t(p.max_q_rows) * p.q_row_elements();
  std::vector<uint16_t> bits = to_host<uint16_t>(o, n);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = load_value(p.s.element, false, bits.data(), i);
  return x;
}
inline std::vector<double> download_lse(const PrefillProblem& p, const DeviceBuffer& lse) {
  const std::vector<float> f = to_host<float>(lse, size_t(p.max_q_rows) * p.s.num_qo_heads);
  return std::vector<double>(f.begin(), f.end());
}

// A run's outputs (poisoned with 0xFF bytes before it) against the reference: the reference's rows
// within the bounds, every other row of the batch written and finite, and the rows past
// q_indptr[B] still poisoned.
inline testing::AssertionResult matches_reference(const PrefillProblem& p, const Outputs& out,
                                                  const Reference& ref, bool with_lse) {
  const int32_t hq = p.s.num_qo_heads;
  const size_t row_elems = p.q_row_elements();
  const std::vector<double> o = download_o(p, out.o);
  const std::vector<double> lse = with_lse ? download_lse(p, out.lse) : std::vector<double>();
  const Comparison c = compare(ref, hq, p.s.head_dim, o, with_lse ? &lse : nullptr,
                               prefill_tolerance(qo_element(p.s.element)));
  int64_t nonfinite = 0;
  for (size_t i = 0; i < size_t(p.rows()) * row_elems; ++i) nonfinite += !std::isfinite(o[i]);
  if (with_lse) {
    for (size_t i = 0; i < size_t(p.rows()) * hq; ++i) nonfinite += std::isnan(lse[i]);
  }
  const size_t spare = size_t(p.max_q_rows - p.rows());
  const bool o_spare = all_bytes_are(out.o, p.rows() * row_elems * 2, spare * row_elems * 2, 0xFF);
  const bool lse_spare =
      !with_lse || all_bytes_are(out.lse, size_t(p.rows()) * hq * 4, spare * hq * 4, 0xFF);
  if (c.ok() && nonfinite == 0 && o_spare && lse_spare) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << c.summary() << "; " << nonfinite << " unwritten or non-finite values in rows below "
         << "q_indptr[B] = " << p.rows() << (o_spare ? "" : "; o written past q_indptr[B]")
         << (lse_spare ? "" : "; lse written past q_indptr[B]");
}

// "element / kv / D / Hq:Hkv / P / causal" for messages.
inline std::string describe(const PrefillProblem& p) {
  const PrefillSetup& s = p.s;
  char d[160];
  std::snprintf(d, sizeof(d), "%s %s P=%d D=%d Hq=%d Hkv=%d%s B=%d rows=%d",
                element_name(s.element), s.paged ? "paged" : "ragged", s.paged ? s.page_size : 1,
                s.head_dim, s.num_qo_heads, s.num_kv_heads, s.causal ? " causal" : "", p.batch,
                p.rows());
  return d;
}

// Every path of kPaths on the problem against one reference of `rows`, with outputs and
// workspace NaN-poisoned before each run.
inline void expect_every_path_matches(const PrefillProblem& p, const Reference& ref,
                                      bool with_lse = true) {
  ASSERT_TRUE(p.rows() == 0 || !ref.rows.empty()) << "a reference without rows checks nothing";
  Outputs out = make_outputs(p);
  DeviceBuffer ws;
  for (const Path& path : kPaths) {
    size_t bytes = 0;
    const int32_t st = workspace_size(p, path.flags, &bytes);
    ASSERT_EQ(st, 0) << describe(p) << " " << path.name << ": "
                     << baracuda_kernels_flashinfer_last_error();
    if (ws.bytes < bytes) ws = DeviceBuffer(bytes);
    poison(out.o);
    poison(out.lse);
    poison(ws);
    const int32_t run = run_prefill(p, path.flags, out, with_lse, ws, bytes, nullptr);
    ASSERT_EQ(run, 0) << describe(p) << " " << path.name << ": "
                      << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaStreamSynchronize(cudaStreamPerThread));
    EXPECT_TRUE(matches_reference(p, out, ref, with_lse)) << describe(p) << ", path " << path.name;
  }
}

}  // namespace bfi_test
