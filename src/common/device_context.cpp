#include "common/device_context.hpp"

#include <cuda_runtime_api.h>

#include <vector>

namespace baracuda::flashinfer {

size_t PointerCache::slot_of(const void* key) {
  // Kernels and symbols are at least 16-byte aligned: drop those bits, then mix.
  uint64_t x = reinterpret_cast<uintptr_t>(key) >> 4;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<size_t>(x % kSlots);
}

bool PointerCache::find(const void* key, uint64_t* value) const {
  for (size_t i = slot_of(key), probes = 0; probes < kSlots; i = (i + 1) % kSlots, ++probes) {
    const void* k = keys_[i].load(std::memory_order_acquire);
    if (k == nullptr) return false;
    if (k == key) {
      *value = values_[i];
      return true;
    }
  }
  return false;
}

bool PointerCache::insert(const void* key, uint64_t value) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = slot_of(key), probes = 0; probes < kSlots; i = (i + 1) % kSlots, ++probes) {
    const void* k = keys_[i].load(std::memory_order_relaxed);
    if (k == key) return true;
    if (k == nullptr) {
      values_[i] = value;
      keys_[i].store(key, std::memory_order_release);
      return true;
    }
  }
  return false;
}

Status DeviceContext::residency(const char* fn, const KernelInfo& kernel, int32_t* blocks_per_sm) {
  uint64_t cached = 0;
  if (residency_.find(kernel.func, &cached)) {
    *blocks_per_sm = static_cast<int32_t>(cached);
    return kSuccess;
  }
  // Two threads may both get here for one kernel: both set the same attribute and store the same
  // value; the first store wins.
  if (kernel.smem_bytes > 48 * 1024) {
    BFI_CHECK(cuda_status(
        cudaFuncSetAttribute(kernel.func, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(kernel.smem_bytes)),
        "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)"));
  }
  int blocks = 0;
  BFI_CHECK(cuda_status(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                            &blocks, kernel.func, static_cast<int>(kernel.threads),
                            kernel.smem_bytes),
                        "cudaOccupancyMaxActiveBlocksPerMultiprocessor"));
  if (blocks <= 0) {
    return fail(kUnsupported,
                "%s: a kernel with %u threads and %u bytes of shared memory cannot run on device %d",
                fn, kernel.threads, kernel.smem_bytes, facts_.ordinal);
  }
  if (!residency_.insert(kernel.func, static_cast<uint64_t>(blocks))) {
    return fail(kInternal, "%s: the per-device kernel table is full (%zu kernels)", fn,
                PointerCache::kSlots);
  }
  *blocks_per_sm = blocks;
  return kSuccess;
}

Status DeviceContext::symbol_address(const char* fn, const void* symbol, void** address) {
  uint64_t cached = 0;
  if (symbols_.find(symbol, &cached)) {
    *address = reinterpret_cast<void*>(static_cast<uintptr_t>(cached));
    return kSuccess;
  }
  void* found = nullptr;
  BFI_CHECK(cuda_status(cudaGetSymbolAddress(&found, symbol), "cudaGetSymbolAddress"));
  if (!symbols_.insert(symbol, reinterpret_cast<uintptr_t>(found))) {
    return fail(kInternal, "%s: the per-device symbol table is full", fn);
  }
  *address = found;
  return kSuccess;
}

