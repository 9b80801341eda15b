# Sort-free sampling family.
# Host: validation of every argument of every symbol, can_implement == run (no GPU needed).
bfi_add_test(NAME test_sampling_host SOURCES test_sampling_host.cpp)
# Host: the chi-square p-values the GPU tests use (tests/chi_square.hpp) against closed forms.
bfi_add_test(NAME test_sampling_stats_host SOURCES test_sampling_stats_host.cpp)
# GPU: statistics, support, determinism, graph replay, invalid rows, the explicit kernel choice.
# Its cases run again on FlashInfer's kernels as test_sampling_gpu_flashinfer_path (the forced
# paths' list in tests/CMakeLists.txt).
bfi_add_test(NAME test_sampling_gpu SOURCES test_sampling_gpu.cpp GPU)
# GPU: top-k / top-p renormalisation and top-k logits masking against a float64 reference.
bfi_add_test(NAME test_sampling_filters_gpu SOURCES test_sampling_filters_gpu.cpp GPU)
