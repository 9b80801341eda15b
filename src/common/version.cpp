#include <baracuda/flashinfer.h>

#define BFI_STR_(x) #x
#define BFI_STR(x) BFI_STR_(x)

extern "C" {

uint32_t baracuda_kernels_flashinfer_version(void) {
  return BARACUDA_FLASHINFER_VERSION;
}

const char* baracuda_kernels_flashinfer_version_string(void) {
  return BFI_STR(BARACUDA_FLASHINFER_VERSION_MAJOR) "." BFI_STR(
      BARACUDA_FLASHINFER_VERSION_MINOR) "." BFI_STR(BARACUDA_FLASHINFER_VERSION_PATCH) " (" BFI_FLASHINFER_DESCRIPTION
      ", CUDA " BFI_CUDA_VERSION ")";
}

}  // extern "C"
