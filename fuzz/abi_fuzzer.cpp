// libFuzzer target over the validation of every exported function (docs/TESTING.md).
// Input layout: 4 bytes pick a table entry (by a hash of its name, so a corpus keeps its meaning
// when entries are added), 1 byte the mode of the second call (bit 0: free), then one value per
// parameter of the first function and, in free mode, per free role of the second. Each value is
// a selector byte (a dictionary of boundary values, a small number, or raw bytes) and its bytes.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "abi_check.hpp"
#include "known_bugs.hpp"

using namespace bfi_fuzz;

namespace {

constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
const int32_t kI32Dict[] = {
    0,       1,        -1,          2,           3,       4,           5,       6,       7,
    8,       9,        15,          16,          17,      31,          32,      33,      63,
    64,      65,       96,          127,         128,     129,         192,     255,     256,
    257,     512,      1000,        1023,        1024,    1025,        2048,    4095,    4096,
    4097,    8192,     32000,       32768,       46341,   65535,       65536,   65537,   128256,
    151936,  152064,   262144,      450000,      524288,  1048575,     1048576, 1048577, 2097152,
    1 << 24, 1 << 30,  kI32Max,     kI32Max - 1, kI32Min, kI32Min + 1, -2,      -64,     -128,
    -1024,   0x7fffff, 1 << 31 >> 1};
const float kF32Dict[] = {0.f,
                          -0.f,
                          1.f,
                          -1.f,
                          0.5f,
                          0.125f,
                          0.0883883476f,
                          1e-45f,
                          1e-40f,
                          FLT_MIN,
                          -FLT_MIN,
                          FLT_MAX,
                          -FLT_MAX,
                          INFINITY,
                          -INFINITY,
                          std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::signaling_NaN(),
                          1.00000012f,
                          0.99999994f,
                          2.f,
                          1e30f,
                          64.f,
                          1e-8f};
const uint64_t kU64Dict[] = {0,
                             1,
                             2,
                             4,
                             8,
                             15,
                             16,
                             64,
                             128,
                             256,
                             4096,
                             uint64_t(1) << 31,
                             uint64_t(1) << 32,
                             (uint64_t(1) << 32) + 1,
                             (uint64_t(1) << 39) - 8,
                             uint64_t(1) << 39,
                             (uint64_t(1) << 40) - 8,
                             uint64_t(1) << 40,
                             (uint64_t(1) << 40) + 8,
                             uint64_t(1) << 62,
                             uint64_t(1) << 63,
                             std::numeric_limits<uint64_t>::max(),
                             std::numeric_limits<uint64_t>::max() - 15,
                             uint64_t(std::numeric_limits<int64_t>::max()),
                             uint64_t(-8),
                             uint64_t(-4096)};
const uint64_t kFakeAddresses[] = {1,
                                   2,
                                   4,
                                   8,
                                   16,
                                   0x1000,
                                   0x10000,
                                   0xdead0,
                                   uint64_t(1) << 47,
                                   uint64_t(1) << 63,
                                   ~uint64_t(15),
                                   ~uint64_t(0)};

template <typename T, size_t N>
constexpr size_t count(const T (&)[N]) {
  return N;
}

// Reads the input front to back; past its end every byte is 0.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t raw(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(byte()) << (8 * i);
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

uint64_t value(Reader& in, Type type, Harness& harness);

// A versioned struct's struct_size: mostly the size the header gives, else around it, tiny, huge.
size_t struct_size(Reader& in, size_t size) {
  const uint8_t sel = in.byte();
  if (sel < 128) return size;
  const size_t sizes[] = {0,        1,        7,        8,    size - 8, size - 4,        size - 1,
                          size + 1, size + 8, size * 2, 4096, 4097,     size_t(1) << 32, SIZE_MAX};
  if (sel < 240) return sizes[sel % count(sizes)];
  return in.raw(8);
}

// Attention options: the documented defaults, each field fuzzed where its bit of a mask is set.
baracuda_flashinfer_attention_options options(Reader& in, Harness& harness) {
  baracuda_flashinfer_attention_options o = documented_default_options();
  o.struct_size = struct_size(in, sizeof o);
  const uint8_t fuzzed = in.byte();
  auto i32 = [&](int bit, int32_t* field) {
    if (fuzzed & (1u << bit)) *field = Conv<int32_t>::from(value(in, Type::kI32, harness));
  };
  auto f32 = [&](int bit, float* field) {
    if (fuzzed & (1u << bit)) *field = Conv<float>::from(value(in, Type::kF32, harness));
  };
  i32(0, &o.kv_layout);
  i32(1, &o.window_left);
  f32(2, &o.logits_soft_cap);
  f32(3, &o.k_scale);
  f32(4, &o.v_scale);
  if (fuzzed & (1u << 5)) {
    o.sinks = reinterpret_cast<const float*>(value(in, Type::kPtr, harness));
  }
  i32(6, &o.flags);
  i32(7, &o.reserved);
  return o;
}

uint64_t value(Reader& in, Type type, Harness& harness) {
  const uint8_t sel = in.byte();
  switch (type) {
    case Type::kI32:
    case Type::kU32:
      if (sel < 128) return bits_i32(kI32Dict[sel % count(kI32Dict)]);
      if (sel < 192) return bits_i32(int32_t(sel) - 136);  // -8 .. 55
      return in.raw(4);
    case Type::kF32:
      if (sel < 160) return bits_f32(kF32Dict[sel % count(kF32Dict)]);
      return in.raw(4);
    case Type::kI64:
    case Type::kU64:
      if (sel < 112) return kU64Dict[sel % count(kU64Dict)];
      if (sel < 176) return uint64_t(int64_t(kI32Dict[sel % count(kI32Dict)]));
      return in.raw(8);
    case Type::kPtr: {
      if (sel % 8 == 0) return 0;
      if (sel < 192) {
        const uint8_t o = in.byte();
        return harness.guard_pointer(sel, o < 64 ? o : (o - 64u) * 16u);  // misaligned, aligned
      }
      if (sel < 224) return kFakeAddresses[sel % count(kFakeAddresses)];
      return in.raw(8);
    }
    case Type::kStream:
      return sel % 3;  // NULL, cudaStreamLegacy, cudaStreamPerThread: never a fake handle
    case Type::kSizeOut:
      return (sel & 1) ? harness.out_slot() : 0;
    case Type::kOptions:
      return sel % 4 == 0 ? 0 : harness.options_arg(0, options(in, harness));
    case Type::kOptionsOut:
      return (sel & 1) ? harness.options_out_arg() : 0;
    case Type::kScheduleOut:
      if (sel % 4 == 0) return 0;
      return harness.schedule_arg(struct_size(in, sizeof(baracuda_flashinfer_decode_schedule)));
    case Type::kString:
    case Type::kVoid:
      break;
  }
  return 0;
}

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

struct Ring {
  std::vector<std::pair<uint32_t, const Entry*>> slots;
  const Entry& pick(uint32_t key) const {
    auto it =
        std::lower_bound(slots.begin(), slots.end(), std::make_pair(key, (const Entry*)nullptr));
    return *(it == slots.end() ? slots.front() : *it).second;
  }
};

Harness* g_harness = nullptr;
Ring* g_ring = nullptr;
std::set<const KnownBug*>* g_seen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Fake pointers must never reach a GPU: with no visible device every launch fails (status 5).
  setenv("CUDA_VISIBLE_DEVICES", "", 1);
  const auto [missing, unlisted] = table_vs_exports(BFI_FUZZ_EXPORTS_TXT);
  for (const std::string& s : missing) {
    std::fprintf(stderr, "fuzz table: %s (abi/exports.txt) has no entry in fuzz/abi_table.cpp\n",
                 s.c_str());
  }
  for (const std::string& s : unlisted) {
    std::fprintf(stderr, "fuzz table: %s is not in abi/exports.txt\n", s.c_str());
  }
  if (!missing.empty() || !unlisted.empty()) std::abort();
  g_harness = new Harness();
  g_ring = new Ring();
  g_seen = new std::set<const KnownBug*>();
  for (const Entry& e : entries()) g_ring->slots.push_back({fnv1a(e.name()), &e});
  std::sort(g_ring->slots.begin(), g_ring->slots.end());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const Entry& entry = g_ring->pick(static_cast<uint32_t>(in.raw(4)));
  const bool free_mode = (in.byte() & 1) != 0;
  std::vector<uint64_t> first_args;
  for (Type t : entry.first.params) first_args.push_back(value(in, t, *g_harness));
  std::vector<uint64_t> free_args;
  if (free_mode) {
    for (Type t : free_types(entry)) free_args.push_back(value(in, t, *g_harness));
  }
  std::vector<Violation> violations;
  g_harness->run(entry, first_args, free_mode, free_args, &violations);
  bool new_bug = false;
  for (const Violation& v : violations) {
    const KnownBug* known = find_known_bug(v);
    if (known != nullptr) {
      if (g_seen->insert(known).second) {
        std::fprintf(stderr, "known bug %s (expected failure; fuzz/known_bugs.cpp):\n  %s\n",
                     known->id, v.format().c_str());
      }
      continue;
    }
    std::fprintf(stderr, "\nABI CONTRACT VIOLATION: %s\n", v.format().c_str());
    new_bug = true;
  }
  if (new_bug) std::abort();  // libFuzzer saves the input as a crash artifact
  return 0;
}
