#include "known_bugs.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace bfi_fuzz {
namespace {

const uint64_t kNaN = bits_f32(std::numeric_limits<float>::quiet_NaN());

bool named(const Call& c, const char* short_name) {
  return std::strcmp(c.fn->name + std::strlen("baracuda_kernels_flashinfer_"), short_name) == 0;
}
bool is_per_dtype_decode_can(const Call& c) {
  const char* n = c.fn->name;
  return std::strstr(n, "_paged_decode_") != nullptr &&
         std::strstr(n, "_can_implement") != nullptr && !named(c, "paged_decode_can_implement") &&
         !named(c, "paged_decode_run_with_can_implement");
}
bool status_is(const Call& c, int64_t s) {
  return c.result.value == s;
}

// ---------------------------------------------------------------------------------------------
// KNOWN LIBRARY BUGS: expected failures. Delete an entry once its bug is fixed.
// ---------------------------------------------------------------------------------------------
const std::vector<KnownBug> kKnownBugs = {
    {"decode-can-implement-checks-sm-scale-first",
     "paged_decode_<element>_can_implement checks sm_scale before the sizes "
     "(BFI_DEFINE_PAGED_DECODE in src/decode/decode_api.cpp), _run checks the sizes first: an "
     "unsupported size with an invalid sm_scale gives 2 from can_implement, 3 from run",
     [](const Violation& v) {
       if (v.check != Check::kOrder || !v.second) return false;
       const Call* can = is_per_dtype_decode_can(v.first)     ? &v.first
                         : is_per_dtype_decode_can(*v.second) ? &*v.second
                                                              : nullptr;
       const Call& other = can == &v.first ? *v.second : v.first;
       if (can == nullptr) return false;
       const float sm_scale = Args{can->args}.f(5);
       return !(sm_scale > 0.f && std::isfinite(sm_scale)) && status_is(*can, 2) &&
              status_is(other, 3);
     },
     {{"baracuda_kernels_flashinfer_paged_decode_f16_can_implement",
       "baracuda_kernels_flashinfer_paged_decode_f16_run",
       {bits_i32(1), bits_i32(16), bits_i32(96), bits_i32(8), bits_i32(8), kNaN}}}},

    {"cascade-run-checks-pointers-first",
     "cascade_decode_run and cascade_decode_dense_prefix_run check pointers and sm_scale "
     "(check_pointers in run_cascade, src/decode/decode_api.cpp) before the sizes, against the "
     "documented order: an unsupported size with a NULL or misaligned pointer gives 3 from "
     "can_implement, 2 or 1 from run",
     [](const Violation& v) {
       if (v.check != Check::kOrder || !v.second || !v.free_mode) return false;
       const bool cascade_run = named(*v.second, "cascade_decode_run") ||
                                named(*v.second, "cascade_decode_dense_prefix_run");
       return cascade_run && (status_is(*v.second, 1) || status_is(*v.second, 2));
     },
     {{"baracuda_kernels_flashinfer_cascade_decode_can_implement",
       "baracuda_kernels_flashinfer_cascade_decode_run",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{14, 0}}},  // q = NULL
      {"baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement",
       "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_run",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{17, 0}}}}},  // q = NULL

    {"get-workspace-size-checks-out-pointer-first",
     "every *_get_workspace_size checks workspace_bytes != NULL before the sizes "
     "(get_workspace_size, shared_prefix_workspace_size, cascade_workspace_size in "
     "src/decode/decode_api.cpp), against the documented order: an unsupported size with a "
     "NULL workspace_bytes gives 3 from can_implement, 2 from get_workspace_size",
     [](const Violation& v) {
       if (v.check != Check::kOrder || !v.second || !v.free_mode) return false;
       const char* n = v.second->fn->name;
       const size_t len = std::strlen(n), suffix = std::strlen("_get_workspace_size");
       return len > suffix && std::strcmp(n + len - suffix, "_get_workspace_size") == 0 &&
              status_is(*v.second, 2) && v.second->args.back() == 0;
     },
     {{"baracuda_kernels_flashinfer_paged_decode_can_implement",
       "baracuda_kernels_flashinfer_paged_decode_get_workspace_size",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{6, 0}}},  // workspace_bytes = NULL
      {"baracuda_kernels_flashinfer_shared_prefix_decode_can_implement",
       "baracuda_kernels_flashinfer_shared_prefix_decode_get_workspace_size",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{6, 0}}},
      {"baracuda_kernels_flashinfer_cascade_decode_can_implement",
       "baracuda_kernels_flashinfer_cascade_decode_get_workspace_size",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{6, 0}}},
      {"baracuda_kernels_flashinfer_cascade_decode_dense_prefix_can_implement",
       "baracuda_kernels_flashinfer_cascade_decode_dense_prefix_get_workspace_size",
       {bits_i32(1), bits_i32(8), bits_i32(8), bits_i32(96), bits_i32(16), bits_i32(0)},
       {{6, 0}}}}},

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
