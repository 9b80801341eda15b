// Host-only tests of the attention-state merge C ABI (merge_state_in_place, merge_states,
// merge_states_varlen): every argument refused with its documented status and a message naming
// it, before any CUDA call (without a GPU a launch answers 5, so the validation status proves
// nothing was launched), and can_implement agreeing with run.
#include <baracuda/flashinfer.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "host_util.hpp"

using namespace bfi_test;

namespace {

enum Kind { kInPlace, kStates, kVarlen };
const char* const kKindNames[3] = {"merge_state_in_place", "merge_states", "merge_states_varlen"};

#define BFI_MERGE_TABLE(SUFFIX, WHAT)                             \
  {                                                               \
    baracuda_kernels_flashinfer_merge_##SUFFIX##_f16_##WHAT,      \
        baracuda_kernels_flashinfer_merge_##SUFFIX##_bf16_##WHAT, \
        baracuda_kernels_flashinfer_merge_##SUFFIX##_f32_##WHAT   \
  }
const decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run) kInPlaceRun[3] =
    BFI_MERGE_TABLE(state_in_place, run);
const decltype(&baracuda_kernels_flashinfer_merge_states_f16_run) kStatesRun[3] =
    BFI_MERGE_TABLE(states, run);
const decltype(&baracuda_kernels_flashinfer_merge_states_varlen_f16_run) kVarlenRun[3] =
    BFI_MERGE_TABLE(states_varlen, run);
const decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_can_implement) kInPlaceCan[3] =
    BFI_MERGE_TABLE(state_in_place, can_implement);
const decltype(&baracuda_kernels_flashinfer_merge_states_f16_can_implement) kStatesCan[3] =
    BFI_MERGE_TABLE(states, can_implement);
const decltype(&baracuda_kernels_flashinfer_merge_states_varlen_f16_can_implement) kVarlenCan[3] =
    BFI_MERGE_TABLE(states_varlen, can_implement);

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

}  // namespace

TEST(every_bad_argument_is_refused_with_its_status_and_name) {
  for (int kind = 0; kind < 3; ++kind) {
    for (int32_t element = 0; element < 3; ++element) {
      for (const BadCase& c : bad_cases()) {
        if (!(c.kinds & (1u << kind))) continue;
        Args a;
        a.kind = static_cast<Kind>(kind);
        a.element = element;
        c.spoil(a);
        const int32_t got = a.run();
        CHECK_MSG(got == c.status && message_mentions(c.word),
                  "%s element %d, bad %s: run gave %d (want %d), message \"%s\"", kKindNames[kind],
                  element, c.word, got, c.status, baracuda_kernels_flashinfer_last_error());
        if (!c.shape) continue;
        CHECK_MSG(a.can() == c.status && message_mentions(c.word),
                  "%s element %d, bad %s: can_implement disagrees (\"%s\")", kKindNames[kind],
                  element, c.word, baracuda_kernels_flashinfer_last_error());
        CHECK_MSG(a.family_can() == c.status, "%s, bad %s: family can_implement disagrees",
                  kKindNames[kind], c.word);
      }
    }
  }
}

TEST(s_merged_may_be_null) {
  // NULL s_merged is valid (not written): validation passes and, without a GPU, launch fails.
  if (have_gpu()) return;
  for (int kind : {kStates, kVarlen}) {
    Args a;
    a.kind = static_cast<Kind>(kind);
    a.s_merged = nullptr;
    CHECK_EQ(a.run(), 5);
  }
}

TEST(can_implement_agrees_with_run_over_a_shape_sweep) {
  const bool gpu = have_gpu();
  for (int kind = 0; kind < 3; ++kind) {
    for (int32_t element = 0; element < 3; ++element) {
      for (int32_t sets : {1, 2, 33, 4096}) {
        for (int32_t seq_len : {1, 4096, 1 << 20, 1 << 24}) {
          for (int32_t heads : {1, 32, 128, 1024}) {
            for (int32_t head_dim : {32, 64, 128, 256, 512}) {
              Args a;
              a.kind = static_cast<Kind>(kind);
              a.element = element;
              a.sets = sets;
              a.seq_len = seq_len;
              a.heads = heads;
              a.head_dim = head_dim;
              const int32_t can = a.can();
              CHECK_EQ(can, a.family_can());
              if (can != 0) {
                CHECK_EQ(a.run(), can);
              } else if (!gpu) {  // with a GPU it would launch on fake pointers
                const int32_t got = a.run();
                CHECK_MSG(got == 5 && message_mentions("CUDA"), "%s L=%d H=%d D=%d: run gave %d",
                          kKindNames[kind], seq_len, heads, head_dim, got);
              }
            }
          }
        }
      }
    }
  }
}

TEST(supported_limits_are_the_documented_ones) {
  for (int32_t element = 0; element < 3; ++element) {
    for (int32_t head_dim : {64, 128, 256}) {
      // 128 heads at any head dim: no (head_dim / vec) * heads <= 1024 launch limit.
      CHECK_EQ(kInPlaceCan[element](4096, 128, head_dim), 0);
      CHECK_EQ(kStatesCan[element](32, 4096, 128, head_dim), 0);
      CHECK_EQ(kVarlenCan[element](4096, 128, head_dim), 0);
      CHECK_EQ(kStatesCan[element](1, (INT32_MAX / 1024), 1024, head_dim), 0);
      CHECK_EQ(kStatesCan[element](1, (INT32_MAX / 1024) + 1, 1024, head_dim), 3);
    }
  }
}

TEST_MAIN()
