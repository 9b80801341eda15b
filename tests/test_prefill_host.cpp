// Host-only tests of the batch-prefill C ABI: prefill_paged_* and prefill_ragged_*
// (can_implement, get_workspace_size, run), the attention options, and the existing ABI's
// paged_prefill_* / ragged_prefill_* symbols. Every bad argument of every symbol gets the
// documented status and a message naming the function and the argument, in the documented
// validation order; can_implement agrees with run; and the comparison the GPU tests use fails a
// kernel that drops one KV tile.
//
// Nothing is launched: calls take fake device pointers, and a call that passes validation stops at
// the device step, which answers 5 on a machine without a GPU (the proof that validation passed).
// With a GPU, the new runs get no workspace and stop at status 4 instead; calls of the existing
// ABI's runs that would pass validation are skipped there (they would launch).
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cfloat>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "host_util.hpp"
#include "prefill_reference.hpp"

using namespace bfi_test;

namespace {

constexpr int32_t kF16 = BARACUDA_FLASHINFER_F16, kBf16 = BARACUDA_FLASHINFER_BF16;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

bool gpu() {
  static const bool present = gpu_present();
  return present;
}
// What a new run that passes validation answers here: no GPU, the device step fails (5); with
// one, the zero-byte workspace these calls pass is too small (4).
int32_t device_step() {
  return gpu() ? 4 : 5;
}

const int32_t* fake_i32(uintptr_t i) {
  return static_cast<const int32_t*>(fake(i));
}
template <class T>
T* shifted(T* p, uintptr_t bytes) {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(p) + bytes);
}

// `word` appears in `s` as a whole word (not inside a longer identifier).
bool names(const std::string& s, const std::string& word) {
  const auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = s.find(word); at != std::string::npos; at = s.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !ident(s[at - 1])) && (end == s.size() || !ident(s[end]))) return true;
  }
  return false;
}

// The message after "function: ".
std::string reason(const std::string& message) {
  const size_t colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

// `status` is `expected`, with a message that starts with the function's name, names `word` and
// says `phrase`. A CUDA error (5) carries the CUDA error's text instead.
testing::AssertionResult refused(int32_t status, int32_t expected, const std::string& function,
                                 const std::string& word, const std::string& phrase = "") {
  const std::string m = last_error();
  const bool says = expected == 0 ? true
                    : expected == 5
                        ? m.find("CUDA") != std::string::npos
                        : m.rfind(function + ": ", 0) == 0 && (word.empty() || names(m, word)) &&
                              m.find(phrase) != std::string::npos;
  if (status == expected && says) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << function << " answered " << status << " (expected " << expected << ") with \"" << m
         << "\"; expected it to name " << (word.empty() ? "nothing" : word) << " and say \""
         << phrase << "\"";
}

baracuda_flashinfer_attention_options default_options() {
  baracuda_flashinfer_attention_options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  return o;
}

const std::string kPrefix = "baracuda_kernels_flashinfer_";

// ---- the new symbols ---------------------------------------------------------------------------

// Valid arguments of prefill_paged_* (bf16, 4 requests, 512 rows, 32/8 heads, D 128, pages of 16)
// or prefill_ragged_* (4096 K/V rows); tests change one or two.
struct NewArgs {
  bool paged = true;
  int32_t element = kBf16, batch = 4, max_q_rows = 512, page = 16, max_kv_rows = 4096;
  int32_t head_dim = 128, hq = 32, hkv = 8, causal = 1;
  float sm_scale = 0.088f;
  baracuda_flashinfer_attention_options opts = default_options();
  bool with_options = false;  // false: options NULL
  const void* q = fake(1);
  const int32_t* q_indptr = fake_i32(2);
  const void* k = fake(3);
  const void* v = fake(4);
  const int32_t* kv_indices = fake_i32(5);
  const int32_t* kv_indptr = fake_i32(6);
  const int32_t* last_page_len = fake_i32(7);
  void* o = fake(8);
  float* lse = static_cast<float*>(fake(9));
  void* ws = nullptr;
  size_t ws_bytes = 0;

  const baracuda_flashinfer_attention_options* options() const {
    return with_options ? &opts : nullptr;
  }
  std::string family() const { return kPrefix + (paged ? "prefill_paged_" : "prefill_ragged_"); }
  int32_t can() const {
    return paged ? baracuda_kernels_flashinfer_prefill_paged_can_implement(
                       element, batch, max_q_rows, page, head_dim, hq, hkv, sm_scale, causal,
                       options())
                 : baracuda_kernels_flashinfer_prefill_ragged_can_implement(
                       element, batch, max_q_rows, max_kv_rows, head_dim, hq, hkv, sm_scale, causal,
                       options());
  }
  int32_t size(size_t* bytes) const {
    return paged
               ? baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
                     element, batch, max_q_rows, page, head_dim, hq, hkv, causal, options(), bytes)
               : baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
                     element, batch, max_q_rows, max_kv_rows, head_dim, hq, hkv, causal, options(),
                     bytes);
  }
  int32_t run() const {
    return paged ? baracuda_kernels_flashinfer_prefill_paged_run(
                       element, batch, max_q_rows, page, head_dim, hq, hkv, sm_scale, causal,
                       options(), q, q_indptr, k, v, kv_indices, kv_indptr, last_page_len, o, lse,
                       ws, ws_bytes, nullptr)
                 : baracuda_kernels_flashinfer_prefill_ragged_run(
                       element, batch, max_q_rows, max_kv_rows, head_dim, hq, hkv, sm_scale, causal,
                       options(), q, q_indptr, k, v, kv_indptr, o, lse, ws, ws_bytes, nullptr);
  }
};

// Which of a family's three functions an argument belongs to.
enum Fns : unsigned { kCan = 1, kSize = 2, kRun = 4, kSizes = kCan | kSize | kRun };

struct Bad {
  const char* word;    // the argument the message must name
  const char* phrase;  // and what it must say of it
  int32_t status;
  unsigned fns;
  std::function<void(NewArgs&)> edit;
};

