// GPU tests of shared-prefix attention (cascade level 1) and of the cascades against the float64
// reference (tests/attention_check.hpp):
//   decode(prefix + suffix_b) == merge_state_in_place(shared_prefix(prefix), decode(suffix_b))
// for a batch sharing one prefix page list with different suffixes (some empty), the fused
// cascade (cascade_decode_run, sm_90) and the fused cascade over a dense copy of the prefix
// (cascade_decode_dense_prefix_run); graph capture of all three, replayed with new lengths, page
// tables and values, equals eager runs; refused runs write nothing.
#include <baracuda/flashinfer.h>

#include <cstring>
#include <functional>
#include <string>

#include "build_config.hpp"
#include "forced_paths.hpp"
#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

// Whether the fused cascades run here: a compute-capability 9.0 GPU and a build with the sm_90a
// kernels at this head dim. Elsewhere they must refuse with BARACUDA_FLASHINFER_UNSUPPORTED and a
// message.
bool fused_cascade_expected(int32_t head_dim) {
  return is_sm90() && prefix_sm90_built(head_dim);
}

// A batch of queries sharing one prefix of prefix_len tokens, request b followed by its own
// suffix of suffix_lens[b] tokens, on one paged cache (pages shuffled). Device buffers are sized
// for the maxima given at construction, so draw() can write new lengths and page tables into the
// same addresses (what a captured graph replays).
struct CascadeProblem {
  PagedProblem p;  // the cache and the queries (p.table: unused)
  int32_t max_prefix_pages, max_suffix_pages;
  int32_t prefix_len = 0;
  std::vector<int32_t> prefix_pages;
  PageTable prefix;    // one request: the prefix (shared_prefix_decode_run)
  PageTable suffixes;  // request b: its own pages (paged decode, and the dense cascade)
  // The paged fused cascade takes one indices array: the prefix's pages, then the suffixes'.
  std::vector<int32_t> fused_indices, fused_suffix_indptr;
  DeviceBuffer d_fused_indices, d_fused_suffix_indptr;

  CascadeProblem(const Shape& s, int32_t max_prefix_len, int32_t max_suffix_len)
      : max_prefix_pages((max_prefix_len + s.page - 1) / s.page),
        max_suffix_pages(s.batch * ((max_suffix_len + s.page - 1) / s.page)) {
    p.s = s;
    p.num_pages = max_prefix_pages + max_suffix_pages + 3;
    p.refill();
  }

  const Shape& s() const { return p.s; }
  int32_t prefix_page_count() const { return static_cast<int32_t>(prefix_pages.size()); }

  // New lengths and shuffled pages (the first call allocates the device tables); the cache slots
  // no request owns are then NaN.
  void draw(int32_t new_prefix_len, const std::vector<int32_t>& suffix_lens) {
    const int32_t P = s().page;
    std::vector<int32_t> lens{new_prefix_len};
    lens.insert(lens.end(), suffix_lens.begin(), suffix_lens.end());
    const PageTable all = random_page_table(lens, P, p.num_pages);
    prefix_len = new_prefix_len;
    prefix_pages.assign(all.indices.begin(), all.indices.begin() + all.indptr[1]);
    PageTable new_prefix, new_suffixes;
    new_prefix.add(prefix_pages, prefix_len, P);
    for (int32_t b = 0; b < s().batch; ++b) {
      new_suffixes.add(std::vector<int32_t>(all.indices.begin() + all.indptr[b + 1],
                                            all.indices.begin() + all.indptr[b + 2]),
                       suffix_lens[b], P);
    }
    prefix.assign_host(new_prefix);
    suffixes.assign_host(new_suffixes);
    fused_indices = prefix_pages;
    fused_indices.insert(fused_indices.end(), suffixes.indices.begin(), suffixes.indices.end());
    fused_suffix_indptr.clear();
    for (int32_t x : suffixes.indptr) fused_suffix_indptr.push_back(prefix_page_count() + x);
    if (d_fused_indices.ptr == nullptr) {  // the first draw: buffers at capacity
      prefix.upload_with_capacity(max_prefix_pages);
      suffixes.upload_with_capacity(max_suffix_pages);
      d_fused_indices = DeviceBuffer(size_t(max_prefix_pages + max_suffix_pages + 1) * 4);
      d_fused_suffix_indptr = DeviceBuffer(fused_suffix_indptr.size() * 4);
    } else {
      prefix.write_in_place();
      suffixes.write_in_place();
    }
    copy_to(d_fused_indices, fused_indices);
    copy_to(d_fused_suffix_indptr, fused_suffix_indptr);
    poison_stale_slots(p, owned_pages());
  }

