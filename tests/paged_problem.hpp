// Paged-KV attention problems for GPU tests: a cache of random values in shuffled pages, page
// tables over it, the float64 reference of tests/attention_check.hpp, runs of the decode symbols
// with NaN-poisoned outputs, and the comparison (bounds: tests/attention_check.hpp).
//
// Every output is NaN-poisoned before each run, so an unwritten element fails the comparison.
// The reference uses the exact stored K/V/q values, so only the kernel's arithmetic is measured;
// fp8 KV quantisation is in the reference's inputs, not in the error.
#pragma once

#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "attention_check.hpp"
#include "decode_symbols.hpp"
#include "gpu_util.hpp"

namespace bfi_test {

inline bool has_tensor_cores(int32_t element) {
  return element != BARACUDA_FLASHINFER_F32;
}
// The warp-tile decode path: f16 and bf16 KV caches.
inline bool has_warp_tiles(int32_t element) {
  return element == BARACUDA_FLASHINFER_F16 || element == BARACUDA_FLASHINFER_BF16;
}

struct Shape {
  int32_t element, batch, hq, hkv, head_dim, page;
  int32_t max_len;          // lengths drawn in [0, max_len]
  bool force_edge_lengths;  // include 0, exactly-full pages and 1-token requests
};
inline std::string describe(const Shape& s) {
  return std::string(element_name(s.element)) + " B=" + std::to_string(s.batch) +
         " Hq=" + std::to_string(s.hq) + " Hkv=" + std::to_string(s.hkv) +
         " D=" + std::to_string(s.head_dim) + " P=" + std::to_string(s.page);
}

// Requests' page lists into one cache: request b owns indices[indptr[b] .. indptr[b+1]), holds
// lens[b] tokens, the last page last_page_len[b] of them (1 for a request without pages).
struct PageTable {
  std::vector<int32_t> lens, indptr{0}, indices, last_page_len;
  DeviceBuffer d_indices, d_indptr, d_lpl;

  int32_t requests() const { return static_cast<int32_t>(lens.size()); }
  // Appends a request of `len` tokens on `pages` (ceil(len / page) of them).
  void add(const std::vector<int32_t>& pages, int32_t len, int32_t page) {
    indices.insert(indices.end(), pages.begin(), pages.end());
    indptr.push_back(static_cast<int32_t>(indices.size()));
    const int32_t n = static_cast<int32_t>(pages.size());
    last_page_len.push_back(n == 0 ? 1 : len - (n - 1) * page);
    lens.push_back(len);
  }
  // The host lists of `other`; the device buffers stay (write_in_place() then copies).
  void assign_host(const PageTable& other) {
    lens = other.lens;
    indptr = other.indptr;
    indices = other.indices;
    last_page_len = other.last_page_len;
  }
  // Fresh device copies.
  void upload() {
    d_indices = to_device(indices.empty() ? std::vector<int32_t>{0} : indices);
    d_indptr = to_device(indptr);
    d_lpl = to_device(last_page_len);
  }
  // Device buffers with room for `max_pages` page ids (and this many requests), then the table:
  // later tables of up to max_pages pages go into the same buffers with write_in_place().
  void upload_with_capacity(int32_t max_pages) {
    d_indices = DeviceBuffer(size_t(std::max(1, max_pages)) * sizeof(int32_t));
    d_indptr = DeviceBuffer(indptr.size() * sizeof(int32_t));
    d_lpl = DeviceBuffer(std::max<size_t>(1, last_page_len.size()) * sizeof(int32_t));
    write_in_place();
  }
  // Into the device buffers already there (a captured graph keeps their addresses).
  void write_in_place() const {
    if (!indices.empty()) copy_to(d_indices, indices);
    copy_to(d_indptr, indptr);
    copy_to(d_lpl, last_page_len);
  }
};

// `lens` tokens per request on distinct pages drawn from a shuffled pool of `pool_pages` pages.
inline PageTable random_page_table(const std::vector<int32_t>& lens, int32_t page,
                                   int32_t pool_pages) {
  std::vector<int32_t> pool(pool_pages);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng());
  PageTable t;
  size_t next = 0;
  for (int32_t len : lens) {
    const size_t n = size_t((len + page - 1) / page);
    if (next + n > pool.size()) throw std::runtime_error("random_page_table: pool too small");
    t.add(std::vector<int32_t>(pool.begin() + next, pool.begin() + next + n), len, page);
    next += n;
  }
  return t;
}
inline int32_t pages_for(const std::vector<int32_t>& lens, int32_t page) {
  int32_t n = 0;
  for (int32_t len : lens) n += (len + page - 1) / page;
  return n;
}

