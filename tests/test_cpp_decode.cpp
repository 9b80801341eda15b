// Host-only tests of the C++ layer (include/baracuda/flashinfer.hpp) for paged decode, the shared
// prefix and the fused cascades: plans are validated by the real C _can_implement; every
// tensor/workspace mistake is reported, naming the tensor and dimension, before any launch; a
// correct call reaches the C run once, with its arguments in ABI order. Built twice: with
// exceptions (test_cpp_decode) and with -fno-exceptions (test_cpp_decode_noexcept); only
// Status-returning calls are used except in the BARACUDA_FLASHINFER_HAS_EXCEPTIONS block.
//
// This file defines the C run entry points and the device-dependent queries (the workspace sizes,
// the fused cascades' can_implement) as fakes (tests/cpp_fakes.hpp): no GPU is touched.
#include <baracuda/flashinfer.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cpp_fakes.hpp"

namespace bfi = baracuda::flashinfer;
namespace st = bfi::status;
using bfi_fake::addr;
using bfi_fake::args;
using bfi_fake::reset;

namespace {
size_t g_workspace_bytes = 4096;  // what the (fake) device queries answer
}  // namespace

extern "C" {
int32_t baracuda_kernels_flashinfer_paged_decode_get_workspace_size(int32_t, int32_t, int32_t,
                                                                    int32_t, int32_t, int32_t,
                                                                    size_t* bytes) {
  *bytes = g_workspace_bytes;
  return 0;
}
#define FAKE_RUN(NAME)                                                                           \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(                                 \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,             \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,           \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace,     \
      size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {                             \
    return bfi_fake::record(#NAME, batch_size, page_size, head_dim, num_qo_heads, num_kv_heads,  \
                            sm_scale, k_data, v_data, indices, indptr, last_page_len, q, o, lse, \
                            workspace, uint64_t(workspace_bytes), stream);                       \
  }
FAKE_RUN(f16)
FAKE_RUN(bf16)
FAKE_RUN(f32)
FAKE_RUN(f16_e4m3)
FAKE_RUN(f16_e5m2)
FAKE_RUN(bf16_e4m3)
FAKE_RUN(bf16_e5m2)
#undef FAKE_RUN
int32_t baracuda_kernels_flashinfer_paged_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* indices, void* indptr, void* last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("run_with", element, flags, batch_size, page_size, head_dim, num_qo_heads,
                          num_kv_heads, sm_scale, k_data, v_data, indices, indptr, last_page_len, q,
                          o, lse, workspace, uint64_t(workspace_bytes), stream);
}
int32_t baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size(int32_t, int32_t,
                                                                            int32_t, int32_t,
                                                                            int32_t, int32_t,
                                                                            size_t* bytes) {
  *bytes = g_workspace_bytes;
  return 0;
}
int32_t baracuda_kernels_flashinfer_shared_prefix_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* prefix_indices,
    void* prefix_indptr, void* prefix_last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("shared_prefix", element, batch_size, page_size, head_dim, num_qo_heads,
                          num_kv_heads, sm_scale, k_data, v_data, prefix_indices, prefix_indptr,
                          prefix_last_page_len, q, o, lse, workspace, uint64_t(workspace_bytes),
                          stream);
}
// The fused cascades: can_implement answers success for f16 / bf16 here (the library's asks
// the GPU).
int32_t baracuda_kernels_flashinfer_cascade_decode_can_implement(int32_t, int32_t, int32_t, int32_t,
                                                                 int32_t, int32_t element) {
  return element == 0 || element == 1 ? 0 : 3;
}
int32_t baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(int32_t, int32_t, int32_t,
                                                                      int32_t, int32_t, int32_t,
                                                                      size_t* bytes) {
  *bytes = g_workspace_bytes;
  return 0;
}
int32_t baracuda_kernels_flashinfer_cascade_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,
    void* prefix_indptr, void* prefix_last_page_len, void* suffix_indptr,
    void* suffix_last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("cascade", element, batch_size, page_size, head_dim, num_qo_heads,
                          num_kv_heads, sm_scale, k_data, v_data, indices, prefix_indptr,
                          prefix_last_page_len, suffix_indptr, suffix_last_page_len, q, o, lse,
                          workspace, uint64_t(workspace_bytes), stream);
}
int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element) {
  return baracuda_kernels_flashinfer_cascade_decode_can_implement(
      batch_size, num_qo_heads, num_kv_heads, head_dim, page_size, element);
}
int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size(
    int32_t batch_size, int32_t num_qo_heads, int32_t num_kv_heads, int32_t head_dim,
    int32_t page_size, int32_t element, size_t* bytes) {
  return baracuda_kernels_flashinfer_cascade_decode_get_workspace_size(
      batch_size, num_qo_heads, num_kv_heads, head_dim, page_size, element, bytes);
}
int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, const void* k_prefix, const void* v_prefix,
    int32_t prefix_len, int64_t prefix_stride_token, int64_t prefix_stride_head, void* k_data,
    void* v_data, void* indices, void* suffix_indptr, void* suffix_last_page_len, const void* q,
    void* o, void* lse, void* workspace, size_t workspace_bytes,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("cascade_dense_prefix", element, batch_size, page_size, head_dim,
                          num_qo_heads, num_kv_heads, sm_scale, k_prefix, v_prefix, prefix_len,
                          prefix_stride_token, prefix_stride_head, k_data, v_data, indices,
                          suffix_indptr, suffix_last_page_len, q, o, lse, workspace,
                          uint64_t(workspace_bytes), stream);
}
}  // extern "C"

