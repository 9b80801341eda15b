#include "common/status.hpp"

#include <cstdio>
#include <exception>

namespace baracuda::flashinfer {
namespace {
thread_local char t_message[1024] = "";
}  // namespace

const char* last_error_message() {
  return t_message;
}

void clear_error() {
  t_message[0] = '\0';
}

Status fail(Status status, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(t_message, sizeof(t_message), fmt, args);
  va_end(args);
  return status;
}

Status cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return kSuccess;
  return fail(kCudaError, "CUDA error %d (%s: %s) in %s", static_cast<int>(err),
              cudaGetErrorName(err), cudaGetErrorString(err), what);
}

Status require_positive(const char* function, const char* name, int64_t value) {
  if (value > 0) return kSuccess;
  return fail(kInvalid, "%s: %s must be > 0 (got %lld)", function, name,
              static_cast<long long>(value));
}

Status require_non_null(const char* function, const char* name, const void* ptr) {
  if (ptr != nullptr) return kSuccess;
  return fail(kInvalid, "%s: %s must not be NULL", function, name);
}

Status require_aligned(const char* function, const char* name, const void* ptr, size_t alignment) {
  if (reinterpret_cast<uintptr_t>(ptr) % alignment == 0) return kSuccess;
  return fail(kMisaligned, "%s: %s (%p) must be %zu-byte aligned", function, name, ptr, alignment);
}

}  // namespace baracuda::flashinfer