// Each bad argument through every function it belongs to: its status, a message naming the
// function and the argument; get_workspace_size leaves *workspace_bytes alone.
void expect_each_refused(bool paged, const std::vector<Bad>& cases) {
  for (const Bad& c : cases) {
    NewArgs a;
    a.paged = paged;
    c.edit(a);
    const std::string fam = a.family();
    if (c.fns & kCan) {
      EXPECT_TRUE(refused(a.can(), c.status, fam + "can_implement", c.word, c.phrase));
    }
    if (c.fns & kSize) {
      size_t bytes = 12345;
      EXPECT_TRUE(refused(a.size(&bytes), c.status, fam + "get_workspace_size", c.word, c.phrase));
      EXPECT_EQ(bytes, 12345u) << fam << "get_workspace_size wrote its output on failure";
    }
    if (c.fns & kRun) {
      EXPECT_TRUE(refused(a.run(), c.status, fam + "run", c.word, c.phrase));
    }
  }
}

// Valid arguments: can_implement 0, get_workspace_size 0 (with a GPU) or 5, run the device step.
void expect_each_accepted(bool paged, const std::vector<std::function<void(NewArgs&)>>& edits) {
  for (size_t i = 0; i < edits.size(); ++i) {
    NewArgs a;
    a.paged = paged;
    edits[i](a);
    EXPECT_EQ(a.can(), 0) << "case " << i << ": " << last_error();
    size_t bytes = 0;
    EXPECT_TRUE(refused(a.size(&bytes), gpu() ? 0 : 5, a.family() + "get_workspace_size", ""))
        << "case " << i;
    if (gpu()) {
      EXPECT_GT(bytes, 0u) << "case " << i;
    }
    EXPECT_TRUE(refused(a.run(), device_step(), a.family() + "run", "", gpu() ? "too small" : ""))
        << "case " << i;
  }
}

// The bad sizes and scalars every new symbol shares (the paged and ragged extents apart).
std::vector<Bad> shared_bad_sizes() {
  return {
      {"element", "element code", 2, kSizes, [](NewArgs& a) { a.element = -1; }},
      {"element", "element code", 2, kSizes, [](NewArgs& a) { a.element = 7; }},
      {"element", "f16 or bf16 queries", 3, kSizes, [](NewArgs& a) { a.element = 2; }},
      {"batch_size", "> 0", 2, kSizes, [](NewArgs& a) { a.batch = 0; }},
      {"batch_size", "> 0", 2, kSizes, [](NewArgs& a) { a.batch = INT32_MIN; }},
      {"batch_size", "maximum", 3, kSizes, [](NewArgs& a) { a.batch = (1 << 20) + 1; }},
      {"max_q_rows", "> 0", 2, kSizes, [](NewArgs& a) { a.max_q_rows = 0; }},
      {"max_q_rows", "> 0", 2, kSizes, [](NewArgs& a) { a.max_q_rows = -512; }},
      {"max_q_rows", "2^31", 3, kSizes, [](NewArgs& a) { a.max_q_rows = 1 << 26; }},  // * 32 heads
      {"head_dim", "> 0", 2, kSizes, [](NewArgs& a) { a.head_dim = 0; }},
      {"head_dim", "> 0", 2, kSizes, [](NewArgs& a) { a.head_dim = -128; }},
      {"head_dim", "not built", 3, kSizes, [](NewArgs& a) { a.head_dim = 32; }},
      {"head_dim", "not built", 3, kSizes, [](NewArgs& a) { a.head_dim = 96; }},
      {"head_dim", "not built", 3, kSizes, [](NewArgs& a) { a.head_dim = 512; }},
      {"num_qo_heads", "> 0", 2, kSizes, [](NewArgs& a) { a.hq = 0; }},
      {"num_qo_heads", "> 0", 2, kSizes, [](NewArgs& a) { a.hq = -32; }},
      {"num_qo_heads", "multiple", 2, kSizes, [](NewArgs& a) { a.hq = 30; }},
      {"num_qo_heads", "maximum", 3, kSizes, [](NewArgs& a) { a.hq = 2048; }},
      {"num_kv_heads", "> 0", 2, kSizes, [](NewArgs& a) { a.hkv = 0; }},
      {"num_kv_heads", "> 0", 2, kSizes, [](NewArgs& a) { a.hkv = -8; }},
      {"num_kv_heads", "multiple", 2, kSizes, [](NewArgs& a) { a.hkv = 64; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = 0.f; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = -0.f; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = -0.1f; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = kNaN; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = kInf; }},
      {"sm_scale", "positive and finite", 2, kCan | kRun, [](NewArgs& a) { a.sm_scale = -kInf; }},
      {"workspace", "NULL", 2, kRun, [](NewArgs& a) { a.ws_bytes = 4096; }},
      {"workspace", "aligned", 1, kRun,
       [](NewArgs& a) {
         a.ws = shifted(fake(10), 8);
         a.ws_bytes = 1 << 24;
       }},
      {"o", "must not be NULL", 2, kRun, [](NewArgs& a) { a.o = nullptr; }},
      {"o", "aligned", 1, kRun, [](NewArgs& a) { a.o = shifted(a.o, 8); }},
      {"lse", "aligned", 1, kRun, [](NewArgs& a) { a.lse = shifted(a.lse, 2); }},
      {"q", "must not be NULL", 2, kRun, [](NewArgs& a) { a.q = nullptr; }},
      {"q", "aligned", 1, kRun, [](NewArgs& a) { a.q = shifted(a.q, 8); }},
      {"q_indptr", "must not be NULL", 2, kRun, [](NewArgs& a) { a.q_indptr = nullptr; }},
      {"q_indptr", "aligned", 1, kRun, [](NewArgs& a) { a.q_indptr = shifted(a.q_indptr, 2); }},
      {"kv_indptr", "must not be NULL", 2, kRun, [](NewArgs& a) { a.kv_indptr = nullptr; }},
      {"kv_indptr", "aligned", 1, kRun, [](NewArgs& a) { a.kv_indptr = shifted(a.kv_indptr, 1); }},
  };
}

