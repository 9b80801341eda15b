// The contract every exported function is fuzzed against (docs/TESTING.md, "ABI fuzzing"):
// one table entry per exported function (or per pair of functions that must agree), the checks
// of one call, and the violations they report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "abi_call.hpp"

namespace bfi_fuzz {

// A view of one call's argument bits, for the documented-limit predicates of the table.
struct Args {
  const std::vector<uint64_t>& bits;
  int32_t i(size_t k) const { return Conv<int32_t>::from(bits.at(k)); }
  float f(size_t k) const { return Conv<float>::from(bits.at(k)); }
  // An attention-options argument (NULL or the harness's host struct: struct_size is always
  // readable, the other fields when struct_size >= sizeof).
  const baracuda_flashinfer_attention_options* options(size_t k) const {
    return Conv<const baracuda_flashinfer_attention_options*>::from(bits.at(k));
  }
};

// One table entry. `first` is called with fuzzed arguments; `second`, when present, with
// arguments built from `roles` (one token per parameter of `second`, separated by spaces):
//   <digit(s)> the first function's argument of that index (the same sizes and scalars)
//   p  a device pointer; valid: its own page of a PROT_NONE region (any host access crashes)
//   a  an optional per-row array that replaces a checked scalar; valid: NULL
//   s  sm_scale; valid: 0.125          n  a count (prefix_len); valid: 1
//   t  a stride in elements; valid: 4096 (a multiple of 8, at least every head dim)
//   z  schedule flags, always 0 (what can_implement answers for)
//   x  a scalar the first function does not take (a seed, kernel flags, enable_split); valid: 0
//   w  workspace bytes; valid: 2^40    o  a size_t* result; valid: a writable slot
//   S  the stream; valid: NULL
//   O  the first function's attention options (the same host struct, read-only), with `sinks`
//      replaced; valid: an aligned device pointer; free: a fuzzed one (never read on the host)
//   D  a decode-schedule result (host memory of exactly struct_size bytes before a PROT_NONE
//      page); valid: struct_size = sizeof; free: fuzzed struct_size, or NULL
// In "valid" mode the other tokens take their valid value, in "free" mode fuzzed ones (z: 0).
struct Entry {
  Function first;
  Function second{};
  const char* roles = "";
  // `second` is a can_implement too: in valid mode it must answer exactly what `first` does.
  bool exact = false;
  // `first` queries the current device (documented): it may answer 5 (no device here).
  bool first_queries_device = false;
  // Arguments of `first` fixed to one value (an element code the pair needs, ...).
  std::vector<std::pair<size_t, uint64_t>> pinned{};
  // A documented limit the arguments of `first` exceed: `first` must refuse them (2 or 3).
  bool (*exceeds_limit)(const Args&) = nullptr;
  // Arguments the header documents as supported: `first` must accept them (0; or 5 where it
  // queries the device).
  bool (*documented_supported)(const Args&) = nullptr;
  // Functions that return no status: whether the result is what the header promises.
  bool (*result_ok)(const Args&, const Result&) = nullptr;