namespace {

constexpr int64_t B = 4, HQ = 32, HKV = 8, D = 128, P = 16, PAGES = 64;
// The sizes as the C runs take them.
constexpr int32_t kB = B, kHq = HQ, kHkv = HKV, kD = D, kP = P;

bfi::DecodeDesc desc(bfi::Element e = bfi::Element::f16, bool split = true) {
  bfi::DecodeDesc d;
  d.batch_size = B;
  d.num_qo_heads = HQ;
  d.num_kv_heads = HKV;
  d.head_dim = D;
  d.page_size = P;
  d.element = e;
  d.split_kv = split;
  return d;
}

// A correct set of arguments for desc(e); each test breaks one thing.
struct Args {
  bfi::TensorView<3> q, o;
  bfi::TensorView<4> k, v;
  bfi::TensorView<1> indices, indptr, last;
  std::optional<bfi::TensorView<2>> lse;
  bfi::Workspace ws;
  explicit Args(bfi::Element e = bfi::Element::f16) {
    const bfi::Dtype qt = bfi::query_dtype(e), kvt = bfi::kv_dtype(e);
    q = bfi::contiguous<3>(addr(0x100000), qt, {B, HQ, D});
    o = bfi::contiguous<3>(addr(0x200000), qt, {B, HQ, D});
    k = bfi::contiguous<4>(addr(0x300000), kvt, {PAGES, HKV, P, D});
    v = bfi::contiguous<4>(addr(0x400000), kvt, {PAGES, HKV, P, D});
    indices = bfi::contiguous<1>(addr(0x500000), bfi::Dtype::i32, {PAGES});
    indptr = bfi::contiguous<1>(addr(0x600000), bfi::Dtype::i32, {B + 1});
    last = bfi::contiguous<1>(addr(0x700000), bfi::Dtype::i32, {B});
    lse = bfi::contiguous<2>(addr(0x800000), bfi::Dtype::f32, {B, HQ});
    ws = bfi::Workspace{addr(0x900000), g_workspace_bytes};
  }
  bfi::Status run(const bfi::DecodePlan& plan) const {
    return plan.run(nullptr, q, k, v, indices, indptr, last, o, lse, ws);
  }
  const void* lse_data() const { return lse ? lse->data : nullptr; }
};

// What a paged_decode_<element>_run receives from `a` with workspace (ws, bytes).
std::vector<std::string> run_args(const Args& a, float sm_scale, const void* ws, size_t bytes) {
  return args(kB, kP, kD, kHq, kHkv, sm_scale, a.k.data, a.v.data, a.indices.data, a.indptr.data,
              a.last.data, a.q.data, a.o.data, a.lse_data(), ws, uint64_t(bytes), nullptr);
}

bfi::DecodePlan plan(bfi::Element e = bfi::Element::f16, bool split = true) {
  bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(desc(e, split));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

TEST(CppDecode, valid_arguments_reach_the_c_run_once_in_abi_order) {
  const bfi::DecodePlan p = plan();
  EXPECT_EQ(p.workspace_size(), g_workspace_bytes);
  EXPECT_NEAR(p.sm_scale(), 1.0f / std::sqrt(128.0f), 1e-7f);
  const Args a;
  reset();
  EXPECT_ONE_CALL(a.run(p), "f16", run_args(a, p.sm_scale(), a.ws.data, a.ws.bytes));
}

TEST(CppDecode, each_element_calls_its_own_run_and_checks_its_dtypes) {
  const bfi::Element all[] = {bfi::Element::f16,      bfi::Element::bf16,
                              bfi::Element::f32,      bfi::Element::f16_e4m3,
                              bfi::Element::f16_e5m2, bfi::Element::bf16_e4m3,
                              bfi::Element::bf16_e5m2};
  for (bfi::Element e : all) {
    SCOPED_TRACE(bfi::element_name(e));
    const bfi::DecodePlan p = plan(e);
    const Args a(e);
    reset();
    EXPECT_ONE_CALL(a.run(p), bfi::element_name(e),
                    run_args(a, p.sm_scale(), a.ws.data, a.ws.bytes));
  }
  Args a(bfi::Element::bf16_e4m3);
  a.k.dtype = bfi::Dtype::bf16;  // fp8 cache expected
  const bfi::DecodePlan p = plan(bfi::Element::bf16_e4m3);
  reset();
  EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "k_cache: dtype is bf16, expected f8_e4m3");
}

TEST(CppDecode, wrong_dtype_names_the_tensor) {
  const bfi::DecodePlan p = plan();
  Args a;
  a.q.dtype = bfi::Dtype::f32;
  reset();
  EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "DecodePlan::run: q: dtype is f32, expected f16");
  Args b;
  b.indptr.dtype = bfi::Dtype::i64;
  reset();
  EXPECT_REJECTED(b.run(p), st::kInvalidProblem, "kv_indptr: dtype is i64, expected i32");
  Args c;
  c.lse->dtype = bfi::Dtype::f16;
  reset();
  EXPECT_REJECTED(c.run(p), st::kInvalidProblem, "lse: dtype is f16, expected f32");
}

