// Host-only tests of the paged-decode C ABI: validation of every argument of every symbol,
// can_implement agreeing with run, status strings and messages. Runs without a GPU: every
// invalid call must be refused before any CUDA call (on a machine without a GPU a CUDA call
// would answer status 5, so receiving the validation status proves nothing was launched).
#include <baracuda/flashinfer.h>

#include <cstring>
#include <string>

#include "harness.hpp"
#include "decode_symbols.hpp"
#include "host_util.hpp"

using namespace bfi_test;

namespace {

constexpr int32_t kElements = kDecodeElements;
const auto& kRun = kDecodeRun;
const auto& kCan = kDecodeCan;

struct Args {
  int32_t batch = 4, page = 16, head_dim = 128, hq = 32, hkv = 8;
  float sm_scale = 0.088f;
  void *k = fake(1), *v = fake(2), *indices = fake(3), *indptr = fake(4), *lpl = fake(5);
  const void* q = fake(6);
  void *o = fake(7), *lse = fake(8), *ws = nullptr;
  size_t ws_bytes = 0;
  int32_t run(int32_t element) const {
    return kRun[element](batch, page, head_dim, hq, hkv, sm_scale, k, v, indices, indptr, lpl, q, o,
                         lse, ws, ws_bytes, nullptr);
  }
};

}  // namespace

TEST(status_strings_are_distinct_and_never_null) {
  for (int32_t s = 0; s <= 6; ++s) {
    const char* name = baracuda_kernels_flashinfer_status_string(s);
    CHECK(name != nullptr && std::strlen(name) > 0);
    for (int32_t t = 0; t < s; ++t)
      CHECK(std::strcmp(name, baracuda_kernels_flashinfer_status_string(t)) != 0);
  }
  CHECK(std::strcmp(baracuda_kernels_flashinfer_status_string(99), "unknown status") == 0);
  CHECK(std::strcmp(baracuda_kernels_flashinfer_status_string(-1), "unknown status") == 0);
  CHECK(std::strcmp(baracuda_kernels_flashinfer_status_string(0), "success") == 0);
}

TEST(version_matches_header) {
  CHECK_EQ(baracuda_kernels_flashinfer_version(), BARACUDA_FLASHINFER_VERSION);
  const std::string v = baracuda_kernels_flashinfer_version_string();
  CHECK_MSG(v.rfind("0.1.0 (flashinfer-python 0.7.2.post1", 0) == 0, "%s", v.c_str());
}

TEST(can_implement_accepts_every_gqa_ratio_head_dim_and_element) {
  for (int32_t element = 0; element < kElements; ++element) {
    for (int32_t head_dim : {BFI_TEST_HEAD_DIMS}) {  // the configured BFI_DECODE_HEAD_DIMS
      for (int32_t hkv : {1, 2, 8}) {
        for (int32_t group : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 32, 64}) {
          for (int32_t page : {1, 16, 64, 1000}) {
            const int32_t st = baracuda_kernels_flashinfer_paged_decode_can_implement(
                8192, hkv * group, hkv, head_dim, page, element);
            CHECK_MSG(st == 0, "element %d D %d Hkv %d g %d P %d: %s", element, head_dim, hkv,
                      group, page, last_error().c_str());
            CHECK_EQ(kCan[element](8192, page, head_dim, hkv * group, hkv, 0.1f), st);
          }
        }
      }
    }
  }
  CHECK(last_error().empty());  // a successful call clears the message
}

