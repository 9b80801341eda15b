// Experiment (-DBFI_BUILD_EXPERIMENTS=ON, sm_90a only): can the cascade's suffix decode run BESIDE
// the shared prefix's FA3 grid rather than after it? The cascade benchmark's shape (B=64, 32/8
// heads, bf16, prefix 32768, suffixes 256, shuffled 16-token pages; hd128, or 64 / 256 in the
// cascade_overlap_hd64 / _hd256 programs). Times:
//   FA3 alone on the library's schedule (all SMs) and on fewer CTAs (7 chunks: 112 items);
//   the suffix kernel (decode/cascade_suffix.cuh) alone, on all SMs and on K CTAs;
//   the suffix kernel on K CTAs, then FA3 launched as its programmatic dependent.
// Checks the suffix states against a float64 reference for a few (request, KV head) pairs.
// Variants: FA3_VARIANT=1..5 (FA3 pipeline shapes, hd128 only);
// `cascade_overlap K` and `cascade_overlap fa3 N` run one kernel three times, for ncu;
// `cascade_overlap chain` times the library's whole fused call and parts of it (the suffix grid
// on other CTA counts, without the prepare kernel, without the merge, an empty kernel in the
// merge's place; the dense-prefix call, its FA3 tiles alone and beside the suffix grid on the
// plan's CTAs and on those of one round more); `chain-graph` replays the whole call three times,
// for ncu --graph-profiling graph; `cascade_overlap occupy` times FA3 beside 16 CTAs that only
// spin or only stream memory (what slows FA3 beside the suffix grid); `cascade_overlap split`: the
// dense-prefix call with the SMs split other ways between the two grids.
// Results: docs/PERFORMANCE.md (cascade, fifth to tenth sessions).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "decode/cascade_suffix.cuh"
#include "decode/prefix_sm90.cuh"
#include "experiment_fa3.hpp"

namespace fi = ::flashinfer;
namespace bfi = baracuda::flashinfer::decode;
namespace cas = baracuda::flashinfer::decode::cascade;
using T = __nv_bfloat16;

using namespace experiment;
constexpr int G = Hq / Hkv, S = 256;  // GQA group, suffix tokens
constexpr int kPrefixPages = L / P, kSuffixPages = S / P;

// `cascade_overlap occupy`: what slows FA3 beside the suffix grid? 16 CTAs that trigger FA3's
// launch and then either spin (no memory traffic) or stream `n` 16-byte vectors.
__global__ void occupy_kernel(const uint4* __restrict__ data, size_t n, unsigned long long spin_ns,
                              unsigned* sink) {
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  if (data == nullptr) {
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < spin_ns);
    return;
  }
  unsigned acc = 0;
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 7 * stride < n; i += 8 * stride) {
    uint4 v[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) v[u] = __ldcs(data + i + u * stride);
#pragma unroll
    for (int u = 0; u < 8; ++u) acc ^= v[u].x ^ v[u].w;
  }
  for (; i < n; i += stride) acc ^= __ldcs(data + i).y;
  if (acc == 0x12345678u) *sink = acc;
}

// The merge's grid doing nothing but wait for the FA3 grid: the floor under the merge's time.
__global__ void wait_only_kernel() {
  asm volatile("griddepcontrol.wait;" ::: "memory");
}

