// Sort-free sampling vs the sort-based pipeline a framework user writes, same run and card:
// vocab 128256, batch {1, 32, 128, 512}, top-k 50 + top-p 0.9 on f32 probabilities
// (softmax of N(0, 3^2) logits). Variants, in the order they run:
//   sort               the baseline: cub::DeviceSegmentedRadixSort::SortPairsDescending on
//                      (prob, index) per row, cub::DeviceSegmentedScan cumsum, a mask kernel
//                      (top-k and top-p, as torch code masks sorted probs), a second cumsum of
//                      the masked row and a multinomial draw (binary search of u * total), all
//                      temp storage allocated outside the timing; graph-replayed
//   graph              top-k + top-p through sampling_run_with with a device offset
//                      (graph-replayable) and BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL: the
//                      library's threshold kernel, what top_k_top_p_sampling_f32_ex runs on sm_90
//   eager              the same, plain launches
//   flashinfer_kernel  the same call with BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL:
//                      FlashInfer's one-CTA-per-row rejection sampler, graph-replayed
// Targets: <= 50 us at B = 1, <= 150 us at B = 128, >= 10x faster than sorting. Where the device
// cannot hold a row in the threshold kernel (below sm_90: one CTA's shared memory), graph and
// eager are not registered.
//
// This file is compiled as CUDA (src/sampling/sources.cmake sets that): the baseline's CUB
// kernels need nvcc. Compiled by a host compiler it benches the sort-free path only.
#include <baracuda/flashinfer.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"

#if defined(__CUDACC__)
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cub/device/device_segmented_scan.cuh>
#include <curand_kernel.h>
#endif

using namespace bfi_bench;

