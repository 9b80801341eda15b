// Host-only tests of the C++ layer's PrefillPlan (include/baracuda/flashinfer.hpp), paged and
// ragged: plans are validated by the real C _can_implement (their refusals are the C library's
// status and message); the device-dependent workspace query is faked and must receive the plan's
// sizes and options; every tensor mistake is reported, naming the tensor and dimension, before
// any launch; a correct call reaches the C run once, with its arguments in ABI order.
//
// Built twice: with exceptions (test_cpp_prefill) and with -fno-exceptions
// (test_cpp_prefill_noexcept). This file defines the C run entry points (see cpp_fakes.hpp).
#include <baracuda/flashinfer.hpp>

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "cpp_fakes.hpp"

namespace bfi = baracuda::flashinfer;
namespace st = bfi::status;
using bfi_fake::addr;
using bfi_fake::args;
using bfi_fake::fake_stream;
using bfi_fake::reset;

namespace {
size_t g_workspace_bytes = 8192;             // what the (fake) device query answers
std::vector<std::string> g_workspace_query;  // the arguments of the last query
}  // namespace

extern "C" {
// The options as ABI-order arguments: every field, so a change to any is seen.
#define OPTIONS_ARGS(o)                                                                            \
  static_cast<uint64_t>((o)->struct_size), (o)->kv_layout, (o)->window_left, (o)->logits_soft_cap, \
      (o)->k_scale, (o)->v_scale, static_cast<const void*>((o)->sinks), (o)->flags, (o)->reserved
int32_t baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes) {
  g_workspace_query = args(element, batch_size, max_q_rows, page_size, head_dim, num_qo_heads,
                           num_kv_heads, causal, OPTIONS_ARGS(options));
  *workspace_bytes = g_workspace_bytes;
  return 0;
}
int32_t baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, int32_t causal,
    const baracuda_flashinfer_attention_options* options, size_t* workspace_bytes) {
  g_workspace_query = args(element, batch_size, max_q_rows, max_kv_rows, head_dim, num_qo_heads,
                           num_kv_heads, causal, OPTIONS_ARGS(options));
  *workspace_bytes = g_workspace_bytes;
  return 0;
}
int32_t baracuda_kernels_flashinfer_prefill_paged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k_data, const void* v_data, const int32_t* kv_indices, const int32_t* kv_indptr,
    const int32_t* last_page_len, void* o, float* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("prefill_paged", element, batch_size, max_q_rows, page_size, head_dim,
                          num_qo_heads, num_kv_heads, sm_scale, causal, OPTIONS_ARGS(options), q,
                          q_indptr, k_data, v_data, kv_indices, kv_indptr, last_page_len, o, lse,
                          workspace, static_cast<uint64_t>(workspace_bytes), stream);
}
int32_t baracuda_kernels_flashinfer_prefill_ragged_run(
    int32_t element, int32_t batch_size, int32_t max_q_rows, int32_t max_kv_rows, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, int32_t causal,
    const baracuda_flashinfer_attention_options* options, const void* q, const int32_t* q_indptr,
    const void* k, const void* v, const int32_t* kv_indptr, void* o, float* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("prefill_ragged", element, batch_size, max_q_rows, max_kv_rows, head_dim,
                          num_qo_heads, num_kv_heads, sm_scale, causal, OPTIONS_ARGS(options), q,
                          q_indptr, k, v, kv_indptr, o, lse, workspace,
                          static_cast<uint64_t>(workspace_bytes), stream);
}
}  // extern "C"

