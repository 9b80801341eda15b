// Attention-state merges: merge_states bandwidth at (4096 rows, 2/8/32 states, 32 heads,
// head dim 128, bf16), the variable-length merge on the same data, and merge_state_in_place.
// Bandwidth counts bytes read + written (states read, merged state written), as copy_gbps does.
#include <baracuda/flashinfer.h>

#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kRows = 4096, kHeads = 32, kHeadDim = 128;

void* device_filled(size_t bytes) {  // nonzero, finite bf16 / f32 pattern (lse ~ 0.01)
  void* p = nullptr;
  BENCH_CUDA(cudaMalloc(&p, bytes));
  BENCH_CUDA(cudaMemset(p, 0x3C, bytes));
  return p;
}

void add_row(Context& ctx, const char* name, double us, double bytes) {
  const double frac = bytes / (us * 1e-6) / 1e9 / ctx.copy_gbps;
  const std::string note = bytes >= 256e6
                               ? std::string("target frac>=0.8: ") + (frac >= 0.8 ? "PASS" : "FAIL")
                               : std::string("< 256 MB: no target");
  ctx.add({"merge", name, {{"us", us}, {"gbps", bytes / (us * 1e-6) / 1e9}, {"frac", frac}}, note});
}

}  // namespace

BENCH_SECTION(merge) {
  const auto stream = [&] { return reinterpret_cast<baracuda_flashinfer_stream_t>(ctx.stream); };
  const size_t out_v = size_t(kRows) * kHeads * kHeadDim * 2, out_s = size_t(kRows) * kHeads * 4;
  void* vm = device_filled(out_v);
  void* sm = device_filled(out_s);
  for (const int32_t n : {2, 8, 32}) {
    void* v = device_filled(out_v * n);
    void* s = device_filled(out_s * n);
    const double bytes = double(out_v + out_s) * (n + 1);
    const auto run = [&] {
      check_status(baracuda_kernels_flashinfer_merge_states_bf16_run(n, kRows, kHeads, kHeadDim, v,
                                                                     s, vm, sm, stream()),
                   "merge_states_bf16_run");
    };
    char name[96];
    std::snprintf(name, sizeof(name), "merge_states bf16 L=%d N=%d H=%d hd128 %.0f MB", kRows, n,
                  kHeads, bytes / 1e6);
    add_row(ctx, name, time_us(ctx, run, 30, 3), bytes);

    std::vector<int32_t> indptr_h(kRows + 1);
    for (int32_t i = 0; i <= kRows; ++i) indptr_h[i] = i * n;
    void* indptr = nullptr;
    BENCH_CUDA(cudaMalloc(&indptr, indptr_h.size() * 4));
    BENCH_CUDA(cudaMemcpy(indptr, indptr_h.data(), indptr_h.size() * 4, cudaMemcpyHostToDevice));
    const auto run_varlen = [&] {
      check_status(baracuda_kernels_flashinfer_merge_states_varlen_bf16_run(
                       kRows, kHeads, kHeadDim, v, s, indptr, vm, sm, stream()),
                   "merge_states_varlen_bf16_run");
    };
    std::snprintf(name, sizeof(name), "merge_states_varlen bf16 L=%d N=%d H=%d hd128 %.0f MB",
                  kRows, n, kHeads, bytes / 1e6);
    add_row(ctx, name, time_us(ctx, run_varlen, 30, 3), bytes);
    for (void* p : {v, s, indptr}) BENCH_CUDA(cudaFree(p));
  }
  // In place: 2 states in, 1 out, over 8x the rows so that >= 256 MB move.
  const int32_t rows = 8 * kRows;
  void* v = device_filled(out_v * 8);
  void* s = device_filled(out_s * 8);
  void* vo = device_filled(out_v * 8);
  void* so = device_filled(out_s * 8);
  const auto run = [&] {
    check_status(baracuda_kernels_flashinfer_merge_state_in_place_bf16_run(rows, kHeads, kHeadDim,
                                                                           v, s, vo, so, stream()),
                 "merge_state_in_place_bf16_run");
  };
  char name[96];
  const double bytes = 3.0 * (out_v + out_s) * 8;
  std::snprintf(name, sizeof(name), "merge_state_in_place bf16 L=%d H=%d hd128 %.0f MB", rows,
                kHeads, bytes / 1e6);
  add_row(ctx, name, time_us(ctx, run, 30, 3), bytes);
  for (void* p : {v, s, vo, so, vm, sm}) BENCH_CUDA(cudaFree(p));
}
