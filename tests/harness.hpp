// A small self-contained test harness (no third-party dependency, so the same tests build on the
// CI machine and on the bare GPU machine). Each test binary is one ctest test.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace bfi_test {

struct TestCase {
  const char* name;
  std::function<void()> body;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
inline int& failures() {
  static int n = 0;
  return n;
}
inline int& checks() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> body) { registry().push_back({name, body}); }
};

// Exit code ctest reads as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
constexpr int kSkipExitCode = 77;

inline int run_all(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int run = 0, failed_tests = 0;
  for (auto& t : registry()) {
    if (filter && std::string(t.name).find(filter) == std::string::npos) continue;
    const int before = failures();
    t.body();
    ++run;
    const bool ok = failures() == before;
    failed_tests += ok ? 0 : 1;
    std::printf("[%s] %s\n", ok ? "  OK  " : " FAIL ", t.name);
  }
  std::printf("%d passed, %d failed (%d checks)\n", run - failed_tests, failed_tests, checks());
  return failed_tests == 0 && run > 0 ? 0 : 1;
}

}  // namespace bfi_test

#define BFI_CONCAT_(a, b) a##b
#define BFI_CONCAT(a, b) BFI_CONCAT_(a, b)
#define TEST(name)                                                                            \
  static void BFI_CONCAT(test_fn_, name)();                                                   \
  static ::bfi_test::Register BFI_CONCAT(test_reg_, name)(#name, BFI_CONCAT(test_fn_, name)); \
  static void BFI_CONCAT(test_fn_, name)()

#define CHECK_MSG(cond, ...)                                                 \
  do {                                                                       \
    ++::bfi_test::checks();                                                  \
    if (!(cond)) {                                                           \
      ++::bfi_test::failures();                                              \
      std::printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                              \
      std::printf("\n");                                                     \
    }                                                                        \
  } while (0)
#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_EQ(a, b) \
  CHECK_MSG((a) == (b), "%s = %lld, %s = %lld", #a, (long long)(a), #b, (long long)(b))

#define TEST_MAIN()                         \
  int main(int argc, char** argv) {         \
    return ::bfi_test::run_all(argc, argv); \
  }
