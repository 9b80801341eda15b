# Sort-free sampling family (issue 4).
# Host: validation of every argument of every symbol, can_implement == run (no GPU needed).
bfi_add_test(NAME test_sampling_host SOURCES test_sampling_host.cpp)
target_link_libraries(test_sampling_host PRIVATE CUDA::cudart)  # only to ask "is there a GPU?"
# GPU: statistics, support, determinism, graph replay, invalid rows (exit 77 without a GPU).
bfi_add_test(NAME test_sampling_gpu SOURCES test_sampling_gpu.cpp GPU)
