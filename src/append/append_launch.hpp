// Host-visible description of one paged-KV append and its launcher (append_kernels.cu).
// Plain C++: included by the C-ABI layer (host compiler) and by the CUDA TU.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace baracuda::flashinfer::append {

// One append call. The copy only depends on the bytes of one (token, head) row, so f16 and bf16
// share kernels. Decode mode (batch_indices == nullptr): token b is request b's last token, as
// last_page_len says. Multi-token mode: token i goes to (batch_indices[i], positions[i]).
struct AppendProblem {
  int32_t num_tokens, batch_size, page_size, num_heads;
  int32_t row_bytes;  // head_dim * element size: 128, 256, 512 or 1024
  void* k_data;
  void* v_data;
  const int32_t* indices;
  const int32_t* indptr;
  const int32_t* last_page_len;  // decode mode only
  const int32_t* batch_indices;  // multi-token mode only
  const int32_t* positions;      // multi-token mode only
  const void* key;
  const void* value;
};

// Enqueues the copy; returns the launch's error.
cudaError_t launch_append(const AppendProblem& p, cudaStream_t stream);

}  // namespace baracuda::flashinfer::append