namespace {

constexpr int32_t B = 4, ROWS = 300, HQ = 32, HKV = 8, D = 128, P = 16, PAGES = 64, KV_ROWS = 900;

bfi::PrefillDesc prefill_desc(bfi::PrefillKv kv) {
  bfi::PrefillDesc d;
  d.kv = kv;
  d.batch_size = B;
  d.max_q_rows = ROWS;
  d.num_qo_heads = HQ;
  d.num_kv_heads = HKV;
  d.head_dim = D;
  d.page_size = P;
  d.max_kv_rows = KV_ROWS;
  d.element = bfi::Element::bf16;
  return d;
}

// The C options a descriptor means, as the fakes record them (struct_size ... reserved).
std::vector<std::string> options_args(int32_t flags) {
  baracuda_flashinfer_attention_options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  o.flags = flags;
  return args(OPTIONS_ARGS(&o));
}
std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What the C _can_implement answers for the descriptor (its options as the plan builds them).
int32_t c_can(const bfi::PrefillDesc& d) {
  baracuda_flashinfer_attention_options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  o.flags =
      static_cast<int32_t>(d.kernel) | (d.split_kv ? 0 : BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT);
  const float scale = d.sm_scale ? *d.sm_scale : 1.f / std::sqrt(float(d.head_dim));
  const int32_t e = static_cast<int32_t>(d.element);
  return d.kv == bfi::PrefillKv::paged
             ? baracuda_kernels_flashinfer_prefill_paged_can_implement(
                   e, d.batch_size, d.max_q_rows, d.page_size, d.head_dim, d.num_qo_heads,
                   d.num_kv_heads, scale, d.causal, &o)
             : baracuda_kernels_flashinfer_prefill_ragged_can_implement(
                   e, d.batch_size, d.max_q_rows, d.max_kv_rows, d.head_dim, d.num_qo_heads,
                   d.num_kv_heads, scale, d.causal, &o);
}

struct PagedArgs {
  bfi::TensorView<3> q, o;
  bfi::TensorView<1> q_indptr, indices, indptr, last;
  bfi::TensorView<4> k, v;
  std::optional<bfi::TensorView<2>> lse;
  bfi::Workspace ws{addr(0x900000), g_workspace_bytes};
  PagedArgs() {
    const bfi::Dtype t = bfi::Dtype::bf16, i32 = bfi::Dtype::i32;
    q = bfi::contiguous<3>(addr(0x100000), t, {ROWS, HQ, D});
    q_indptr = bfi::contiguous<1>(addr(0x200000), i32, {B + 1});
    k = bfi::contiguous<4>(addr(0x300000), t, {PAGES, HKV, P, D});
    v = bfi::contiguous<4>(addr(0x400000), t, {PAGES, HKV, P, D});
    indices = bfi::contiguous<1>(addr(0x500000), i32, {PAGES});
    indptr = bfi::contiguous<1>(addr(0x600000), i32, {B + 1});
    last = bfi::contiguous<1>(addr(0x700000), i32, {B});
    o = bfi::contiguous<3>(addr(0x800000), t, {ROWS, HQ, D});
    lse = bfi::contiguous<2>(addr(0xA00000), bfi::Dtype::f32, {ROWS, HQ});
  }
  bfi::Status run(const bfi::PrefillPlan& p) const {
    return p.run(fake_stream(), q, q_indptr, k, v, indices, indptr, last, o, lse, ws);
  }
};

struct RaggedArgs {
  bfi::TensorView<3> q, k, v, o;
  bfi::TensorView<1> q_indptr, indptr;
  std::optional<bfi::TensorView<2>> lse;
  bfi::Workspace ws{addr(0x900000), g_workspace_bytes};
  RaggedArgs() {
    const bfi::Dtype t = bfi::Dtype::bf16, i32 = bfi::Dtype::i32;
    q = bfi::contiguous<3>(addr(0x100000), t, {ROWS, HQ, D});
    q_indptr = bfi::contiguous<1>(addr(0x200000), i32, {B + 1});
    k = bfi::contiguous<3>(addr(0x300000), t, {KV_ROWS, HKV, D});
    v = bfi::contiguous<3>(addr(0x400000), t, {KV_ROWS, HKV, D});
    indptr = bfi::contiguous<1>(addr(0x600000), i32, {B + 1});
    o = bfi::contiguous<3>(addr(0x800000), t, {ROWS, HQ, D});
    lse = bfi::contiguous<2>(addr(0xA00000), bfi::Dtype::f32, {ROWS, HQ});
  }
  bfi::Status run(const bfi::PrefillPlan& p) const {
    return p.run(fake_stream(), q, q_indptr, k, v, indptr, o, lse, ws);
  }
};

const bfi::PrefillKv kKvs[] = {bfi::PrefillKv::paged, bfi::PrefillKv::ragged};

TEST(CppPrefill, prefill_plan_creation_is_the_c_can_implement) {
  for (bfi::PrefillKv kv : kKvs) {
    const bool paged = kv == bfi::PrefillKv::paged;
    std::vector<bfi::PrefillDesc> bad(10, prefill_desc(kv));
    bad[0].head_dim = 96;
    bad[1].batch_size = 0;
    bad[2].num_qo_heads = 30;
    bad[3].element = bfi::Element::f32;
    bad[4].element = static_cast<bfi::Element>(7);  // no such element code
    bad[5].sm_scale = std::numeric_limits<float>::quiet_NaN();
    bad[6].sm_scale = -0.1f;
    bad[7].max_q_rows = -1;
    (paged ? bad[8].page_size : bad[8].max_kv_rows) = 0;
    bad[9].kernel = static_cast<bfi::PrefillKernel>(8);  // the C library: unknown options->flags
    for (const bfi::PrefillDesc& d : bad) {
      g_workspace_query.clear();
      const int32_t c = c_can(d);
      EXPECT_SAME_AS_C(bfi::PrefillPlan::create(d), c);
      EXPECT_TRUE(g_workspace_query.empty()) << bfi_fake::format("%s", "a refused plan queried the workspace");
    }
  }
  bfi::PrefillDesc d = prefill_desc(bfi::PrefillKv::paged);
  d.kv = static_cast<bfi::PrefillKv>(2);
  bfi::Result<bfi::PrefillPlan> r = bfi::PrefillPlan::create(d);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "PrefillPlan::create: kv must be")) << bfi_fake::format("%s",
            r.status().message().c_str());
}

