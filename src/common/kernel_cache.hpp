// Transitional: the residency query on the calling thread's current device, for the families not
// yet sizing their work from their stream's DeviceContext (common/device_context.hpp).
#pragma once

#include <cstdint>

#include "common/device_context.hpp"
#include "common/status.hpp"

namespace baracuda::flashinfer {

struct KernelResidency {
  int device;
  int sm_count;
  int blocks_per_sm;  // resident CTAs per SM at `threads` and `smem_bytes`
};

Status kernel_residency(const char* function, const KernelInfo& kernel, KernelResidency* out);

}  // namespace baracuda::flashinfer
