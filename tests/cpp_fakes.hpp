// Helpers for host-only tests of the C++ layer (include/baracuda/flashinfer.hpp) that replace C
// run entry points with fakes: the executable's definitions win over the shared library's at
// link time, so no GPU is touched and a test can assert whether (and how) a run reached the C
// ABI. A fake records its symbol and its arguments in ABI order, as text:
//
//   extern "C" int32_t baracuda_kernels_flashinfer_x_run(int32_t n, void* p, ...) {
//     return bfi_fake::record("x", n, p, ...);
//   }
//   EXPECT_ONE_CALL(plan.run(...), "x", bfi_fake::args(4, ptr, ...));
#pragma once

#include <baracuda/flashinfer.hpp>
#include <gtest/gtest.h>

#include <array>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace bfi_fake {

namespace bfi = baracuda::flashinfer;

/** The C runs reached since reset(): how many, and the last one's symbol and arguments. */
struct Calls {
  int count = 0;
  std::string which;
  std::vector<std::string> args;
};
inline Calls& calls() {
  static Calls c;
  return c;
}
inline void reset() {
  calls() = Calls{};
}

// One argument as text; each overload is one C parameter type (no implicit conversions between
// them, so a wrong parameter type in the layer shows as a different string).
inline std::string arg(int32_t v) {
  return std::to_string(v);
}
inline std::string arg(int64_t v) {
  return "i" + std::to_string(v);
}
inline std::string arg(uint64_t v) {
  return "u" + std::to_string(v);
}
inline std::string arg(float v) {
  char s[32];
  std::snprintf(s, sizeof(s), "f%.9g", static_cast<double>(v));
  return s;
}
inline std::string arg(const void* p) {
  char s[32];
  std::snprintf(s, sizeof(s), "p%llx",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)));
  return s;
}
inline std::string arg(std::nullptr_t) {
  return arg(static_cast<const void*>(nullptr));
}

template <class... A>
std::vector<std::string> args(A... a) {
  return {arg(a)...};
}
/** The argument `i` of the last C run reached ("" if it had fewer). */
inline std::string arg_of_last_call(size_t i) {
  return i < calls().args.size() ? calls().args[i] : std::string();
}
/** What a fake run returns: records the call, reports success. */
template <class... A>
int32_t record(const char* which, A... a) {
  Calls& c = calls();
  c.count += 1;
  c.which = which;
  c.args = args(a...);
  return bfi::status::kSuccess;
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/** A fake device address (never dereferenced). */
inline void* addr(uintptr_t a) {
  return reinterpret_cast<void*>(a);
}
/** A fake stream, forwarded untouched. */
inline baracuda_flashinfer_stream_t fake_stream() {
  return reinterpret_cast<baracuda_flashinfer_stream_t>(addr(0x5700));
}

/** printf-style text, for failure messages. */
inline std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

inline bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

}  // namespace bfi_fake

/** `s` failed with `code` and a message containing `part`, and no C run was reached. */
#define EXPECT_REJECTED(status_, code_, part_)                                      \
  do {                                                                              \
    const ::baracuda::flashinfer::Status s_ = (status_);                            \
    EXPECT_EQ(s_.code(), (code_)) << s_.name() << ": " << s_.message();             \
    EXPECT_TRUE(::bfi_fake::contains(s_.message(), part_))                          \
        << "message '" << s_.message() << "' lacks '" << std::string(part_) << "'"; \
    EXPECT_EQ(::bfi_fake::calls().count, 0) << "the C run was reached";             \
  } while (0)

/** `s` succeeded and reached exactly one C run, `which`, with arguments `expect` (ABI order). */
#define EXPECT_ONE_CALL(status_, which_, expect_)                                           \
  do {                                                                                      \
    const ::baracuda::flashinfer::Status s_ = (status_);                                    \
    const ::bfi_fake::Calls& c_ = ::bfi_fake::calls();                                      \
    EXPECT_TRUE(s_.ok()) << s_.to_string();                                                 \
    EXPECT_EQ(c_.count, 1) << "C runs reached";                                             \
    EXPECT_EQ(c_.which, std::string(which_));                                               \
    const std::vector<std::string> e_ = (expect_);                                          \
    EXPECT_EQ(c_.args, e_) << "arguments (" << ::bfi_fake::join(c_.args) << "), expected (" \
                           << ::bfi_fake::join(e_) << ")";                                  \
  } while (0)