  // Every request of the cache: the prefix, then each suffix (for poison_stale_slots).
  PageTable owned_pages() const {
    PageTable t;
    t.add(prefix_pages, prefix_len, s().page);
    for (int32_t b = 0; b < s().batch; ++b) {
      t.add(std::vector<int32_t>(suffixes.indices.begin() + suffixes.indptr[b],
                                 suffixes.indices.begin() + suffixes.indptr[b + 1]),
            suffixes.lens[b], s().page);
    }
    return t;
  }

  // Query b over the prefix, then over its suffix (with_suffixes false: the prefix only).
  AttentionReference reference(float sm_scale, bool with_suffixes = true) const {
    const int32_t P = s().page;
    std::vector<int32_t> lens(s().batch, prefix_len);
    if (with_suffixes) {
      for (int32_t b = 0; b < s().batch; ++b) lens[b] += suffixes.lens[b];
    }
    return reference_over(
        p, lens,
        [&](int32_t b, int32_t t) {
          if (t < prefix_len) return std::make_pair(prefix_pages[t / P], t % P);
          const int32_t u = t - prefix_len;
          return std::make_pair(suffixes.indices[suffixes.indptr[b] + u / P], u % P);
        },
        sm_scale);
  }
};

// What every run here does first: the workspace its get_workspace_size asks for (NaN-poisoned
// when `poison_it`), the outputs allocated and poisoned. Returns the sizing status.
using WorkspaceSize =
    decltype(&baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size);
int32_t prepare_run(const Shape& s, WorkspaceSize size_of, Outputs* out, DeviceBuffer* ws,
                    bool poison_it, size_t* bytes) {
  const int32_t st = size_of(s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, bytes);
  if (st != 0) return st;
  if (ws->ptr == nullptr || ws->bytes < *bytes) *ws = DeviceBuffer(*bytes);
  if (poison_it && *bytes) poison(*ws);
  out->allocate(s);
  if (poison_it) out->poison_all();
  return 0;
}

int32_t run_shared_prefix(const CascadeProblem& c, float sm_scale, Outputs* out, DeviceBuffer* ws,
                          cudaStream_t stream = nullptr, bool poison_it = true) {
  const Shape& s = c.s();
  size_t bytes = 0;
  const int32_t st =
      prepare_run(s, baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size, out, ws,
                  poison_it, &bytes);
  if (st != 0) return st;
  return baracuda_kernels_flashinfer_shared_prefix_decode_run_with(
      s.element, shared_prefix_flags(), s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale,
      c.p.d_k.ptr, c.p.d_v.ptr,
      c.prefix.d_indices.ptr, c.prefix.d_indptr.ptr, c.prefix.d_lpl.ptr, c.p.d_q.ptr, out->o.ptr,
      out->lse.ptr, ws->ptr, bytes, abi_stream(stream));
}

