// Versioned output structs of the C ABI: the caller sets struct_size to the size it was compiled
// with; the library writes only the bytes that fit, so fields appended later never overrun an
// older caller's struct.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace baracuda::flashinfer {

template <typename T>
void write_versioned(T* out, const T& full) {
  const size_t caller_size = out->struct_size;
  std::memcpy(static_cast<void*>(out), &full, std::min(caller_size, sizeof(T)));
  out->struct_size = caller_size;
}

}  // namespace baracuda::flashinfer