TEST(CppDecode, wrong_shape_names_the_tensor_and_dimension) {
  const bfi::DecodePlan p = plan();
  reset();
  Args a;
  a.q = bfi::contiguous<3>(a.q.data, a.q.dtype, {B, 16, D});
  EXPECT_REJECTED(a.run(p), st::kInvalidProblem,
                  "q: dimension 1 (num_qo_heads) is 16, expected 32");
  Args b;
  b.k = bfi::contiguous<4>(b.k.data, b.k.dtype, {PAGES, HKV, 8, D});
  EXPECT_REJECTED(b.run(p), st::kInvalidProblem,
                  "k_cache: dimension 2 (page_size) is 8, expected 16");
  Args c;
  c.v = bfi::contiguous<4>(c.v.data, c.v.dtype, {PAGES - 1, HKV, P, D});
  EXPECT_REJECTED(c.run(p), st::kInvalidProblem,
                  "v_cache: dimension 0 (num_pages) is 63, expected 64 (as k_cache)");
  Args d;
  d.indptr = bfi::contiguous<1>(d.indptr.data, bfi::Dtype::i32, {B});
  EXPECT_REJECTED(d.run(p), st::kInvalidProblem,
                  "kv_indptr: dimension 0 (batch + 1) is 4, expected 5");
  Args e;
  e.o = bfi::contiguous<3>(e.o.data, e.o.dtype, {B, HQ, 64});
  EXPECT_REJECTED(e.run(p), st::kInvalidProblem, "o: dimension 2 (head_dim) is 64, expected 128");
  Args f;
  f.lse = bfi::contiguous<2>(f.lse->data, bfi::Dtype::f32, {B + 1, HQ});
  EXPECT_REJECTED(f.run(p), st::kInvalidProblem, "lse: dimension 0 (batch) is 5, expected 4");
}

