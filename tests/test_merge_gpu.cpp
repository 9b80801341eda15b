// GPU tests of the attention-state merges against a float64 reference, every dtype, head dims
// 64/128/256, 8 and 128 heads (128 is beyond FlashInfer's (head_dim/vec)*heads <= 1024 block),
// on fresh random states (never zeros) with outputs NaN-poisoned before each run. Rows include
// empty states (lse = -inf) on either side, all-empty rows (must give o = 0, lse = -inf, never
// NaN) and far-apart LSEs. Exits 77 (skipped) without a GPU.
//
// Tolerances (of max|ref| over the tensor): f32 1e-5, f16 2e-3, bf16 1e-2 (one rounding of the
// output type; the inputs are compared as stored), the same for every merge kind.
// LSE: |got - ref| <= 1e-3 + 1e-5 |ref| (float32 math with ex2/lg2.approx); -inf exactly.
#include <baracuda/flashinfer.h>

#include <cmath>
#include <limits>

#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

const char* const kNames[3] = {"f16", "bf16", "f32"};
constexpr double kTol[3] = {2e-3, 1e-2, 1e-5};
const double kNegInf = -std::numeric_limits<double>::infinity();

// Host states: o [rows, D] as stored in the element type (bytes) and lse [rows].
struct States {
  int32_t element, D;
  std::vector<uint8_t> o;
  std::vector<float> lse;
  double o_at(size_t row, int32_t d) const { return load_element(element, o.data(), row * D + d); }
};

float random_lse() {
  return uniform(0.f, 1.f) < 0.15f ? -std::numeric_limits<float>::infinity() : uniform(-8.f, 8.f);
}

States random_states(int32_t element, size_t rows, int32_t D) {
  States s{element, D, std::vector<uint8_t>(rows * D * element_bytes(element)), {}};
  for (size_t i = 0; i < rows * D; ++i) {
    float x = uniform(-2.f, 2.f);
    if (std::fabs(x) < 1e-3f) x = 0.75f;
    store_element(element, s.o.data(), i, x);
  }
  for (size_t r = 0; r < rows; ++r) s.lse.push_back(random_lse());
  return s;
}

// The float64 merge of states `rows` (indices into `in`): o [D], returns lse. A row of empty
// states (none, or all lse = -inf) gives o = 0, lse = -inf.
double ref_merge(const States& in, const std::vector<size_t>& rows, double* o) {
  double m = kNegInf;
  for (size_t r : rows) m = std::max(m, double(in.lse[r]));
  for (int32_t d = 0; d < in.D; ++d) o[d] = 0;
  if (m == kNegInf) return kNegInf;
  double sum = 0;
  for (size_t r : rows) {
    const double w = std::exp2(double(in.lse[r]) - m);
    sum += w;
    for (int32_t d = 0; d < in.D; ++d) o[d] += w * in.o_at(r, d);
  }
  for (int32_t d = 0; d < in.D; ++d) o[d] /= sum;
  return m + std::log2(sum);
}

// Compares merged outputs (device bytes, `rows` rows) with the reference built by `states_of`.
template <typename StatesOf>
void check_merge(const char* what, const States& in, size_t rows, const DeviceBuffer& o,
                 const DeviceBuffer* lse, double tol, StatesOf states_of) {
  const int32_t e = in.element, D = in.D;
  const std::vector<uint8_t> got_o = to_host<uint8_t>(o, rows * D * element_bytes(e));
  const std::vector<float> got_lse = lse ? to_host<float>(*lse, rows) : std::vector<float>();
  std::vector<double> ref(rows * D), ref_lse(rows);
  double max_ref = 0;
  for (size_t r = 0; r < rows; ++r) {
    ref_lse[r] = ref_merge(in, states_of(r), &ref[r * D]);
    for (int32_t d = 0; d < D; ++d) max_ref = std::max(max_ref, std::fabs(ref[r * D + d]));
  }
  size_t bad_o = 0, bad_lse = 0, first_o = SIZE_MAX, first_lse = SIZE_MAX;
  for (size_t i = 0; i < rows * D; ++i) {
    const double err = std::fabs(load_element(e, got_o.data(), i) - ref[i]);
    if (!(err <= tol * max_ref)) bad_o += (first_o == SIZE_MAX ? (first_o = i, 1) : 1);
  }
  for (size_t r = 0; lse && r < rows; ++r) {
    const bool ok = ref_lse[r] == kNegInf
                        ? got_lse[r] == -std::numeric_limits<float>::infinity()
                        : std::fabs(got_lse[r] - ref_lse[r]) <= 1e-3 + 1e-5 * std::fabs(ref_lse[r]);
    if (!ok) bad_lse += (first_lse == SIZE_MAX ? (first_lse = r, 1) : 1);
  }
  CHECK_MSG(bad_o == 0, "%s: %zu of %zu o values off (first %zu: got %g, ref %g, tol %g)", what,
            bad_o, rows * D, first_o, bad_o ? load_element(e, got_o.data(), first_o) : 0.,
            bad_o ? ref[first_o] : 0., tol * max_ref);
  CHECK_MSG(bad_lse == 0, "%s: %zu of %zu lse values off (first row %zu: got %g, ref %g)", what,
            bad_lse, rows, first_lse, bad_lse ? double(got_lse[first_lse]) : 0.,
            bad_lse ? ref_lse[first_lse] : 0.);
}

