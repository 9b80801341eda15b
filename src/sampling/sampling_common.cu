// Shared device pieces of the sampling family: the `valid` sink and the offset advance kernel.
#include <cuda_runtime.h>

#include <mutex>

#include "sampling/sampling_launch.hpp"

namespace baracuda::flashinfer::sampling {

namespace {

// FlashInfer's samplers write valid[row] unconditionally. When the caller passes NULL, the rows
// write here instead: static module memory (loaded with the library's kernels, never allocated
// per call). Nobody reads it, so concurrent calls may share it.
__device__ bool g_valid_sink[kMaxBatch];

// Advances the device-side Philox offset after a sampler has read it (same stream, so ordered).
__global__ void advance_offset_kernel(uint64_t* offset, uint64_t step) {
  *offset += step;
}

constexpr int kMaxDevices = 64;
std::mutex g_sink_mutex;
bool* g_sink_by_device[kMaxDevices] = {};

}  // namespace

cudaError_t valid_sink(bool** out) {
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  if (device >= 0 && device < kMaxDevices && g_sink_by_device[device] != nullptr) {
    *out = g_sink_by_device[device];
    return cudaSuccess;
  }
  void* address = nullptr;
  err = cudaGetSymbolAddress(&address, g_valid_sink);
  if (err != cudaSuccess) return err;
  if (device >= 0 && device < kMaxDevices) g_sink_by_device[device] = static_cast<bool*>(address);
  *out = static_cast<bool*>(address);
  return cudaSuccess;
}

cudaError_t launch_advance_offset(uint64_t* offset_ptr, uint64_t step, cudaStream_t stream) {
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(1);
  config.blockDim = dim3(1);
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  return cudaLaunchKernelEx(&config, advance_offset_kernel, offset_ptr, step);
}

}  // namespace baracuda::flashinfer::sampling
