#include "known_bugs.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace bfi_fuzz {
namespace {

bool named(const Call& c, const char* short_name) {
  return std::strcmp(c.fn->name + std::strlen("baracuda_kernels_flashinfer_"), short_name) == 0;
}
bool status_is(const Call& c, int64_t s) {
  return c.result.value == s;
}

// ---------------------------------------------------------------------------------------------
// KNOWN LIBRARY BUGS: expected failures. Delete an entry once its bug is fixed.
// ---------------------------------------------------------------------------------------------
const std::vector<KnownBug> kKnownBugs = {};
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
