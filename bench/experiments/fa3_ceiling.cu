// Experiment (not built by default: -DBFI_BUILD_EXPERIMENTS=ON, sm_90a only): how fast FlashInfer's
// FA3 kernel runs the cascade benchmark's shared-prefix work (B=64, 32/8 heads, hd128, bf16, prefix
// 32768) with the library's schedule (8 chunks x 8 KV heads x 2 query tiles), comparing its two
// KV loaders on the same items:
//   paged  - the sparse mainloop (cp.async gather of 16-token pages, CTA_KV 96), what
//            shared_prefix_decode_run uses;
//   dense  - the TMA mainloop over a contiguous copy of the prefix (CTA_KV 128 and 192).
// The paged loader again with the pages in order separates the cost of the gather from that of
// the shuffle. The gap is what a faster paged loader could gain at most (a TMA-per-page loader was built and
// measured slower than the gather: docs/PERFORMANCE.md). Prints µs and TFLOP/s per kernel. The
// schedule, workspace layout and parameters are the library's (decode/prefix_sm90.cuh).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "decode/prefix_sm90.cuh"
#include "experiment_fa3.hpp"

namespace fi = ::flashinfer;
namespace bfi = baracuda::flashinfer::decode;
using T = fi::cutlass_dtype_t<__nv_bfloat16>;

using namespace experiment;

// The library's dense-prefix FA3 launch (cascade_decode_dense_prefix_run's) with CTA_KV tokens x
// STAGES, over k / v as [Hkv][L][D].
template <int CTA_KV, int STAGES>
double run_dense(const bfi::PrefixSm90Plan& plan, void* ws, bfi::DecodeProblem problem, void* k,
                 void* v) {
  problem.prefix_k = k;
  problem.prefix_v = v;
  problem.prefix_tokens = L;
  problem.prefix_stride_token = D;
  problem.prefix_stride_head = int64_t(L) * D;
  opt_in(bfi::prefix_sm90::Fa3<__nv_bfloat16, D, CTA_KV, STAGES, true>::info());
  return time_us([&] {
    CK((bfi::prefix_sm90::launch_fa3<__nv_bfloat16, D, CTA_KV, STAGES, true>(problem, plan, ws,
                                                                             0)));
  });
}

int main() {
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const bfi::PrefixSm90Plan plan = bfi::make_prefix_sm90_plan(B, Hq / Hkv, Hkv, D, 2, sms);
  std::mt19937 gen(1);
  auto random_buffer = [&](size_t n) { return upload(random_bf16(n, gen).data(), n * sizeof(T)); };
  // K/V serve as the paged cache ([L / P pages][Hkv][P][D]) and as the dense copy ([Hkv][L][D]).
  const size_t kv = size_t(L) * Hkv * D;
  void *k = random_buffer(kv), *v = random_buffer(kv), *ws = random_buffer(plan.workspace / 2 + 1);
  const std::vector<int32_t> perm = page_ids(L / P, &gen);
  auto* indices = static_cast<int32_t*>(upload(perm.data(), perm.size() * 4));
  bfi::DecodeProblem problem = make_problem(k, v, indices);
  const double flop = 4.0 * B * Hq * double(L) * D;
  upload_table(plan, ws, problem, /*pages=*/true);
  opt_in(bfi::prefix_sm90::Fa3<__nv_bfloat16, D, bfi::prefix_sm90::kCtaKv<D>>::info());
  const double us_paged = time_us([&] {
    CK((bfi::prefix_sm90::launch_fa3<__nv_bfloat16, D, bfi::prefix_sm90::kCtaKv<D>>(problem, plan,
                                                                                    ws, 0)));
  });
  // The same kernel and table with the pages in order: what the shuffle itself costs.
  const std::vector<int32_t> in_order = page_ids(L / P);
  CK(cudaMemcpy(indices, in_order.data(), in_order.size() * 4, cudaMemcpyHostToDevice));
  const double us_paged_in_order = time_us([&] {
    CK((bfi::prefix_sm90::launch_fa3<__nv_bfloat16, D, bfi::prefix_sm90::kCtaKv<D>>(problem, plan,
                                                                                    ws, 0)));
  });
  upload_table(plan, ws, problem, /*pages=*/false);
  const double us_dense128 = run_dense<128, 2>(plan, ws, problem, k, v);
  const double us_dense192 = run_dense<192, 2>(plan, ws, problem, k, v);
  std::printf("%d chunks, %d items on %d SMs\n", plan.chunks, plan.items, sms);
  std::printf("fa3 paged (cp.async gather, CTA_KV %d): %.1f us  %.0f TFLOP/s\n",
              bfi::prefix_sm90::kCtaKv<D>, us_paged, flop / us_paged / 1e6);
  std::printf("fa3 paged, pages in order:              %.1f us  %.0f TFLOP/s\n", us_paged_in_order,
              flop / us_paged_in_order / 1e6);
  std::printf("fa3 dense (TMA, CTA_KV 128):            %.1f us  %.0f TFLOP/s\n", us_dense128,
              flop / us_dense128 / 1e6);
  std::printf("fa3 dense (TMA, CTA_KV 192):            %.1f us  %.0f TFLOP/s\n", us_dense192,
              flop / us_dense192 / 1e6);
  return 0;
}
