// The fuzz table covers every exported symbol, and every open known bug still reproduces (an
// expected failure: when this test fails for a bug, the bug is fixed; delete its entry).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "abi_check.hpp"
#include "known_bugs.hpp"

namespace bfi_fuzz {
namespace {

TEST(FuzzTable, CoversEveryExportedSymbol) {
  const auto [missing, unlisted] = table_vs_exports(BFI_FUZZ_EXPORTS_TXT);
  for (const std::string& s : missing) ADD_FAILURE() << s << " has no entry in fuzz/abi_table.cpp";
  for (const std::string& s : unlisted) ADD_FAILURE() << s << " is not in abi/exports.txt";
}

const Entry& entry(const char* first, const char* second) {
  const std::string f = std::string("baracuda_kernels_flashinfer_") + first;
  const std::string r = std::string("baracuda_kernels_flashinfer_") + second;
  for (const Entry& e : entries()) {
    if (e.second && f == e.first.name && r == e.second.name) return e;
  }
  ADD_FAILURE() << first << " -> " << second << " is not a pair of fuzz/abi_table.cpp";
  std::abort();
}

// The harness passes a correct call: a supported problem with valid pointers (and, where the pair
// takes them, valid host structs) is accepted by can_implement and reaches the launch or the
// device query, which fails with 5 because the fuzzer hides every GPU.
struct ValidCall {
  const char* first;
  const char* second;
  int options_index;  // the first's attention-options argument (-1: none)
  std::vector<uint64_t> args;
};

class FuzzHarness : public ::testing::TestWithParam<ValidCall> {};

TEST_P(FuzzHarness, ValidCallReachesTheDeviceWithoutAViolation) {
  const ValidCall& param = GetParam();
  Harness harness;
  const Entry& e = entry(param.first, param.second);
  std::vector<uint64_t> args = param.args;
  if (param.options_index >= 0) {
    baracuda_flashinfer_attention_options o = documented_default_options();
    o.window_left = 128;
    o.logits_soft_cap = 30.f;
    o.flags = BARACUDA_FLASHINFER_ATTENTION_NO_SPLIT;
    args.at(param.options_index) = harness.options_arg(0, o);
  }
  std::vector<Violation> violations;
  harness.run(e, args, /*free_mode=*/false, {}, &violations);
  for (const Violation& v : violations) ADD_FAILURE() << v.format();
  const Call can = harness.call(e.first, args);
  EXPECT_EQ(can.result.value, 0) << can.format();
  const Call run = harness.call(e.second, harness.second_args(e, args, false, {}));
  EXPECT_EQ(run.result.value, BARACUDA_FLASHINFER_CUDA_ERROR) << run.format();
}

const uint64_t kScale = bits_f32(0.088f);
INSTANTIATE_TEST_SUITE_P(
    Pairs, FuzzHarness,
    ::testing::Values(
        ValidCall{"paged_decode_f16_can_implement",
                  "paged_decode_f16_run",
                  -1,
                  {bits_i32(4), bits_i32(16), bits_i32(128), bits_i32(32), bits_i32(8), kScale}},
        ValidCall{"paged_decode_run_with_can_implement",
                  "paged_decode_describe",
                  -1,
                  {BARACUDA_FLASHINFER_BF16, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, bits_i32(4),
                   bits_i32(16), bits_i32(128), bits_i32(32), bits_i32(8)}},
        ValidCall{"paged_decode_ex_can_implement",
                  "paged_decode_run_ex",
                  8,
                  {BARACUDA_FLASHINFER_F16, 0, bits_i32(4), bits_i32(16), bits_i32(128),
                   bits_i32(32), bits_i32(8), kScale, 0}},
        ValidCall{"prefill_paged_can_implement",
                  "prefill_paged_run",
                  9,
                  {BARACUDA_FLASHINFER_BF16, bits_i32(3), bits_i32(1000), bits_i32(16),
                   bits_i32(128), bits_i32(32), bits_i32(8), kScale, bits_i32(1), 0}},
        ValidCall{"prefill_ragged_can_implement",
                  "prefill_ragged_get_workspace_size",
                  9,
                  {BARACUDA_FLASHINFER_F16, bits_i32(3), bits_i32(1000), bits_i32(5000),
                   bits_i32(64), bits_i32(8), bits_i32(8), bits_f32(0.125f), bits_i32(0), 0}},
        ValidCall{"paged_prefill_f16_can_implement",
                  "paged_prefill_f16_run",
                  -1,
                  {bits_i32(3), bits_i32(1000), bits_i32(16), bits_i32(256), bits_i32(16),
                   bits_i32(2), kScale, bits_i32(1), bits_i32(1)}},
        ValidCall{"ragged_prefill_bf16_can_implement",
                  "ragged_prefill_bf16_run",
                  -1,
                  {bits_i32(3), bits_i32(1000), bits_i32(5000), bits_i32(64), bits_i32(4),
                   bits_i32(4), kScale, bits_i32(0)}}),
    [](const ::testing::TestParamInfo<ValidCall>& info) { return std::string(info.param.second); });

// attention_options_init writes the documented defaults into exactly sizeof bytes (the next page
// is PROT_NONE), and the harness's check of it fails on a struct it did not fill.
TEST(FuzzHarnessOptions, InitWritesTheDocumentedDefaults) {
  Harness harness;
  const Entry* init = nullptr;
  for (const Entry& e : entries()) {
    if (std::string(e.first.name) == "baracuda_kernels_flashinfer_attention_options_init")
      init = &e;
  }
  ASSERT_NE(init, nullptr);
  std::vector<Violation> violations;
  harness.run(*init, {harness.options_out_arg()}, false, {}, &violations);
  harness.run(*init, {0}, false, {}, &violations);
  for (const Violation& v : violations) ADD_FAILURE() << v.format();
  Call garbage;  // a call that wrote nothing: the garbage options_out_arg() leaves
  garbage.fn = &init->first;
  garbage.args = {harness.options_out_arg()};
  garbage.result = Result{Type::kVoid};
  harness.check_call(*init, garbage, /*is_first=*/true, false, &violations);
  EXPECT_EQ(violations.size(), 1u) << "the result check accepts a struct init never wrote";
}

// A struct_size below the first version's is refused with 2, and the options the second call
// gets are the first's bytes (the O role) with its own sinks.
TEST(FuzzHarnessOptions, SmallStructSizeIsRefusedAndCopied) {
  Harness harness;
  const Entry& e = entry("prefill_paged_can_implement", "prefill_paged_run");
  baracuda_flashinfer_attention_options o = documented_default_options();
  o.struct_size = sizeof(o) - 8;
  std::vector<uint64_t> args = {BARACUDA_FLASHINFER_F16,
                                bits_i32(1),
                                bits_i32(8),
                                bits_i32(16),
                                bits_i32(128),
                                bits_i32(8),
                                bits_i32(8),
                                kScale,
                                bits_i32(0),
                                harness.options_arg(0, o)};
  const Call can = harness.call(e.first, args);
  EXPECT_EQ(can.result.value, BARACUDA_FLASHINFER_INVALID_PROBLEM) << can.format();
  const std::vector<uint64_t> second = harness.second_args(e, args, false, {});
  const auto* copy = reinterpret_cast<const baracuda_flashinfer_attention_options*>(second.at(9));
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(second.at(9), args.at(9));
  EXPECT_EQ(copy->struct_size, o.struct_size);
  std::vector<Violation> violations;
  harness.run(e, args, /*free_mode=*/false, {}, &violations);
  for (const Violation& v : violations) ADD_FAILURE() << v.format();
}

class KnownBugs : public ::testing::TestWithParam<size_t> {};
// The list is empty when every known bug is fixed: that is not a failure.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KnownBugs);

TEST_P(KnownBugs, StillReproduces) {
  const KnownBug& bug = known_bugs()[GetParam()];
  Harness harness;
  for (const Reproducer& r : bug.reproducers) {
    bool found = false;
    const std::vector<Violation> violations = reproduce(harness, r, &found);
    ASSERT_TRUE(found) << r.first << " / " << (r.second ? r.second : "-")
                       << " is not a pair of fuzz/abi_table.cpp";
    bool reproduced = false;
    for (const Violation& v : violations) {
      if (bug.matches(v)) {
        reproduced = true;
        std::printf("expected failure %s:\n  %s\n", bug.id, v.format().c_str());
      } else if (find_known_bug(v) == nullptr) {
        ADD_FAILURE() << "the reproducer shows a violation no known bug explains:\n" << v.format();
      }
    }
    EXPECT_TRUE(reproduced) << "known bug " << bug.id << " no longer reproduces with " << r.first
                            << ": it is fixed. Delete its entry from kKnownBugs in "
                            << "fuzz/known_bugs.cpp (and its line in fuzz/ubsan.supp, if any).";
  }
}

INSTANTIATE_TEST_SUITE_P(Open, KnownBugs, ::testing::Range<size_t>(0, known_bugs().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = known_bugs()[info.param].id;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace bfi_fuzz

int main(int argc, char** argv) {
  setenv("CUDA_VISIBLE_DEVICES", "", 1);  // as the fuzzer: fake pointers never reach a GPU
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