int32_t run_fused_cascade(const CascadeProblem& c, float sm_scale, Outputs* out, DeviceBuffer* ws,
                          cudaStream_t stream = nullptr, bool poison_it = true) {
  const Shape& s = c.s();
  size_t bytes = 0;
  const int32_t st = prepare_run(s, baracuda_kernels_flashinfer_cascade_decode_get_workspace_size,
                                 out, ws, poison_it, &bytes);
  if (st != 0) return st;
  return baracuda_kernels_flashinfer_cascade_decode_run(
      s.element, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, c.p.d_k.ptr, c.p.d_v.ptr,
      c.d_fused_indices.ptr, c.prefix.d_indptr.ptr, c.prefix.d_lpl.ptr, c.d_fused_suffix_indptr.ptr,
      c.suffixes.d_lpl.ptr, c.p.d_q.ptr, out->o.ptr, out->lse.ptr, ws->ptr, bytes,
      abi_stream(stream));
}

// A dense copy of the prefix for cascade_decode_dense_prefix_run: token t of KV head h at
// t * stride_token + h * stride_head in a buffer of `capacity` tokens; every other element (rows
// past the prefix, padding between rows) is NaN, so a read of anything but the prefix's rows
// shows in o.
struct DensePrefixLayout {
  int64_t stride_token, stride_head;
  int32_t capacity;  // tokens the buffer is sized for (>= the prefix's)
};
struct DensePrefix {
  DensePrefixLayout layout;
  DeviceBuffer k, v;
};
std::vector<uint16_t> dense_rows(const DeviceBuffer& cache, const CascadeProblem& c,
                                 const DensePrefixLayout& layout) {
  const Shape& s = c.s();
  const std::vector<uint16_t> host = to_host<uint16_t>(cache, c.p.kv_count());
  const size_t elems = size_t(std::max(int64_t(layout.capacity) * layout.stride_token,
                                       int64_t(s.hkv) * layout.stride_head) +
                              layout.stride_token + layout.stride_head);
  std::vector<uint16_t> dense(elems, 0xFFFF);  // NaN in f16 and bf16
  for (int32_t t = 0; t < c.prefix_len; ++t) {
    for (int32_t h = 0; h < s.hkv; ++h) {
      const size_t src =
          ((size_t(c.prefix_pages[t / s.page]) * s.hkv + h) * s.page + t % s.page) * s.head_dim;
      std::copy_n(host.begin() + src, s.head_dim,
                  dense.begin() + t * layout.stride_token + h * layout.stride_head);
    }
  }
  return dense;
}
// The dense copy of c's current prefix (into `d`'s buffers when they exist).
void copy_dense_prefix(const CascadeProblem& c, DensePrefix* d) {
  const std::vector<uint16_t> k = dense_rows(c.p.d_k, c, d->layout),
                              v = dense_rows(c.p.d_v, c, d->layout);
  if (d->k.ptr == nullptr) {
    d->k = to_device(k);
    d->v = to_device(v);
  } else {
    copy_to(d->k, k);
    copy_to(d->v, v);
  }
}

int32_t run_dense_cascade(const CascadeProblem& c, const DensePrefix& d, float sm_scale,
                          Outputs* out, DeviceBuffer* ws, cudaStream_t stream = nullptr,
                          bool poison_it = true) {
  const Shape& s = c.s();
  size_t bytes = 0;
  const int32_t st =
      prepare_run(s, baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size,
                  out, ws, poison_it, &bytes);
  if (st != 0) return st;
  return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
      s.element, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, d.k.ptr, d.v.ptr, c.prefix_len,
      d.layout.stride_token, d.layout.stride_head, c.p.d_k.ptr, c.p.d_v.ptr,
      c.suffixes.d_indices.ptr, c.suffixes.d_indptr.ptr, c.suffixes.d_lpl.ptr, c.p.d_q.ptr,
      out->o.ptr, out->lse.ptr, ws->ptr, bytes, abi_stream(stream));
}