TEST(PrefillPaged, EveryBadArgumentIsRefusedNamingIt) {
  std::vector<Bad> cases = shared_bad_sizes();
  const std::vector<Bad> paged = {
      {"page_size", "> 0", 2, kSizes, [](NewArgs& a) { a.page = 0; }},
      {"page_size", "> 0", 2, kSizes, [](NewArgs& a) { a.page = -16; }},
      {"k_data", "must not be NULL", 2, kRun, [](NewArgs& a) { a.k = nullptr; }},
      {"k_data", "aligned", 1, kRun, [](NewArgs& a) { a.k = shifted(a.k, 8); }},
      {"v_data", "must not be NULL", 2, kRun, [](NewArgs& a) { a.v = nullptr; }},
      {"v_data", "aligned", 1, kRun, [](NewArgs& a) { a.v = shifted(a.v, 4); }},
      {"kv_indices", "must not be NULL", 2, kRun, [](NewArgs& a) { a.kv_indices = nullptr; }},
      {"kv_indices", "aligned", 1, kRun,
       [](NewArgs& a) { a.kv_indices = shifted(a.kv_indices, 2); }},
      {"last_page_len", "must not be NULL", 2, kRun, [](NewArgs& a) { a.last_page_len = nullptr; }},
      {"last_page_len", "aligned", 1, kRun,
       [](NewArgs& a) { a.last_page_len = shifted(a.last_page_len, 3); }},
  };
  cases.insert(cases.end(), paged.begin(), paged.end());
  expect_each_refused(true, cases);
}

TEST(PrefillRagged, EveryBadArgumentIsRefusedNamingIt) {
  std::vector<Bad> cases = shared_bad_sizes();
  const std::vector<Bad> ragged = {
      {"max_kv_rows", "> 0", 2, kSizes, [](NewArgs& a) { a.max_kv_rows = 0; }},
      {"max_kv_rows", "> 0", 2, kSizes, [](NewArgs& a) { a.max_kv_rows = -1; }},
      {"k", "must not be NULL", 2, kRun, [](NewArgs& a) { a.k = nullptr; }},
      {"k", "aligned", 1, kRun, [](NewArgs& a) { a.k = shifted(a.k, 8); }},
      {"v", "must not be NULL", 2, kRun, [](NewArgs& a) { a.v = nullptr; }},
      {"v", "aligned", 1, kRun, [](NewArgs& a) { a.v = shifted(a.v, 2); }},
  };
  cases.insert(cases.end(), ragged.begin(), ragged.end());
  expect_each_refused(false, cases);
}

TEST(PrefillPaged, ValidArgumentsReachTheDeviceStep) {
  expect_each_accepted(
      true, {
                [](NewArgs&) {},
                [](NewArgs& a) { a.element = kF16; },
                [](NewArgs& a) { a.element = BARACUDA_FLASHINFER_F16_E4M3; },  // fp8 K/V
                [](NewArgs& a) { a.element = BARACUDA_FLASHINFER_BF16_E5M2, a.head_dim = 64; },
                [](NewArgs& a) { a.causal = 0; },
                [](NewArgs& a) { a.causal = -7; },  // any non-zero value is causal
                [](NewArgs& a) { a.lse = nullptr; },
                [](NewArgs& a) { a.page = 1; },
                [](NewArgs& a) { a.page = 4096; },
                [](NewArgs& a) { a.head_dim = 64; },
                [](NewArgs& a) { a.head_dim = 256; },
                [](NewArgs& a) { a.hq = a.hkv = 1; },
                [](NewArgs& a) { a.hq = 1024, a.hkv = 1; },
                [](NewArgs& a) { a.hq = a.hkv = 1024; },
                [](NewArgs& a) { a.hq = 40, a.hkv = 8; },
                [](NewArgs& a) { a.batch = 1 << 20; },
                [](NewArgs& a) { a.max_q_rows = 1, a.batch = 1000; },
                [](NewArgs& a) { a.max_q_rows = (1 << 26) - 1; },
                [](NewArgs& a) { a.sm_scale = 1e-40f; },  // denormal: positive and finite
                [](NewArgs& a) { a.sm_scale = FLT_MAX; },
                [](NewArgs& a) { a.with_options = true; },
            });
}

TEST(PrefillRagged, ValidArgumentsReachTheDeviceStep) {
  expect_each_accepted(false, {
                                  [](NewArgs&) {},
                                  [](NewArgs& a) { a.element = kF16; },
                                  [](NewArgs& a) { a.element = BARACUDA_FLASHINFER_BF16_E4M3; },
                                  [](NewArgs& a) { a.element = BARACUDA_FLASHINFER_F16_E5M2; },
                                  [](NewArgs& a) { a.causal = 0; },
                                  [](NewArgs& a) { a.lse = nullptr; },
                                  [](NewArgs& a) { a.max_kv_rows = 1; },
                                  [](NewArgs& a) { a.max_kv_rows = INT32_MAX; },
                                  [](NewArgs& a) { a.head_dim = 64; },
                                  [](NewArgs& a) { a.head_dim = 256; },
                                  [](NewArgs& a) { a.hq = 1024, a.hkv = 1; },
                                  [](NewArgs& a) { a.hq = 5, a.hkv = 5; },
                                  [](NewArgs& a) { a.with_options = true; },
                              });
}

// ---- attention options -------------------------------------------------------------------------

TEST(AttentionOptions, InitSetsTheSizeAndTheDefaults) {
  baracuda_kernels_flashinfer_attention_options_init(nullptr);  // ignored
  baracuda_flashinfer_attention_options o;
  std::memset(&o, 0xAB, sizeof(o));
  baracuda_kernels_flashinfer_attention_options_init(&o);
  EXPECT_EQ(o.struct_size, sizeof(o));
  EXPECT_EQ(o.kv_layout, BARACUDA_FLASHINFER_KV_LAYOUT_HND);
  EXPECT_EQ(o.window_left, -1);
  EXPECT_EQ(o.logits_soft_cap, 0.f);
  EXPECT_EQ(o.k_scale, 1.f);
  EXPECT_EQ(o.v_scale, 1.f);
  EXPECT_EQ(o.sinks, nullptr);
  EXPECT_EQ(o.flags, 0);
  EXPECT_EQ(o.reserved, 0);
}