TEST(can_implement_rejects_each_bad_size_with_a_message) {
  struct Case {
    int32_t batch, hq, hkv, d, page, element, status;
    const char* word;
  };
  const Case cases[] = {
      {0, 32, 8, 128, 16, 0, 2, "batch_size"},
      {-1, 32, 8, 128, 16, 0, 2, "batch_size"},
      {4, 0, 8, 128, 16, 0, 2, "num_qo_heads"},
      {4, -8, 8, 128, 16, 0, 2, "num_qo_heads"},
      {4, 32, 0, 128, 16, 0, 2, "num_kv_heads"},
      {4, 32, -8, 128, 16, 0, 2, "num_kv_heads"},
      {4, 32, 8, 0, 16, 0, 2, "head_dim"},
      {4, 32, 8, -128, 16, 0, 2, "head_dim"},
      {4, 32, 8, 128, 0, 0, 2, "page_size"},
      {4, 32, 8, 128, -16, 0, 2, "page_size"},
      {4, 32, 8, 128, 16, -1, 2, "element"},
      {4, 32, 8, 128, 16, 7, 2, "element"},
      {4, 30, 8, 128, 16, 0, 2, "multiple"},
      {4, 8, 32, 128, 16, 0, 2, "multiple"},
      {4, 32, 8, 96, 16, 0, 3, "head_dim 96"},
      {4, 32, 8, 512, 16, 1, 3, "head_dim 512"},
      {4, 32, 8, 32, 16, 2, 3, "head_dim 32"},
      {(1 << 20) + 1, 32, 8, 128, 16, 0, 3, "batch_size"},
      {4, 2048, 8, 128, 16, 0, 3, "num_qo_heads"},
  };
  for (const Case& c : cases) {
    const int32_t st = baracuda_kernels_flashinfer_paged_decode_can_implement(
        c.batch, c.hq, c.hkv, c.d, c.page, c.element);
    CHECK_MSG(st == c.status, "(%d,%d,%d,%d,%d,%d) gave %d", c.batch, c.hq, c.hkv, c.d, c.page,
              c.element, st);
    CHECK_MSG(message_mentions(c.word), "message '%s' lacks '%s'", last_error().c_str(), c.word);
    if (c.element >= 0 && c.element < kElements) {
      CHECK_EQ(kCan[c.element](c.batch, c.page, c.d, c.hq, c.hkv, 0.1f), c.status);
      Args a;
      a.batch = c.batch, a.hq = c.hq, a.hkv = c.hkv, a.head_dim = c.d, a.page = c.page;
      CHECK_EQ(a.run(c.element), c.status);
    }
  }
}

TEST(run_rejects_each_null_pointer) {
  for (int32_t element = 0; element < kElements; ++element) {
    struct Field {
      const char* name;
      void (*clear)(Args&);
    };
    const Field fields[] = {
        {"k_data", [](Args& a) { a.k = nullptr; }},
        {"v_data", [](Args& a) { a.v = nullptr; }},
        {"indices", [](Args& a) { a.indices = nullptr; }},
        {"indptr", [](Args& a) { a.indptr = nullptr; }},
        {"last_page_len", [](Args& a) { a.lpl = nullptr; }},
        {"q", [](Args& a) { a.q = nullptr; }},
        {"o", [](Args& a) { a.o = nullptr; }},
    };
    for (const Field& f : fields) {
      Args a;
      f.clear(a);
      CHECK_MSG(a.run(element) == 2, "element %d NULL %s", element, f.name);
      CHECK_MSG(message_mentions(f.name), "'%s' lacks %s", last_error().c_str(), f.name);
      // Messages start with the C function's name (not a lambda's).
      CHECK_MSG(last_error().rfind("baracuda_kernels_flashinfer_paged_decode_", 0) == 0, "'%s'",
                last_error().c_str());
    }
    Args a;
    a.ws_bytes = 4096;  // NULL workspace with a size
    CHECK_EQ(a.run(element), 2);
    CHECK(message_mentions("workspace"));
  }
}

TEST(run_rejects_each_misaligned_pointer) {
  struct Field {
    const char* name;
    void (*shift)(Args&);
  };
  const Field fields[] = {
      {"q", [](Args& a) { a.q = static_cast<const char*>(a.q) + 8; }},
      {"o", [](Args& a) { a.o = static_cast<char*>(a.o) + 4; }},
      {"k_data", [](Args& a) { a.k = static_cast<char*>(a.k) + 2; }},
      {"v_data", [](Args& a) { a.v = static_cast<char*>(a.v) + 8; }},
      {"indices", [](Args& a) { a.indices = static_cast<char*>(a.indices) + 2; }},
      {"indptr", [](Args& a) { a.indptr = static_cast<char*>(a.indptr) + 1; }},
      {"last_page_len", [](Args& a) { a.lpl = static_cast<char*>(a.lpl) + 3; }},
      {"lse", [](Args& a) { a.lse = static_cast<char*>(a.lse) + 2; }},
      {"workspace",
       [](Args& a) {
         a.ws = static_cast<char*>(fake(9)) + 4;
         a.ws_bytes = 1 << 20;
       }},
  };
  for (int32_t element = 0; element < kElements; ++element) {
    for (const Field& f : fields) {
      Args a;
      f.shift(a);
      CHECK_MSG(a.run(element) == 1, "element %d misaligned %s", element, f.name);
      CHECK_MSG(message_mentions(f.name), "'%s' lacks %s", last_error().c_str(), f.name);
    }
  }
}

