// Shared benchmark plumbing: event timing (median of repeats after warm-up, optionally through a
// CUDA graph), the card's copy bandwidth, and result rows printed as a table and written as JSON.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bfi_bench {

#define BENCH_CUDA(call)                                                                          \
  do {                                                                                            \
    cudaError_t e_ = (call);                                                                      \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(2);                                                                               \
    }                                                                                             \
  } while (0)

// Exits with a message when a library call fails (benchmarks only run valid problems).
void check_status(int32_t status, const char* what);

struct Row {
  std::string section;                   // e.g. "decode"
  std::string name;                      // e.g. "bf16 32/8 hd128 p16 B=1 L=32768"
  std::map<std::string, double> values;  // e.g. {"us": 63.1, "frac": 0.71}
  std::string note;                      // free text (e.g. "target >= 0.75: PASS")
};

struct Context {
  cudaStream_t stream = nullptr;
  // "hold" (default): each timed call is enqueued behind a held stream (bench_hold.cu), so the
  // events time the GPU's work only. "submit" (BFI_BENCH_TIMER=submit): the start event fires
  // while the host is still submitting the call, so its submission is counted too.
  std::string timer = "hold";
  volatile int32_t* release_host = nullptr;  // the hold's flag, host-mapped
  int32_t* release_device = nullptr;
  double copy_gbps = 0;  // device-to-device copy, bytes read + written, GB/s
  std::string device_name;
  std::vector<Row> rows;
  void add(Row row);
};

// Median time in microseconds of `fn` enqueued on ctx.stream: `warmup` untimed calls, then
// `repeats` calls each timed with events (behind a hold, see Context::timer). With `graph`, fn is
// captured once into a CUDA graph and the graph launches are timed instead (as an engine using
// graphs runs it: no per-kernel launch from the host).
double time_us(Context& ctx, const std::function<void()>& fn, int repeats = 50, int warmup = 5,
               bool graph = false);

// Sets ctx.timer from BFI_BENCH_TIMER and allocates the hold's flag.
void init_timer(Context& ctx);
// Enqueues the hold on `stream`: it spins until *release (host-mapped) is non-zero.
void enqueue_hold(cudaStream_t stream, const volatile int32_t* release_device);

// One benchmark family: a function that appends rows.
using Section = void (*)(Context&);
struct SectionRegistrar {
  SectionRegistrar(const char* name, Section fn);
};
#define BENCH_SECTION(name)                                                                 \
  static void bench_section_##name(::bfi_bench::Context&);                                  \
  static ::bfi_bench::SectionRegistrar bench_registrar_##name(#name, bench_section_##name); \
  static void bench_section_##name(::bfi_bench::Context& ctx)

}  // namespace bfi_bench

namespace bfi_bench {
std::vector<std::pair<const char*, Section>>& registered_sections();
}  // namespace bfi_bench
