// Host-only tests of the C++ layer (include/baracuda/flashinfer.hpp) for paged decode: plans are
// validated by the real C _can_implement; every tensor/workspace mistake is reported, naming the
// tensor and dimension, before any launch. Built twice: with exceptions (test_cpp_decode) and
// with -fno-exceptions (test_cpp_decode_noexcept); only Status-returning calls are used except
// in the BARACUDA_FLASHINFER_HAS_EXCEPTIONS block.
//
// This file defines the C run entry points and the device-dependent workspace query itself:
// the executable's definitions win over the library's at link time, so no GPU is touched and
// each test can assert that the C run was (or was not) reached, with which arguments.
#include <baracuda/flashinfer.hpp>

#include <cstring>

#include "harness.hpp"

namespace bfi = baracuda::flashinfer;

namespace {
struct RunCall {
  int calls = 0;
  int32_t batch_size, page_size, head_dim, num_qo_heads, num_kv_heads;
  float sm_scale;
  const void *k, *v, *indices, *indptr, *last_page_len, *q, *o, *lse, *workspace;
  size_t workspace_bytes;
  const char* which;
  int32_t element, flags;  // paged_decode_run_with and shared_prefix_decode_run only
};
RunCall g_run;
size_t g_workspace_bytes = 4096;  // what the (fake) device query answers
}  // namespace

extern "C" {
int32_t baracuda_kernels_flashinfer_paged_decode_get_workspace_size(int32_t, int32_t, int32_t,
                                                                    int32_t, int32_t, int32_t,
                                                                    size_t* bytes) {
  *bytes = g_workspace_bytes;
  return 0;
}
#define FAKE_RUN(NAME)                                                                       \
  int32_t baracuda_kernels_flashinfer_paged_decode_##NAME##_run(                             \
      int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,         \
      int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,       \
      void* indptr, void* last_page_len, const void* q, void* o, void* lse, void* workspace, \
      size_t workspace_bytes, baracuda_flashinfer_stream_t) {                                \
    g_run = RunCall{g_run.calls + 1, batch_size,      page_size, head_dim, num_qo_heads,     \
                    num_kv_heads,    sm_scale,        k_data,    v_data,   indices,          \
                    indptr,          last_page_len,   q,         o,        lse,              \
                    workspace,       workspace_bytes, #NAME,     -1,       -1};              \
    return 0;                                                                                \
  }
FAKE_RUN(f16)
FAKE_RUN(bf16)
FAKE_RUN(f32)
FAKE_RUN(f16_e4m3)
FAKE_RUN(f16_e5m2)
FAKE_RUN(bf16_e4m3)
FAKE_RUN(bf16_e5m2)
int32_t baracuda_kernels_flashinfer_paged_decode_run_with(
    int32_t element, int32_t flags, int32_t batch_size, int32_t page_size, int32_t head_dim,
    int32_t num_qo_heads, int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data,
    void* indices, void* indptr, void* last_page_len, const void* q, void* o, void* lse,
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t) {
  g_run = RunCall{g_run.calls + 1, batch_size,      page_size,  head_dim, num_qo_heads,
                  num_kv_heads,    sm_scale,        k_data,     v_data,   indices,
                  indptr,          last_page_len,   q,          o,        lse,
                  workspace,       workspace_bytes, "run_with", element,  flags};
  return 0;
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
    void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t) {
  g_run = RunCall{g_run.calls + 1,
                  batch_size,
                  page_size,
                  head_dim,
                  num_qo_heads,
                  num_kv_heads,
                  sm_scale,
                  k_data,
                  v_data,
                  prefix_indices,
                  prefix_indptr,
                  prefix_last_page_len,
                  q,
                  o,
                  lse,
                  workspace,
                  workspace_bytes,
                  "shared_prefix",
                  element,
                  -1};
  return 0;
}
// The fused cascade: can_implement answers success here (the library's asks the GPU).
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
const void *g_suffix_indptr, *g_suffix_last_page_len;  // the cascade's extra arguments
int32_t baracuda_kernels_flashinfer_cascade_decode_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, void* k_data, void* v_data, void* indices,
    void* prefix_indptr, void* prefix_last_page_len, void* suffix_indptr,
    void* suffix_last_page_len, const void* q, void* o, void* lse, void* workspace,
    size_t workspace_bytes, baracuda_flashinfer_stream_t) {
  g_run = RunCall{g_run.calls + 1,
                  batch_size,
                  page_size,
                  head_dim,
                  num_qo_heads,
                  num_kv_heads,
                  sm_scale,
                  k_data,
                  v_data,
                  indices,
                  prefix_indptr,
                  prefix_last_page_len,
                  q,
                  o,
                  lse,
                  workspace,
                  workspace_bytes,
                  "cascade",
                  element,
                  -1};
  g_suffix_indptr = suffix_indptr;
  g_suffix_last_page_len = suffix_last_page_len;
  return 0;
}
// The fused cascade over a dense prefix: sized as the paged one; its run records the prefix.
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
struct DensePrefixCall {
  const void *k, *v;
  int32_t len;
  int64_t stride_token, stride_head;
};
DensePrefixCall g_dense_prefix;  // the dense cascade's prefix arguments
int32_t baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
    int32_t element, int32_t batch_size, int32_t page_size, int32_t head_dim, int32_t num_qo_heads,
    int32_t num_kv_heads, float sm_scale, const void* k_prefix, const void* v_prefix,
    int32_t prefix_len, int64_t prefix_stride_token, int64_t prefix_stride_head, void* k_data,
    void* v_data, void* indices, void* suffix_indptr, void* suffix_last_page_len, const void* q,
    void* o, void* lse, void* workspace, size_t workspace_bytes, baracuda_flashinfer_stream_t) {
  g_run = RunCall{g_run.calls + 1,
                  batch_size,
                  page_size,
                  head_dim,
                  num_qo_heads,
                  num_kv_heads,
                  sm_scale,
                  k_data,
                  v_data,
                  indices,
                  /*indptr=*/nullptr,
                  /*last_page_len=*/nullptr,
                  q,
                  o,
                  lse,
                  workspace,
                  workspace_bytes,
                  "cascade_dense_prefix",
                  element,
                  -1};
  g_dense_prefix = {k_prefix, v_prefix, prefix_len, prefix_stride_token, prefix_stride_head};
  g_suffix_indptr = suffix_indptr;
  g_suffix_last_page_len = suffix_last_page_len;
  return 0;
}
}  // extern "C"

