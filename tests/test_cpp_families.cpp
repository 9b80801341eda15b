// Host-only tests of the C++ layer (include/baracuda/flashinfer.hpp) for the families besides
// decode: AppendPlan, MergePlan (in place and N-way), SamplingPlan (every SamplingKind, both
// runs), SpeculativeSamplingPlan and FilterPlan.
// Plans are validated by the real C _can_implement (their refusals must be the C library's status
// and message); every tensor mistake is reported, naming the tensor and dimension, before any
// launch; a correct call reaches the C run once, with its arguments in ABI order. None of these
// plans has a workspace (workspace_size() == 0 and run() takes none).
//
// Built twice: with exceptions (test_cpp_families) and with -fno-exceptions
// (test_cpp_families_noexcept). This file defines the C run entry points (see cpp_fakes.hpp).
#include <baracuda/flashinfer.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cpp_fakes.hpp"

namespace bfi = baracuda::flashinfer;
namespace st = bfi::status;
using bfi_fake::addr;
using bfi_fake::args;
using bfi_fake::fake_stream;
using bfi_fake::reset;

extern "C" {
#define FAKE_APPEND_DECODE(T)                                                                    \
  int32_t baracuda_kernels_flashinfer_paged_kv_append_decode_##T##_run(                          \
      int32_t batch_size, int32_t page_size, int32_t num_heads, int32_t head_dim, void* k_data,  \
      void* v_data, void* indices, void* indptr, void* last_page_len, const void* key,           \
      const void* value, baracuda_flashinfer_stream_t stream) {                                  \
    return bfi_fake::record("append_decode_" #T, batch_size, page_size, num_heads, head_dim,     \
                            k_data, v_data, indices, indptr, last_page_len, key, value, stream); \
  }
#define FAKE_MERGE(T)                                                                              \
  int32_t baracuda_kernels_flashinfer_merge_state_in_place_##T##_run(                              \
      int32_t seq_len, int32_t num_heads, int32_t head_dim, void* v, void* s, const void* v_other, \
      const void* s_other, baracuda_flashinfer_stream_t stream) {                                  \
    return bfi_fake::record("merge_in_place_" #T, seq_len, num_heads, head_dim, v, s, v_other,     \
                            s_other, stream);                                                      \
  }                                                                                                \
  int32_t baracuda_kernels_flashinfer_merge_states_##T##_run(                                      \
      int32_t num_index_sets, int32_t seq_len, int32_t num_heads, int32_t head_dim, const void* v, \
      const void* s, void* v_merged, void* s_merged, baracuda_flashinfer_stream_t stream) {        \
    return bfi_fake::record("merge_states_" #T, num_index_sets, seq_len, num_heads, head_dim, v,   \
                            s, v_merged, s_merged, stream);                                        \
  }
FAKE_APPEND_DECODE(f16)
FAKE_APPEND_DECODE(bf16)
FAKE_APPEND_DECODE(f32)
FAKE_MERGE(f16)
FAKE_MERGE(bf16)
FAKE_MERGE(f32)

int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_run(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, uint64_t offset_val,
    const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("from_probs", batch, vocab, deterministic, seed_val, offset_val, probs,
                          output, valid, stream);
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_run(int32_t batch, int32_t vocab,
                                                           int32_t top_k_val, int32_t deterministic,
                                                           uint64_t seed_val, uint64_t offset_val,
                                                           const void* probs, void* output,
                                                           void* valid,
                                                           baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("top_k", batch, vocab, top_k_val, deterministic, seed_val, offset_val,
                          probs, output, valid, stream);
}
#define FAKE_P_SAMPLING(NAME)                                                                \
  int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_run(                             \
      int32_t batch, int32_t vocab, float p_val, int32_t deterministic, uint64_t seed_val,   \
      uint64_t offset_val, const void* probs, void* output, void* valid,                     \
      baracuda_flashinfer_stream_t stream) {                                                 \
    return bfi_fake::record(#NAME, batch, vocab, p_val, deterministic, seed_val, offset_val, \
                            probs, output, valid, stream);                                   \
  }
FAKE_P_SAMPLING(top_p)
FAKE_P_SAMPLING(min_p)
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_run(
    int32_t batch, int32_t vocab, int32_t top_k_val, float top_p_val, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("top_k_top_p", batch, vocab, top_k_val, top_p_val, deterministic,
                          seed_val, offset_val, probs, output, valid, stream);
}
// The graph-safe forms (device seed / offset, per-row thresholds), logits and speculative.
int32_t baracuda_kernels_flashinfer_sampling_from_probs_f32_ex(
    int32_t batch, int32_t vocab, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("from_probs_ex", batch, vocab, deterministic, seed_val, seed_ptr,
                          offset_val, offset_ptr, probs, output, valid, stream);
}
int32_t baracuda_kernels_flashinfer_top_k_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("top_k_ex", batch, vocab, top_k_val, top_k_arr, deterministic, seed_val,
                          seed_ptr, offset_val, offset_ptr, probs, output, valid, stream);
}
#define FAKE_P_SAMPLING_EX(NAME)                                                              \
  int32_t baracuda_kernels_flashinfer_##NAME##_sampling_f32_ex(                               \
      int32_t batch, int32_t vocab, float p_val, const void* p_arr, int32_t deterministic,    \
      uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,         \
      const void* probs, void* output, void* valid, baracuda_flashinfer_stream_t stream) {    \
    return bfi_fake::record(#NAME "_ex", batch, vocab, p_val, p_arr, deterministic, seed_val, \
                            seed_ptr, offset_val, offset_ptr, probs, output, valid, stream);  \
  }
FAKE_P_SAMPLING_EX(top_p)
FAKE_P_SAMPLING_EX(min_p)
int32_t baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_ex(
    int32_t batch, int32_t vocab, int32_t top_k_val, const void* top_k_arr, float top_p_val,
    const void* top_p_arr, int32_t deterministic, uint64_t seed_val, const void* seed_ptr,
    uint64_t offset_val, void* offset_ptr, const void* probs, void* output, void* valid,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("top_k_top_p_ex", batch, vocab, top_k_val, top_k_arr, top_p_val,
                          top_p_arr, deterministic, seed_val, seed_ptr, offset_val, offset_ptr,
                          probs, output, valid, stream);
}
#define FAKE_FROM_LOGITS(T)                                                                       \
  int32_t baracuda_kernels_flashinfer_sampling_from_logits_##T##_run(                             \
      int32_t batch, int32_t vocab, uint64_t seed_val, uint64_t offset_val, const void* logits,   \
      void* output, baracuda_flashinfer_stream_t stream) {                                        \
    return bfi_fake::record("logits_" #T, batch, vocab, seed_val, offset_val, logits, output,     \
                            stream);                                                              \
  }                                                                                               \
  int32_t baracuda_kernels_flashinfer_sampling_from_logits_##T##_ex(                              \
      int32_t batch, int32_t vocab, uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, \
      void* offset_ptr, const void* logits, void* output, baracuda_flashinfer_stream_t stream) {  \
    return bfi_fake::record("logits_" #T "_ex", batch, vocab, seed_val, seed_ptr, offset_val,     \
                            offset_ptr, logits, output, stream);                                  \
  }
