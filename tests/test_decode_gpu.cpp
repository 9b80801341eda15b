// GPU tests of paged decode against a float64 CPU reference on fresh random data, every element
// type, head dim, GQA ratio and schedule (error bounds: tests/paged_problem.hpp).
#include <baracuda/flashinfer.h>

#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

// Runs every schedule on the same problem: the auto choice, CUDA cores (split when useful),
// tensor cores (f16/bf16), and no split at all; each must match the reference. Cache slots no
// request owns hold NaN.
void check_shape(const Shape& s, const char* label, bool also_nosplit = true) {
  PagedProblem p = make_problem(s);
  poison_stale_slots(p);  // slots past each request's length: never read
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
  CHECK_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(2, 32, 8, 128, 16, 0, &need),
           0);
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
  CHECK(std::string(baracuda_kernels_flashinfer_last_error()).find("workspace") !=
        std::string::npos);
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
namespace {

// Batch 4, group 4 (tensor cores, planner) and batch 1, group 2 (CUDA cores, single-request split
// without planner).
void graph_replay_case(const Shape& s) {
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
  const int32_t st =
      run_decode(p, sm_scale, &out, WorkspaceMode::kFull, &ws, stream, /*poison=*/false);
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
    CUDA_OK(cudaMemcpy(p.d_indices.ptr, p.indices.data(), p.indices.size() * 4,
                       cudaMemcpyHostToDevice));
    CUDA_OK(
        cudaMemcpy(p.d_indptr.ptr, p.indptr.data(), p.indptr.size() * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(p.d_lpl.ptr, p.last_page_len.data(), p.last_page_len.size() * 4,
                       cudaMemcpyHostToDevice));
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

}  // namespace

TEST(cuda_graph_replay_with_changing_lengths_equals_eager) {
  graph_replay_case({1, 4, 32, 8, 128, 16, 6000, false});
  graph_replay_case({0, 1, 16, 8, 128, 16, 9000, false});
}

int main(int argc, char** argv) {
  require_gpu_or_skip("test_decode_gpu");
  return bfi_test::run_all(argc, argv);
}