TEST(CppPrefill, prefill_plan_asks_the_workspace_for_its_sizes_and_options) {
  for (bfi::PrefillKv kv : kKvs) {
    const bool paged = kv == bfi::PrefillKv::paged;
    for (int variant = 0; variant < 3; ++variant) {
      bfi::PrefillDesc d = prefill_desc(kv);
      int32_t flags = 0;
      if (variant == 1) {
        d.split_kv = false;
        flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
      } else if (variant == 2) {
        d.kernel = bfi::PrefillKernel::fa2;
        d.causal = false;
        d.element = bfi::Element::f16;
        d.sm_scale = 0.25f;
        flags = BARACUDA_FLASHINFER_ATTENTION_FA2;
      }
      g_workspace_bytes = 4096 + 16 * variant;
      bfi::Result<bfi::PrefillPlan> plan = bfi::PrefillPlan::create(d);
      EXPECT_TRUE(plan.ok()) << bfi_fake::format("%s", plan.status().to_string().c_str());
      if (!plan.ok()) continue;
      EXPECT_TRUE(plan->workspace_size() == g_workspace_bytes);
      const float want = variant == 2 ? 0.25f : 1.f / std::sqrt(float(D));
      EXPECT_TRUE(plan->sm_scale() == want && plan->desc().sm_scale == want);
      EXPECT_EQ(plan->options().flags, flags);
      const std::vector<std::string> expect =
          concat(args(static_cast<int32_t>(d.element), B, ROWS, paged ? P : KV_ROWS, D, HQ, HKV,
                      d.causal ? 1 : 0),
                 options_args(flags));
      EXPECT_TRUE(g_workspace_query == expect) << bfi_fake::format("query (%s), expected (%s)",
                bfi_fake::join(g_workspace_query).c_str(), bfi_fake::join(expect).c_str());
    }
  }
  g_workspace_bytes = 8192;
}

