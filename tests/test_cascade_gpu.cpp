// The cascade identity end to end through the library, every dtype: for a batch whose requests
// share one prefix page list and have different suffixes (one of them empty),
//   decode(prefix + suffix) == merge(decode(prefix), decode(suffix))
// with the merge done by merge_state_in_place and by merge_states (2 states per row), and all
// of them against a float64 attention reference. Outputs are NaN-poisoned before each run.
// Exits 77 (skipped) without a GPU, and skips an element whose decode head dim is not built.
//
// Tolerances (of max|ref|): f32 2e-5 (decode's float32 softmax with ex2.approx over ~100
// logits), f16 4e-3 and bf16 2e-2: the merged result carries up to three roundings to the
// element type (decode's split partials, the two partial outputs, the merged output), each up
// to half an ulp (f16 2^-11, bf16 2^-8). LSE: the decode bound of every dtype
// (paged_problem.hpp: relative to max(1, |lse|), f32 2e-4, f16 1e-3, bf16 4e-3: the
// tensor-core path rounds the scaled q to the element type).
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "gpu_util.hpp"
#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

const char* const kNames[3] = {"f16", "bf16", "f32"};
constexpr double kTol[3] = {4e-3, 2e-2, 2e-5};

struct PageList {
  std::vector<int32_t> indices, indptr{0}, lpl;
  void add(const std::vector<int32_t>& pages, int32_t last) {
    indices.insert(indices.end(), pages.begin(), pages.end());
    indptr.push_back(static_cast<int32_t>(indices.size()));
    lpl.push_back(last);
  }
};

struct Problem {
  int32_t e, B, P, D, hq, hkv;
  float sm_scale;
  std::vector<uint8_t> k, v, q;  // pages [num_pages, hkv, P, D]; q [B, hq, D]
};

struct Attention {
  std::vector<uint8_t> o;  // [B, hq, D] element type
  std::vector<float> lse;  // [B, hq]
};

Attention decode(const Problem& p, const PageList& pl) {
  using Fn = decltype(&baracuda_kernels_flashinfer_paged_decode_f16_run);
  static const Fn fns[3] = {baracuda_kernels_flashinfer_paged_decode_f16_run,
                            baracuda_kernels_flashinfer_paged_decode_bf16_run,
                            baracuda_kernels_flashinfer_paged_decode_f32_run};
  size_t ws_bytes = 0;
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(p.B, p.hq, p.hkv, p.D, p.P,
                                                                       p.e, &ws_bytes),
           0);
  DeviceBuffer k = to_device(p.k), v = to_device(p.v), q = to_device(p.q);
  DeviceBuffer indices = to_device(pl.indices.empty() ? std::vector<int32_t>{0} : pl.indices);
  DeviceBuffer indptr = to_device(pl.indptr), lpl = to_device(pl.lpl), ws(ws_bytes);
  DeviceBuffer o(p.q.size()), lse(size_t(p.B) * p.hq * sizeof(float));
  poison(o);
  poison(lse);
  const int32_t st =
      fns[p.e](p.B, p.P, p.D, p.hq, p.hkv, p.sm_scale, k.ptr, v.ptr, indices.ptr, indptr.ptr,
               lpl.ptr, q.ptr, o.ptr, lse.ptr, ws.ptr, ws_bytes, nullptr);
  CHECK_MSG(st == 0, "decode %s: status %d (%s)", kNames[p.e], st,
            baracuda_kernels_flashinfer_last_error());
  CUDA_OK(cudaDeviceSynchronize());
  return {to_host<uint8_t>(o, p.q.size()), to_host<float>(lse, size_t(p.B) * p.hq)};
}

