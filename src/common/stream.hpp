#pragma once

#include <baracuda/flashinfer.h>
#include <cuda_runtime_api.h>

namespace baracuda::flashinfer {

// NULL means the per-thread default stream, as in the ABI this library replaces (which was
// built with --default-stream per-thread).
inline cudaStream_t resolve_stream(baracuda_flashinfer_stream_t stream) {
  return stream == nullptr ? cudaStreamPerThread : reinterpret_cast<cudaStream_t>(stream);
}

}  // namespace baracuda::flashinfer
