// The library's internal paths that a test run can force through environment variables (the
// ctest variants in tests/CMakeLists.txt set them). Every read of those variables in the tests is
// here, so that moving to explicit flags changes this file and that CMake list only.
#pragma once

#include <cstdlib>
#include <cstring>

namespace bfi_test {

// BFI_SHARED_PREFIX_PATH=fa2: shared prefix on the FA2 kernel where the sm_90a one would run (the
// fused cascades then refuse with BARACUDA_FLASHINFER_UNSUPPORTED).
inline bool shared_prefix_forced_to_fa2() {
  const char* v = std::getenv("BFI_SHARED_PREFIX_PATH");
  return v != nullptr && std::strcmp(v, "fa2") == 0;
}

// BFI_SAMPLING_PATH=flashinfer: FlashInfer's one-CTA-per-row samplers (and logits kernel) where
// sm_90 would run the library's threshold kernel.
inline bool sampling_forced_to_flashinfer() {
  const char* v = std::getenv("BFI_SAMPLING_PATH");
  return v != nullptr && std::strcmp(v, "flashinfer") == 0;
}

}  // namespace bfi_test