TEST(CppPrefill, prefill_valid_calls_reach_the_c_run_once_in_abi_order) {
  for (int variant = 0; variant < 2; ++variant) {
    bfi::PrefillDesc pd = prefill_desc(bfi::PrefillKv::paged);
    pd.split_kv = variant == 0;
    const int32_t flags = variant == 0 ? 0 : BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
    const bfi::PrefillPlan paged = bfi::check(bfi::PrefillPlan::create(pd));
    PagedArgs a;
    const float scale = 1.f / std::sqrt(float(D));
    reset();
    EXPECT_ONE_CALL(a.run(paged), "prefill_paged",
                    concat(concat(args(1, B, ROWS, P, D, HQ, HKV, scale, 1), options_args(flags)),
                           args(a.q.data, a.q_indptr.data, a.k.data, a.v.data, a.indices.data,
                                a.indptr.data, a.last.data, a.o.data, a.lse->data, a.ws.data,
                                static_cast<uint64_t>(a.ws.bytes), fake_stream())));
    a.lse = std::nullopt;  // optional: NULL, not written
    reset();
    EXPECT_ONE_CALL(a.run(paged), "prefill_paged",
                    concat(concat(args(1, B, ROWS, P, D, HQ, HKV, scale, 1), options_args(flags)),
                           args(a.q.data, a.q_indptr.data, a.k.data, a.v.data, a.indices.data,
                                a.indptr.data, a.last.data, a.o.data, nullptr, a.ws.data,
                                static_cast<uint64_t>(a.ws.bytes), fake_stream())));

    bfi::PrefillDesc rd = prefill_desc(bfi::PrefillKv::ragged);
    rd.causal = false;
    rd.kernel = bfi::PrefillKernel::fa2;
    rd.split_kv = variant == 0;
    const bfi::PrefillPlan ragged = bfi::check(bfi::PrefillPlan::create(rd));
    RaggedArgs b;
    reset();
    EXPECT_ONE_CALL(
        b.run(ragged), "prefill_ragged",
        concat(concat(args(1, B, ROWS, KV_ROWS, D, HQ, HKV, scale, 0),
                      options_args(flags | BARACUDA_FLASHINFER_ATTENTION_FA2)),
               args(b.q.data, b.q_indptr.data, b.k.data, b.v.data, b.indptr.data, b.o.data,
                    b.lse->data, b.ws.data, static_cast<uint64_t>(b.ws.bytes), fake_stream())));
  }
}

TEST(CppPrefill, prefill_paged_run_checks_every_tensor_before_the_c_run) {
  const bfi::PrefillPlan p =
      bfi::check(bfi::PrefillPlan::create(prefill_desc(bfi::PrefillKv::paged)));
  const PagedArgs good;
  auto run = [&](const PagedArgs& a) { return a.run(p); };
  const std::array<const char*, 3> rows = {"max_q_rows", "num_qo_heads", "head_dim"};
  const std::array<const char*, 4> cache = {"num_pages", "num_kv_heads", "page_size", "head_dim"};
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<3>(
      good, [](PagedArgs & a) -> auto& { return a.q; }, run, "q", rows, 0, 16);
  expect_tensor_checked<1>(
      good, [](PagedArgs & a) -> auto& { return a.q_indptr; }, run, "q_indptr", {"batch + 1"}, 0,
      4);
  expect_tensor_checked<4>(
      good, [](PagedArgs & a) -> auto& { return a.k; }, run, "k_cache", cache, 1, 16);
  expect_tensor_checked<4>(
      good, [](PagedArgs & a) -> auto& { return a.v; }, run, "v_cache", cache, 1, 16);
  expect_tensor_checked<1>(
      good, [](PagedArgs & a) -> auto& { return a.indices; }, run, "kv_indices", {"nnz_pages"}, 1,
      4);
  expect_tensor_checked<1>(
      good, [](PagedArgs & a) -> auto& { return a.indptr; }, run, "kv_indptr", {"batch + 1"}, 0, 4);
  expect_tensor_checked<1>(
      good, [](PagedArgs & a) -> auto& { return a.last; }, run, "kv_last_page_len", {"batch"}, 0,
      4);
  expect_tensor_checked<3>(
      good, [](PagedArgs & a) -> auto& { return a.o; }, run, "o", rows, 0, 16);
  expect_tensor_checked<2>(
      good, [](PagedArgs & a) -> auto& { return *a.lse; }, run, "lse",
      {"max_q_rows", "num_qo_heads"}, 0, 4);
  PagedArgs a = good;  // the two caches must have as many pages
  a.v = bfi::contiguous<4>(a.v.data, a.v.dtype, {PAGES / 2, HKV, P, D});
  reset();
  EXPECT_REJECTED(
      run(a), st::kInvalidProblem,
      "PrefillPlan::run: v_cache: dimension 0 (num_pages) is 32, expected 64 (as k_cache)");
}