// float64 attention of every (request, head) over the request's tokens in `pl`.
std::vector<double> reference(const Problem& p, const PageList& pl, std::vector<double>* lse) {
  std::vector<double> o(size_t(p.B) * p.hq * p.D, 0.0);
  lse->assign(size_t(p.B) * p.hq, -std::numeric_limits<double>::infinity());
  const int32_t group = p.hq / p.hkv;
  for (int32_t b = 0; b < p.B; ++b) {
    const int32_t pages = pl.indptr[b + 1] - pl.indptr[b];
    const int32_t len = pages == 0 ? 0 : (pages - 1) * p.P + pl.lpl[b];
    for (int32_t h = 0; h < p.hq; ++h) {
      const size_t qrow = (size_t(b) * p.hq + h) * p.D;
      std::vector<double> logits(len);
      std::vector<size_t> rows(len);
      double m = -std::numeric_limits<double>::infinity();
      for (int32_t t = 0; t < len; ++t) {
        const size_t page = pl.indices[pl.indptr[b] + t / p.P];
        rows[t] = ((page * p.hkv + h / group) * p.P + t % p.P) * p.D;
        double dot = 0;
        for (int32_t d = 0; d < p.D; ++d) {
          dot +=
              load_element(p.e, p.q.data(), qrow + d) * load_element(p.e, p.k.data(), rows[t] + d);
        }
        logits[t] = dot * p.sm_scale;
        m = std::max(m, logits[t]);
      }
      if (len == 0) continue;
      double sum = 0;
      for (int32_t t = 0; t < len; ++t) sum += std::exp(logits[t] - m);
      for (int32_t t = 0; t < len; ++t) {
        const double w = std::exp(logits[t] - m) / sum;
        for (int32_t d = 0; d < p.D; ++d)
          o[qrow + d] += w * load_element(p.e, p.v.data(), rows[t] + d);
      }
      (*lse)[size_t(b) * p.hq + h] = (m + std::log(sum)) / std::log(2.0);  // base 2
    }
  }
  return o;
}

void compare(const char* what, int32_t e, const std::vector<uint8_t>& o,
             const std::vector<float>& lse, const std::vector<double>& ref_o,
             const std::vector<double>& ref_lse, double tol) {
  double max_ref = 0;
  for (double x : ref_o) max_ref = std::max(max_ref, std::fabs(x));
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < ref_o.size(); ++i) {
    if (!(std::fabs(load_element(e, o.data(), i) - ref_o[i]) <= tol * max_ref) && bad++ == 0)
      first = i;
  }
  CHECK_MSG(bad == 0, "%s %s: %zu of %zu o values off (first %zu: got %g, ref %g, tol %g)", what,
            kNames[e], bad, ref_o.size(), first, load_element(e, o.data(), first), ref_o[first],
            tol * max_ref);
  size_t bad_lse = 0;
  for (size_t i = 0; i < ref_lse.size(); ++i) {
    const bool ok = std::isinf(ref_lse[i])
                        ? lse[i] == -std::numeric_limits<float>::infinity()
                        : std::fabs(lse[i] - ref_lse[i]) <=
                              lse_tolerance(e) * std::max(1.0, std::fabs(ref_lse[i]));
    if (!ok && bad_lse++ == 0) first = i;
  }
  CHECK_MSG(bad_lse == 0, "%s %s: %zu lse values off (first %zu: got %g, ref %g)", what, kNames[e],
            bad_lse, first, bad_lse ? double(lse[first]) : 0., bad_lse ? ref_lse[first] : 0.);
}

std::vector<uint8_t> random_elements(int32_t e, size_t n) {
  std::vector<uint8_t> out(n * element_bytes(e));
  for (size_t i = 0; i < n; ++i) {
    float x = uniform(-2.f, 2.f);
    store_element(e, out.data(), i, std::fabs(x) < 1e-3f ? 0.25f : x);
  }
  return out;
}

}  // namespace

