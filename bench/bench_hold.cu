// The stream hold behind bfi_bench's default timer (GpuTimer, bench_util.cpp): a one-thread
// kernel that spins until the host releases it, so the work timed behind it is fully enqueued
// before the start event fires. Without it the timer of a call of a few tens of microseconds also
// counts the host's submission of that call (the GPU idles between the start event and the first
// kernel).
#include <cstdint>

#include "bench_util.hpp"

namespace bfi_bench {
namespace {

__global__ void hold_kernel(const volatile int32_t* release, uint64_t timeout_ns) {
  uint64_t start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(500);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    // The timeout only keeps a forgotten release from hanging the program.
  } while (*release == 0 && now - start < timeout_ns);
}

}  // namespace

void enqueue_hold(cudaStream_t stream, const volatile int32_t* release_device) {
  hold_kernel<<<1, 1, 0, stream>>>(release_device, /*timeout_ns=*/2000000000ull);
  BENCH_CUDA(cudaGetLastError());
}

}  // namespace bfi_bench
