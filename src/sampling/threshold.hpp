// Threshold kernel: one exact radix select of a row's cut-off value T (the smallest kept value of
// a top-k / top-p / joint filter), followed by one of three epilogues on the kept set {x >= T}:
// draw a token (exponential race), renormalise probabilities, or mask logits. The row is read
// from global memory once and kept in shared memory; on sm_90 a thread-block cluster of up to 8
// CTAs splits one row and exchanges histograms through distributed shared memory, so batch 1 uses
// 8 SMs instead of one. Plain C++ header: the kernel is in threshold.cu, its host side (shape,
// route, launch) in threshold_host.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/device_context.hpp"
#include "common/status.hpp"
#include "sampling/sampling_launch.hpp"

namespace baracuda::flashinfer::sampling::threshold {

// kSample: a token from probabilities; kSampleLogits: a token from logits (no filter: every
// entry kept, no select); kRenorm / kMask: the row filters.
enum class Epilogue : uint32_t { kSample, kSampleLogits, kRenorm, kMask };
enum class Element : uint32_t { kF32, kF16, kBF16 };

// Which filter defines the kept set (see the header's sampling section for the exact rule).
struct Filter {
  bool use_k, use_p;
};

// One compiled form of the kernel.
struct Variant {
  Epilogue epilogue;
  Element element;  // of the input (and of a row filter's output)
  Filter filter;
};

// Every form is launched with the validated call and its CTAs' chunk of the row.
using Kernel = void (*)(Call call, uint32_t chunk);
// threshold.cu: the kernel of `variant` (null if that form is not compiled).
Kernel kernel_for(const Variant& variant);

// Cluster size and per-CTA chunk for a row of `vocab` entries on a device; feasible == false
// when the row does not fit (reason says why).
struct Shape {
  bool feasible;
  uint32_t cluster, chunk, smem_bytes;
  uint32_t smem_limit;  // the device's per-CTA opt-in maximum
  uint32_t max_vocab;   // the largest row the device takes
  const char* reason;
};

// A pure function of the device's facts. Below compute capability 9.0 there are no clusters: one
// CTA per row, so the row must fit one CTA's shared memory.
Shape plan_shape(const DeviceFacts& facts, uint32_t vocab);

// How a caller may steer a sampler between the two kernels.
enum class KernelChoice { kAuto, kThreshold, kFlashInfer };

// Where a sampler call runs: on the threshold kernel with `shape`, or on FlashInfer's.
struct Route {
  bool threshold;
  Shape shape;
};

// The one decision of the samplers' path, from the sampler's threshold form (`variant`; null: it
// has none), the caller's choice and the stream device's facts; no CUDA call. kAuto takes the
// threshold kernel where the device has clusters (compute capability >= 9.0, where it was
// measured faster than FlashInfer's one-CTA-per-row kernels, docs/PERFORMANCE.md) and the row
// fits; kThreshold takes it on any device where the row fits (else status 3); kFlashInfer never.
Status route_sampler(const char* fn, const Variant* variant, KernelChoice choice,
                     const DeviceFacts& facts, uint32_t vocab, Route* out);

// The row filters always run on the threshold kernel: their shape, or status 3 (naming the
// device's limit) when the row does not fit.
Status row_filter_shape(const char* fn, const DeviceFacts& facts, uint32_t vocab, Shape* out);

// Enqueues `variant` for `call` (every pointer validated) on `stream`, whose device is current
// and owns `context`; no allocation, no synchronisation, graph-capturable. The first call per
// device and variant raises the kernel's shared-memory limit to the device's opt-in maximum.
Status enqueue(const char* fn, DeviceContext& context, const Variant& variant, const Call& call,
               const Shape& shape, cudaStream_t stream);

}  // namespace baracuda::flashinfer::sampling::threshold