FAKE_FROM_LOGITS(f32)
FAKE_FROM_LOGITS(f16)
FAKE_FROM_LOGITS(bf16)
int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, uint64_t offset_val, const void* draft_probs, const void* draft_token_ids,
    const void* target_probs, void* output_token_ids, void* output_accepted_token_num,
    void* output_emitted_draft_token_num, baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("speculative", batch, num_speculative_tokens, vocab, deterministic,
                          seed_val, offset_val, draft_probs, draft_token_ids, target_probs,
                          output_token_ids, output_accepted_token_num,
                          output_emitted_draft_token_num, stream);
}
int32_t baracuda_kernels_flashinfer_chain_speculative_sampling_f32_ex(
    int32_t batch, int32_t num_speculative_tokens, int32_t vocab, int32_t deterministic,
    uint64_t seed_val, const void* seed_ptr, uint64_t offset_val, void* offset_ptr,
    const void* draft_probs, const void* draft_token_ids, const void* target_probs,
    void* output_token_ids, void* output_accepted_token_num, void* output_emitted_draft_token_num,
    baracuda_flashinfer_stream_t stream) {
  return bfi_fake::record("speculative_ex", batch, num_speculative_tokens, vocab, deterministic,
                          seed_val, seed_ptr, offset_val, offset_ptr, draft_probs, draft_token_ids,
                          target_probs, output_token_ids, output_accepted_token_num,
                          output_emitted_draft_token_num, stream);
}
// Row filters: can_implement needs the device, so it is faked too (answering g_filter_can).
int32_t g_filter_can = 0;
#define FAKE_FILTER(NAME, TAG, THRESHOLD_T)                                                    \
  int32_t baracuda_kernels_flashinfer_##NAME##_can_implement(int32_t batch, int32_t vocab,     \
                                                             THRESHOLD_T threshold) {          \
    bfi_fake::record("can_" TAG, batch, vocab, threshold);                                     \
    return g_filter_can;                                                                       \
  }                                                                                            \
  int32_t baracuda_kernels_flashinfer_##NAME##_run(                                            \
      int32_t batch, int32_t vocab, THRESHOLD_T threshold, const void* arr, const void* input, \
      void* output, baracuda_flashinfer_stream_t stream) {                                     \
    return bfi_fake::record(TAG, batch, vocab, threshold, arr, input, output, stream);         \
  }
FAKE_FILTER(top_k_renorm_probs_f32, "top_k_renorm", int32_t)
FAKE_FILTER(top_p_renorm_probs_f32, "top_p_renorm", float)
FAKE_FILTER(top_k_mask_logits_f32, "mask_f32", int32_t)
FAKE_FILTER(top_k_mask_logits_f16, "mask_f16", int32_t)
FAKE_FILTER(top_k_mask_logits_bf16, "mask_bf16", int32_t)
}  // extern "C"