  std::string name() const;  // "first" or "first -> second"
};

// Every entry, in a fixed order.
const std::vector<Entry>& entries();

enum class Check {
  kStatusRange,        // a status outside 0..6
  kInternal,           // status 6: "a bug in this library"
  kMessage,            // non-zero status without a message naming the function
  kStaleMessage,       // status 0 but last_error() is not "" (it is cleared on every call)
  kNullString,         // a string result or last_error() is NULL
  kResult,             // a non-status result that is not what the header says
  kWroteOnFailure,     // a failed call wrote its size_t* result
  kCanTouchedDevice,   // a can_implement documented as GPU-free answered 5
  kCanLooksAtPointer,  // a can_implement answered 1 or 4 (it has no pointer or workspace)
  kLimit,              // a documented limit exceeded, yet accepted
  kSupported,          // documented as supported, yet refused
  kOrder,              // first refused with 2/3, second (same sizes) answered differently
  kAccepted,           // first accepted, second (valid pointers) refused or answered otherwise
  kDevice,             // first answered 5 (no device), second (valid pointers) answered otherwise
};
const char* check_name(Check c);

struct Call {
  const Function* fn = nullptr;
  std::vector<uint64_t> args;
  Result result{};
  std::string message;          // last_error() after the call
  bool wrote_schedule = false;  // the call changed the bytes of its decode-schedule argument
  std::string format() const;   // "name(arg, ...) = result "message""
};

struct Violation {
  Check check;
  const Entry* entry;
  bool free_mode;
  Call first;  // the call the check is about when `second` is empty
  std::optional<Call> second;
  // Without `second`: whether `first` is the first function's call (else the second's, checked
  // alone).
  bool of_first_function = true;
  std::string format() const;
};

// The harness: owns the PROT_NONE region the pointers point into, the size_t* slot and the host
// structs (attention options, decode schedule) the library reads and writes.
class Harness {
 public:
  Harness();
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // A pointer `offset` bytes into guard page `page` (mod the region's size).
  uint64_t guard_pointer(uint32_t page, uint32_t offset) const;
  // The address of the size_t* result slot.
  uint64_t out_slot() const;
  // Host structs, each placed so that the caller owns exactly the bytes its struct_size says
  // (at least 8, rounded up to 8, at most a page) and the next byte is in a PROT_NONE page.
  // Attention options in slot 0 (the first function's) or 1 (the second's), read-only while the
  // library runs; returns their address.
  uint64_t options_arg(int slot, const baracuda_flashinfer_attention_options& options);
  // A writable options struct of sizeof bytes, filled with garbage (for attention_options_init).
  uint64_t options_out_arg();
  // A writable decode schedule with this struct_size, its other bytes garbage.
  uint64_t schedule_arg(size_t struct_size);

  // Calls entry.first with `first_args` (pinned arguments replaced) and, if present,
  // entry.second: in valid mode with valid free arguments, in free mode with `free_args` (one
  // per free role of `second`, in order; missing ones are 0). Appends every violation.
  void run(const Entry& entry, std::vector<uint64_t> first_args, bool free_mode,
           const std::vector<uint64_t>& free_args, std::vector<Violation>* out);

  // The arguments of entry.second for these first arguments (valid or free mode).
  std::vector<uint64_t> second_args(const Entry& entry, const std::vector<uint64_t>& first_args,
                                    bool free_mode, const std::vector<uint64_t>& free_args);
  Call call(const Function& fn, const std::vector<uint64_t>& args);

  // Checks `second` called with explicit arguments against `first` (the reproducers' form).
  void check_pair(const Entry& entry, bool free_mode, const Call& first, const Call& second,
                  std::vector<Violation>* out) const;
  void check_first(const Entry& entry, const Call& first, std::vector<Violation>* out) const;
  // The checks every call gets (status range, message, nothing written on failure, ...).
  void check_call(const Entry& entry, const Call& c, bool is_first, bool free_mode,
                  std::vector<Violation>* out) const;

 private:
  uint8_t* host_page(int k) const;
  uint8_t* region_ = nullptr;
  uint8_t* host_ = nullptr;  // the host structs' pages, each followed by a PROT_NONE page
  size_t* slot_ = nullptr;
};

// The parameter types of entry.second's free roles (every token but argument indices and z), in
// order: what a fuzzer generates in free mode (for O: the device pointer `sinks`).
std::vector<Type> free_types(const Entry& entry);

// The functions in abi/exports.txt that no entry calls, and the entries' functions that it does
// not list (both empty when the table is complete).
std::pair<std::vector<std::string>, std::vector<std::string>> table_vs_exports(
    const char* exports_txt);

// The defaults the header documents for the attention options (attention_options_init's).
baracuda_flashinfer_attention_options documented_default_options();

// Bit patterns.
inline uint64_t bits_i32(int32_t v) {
  return static_cast<uint32_t>(v);
}
uint64_t bits_f32(float v);

}  // namespace bfi_fuzz