namespace {

constexpr int64_t B = 4, HQ = 32, HKV = 8, D = 128, P = 16, PAGES = 64;

void* addr(uintptr_t a) {
  return reinterpret_cast<void*>(a);
}  // never dereferenced

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
};

bfi::DecodePlan plan(bfi::Element e = bfi::Element::f16, bool split = true) {
  bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(desc(e, split));
  CHECK_MSG(r.ok(), "%s", r.status().to_string().c_str());
  return std::move(r).value();
}

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

// `s` failed with `code` before any launch, and its message contains `part`.
void expect_rejected(const bfi::Status& s, int32_t code, const char* part) {
  CHECK_MSG(s.code() == code, "code %d (%s), expected %d; message: %s", s.code(), s.name(), code,
            s.message().c_str());
  CHECK_MSG(contains(s.message(), part), "message '%s' lacks '%s'", s.message().c_str(), part);
  CHECK_MSG(g_run.calls == 0, "the C run was reached (%d calls)", g_run.calls);
}

// `s` succeeded by reaching the C run `which` exactly once.
void expect_reached(const bfi::Status& s, const char* which) {
  CHECK_MSG(s.ok(), "%s", s.to_string().c_str());
  CHECK_EQ(g_run.calls, 1);
  CHECK_MSG(std::strcmp(g_run.which, which) == 0, "reached %s, expected %s", g_run.which, which);
}

}  // namespace

TEST(valid_arguments_reach_the_c_run_once_in_abi_order) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  CHECK_EQ(p.workspace_size(), g_workspace_bytes);
  Args a;
  bfi::Status s = a.run(p);
  CHECK_MSG(s.ok(), "%s", s.to_string().c_str());
  CHECK_EQ(g_run.calls, 1);
  CHECK(std::strcmp(g_run.which, "f16") == 0);
  CHECK_EQ(g_run.batch_size, B);
  CHECK_EQ(g_run.page_size, P);
  CHECK_EQ(g_run.head_dim, D);
  CHECK_EQ(g_run.num_qo_heads, HQ);
  CHECK_EQ(g_run.num_kv_heads, HKV);
  CHECK(std::fabs(g_run.sm_scale - 1.0f / std::sqrt(128.0f)) < 1e-7f);
  CHECK(g_run.q == a.q.data && g_run.o == a.o.data && g_run.k == a.k.data && g_run.v == a.v.data);
  CHECK(g_run.indices == a.indices.data && g_run.indptr == a.indptr.data);
  CHECK(g_run.last_page_len == a.last.data && g_run.lse == a.lse->data);
  CHECK(g_run.workspace == a.ws.data && g_run.workspace_bytes == a.ws.bytes);
}

