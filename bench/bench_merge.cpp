// Attention-state merges, bf16, 32 heads, head dim 128: merge_states and the variable-length
// merge on the same data at (4096 rows, 2/8/32 states), and merge_state_in_place over 32768 rows.
// Bandwidth counts bytes read + written (states read, merged state written), as the copy
// bandwidth does; the target (frac >= 0.8) applies from 256 MB moved.
#include <baracuda/flashinfer.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kRows = 4096, kHeads = 32, kHeadDim = 128;
constexpr size_t kStateBytes = size_t(kHeads) * kHeadDim * 2, kLseBytes = size_t(kHeads) * 4;

baracuda_flashinfer_stream_t stream() {
  return reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream);
}

// `rows` rows of `states` states (values and lse, random), an output per row and, for the
// variable-length merge, the rows' indptr (every row has `states` states).
class MergeCase : public Case {
 public:
  MergeCase(int32_t rows, int32_t states, int32_t outputs)
      : v(size_t(rows) * states * kStateBytes),
        s(size_t(rows) * states * kLseBytes),
        v_out(size_t(rows) * outputs * kStateBytes),
        s_out(size_t(rows) * outputs * kLseBytes) {
    fill_random(v.get(), v.bytes(), 2, 41);
    // lse in [-1, 1]: merges of comparable states, none dominating the others
    fill_random(s.get(), s.bytes(), 4, 42);
    fill_random(v_out.get(), v_out.bytes(), 2, 43);
    fill_random(s_out.get(), s_out.bytes(), 4, 44);
    std::vector<int32_t> h(rows + 1);
    for (int32_t i = 0; i <= rows; ++i) h[i] = i * states;
    indptr = upload(h);
  }
  DeviceBuffer v, s, v_out, s_out, indptr;
};

std::string megabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f MB", bytes / 1e6);
  return buf;
}

void add_merge(const std::string& case_name, const std::string& case_key, double bytes,
               int32_t rows, int32_t states, int32_t outputs,
               std::function<void(const MergeCase&)> merge) {
  add_benchmark("merge", case_name, "eager", 30, [=](benchmark::State& state) {
    auto& c = shared_case<MergeCase>(
        case_key, [=] { return std::make_unique<MergeCase>(rows, states, outputs); });
    const double us = c.run(state, "eager", [&] {
      return std::make_unique<GpuTimer>([&c, merge] { merge(c); }, GpuTimer::Mode::eager, 3);
    });
    set_bandwidth(state, bytes, us);
    if (bytes >= 256e6) state.SetLabel("target frac >= 0.8");
  });
}

}  // namespace

BFI_BENCH_SECTION(merge, 50, "attention-state merges: bandwidth") {
  for (const int32_t n : {2, 8, 32}) {
    const double bytes = double(kStateBytes + kLseBytes) * kRows * (n + 1);
    const std::string shape = "bf16 L=" + std::to_string(kRows) + " N=" + std::to_string(n) +
                              " H=32 hd128 " + megabytes(bytes);
    // Both merges share one case (the same states).
    const std::string key = "merge/N=" + std::to_string(n);
    add_merge("merge_states " + shape, key, bytes, kRows, n, 1, [n](const MergeCase& c) {
      check_status(baracuda_kernels_flashinfer_merge_states_bf16_run(
                       n, kRows, kHeads, kHeadDim, c.v.get(), c.s.get(), c.v_out.get(),
                       c.s_out.get(), stream()),
                   "merge_states_bf16_run");
    });
    add_merge("merge_states_varlen " + shape, key, bytes, kRows, n, 1, [](const MergeCase& c) {
      check_status(baracuda_kernels_flashinfer_merge_states_varlen_bf16_run(
                       kRows, kHeads, kHeadDim, c.v.get(), c.s.get(), c.indptr.get(), c.v_out.get(),
                       c.s_out.get(), stream()),
                   "merge_states_varlen_bf16_run");
    });
  }
  // In place: 2 states in, 1 out, over 8x the rows so that >= 256 MB move.
  const int32_t rows = 8 * kRows;
  const double bytes = 3.0 * (kStateBytes + kLseBytes) * rows;
  add_merge(
      "merge_state_in_place bf16 L=" + std::to_string(rows) + " H=32 hd128 " + megabytes(bytes),
      "merge/in_place", bytes, rows, 1, 1, [rows](const MergeCase& c) {
        check_status(baracuda_kernels_flashinfer_merge_state_in_place_bf16_run(
                         rows, kHeads, kHeadDim, c.v_out.get(), c.s_out.get(), c.v.get(), c.s.get(),
                         stream()),
                     "merge_state_in_place_bf16_run");
      });
}
