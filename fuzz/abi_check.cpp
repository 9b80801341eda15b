#include "abi_check.hpp"

#include <sys/mman.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

namespace bfi_fuzz {
namespace {

constexpr size_t kPage = 4096;
constexpr uint32_t kGuardPages = 64;
constexpr size_t kSentinel = 0xA5A5A5A5A5A5A5A5ull;
const char* const kPrefix = "baracuda_kernels_flashinfer_";

// The PROT_NONE region, for printing pointers into it as guard+offset.
uintptr_t g_region = 0;

const char* short_name(const char* name) {
  return std::strncmp(name, kPrefix, std::strlen(kPrefix)) == 0 ? name + std::strlen(kPrefix)
                                                                : name;
}

bool is_index_token(const std::string& token) {
  return !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
}

std::vector<std::string> tokens(const char* roles) {
  std::vector<std::string> out;
  std::string current;
  for (const char* p = roles; *p != '\0'; ++p) {
    if (*p == ' ') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += *p;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

bool ends_with(const char* s, const char* suffix) {
  const size_t n = std::strlen(s), m = std::strlen(suffix);
  return n >= m && std::strcmp(s + n - m, suffix) == 0;
}

}  // namespace

uint64_t bits_f32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kI32:
      return "int32_t";
    case Type::kU32:
      return "uint32_t";
    case Type::kI64:
      return "int64_t";
    case Type::kU64:
      return "uint64_t";
    case Type::kF32:
      return "float";
    case Type::kPtr:
      return "void*";
    case Type::kStream:
      return "baracuda_flashinfer_stream_t";
    case Type::kSizeOut:
      return "size_t*";
    case Type::kString:
      return "const char*";
  }
  return "?";
}

std::string format_arg(Type t, uint64_t b) {
  char buf[96];
  switch (t) {
    case Type::kI32:
      std::snprintf(buf, sizeof buf, "%" PRId32, Conv<int32_t>::from(b));
      break;
    case Type::kU32:
      std::snprintf(buf, sizeof buf, "%" PRIu32 "u", static_cast<uint32_t>(b));
      break;
    case Type::kI64:
      std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<int64_t>(b));
      break;
    case Type::kU64:
      std::snprintf(buf, sizeof buf, "%" PRIu64 "u", b);
      break;
    case Type::kF32: {
      const float f = Conv<float>::from(b);
      if (std::isnan(f)) {
        std::snprintf(buf, sizeof buf, "nanf /* bits 0x%08" PRIx32 " */", static_cast<uint32_t>(b));
      } else if (std::isinf(f)) {
        std::snprintf(buf, sizeof buf, "%sINFINITY", f < 0 ? "-" : "");
      } else {
        std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(f));
      }
      break;
    }
    case Type::kPtr:
    case Type::kStream:
    case Type::kSizeOut:
      if (b == 0) {
        std::snprintf(buf, sizeof buf, "NULL");
      } else if (g_region != 0 && b >= g_region && b < g_region + kGuardPages * kPage) {
        std::snprintf(buf, sizeof buf, "guard+0x%" PRIx64, b - g_region);
      } else {
        std::snprintf(buf, sizeof buf, "(void*)0x%" PRIx64, b);
      }
      break;
    case Type::kString:
      std::snprintf(buf, sizeof buf, "?");
      break;
  }
  return buf;
}

std::string Entry::name() const {
  std::string n = short_name(first.name);
  if (second) n += std::string(" -> ") + short_name(second.name);
  return n;
}

const char* check_name(Check c) {
  switch (c) {
    case Check::kStatusRange:
      return "status outside 0..6";
    case Check::kInternal:
      return "status 6 (internal error)";
    case Check::kMessage:
      return "non-zero status without a message naming the function";
    case Check::kStaleMessage:
      return "status 0 with a non-empty last_error()";
    case Check::kNullString:
      return "NULL string";
    case Check::kResult:
      return "result differs from the header's promise";
    case Check::kWroteOnFailure:
      return "failed call wrote its result";
    case Check::kCanTouchedDevice:
      return "GPU-free can_implement answered 5";
    case Check::kCanLooksAtPointer:
      return "can_implement answered 1 or 4";
    case Check::kLimit:
      return "documented limit exceeded but accepted";
    case Check::kSupported:
      return "documented as supported but refused";
    case Check::kOrder:
      return "first refused the sizes (2/3), second answered differently";
    case Check::kAccepted:
      return "first accepted, second refused the same sizes";
    case Check::kDevice:
      return "first found no device, second answered otherwise";
  }
  return "?";
}

std::string Call::format() const {
  std::string s = fn->name;
  s += '(';
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) s += ", ";
    s += format_arg(fn->params[i], args[i]);
  }
  s += ") = ";
  if (fn->result == Type::kString) {
    s += result.text == nullptr ? "NULL" : "\"" + std::string(result.text) + "\"";
  } else {
    s += std::to_string(result.value);
  }
  if (!message.empty()) s += "  \"" + message + "\"";
  return s;
}

