#include "known_bugs.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace bfi_fuzz {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

bool named(const Call& c, const char* short_name) {
  return std::strcmp(c.fn->name + std::strlen("baracuda_kernels_flashinfer_"), short_name) == 0;
}
bool status_is(const Call& c, int64_t s) {
  return c.result.value == s;
}

// ---------------------------------------------------------------------------------------------
// KNOWN LIBRARY BUGS: expected failures. Delete an entry once its bug is fixed.
// ---------------------------------------------------------------------------------------------
const std::vector<KnownBug> kKnownBugs = {
    {"speculative-limit-wraps",
     "chain_speculative_sampling_f32_can_implement (and _run/_ex) accept batch * (S + 1) * vocab "
     "> 2^32 when the product exceeds 2^63: check_extents (src/sampling/sampling_api.cpp) forms "
     "it in int64_t, which wraps (signed overflow, undefined behaviour; ubsan.supp silences it)",
     [](const Violation& v) {
       if (v.check != Check::kLimit ||
           !named(v.first, "chain_speculative_sampling_f32_can_implement"))
         return false;
       const Args a{v.first.args};
       const __int128 product = __int128(a.i(0)) * (__int128(a.i(1)) + 1) * a.i(2);
       return product > __int128(std::numeric_limits<int64_t>::max());
     },
     {{"baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement",
       "baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run",
       {bits_i32(4), bits_i32(kMax), bits_i32(kMax)}},
      {"baracuda_kernels_flashinfer_chain_speculative_sampling_f32_can_implement",
       "baracuda_kernels_flashinfer_chain_speculative_sampling_f32_run",
       {bits_i32(1048576), bits_i32(kMax), bits_i32(8192)}}}},

    {"append-token-head-limit-undocumented",
     "paged_kv_append_<T>_can_implement / _run refuse num_tokens * num_heads >= 2^31 with 3 "
     "(check_shape, src/append/append_api.cpp), a limit the header does not document: it says "
     "\"Supported: 1 <= num_tokens < 2^31\" and 1 <= H <= 1024 (document it, or lift it)",
     [](const Violation& v) {
       if (v.check != Check::kSupported) return false;
       const char* n = v.first.fn->name;
       if (std::strstr(n, "_paged_kv_append_") == nullptr || std::strstr(n, "_decode_") != nullptr)
         return false;
       const Args a{v.first.args};
       return int64_t(a.i(0)) * a.i(3) > std::numeric_limits<int32_t>::max() &&
              status_is(v.first, 3);
     },
     {{"baracuda_kernels_flashinfer_paged_kv_append_f16_can_implement",
       "baracuda_kernels_flashinfer_paged_kv_append_f16_run",
       {bits_i32(1 << 22), bits_i32(64), bits_i32(16), bits_i32(1024), bits_i32(128)}}}},
};
// ---------------------------------------------------------------------------------------------

}  // namespace

const std::vector<KnownBug>& known_bugs() {
  return kKnownBugs;
}

const KnownBug* find_known_bug(const Violation& v) {
  for (const KnownBug& bug : kKnownBugs) {
    if (bug.matches(v)) return &bug;
  }
  return nullptr;
}

std::vector<Violation> reproduce(Harness& harness, const Reproducer& r, bool* found) {
  std::vector<Violation> out;
  *found = false;
  for (const Entry& e : entries()) {
    if (std::strcmp(e.first.name, r.first) != 0) continue;
    if ((r.second == nullptr) != !e.second) continue;
    if (r.second != nullptr && std::strcmp(e.second.name, r.second) != 0) continue;
    *found = true;
    const bool free_mode = !r.overrides.empty();
    const Call first = harness.call(e.first, r.first_args);
    harness.check_call(e, first, true, false, &out);
    harness.check_first(e, first, &out);
    if (!e.second) break;
    std::vector<uint64_t> args = harness.second_args(e, r.first_args, false, {});
    for (const auto& [index, bits] : r.overrides) args.at(index) = bits;
    const Call second = harness.call(e.second, args);
    harness.check_call(e, second, false, free_mode, &out);
    harness.check_pair(e, free_mode, first, second, &out);
    break;
  }
  return out;
}

}  // namespace bfi_fuzz
