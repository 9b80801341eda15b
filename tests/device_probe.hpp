// The one question every test asks of the machine: is a CUDA device usable, and which one is it.
// Asked through the CUDA runtime (not the library under test); the answer is cached.
#pragma once

#include <cuda_runtime_api.h>

namespace bfi_test {

struct DeviceFacts {
  bool present = false;
  int major = 0, minor = 0;  // compute capability of the current device
};

inline const DeviceFacts& device_facts() {
  static const DeviceFacts facts = [] {
    DeviceFacts f;
    int count = 0, device = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      cudaGetLastError();  // clear the error: later CUDA calls must not see it
      return f;
    }
    f.present =
        cudaGetDevice(&device) == cudaSuccess &&
        cudaDeviceGetAttribute(&f.major, cudaDevAttrComputeCapabilityMajor, device) ==
            cudaSuccess &&
        cudaDeviceGetAttribute(&f.minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    return f;
  }();
  return facts;
}

inline bool gpu_present() {
  return device_facts().present;
}

// Compute capability 9.0 (H100, H200): where the sm_90a kernels of the library run.
inline bool is_sm90() {
  return gpu_present() && device_facts().major == 9 && device_facts().minor == 0;
}

}  // namespace bfi_test