// Options of every family function: NULL and the defaults are plain attention; a struct_size
// below the first version's is 2; each field's bad value is 2 naming the field; each option this
// version does not implement for prefill is 3 naming it; fields are all checked before support.
TEST(AttentionOptions, EveryFieldIsCheckedByEveryPrefillFunction) {
  using Edit = std::function<void(baracuda_flashinfer_attention_options&)>;
  struct Case {
    const char* field;
    const char* phrase;
    int32_t status;  // -1: valid
    Edit edit;
  };
  const int32_t nhd = BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
  const std::vector<Case> cases = {
      {"options->struct_size", "not a size", 2, [](auto& o) { o.struct_size = 0; }},
      {"options->struct_size", "not a size", 2, [](auto& o) { o.struct_size = 8; }},
      {"options->struct_size", "not a size", 2, [](auto& o) { o.struct_size = sizeof(o) - 1; }},
      {"options->kv_layout", "HND", 2, [](auto& o) { o.kv_layout = 2; }},
      {"options->kv_layout", "HND", 2, [](auto& o) { o.kv_layout = -1; }},
      {"options->window_left", "-1", 2, [](auto& o) { o.window_left = -2; }},
      {"options->window_left", "-1", 2, [](auto& o) { o.window_left = INT32_MIN; }},
      {"options->logits_soft_cap", "positive", 2, [](auto& o) { o.logits_soft_cap = -1.f; }},
      {"options->logits_soft_cap", "positive", 2, [](auto& o) { o.logits_soft_cap = kNaN; }},
      {"options->logits_soft_cap", "positive", 2, [](auto& o) { o.logits_soft_cap = kInf; }},
      {"options->k_scale", "positive", 2, [](auto& o) { o.k_scale = 0.f; }},
      {"options->k_scale", "positive", 2, [](auto& o) { o.k_scale = -1.f; }},
      {"options->k_scale", "positive", 2, [](auto& o) { o.k_scale = kNaN; }},
      {"options->k_scale", "positive", 2, [](auto& o) { o.k_scale = kInf; }},
      {"options->v_scale", "positive", 2, [](auto& o) { o.v_scale = 0.f; }},
      {"options->v_scale", "positive", 2, [](auto& o) { o.v_scale = kNaN; }},
      {"options->v_scale", "positive", 2, [](auto& o) { o.v_scale = -kInf; }},
      {"options->flags", "unknown bits", 2, [](auto& o) { o.flags = 4; }},
      {"options->flags", "unknown bits", 2, [](auto& o) { o.flags = -1; }},
      {"options->flags", "unknown bits", 2, [](auto& o) { o.flags = INT32_MIN; }},
      {"options->reserved", "0", 2, [](auto& o) { o.reserved = 1; }},
      {"options->reserved", "0", 2, [](auto& o) { o.reserved = -1; }},
      // every field is checked before any is found unimplemented
      {"options->reserved", "0", 2,
       [](auto& o) {
         o.window_left = 5;
         o.reserved = 1;
       }},
      {"options->flags", "unknown bits", 2,
       [](auto& o) {
         o.logits_soft_cap = 30.f;
         o.flags = 8;
       }},
      // Every option's valid values pass validation.
      {"", "", -1, [](auto& o) { o.window_left = 0; }},
      {"", "", -1, [](auto& o) { o.window_left = 4096; }},
      {"", "", -1, [](auto& o) { o.logits_soft_cap = 30.f; }},
      {"", "", -1, [](auto& o) { o.k_scale = 0.5f; }},
      {"", "", -1, [](auto& o) { o.v_scale = 2.f; }},
      {"", "", -1, [](auto& o) { o.sinks = static_cast<const float*>(fake(11)); }},
      {"", "", -1, [](auto&) {}},
      {"", "", -1, [](auto& o) { o.logits_soft_cap = -0.f; }},  // -0 >= 0: off
      {"", "", -1, [](auto& o) { o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT; }},
      {"", "", -1, [](auto& o) { o.flags = BARACUDA_FLASHINFER_ATTENTION_FA2; }},
      {"", "", -1, [](auto& o) { o.flags = 3; }},
  };
  for (bool paged : {true, false}) {
    std::vector<Case> all = cases;
    // kv_layout NHD: the paged cache's layout; a ragged K/V has one layout (the field is ignored).
    all.push_back({"", "", -1, [nhd](auto& o) { o.kv_layout = nhd; }});
    for (const Case& c : all) {
      NewArgs a;
      a.paged = paged;
      a.with_options = true;
      c.edit(a.opts);
      const std::string fam = a.family();
      size_t bytes = 77;
      if (c.status < 0) {
        EXPECT_EQ(a.can(), 0) << last_error();
        EXPECT_EQ(a.size(&bytes), gpu() ? 0 : 5) << last_error();
        EXPECT_EQ(a.run(), device_step()) << last_error();
        continue;
      }
      EXPECT_TRUE(refused(a.can(), c.status, fam + "can_implement", c.field, c.phrase));
      EXPECT_TRUE(refused(a.size(&bytes), c.status, fam + "get_workspace_size", c.field, c.phrase));
      EXPECT_EQ(bytes, 77u);
      EXPECT_TRUE(refused(a.run(), c.status, fam + "run", c.field, c.phrase));
    }
  }
}

// A caller compiled against a later header passes a larger struct: its first fields are read.
TEST(AttentionOptions, ALargerStructFromALaterVersionIsRead) {
  struct Later {
    baracuda_flashinfer_attention_options v1;
    double appended[4];
  } later{};
  baracuda_kernels_flashinfer_attention_options_init(&later.v1);
  later.v1.struct_size = sizeof(later);
  later.v1.flags = BARACUDA_FLASHINFER_ATTENTION_FA2;
  EXPECT_EQ(baracuda_kernels_flashinfer_prefill_paged_can_implement(kBf16, 4, 512, 16, 128, 32, 8,
                                                                    0.088f, 1, &later.v1),
            0)
      << last_error();
  later.v1.window_left = -7;  // read: an invalid window
  EXPECT_EQ(baracuda_kernels_flashinfer_prefill_paged_can_implement(kBf16, 4, 512, 16, 128, 32, 8,
                                                                    0.088f, 1, &later.v1),
            2);
}

// ---- validation order --------------------------------------------------------------------------

// One stage of the documented validation order: an edit that fails there, and how.
struct Stage {
  const char* word;
  const char* phrase;
  int32_t status;
  std::function<void(NewArgs&)> edit;
  const char* field;  // edits of the same field cannot be combined
};

// For every pair of stages i < j, both edits together fail as stage i alone does.
void expect_order(bool paged, const std::vector<Stage>& stages, int32_t (*call)(const NewArgs&),
                  const std::string& fn) {
  for (size_t i = 0; i < stages.size(); ++i) {
    for (size_t j = i; j < stages.size(); ++j) {
      if (j != i && std::strcmp(stages[i].field, stages[j].field) == 0) continue;
      NewArgs a;
      a.paged = paged;
      a.with_options = true;
      if (j != i) stages[j].edit(a);
      stages[i].edit(a);
      EXPECT_TRUE(refused(call(a), stages[i].status, fn, stages[i].word, stages[i].phrase))
          << "stages " << stages[i].phrase << " + " << stages[j].phrase;
    }
  }
}