TEST(CppPrefill, prefill_ragged_run_checks_every_tensor_before_the_c_run) {
  const bfi::PrefillPlan p =
      bfi::check(bfi::PrefillPlan::create(prefill_desc(bfi::PrefillKv::ragged)));
  const RaggedArgs good;
  auto run = [&](const RaggedArgs& a) { return a.run(p); };
  const std::array<const char*, 3> rows = {"max_q_rows", "num_qo_heads", "head_dim"};
  const std::array<const char*, 3> keys = {"max_kv_rows", "num_kv_heads", "head_dim"};
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<3>(
      good, [](RaggedArgs & a) -> auto& { return a.q; }, run, "q", rows, 0, 16);
  expect_tensor_checked<1>(
      good, [](RaggedArgs & a) -> auto& { return a.q_indptr; }, run, "q_indptr", {"batch + 1"}, 0,
      4);
  expect_tensor_checked<3>(
      good, [](RaggedArgs & a) -> auto& { return a.k; }, run, "k", keys, 0, 16);
  expect_tensor_checked<3>(
      good, [](RaggedArgs & a) -> auto& { return a.v; }, run, "v", keys, 0, 16);
  expect_tensor_checked<1>(
      good, [](RaggedArgs & a) -> auto& { return a.indptr; }, run, "kv_indptr", {"batch + 1"}, 0,
      4);
  expect_tensor_checked<3>(
      good, [](RaggedArgs & a) -> auto& { return a.o; }, run, "o", rows, 0, 16);
  expect_tensor_checked<2>(
      good, [](RaggedArgs & a) -> auto& { return *a.lse; }, run, "lse",
      {"max_q_rows", "num_qo_heads"}, 0, 4);
}

TEST(CppPrefill, prefill_run_checks_the_workspace_and_the_kind_of_keys) {
  const bfi::PrefillPlan paged =
      bfi::check(bfi::PrefillPlan::create(prefill_desc(bfi::PrefillKv::paged)));
  const bfi::PrefillPlan ragged =
      bfi::check(bfi::PrefillPlan::create(prefill_desc(bfi::PrefillKv::ragged)));
  PagedArgs a;
  a.ws.bytes = g_workspace_bytes - 1;
  reset();
  EXPECT_REJECTED(a.run(paged), st::kWorkspaceTooSmall,
                  "PrefillPlan::run: workspace: 8191 bytes is too small; this PrefillPlan needs "
                  "8192 bytes (workspace_size())");
  a.ws = {nullptr, 0};
  reset();
  EXPECT_REJECTED(a.run(paged), st::kWorkspaceTooSmall, "workspace: missing");
  a.ws = {nullptr, 64};
  reset();
  EXPECT_REJECTED(a.run(paged), st::kInvalidProblem, "workspace: data is NULL but bytes is 64");
  a.ws = {addr(0x900008), g_workspace_bytes};
  reset();
  EXPECT_REJECTED(a.run(paged), st::kMisalignedOperand, "is not 16-byte aligned");
  // The run of the other kind of keys.
  reset();
  EXPECT_REJECTED(PagedArgs().run(ragged), st::kInvalidProblem,
                  "PrefillPlan::run: this plan's keys are ragged (PrefillDesc::kv)");
  reset();
  EXPECT_REJECTED(RaggedArgs().run(paged), st::kInvalidProblem,
                  "PrefillPlan::run: this plan's keys are paged (PrefillDesc::kv)");
}

#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
TEST(CppPrefill, prefill_check_throws_the_library_error) {
  bfi::PrefillDesc d = prefill_desc(bfi::PrefillKv::ragged);
  d.head_dim = 80;
  bool thrown = false;
  try {
    bfi::PrefillPlan bad = bfi::check(bfi::PrefillPlan::create(d));
    (void)bad;
  } catch (const bfi::Error& e) {
    thrown = e.code() == st::kUnsupported && bfi_fake::contains(e.what(), "head_dim 80");
  }
  EXPECT_TRUE(thrown);
}
#else
TEST(CppPrefill, prefill_built_without_exceptions) {
  EXPECT_TRUE(!BARACUDA_FLASHINFER_HAS_EXCEPTIONS);
}
#endif

}  // namespace

