# Batch prefill: the C ABI's host and GPU tests and the C++ layer's PrefillPlan tests (host, with
# and without exceptions). Included by tests/CMakeLists.txt.
bfi_add_test(NAME test_prefill_host SOURCES test_prefill_host.cpp)
bfi_add_test(NAME test_prefill_gpu SOURCES test_prefill_gpu.cpp GPU)
bfi_add_test(NAME test_cpp_prefill SOURCES test_cpp_prefill.cpp)
bfi_add_test(NAME test_cpp_prefill_noexcept SOURCES test_cpp_prefill.cpp)
target_compile_options(test_cpp_prefill_noexcept PRIVATE -fno-exceptions)
