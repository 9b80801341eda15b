#include "common/kernel_cache.hpp"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <utility>

namespace baracuda::flashinfer {
namespace {
std::mutex g_mutex;
std::map<std::pair<int, const void*>, KernelResidency> g_cache;
}  // namespace

Status kernel_residency(const char* function, const KernelInfo& kernel, KernelResidency* out) {
  int device = 0;
  BFI_CHECK(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
  const auto key = std::make_pair(device, kernel.func);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_cache.find(key);
    if (it != g_cache.end()) {
      *out = it->second;
      return kSuccess;
    }
  }
  KernelResidency r{device, 0, 0};
  BFI_CHECK(cuda_status(cudaDeviceGetAttribute(&r.sm_count, cudaDevAttrMultiProcessorCount, device),
                        "cudaDeviceGetAttribute(MultiProcessorCount)"));
  BFI_CHECK(
      cuda_status(cudaFuncSetAttribute(kernel.func, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(kernel.smem_bytes)),
                  "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)"));
  BFI_CHECK(cuda_status(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &r.blocks_per_sm, kernel.func, static_cast<int>(kernel.threads), kernel.smem_bytes),
      "cudaOccupancyMaxActiveBlocksPerMultiprocessor"));
  if (r.blocks_per_sm <= 0 || r.sm_count <= 0) {
    return fail(
        kUnsupported,
        "%s: a kernel with %u threads and %u bytes of shared memory cannot run on device %d",
        function, kernel.threads, kernel.smem_bytes, device);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cache[key] = r;
  *out = r;
  return kSuccess;
}

}  // namespace baracuda::flashinfer