namespace {

// What both fused cascades (cascade_decode_run and cascade_decode_dense_prefix_run) take beside
// their prefix: bf16, a supported shape, fake device pointers.
struct CascadeCommonArgs {
  int32_t element = 1, batch = 4, page = 16, head_dim = 128, hq = 32, hkv = 8;
  float sm_scale = 0.088f;
  void *k = fake(1), *v = fake(2), *indices = fake(3), *suffix_indptr = fake(10),
       *suffix_lpl = fake(11);
  const void* q = fake(6);
  void *o = fake(7), *lse = fake(8), *ws = nullptr;
  size_t ws_bytes = 0;
};

// cascade_decode_run: the prefix paged.
struct CascadeArgs : CascadeCommonArgs {
  static constexpr const char* kFamily = "baracuda_kernels_flashinfer_cascade_decode_";
  void *prefix_indptr = fake(4), *prefix_lpl = fake(5);
  int32_t run() const {
    return baracuda_kernels_flashinfer_cascade_decode_run(
        element, batch, page, head_dim, hq, hkv, sm_scale, k, v, indices, prefix_indptr, prefix_lpl,
        suffix_indptr, suffix_lpl, q, o, lse, ws, ws_bytes, nullptr);
  }
};

// cascade_decode_dense_prefix_run: the prefix dense, [L, Hkv, D] (NHD) by default.
struct DenseCascadeArgs : CascadeCommonArgs {
  static constexpr const char* kFamily = "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_";
  const void *k_prefix = fake(12), *v_prefix = fake(13);
  int32_t prefix_len = 1000;
  int64_t stride_token = 8 * 128, stride_head = 128;
  int32_t run() const {
    return baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run(
        element, batch, page, head_dim, hq, hkv, sm_scale, k_prefix, v_prefix, prefix_len,
        stride_token, stride_head, k, v, indices, suffix_indptr, suffix_lpl, q, o, lse, ws,
        ws_bytes, nullptr);
  }
};

// One bad argument: the status it must get and a word its message must contain.
template <class A>
struct Refusal {
  const char* mentions;
  int32_t status;
  void (*edit)(A&);
};

// Each case, applied to a correct set of arguments A, is refused with its status, a message
// naming the argument and starting with the run's name, before any CUDA call (without a GPU a
// CUDA call would answer 5).
template <class A, class Edited, size_t N>
void expect_each_refused(const Refusal<Edited> (&cases)[N]) {
  const std::string symbol = std::string(A::kFamily) + "run:";
  for (const Refusal<Edited>& c : cases) {
    A a;
    c.edit(a);
    const int32_t st = a.run();
    CHECK_MSG(st == c.status, "%s: status %d, expected %d (%s)", c.mentions, st, c.status,
              last_error().c_str());
    CHECK_MSG(message_mentions(c.mentions), "'%s' lacks %s", last_error().c_str(), c.mentions);
    CHECK_MSG(last_error().rfind(symbol, 0) == 0, "'%s' does not start with %s",
              last_error().c_str(), symbol.c_str());
  }
}

// The arguments both cascades share, each broken.
const Refusal<CascadeCommonArgs> kCascadeCommonRefusals[] = {
    {"k_data", 2, [](CascadeCommonArgs& a) { a.k = nullptr; }},
    {"v_data", 2, [](CascadeCommonArgs& a) { a.v = nullptr; }},
    {"indices", 2, [](CascadeCommonArgs& a) { a.indices = nullptr; }},
    {"suffix_indptr", 2, [](CascadeCommonArgs& a) { a.suffix_indptr = nullptr; }},
    {"suffix_last_page_len", 2, [](CascadeCommonArgs& a) { a.suffix_lpl = nullptr; }},
    {"q", 2, [](CascadeCommonArgs& a) { a.q = nullptr; }},
    {"o", 2, [](CascadeCommonArgs& a) { a.o = nullptr; }},
    {"workspace", 2, [](CascadeCommonArgs& a) { a.ws_bytes = 4096; }},
    {"sm_scale", 2, [](CascadeCommonArgs& a) { a.sm_scale = 0.f / 0.f; }},
    {"sm_scale", 2, [](CascadeCommonArgs& a) { a.sm_scale = -0.088f; }},
    {"sm_scale", 2, [](CascadeCommonArgs& a) { a.sm_scale = 0.f; }},
    {"sm_scale", 2, [](CascadeCommonArgs& a) { a.sm_scale = 1.f / 0.f; }},
    {"q", 1, [](CascadeCommonArgs& a) { a.q = offset(a.q, 8); }},
    {"o", 1, [](CascadeCommonArgs& a) { a.o = offset(a.o, 4); }},
    {"k_data", 1, [](CascadeCommonArgs& a) { a.k = offset(a.k, 2); }},
    {"v_data", 1, [](CascadeCommonArgs& a) { a.v = offset(a.v, 8); }},
    {"indices", 1, [](CascadeCommonArgs& a) { a.indices = offset(a.indices, 2); }},
    {"suffix_indptr", 1,
     [](CascadeCommonArgs& a) { a.suffix_indptr = offset(a.suffix_indptr, 1); }},
    {"suffix_last_page_len", 1,
     [](CascadeCommonArgs& a) { a.suffix_lpl = offset(a.suffix_lpl, 2); }},
    {"lse", 1, [](CascadeCommonArgs& a) { a.lse = offset(a.lse, 2); }},
    {"workspace", 1,
     [](CascadeCommonArgs& a) {
       a.ws = offset(fake(9), 4);
       a.ws_bytes = 1 << 20;
     }},
    {"element", 2, [](CascadeCommonArgs& a) { a.element = 7; }},
    {"f16 and bf16", 3, [](CascadeCommonArgs& a) { a.element = 2; }},
    {"batch_size", 2, [](CascadeCommonArgs& a) { a.batch = 0; }},
    {"page_size", 2, [](CascadeCommonArgs& a) { a.page = -1; }},
    {"head_dim", 2, [](CascadeCommonArgs& a) { a.head_dim = 0; }},
    {"num_kv_heads", 2, [](CascadeCommonArgs& a) { a.hq = 30; }},
};

// A cascade's sizing symbols (`family` + can_implement / get_workspace_size) refuse the sizes
// its run refuses, and a NULL size pointer, naming the symbol.
void expect_sizing_refusals(const char* family,
                            int32_t (*can)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t),
                            int32_t (*size)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t,
                                            size_t*)) {
  const auto starts_with = [family](const char* symbol) {
    return last_error().rfind(std::string(family) + symbol + ":", 0) == 0;
  };
  CHECK_EQ(can(4, 32, 8, 128, 16, 2), 3);
  CHECK(message_mentions("f16 and bf16") && starts_with("can_implement"));
  CHECK_EQ(can(4, 32, 8, 128, 16, 7), 2);
  CHECK(message_mentions("element"));
  CHECK_EQ(can(4, 30, 8, 128, 16, 1), 2);
  CHECK(message_mentions("num_qo_heads"));
  size_t bytes = 0;
  CHECK_EQ(size(0, 32, 8, 128, 16, 1, &bytes), 2);
  CHECK(message_mentions("batch_size") && starts_with("get_workspace_size"));
  CHECK_EQ(size(4, 32, 8, 0, 16, 1, &bytes), 2);
  CHECK(message_mentions("head_dim"));
  CHECK_EQ(size(4, 32, 8, 128, 16, 1, nullptr), 2);
  CHECK(message_mentions("workspace_bytes") && starts_with("get_workspace_size"));
}

}  // namespace

