// The kernel paths a test run forces (the ctest variants in tests/CMakeLists.txt set these
// variables, read by the tests only): every read is here. The library itself reads no variable;
// the tests pass its explicit flags.
#pragma once

#include <baracuda/flashinfer.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace bfi_test {

// BFI_SHARED_PREFIX_PATH=fa2 (a ctest variant): the shared-prefix calls pass
// BARACUDA_FLASHINFER_SHARED_PREFIX_FA2 to shared_prefix_decode_run_with, so the FA2 kernel runs
// where the sm_90a one would. The fused cascades are unaffected.
inline int32_t shared_prefix_flags() {
  const char* v = std::getenv("BFI_SHARED_PREFIX_PATH");
  return v != nullptr && std::strcmp(v, "fa2") == 0 ? 1 : 0;
}

// BFI_TEST_SAMPLING_KERNEL=flashinfer (a ctest variant): the sampler calls go through
// sampling_run_with with BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL, so FlashInfer's
// one-CTA-per-row samplers (and logits kernel) run where sm_90 would run the threshold kernel.
// Otherwise BARACUDA_FLASHINFER_SAMPLING_AUTO: the per-sampler symbols.
inline int32_t sampling_flags() {
  const char* v = std::getenv("BFI_TEST_SAMPLING_KERNEL");
  return v != nullptr && std::strcmp(v, "flashinfer") == 0
             ? BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL
             : BARACUDA_FLASHINFER_SAMPLING_AUTO;
}

}  // namespace bfi_test
