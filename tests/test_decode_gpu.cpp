// GPU tests of paged decode against the float64 reference on fresh random data: every element
// type, head dim, GQA ratio and schedule, long contexts, graph replay with changing lengths
// (bounds: tests/attention_check.hpp).
#include <baracuda/flashinfer.h>

#include "paged_problem.hpp"

using namespace bfi_test;

namespace {

struct Schedule {
  const char* name;
  WorkspaceMode mode;
  int32_t flags;  // < 0: the element's _run symbol
};
const Schedule kSchedules[] = {
    {"auto", WorkspaceMode::kFull, -1},
    {"cuda-cores", WorkspaceMode::kFull, BARACUDA_FLASHINFER_DECODE_CUDA_CORES},
    {"tensor-cores", WorkspaceMode::kFull, BARACUDA_FLASHINFER_DECODE_TENSOR_CORES},
    {"tensor-cores no-split", WorkspaceMode::kFull,
     BARACUDA_FLASHINFER_DECODE_TENSOR_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
    {"warp-tiles", WorkspaceMode::kFull, BARACUDA_FLASHINFER_DECODE_WARP_TILES},
    {"warp-tiles no-split", WorkspaceMode::kFull,
     BARACUDA_FLASHINFER_DECODE_WARP_TILES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT},
    {"warp-tiles no workspace", WorkspaceMode::kNone, BARACUDA_FLASHINFER_DECODE_WARP_TILES},
    {"no-split", WorkspaceMode::kNone, -1},
};

// Runs every schedule on the same problem: the auto choice, CUDA cores (split when useful),
// tensor cores (f16/bf16; refused with status 3 for the other elements), warp tiles (f16/bf16
// KV; status 3 for the others), and no split at all;
// each must match the reference. Cache slots no request owns hold NaN.
void check_every_schedule(const Shape& s, bool also_nosplit = true) {
  SCOPED_TRACE(describe(s));
  PagedProblem p = make_problem(s);
  poison_stale_slots(p);
  const float sm_scale = 1.f / std::sqrt(float(s.head_dim));
  const AttentionReference ref = reference(p, sm_scale);
  Outputs out;
  DeviceBuffer ws;
  for (const Schedule& sc : kSchedules) {
    SCOPED_TRACE(sc.name);
    if (sc.mode == WorkspaceMode::kNone && !also_nosplit) continue;
    const int32_t st = run_decode(p, sm_scale, &out, sc.mode, &ws, nullptr, true, sc.flags);
    if (sc.flags >= 0 && (sc.flags & BARACUDA_FLASHINFER_DECODE_TENSOR_CORES) &&
        !has_tensor_cores(s.element)) {
      EXPECT_EQ(st, BARACUDA_FLASHINFER_UNSUPPORTED) << baracuda_kernels_flashinfer_last_error();
      continue;
    }
    if (sc.flags >= 0 && (sc.flags & BARACUDA_FLASHINFER_DECODE_WARP_TILES) &&
        !has_warp_tiles(s.element)) {
      EXPECT_EQ(st, BARACUDA_FLASHINFER_UNSUPPORTED) << baracuda_kernels_flashinfer_last_error();
      continue;
    }
    ASSERT_EQ(st, 0) << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(outputs_match(s, out, ref));
  }
}

class DecodeGpu : public GpuTest {};

// --- every element x head dim, edge lengths ---------------------------------------------------
class DecodeElementHeadDim : public GpuTestWithParam<std::tuple<int32_t, int32_t>> {};
TEST_P(DecodeElementHeadDim, matches_float64_with_edge_lengths) {
  const auto [element, head_dim] = GetParam();
  check_every_schedule({element, 3, 8, 2, head_dim, 16, 300, true});
}
INSTANTIATE_TEST_SUITE_P(All, DecodeElementHeadDim,
                         ::testing::Combine(::testing::Range(0, kDecodeElements),
                                            ::testing::Values(64, 128, 256)),
                         [](const auto& i) {
                           return std::string(element_name(std::get<0>(i.param))) + "_hd" +
                                  std::to_string(std::get<1>(i.param));
                         });

// --- every GQA ratio ----------------------------------------------------------------------------
class DecodeGqa : public GpuTestWithParam<int32_t> {};
TEST_P(DecodeGqa, matches_float64) {
  const int32_t group = GetParam();
  const int32_t hkv = group == 32 ? 1 : 2;  // 32: MQA
  check_every_schedule({0, 64, hkv * group, hkv, 128, 16, 200, true});
  check_every_schedule({1, 3, hkv * group, hkv, 64, 1, 700, true});
}
INSTANTIATE_TEST_SUITE_P(Groups, DecodeGqa,
                         ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 32),
                         [](const auto& i) { return "group" + std::to_string(i.param); });

// --- batch, page sizes and long contexts ------------------------------------------------------
struct NamedShape {
  const char* name;
  Shape shape;
  bool also_nosplit;
};
class DecodeShapes : public GpuTestWithParam<NamedShape> {};
TEST_P(DecodeShapes, matches_float64) {
  check_every_schedule(GetParam().shape, GetParam().also_nosplit);
}
INSTANTIATE_TEST_SUITE_P(
    BatchAndPage, DecodeShapes,
    ::testing::Values(NamedShape{"batch1_page1", {1, 1, 32, 8, 128, 1, 5000, false}, true},
                      NamedShape{"batch1_page16", {1, 1, 32, 8, 128, 16, 5000, false}, true},
                      NamedShape{"batch1_page64", {1, 1, 32, 8, 128, 64, 5000, false}, true},
                      NamedShape{"batch513_page1", {0, 513, 32, 8, 128, 1, 100, true}, true},
                      NamedShape{"batch513_page16", {0, 513, 32, 8, 128, 16, 100, true}, true},
                      NamedShape{"batch513_page64", {0, 513, 32, 8, 128, 64, 100, true}, true},
                      NamedShape{"batch4096", {1, 4096, 8, 8, 64, 16, 40, true}, true},
                      NamedShape{"batch4096_f32", {2, 4096, 4, 1, 128, 16, 24, true}, true},
                      NamedShape{"batch8192", {0, 8192, 8, 8, 128, 1, 8, true}, false},
                      NamedShape{"batch300_group32", {1, 300, 64, 2, 128, 16, 200, true}, true}),
    [](const auto& i) { return std::string(i.param.name); });
// Long requests split into many chunks: the bounds fail a kernel that drops one chunk or one
// 16-token tile (tests/test_attention_check_host.cpp), so every request here is long.
INSTANTIATE_TEST_SUITE_P(
    LongContext, DecodeShapes,
    ::testing::Values(NamedShape{"bf16_32768", {1, 1, 32, 8, 128, 16, 32768, false}, true},
                      NamedShape{"fp8_20000", {3, 2, 16, 2, 128, 64, 20000, false}, true},
                      NamedShape{"f32_9000", {2, 1, 8, 1, 256, 16, 9000, false}, true}),
    [](const auto& i) { return std::string(i.param.name); });

TEST_F(DecodeGpu, long_requests_of_exactly_32768_tokens) {
  // Lengths drawn in [0, max_len] can be short; these are not.
  for (int32_t element : {0, 1}) {
    const Shape s{element, 2, 32, 8, 128, 16, 32768, false};
    SCOPED_TRACE(describe(s));
    PagedProblem p = make_problem_with_lengths(s, {32768, 32768 - 17});
    poison_stale_slots(p);
    const float sm_scale = 1.f / std::sqrt(128.f);
    const AttentionReference ref = reference(p, sm_scale);
    Outputs out;
    DeviceBuffer ws;
    for (const Schedule& sc : kSchedules) {
      SCOPED_TRACE(sc.name);
      ASSERT_EQ(run_decode(p, sm_scale, &out, sc.mode, &ws, nullptr, true, sc.flags), 0)
          << baracuda_kernels_flashinfer_last_error();
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_TRUE(outputs_match(s, out, ref));
    }
  }
}

TEST_F(DecodeGpu, all_empty_requests) {
  check_every_schedule({0, 5, 8, 8, 128, 16, 0, false});
}

TEST_F(DecodeGpu, legacy_workspace_size_decodes_without_split) {
  const Shape s{0, 2, 32, 8, 128, 16, 3000, false};
  PagedProblem p = make_problem(s);
  const float sm_scale = 0.09f;
  const AttentionReference ref = reference(p, sm_scale);
  Outputs out;
  DeviceBuffer ws;
  ASSERT_EQ(run_decode(p, sm_scale, &out, WorkspaceMode::kLegacy, &ws, nullptr), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(outputs_match(s, out, ref));
}

TEST_F(DecodeGpu, short_workspace_is_refused_and_nothing_is_written) {
  const Shape s{0, 2, 32, 8, 128, 16, 3000, false};
  PagedProblem p = make_problem(s);
  size_t need = 0;
  ASSERT_EQ(
      baracuda_kernels_flashinfer_paged_decode_get_workspace_size(2, 32, 8, 128, 16, 0, &need), 0);
  ASSERT_GT(need, 64u);
  Outputs out;
  out.allocate(s);
  out.poison_all();
  DeviceBuffer ws(64);
  const int32_t st = baracuda_kernels_flashinfer_paged_decode_f16_run(
      2, 16, 128, 32, 8, 0.1f, p.d_k.ptr, p.d_v.ptr, p.table.d_indices.ptr, p.table.d_indptr.ptr,
      p.table.d_lpl.ptr, p.d_q.ptr, out.o.ptr, out.lse.ptr, ws.ptr, 16, nullptr);
  EXPECT_EQ(st, BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL);
  EXPECT_NE(std::string(baracuda_kernels_flashinfer_last_error()).find("workspace"),
            std::string::npos);
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<uint16_t> o = to_host<uint16_t>(out.o, 2 * 32 * 128);
  EXPECT_TRUE(std::all_of(o.begin(), o.end(), [](uint16_t x) { return x == 0xFFFF; }));
}

TEST_F(DecodeGpu, lse_may_be_null) {
  const Shape s{0, 3, 16, 4, 128, 16, 2000, false};
  PagedProblem p = make_problem(s);
  const AttentionReference ref = reference(p, 0.1f);
  for (WorkspaceMode mode : {WorkspaceMode::kFull, WorkspaceMode::kNone}) {
    SCOPED_TRACE(mode == WorkspaceMode::kFull ? "split" : "no split");
    Outputs out;
    out.allocate(s);
    out.poison_all();
    size_t ws_bytes = 0;
    if (mode == WorkspaceMode::kFull) {
      ASSERT_EQ(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(3, 16, 4, 128, 16, 0,
                                                                            &ws_bytes),
                0);
    }
    DeviceBuffer ws(ws_bytes);
    ASSERT_EQ(baracuda_kernels_flashinfer_paged_decode_f16_run(
                  3, 16, 128, 16, 4, 0.1f, p.d_k.ptr, p.d_v.ptr, p.table.d_indices.ptr,
                  p.table.d_indptr.ptr, p.table.d_lpl.ptr, p.d_q.ptr, out.o.ptr, nullptr,
                  ws_bytes ? ws.ptr : nullptr, ws_bytes, nullptr),
              0)
        << baracuda_kernels_flashinfer_last_error();
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(outputs_match(s, out, ref, /*with_lse=*/false));
    const std::vector<uint32_t> lse = to_host<uint32_t>(out.lse, size_t(3) * 16);
    EXPECT_TRUE(std::all_of(lse.begin(), lse.end(), [](uint32_t x) { return x == 0xFFFFFFFFu; }))
        << "the poisoned lse buffer (not passed) changed";
  }
}

// One capture, replayed after the lengths, the page tables and the K/V/q values change in place:
// the device-side planner must re-split on every replay, and each replay equals an eager run on
// the same data and the float64 reference. `lengths`: the replays' request lengths (default: four
// random draws, some short, some with edge lengths).
void graph_replay_case(const Shape& s, const std::vector<std::vector<int32_t>>& lengths = {},
                       int32_t flags = -1) {
  SCOPED_TRACE(describe(s));
  const int32_t capacity_pages = s.batch * ((s.max_len + s.page - 1) / s.page) + 3;
  PagedProblem p = make_problem_with_lengths(s, draw_lengths(s), capacity_pages);
  p.table.upload_with_capacity(capacity_pages);
  const float sm_scale = 0.0884f;
  Stream stream;
  Outputs out, eager;
  DeviceBuffer ws, eager_ws;
  // Outputs and workspace allocated before the capture (a captured call allocates nothing).
  ASSERT_EQ(run_decode(p, sm_scale, &out, WorkspaceMode::kFull, &ws, stream, true, flags), 0)
      << baracuda_kernels_flashinfer_last_error();
  CUDA_OK(cudaStreamSynchronize(stream));
  Graph graph;
  ASSERT_EQ(capture(stream, &graph,
                    [&] {
                      return run_decode(p, sm_scale, &out, WorkspaceMode::kFull, &ws, stream,
                                        /*poison_outputs=*/false, flags);
                    }),
            0)
      << baracuda_kernels_flashinfer_last_error();
  const int replays = lengths.empty() ? 4 : int(lengths.size());
  for (int replay = 0; replay < replays; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    // New lengths (short and long, some empty), new shuffled pages, new values, in place.
    Shape drawn = s;
    drawn.max_len = replay % 2 ? 300 : s.max_len;
    drawn.force_edge_lengths = replay == 2;
    PageTable next = random_page_table(lengths.empty() ? draw_lengths(drawn) : lengths[replay],
                                       s.page, capacity_pages);
    p.table.lens = next.lens;
    p.table.indptr = next.indptr;
    p.table.indices = next.indices;
    p.table.last_page_len = next.last_page_len;
    p.table.write_in_place();
    p.refill();
    const AttentionReference ref = reference(p, sm_scale);
    out.poison_all();
    poison(ws);
    graph.launch(stream);
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_TRUE(outputs_match(s, out, ref));
    ASSERT_EQ(run_decode(p, sm_scale, &eager, WorkspaceMode::kFull, &eager_ws, stream, true, flags),
              0);
    CUDA_OK(cudaStreamSynchronize(stream));
    EXPECT_EQ(to_host<uint8_t>(out.o, out.o.bytes), to_host<uint8_t>(eager.o, eager.o.bytes))
        << "the replay and an eager run differ bitwise";
  }
}

TEST_F(DecodeGpu, graph_replay_with_changing_lengths_equals_eager_tensor_cores) {
  graph_replay_case({1, 4, 32, 8, 128, 16, 6000, false});  // group 4: tensor cores, planner
  graph_replay_case({0, 4, 32, 8, 128, 16, 6000, false});
  // Batch 1 on tensor cores (group 8; fp8 K/V from group 2): chunks from the length in the
  // kernel, no planner. Lengths: empty, one token, one chunk of the minimum and one past it,
  // the longest, a partial last page.
  const std::vector<std::vector<int32_t>> lengths = {{0}, {1}, {256}, {257}, {20000}, {4097}};
  graph_replay_case({1, 1, 32, 4, 128, 16, 20000, false}, lengths);
  graph_replay_case({3, 1, 16, 8, 64, 1, 20000, false}, lengths);
}

TEST_F(DecodeGpu, graph_replay_with_changing_lengths_equals_eager_cuda_cores) {
  graph_replay_case({0, 1, 16, 8, 128, 16, 9000, false});  // batch 1: single-request split
  graph_replay_case({2, 3, 16, 8, 64, 16, 9000, false});   // f32: CUDA cores only, planner
  graph_replay_case({5, 2, 16, 4, 128, 16, 9000, false});  // fp8 KV
}

TEST_F(DecodeGpu, graph_replay_with_changing_lengths_equals_eager_warp_tiles) {
  constexpr int32_t kWarp = BARACUDA_FLASHINFER_DECODE_WARP_TILES;
  // Batch 1 split into the static chunk count: lengths from empty to long, a partial last page,
  // a length shorter than one tile per chunk.
  const std::vector<std::vector<int32_t>> lengths = {{0}, {1}, {17}, {257}, {20000}, {4097}};
  graph_replay_case({1, 1, 32, 8, 128, 16, 20000, false}, lengths, kWarp);
  graph_replay_case({0, 1, 64, 2, 64, 1, 20000, false}, lengths, kWarp);  // group 32, page 1
  graph_replay_case({1, 5, 40, 8, 256, 16, 6000, false}, {}, kWarp);      // group 5, batch 5
}

}  // namespace
