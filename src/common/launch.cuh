// One kernel launch, optionally as a programmatic dependent of the kernel before it in the stream
// (programmatic dependent launch): such a kernel may start before that kernel has completed, as
// soon as every CTA of it has executed griddepcontrol.launch_dependents (or exited), and it must
// execute griddepcontrol.wait before reading anything that kernel writes.
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace baracuda::flashinfer {

template <typename... Params, typename... Args>
cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem_bytes,
                          cudaStream_t stream, bool programmatic, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem_bytes;
  config.stream = stream;
  cudaLaunchAttribute dependent{};
  dependent.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  dependent.val.programmaticStreamSerializationAllowed = 1;
  config.attrs = &dependent;
  config.numAttrs = programmatic ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace baracuda::flashinfer