namespace {

const bfi::Dtype kAttentionDtypes[] = {bfi::Dtype::f16, bfi::Dtype::bf16, bfi::Dtype::f32};

/* ------------------------------------------------------------------------------------------- */
/* AppendPlan                                                                                   */
/* ------------------------------------------------------------------------------------------- */

constexpr int32_t B = 4, H = 8, D = 128, P = 16, PAGES = 64;

bfi::AppendDesc append_desc(bfi::Dtype t) {
  return bfi::AppendDesc{B, H, D, P, t};
}

struct AppendArgs {
  bfi::TensorView<3> key, value;
  bfi::TensorView<4> k, v;
  bfi::TensorView<1> indices, indptr, last;
  explicit AppendArgs(bfi::Dtype t) {
    key = bfi::contiguous<3>(addr(0x100000), t, {B, H, D});
    value = bfi::contiguous<3>(addr(0x200000), t, {B, H, D});
    k = bfi::contiguous<4>(addr(0x300000), t, {PAGES, H, P, D});
    v = bfi::contiguous<4>(addr(0x400000), t, {PAGES, H, P, D});
    indices = bfi::contiguous<1>(addr(0x500000), bfi::Dtype::i32, {PAGES});
    indptr = bfi::contiguous<1>(addr(0x600000), bfi::Dtype::i32, {B + 1});
    last = bfi::contiguous<1>(addr(0x700000), bfi::Dtype::i32, {B});
  }
};

bfi::Status run_append(const bfi::AppendPlan& p, const AppendArgs& a) {
  return p.run(fake_stream(), a.key, a.value, a.k, a.v, a.indices, a.indptr, a.last);
}

int32_t c_append_can(bfi::Dtype t, const bfi::AppendDesc& d) {
  auto fn = t == bfi::Dtype::bf16
                ? &baracuda_kernels_flashinfer_paged_kv_append_decode_bf16_can_implement
            : t == bfi::Dtype::f32
                ? &baracuda_kernels_flashinfer_paged_kv_append_decode_f32_can_implement
                : &baracuda_kernels_flashinfer_paged_kv_append_decode_f16_can_implement;
  return fn(d.batch_size, d.page_size, d.num_heads, d.head_dim);
}

TEST(CppFamilies, append_plan_creation_is_the_c_can_implement) {
  for (bfi::Dtype t : kAttentionDtypes) {
    bfi::Result<bfi::AppendPlan> ok = bfi::AppendPlan::create(append_desc(t));
    EXPECT_TRUE(ok.ok()) << bfi_fake::format("%s: %s", bfi::dtype_name(t),
                                             ok.status().to_string().c_str());
    EXPECT_TRUE(ok.ok() && ok->workspace_size() == 0 && ok->desc().dtype == t);
    bfi::AppendDesc bad[4] = {append_desc(t), append_desc(t), append_desc(t), append_desc(t)};
    bad[0].head_dim = 100;
    bad[1].batch_size = 0;
    bad[2].num_heads = 0;
    bad[3].page_size = 0;
    for (const bfi::AppendDesc& d : bad) {
      const int32_t c = c_append_can(t, d);
      EXPECT_SAME_AS_C(bfi::AppendPlan::create(d), c);
    }
  }
  bfi::Result<bfi::AppendPlan> r = bfi::AppendPlan::create(append_desc(bfi::Dtype::i32));
  EXPECT_EQ(r.status().code(), st::kUnsupported);
  EXPECT_TRUE(
      bfi_fake::contains(r.status().message(), "AppendPlan::create: dtype i32 is not supported"))
      << bfi_fake::format("%s", r.status().message().c_str());
}

TEST(CppFamilies, append_valid_call_reaches_the_c_run_once_in_abi_order) {
  for (bfi::Dtype t : kAttentionDtypes) {
    const bfi::AppendPlan p = bfi::check(bfi::AppendPlan::create(append_desc(t)));
    const AppendArgs a(t);
    reset();
    EXPECT_ONE_CALL(run_append(p, a), std::string("append_decode_") + bfi::dtype_name(t),
                    args(B, P, H, D, a.k.data, a.v.data, a.indices.data, a.indptr.data, a.last.data,
                         a.key.data, a.value.data, fake_stream()));
  }
}

TEST(CppFamilies, append_run_checks_every_tensor_before_the_c_run) {
  const bfi::AppendPlan p = bfi::check(bfi::AppendPlan::create(append_desc(bfi::Dtype::bf16)));
  const AppendArgs good(bfi::Dtype::bf16);
  auto run = [&](const AppendArgs& a) { return run_append(p, a); };
  const std::array<const char*, 3> token = {"batch", "num_heads", "head_dim"};
  const std::array<const char*, 4> cache = {"num_pages", "num_heads", "page_size", "head_dim"};
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<3>(
      good, [](AppendArgs & a) -> auto& { return a.key; }, run, "key", token, 0, 16);
  expect_tensor_checked<3>(
      good, [](AppendArgs & a) -> auto& { return a.value; }, run, "value", token, 0, 16);
  expect_tensor_checked<4>(
      good, [](AppendArgs & a) -> auto& { return a.k; }, run, "k_cache", cache, 1, 16);
  expect_tensor_checked<4>(
      good, [](AppendArgs & a) -> auto& { return a.v; }, run, "v_cache", cache, 1, 16);
  expect_tensor_checked<1>(
      good, [](AppendArgs & a) -> auto& { return a.indices; }, run, "kv_indices", {"nnz_pages"}, 1,
      4);
  expect_tensor_checked<1>(
      good, [](AppendArgs & a) -> auto& { return a.indptr; }, run, "kv_indptr", {"batch + 1"}, 0,
      4);
  expect_tensor_checked<1>(
      good, [](AppendArgs & a) -> auto& { return a.last; }, run, "kv_last_page_len", {"batch"}, 0,
      4);
  AppendArgs a = good;  // the two caches must have as many pages
  a.v = bfi::contiguous<4>(a.v.data, a.v.dtype, {PAGES / 2, H, P, D});
  reset();
  EXPECT_REJECTED(
      run(a), st::kInvalidProblem,
      "AppendPlan::run: v_cache: dimension 0 (num_pages) is 32, expected 64 (as k_cache)");
}

/* ------------------------------------------------------------------------------------------- */
/* MergePlan                                                                                    */
/* ------------------------------------------------------------------------------------------- */

constexpr int32_t SEQ = 5, N = 3;

bfi::MergeDesc merge_desc(bfi::Dtype t, int32_t num_states) {
  return bfi::MergeDesc{SEQ, H, D, t, num_states};
}

struct InPlaceArgs {
  bfi::TensorView<3> v, v_other;
  bfi::TensorView<2> s, s_other;
  explicit InPlaceArgs(bfi::Dtype t) {
    v = bfi::contiguous<3>(addr(0x100000), t, {SEQ, H, D});
    s = bfi::contiguous<2>(addr(0x200000), bfi::Dtype::f32, {SEQ, H});
    v_other = bfi::contiguous<3>(addr(0x300000), t, {SEQ, H, D});
    s_other = bfi::contiguous<2>(addr(0x400000), bfi::Dtype::f32, {SEQ, H});
  }
  bfi::Status run(const bfi::MergePlan& p) const {
    return p.run_in_place(fake_stream(), v, s, v_other, s_other);
  }
};

struct StatesArgs {
  bfi::TensorView<4> v;
  bfi::TensorView<3> s, v_merged;
  std::optional<bfi::TensorView<2>> s_merged;
  explicit StatesArgs(bfi::Dtype t) {
    v = bfi::contiguous<4>(addr(0x100000), t, {SEQ, N, H, D});
    s = bfi::contiguous<3>(addr(0x200000), bfi::Dtype::f32, {SEQ, N, H});
    v_merged = bfi::contiguous<3>(addr(0x300000), t, {SEQ, H, D});
    s_merged = bfi::contiguous<2>(addr(0x400000), bfi::Dtype::f32, {SEQ, H});
  }
  bfi::Status run(const bfi::MergePlan& p) const {
    return p.run(fake_stream(), v, s, v_merged, s_merged);
  }
};

TEST(CppFamilies, merge_plan_creation_is_the_c_can_implement) {
  for (bfi::Dtype t : kAttentionDtypes) {
    const int e = t == bfi::Dtype::f16 ? 0 : t == bfi::Dtype::bf16 ? 1 : 2;
    static constexpr int32_t (*kInPlace[])(int32_t, int32_t, int32_t) = {
        &baracuda_kernels_flashinfer_merge_state_in_place_f16_can_implement,
        &baracuda_kernels_flashinfer_merge_state_in_place_bf16_can_implement,
        &baracuda_kernels_flashinfer_merge_state_in_place_f32_can_implement};
    static constexpr int32_t (*kStates[])(int32_t, int32_t, int32_t, int32_t) = {
        &baracuda_kernels_flashinfer_merge_states_f16_can_implement,
        &baracuda_kernels_flashinfer_merge_states_bf16_can_implement,
        &baracuda_kernels_flashinfer_merge_states_f32_can_implement};
    for (int32_t n : {0, N}) {
      bfi::Result<bfi::MergePlan> ok = bfi::MergePlan::create(merge_desc(t, n));
      EXPECT_TRUE(ok.ok() && ok->workspace_size() == 0) << bfi_fake::format(
          "%s, %d states: %s", bfi::dtype_name(t), n, ok.status().to_string().c_str());
      bfi::MergeDesc bad[3] = {merge_desc(t, n), merge_desc(t, n), merge_desc(t, n)};
      bad[0].head_dim = 100;
      bad[1].seq_len = -1;
      bad[2].num_heads = 0;
      for (const bfi::MergeDesc& d : bad) {
        const int32_t c = n == 0 ? kInPlace[e](d.seq_len, d.num_heads, d.head_dim)
                                 : kStates[e](d.num_states, d.seq_len, d.num_heads, d.head_dim);
        EXPECT_SAME_AS_C(bfi::MergePlan::create(d), c);
      }
    }
    const bfi::MergeDesc neg = merge_desc(t, -2);
    const int32_t c = kStates[e](-2, SEQ, H, D);
    EXPECT_SAME_AS_C(bfi::MergePlan::create(neg), c);
  }
  bfi::Result<bfi::MergePlan> r = bfi::MergePlan::create(merge_desc(bfi::Dtype::u8, 0));
  EXPECT_EQ(r.status().code(), st::kUnsupported);
  EXPECT_TRUE(
      bfi_fake::contains(r.status().message(), "MergePlan::create: dtype u8 is not supported"))
      << bfi_fake::format("%s", r.status().message().c_str());
}

TEST(CppFamilies, merge_valid_calls_reach_the_c_run_once_in_abi_order) {
  for (bfi::Dtype t : kAttentionDtypes) {
    const std::string dt = bfi::dtype_name(t);
    const bfi::MergePlan in_place = bfi::check(bfi::MergePlan::create(merge_desc(t, 0)));
    const InPlaceArgs a(t);
    reset();
    EXPECT_ONE_CALL(
        a.run(in_place), "merge_in_place_" + dt,
        args(SEQ, H, D, a.v.data, a.s.data, a.v_other.data, a.s_other.data, fake_stream()));
    const bfi::MergePlan states = bfi::check(bfi::MergePlan::create(merge_desc(t, N)));
    StatesArgs b(t);
    reset();
    EXPECT_ONE_CALL(
        b.run(states), "merge_states_" + dt,
        args(N, SEQ, H, D, b.v.data, b.s.data, b.v_merged.data, b.s_merged->data, fake_stream()));
    b.s_merged = std::nullopt;  // optional: NULL, not written
    reset();
    EXPECT_ONE_CALL(
        b.run(states), "merge_states_" + dt,
        args(N, SEQ, H, D, b.v.data, b.s.data, b.v_merged.data, nullptr, fake_stream()));
  }
}

TEST(CppFamilies, merge_in_place_run_checks_every_tensor_before_the_c_run) {
  const bfi::MergePlan p = bfi::check(bfi::MergePlan::create(merge_desc(bfi::Dtype::f16, 0)));
  const InPlaceArgs good(bfi::Dtype::f16);
  auto run = [&](const InPlaceArgs& a) { return a.run(p); };
  const std::array<const char*, 3> o = {"seq_len", "num_heads", "head_dim"};
  const std::array<const char*, 2> lse = {"seq_len", "num_heads"};
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<3>(
      good, [](InPlaceArgs & a) -> auto& { return a.v; }, run, "v", o, 0, 16);
  expect_tensor_checked<2>(
      good, [](InPlaceArgs & a) -> auto& { return a.s; }, run, "s", lse, 0, 4);
  expect_tensor_checked<3>(
      good, [](InPlaceArgs & a) -> auto& { return a.v_other; }, run, "v_other", o, 0, 16);
  expect_tensor_checked<2>(
      good, [](InPlaceArgs & a) -> auto& { return a.s_other; }, run, "s_other", lse, 0, 4);
  // The N-way entry point refuses an in-place plan.
  reset();
  EXPECT_REJECTED(StatesArgs(bfi::Dtype::f16).run(p), st::kInvalidProblem,
                  "MergePlan::run: the plan merges in place: use run_in_place()");
}

TEST(CppFamilies, merge_states_run_checks_every_tensor_before_the_c_run) {
  const bfi::MergePlan p = bfi::check(bfi::MergePlan::create(merge_desc(bfi::Dtype::f32, N)));
  const StatesArgs good(bfi::Dtype::f32);
  auto run = [&](const StatesArgs& a) { return a.run(p); };
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<4>(
      good, [](StatesArgs & a) -> auto& { return a.v; }, run, "v",
      {"seq_len", "num_states", "num_heads", "head_dim"}, 0, 16);
  expect_tensor_checked<3>(
      good, [](StatesArgs & a) -> auto& { return a.s; }, run, "s",
      {"seq_len", "num_states", "num_heads"}, 0, 4);
  expect_tensor_checked<3>(
      good, [](StatesArgs & a) -> auto& { return a.v_merged; }, run, "v_merged",
      {"seq_len", "num_heads", "head_dim"}, 0, 16);
  expect_tensor_checked<2>(
      good, [](StatesArgs & a) -> auto& { return *a.s_merged; }, run, "s_merged",
      {"seq_len", "num_heads"}, 0, 4);
  // The in-place entry point refuses an N-way plan.
  reset();
  EXPECT_REJECTED(InPlaceArgs(bfi::Dtype::f32).run(p), st::kInvalidProblem,
                  "MergePlan::run_in_place: the plan merges 3 states: use run()");
}

/* ------------------------------------------------------------------------------------------- */
/* SamplingPlan                                                                                 */
/* ------------------------------------------------------------------------------------------- */

constexpr int32_t V = 1000;
constexpr uint64_t SEED = 42, OFFSET = 512;

const bfi::SamplingKind kKinds[] = {bfi::SamplingKind::from_probs, bfi::SamplingKind::top_k,
                                    bfi::SamplingKind::top_p, bfi::SamplingKind::min_p,
                                    bfi::SamplingKind::top_k_top_p};

bfi::SamplingDesc sampling_desc(bfi::SamplingKind kind, int32_t vocab = V) {
  return bfi::SamplingDesc{B,
                           vocab,
                           kind,
                           /*top_k=*/50,
                           /*top_p=*/0.9f,
                           /*min_p=*/0.05f,
                           /*deterministic=*/true};
}

// What the C _can_implement of the descriptor's kind answers.
int32_t c_sampling_can(const bfi::SamplingDesc& d) {
  switch (d.kind) {
    case bfi::SamplingKind::from_probs:
      return baracuda_kernels_flashinfer_sampling_from_probs_f32_can_implement(d.batch_size,
                                                                               d.vocab_size);
    case bfi::SamplingKind::top_k:
      return baracuda_kernels_flashinfer_top_k_sampling_f32_can_implement(d.batch_size,
                                                                          d.vocab_size, d.top_k);
    case bfi::SamplingKind::top_p:
      return baracuda_kernels_flashinfer_top_p_sampling_f32_can_implement(d.batch_size,
                                                                          d.vocab_size, d.top_p);
    case bfi::SamplingKind::min_p:
      return baracuda_kernels_flashinfer_min_p_sampling_f32_can_implement(d.batch_size,
                                                                          d.vocab_size, d.min_p);
    case bfi::SamplingKind::top_k_top_p:
      return baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(
          d.batch_size, d.vocab_size, d.top_k, d.top_p);
    case bfi::SamplingKind::from_logits:  // f32 logits
      return baracuda_kernels_flashinfer_sampling_from_logits_f32_can_implement(d.batch_size,
                                                                                d.vocab_size);
  }
  return -1;
}

struct SamplingArgs {
  bfi::TensorView<2> probs;
  bfi::TensorView<1> output;
  std::optional<bfi::TensorView<1>> valid;
  explicit SamplingArgs(int32_t vocab = V) {
    probs = bfi::contiguous<2>(addr(0x100000), bfi::Dtype::f32, {B, vocab});
    output = bfi::contiguous<1>(addr(0x200000), bfi::Dtype::i32, {B});
    valid = bfi::contiguous<1>(addr(0x300000), bfi::Dtype::u8, {B});
  }
  bfi::Status run(const bfi::SamplingPlan& p) const {
    return p.run(fake_stream(), probs, output, valid, SEED, OFFSET);
  }
};

TEST(CppFamilies, sampling_plan_creation_is_the_c_can_implement) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (bfi::SamplingKind kind : kKinds) {
    bfi::Result<bfi::SamplingPlan> ok = bfi::SamplingPlan::create(sampling_desc(kind));
    EXPECT_TRUE(ok.ok() && ok->workspace_size() == 0)
        << bfi_fake::format("kind %d: %s", static_cast<int>(kind), ok.status().to_string().c_str());
    std::vector<bfi::SamplingDesc> bad(2, sampling_desc(kind));
    bad[0].batch_size = 0;
    bad[1].vocab_size = 0;
    if (kind == bfi::SamplingKind::top_k || kind == bfi::SamplingKind::top_k_top_p) {
      bad.push_back(sampling_desc(kind));
      bad.back().top_k = 0;
    }
    if (kind == bfi::SamplingKind::top_p || kind == bfi::SamplingKind::top_k_top_p) {
      for (float p : {0.0f, 1.5f, nan}) {
        bad.push_back(sampling_desc(kind));
        bad.back().top_p = p;
      }
    }
    if (kind == bfi::SamplingKind::min_p) {
      for (float p : {0.0f, 1.5f, nan}) {
        bad.push_back(sampling_desc(kind));
        bad.back().min_p = p;
      }
    }
    for (const bfi::SamplingDesc& d : bad) {
      const int32_t c = c_sampling_can(d);
      EXPECT_SAME_AS_C(bfi::SamplingPlan::create(d), c);
    }
  }
  bfi::SamplingDesc unknown = sampling_desc(bfi::SamplingKind::from_probs);
  unknown.kind = static_cast<bfi::SamplingKind>(99);
  bfi::Result<bfi::SamplingPlan> r = bfi::SamplingPlan::create(unknown);
  EXPECT_EQ(r.status().code(), st::kInvalidProblem);
  EXPECT_TRUE(bfi_fake::contains(r.status().message(), "unknown SamplingKind"))
      << bfi_fake::format("%s", r.status().message().c_str());
}