TEST(each_element_calls_its_own_run_and_checks_its_dtypes) {
  const bfi::Element all[] = {bfi::Element::f16,      bfi::Element::bf16,
                              bfi::Element::f32,      bfi::Element::f16_e4m3,
                              bfi::Element::f16_e5m2, bfi::Element::bf16_e4m3,
                              bfi::Element::bf16_e5m2};
  for (bfi::Element e : all) {
    g_run = RunCall{};
    bfi::DecodePlan p = plan(e);
    Args a(e);
    bfi::Status s = a.run(p);
    CHECK_MSG(s.ok() && g_run.calls == 1, "%s: %s", bfi::element_name(e), s.to_string().c_str());
    CHECK_MSG(g_run.which && std::strcmp(g_run.which, bfi::element_name(e)) == 0, "%s ran %s",
              bfi::element_name(e), g_run.which);
  }
  g_run = RunCall{};
  Args a(bfi::Element::bf16_e4m3);
  a.k.dtype = bfi::Dtype::bf16;  // fp8 cache expected
  expect_rejected(a.run(plan(bfi::Element::bf16_e4m3)), bfi::status::kInvalidProblem,
                  "k_cache: dtype is bf16, expected f8_e4m3");
}

TEST(wrong_dtype_names_the_tensor) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  Args a;
  a.q.dtype = bfi::Dtype::f32;
  expect_rejected(a.run(p), bfi::status::kInvalidProblem,
                  "DecodePlan::run: q: dtype is f32, expected f16");
  Args b;
  b.indptr.dtype = bfi::Dtype::i64;
  expect_rejected(b.run(p), bfi::status::kInvalidProblem, "kv_indptr: dtype is i64, expected i32");
  Args c;
  c.lse->dtype = bfi::Dtype::f16;
  expect_rejected(c.run(p), bfi::status::kInvalidProblem, "lse: dtype is f16, expected f32");
}

TEST(wrong_shape_names_the_tensor_and_dimension) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  Args a;
  a.q = bfi::contiguous<3>(a.q.data, a.q.dtype, {B, 16, D});
  expect_rejected(a.run(p), bfi::status::kInvalidProblem,
                  "q: dimension 1 (num_qo_heads) is 16, expected 32");
  Args b;
  b.k = bfi::contiguous<4>(b.k.data, b.k.dtype, {PAGES, HKV, 8, D});
  expect_rejected(b.run(p), bfi::status::kInvalidProblem,
                  "k_cache: dimension 2 (page_size) is 8, expected 16");
  Args c;
  c.v = bfi::contiguous<4>(c.v.data, c.v.dtype, {PAGES - 1, HKV, P, D});
  expect_rejected(c.run(p), bfi::status::kInvalidProblem,
                  "v_cache: dimension 0 (num_pages) is 63, expected 64 (as k_cache)");
  Args d;
  d.indptr = bfi::contiguous<1>(d.indptr.data, bfi::Dtype::i32, {B});
  expect_rejected(d.run(p), bfi::status::kInvalidProblem,
                  "kv_indptr: dimension 0 (batch + 1) is 4, expected 5");
  Args e;
  e.o = bfi::contiguous<3>(e.o.data, e.o.dtype, {B, HQ, 64});
  expect_rejected(e.run(p), bfi::status::kInvalidProblem,
                  "o: dimension 2 (head_dim) is 64, expected 128");
  Args f;
  f.lse = bfi::contiguous<2>(f.lse->data, bfi::Dtype::f32, {B + 1, HQ});
  expect_rejected(f.run(p), bfi::status::kInvalidProblem,
                  "lse: dimension 0 (batch) is 5, expected 4");
}

