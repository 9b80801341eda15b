// Library bugs the ABI fuzzer knows about: while one is open, its violations are tolerated by the
// fuzzer (reported once per run as an expected failure) and its reproducers must still fail
// (test fuzz_abi_known_bugs). When a bug is fixed that test fails: delete the entry from
// kKnownBugs in known_bugs.cpp (and its line in ubsan.supp, if it has one).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "abi_check.hpp"

namespace bfi_fuzz {

// One call pair of the table with explicit arguments of `first`; `second` gets its valid-mode
// arguments, then `overrides` (parameter index, bits). With overrides it is checked in free mode.
struct Reproducer {
  const char* first;
  const char* second;  // nullptr: `first` alone
  std::vector<uint64_t> first_args;
  std::vector<std::pair<size_t, uint64_t>> overrides{};
};

struct KnownBug {
  const char* id;
  const char* what;  // the defect and where it is
  bool (*matches)(const Violation&);
  std::vector<Reproducer> reproducers;
};

const std::vector<KnownBug>& known_bugs();
// The open bug this violation is an instance of, or nullptr (a new bug).
const KnownBug* find_known_bug(const Violation& v);
// Runs a reproducer through the harness; its violations (none if the pair is not in the table:
// *found is then false).
std::vector<Violation> reproduce(Harness& harness, const Reproducer& r, bool* found);

}  // namespace bfi_fuzz