TEST(CppDecode, non_dense_stride_names_the_tensor_and_dimension) {
  const bfi::DecodePlan p = plan();
  reset();
  Args a;
  a.q.stride[0] = 2 * HQ * D;  // every other row of a larger tensor
  EXPECT_REJECTED(a.run(p), st::kInvalidProblem,
                  "q: stride of dimension 0 (batch) is 8192, expected 4096 (dense row-major)");
  Args b;
  b.k.stride = {HKV * P * D, D, HKV * D, 1};  // NHD pages where HND is needed
  EXPECT_REJECTED(b.run(p), st::kInvalidProblem,
                  "k_cache: stride of dimension 1 (num_kv_heads) is 128, expected 2048");
  // A size-1 dimension's stride does not matter.
  bfi::DecodeDesc one = desc();
  one.batch_size = 1;
  const bfi::DecodePlan p1 = bfi::check(bfi::DecodePlan::create(one));
  Args c;
  c.q = bfi::contiguous<3>(c.q.data, c.q.dtype, {1, HQ, D});
  c.q.stride[0] = 12345;
  c.o = bfi::contiguous<3>(c.o.data, c.o.dtype, {1, HQ, D});
  c.indptr = bfi::contiguous<1>(c.indptr.data, bfi::Dtype::i32, {2});
  c.last = bfi::contiguous<1>(c.last.data, bfi::Dtype::i32, {1});
  c.lse = std::nullopt;
  reset();
  EXPECT_ONE_CALL(c.run(p1), "f16",
                  args(int32_t(1), kP, kD, kHq, kHkv, p1.sm_scale(), c.k.data, c.v.data,
                       c.indices.data, c.indptr.data, c.last.data, c.q.data, c.o.data, nullptr,
                       c.ws.data, uint64_t(c.ws.bytes), nullptr));
}

TEST(CppDecode, null_or_misaligned_pointers_are_rejected) {
  const bfi::DecodePlan p = plan();
  reset();
  Args a;
  a.o.data = nullptr;
  EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "o: data is NULL");
  Args b;
  b.q.data = addr(0x100008);
  EXPECT_REJECTED(b.run(p), st::kMisalignedOperand, "q: data 0x100008 is not 16-byte aligned");
}

TEST(CppDecode, missing_or_short_workspace_is_rejected) {
  const bfi::DecodePlan p = plan();
  EXPECT_EQ(p.workspace_size(), 4096u);
  reset();
  Args a;
  a.ws = bfi::Workspace{};
  EXPECT_REJECTED(a.run(p), st::kWorkspaceTooSmall,
                  "workspace: missing; this DecodePlan needs 4096 bytes (workspace_size())");
  Args b;
  b.ws.bytes = 1024;
  EXPECT_REJECTED(b.run(p), st::kWorkspaceTooSmall,
                  "workspace: 1024 bytes is too small; this DecodePlan needs 4096 bytes");
  Args c;
  c.ws.data = nullptr;
  EXPECT_REJECTED(c.run(p), st::kInvalidProblem, "workspace: data is NULL but bytes is 4096");
  Args d;
  d.ws.data = addr(0x900004);
  EXPECT_REJECTED(d.run(p), st::kMisalignedOperand,
                  "workspace: data 0x900004 is not 16-byte aligned");
  // A bigger workspace is fine, and reaches the C run whole.
  Args e;
  e.ws.bytes = 1 << 20;
  EXPECT_ONE_CALL(e.run(p), "f16", run_args(e, p.sm_scale(), e.ws.data, e.ws.bytes));
}

TEST(CppDecode, nosplit_plan_needs_no_workspace) {
  const bfi::DecodePlan p = plan(bfi::Element::f16, /*split=*/false);
  EXPECT_EQ(p.workspace_size(), 0u);
  Args a;
  a.ws = bfi::Workspace{};
  reset();
  // 0 bytes: the C run never splits.
  EXPECT_ONE_CALL(a.run(p), "f16", run_args(a, p.sm_scale(), nullptr, 0));
}

TEST(CppDecode, plan_creation_asks_the_c_can_implement) {
  bfi::DecodeDesc d = desc();
  d.head_dim = 100;
  bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), st::kUnsupported);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "head_dim 100")) << r.status().message();
  EXPECT_TRUE(bfi_fake::contains(r.status().to_string(), "unsupported: "));
  d = desc();
  d.num_qo_heads = 30;  // not a multiple of 8
  r = bfi::DecodePlan::create(d);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(),
                                 "num_qo_heads (30) must be a multiple of num_kv_heads (8)"))
      << r.status().message();
  d = desc();
  d.sm_scale = 1.0f / 0.0f;
  r = bfi::DecodePlan::create(d);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  d = desc();
  d.sm_scale = 0.5f;
  const bfi::Result<bfi::DecodePlan> ok = bfi::DecodePlan::create(d);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->sm_scale(), 0.5f);
  EXPECT_EQ(*ok->desc().sm_scale, 0.5f);
}

