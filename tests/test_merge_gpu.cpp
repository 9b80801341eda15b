// GPU tests of the attention-state merges against a float64 reference with the comparison of
// tests/attention_check.hpp (the inputs are exact, so the bound is the output type's rounding),
// every dtype, head dims 64/128/256, 8 and 128 heads (128 is beyond FlashInfer's
// (head_dim/vec)*heads <= 1024 block), on fresh random states (never zeros) with outputs
// NaN-poisoned before each run. Rows include empty states (lse = -inf) on either side, all-empty
// rows (must give o = 0, lse = -inf, never NaN) and far-apart LSEs; the row counts put the
// stacked and variable-length merges on each side of every launch threshold of
// src/merge/merge_kernels.cuh (256, 2048 and 32768 rows) and far above the last.
#include <baracuda/flashinfer.h>

#include <cmath>
#include <limits>

#include "attention_check.hpp"
#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// Host states: o [rows, D] as stored in the element type (bytes) and lse [rows].
struct States {
  int32_t element, D;
  std::vector<uint8_t> o;
  std::vector<float> lse;
  double o_at(size_t row, int32_t d) const { return load_element(element, o.data(), row * D + d); }
};

States random_states(int32_t element, size_t rows, int32_t D) {
  States s{element, D, std::vector<uint8_t>(rows * D * element_bytes(element)), {}};
  for (size_t i = 0; i < rows * D; ++i) {
    float x = uniform(-2.f, 2.f);
    if (std::fabs(x) < 1e-3f) x = 0.75f;
    store_element(element, s.o.data(), i, x);
  }
  s.lse.resize(rows);
  for (float& l : s.lse) l = uniform(0.f, 1.f) < 0.15f ? -kInf : uniform(-8.f, 8.f);
  return s;
}

// The float64 merge of the states `rows` (indices into `in`) into row r of `ref`. A row of empty
// states (none, or all lse = -inf) gives o = 0, lse = -inf.
void ref_merge(const States& in, const std::vector<size_t>& rows, AttentionReference* ref,
               size_t r) {
  double* o = &ref->o[r * in.D];
  double m = -std::numeric_limits<double>::infinity();
  for (size_t i : rows) m = std::max(m, double(in.lse[i]));
  std::fill(o, o + in.D, 0.0);
  ref->lse[r] = m;
  if (std::isinf(m)) return;
  double sum = 0;
  for (size_t i : rows) {
    const double w = std::exp2(double(in.lse[i]) - m);
    sum += w;
    for (int32_t d = 0; d < in.D; ++d) o[d] += w * in.o_at(i, d);
  }
  for (int32_t d = 0; d < in.D; ++d) o[d] /= sum;
  ref->lse[r] = m + std::log2(sum);
}

// Merged outputs (device, `rows` rows; lse nullptr: not written) against the reference built
// from states_of(r), the input rows of output row r.
template <typename StatesOf>
::testing::AssertionResult merged_match(const States& in, size_t rows, const DeviceBuffer& o,
                                        const DeviceBuffer* lse, StatesOf states_of,
                                        int32_t heads) {
  const int32_t e = in.element, D = in.D;
  AttentionReference ref(static_cast<int32_t>(rows), D);
  for (size_t r = 0; r < rows; ++r) ref_merge(in, states_of(r), &ref, r);
  const std::vector<uint8_t> raw = to_host<uint8_t>(o, rows * D * element_bytes(e));
  std::vector<double> got(rows * D);
  for (size_t i = 0; i < got.size(); ++i) got[i] = load_element(e, raw.data(), i);
  const std::vector<float> got_lse = lse ? to_host<float>(*lse, rows) : std::vector<float>();
  return matches_reference(ref, got, lse ? got_lse.data() : nullptr, merge_precision(e), heads);
}

using InPlaceFn = decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run);
using StatesFn = decltype(&baracuda_kernels_flashinfer_merge_states_f16_run);
using VarlenFn = decltype(&baracuda_kernels_flashinfer_merge_states_varlen_f16_run);
const InPlaceFn kInPlace[3] = {baracuda_kernels_flashinfer_merge_state_in_place_f16_run,
                               baracuda_kernels_flashinfer_merge_state_in_place_bf16_run,
                               baracuda_kernels_flashinfer_merge_state_in_place_f32_run};
const StatesFn kStates[3] = {baracuda_kernels_flashinfer_merge_states_f16_run,
                             baracuda_kernels_flashinfer_merge_states_bf16_run,
                             baracuda_kernels_flashinfer_merge_states_f32_run};
