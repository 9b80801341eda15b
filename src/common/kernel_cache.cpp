#include "common/kernel_cache.hpp"

namespace baracuda::flashinfer {

Status kernel_residency(const char* function, const KernelInfo& kernel, KernelResidency* out) {
  DeviceContext* context = nullptr;
  BFI_CHECK(current_device_context(function, &context));
  int32_t blocks = 0;
  BFI_CHECK(context->residency(function, kernel, &blocks));
  *out = KernelResidency{context->facts().ordinal, context->facts().sm_count, blocks};
  return kSuccess;
}

}  // namespace baracuda::flashinfer