std::vector<Stage> new_symbol_stages(bool paged, bool with_pointers) {
  std::vector<Stage> s = {
      {"element", "element code", 2, [](NewArgs& a) { a.element = 7; }, "element"},
      {paged ? "page_size" : "max_kv_rows", "> 0", 2,
       [](NewArgs& a) { a.page = a.max_kv_rows = 0; }, "extent"},
      {"num_kv_heads", "multiple", 2, [](NewArgs& a) { a.hq = 30; }, "hq"},
      {"batch_size", "maximum", 3, [](NewArgs& a) { a.batch = (1 << 20) + 1; }, "batch"},
      {"element", "f16 or bf16 queries", 3, [](NewArgs& a) { a.element = 2; }, "element"},
      {"head_dim", "not built", 3, [](NewArgs& a) { a.head_dim = 96; }, "head_dim"},
      {"options->window_left", "-1 (no window) or >= 0", 2,
       [](NewArgs& a) { a.opts.window_left = -2; }, "window"},
      {"options->reserved", "must be 0", 2, [](NewArgs& a) { a.opts.reserved = 1; }, "reserved"},
  };
  if (with_pointers) {
    s.push_back({"q", "must not be NULL", 2, [](NewArgs& a) { a.q = nullptr; }, "q"});
  }
  s.push_back({"sm_scale", "positive", 2, [](NewArgs& a) { a.sm_scale = kNaN; }, "sm_scale"});
  if (with_pointers) {
    s.push_back({"o", "aligned", 1, [](NewArgs& a) { a.o = shifted(a.o, 8); }, "o"});
  }
  return s;
}

TEST(PrefillValidationOrder, EveryNewFunctionChecksInTheDocumentedOrder) {
  for (bool paged : {true, false}) {
    const std::string fam = kPrefix + (paged ? "prefill_paged_" : "prefill_ragged_");
    expect_order(
        paged, new_symbol_stages(paged, false), [](const NewArgs& a) { return a.can(); },
        fam + "can_implement");
    std::vector<Stage> size_stages = new_symbol_stages(paged, false);
    size_stages.pop_back();  // get_workspace_size takes no sm_scale
    expect_order(
        paged, size_stages,
        [](const NewArgs& a) {
          size_t bytes;
          return a.size(&bytes);
        },
        fam + "get_workspace_size");
    // The workspace comes last: a workspace of 0 bytes fails after everything else.
    std::vector<Stage> run_stages = new_symbol_stages(paged, true);
    run_stages.push_back({"", "", device_step(), [](NewArgs&) {}, "none"});
    expect_order(
        paged, run_stages, [](const NewArgs& a) { return a.run(); }, fam + "run");
    // With a GPU, too small a workspace is 4 even with every pointer fake (nothing is launched).
    if (gpu()) {
      NewArgs a;
      a.paged = paged;
      size_t bytes = 0;
      ASSERT_EQ(a.size(&bytes), 0) << last_error();
      a.ws = fake(12);
      a.ws_bytes = bytes - 1;
      EXPECT_TRUE(refused(a.run(), 4, fam + "run", "workspace_bytes", "too small"));
    }
  }
}

