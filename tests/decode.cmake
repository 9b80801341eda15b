bfi_add_test(NAME test_decode_host SOURCES test_decode_host.cpp)
bfi_add_test(NAME test_decode_gpu SOURCES test_decode_gpu.cpp GPU)
