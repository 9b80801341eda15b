# Batch prefill: the C ABI's host and GPU tests (GoogleTest). Included by tests/CMakeLists.txt.
find_package(GTest)
if(GTest_FOUND)
  bfi_add_test(NAME test_prefill_host SOURCES test_prefill_host.cpp)
  target_link_libraries(test_prefill_host PRIVATE GTest::gtest_main)
  bfi_add_test(NAME test_prefill_gpu SOURCES test_prefill_gpu.cpp GPU)
  target_link_libraries(test_prefill_gpu PRIVATE GTest::gtest)
  # tests/harness.hpp (through gpu_util.hpp) defines TEST; these tests are TEST_F.
  target_compile_definitions(test_prefill_gpu PRIVATE GTEST_DONT_DEFINE_TEST=1)
else()
  message(STATUS "GoogleTest not found: test_prefill_host and test_prefill_gpu are not built")
endif()
