// One context per GPU: the device's facts and our kernels' per-device attributes, filled once and
// then read without a lock. Every run path sizes its schedule from the context of the device its
// stream belongs to, so a call made while another device is current still plans for, and
// launches on, the stream's device.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/status.hpp"

namespace baracuda::flashinfer {

// A kernel and the launch resources that determine its occupancy.
struct KernelInfo {
  const void* func;
  uint32_t threads;
  uint32_t smem_bytes;  // dynamic shared memory per CTA
};

// What the schedules need to know about a GPU. Plain values: host tests build their own.
struct DeviceFacts {
  int32_t ordinal = 0;
  int32_t sm_count = 0;
  int32_t cc_major = 0, cc_minor = 0;
  int32_t smem_optin_bytes = 0;  // largest dynamic shared memory a CTA may opt into
  int32_t l2_bytes = 0;
  // The sm_90a kernels (wgmma, setmaxnreg) run on compute capability 9.0 exactly.
  bool runs_sm90a() const { return cc_major == 9 && cc_minor == 0; }
};

// A fixed-capacity map from a pointer key (a kernel, a __device__ symbol) to a 64-bit value:
// lookups are lock-free (acquire loads); inserts take a mutex and publish the value before the key.
class PointerCache {
 public:
  static constexpr size_t kSlots = 2048;  // every kernel the library compiles, with room to spare
  // Sets *value and returns true if `key` is cached.
  bool find(const void* key, uint64_t* value) const;
  // Caches `value` under `key` (first writer wins); false if the table is full.
  bool insert(const void* key, uint64_t value);
  std::mutex& insert_mutex() { return mutex_; }

 private:
  static size_t slot_of(const void* key);
  std::atomic<const void*> keys_[kSlots] = {};
  uint64_t values_[kSlots] = {};
  std::mutex mutex_;
};

class DeviceContext {
 public:
  explicit DeviceContext(const DeviceFacts& facts) : facts_(facts) {}
  const DeviceFacts& facts() const { return facts_; }

  // Resident CTAs per SM of `kernel` at its threads and shared memory. The first call per kernel
  // raises the kernel's dynamic shared-memory limit to kernel.smem_bytes on this device (a
  // function attribute, not a stream operation: legal during graph capture). Needs this device
  // to be current (DeviceScope). Status 3 if the kernel cannot run here at all.
  Status residency(const char* fn, const KernelInfo& kernel, int32_t* blocks_per_sm);

  // The device address of a __device__ variable on this device (cached). Needs this device current.
  Status symbol_address(const char* fn, const void* symbol, void** address);

 private:
  DeviceFacts facts_;
  PointerCache residency_;
  PointerCache symbols_;
};

// The context of device `ordinal`, created on first use (thread-safe; later calls do not lock).
Status device_context(const char* fn, int32_t ordinal, DeviceContext** out);

// The device that owns `stream`: its own device for a created stream, the calling thread's current
// device for the legacy and per-thread default streams.
Status stream_device(cudaStream_t stream, int32_t* ordinal);

// Makes `ordinal` the calling thread's current device for the scope, restoring the previous one
// (only when they differ: the common case costs one cudaGetDevice).
class DeviceScope {
 public:
  DeviceScope() = default;
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  ~DeviceScope();
  Status enter(int32_t ordinal);

 private:
  int32_t previous_ = -1;
};

// The run paths' entry: the stream's device made current for the scope, and its context.
struct StreamDevice {
  DeviceScope scope;
  DeviceContext* context = nullptr;
  Status enter(const char* fn, cudaStream_t stream);
};

// The calling thread's current device and its context (the size queries that take no stream).
Status current_device_context(const char* fn, DeviceContext** out);

}  // namespace baracuda::flashinfer
