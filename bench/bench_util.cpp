#include "bench_util.hpp"

#include <baracuda/flashinfer.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

namespace bfi_bench {

void check_status(int32_t status, const char* what) {
  if (status == 0) return;
  std::fprintf(stderr, "%s failed: status %d (%s): %s\n", what, status,
               baracuda_kernels_flashinfer_status_string(status),
               baracuda_kernels_flashinfer_last_error());
  std::exit(3);
}

namespace {

Device& mutable_device() {
  static Device d;
  return d;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Device-to-device copy of 1 GiB (random bytes), counting bytes read plus bytes written.
double measure_copy_gbps() {
  const size_t bytes = size_t(1) << 30;
  DeviceBuffer a(bytes), b(bytes);
  fill_random(a.get(), bytes, 2, 5);
  const auto copy = [&] {
    BENCH_CUDA(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, device().stream));
  };
  GpuTimer timer(copy, GpuTimer::Mode::eager, 3);
  std::vector<double> us(20);
  for (double& t : us) t = timer.time_us();
  return 2.0 * bytes / (median(us) * 1e-6) / 1e9;
}

}  // namespace

const Device& device() {
  return mutable_device();
}

void init_device(bool hold) {
  Device& d = mutable_device();
  d.hold = hold;
  BENCH_CUDA(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
  cudaDeviceProp prop;
  BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
  d.name = prop.name;
  d.sm_count = prop.multiProcessorCount;
  d.l2_bytes = size_t(prop.l2CacheSize);
  void* flag = nullptr;
  BENCH_CUDA(cudaHostAlloc(&flag, sizeof(int32_t), cudaHostAllocMapped));
  d.release_host = static_cast<volatile int32_t*>(flag);
  *d.release_host = 1;
  void* flag_device = nullptr;
  BENCH_CUDA(cudaHostGetDevicePointer(&flag_device, flag, 0));
  d.release_device = static_cast<int32_t*>(flag_device);
  d.copy_gbps = measure_copy_gbps();
}

void shutdown_device() {
  Device& d = mutable_device();
  BENCH_CUDA(cudaFreeHost(const_cast<int32_t*>(d.release_host)));
  BENCH_CUDA(cudaStreamDestroy(d.stream));
  d = Device{};
}

GpuTimer::GpuTimer(std::function<void()> call, Mode mode, int warmup)
    : GpuTimer(std::vector<std::function<void()>>{std::move(call)}, mode, warmup) {}

GpuTimer::GpuTimer(std::vector<std::function<void()>> inputs, Mode mode, int warmup)
    : inputs_(std::move(inputs)) {
  const cudaStream_t stream = device().stream;
  if (mode == Mode::graph) {
    for (const auto& call : inputs_) {
      call();  // first-use work (kernel attributes, occupancy queries) outside the capture
      BENCH_CUDA(cudaStreamSynchronize(stream));
      cudaGraph_t graph;
      BENCH_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
      call();
      BENCH_CUDA(cudaStreamEndCapture(stream, &graph));
      cudaGraphExec_t exec;
      BENCH_CUDA(cudaGraphInstantiate(&exec, graph, 0));
      BENCH_CUDA(cudaGraphDestroy(graph));
      graphs_.push_back(exec);
    }
  }
  BENCH_CUDA(cudaEventCreate(&start_));
  BENCH_CUDA(cudaEventCreate(&stop_));
  for (int i = 0; i < warmup; ++i) enqueue(i % inputs_.size());
  BENCH_CUDA(cudaStreamSynchronize(stream));
}

GpuTimer::~GpuTimer() {
  for (cudaGraphExec_t exec : graphs_) BENCH_CUDA(cudaGraphExecDestroy(exec));
  BENCH_CUDA(cudaEventDestroy(start_));
  BENCH_CUDA(cudaEventDestroy(stop_));
}

void GpuTimer::enqueue(size_t input) {
  if (graphs_.empty())
    inputs_[input]();
  else
    BENCH_CUDA(cudaGraphLaunch(graphs_[input], device().stream));
}

double GpuTimer::time_us() {
  const Device& d = device();
  if (d.hold) {
    *d.release_host = 0;
    enqueue_hold(d.stream, d.release_device);
  }
  BENCH_CUDA(cudaEventRecord(start_, d.stream));
  enqueue(next_);
  next_ = (next_ + 1) % inputs_.size();
  BENCH_CUDA(cudaEventRecord(stop_, d.stream));
  if (d.hold) *d.release_host = 1;
  BENCH_CUDA(cudaEventSynchronize(stop_));
  float ms = 0;
  BENCH_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
  return 1000.0 * ms;
}

double Case::run(benchmark::State& state, const std::string& variant,
                 const std::function<std::unique_ptr<GpuTimer>()>& make) {
  std::unique_ptr<GpuTimer>& timer = timers_[variant];
  if (!timer) timer = make();
  double us = 0;
  for (auto _ : state) {
    us = timer->time_us();
    state.SetIterationTime(us * 1e-6);
  }
  times_[variant].push_back(us);
  return us;
}

double Case::median_us(const std::string& variant) const {
  const auto it = times_.find(variant);
  return it == times_.end() ? 0.0 : median(it->second);
}

namespace {
std::string& current_key() {
  static std::string key;
  return key;
}
std::unique_ptr<Case>& current_value() {
  static std::unique_ptr<Case> value;
  return value;
}
}  // namespace

Case* current_case(const std::string& key) {
  return current_value() && current_key() == key ? current_value().get() : nullptr;
}

void release_current_case() {
  current_value().reset();
  current_key().clear();
}

Case& replace_current_case(const std::string& key, std::unique_ptr<Case> made) {
  release_current_case();
  current_key() = key;
  current_value() = std::move(made);
  return *current_value();
}

void add_benchmark(const std::string& section, const std::string& case_name,
                   const std::string& variant, int repeats,
                   std::function<void(benchmark::State&)> body) {
  const std::string name = section + "/" + case_name + "/" + variant;
  benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& state) { body(state); })
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(repeats)
      ->ReportAggregatesOnly(true)
      ->Unit(benchmark::kMicrosecond);
}