// Off the fused path both cascades' can_implement and get_workspace_size answer
// BARACUDA_FLASHINFER_UNSUPPORTED with a message.
void expect_fused_refused(const Shape& s) {
  for (auto can : {&baracuda_kernels_flashinfer_cascade_decode_can_implement,
                   &baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement}) {
    EXPECT_EQ(can(s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element),
              BARACUDA_FLASHINFER_UNSUPPORTED);
    EXPECT_NE(std::strlen(baracuda_kernels_flashinfer_last_error()), 0u);
  }
}

class SharedPrefixGpu : public GpuTest {};

// --- shared prefix alone, and the fused cascade with every suffix empty ------------------------
struct PrefixCase {
  const char* name;
  Shape s;
  int32_t prefix_len;
};
class SharedPrefixCases : public GpuTestWithParam<PrefixCase> {};

TEST_P(SharedPrefixCases, matches_float64_and_equals_the_fused_cascade_without_suffixes) {
  const PrefixCase& pc = GetParam();
  const Shape& s = pc.s;
  SCOPED_TRACE(describe(s) + " prefix " + std::to_string(pc.prefix_len));
  CascadeProblem c(s, pc.prefix_len, 0);
  c.draw(pc.prefix_len, std::vector<int32_t>(s.batch, 0));
  const float sm_scale = 1.f / std::sqrt(float(s.head_dim));
  const AttentionReference ref = c.reference(sm_scale);
  Outputs out;
  DeviceBuffer ws;
  ASSERT_EQ(run_shared_prefix(c, sm_scale, &out, &ws), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, out, ref)) << "shared prefix";
  if (!fused_cascade_expected(s.head_dim)) {
    expect_fused_refused(s);
    return;
  }
  Outputs fused;
  ASSERT_EQ(run_fused_cascade(c, sm_scale, &fused, &ws), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, fused, ref)) << "fused cascade, empty suffixes";
}
INSTANTIATE_TEST_SUITE_P(
    Prefixes, SharedPrefixCases,
    ::testing::Values(
        PrefixCase{"long_split_across_the_gpu", {1, 16, 32, 8, 128, 16, 0, false}, 8192},
        PrefixCase{"page1_tiny_batch", {0, 3, 8, 2, 64, 1, 0, false}, 777},
        PrefixCase{"group7_partial_last_page", {1, 17, 28, 4, 256, 64, 0, false}, 5000},
        PrefixCase{"mqa_3200_rows", {0, 100, 32, 1, 128, 16, 0, false}, 300},
        PrefixCase{"empty_prefix", {1, 5, 16, 16, 128, 16, 0, false}, 0},
        PrefixCase{"three_query_tiles", {1, 70, 32, 8, 128, 16, 0, false}, 4001},
        PrefixCase{"group8_partial_last_page", {0, 9, 40, 5, 128, 32, 0, false}, 3333},
        PrefixCase{"sms_take_two_items", {1, 600, 32, 8, 128, 16, 0, false}, 250},
        PrefixCase{"page8_one_token_last_page", {0, 12, 16, 4, 64, 8, 0, false}, 3001},
        PrefixCase{"page24_64_chunks", {1, 6, 16, 2, 128, 24, 0, false}, 2000}),
    [](const auto& i) { return std::string(i.param.name); });

// --- prefix + suffixes: the three-call recipe, the fused cascade, the dense-prefix cascade ------
struct CascadeCase {
  const char* name;
  Shape s;
  int32_t prefix_pages;  // whole pages
  float sm_scale;
  bool fused_only;   // scores too spread for the FA2 kernels' rounding of q: the fused call only
  int dense_layout;  // index into the dense-prefix layouts below
};
class CascadeCases : public GpuTestWithParam<CascadeCase> {};