struct Shape {
  int32_t L, H;
};
const Shape kShapes[] = {{37, 8}, {5, 128}};

}  // namespace

TEST(merge_state_in_place_matches_float64) {
  using Fn = decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run);
  const Fn fns[3] = {baracuda_kernels_flashinfer_merge_state_in_place_f16_run,
                     baracuda_kernels_flashinfer_merge_state_in_place_bf16_run,
                     baracuda_kernels_flashinfer_merge_state_in_place_f32_run};
  const float inf = std::numeric_limits<float>::infinity();
  for (int32_t e = 0; e < 3; ++e) {
    for (int32_t D : {64, 128, 256}) {
      for (const Shape s : kShapes) {
        const size_t rows = size_t(s.L) * s.H;
        // `both` holds the two inputs stacked: rows [0, rows) are (v, s), [rows, 2 rows) others.
        States both = random_states(e, 2 * rows, D);
        both.lse[0] = both.lse[rows + 0] = -inf;         // both empty
        both.lse[1] = -inf, both.lse[rows + 1] = 3.f;    // only other
        both.lse[2] = -2.f, both.lse[rows + 2] = -inf;   // only self
        both.lse[3] = 60.f, both.lse[rows + 3] = -60.f;  // far apart
        const size_t half_bytes = rows * D * element_bytes(e);
        DeviceBuffer v =
            to_device(std::vector<uint8_t>(both.o.begin(), both.o.begin() + half_bytes));
        DeviceBuffer vo =
            to_device(std::vector<uint8_t>(both.o.begin() + half_bytes, both.o.end()));
        DeviceBuffer sl = to_device(std::vector<float>(both.lse.begin(), both.lse.begin() + rows));
        DeviceBuffer so = to_device(std::vector<float>(both.lse.begin() + rows, both.lse.end()));
        const int32_t st = fns[e](s.L, s.H, D, v.ptr, sl.ptr, vo.ptr, so.ptr, nullptr);
        CHECK_MSG(st == 0, "in place %s: status %d (%s)", kNames[e], st,
                  baracuda_kernels_flashinfer_last_error());
        CUDA_OK(cudaDeviceSynchronize());
        char what[96];
        std::snprintf(what, sizeof(what), "merge_state_in_place %s D=%d L=%d H=%d", kNames[e], D,
                      s.L, s.H);
        check_merge(what, both, rows, v, &sl, kTol[e], [&](size_t r) {
          return std::vector<size_t>{r, rows + r};
        });
      }
    }
  }
}

