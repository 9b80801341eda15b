// Host-only tests of the attention-state merge C ABI (merge_state_in_place, merge_states,
// merge_states_varlen): every argument refused with its documented status and a message naming
// it, before any CUDA call (without a GPU a launch answers 5, so the validation status proves
// nothing was launched), and can_implement agreeing with run. Calls with valid sizes carry a
// misaligned pointer (status 1 proves every other check passed) so that nothing is launched on
// the fake pointers, with or without a GPU.
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "host_util.hpp"

using namespace bfi_test;

namespace {

enum Kind { kInPlace, kStates, kVarlen };
const char* const kKindNames[3] = {"merge_state_in_place", "merge_states", "merge_states_varlen"};

#define FI(NAME) baracuda_kernels_flashinfer_##NAME
const decltype(&FI(merge_state_in_place_f16_run)) kInPlaceRun[3] = {
    FI(merge_state_in_place_f16_run), FI(merge_state_in_place_bf16_run),
    FI(merge_state_in_place_f32_run)};
const decltype(&FI(merge_states_f16_run)) kStatesRun[3] = {
    FI(merge_states_f16_run), FI(merge_states_bf16_run), FI(merge_states_f32_run)};
const decltype(&FI(merge_states_varlen_f16_run)) kVarlenRun[3] = {FI(merge_states_varlen_f16_run),
                                                                  FI(merge_states_varlen_bf16_run),
                                                                  FI(merge_states_varlen_f32_run)};
const decltype(&FI(merge_state_in_place_f16_can_implement)) kInPlaceCan[3] = {
    FI(merge_state_in_place_f16_can_implement), FI(merge_state_in_place_bf16_can_implement),
    FI(merge_state_in_place_f32_can_implement)};
const decltype(&FI(merge_states_f16_can_implement)) kStatesCan[3] = {
    FI(merge_states_f16_can_implement), FI(merge_states_bf16_can_implement),
    FI(merge_states_f32_can_implement)};
const decltype(&FI(merge_states_varlen_f16_can_implement)) kVarlenCan[3] = {
    FI(merge_states_varlen_f16_can_implement), FI(merge_states_varlen_bf16_can_implement),
    FI(merge_states_varlen_f32_can_implement)};
#undef FI

struct Args {
  Kind kind = kInPlace;
  int32_t element = 0;
  int32_t sets = 3, seq_len = 5, heads = 8, head_dim = 128;
  void *v = fake(1), *s = fake(2), *v_other = fake(3), *s_other = fake(4), *indptr = fake(5);
  void *v_merged = fake(6), *s_merged = fake(7);

