// GPU tests of paged decode against a float64 CPU reference on fresh random data.
// Every output is NaN-poisoned before each run, so an unwritten element fails the comparison.
//
// Error bounds (|out - ref| on o, whose values are convex combinations of V in [-1, 1]; the
// reference uses the exact stored K/V/Q values, so only the kernel's arithmetic is measured):
//   f32 KV and output: 2e-5 (f32 accumulation, exp2.approx)
//   f16 output:        2e-3 (output rounding 2^-11, plus one more for split partials)
//   bf16 output:       1.6e-2 (output rounding 2^-8, plus one more for split partials)
//   lse, relative to max(1, |lse|): f32 2e-4; f16 1e-3; bf16 4e-3. The CUDA-core kernel keeps q
//   in f32 (measured <= 2e-6); the tensor-core (FA2) kernel scales q by sm_scale in its input
//   type before the MMA, one rounding of q: 2^-11 (f16), 2^-8 (bf16) relative on the scores.
// fp8 KV variants use the f16/bf16 bound of their output type: fp8 quantisation is in the
// reference's inputs, not in the error.
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "gpu_util.hpp"

using namespace bfi_test;

namespace {

using RunFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, float, void*, void*, void*,
                          void*, void*, const void*, void*, void*, void*, size_t,
                          baracuda_flashinfer_stream_t);
const RunFn kRun[7] = {baracuda_kernels_flashinfer_paged_decode_f16_run,
                       baracuda_kernels_flashinfer_paged_decode_bf16_run,
                       baracuda_kernels_flashinfer_paged_decode_f32_run,
                       baracuda_kernels_flashinfer_paged_decode_f16_e4m3_run,
                       baracuda_kernels_flashinfer_paged_decode_f16_e5m2_run,
                       baracuda_kernels_flashinfer_paged_decode_bf16_e4m3_run,
                       baracuda_kernels_flashinfer_paged_decode_bf16_e5m2_run};