namespace {

constexpr int32_t kVocab = 128256, kTopK = 50;
constexpr float kTopP = 0.9f;

std::vector<float> softmax_rows(int32_t batch) {
  std::mt19937 gen(2024);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> p(size_t(batch) * kVocab);
  for (int32_t b = 0; b < batch; ++b) {
    float* row = &p[size_t(b) * kVocab];
    double mx = -1e30, sum = 0;
    for (int32_t i = 0; i < kVocab; ++i) mx = std::max<double>(mx, row[i] = normal(gen));
    for (int32_t i = 0; i < kVocab; ++i) sum += std::exp(row[i] - mx);
    for (int32_t i = 0; i < kVocab; ++i) row[i] = static_cast<float>(std::exp(row[i] - mx) / sum);
  }
  return p;
}

#if defined(__CUDACC__)
// Sorted probs -> masked probs: keep sorted position j iff j < k and the mass before it < p.
__global__ void mask_kernel(const float* sorted, const float* cumsum, float* masked, int32_t vocab,
                            int32_t k, float p) {
  const size_t row = blockIdx.y;
  for (int32_t j = blockIdx.x * blockDim.x + threadIdx.x; j < vocab; j += gridDim.x * blockDim.x) {
    const size_t i = row * vocab + j;
    const bool keep = j < k && cumsum[i] - sorted[i] < p;
    masked[i] = keep ? sorted[i] : 0.f;
  }
}

// Multinomial draw over the masked row's cumsum: first position whose cumsum exceeds u * total.
__global__ void draw_kernel(const float* cumsum, const int32_t* sorted_ids, int32_t* out,
                            int32_t vocab, uint64_t seed) {
  const int32_t row = blockIdx.x;  // one thread per row
  curandStatePhilox4_32_10_t state;
  curand_init(seed, row, 0, &state);
  const float* c = cumsum + size_t(row) * vocab;
  const float u = curand_uniform(&state) * c[vocab - 1];
  int32_t lo = 0, hi = vocab - 1;
  while (lo < hi) {
    const int32_t mid = (lo + hi) / 2;
    if (c[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  out[row] = sorted_ids[size_t(row) * vocab + lo];
}

__global__ void iota_rows(int32_t* ids, int32_t* offsets, int32_t batch, int32_t vocab) {
  const size_t n = size_t(batch) * vocab;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    ids[i] = static_cast<int32_t>(i % vocab);
  }
  const int32_t t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t <= batch) offsets[t] = t * vocab;
}

// The sort-based pipeline with every buffer preallocated.
struct SortBaseline {
  int32_t batch;
  float *keys_out = nullptr, *cumsum = nullptr, *masked = nullptr;
  int32_t *ids_in = nullptr, *ids_out = nullptr, *offsets = nullptr, *out = nullptr;
  void* temp = nullptr;
  size_t sort_bytes = 0, scan_bytes = 0;

  explicit SortBaseline(int32_t b) : batch(b) {
    const size_t n = size_t(b) * kVocab;
    BENCH_CUDA(cudaMalloc(&keys_out, n * 4));
    BENCH_CUDA(cudaMalloc(&cumsum, n * 4));
    BENCH_CUDA(cudaMalloc(&masked, n * 4));
    BENCH_CUDA(cudaMalloc(&ids_in, n * 4));
    BENCH_CUDA(cudaMalloc(&ids_out, n * 4));
    BENCH_CUDA(cudaMalloc(&offsets, (b + 1) * 4));
    BENCH_CUDA(cudaMalloc(&out, b * 4));
    iota_rows<<<1024, 256>>>(ids_in, offsets, b, kVocab);
    BENCH_CUDA(cudaGetLastError());
    BENCH_CUDA(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        nullptr, sort_bytes, keys_out, keys_out, ids_in, ids_out, int64_t(n), b, offsets,
        offsets + 1));
    BENCH_CUDA(cub::DeviceSegmentedScan::InclusiveSegmentedSum(nullptr, scan_bytes, keys_out,
                                                               cumsum, offsets, offsets + 1, b));
    BENCH_CUDA(cudaMalloc(&temp, std::max(sort_bytes, scan_bytes)));
    BENCH_CUDA(cudaDeviceSynchronize());
  }
  ~SortBaseline() {
    for (void* p : {(void*)keys_out, (void*)cumsum, (void*)masked, (void*)ids_in, (void*)ids_out,
                    (void*)offsets, (void*)out, temp}) {
      cudaFree(p);
    }
  }
  void run(const float* probs, cudaStream_t s) {
    const int64_t n = int64_t(batch) * kVocab;
    size_t bytes = sort_bytes;
    BENCH_CUDA(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        temp, bytes, probs, keys_out, ids_in, ids_out, n, batch, offsets, offsets + 1, 0, 32, s));
    bytes = scan_bytes;
    BENCH_CUDA(cub::DeviceSegmentedScan::InclusiveSegmentedSum(temp, bytes, keys_out, cumsum,
                                                               offsets, offsets + 1, batch, s));
    mask_kernel<<<dim3(64, batch), 256, 0, s>>>(keys_out, cumsum, masked, kVocab, kTopK, kTopP);
    BENCH_CUDA(cudaGetLastError());
    bytes = scan_bytes;
    BENCH_CUDA(cub::DeviceSegmentedScan::InclusiveSegmentedSum(temp, bytes, masked, cumsum, offsets,
                                                               offsets + 1, batch, s));
    draw_kernel<<<batch, 1, 0, s>>>(cumsum, ids_out, out, kVocab, 7);
    BENCH_CUDA(cudaGetLastError());
  }
};
#endif

