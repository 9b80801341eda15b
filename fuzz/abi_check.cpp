#include "abi_check.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstddef>
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
constexpr uint8_t kGarbage = 0xA5;
const char* const kPrefix = "baracuda_kernels_flashinfer_";

// The host structs' pages (each followed by a PROT_NONE one): options slots 0 and 1, the
// writable options of attention_options_init, the decode schedule.
constexpr int kOptionsPage0 = 0, kOptionsOutPage = 2, kSchedulePage = 3, kHostPages = 4;

// The PROT_NONE region, for printing pointers into it as guard+offset, and the host structs'.
uintptr_t g_region = 0;
uintptr_t g_host = 0;
uintptr_t g_out_slot = 0;

bool in_host_region(uint64_t b) {
  return g_host != 0 && b >= g_host && b < g_host + 2 * kHostPages * kPage;
}

// The bytes a caller with this struct_size owns.
size_t owned_bytes(size_t struct_size) {
  const size_t n = std::clamp<size_t>(struct_size, sizeof(size_t), kPage);
  return (n + 7) / 8 * 8;
}

std::string format_float(float f) {
  char buf[64];
  if (std::isnan(f)) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    std::snprintf(buf, sizeof buf, "nanf /* bits 0x%08" PRIx32 " */", bits);
  } else if (std::isinf(f)) {
    std::snprintf(buf, sizeof buf, "%sINFINITY", f < 0 ? "-" : "");
  } else {
    std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(f));
  }
  return buf;
}

// A host struct the harness passed, as a C compound literal.
std::string format_host_struct(Type t, uint64_t b) {
  char buf[512];
  if (t == Type::kOptionsOut) return "&options";
  if (t == Type::kScheduleOut) {
    std::snprintf(buf, sizeof buf, "&(schedule){.struct_size = %zu}",
                  reinterpret_cast<const baracuda_flashinfer_decode_schedule*>(b)->struct_size);
    return buf;
  }
  const auto* o = reinterpret_cast<const baracuda_flashinfer_attention_options*>(b);
  if (o->struct_size < sizeof(*o)) {
    std::snprintf(buf, sizeof buf, "&(options){.struct_size = %zu}", o->struct_size);
    return buf;
  }
  std::snprintf(
      buf, sizeof buf,
      "&(options){.struct_size = %zu, .kv_layout = %d, .window_left = %d, "
      ".logits_soft_cap = %s, .k_scale = %s, .v_scale = %s, .sinks = %s, .flags = %d, "
      ".reserved = %d}",
      o->struct_size, o->kv_layout, o->window_left, format_float(o->logits_soft_cap).c_str(),
      format_float(o->k_scale).c_str(), format_float(o->v_scale).c_str(),
      format_arg(Type::kPtr, reinterpret_cast<uintptr_t>(o->sinks)).c_str(), o->flags, o->reserved);
  return buf;
}

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

baracuda_flashinfer_attention_options documented_default_options() {
  baracuda_flashinfer_attention_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.kv_layout = BARACUDA_FLASHINFER_KV_LAYOUT_HND;
  o.window_left = -1;
  o.logits_soft_cap = 0.f;
  o.k_scale = 1.f;
  o.v_scale = 1.f;
  o.sinks = nullptr;
  o.flags = BARACUDA_FLASHINFER_ATTENTION_AUTO;
  o.reserved = 0;
  return o;
}

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
    case Type::kOptions:
      return "const baracuda_flashinfer_attention_options*";
    case Type::kOptionsOut:
      return "baracuda_flashinfer_attention_options*";
    case Type::kScheduleOut:
      return "baracuda_flashinfer_decode_schedule*";
    case Type::kVoid:
      return "void";
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
    case Type::kF32:
      return format_float(Conv<float>::from(b));
    case Type::kOptions:
    case Type::kOptionsOut:
    case Type::kScheduleOut:
      if (b != 0 && in_host_region(b)) return format_host_struct(t, b);
      [[fallthrough]];
    case Type::kPtr:
    case Type::kStream:
    case Type::kSizeOut:
      if (b == 0) {
        std::snprintf(buf, sizeof buf, "NULL");
      } else if (t == Type::kSizeOut && b == g_out_slot) {
        std::snprintf(buf, sizeof buf, "&out");
      } else if (g_region != 0 && b >= g_region && b < g_region + kGuardPages * kPage) {
        std::snprintf(buf, sizeof buf, "guard+0x%" PRIx64, b - g_region);
      } else {
        std::snprintf(buf, sizeof buf, "(void*)0x%" PRIx64, b);
      }
      break;
    case Type::kString:
    case Type::kVoid:
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
  s += ")";
  if (fn->result != Type::kVoid) s += " = ";
  if (fn->result == Type::kVoid) {
  } else if (fn->result == Type::kString) {
    s += result.text == nullptr ? "NULL" : "\"" + std::string(result.text) + "\"";
  } else {
    s += std::to_string(result.value);
  }
  if (!message.empty()) s += "  \"" + message + "\"";
  return s;
}