// Every argument of the fused cascade: refused with its status and a message naming it, before
// any CUDA call.
TEST(cascade_rejects_each_bad_argument) {
  expect_each_refused<CascadeArgs>(kCascadeCommonRefusals);
  const Refusal<CascadeArgs> prefix[] = {
      {"indptr", 2, [](CascadeArgs& a) { a.prefix_indptr = nullptr; }},
      {"last_page_len", 2, [](CascadeArgs& a) { a.prefix_lpl = nullptr; }},
      {"indptr", 1, [](CascadeArgs& a) { a.prefix_indptr = offset(a.prefix_indptr, 1); }},
      {"last_page_len", 1, [](CascadeArgs& a) { a.prefix_lpl = offset(a.prefix_lpl, 3); }},
  };
  expect_each_refused<CascadeArgs>(prefix);
  expect_sizing_refusals(CascadeArgs::kFamily,
                         &baracuda_kernels_flashinfer_cascade_decode_can_implement,
                         &baracuda_kernels_flashinfer_cascade_decode_get_workspace_size);
}

// The same for the cascade over a dense prefix, plus its prefix: pointers (16-byte aligned),
// length and strides (TMA's rules: multiples of 8 elements, >= head_dim, below 2^40 bytes).
TEST(cascade_dense_prefix_rejects_each_bad_argument) {
  expect_each_refused<DenseCascadeArgs>(kCascadeCommonRefusals);
  using A = DenseCascadeArgs;
  const Refusal<A> prefix[] = {
      {"k_prefix", 2, [](A& a) { a.k_prefix = nullptr; }},
      {"v_prefix", 2, [](A& a) { a.v_prefix = nullptr; }},
      {"k_prefix", 1, [](A& a) { a.k_prefix = offset(a.k_prefix, 8); }},
      {"v_prefix", 1, [](A& a) { a.v_prefix = offset(a.v_prefix, 2); }},
      {"prefix_len", 2, [](A& a) { a.prefix_len = 0; }},
      {"prefix_len", 2, [](A& a) { a.prefix_len = -1000; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = 0; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = 8 * 128 + 4; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = 64; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = -1024; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = int64_t(1) << 40; }},
      {"prefix_stride_token", 2, [](A& a) { a.stride_token = int64_t(1) << 39; }},  // 2^40 bytes
      {"prefix_stride_head", 2, [](A& a) { a.stride_head = 0; }},
      {"prefix_stride_head", 2, [](A& a) { a.stride_head = 132; }},
      {"prefix_stride_head", 2, [](A& a) { a.stride_head = 64; }},
      {"prefix_stride_head", 2, [](A& a) { a.stride_head = int64_t(1) << 40; }},
      // The sizes come first: a bad prefix with a bad element reports the element.
      {"f16 and bf16", 3,
       [](A& a) {
         a.element = 2;
         a.stride_head = 0;
       }},
      // Every pointer before the prefix.
      {"q", 2,
       [](A& a) {
         a.q = nullptr;
         a.k_prefix = nullptr;
       }},
  };
  expect_each_refused<A>(prefix);
  expect_sizing_refusals(
      A::kFamily, &baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement,
      &baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size);
}

