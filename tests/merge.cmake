bfi_add_test(NAME test_merge_host SOURCES test_merge_host.cpp)
