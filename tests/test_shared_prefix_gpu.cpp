// GPU tests of shared-prefix attention (cascade level 1) against a float64 reference, and the
// cascade identity end to end through the library:
//   decode(prefix + suffix_b) == merge_state_in_place(shared_prefix(prefix), decode(suffix_b))
// for a batch sharing one prefix page list with different suffixes (some empty); and the fused
// cascade (cascade_decode_run, sm_90) and the fused cascade over a dense copy of the prefix
// (cascade_decode_dense_prefix_run) against the same references.
// Error bounds: tests/paged_problem.hpp; the cascade adds one merge (one more rounding of o).
#include <baracuda/flashinfer.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

// Runs shared-prefix attention of p's queries over the page list of p's request 0 (outputs
// NaN-poisoned first); returns the status.
int32_t run_shared_prefix(const PagedProblem& p, float sm_scale, Outputs* out) {
  const Shape& s = p.s;
  size_t ws_bytes = 0;
  int32_t st = baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(
      s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes);
  if (st != 0) return st;
  DeviceBuffer ws(ws_bytes);
  poison(ws);
  out->o = DeviceBuffer(size_t(s.batch) * s.hq * s.head_dim * element_bytes(s.element));
  out->lse = DeviceBuffer(size_t(s.batch) * s.hq * sizeof(float));
  poison(out->o);
  poison(out->lse);
  // Request 0's page table is the prefix: indices[0..n), indptr[0..1], last_page_len[0].
  st = baracuda_kernels_flashinfer_shared_prefix_decode_run(
      s.element, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
      p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr, ws.ptr,
      ws_bytes, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  return st;
}

// Whether this device and build run the fused cascade: compute capability 9.0, unless the tests
// force the FA2 shared-prefix path (then cascade_decode must refuse, with a message).
bool fused_cascade_expected() {
  int device = 0, major = 0, minor = 0;
  CUDA_OK(cudaGetDevice(&device));
  CUDA_OK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  CUDA_OK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  const char* forced = std::getenv("BFI_SHARED_PREFIX_PATH");
  return major == 9 && minor == 0 && !(forced != nullptr && std::string(forced) == "fa2");
}

using CascadeCanImplement = decltype(&baracuda_kernels_flashinfer_cascade_decode_can_implement);
using CascadeWorkspaceSize =
    decltype(&baracuda_kernels_flashinfer_cascade_decode_get_workspace_size);

// What both fused cascades do before their run: can_implement must answer 0 where the fused path
// is expected and BARACUDA_FLASHINFER_UNSUPPORTED with a message elsewhere (then false); the
// workspace and the outputs are allocated and NaN-poisoned.
bool prepare_fused_cascade(const Shape& s, const char* what, CascadeCanImplement can_implement,
                           CascadeWorkspaceSize workspace_size, DeviceBuffer* ws, size_t* ws_bytes,
                           Outputs* out) {
  const int32_t can = can_implement(s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element);
  if (!fused_cascade_expected()) {
    CHECK_MSG(can == BARACUDA_FLASHINFER_UNSUPPORTED &&
                  std::strlen(baracuda_kernels_flashinfer_last_error()) > 0,
              "%s off this path: status %d", what, can);
    return false;
  }
  CHECK_MSG(can == 0, "%s can_implement: %d %s", what, can,
            baracuda_kernels_flashinfer_last_error());
  CHECK_EQ(workspace_size(s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, ws_bytes), 0);
  *ws = DeviceBuffer(*ws_bytes);
  poison(*ws);
  out->o = DeviceBuffer(size_t(s.batch) * s.hq * s.head_dim * element_bytes(s.element));
  out->lse = DeviceBuffer(size_t(s.batch) * s.hq * sizeof(float));
  poison(out->o);
  poison(out->lse);
  return true;
}

// The fused cascade: `prefix_pages` pages of p's indices, then request b's suffix pages
// indices[suffix_indptr[b] ..) (one array, as the symbol takes it); outputs NaN-poisoned first.
// Returns false (after checking the refusal) where the fused path is not expected to run.
bool run_fused_cascade(const PagedProblem& p, const std::vector<int32_t>& indices,
                       int32_t prefix_pages, int32_t prefix_last_page_len,
                       const std::vector<int32_t>& suffix_indptr,
                       const std::vector<int32_t>& suffix_last_page_len, float sm_scale,
                       Outputs* out) {
  const Shape& s = p.s;
  DeviceBuffer ws;
  size_t ws_bytes = 0;
  if (!prepare_fused_cascade(
          s, "fused cascade", baracuda_kernels_flashinfer_cascade_decode_can_implement,
          baracuda_kernels_flashinfer_cascade_decode_get_workspace_size, &ws, &ws_bytes, out)) {
    return false;
  }
  DeviceBuffer d_indices = to_device(indices.empty() ? std::vector<int32_t>{0} : indices);
  DeviceBuffer d_prefix_indptr = to_device(std::vector<int32_t>{0, prefix_pages});
  DeviceBuffer d_prefix_lpl = to_device(std::vector<int32_t>{prefix_last_page_len});
  DeviceBuffer d_suffix_indptr = to_device(suffix_indptr),
               d_suffix_lpl = to_device(suffix_last_page_len);
  const int32_t st = baracuda_kernels_flashinfer_cascade_decode_run(
      s.element, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
      d_indices.ptr, d_prefix_indptr.ptr, d_prefix_lpl.ptr, d_suffix_indptr.ptr, d_suffix_lpl.ptr,
      p.d_q.ptr, out->o.ptr, out->lse.ptr, ws.ptr, ws_bytes, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  CHECK_MSG(st == 0, "cascade run: %d %s", st, baracuda_kernels_flashinfer_last_error());
  return st == 0;
}

// A dense copy of the prefix for cascade_decode_dense_prefix_run: token t of KV head h (the cache's
// page pages[t / P], slot t % P) at t * stride_token + h * stride_head in a buffer of `capacity`
// tokens; every other element (rows past the prefix, padding between rows) is NaN, so a read of
// anything but the prefix's rows shows in o.
struct DensePrefixLayout {
  int64_t stride_token, stride_head;
  int32_t capacity;  // tokens the buffer is sized for (>= the prefix's)
};
DeviceBuffer dense_prefix_copy(const DeviceBuffer& cache, const Shape& s, int32_t cache_pages,
                               const std::vector<int32_t>& pages, int32_t len,
                               const DensePrefixLayout& layout) {
  const size_t cache_elems = size_t(cache_pages) * s.hkv * s.page * s.head_dim;
  const std::vector<uint16_t> host = to_host<uint16_t>(cache, cache_elems);
  const size_t elems = size_t(std::max(int64_t(layout.capacity) * layout.stride_token,
                                       int64_t(s.hkv) * layout.stride_head) +
                              layout.stride_token + layout.stride_head);
  std::vector<uint16_t> dense(elems, 0xFFFF);  // NaN in f16 and bf16
  for (int32_t t = 0; t < len; ++t) {
    for (int32_t h = 0; h < s.hkv; ++h) {
      const size_t src =
          ((size_t(pages[t / s.page]) * s.hkv + h) * s.page + t % s.page) * s.head_dim;
      std::copy_n(host.begin() + src, s.head_dim,
                  dense.begin() + t * layout.stride_token + h * layout.stride_head);
    }
  }
  return to_device(dense);
}

// The fused cascade over a dense prefix (`len` tokens of the cache's `pages`, laid out as
// `layout`) and p's paged suffixes; outputs NaN-poisoned first. Returns false (after checking the
// refusal) where the fused path is not expected to run.
bool run_dense_cascade(const PagedProblem& p, int32_t cache_pages,
                       const std::vector<int32_t>& pages, int32_t len,
                       const DensePrefixLayout& layout, float sm_scale, Outputs* out) {
  const Shape& s = p.s;
  DeviceBuffer ws;
  size_t ws_bytes = 0;
  if (!prepare_fused_cascade(
          s, "dense cascade", baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement,
          baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size, &ws,
          &ws_bytes, out)) {
    return false;
  }
  const DeviceBuffer k_prefix = dense_prefix_copy(p.d_k, s, cache_pages, pages, len, layout);
  const DeviceBuffer v_prefix = dense_prefix_copy(p.d_v, s, cache_pages, pages, len, layout);
  const int32_t st = baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
      s.element, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, k_prefix.ptr, v_prefix.ptr,
      len, layout.stride_token, layout.stride_head, p.d_k.ptr, p.d_v.ptr, p.d_indices.ptr,
      p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr, ws.ptr, ws_bytes, nullptr);
  CUDA_OK(cudaDeviceSynchronize());
  CHECK_MSG(st == 0, "dense cascade run: %d %s", st, baracuda_kernels_flashinfer_last_error());
  return st == 0;
}

// Every request's page list becomes request 0's: the decode reference over this problem is the
// shared-prefix truth.
void share_request0_pages(PagedProblem& p) {
  const int32_t n = p.indptr[1];
  for (int32_t b = 0; b < p.s.batch; ++b) {
    p.lens[b] = p.lens[0];
    p.last_page_len[b] = p.last_page_len[0];
    p.indptr[b + 1] = (b + 1) * n;
  }
  std::vector<int32_t> prefix(p.indices.begin(), p.indices.begin() + n);
  p.indices.clear();
  for (int32_t b = 0; b < p.s.batch; ++b)
    p.indices.insert(p.indices.end(), prefix.begin(), prefix.end());
  upload_page_table(p);
}

}  // namespace

