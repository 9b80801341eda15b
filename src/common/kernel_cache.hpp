// Per-device facts about our kernels, queried once and cached: SM count, occupancy, and the
// dynamic shared-memory opt-in. Keeps device queries off the steady-state run path.
#pragma once

#include <cstdint>

#include "common/status.hpp"

namespace baracuda::flashinfer {

// A kernel and the launch resources that determine its occupancy.
struct KernelInfo {
  const void* func;
  uint32_t threads;
  uint32_t smem_bytes;
};

struct KernelResidency {
  int device;
  int sm_count;
  int blocks_per_sm;  // resident CTAs per SM at `threads` and `smem_bytes`
};

// Residency of `kernel` on the calling thread's current device. The first call per
// (device, kernel) raises the kernel's dynamic shared-memory limit and queries occupancy.
Status kernel_residency(const char* function, const KernelInfo& kernel, KernelResidency* out);

}  // namespace baracuda::flashinfer