std::string Violation::format() const {
  const char* mode = free_mode ? "free mode" : "valid mode";
  const std::string where = second              ? mode
                            : of_first_function ? "its first call"
                                                : std::string("its second call, ") + mode;
  std::string s = std::string(check_name(check)) + " [" + entry->name() + ", " + where + "]\n  " +
                  first.format();
  if (second) s += "\n  " + second->format();
  return s;
}

std::vector<Type> free_types(const Entry& entry) {
  std::vector<Type> out;
  if (!entry.second) return out;
  const std::vector<std::string> t = tokens(entry.roles);
  for (size_t i = 0; i < t.size() && i < entry.second.params.size(); ++i) {
    if (t[i] == "O") {
      out.push_back(Type::kPtr);  // its sinks
    } else if (!is_index_token(t[i]) && t[i] != "z") {
      out.push_back(entry.second.params[i]);
    }
  }
  return out;
}

namespace {

// The parameter type a role token takes (any: nullopt).
std::optional<Type> role_type(char role) {
  switch (role) {
    case 'p':
    case 'a':
      return Type::kPtr;
    case 's':
      return Type::kF32;
    case 'n':
    case 'z':
      return Type::kI32;
    case 't':
      return Type::kI64;
    case 'w':
      return Type::kU64;
    case 'o':
      return Type::kSizeOut;
    case 'S':
      return Type::kStream;
    case 'O':
      return Type::kOptions;
    case 'D':
      return Type::kScheduleOut;
    default:  // x
      return std::nullopt;
  }
}

// The index of the first function's attention-options parameter (the table allows one), or -1.
int options_param(const Function& f) {
  const auto it = std::find(f.params.begin(), f.params.end(), Type::kOptions);
  return it == f.params.end() ? -1 : static_cast<int>(it - f.params.begin());
}

// A host struct the harness passes the library: real memory, never a fuzzed address.
bool is_host_struct(Type t) {
  return t == Type::kOptions || t == Type::kOptionsOut || t == Type::kScheduleOut;
}

}  // namespace