TEST(shared_prefix_matches_float64) {
  struct Case {
    Shape s;
    int32_t prefix_len;
  };
  const Case cases[] = {
      {{1, 16, 32, 8, 128, 16, 0, false}, 8192},  // long prefix: split across the GPU
      {{0, 3, 8, 2, 64, 1, 0, false}, 777},       // page size 1, tiny batch
      {{1, 17, 28, 4, 256, 64, 0, false}, 5000},  // group 7, partial last page
      {{0, 100, 32, 1, 128, 16, 0, false}, 300},  // MQA: 3200 packed rows, no split
      {{1, 5, 16, 16, 128, 16, 0, false}, 0},     // empty prefix: o = 0, lse = -inf
      {{1, 70, 32, 8, 128, 16, 0, false}, 4001},  // 280 rows: 3 query tiles, the last partial
      {{0, 9, 40, 5, 128, 32, 0, false}, 3333},   // group 8, partial last page
      {{1, 600, 32, 8, 128, 16, 0, false}, 250},  // sm_90: 152 work items, some SMs take two
      {{0, 12, 16, 4, 64, 8, 0, false}, 3001},    // page 8, one token on the last page
      {{1, 6, 16, 2, 128, 24, 0, false}, 2000},   // page 24 (not a power of two), 64 chunks
  };
  for (const Case& c : cases) {
    // Only request 0 gets pages (and random K/V); share_request0_pages gives them to everyone.
    std::vector<int32_t> lens(c.s.batch, 0);
    lens[0] = c.prefix_len;
    PagedProblem p = make_problem_with_lengths(c.s, lens);
    share_request0_pages(p);
    poison_stale_slots(p);  // the prefix's last page past last_page_len: never read
    const Shape& s = p.s;
    const float sm_scale = 1.f / std::sqrt(float(s.head_dim));
    std::vector<double> ref_o, ref_lse;
    reference(p, sm_scale, &ref_o, &ref_lse);
    Outputs out;
    const int32_t st = run_shared_prefix(p, sm_scale, &out);
    CHECK_MSG(st == 0, "status %d: %s", st, baracuda_kernels_flashinfer_last_error());
    compare(p, out, ref_o, ref_lse, "shared-prefix");
    // The fused cascade with every suffix empty is the same attention.
    const int32_t n = p.indptr[1];
    const std::vector<int32_t> prefix(p.indices.begin(), p.indices.begin() + n);
    Outputs fused;
    if (run_fused_cascade(p, prefix, n, p.last_page_len[0], std::vector<int32_t>(s.batch + 1, n),
                          std::vector<int32_t>(s.batch, 1), sm_scale, &fused)) {
      compare(p, fused, ref_o, ref_lse, "fused cascade, empty suffixes");
    }
  }
}