// NHD, HND and the largest stride TMA takes pass validation: without a GPU the call reaches the
// device query (status 5), or answers 3 where this build has no sm_90a prefix kernel.
TEST(cascade_dense_prefix_accepts_nhd_hnd_and_the_largest_stride) {
  if (have_gpu()) return;  // valid sizes + fake pointers: only without a GPU
  using A = DenseCascadeArgs;
  void (*const layouts[])(A&) = {
      [](A&) {},  // NHD: [L, Hkv, D]
      [](A& a) {
        a.stride_token = 128;
        a.stride_head = int64_t(a.prefix_len) * 128;
      },                                                     // HND
      [](A& a) { a.stride_head = (int64_t(1) << 39) - 8; },  // 2^40 bytes less 16
      [](A& a) {
        a.prefix_len = 1;
        a.element = 0;
      },  // one token, f16
  };
  for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); ++i) {
    A a;
    layouts[i](a);
    const int32_t st = a.run();
    CHECK_MSG(st == 5 || (st == 3 && message_mentions("compute-capability 9.0")),
              "layout %zu: %d '%s'", i, st, last_error().c_str());
  }
}

// FlashInfer's softmax assumes a positive scale: run and can_implement refuse the rest.
TEST(run_rejects_non_positive_or_non_finite_sm_scale) {
  for (float bad : {1.f / 0.f, -1.f / 0.f, 0.f / 0.f, 0.f, -0.0625f}) {
    Args a;
    a.sm_scale = bad;
    CHECK_EQ(a.run(0), 2);
    CHECK(message_mentions("sm_scale"));
    CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_bf16_can_implement(4, 16, 128, 32, 8, bad),
             2);
    CHECK(message_mentions("positive"));
  }
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_bf16_can_implement(4, 16, 128, 32, 8, 0.088f),
           0);
}