Harness::Harness() {
  void* p = mmap(nullptr, kGuardPages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::abort();
  }
  region_ = static_cast<uint8_t*>(p);
  g_region = reinterpret_cast<uintptr_t>(p);
  void* h = mmap(nullptr, 2 * kHostPages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED) {
    std::perror("mmap");
    std::abort();
  }
  host_ = static_cast<uint8_t*>(h);
  g_host = reinterpret_cast<uintptr_t>(h);
  for (int k = kOptionsOutPage; k < kHostPages; ++k) {
    if (mprotect(host_page(k), kPage, PROT_READ | PROT_WRITE) != 0) {
      std::perror("mprotect");
      std::abort();
    }
  }
  slot_ = new size_t(kSentinel);
  g_out_slot = reinterpret_cast<uintptr_t>(slot_);
  // Every table entry's roles must fit its function (an error here is a table bug).
  for (const Entry& e : entries()) {
    const int first_options =
        static_cast<int>(std::count(e.first.params.begin(), e.first.params.end(), Type::kOptions));
    bool ok = first_options <= 1;
    if (!e.second) {
      if (!ok) {
        std::fprintf(stderr, "fuzz table: %s takes more than one options struct\n", e.first.name);
        std::abort();
      }
      continue;
    }
    const std::vector<std::string> t = tokens(e.roles);
    ok = ok && t.size() == e.second.params.size();
    for (size_t i = 0; ok && i < t.size(); ++i) {
      if (is_index_token(t[i])) {
        const size_t j = std::stoul(t[i]);
        ok = j < e.first.params.size() && e.first.params[j] == e.second.params[i] &&
             e.second.params[i] != Type::kOptions;  // the second's copy is the O role
      } else {
        ok = t[i].size() == 1 && std::strchr("pasntzxwoSOD", t[i][0]) != nullptr;
        const std::optional<Type> want = ok ? role_type(t[i][0]) : std::nullopt;
        ok = ok && (want ? *want == e.second.params[i] : !is_host_struct(e.second.params[i]));
        if (ok && t[i] == "O") ok = first_options == 1;
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
  munmap(host_, 2 * kHostPages * kPage);
  g_host = 0;
  delete slot_;
}

uint8_t* Harness::host_page(int k) const {
  return host_ + 2 * k * kPage;
}

uint64_t Harness::options_arg(int slot, const baracuda_flashinfer_attention_options& options) {
  uint8_t* page = host_page(kOptionsPage0 + slot);
  mprotect(page, kPage, PROT_READ | PROT_WRITE);
  std::memset(page, kGarbage, kPage);
  const size_t owned = owned_bytes(options.struct_size);
  uint8_t* at = page + kPage - owned;
  std::memcpy(at, &options, std::min(owned, sizeof options));
  mprotect(page, kPage, PROT_READ);  // the library takes it const
  return reinterpret_cast<uintptr_t>(at);
}

uint64_t Harness::options_out_arg() {
  uint8_t* page = host_page(kOptionsOutPage);
  std::memset(page, kGarbage, kPage);
  return reinterpret_cast<uintptr_t>(page + kPage - sizeof(baracuda_flashinfer_attention_options));
}

uint64_t Harness::schedule_arg(size_t struct_size) {
  uint8_t* page = host_page(kSchedulePage);
  std::memset(page, kGarbage, kPage);
  uint8_t* at = page + kPage - owned_bytes(struct_size);
  std::memcpy(at, &struct_size, sizeof struct_size);
  return reinterpret_cast<uintptr_t>(at);
}

uint64_t Harness::guard_pointer(uint32_t page, uint32_t offset) const {
  return reinterpret_cast<uintptr_t>(region_) + (page % kGuardPages) * kPage + offset % kPage;
}

uint64_t Harness::out_slot() const {
  return reinterpret_cast<uintptr_t>(slot_);
}

std::vector<uint64_t> Harness::second_args(const Entry& entry,
                                           const std::vector<uint64_t>& first_args, bool free_mode,
                                           const std::vector<uint64_t>& free_args) {
  const std::vector<std::string> t = tokens(entry.roles);
  std::vector<uint64_t> args(t.size());
  size_t next_free = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (is_index_token(t[i])) {
      args[i] = first_args[std::stoul(t[i])];
      continue;
    }
    uint64_t free_value = 0;
    if (free_mode && t[i] != "z") {
      free_value = next_free < free_args.size() ? free_args[next_free] : 0;
      ++next_free;
    }
    if (t[i] == "O") {
      // The first function's options, the same bytes, with the second's own sinks.
      const uint64_t first_options = first_args[options_param(entry.first)];
      if (first_options == 0) continue;
      const auto* o = reinterpret_cast<const baracuda_flashinfer_attention_options*>(first_options);
      baracuda_flashinfer_attention_options copy;
      std::memset(&copy, kGarbage, sizeof copy);
      std::memcpy(&copy, o, std::min(owned_bytes(o->struct_size), sizeof copy));
      if (o->struct_size >=
          offsetof(baracuda_flashinfer_attention_options, sinks) + sizeof(void*)) {
        copy.sinks = reinterpret_cast<const float*>(
            free_mode ? free_value : guard_pointer(static_cast<uint32_t>(i + 1), 0));
      }
      args[i] = options_arg(1, copy);
      continue;
    }
    if (t[i] == "D") {
      args[i] = free_mode ? free_value : schedule_arg(sizeof(baracuda_flashinfer_decode_schedule));
      continue;
    }
    if (free_mode && t[i] != "z") {
      args[i] = free_value;
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
  const bool takes_schedule =
      std::find(fn.params.begin(), fn.params.end(), Type::kScheduleOut) != fn.params.end();
  static uint8_t schedule_before[kPage];
  if (takes_schedule) std::memcpy(schedule_before, host_page(kSchedulePage), kPage);
  c.result = fn.call(args.data());
  if (takes_schedule) {
    c.wrote_schedule = std::memcmp(schedule_before, host_page(kSchedulePage), kPage) != 0;
  }
  const char* message = baracuda_kernels_flashinfer_last_error();
  c.message = message == nullptr ? std::string("\x01(NULL)") : std::string(message);
  return c;
}

void Harness::check_call(const Entry& entry, const Call& c, bool is_first, bool free_mode,
                         std::vector<Violation>* out) const {
  auto report = [&](Check check) {
    Violation v{check, &entry, free_mode, c, std::nullopt, is_first};
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
  if (s != 0 && c.wrote_schedule) report(Check::kWroteOnFailure);
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