TEST(cascade_identity_prefix_plus_suffix) {
  struct Case {
    Shape s;
    int32_t prefix_pages;  // whole pages
    float sm_scale;
    bool fused_only;  // scores too spread for the FA2 kernels' rounding of q: the fused call only
  };
  // Suffixes of 0-600 tokens (every fifth empty). The fused cascade's suffix kernel loads a tile
  // from one page where the page size is a multiple of 16 tokens and per token otherwise; it
  // rescales its accumulators only when a score passes the running maximum by 2^8, which the
  // large scales exercise (scores spread over tens to hundreds in base 2).
  const Case cases[] = {
      {{0, 24, 32, 8, 128, 16, 0, false}, 96, 0.0884f, false},  // 1536 shared tokens
      {{1, 24, 32, 8, 128, 16, 0, false}, 96, 0.0884f, false},
      // 10240 shared tokens: a long prefix, split into many chunks on sm_90.
      {{1, 24, 32, 8, 128, 16, 0, false}, 640, 0.0884f, false},
      {{1, 10, 16, 1, 64, 8, 0, false},
       150,
       0.125f,
       false},  // group 16 (two 8-query blocks), page 8: tiles straddle pages
      {{0, 7, 40, 5, 256, 24, 0, false}, 50, 0.0625f, false},  // head dim 256, group 8, page 24
      {{1, 5, 32, 1, 128, 1, 0, false},
       700,
       0.0884f,
       false},  // group 32: four 8-query blocks; page 1
      {{0, 6, 24, 2, 128, 16, 0, false},
       40,
       0.0884f,
       false},  // group 12: a whole and a partial block
      {{1, 9, 12, 4, 64, 32, 0, false}, 40, 0.125f, false},  // group 3, page 32
      {{1, 9, 12, 4, 64, 32, 0, false}, 40, 2.0f, true},
      {{0, 7, 40, 5, 256, 16, 0, false}, 50, 1.0f, true},
  };
  for (size_t case_index = 0; case_index < sizeof(cases) / sizeof(cases[0]); ++case_index) {
    const Case& c = cases[case_index];
    const Shape& s = c.s;
    const int32_t element = s.element, prefix_pages = c.prefix_pages;
    // The full problem: request b owns the prefix pages then its own suffix pages.
    PagedProblem full =
        make_problem({element, s.batch, s.hq, s.hkv, s.head_dim, s.page, 600, false});
    std::vector<int32_t> suffix_lens(s.batch);
    for (int32_t b = 0; b < s.batch; ++b) suffix_lens[b] = b % 5 == 0 ? 0 : uniform_int(1, 600);
    const int32_t P = s.page;
    std::vector<int32_t> suffix_pages(s.batch);
    int32_t total_pages = prefix_pages;
    for (int32_t b = 0; b < s.batch; ++b)
      total_pages += suffix_pages[b] = (suffix_lens[b] + P - 1) / P;
    // Rebuild the cache big enough, pages shuffled; the prefix is pages perm[0 .. prefix_pages).
    const size_t kv_count = size_t(total_pages) * s.hkv * P * s.head_dim;
    fill_values(element, true, kv_count, &full.k, &full.d_k, -1.f, 1.f);
    fill_values(element, true, kv_count, &full.v, &full.d_v, -1.f, 1.f);
    std::vector<int32_t> perm(total_pages);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng());
    PagedProblem suffix = make_problem(s);  // q replaced below; same K/V buffers used via `full`
    full.indptr.assign(1, 0);
    full.indices.clear();
    full.last_page_len.clear();
    full.lens.clear();
    suffix.indptr.assign(1, 0);
    suffix.indices.clear();
    suffix.last_page_len.clear();
    suffix.lens.clear();
    int32_t next = prefix_pages;
    for (int32_t b = 0; b < s.batch; ++b) {
      std::vector<int32_t> own(perm.begin() + next, perm.begin() + next + suffix_pages[b]);
      next += suffix_pages[b];
      full.indices.insert(full.indices.end(), perm.begin(), perm.begin() + prefix_pages);
      full.indices.insert(full.indices.end(), own.begin(), own.end());
      suffix.indices.insert(suffix.indices.end(), own.begin(), own.end());
      const int32_t lpl = suffix_pages[b] ? suffix_lens[b] - (suffix_pages[b] - 1) * P : P;
      full.indptr.push_back(full.indptr.back() + prefix_pages + suffix_pages[b]);
      suffix.indptr.push_back(suffix.indptr.back() + suffix_pages[b]);
      full.last_page_len.push_back(lpl);
      suffix.last_page_len.push_back(suffix_pages[b] ? lpl : 1);
      full.lens.push_back(prefix_pages * P + suffix_lens[b]);
      suffix.lens.push_back(suffix_lens[b]);
    }
    upload_page_table(full);
    upload_page_table(suffix);
    full.num_pages = total_pages;  // the cache rebuilt above
    poison_stale_slots(full);      // every suffix's last page past its length
    // The prefix problem: request 0 = the prefix pages.
    PagedProblem prefix = make_problem(s);
    prefix.indices.assign(perm.begin(), perm.begin() + prefix_pages);
    prefix.indptr.assign(s.batch + 1, prefix_pages);
    prefix.indptr[0] = 0;
    prefix.last_page_len.assign(s.batch, P);
    upload_page_table(prefix);
    // One q for all three.
    const float sm_scale = c.sm_scale;
    std::vector<double> ref_o, ref_lse;
    reference(full, sm_scale, &ref_o, &ref_lse);
    prefix.d_k = std::move(full.d_k);
    prefix.d_v = std::move(full.d_v);
    prefix.d_q = std::move(full.d_q);

    if (c.fused_only) {
      suffix.d_k = std::move(prefix.d_k);
      suffix.d_v = std::move(prefix.d_v);
      suffix.d_q = std::move(prefix.d_q);
    } else {  // the three-call recipe
      Outputs pre;
      int32_t st = run_shared_prefix(prefix, sm_scale, &pre);
      CHECK_MSG(st == 0, "shared prefix: %d %s", st, baracuda_kernels_flashinfer_last_error());
      suffix.d_k = std::move(prefix.d_k);
      suffix.d_v = std::move(prefix.d_v);
      suffix.d_q = std::move(prefix.d_q);
      Outputs suf;
      DeviceBuffer ws;
      st = run_decode(suffix, sm_scale, &suf, WorkspaceMode::kFull, &ws, nullptr);
      CHECK_MSG(st == 0, "suffix decode: %d %s", st, baracuda_kernels_flashinfer_last_error());
      using MergeFn = decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run);
      const MergeFn merge = element == 0
                                ? baracuda_kernels_flashinfer_merge_state_in_place_f16_run
                                : baracuda_kernels_flashinfer_merge_state_in_place_bf16_run;
      st =
          merge(s.batch, s.hq, s.head_dim, pre.o.ptr, pre.lse.ptr, suf.o.ptr, suf.lse.ptr, nullptr);
      CHECK_MSG(st == 0, "merge: %d %s", st, baracuda_kernels_flashinfer_last_error());
      CUDA_OK(cudaDeviceSynchronize());
      compare(full, pre, ref_o, ref_lse, "cascade prefix+suffix");
    }
    // The fused cascade: the prefix pages, then the suffix lists, in one indices array.
    std::vector<int32_t> indices(perm.begin(), perm.begin() + prefix_pages), suffix_indptr;
    indices.insert(indices.end(), suffix.indices.begin(), suffix.indices.end());
    for (int32_t x : suffix.indptr) suffix_indptr.push_back(prefix_pages + x);
    Outputs fused;
    if (run_fused_cascade(suffix, indices, prefix_pages, P, suffix_indptr, suffix.last_page_len,
                          sm_scale, &fused)) {
      compare(full, fused, ref_o, ref_lse, "fused cascade prefix+suffix");
    }
    // The same prefix as a dense tensor: NHD, HND, or NHD with padded rows, in turn; NaN past
    // the prefix's rows and in the padding. Prefixes of 700, 800 and 1200 tokens end mid-tile.
    const int32_t len = prefix_pages * P, D = s.head_dim;
    const DensePrefixLayout layouts[] = {
        {int64_t(s.hkv) * D, D, len + 37},     // [L][Hkv][D]
        {D, int64_t(len + 40) * D, len + 40},  // [Hkv][L + 40][D]
        {int64_t(s.hkv) * D + 8, D, len + 1},  // NHD, 8 elements of padding per token
    };
    const DensePrefixLayout& layout = layouts[case_index % 3];
    Outputs dense;
    if (run_dense_cascade(suffix, total_pages, perm, len, layout, sm_scale, &dense)) {
      compare(full, dense, ref_o, ref_lse, "dense-prefix cascade prefix+suffix");
    }
  }
}

