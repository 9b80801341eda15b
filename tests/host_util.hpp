// Helpers of the host-only tests: fake pointers that validation must reject before using them,
// the library's last message, and whether a GPU is present (host tests never launch on a GPU).
#pragma once

#include <baracuda/flashinfer.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "device_probe.hpp"

namespace bfi_test {

// Fake, 4096-byte aligned, never-dereferenced device addresses.
inline void* fake(uintptr_t i) {
  return reinterpret_cast<void*>(0x100000 + 0x1000 * i);
}
inline void* offset(const void* p, uintptr_t bytes) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) + bytes);
}

inline std::string last_error() {
  return baracuda_kernels_flashinfer_last_error();
}
inline bool message_mentions(const char* word) {
  return last_error().find(word) != std::string::npos;
}
inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The status a run with valid sizes and fake (valid-looking) pointers reaches where it first
// needs the device: without a GPU, the device query fails with BARACUDA_FLASHINFER_CUDA_ERROR. With
// a GPU such a call would launch on fake pointers, so host tests never make it there.
constexpr int32_t kNoDeviceStatus = BARACUDA_FLASHINFER_CUDA_ERROR;

// One bad argument of a family's table (c.word, c.status, c.shape, c.spoil) applied to a correct
// call `a` (run(), can(), family_can()): run refuses it with the status and a message naming
// the argument; a size problem (c.shape) is refused the same way by both can_implements.
template <class Args, class BadCase>
void expect_refused(Args a, const BadCase& c) {
  SCOPED_TRACE(c.word);
  c.spoil(a);
  EXPECT_EQ(a.run(), c.status) << last_error();
  EXPECT_TRUE(message_mentions(c.word)) << last_error();
  if (!c.shape) return;
  EXPECT_EQ(a.can(), c.status) << "can_implement disagrees: " << last_error();
  EXPECT_TRUE(message_mentions(c.word)) << last_error();
  EXPECT_EQ(a.family_can(), c.status) << "the family can_implement disagrees";
  EXPECT_TRUE(message_mentions(c.word)) << last_error();
}

// One point of a can_implement-against-run sweep (Args as above): where can_implement refuses,
// run refuses with the same status; where it accepts, run of `misaligned` (the same call with
// its last-checked pointer off) passes every other check, and without a GPU the aligned call
// reaches the device query.
template <class Args>
void expect_run_agrees(const Args& a, const Args& misaligned) {
  const int32_t can = a.can();
  EXPECT_EQ(can, a.family_can());
  if (can != 0) {
    EXPECT_EQ(a.run(), can) << last_error();
    return;
  }
  EXPECT_EQ(misaligned.run(), BARACUDA_FLASHINFER_MISALIGNED_OPERAND) << last_error();
  if (!gpu_present()) {
    EXPECT_EQ(a.run(), kNoDeviceStatus) << last_error();
    EXPECT_TRUE(message_mentions("CUDA")) << last_error();
  }
}

}  // namespace bfi_test