TEST(decode_over_prefix_and_suffix_equals_merged_partial_decodes) {
  const int32_t B = 5, P = 16, D = 128, hkv = 2, hq = 8, prefix_pages = 3;
  for (int32_t e = 0; e < 3; ++e) {
    if (baracuda_kernels_flashinfer_paged_decode_can_implement(B, hq, hkv, D, P, e) != 0) {
      std::printf("  (decode %s hd%d not built: skipped)\n", kNames[e], D);
      continue;
    }
    std::vector<int32_t> suffix_pages(B);
    for (auto& n : suffix_pages) n = uniform_int(1, 3);
    suffix_pages[2] = 0;  // a request with only the shared prefix: its suffix state is empty
    const int32_t num_pages =
        prefix_pages + std::accumulate(suffix_pages.begin(), suffix_pages.end(), 0);
    std::vector<int32_t> pool(num_pages);
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), rng());
    const std::vector<int32_t> prefix(pool.begin(), pool.begin() + prefix_pages);
    PageList full, pre, suf;
    for (int32_t b = 0, next = prefix_pages; b < B; ++b) {
      const std::vector<int32_t> own(pool.begin() + next, pool.begin() + next + suffix_pages[b]);
      next += suffix_pages[b];
      const int32_t last = own.empty() ? P : uniform_int(1, P);
      std::vector<int32_t> all = prefix;
      all.insert(all.end(), own.begin(), own.end());
      full.add(all, last);
      pre.add(prefix, P);  // the shared prefix: full pages
      suf.add(own, own.empty() ? 1 : last);
    }
    Problem p{e,
              B,
              P,
              D,
              hq,
              hkv,
              1.f / std::sqrt(float(D)),
              random_elements(e, size_t(num_pages) * hkv * P * D),
              random_elements(e, size_t(num_pages) * hkv * P * D),
              random_elements(e, size_t(B) * hq * D)};
    std::vector<double> ref_lse;
    const std::vector<double> ref_o = reference(p, full, &ref_lse);

    const Attention a_full = decode(p, full), a_pre = decode(p, pre), a_suf = decode(p, suf);
    compare("decode(prefix + suffix)", e, a_full.o, a_full.lse, ref_o, ref_lse, kTol[e]);

    // merge_state_in_place(prefix, suffix).
    using InPlace = decltype(&baracuda_kernels_flashinfer_merge_state_in_place_f16_run);
    const InPlace in_place[3] = {baracuda_kernels_flashinfer_merge_state_in_place_f16_run,
                                 baracuda_kernels_flashinfer_merge_state_in_place_bf16_run,
                                 baracuda_kernels_flashinfer_merge_state_in_place_f32_run};
    DeviceBuffer o = to_device(a_pre.o), s = to_device(a_pre.lse);
    DeviceBuffer o2 = to_device(a_suf.o), s2 = to_device(a_suf.lse);
    CHECK_EQ(in_place[e](B, hq, D, o.ptr, s.ptr, o2.ptr, s2.ptr, nullptr), 0);
    CUDA_OK(cudaDeviceSynchronize());
    const Attention merged{to_host<uint8_t>(o, a_pre.o.size()),
                           to_host<float>(s, a_pre.lse.size())};
    compare("merge_state_in_place(prefix, suffix)", e, merged.o, merged.lse, ref_o, ref_lse,
            kTol[e]);

    // merge_states over [B, 2, hq, D]: state 0 the prefix, state 1 the suffix.
    const size_t row_bytes = size_t(hq) * D * element_bytes(e);
    std::vector<uint8_t> stacked_o;
    std::vector<float> stacked_lse;
    for (int32_t b = 0; b < B; ++b) {
      for (const Attention* part : {&a_pre, &a_suf}) {
        stacked_o.insert(stacked_o.end(), part->o.begin() + b * row_bytes,
                         part->o.begin() + (b + 1) * row_bytes);
        stacked_lse.insert(stacked_lse.end(), part->lse.begin() + b * hq,
                           part->lse.begin() + (b + 1) * hq);
      }
    }
    using States = decltype(&baracuda_kernels_flashinfer_merge_states_f16_run);
    const States states[3] = {baracuda_kernels_flashinfer_merge_states_f16_run,
                              baracuda_kernels_flashinfer_merge_states_bf16_run,
                              baracuda_kernels_flashinfer_merge_states_f32_run};
    DeviceBuffer sv = to_device(stacked_o), ss = to_device(stacked_lse);
    DeviceBuffer mo(a_pre.o.size()), ms(a_pre.lse.size() * sizeof(float));
    poison(mo);
    poison(ms);
    CHECK_EQ(states[e](2, B, hq, D, sv.ptr, ss.ptr, mo.ptr, ms.ptr, nullptr), 0);
    CUDA_OK(cudaDeviceSynchronize());
    compare("merge_states(prefix, suffix)", e, to_host<uint8_t>(mo, a_pre.o.size()),
            to_host<float>(ms, a_pre.lse.size()), ref_o, ref_lse, kTol[e]);
  }
}

int main(int argc, char** argv) {
  require_gpu_or_skip(argv[0]);
  return bfi_test::run_all(argc, argv);
}