TEST(shared_prefix_refuses_what_it_cannot_run) {
  size_t bytes = 0;
  CHECK_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 2), 3);
  CHECK_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 3), 3);
  CHECK_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 30, 8, 128, 16, 0), 2);
  CHECK_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 1), 0);
  CHECK_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(8, 32, 8, 128, 16, 1,
                                                                               &bytes),
           0);
  DeviceBuffer o(8 * 32 * 128 * 2), lse(8 * 32 * 4), ws(bytes ? bytes : 16);
  poison(o);
  const int32_t st = baracuda_kernels_flashinfer_shared_prefix_decode_run(
      1, 8, 16, 128, 32, 8, 0.1f, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, lse.ptr, ws.ptr,
      bytes ? bytes - 1 : 0, nullptr);
  if (bytes > 0) {
    CHECK_EQ(st, 4);
    std::vector<uint16_t> h = to_host<uint16_t>(o, 8 * 32 * 128);
    CHECK(std::all_of(h.begin(), h.end(), [](uint16_t x) { return x == 0xFFFF; }));
  }
}

// Refused runs of both fused cascades on real device buffers write nothing: a workspace one byte
// short (status 4) and, for the dense prefix, a stride below head_dim (status 2). Off the fused
// path both answer BARACUDA_FLASHINFER_UNSUPPORTED, also writing nothing.
TEST(fused_cascades_refuse_without_writing) {
  const Shape s{1, 8, 32, 8, 128, 16, 0, false};
  const int64_t D = s.head_dim;
  size_t paged_bytes = 0, dense_bytes = 0;
  const bool fused = fused_cascade_expected();
  if (fused) {
    CHECK_EQ(baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
                 s.batch, s.hq, s.hkv, D, s.page, s.element, &paged_bytes),
             0);
    CHECK_EQ(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
                 s.batch, s.hq, s.hkv, D, s.page, s.element, &dense_bytes),
             0);
  }
  // Random q and a cache of at least one whole page per request (the suffixes; also the dense
  // prefix's 16 rows).
  std::vector<int32_t> lens(s.batch);
  for (int32_t& len : lens) len = uniform_int(s.page, 64);
  const PagedProblem p = make_problem_with_lengths(s, lens);
  const size_t o_elems = size_t(s.batch) * s.hq * D;
  DeviceBuffer o(o_elems * 2), lse(size_t(s.batch) * s.hq * 4);
  DeviceBuffer ws(std::max<size_t>({paged_bytes, dense_bytes, 16}));
  const DeviceBuffer prefix_indptr = to_device(std::vector<int32_t>{0, 1});
  const auto o_untouched = [&](const char* what, int32_t st, int32_t expected) {
    CUDA_OK(cudaDeviceSynchronize());
    CHECK_MSG(st == expected, "%s: status %d, expected %d (%s)", what, st, expected,
              baracuda_kernels_flashinfer_last_error());
    const std::vector<uint16_t> h = to_host<uint16_t>(o, o_elems);
    const std::vector<uint32_t> l = to_host<uint32_t>(lse, size_t(s.batch) * s.hq);
    CHECK_MSG(std::all_of(h.begin(), h.end(), [](uint16_t x) { return x == 0xFFFF; }) &&
                  std::all_of(l.begin(), l.end(), [](uint32_t x) { return x == 0xFFFFFFFFu; }),
              "%s wrote its outputs", what);
  };
  const auto paged = [&](size_t bytes) {
    poison(o);
    poison(lse);
    return baracuda_kernels_flashinfer_cascade_decode_run(
        s.element, s.batch, s.page, D, s.hq, s.hkv, 0.088f, p.d_k.ptr, p.d_v.ptr, p.d_indices.ptr,
        prefix_indptr.ptr, p.d_lpl.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, o.ptr, lse.ptr,
        ws.ptr, bytes, nullptr);
  };
  const auto dense = [&](int64_t stride_token, size_t bytes) {
    poison(o);
    poison(lse);
    return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
        s.element, s.batch, s.page, D, s.hq, s.hkv, 0.088f, p.d_k.ptr, p.d_v.ptr, s.page,
        stride_token, D, p.d_k.ptr, p.d_v.ptr, p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr,
        p.d_q.ptr, o.ptr, lse.ptr, ws.ptr, bytes, nullptr);
  };
  const int32_t unsupported = BARACUDA_FLASHINFER_UNSUPPORTED;
  o_untouched("cascade_decode_run, workspace short", paged(paged_bytes ? paged_bytes - 1 : 0),
              fused ? 4 : unsupported);
  o_untouched("cascade_decode_dense_prefix_run, workspace short",
              dense(s.hkv * D, dense_bytes ? dense_bytes - 1 : 0), fused ? 4 : unsupported);
  o_untouched("cascade_decode_dense_prefix_run, stride below head_dim", dense(D / 2, dense_bytes),
              2);
  CHECK(std::string(baracuda_kernels_flashinfer_last_error()).find("prefix_stride_token") !=
        std::string::npos);
}

int main(int argc, char** argv) {
  require_gpu_or_skip("test_shared_prefix_gpu");
  return bfi_test::run_all(argc, argv);
}
