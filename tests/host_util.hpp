// Helpers of the host-only tests: fake pointers that validation must reject before using them,
// the library's last message, and whether a GPU is present (host tests never launch on a GPU).
#pragma once

#include <baracuda/flashinfer.h>

#include <cstdint>
#include <string>

#include "device_probe.hpp"

namespace bfi_test {

// Fake, 4096-byte aligned, never-dereferenced device addresses.
inline void* fake(uintptr_t i) {
  return reinterpret_cast<void*>(0x100000 + 0x1000 * i);
}
inline void* offset(const void* p, uintptr_t bytes) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) + bytes);
}

inline std::string last_error() {
  return baracuda_kernels_flashinfer_last_error();
}
inline bool message_mentions(const char* word) {
  return last_error().find(word) != std::string::npos;
}
inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The status a run with valid sizes and fake (valid-looking) pointers reaches where it first
// needs the device: without a GPU, the device query fails with BARACUDA_FLASHINFER_CUDA_ERROR. With
// a GPU such a call would launch on fake pointers, so host tests never make it there.
constexpr int32_t kNoDeviceStatus = BARACUDA_FLASHINFER_CUDA_ERROR;

}  // namespace bfi_test
