# Sort-free sampling family. One CUDA TU per sampler so the heavy sampling.cuh builds in
# parallel; the C ABI and the threshold kernel's host side are host C++. No -use_fast_math
# anywhere: the samplers' pivots and cumulative sums need IEEE float behaviour (FlashInfer
# #769/#774).
list(APPEND BFI_SOURCES
  src/sampling/sampling_api.cpp
  src/sampling/sampling_common.cu
  src/sampling/from_probs.cu
  src/sampling/top_k.cu
  src/sampling/top_p.cu
  src/sampling/min_p.cu
  src/sampling/top_k_top_p.cu
  src/sampling/threshold.cu
  src/sampling/threshold_host.cpp
  src/sampling/from_logits_f32.cu
  src/sampling/from_logits_f16.cu
  src/sampling/from_logits_bf16.cu
  src/sampling/speculative.cu)

# bench/bench_sampling.cpp holds the sort-based baseline written with CUB, so it is compiled as
# CUDA against the same CCCL as the library. bench/CMakeLists.txt adds it to bfi_bench after
# this file is read: the properties are set when the top-level directory is done.
function(bfi_sampling_bench_as_cuda)
  if(TARGET bfi_bench AND EXISTS ${PROJECT_SOURCE_DIR}/bench/bench_sampling.cpp)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/bench/bench_sampling.cpp
      DIRECTORY ${PROJECT_SOURCE_DIR}/bench PROPERTIES LANGUAGE CUDA)
    target_link_libraries(bfi_bench PRIVATE bfi_flashinfer_headers)
    set_target_properties(bfi_bench PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
  endif()
endfunction()
cmake_language(DEFER CALL bfi_sampling_bench_as_cuda)