namespace {

// Contexts of every device the process sees, created on first use of each. The device count is
// read once: CUDA fixes it when the runtime initialises.
struct Registry {
  int32_t count = 0;
  Status count_status = kSuccess;
  std::vector<std::once_flag> once;
  std::vector<std::unique_ptr<DeviceContext>> contexts;
  std::vector<Status> create_status;
};

Registry& registry(Status* status) {
  static Registry r;
  static std::once_flag flag;
  std::call_once(flag, [] {
    int n = 0;
    r.count_status = cuda_status(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
    if (r.count_status != kSuccess) return;
    r.count = n;
    r.once = std::vector<std::once_flag>(static_cast<size_t>(n));
    r.contexts.resize(static_cast<size_t>(n));
    r.create_status.assign(static_cast<size_t>(n), kSuccess);
  });
  *status = r.count_status;
  return r;
}

Status read_facts(int32_t ordinal, DeviceFacts* f) {
  f->ordinal = ordinal;
  const std::pair<cudaDeviceAttr, int32_t*> attrs[] = {
      {cudaDevAttrMultiProcessorCount, &f->sm_count},
      {cudaDevAttrComputeCapabilityMajor, &f->cc_major},
      {cudaDevAttrComputeCapabilityMinor, &f->cc_minor},
      {cudaDevAttrMaxSharedMemoryPerBlockOptin, &f->smem_optin_bytes},
      {cudaDevAttrL2CacheSize, &f->l2_bytes}};
  for (const auto& [attr, out] : attrs) {
    int value = 0;
    BFI_CHECK(cuda_status(cudaDeviceGetAttribute(&value, attr, ordinal), "cudaDeviceGetAttribute"));
    *out = value;
  }
  return kSuccess;
}

}  // namespace

Status device_context(const char* fn, int32_t ordinal, DeviceContext** out) {
  Status status = kSuccess;
  Registry& r = registry(&status);
  if (status != kSuccess) {
    // The count failed once (no driver, no device): report it with this call's name.
    int n = 0;
    return cuda_status(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  }
  if (ordinal < 0 || ordinal >= r.count) {
    return fail(kInvalid, "%s: device %d does not exist (%d devices)", fn, ordinal, r.count);
  }
  const size_t i = static_cast<size_t>(ordinal);
  std::call_once(r.once[i], [&] {
    DeviceFacts facts;
    r.create_status[i] = read_facts(ordinal, &facts);
    if (r.create_status[i] == kSuccess) r.contexts[i] = std::make_unique<DeviceContext>(facts);
  });
  if (r.contexts[i] == nullptr) {
    return fail(r.create_status[i] != kSuccess ? r.create_status[i] : kCudaError,
                "%s: reading the facts of device %d failed", fn, ordinal);
  }
  *out = r.contexts[i].get();
  return kSuccess;
}

Status stream_device(cudaStream_t stream, int32_t* ordinal) {
  int device = 0;
  if (stream == nullptr || stream == cudaStreamPerThread || stream == cudaStreamLegacy) {
    BFI_CHECK(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
  } else {
    // A capturing stream cannot be asked for its device (the query would invalidate the
    // capture): work captured into a graph runs where the capture was made, on the current
    // device.
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    BFI_CHECK(cuda_status(cudaStreamIsCapturing(stream, &capture),
                          "cudaStreamIsCapturing (is `stream` a valid CUDA stream?)"));
    if (capture != cudaStreamCaptureStatusNone) {
      BFI_CHECK(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
    } else {
      BFI_CHECK(cuda_status(cudaStreamGetDevice(stream, &device),
                            "cudaStreamGetDevice (is `stream` a valid CUDA stream?)"));
    }
  }
  *ordinal = device;
  return kSuccess;
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

Status DeviceScope::enter(int32_t ordinal) {
  int current = 0;
  BFI_CHECK(cuda_status(cudaGetDevice(&current), "cudaGetDevice"));
  if (current == ordinal) return kSuccess;
  BFI_CHECK(cuda_status(cudaSetDevice(ordinal), "cudaSetDevice (the stream's device)"));
  previous_ = current;
  return kSuccess;
}

Status StreamDevice::enter(const char* fn, cudaStream_t stream) {
  int32_t ordinal = 0;
  BFI_CHECK(stream_device(stream, &ordinal));
  BFI_CHECK(scope.enter(ordinal));
  return device_context(fn, ordinal, &context);
}

Status current_device_context(const char* fn, DeviceContext** out) {
  int device = 0;
  BFI_CHECK(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
  return device_context(fn, device, out);
}

}  // namespace baracuda::flashinfer
