// Merge kernels for element f32 (head dims 64, 128, 256).
#include <cuda_runtime.h>

#include "merge/merge_kernels.cuh"

BFI_MERGE_INSTANCE(f32, float, BARACUDA_FLASHINFER_F32)