TEST(lse_may_be_null) {
  // A NULL lse passes validation: without a GPU the call reaches the device and reports a CUDA
  // error (5) rather than a validation failure.
  if (have_gpu()) return;  // covered by the GPU tests
  Args a;
  a.lse = nullptr;
  CHECK_EQ(a.run(0), 5);
  CHECK(message_mentions("CUDA error"));
}

TEST(can_implement_agrees_with_run_over_a_sweep) {
  int agreed = 0;
  const bool gpu = have_gpu();
  for (int32_t element = -1; element <= kElements; ++element) {
    for (int32_t batch : {-1, 0, 1, 513, 8192}) {
      for (int32_t head_dim : {0, 64, 80, 128, 256, 512}) {
        for (int32_t hkv : {0, 1, 3, 8}) {
          for (int32_t hq : {1, 8, 24, 56, 64}) {
            const int32_t can = baracuda_kernels_flashinfer_paged_decode_can_implement(
                batch, hq, hkv, head_dim, 16, element);
            if (element < 0 || element >= kElements) {
              CHECK_EQ(can, 2);
              continue;
            }
            if (can == 0 && gpu) continue;  // valid sizes + fake pointers: only without a GPU
            Args a;
            a.batch = batch, a.head_dim = head_dim, a.hkv = hkv, a.hq = hq;
            const int32_t run = a.run(element);
            // Without a GPU, valid sizes pass validation and stop at the device (status 5).
            CHECK_EQ(run, can == 0 ? 5 : can);
            ++agreed;
          }
        }
      }
    }
  }
  CHECK(agreed > 500);
}

TEST(run_with_flags_are_checked) {
  constexpr int32_t kBuilt[] = {BFI_TEST_HEAD_DIMS};  // whatever this build compiled
  const int32_t built = kBuilt[0];
  const auto can = [](int32_t element, int32_t flags, int32_t d) {
    return baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(element, flags, 4, 16, d,
                                                                           32, 8);
  };
  CHECK_EQ(can(0, 0, built), 0);
  CHECK_EQ(can(1, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, built), 0);
  CHECK_EQ(
      can(0, BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT, built),
      0);
  CHECK_EQ(can(2, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, built), 3);  // f32: CUDA cores only
  CHECK(message_mentions("tensor-core"));
  CHECK_EQ(can(3, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, built), 3);  // fp8 KV: CUDA cores only
  CHECK_EQ(can(0, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_CUDA_CORES,
               built),
           2);
  CHECK(message_mentions("both"));
  CHECK_EQ(can(0, 64, built), 2);
  CHECK(message_mentions("unknown bits"));
  CHECK_EQ(can(0, 0, 96), 3);
  CHECK_EQ(can(7, 0, 128), 2);
  // run_with refuses the same way before touching anything.
  const int32_t st = baracuda_kernels_flashinfer_paged_decode_run_with(
      2, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, 4, 16, built, 32, 8, 0.1f, fake(1), fake(2),
      fake(3), fake(4), fake(5), fake(6), fake(7), fake(8), nullptr, 0, nullptr);
  CHECK_EQ(st, 3);
  CHECK(message_mentions("baracuda_kernels_flashinfer_paged_decode_run_with"));
}

TEST(workspace_size_queries) {
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_workspace_size(0), 0u);
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_workspace_size(-5), 0u);
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_workspace_size(10), (3u * 10 + 2) * 4);
  size_t bytes = 0;
  CHECK_EQ(
      baracuda_kernels_flashinfer_paged_decode_get_workspace_size(4, 32, 8, 128, 16, 0, nullptr),
      2);
  CHECK(message_mentions("workspace_bytes"));
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(4, 32, 8, 96, 16, 0, &bytes),
           3);
  CHECK_EQ(
      baracuda_kernels_flashinfer_paged_decode_get_workspace_size(0, 32, 8, 128, 16, 0, &bytes), 2);
  const int32_t st =
      baracuda_kernels_flashinfer_paged_decode_get_workspace_size(4, 32, 8, 128, 16, 0, &bytes);
  CHECK_MSG(st == 0 || st == 5, "status %d: %s", st, last_error().c_str());
}

TEST_MAIN()
