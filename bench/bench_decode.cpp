// Paged decode: time and achieved bandwidth (frac: KV bytes read / time / the run's copy
// bandwidth) per shape. Variants, in the order they run on one cache:
//   no_split      CUDA cores, one chunk per request (the schedule of the ABI this library
//                 replaces), graph-replayed, so launch overhead does not flatter the comparison
//   eager         the auto path (flags 0: what paged_decode_<element>_run does), plain launches
//   graph         the auto path, CUDA-graph replay: the headline figure (x_vs_no_split; the
//                 label names the path the auto rule took, where the library can say)
//   graph_rotated the auto path, graph replay over rotated copies of the cache (page tables into
//                 one larger pool) that together exceed 4x the L2, so that no call finds its
//                 cache in the L2 after the previous one; only for caches under 4x the L2
//   cuda_cores, tensor_cores, warp_tiles
//                 each path forced through paged_decode_run_with, graph-replayed; a path the
//                 library cannot run for the shape (its can_implement) is not registered
// KV caches are random values in shuffled pages (page 16, HND).
#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

constexpr int32_t kPageSize = 16;

struct ElementInfo {
  int32_t code;
  const char* name;
  int q_bytes, kv_bytes;
};
constexpr ElementInfo kElements[] = {
    {BARACUDA_FLASHINFER_BF16, "bf16", 2, 2},
    {BARACUDA_FLASHINFER_BF16_E4M3, "bf16_e4m3", 2, 1},
    {BARACUDA_FLASHINFER_F16_E5M2, "f16_e5m2", 2, 1},
};
const ElementInfo& element_info(int32_t code) {
  for (const ElementInfo& e : kElements) {
    if (e.code == code) return e;
  }
  std::fprintf(stderr, "bench_decode: element %d has no entry in kElements\n", code);
  std::exit(2);
}

struct DecodeShape {
  int32_t element, head_dim, hq, hkv, batch, kv_len;
  const char* labels;  // targets ("target frac >= 0.85") and notes for the graph variant

  std::string name() const {
    return std::string(element_info(element).name) + " " + std::to_string(hq) + "/" +
           std::to_string(hkv) + " hd" + std::to_string(head_dim) + " p" +
           std::to_string(kPageSize) + " B=" + std::to_string(batch) +
           " L=" + std::to_string(kv_len);
  }
  int32_t pages_per_request() const { return (kv_len + kPageSize - 1) / kPageSize; }
  // K and V bytes one call reads.
  double kv_bytes() const {
    return 2.0 * batch * kv_len * hkv * head_dim * element_info(element).kv_bytes;
  }
  // Copies of the cache that graph_rotated rotates through (1: no rotation).
  int32_t rotated_sets() const {
    const double rotate_bytes = 4.0 * device().l2_bytes;
    return kv_bytes() >= rotate_bytes ? 1 : int32_t(std::ceil(rotate_bytes / kv_bytes()));
  }
};

// Issue 19's table (32/8 and the GQA groups; the targets are the H200 ones), the ends of the
// compiled group set, issue 22's 64 x 4096, head dims 64 and 256, and fp8 KV at B >= 64 (frac of
// its own bytes).
const DecodeShape kShapes[] = {
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 1, 32768,
     "target frac >= 0.85; target us <= 37; target x_vs_no_split >= 5"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 1, 4096, "target frac >= 0.55"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 8, 8192, "target frac >= 0.9"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 16, 4096, "target frac >= 0.9"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 64, 2048, "target frac >= 0.95"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 256, 1024, "target frac >= 0.95"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 128, 8192, "target frac >= 0.95"},
    {BARACUDA_FLASHINFER_BF16, 128, 28, 4, 64, 2048, "group 7; target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 2, 64, 2048, "group 16; target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 1, 64, 2048, "MQA; target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16, 128, 40, 8, 1, 32768, "group 5; target frac >= 0.8"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 32, 64, 2048, "group 1"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 16, 64, 2048, "group 2; target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 32, 1, 32768, "group 1"},
    {BARACUDA_FLASHINFER_BF16, 128, 32, 8, 64, 4096, ""},
    {BARACUDA_FLASHINFER_BF16, 64, 32, 8, 1, 32768, ""},
    {BARACUDA_FLASHINFER_BF16, 64, 32, 8, 64, 2048, ""},
    {BARACUDA_FLASHINFER_BF16, 256, 32, 8, 1, 32768, ""},
    {BARACUDA_FLASHINFER_BF16, 256, 32, 8, 64, 2048, ""},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 8, 64, 2048, "target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 8, 256, 1024, "target frac >= 0.85"},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 8, 128, 8192, "target frac >= 0.85"},
    // fp8 KV's auto rule: the groups on either side of its threshold, batch 1, f16 queries.
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 32, 64, 2048, "group 1"},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 16, 64, 2048, "group 2"},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 1, 64, 2048, "MQA"},
    {BARACUDA_FLASHINFER_BF16_E4M3, 128, 32, 8, 1, 32768, ""},
    {BARACUDA_FLASHINFER_F16_E5M2, 128, 32, 8, 64, 2048, ""},
};

