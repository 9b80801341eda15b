// Shared device pieces of the sampling family: the `valid` sink and the offset advance kernel.
#include <cuda_runtime.h>

#include "common/launch.cuh"
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

}  // namespace

Status valid_sink(const char* fn, DeviceContext& context, bool** out) {
  void* address = nullptr;
  BFI_CHECK(context.symbol_address(fn, &g_valid_sink, &address));
  *out = static_cast<bool*>(address);
  return kSuccess;
}

cudaError_t launch_advance_offset(uint64_t* offset_ptr, uint64_t step, cudaStream_t stream) {
  return launch_kernel(advance_offset_kernel, dim3(1), dim3(1), 0, stream, offset_ptr, step);
}

}  // namespace baracuda::flashinfer::sampling