/**
 * Plan creation answered exactly what the C _can_implement answers: `c_code` is that call's
 * result, made just before; its message (last_error) is compared too.
 */
#define EXPECT_SAME_AS_C(result_, c_code_)                               \
  do {                                                                   \
    const int32_t cc_ = (c_code_);                                       \
    const std::string cmsg_ = ::baracuda::flashinfer::last_error();      \
    const auto& r_ = (result_);                                          \
    EXPECT_NE(cc_, 0) << "the C _can_implement accepts this descriptor"; \
    EXPECT_FALSE(r_.ok());                                               \
    EXPECT_EQ(r_.status().code(), cc_) << r_.status().to_string();       \
    EXPECT_EQ(r_.status().message(), cmsg_);                             \
    EXPECT_FALSE(cmsg_.empty()) << "the C library gave no message";      \
  } while (0)

namespace bfi_fake {

/**
 * One tensor of a run, broken in every way the layer must catch, each time from a correct set of
 * arguments `good`; `get(args)` returns the tensor, `run(args)` calls the plan. Checks that each
 * is rejected naming the tensor (and the dimension) without reaching the C run: wrong dtype;
 * each fixed dimension one too large (`free_dims`: bit i set = dimension i takes any size, and
 * a negative size is tried instead); a non-dense stride; NULL data; data off its `align`.
 */
template <int N, class A, class Get, class Run>
void expect_tensor_checked(const A& good, Get get, Run run, const char* name,
                           const std::array<const char*, N>& dims, unsigned free_dims,
                           std::size_t align) {
  namespace st = bfi::status;
  SCOPED_TRACE(name);
  char msg[256];
  {  // dtype
    A a = good;
    bfi::TensorView<N>& t = get(a);
    const bfi::Dtype want = t.dtype;
    t.dtype = want == bfi::Dtype::f32 ? bfi::Dtype::f16 : bfi::Dtype::f32;
    std::snprintf(msg, sizeof(msg), "%s: dtype is %s, expected %s", name, bfi::dtype_name(t.dtype),
                  bfi::dtype_name(want));
    reset();
    EXPECT_REJECTED(run(a), st::kInvalidProblem, msg);
  }
  for (int i = 0; i < N; ++i) {  // each dimension
    A a = good;
    bfi::TensorView<N>& t = get(a);
    std::array<int64_t, N> shape = t.shape;
    const long long want = shape[i];
    const bool any = (free_dims >> i) & 1u;
    shape[i] = any ? -1 : want + 1;
    t = bfi::contiguous<N>(t.data, t.dtype, shape);
    if (any) {
      std::snprintf(msg, sizeof(msg), "%s: dimension %d (%s) is -1, must be >= 0", name, i,
                    dims[i]);
    } else {
      std::snprintf(msg, sizeof(msg), "%s: dimension %d (%s) is %lld, expected %lld", name, i,
                    dims[i], want + 1, want);
    }
    reset();
    EXPECT_REJECTED(run(a), st::kInvalidProblem, msg);
  }
  {  // stride: every other element / row of a larger tensor
    A a = good;
    bfi::TensorView<N>& t = get(a);
    const long long dense = t.stride[0];
    t.stride[0] *= 2;
    std::snprintf(msg, sizeof(msg),
                  "%s: stride of dimension 0 (%s) is %lld, expected %lld (dense row-major)", name,
                  dims[0], 2 * dense, dense);
    reset();
    EXPECT_REJECTED(run(a), st::kInvalidProblem, msg);
  }
  {  // NULL
    A a = good;
    get(a).data = nullptr;
    std::snprintf(msg, sizeof(msg), "%s: data is NULL", name);
    reset();
    EXPECT_REJECTED(run(a), st::kInvalidProblem, msg);
  }
  if (align > 1) {  // misaligned
    A a = good;
    bfi::TensorView<N>& t = get(a);
    t.data = static_cast<char*>(t.data) + align / 2;
    std::snprintf(msg, sizeof(msg), "%s: data %p is not %zu-byte aligned", name, t.data, align);
    reset();
    EXPECT_REJECTED(run(a), st::kMisalignedOperand, msg);
  }
}

}  // namespace bfi_fake