std::string Violation::format() const {
  std::string s = std::string(check_name(check)) + " [" + entry->name() + ", " +
                  (second ? (free_mode ? "free mode" : "valid mode") : "its first call") + "]\n  " +
                  first.format();
  if (second) s += "\n  " + second->format();
  return s;
}

std::vector<Type> free_types(const Entry& entry) {
  std::vector<Type> out;
  if (!entry.second) return out;
  const std::vector<std::string> t = tokens(entry.roles);
  for (size_t i = 0; i < t.size() && i < entry.second.params.size(); ++i) {
    if (!is_index_token(t[i]) && t[i] != "z") out.push_back(entry.second.params[i]);
  }
  return out;
}

Harness::Harness() {
  void* p = mmap(nullptr, kGuardPages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::abort();
  }
  region_ = static_cast<uint8_t*>(p);
  g_region = reinterpret_cast<uintptr_t>(p);
  slot_ = new size_t(kSentinel);
  // Every table entry's roles must fit its function (an error here is a table bug).
  for (const Entry& e : entries()) {
    if (!e.second) continue;
    const std::vector<std::string> t = tokens(e.roles);
    bool ok = t.size() == e.second.params.size();
    for (size_t i = 0; ok && i < t.size(); ++i) {
      if (is_index_token(t[i])) {
        const size_t j = std::stoul(t[i]);
        ok = j < e.first.params.size() && e.first.params[j] == e.second.params[i];
      } else {
        ok = t[i].size() == 1 && std::strchr("pasntzxwoS", t[i][0]) != nullptr;
      }
    }
    for (const auto& [index, bits] : e.pinned) ok = ok && index < e.first.params.size();
    if (!ok) {
      std::fprintf(stderr, "fuzz table: roles \"%s\" do not fit %s (%zu parameters)\n", e.roles,
                   e.second.name, e.second.params.size());
      std::abort();
    }
  }
}

Harness::~Harness() {
  munmap(region_, kGuardPages * kPage);
  delete slot_;
}

uint64_t Harness::guard_pointer(uint32_t page, uint32_t offset) const {
  return reinterpret_cast<uintptr_t>(region_) + (page % kGuardPages) * kPage + offset % kPage;
}

uint64_t Harness::out_slot() const {
  return reinterpret_cast<uintptr_t>(slot_);
}

std::vector<uint64_t> Harness::second_args(const Entry& entry,
                                           const std::vector<uint64_t>& first_args, bool free_mode,
                                           const std::vector<uint64_t>& free_args) const {
  const std::vector<std::string> t = tokens(entry.roles);
  std::vector<uint64_t> args(t.size());
  size_t next_free = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (is_index_token(t[i])) {
      args[i] = first_args[std::stoul(t[i])];
      continue;
    }
    if (free_mode && t[i] != "z") {
      args[i] = next_free < free_args.size() ? free_args[next_free] : 0;
      ++next_free;
      continue;
    }
    switch (t[i][0]) {
      case 'p':
        args[i] = guard_pointer(static_cast<uint32_t>(i + 1), 0);
        break;
      case 's':
        args[i] = bits_f32(0.125f);
        break;
      case 'n':
        args[i] = bits_i32(1);
        break;
      case 't':
        args[i] = 4096;
        break;
      case 'w':
        args[i] = uint64_t(1) << 40;
        break;
      case 'o':
        args[i] = out_slot();
        break;
      default:  // a, x, z, S: zero / NULL
        args[i] = 0;
        break;
    }
  }
  return args;
}

Call Harness::call(const Function& fn, const std::vector<uint64_t>& args) {
  *slot_ = kSentinel;
  Call c;
  c.fn = &fn;
  c.args = args;
  c.result = fn.call(args.data());
  const char* message = baracuda_kernels_flashinfer_last_error();
  c.message = message == nullptr ? std::string("\x01(NULL)") : std::string(message);
  return c;
}

void Harness::check_call(const Entry& entry, const Call& c, bool is_first, bool free_mode,
                         std::vector<Violation>* out) const {
  auto report = [&](Check check) {
    Violation v{check, &entry, free_mode, c, std::nullopt};
    out->push_back(v);
  };
  if (c.message.size() > 0 && c.message[0] == '\x01') report(Check::kNullString);
  if (c.fn->result == Type::kString && c.result.text == nullptr) report(Check::kNullString);
  if (is_first && entry.result_ok != nullptr && !entry.result_ok(Args{c.args}, c.result)) {
    report(Check::kResult);
  }
  if (!c.fn->returns_status()) return;
  const int64_t s = c.result.value;
  if (s < 0 || s > 6) report(Check::kStatusRange);
  if (s == BARACUDA_FLASHINFER_INTERNAL) report(Check::kInternal);
  if (s != 0) {
    // CUDA errors carry the runtime's text; every other refusal names the function.
    const bool named = c.message.find(c.fn->name) != std::string::npos;
    if (c.message.empty() || (s != BARACUDA_FLASHINFER_CUDA_ERROR && !named)) {
      report(Check::kMessage);
    }
  } else if (!c.message.empty()) {
    report(Check::kStaleMessage);
  }
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (c.fn->params[i] == Type::kSizeOut && c.args[i] == out_slot() && s != 0 &&
        *slot_ != kSentinel) {
      report(Check::kWroteOnFailure);
    }
  }
}

