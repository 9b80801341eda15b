// Host-only tests of the paged-KV append C ABI (single-token decode append and multi-token
// append): every argument of every symbol refused with its documented status and a message
// naming it, before any CUDA call (without a GPU a launch would answer status 5, so getting the
// validation status proves nothing was launched), and can_implement agreeing with run. Calls
// with valid sizes carry a misaligned `value` (checked last: status 1 proves every other check
// passed), so nothing is launched on the fake pointers, with or without a GPU.
#include <baracuda/flashinfer.h>
#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "host_util.hpp"

using namespace bfi_test;

namespace {

const char* const kNames[3] = {"f16", "bf16", "f32"};

using DecodeRun = int32_t (*)(int32_t, int32_t, int32_t, int32_t, void*, void*, void*, void*, void*,
                              const void*, const void*, baracuda_flashinfer_stream_t);
using DecodeCan = int32_t (*)(int32_t, int32_t, int32_t, int32_t);
using MultiRun = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, void*, void*, const void*,
                             const void*, const void*, const void*, const void*, const void*,
                             baracuda_flashinfer_stream_t);
using MultiCan = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t);

const DecodeRun kDecodeRun[3] = {baracuda_kernels_flashinfer_paged_kv_append_decode_f16_run,
                                 baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_run,
                                 baracuda_kernels_flashinfer_paged_kv_append_decode_f32_run};
const DecodeCan kDecodeCan[3] = {
    baracuda_kernels_flashinfer_paged_kv_append_decode_f16_can_implement,
    baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_can_implement,
    baracuda_kernels_flashinfer_paged_kv_append_decode_f32_can_implement};
const MultiRun kMultiRun[3] = {baracuda_kernels_flashinfer_paged_kv_append_f16_run,
                               baracuda_kernels_flashinfer_paged_kv_append_bf16_run,
                               baracuda_kernels_flashinfer_paged_kv_append_f32_run};
const MultiCan kMultiCan[3] = {baracuda_kernels_flashinfer_paged_kv_append_f16_can_implement,
                               baracuda_kernels_flashinfer_paged_kv_append_bf16_can_implement,
                               baracuda_kernels_flashinfer_paged_kv_append_f32_can_implement};

// One call of either symbol family: the sizes and pointers, all valid by default.
struct Args {
  bool decode = true;
  int32_t element = 0;
  int32_t tokens = 6, batch = 4, page = 16, heads = 8, head_dim = 128;
  void *k = fake(1), *v = fake(2), *indices = fake(3), *indptr = fake(4), *lpl = fake(5);
  void *bidx = fake(6), *pos = fake(7), *key = fake(8), *value = fake(9);

  int32_t run() const {
    return decode ? kDecodeRun[element](batch, page, heads, head_dim, k, v, indices, indptr, lpl,
                                        key, value, nullptr)
                  : kMultiRun[element](tokens, batch, page, heads, head_dim, k, v, indices, indptr,
                                       bidx, pos, key, value, nullptr);
  }
  int32_t can() const {
    return decode ? kDecodeCan[element](batch, page, heads, head_dim)
                  : kMultiCan[element](tokens, batch, page, heads, head_dim);
  }
  int32_t family_can() const {
    return decode ? baracuda_kernels_flashinfer_paged_kv_append_decode_can_implement(
                        batch, page, heads, head_dim)
                  : baracuda_kernels_flashinfer_paged_kv_append_can_implement(tokens, batch, page,
                                                                              heads, head_dim);
  }
};

struct BadCase {
  const char* word;  // the argument the message must name
  int32_t status;    // the documented status
  bool shape;        // a size problem: can_implement must refuse it too
  bool multi_only;   // only the multi-token symbols have this argument
  bool decode_only;  // only the decode symbols have this argument
  std::function<void(Args&)> spoil;
};

