// Element codes (baracuda_flashinfer_element) and what the library knows about each.
#pragma once

#include <baracuda/flashinfer.h>

#include <cstddef>
#include <cstdint>

namespace baracuda::flashinfer {

// Every pointer to an attention tensor (q, o, K/V pages, workspace) is 16-byte aligned.
constexpr size_t kAlign = 16;

// "f16", "bf16_e4m3", ...; "?" for an unknown code.
const char* element_name(int32_t element);

// The elements whose K/V pages hold fp8 (e4m3 or e5m2) values.
constexpr bool element_has_fp8_kv(int32_t element) {
  return element >= BARACUDA_FLASHINFER_F16_E4M3 && element <= BARACUDA_FLASHINFER_BF16_E5M2;
}

}  // namespace baracuda::flashinfer
