bfi_add_test(NAME test_append_host SOURCES test_append_host.cpp)
bfi_add_test(NAME test_append_gpu SOURCES test_append_gpu.cpp GPU)