// Fresh random values of `count` elements of `element`'s KV (is_kv) or q type: the device bytes
// and the exact stored values.
inline void fill_values(int32_t element, bool is_kv, size_t count, std::vector<double>* exact,
                        DeviceBuffer* dev, float lo, float hi) {
  std::vector<unsigned char> host(count * value_bytes(element, is_kv));
  exact->resize(count);
  for (size_t i = 0; i < count; ++i) {
    store_value(element, is_kv, host.data(), i, uniform(lo, hi));
    (*exact)[i] = load_value(element, is_kv, host.data(), i);
  }
  if (dev->ptr != nullptr && dev->bytes >= host.size()) {
    copy_to(*dev, host);  // in place: a captured graph keeps the address
  } else {
    *dev = to_device(host);
  }
}

// A paged cache [num_pages, Hkv, page, D] (HND) of random K/V in [-1, 1], queries [B, Hq, D] in
// [-3, 3], and one page table over the cache (s.batch requests).
struct PagedProblem {
  Shape s;
  int32_t num_pages = 0;
  std::vector<double> k, v, q;  // the exact stored values
  DeviceBuffer d_k, d_v, d_q;
  PageTable table;

  size_t kv_count() const { return size_t(num_pages) * s.hkv * s.page * s.head_dim; }
  // New random K, V and q values (in place where the buffers exist).
  void refill() {
    fill_values(s.element, true, kv_count(), &k, &d_k, -1.f, 1.f);
    fill_values(s.element, true, kv_count(), &v, &d_v, -1.f, 1.f);
    fill_values(s.element, false, size_t(s.batch) * s.hq * s.head_dim, &q, &d_q, -3.f, 3.f);
  }
};

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

// A problem with the given request lengths (tokens) on a cache of their pages plus a few nobody
// references, K/V/q filled with fresh random values. `pool_pages` > 0: a cache of that many
// pages (room for later page tables).
inline PagedProblem make_problem_with_lengths(const Shape& s, const std::vector<int32_t>& lens,
                                              int32_t pool_pages = 0) {
  PagedProblem p;
  p.s = s;
  p.num_pages = pool_pages > 0 ? pool_pages : pages_for(lens, s.page) + 3;
  p.table = random_page_table(lens, s.page, p.num_pages);
  p.table.upload();
  p.refill();
  return p;
}
inline PagedProblem make_problem(const Shape& s) {
  return make_problem_with_lengths(s, draw_lengths(s));
}

// NaN (all-ones bytes) into every cache slot no request of `t` owns: the slots of each request's
// last page past last_page_len and the unreferenced pages, K and V. A kernel that lets a stale
// slot reach its output fails the comparison (attention must never read past a request's
// length).
inline void poison_stale_slots(const PagedProblem& p, const PageTable& t) {
  const Shape& s = p.s;
  const size_t row_bytes = size_t(s.head_dim) * kv_bytes(s.element);
  const size_t page_bytes = size_t(s.hkv) * s.page * row_bytes;
  std::vector<bool> owned(p.num_pages, false);
  for (int32_t i : t.indices) owned[i] = true;
  for (const DeviceBuffer* cache : {&p.d_k, &p.d_v}) {
    char* base = static_cast<char*>(cache->ptr);
    for (int32_t page = 0; page < p.num_pages; ++page) {
      if (!owned[page]) CUDA_WRITE(cudaMemset(base + page * page_bytes, 0xFF, page_bytes));
    }
    for (int32_t b = 0; b < t.requests(); ++b) {
      if (t.indptr[b + 1] == t.indptr[b] || t.last_page_len[b] == s.page) continue;
      const size_t page = size_t(t.indices[t.indptr[b + 1] - 1]);
      for (int32_t h = 0; h < s.hkv; ++h) {
        const size_t slot = (page * s.hkv + h) * s.page + t.last_page_len[b];
        CUDA_WRITE(
            cudaMemset(base + slot * row_bytes, 0xFF, (s.page - t.last_page_len[b]) * row_bytes));
      }
    }
  }
}
inline void poison_stale_slots(const PagedProblem& p) {
  poison_stale_slots(p, p.table);
}