const char* const kNames[7] = {"f16", "bf16", "f32", "f16_e4m3", "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};

int32_t qo_element(int32_t element) { return element <= 2 ? element : (element <= 4 ? 0 : 1); }
int fp8_kind(int32_t element) { return element <= 2 ? -1 : (element - 3) % 2; }
size_t kv_bytes(int32_t element) { return element <= 2 ? element_bytes(element) : 1; }

struct Shape {
  int32_t element, batch, hq, hkv, head_dim, page;
  int32_t max_len;           // lengths drawn in [0, max_len]
  bool force_edge_lengths;   // include 0, exactly-full pages and 1-token requests
};

// A paged KV cache with shuffled physical pages, filled with random values; the host keeps the
// exact stored values (as double) for the reference.
struct PagedProblem {
  Shape s;
  std::vector<int32_t> lens, indptr, indices, last_page_len;
  int32_t num_pages = 0;
  std::vector<double> k, v, q;  // dequantised stored values
  DeviceBuffer d_k, d_v, d_q, d_indices, d_indptr, d_lpl;
};

void fill_values(int32_t element, bool is_kv, size_t count, std::vector<double>* exact, DeviceBuffer* dev,
                 float lo, float hi) {
  const int kind = is_kv ? fp8_kind(element) : -1;
  const int32_t e = qo_element(element);
  const size_t bytes = is_kv ? kv_bytes(element) : element_bytes(e);
  std::vector<unsigned char> host(count * bytes);
  exact->resize(count);
  for (size_t i = 0; i < count; ++i) {
    const float x = uniform(lo, hi);
    if (kind >= 0) {
      host[i] = to_fp8(kind, x);
      (*exact)[i] = from_fp8(kind, host[i]);
    } else {
      store_element(e, host.data(), i, x);
      (*exact)[i] = load_element(e, host.data(), i);
    }
  }
  *dev = to_device(host);
}

// Page-table layout for the given lengths: `lens` (tokens) -> indptr / shuffled indices / lpl.
void build_page_table(PagedProblem& p) {
  const int32_t P = p.s.page;
  p.indptr.assign(1, 0);
  p.last_page_len.clear();
  for (int32_t len : p.lens) {
    const int32_t pages = (len + P - 1) / P;
    p.indptr.push_back(p.indptr.back() + pages);
    p.last_page_len.push_back(pages == 0 ? 1 : len - (pages - 1) * P);  // 1..P; unused if empty
  }
  p.num_pages = p.indptr.back() + 3;  // a few pages nobody references
  std::vector<int32_t> perm(p.num_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  p.indices.assign(perm.begin(), perm.begin() + p.indptr.back());
}

void upload_page_table(PagedProblem& p) {
  p.d_indices = to_device(p.indices.empty() ? std::vector<int32_t>{0} : p.indices);
  p.d_indptr = to_device(p.indptr);
  p.d_lpl = to_device(p.last_page_len);
}

std::vector<int32_t> draw_lengths(const Shape& s) {
  std::vector<int32_t> lens(s.batch);
  for (int32_t b = 0; b < s.batch; ++b) lens[b] = uniform_int(0, s.max_len);
  if (s.force_edge_lengths && s.batch >= 3) {
    lens[0] = 0;                                          // empty request
    lens[1] = std::max(1, s.max_len / s.page) * s.page;   // last page exactly full
    lens[s.batch - 1] = 1;                                // a single token
  }
  return lens;
}

PagedProblem make_problem(const Shape& s) {
  PagedProblem p;
  p.s = s;
  p.lens = draw_lengths(s);
  build_page_table(p);
  const size_t kv_count = size_t(p.num_pages) * s.hkv * s.page * s.head_dim;
  fill_values(s.element, true, kv_count, &p.k, &p.d_k, -1.f, 1.f);
  fill_values(s.element, true, kv_count, &p.v, &p.d_v, -1.f, 1.f);
  fill_values(s.element, false, size_t(s.batch) * s.hq * s.head_dim, &p.q, &p.d_q, -3.f, 3.f);
  upload_page_table(p);
  return p;
}

// float64 reference for request b, query head h: returns o (head_dim values) and lse (base 2).
void reference(const PagedProblem& p, float sm_scale, std::vector<double>* o, std::vector<double>* lse) {
  const Shape& s = p.s;
  const int32_t D = s.head_dim, P = s.page, g = s.hq / s.hkv;
  o->assign(size_t(s.batch) * s.hq * D, 0.0);
  lse->assign(size_t(s.batch) * s.hq, -std::numeric_limits<double>::infinity());
  std::vector<double> scores;
  for (int32_t b = 0; b < s.batch; ++b) {
    const int32_t len = p.lens[b];
    if (len == 0) continue;
    for (int32_t h = 0; h < s.hq; ++h) {
      const int32_t kvh = h / g;
      const double* qv = &p.q[(size_t(b) * s.hq + h) * D];
      scores.resize(len);
      double m = -std::numeric_limits<double>::infinity();
      for (int32_t t = 0; t < len; ++t) {
        const int32_t page = p.indices[p.indptr[b] + t / P];
        const double* kv = &p.k[((size_t(page) * s.hkv + kvh) * P + t % P) * D];
        double dot = 0;
        for (int32_t d = 0; d < D; ++d) dot += qv[d] * kv[d];
        scores[t] = dot * sm_scale;
        m = std::max(m, scores[t]);
      }
      double sum = 0;
      for (int32_t t = 0; t < len; ++t) sum += (scores[t] = std::exp(scores[t] - m));
      double* out = &(*o)[(size_t(b) * s.hq + h) * D];
      for (int32_t t = 0; t < len; ++t) {
        const int32_t page = p.indices[p.indptr[b] + t / P];
        const double* vv = &p.v[((size_t(page) * s.hkv + kvh) * P + t % P) * D];
        const double w = scores[t] / sum;
        for (int32_t d = 0; d < D; ++d) out[d] += w * vv[d];
      }
      (*lse)[size_t(b) * s.hq + h] = (m + std::log(sum)) / std::log(2.0);
    }
  }
}

double lse_tolerance(int32_t element) {
  const int32_t e = qo_element(element);
  return e == 2 ? 2e-4 : (e == 0 ? 1e-3 : 4e-3);
}

double o_tolerance(int32_t element) {
  const int32_t e = qo_element(element);
  return e == 2 ? 2e-5 : (e == 0 ? 2e-3 : 1.6e-2);
}

enum class WorkspaceMode { kFull, kNone, kLegacy };

bool has_tensor_cores(int32_t element) { return element == 0 || element == 1; }

struct Outputs {
  DeviceBuffer o, lse;
};

// Runs decode on `p` (outputs NaN-poisoned first) and returns the status.
// flags < 0: the element's _run symbol; otherwise paged_decode_run_with(element, flags, ...).
int32_t run_decode(const PagedProblem& p, float sm_scale, Outputs* out, WorkspaceMode mode,
                   DeviceBuffer* workspace, cudaStream_t stream, bool poison_outputs = true,
                   int32_t flags = -1) {
  const Shape& s = p.s;
  if (out->o.ptr == nullptr) {
    out->o = DeviceBuffer(size_t(s.batch) * s.hq * s.head_dim * element_bytes(qo_element(s.element)));
    out->lse = DeviceBuffer(size_t(s.batch) * s.hq * sizeof(float));
  }
  if (poison_outputs) {
    poison(out->o);
    poison(out->lse);
  }
  size_t ws_bytes = 0;
  if (mode == WorkspaceMode::kFull) {
    const int32_t st = baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
        s.batch, s.hq, s.hkv, s.head_dim, s.page, s.element, &ws_bytes);
    if (st != 0) return st;
  } else if (mode == WorkspaceMode::kLegacy) {
    ws_bytes = baracuda_kernels_flashinfer_paged_decode_workspace_size(s.batch);
  }
  if (workspace->bytes < ws_bytes || workspace->ptr == nullptr) *workspace = DeviceBuffer(ws_bytes);
  if (ws_bytes) poison(*workspace);  // stale workspace must never matter
  if (flags >= 0) {
    return baracuda_kernels_flashinfer_paged_decode_run_with(
        s.element, flags, s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
        p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, out->o.ptr, out->lse.ptr,
        ws_bytes ? workspace->ptr : nullptr, ws_bytes, reinterpret_cast<baracuda_flashinfer_stream_t>(stream));
  }
  return kRun[s.element](s.batch, s.page, s.head_dim, s.hq, s.hkv, sm_scale, p.d_k.ptr, p.d_v.ptr,
                         p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr, p.d_q.ptr, out->o.ptr,
                         out->lse.ptr, ws_bytes ? workspace->ptr : nullptr, ws_bytes,
                         reinterpret_cast<baracuda_flashinfer_stream_t>(stream));
}

// Compares device outputs with the reference; returns the max o error (NaN -> infinity).
double compare(const PagedProblem& p, const Outputs& out, const std::vector<double>& ref_o,
               const std::vector<double>& ref_lse, const char* label) {
  const Shape& s = p.s;
  const int32_t e = qo_element(s.element);
  std::vector<unsigned char> o = to_host<unsigned char>(out.o, out.o.bytes);
  std::vector<float> lse = to_host<float>(out.lse, size_t(s.batch) * s.hq);
  double max_err = 0, max_lse_err = 0;
  size_t bad_lse = 0;
  for (size_t i = 0; i < ref_o.size(); ++i) {
    const double x = load_element(e, o.data(), i);
    const double err = std::isfinite(x) ? std::fabs(x - ref_o[i]) : INFINITY;
    max_err = std::max(max_err, err);
  }
  for (size_t i = 0; i < ref_lse.size(); ++i) {
    const double r = ref_lse[i];
    if (std::isinf(r)) {
      if (!(std::isinf(lse[i]) && lse[i] < 0)) ++bad_lse;
      continue;
    }
    const double err = std::isfinite(lse[i]) ? std::fabs(lse[i] - r) / std::max(1.0, std::fabs(r)) : INFINITY;
    max_lse_err = std::max(max_lse_err, err);
  }
  const double tol = o_tolerance(s.element);
  CHECK_MSG(max_err <= tol && max_lse_err <= lse_tolerance(s.element) && bad_lse == 0,
            "%s %s B=%d Hq=%d Hkv=%d D=%d P=%d: max|o-ref|=%.3g (tol %.3g) max lse rel err=%.3g, "
            "%zu empty rows without lse=-inf",
            label, kNames[s.element], s.batch, s.hq, s.hkv, s.head_dim, s.page, max_err, tol,
            max_lse_err, bad_lse);
  return max_err;
}

// Runs every schedule on the same problem: the auto choice, CUDA cores (split when useful),
// tensor cores (f16/bf16), and no split at all; each must match the reference.
void check_shape(const Shape& s, const char* label, bool also_nosplit = true) {
  PagedProblem p = make_problem(s);
  const float sm_scale = 1.f / std::sqrt(float(s.head_dim));
  std::vector<double> ref_o, ref_lse;
  reference(p, sm_scale, &ref_o, &ref_lse);
  Outputs out;
  DeviceBuffer ws;
  struct Schedule {
    const char* name;
    WorkspaceMode mode;
    int32_t flags;
  };
  const Schedule schedules[] = {
      {"auto", WorkspaceMode::kFull, -1},
      {"cuda-cores", WorkspaceMode::kFull, BARACUDA_FLASHINFER_DECODE_CUDA_CORES},
      {"tensor-cores", WorkspaceMode::kFull, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES},
      {"tensor-cores no-split", WorkspaceMode::kFull,
       BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
      {"no-split", WorkspaceMode::kNone, -1},
  };
  for (const Schedule& sc : schedules) {
    if (sc.mode == WorkspaceMode::kNone && !also_nosplit) continue;
    if (sc.flags >= 0 && (sc.flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES) &&
        !has_tensor_cores(s.element)) {
      continue;
    }
    const int32_t st = run_decode(p, sm_scale, &out, sc.mode, &ws, nullptr, true, sc.flags);
    CHECK_MSG(st == 0, "%s %s: status %d: %s", label, sc.name, st,
              baracuda_kernels_flashinfer_last_error());
    CUDA_OK(cudaDeviceSynchronize());
    char what[96];
    std::snprintf(what, sizeof(what), "%s/%s", label, sc.name);
    compare(p, out, ref_o, ref_lse, what);
  }
}

}  // namespace

TEST(every_element_and_head_dim_with_edge_lengths) {
  for (int32_t element = 0; element < 7; ++element) {
    for (int32_t head_dim : {64, 128, 256}) {
      check_shape({element, 3, 8, 2, head_dim, 16, 300, true}, "element/head_dim");
    }
  }
}

TEST(every_gqa_ratio) {
  for (int32_t group : {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 32}) {
    const int32_t hkv = group == 32 ? 1 : 2;  // 32: MQA
    check_shape({0, 64, hkv * group, hkv, 128, 16, 200, true}, "gqa");
    check_shape({1, 3, hkv * group, hkv, 64, 1, 700, true}, "gqa");
  }
}

TEST(batch_sizes_and_page_sizes) {
  for (int32_t page : {1, 16, 64}) {
    check_shape({1, 1, 32, 8, 128, page, 5000, false}, "batch1");
    check_shape({0, 513, 32, 8, 128, page, 100, true}, "batch513");
  }
  check_shape({1, 4096, 8, 8, 64, 16, 40, true}, "batch4096");
  check_shape({2, 4096, 4, 1, 128, 16, 24, true}, "batch4096-f32");
  check_shape({0, 8192, 8, 8, 128, 1, 8, true}, "batch8192", /*also_nosplit=*/false);
  check_shape({1, 300, 64, 2, 128, 16, 200, true}, "batch300-group32");
}

TEST(long_context_splits_into_many_chunks) {
  check_shape({1, 1, 32, 8, 128, 16, 32768, false}, "long-bf16");
  check_shape({3, 2, 16, 2, 128, 64, 20000, false}, "long-fp8");
  check_shape({2, 1, 8, 1, 256, 16, 9000, false}, "long-f32");
}

TEST(all_empty_requests) {
  Shape s{0, 5, 8, 8, 128, 16, 0, false};
  check_shape(s, "all-empty");
}

TEST(legacy_workspace_size_decodes_without_split) {
  Shape s{0, 2, 32, 8, 128, 16, 3000, false};
  PagedProblem p = make_problem(s);
  const float sm_scale = 0.09f;
  std::vector<double> ref_o, ref_lse;
  reference(p, sm_scale, &ref_o, &ref_lse);
  Outputs out;
  DeviceBuffer ws;
  CHECK_EQ(run_decode(p, sm_scale, &out, WorkspaceMode::kLegacy, &ws, nullptr), 0);
  CUDA_OK(cudaDeviceSynchronize());
  compare(p, out, ref_o, ref_lse, "legacy-workspace");
}

TEST(short_workspace_is_refused_and_nothing_is_written) {
  Shape s{0, 2, 32, 8, 128, 16, 3000, false};
  PagedProblem p = make_problem(s);
  size_t need = 0;
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(2, 32, 8, 128, 16, 0, &need), 0);
  CHECK(need > 64);
  Outputs out;
  out.o = DeviceBuffer(size_t(2) * 32 * 128 * 2);
  out.lse = DeviceBuffer(size_t(2) * 32 * 4);
  poison(out.o);
  poison(out.lse);
  DeviceBuffer ws(64);
  const int32_t st = baracuda_kernels_flashinfer_paged_decode_f16_run(
      2, 16, 128, 32, 8, 0.1f, p.d_k.ptr, p.d_v.ptr, p.d_indices.ptr, p.d_indptr.ptr, p.d_lpl.ptr,
      p.d_q.ptr, out.o.ptr, out.lse.ptr, ws.ptr, 16, nullptr);
  CHECK_EQ(st, 4);
  CHECK(std::string(baracuda_kernels_flashinfer_last_error()).find("workspace") != std::string::npos);
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<uint16_t> o = to_host<uint16_t>(out.o, 2 * 32 * 128);
  CHECK(std::all_of(o.begin(), o.end(), [](uint16_t x) { return x == 0xFFFF; }));
}

