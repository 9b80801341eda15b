bfi_add_test(NAME test_decode_host SOURCES test_decode_host.cpp)
bfi_add_test(NAME test_attention_check_host SOURCES test_attention_check_host.cpp)
bfi_add_test(NAME test_decode_gpu SOURCES test_decode_gpu.cpp GPU)
bfi_add_test(NAME test_shared_prefix_gpu SOURCES test_shared_prefix_gpu.cpp GPU)

# The decode, shared-prefix and prefill schedules on the host, through the library's internal
# static library (no GPU, no shared library).
add_executable(test_schedule_host test_schedule_host.cpp)
target_link_libraries(test_schedule_host PRIVATE bfi_host GTest::gtest_main)
gtest_discover_tests(test_schedule_host ${bfi_discovery} TEST_PREFIX test_schedule_host.
                     PROPERTIES LABELS host)
