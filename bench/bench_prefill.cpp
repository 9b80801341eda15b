// Prefill: the ceiling its TFLOP/s are read against, in the same run, and the place where the
// prefill attention benchmarks register.
//
// gemm_ceiling: a bf16 matrix product 8192 x 8192 x 8192 through cuBLAS (f32 accumulation,
// random inputs), 2 * 8192^3 FLOP per call.
#include <baracuda/flashinfer.h>
#include <cublas_v2.h>

#include <string>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

#define BENCH_CUBLAS(call)                                                                       \
  do {                                                                                           \
    cublasStatus_t s_ = (call);                                                                  \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                           \
      std::fprintf(stderr, "%s:%d: %s: cuBLAS status %d\n", __FILE__, __LINE__, #call, int(s_)); \
      std::exit(2);                                                                              \
    }                                                                                            \
  } while (0)

constexpr int kGemmSize = 8192;

class GemmCase : public Case {
 public:
  GemmCase()
      : a_(size_t(kGemmSize) * kGemmSize * 2),
        b_(size_t(kGemmSize) * kGemmSize * 2),
        c_(size_t(kGemmSize) * kGemmSize * 2) {
    fill_random(a_.get(), a_.bytes(), 2, 51);
    fill_random(b_.get(), b_.bytes(), 2, 52);
    BENCH_CUBLAS(cublasCreate(&handle_));
    BENCH_CUBLAS(cublasSetStream(handle_, device().stream));
  }
  ~GemmCase() override { cublasDestroy(handle_); }
  std::function<void()> call() const {
    return [this] {
      const float alpha = 1.f, beta = 0.f;
      BENCH_CUBLAS(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize,
                                &alpha, a_.get(), CUDA_R_16BF, kGemmSize, b_.get(), CUDA_R_16BF,
                                kGemmSize, &beta, c_.get(), CUDA_R_16BF, kGemmSize,
                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    };
  }

 private:
  DeviceBuffer a_, b_, c_;
  cublasHandle_t handle_ = nullptr;
};

void add_gemm_ceiling() {
  const std::string name = "bf16 GEMM 8192x8192x8192";
  add_benchmark("prefill", name, "cublas", 20, [name](benchmark::State& state) {
    auto& c = shared_case<GemmCase>("prefill/" + name, [] { return std::make_unique<GemmCase>(); });
    const double us = c.run(state, "cublas", [&] {
      return std::make_unique<GpuTimer>(c.call(), GpuTimer::Mode::eager, 3);
    });
    set_tflops(state, 2.0 * kGemmSize * kGemmSize * double(kGemmSize), us);
  });
}

// PREFILL ATTENTION GOES HERE, once the C ABI has prefill (issue 18; nothing of it exists yet).
// Issue 18 section 4 asks for, in this same run (bf16, 32 query / 8 KV heads, head dim 128, causal;
// head dims 64 and 256 too), with TFLOP/s counted on the causal work, 4 * B * Hq * D * L * L / 2
// FLOP for B requests of L query rows on L keys (set_tflops):
//   ragged (1 x 16384), (8 x 4096), (64 x 512);
//   paged, page 16: 16 requests x 512 new tokens on 4096 cached tokens;
//   mixed: 4 chunks of 1024 tokens on 8192-token contexts + 60 decodes of 4096 tokens, beside the
//   same work as two calls (prefill only, decode only);
//   the existing ABI's prefill symbols (host-planned FA2) on the same shapes;
// and issue 22 section 4 the attention variants at (8 x 4096) beside plain attention.
// Register them as the other sections do: one Case per shape (its buffers), one add_benchmark per
// variant, the baseline variant first so that later ones can report x_vs_<baseline>.
void add_prefill_attention() {}

}  // namespace

BFI_BENCH_SECTION(prefill, 70, "prefill: the bf16 GEMM ceiling (prefill attention to come)") {
  add_gemm_ceiling();
  add_prefill_attention();
}
