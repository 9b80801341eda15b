bfi_add_test(NAME test_decode_host SOURCES test_decode_host.cpp)
string(REPLACE ";" "," bfi_test_head_dims "${BFI_DECODE_HEAD_DIMS}")
target_compile_definitions(test_decode_host PRIVATE BFI_TEST_HEAD_DIMS=${bfi_test_head_dims})
bfi_add_test(NAME test_decode_gpu SOURCES test_decode_gpu.cpp GPU)
bfi_add_test(NAME test_shared_prefix_gpu SOURCES test_shared_prefix_gpu.cpp GPU)
# The same tests on the FA2 shared-prefix kernel where the sm_90a one would run.
add_test(NAME test_shared_prefix_gpu_fa2_path COMMAND test_shared_prefix_gpu)
set_tests_properties(test_shared_prefix_gpu_fa2_path PROPERTIES LABELS gpu SKIP_RETURN_CODE 77
  ENVIRONMENT BFI_SHARED_PREFIX_PATH=fa2)

# The decode, shared-prefix and prefill schedules on the host (GoogleTest; no GPU).
find_package(GTest)
if(GTest_FOUND)
  add_executable(test_schedule_host test_schedule_host.cpp)
  target_link_libraries(test_schedule_host PRIVATE bfi_host GTest::gtest_main)
  add_test(NAME test_schedule_host COMMAND test_schedule_host)
  set_tests_properties(test_schedule_host PROPERTIES LABELS host)
endif()