TEST(CppFamilies, sampling_valid_calls_reach_the_c_run_once_in_abi_order) {
  for (bfi::SamplingKind kind : kKinds) {
    for (bool deterministic : {true, false}) {
      bfi::SamplingDesc d = sampling_desc(kind);
      d.deterministic = deterministic;
      const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(d));
      SamplingArgs a;
      const int32_t det = deterministic ? 1 : 0;
      const void *probs = a.probs.data, *out = a.output.data, *valid = a.valid->data;
      const auto s = fake_stream();
      for (int with_valid = 1; with_valid >= 0; --with_valid) {
        if (!with_valid) {  // optional: NULL, not written
          a.valid = std::nullopt;
          valid = nullptr;
        }
        reset();
        const bfi::Status r = a.run(p);
        switch (kind) {
          case bfi::SamplingKind::from_probs:
            EXPECT_ONE_CALL(r, "from_probs", args(B, V, det, SEED, OFFSET, probs, out, valid, s));
            break;
          case bfi::SamplingKind::top_k:
            EXPECT_ONE_CALL(r, "top_k", args(B, V, 50, det, SEED, OFFSET, probs, out, valid, s));
            break;
          case bfi::SamplingKind::top_p:
            EXPECT_ONE_CALL(r, "top_p", args(B, V, 0.9f, det, SEED, OFFSET, probs, out, valid, s));
            break;
          case bfi::SamplingKind::min_p:
            EXPECT_ONE_CALL(r, "min_p", args(B, V, 0.05f, det, SEED, OFFSET, probs, out, valid, s));
            break;
          case bfi::SamplingKind::top_k_top_p:
            EXPECT_ONE_CALL(r, "top_k_top_p",
                            args(B, V, 50, 0.9f, det, SEED, OFFSET, probs, out, valid, s));
            break;
          case bfi::SamplingKind::from_logits:  // not in kKinds (from_logits has no valid)
            ADD_FAILURE() << "from_logits in kKinds";
            break;
        }
      }
    }
    const bool single = kind == bfi::SamplingKind::from_probs || kind == bfi::SamplingKind::min_p;
    EXPECT_EQ(bfi::check(bfi::SamplingPlan::create(sampling_desc(kind))).offset_step(),
              single ? BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE
                     : BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_REJECTION);
  }
}

