// Merge kernels for element bf16 (head dims 64, 128, 256).
#include <cuda_bf16.h>

#include "merge/merge_kernels.cuh"

BFI_MERGE_INSTANCE(bf16, __nv_bfloat16, BARACUDA_FLASHINFER_BF16)
