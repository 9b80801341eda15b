// Body of each generated instantiation TU (decode_<element>_hd<D>.cu): every compiled GQA group
// of one (element, head_dim). The lists come from CMake (BFI_DECODE_* in CMakeLists.txt).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "common/attention_finalize.cuh"
#include "decode/decode_kernels.cuh"
#include "decode_config.inc"  // generated: BFI_DECODE_GROUPS(X)

namespace baracuda::flashinfer::decode {

template <typename DTypeQ, typename DTypeKV, uint32_t HEAD_DIM, uint32_t GROUP>
DecodeVariant make_variant(int32_t element) {
  using T = DecodeKernelTraits<DTypeQ, DTypeKV, HEAD_DIM, GROUP>;
  return DecodeVariant{element,
                       static_cast<int32_t>(HEAD_DIM),
                       static_cast<int32_t>(GROUP),
                       kernel_info<T>(),
                       plain_kernel_info<DTypeQ, DTypeKV, HEAD_DIM, GROUP>(),
                       &launch_decode<DTypeQ, DTypeKV, HEAD_DIM, GROUP>,
                       &launch_finalize<DTypeQ, HEAD_DIM>};
}

}  // namespace baracuda::flashinfer::decode

#define BFI_DECODE_VARIANT_ENTRY(GROUP) \
  make_variant<BFI_DTYPE_Q, BFI_DTYPE_KV, BFI_HEAD_DIM, GROUP>(BFI_ELEMENT_CODE),

#define BFI_DECODE_VARIANT_ARRAY_NAME_(NAME, D) kDecodeVariants_##NAME##_hd##D
#define BFI_DECODE_VARIANT_ARRAY_NAME(NAME, D) BFI_DECODE_VARIANT_ARRAY_NAME_(NAME, D)

namespace baracuda::flashinfer::decode {
extern const DecodeVariant BFI_DECODE_VARIANT_ARRAY_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM)[];
const DecodeVariant BFI_DECODE_VARIANT_ARRAY_NAME(BFI_ELEMENT_NAME, BFI_HEAD_DIM)[] = {
    BFI_DECODE_GROUPS(BFI_DECODE_VARIANT_ENTRY)};
}  // namespace baracuda::flashinfer::decode
