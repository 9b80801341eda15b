// Status codes, the thread-local last-error message, and the guard every C entry point uses.
#pragma once

#include <baracuda/flashinfer.h>
#include <cuda_runtime_api.h>

#include <cstdarg>
#include <cstdint>
#include <exception>

namespace baracuda::flashinfer {

using Status = int32_t;
constexpr Status kSuccess = BARACUDA_FLASHINFER_SUCCESS;
constexpr Status kMisaligned = BARACUDA_FLASHINFER_MISALIGNED_OPERAND;
constexpr Status kInvalid = BARACUDA_FLASHINFER_INVALID_PROBLEM;
constexpr Status kUnsupported = BARACUDA_FLASHINFER_UNSUPPORTED;
constexpr Status kWorkspaceTooSmall = BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL;
constexpr Status kCudaError = BARACUDA_FLASHINFER_CUDA_ERROR;
constexpr Status kInternal = BARACUDA_FLASHINFER_INTERNAL;

// Records `status` with a printf-style message for the calling thread and returns `status`.
Status fail(Status status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Translates a CUDA error: kSuccess for cudaSuccess, else kCudaError with the error's name and
// text, prefixed by `what` (the call that failed).
Status cuda_status(cudaError_t err, const char* what);

// The calling thread's message ("" if none).
const char* last_error_message();

// Clears the calling thread's message (called on entry of every C function).
void clear_error();

// Runs `body(function)` (a callable taking the C function's name for its messages and returning
// Status), turning any escaping exception into kInternal. Pass __func__ of the extern "C"
// function: inside a lambda __func__ would name the lambda's operator().
template <typename Body>
Status guarded(const char* function, Body&& body) noexcept {
  clear_error();
  try {
    return body(function);
  } catch (const std::exception& e) {
    return fail(kInternal, "%s: unexpected exception: %s", function, e.what());
  } catch (...) {
    return fail(kInternal, "%s: unexpected non-standard exception", function);
  }
}

// Validation helpers: each returns kSuccess or records and returns the failure.
Status require_positive(const char* function, const char* name, int64_t value);
Status require_non_null(const char* function, const char* name, const void* ptr);
Status require_aligned(const char* function, const char* name, const void* ptr, size_t alignment);

// Propagates the first failing check: BFI_CHECK(require_positive(...));
#define BFI_CHECK(expr)                                        \
  do {                                                         \
    const ::baracuda::flashinfer::Status bfi_status_ = (expr); \
    if (bfi_status_ != ::baracuda::flashinfer::kSuccess) {     \
      return bfi_status_;                                      \
    }                                                          \
  } while (0)

#define BFI_CUDA_CHECK(call) BFI_CHECK(::baracuda::flashinfer::cuda_status((call), #call))

}  // namespace baracuda::flashinfer
