// Shared benchmark plumbing on Google Benchmark (bench/main.cpp runs it): the card's facts and
// copy bandwidth, measured once per run; the GPU timer every benchmark uses; the setup shared by
// the variants of one case; random inputs; and the section registry.
//
// Names: every benchmark is "<section>/<case>/<variant>", e.g.
// "decode/bf16 32/8 hd128 p16 B=1 L=32768/graph". The case is one problem (a shape); its
// variants are the ways of running it (auto path eager or graph-replayed, a forced path, a
// baseline), registered one after another so that they run one after another on one setup.
//
// Timing: manual time, one timed GPU call per repetition. GpuTimer enqueues the call behind a
// stream hold (bench_hold.cu), records CUDA events around it and only then releases the hold, so
// the events time the GPU's work, not the host's submission of it. A variant is registered with
// `repeats` repetitions of one iteration: Google Benchmark's median aggregate is the median of
// that many timed calls, taken after the timer's untimed warm-up.
//
// Counters are computed from the measured GPU time (never Google Benchmark's kIsRate, which
// divides by the host's CPU time): "frac" (bytes / time / the run's copy bandwidth),
// "bytes_per_second", "tflops", and "x_vs_<variant>" (that variant's median time over this
// one's: above 1, this one is faster). A label "target <counter> >= <value>" (or "<=", several
// joined by "; ") states a goal the end-of-run table checks; "us" names the time itself.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
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

// The card and the run's settings, filled by init_device before any benchmark is registered.
struct Device {
  cudaStream_t stream = nullptr;
  std::string name;
  int sm_count = 0;
  size_t l2_bytes = 0;
  double copy_gbps = 0;  // device-to-device copy of 1 GiB, bytes read + written, GB/s
  // false (--timer=submit): the start event fires while the host still submits the call, so the
  // submission is timed too.
  bool hold = true;
  volatile int32_t* release_host = nullptr;  // the hold's flag, host-mapped
  int32_t* release_device = nullptr;
};
const Device& device();
// Creates the stream and the hold's flag, reads the card's facts, measures the copy bandwidth.
void init_device(bool hold);
void shutdown_device();

// Enqueues the hold on `stream`: it spins until *release (host-mapped) is non-zero.
void enqueue_hold(cudaStream_t stream, const volatile int32_t* release);

// Times one GPU call: a function that enqueues work on device().stream.
class GpuTimer {
 public:
  enum class Mode { eager, graph };
  // `inputs`: one enqueue function per input set; consecutive timed calls rotate through them, so
  // that a problem smaller than the L2 is not served from it by the previous call. Mode::graph
  // captures each into a CUDA graph after one eager call (first-use work stays out of the
  // capture) and times the graph launches, as an engine that replays graphs runs them.
  // `warmup` untimed calls follow.
  GpuTimer(std::vector<std::function<void()>> inputs, Mode mode, int warmup);
  GpuTimer(std::function<void()> call, Mode mode, int warmup);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  double time_us();  // one timed call, microseconds

 private:
  void enqueue(size_t input);
  std::vector<std::function<void()>> inputs_;
  std::vector<cudaGraphExec_t> graphs_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  size_t next_ = 0;
};

// The setup of one case (buffers, page tables), shared by its variants, with each variant's
// timer and the times it measured (for the x_vs_<variant> ratios).
class Case {
 public:
  virtual ~Case() = default;
  // Runs one repetition of `variant`: its timer (made by `make` on the variant's first
  // repetition, so graph capture and warm-up happen once) times the benchmark's iteration; the
  // time is recorded and returned (µs).
  double run(benchmark::State& state, const std::string& variant,
             const std::function<std::unique_ptr<GpuTimer>()>& make);
  // Median time of a variant measured on this setup; 0 when it has not run (filtered out).
  double median_us(const std::string& variant) const;

 private:
  std::map<std::string, std::unique_ptr<GpuTimer>> timers_;
  std::map<std::string, std::vector<double>> times_;
};

// The case named `key`, made by `make` unless it is the one made last. One case lives at a time:
// the previous one is freed before a new one is made.
Case* current_case(const std::string& key);
void release_current_case();
Case& replace_current_case(const std::string& key, std::unique_ptr<Case> made);
template <class T, class Make>
T& shared_case(const std::string& key, Make&& make) {
  if (Case* c = current_case(key)) return static_cast<T&>(*c);
  release_current_case();
  return static_cast<T&>(replace_current_case(key, make()));
}

// Registers "<section>/<case>/<variant>" with manual time, `repeats` repetitions of one
// iteration, reported as aggregates (median, mean, stddev, cv), in microseconds.
void add_benchmark(const std::string& section, const std::string& case_name,
                   const std::string& variant, int repeats,
                   std::function<void(benchmark::State&)> body);

// Counters from a repetition's time.
void set_bandwidth(benchmark::State& state, double bytes, double us);  // bytes_per_second, frac
void set_tflops(benchmark::State& state, double flop, double us);
// x_vs_<baseline> = baseline's median / us, when the baseline ran on this case.
void set_ratio(benchmark::State& state, const Case& c, const std::string& baseline, double us);

// Device memory that frees itself (benchmarks allocate per case).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};
DeviceBuffer upload(const std::vector<int32_t>& host);

// Fills device memory with random values (never zeros, which can run faster than real data)
// by repeating a 16 MiB random block: element_bytes 2 gives bf16 in [-1, 1]; 1 gives fp8 with
// the top exponent bit clear, finite and below 2 both as e4m3 and as e5m2; 4 gives f32 in
// [-1, 1].
void fill_random(void* dst, size_t bytes, int element_bytes, uint32_t seed);

// One benchmark section: a function that registers its benchmarks, run when the section is
// selected (bfi_bench [SECTION...]). `order` sorts the sections of the program.
struct Section {
  const char* name;
  const char* summary;
  int order;
  void (*add)();
};
std::vector<Section>& registered_sections();
struct SectionRegistrar {
  SectionRegistrar(const char* name, const char* summary, int order, void (*add)());
};
#define BFI_BENCH_SECTION(name, order, summary)                                      \
  static void bench_section_##name();                                                \
  static ::bfi_bench::SectionRegistrar bench_registrar_##name(#name, summary, order, \
                                                              bench_section_##name); \
  static void bench_section_##name()

}  // namespace bfi_bench
