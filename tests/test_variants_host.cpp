// Host-only tests of the attention options (baracuda_flashinfer_attention_options) on every
// symbol that takes them: paged decode's _ex_can_implement / _ex_get_workspace_size / _run_ex and
// batch prefill's paged and ragged can_implement / get_workspace_size / run.
//  - every bad value of every field -> status 2 with a message naming the C function and the
//    field (options->...), *workspace_bytes left unwritten;
//  - valid values pass validation: a call with options->sinks misaligned (the last check of run)
//    is refused with 1 naming it; without a GPU the aligned call stops at the device query (5);
//  - can_implement answers what run and get_workspace_size answer, for every option value;
//  - options NULL answers as attention_options_init's defaults (whose values
//    test_prefill_host checks).
// Nothing here launches: with a GPU present the aligned runs are not made (tests/host_util.hpp).
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "build_config.hpp"
#include "host_util.hpp"

using namespace bfi_test;

namespace {

using Options = baracuda_flashinfer_attention_options;

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kUnwritten = 0xDEADBEEF;

Options defaults() {
  Options o;
  baracuda_kernels_flashinfer_attention_options_init(&o);
  return o;
}

// One call's sizes and (fake, aligned) pointers, for every symbol of the three families.
struct Call {
  int32_t element = BARACUDA_FLASHINFER_BF16;
  int32_t decode_flags = 0;  // paged decode's own flags argument
  int32_t batch = 4, page = 16, head_dim = kBuiltHeadDims[0], hq = 32, hkv = 8;
  int32_t max_q_rows = 300, max_kv_rows = 5000, causal = 1;
  float sm_scale = 0.088f;
  const void* q = fake(1);
  void *k = fake(2), *v = fake(3), *indices = fake(4), *indptr = fake(5), *lpl = fake(6);
  void *q_indptr = fake(7), *o = fake(8), *lse = fake(9), *workspace = nullptr;
  size_t workspace_bytes = 0;
  mutable size_t bytes = kUnwritten;  // get_workspace_size's result
};

enum class Family { kDecode, kPrefillPaged, kPrefillRagged };
enum class Kind { kCanImplement, kWorkspaceSize, kRun };

int32_t invoke(Family f, Kind kind, const Call& c, const Options* opt) {
  c.bytes = kUnwritten;
  const auto* qi = static_cast<const int32_t*>(c.q_indptr);
  const auto* kvi = static_cast<const int32_t*>(c.indptr);
  switch (f) {
    case Family::kDecode:
      if (kind == Kind::kCanImplement) {
        return baracuda_kernels_flashinfer_paged_decode_ex_can_implement(
            c.element, c.decode_flags, c.batch, c.page, c.head_dim, c.hq, c.hkv, c.sm_scale, opt);
      }
      if (kind == Kind::kWorkspaceSize) {
        return baracuda_kernels_flashinfer_paged_decode_ex_get_workspace_size(
            c.element, c.decode_flags, c.batch, c.page, c.head_dim, c.hq, c.hkv, opt, &c.bytes);
      }
      return baracuda_kernels_flashinfer_paged_decode_run_ex(
          c.element, c.decode_flags, c.batch, c.page, c.head_dim, c.hq, c.hkv, c.sm_scale, opt, c.k,
          c.v, c.indices, c.indptr, c.lpl, c.q, c.o, c.lse, c.workspace, c.workspace_bytes,
          nullptr);
    case Family::kPrefillPaged:
      if (kind == Kind::kCanImplement) {
        return baracuda_kernels_flashinfer_prefill_paged_can_implement(
            c.element, c.batch, c.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, c.sm_scale, c.causal,
            opt);
      }
      if (kind == Kind::kWorkspaceSize) {
        return baracuda_kernels_flashinfer_prefill_paged_get_workspace_size(
            c.element, c.batch, c.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, c.causal, opt,
            &c.bytes);
      }
      return baracuda_kernels_flashinfer_prefill_paged_run(
          c.element, c.batch, c.max_q_rows, c.page, c.head_dim, c.hq, c.hkv, c.sm_scale, c.causal,
          opt, c.q, qi, c.k, c.v, static_cast<const int32_t*>(c.indices), kvi,
          static_cast<const int32_t*>(c.lpl), c.o, static_cast<float*>(c.lse), c.workspace,
          c.workspace_bytes, nullptr);
    case Family::kPrefillRagged:
      if (kind == Kind::kCanImplement) {
        return baracuda_kernels_flashinfer_prefill_ragged_can_implement(
            c.element, c.batch, c.max_q_rows, c.max_kv_rows, c.head_dim, c.hq, c.hkv, c.sm_scale,
            c.causal, opt);
      }
      if (kind == Kind::kWorkspaceSize) {
        return baracuda_kernels_flashinfer_prefill_ragged_get_workspace_size(
            c.element, c.batch, c.max_q_rows, c.max_kv_rows, c.head_dim, c.hq, c.hkv, c.causal, opt,
            &c.bytes);
      }
      return baracuda_kernels_flashinfer_prefill_ragged_run(
          c.element, c.batch, c.max_q_rows, c.max_kv_rows, c.head_dim, c.hq, c.hkv, c.sm_scale,
          c.causal, opt, c.q, qi, c.k, c.v, kvi, c.o, static_cast<float*>(c.lse), c.workspace,
          c.workspace_bytes, nullptr);
  }
  return -1;
}

struct Symbol {
  const char* name;  // the C function: every message starts with it
  Family family;
  Kind kind;
};
std::ostream& operator<<(std::ostream& os, const Symbol& s) {
  return os << s.name;
}

#define BFI_SYM(NAME, FAMILY, KIND) \
  { "baracuda_kernels_flashinfer_" #NAME, Family::FAMILY, Kind::KIND }
const Symbol kSymbols[] = {
    BFI_SYM(paged_decode_ex_can_implement, kDecode, kCanImplement),
    BFI_SYM(paged_decode_ex_get_workspace_size, kDecode, kWorkspaceSize),
    BFI_SYM(paged_decode_run_ex, kDecode, kRun),
    BFI_SYM(prefill_paged_can_implement, kPrefillPaged, kCanImplement),
    BFI_SYM(prefill_paged_get_workspace_size, kPrefillPaged, kWorkspaceSize),
    BFI_SYM(prefill_paged_run, kPrefillPaged, kRun),
    BFI_SYM(prefill_ragged_can_implement, kPrefillRagged, kCanImplement),
    BFI_SYM(prefill_ragged_get_workspace_size, kPrefillRagged, kWorkspaceSize),
    BFI_SYM(prefill_ragged_run, kPrefillRagged, kRun),
};
#undef BFI_SYM

// One bad value of one field: `field` is what the message names after "options->".
struct BadOption {
  const char* field;
  std::string value;
  Options options;
  bool decode_only;  // a value prefill takes (options->flags FA2: decode knows only NO_SPLIT)
};

std::vector<BadOption> bad_options() {
  std::vector<BadOption> bad;
  const auto add = [&](const char* field, const std::string& value, auto spoil,
                       bool decode_only = false) {
    Options o = defaults();
    spoil(o);
    bad.push_back({field, value, o, decode_only});
  };
  for (int32_t w : {-2, -3, -4096, std::numeric_limits<int32_t>::min()}) {
    add("window_left", std::to_string(w), [w](Options& o) { o.window_left = w; });
  }
  for (float x : {-1.f, -50.f, -FLT_MIN, -kInf, kInf, kNaN, -kNaN}) {
    add("logits_soft_cap", std::to_string(x), [x](Options& o) { o.logits_soft_cap = x; });
  }
  for (float x : {0.f, -0.f, -1.f, -FLT_MIN, kInf, -kInf, kNaN, -kNaN}) {
    add("k_scale", std::to_string(x), [x](Options& o) { o.k_scale = x; });
    add("v_scale", std::to_string(x), [x](Options& o) { o.v_scale = x; });
  }
  for (int32_t layout : {-1, 2, 3, 100, std::numeric_limits<int32_t>::min()}) {
    add("kv_layout", std::to_string(layout), [layout](Options& o) { o.kv_layout = layout; });
  }
  for (int32_t flags : {4, 8, 0x100, 0x40000000, -1, std::numeric_limits<int32_t>::min()}) {
    add("flags", std::to_string(flags), [flags](Options& o) { o.flags = flags; });
  }
  add(
      "flags", "FA2", [](Options& o) { o.flags = BARACUDA_FLASHINFER_ATTENTION_FA2; }, true);
  add(
      "flags", "NO_SPLIT | FA2",
      [](Options& o) {
        o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT | BARACUDA_FLASHINFER_ATTENTION_FA2;
      },
      true);
  for (int32_t r : {1, -1, 0x100}) {
    add("reserved", std::to_string(r), [r](Options& o) { o.reserved = r; });
  }
  for (size_t size :
       {size_t(0), size_t(1), sizeof(size_t), sizeof(Options) - 4, sizeof(Options) - 1}) {
    add("struct_size", std::to_string(size), [size](Options& o) { o.struct_size = size; });
  }
  return bad;
}

// Valid options, each field away from its default (and a few together), sinks aligned.
struct GoodOption {
  std::string what;
  Options options;
  bool prefill_only;  // options->flags FA2
};
std::vector<GoodOption> good_options() {
  std::vector<GoodOption> good;
  const auto add = [&](const std::string& what, auto set, bool prefill_only = false) {
    Options o = defaults();
    set(o);
    good.push_back({what, o, prefill_only});
  };
  add("defaults", [](Options&) {});
  for (int32_t w : {0, 1, 127, 4096, std::numeric_limits<int32_t>::max()}) {
    add("window_left " + std::to_string(w), [w](Options& o) { o.window_left = w; });
  }
  for (float x : {0.f, -0.f, FLT_MIN, 1e-30f, 50.f, FLT_MAX}) {
    add("logits_soft_cap " + std::to_string(x), [x](Options& o) { o.logits_soft_cap = x; });
  }
  for (float x : {FLT_MIN, 1e-6f, 0.5f, 3.f, 448.f, FLT_MAX}) {
    add("k_scale " + std::to_string(x), [x](Options& o) { o.k_scale = x; });
    add("v_scale " + std::to_string(x), [x](Options& o) { o.v_scale = x; });
  }
  add("NHD", [](Options& o) { o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_NHD; });
  add("HND", [](Options& o) { o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_HND; });
  add("sinks", [](Options& o) { o.sinks = static_cast<const float*>(fake(20)); });
  add("sinks 4-byte aligned",
      [](Options& o) { o.sinks = static_cast<const float*>(offset(fake(20), 4)); });
  add("flags NO_SPLIT", [](Options& o) { o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT; });
  add(
      "flags FA2", [](Options& o) { o.flags = BARACUDA_FLASHINFER_ATTENTION_FA2; }, true);
  add(
      "flags NO_SPLIT | FA2",
      [](Options& o) {
        o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT | BARACUDA_FLASHINFER_ATTENTION_FA2;
      },
      true);
  add("gpt-oss: window 128 + sinks + NHD", [](Options& o) {
    o.window_left = 128;
    o.sinks = static_cast<const float*>(fake(20));
    o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
  });
  add("Gemma 2: window 4096 + soft-cap 50", [](Options& o) {
    o.window_left = 4096;
    o.logits_soft_cap = 50.f;
  });
  add("fp8 scales + everything", [](Options& o) {
    o.window_left = 0;
    o.logits_soft_cap = 30.f;
    o.k_scale = 0.5f;
    o.v_scale = 3.f;
    o.sinks = static_cast<const float*>(fake(20));
    o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_NHD;
    o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
  });
  return good;
}

// The options with their sinks 2 bytes off a float's alignment (fake sinks where there were
// none): the last check run makes.
Options with_misaligned_sinks(Options o) {
  o.sinks = static_cast<const float*>(offset(o.sinks ? o.sinks : fake(20), 2));
  return o;
}

class OptionsSymbol : public ::testing::TestWithParam<Symbol> {
 protected:
  const Symbol& sym() const { return GetParam(); }
  bool decode() const { return sym().family == Family::kDecode; }
  int32_t call(const Options* o, const Call& c = Call{}) const {
    return invoke(sym().family, sym().kind, c, o);
  }
};

TEST_P(OptionsSymbol, refuses_each_bad_option_value_naming_the_field) {
  for (const BadOption& b : bad_options()) {
    if (b.decode_only && !decode()) continue;
    SCOPED_TRACE(std::string(b.field) + " = " + b.value);
    Call c;
    EXPECT_EQ(invoke(sym().family, sym().kind, c, &b.options), BARACUDA_FLASHINFER_INVALID_PROBLEM)
        << last_error();
    EXPECT_TRUE(message_mentions((std::string("options->") + b.field).c_str())) << last_error();
    EXPECT_TRUE(starts_with(last_error(), std::string(sym().name) + ":")) << last_error();
    EXPECT_EQ(c.bytes, kUnwritten) << "a refused get_workspace_size wrote its result";
  }
}

TEST_P(OptionsSymbol, a_later_versions_larger_struct_is_read_up_to_this_versions_fields) {
  // A caller compiled with a later header: more bytes after the fields this library knows.
  struct Later {
    Options known;
    unsigned char appended[64];
  } later;
  std::memset(&later, 0xFF, sizeof(later));
  later.known = defaults();
  later.known.struct_size = sizeof(later);
  Call c;
  c.q = offset(c.q, 8);  // a run stops there, before the device
  const int32_t plain = call(nullptr, c);
  EXPECT_EQ(call(&later.known, c), plain) << last_error();
  if (sym().kind == Kind::kRun) {
    EXPECT_EQ(plain, BARACUDA_FLASHINFER_MISALIGNED_OPERAND) << last_error();
  }
}

TEST_P(OptionsSymbol, valid_options_pass_validation) {
  for (const GoodOption& g : good_options()) {
    if (g.prefill_only && decode()) continue;
    SCOPED_TRACE(g.what);
    Call c;
    switch (sym().kind) {
      case Kind::kCanImplement:
        EXPECT_EQ(call(&g.options, c), 0) << last_error();
        break;
      case Kind::kWorkspaceSize:  // needs the device
        EXPECT_EQ(call(&g.options, c), gpu_present() ? 0 : kNoDeviceStatus) << last_error();
        if (gpu_present()) {
          EXPECT_NE(c.bytes, kUnwritten);
        }
        break;
      case Kind::kRun: {
        // Every check passed but the last: the sinks' alignment.
        const Options misaligned = with_misaligned_sinks(g.options);
        EXPECT_EQ(call(&misaligned, c), BARACUDA_FLASHINFER_MISALIGNED_OPERAND) << last_error();
        EXPECT_TRUE(message_mentions("options->sinks")) << last_error();
        if (!gpu_present()) {  // with a GPU this would launch on the fake pointers
          EXPECT_EQ(call(&g.options, c), kNoDeviceStatus) << last_error();
          EXPECT_TRUE(message_mentions("CUDA")) << last_error();
        }
        break;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    EverySymbol, OptionsSymbol, ::testing::ValuesIn(kSymbols), [](const auto& i) {
      return std::string(i.param.name).substr(std::strlen("baracuda_kernels_flashinfer_"));
    });

// --- per family: can_implement against run and get_workspace_size ------------------------------
class OptionsFamily : public ::testing::TestWithParam<Family> {};

// The calls of the sweep: the family's sizes at an element, a causal flag (prefill) or decode
// flags (decode), valid and not.
std::vector<Call> sweep_calls(Family f) {
  std::vector<Call> calls;
  const int32_t built = kBuiltHeadDims[0];
  if (f == Family::kDecode) {
    for (int32_t element : {BARACUDA_FLASHINFER_BF16, BARACUDA_FLASHINFER_F32,
                            BARACUDA_FLASHINFER_F16_E4M3, BARACUDA_FLASHINFER_BF16_E5M2}) {
      for (int32_t flags : std::initializer_list<int32_t>{
               0, BARACUDA_FLASHINFER_DECODE_CUDA_CORES, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES,
               BARACUDA_FLASHINFER_DECODE_NO_SPLIT | BARACUDA_FLASHINFER_DECODE_CUDA_CORES,
               BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_TENSOR_CORES,
               BARACUDA_FLASHINFER_DECODE_WARP_TILES,
               BARACUDA_FLASHINFER_DECODE_WARP_TILES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT,
               BARACUDA_FLASHINFER_DECODE_WARP_TILES | BARACUDA_FLASHINFER_DECODE_TENSOR_CORES,
               64}) {
        Call c;
        c.element = element, c.decode_flags = flags, c.head_dim = built;
        calls.push_back(c);
      }
    }
  } else {
    for (int32_t element :
         {BARACUDA_FLASHINFER_F16, BARACUDA_FLASHINFER_BF16, BARACUDA_FLASHINFER_BF16_E4M3}) {
      for (int32_t causal : {0, 1}) {
        Call c;
        c.element = element, c.causal = causal, c.head_dim = built;
        calls.push_back(c);
      }
    }
  }
  // Sizes refused whatever the options (2, 3) and a bad sm_scale (2, after the options).
  Call c;
  c.head_dim = 80;
  calls.push_back(c);
  c = Call{};
  c.hkv = 0;
  calls.push_back(c);
  c = Call{};
  c.hq = 30;
  calls.push_back(c);
  c = Call{};
  c.sm_scale = kNaN;
  calls.push_back(c);
  c = Call{};
  c.sm_scale = -1.f;
  calls.push_back(c);
  return calls;
}

std::vector<Options> sweep_options() {
  std::vector<Options> all;
  for (const BadOption& b : bad_options()) all.push_back(b.options);
  for (const GoodOption& g : good_options()) all.push_back(g.options);
  // Two bad fields: every symbol names the same one.
  Options two = defaults();
  two.window_left = -5;
  two.v_scale = kNaN;
  all.push_back(two);
  two = defaults();
  two.kv_layout = 7;
  two.reserved = 3;
  all.push_back(two);
  return all;
}

TEST_P(OptionsFamily, can_implement_agrees_with_run_and_workspace_size_for_every_option_value) {
  const Family f = GetParam();
  int checked = 0;
  std::vector<std::string> disagreements;
  const auto expect = [&](bool ok, const std::string& what) {
    ++checked;
    if (!ok) disagreements.push_back(what + ": " + last_error());
  };
  // The message after the function's name: the same refusal names the same thing.
  const auto reason = [] {
    const std::string m = last_error();
    const size_t colon = m.find(':');
    return colon == std::string::npos ? m : m.substr(colon);
  };
  const std::vector<Options> options = sweep_options();
  for (const Call& c : sweep_calls(f)) {
    for (size_t i = 0; i < options.size(); ++i) {
      const Options& o = options[i];
      const std::string where = "call (element " + std::to_string(c.element) + ", flags " +
                                std::to_string(c.decode_flags) + ", D " +
                                std::to_string(c.head_dim) + ", Hq/Hkv " + std::to_string(c.hq) +
                                "/" + std::to_string(c.hkv) + ", causal " +
                                std::to_string(c.causal) + "), options #" + std::to_string(i);
      const int32_t can = invoke(f, Kind::kCanImplement, c, &o);
      const std::string can_reason = reason();
      const int32_t ws = invoke(f, Kind::kWorkspaceSize, c, &o);
      const std::string ws_reason = reason();
      const Options misaligned = with_misaligned_sinks(o);
      const int32_t run = invoke(f, Kind::kRun, c, &misaligned);
      const std::string run_reason = reason();
      if (can != 0) {
        // get_workspace_size takes no sm_scale: a scale can_implement refuses is run's business.
        if (std::isfinite(c.sm_scale) && c.sm_scale > 0) {
          expect(ws == can && ws_reason == can_reason,
                 where + ": can_implement " + std::to_string(can) + " (" + can_reason +
                     "), get_workspace_size " + std::to_string(ws));
        }
        expect(run == can && run_reason == can_reason, where + ": can_implement " +
                                                           std::to_string(can) + " (" + can_reason +
                                                           "), run " + std::to_string(run));
        continue;
      }
      expect(run == BARACUDA_FLASHINFER_MISALIGNED_OPERAND,
             where + ": can_implement 0, run with misaligned sinks " + std::to_string(run));
      expect(ws == (gpu_present() ? 0 : kNoDeviceStatus),
             where + ": can_implement 0, get_workspace_size " + std::to_string(ws));
      if (!gpu_present()) {
        const int32_t device = invoke(f, Kind::kRun, c, &o);
        expect(device == kNoDeviceStatus,
               where + ": can_implement 0, run with aligned pointers " + std::to_string(device));
      }
    }
  }
  EXPECT_GT(checked, 500);
  std::string first;
  for (size_t i = 0; i < disagreements.size() && i < 8; ++i) first += "\n  " + disagreements[i];
  EXPECT_TRUE(disagreements.empty())
      << disagreements.size() << " of " << checked << " checks disagree; the first:" << first;
}

// NULL options and attention_options_init's defaults give the same answer for every call of the
// sweep (with a GPU: the same workspace size too).
TEST_P(OptionsFamily, null_options_answer_as_the_defaults) {
  const Family f = GetParam();
  const Options d = defaults();
  for (const Call& c : sweep_calls(f)) {
    SCOPED_TRACE("element " + std::to_string(c.element) + " flags " +
                 std::to_string(c.decode_flags) + " D " + std::to_string(c.head_dim) + " Hkv " +
                 std::to_string(c.hkv) + " sm_scale " + std::to_string(c.sm_scale));
    for (Kind kind : {Kind::kCanImplement, Kind::kWorkspaceSize}) {
      const int32_t with_null = invoke(f, kind, c, nullptr);
      const std::string null_message = last_error();
      const size_t null_bytes = c.bytes;
      EXPECT_EQ(invoke(f, kind, c, &d), with_null);
      EXPECT_EQ(last_error(), null_message);
      EXPECT_EQ(c.bytes, null_bytes);
    }
    // run: with q misaligned (checked before the device), or refused earlier.
    Call m = c;
    m.q = offset(m.q, 8);
    const int32_t with_null = invoke(f, Kind::kRun, m, nullptr);
    const std::string null_message = last_error();
    EXPECT_EQ(invoke(f, Kind::kRun, m, &d), with_null);
    EXPECT_EQ(last_error(), null_message);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, OptionsFamily,
                         ::testing::Values(Family::kDecode, Family::kPrefillPaged,
                                           Family::kPrefillRagged),
                         [](const auto& i) {
                           return i.param == Family::kDecode ? std::string("decode")
                                  : i.param == Family::kPrefillPaged
                                      ? std::string("prefill_paged")
                                      : std::string("prefill_ragged");
                         });

// Options are checked before the pointers: a run with bad options and a NULL or misaligned
// pointer (or misaligned sinks) names the option.
TEST(OptionsRun, bad_options_are_reported_before_pointers) {
  Options o = with_misaligned_sinks(defaults());
  o.window_left = -7;
  for (Family f : {Family::kDecode, Family::kPrefillPaged, Family::kPrefillRagged}) {
    Call c;
    c.q = nullptr;
    EXPECT_EQ(invoke(f, Kind::kRun, c, &o), BARACUDA_FLASHINFER_INVALID_PROBLEM);
    EXPECT_TRUE(message_mentions("options->window_left")) << last_error();
    c = Call{};
    c.o = offset(c.o, 2);
    EXPECT_EQ(invoke(f, Kind::kRun, c, &o), BARACUDA_FLASHINFER_INVALID_PROBLEM);
    EXPECT_TRUE(message_mentions("options->window_left")) << last_error();
  }
}

// --- decode's own flags argument, beside the options --------------------------------------------
TEST(DecodeEx, decode_flags_are_checked_before_the_options) {
  Options bad = defaults();
  bad.window_left = -9;
  Call c;
  c.decode_flags = 64;
  EXPECT_EQ(invoke(Family::kDecode, Kind::kCanImplement, c, &bad), 2);
  EXPECT_TRUE(message_mentions("unknown bits")) << last_error();
  EXPECT_FALSE(message_mentions("options->")) << last_error();
  c.decode_flags = BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  EXPECT_EQ(invoke(Family::kDecode, Kind::kRun, c, &bad), 2);
  EXPECT_TRUE(message_mentions("more than one")) << last_error();
  // Tensor cores with f32: unsupported (3) with any options, before them.
  Options scales = defaults();
  scales.k_scale = 0.5f;
  scales.v_scale = 3.f;
  c = Call{};
  c.element = BARACUDA_FLASHINFER_F32;
  c.decode_flags = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  for (Kind kind : {Kind::kCanImplement, Kind::kWorkspaceSize, Kind::kRun}) {
    EXPECT_EQ(invoke(Family::kDecode, kind, c, &scales), BARACUDA_FLASHINFER_UNSUPPORTED);
    EXPECT_TRUE(message_mentions("tensor-core")) << last_error();
  }
  // The warp-tile path has no soft-cap: 3 naming the field, on every symbol.
  Options capped = defaults();
  capped.logits_soft_cap = 50.f;
  c = Call{};
  c.decode_flags = BARACUDA_FLASHINFER_DECODE_WARP_TILES;
  for (Kind kind : {Kind::kCanImplement, Kind::kWorkspaceSize, Kind::kRun}) {
    EXPECT_EQ(invoke(Family::kDecode, kind, c, &capped), BARACUDA_FLASHINFER_UNSUPPORTED);
    EXPECT_TRUE(message_mentions("options->logits_soft_cap")) << last_error();
  }
  EXPECT_EQ(invoke(Family::kDecode, Kind::kCanImplement, c, &scales), 0) << last_error();
  // Both paths take an fp8 KV with its scales.
  c.decode_flags = BARACUDA_FLASHINFER_DECODE_TENSOR_CORES;
  c.element = BARACUDA_FLASHINFER_BF16_E4M3;
  EXPECT_EQ(invoke(Family::kDecode, Kind::kCanImplement, c, &scales), 0) << last_error();
  c.decode_flags = BARACUDA_FLASHINFER_DECODE_CUDA_CORES;
  EXPECT_EQ(invoke(Family::kDecode, Kind::kCanImplement, c, &scales), 0) << last_error();
}

// Prefill takes fp8 K/V with its scales; their bad values are refused naming the field, on fp8
// as on 16-bit K/V; f32 is refused (3) before the options are read.
TEST(PrefillOptions, fp8_elements_take_the_scales_and_refuse_bad_ones) {
  Options scales = defaults();
  scales.k_scale = 0.5f;
  scales.v_scale = 3.f;
  Options bad = defaults();
  bad.k_scale = -1.f;
  for (Family f : {Family::kPrefillPaged, Family::kPrefillRagged}) {
    for (int32_t element : {BARACUDA_FLASHINFER_F16_E4M3, BARACUDA_FLASHINFER_BF16_E5M2}) {
      Call c;
      c.element = element;
      EXPECT_EQ(invoke(f, Kind::kCanImplement, c, &scales), 0) << last_error();
      EXPECT_EQ(invoke(f, Kind::kCanImplement, c, &bad), BARACUDA_FLASHINFER_INVALID_PROBLEM);
      EXPECT_TRUE(message_mentions("k_scale")) << last_error();
    }
    Call c;
    c.element = BARACUDA_FLASHINFER_F32;
    EXPECT_EQ(invoke(f, Kind::kCanImplement, c, &bad), BARACUDA_FLASHINFER_UNSUPPORTED);
    EXPECT_TRUE(message_mentions("f16 or bf16 queries")) << last_error();
  }
}

}  // namespace
