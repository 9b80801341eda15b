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

}  // namespace baracuda::flashinfer
