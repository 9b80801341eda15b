// The cascade identity end to end through the library, every dtype: for a batch whose requests
// share one prefix page list and have different suffixes (one of them empty),
//   decode(prefix + suffix) == merge(decode(prefix), decode(suffix))
// with the merge done by merge_state_in_place and by merge_states (2 states per row), all of
// them against the float64 reference (tests/attention_check.hpp; the merged result carries the
// partial outputs' rounding and the merge's). Outputs are NaN-poisoned before each run.
#include <baracuda/flashinfer.h>

#include <numeric>

#include "build_config.hpp"
#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

class CascadeIdentity : public GpuTestWithParam<int32_t> {};

TEST_P(CascadeIdentity, decode_over_prefix_and_suffix_equals_merged_partial_decodes) {
  const int32_t e = GetParam(), B = 5, P = 16, D = 128, hkv = 2, hq = 8, prefix_pages = 3;
  if (!decode_head_dim_built(D)) GTEST_SKIP() << "decode head dim " << D << " is not built";
  std::vector<int32_t> suffix_pages(B);
  for (auto& n : suffix_pages) n = uniform_int(1, 3);
  suffix_pages[2] = 0;  // a request with only the shared prefix: its suffix state is empty
  const int32_t num_pages =
      prefix_pages + std::accumulate(suffix_pages.begin(), suffix_pages.end(), 0);
  const Shape s{e, B, hq, hkv, D, P, 0, false};
  PagedProblem p = make_problem_with_lengths(s, std::vector<int32_t>(B, 0), num_pages);
  std::vector<int32_t> pool(num_pages);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng());
  const std::vector<int32_t> prefix(pool.begin(), pool.begin() + prefix_pages);
  PageTable full, pre, suf;
  for (int32_t b = 0, next = prefix_pages; b < B; ++b) {
    const std::vector<int32_t> own(pool.begin() + next, pool.begin() + next + suffix_pages[b]);
    next += suffix_pages[b];
    const int32_t last = uniform_int(1, P);  // tokens on the suffix's last page
    const int32_t suffix_len = own.empty() ? 0 : (suffix_pages[b] - 1) * P + last;
    std::vector<int32_t> all = prefix;
    all.insert(all.end(), own.begin(), own.end());
    full.add(all, prefix_pages * P + suffix_len, P);
    pre.add(prefix, prefix_pages * P, P);  // the shared prefix: full pages
    suf.add(own, suffix_len, P);
  }
  full.upload();
  pre.upload();
  suf.upload();
  poison_stale_slots(p, full);
  const float sm_scale = 1.f / std::sqrt(float(D));
  const AttentionReference ref = reference(p, full, sm_scale);

  Outputs a_full, a_pre, a_suf;
  DeviceBuffer ws;
  for (auto [table, out] : {std::make_pair(&full, &a_full), std::make_pair(&pre, &a_pre),
                            std::make_pair(&suf, &a_suf)}) {
    ASSERT_EQ(run_decode(p, *table, sm_scale, out, WorkspaceMode::kFull, &ws, nullptr), 0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
  }
  EXPECT_TRUE(outputs_match(s, a_full, ref)) << "decode(prefix + suffix)";

  // merge_state_in_place(prefix, suffix), on copies of the partial states.
  const size_t o_bytes = a_pre.o.bytes, lse_bytes = a_pre.lse.bytes;
  Outputs merged;
  merged.o = to_device(to_host<uint8_t>(a_pre.o, o_bytes));
  merged.lse = to_device(to_host<uint8_t>(a_pre.lse, lse_bytes));
  using InPlace = decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run);
  const InPlace in_place[3] = {baracuda_kernels_flashinfer_merge_state_in_place_f16_run,
                               baracuda_kernels_flashinfer_merge_state_in_place_bf16_run,
                               baracuda_kernels_flashinfer_merge_state_in_place_f32_run};
  ASSERT_EQ(
      in_place[e](B, hq, D, merged.o.ptr, merged.lse.ptr, a_suf.o.ptr, a_suf.lse.ptr, nullptr), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, merged, ref)) << "merge_state_in_place(prefix, suffix)";

  // merge_states over [B, 2, hq, D]: state 0 the prefix, state 1 the suffix.
  const std::vector<uint8_t> pre_o = to_host<uint8_t>(a_pre.o, o_bytes),
                             suf_o = to_host<uint8_t>(a_suf.o, o_bytes);
  const std::vector<float> pre_lse = to_host<float>(a_pre.lse, size_t(B) * hq),
                           suf_lse = to_host<float>(a_suf.lse, size_t(B) * hq);
  const size_t row_bytes = size_t(hq) * D * element_bytes(e);
  std::vector<uint8_t> stacked_o;
  std::vector<float> stacked_lse;
  for (int32_t b = 0; b < B; ++b) {
    for (const auto* part : {&pre_o, &suf_o}) {
      stacked_o.insert(stacked_o.end(), part->begin() + b * row_bytes,
                       part->begin() + (b + 1) * row_bytes);
    }
    for (const auto* part : {&pre_lse, &suf_lse}) {
      stacked_lse.insert(stacked_lse.end(), part->begin() + b * hq, part->begin() + (b + 1) * hq);
    }
  }
  using States = decltype(&baracuda_kernels_flashinfer_merge_states_f16_run);
  const States states[3] = {baracuda_kernels_flashinfer_merge_states_f16_run,
                            baracuda_kernels_flashinfer_merge_states_bf16_run,
                            baracuda_kernels_flashinfer_merge_states_f32_run};
  const DeviceBuffer sv = to_device(stacked_o), ss = to_device(stacked_lse);
  Outputs merged_states;
  merged_states.allocate(s);
  merged_states.poison_all();
  ASSERT_EQ(
      states[e](2, B, hq, D, sv.ptr, ss.ptr, merged_states.o.ptr, merged_states.lse.ptr, nullptr),
      0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, merged_states, ref)) << "merge_states(prefix, suffix)";
}

INSTANTIATE_TEST_SUITE_P(Elements, CascadeIdentity, ::testing::Values(0, 1, 2),
                         [](const auto& i) { return std::string(element_name(i.param)); });

}  // namespace
