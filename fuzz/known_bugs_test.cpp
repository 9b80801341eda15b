// The fuzz table covers every exported symbol, and every open known bug still reproduces (an
// expected failure: when this test fails for a bug, the bug is fixed; delete its entry).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "abi_check.hpp"
#include "known_bugs.hpp"

namespace bfi_fuzz {
namespace {

TEST(FuzzTable, CoversEveryExportedSymbol) {
  const auto [missing, unlisted] = table_vs_exports(BFI_FUZZ_EXPORTS_TXT);
  for (const std::string& s : missing) ADD_FAILURE() << s << " has no entry in fuzz/abi_table.cpp";
  for (const std::string& s : unlisted) ADD_FAILURE() << s << " is not in abi/exports.txt";
}

// The harness passes a correct call: a supported decode with valid pointers is accepted by
// can_implement and reaches the launch, which fails with 5 because the fuzzer hides every GPU.
TEST(FuzzHarness, ValidCallReachesTheLaunchWithoutAViolation) {
  Harness harness;
  for (const Entry& e : entries()) {
    if (!e.second ||
        std::string(e.second.name) != "baracuda_kernels_flashinfer_paged_decode_f16_run")
      continue;
    const std::vector<uint64_t> args = {bits_i32(4),  bits_i32(16), bits_i32(128),
                                        bits_i32(32), bits_i32(8),  bits_f32(0.088f)};
    std::vector<Violation> violations;
    harness.run(e, args, /*free_mode=*/false, {}, &violations);
    for (const Violation& v : violations) ADD_FAILURE() << v.format();
    const Call can = harness.call(e.first, args);
    EXPECT_EQ(can.result.value, 0) << can.format();
    const Call run = harness.call(e.second, harness.second_args(e, args, false, {}));
    EXPECT_EQ(run.result.value, BARACUDA_FLASHINFER_CUDA_ERROR) << run.format();
    return;
  }
  FAIL() << "no paged_decode_f16_run entry";
}

class KnownBugs : public ::testing::TestWithParam<size_t> {};

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