// Suffixes of 0-600 tokens (every fifth empty). The fused cascade's suffix kernel loads a tile
// from one page where the page size is a multiple of 16 tokens and per token otherwise; it
// rescales its accumulators only when a score passes the running maximum by 2^8, which the large
// scales exercise (scores spread over tens to hundreds in base 2).
TEST_P(CascadeCases, three_calls_fused_and_dense_prefix_match_float64) {
  const CascadeCase& cc = GetParam();
  const Shape& s = cc.s;
  SCOPED_TRACE(describe(s));
  const int32_t P = s.page, prefix_len = cc.prefix_pages * P;
  std::vector<int32_t> suffix_lens(s.batch);
  for (int32_t b = 0; b < s.batch; ++b) suffix_lens[b] = b % 5 == 0 ? 0 : uniform_int(1, 600);
  CascadeProblem c(s, prefix_len, 600);
  c.draw(prefix_len, suffix_lens);
  const AttentionReference ref = c.reference(cc.sm_scale);
  DeviceBuffer ws;
  if (!cc.fused_only) {  // shared prefix, decode over the suffixes, merge_state_in_place
    Outputs pre, suf;
    ASSERT_EQ(run_shared_prefix(c, cc.sm_scale, &pre, &ws), 0)
        << baracuda_kernels_flashinfer_last_error();
    DeviceBuffer decode_ws;
    const auto run_suffix_decode = [&] {
      return run_decode(c.p, c.suffixes, cc.sm_scale, &suf, WorkspaceMode::kFull, &decode_ws,
                        nullptr);
    };
    ASSERT_EQ(run_suffix_decode(), 0) << baracuda_kernels_flashinfer_last_error();
    const auto merge = s.element == 0 ? baracuda_kernels_flashinfer_merge_state_in_place_f16_run
                                      : baracuda_kernels_flashinfer_merge_state_in_place_bf16_run;
    ASSERT_EQ(
        merge(s.batch, s.hq, s.head_dim, pre.o.ptr, pre.lse.ptr, suf.o.ptr, suf.lse.ptr, nullptr),
        0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(outputs_match(s, pre, ref)) << "shared prefix + decode + merge";
  }
  if (!fused_cascade_expected(s.head_dim)) {
    expect_fused_refused(s);
    return;
  }
  Outputs fused;
  ASSERT_EQ(run_fused_cascade(c, cc.sm_scale, &fused, &ws), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, fused, ref)) << "fused cascade";
  // The prefix as a dense tensor: NHD, HND, or NHD with padded rows, by case; NaN past the
  // prefix's rows and in the padding. Prefixes of 700, 800 and 1200 tokens end mid-tile.
  const int32_t D = s.head_dim;
  const DensePrefixLayout layouts[] = {
      {int64_t(s.hkv) * D, D, prefix_len + 37},            // [L][Hkv][D]
      {D, int64_t(prefix_len + 40) * D, prefix_len + 40},  // [Hkv][L + 40][D]
      {int64_t(s.hkv) * D + 8, D, prefix_len + 1},         // NHD, 8 elements of padding
  };
  DensePrefix dense{layouts[cc.dense_layout], {}, {}};
  copy_dense_prefix(c, &dense);
  Outputs dense_out;
  ASSERT_EQ(run_dense_cascade(c, dense, cc.sm_scale, &dense_out, &ws), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, dense_out, ref)) << "dense-prefix cascade";
}
INSTANTIATE_TEST_SUITE_P(
    Cascades, CascadeCases,
    ::testing::Values(
        CascadeCase{"f16_1536_shared", {0, 24, 32, 8, 128, 16, 0, false}, 96, 0.0884f, false, 0},
        CascadeCase{"bf16_1536_shared", {1, 24, 32, 8, 128, 16, 0, false}, 96, 0.0884f, false, 1},
        CascadeCase{"bf16_10240_shared", {1, 24, 32, 8, 128, 16, 0, false}, 640, 0.0884f, false, 2},
        // group 16 (two 8-query blocks), page 8: tiles straddle pages
        CascadeCase{"group16_page8", {1, 10, 16, 1, 64, 8, 0, false}, 150, 0.125f, false, 0},
        CascadeCase{"hd256_group8_page24", {0, 7, 40, 5, 256, 24, 0, false}, 50, 0.0625f, false, 1},
        // group 32: four 8-query blocks; page 1
        CascadeCase{"group32_page1", {1, 5, 32, 1, 128, 1, 0, false}, 700, 0.0884f, false, 2},
        // group 12: a whole and a partial block
        CascadeCase{"group12", {0, 6, 24, 2, 128, 16, 0, false}, 40, 0.0884f, false, 0},
        CascadeCase{"group3_page32", {1, 9, 12, 4, 64, 32, 0, false}, 40, 0.125f, false, 1},
        CascadeCase{"group3_scale2", {1, 9, 12, 4, 64, 32, 0, false}, 40, 2.0f, true, 2},
        CascadeCase{"hd256_scale1", {0, 7, 40, 5, 256, 16, 0, false}, 50, 1.0f, true, 0}),
    [](const auto& i) { return std::string(i.param.name); });