// One shape's cache: `sets` copies of the request pages in one shuffled pool, set i reading its
// own pages through its own page table; q, o, lse and the workspace are shared.
class DecodeCase : public Case {
 public:
  DecodeCase(const DecodeShape& s, int32_t sets) : s_(s) {
    const int32_t ppr = s.pages_per_request(), pages = s.batch * ppr;
    const ElementInfo& e = element_info(s.element);
    const size_t page_bytes = size_t(s.hkv) * kPageSize * s.head_dim * e.kv_bytes;
    std::mt19937 gen(1234);
    std::vector<int32_t> pool(size_t(pages) * sets);
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), gen);  // random page order, as a real cache
    for (int32_t set = 0; set < sets; ++set) {
      indices_.push_back(upload(std::vector<int32_t>(pool.begin() + size_t(set) * pages,
                                                     pool.begin() + size_t(set + 1) * pages)));
    }
    std::vector<int32_t> indptr(s.batch + 1);
    for (int32_t b = 0; b <= s.batch; ++b) indptr[b] = b * ppr;
    indptr_ = upload(indptr);
    last_page_len_ = upload(std::vector<int32_t>(s.batch, s.kv_len - (ppr - 1) * kPageSize));
    k_ = DeviceBuffer(pool.size() * page_bytes);
    v_ = DeviceBuffer(pool.size() * page_bytes);
    const size_t q_bytes = size_t(s.batch) * s.hq * s.head_dim * e.q_bytes;
    q_ = DeviceBuffer(q_bytes);
    o_ = DeviceBuffer(q_bytes);
    lse_ = DeviceBuffer(size_t(s.batch) * s.hq * 4);
    fill_random(k_.get(), k_.bytes(), e.kv_bytes, 1);
    fill_random(v_.get(), v_.bytes(), e.kv_bytes, 2);
    fill_random(q_.get(), q_bytes, e.q_bytes, 3);
    check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                     s.batch, s.hq, s.hkv, s.head_dim, kPageSize, s.element, &workspace_bytes_),
                 "paged_decode_get_workspace_size");
    workspace_ = DeviceBuffer(workspace_bytes_);
  }

  // paged_decode_run_with(flags) over page-table set `set`.
  std::function<void()> call(int32_t flags, int32_t set = 0) const {
    return [this, flags, set] {
      check_status(
          baracuda_kernels_flashinfer_paged_decode_run_with(
              s_.element, flags, s_.batch, kPageSize, s_.head_dim, s_.hq, s_.hkv,
              1.f / std::sqrt(float(s_.head_dim)), k_.get(), v_.get(), indices_[set].get(),
              indptr_.get(), last_page_len_.get(), q_.get(), o_.get(), lse_.get(), workspace_.get(),
              workspace_bytes_, reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream)),
          "paged_decode_run_with");
    };
  }
  std::vector<std::function<void()>> rotated_calls() const {
    std::vector<std::function<void()>> calls;
    for (int32_t set = 0; set < int32_t(indices_.size()); ++set) calls.push_back(call(0, set));
    return calls;
  }
  size_t workspace_bytes() const { return workspace_bytes_; }

 private:
  DecodeShape s_;
  std::vector<DeviceBuffer> indices_;
  DeviceBuffer indptr_, last_page_len_, k_, v_, q_, o_, lse_, workspace_;
  size_t workspace_bytes_ = 0;
};