  int32_t run() const {
    switch (kind) {
      case kInPlace:
        return kInPlaceRun[element](seq_len, heads, head_dim, v, s, v_other, s_other, nullptr);
      case kStates:
        return kStatesRun[element](sets, seq_len, heads, head_dim, v, s, v_merged, s_merged,
                                   nullptr);
      default:
        return kVarlenRun[element](seq_len, heads, head_dim, v, s, indptr, v_merged, s_merged,
                                   nullptr);
    }
  }
  int32_t can() const {
    switch (kind) {
      case kInPlace:
        return kInPlaceCan[element](seq_len, heads, head_dim);
      case kStates:
        return kStatesCan[element](sets, seq_len, heads, head_dim);
      default:
        return kVarlenCan[element](seq_len, heads, head_dim);
    }
  }
  int32_t family_can() const {
    switch (kind) {
      case kInPlace:
        return baracuda_kernels_flashinfer_merge_state_in_place_can_implement(seq_len, heads,
                                                                              head_dim);
      case kStates:
        return baracuda_kernels_flashinfer_merge_states_can_implement(sets, seq_len, heads,
                                                                      head_dim);
      default:
        return baracuda_kernels_flashinfer_merge_states_varlen_can_implement(seq_len, heads,
                                                                             head_dim);
    }
  }
};

struct BadCase {
  const char* word;
  int32_t status;
  bool shape;
  unsigned kinds;  // bit mask of the kinds that have this argument
  std::function<void(Args&)> spoil;
};
constexpr unsigned kAll = 7, kIP = 1, kST = 2, kVL = 4;

std::vector<BadCase> bad_cases() {
  return {
      {"num_index_sets", 2, true, kST, [](Args& a) { a.sets = 0; }},
      {"num_index_sets", 2, true, kST, [](Args& a) { a.sets = -2; }},
      {"seq_len", 2, true, kAll, [](Args& a) { a.seq_len = 0; }},
      {"seq_len", 2, true, kAll, [](Args& a) { a.seq_len = INT32_MIN; }},
      {"num_heads", 2, true, kAll, [](Args& a) { a.heads = 0; }},
      {"head_dim", 2, true, kAll, [](Args& a) { a.head_dim = -128; }},
      {"head_dim", 3, true, kAll, [](Args& a) { a.head_dim = 96; }},
      {"head_dim", 3, true, kAll, [](Args& a) { a.head_dim = 512; }},
      {"num_heads", 3, true, kAll,
       [](Args& a) {
         a.seq_len = 1 << 24;
         a.heads = 128;
       }},
      {"head_dim", 3, true, kVL,
       [](Args& a) {
         a.seq_len = 1 << 20;
         a.heads = 16;
       }},
      {"v", 2, false, kAll, [](Args& a) { a.v = nullptr; }},
      {"s", 2, false, kAll, [](Args& a) { a.s = nullptr; }},
      {"v_other", 2, false, kIP, [](Args& a) { a.v_other = nullptr; }},
      {"s_other", 2, false, kIP, [](Args& a) { a.s_other = nullptr; }},
      {"indptr", 2, false, kVL, [](Args& a) { a.indptr = nullptr; }},
      {"v_merged", 2, false, kST | kVL, [](Args& a) { a.v_merged = nullptr; }},
      {"v (", 1, false, kAll, [](Args& a) { a.v = offset(a.v, 8); }},
      {"s (", 1, false, kAll, [](Args& a) { a.s = offset(a.s, 2); }},
      {"v_other", 1, false, kIP, [](Args& a) { a.v_other = offset(a.v_other, 4); }},
      {"s_other", 1, false, kIP, [](Args& a) { a.s_other = offset(a.s_other, 1); }},
      {"indptr", 1, false, kVL, [](Args& a) { a.indptr = offset(a.indptr, 2); }},
      {"v_merged", 1, false, kST | kVL, [](Args& a) { a.v_merged = offset(a.v_merged, 8); }},
      {"s_merged", 1, false, kST | kVL, [](Args& a) { a.s_merged = offset(a.s_merged, 2); }},
      {"head_dim", 3, true, kAll,
       [](Args& a) {
         a.head_dim = 100;
         a.v = nullptr;
       }},
  };
}

class MergeSymbol : public ::testing::TestWithParam<std::tuple<Kind, int32_t>> {
 protected:
  Args args() const {
    Args a;
    a.kind = std::get<0>(GetParam());
    a.element = std::get<1>(GetParam());
    return a;
  }
};

TEST_P(MergeSymbol, every_bad_argument_is_refused_with_its_status_and_name) {
  const Kind kind = std::get<0>(GetParam());
  for (const BadCase& c : bad_cases()) {
    if (c.kinds & (1u << kind)) expect_refused(args(), c);
  }
}

// s_merged is optional (NULL: not written). It is the last pointer checked, so only a call that
// then reaches the device shows it passed: without a GPU that is the device error (5); with one
// it would launch on fake pointers (test_merge_gpu runs merges without s_merged).
TEST(MergeAbi, s_merged_may_be_null) {
  if (gpu_present()) GTEST_SKIP() << "with a GPU the call would launch on fake pointers";
  for (Kind kind : {kStates, kVarlen}) {
    for (int32_t element = 0; element < 3; ++element) {
      SCOPED_TRACE(std::string(kKindNames[kind]) + " element " + std::to_string(element));
      Args a;
      a.kind = kind;
      a.element = element;
      a.s_merged = nullptr;
      EXPECT_EQ(a.run(), kNoDeviceStatus) << last_error();
    }
  }
}

// can_implement == 0: run (v misaligned, after every other check) gets to the alignment check,
// and without a GPU (v aligned) to the device; otherwise run gives can_implement's status.
TEST_P(MergeSymbol, can_implement_agrees_with_run_over_a_shape_sweep) {
  for (int32_t sets : {1, 2, 33, 4096}) {
    for (int32_t seq_len : {1, 4096, 1 << 20, 1 << 24}) {
      for (int32_t heads : {1, 32, 128, 1024}) {
        for (int32_t head_dim : {32, 64, 128, 256, 512}) {
          SCOPED_TRACE("N=" + std::to_string(sets) + " L=" + std::to_string(seq_len) +
                       " H=" + std::to_string(heads) + " D=" + std::to_string(head_dim));
          Args a = args();
          a.sets = sets;
          a.seq_len = seq_len;
          a.heads = heads;
          a.head_dim = head_dim;
          Args misaligned = a;
          misaligned.v = offset(a.v, 8);
          expect_run_agrees(a, misaligned);
        }
      }
    }
  }
}

std::string symbol_name(const ::testing::TestParamInfo<std::tuple<Kind, int32_t>>& i) {
  static const char* const kElements[] = {"f16", "bf16", "f32"};
  return std::string(kKindNames[std::get<0>(i.param)]) + "_" + kElements[std::get<1>(i.param)];
}
INSTANTIATE_TEST_SUITE_P(KindsAndElements, MergeSymbol,
                         ::testing::Combine(::testing::Values(kInPlace, kStates, kVarlen),
                                            ::testing::Values(0, 1, 2)),
                         symbol_name);

TEST(MergeAbi, supported_limits_are_the_documented_ones) {
  for (int32_t element = 0; element < 3; ++element) {
    for (int32_t head_dim : {64, 128, 256}) {
      SCOPED_TRACE("element " + std::to_string(element) + " D=" + std::to_string(head_dim));
      // 128 heads at any head dim: no (head_dim / vec) * heads <= 1024 launch limit.
      EXPECT_EQ(kInPlaceCan[element](4096, 128, head_dim), 0);
      EXPECT_EQ(kStatesCan[element](32, 4096, 128, head_dim), 0);
      EXPECT_EQ(kVarlenCan[element](4096, 128, head_dim), 0);
      EXPECT_EQ(kStatesCan[element](1, (INT32_MAX / 1024), 1024, head_dim), 0);
      EXPECT_EQ(kStatesCan[element](1, (INT32_MAX / 1024) + 1, 1024, head_dim), 3);
    }
  }
}

}  // namespace