TEST(CppDecode, kernel_choice_reaches_run_with_and_its_flags) {
  struct Case {
    bfi::DecodeKernel kernel;
    bool split;
    int32_t flags;
    bool workspace;  // passed to the C run
  };
  const Case cases[] = {
      {bfi::DecodeKernel::cuda_cores, true, BARACUDA_FLASHINFER_DECODE_CUDA_CORES, true},
      {bfi::DecodeKernel::cuda_cores, false,
       BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT, false},
      {bfi::DecodeKernel::tensor_cores, false,
       BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flags);
    bfi::DecodeDesc d = desc(bfi::Element::bf16, c.split);
    d.kernel = c.kernel;
    const bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->workspace_size(), c.workspace ? g_workspace_bytes : 0);
    const Args a(bfi::Element::bf16);
    const void* ws = c.workspace ? a.ws.data : nullptr;
    const size_t bytes = c.workspace ? a.ws.bytes : 0;
    reset();
    EXPECT_ONE_CALL(a.run(*r), "run_with",
                    args(int32_t(bfi::Element::bf16), c.flags, kB, kP, kD, kHq, kHkv, r->sm_scale(),
                         a.k.data, a.v.data, a.indices.data, a.indptr.data, a.last.data, a.q.data,
                         a.o.data, a.lse_data(), ws, uint64_t(bytes), nullptr));
  }
  // The C run_with_can_implement decides: no tensor-core kernel for f32.
  bfi::DecodeDesc d = desc(bfi::Element::f32);
  d.kernel = bfi::DecodeKernel::tensor_cores;
  const bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), st::kUnsupported);
}

// --- shared prefix and the fused cascades --------------------------------------------------------

// A correct set of shared-prefix arguments (bf16, B x Hq x D queries, a 10-page prefix).
struct PrefixArgs {
  Args base{bfi::Element::bf16};
  bfi::TensorView<1> indices = bfi::contiguous<1>(addr(0xa00000), bfi::Dtype::i32, {10});
  bfi::TensorView<1> indptr = bfi::contiguous<1>(addr(0xb00000), bfi::Dtype::i32, {2});
  bfi::TensorView<1> last = bfi::contiguous<1>(addr(0xc00000), bfi::Dtype::i32, {1});
  bfi::Status run(const bfi::SharedPrefixPlan& plan) const {
    return plan.run(nullptr, base.q, base.k, base.v, indices, indptr, last, base.o, base.lse,
                    base.ws);
  }
};

// The decode problem's sizes as a shared-prefix problem.
bfi::SharedPrefixDesc prefix_desc(bfi::Element e = bfi::Element::bf16) {
  const bfi::DecodeDesc d = desc(e);
  return {d.batch_size, d.num_qo_heads, d.num_kv_heads, d.head_dim,
          d.page_size,  d.element,      d.sm_scale};
}