int main(int argc, char** argv) {
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  std::mt19937 gen(7);
  const int pages = kPrefixPages + B * kSuffixPages;
  const size_t kv = size_t(pages) * Hkv * P * D;
  const std::vector<T> hk = random_bf16(kv, gen), hv = random_bf16(kv, gen),
                       hq = random_bf16(size_t(B) * Hq * D, gen);
  const std::vector<int32_t> perm = page_ids(pages, &gen);
  std::vector<int32_t> indptr(B + 1), last(B, P);
  for (int b = 0; b <= B; ++b) indptr[b] = kPrefixPages + b * kSuffixPages;
  void* k = upload(hk.data(), kv * 2);
  void* v = upload(hv.data(), kv * 2);
  void* q = upload(hq.data(), hq.size() * 2);
  auto* indices = static_cast<int32_t*>(upload(perm.data(), perm.size() * 4));
  auto* d_indptr = static_cast<int32_t*>(upload(indptr.data(), indptr.size() * 4));
  auto* d_last = static_cast<int32_t*>(upload(last.data(), last.size() * 4));
  float *o_s, *lse_s;
  int32_t* done;
  CK(cudaMalloc(&o_s, size_t(B) * Hq * D * 4));
  CK(cudaMalloc(&lse_s, size_t(B) * Hq * 4));
  CK(cudaMalloc(&done, 4));

  bfi::DecodeProblem problem = make_problem(k, v, indices);
  // A dense copy of the prefix (token t of KV head h at t * st + h * sh) as `dense`'s prefix.
  auto set_dense_prefix = [&](bfi::DecodeProblem& dense, int64_t st, int64_t sh) {
    std::vector<T> dk(size_t(L) * Hkv * D), dv(dk.size());
    for (int t = 0; t < L; ++t)
      for (int h = 0; h < Hkv; ++h)
        for (int d = 0; d < D; ++d) {
          const size_t src = ((size_t(perm[t / P]) * Hkv + h) * P + t % P) * D + d;
          dk[t * st + h * sh + d] = hk[src];
          dv[t * st + h * sh + d] = hv[src];
        }
    dense.prefix_k = upload(dk.data(), dk.size() * 2);
    dense.prefix_v = upload(dv.data(), dv.size() * 2);
    dense.prefix_tokens = L;
    dense.prefix_stride_token = st;
    dense.prefix_stride_head = sh;
  };

  // The library's shared-prefix plan on `ctas` SMs.
  auto make_plan = [&](int ctas) {
    bfi::PrefixSm90Plan plan = bfi::make_prefix_sm90_plan(B, G, Hkv, D, 2, ctas);
    void* ws;
    CK(cudaMalloc(&ws, plan.workspace));
    CK(cudaMemset(ws, 0, plan.workspace));
    upload_table(plan, ws, problem, /*pages=*/true);
    return std::make_pair(plan, ws);
  };
  auto [plan_all, ws_all] = make_plan(sms);
  constexpr int kCtaKv = bfi::prefix_sm90::kCtaKv<D>;
  // FA3_VARIANT=1: 2 pipeline stages (FlashInfer's); 2: 128-token stages; 3: 64 tokens x 4 stages;
  // 4: 96 tokens x 4 stages; 5: 112 tokens x 3 stages (the library's: 96 tokens, 3 stages).
  const char* fa3_env = std::getenv("FA3_VARIANT");
  const int fa3_variant = fa3_env ? std::atoi(fa3_env) : 0;
  auto fa3 = [&](const bfi::PrefixSm90Plan& plan, void* ws, bool programmatic) {
    namespace ps = bfi::prefix_sm90;
    if constexpr (D == 128) {  // the variants were measured at head dim 128 only
      if (fa3_variant == 1) {
        experiment::opt_in(ps::Fa3<T, D, kCtaKv, 2>::info());
        CK((ps::launch_fa3<T, D, kCtaKv, 2>(problem, plan, ws, 0, programmatic)));
        return;
      } else if (fa3_variant == 2) {
        experiment::opt_in(ps::Fa3<T, D, 128>::info());
        CK((ps::launch_fa3<T, D, 128>(problem, plan, ws, 0, programmatic)));
        return;
      } else if (fa3_variant == 3) {
        experiment::opt_in(ps::Fa3<T, D, 64, 4>::info());
        CK((ps::launch_fa3<T, D, 64, 4>(problem, plan, ws, 0, programmatic)));
        return;
      } else if (fa3_variant == 4) {
        experiment::opt_in(ps::Fa3<T, D, 96, 4>::info());
        CK((ps::launch_fa3<T, D, 96, 4>(problem, plan, ws, 0, programmatic)));
        return;
      } else if (fa3_variant == 5) {
        experiment::opt_in(ps::Fa3<T, D, 112, 3>::info());
        CK((ps::launch_fa3<T, D, 112, 3>(problem, plan, ws, 0, programmatic)));
        return;
      }
    }
    experiment::opt_in(ps::Fa3<T, D, kCtaKv>::info());
    CK((ps::launch_fa3<T, D, kCtaKv>(problem, plan, ws, 0, programmatic)));
  };

  cas::SuffixArgs args{q,
                       k,
                       v,
                       indices,
                       d_indptr,
                       d_last,
                       o_s,
                       lse_s,
                       done,
                       B,
                       Hkv,
                       G,
                       P,
                       baracuda::flashinfer::decode::cascade_suffix_row_blocks(G),
                       problem.sm_scale * 1.4426950408889634f};
  const auto kernel = cas::suffix_kernel<T, D>;
  constexpr size_t kSmem = cas::SuffixConfig<D>::smem_bytes<T>();
  experiment::opt_in(cas::suffix_kernel_info<T, D>());
  auto suffix = [&](int ctas) {
    kernel<<<ctas, cas::SuffixConfig<D>::kWarps * 32, kSmem>>>(args);
    CK(cudaGetLastError());
  };

  // The library's whole fused call (prepare, suffix grid, FA3, merge) and parts of it, each
  // captured in a graph and replayed back to back: where the time outside FA3-beside-suffix goes.
  // `cascade_overlap chain`: the table; `cascade_overlap chain-graph`: three replays (for ncu's
  // --graph-profiling graph).
  if (argc > 1 && std::string(argv[1]).rfind("chain", 0) == 0) {
    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    const std::vector<int32_t> prefix_indptr{0, kPrefixPages};
    bfi::DecodeProblem full = problem;
    full.indptr = static_cast<int32_t*>(upload(prefix_indptr.data(), 8));
    full.last_page_len = d_last;
    full.suffix_indptr = d_indptr;
    full.suffix_last_page_len = d_last;
    full.q = q;
    CK(cudaMalloc(&full.o, size_t(B) * Hq * D * 2));
    CK(cudaMalloc(&full.lse, size_t(B) * Hq * 4));
    bfi::PrefixSm90Plan plan = bfi::make_prefix_sm90_plan(B, G, Hkv, D, 2, sms, true);
    void* ws;
    CK(cudaMalloc(&ws, plan.workspace));
    CK(cudaMemset(ws, 0, plan.workspace));
    namespace ps = bfi::prefix_sm90;
    experiment::opt_in(ps::Fa3<T, D, ps::kCtaKv<D>>::info());
    auto replay_us = [&](auto&& enqueue) {
      const cudaGraphExec_t exec = capture(stream, enqueue);
      if (std::string(argv[1]) == "chain-graph") {
        for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(exec, stream));
        CK(cudaStreamSynchronize(stream));
        std::exit(0);
      }
      return experiment::replay_us(exec, stream);
    };
    auto run = [&](const bfi::PrefixSm90Plan& p) {
      CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(full, p, ws, stream)));
    };
    std::printf("fused call (library plan: FA3 %d CTAs, suffix %d CTAs): %.1f us\n", plan.ctas,
                plan.suffix_ctas, replay_us([&] { run(plan); }));
    for (int repeat = 0; repeat < 2; ++repeat) {
      for (int k : {10, 11, 12, 13, 14, 15, 16, 18, 20}) {
        bfi::PrefixSm90Plan p = plan;
        p.suffix_ctas = k;
        std::printf("  suffix on %d CTAs: %.1f us\n", k, replay_us([&] { run(p); }));
      }
    }
    // The same kernels without the prepare kernel (its table and packed q left from the runs
    // above; the done counter zeroed by a memset node instead) and without the merge.
    const cas::SuffixArgs fargs = ps::suffix_args(full, plan, ws);
    int32_t* d_done = fargs.done;
    auto suffix_fa3 = [&] {
      CK(cudaMemsetAsync(d_done, 0, 4, stream));
      CK((cas::launch_suffix<T, D>(fargs, plan.suffix_ctas, stream)));
      CK((ps::launch_fa3<T, D, ps::kCtaKv<D>>(full, plan, ws, stream, true)));
    };
    std::printf("  memset + suffix + FA3 (no prepare, no merge): %.1f us\n", replay_us(suffix_fa3));
    auto merge = [&] {
      CK((ps::launch_merge<T, D>(full, plan, ws, stream, ps::suffix_states(plan, ws))));
    };
    std::printf("  memset + suffix + FA3 + merge (no prepare): %.1f us\n", replay_us([&] {
                  suffix_fa3();
                  merge();
                }));
    std::printf("  merge alone (states from the runs above): %.1f us\n", replay_us(merge));
    // The merge's grid doing nothing but wait for FA3: what the merge's own work costs.
    auto wait_only = [&] {
      CK(baracuda::flashinfer::launch_kernel(wait_only_kernel, dim3((B * Hq * 32 + 255) / 256),
                                             dim3(256), 0, stream,
                                             baracuda::flashinfer::LaunchOptions{true}));
    };
    std::printf("  memset + suffix + FA3 + an empty dependent in the merge's place: %.1f us\n",
                replay_us([&] {
                  suffix_fa3();
                  wait_only();
                }));
    // The same call over a dense copy of the prefix (cascade_decode_dense_prefix_run), HND
    // ([Hkv][L][D]) and NHD ([L][Hkv][D]); its o against the paged call's.
    experiment::opt_in(ps::Fa3<T, D, ps::kDenseCtaKv<D>, ps::kDenseStages<D>, true>::info());
    const size_t o_elems = size_t(B) * Hq * D;
    std::vector<T> o_paged(o_elems), o_dense(o_elems);
    run(plan);
    plan = bfi::make_prefix_sm90_plan(B, G, Hkv, D, 2, sms, true,
                                      /*dense_prefix=*/true);  // from here on
    CK(cudaStreamSynchronize(stream));
    CK(cudaMemcpy(o_paged.data(), full.o, o_elems * 2, cudaMemcpyDeviceToHost));
    for (bool nhd : {false, true}) {
      bfi::DecodeProblem dense = full;
      set_dense_prefix(dense, nhd ? Hkv * D : D, nhd ? D : int64_t(L) * D);
      CK(cudaMemset(full.o, 0xff, o_elems * 2));
      CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(dense, plan, ws, stream)));
      CK(cudaStreamSynchronize(stream));
      CK(cudaMemcpy(o_dense.data(), full.o, o_elems * 2, cudaMemcpyDeviceToHost));
      double diff = 0;
      for (size_t i = 0; i < o_elems; ++i)
        diff = std::max(
            diff, double(std::fabs(__bfloat162float(o_paged[i]) - __bfloat162float(o_dense[i]))));
      std::printf("dense prefix %s: fused call %.1f us; max |o_dense - o_paged| %.2e\n",
                  nhd ? "NHD" : "HND", replay_us([&] {
                    CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(dense, plan, ws, stream)));
                  }),
                  diff);
      std::printf("  memset + suffix + dense FA3: %.1f us\n", replay_us([&] {
                    CK(cudaMemsetAsync(d_done, 0, 4, stream));
                    CK((cas::launch_suffix<T, D>(fargs, plan.suffix_ctas, stream)));
                    CK((ps::launch_fa3<T, D, ps::kDenseCtaKv<D>, ps::kDenseStages<D>, true>(
                        dense, plan, ws, stream, true)));
                  }));
      std::printf("  dense FA3 alone (%d CTAs): %.1f us\n", plan.ctas, replay_us([&] {
                    CK((ps::launch_fa3<T, D, ps::kDenseCtaKv<D>, ps::kDenseStages<D>, true>(
                        dense, plan, ws, stream, false)));
                  }));
      if (!nhd) continue;
      for (int repeat = 0; repeat < 2; ++repeat) {
        for (int k : {10, 11, 12, 13, 14, 15, 16, 18, 20}) {
          bfi::PrefixSm90Plan p = plan;
          p.suffix_ctas = k;
          std::printf("  suffix on %d CTAs: %.1f us\n", k, replay_us([&] {
                        CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(dense, p, ws, stream)));
                      }));
        }
      }
      // Which grid ends last: each beside the other doing (almost) nothing.
      std::vector<int32_t> empty_indptr(B + 1, kPrefixPages);
      cas::SuffixArgs idle = fargs;
      idle.indptr = static_cast<int32_t*>(upload(empty_indptr.data(), empty_indptr.size() * 4));
      auto pair = [&](const cas::SuffixArgs& sa, auto fa3_launch) {
        return replay_us([&] {
          CK(cudaMemsetAsync(d_done, 0, 4, stream));
          CK((cas::launch_suffix<T, D>(sa, plan.suffix_ctas, stream)));
          CK(fa3_launch());
        });
      };
      auto dense_fa3 = [&](auto cta_kv, auto stages) {
        return [&, cta_kv, stages] {
          constexpr int kKv = decltype(cta_kv)::value, kSt = decltype(stages)::value;
          return ps::launch_fa3<T, D, kKv, kSt, true>(dense, plan, ws, stream, true);
        };
      };
      std::printf("  dense FA3 beside an idle suffix grid: %.1f us\n",
                  pair(idle, dense_fa3(std::integral_constant<int, ps::kDenseCtaKv<D>>{},
                                       std::integral_constant<int, ps::kDenseStages<D>>{})));
      bfi::DecodeProblem tiny = dense;
      tiny.prefix_tokens = 128;
      std::printf("  fused call, 128-token dense prefix (the suffix grid's own time): %.1f us\n",
                  replay_us([&] {
                    CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(tiny, plan, ws, stream)));
                  }));
      CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(dense, plan, ws, stream)));  // the table back
      // Dense FA3 tiles (CTA_KV tokens x stages): alone, and beside the suffix grid (memset +
      // suffix grid + FA3) on the plan's CTAs and on the CTAs of one round of items more.
      int device_smem = 0;
      CK(cudaDeviceGetAttribute(&device_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
      const int32_t warps = bfi::cascade_suffix_warps(D),
                    items = B * Hkv * bfi::cascade_suffix_row_blocks(G);
      const int32_t rounds =
          (items + plan.suffix_ctas * warps - 1) / (plan.suffix_ctas * warps) + 1;
      const int32_t fewer = (items + rounds * warps - 1) / (rounds * warps);
      auto tile = [&](auto cta_kv, auto stages) {
        constexpr int kKv = decltype(cta_kv)::value, kSt = decltype(stages)::value;
        using Kernel = ps::Fa3<T, D, kKv, kSt, true>;
        if (int(Kernel::info().smem_bytes) > device_smem) {
          std::printf("  dense FA3 %dx%d: needs %u bytes of shared memory\n", kKv, kSt,
                      Kernel::info().smem_bytes);
          return;
        }
        experiment::opt_in(Kernel::info());
        const double alone = replay_us(
            [&] { CK((ps::launch_fa3<T, D, kKv, kSt, true>(dense, plan, ws, stream, false))); });
        const double beside = pair(fargs, dense_fa3(cta_kv, stages));
        const int32_t ctas = plan.suffix_ctas;
        plan.suffix_ctas = fewer;
        const double beside_fewer = pair(fargs, dense_fa3(cta_kv, stages));
        plan.suffix_ctas = ctas;
        std::printf(
            "  dense FA3 %dx%d: alone %.1f, beside the suffix grid on %d CTAs %.1f, on %d %.1f "
            "us\n",
            kKv, kSt, alone, ctas, beside, fewer, beside_fewer);
      };
      using std::integral_constant;
      if constexpr (D == 256) {
        tile(integral_constant<int, 64>{}, integral_constant<int, 2>{});
        tile(integral_constant<int, 64>{}, integral_constant<int, 3>{});
        tile(integral_constant<int, 32>{}, integral_constant<int, 4>{});
        tile(integral_constant<int, 96>{}, integral_constant<int, 2>{});
      } else {
        tile(integral_constant<int, 128>{}, integral_constant<int, 2>{});
        tile(integral_constant<int, 128>{}, integral_constant<int, 3>{});
        tile(integral_constant<int, 96>{}, integral_constant<int, 3>{});
        tile(integral_constant<int, 192>{}, integral_constant<int, 2>{});
        tile(integral_constant<int, 64>{}, integral_constant<int, 4>{});
      }
    }
    return 0;
  }
  // `cascade_overlap split`: the fused call over a dense prefix (NHD) with the SMs split other
  // ways between the FA3 grid (5, 6 or 7 chunks: 80, 96, 112 CTAs) and the suffix grid.
  if (argc > 1 && std::string(argv[1]) == "split") {
    namespace ps = bfi::prefix_sm90;
    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    bfi::DecodeProblem dense = problem;
    dense.suffix_indptr = d_indptr;
    dense.suffix_last_page_len = d_last;
    dense.q = q;
    CK(cudaMalloc(&dense.o, size_t(B) * Hq * D * 2));
    CK(cudaMalloc(&dense.lse, size_t(B) * Hq * 4));
    set_dense_prefix(dense, Hkv * D, D);
    experiment::opt_in(ps::Fa3<T, D, ps::kDenseCtaKv<D>, ps::kDenseStages<D>, true>::info());
    auto replay_us = [&](auto&& enqueue) {
      return experiment::replay_us(capture(stream, enqueue), stream);
    };
    for (int sm_count : {132, 110, 92}) {  // 7, 6, 5 chunks
      bfi::PrefixSm90Plan base = bfi::make_prefix_sm90_plan(B, G, Hkv, D, 2, sm_count, true, true);
      void* ws;
      CK(cudaMalloc(&ws, base.workspace));
      CK(cudaMemset(ws, 0, base.workspace));
      for (int k : {12, 14, 16, 20, 24, 28, 32, 36, 40, 52}) {
        if (base.ctas + k > sms) continue;
        bfi::PrefixSm90Plan plan = base;
        plan.suffix_ctas = k;
        const double fused = replay_us(
            [&] { CK((ps::launch_cascade<T, D, ps::kCtaKv<D>>(dense, plan, ws, stream))); });
        std::printf("FA3 %3d CTAs (%d chunks), suffix %2d CTAs: fused dense call %.1f us\n",
                    plan.ctas, plan.chunks, k, fused);
      }
      CK(cudaFree(ws));
    }
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "occupy") {
    auto [plan, ws] = make_plan(112);
    const size_t stream_bytes = size_t(68) << 20;
    uint4* buf;
    unsigned* sink;
    CK(cudaMalloc(&buf, stream_bytes));
    CK(cudaMemset(buf, 1, stream_bytes));
    CK(cudaMalloc(&sink, 4));
    auto occupy = [&](int ctas, size_t bytes, unsigned long long ns) {
      occupy_kernel<<<ctas, 1024>>>(bytes ? buf : nullptr, bytes / 16, ns, sink);
      CK(cudaGetLastError());
    };
    std::printf("FA3 alone, 112 CTAs: %.1f us\n", time_us([&] { fa3(plan, ws, false); }));
    std::printf("suffix 16 then FA3: %.1f us\n", time_us([&] {
                  suffix(16);
                  fa3(plan, ws, true);
                }));
    std::printf("spin 16 x 64 us alone: %.1f us; then FA3: %.1f us\n",
                time_us([&] { occupy(16, 0, 64000); }), time_us([&] {
                  occupy(16, 0, 64000);
                  fa3(plan, ws, true);
                }));
    for (size_t mb : {34, 68}) {
      std::printf("stream %zu MB on 16 CTAs alone: %.1f us; then FA3: %.1f us\n", mb,
                  time_us([&] { occupy(16, mb << 20, 0); }), time_us([&] {
                    occupy(16, mb << 20, 0);
                    fa3(plan, ws, true);
                  }));
    }
    std::printf("stream 68 MB on 8 CTAs alone: %.1f us; then FA3: %.1f us\n",
                time_us([&] { occupy(8, stream_bytes, 0); }), time_us([&] {
                  occupy(8, stream_bytes, 0);
                  fa3(plan, ws, true);
                }));
    return 0;
  }
  if (argc > 1) {  // `cascade_overlap K`: the suffix kernel on K CTAs; `cascade_overlap fa3 N`:
                   // FA3 alone on N CTAs (for a profiler)
    if (std::string(argv[1]) == "fa3") {
      auto [plan, ws] = make_plan(std::atoi(argv[2]));
      for (int i = 0; i < 3; ++i) fa3(plan, ws, false);
    } else {
      for (int i = 0; i < 3; ++i) suffix(std::atoi(argv[1]));
    }
    CK(cudaDeviceSynchronize());
    return 0;
  }
  // Correctness of the suffix states.
  CK(cudaMemset(o_s, 0xff, size_t(B) * Hq * D * 4));
  suffix(20);
  CK(cudaDeviceSynchronize());
  std::vector<float> ho(size_t(B) * Hq * D), hl(size_t(B) * Hq);
  CK(cudaMemcpy(ho.data(), o_s, ho.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(hl.data(), lse_s, hl.size() * 4, cudaMemcpyDeviceToHost));
  double worst = 0, worst_lse = 0;
  for (int b : {0, 17, 63}) {
    for (int qh = 0; qh < Hq; ++qh) {
      const int h = qh / G;
      std::vector<double> s(S);
      double mx = -1e300;
      for (int t = 0; t < S; ++t) {
        const int page = perm[indptr[b] + t / P];
        const size_t base = ((size_t(page) * Hkv + h) * P + t % P) * D;
        double dot = 0;
        for (int d = 0; d < D; ++d)
          dot += double(__bfloat162float(hq[(size_t(b) * Hq + qh) * D + d])) *
                 __bfloat162float(hk[base + d]);
        s[t] = dot * problem.sm_scale;
        mx = std::max(mx, s[t]);
      }
      double den = 0;
      std::vector<double> o(D, 0.0);
      for (int t = 0; t < S; ++t) {
        const double w = std::exp(s[t] - mx);
        den += w;
        const int page = perm[indptr[b] + t / P];
        const size_t base = ((size_t(page) * Hkv + h) * P + t % P) * D;
        for (int d = 0; d < D; ++d) o[d] += w * __bfloat162float(hv[base + d]);
      }
      for (int d = 0; d < D; ++d)
        worst = std::max(worst, std::fabs(o[d] / den - ho[(size_t(b) * Hq + qh) * D + d]));
      const double lse2 = (mx + std::log(den)) / std::log(2.0);
      worst_lse = std::max(worst_lse, std::fabs(lse2 - hl[size_t(b) * Hq + qh]));
    }
  }
  std::printf("suffix kernel vs float64: max |o| err %.2e, max |lse| err %.2e (%s)\n", worst,
              worst_lse, worst < 2e-3 && worst_lse < 1e-3 ? "ok" : "WRONG");

  const double fa3_all = time_us([&] { fa3(plan_all, ws_all, false); });
  std::printf("FA3 alone, %d CTAs (%d items): %.1f us\n", plan_all.ctas, plan_all.items, fa3_all);
  {
    const int n = 112;  // the cascade's FA3 grid: 7 chunks x 8 KV heads x 2 query tiles
    auto [plan, ws] = make_plan(n);
    std::printf("FA3 alone, %d CTAs (%d items): %.1f us\n", plan.ctas, plan.items,
                time_us([&] { fa3(plan, ws, false); }));
    for (int ks : {sms - n - 7, sms - n - 4}) {
      std::printf("  suffix %3d CTAs alone: %.1f us; then FA3 %d CTAs programmatic: %.1f us\n", ks,
                  time_us([&] { suffix(ks); }), n, time_us([&] {
                    suffix(ks);
                    fa3(plan, ws, true);
                  }));
    }
  }
  std::printf("suffix %d CTAs alone: %.1f us\n", sms, time_us([&] { suffix(sms); }));
  std::printf("suffix %d CTAs then FA3 %d CTAs, plain launch: %.1f us\n", sms, plan_all.ctas,
              time_us([&] {
                suffix(sms);
                fa3(plan_all, ws_all, false);
              }));
  return 0;
}
