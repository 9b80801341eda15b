// Host side of the threshold kernel (threshold.hpp): its shape on a device, which sampler calls
// take it, and its launch.
#include <cstdint>

#include "common/launch.cuh"
#include "sampling/threshold.hpp"
#include "sampling/threshold_config.hpp"

namespace baracuda::flashinfer::sampling::threshold {

Shape plan_shape(const DeviceFacts& facts, uint32_t vocab) {
  const uint32_t max_cluster = facts.cc_major >= 9 ? kMaxCluster : 1;
  const uint64_t budget = facts.smem_optin_bytes > 0 ? uint64_t(facts.smem_optin_bytes) : 0;
  // 64-bit: one CTA holding a whole row of up to 2^31 four-byte keys.
  auto smem_for = [&](uint32_t c) {
    return uint64_t(sizeof(Shared)) + (uint64_t(vocab) + c - 1) / c * 4u;
  };
  uint32_t cluster = 1;
  while (cluster < max_cluster && (uint64_t(vocab) + cluster - 1) / cluster > kTargetChunk) {
    cluster *= 2;
  }
  while (cluster < max_cluster && smem_for(cluster) > budget) cluster *= 2;
  Shape s{};
  s.cluster = cluster;
  s.chunk = static_cast<uint32_t>((uint64_t(vocab) + cluster - 1) / cluster);
  s.feasible = smem_for(cluster) <= budget;
  s.smem_bytes = s.feasible ? static_cast<uint32_t>(smem_for(cluster)) : 0u;
  s.smem_limit = static_cast<uint32_t>(budget);
  s.max_vocab = budget > sizeof(Shared)
                    ? static_cast<uint32_t>((budget - sizeof(Shared)) / 4u * max_cluster)
                    : 0u;
  s.reason = s.feasible ? nullptr
             : facts.cc_major >= 9
                 ? "the row needs more than 8 CTAs' shared memory"
                 : "the row needs more than one CTA's shared memory and the device has no "
                   "thread-block clusters (compute capability < 9.0)";
  return s;
}

namespace {

Status require_fit(const char* fn, uint32_t vocab, const Shape& shape) {
  if (shape.feasible) return kSuccess;
  return fail(kUnsupported, "%s: vocab %u exceeds the %u entries per row this device takes (%s)",
              fn, vocab, shape.max_vocab, shape.reason);
}

}  // namespace

Status route_sampler(const char* fn, const Variant* variant, KernelChoice choice,
                     const DeviceFacts& facts, uint32_t vocab, Route* out) {
  *out = Route{false, Shape{}};
  if (choice == KernelChoice::kFlashInfer) return kSuccess;
  if (variant == nullptr) {
    if (choice == KernelChoice::kThreshold) {
      return fail(kUnsupported, "%s: this sampler has no threshold-kernel form", fn);
    }
    return kSuccess;
  }
  const Shape shape = plan_shape(facts, vocab);
  if (choice == KernelChoice::kThreshold) {
    BFI_CHECK(require_fit(fn, vocab, shape));
    *out = Route{true, shape};
    return kSuccess;
  }
  *out = Route{shape.feasible && facts.cc_major >= 9, shape};
  return kSuccess;
}

Status row_filter_shape(const char* fn, const DeviceFacts& facts, uint32_t vocab, Shape* out) {
  *out = plan_shape(facts, vocab);
  return require_fit(fn, vocab, *out);
}

Status enqueue(const char* fn, DeviceContext& context, const Variant& variant, const Call& call,
               const Shape& shape, cudaStream_t stream) {
  const Kernel kernel = kernel_for(variant);
  if (kernel == nullptr) return fail(kInternal, "%s: the threshold kernel lacks this form", fn);
  // The first call per (device, kernel) raises the kernel's dynamic shared-memory limit to the
  // device's opt-in maximum (cached), so every vocabulary's shape can launch afterwards.
  int32_t blocks_per_sm = 0;
  BFI_CHECK(context.residency(
      fn, KernelInfo{reinterpret_cast<const void*>(kernel), kThreads, shape.smem_limit},
      &blocks_per_sm));
  return cuda_status(
      launch_kernel(kernel, dim3(call.batch * shape.cluster), dim3(kThreads), shape.smem_bytes,
                    stream, LaunchOptions{false, shape.cluster}, call, shape.chunk),
      "launching the threshold kernel");
}

}  // namespace baracuda::flashinfer::sampling::threshold