TEST(merge_states_matches_float64) {
  using Fn = decltype(&baracuda_kernels_flashinfer_merge_states_f16_run);
  const Fn fns[3] = {baracuda_kernels_flashinfer_merge_states_f16_run,
                     baracuda_kernels_flashinfer_merge_states_bf16_run,
                     baracuda_kernels_flashinfer_merge_states_f32_run};
  for (int32_t e = 0; e < 3; ++e) {
    for (int32_t D : {64, 128, 256}) {
      for (const Shape s : kShapes) {
        for (int32_t N : {1, 2, 3, 7, 32}) {
          const size_t rows = size_t(s.L) * s.H;
          States in = random_states(e, rows * N, D);  // [L, N, H] state rows
          for (int32_t k = 0; k < N; ++k) {
            in.lse[size_t(k) * s.H] =
                -std::numeric_limits<float>::infinity();  // row (0, 0): all empty
          }
          const auto states_of = [&](size_t r) {
            const size_t l = r / s.H, h = r % s.H;
            std::vector<size_t> out;
            for (int32_t k = 0; k < N; ++k) out.push_back((l * N + k) * s.H + h);
            return out;
          };
          DeviceBuffer v = to_device(in.o), sl = to_device(in.lse);
          DeviceBuffer vm(rows * D * element_bytes(e)), sm(rows * sizeof(float));
          for (const bool with_lse : {true, false}) {
            poison(vm);
            poison(sm);
            const int32_t st =
                fns[e](N, s.L, s.H, D, v.ptr, sl.ptr, vm.ptr, with_lse ? sm.ptr : nullptr, nullptr);
            CHECK_MSG(st == 0, "merge_states %s: status %d (%s)", kNames[e], st,
                      baracuda_kernels_flashinfer_last_error());
            CUDA_OK(cudaDeviceSynchronize());
            char what[128];
            std::snprintf(what, sizeof(what), "merge_states %s D=%d L=%d H=%d N=%d lse=%d",
                          kNames[e], D, s.L, s.H, N, with_lse);
            check_merge(what, in, rows, vm, with_lse ? &sm : nullptr, kTol[e], states_of);
          }
        }
      }
    }
  }
}

TEST(merge_states_varlen_matches_float64) {
  using Fn = decltype(&baracuda_kernels_flashinfer_merge_states_varlen_f16_run);
  const Fn fns[3] = {baracuda_kernels_flashinfer_merge_states_varlen_f16_run,
                     baracuda_kernels_flashinfer_merge_states_varlen_bf16_run,
                     baracuda_kernels_flashinfer_merge_states_varlen_f32_run};
  for (int32_t e = 0; e < 3; ++e) {
    for (int32_t D : {64, 128, 256}) {
      for (const Shape s : kShapes) {
        // Per-position state counts: 0 (o = 0, lse = -inf), 1 (a copy), a few, and 200 (many
        // pipeline stages in FlashInfer's kernel).
        std::vector<int32_t> indptr{0};
        for (int32_t l = 0; l < s.L; ++l) {
          const int32_t n = l == 0 ? 0 : l == 1 ? 1 : l == 3 ? 200 : uniform_int(0, 9);
          indptr.push_back(indptr.back() + n);
        }
        const size_t rows = size_t(s.L) * s.H;
        States in = random_states(e, size_t(indptr.back()) * s.H, D);
        for (int32_t k = indptr[2]; k < indptr[3]; ++k) {
          in.lse[size_t(k) * s.H] =
              -std::numeric_limits<float>::infinity();  // row (2, 0): all empty
        }
        const auto states_of = [&](size_t r) {
          const size_t l = r / s.H, h = r % s.H;
          std::vector<size_t> out;
          for (int32_t k = indptr[l]; k < indptr[l + 1]; ++k) out.push_back(size_t(k) * s.H + h);
          return out;
        };
        DeviceBuffer v = to_device(in.o), sl = to_device(in.lse), ip = to_device(indptr);
        DeviceBuffer vm(rows * D * element_bytes(e)), sm(rows * sizeof(float));
        poison(vm);
        poison(sm);
        const int32_t st = fns[e](s.L, s.H, D, v.ptr, sl.ptr, ip.ptr, vm.ptr, sm.ptr, nullptr);
        CHECK_MSG(st == 0, "merge_states_varlen %s: status %d (%s)", kNames[e], st,
                  baracuda_kernels_flashinfer_last_error());
        CUDA_OK(cudaDeviceSynchronize());
        char what[96];
        std::snprintf(what, sizeof(what), "merge_states_varlen %s D=%d L=%d H=%d", kNames[e], D,
                      s.L, s.H);
        check_merge(what, in, rows, vm, &sm, kTol[e], states_of);
      }
    }
  }
}

int main(int argc, char** argv) {
  require_gpu_or_skip(argv[0]);
  return bfi_test::run_all(argc, argv);
}
