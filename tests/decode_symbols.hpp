// The paged-decode run and can_implement symbols indexed by element code (0..6), for tests.
#pragma once

#include <baracuda/flashinfer.h>

namespace bfi_test {

constexpr int32_t kDecodeElements = 7;
inline const char* const kDecodeElementNames[kDecodeElements] = {
    "f16", "bf16", "f32", "f16_e4m3", "f16_e5m2", "bf16_e4m3", "bf16_e5m2"};

using DecodeRunFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, float, void*, void*,
                                void*, void*, void*, const void*, void*, void*, void*, size_t,
                                baracuda_flashinfer_stream_t);
using DecodeCanFn = int32_t (*)(int32_t, int32_t, int32_t, int32_t, int32_t, float);

#define BFI_DECODE_SYMBOLS(SUFFIX)                                   \
  {                                                                  \
    baracuda_kernels_flashinfer_paged_decode_f16_##SUFFIX,           \
        baracuda_kernels_flashinfer_paged_decode_bf16_##SUFFIX,      \
        baracuda_kernels_flashinfer_paged_decode_f32_##SUFFIX,       \
        baracuda_kernels_flashinfer_paged_decode_f16_e4m3_##SUFFIX,  \
        baracuda_kernels_flashinfer_paged_decode_f16_e5m2_##SUFFIX,  \
        baracuda_kernels_flashinfer_paged_decode_bf16_e4m3_##SUFFIX, \
        baracuda_kernels_flashinfer_paged_decode_bf16_e5m2_##SUFFIX  \
  }
inline const DecodeRunFn kDecodeRun[kDecodeElements] = BFI_DECODE_SYMBOLS(run);
inline const DecodeCanFn kDecodeCan[kDecodeElements] = BFI_DECODE_SYMBOLS(can_implement);
#undef BFI_DECODE_SYMBOLS

}  // namespace bfi_test
