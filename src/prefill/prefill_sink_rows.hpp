// FlashInfer's FA3 epilogue writes a row that keeps no key (a request without keys, a tile above
// the causal diagonal) as o = 0, lse = -inf, knowing no sink; with sinks such a row's lse is the
// sink's alone. This pass, after the FA3 kernels, gives those rows lse = sinks[h] / ln 2.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace baracuda::flashinfer::prefill {

// lse [max_q_rows, Hq]; rows q_indptr[batch_size] and past are not touched. With sinks every row
// that keeps a key has a finite lse, so -inf marks exactly the rows without keys.
cudaError_t launch_sink_lse_of_keyless_rows(float* lse, const float* sinks,
                                            const int32_t* q_indptr, int32_t batch_size,
                                            int32_t max_q_rows, int32_t num_qo_heads,
                                            cudaStream_t stream);

}  // namespace baracuda::flashinfer::prefill