TEST(non_dense_stride_names_the_tensor_and_dimension) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  Args a;
  a.q.stride[0] = 2 * HQ * D;  // every other row of a larger tensor
  expect_rejected(a.run(p), bfi::status::kInvalidProblem,
                  "q: stride of dimension 0 (batch) is 8192, expected 4096 (dense row-major)");
  Args b;
  b.k.stride = {HKV * P * D, D, HKV * D, 1};  // NHD pages where HND is needed
  expect_rejected(b.run(p), bfi::status::kInvalidProblem,
                  "k_cache: stride of dimension 1 (num_kv_heads) is 128, expected 2048");
  // A size-1 dimension's stride does not matter.
  g_run = RunCall{};
  bfi::DecodeDesc one = desc();
  one.batch_size = 1;
  bfi::DecodePlan p1 = bfi::check(bfi::DecodePlan::create(one));
  Args c;
  c.q = bfi::contiguous<3>(c.q.data, c.q.dtype, {1, HQ, D});
  c.q.stride[0] = 12345;
  c.o = bfi::contiguous<3>(c.o.data, c.o.dtype, {1, HQ, D});
  c.indptr = bfi::contiguous<1>(c.indptr.data, bfi::Dtype::i32, {2});
  c.last = bfi::contiguous<1>(c.last.data, bfi::Dtype::i32, {1});
  c.lse = std::nullopt;
  bfi::Status s = c.run(p1);
  CHECK_MSG(s.ok() && g_run.calls == 1, "%s", s.to_string().c_str());
  CHECK(g_run.lse == nullptr);
}

TEST(null_or_misaligned_pointers_are_rejected) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  Args a;
  a.o.data = nullptr;
  expect_rejected(a.run(p), bfi::status::kInvalidProblem, "o: data is NULL");
  Args b;
  b.q.data = addr(0x100008);
  expect_rejected(b.run(p), bfi::status::kMisalignedOperand,
                  "q: data 0x100008 is not 16-byte aligned");
}

TEST(missing_or_short_workspace_is_rejected) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  CHECK_EQ(p.workspace_size(), 4096);
  Args a;
  a.ws = bfi::Workspace{};
  expect_rejected(a.run(p), bfi::status::kWorkspaceTooSmall,
                  "workspace: missing; this DecodePlan needs 4096 bytes (workspace_size())");
  Args b;
  b.ws.bytes = 1024;
  expect_rejected(b.run(p), bfi::status::kWorkspaceTooSmall,
                  "workspace: 1024 bytes is too small; this DecodePlan needs 4096 bytes");
  Args c;
  c.ws.data = nullptr;
  expect_rejected(c.run(p), bfi::status::kInvalidProblem,
                  "workspace: data is NULL but bytes is 4096");
  Args d;
  d.ws.data = addr(0x900004);
  expect_rejected(d.run(p), bfi::status::kMisalignedOperand,
                  "workspace: data 0x900004 is not 16-byte aligned");
  // A bigger workspace is fine.
  Args e;
  e.ws.bytes = 1 << 20;
  bfi::Status s = e.run(p);
  CHECK_MSG(s.ok() && g_run.calls == 1, "%s", s.to_string().c_str());
}

TEST(nosplit_plan_needs_no_workspace) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan(bfi::Element::f16, /*split=*/false);
  CHECK_EQ(p.workspace_size(), 0);
  Args a;
  a.ws = bfi::Workspace{};
  bfi::Status s = a.run(p);
  CHECK_MSG(s.ok(), "%s", s.to_string().c_str());
  CHECK_EQ(g_run.calls, 1);
  CHECK(std::strcmp(g_run.which, "f16") == 0);
  CHECK(g_run.workspace == nullptr && g_run.workspace_bytes == 0);  // 0 bytes: never splits
}

TEST(plan_creation_asks_the_c_can_implement) {
  bfi::DecodeDesc d = desc();
  d.head_dim = 100;
  bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
  CHECK(!r.ok());
  CHECK_EQ(r.status().code(), bfi::status::kUnsupported);
  CHECK_MSG(contains(r.status().message(), "head_dim 100"), "%s", r.status().message().c_str());
  CHECK(contains(r.status().to_string(), "unsupported: "));
  d = desc();
  d.num_qo_heads = 30;  // not a multiple of 8
  r = bfi::DecodePlan::create(d);
  CHECK_EQ(r.status().code(), bfi::status::kInvalidProblem);
  CHECK_MSG(
      contains(r.status().message(), "num_qo_heads (30) must be a multiple of num_kv_heads (8)"),
      "%s", r.status().message().c_str());
  d = desc();
  d.sm_scale = 1.0f / 0.0f;
  r = bfi::DecodePlan::create(d);
  CHECK_EQ(r.status().code(), bfi::status::kInvalidProblem);
  d = desc();
  d.sm_scale = 0.5f;
  bfi::Result<bfi::DecodePlan> ok = bfi::DecodePlan::create(d);
  CHECK(ok.ok() && ok->sm_scale() == 0.5f && *ok->desc().sm_scale == 0.5f);
}