// can_implement answers what run answers (before the device step) and get_workspace_size what
// can_implement answers for the sizes alone, over a sweep of every kind of value.
TEST(PrefillSweep, CanImplementAgreesWithRunAndWorkspaceSize) {
  const int32_t elements[] = {-1, kF16, kBf16, 2, 5, 7};
  const int32_t batches[] = {0, 3, (1 << 20) + 1};
  const int32_t rows[] = {0, 1, 1 << 26};
  const int32_t extents[] = {0, 1, 16};
  const int32_t head_dims[] = {0, 64, 96, 256};
  const std::pair<int32_t, int32_t> heads[] = {{32, 8}, {30, 8}, {2048, 8}, {8, 0}};
  const float scales[] = {0.088f, kNaN, -1.f, kInf};
  const std::function<void(baracuda_flashinfer_attention_options&)> options[] = {
      [](auto&) {}, [](auto& o) { o.flags = 3; }, [](auto& o) { o.window_left = 3; },
      [](auto& o) { o.reserved = 1; }};
  int64_t calls = 0, accepted = 0;
  for (bool paged : {true, false}) {
    for (int32_t e : elements) {
      for (int32_t b : batches) {
        for (int32_t r : rows) {
          for (int32_t x : extents) {
            for (int32_t d : head_dims) {
              for (const auto& h : heads) {
                for (const auto& edit : options) {
                  for (float scale : scales) {
                    NewArgs a;
                    a.paged = paged;
                    a.element = e, a.batch = b, a.max_q_rows = r, a.page = a.max_kv_rows = x;
                    a.head_dim = d, a.hq = h.first, a.hkv = h.second, a.sm_scale = scale;
                    a.with_options = true;
                    edit(a.opts);
                    const int32_t can = a.can();
                    const std::string can_reason = reason(last_error());
                    const int32_t run = a.run();
                    ++calls;
                    accepted += can == 0;
                    if (can == 0) {
                      ASSERT_EQ(run, device_step()) << a.family() << ": " << last_error();
                    } else {
                      ASSERT_EQ(run, can) << a.family() << ": " << last_error();
                      ASSERT_EQ(reason(last_error()), can_reason);
                    }
                    a.sm_scale = 0.088f;
                    const int32_t sizes = a.can();
                    size_t bytes = 0;
                    ASSERT_EQ(a.size(&bytes), sizes == 0 ? (gpu() ? 0 : 5) : sizes) << last_error();
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(calls - accepted, accepted);
}

// ---- the existing ABI's symbols ------------------------------------------------------------------

// Valid arguments of paged_prefill_<f16|bf16>_run / _can_implement (paged) or ragged_prefill_*
// (ragged), and the element-free paged_prefill_can_implement / ragged_prefill_can_implement.
struct LegacyArgs {
  bool paged = true;
  int32_t element = kBf16;
  int32_t batch = 4, total_num_rows = 512, page = 16, total_kv_rows = 4096, head_dim = 128;
  int32_t hq = 32, hkv = 8, causal = 1, enable_split = 1;
  float sm_scale = 0.088f;
  void *k = fake(3), *v = fake(4), *kv_indices = fake(5), *kv_indptr = fake(6), *lpl = fake(7);
  const void* q = fake(1);
  void *q_indptr = fake(2), *o = fake(8), *lse = fake(9);

  std::string run_name() const {
    return kPrefix + (paged ? "paged_prefill_" : "ragged_prefill_") +
           (element == kF16 ? "f16" : "bf16") + "_run";
  }
  std::string can_name() const {
    return kPrefix + (paged ? "paged_prefill_" : "ragged_prefill_") +
           (element == kF16 ? "f16" : "bf16") + "_can_implement";
  }
  std::string sizes_name() const {
    return kPrefix + (paged ? "paged_prefill_" : "ragged_prefill_") + "can_implement";
  }
  int32_t run() const {
    if (paged) {
      auto fn = element == kF16 ? baracuda_kernels_flashinfer_paged_prefill_f16_run
                                : baracuda_kernels_flashinfer_paged_prefill_bf16_run;
      return fn(batch, total_num_rows, page, head_dim, hq, hkv, sm_scale, causal, enable_split, k,
                v, kv_indices, kv_indptr, lpl, q, q_indptr, o, lse, nullptr);
    }
    auto fn = element == kF16 ? baracuda_kernels_flashinfer_ragged_prefill_f16_run
                              : baracuda_kernels_flashinfer_ragged_prefill_bf16_run;
    return fn(batch, total_num_rows, total_kv_rows, head_dim, hq, hkv, sm_scale, causal,
              enable_split, k, v, kv_indptr, q, q_indptr, o, lse, nullptr);
  }
  int32_t can() const {
    if (paged) {
      auto fn = element == kF16 ? baracuda_kernels_flashinfer_paged_prefill_f16_can_implement
                                : baracuda_kernels_flashinfer_paged_prefill_bf16_can_implement;
      return fn(batch, total_num_rows, page, head_dim, hq, hkv, sm_scale, causal, enable_split);
    }
    auto fn = element == kF16 ? baracuda_kernels_flashinfer_ragged_prefill_f16_can_implement
                              : baracuda_kernels_flashinfer_ragged_prefill_bf16_can_implement;
    return fn(batch, total_num_rows, total_kv_rows, head_dim, hq, hkv, sm_scale, causal);
  }
  int32_t sizes_can() const {
    return paged ? baracuda_kernels_flashinfer_paged_prefill_can_implement(batch, total_num_rows,
                                                                           page, head_dim, hq, hkv)
                 : baracuda_kernels_flashinfer_ragged_prefill_can_implement(
                       batch, total_num_rows, total_kv_rows, head_dim, hq, hkv);
  }
};

struct LegacyBad {
  const char* word;  // the argument as the existing ABI names it
  const char* phrase;
  int32_t status;
  bool sizes;  // a size (every function) or a pointer / sm_scale (run, and can for sm_scale)
  std::function<void(LegacyArgs&)> edit;
};

std::vector<LegacyBad> legacy_bad(bool paged) {
  std::vector<LegacyBad> c = {
      {"batch_size", "> 0", 2, true, [](LegacyArgs& a) { a.batch = 0; }},
      {"batch_size", "maximum", 3, true, [](LegacyArgs& a) { a.batch = (1 << 20) + 1; }},
      {"total_num_rows", "> 0", 2, true, [](LegacyArgs& a) { a.total_num_rows = -1; }},
      {"total_num_rows", "2^31", 3, true, [](LegacyArgs& a) { a.total_num_rows = 1 << 26; }},
      {"head_dim", "> 0", 2, true, [](LegacyArgs& a) { a.head_dim = 0; }},
      {"head_dim", "not built", 3, true, [](LegacyArgs& a) { a.head_dim = 80; }},
      {"num_qo_heads", "> 0", 2, true, [](LegacyArgs& a) { a.hq = 0; }},
      {"num_qo_heads", "multiple", 2, true, [](LegacyArgs& a) { a.hq = 12; }},
      {"num_qo_heads", "maximum", 3, true, [](LegacyArgs& a) { a.hq = 1032; }},
      {"num_kv_heads", "> 0", 2, true, [](LegacyArgs& a) { a.hkv = -8; }},
      {"sm_scale", "positive and finite", 2, false, [](LegacyArgs& a) { a.sm_scale = kNaN; }},
      {"sm_scale", "positive and finite", 2, false, [](LegacyArgs& a) { a.sm_scale = -1.f; }},
      {"sm_scale", "positive and finite", 2, false, [](LegacyArgs& a) { a.sm_scale = 0.f; }},
      {"q", "must not be NULL", 2, false, [](LegacyArgs& a) { a.q = nullptr; }},
      {"q", "aligned", 1, false, [](LegacyArgs& a) { a.q = shifted(a.q, 4); }},
      {"q_indptr", "must not be NULL", 2, false, [](LegacyArgs& a) { a.q_indptr = nullptr; }},
      {"q_indptr", "aligned", 1, false, [](LegacyArgs& a) { a.q_indptr = shifted(a.q_indptr, 2); }},
      {"kv_indptr", "must not be NULL", 2, false, [](LegacyArgs& a) { a.kv_indptr = nullptr; }},
      {"kv_indptr", "aligned", 1, false,
       [](LegacyArgs& a) { a.kv_indptr = shifted(a.kv_indptr, 2); }},
      {"k_data", "must not be NULL", 2, false, [](LegacyArgs& a) { a.k = nullptr; }},
      {"k_data", "aligned", 1, false, [](LegacyArgs& a) { a.k = shifted(a.k, 8); }},
      {"v_data", "must not be NULL", 2, false, [](LegacyArgs& a) { a.v = nullptr; }},
      {"v_data", "aligned", 1, false, [](LegacyArgs& a) { a.v = shifted(a.v, 8); }},
      {"o", "must not be NULL", 2, false, [](LegacyArgs& a) { a.o = nullptr; }},
      {"o", "aligned", 1, false, [](LegacyArgs& a) { a.o = shifted(a.o, 8); }},
      {"lse", "aligned", 1, false, [](LegacyArgs& a) { a.lse = shifted(a.lse, 1); }},
  };
  if (paged) {
    c.push_back({"page_size", "> 0", 2, true, [](LegacyArgs& a) { a.page = 0; }});
    c.push_back({"kv_indices", "must not be NULL", 2, false,
                 [](LegacyArgs& a) { a.kv_indices = nullptr; }});
    c.push_back({"kv_indices", "aligned", 1, false,
                 [](LegacyArgs& a) { a.kv_indices = shifted(a.kv_indices, 2); }});
    c.push_back(
        {"last_page_len", "must not be NULL", 2, false, [](LegacyArgs& a) { a.lpl = nullptr; }});
    c.push_back(
        {"last_page_len", "aligned", 1, false, [](LegacyArgs& a) { a.lpl = shifted(a.lpl, 2); }});
  } else {
    c.push_back({"total_kv_rows", "> 0", 2, true, [](LegacyArgs& a) { a.total_kv_rows = 0; }});
  }
  return c;
}

// Each bad argument of the ten symbols gets its status and a message that starts with the
// function's name and says what is wrong (whether it names the argument the way the existing ABI
// does is the next test).
TEST(LegacyPrefill, EveryBadArgumentIsRefused) {
  for (bool paged : {true, false}) {
    for (int32_t element : {kF16, kBf16}) {
      for (const LegacyBad& c : legacy_bad(paged)) {
        LegacyArgs a;
        a.paged = paged;
        a.element = element;
        c.edit(a);
        EXPECT_TRUE(refused(a.run(), c.status, a.run_name(), "", c.phrase)) << c.word;
        if (c.sizes || std::strcmp(c.word, "sm_scale") == 0) {
          EXPECT_TRUE(refused(a.can(), c.status, a.can_name(), "", c.phrase)) << c.word;
        }
        if (c.sizes) {
          EXPECT_TRUE(refused(a.sizes_can(), c.status, a.sizes_name(), "", c.phrase)) << c.word;
        }
      }
    }
  }
}

// The messages name the argument as the existing ABI's signature does (total_num_rows,
// total_kv_rows, k_data / v_data), the caller's names.
TEST(LegacyPrefill, MessagesNameTheArgumentsOfTheExistingSignatures) {
  for (bool paged : {true, false}) {
    for (const LegacyBad& c : legacy_bad(paged)) {
      LegacyArgs a;
      a.paged = paged;
      c.edit(a);
      EXPECT_TRUE(refused(a.run(), c.status, a.run_name(), c.word, c.phrase));
      if (c.sizes) {
        EXPECT_TRUE(refused(a.can(), c.status, a.can_name(), c.word, c.phrase));
        EXPECT_TRUE(refused(a.sizes_can(), c.status, a.sizes_name(), c.word, c.phrase));
      }
    }
  }
}

TEST(LegacyPrefill, ValidArgumentsPassValidation) {
  const std::function<void(LegacyArgs&)> edits[] = {
      [](LegacyArgs&) {},
      [](LegacyArgs& a) { a.causal = 0, a.enable_split = 0; },
      [](LegacyArgs& a) { a.causal = 3, a.enable_split = -2; },  // any non-zero value: on
      [](LegacyArgs& a) { a.lse = nullptr; },
      [](LegacyArgs& a) { a.hq = 40, a.head_dim = 64, a.page = 1; },
      [](LegacyArgs& a) { a.sm_scale = 1e-40f; },
  };
  for (bool paged : {true, false}) {
    for (int32_t element : {kF16, kBf16}) {
      for (const auto& edit : edits) {
        LegacyArgs a;
        a.paged = paged;
        a.element = element;
        edit(a);
        EXPECT_EQ(a.can(), 0) << last_error();
        EXPECT_EQ(a.sizes_can(), 0) << last_error();
        if (gpu()) continue;  // valid: the run would allocate and launch
        EXPECT_TRUE(refused(a.run(), 5, a.run_name(), ""));
      }
    }
  }
}

TEST(LegacyPrefill, ValidationOrder) {
  struct LegacyStage {
    const char* phrase;
    int32_t status;
    std::function<void(LegacyArgs&)> edit;
  };
  const std::vector<LegacyStage> stages = {
      {"num_kv_heads must be > 0", 2, [](LegacyArgs& a) { a.hkv = 0; }},
      {"multiple", 2, [](LegacyArgs& a) { a.hq = 30; }},
      {"maximum", 3, [](LegacyArgs& a) { a.batch = (1 << 20) + 1; }},
      {"not built", 3, [](LegacyArgs& a) { a.head_dim = 96; }},
      {"q must not be NULL", 2, [](LegacyArgs& a) { a.q = nullptr; }},
      {"sm_scale", 2, [](LegacyArgs& a) { a.sm_scale = kNaN; }},
      {"aligned", 1, [](LegacyArgs& a) { a.o = shifted(a.o, 8); }},
  };
  for (bool paged : {true, false}) {
    for (size_t i = 0; i < stages.size(); ++i) {
      for (size_t j = i; j < stages.size(); ++j) {
        LegacyArgs a;
        a.paged = paged;
        if (j != i) stages[j].edit(a);
        stages[i].edit(a);
        EXPECT_TRUE(refused(a.run(), stages[i].status, a.run_name(), "", stages[i].phrase))
            << stages[i].phrase << " + " << stages[j].phrase;
        if (i < 4) {
          EXPECT_TRUE(
              refused(a.sizes_can(), stages[i].status, a.sizes_name(), "", stages[i].phrase));
        }
        if (i < 4 || i == 5) {
          EXPECT_TRUE(refused(a.can(), stages[i].status, a.can_name(), "", stages[i].phrase));
        }
      }
    }
  }
}

// The element-free checks answer what the per-element ones answer for the sizes, f16 and bf16
// alike, and the per-element ones what their runs answer.
TEST(LegacyPrefill, CanImplementAgreesWithRun) {
  for (bool paged : {true, false}) {
    for (int32_t b : {0, 2, (1 << 20) + 1}) {
      for (int32_t rows : {-1, 7, 1 << 26}) {
        for (int32_t x : {0, 3}) {
          for (int32_t d : {0, 64, 100, 256}) {
            for (const auto& h :
                 std::vector<std::pair<int32_t, int32_t>>{{32, 8}, {6, 4}, {4096, 4}}) {
              for (float scale : {0.088f, kInf}) {
                for (int32_t element : {kF16, kBf16}) {
                  LegacyArgs a;
                  a.paged = paged;
                  a.element = element;
                  a.batch = b, a.total_num_rows = rows, a.page = a.total_kv_rows = x;
                  a.head_dim = d, a.hq = h.first, a.hkv = h.second, a.sm_scale = scale;
                  const int32_t can = a.can();
                  const std::string why = reason(last_error());
                  const int32_t sizes = a.sizes_can();
                  if (can != 0 && std::isfinite(scale)) {
                    EXPECT_EQ(sizes, can);
                    EXPECT_EQ(reason(last_error()), why);
                  }
                  if (can == 0 && gpu()) continue;  // the run would launch
                  EXPECT_EQ(a.run(), can == 0 ? 5 : can) << last_error();
                  if (can != 0) {
                    EXPECT_EQ(reason(last_error()), why);
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

// ---- the GPU tests' comparison -----------------------------------------------------------------

// x rounded to `bits` significant bits (round to nearest even): the output types' rounding.
double round_to_bits(double x, int bits) {
  if (x == 0 || !std::isfinite(x)) return x;
  int e = 0;
  const double m = std::frexp(x, &e);
  return std::ldexp(std::nearbyint(std::ldexp(m, bits)), e - bits);
}

// A batch of `rows` rows on L keys, non-causal, data as the GPU tests draw it.
struct HostProblem {
  std::vector<float> q, k, v;
  AttentionBatch a;
  HostProblem(int32_t rows, int32_t L, int32_t hq, int32_t D, uint32_t seed) {
    std::mt19937 gen(seed);
    auto fill = [&gen](std::vector<float>& x, size_t n, float lo, float hi) {
      std::uniform_real_distribution<float> u(lo, hi);
      x.resize(n);
      for (float& y : x) y = u(gen);
    };
    fill(q, size_t(rows) * hq * D, -3.f, 3.f);
    fill(k, size_t(L) * D, -1.f, 1.f);
    fill(v, size_t(L) * D, -1.f, 1.f);
    a.num_qo_heads = hq;
    a.num_kv_heads = 1;
    a.head_dim = D;
    a.causal = false;
    a.sm_scale = 1.f / std::sqrt(float(D));
    a.q_indptr = {0, rows};
    a.kv_len = {L};
    a.q = q.data();
    a.k = k.data();
    a.v = v.data();
    a.kv_head_stride = 0;
    a.key_offset = [D](int32_t, int32_t j) { return size_t(j) * D; };
  }
};

// The bound passes the kernels' rounding budget (4u on o and lse) and fails a kernel that drops
// any one KV tile of 128 keys, at every KV length up to the longest the GPU tests use.
TEST(PrefillComparison, PassesTheRoundingBudgetAndFailsADroppedTile) {
  const int32_t rows = 4, hq = 2, D = 128;
  for (int32_t element : {kF16, kBf16}) {
    const double u = unit_roundoff(element);
    const int bits = element == kBf16 ? 8 : 11;
    const Tolerance tol = prefill_tolerance(element);
    for (int32_t L : {1, 129, 1000, 16384, 32768}) {
      HostProblem h(rows, L, hq, D, uint32_t(L) * 7 + uint32_t(element));
      const Reference ref = reference(h.a, all_rows(h.a));
      // Within budget: every element 3u off, then rounded to the output type; lse 4u off.
      std::vector<double> o(ref.o), lse(ref.lse);
      for (double& x : o) x = round_to_bits(x * (1 + 3 * u), bits);
      for (double& x : lse) x += 4 * u;
      const Comparison ok = compare(ref, hq, D, o, &lse, tol);
      EXPECT_TRUE(ok.ok()) << "L=" << L << ": " << ok.summary();
      // A dropped tile: the exact attention without keys [128 t, 128 t + 128), rounded.
      for (int32_t t = 0; t * 128 < L && L > 128; t += std::max(1, L / 128 / 3)) {
        const int32_t lo = t * 128, n = std::min(128, L - lo);
        AttentionBatch dropped = h.a;
        dropped.kv_len = {L - n};
        dropped.key_offset = [D, lo, n](int32_t, int32_t j) {
          return size_t(j < lo ? j : j + n) * D;
        };
        const Reference wrong = reference(dropped, all_rows(dropped));
        std::vector<double> wo(wrong.o);
        for (double& x : wo) x = round_to_bits(x, bits);
        const Comparison c = compare(ref, hq, D, wo, &wrong.lse, tol);
        EXPECT_GT(c.o_over, 0) << "L=" << L << ", keys " << lo << ".." << lo + n
                               << " dropped, passes: " << c.summary();
      }
    }
  }
}

TEST(PrefillComparison, RowsKeepingNoKeyMustBeExactlyZeroAndMinusInfinity) {
  HostProblem h(3, 10, 2, 64, 1);
  h.a.causal = true;
  h.a.q_indptr = {0, 3};
  h.a.kv_len = {1};  // causal, 3 rows on 1 key: rows 0 and 1 keep nothing
  const Reference ref = reference(h.a, all_rows(h.a));
  ASSERT_EQ(ref.kept, (std::vector<int32_t>{0, 0, 1}));
  const Tolerance tol = prefill_tolerance(kBf16);
  std::vector<double> o(ref.o), lse(ref.lse);
  EXPECT_TRUE(compare(ref, 2, 64, o, &lse, tol).ok());
  EXPECT_TRUE(compare(ref, 2, 64, o, nullptr, tol).ok());
  const auto fails = [&](std::vector<double> bad_o, std::vector<double> bad_lse) {
    return !compare(ref, 2, 64, bad_o, &bad_lse, tol).ok();
  };
  std::vector<double> x = o;
  x[5] = 1e-30;  // row 0, head 0
  EXPECT_TRUE(fails(x, lse));
  x = lse;
  x[2] = -1e30;  // row 1, head 0: finite
  EXPECT_TRUE(fails(o, x));
  x[2] = kNaN;
  EXPECT_TRUE(fails(o, x));
  x = o;
  x[2 * 2 * 64 + 3] = kNaN;  // row 2 keeps a key
  EXPECT_TRUE(fails(x, lse));
  x = lse;
  x[4] += 0.1;  // row 2's lse
  EXPECT_TRUE(fails(o, x));
}

}  // namespace
