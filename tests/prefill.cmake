# Batch prefill: the C ABI's host tests (GoogleTest). Included by tests/CMakeLists.txt.
find_package(GTest)
if(GTest_FOUND)
  bfi_add_test(NAME test_prefill_host SOURCES test_prefill_host.cpp)
  target_link_libraries(test_prefill_host PRIVATE GTest::gtest_main)
else()
  message(STATUS "GoogleTest not found: test_prefill_host is not built")
endif()