TEST(kernel_choice_reaches_run_with_and_its_flags) {
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
    g_run = RunCall{};
    bfi::DecodeDesc d = desc(bfi::Element::bf16, c.split);
    d.kernel = c.kernel;
    bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
    CHECK_MSG(r.ok(), "%s", r.status().to_string().c_str());
    CHECK_EQ(r->workspace_size(), c.workspace ? g_workspace_bytes : 0);
    Args a(bfi::Element::bf16);
    expect_reached(a.run(*r), "run_with");
    CHECK_EQ(g_run.element, static_cast<int32_t>(bfi::Element::bf16));
    CHECK_EQ(g_run.flags, c.flags);
    CHECK(g_run.q == a.q.data && g_run.k == a.k.data && g_run.indptr == a.indptr.data);
    CHECK(g_run.workspace == (c.workspace ? a.ws.data : nullptr));
  }
  // The C run_with_can_implement decides: no tensor-core kernel for f32.
  bfi::DecodeDesc d = desc(bfi::Element::f32);
  d.kernel = bfi::DecodeKernel::tensor_cores;
  bfi::Result<bfi::DecodePlan> r = bfi::DecodePlan::create(d);
  CHECK(!r.ok());
  CHECK_EQ(r.status().code(), bfi::status::kUnsupported);
}

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

// SharedPrefixPlan or CascadePlan over prefix_desc() (both succeed against the fakes).
template <typename Plan>
Plan prefix_desc_plan() {
  bfi::Result<Plan> r = Plan::create(prefix_desc());
  CHECK_MSG(r.ok(), "%s", r.status().to_string().c_str());
  return std::move(r).value();
}

// The problem the C run received is prefix_desc()'s.
void check_prefix_problem_reached() {
  CHECK_EQ(g_run.element, static_cast<int32_t>(bfi::Element::bf16));
  CHECK(g_run.batch_size == B && g_run.page_size == P && g_run.head_dim == D);
  CHECK(g_run.num_qo_heads == HQ && g_run.num_kv_heads == HKV);
  CHECK(std::fabs(g_run.sm_scale - 1.0f / std::sqrt(128.0f)) < 1e-7f);
}

TEST(shared_prefix_plan_reaches_the_c_run_in_abi_order) {
  g_run = RunCall{};
  bfi::SharedPrefixPlan p = prefix_desc_plan<bfi::SharedPrefixPlan>();
  CHECK_EQ(p.workspace_size(), g_workspace_bytes);
  PrefixArgs a;
  expect_reached(a.run(p), "shared_prefix");
  check_prefix_problem_reached();
  CHECK(g_run.k == a.base.k.data && g_run.v == a.base.v.data && g_run.indices == a.indices.data);
  CHECK(g_run.indptr == a.indptr.data && g_run.last_page_len == a.last.data);
  CHECK(g_run.q == a.base.q.data && g_run.o == a.base.o.data && g_run.lse == a.base.lse->data);
  CHECK(g_run.workspace == a.base.ws.data && g_run.workspace_bytes == a.base.ws.bytes);
}

TEST(shared_prefix_plan_rejects_bad_tensors_and_elements) {
  bfi::SharedPrefixPlan p = prefix_desc_plan<bfi::SharedPrefixPlan>();
  {
    g_run = RunCall{};
    PrefixArgs a;
    a.indptr = bfi::contiguous<1>(addr(0xb00000), bfi::Dtype::i32, {3});
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "prefix_indptr: dimension 0");
  }
  {
    g_run = RunCall{};
    PrefixArgs a;
    a.last = bfi::contiguous<1>(addr(0xc00000), bfi::Dtype::i64, {1});
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "prefix_last_page_len: dtype");
  }
  {
    g_run = RunCall{};
    PrefixArgs a;
    a.base.q = bfi::contiguous<3>(addr(0x100000), bfi::Dtype::f16, {B, HQ, D});  // bf16 plan
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "q: dtype");
  }
  {
    g_run = RunCall{};
    PrefixArgs a;
    a.base.ws.bytes = g_workspace_bytes - 1;
    expect_rejected(a.run(p), bfi::status::kWorkspaceTooSmall, "SharedPrefixPlan needs");
  }
  // The C can_implement: f16 and bf16 only.
  bfi::Result<bfi::SharedPrefixPlan> r =
      bfi::SharedPrefixPlan::create(prefix_desc(bfi::Element::f32));
  CHECK_EQ(r.status().code(), bfi::status::kUnsupported);
  CHECK_MSG(contains(r.status().message(), "f16 and bf16"), "%s", r.status().message().c_str());
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

