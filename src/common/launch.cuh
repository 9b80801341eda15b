// The one way this library launches its own kernels: typed arguments (checked against the
// kernel's parameters at compile time), the launch's own error code (never an earlier call's
// sticky error), and the launch attributes we use as explicit options.
//
// programmatic: a programmatic dependent of the kernel before it in the stream. Such a kernel may
//   start before that kernel has completed, as soon as every CTA of it has executed
//   griddepcontrol.launch_dependents (or exited), and it must execute griddepcontrol.wait before
//   reading anything that kernel writes.
// cluster_x: CTAs per thread-block cluster along x (0 or 1: no cluster).
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace baracuda::flashinfer {

struct LaunchOptions {
  bool programmatic = false;
  unsigned cluster_x = 0;
};

template <typename... Params, typename... Args>
cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem_bytes,
                          cudaStream_t stream, LaunchOptions options, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem_bytes;
  config.stream = stream;
  cudaLaunchAttribute attrs[2]{};
  unsigned n = 0;
  if (options.programmatic) {
    attrs[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attrs[n].val.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  if (options.cluster_x > 1) {
    attrs[n].id = cudaLaunchAttributeClusterDimension;
    attrs[n].val.clusterDim.x = options.cluster_x;
    attrs[n].val.clusterDim.y = 1;
    attrs[n].val.clusterDim.z = 1;
    ++n;
  }
  config.attrs = attrs;
  config.numAttrs = n;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

// The common case: a plain launch.
template <typename... Params, typename... Args>
cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem_bytes,
                          cudaStream_t stream, Args&&... args) {
  return launch_kernel(kernel, grid, block, smem_bytes, stream, LaunchOptions{},
                       std::forward<Args>(args)...);
}

}  // namespace baracuda::flashinfer
