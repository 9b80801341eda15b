// Merge kernels for element f16 (head dims 64, 128, 256).
#include <cuda_fp16.h>

#include "merge/merge_kernels.cuh"

BFI_MERGE_INSTANCE(f16, half, BARACUDA_FLASHINFER_F16)