TEST(cascade_plan_reaches_the_c_run_in_abi_order) {
  g_run = RunCall{};
  bfi::CascadePlan p = prefix_desc_plan<bfi::CascadePlan>();
  CHECK_EQ(p.workspace_size(), g_workspace_bytes);
  CascadeArgs a;
  expect_reached(a.run(p), "cascade");
  check_prefix_problem_reached();
  CHECK(g_run.indices == a.prefix.indices.data && g_run.indptr == a.prefix.indptr.data);
  CHECK(g_run.last_page_len == a.prefix.last.data);
  CHECK(g_suffix_indptr == a.suffix_indptr.data && g_suffix_last_page_len == a.suffix_last.data);
  CHECK(g_run.q == a.prefix.base.q.data && g_run.o == a.prefix.base.o.data);
  CHECK(g_run.workspace == a.prefix.base.ws.data);
}

TEST(cascade_plan_rejects_bad_suffix_tensors_and_scales) {
  bfi::CascadePlan p = prefix_desc_plan<bfi::CascadePlan>();
  {
    g_run = RunCall{};
    CascadeArgs a;
    a.suffix_indptr = bfi::contiguous<1>(addr(0xd00000), bfi::Dtype::i32, {B});
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "suffix_indptr: dimension 0");
  }
  {
    g_run = RunCall{};
    CascadeArgs a;
    a.suffix_last = bfi::contiguous<1>(addr(0xe00000), bfi::Dtype::f32, {B});
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "suffix_last_page_len: dtype");
  }
  {
    g_run = RunCall{};
    CascadeArgs a;
    a.prefix.indptr = bfi::contiguous<1>(addr(0xb00000), bfi::Dtype::i32, {3});
    expect_rejected(a.run(p), bfi::status::kInvalidProblem, "prefix_indptr: dimension 0");
  }
  {
    g_run = RunCall{};
    CascadeArgs a;
    a.prefix.base.ws.bytes = g_workspace_bytes - 1;
    expect_rejected(a.run(p), bfi::status::kWorkspaceTooSmall, "CascadePlan needs");
  }
  bfi::SharedPrefixDesc d = prefix_desc();
  d.sm_scale = -0.5f;
  bfi::Result<bfi::CascadePlan> r = bfi::CascadePlan::create(d);
  CHECK_EQ(r.status().code(), bfi::status::kInvalidProblem);
  CHECK_MSG(contains(r.status().message(), "positive"), "%s", r.status().message().c_str());
  CHECK_EQ(bfi::CascadePlan::create(prefix_desc(bfi::Element::f32)).status().code(),
           bfi::status::kUnsupported);
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
};

TEST(dense_prefix_cascade_plan_reaches_the_c_run_in_abi_order) {
  g_run = RunCall{};
  bfi::DensePrefixCascadePlan p = prefix_desc_plan<bfi::DensePrefixCascadePlan>();
  CHECK_EQ(p.workspace_size(), g_workspace_bytes);
  DenseCascadeArgs a;
  expect_reached(a.run(p), "cascade_dense_prefix");
  check_prefix_problem_reached();
  const Args& base = a.paged.prefix.base;
  CHECK(g_dense_prefix.k == a.k_prefix.data && g_dense_prefix.v == a.v_prefix.data);
  CHECK_EQ(g_dense_prefix.len, L);
  CHECK(g_dense_prefix.stride_token == HKV * D && g_dense_prefix.stride_head == D);
  CHECK(g_run.k == base.k.data && g_run.v == base.v.data);
  CHECK(g_run.indices == a.paged.prefix.indices.data);
  CHECK(g_suffix_indptr == a.paged.suffix_indptr.data);
  CHECK(g_suffix_last_page_len == a.paged.suffix_last.data);
  CHECK(g_run.q == base.q.data && g_run.o == base.o.data && g_run.lse == base.lse->data);
  CHECK(g_run.workspace == base.ws.data && g_run.workspace_bytes == base.ws.bytes);
  // The strides of L and Hkv are free and reach the C run as given: HND [Hkv, L, D], no lse.
  g_run = RunCall{};
  DenseCascadeArgs hnd;
  hnd.k_prefix.stride = hnd.v_prefix.stride = {D, L * D, 1};
  hnd.paged.prefix.base.lse = std::nullopt;
  expect_reached(hnd.run(p), "cascade_dense_prefix");
  CHECK(g_dense_prefix.stride_token == D && g_dense_prefix.stride_head == L * D);
  CHECK(g_run.lse == nullptr);
}

