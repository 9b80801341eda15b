bfi_add_test(NAME test_merge_host SOURCES test_merge_host.cpp)
bfi_add_test(NAME test_merge_gpu SOURCES test_merge_gpu.cpp GPU)
bfi_add_test(NAME test_cascade_gpu SOURCES test_cascade_gpu.cpp GPU)
