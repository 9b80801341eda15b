bfi_add_test(NAME test_decode_host SOURCES test_decode_host.cpp)
string(REPLACE ";" "," bfi_test_head_dims "${BFI_DECODE_HEAD_DIMS}")
target_compile_definitions(test_decode_host PRIVATE BFI_TEST_HEAD_DIMS=${bfi_test_head_dims})
bfi_add_test(NAME test_decode_gpu SOURCES test_decode_gpu.cpp GPU)