// float64 reference of query b (all Hq heads; rows b * Hq + h) over lens[b] tokens of the cache:
// locate(b, t) gives token t's (page, slot). `options`: the soft-cap, scales and sinks (the
// caller's lens and locate already hold any window).
template <class Locate>
AttentionReference reference_over(const PagedProblem& p, const std::vector<int32_t>& lens,
                                  Locate locate, float sm_scale,
                                  const AttentionOptions& options = AttentionOptions{}) {
  const Shape& s = p.s;
  const int32_t D = s.head_dim, group = s.hq / s.hkv;
  AttentionReference ref(s.batch * s.hq, D);
  for (int32_t b = 0; b < s.batch; ++b) {
    for (int32_t h = 0; h < s.hq; ++h) {
      const int32_t kvh = h / group;
      attend(
          &p.q[(size_t(b) * s.hq + h) * D], lens[b], sm_scale,
          [&](int32_t tok, const double** k, const double** v) {
            const std::pair<int32_t, int32_t> at = locate(b, tok);
            const size_t row = ((size_t(at.first) * s.hkv + kvh) * s.page + at.second) * D;
            *k = &p.k[row];
            *v = &p.v[row];
          },
          &ref, b * s.hq + h, options.row(h));
    }
  }
  return ref;
}
// Over request b of `t` (t.requests() == s.batch).
inline AttentionReference reference(const PagedProblem& p, const PageTable& t, float sm_scale) {
  const int32_t P = p.s.page;
  return reference_over(
      p, t.lens,
      [&](int32_t b, int32_t tok) {
        return std::make_pair(t.indices[t.indptr[b] + tok / P], tok % P);
      },
      sm_scale);
}
inline AttentionReference reference(const PagedProblem& p, float sm_scale) {
  return reference(p, p.table, sm_scale);
}
// Decode with attention options over request b of `t`: each query keeps the last
// window_left + 1 keys of its request (all of them without a window).
inline AttentionReference reference(const PagedProblem& p, const PageTable& t, float sm_scale,
                                    const AttentionOptions& options) {
  const int32_t P = p.s.page;
  std::vector<int32_t> first(t.lens.size()), kept(t.lens.size());
  for (size_t b = 0; b < t.lens.size(); ++b) {
    const KeyRange keys = kept_keys(1, t.lens[b], 0, false, options.window_left);
    first[b] = keys.first;
    kept[b] = keys.count();
  }
  return reference_over(
      p, kept,
      [&](int32_t b, int32_t tok) {
        const int32_t at = first[b] + tok;
        return std::make_pair(t.indices[t.indptr[b] + at / P], at % P);
      },
      sm_scale, options);
}

// Attention outputs on the device: o [B, Hq, D] in the q/o type, lse [B, Hq] float.
struct Outputs {
  DeviceBuffer o, lse;
  void allocate(const Shape& s) {
    if (o.ptr != nullptr) return;
    o = DeviceBuffer(size_t(s.batch) * s.hq * s.head_dim * element_bytes(qo_element(s.element)));
    lse = DeviceBuffer(size_t(s.batch) * s.hq * sizeof(float));
  }
  void poison_all() const {
    poison(o);
    poison(lse);
  }
};

// The comparison of tests/attention_check.hpp for outputs of problem shape `s`; `with_lse`
// false: lse was not written (NULL).
inline ::testing::AssertionResult outputs_match(const Shape& s, const Outputs& out,
                                                const AttentionReference& ref,
                                                bool with_lse = true) {
  const int32_t e = qo_element(s.element);
  const std::vector<unsigned char> raw = to_host<unsigned char>(out.o, out.o.bytes);
  std::vector<double> o(size_t(ref.rows) * ref.head_dim);
  for (size_t i = 0; i < o.size(); ++i) o[i] = load_element(e, raw.data(), i);
  const std::vector<float> lse =
      with_lse ? to_host<float>(out.lse, ref.rows) : std::vector<float>();
  return matches_reference(ref, o, with_lse ? lse.data() : nullptr, attention_precision(e, e),
                           s.hq);
}

enum class WorkspaceMode { kFull, kNone, kLegacy };

// Runs decode on `p` over table `t` (outputs NaN-poisoned first when poison_outputs) and returns
// the status. flags < 0: the element's _run symbol; otherwise paged_decode_run_with(element,
// flags, ...). The workspace is (re)allocated to the mode's size and NaN-poisoned.
inline int32_t run_decode(const PagedProblem& p, const PageTable& t, float sm_scale, Outputs* out,
                          WorkspaceMode mode, DeviceBuffer* workspace, cudaStream_t stream,
                          bool poison_outputs = true, int32_t flags = -1) {
  const Shape& s = p.s;
  out->allocate(s);
  if (poison_outputs) out->poison_all();
  size_t ws_bytes = 0;
  if (mode == WorkspaceMode::kFull) {
    const int32_t st = baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
        s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes);
    if (st != 0) return st;
  } else if (mode == WorkspaceMode::kLegacy) {
    ws_bytes = baracuda_kernels_flashinfer_paged_decode_workspace_size(s.batch);
  }
  if (workspace->bytes < ws_bytes || workspace->ptr == nullptr) *workspace = DeviceBuffer(ws_bytes);
  if (ws_bytes && poison_outputs) poison(*workspace);  // stale workspace must never matter
  void* ws = ws_bytes ? workspace->ptr : nullptr;
  if (flags >= 0) {
    return baracuda_kernels_flashinfer_paged_decode_run_with(
        s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
        t.d_indices.ptr, t.d_indptr.ptr, t.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr, ws,
        ws_bytes, abi_stream(stream));
  }
  return kDecodeSymbols[s.element].run(s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale,
                                       p.d_k.ptr, p.d_v.ptr, t.d_indices.ptr, t.d_indptr.ptr,
                                       t.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr, ws,
                                       ws_bytes, abi_stream(stream));
}
inline int32_t run_decode(const PagedProblem& p, float sm_scale, Outputs* out, WorkspaceMode mode,
                          DeviceBuffer* workspace, cudaStream_t stream, bool poison_outputs = true,
                          int32_t flags = -1) {
  return run_decode(p, p.table, sm_scale, out, mode, workspace, stream, poison_outputs, flags);
}

}  // namespace bfi_test