void set_bandwidth(benchmark::State& state, double bytes, double us) {
  const double per_second = bytes / (us * 1e-6);
  state.counters["bytes_per_second"] = per_second;
  state.counters["frac"] = per_second / 1e9 / device().copy_gbps;
}

void set_tflops(benchmark::State& state, double flop, double us) {
  state.counters["tflops"] = flop / (us * 1e-6) / 1e12;
}

void set_ratio(benchmark::State& state, const Case& c, const std::string& baseline, double us) {
  const double base = c.median_us(baseline);
  if (base > 0) state.counters["x_vs_" + baseline] = base / us;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes) BENCH_CUDA(cudaMalloc(&ptr_, bytes));
}
DeviceBuffer::~DeviceBuffer() {
  if (ptr_) BENCH_CUDA(cudaFree(ptr_));
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(ptr_, other.ptr_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

DeviceBuffer upload(const std::vector<int32_t>& host) {
  DeviceBuffer d(host.size() * sizeof(int32_t));
  BENCH_CUDA(cudaMemcpy(d.get(), host.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}

void fill_random(void* dst, size_t bytes, int element_bytes, uint32_t seed) {
  std::vector<uint8_t> block(size_t(16) << 20);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (size_t i = 0; i < block.size(); i += element_bytes) {
    if (element_bytes == 1) {
      // sign, exponent field 0-7 (top bit clear), mantissa: finite as e4m3 and e5m2
      block[i] = static_cast<uint8_t>(gen() & 0xBF);
      continue;
    }
    const float f = u(gen);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (element_bytes == 2) {
      const uint16_t bf16 = static_cast<uint16_t>(bits >> 16);
      std::memcpy(&block[i], &bf16, 2);
    } else {
      std::memcpy(&block[i], &bits, 4);
    }
  }
  for (size_t off = 0; off < bytes; off += block.size()) {
    BENCH_CUDA(cudaMemcpy(static_cast<char*>(dst) + off, block.data(),
                          std::min(block.size(), bytes - off), cudaMemcpyHostToDevice));
  }
}

std::vector<Section>& registered_sections() {
  static std::vector<Section> sections;
  return sections;
}

SectionRegistrar::SectionRegistrar(const char* name, const char* summary, int order,
                                   void (*add)()) {
  registered_sections().push_back({name, summary, order, add});
}

}  // namespace bfi_bench
