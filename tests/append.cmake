bfi_add_test(NAME test_append_host SOURCES test_append_host.cpp)