TEST(CppFamilies, sampling_run_checks_every_tensor_before_the_c_run) {
  for (bfi::SamplingKind kind : kKinds) {
    const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(sampling_desc(kind)));
    const SamplingArgs good;
    auto run = [&](const SamplingArgs& a) { return a.run(p); };
    using bfi_fake::expect_tensor_checked;
    expect_tensor_checked<2>(
        good, [](SamplingArgs & a) -> auto& { return a.probs; }, run, "probs", {"batch", "vocab"},
        0, 16);
    expect_tensor_checked<1>(
        good, [](SamplingArgs & a) -> auto& { return a.output; }, run, "output", {"batch"}, 0, 4);
    expect_tensor_checked<1>(
        good, [](SamplingArgs & a) -> auto& { return *a.valid; }, run, "valid", {"batch"}, 0, 1);
  }
}

// The C samplers need probs aligned to 4 * gcd(4, vocab) bytes; the layer checks the same.
TEST(CppFamilies, sampling_probs_alignment_follows_the_vocab) {
  const struct {
    int32_t vocab;
    std::size_t align;
  } cases[] = {{1000, 16}, {1002, 8}, {1001, 4}};
  for (const auto& c : cases) {
    const bfi::SamplingPlan p =
        bfi::check(bfi::SamplingPlan::create(sampling_desc(bfi::SamplingKind::top_p, c.vocab)));
    SamplingArgs a(c.vocab);
    a.probs.data = addr(0x100000 + c.align);  // aligned enough
    reset();
    const bfi::Status s = a.run(p);
    EXPECT_TRUE(s.ok() && bfi_fake::calls().count == 1)
        << bfi_fake::format("vocab %d: %s", c.vocab, s.to_string().c_str());
    if (c.align > 4) {
      a.probs.data = addr(0x100000 + c.align / 2);
      char msg[96];
      std::snprintf(msg, sizeof(msg), "probs: data %p is not %zu-byte aligned", a.probs.data,
                    c.align);
      reset();
      EXPECT_REJECTED(a.run(p), st::kMisalignedOperand, msg);
    }
  }
}

/* ------------------------------------------------------------------------------------------- */
/* SamplingPlan: the graph-safe run (device Rng, per-row thresholds) and from_logits             */
/* ------------------------------------------------------------------------------------------- */

uint64_t* const kSeedPtr = static_cast<uint64_t*>(addr(0x700000));
uint64_t* const kOffsetPtr = static_cast<uint64_t*>(addr(0x700008));

// A descriptor with every threshold of `kind` per row.
bfi::SamplingDesc per_row_desc(bfi::SamplingKind kind) {
  bfi::SamplingDesc d = sampling_desc(kind);
  d.per_row_top_k = kind == bfi::SamplingKind::top_k || kind == bfi::SamplingKind::top_k_top_p;
  d.per_row_p = kind == bfi::SamplingKind::top_p || kind == bfi::SamplingKind::min_p ||
                kind == bfi::SamplingKind::top_k_top_p;
  return d;
}

struct SamplingExArgs : SamplingArgs {
  bfi::SamplingThresholds per_row;
  bfi::Rng rng = bfi::Rng::device(kSeedPtr, kOffsetPtr);
  explicit SamplingExArgs(const bfi::SamplingDesc& d) : SamplingArgs(d.vocab_size) {
    if (d.per_row_top_k) per_row.top_k = bfi::contiguous<1>(addr(0x400000), bfi::Dtype::i32, {B});
    if (d.per_row_p) per_row.p = bfi::contiguous<1>(addr(0x500000), bfi::Dtype::f32, {B});
  }
  bfi::Status run(const bfi::SamplingPlan& p) const {
    return p.run(fake_stream(), probs, output, valid, rng, per_row);
  }
};

TEST(CppFamilies, sampling_per_row_plans_are_the_c_arr_can_implement) {
  for (bfi::SamplingKind kind : kKinds) {
    if (kind == bfi::SamplingKind::from_probs) continue;
    bfi::SamplingDesc d = per_row_desc(kind);
    d.top_k = 0;  // replaced by the per-row values: not checked
    d.top_p = d.min_p = -1.f;
    bfi::Result<bfi::SamplingPlan> ok = bfi::SamplingPlan::create(d);
    EXPECT_TRUE(ok.ok()) << bfi_fake::format("kind %d: %s", static_cast<int>(kind),
                                             ok.status().to_string().c_str());
    d.batch_size = 0;
    const int32_t c =
        kind == bfi::SamplingKind::top_k
            ? baracuda_kernels_flashinfer_top_k_sampling_f32_arr_can_implement(0, V)
        : kind == bfi::SamplingKind::top_p
            ? baracuda_kernels_flashinfer_top_p_sampling_f32_arr_can_implement(0, V)
        : kind == bfi::SamplingKind::min_p
            ? baracuda_kernels_flashinfer_min_p_sampling_f32_arr_can_implement(0, V)
            : baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_arr_can_implement(0, V);
    EXPECT_SAME_AS_C(bfi::SamplingPlan::create(d), c);
  }
  // Joint top-k + top-p with one threshold per row: the other scalar is still checked.
  bfi::SamplingDesc d = sampling_desc(bfi::SamplingKind::top_k_top_p);
  d.per_row_top_k = true;
  d.top_k = 0;
  d.top_p = 1.5f;
  int32_t c = baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(B, V, 1, 1.5f);
  EXPECT_SAME_AS_C(bfi::SamplingPlan::create(d), c);
  d.top_p = 0.9f;
  EXPECT_TRUE(bfi::SamplingPlan::create(d).ok());
  d.per_row_top_k = false;
  d.per_row_p = true;
  c = baracuda_kernels_flashinfer_top_k_top_p_sampling_f32_can_implement(B, V, 0, 1.f);
  EXPECT_SAME_AS_C(bfi::SamplingPlan::create(d), c);
  // A per-row threshold the kind does not have, or a dtype it does not take.
  const struct {
    bfi::SamplingKind kind;
    bool k, p;
    bfi::Dtype dtype;
    int32_t code;
    const char* part;
  } bad[] = {
      {bfi::SamplingKind::top_p, true, false, bfi::Dtype::f32, st::kInvalidProblem,
       "per_row_top_k needs a top_k or top_k_top_p plan"},
      {bfi::SamplingKind::from_probs, false, true, bfi::Dtype::f32, st::kInvalidProblem,
       "per_row_p needs a top_p, min_p or top_k_top_p plan"},
      {bfi::SamplingKind::top_k, false, false, bfi::Dtype::f16, st::kUnsupported,
       "dtype f16 (probabilities are f32)"},
      {bfi::SamplingKind::from_logits, false, false, bfi::Dtype::i32, st::kUnsupported,
       "dtype i32 (from_logits takes f32, f16 or bf16)"},
  };
  for (const auto& b : bad) {
    bfi::SamplingDesc x = sampling_desc(b.kind);
    x.per_row_top_k = b.k;
    x.per_row_p = b.p;
    x.dtype = b.dtype;
    bfi::Result<bfi::SamplingPlan> r = bfi::SamplingPlan::create(x);
    EXPECT_TRUE(!r.ok() && r.status().code() == b.code &&
                bfi_fake::contains(r.status().message(), b.part))
        << r.status().to_string();
  }
}