TEST(dense_prefix_cascade_plan_rejects_bad_prefix_tensors) {
  bfi::DensePrefixCascadePlan p = prefix_desc_plan<bfi::DensePrefixCascadePlan>();
  using A = DenseCascadeArgs;
  struct Case {
    void (*edit)(A&);
    int32_t code;
    const char* message;
  };
  const int32_t bad = bfi::status::kInvalidProblem;
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
      {[](A& a) { a.v_prefix.data = addr(0x1000008); }, bfi::status::kMisalignedOperand,
       "v_prefix: data 0x1000008 is not 16-byte aligned"},
      {[](A& a) { a.paged.suffix_indptr.shape[0] = B; }, bad,
       "suffix_indptr: dimension 0 (batch + 1) is 4, expected 5"},
      {[](A& a) { a.paged.prefix.indices.dtype = bfi::Dtype::i64; }, bad,
       "indices: dtype is i64, expected i32"},
      {[](A& a) { a.paged.prefix.base.ws.bytes = g_workspace_bytes - 1; },
       bfi::status::kWorkspaceTooSmall, "DensePrefixCascadePlan needs"},
  };
  for (const Case& c : cases) {
    g_run = RunCall{};
    A a;
    c.edit(a);
    expect_rejected(a.run(p), c.code, c.message);
  }
  bfi::SharedPrefixDesc d = prefix_desc();
  d.sm_scale = -0.5f;
  bfi::Result<bfi::DensePrefixCascadePlan> r = bfi::DensePrefixCascadePlan::create(d);
  CHECK_EQ(r.status().code(), bfi::status::kInvalidProblem);
  CHECK_MSG(contains(r.status().message(), "DensePrefixCascadePlan::create: sm_scale"), "%s",
            r.status().message().c_str());
  CHECK_EQ(bfi::DensePrefixCascadePlan::create(prefix_desc(bfi::Element::f32)).status().code(),
           bfi::status::kUnsupported);
}

TEST(status_and_library_information) {
  bfi::Status s;
  CHECK(s.ok());
  CHECK(std::strcmp(s.name(), "success") == 0);
  CHECK(bfi::Status(bfi::status::kCudaError, "x").to_string() == "CUDA error: x");
  CHECK_EQ(bfi::version(), BARACUDA_FLASHINFER_VERSION);
  CHECK(std::strncmp(bfi::version_string(), "0.", 2) == 0);
  CHECK(std::strcmp(bfi::status_string(bfi::status::kWorkspaceTooSmall), "workspace too small") ==
        0);
  bfi::Result<int> r = bfi::Status();  // a Result needs a failure or a value
  CHECK_EQ(r.status().code(), bfi::status::kInternal);
}

#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
TEST(check_throws_error_with_status_and_message) {
  g_run = RunCall{};
  bfi::DecodePlan p = plan();
  Args a;
  a.q.dtype = bfi::Dtype::bf16;
  bool thrown = false;
  try {
    bfi::check(a.run(p));
  } catch (const bfi::Error& e) {
    thrown = true;
    CHECK_EQ(e.code(), bfi::status::kInvalidProblem);
    CHECK_MSG(contains(e.what(), "invalid problem: DecodePlan::run: q: dtype is bf16"), "%s",
              e.what());
  }
  CHECK(thrown && g_run.calls == 0);
  bfi::DecodeDesc d = desc();
  d.head_dim = 100;
  thrown = false;
  try {
    bfi::DecodePlan bad = bfi::check(bfi::DecodePlan::create(d));
    (void)bad;
  } catch (const bfi::Error& e) {
    thrown = e.code() == bfi::status::kUnsupported && contains(e.what(), "head_dim 100");
  }
  CHECK(thrown);
}
#else
TEST(built_without_exceptions) {
  CHECK(!BARACUDA_FLASHINFER_HAS_EXCEPTIONS);
}
#endif

TEST_MAIN()
