// Helpers of the host-only tests: fake pointers that validation must reject before using them,
// the library's last message, and whether a GPU is present (host tests never launch on a GPU).
#pragma once

#include <baracuda/flashinfer.h>

#include <cstdint>
#include <string>

namespace bfi_test {

// Fake, aligned, never-dereferenced device addresses.
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

// True when a CUDA device answers: a device query through the library gives 0 with a device and
// 5 without; 3 only when that decode head dim is not built, so try each. When unsure, assume a
// GPU, so that calls with valid sizes and fake pointers are never made.
inline bool have_gpu() {
  for (int32_t head_dim : {64, 128, 256}) {
    size_t bytes = 0;
    const int32_t st = baracuda_kernels_flashinfer_paged_decode_get_workspace_size(
        1, 8, 8, head_dim, 16, 0, &bytes);
    if (st == 0 || st == 5) return st == 0;
  }
  return true;
}

}  // namespace bfi_test