std::vector<BadCase> bad_cases() {
  return {
      {"num_tokens", 2, true, true, false, [](Args& a) { a.tokens = 0; }},
      {"num_tokens", 2, true, true, false, [](Args& a) { a.tokens = -3; }},
      {"num_tokens", 3, true, true, false, [](Args& a) { a.tokens = INT32_MAX; }},
      {"batch_size", 2, true, false, false, [](Args& a) { a.batch = 0; }},
      {"batch_size", 2, true, false, false, [](Args& a) { a.batch = -1; }},
      {"batch_size", 3, true, false, false, [](Args& a) { a.batch = (1 << 20) + 1; }},
      {"page_size", 2, true, false, false, [](Args& a) { a.page = 0; }},
      {"page_size", 2, true, false, false, [](Args& a) { a.page = INT32_MIN; }},
      {"num_heads", 2, true, false, false, [](Args& a) { a.heads = 0; }},
      {"num_heads", 3, true, false, false, [](Args& a) { a.heads = 1025; }},
      {"head_dim", 2, true, false, false, [](Args& a) { a.head_dim = 0; }},
      {"head_dim", 3, true, false, false, [](Args& a) { a.head_dim = 96; }},
      {"head_dim", 3, true, false, false, [](Args& a) { a.head_dim = 512; }},
      {"head_dim", 3, true, false, false, [](Args& a) { a.head_dim = 32; }},
      {"k_data", 2, false, false, false, [](Args& a) { a.k = nullptr; }},
      {"v_data", 2, false, false, false, [](Args& a) { a.v = nullptr; }},
      {"indices", 2, false, false, false, [](Args& a) { a.indices = nullptr; }},
      {"indptr", 2, false, false, false, [](Args& a) { a.indptr = nullptr; }},
      {"last_page_len", 2, false, false, true, [](Args& a) { a.lpl = nullptr; }},
      {"batch_indices", 2, false, true, false, [](Args& a) { a.bidx = nullptr; }},
      {"positions", 2, false, true, false, [](Args& a) { a.pos = nullptr; }},
      {"key", 2, false, false, false, [](Args& a) { a.key = nullptr; }},
      {"value", 2, false, false, false, [](Args& a) { a.value = nullptr; }},
      {"k_data", 1, false, false, false, [](Args& a) { a.k = offset(a.k, 8); }},
      {"v_data", 1, false, false, false, [](Args& a) { a.v = offset(a.v, 4); }},
      {"indices", 1, false, false, false, [](Args& a) { a.indices = offset(a.indices, 2); }},
      {"indptr", 1, false, false, false, [](Args& a) { a.indptr = offset(a.indptr, 1); }},
      {"last_page_len", 1, false, false, true, [](Args& a) { a.lpl = offset(a.lpl, 2); }},
      {"batch_indices", 1, false, true, false, [](Args& a) { a.bidx = offset(a.bidx, 2); }},
      {"positions", 1, false, true, false, [](Args& a) { a.pos = offset(a.pos, 3); }},
      {"key", 1, false, false, false, [](Args& a) { a.key = offset(a.key, 2); }},
      {"value", 1, false, false, false, [](Args& a) { a.value = offset(a.value, 8); }},
      // The first failure wins: a bad head_dim (3) is reported before a NULL pointer (2).
      {"head_dim", 3, true, false, false,
       [](Args& a) {
         a.head_dim = 80;
         a.key = nullptr;
       }},
  };
}

// One family (decode append or multi-token append) and one element.
class AppendSymbol : public ::testing::TestWithParam<std::tuple<bool, int32_t>> {
 protected:
  bool decode() const { return std::get<0>(GetParam()); }
  Args args() const {
    Args a;
    a.decode = decode();
    a.element = std::get<1>(GetParam());
    return a;
  }
};

TEST_P(AppendSymbol, every_bad_argument_is_refused_with_its_status_and_name) {
  for (const BadCase& c : bad_cases()) {
    if ((c.multi_only && decode()) || (c.decode_only && !decode())) continue;
    expect_refused(args(), c);
  }
}

// can_implement == 0: run (value misaligned) gets past every other check, and without a GPU (all
// aligned) to the device; otherwise run gives can_implement's status.
TEST_P(AppendSymbol, can_implement_agrees_with_run_over_a_shape_sweep) {
  for (int32_t batch : {1, 7, 8192, 1 << 20, (1 << 20) + 1}) {
    for (int32_t heads : {1, 8, 33, 128, 1024, 1025}) {
      for (int32_t head_dim : {32, 64, 128, 256, 512}) {
        for (int32_t page : {1, 16, 1000}) {
          SCOPED_TRACE("B=" + std::to_string(batch) + " H=" + std::to_string(heads) +
                       " D=" + std::to_string(head_dim) + " P=" + std::to_string(page));
          Args a = args();
          a.batch = batch;
          a.heads = heads;
          a.head_dim = head_dim;
          a.page = page;
          a.tokens = 3 * batch;
          Args misaligned = a;
          misaligned.value = offset(a.value, 8);
          expect_run_agrees(a, misaligned);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FamiliesAndElements, AppendSymbol,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(0, 1, 2)),
                         [](const auto& i) {
                           return std::string(std::get<0>(i.param) ? "decode_" : "multi_") +
                                  kNames[std::get<1>(i.param)];
                         });

TEST(AppendAbi, supported_limits_are_the_documented_ones) {
  // Any KV-head count up to 1024 (128 at head dim 256 in f32 included: no 1024-thread limit).
  for (int32_t element = 0; element < 3; ++element) {
    for (int32_t head_dim : {64, 128, 256}) {
      SCOPED_TRACE(std::string(kNames[element]) + " D=" + std::to_string(head_dim));
      EXPECT_EQ(kDecodeCan[element](8192, 16, 128, head_dim), 0);
      EXPECT_EQ(kDecodeCan[element](1 << 20, 1, 1024, head_dim), 0);
      EXPECT_EQ(kMultiCan[element](1 << 21, 8192, 16, 128, head_dim), 0);
      EXPECT_EQ(kMultiCan[element](INT32_MAX / 1024, 8192, 16, 1024, head_dim), 0);
      EXPECT_EQ(kMultiCan[element](INT32_MAX / 1024 + 1, 8192, 16, 1024, head_dim), 3);
    }
  }
}

TEST(AppendAbi, success_clears_the_last_error) {
  EXPECT_EQ(kDecodeCan[0](0, 16, 8, 128), 2);
  EXPECT_TRUE(message_mentions("batch_size")) << last_error();
  EXPECT_EQ(kDecodeCan[0](4, 16, 8, 128), 0);
  EXPECT_TRUE(last_error().empty()) << last_error();
}

}  // namespace