TEST(CppFamilies, sampling_ex_run_reaches_the_c_ex_once_in_abi_order) {
  const auto s = fake_stream();
  for (bfi::SamplingKind kind : kKinds) {
    for (bool per_row : {true, false}) {
      const bfi::SamplingDesc d = per_row ? per_row_desc(kind) : sampling_desc(kind);
      const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(d));
      SamplingExArgs a(d);
      if (!per_row) a.rng = bfi::Rng::values(SEED, OFFSET);
      const uint64_t seed = a.rng.seed, offset = a.rng.offset;
      const void *seed_ptr = a.rng.seed_ptr, *offset_ptr = a.rng.offset_ptr;
      const void* k_arr = a.per_row.top_k ? a.per_row.top_k->data : nullptr;
      const void* p_arr = a.per_row.p ? a.per_row.p->data : nullptr;
      const void *probs = a.probs.data, *out = a.output.data, *valid = a.valid->data;
      reset();
      const bfi::Status r = a.run(p);
      switch (kind) {
        case bfi::SamplingKind::from_probs:
          EXPECT_ONE_CALL(r, "from_probs_ex",
                          args(B, V, 1, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s));
          break;
        case bfi::SamplingKind::top_k:
          EXPECT_ONE_CALL(
              r, "top_k_ex",
              args(B, V, 50, k_arr, 1, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s));
          break;
        case bfi::SamplingKind::top_p:
          EXPECT_ONE_CALL(
              r, "top_p_ex",
              args(B, V, 0.9f, p_arr, 1, seed, seed_ptr, offset, offset_ptr, probs, out, valid, s));
          break;
        case bfi::SamplingKind::min_p:
          EXPECT_ONE_CALL(r, "min_p_ex",
                          args(B, V, 0.05f, p_arr, 1, seed, seed_ptr, offset, offset_ptr, probs,
                               out, valid, s));
          break;
        default:
          EXPECT_ONE_CALL(r, "top_k_top_p_ex",
                          args(B, V, 50, k_arr, 0.9f, p_arr, 1, seed, seed_ptr, offset, offset_ptr,
                               probs, out, valid, s));
          break;
      }
    }
  }
}

TEST(CppFamilies, sampling_ex_run_checks_the_per_row_tensors_and_the_rng) {
  const bfi::SamplingDesc d = per_row_desc(bfi::SamplingKind::top_k_top_p);
  const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(d));
  const SamplingExArgs good(d);
  auto run = [&](const SamplingExArgs& a) { return a.run(p); };
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<1>(
      good, [](SamplingExArgs & a) -> auto& { return *a.per_row.top_k; }, run, "per_row.top_k",
      {"batch"}, 0, 4);
  expect_tensor_checked<1>(
      good, [](SamplingExArgs & a) -> auto& { return *a.per_row.p; }, run, "per_row.p", {"batch"},
      0, 4);
  expect_tensor_checked<2>(
      good, [](SamplingExArgs & a) -> auto& { return a.probs; }, run, "probs", {"batch", "vocab"},
      0, 16);
  SamplingExArgs a = good;
  a.per_row.top_k = std::nullopt;
  reset();
  EXPECT_REJECTED(run(a), st::kInvalidProblem,
                  "per_row.top_k: missing; the plan was created with per_row_top_k");
  a = good;
  a.rng.seed_ptr = kSeedPtr + 1;  // still 8-byte aligned
  a.rng.offset_ptr = reinterpret_cast<uint64_t*>(addr(0x700004));
  reset();
  EXPECT_REJECTED(run(a), st::kMisalignedOperand, "rng.offset_ptr: 0x700004 is not 8-byte aligned");
  // A plan without per-row thresholds refuses them; a per-row plan refuses the value-only run.
  const bfi::SamplingPlan scalar =
      bfi::check(bfi::SamplingPlan::create(sampling_desc(bfi::SamplingKind::top_p)));
  a = good;
  a.per_row.top_k = std::nullopt;
  reset();
  EXPECT_REJECTED(a.run(scalar), st::kInvalidProblem,
                  "per_row.p: given, but the plan was created without per_row_p");
  reset();
  EXPECT_REJECTED(SamplingArgs().run(p), st::kInvalidProblem, "the plan takes per-row thresholds");
}

TEST(CppFamilies, from_logits_plans_reach_the_c_logits_runs) {
  const auto s = fake_stream();
  const struct {
    bfi::Dtype dtype;
    const char* tag;
  } cases[] = {{bfi::Dtype::f32, "logits_f32"},
               {bfi::Dtype::f16, "logits_f16"},
               {bfi::Dtype::bf16, "logits_bf16"}};
  for (const auto& c : cases) {
    bfi::SamplingDesc d = sampling_desc(bfi::SamplingKind::from_logits);
    d.dtype = c.dtype;
    const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(d));
    EXPECT_EQ(p.offset_step(), BARACUDA_FLASHINFER_SAMPLING_OFFSET_STEP_SINGLE);
    bfi::SamplingDesc bad = d;
    bad.vocab_size = 0;
    const int32_t code =
        c.dtype == bfi::Dtype::f16
            ? baracuda_kernels_flashinfer_sampling_from_logits_f16_can_implement(B, 0)
        : c.dtype == bfi::Dtype::bf16
            ? baracuda_kernels_flashinfer_sampling_from_logits_bf16_can_implement(B, 0)
            : baracuda_kernels_flashinfer_sampling_from_logits_f32_can_implement(B, 0);
    EXPECT_SAME_AS_C(bfi::SamplingPlan::create(bad), code);
    SamplingExArgs a(d);
    a.probs.dtype = c.dtype;
    a.valid = std::nullopt;  // logits samplers write no valid flags
    const void *in = a.probs.data, *out = a.output.data;
    reset();
    EXPECT_ONE_CALL(p.run(s, a.probs, a.output, std::nullopt, SEED, OFFSET), c.tag,
                    args(B, V, SEED, OFFSET, in, out, s));
    reset();
    EXPECT_ONE_CALL(a.run(p), std::string(c.tag) + "_ex",
                    args(B, V, uint64_t{0}, static_cast<const void*>(kSeedPtr), uint64_t{0},
                         static_cast<const void*>(kOffsetPtr), in, out, s));
    auto run = [&](const SamplingExArgs& x) { return x.run(p); };
    // V = 1000: 16 bytes for every type (4 * gcd(4, V) = 2 * gcd(8, V) = 16).
    bfi_fake::expect_tensor_checked<2>(
        a, [](SamplingExArgs & x) -> auto& { return x.probs; }, run, "logits", {"batch", "vocab"},
        0, 16);
    SamplingExArgs with_valid(d);
    with_valid.probs.dtype = c.dtype;
    reset();
    EXPECT_REJECTED(with_valid.run(p), st::kInvalidProblem,
                    "valid: from_logits writes no valid flags");
  }
  // 2-byte logits: esize * gcd(8, vocab) bytes.
  const struct {
    int32_t vocab;
    std::size_t align;
  } aligns[] = {{1000, 16}, {1004, 8}, {1002, 4}, {1001, 2}};
  for (const auto& x : aligns) {
    bfi::SamplingDesc d = sampling_desc(bfi::SamplingKind::from_logits, x.vocab);
    d.dtype = bfi::Dtype::bf16;
    const bfi::SamplingPlan p = bfi::check(bfi::SamplingPlan::create(d));
    auto logits = bfi::contiguous<2>(addr(0x100000 + x.align), bfi::Dtype::bf16, {B, x.vocab});
    const auto out = bfi::contiguous<1>(addr(0x200000), bfi::Dtype::i32, {B});
    reset();
    EXPECT_TRUE(p.run(fake_stream(), logits, out, std::nullopt, SEED, OFFSET).ok())
        << bfi_fake::format("vocab %d", x.vocab);
    if (x.align > 1) {
      logits.data = addr(0x100000 + x.align / 2);
      char msg[96];
      std::snprintf(msg, sizeof(msg), "logits: data %p is not %zu-byte aligned", logits.data,
                    x.align);
      reset();
      EXPECT_REJECTED(p.run(fake_stream(), logits, out, std::nullopt, SEED, OFFSET),
                      st::kMisalignedOperand, msg);
    }
  }
}