// --- graph capture: the calls chain kernels with programmatic dependent launches ----------------
// One capture per call, replayed after the lengths, the page tables and every value changed in
// place; each replay equals the float64 reference and, bit for bit, an eager run of the same call
// on the same data.
template <class Run>
void replay_matches_eager(CascadeProblem& c, float sm_scale, Run run,
                          const std::function<void(int)>& redraw, bool with_suffixes) {
  Stream stream;
  Outputs out, eager;
  DeviceBuffer ws, eager_ws;
  ASSERT_EQ(run(&out, &ws, stream.s, true), 0) << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaStreamSynchronize(stream));
  Graph graph;
  ASSERT_EQ(capture(stream, &graph, [&] { return run(&out, &ws, stream.s, false); }), 0)
      << baracuda_kernels_flashinfer_last_error();
  for (int replay = 0; replay < 5; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    redraw(replay);
    const AttentionReference ref = c.reference(sm_scale, with_suffixes);
    out.poison_all();
    poison(ws);
    graph.launch(stream);
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(outputs_match(c.s(), out, ref));
    ASSERT_EQ(run(&eager, &eager_ws, stream.s, true), 0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_EQ(to_host<uint8_t>(out.o, out.o.bytes), to_host<uint8_t>(eager.o, eager.o.bytes))
        << "the replay and an eager run differ bitwise";
    EXPECT_EQ(to_host<uint8_t>(out.lse, out.lse.bytes),
              to_host<uint8_t>(eager.lse, eager.lse.bytes));
  }
}

// Prefix lengths of the replays: long, one token, empty, a partial page, the maximum.
int32_t replay_prefix_len(int replay, int32_t max_len) {
  const int32_t lens[] = {uniform_int(max_len / 2, max_len), 1, 0, 16 * 37 + 5, max_len};
  return lens[replay % 5];
}
std::vector<int32_t> random_suffix_lens(int32_t batch, int32_t max_len) {
  std::vector<int32_t> lens(batch);
  for (int32_t b = 0; b < batch; ++b) lens[b] = b % 4 == 1 ? 0 : uniform_int(1, max_len);
  return lens;
}

TEST_F(SharedPrefixGpu, graph_replay_with_changing_prefix_equals_eager) {
  for (int32_t element : {0, 1}) {
    const Shape s{element, 24, 32, 8, 128, 16, 0, false};
    SCOPED_TRACE(describe(s));
    const int32_t max_len = 6000;
    CascadeProblem c(s, max_len, 0);
    c.draw(max_len, std::vector<int32_t>(s.batch, 0));
    const float sm_scale = 0.0884f;
    replay_matches_eager(
        c, sm_scale,
        [&](Outputs* out, DeviceBuffer* ws, cudaStream_t st, bool poison_it) {
          return run_shared_prefix(c, sm_scale, out, ws, st, poison_it);
        },
        [&](int replay) {
          c.p.refill();
          c.draw(replay_prefix_len(replay, max_len), std::vector<int32_t>(s.batch, 0));
        },
        /*with_suffixes=*/false);
  }
}