const VarlenFn kVarlen[3] = {baracuda_kernels_flashinfer_merge_states_varlen_f16_run,
                             baracuda_kernels_flashinfer_merge_states_varlen_bf16_run,
                             baracuda_kernels_flashinfer_merge_states_varlen_f32_run};

// The N-way merge of `in` ([seq_len, N, heads] state rows) on the device, with and without lse.
void check_stacked(const States& in, int32_t n, int32_t seq_len, int32_t heads) {
  const int32_t e = in.element, D = in.D;
  const size_t rows = size_t(seq_len) * heads;
  const auto states_of = [&](size_t r) {
    const size_t l = r / heads, h = r % heads;
    std::vector<size_t> out;
    for (int32_t k = 0; k < n; ++k) out.push_back((l * n + k) * heads + h);
    return out;
  };
  const DeviceBuffer v = to_device(in.o), sl = to_device(in.lse);
  DeviceBuffer vm(rows * D * element_bytes(e)), sm(rows * sizeof(float));
  for (const bool with_lse : {true, false}) {
    SCOPED_TRACE(with_lse ? "with lse" : "lse NULL");
    poison(vm);
    poison(sm);
    ASSERT_EQ(kStates[e](n, seq_len, heads, D, v.ptr, sl.ptr, vm.ptr, with_lse ? sm.ptr : nullptr,
                         nullptr),
              0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(merged_match(in, rows, vm, with_lse ? &sm : nullptr, states_of, heads));
  }
}

// The variable-length merge: position l has indptr[l + 1] - indptr[l] states of `heads` rows.
void check_varlen(const States& in, const std::vector<int32_t>& indptr, int32_t heads) {
  const int32_t e = in.element, D = in.D;
  const int32_t seq_len = static_cast<int32_t>(indptr.size()) - 1;
  const size_t rows = size_t(seq_len) * heads;
  const auto states_of = [&](size_t r) {
    const size_t l = r / heads, h = r % heads;
    std::vector<size_t> out;
    for (int32_t k = indptr[l]; k < indptr[l + 1]; ++k) out.push_back(size_t(k) * heads + h);
    return out;
  };
  const DeviceBuffer v = to_device(in.o), sl = to_device(in.lse), ip = to_device(indptr);
  DeviceBuffer vm(rows * D * element_bytes(e)), sm(rows * sizeof(float));
  poison(vm);
  poison(sm);
  ASSERT_EQ(kVarlen[e](seq_len, heads, D, v.ptr, sl.ptr, ip.ptr, vm.ptr, sm.ptr, nullptr), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(merged_match(in, rows, vm, &sm, states_of, heads));
}

struct MergeShape {
  int32_t L, H;
};
const MergeShape kShapes[] = {{37, 8}, {5, 128}};

using ElementHeadDim = std::tuple<int32_t, int32_t>;
class Merge : public GpuTestWithParam<ElementHeadDim> {};

TEST_P(Merge, state_in_place_matches_float64) {
  const auto [e, D] = GetParam();
  for (const MergeShape s : kShapes) {
    SCOPED_TRACE("L=" + std::to_string(s.L) + " H=" + std::to_string(s.H));
    const size_t rows = size_t(s.L) * s.H;
    // `both` holds the two inputs stacked: rows [0, rows) are (v, s), [rows, 2 rows) the others.
    States both = random_states(e, 2 * rows, D);
    both.lse[0] = both.lse[rows + 0] = -kInf;        // both empty
    both.lse[1] = -kInf, both.lse[rows + 1] = 3.f;   // only other
    both.lse[2] = -2.f, both.lse[rows + 2] = -kInf;  // only self
    both.lse[3] = 60.f, both.lse[rows + 3] = -60.f;  // far apart
    const size_t half_bytes = rows * D * element_bytes(e);
    DeviceBuffer v = to_device(std::vector<uint8_t>(both.o.begin(), both.o.begin() + half_bytes));
    DeviceBuffer vo = to_device(std::vector<uint8_t>(both.o.begin() + half_bytes, both.o.end()));
    DeviceBuffer sl = to_device(std::vector<float>(both.lse.begin(), both.lse.begin() + rows));
    DeviceBuffer so = to_device(std::vector<float>(both.lse.begin() + rows, both.lse.end()));
    ASSERT_EQ(kInPlace[e](s.L, s.H, D, v.ptr, sl.ptr, vo.ptr, so.ptr, nullptr), 0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(merged_match(
        both, rows, v, &sl,
        [&](size_t r) {
          return std::vector<size_t>{r, rows + r};
        },
        s.H));
  }
}

TEST_P(Merge, states_matches_float64) {
  const auto [e, D] = GetParam();
  for (const MergeShape s : kShapes) {
    for (int32_t n : {1, 2, 3, 7, 32}) {
      SCOPED_TRACE("L=" + std::to_string(s.L) + " H=" + std::to_string(s.H) +
                   " N=" + std::to_string(n));
      States in = random_states(e, size_t(s.L) * s.H * n, D);           // [L, N, H] state rows
      for (int32_t k = 0; k < n; ++k) in.lse[size_t(k) * s.H] = -kInf;  // row (0, 0): all empty
      check_stacked(in, n, s.L, s.H);
    }
  }
}

TEST_P(Merge, states_varlen_matches_float64) {
  const auto [e, D] = GetParam();
  for (const MergeShape s : kShapes) {
    SCOPED_TRACE("L=" + std::to_string(s.L) + " H=" + std::to_string(s.H));
    // Per-position state counts: 0 (o = 0, lse = -inf), 1 (a copy), a few, and 200 (many
    // pipeline stages in FlashInfer's kernel).
    std::vector<int32_t> indptr{0};
    for (int32_t l = 0; l < s.L; ++l) {
      const int32_t n = l == 0 ? 0 : l == 1 ? 1 : l == 3 ? 200 : uniform_int(0, 9);
      indptr.push_back(indptr.back() + n);
    }
    States in = random_states(e, size_t(indptr.back()) * s.H, D);
    for (int32_t k = indptr[2]; k < indptr[3]; ++k) in.lse[size_t(k) * s.H] = -kInf;  // (2, 0)
    check_varlen(in, indptr, s.H);
  }
}

INSTANTIATE_TEST_SUITE_P(ElementsAndHeadDims, Merge,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(64, 128, 256)),
                         [](const auto& i) {
                           return std::string(element_name(std::get<0>(i.param))) + "_hd" +
                                  std::to_string(std::get<1>(i.param));
                         });

// --- every launch branch of the stacked and variable-length merges ------------------------------
// src/merge/merge_kernels.cuh spreads rows (seq_len x heads) over thread groups by the row count
// alone: below 256 a whole block per row, below 2048 the default groups, below 32768 four groups
// per block, from 32768 on one group per row. Each count is on one side of a threshold.
struct RowCount {
  const char* name;
  int32_t seq_len, heads;
};
const RowCount kRowCounts[] = {
    {"rows255", 51, 5},     {"rows256", 32, 8},     {"rows2047", 89, 23},     {"rows2048", 256, 8},
    {"rows32767", 4681, 7}, {"rows32768", 4096, 8}, {"rows262144", 32768, 8},
};
struct BranchCase {
  bool varlen;
  int32_t element, head_dim;
  RowCount rows;
};
std::vector<BranchCase> branch_cases() {
  std::vector<BranchCase> cases;
  for (const bool varlen : {false, true}) {
    for (const RowCount& r : kRowCounts) {
      for (int32_t e : {0, 1, 2}) cases.push_back({varlen, e, 128, r});
      for (int32_t d : {64, 256}) {
        if (d == 256 && r.seq_len * r.heads > 32768) continue;  // the largest case: hd64 and 128
        cases.push_back({varlen, 1, d, r});
      }
    }
  }
  return cases;
}
class MergeBranches : public GpuTestWithParam<BranchCase> {};

TEST_P(MergeBranches, match_float64) {
  const BranchCase& c = GetParam();
  const int32_t L = c.rows.seq_len, H = c.rows.heads;
  if (!c.varlen) {
    const int32_t n = 3;
    States in = random_states(c.element, size_t(L) * H * n, c.head_dim);
    for (int32_t k = 0; k < n; ++k) in.lse[size_t(k) * H] = -kInf;  // row (0, 0): all empty
    check_stacked(in, n, L, H);
    return;
  }
  std::vector<int32_t> indptr{0};
  for (int32_t l = 0; l < L; ++l)
    indptr.push_back(indptr.back() + (l == 0 ? 0 : uniform_int(1, 4)));
  States in = random_states(c.element, size_t(indptr.back()) * H, c.head_dim);
  check_varlen(in, indptr, H);
}

INSTANTIATE_TEST_SUITE_P(RowCounts, MergeBranches, ::testing::ValuesIn(branch_cases()),
                         [](const auto& i) {
                           return std::string(i.param.varlen ? "varlen_" : "states_") +
                                  element_name(i.param.element) + "_hd" +
                                  std::to_string(i.param.head_dim) + "_" + i.param.rows.name;
                         });

}  // namespace
