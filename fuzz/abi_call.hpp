// Calls any exported C function from an array of argument bit patterns: the parameter and result
// types are deduced from the function's own declaration in the public header, so a table entry
// names a function and nothing about its C types.
#pragma once

#include <baracuda/flashinfer.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bfi_fuzz {

// The C types the ABI's parameters and results have. size_t and uint64_t are one type on the
// LP64 platforms the library supports. Host structs the library reads or writes have types of
// their own: the harness passes real host memory for them, never a fake pointer.
enum class Type : uint8_t {
  kI32,
  kU32,
  kI64,
  kU64,
  kF32,
  kPtr,  // a device pointer (never dereferenced on the host)
  kStream,
  kSizeOut,      // size_t* result
  kString,       // const char* result
  kOptions,      // const baracuda_flashinfer_attention_options* (read on the host)
  kOptionsOut,   // baracuda_flashinfer_attention_options* (attention_options_init writes it)
  kScheduleOut,  // baracuda_flashinfer_decode_schedule* (read and written on the host)
  kVoid,         // no result
};

template <typename T>
struct Conv;
template <>
struct Conv<int32_t> {
  static constexpr Type type = Type::kI32;
  static int32_t from(uint64_t b) { return static_cast<int32_t>(static_cast<uint32_t>(b)); }
};
template <>
struct Conv<uint32_t> {
  static constexpr Type type = Type::kU32;
  static uint32_t from(uint64_t b) { return static_cast<uint32_t>(b); }
};
template <>
struct Conv<int64_t> {
  static constexpr Type type = Type::kI64;
  static int64_t from(uint64_t b) { return static_cast<int64_t>(b); }
};
template <>
struct Conv<uint64_t> {
  static_assert(std::is_same_v<size_t, uint64_t>, "the harness assumes LP64 (size_t == uint64_t)");
  static constexpr Type type = Type::kU64;
  static uint64_t from(uint64_t b) { return b; }
};
template <>
struct Conv<float> {
  static constexpr Type type = Type::kF32;
  static float from(uint64_t b) {
    const uint32_t bits = static_cast<uint32_t>(b);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
};
// Every pointer-like parameter: its bits are the address.
template <typename P, Type T>
struct PointerConv {
  static constexpr Type type = T;
  static P from(uint64_t b) { return reinterpret_cast<P>(static_cast<uintptr_t>(b)); }
};
template <>
struct Conv<void*> : PointerConv<void*, Type::kPtr> {};
template <>
struct Conv<const void*> : PointerConv<const void*, Type::kPtr> {};
template <>
struct Conv<const int32_t*> : PointerConv<const int32_t*, Type::kPtr> {};
template <>
struct Conv<float*> : PointerConv<float*, Type::kPtr> {};
template <>
struct Conv<baracuda_flashinfer_stream_t>
    : PointerConv<baracuda_flashinfer_stream_t, Type::kStream> {};
template <>
struct Conv<size_t*> : PointerConv<size_t*, Type::kSizeOut> {};
template <>
struct Conv<const baracuda_flashinfer_attention_options*>
    : PointerConv<const baracuda_flashinfer_attention_options*, Type::kOptions> {};
template <>
struct Conv<baracuda_flashinfer_attention_options*>
    : PointerConv<baracuda_flashinfer_attention_options*, Type::kOptionsOut> {};
template <>
struct Conv<baracuda_flashinfer_decode_schedule*>
    : PointerConv<baracuda_flashinfer_decode_schedule*, Type::kScheduleOut> {};
template <>
struct Conv<const char*> {
  static constexpr Type type = Type::kString;
};
template <>
struct Conv<void> {
  static constexpr Type type = Type::kVoid;
};

// What a call returned: `value` for integer results (status codes, sizes, the version), `text`
// for string results (nullptr is kept as is: it is a violation); nothing for void functions.
struct Result {
  Type type;
  int64_t value = 0;
  const char* text = nullptr;
};

// One exported function: its name, its parameter types and a type-erased caller.
struct Function {
  const char* name = nullptr;
  std::vector<Type> params;
  Type result = Type::kI32;
  Result (*call)(const uint64_t* args) = nullptr;

  bool returns_status() const { return result == Type::kI32; }
  explicit operator bool() const { return name != nullptr; }
};

namespace detail {
template <typename R>
Result wrap(R r) {
  Result out{Conv<R>::type};
  if constexpr (std::is_same_v<R, const char*>) {
    out.text = r;
  } else {
    out.value = static_cast<int64_t>(r);
  }
  return out;
}
template <typename R, typename... A, size_t... I>
Result call(R (*f)(A...), const uint64_t* args, std::index_sequence<I...>) {
  (void)args;  // unused for functions without parameters
  if constexpr (std::is_void_v<R>) {
    f(Conv<A>::from(args[I])...);
    return Result{Type::kVoid};
  } else {
    return wrap<R>(f(Conv<A>::from(args[I])...));
  }
}
template <auto F, typename R, typename... A>
Function make(const char* name, R (*)(A...)) {
  return Function{name, {Conv<A>::type...}, Conv<R>::type, [](const uint64_t* args) {
                    return call(F, args, std::index_sequence_for<A...>{});
                  }};
}
}  // namespace detail

template <auto F>
Function function(const char* name) {
  return detail::make<F>(name, F);
}

// BFI_FN(paged_decode_f16_run): the exported function baracuda_kernels_flashinfer_<short name>.
#define BFI_FN(NAME) \
  ::bfi_fuzz::function<&baracuda_kernels_flashinfer_##NAME>("baracuda_kernels_flashinfer_" #NAME)

// "int32_t", "float", ... for messages.
const char* type_name(Type t);
// An argument as C source text ("-1", "nanf", "(void*)0x7f0000001000", "&out", "NULL").
std::string format_arg(Type t, uint64_t bits);

}  // namespace bfi_fuzz