TEST_F(SharedPrefixGpu, fused_cascade_graph_replay_with_changing_lengths_equals_eager) {
  const Shape s{1, 16, 32, 8, 128, 16, 0, false};
  if (!fused_cascade_expected(s.head_dim)) {
    expect_fused_refused(s);
    GTEST_SKIP() << "the fused cascade runs on compute capability 9.0 with the sm_90a build only";
  }
  const int32_t max_prefix = 8000, max_suffix = 700;
  CascadeProblem c(s, max_prefix, max_suffix);
  c.draw(max_prefix, random_suffix_lens(s.batch, max_suffix));
  const float sm_scale = 0.0884f;
  replay_matches_eager(
      c, sm_scale,
      [&](Outputs* out, DeviceBuffer* ws, cudaStream_t st, bool poison_it) {
        return run_fused_cascade(c, sm_scale, out, ws, st, poison_it);
      },
      [&](int replay) {
        c.p.refill();
        c.draw(replay_prefix_len(replay, max_prefix),
               random_suffix_lens(s.batch, replay % 2 ? 40 : max_suffix));
      },
      /*with_suffixes=*/true);
}

// prefix_len is a host value of the dense cascade (baked into the graph): the replays keep it
// and change the prefix's values, the suffixes' lengths and page tables, and q.
TEST_F(SharedPrefixGpu, dense_cascade_graph_replay_with_changing_suffixes_equals_eager) {
  const Shape s{0, 16, 32, 8, 128, 16, 0, false};
  if (!fused_cascade_expected(s.head_dim)) {
    expect_fused_refused(s);
    GTEST_SKIP() << "the fused cascade runs on compute capability 9.0 with the sm_90a build only";
  }
  const int32_t prefix_len = 3000 + 7, max_suffix = 700;
  CascadeProblem c(s, prefix_len, max_suffix);
  c.draw(prefix_len, random_suffix_lens(s.batch, max_suffix));
  DensePrefix dense{{int64_t(s.hkv) * s.head_dim, s.head_dim, prefix_len + 5}, {}, {}};
  copy_dense_prefix(c, &dense);
  const float sm_scale = 0.0884f;
  replay_matches_eager(
      c, sm_scale,
      [&](Outputs* out, DeviceBuffer* ws, cudaStream_t st, bool poison_it) {
        return run_dense_cascade(c, dense, sm_scale, out, ws, st, poison_it);
      },
      [&](int replay) {
        c.p.refill();
        c.draw(prefix_len, random_suffix_lens(s.batch, replay % 2 ? 40 : max_suffix));
        copy_dense_prefix(c, &dense);
      },
      /*with_suffixes=*/true);
}

// --- refusals
// -------------------------------------------------------------------------------------
TEST_F(SharedPrefixGpu, can_implement_refuses_what_it_cannot_run) {
  EXPECT_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 2),
            BARACUDA_FLASHINFER_UNSUPPORTED);
  EXPECT_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 3),
            BARACUDA_FLASHINFER_UNSUPPORTED);
  EXPECT_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 30, 8, 128, 16, 0),
            BARACUDA_FLASHINFER_INVALID_PROBLEM);
  EXPECT_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_can_implement(8, 32, 8, 128, 16, 1),
            0);
}

TEST_F(SharedPrefixGpu, short_workspace_is_refused_and_nothing_is_written) {
  size_t bytes = 0;
  ASSERT_EQ(baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(8, 32, 8, 128, 16,
                                                                                1, &bytes),
            0);
  if (bytes == 0) GTEST_SKIP() << "this problem needs no workspace on this device";
  DeviceBuffer o(8 * 32 * 128 * 2), lse(8 * 32 * 4), ws(bytes);
  poison(o);
  const int32_t st = baracuda_kernels_flashinfer_shared_prefix_decode_run(
      1, 8, 16, 128, 32, 8, 0.1f, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, o.ptr, lse.ptr, ws.ptr,
      bytes - 1, nullptr);
  EXPECT_EQ(st, BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL);
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<uint16_t> h = to_host<uint16_t>(o, 8 * 32 * 128);
  EXPECT_TRUE(std::all_of(h.begin(), h.end(), [](uint16_t x) { return x == 0xFFFF; }));
}