TEST(lse_may_be_null) {
  Shape s{0, 3, 16, 4, 128, 16, 2000, false};
  PagedProblem p = make_problem(s);
  std::vector<double> ref_o, ref_lse;
  reference(p, 0.1f, &ref_o, &ref_lse);
  for (WorkspaceMode mode : {WorkspaceMode::kFull, WorkspaceMode::kNone}) {
    Outputs out;
    DeviceBuffer ws;
    out.o = DeviceBuffer(size_t(3) * 16 * 128 * 2);
    poison(out.o);
    size_t ws_bytes = 0;
    if (mode == WorkspaceMode::kFull)
      baracuda_kernels_flashinfer_paged_decode_get_workspace_size(3, 16, 4, 128, 16, 0, &ws_bytes);
    ws = DeviceBuffer(ws_bytes);
    CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_f16_run(
                 3, 16, 128, 16, 4, 0.1f, p.d_k.ptr, p.d_v.ptr, p.d_indices.ptr, p.d_indptr.ptr,
                 p.d_lpl.ptr, p.d_q.ptr, out.o.ptr, nullptr, ws_bytes ? ws.ptr : nullptr, ws_bytes,
                 nullptr),
             0);
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<__half> o = to_host<__half>(out.o, size_t(3) * 16 * 128);
    double max_err = 0;
    for (size_t i = 0; i < o.size(); ++i) {
      const double x = __half2float(o[i]);
      max_err = std::max(max_err, std::isfinite(x) ? std::fabs(x - ref_o[i]) : INFINITY);
    }
    CHECK_MSG(max_err <= 2e-3, "max err %g", max_err);
  }
}

