#include "bench_util.hpp"

#include <baracuda/flashinfer.h>

namespace bfi_bench {

void check_status(int32_t status, const char* what) {
  if (status == 0) return;
  std::fprintf(stderr, "%s failed: status %d (%s): %s\n", what, status,
               baracuda_kernels_flashinfer_status_string(status),
               baracuda_kernels_flashinfer_last_error());
  std::exit(3);
}

void Context::add(Row row) {
  std::printf("%-10s %-44s", row.section.c_str(), row.name.c_str());
  for (const auto& kv : row.values) std::printf("  %s=%.4g", kv.first.c_str(), kv.second);
  if (!row.note.empty()) std::printf("  [%s]", row.note.c_str());
  std::printf("\n");
  std::fflush(stdout);
  rows.push_back(std::move(row));
}

void init_timer(Context& ctx) {
  const char* env = std::getenv("BFI_BENCH_TIMER");
  if (env != nullptr && std::string(env) == "submit") ctx.timer = "submit";
  void* flag = nullptr;
  BENCH_CUDA(cudaHostAlloc(&flag, sizeof(int32_t), cudaHostAllocMapped));
  ctx.release_host = static_cast<volatile int32_t*>(flag);
  *ctx.release_host = 1;
  void* device = nullptr;
  BENCH_CUDA(cudaHostGetDevicePointer(&device, flag, 0));
  ctx.release_device = static_cast<int32_t*>(device);
}

double time_us(Context& ctx, const std::function<void()>& fn, int repeats, int warmup, bool graph) {
  cudaGraphExec_t exec = nullptr;
  if (graph) {
    // One eager call first: first-use work (kernel attributes, occupancy queries) stays out of
    // the capture.
    fn();
    BENCH_CUDA(cudaStreamSynchronize(ctx.stream));
    cudaGraph_t g;
    BENCH_CUDA(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeGlobal));
    fn();
    BENCH_CUDA(cudaStreamEndCapture(ctx.stream, &g));
    BENCH_CUDA(cudaGraphInstantiate(&exec, g, 0));
    BENCH_CUDA(cudaGraphDestroy(g));
  }
  auto enqueue = [&] {
    if (graph)
      BENCH_CUDA(cudaGraphLaunch(exec, ctx.stream));
    else
      fn();
  };
  for (int i = 0; i < warmup; ++i) enqueue();
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  std::vector<float> ms(repeats);
  const bool hold = ctx.timer == "hold";
  for (int i = 0; i < repeats; ++i) {
    if (hold) {
      *ctx.release_host = 0;
      enqueue_hold(ctx.stream, ctx.release_device);
    }
    BENCH_CUDA(cudaEventRecord(start, ctx.stream));
    enqueue();
    BENCH_CUDA(cudaEventRecord(stop, ctx.stream));
    if (hold) *ctx.release_host = 1;
    BENCH_CUDA(cudaEventSynchronize(stop));
    BENCH_CUDA(cudaEventElapsedTime(&ms[i], start, stop));
  }
  BENCH_CUDA(cudaEventDestroy(start));
  BENCH_CUDA(cudaEventDestroy(stop));
  if (exec) BENCH_CUDA(cudaGraphExecDestroy(exec));
  std::sort(ms.begin(), ms.end());
  return 1000.0 * ms[repeats / 2];
}

namespace {
std::vector<std::pair<const char*, Section>>& sections() {
  static std::vector<std::pair<const char*, Section>> s;
  return s;
}
}  // namespace

SectionRegistrar::SectionRegistrar(const char* name, Section fn) {
  sections().emplace_back(name, fn);
}

std::vector<std::pair<const char*, Section>>& registered_sections() {
  return sections();
}

}  // namespace bfi_bench
