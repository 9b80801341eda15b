// The paged-decode element codes and their per-dtype symbols (run, can_implement): the
// parameters of the decode tests (one test instance per element).
#pragma once

#include <baracuda/flashinfer.h>

#include <cstdint>
#include <ostream>

namespace bfi_test {

using DecodeRunFn = decltype(&baracuda_kernels_flashinfer_paged_decode_f16_run);
using DecodeCanFn = decltype(&baracuda_kernels_flashinfer_paged_decode_f16_can_implement);

struct DecodeSymbols {
  int32_t element;
  const char* name;
  DecodeRunFn run;
  DecodeCanFn can_implement;
};
inline std::ostream& operator<<(std::ostream& os, const DecodeSymbols& s) {
  return os << s.name;
}

#define BFI_FI(NAME) baracuda_kernels_flashinfer_##NAME
inline const DecodeSymbols kDecodeSymbols[] = {
    {0, "f16", BFI_FI(paged_decode_f16_run), BFI_FI(paged_decode_f16_can_implement)},
    {1, "bf16", BFI_FI(paged_decode_bf16_run), BFI_FI(paged_decode_bf16_can_implement)},
    {2, "f32", BFI_FI(paged_decode_f32_run), BFI_FI(paged_decode_f32_can_implement)},
    {3, "f16_e4m3", BFI_FI(paged_decode_f16_e4m3_run), BFI_FI(paged_decode_f16_e4m3_can_implement)},
    {4, "f16_e5m2", BFI_FI(paged_decode_f16_e5m2_run), BFI_FI(paged_decode_f16_e5m2_can_implement)},
    {5, "bf16_e4m3", BFI_FI(paged_decode_bf16_e4m3_run),
     BFI_FI(paged_decode_bf16_e4m3_can_implement)},
    {6, "bf16_e5m2", BFI_FI(paged_decode_bf16_e5m2_run),
     BFI_FI(paged_decode_bf16_e5m2_can_implement)},
};
#undef BFI_FI
constexpr int32_t kDecodeElements = sizeof(kDecodeSymbols) / sizeof(kDecodeSymbols[0]);

}  // namespace bfi_test