// A plan over prefix_desc() (every prefix plan succeeds against the fakes).
template <typename Plan>
Plan prefix_desc_plan() {
  bfi::Result<Plan> r = Plan::create(prefix_desc());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

constexpr int32_t kBf16 = static_cast<int32_t>(bfi::Element::bf16);

TEST(CppSharedPrefix, plan_reaches_the_c_run_in_abi_order) {
  const bfi::SharedPrefixPlan p = prefix_desc_plan<bfi::SharedPrefixPlan>();
  EXPECT_EQ(p.workspace_size(), g_workspace_bytes);
  EXPECT_NEAR(p.sm_scale(), 1.0f / std::sqrt(128.0f), 1e-7f);
  const PrefixArgs a;
  const Args& b = a.base;
  reset();
  EXPECT_ONE_CALL(a.run(p), "shared_prefix",
                  args(kBf16, kB, kP, kD, kHq, kHkv, p.sm_scale(), b.k.data, b.v.data,
                       a.indices.data, a.indptr.data, a.last.data, b.q.data, b.o.data, b.lse_data(),
                       b.ws.data, uint64_t(b.ws.bytes), nullptr));
}

TEST(CppSharedPrefix, plan_rejects_bad_tensors_and_elements) {
  const bfi::SharedPrefixPlan p = prefix_desc_plan<bfi::SharedPrefixPlan>();
  reset();
  {
    PrefixArgs a;
    a.indptr = bfi::contiguous<1>(addr(0xb00000), bfi::Dtype::i32, {3});
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "prefix_indptr: dimension 0");
  }
  {
    PrefixArgs a;
    a.last = bfi::contiguous<1>(addr(0xc00000), bfi::Dtype::i64, {1});
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "prefix_last_page_len: dtype");
  }
  {
    PrefixArgs a;
    a.base.q = bfi::contiguous<3>(addr(0x100000), bfi::Dtype::f16, {B, HQ, D});  // bf16 plan
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "q: dtype");
  }
  {
    PrefixArgs a;
    a.base.ws.bytes = g_workspace_bytes - 1;
    EXPECT_REJECTED(a.run(p), st::kWorkspaceTooSmall, "SharedPrefixPlan needs");
  }
  // The C can_implement: f16 and bf16 only.
  const bfi::Result<bfi::SharedPrefixPlan> r =
      bfi::SharedPrefixPlan::create(prefix_desc(bfi::Element::f32));
  EXPECT_EQ(r.status().code(), st::kUnsupported);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "f16 and bf16")) << r.status().message();
}

// A correct set of fused-cascade arguments: the shared-prefix ones plus the suffix lists.
struct CascadeArgs {
  PrefixArgs prefix;
  bfi::TensorView<1> suffix_indptr = bfi::contiguous<1>(addr(0xd00000), bfi::Dtype::i32, {B + 1});
  bfi::TensorView<1> suffix_last = bfi::contiguous<1>(addr(0xe00000), bfi::Dtype::i32, {B});
  bfi::Status run(const bfi::CascadePlan& plan) const {
    const Args& a = prefix.base;
    return plan.run(nullptr, a.q, a.k, a.v, prefix.indices, prefix.indptr, prefix.last,
                    suffix_indptr, suffix_last, a.o, a.lse, a.ws);
  }
};

TEST(CppCascade, plan_reaches_the_c_run_in_abi_order) {
  const bfi::CascadePlan p = prefix_desc_plan<bfi::CascadePlan>();
  EXPECT_EQ(p.workspace_size(), g_workspace_bytes);
  const CascadeArgs a;
  const Args& b = a.prefix.base;
  reset();
  EXPECT_ONE_CALL(
      a.run(p), "cascade",
      args(kBf16, kB, kP, kD, kHq, kHkv, p.sm_scale(), b.k.data, b.v.data, a.prefix.indices.data,
           a.prefix.indptr.data, a.prefix.last.data, a.suffix_indptr.data, a.suffix_last.data,
           b.q.data, b.o.data, b.lse_data(), b.ws.data, uint64_t(b.ws.bytes), nullptr));
}

TEST(CppCascade, plan_rejects_bad_suffix_tensors_and_scales) {
  const bfi::CascadePlan p = prefix_desc_plan<bfi::CascadePlan>();
  reset();
  {
    CascadeArgs a;
    a.suffix_indptr = bfi::contiguous<1>(addr(0xd00000), bfi::Dtype::i32, {B});
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "suffix_indptr: dimension 0");
  }
  {
    CascadeArgs a;
    a.suffix_last = bfi::contiguous<1>(addr(0xe00000), bfi::Dtype::f32, {B});
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "suffix_last_page_len: dtype");
  }
  {
    CascadeArgs a;
    a.prefix.indptr = bfi::contiguous<1>(addr(0xb00000), bfi::Dtype::i32, {3});
    EXPECT_REJECTED(a.run(p), st::kInvalidProblem, "prefix_indptr: dimension 0");
  }
  {
    CascadeArgs a;
    a.prefix.base.ws.bytes = g_workspace_bytes - 1;
    EXPECT_REJECTED(a.run(p), st::kWorkspaceTooSmall, "CascadePlan needs");
  }
  bfi::SharedPrefixDesc d = prefix_desc();
  d.sm_scale = -0.5f;
  const bfi::Result<bfi::CascadePlan> r = bfi::CascadePlan::create(d);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "positive")) << r.status().message();
  EXPECT_EQ(bfi::CascadePlan::create(prefix_desc(bfi::Element::f32)).status().code(),
            st::kUnsupported);
}

