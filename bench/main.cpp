// The benchmark program: measures the card's copy bandwidth, then runs every registered section
// (or those named on the command line), printing a table and writing JSON.
//   bfi_bench [--json FILE] [SECTION...]
#include <baracuda/flashinfer.h>

#include <cstring>
#include <ctime>
#include <set>
#include <string>

#include "bench_util.hpp"

using namespace bfi_bench;

namespace {

// Device-to-device copy of 1 GiB, counting bytes read plus bytes written.
double measure_copy_gbps(Context& ctx) {
  const size_t bytes = size_t(1) << 30;
  void *a, *b;
  BENCH_CUDA(cudaMalloc(&a, bytes));
  BENCH_CUDA(cudaMalloc(&b, bytes));
  BENCH_CUDA(cudaMemset(a, 1, bytes));
  const double us = time_us(
      ctx, [&] { BENCH_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, ctx.stream)); },
      20, 3);
  BENCH_CUDA(cudaFree(a));
  BENCH_CUDA(cudaFree(b));
  return 2.0 * bytes / (us * 1e-6) / 1e9;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  std::set<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else
      only.insert(argv[i]);
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bfi_bench: no CUDA device, nothing to measure.\n");
    return 0;
  }
  Context ctx;
  BENCH_CUDA(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
  cudaDeviceProp prop;
  BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
  ctx.device_name = prop.name;
  init_timer(ctx);
  ctx.copy_gbps = measure_copy_gbps(ctx);
  std::printf("device: %s (%d SMs)  library: %s\n", prop.name, prop.multiProcessorCount,
              baracuda_kernels_flashinfer_version_string());
  std::printf("copy bandwidth (read+write): %.0f GB/s  timer: %s\n", ctx.copy_gbps,
              ctx.timer.c_str());
  for (auto& [name, fn] : registered_sections()) {
    if (only.empty() || only.count(name)) fn(ctx);
  }
  if (json_path) {
    FILE* f = std::fopen(json_path, "w");
    if (!f) {
      std::perror(json_path);
      return 1;
    }
    std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
    std::fprintf(f,
                 "{\n  \"device\": \"%s\",\n  \"date\": \"%s\",\n  \"library\": \"%s\",\n  "
                 "\"copy_gbps\": %.1f,\n  \"timer\": \"%s\",\n  \"rows\": [\n",
                 json_escape(ctx.device_name).c_str(), date,
                 json_escape(baracuda_kernels_flashinfer_version_string()).c_str(), ctx.copy_gbps,
                 ctx.timer.c_str());
    for (size_t i = 0; i < ctx.rows.size(); ++i) {
      const Row& r = ctx.rows[i];
      std::fprintf(f, "    {\"section\": \"%s\", \"name\": \"%s\", \"note\": \"%s\"",
                   json_escape(r.section).c_str(), json_escape(r.name).c_str(),
                   json_escape(r.note).c_str());
      for (const auto& kv : r.values)
        std::fprintf(f, ", \"%s\": %.6g", json_escape(kv.first).c_str(), kv.second);
      std::fprintf(f, "}%s\n", i + 1 < ctx.rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return 0;
}
