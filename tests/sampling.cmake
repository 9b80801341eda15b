# Sort-free sampling family.
# Host: validation of every argument of every symbol, can_implement == run (no GPU needed).
bfi_add_test(NAME test_sampling_host SOURCES test_sampling_host.cpp)
target_link_libraries(test_sampling_host PRIVATE CUDA::cudart)  # only to ask "is there a GPU?"
# Host: the chi-square p-values the GPU tests use (tests/chi_square.hpp) against closed forms.
bfi_add_test(NAME test_sampling_stats_host SOURCES test_sampling_stats_host.cpp)
# GPU: statistics, support, determinism, graph replay, invalid rows (exit 77 without a GPU).
bfi_add_test(NAME test_sampling_gpu SOURCES test_sampling_gpu.cpp GPU)
# GPU: top-k / top-p renormalisation and top-k logits masking against a float64 reference.
bfi_add_test(NAME test_sampling_filters_gpu SOURCES test_sampling_filters_gpu.cpp GPU)
# The same statistics on FlashInfer's one-CTA-per-row samplers, which sm_90 otherwise replaces
# with the threshold kernel for top-k / top-p / top-k + top-p and logits: the test then calls
# every sampler through sampling_run_with with BARACUDA_FLASHINFER_SAMPLING_FLASHINFER_KERNEL.
add_test(NAME test_sampling_gpu_flashinfer_path COMMAND test_sampling_gpu)
set_tests_properties(test_sampling_gpu_flashinfer_path PROPERTIES LABELS gpu SKIP_RETURN_CODE 77
  ENVIRONMENT BFI_TEST_SAMPLING_KERNEL=flashinfer)