// A correct set of dense-prefix cascade arguments: the fused cascade's q, caches, indices (now
// the suffixes' pages only), suffix lists, o, lse and workspace, and an L-token prefix stored
// NHD, [L, Hkv, D].
constexpr int64_t L = 1000;
struct DenseCascadeArgs {
  CascadeArgs paged;
  bfi::TensorView<3> k_prefix = bfi::contiguous<3>(addr(0xf00000), bfi::Dtype::bf16, {L, HKV, D});
  bfi::TensorView<3> v_prefix = bfi::contiguous<3>(addr(0x1000000), bfi::Dtype::bf16, {L, HKV, D});
  bfi::Status run(const bfi::DensePrefixCascadePlan& plan) const {
    const Args& a = paged.prefix.base;
    return plan.run(nullptr, a.q, k_prefix, v_prefix, a.k, a.v, paged.prefix.indices,
                    paged.suffix_indptr, paged.suffix_last, a.o, a.lse, a.ws);
  }
  // What the C run receives, with the prefix's strides (stride_token, stride_head).
  std::vector<std::string> expected(const bfi::DensePrefixCascadePlan& p, int64_t stride_token,
                                    int64_t stride_head) const {
    const Args& b = paged.prefix.base;
    return args(kBf16, kB, kP, kD, kHq, kHkv, p.sm_scale(), k_prefix.data, v_prefix.data,
                int32_t(L), stride_token, stride_head, b.k.data, b.v.data,
                paged.prefix.indices.data, paged.suffix_indptr.data, paged.suffix_last.data,
                b.q.data, b.o.data, b.lse_data(), b.ws.data, uint64_t(b.ws.bytes), nullptr);
  }
};

TEST(CppDensePrefixCascade, plan_reaches_the_c_run_in_abi_order) {
  const bfi::DensePrefixCascadePlan p = prefix_desc_plan<bfi::DensePrefixCascadePlan>();
  EXPECT_EQ(p.workspace_size(), g_workspace_bytes);
  const DenseCascadeArgs a;
  reset();
  EXPECT_ONE_CALL(a.run(p), "cascade_dense_prefix", a.expected(p, HKV * D, D));
  // The strides of L and Hkv are free and reach the C run as given: HND [Hkv, L, D], no lse.
  DenseCascadeArgs hnd;
  hnd.k_prefix.stride = hnd.v_prefix.stride = {D, L * D, 1};
  hnd.paged.prefix.base.lse = std::nullopt;
  reset();
  EXPECT_ONE_CALL(hnd.run(p), "cascade_dense_prefix", hnd.expected(p, D, L * D));
}