// The probabilities of `batch` rows, and the sampler's outputs.
class SamplingCase : public Case {
 public:
  explicit SamplingCase(int32_t batch)
      : batch(batch),
        probs(size_t(batch) * kVocab * 4),
        out(batch * 4),
        valid(batch),
        seed(8),
        offset(8) {
    const std::vector<float> host = softmax_rows(batch);
    BENCH_CUDA(cudaMemcpy(probs.get(), host.data(), probs.bytes(), cudaMemcpyHostToDevice));
    BENCH_CUDA(cudaMemset(seed.get(), 0, 8));
    BENCH_CUDA(cudaMemset(offset.get(), 0, 8));
  }
  // Top-k + top-p on the kernel `flags` names (a baracuda_flashinfer_sampling_flags value).
  std::function<void()> sort_free(int32_t flags) const {
    return [this, flags] {
      check_status(
          baracuda_kernels_flashinfer_sampling_run_with(
              BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, flags, batch, kVocab, kTopK, nullptr, kTopP,
              nullptr, /*deterministic=*/1, 0, seed.get(), 0, offset.get(), probs.get(), out.get(),
              valid.get(), reinterpret_cast<baracuda_flashinfer_stream_t>(device().stream)),
          "sampling_run_with");
    };
  }
  int32_t batch;
  DeviceBuffer probs, out, valid, seed, offset;
#if defined(__CUDACC__)
  std::unique_ptr<SortBaseline> baseline;
#endif
};

std::string sampling_case_name(int32_t batch) {
  return "top-k 50 + top-p 0.9 f32 V=" + std::to_string(kVocab) + " B=" + std::to_string(batch);
}

SamplingCase& sampling_case(int32_t batch) {
  return shared_case<SamplingCase>("sampling/" + sampling_case_name(batch),
                                   [batch] { return std::make_unique<SamplingCase>(batch); });
}

std::string targets(int32_t batch) {
  std::string t = batch == 1 ? "target us <= 50; " : batch == 128 ? "target us <= 150; " : "";
#if defined(__CUDACC__)
  return t + "target x_vs_sort >= 10";
#else
  return t + "no sort baseline (bench_sampling.cpp not compiled as CUDA)";
#endif
}

}  // namespace

BFI_BENCH_SECTION(sampling, 60, "top-k + top-p sampling: sort-free vs sort-based") {
  using Mode = GpuTimer::Mode;
  constexpr int32_t kThreshold = BARACUDA_FLASHINFER_SAMPLING_THRESHOLD_KERNEL;
  constexpr int32_t kFlashInfer = BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL;
  for (const int32_t batch : {1, 32, 128, 512}) {
    const std::string name = sampling_case_name(batch);
    const bool threshold_fits =
        baracuda_kernels_flashinfer_sampling_run_with_can_implement(
            BARACUDA_FLASHINFER_SAMPLER_TOP_K_TOP_P, kThreshold, batch, kVocab, kTopK, kTopP) == 0;
#if defined(__CUDACC__)
    add_benchmark("sampling", name, "sort", 20, [batch](benchmark::State& state) {
      SamplingCase& c = sampling_case(batch);
      c.run(state, "sort", [&] {
        c.baseline = std::make_unique<SortBaseline>(batch);
        return std::make_unique<GpuTimer>(
            [&c] { c.baseline->run(static_cast<const float*>(c.probs.get()), device().stream); },
            Mode::graph, 3);
      });
    });
#endif
    if (threshold_fits) {
      add_benchmark("sampling", name, "graph", 50, [batch](benchmark::State& state) {
        SamplingCase& c = sampling_case(batch);
        const double us = c.run(state, "graph", [&] {
          return std::make_unique<GpuTimer>(c.sort_free(kThreshold), Mode::graph, 5);
        });
        set_ratio(state, c, "sort", us);
        state.SetLabel(targets(batch));
      });
      add_benchmark("sampling", name, "eager", 50, [batch](benchmark::State& state) {
        SamplingCase& c = sampling_case(batch);
        c.run(state, "eager",
              [&] { return std::make_unique<GpuTimer>(c.sort_free(kThreshold), Mode::eager, 5); });
      });
    }
    add_benchmark("sampling", name, "flashinfer_kernel", 50, [batch](benchmark::State& state) {
      SamplingCase& c = sampling_case(batch);
      c.run(state, "flashinfer_kernel",
            [&] { return std::make_unique<GpuTimer>(c.sort_free(kFlashInfer), Mode::graph, 5); });
    });
  }
}
