# Host: validation of every argument of every symbol, can_implement == run (no GPU needed).
bfi_add_test(NAME test_sampling_host SOURCES test_sampling_host.cpp)
# GPU: statistics, support, determinism, graph replay, invalid rows.
bfi_add_test(NAME test_sampling_gpu SOURCES test_sampling_gpu.cpp GPU)
# GPU: top-k / top-p renormalisation and top-k logits masking against a float64 reference.
bfi_add_test(NAME test_sampling_filters_gpu SOURCES test_sampling_filters_gpu.cpp GPU)
