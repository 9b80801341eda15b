# The FlashInfer dependency: headers and the CCCL shipped in the pinned flashinfer-python wheel.
# Nothing is committed. With BARACUDA_FLASHINFER_ROOT empty, tools/fetch_flashinfer.py downloads
# the wheel with pip (download only), checks its sha256 and extracts into .deps/flashinfer.
# Offline: point BARACUDA_FLASHINFER_ROOT at an extracted copy of the same layout.
set(bfi_root "${BARACUDA_FLASHINFER_ROOT}")
if(bfi_root STREQUAL "")
  set(bfi_root "${PROJECT_SOURCE_DIR}/.deps/flashinfer")
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/fetch_flashinfer.py ${bfi_root}
    RESULT_VARIABLE bfi_fetch_result OUTPUT_VARIABLE bfi_fetch_output ERROR_VARIABLE bfi_fetch_error)
  if(NOT bfi_fetch_result EQUAL 0)
    message(FATAL_ERROR "Fetching FlashInfer failed:\n${bfi_fetch_output}\n${bfi_fetch_error}\n"
                        "Offline? Configure with -DBARACUDA_FLASHINFER_ROOT=<extracted copy>.")
  endif()
endif()
foreach(required include/flashinfer/attention/decode.cuh cccl/cub/cub/cub.cuh
                 cccl/libcudacxx/include/cuda/std/__cccl/version.h cccl/thrust/thrust/version.h)
  if(NOT EXISTS "${bfi_root}/${required}")
    message(FATAL_ERROR "BARACUDA_FLASHINFER_ROOT=${bfi_root} lacks ${required}")
  endif()
endforeach()
if(EXISTS "${bfi_root}/VERSION")
  file(STRINGS "${bfi_root}/VERSION" bfi_version_line LIMIT_COUNT 1)
  string(REGEX REPLACE " sha256 [0-9a-f]+" "" BFI_FLASHINFER_DESCRIPTION "${bfi_version_line}")
else()
  set(BFI_FLASHINFER_DESCRIPTION "flashinfer (unversioned copy)")
endif()
message(STATUS "FlashInfer: ${bfi_root} (${BFI_FLASHINFER_DESCRIPTION})")

# The wheel's CCCL goes first with -I so it wins over the toolkit's older copy (CUDA 13.0 ships
# CCCL 3.0, which lacks cuda::fast_mod_div that FlashInfer's fastdiv.cuh needs).
add_library(bfi_flashinfer_headers INTERFACE)
target_include_directories(bfi_flashinfer_headers INTERFACE
  ${bfi_root}/cccl/cub ${bfi_root}/cccl/libcudacxx/include ${bfi_root}/cccl/thrust
  ${bfi_root}/include)
# CUTLASS/CuTe from the same wheel, for the sm_90a (FA3) kernels only.
add_library(bfi_cutlass_headers INTERFACE)
target_include_directories(bfi_cutlass_headers INTERFACE ${bfi_root}/cutlass/include
                                                        ${bfi_root}/cutlass/util/include)
set(BFI_HAVE_CUTLASS OFF)
if(EXISTS "${bfi_root}/cutlass/include/cute/tensor.hpp")
  set(BFI_HAVE_CUTLASS ON)
endif()