/* ------------------------------------------------------------------------------------------- */
/* SpeculativeSamplingPlan                                                                      */
/* ------------------------------------------------------------------------------------------- */

constexpr int32_t S = 3;

bfi::SpeculativeSamplingDesc speculative_desc() {
  return bfi::SpeculativeSamplingDesc{B, S, V, /*deterministic=*/false};
}

struct SpeculativeArgs {
  bfi::TensorView<3> draft_probs, target_probs;
  bfi::TensorView<2> draft_ids, out_ids;
  bfi::TensorView<1> accepted, emitted;
  SpeculativeArgs() {
    draft_probs = bfi::contiguous<3>(addr(0x100000), bfi::Dtype::f32, {B, S, V});
    draft_ids = bfi::contiguous<2>(addr(0x200000), bfi::Dtype::i32, {B, S});
    target_probs = bfi::contiguous<3>(addr(0x300000), bfi::Dtype::f32, {B, S + 1, V});
    out_ids = bfi::contiguous<2>(addr(0x400000), bfi::Dtype::i32, {B, S + 1});
    accepted = bfi::contiguous<1>(addr(0x500000), bfi::Dtype::i32, {B});
    emitted = bfi::contiguous<1>(addr(0x600000), bfi::Dtype::i32, {B});
  }
  bfi::Status run(const bfi::SpeculativeSamplingPlan& p) const {
    return p.run(fake_stream(), draft_probs, draft_ids, target_probs, out_ids, accepted, emitted,
                 bfi::Rng::device(kSeedPtr, kOffsetPtr));
  }
};

TEST(CppFamilies, speculative_plan_creation_is_the_c_can_implement) {
  bfi::Result<bfi::SpeculativeSamplingPlan> ok =
      bfi::SpeculativeSamplingPlan::create(speculative_desc());
  EXPECT_TRUE(ok.ok() && ok->workspace_size() == 0 && ok->offset_step() == 8)
      << ok.status().to_string();
  const int32_t big = std::numeric_limits<int32_t>::max();
  const bfi::SpeculativeSamplingDesc bad[] = {{0, S, V, true},
                                              {B, 0, V, true},
                                              {B, S, 0, true},
                                              {4, big, big, true},
                                              {1 << 20, big, 8192, true}};
  for (const bfi::SpeculativeSamplingDesc& d : bad) {
    const int32_t c = baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement(
        d.batch_size, d.num_speculative_tokens, d.vocab_size);
    EXPECT_SAME_AS_C(bfi::SpeculativeSamplingPlan::create(d), c);
  }
  bfi::SpeculativeSamplingDesc two = speculative_desc();
  two.num_speculative_tokens = 2;
  EXPECT_EQ(bfi::check(bfi::SpeculativeSamplingPlan::create(two)).offset_step(), 4);
}

TEST(CppFamilies, speculative_runs_reach_the_c_run_and_ex_once_in_abi_order) {
  const bfi::SpeculativeSamplingPlan p =
      bfi::check(bfi::SpeculativeSamplingPlan::create(speculative_desc()));
  const SpeculativeArgs a;
  const auto s = fake_stream();
  reset();
  EXPECT_ONE_CALL(p.run(s, a.draft_probs, a.draft_ids, a.target_probs, a.out_ids, a.accepted,
                        a.emitted, SEED, OFFSET),
                  "speculative",
                  args(B, S, V, 0, SEED, OFFSET, a.draft_probs.data, a.draft_ids.data,
                       a.target_probs.data, a.out_ids.data, a.accepted.data, a.emitted.data, s));
  reset();
  EXPECT_ONE_CALL(a.run(p), "speculative_ex",
                  args(B, S, V, 0, uint64_t{0}, static_cast<const void*>(kSeedPtr), uint64_t{0},
                       static_cast<const void*>(kOffsetPtr), a.draft_probs.data, a.draft_ids.data,
                       a.target_probs.data, a.out_ids.data, a.accepted.data, a.emitted.data, s));
}

TEST(CppFamilies, speculative_run_checks_every_tensor_before_the_c_run) {
  const bfi::SpeculativeSamplingPlan p =
      bfi::check(bfi::SpeculativeSamplingPlan::create(speculative_desc()));
  const SpeculativeArgs good;
  auto run = [&](const SpeculativeArgs& a) { return a.run(p); };
  using bfi_fake::expect_tensor_checked;
  expect_tensor_checked<3>(
      good, [](SpeculativeArgs & a) -> auto& { return a.draft_probs; }, run, "draft_probs",
      {"batch", "num_speculative_tokens", "vocab"}, 0, 16);
  expect_tensor_checked<2>(
      good, [](SpeculativeArgs & a) -> auto& { return a.draft_ids; }, run, "draft_token_ids",
      {"batch", "num_speculative_tokens"}, 0, 4);
  expect_tensor_checked<3>(
      good, [](SpeculativeArgs & a) -> auto& { return a.target_probs; }, run, "target_probs",
      {"batch", "num_speculative_tokens + 1", "vocab"}, 0, 16);
  expect_tensor_checked<2>(
      good, [](SpeculativeArgs & a) -> auto& { return a.out_ids; }, run, "output_token_ids",
      {"batch", "num_speculative_tokens + 1"}, 0, 4);
  expect_tensor_checked<1>(
      good, [](SpeculativeArgs & a) -> auto& { return a.accepted; }, run,
      "output_accepted_token_num", {"batch"}, 0, 4);
  expect_tensor_checked<1>(
      good, [](SpeculativeArgs & a) -> auto& { return a.emitted; }, run,
      "output_emitted_draft_token_num", {"batch"}, 0, 4);
}

/* ------------------------------------------------------------------------------------------- */
/* FilterPlan                                                                                   */
/* ------------------------------------------------------------------------------------------- */