TEST(CppDensePrefixCascade, plan_rejects_bad_prefix_tensors) {
  const bfi::DensePrefixCascadePlan p = prefix_desc_plan<bfi::DensePrefixCascadePlan>();
  using A = DenseCascadeArgs;
  struct Case {
    void (*edit)(A&);
    int32_t code;
    const char* message;
  };
  const int32_t bad = st::kInvalidProblem;
  const Case cases[] = {
      {[](A& a) { a.k_prefix.dtype = bfi::Dtype::f16; }, bad,
       "DensePrefixCascadePlan::run: k_prefix: dtype is f16, expected bf16"},
      {[](A& a) { a.k_prefix.shape[1] = HKV + 1; }, bad,
       "k_prefix: dimension 1 (num_kv_heads) is 9, expected 8"},
      {[](A& a) { a.v_prefix.shape[2] = 64; }, bad,
       "v_prefix: dimension 2 (head_dim) is 64, expected 128"},
      {[](A& a) { a.v_prefix.shape[0] = L - 1; }, bad,
       "v_prefix: dimension 0 (prefix_len) is 999, expected 1000 (as k_prefix)"},
      {[](A& a) { a.k_prefix.stride[2] = 2; }, bad,
       "k_prefix: stride of dimension 2 (head_dim) is 2, expected 1 (dense row-major)"},
      {[](A& a) {
         a.v_prefix.stride = {D, L * D, 1};
       },
       bad,  // HND beside an NHD k_prefix
       "v_prefix: stride of dimension 0 (prefix_len) is 128, expected 1024 (as k_prefix)"},
      {[](A& a) { a.v_prefix.stride[1] = 2 * D; }, bad,
       "v_prefix: stride of dimension 1 (num_kv_heads) is 256, expected 128 (as k_prefix)"},
      {[](A& a) { a.k_prefix.shape[0] = a.v_prefix.shape[0] = 0; }, bad,
       "k_prefix: dimension 0 (prefix_len) is 0, must be in [1, 2^31)"},
      {[](A& a) { a.k_prefix.shape[0] = a.v_prefix.shape[0] = int64_t(1) << 31; }, bad,
       "k_prefix: dimension 0 (prefix_len) is 2147483648, must be in [1, 2^31)"},
      {[](A& a) { a.k_prefix.data = nullptr; }, bad, "k_prefix: data is NULL"},
      {[](A& a) { a.v_prefix.data = addr(0x1000008); }, st::kMisalignedOperand,
       "v_prefix: data 0x1000008 is not 16-byte aligned"},
      {[](A& a) { a.paged.suffix_indptr.shape[0] = B; }, bad,
       "suffix_indptr: dimension 0 (batch + 1) is 4, expected 5"},
      {[](A& a) { a.paged.prefix.indices.dtype = bfi::Dtype::i64; }, bad,
       "indices: dtype is i64, expected i32"},
      {[](A& a) { a.paged.prefix.base.ws.bytes = g_workspace_bytes - 1; }, st::kWorkspaceTooSmall,
       "DensePrefixCascadePlan needs"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    A a;
    c.edit(a);
    reset();
    EXPECT_REJECTED(a.run(p), c.code, c.message);
  }
  bfi::SharedPrefixDesc d = prefix_desc();
  d.sm_scale = -0.5f;
  const bfi::Result<bfi::DensePrefixCascadePlan> r = bfi::DensePrefixCascadePlan::create(d);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "DensePrefixCascadePlan::create: sm_scale"))
      << r.status().message();
  EXPECT_EQ(bfi::DensePrefixCascadePlan::create(prefix_desc(bfi::Element::f32)).status().code(),
            st::kUnsupported);
}

TEST(CppLibrary, status_and_library_information) {
  const bfi::Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_STREQ(s.name(), "success");
  EXPECT_EQ(bfi::Status(st::kCudaError, "x").to_string(), "CUDA error: x");
  EXPECT_EQ(bfi::version(), BARACUDA_FLASHINFER_VERSION);
  EXPECT_EQ(std::strncmp(bfi::version_string(), "0.", 2), 0);
  EXPECT_STREQ(bfi::status_string(st::kWorkspaceTooSmall), "workspace too small");
  const bfi::Result<int> r = bfi::Status();  // a Result needs a failure or a value
  EXPECT_EQ(r.status().code(), st::kInternal);
}

#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
TEST(CppLibrary, check_throws_error_with_status_and_message) {
  const bfi::DecodePlan p = plan();
  Args a;
  a.q.dtype = bfi::Dtype::bf16;
  bool thrown = false;
  reset();
  try {
    bfi::check(a.run(p));
  } catch (const bfi::Error& e) {
    thrown = true;
    EXPECT_EQ(e.code(), st::kInvalidProblem);
    EXPECT_TRUE(bfi_fake::contains(e.what(), "invalid problem: DecodePlan::run: q: dtype is bf16"))
        << e.what();
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(bfi_fake::calls().count, 0);
  bfi::DecodeDesc d = desc();
  d.head_dim = 100;
  thrown = false;
  try {
    const bfi::DecodePlan bad = bfi::check(bfi::DecodePlan::create(d));
    (void)bad;
  } catch (const bfi::Error& e) {
    thrown = e.code() == st::kUnsupported && bfi_fake::contains(e.what(), "head_dim 100");
  }
  EXPECT_TRUE(thrown);
}
#else
TEST(CppLibrary, built_without_exceptions) {
  EXPECT_FALSE(BARACUDA_FLASHINFER_HAS_EXCEPTIONS);
}
#endif

}  // namespace
