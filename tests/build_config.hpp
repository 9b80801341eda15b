// What this build compiled, as CMake passes it to every test (tests/CMakeLists.txt): the decode
// head dims (BFI_DECODE_HEAD_DIMS) and the head dims with an sm_90a shared-prefix / fused-cascade
// kernel (BFI_PREFIX_SM90_HEAD_DIMS when the architectures include 90, else none).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>

#ifndef BFI_TEST_HEAD_DIMS
#error "tests/CMakeLists.txt defines BFI_TEST_HEAD_DIMS"
#endif
#ifndef BFI_TEST_PREFIX_SM90_HEAD_DIMS
#define BFI_TEST_PREFIX_SM90_HEAD_DIMS
#endif

namespace bfi_test {

inline constexpr int32_t kBuiltHeadDims[] = {BFI_TEST_HEAD_DIMS};
// 0 first: the list may be empty.
inline constexpr int32_t kPrefixSm90HeadDims[] = {0 BFI_TEST_PREFIX_SM90_HEAD_DIMS};

inline bool decode_head_dim_built(int32_t head_dim) {
  return std::find(std::begin(kBuiltHeadDims), std::end(kBuiltHeadDims), head_dim) !=
         std::end(kBuiltHeadDims);
}
inline bool prefix_sm90_built(int32_t head_dim) {
  return head_dim > 0 && std::find(std::begin(kPrefixSm90HeadDims), std::end(kPrefixSm90HeadDims),
                                   head_dim) != std::end(kPrefixSm90HeadDims);
}

}  // namespace bfi_test