struct FilterCase {
  bfi::FilterKind kind;
  bfi::Dtype dtype;
  const char* tag;
};
const FilterCase kFilterCases[] = {
    {bfi::FilterKind::top_k_renorm_probs, bfi::Dtype::f32, "top_k_renorm"},
    {bfi::FilterKind::top_p_renorm_probs, bfi::Dtype::f32, "top_p_renorm"},
    {bfi::FilterKind::top_k_mask_logits, bfi::Dtype::f32, "mask_f32"},
    {bfi::FilterKind::top_k_mask_logits, bfi::Dtype::f16, "mask_f16"},
    {bfi::FilterKind::top_k_mask_logits, bfi::Dtype::bf16, "mask_bf16"},
};

bfi::FilterDesc filter_desc(const FilterCase& c) {
  return bfi::FilterDesc{B, V, c.kind, c.dtype, /*top_k=*/40, /*top_p=*/0.8f};
}
bool by_k(bfi::FilterKind kind) {
  return kind != bfi::FilterKind::top_p_renorm_probs;
}

struct FilterArgs {
  bfi::TensorView<2> input, output;
  std::optional<bfi::TensorView<1>> per_row;
  FilterArgs(bfi::Dtype t, bfi::Dtype row_t) {
    input = bfi::contiguous<2>(addr(0x100000), t, {B, V});
    output = bfi::contiguous<2>(addr(0x200000), t, {B, V});
    per_row = bfi::contiguous<1>(addr(0x300000), row_t, {B});
  }
  bfi::Status run(const bfi::FilterPlan& p) const {
    return p.run(fake_stream(), input, output, per_row);
  }
};

TEST(CppFamilies, filter_plan_creation_forwards_to_the_c_can_implement) {
  for (const FilterCase& c : kFilterCases) {
    for (int32_t code : {0, 2, 3, 5}) {
      g_filter_can = code;
      reset();
      bfi::Result<bfi::FilterPlan> r = bfi::FilterPlan::create(filter_desc(c));
      EXPECT_TRUE(r.ok() == (code == 0) && (code == 0 || r.status().code() == code))
          << bfi_fake::format("%s: C answered %d, plan %s", c.tag, code,
                              r.status().to_string().c_str());
      EXPECT_TRUE(bfi_fake::calls().count == 1 &&
                  bfi_fake::calls().which == std::string("can_") + c.tag)
          << bfi_fake::format("%s: reached %s", c.tag, bfi_fake::calls().which.c_str());
      const std::vector<std::string> want =
          by_k(c.kind) ? bfi_fake::args(B, V, 40) : bfi_fake::args(B, V, 0.8f);
      EXPECT_TRUE(bfi_fake::calls().args == want) << bfi_fake::format(
          "%s: arguments (%s)", c.tag, bfi_fake::join(bfi_fake::calls().args).c_str());
    }
  }
  g_filter_can = 0;
  // Dtypes the C ABI has no symbol for, and an unknown kind: refused before any C call.
  const struct {
    bfi::FilterKind kind;
    bfi::Dtype dtype;
    int32_t code;
    const char* part;
  } bad[] = {
      {bfi::FilterKind::top_k_renorm_probs, bfi::Dtype::f16, st::kUnsupported, "renorm takes f32"},
      {bfi::FilterKind::top_p_renorm_probs, bfi::Dtype::bf16, st::kUnsupported, "renorm takes f32"},
      {bfi::FilterKind::top_k_mask_logits, bfi::Dtype::i32, st::kUnsupported,
       "masking takes f32, f16 or bf16"},
      {static_cast<bfi::FilterKind>(9), bfi::Dtype::f32, st::kInvalidProblem, "unknown FilterKind"},
  };
  for (const auto& b : bad) {
    bfi::FilterDesc d = filter_desc(kFilterCases[0]);
    d.kind = b.kind;
    d.dtype = b.dtype;
    reset();
    bfi::Result<bfi::FilterPlan> r = bfi::FilterPlan::create(d);
    EXPECT_TRUE(!r.ok() && r.status().code() == b.code &&
                bfi_fake::contains(r.status().message(), b.part) && bfi_fake::calls().count == 0)
        << bfi_fake::format("%s", r.status().to_string().c_str());
  }
}

TEST(CppFamilies, filter_plan_run_checks_every_tensor_then_calls_the_c_run_once) {
  g_filter_can = 0;
  for (const FilterCase& c : kFilterCases) {
    const bfi::FilterPlan p = bfi::check(bfi::FilterPlan::create(filter_desc(c)));
    const bfi::Dtype row_t = by_k(c.kind) ? bfi::Dtype::i32 : bfi::Dtype::f32;
    FilterArgs a(c.dtype, row_t);
    const auto s = fake_stream();
    reset();
    bfi::Status r = a.run(p);
    if (by_k(c.kind)) {
      EXPECT_ONE_CALL(r, c.tag, args(B, V, 40, a.per_row->data, a.input.data, a.output.data, s));
    } else {
      EXPECT_ONE_CALL(r, c.tag, args(B, V, 0.8f, a.per_row->data, a.input.data, a.output.data, s));
    }
    a.per_row = std::nullopt;  // optional: the scalar then applies
    reset();
    r = a.run(p);
    if (by_k(c.kind)) {
      EXPECT_ONE_CALL(r, c.tag, args(B, V, 40, nullptr, a.input.data, a.output.data, s));
    } else {
      EXPECT_ONE_CALL(r, c.tag, args(B, V, 0.8f, nullptr, a.input.data, a.output.data, s));
    }
    const FilterArgs good(c.dtype, row_t);
    auto run = [&](const FilterArgs& x) { return x.run(p); };
    const std::size_t esize = c.dtype == bfi::Dtype::f32 ? 4 : 2;
    using bfi_fake::expect_tensor_checked;
    expect_tensor_checked<2>(
        good, [](FilterArgs & x) -> auto& { return x.input; }, run, "input", {"batch", "vocab"}, 0,
        esize);
    expect_tensor_checked<2>(
        good, [](FilterArgs & x) -> auto& { return x.output; }, run, "output", {"batch", "vocab"},
        0, esize);
    expect_tensor_checked<1>(
        good, [](FilterArgs & x) -> auto& { return *x.per_row; }, run, "per_row", {"batch"}, 0, 4);
  }
}

#if BARACUDA_FLASHINFER_HAS_EXCEPTIONS
TEST(CppFamilies, check_throws_the_family_error) {
  const bfi::MergePlan p = bfi::check(bfi::MergePlan::create(merge_desc(bfi::Dtype::bf16, 0)));
  InPlaceArgs a(bfi::Dtype::bf16);
  a.s.dtype = bfi::Dtype::bf16;
  bool thrown = false;
  reset();
  try {
    bfi::check(a.run(p));
  } catch (const bfi::Error& e) {
    thrown =
        e.code() == st::kInvalidProblem &&
        bfi_fake::contains(e.what(), "invalid problem: MergePlan::run_in_place: s: dtype is bf16");
  }
  EXPECT_TRUE(thrown && bfi_fake::calls().count == 0);
  bfi::SamplingDesc d = sampling_desc(bfi::SamplingKind::top_k);
  d.top_k = 0;
  thrown = false;
  try {
    bfi::SamplingPlan bad = bfi::check(bfi::SamplingPlan::create(d));
    (void)bad;
  } catch (const bfi::Error& e) {
    thrown = e.code() != st::kSuccess;
  }
  EXPECT_TRUE(thrown);
}
#else
TEST(CppFamilies, built_without_exceptions) {
  EXPECT_TRUE(!BARACUDA_FLASHINFER_HAS_EXCEPTIONS);
}
#endif

}  // namespace