DecodeCase& decode_case(const DecodeShape& s) {
  return shared_case<DecodeCase>("decode/" + s.name(),
                                 [&] { return std::make_unique<DecodeCase>(s, s.rotated_sets()); });
}

// "auto: tensor cores, split" where the library answers which schedule a call takes.
std::string auto_path_label(const DecodeShape& s) {
#if BFI_BENCH_HAVE_DECODE_DESCRIBE
  size_t workspace = 0;
  check_status(baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
                   s.batch, s.hq, s.hkv, s.head_dim, kPageSize, s.element, &workspace),
               "paged_decode_get_workspace_size");
  baracuda_flashinfer_decode_schedule schedule{};
  schedule.struct_size = sizeof(schedule);
  check_status(
      baracuda_kernels_flashinfer_paged_decode_describe(
          s.element, BARACUDA_FLASHINFER_DECODE_AUTO, s.batch, kPageSize, s.head_dim, s.hq, s.hkv,
          workspace, reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream), &schedule),
      "paged_decode_describe");
  const char* path = schedule.path == BARACUDA_FLASHINFER_DECODE_PATH_TENSOR_CORES ? "tensor cores"
                     : schedule.path == BARACUDA_FLASHINFER_DECODE_PATH_CUDA_CORES ? "CUDA cores"
                                                                                   : "warp tiles";
  return std::string("auto: ") + path +
         (schedule.split ? ", split" : ", no split");
#else
  (void)s;
  return "";
#endif
}

std::string join_labels(const std::string& a, const std::string& b) {
  return a.empty() ? b : b.empty() ? a : a + "; " + b;
}

bool runs_with(const DecodeShape& s, int32_t flags) {
  return baracuda_kernels_flashinfer_paged_decode_run_with_can_implement(
             s.element, flags, s.batch, kPageSize, s.head_dim, s.hq, s.hkv) == 0;
}

// A variant of shape `s`: `flags`, eager or graph-replayed, over one cache or rotated caches.
void add_variant(const DecodeShape& s, const std::string& variant, int32_t flags,
                 GpuTimer::Mode mode, bool rotated, int repeats, int warmup,
                 const std::string& label = "") {
  if (!runs_with(s, flags)) return;
  add_benchmark("decode", s.name(), variant, repeats, [=](benchmark::State& state) {
    DecodeCase& c = decode_case(s);
    const double us = c.run(state, variant, [&] {
      return rotated ? std::make_unique<GpuTimer>(c.rotated_calls(), mode, warmup)
                     : std::make_unique<GpuTimer>(c.call(flags), mode, warmup);
    });
    set_bandwidth(state, s.kv_bytes(), us);
    if (variant == "graph") {
      set_ratio(state, c, "no_split", us);
      state.counters["workspace_MB"] = c.workspace_bytes() / 1e6;
    }
    if (!label.empty()) state.SetLabel(label);
  });
}

}  // namespace

BFI_BENCH_SECTION(decode, 10, "paged decode per shape: auto path, forced paths, split off") {
  using Mode = GpuTimer::Mode;
  for (const DecodeShape& s : kShapes) {
    add_variant(s, "no_split",
                BARACUDA_FLASHINFER_DECODE_CUDA_CORES | BARACUDA_FLASHINFER_DECODE_NO_SPLIT,
                Mode::graph, false, 20, 3);
    add_variant(s, "eager", BARACUDA_FLASHINFER_DECODE_AUTO, Mode::eager, false, 40, 5);
    add_variant(s, "graph", BARACUDA_FLASHINFER_DECODE_AUTO, Mode::graph, false, 40, 5,
                join_labels(auto_path_label(s), s.labels));
    if (s.rotated_sets() > 1)
      add_variant(s, "graph_rotated", BARACUDA_FLASHINFER_DECODE_AUTO, Mode::graph, true, 40, 5);
    add_variant(s, "cuda_cores", BARACUDA_FLASHINFER_DECODE_CUDA_CORES, Mode::graph, false, 40, 5);
    add_variant(s, "tensor_cores", BARACUDA_FLASHINFER_DECODE_TENSOR_CORES, Mode::graph, false, 40,
                5);
    add_variant(s, "warp_tiles", BARACUDA_FLASHINFER_DECODE_WARP_TILES, Mode::graph, false, 40, 5);
  }
}
