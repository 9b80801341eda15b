# Batch prefill: the C ABI's host and GPU tests (GoogleTest) and the C++ layer's PrefillPlan tests
# (host, with and without exceptions). Included by tests/CMakeLists.txt.
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
bfi_add_test(NAME test_cpp_prefill SOURCES test_cpp_prefill.cpp)
bfi_add_test(NAME test_cpp_prefill_noexcept SOURCES test_cpp_prefill.cpp)
target_compile_options(test_cpp_prefill_noexcept PRIVATE -fno-exceptions)