void Harness::check_first(const Entry& entry, const Call& first,
                          std::vector<Violation>* out) const {
  if (!first.fn->returns_status()) return;
  const int64_t c = first.result.value;
  auto report = [&](Check check) { out->push_back({check, &entry, false, first, std::nullopt}); };
  if (ends_with(first.fn->name, "_can_implement")) {
    if (c == BARACUDA_FLASHINFER_MISALIGNED_OPERAND ||
        c == BARACUDA_FLASHINFER_WORKSPACE_TOO_SMALL) {
      report(Check::kCanLooksAtPointer);
    }
    if (c == BARACUDA_FLASHINFER_CUDA_ERROR && !entry.first_queries_device) {
      report(Check::kCanTouchedDevice);
    }
  }
  const Args args{first.args};
  if (entry.exceeds_limit != nullptr && entry.exceeds_limit(args) &&
      c != BARACUDA_FLASHINFER_INVALID_PROBLEM && c != BARACUDA_FLASHINFER_UNSUPPORTED) {
    report(Check::kLimit);
  }
  if (entry.documented_supported != nullptr && entry.documented_supported(args) &&
      !(c == 0 || (c == BARACUDA_FLASHINFER_CUDA_ERROR && entry.first_queries_device))) {
    report(Check::kSupported);
  }
}

void Harness::check_pair(const Entry& entry, bool free_mode, const Call& first, const Call& second,
                         std::vector<Violation>* out) const {
  if (!first.fn->returns_status() || !second.fn->returns_status()) return;
  const int64_t c = first.result.value, r = second.result.value;
  auto report = [&](Check check) { out->push_back({check, &entry, free_mode, first, second}); };
  // A per-row array that replaces a checked scalar makes `first`'s answer about that scalar moot.
  bool arrays_null = true;
  const std::vector<std::string> t = tokens(entry.roles);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == "a" && second.args[i] != 0) arrays_null = false;
  }
  if (c == BARACUDA_FLASHINFER_INVALID_PROBLEM || c == BARACUDA_FLASHINFER_UNSUPPORTED) {
    // Sizes and scalar thresholds are validated before any pointer, on every path.
    if ((!free_mode || arrays_null) && r != c) report(Check::kOrder);
  } else if (c == 0) {
    if (!free_mode) {
      const bool ok = entry.exact ? r == 0 : (r == 0 || r == BARACUDA_FLASHINFER_CUDA_ERROR);
      if (!ok) report(Check::kAccepted);
    } else if (r == BARACUDA_FLASHINFER_UNSUPPORTED) {
      report(Check::kAccepted);  // no pointer or run-only scalar makes a problem unsupported
    }
  } else if (c == BARACUDA_FLASHINFER_CUDA_ERROR && !free_mode && r != c) {
    report(Check::kDevice);
  }
}

void Harness::run(const Entry& entry, std::vector<uint64_t> first_args, bool free_mode,
                  const std::vector<uint64_t>& free_args, std::vector<Violation>* out) {
  first_args.resize(entry.first.params.size(), 0);
  for (const auto& [index, bits] : entry.pinned) first_args[index] = bits;
  const Call first = call(entry.first, first_args);
  check_call(entry, first, true, false, out);
  check_first(entry, first, out);
  if (!entry.second) return;
  const Call second = call(entry.second, second_args(entry, first_args, free_mode, free_args));
  check_call(entry, second, false, free_mode, out);
  check_pair(entry, free_mode, first, second, out);
}

std::pair<std::vector<std::string>, std::vector<std::string>> table_vs_exports(
    const char* exports_txt) {
  std::set<std::string> listed, called;
  std::ifstream in(exports_txt);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", exports_txt);
    std::abort();
  }
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("baracuda_", 0) == 0) listed.insert(line.substr(0, line.find_first_of(" \t")));
  }
  for (const Entry& e : entries()) {
    called.insert(e.first.name);
    if (e.second) called.insert(e.second.name);
  }
  std::pair<std::vector<std::string>, std::vector<std::string>> diff;
  for (const std::string& s : listed) {
    if (!called.count(s)) diff.first.push_back(s);
  }
  for (const std::string& s : called) {
    if (!listed.count(s)) diff.second.push_back(s);
  }
  return diff;
}

}  // namespace bfi_fuzz
