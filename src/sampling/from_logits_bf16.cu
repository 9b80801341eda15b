// Sampling from bf16 logits (Gumbel-max). Its own TU: sampling.cuh is heavy.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "sampling/from_logits.cuh"

namespace baracuda::flashinfer::sampling {

BFI_DEFINE_FROM_LOGITS(kFlashInferLogitsBF16, __nv_bfloat16)

}  // namespace baracuda::flashinfer::sampling
