bfi_add_test(NAME test_decode_host SOURCES test_decode_host.cpp)
bfi_add_test(NAME test_attention_check_host SOURCES test_attention_check_host.cpp)
bfi_add_test(NAME test_decode_gpu SOURCES test_decode_gpu.cpp GPU)
bfi_add_test(NAME test_shared_prefix_gpu SOURCES test_shared_prefix_gpu.cpp GPU)
