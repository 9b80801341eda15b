// The C ABI of the library itself: its version, status names and the last-error message.
#include <baracuda/flashinfer.h>

#include "common/status.hpp"

#define BFI_STR_(x) #x
#define BFI_STR(x) BFI_STR_(x)

extern "C" {

const char* baracuda_kernels_flashinfer_status_string(int32_t status) {
  switch (status) {
    case BARACUDA_FLASHINFER_SUCCESS:
      return "success";
    case BARACUDA_FLASHINFER_MISALIGNED_OPERAND:
      return "misaligned operand";
    case BARACUDA_FLASHINFER_INVALID_PROBLEM:
      return "invalid problem";
    case BARACUDA_FLASHINFER_UNSUPPORTED:
      return "unsupported";
    case BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL:
      return "workspace too small";
    case BARACUDA_FLASHINFER_CUDA_ERROR:
      return "CUDA error";
    case BARACUDA_FLASHINFER_INTERNAL:
      return "internal error";
    default:
      return "unknown status";
  }
}

const char* baracuda_kernels_flashinfer_last_error(void) {
  return baracuda::flashinfer::last_error_message();
}

uint32_t baracuda_kernels_flashinfer_version(void) {
  return BARACUDA_FLASHINFER_VERSION;
}

const char* baracuda_kernels_flashinfer_version_string(void) {
  return BFI_STR(BARACUDA_FLASHINFER_VERSION_MAJOR) "." BFI_STR(
      BARACUDA_FLASHINFER_VERSION_MINOR) "." BFI_STR(BARACUDA_FLASHINFER_VERSION_PATCH) " (" BFI_FLASHINFER_DESCRIPTION
      ", CUDA " BFI_CUDA_VERSION ")";
}

}  // extern "C"