// Refused runs of both fused cascades on real device buffers write nothing: a workspace one byte
// short (status 4) and, for the dense prefix, a stride below head_dim (status 2). Off the fused
// path both answer BARACUDA_FLASHINFER_UNSUPPORTED, also writing nothing.
TEST_F(SharedPrefixGpu, fused_cascades_refuse_without_writing) {
  const Shape s{1, 8, 32, 8, 128, 16, 0, false};
  const int64_t D = s.head_dim;
  size_t paged_bytes = 0, dense_bytes = 0;
  const bool fused = fused_cascade_expected(s.head_dim);
  if (fused) {
    ASSERT_EQ(baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
                  s.batch, s.hq, s.hkv, D, s.page, s.element, &paged_bytes),
              0);
    ASSERT_EQ(baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
                  s.batch, s.hq, s.hkv, D, s.page, s.element, &dense_bytes),
              0);
    ASSERT_GT(paged_bytes, 0u);
    ASSERT_GT(dense_bytes, 0u);
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
    EXPECT_EQ(st, expected) << what << ": " << baracuda_kernels_flashinfer_last_error();
    const std::vector<uint16_t> h = to_host<uint16_t>(o, o_elems);
    const std::vector<uint32_t> l = to_host<uint32_t>(lse, size_t(s.batch) * s.hq);
    EXPECT_TRUE(std::all_of(h.begin(), h.end(), [](uint16_t x) { return x == 0xFFFF; }) &&
                std::all_of(l.begin(), l.end(), [](uint32_t x) { return x == 0xFFFFFFFFu; }))
        << what << " wrote its outputs";
  };
  const auto paged = [&](size_t bytes) {
    poison(o);
    poison(lse);
    return baracuda_kernels_flashinfer_cascade_decode_run(
        s.element, s.batch, s.page, D, s.hq, s.hkv, 0.088f, p.d_k.ptr, p.d_v.ptr,
        p.table.d_indices.ptr, prefix_indptr.ptr, p.table.d_lpl.ptr, p.table.d_indptr.ptr,
        p.table.d_lpl.ptr, p.d_q.ptr, o.ptr, lse.ptr, ws.ptr, bytes, nullptr);
  };
  const auto dense = [&](int64_t stride_token, size_t bytes) {
    poison(o);
    poison(lse);
    return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
        s.element, s.batch, s.page, D, s.hq, s.hkv, 0.088f, p.d_k.ptr, p.d_v.ptr, s.page,
        stride_token, D, p.d_k.ptr, p.d_v.ptr, p.table.d_indices.ptr, p.table.d_indptr.ptr,
        p.table.d_lpl.ptr, p.d_q.ptr, o.ptr, lse.ptr, ws.ptr, bytes, nullptr);
  };
  const int32_t unsupported = BARACUDA_FLASHINFER_UNSUPPORTED;
  const int32_t short_ws = BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL;
  o_untouched("cascade_decode_run, workspace short", paged(paged_bytes ? paged_bytes - 1 : 0),
              fused ? short_ws : unsupported);
  o_untouched("cascade_decode_dense_prefix_run, workspace short",
              dense(s.hkv * D, dense_bytes ? dense_bytes - 1 : 0), fused ? short_ws : unsupported);
  o_untouched("cascade_decode_dense_prefix_run, stride below head_dim", dense(D / 2, dense_bytes),
              BARACUDA_FLASHINFER_INVALID_PROBLEM);
  EXPECT_NE(std::string(baracuda_kernels_flashinfer_last_error()).find("prefix_stride_token"),
            std::string::npos);
}

}  // namespace