// One capture, replayed after the lengths and page tables change in place: the device-side
// planner must re-split on every replay.
TEST(cuda_graph_replay_with_changing_lengths_equals_eager) {
  Shape s{1, 4, 32, 8, 128, 16, 6000, false};
  PagedProblem p = make_problem(s);
  // Fix the page-table buffer sizes at the maximum so new tables fit the captured addresses.
  const int32_t max_pages_per_req = (s.max_len + s.page - 1) / s.page;
  const int32_t capacity_pages = s.batch * max_pages_per_req + 3;
  p.indices.resize(capacity_pages, 0);
  const size_t kv_count = size_t(capacity_pages) * s.hkv * s.page * s.head_dim;
  fill_values(s.element, true, kv_count, &p.k, &p.d_k, -1.f, 1.f);
  fill_values(s.element, true, kv_count, &p.v, &p.d_v, -1.f, 1.f);
  upload_page_table(p);

  const float sm_scale = 0.0884f;
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  Outputs out;
  DeviceBuffer ws;
  // Allocate outputs and workspace once, then capture one call.
  CHECK_EQ(run_decode(p, sm_scale, &out, WorkspaceMode::kFull, &ws, stream), 0);
  CUDA_OK(cudaStreamSynchronize(stream));
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  const int32_t st = run_decode(p, sm_scale, &out, WorkspaceMode::kFull, &ws, stream, /*poison=*/false);
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  CHECK_MSG(st == 0, "capture status %d: %s", st, baracuda_kernels_flashinfer_last_error());
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));

  for (int replay = 0; replay < 4; ++replay) {
    // New lengths (short and long, some empty), new shuffled pages, written in place.
    p.lens = draw_lengths({s.element, s.batch, s.hq, s.hkv, s.head_dim, s.page,
                           replay % 2 ? 300 : s.max_len, replay == 2});
    build_page_table(p);
    std::vector<int32_t> perm(capacity_pages);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng());
    std::copy(perm.begin(), perm.begin() + p.indptr.back(), p.indices.begin());
    CUDA_OK(cudaMemcpy(p.d_indices.ptr, p.indices.data(), p.indices.size() * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(p.d_indptr.ptr, p.indptr.data(), p.indptr.size() * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(p.d_lpl.ptr, p.last_page_len.data(), p.last_page_len.size() * 4, cudaMemcpyHostToDevice));
    std::vector<double> ref_o, ref_lse;
    reference(p, sm_scale, &ref_o, &ref_lse);
    poison(out.o);
    poison(out.lse);
    poison(ws);
    CUDA_OK(cudaGraphLaunch(exec, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    compare(p, out, ref_o, ref_lse, "graph-replay");
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

int main(int argc, char** argv) {
  require_gpu_or_skip("test_decode_gpu");
  return bfi_test::run_all(argc, argv);
}
