// Exits 0 when a CUDA device is usable, 77 (ctest's skip code in tests/CMakeLists.txt) otherwise.
#include <cstdio>

#include "device_probe.hpp"

int main() {
  if (bfi_test::gpu_present()) return 0;
  std::printf("no CUDA device: skipped\n");
  return 77;
}
